// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus teams: one per thread group that has /dev/nexus open, and the
 * ownership of ports and semaphores by teams.
 *
 * The team table is the owner of every team.  Opening /dev/nexus attaches
 * the caller's thread group to its team (creating it on first open);
 * releasing a file detaches it, and the last detach removes the team from
 * the table and destroys every object the team owns.
 *
 * Each object is in exactly one team's list, its owner's.  Deleting an
 * object is decided once, by whoever erases its id from the id's xarray
 * (nexus_object_claim()): an explicit delete, or the owner's teardown.
 */

#include <linux/hashtable.h>
#include <linux/minmax.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "nexus_internal.h"

#define NEXUS_TEAM_HASH_BITS	8

static DEFINE_HASHTABLE(nexus_teams, NEXUS_TEAM_HASH_BITS);
static DEFINE_HASHTABLE(nexus_team_ids, NEXUS_TEAM_HASH_BITS);
static DEFINE_MUTEX(nexus_teams_lock);	/* guards both tables and files */

static struct nexus_team *nexus_team_lookup(struct pid *tgid)
{
	struct nexus_team *team;

	lockdep_assert_held(&nexus_teams_lock);
	hash_for_each_possible(nexus_teams, team, node, (unsigned long)tgid)
		if (team->tgid == tgid)
			return team;
	return NULL;
}

struct nexus_team *nexus_team_get(struct nexus_team *team)
{
	kref_get(&team->ref);
	return team;
}

static void nexus_team_free(struct kref *ref)
{
	struct nexus_team *team = container_of(ref, struct nexus_team, ref);
	int kind;

	for (kind = 0; kind < NEXUS_NR_KINDS; kind++)
		WARN_ON(!list_empty(&team->objects[kind]));
	put_pid(team->tgid);
	mutex_destroy(&team->lock);
	kfree(team);
}

void nexus_team_put(struct nexus_team *team)
{
	kref_put(&team->ref, nexus_team_free);
}

/* Take the first object of a kind out of a dying team's list. */
static struct nexus_object *nexus_team_pop(struct nexus_team *team,
					   enum nexus_kind kind)
{
	struct nexus_object *obj;

	mutex_lock(&team->lock);
	obj = list_first_entry_or_null(&team->objects[kind],
				       struct nexus_object, team_node);
	if (obj) {
		list_del_init(&obj->team_node);
		spin_lock(&obj->owner_lock);
		obj->owner = NULL;
		spin_unlock(&obj->owner_lock);
		/* Linked means not yet released by a deleter: alive. */
		kref_get(&obj->ref);
	}
	mutex_unlock(&team->lock);

	/* The object's reference; the caller still holds the table's. */
	if (obj)
		nexus_team_put(team);
	return obj;
}

/* Tear down a team that is no longer in the table. */
static void nexus_team_destroy(struct nexus_team *team)
{
	struct nexus_object *obj;

	mutex_lock(&team->lock);
	team->dead = true;
	mutex_unlock(&team->lock);

	while ((obj = nexus_team_pop(team, NEXUS_KIND_PORT))) {
		nexus_port_destroy(obj);
		nexus_object_put(obj);
	}
	while ((obj = nexus_team_pop(team, NEXUS_KIND_SEM))) {
		nexus_sem_destroy(obj);
		nexus_object_put(obj);
	}
	nexus_team_put(team);
}

/**
 * nexus_team_attach() - attach the current thread group to its team
 *
 * Return: the team, with one more open file counted, or ERR_PTR(-ENOMEM).
 */
struct nexus_team *nexus_team_attach(void)
{
	struct pid *tgid = task_tgid(current);
	struct nexus_team *team, *fresh;
	int kind;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&nexus_teams_lock);
	team = nexus_team_lookup(tgid);
	if (team) {
		team->files++;
	} else {
		team = fresh;
		fresh = NULL;
		team->tgid = get_pid(tgid);
		team->id = pid_nr(tgid);
		team->files = 1;
		kref_init(&team->ref);
		mutex_init(&team->lock);
		for (kind = 0; kind < NEXUS_NR_KINDS; kind++)
			INIT_LIST_HEAD(&team->objects[kind]);
		hash_add(nexus_teams, &team->node, (unsigned long)tgid);
		hash_add(nexus_team_ids, &team->id_node, team->id);
		nexus_counter_inc(NEXUS_COUNTER_TEAMS);
	}
	mutex_unlock(&nexus_teams_lock);

	kfree(fresh);
	return team;
}

/**
 * nexus_team_detach() - drop one open file of a team
 * @team: the team the released file belonged to
 *
 * The last detach destroys the team and everything it owns.
 */
void nexus_team_detach(struct nexus_team *team)
{
	bool last;

	mutex_lock(&nexus_teams_lock);
	last = --team->files == 0;
	if (last) {
		hash_del(&team->node);
		hash_del(&team->id_node);
		nexus_counter_dec(NEXUS_COUNTER_TEAMS);
	}
	mutex_unlock(&nexus_teams_lock);

	if (last)
		nexus_team_destroy(team);
}

/**
 * nexus_team_is_current() - does the calling thread group own this team?
 * @team: the team of the file being used
 *
 * A descriptor inherited across fork() stays attached to the parent's team;
 * the child must open /dev/nexus itself.
 */
bool nexus_team_is_current(const struct nexus_team *team)
{
	return team->tgid == task_tgid(current);
}

/**
 * nexus_team_find() - look a live team up by its id
 * @id: the team id (a tgid)
 *
 * Return: the team with a reference the caller must put, or NULL.
 */
struct nexus_team *nexus_team_find(pid_t id)
{
	struct nexus_team *team, *found = NULL;

	if (id <= 0)
		return NULL;
	mutex_lock(&nexus_teams_lock);
	hash_for_each_possible(nexus_team_ids, team, id_node, id) {
		if (team->id == id) {
			found = nexus_team_get(team);
			break;
		}
	}
	mutex_unlock(&nexus_teams_lock);
	return found;
}

void nexus_object_init(struct nexus_object *obj, enum nexus_kind kind)
{
	kref_init(&obj->ref);
	obj->kind = kind;
	INIT_LIST_HEAD(&obj->team_node);
	spin_lock_init(&obj->owner_lock);
}

static void nexus_object_release(struct kref *ref)
{
	struct nexus_object *obj = container_of(ref, struct nexus_object, ref);

	switch (obj->kind) {
	case NEXUS_KIND_PORT:
		nexus_port_free(obj);
		break;
	case NEXUS_KIND_SEM:
		nexus_sem_free(obj);
		break;
	default:
		WARN_ON_ONCE(1);
	}
}

void nexus_object_put(struct nexus_object *obj)
{
	kref_put(&obj->ref, nexus_object_release);
}

/**
 * nexus_object_publish() - give a new object an id and an owner
 * @xa: the ids of the object's kind
 * @next: the next id to try (ids are allocated cyclically)
 * @obj: the object, fully initialised; its reference becomes the id's
 * @team: the owner
 *
 * The id is reserved first, then the object joins the owner's list and is
 * stored under the owner's lock, so that a teardown of the owner either
 * refuses it or finds it published.
 *
 * Return: 0, -ENOMEM, -EBUSY (no id left) or -ESRCH (the team is dead).
 */
int nexus_object_publish(struct xarray *xa, u32 *next,
			 struct nexus_object *obj, struct nexus_team *team)
{
	void *old;
	u32 id;
	int err;

	/* A NULL entry reserves the id: lookups see nothing yet. */
	err = xa_alloc_cyclic(xa, &id, NULL, XA_LIMIT(1, INT_MAX), next,
			      GFP_KERNEL);
	if (err < 0)
		return err;
	obj->id = id;

	mutex_lock(&team->lock);
	if (team->dead) {
		err = -ESRCH;
		goto unlock;
	}
	/* Replacing a reserved entry allocates nothing. */
	old = xa_store(xa, id, obj, GFP_KERNEL);
	if (xa_is_err(old)) {
		err = xa_err(old);
		goto unlock;
	}
	list_add_tail(&obj->team_node, &team->objects[obj->kind]);
	spin_lock(&obj->owner_lock);
	obj->owner = nexus_team_get(team);
	spin_unlock(&obj->owner_lock);
	err = 0;
unlock:
	mutex_unlock(&team->lock);
	if (err)
		xa_erase(xa, id);
	return err;
}

/**
 * nexus_object_lookup() - find an object by id
 * @xa: the ids of the object's kind
 * @id: the id
 *
 * Return: the object with a reference the caller must put, or NULL.
 */
struct nexus_object *nexus_object_lookup(struct xarray *xa, s32 id)
{
	struct nexus_object *obj;

	if (id <= 0)
		return NULL;
	rcu_read_lock();
	obj = xa_load(xa, id);
	if (obj && !kref_get_unless_zero(&obj->ref))
		obj = NULL;
	rcu_read_unlock();
	return obj;
}

static bool nexus_object_owned_by(struct nexus_object *obj,
				  struct nexus_team *team)
{
	bool owned;

	spin_lock(&obj->owner_lock);
	owned = obj->owner == team;
	spin_unlock(&obj->owner_lock);
	return owned;
}

/**
 * nexus_object_next() - the object with the smallest id above @cookie
 * @xa: the ids of the object's kind
 * @cookie: the last id seen (0 or less: from the start)
 * @team: only objects this team owns, or NULL for any
 *
 * Walks the ids from @cookie on, so a whole walk costs one pass over them.
 *
 * Return: the object with a reference the caller must put, or NULL.
 */
struct nexus_object *nexus_object_next(struct xarray *xa, s32 cookie,
				       struct nexus_team *team)
{
	unsigned long index;
	struct nexus_object *obj, *found = NULL;

	rcu_read_lock();
	xa_for_each_start(xa, index, obj, cookie < 0 ? 0 : cookie + 1UL) {
		/* RCU keeps even a dying object's memory and lock valid. */
		if (team && !nexus_object_owned_by(obj, team))
			continue;
		if (kref_get_unless_zero(&obj->ref)) {
			found = obj;
			break;
		}
	}
	rcu_read_unlock();
	return found;
}

/**
 * nexus_object_claim() - decide to delete an object
 * @xa: the ids of the object's kind
 * @obj: the object
 *
 * Erases the object's id.  Exactly one caller wins; it must then wake the
 * object's waiters, unlink it from its owner and put the id's reference.
 *
 * Return: true for the caller that erased the id.
 */
bool nexus_object_claim(struct xarray *xa, struct nexus_object *obj)
{
	bool claimed = false;

	xa_lock(xa);
	if (xa_load(xa, obj->id) == obj) {
		__xa_erase(xa, obj->id);
		claimed = true;
	}
	xa_unlock(xa);
	return claimed;
}

/* The owner with a reference, or NULL once the object is unlinked. */
static struct nexus_team *nexus_object_owner(struct nexus_object *obj)
{
	struct nexus_team *team;

	spin_lock(&obj->owner_lock);
	team = obj->owner;
	if (team)
		nexus_team_get(team);
	spin_unlock(&obj->owner_lock);
	return team;
}

/**
 * nexus_object_owner_id() - the id of an object's owner
 * @obj: the object
 *
 * Return: the owner's team id, or -1 once the object is unlinked.
 */
pid_t nexus_object_owner_id(struct nexus_object *obj)
{
	pid_t id = -1;

	spin_lock(&obj->owner_lock);
	if (obj->owner)
		id = obj->owner->id;
	spin_unlock(&obj->owner_lock);
	return id;
}

/**
 * nexus_object_unlink() - take a deleted object out of its owner's list
 * @obj: the object, claimed by the caller
 */
void nexus_object_unlink(struct nexus_object *obj)
{
	struct nexus_team *team;
	bool unlinked;

	/* The owner may change under a concurrent move: follow it. */
	while ((team = nexus_object_owner(obj))) {
		mutex_lock(&team->lock);
		unlinked = nexus_object_owned_by(obj, team);
		if (unlinked) {
			list_del_init(&obj->team_node);
			spin_lock(&obj->owner_lock);
			obj->owner = NULL;
			spin_unlock(&obj->owner_lock);
		}
		mutex_unlock(&team->lock);
		if (unlinked)
			nexus_team_put(team);	/* the object's */
		nexus_team_put(team);		/* ours */
		if (unlinked)
			break;
	}
}

static void nexus_team_lock_two(struct nexus_team *a, struct nexus_team *b)
{
	if (a == b) {
		mutex_lock(&a->lock);
		return;
	}
	if (a > b)
		swap(a, b);
	mutex_lock(&a->lock);
	mutex_lock_nested(&b->lock, SINGLE_DEPTH_NESTING);
}

static void nexus_team_unlock_two(struct nexus_team *a, struct nexus_team *b)
{
	if (a != b)
		mutex_unlock(&b->lock);
	mutex_unlock(&a->lock);
}

/**
 * nexus_object_move() - give an object to another team
 * @obj: the object
 * @to: the new owner
 *
 * Return: 0, -ENOENT if the object is being deleted, -ESRCH if @to is dead.
 */
int nexus_object_move(struct nexus_object *obj, struct nexus_team *to)
{
	struct nexus_team *from;
	int err;

	for (;;) {
		from = nexus_object_owner(obj);
		if (!from)
			return -ENOENT;
		nexus_team_lock_two(from, to);
		if (nexus_object_owned_by(obj, from))
			break;
		nexus_team_unlock_two(from, to);
		nexus_team_put(from);
	}

	if (to->dead) {
		err = -ESRCH;
	} else if (from == to) {
		err = 0;
	} else {
		list_move_tail(&obj->team_node, &to->objects[obj->kind]);
		spin_lock(&obj->owner_lock);
		obj->owner = nexus_team_get(to);
		spin_unlock(&obj->owner_lock);
		err = 0;
		/* The object's reference on the old owner, below. */
		nexus_team_put(from);
	}
	nexus_team_unlock_two(from, to);
	nexus_team_put(from);
	return err;
}

/**
 * nexus_copy_name() - copy an object name from userspace
 * @dst: B_OS_NAME_LENGTH bytes
 * @src: the user's name, or NULL
 * @size: bytes readable at @src
 * @fallback: the name to use when @src is NULL
 *
 * Reads at most min(@size, B_OS_NAME_LENGTH - 1) bytes, stops at the first
 * NUL and always terminates: longer names are truncated.
 *
 * Return: B_OK or B_BAD_ADDRESS.
 */
int nexus_copy_name(char *dst, const char __user *src, size_t size,
		    const char *fallback)
{
	long len;

	if (!src) {
		strscpy(dst, fallback, B_OS_NAME_LENGTH);
		return B_OK;
	}
	len = strncpy_from_user(dst, src,
				min_t(size_t, size, B_OS_NAME_LENGTH - 1));
	if (len < 0)
		return B_BAD_ADDRESS;
	dst[len] = '\0';
	return B_OK;
}
