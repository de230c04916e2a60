// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus teams: one per thread group that has /dev/nexus open, and the
 * ownership of ports and semaphores by teams.
 *
 * The team table is the owner of every team.  Opening /dev/nexus attaches
 * the caller's thread group to its team (creating it on first open).  The
 * team leaves the table, and everything it owns is destroyed, when its last
 * file is released or when the thread group exits, whichever is first.
 *
 * A module has no process-exit hook; the struct pid of a thread group has
 * the wait queue that pidfds poll, which the exit path wakes once the whole
 * group is dead (6.1: do_notify_parent(); 6.12: exit_notify() or
 * do_notify_parent()).  Each team has an entry on it whose wake function
 * queues the team's exit work; the work checks the group really is dead
 * (as pidfd_poll() does) and tears the team down.  The team holds its
 * struct pid, so the queue outlives the entry.
 *
 * Each object is in exactly one team's list, its owner's.  Deleting an
 * object is decided once, by whoever erases its id from the id's xarray
 * (nexus_object_claim()): an explicit delete, or the owner's teardown.
 */

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/minmax.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pid_namespace.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/user_namespace.h>

#include "nexus_internal.h"

#define NEXUS_TEAM_HASH_BITS	8

static DEFINE_HASHTABLE(nexus_teams, NEXUS_TEAM_HASH_BITS);
static DEFINE_MUTEX(nexus_teams_lock);	/* the table, files and hashed */
static struct workqueue_struct *nexus_wq;	/* team exits */

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
EXPORT_SYMBOL_GPL(nexus_team_get);

static void nexus_team_free(struct kref *ref)
{
	struct nexus_team *team = container_of(ref, struct nexus_team, ref);
	int kind;

	for (kind = 0; kind < NEXUS_NR_KINDS; kind++)
		WARN_ON(!list_empty(&team->objects[kind]));
	WARN_ON(!list_empty(&team->threads) ||
		!list_empty(&team->dead_threads));
	put_pid(team->tgid);
	put_user_ns(team->user_ns);
	nexus_user_put(team->user);
	mutex_destroy(&team->lock);
	kfree(team);
}

void nexus_team_put(struct nexus_team *team)
{
	kref_put(&team->ref, nexus_team_free);
}
EXPORT_SYMBOL_GPL(nexus_team_put);

/* The first object of a kind a dying team still owns, referenced. */
/**
 * nexus_team_object() - the first object of a kind a team owns
 * @team: the team
 * @kind: the kind
 *
 * Return: the object with a reference the caller must put, or NULL.
 */
struct nexus_object *nexus_team_object(struct nexus_team *team,
				       enum nexus_kind kind)
{
	struct nexus_object *obj;

	mutex_lock(&team->lock);
	obj = list_first_entry_or_null(&team->objects[kind],
				       struct nexus_object, team_node);
	/* Linked means the id's reference is not yet put: alive. */
	if (obj)
		kref_get(&obj->ref);
	mutex_unlock(&team->lock);
	return obj;
}
EXPORT_SYMBOL_GPL(nexus_team_object);

static const struct nexus_kind_ops nexus_port_ops = {
	.destroy = nexus_port_destroy,
	.free = nexus_port_free,
};

static const struct nexus_kind_ops nexus_sem_ops = {
	.destroy = nexus_sem_destroy,
	.free = nexus_sem_free,
};

/* What each kind does; the others come and go with their modules. */
static const struct nexus_kind_ops __rcu *nexus_kinds[NEXUS_NR_KINDS] = {
	[NEXUS_KIND_PORT] = (const struct nexus_kind_ops __rcu *)&nexus_port_ops,
	[NEXUS_KIND_SEM] = (const struct nexus_kind_ops __rcu *)&nexus_sem_ops,
};

static DEFINE_MUTEX(nexus_kinds_lock);

/**
 * nexus_kind_register() - a module provides a kind of object
 * @kind: the kind (NEXUS_KIND_AREA, NEXUS_KIND_NODE_MONITOR)
 * @ops: what its objects do; @ops->owner is the module
 *
 * Return: 0, or -EBUSY if the kind is taken.
 */
int nexus_kind_register(enum nexus_kind kind, const struct nexus_kind_ops *ops)
{
	int err = 0;

	mutex_lock(&nexus_kinds_lock);
	if (rcu_access_pointer(nexus_kinds[kind]))
		err = -EBUSY;
	else
		rcu_assign_pointer(nexus_kinds[kind], ops);
	mutex_unlock(&nexus_kinds_lock);
	return err;
}
EXPORT_SYMBOL_GPL(nexus_kind_register);

/*
 * The module's exit: every object of the kind held a reference on the
 * module, so none is left.
 */
void nexus_kind_unregister(enum nexus_kind kind)
{
	mutex_lock(&nexus_kinds_lock);
	RCU_INIT_POINTER(nexus_kinds[kind], NULL);
	mutex_unlock(&nexus_kinds_lock);
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(nexus_kind_unregister);

/* A live object's kind is registered: it holds its module. */
static const struct nexus_kind_ops *nexus_kind_ops(enum nexus_kind kind)
{
	return rcu_dereference_protected(nexus_kinds[kind], true);
}

static void nexus_object_destroy(struct nexus_object *obj)
{
	nexus_kind_ops(obj->kind)->destroy(obj);
}

/*
 * Tear down a team that has just left the table: delete everything it
 * owns, then put the table's reference.
 */
static void nexus_team_destroy(struct nexus_team *team)
{
	struct nexus_object *obj;
	int kind;

	remove_wait_queue(&team->tgid->wait_pidfd, &team->exit_wait);
	mutex_lock(&team->lock);
	team->dead = true;
	mutex_unlock(&team->lock);

	for (kind = 0; kind < NEXUS_NR_KINDS; kind++) {
		while ((obj = nexus_team_object(team, kind))) {
			/*
			 * Deletes it (marked deleted, then unlinked), unless a
			 * concurrent delete won the claim: unlink it ourselves
			 * then, so that the loop moves on.
			 */
			nexus_object_destroy(obj);
			nexus_object_unlink(obj);
			nexus_object_put(obj);
		}
	}
	nexus_threads_team_exit(team);
	nexus_team_put(team);
}

/* Take a team out of the table, once; true for the caller that did. */
static bool nexus_team_unhash(struct nexus_team *team)
{
	bool was_hashed;

	lockdep_assert_held(&nexus_teams_lock);
	was_hashed = team->hashed;
	if (was_hashed) {
		hash_del(&team->node);
		team->hashed = false;
		nexus_counter_dec(NEXUS_COUNTER_TEAMS);
	}
	return was_hashed;
}

/* Has the thread group exited (the test pidfd_poll() makes)? */
static bool nexus_team_exited(struct nexus_team *team)
{
	struct task_struct *task;
	bool exited;

	rcu_read_lock();
	task = pid_task(team->tgid, PIDTYPE_TGID);
	exited = !task || (READ_ONCE(task->exit_state) &&
			   thread_group_empty(task));
	rcu_read_unlock();
	return exited;
}

static void nexus_team_exit_work(struct work_struct *work)
{
	struct nexus_team *team = container_of(work, struct nexus_team,
					       exit_work);
	bool gone = false;

	/* Other wakeups of the queue (a thread's exit) are not the end. */
	if (nexus_team_exited(team)) {
		mutex_lock(&nexus_teams_lock);
		gone = nexus_team_unhash(team);
		mutex_unlock(&nexus_teams_lock);
	}
	if (gone)
		nexus_team_destroy(team);
	nexus_team_put(team);		/* the work's */
}

/*
 * Called by the exit path, under the wait queue's lock, interrupts off:
 * only queue the work.  The entry is on the queue, so the table still
 * holds its reference and the team is alive.
 */
static int nexus_team_exit_wake(struct wait_queue_entry *wait,
				unsigned int mode, int sync, void *key)
{
	struct nexus_team *team = container_of(wait, struct nexus_team,
					       exit_wait);

	nexus_team_get(team);
	if (!queue_work(nexus_wq, &team->exit_work))
		nexus_team_put(team);	/* already queued; never the last */
	return 0;
}

static struct nexus_team *nexus_team_new(struct pid *tgid)
{
	struct nexus_team *team;
	int kind;

	team = kzalloc(sizeof(*team), GFP_KERNEL_ACCOUNT);
	if (!team)
		return NULL;
	team->user = nexus_user_get(current_euid());
	if (!team->user) {
		kfree(team);
		return NULL;
	}
	team->tgid = get_pid(tgid);
	team->user_ns = get_user_ns(current_user_ns());
	kref_init(&team->ref);		/* the table's */
	mutex_init(&team->lock);
	for (kind = 0; kind < NEXUS_NR_KINDS; kind++)
		INIT_LIST_HEAD(&team->objects[kind]);
	INIT_LIST_HEAD(&team->threads);
	INIT_LIST_HEAD(&team->dead_threads);
	init_waitqueue_func_entry(&team->exit_wait, nexus_team_exit_wake);
	INIT_WORK(&team->exit_work, nexus_team_exit_work);
	return team;
}

/**
 * nexus_team_attach() - attach the current thread group to its team
 *
 * Return: the team, with one more open file counted and a reference for
 * the file, or ERR_PTR(-ENOMEM).
 */
struct nexus_team *nexus_team_attach(void)
{
	struct pid *tgid = task_tgid(current);
	struct nexus_team *team, *fresh;

	fresh = nexus_team_new(tgid);
	if (!fresh)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&nexus_teams_lock);
	team = nexus_team_lookup(tgid);
	if (team) {
		team->files++;
	} else {
		team = fresh;
		fresh = NULL;
		team->files = 1;
		team->hashed = true;
		hash_add(nexus_teams, &team->node, (unsigned long)tgid);
		nexus_counter_inc(NEXUS_COUNTER_TEAMS);
		/* The caller is alive: its exit wakes the queue later. */
		add_wait_queue(&tgid->wait_pidfd, &team->exit_wait);
	}
	nexus_team_get(team);		/* the file's */
	mutex_unlock(&nexus_teams_lock);

	if (fresh)
		nexus_team_put(fresh);
	return team;
}
EXPORT_SYMBOL_GPL(nexus_team_attach);

/**
 * nexus_team_detach() - drop one open file of a team
 * @team: the team the released file belonged to
 *
 * The last detach destroys the team and everything it owns, unless its
 * thread group's exit did already.
 */
void nexus_team_detach(struct nexus_team *team)
{
	bool gone = false;

	mutex_lock(&nexus_teams_lock);
	if (--team->files == 0)
		gone = nexus_team_unhash(team);
	mutex_unlock(&nexus_teams_lock);

	if (gone)
		nexus_team_destroy(team);
	nexus_team_put(team);		/* the file's */
}
EXPORT_SYMBOL_GPL(nexus_team_detach);

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
EXPORT_SYMBOL_GPL(nexus_team_is_current);

/**
 * nexus_team_find() - look a live team up by its id
 * @id: the team id, in the caller's pid namespace
 *
 * Return: the team with a reference the caller must put, or NULL.
 */
struct nexus_team *nexus_team_find(pid_t id)
{
	struct nexus_team *team;
	struct pid *pid;

	if (id <= 0)
		return NULL;
	pid = find_get_pid(id);
	if (!pid)
		return NULL;
	mutex_lock(&nexus_teams_lock);
	team = nexus_team_lookup(pid);
	if (team)
		nexus_team_get(team);
	mutex_unlock(&nexus_teams_lock);
	put_pid(pid);
	return team;
}
EXPORT_SYMBOL_GPL(nexus_team_find);

/**
 * nexus_team_of_tgid() - the team of a thread group, if it is one
 * @tgid: the thread group's struct pid
 *
 * Return: the team with a reference the caller must put, or NULL.
 */
struct nexus_team *nexus_team_of_tgid(struct pid *tgid)
{
	struct nexus_team *team;

	mutex_lock(&nexus_teams_lock);
	team = nexus_team_lookup(tgid);
	if (team)
		nexus_team_get(team);
	mutex_unlock(&nexus_teams_lock);
	return team;
}

/**
 * nexus_team_id() - a team's id as the caller sees it
 * @team: the team
 *
 * Return: its pid in the caller's pid namespace, or 0 if not visible there.
 */
pid_t nexus_team_id(const struct nexus_team *team)
{
	return pid_vnr(team->tgid);
}
EXPORT_SYMBOL_GPL(nexus_team_id);

int nexus_teams_init(void)
{
	nexus_wq = alloc_workqueue("nexus", WQ_UNBOUND, 0);
	return nexus_wq ? 0 : -ENOMEM;
}

/* Module exit: no file is open; wait for pending exit work. */
void nexus_teams_exit(void)
{
	destroy_workqueue(nexus_wq);
}

/**
 * nexus_object_init() - start a new object, owned by the calling user
 * @obj: the object, zeroed
 * @kind: its kind
 *
 * Its one reference becomes the id's once published.
 *
 * Return: 0 or -ENOMEM.
 */
int nexus_object_init(struct nexus_object *obj, enum nexus_kind kind)
{
	kref_init(&obj->ref);
	obj->kind = kind;
	INIT_LIST_HEAD(&obj->team_node);
	spin_lock_init(&obj->owner_lock);
	obj->user = nexus_user_get(current_euid());
	if (!obj->user)
		return -ENOMEM;
	obj->user_ns = get_user_ns(current_user_ns());
	/* The kind's module stays while the object lives. */
	if (!try_module_get(nexus_kind_ops(kind)->owner))
		return -ENODEV;
	obj->module_held = true;
	return 0;
}
EXPORT_SYMBOL_GPL(nexus_object_init);

static void nexus_object_release(struct kref *ref)
{
	struct nexus_object *obj = container_of(ref, struct nexus_object, ref);
	const struct nexus_kind_ops *ops;
	bool held;

	if (obj->user)
		nexus_user_put(obj->user);
	if (obj->user_ns)
		put_user_ns(obj->user_ns);
	ops = nexus_kind_ops(obj->kind);
	held = obj->module_held;
	ops->free(obj);
	/* After the kind's code has run, from nexus.ko's. */
	if (held)
		module_put(ops->owner);
}

void nexus_object_put(struct nexus_object *obj)
{
	kref_put(&obj->ref, nexus_object_release);
}
EXPORT_SYMBOL_GPL(nexus_object_put);

/**
 * nexus_object_publish() - give a new object an owner and an id
 * @xa: the ids of the object's kind
 * @next: the next id to try (ids are allocated cyclically)
 * @obj: the object, fully initialised; its reference becomes the id's
 * @team: the owner
 * @id: set to the object's id
 *
 * The id is reserved, the object joins the owner's list, and only then is
 * it stored under its id, all under the owner's lock: a delete that finds
 * the id finds an owned object (and waits for the owner's lock to unlink
 * it), and a teardown of the owner either refuses the object or finds it
 * published.  Once published the object may be deleted at any moment: the
 * caller must not touch it any more (hence @id).
 *
 * Return: 0, -ENOMEM, -EBUSY (no id left) or -ESRCH (the team is dead).
 */
int nexus_object_publish(struct xarray *xa, u32 *next,
			 struct nexus_object *obj, struct nexus_team *team,
			 s32 *id)
{
	void *old;
	u32 index;
	int err;

	/* A NULL entry reserves the id: lookups see nothing yet. */
	err = xa_alloc_cyclic(xa, &index, NULL, XA_LIMIT(1, INT_MAX), next,
			      GFP_KERNEL);
	if (err < 0)
		return err;
	obj->id = index;

	mutex_lock(&team->lock);
	if (team->dead) {
		err = -ESRCH;
		goto unlock;
	}
	list_add_tail(&obj->team_node, &team->objects[obj->kind]);
	spin_lock(&obj->owner_lock);
	obj->owner = nexus_team_get(team);
	spin_unlock(&obj->owner_lock);

	/* Replacing a reserved entry allocates nothing. */
	old = xa_store(xa, index, obj, GFP_KERNEL);
	if (xa_is_err(old)) {
		err = xa_err(old);
		list_del_init(&obj->team_node);
		spin_lock(&obj->owner_lock);
		obj->owner = NULL;
		spin_unlock(&obj->owner_lock);
		nexus_team_put(team);
		goto unlock;
	}
	*id = index;
	err = 0;
unlock:
	mutex_unlock(&team->lock);
	if (err)
		xa_erase(xa, index);
	return err;
}
EXPORT_SYMBOL_GPL(nexus_object_publish);

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
EXPORT_SYMBOL_GPL(nexus_object_lookup);

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
 * nexus_object_owned() - is an object a team's?
 * @obj: the object
 * @team: the team
 */
bool nexus_object_owned(struct nexus_object *obj, struct nexus_team *team)
{
	return nexus_object_owned_by(obj, team);
}
EXPORT_SYMBOL_GPL(nexus_object_owned);

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
EXPORT_SYMBOL_GPL(nexus_object_next);

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
EXPORT_SYMBOL_GPL(nexus_object_claim);

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
 * nexus_object_owner_id() - the id of an object's owner, as the caller sees it
 * @obj: the object
 * @id: set to the owner's team id (0 when not visible from the caller's pid
 *	namespace)
 *
 * Return: 0, or -ENOENT once the object is unlinked (being deleted).
 */
int nexus_object_owner_id(struct nexus_object *obj, pid_t *id)
{
	int err = -ENOENT;

	spin_lock(&obj->owner_lock);
	if (obj->owner) {
		*id = nexus_team_id(obj->owner);
		err = 0;
	}
	spin_unlock(&obj->owner_lock);
	return err;
}
EXPORT_SYMBOL_GPL(nexus_object_owner_id);

/**
 * nexus_object_allowed() - may the caller use an object beyond write/info?
 * @obj: the object
 *
 * As SysV IPC's ipcperms() for an owner: the same effective uid as the
 * object's user, or CAP_IPC_OWNER in the object's user namespace.
 */
bool nexus_object_allowed(const struct nexus_object *obj)
{
	if (uid_eq(current_euid(), obj->user->uid))
		return true;
	return ns_capable(obj->user_ns, CAP_IPC_OWNER);
}
EXPORT_SYMBOL_GPL(nexus_object_allowed);

/**
 * nexus_object_lookup_allowed() - find an object the caller's user may use
 * @xa: the ids of the object's kind
 * @id: the id
 * @err: set to -ENOENT (no such id) or -EPERM (another user's) on failure
 *
 * For the operations NEXUS-ABI.md reserves to the owner's user.
 *
 * Return: the object with a reference the caller must put, or NULL.
 */
struct nexus_object *nexus_object_lookup_allowed(struct xarray *xa, s32 id,
						 int *err)
{
	struct nexus_object *obj = nexus_object_lookup(xa, id);

	if (!obj) {
		*err = -ENOENT;
		return NULL;
	}
	if (!nexus_object_allowed(obj)) {
		nexus_object_put(obj);
		*err = -EPERM;
		return NULL;
	}
	return obj;
}
EXPORT_SYMBOL_GPL(nexus_object_lookup_allowed);

/**
 * nexus_object_same_user() - does a team belong to an object's user?
 * @obj: the object
 * @team: the team
 */
bool nexus_object_same_user(const struct nexus_object *obj,
			    const struct nexus_team *team)
{
	return uid_eq(team->user->uid, obj->user->uid);
}
EXPORT_SYMBOL_GPL(nexus_object_same_user);

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
EXPORT_SYMBOL_GPL(nexus_object_unlink);

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
 * Return: 0, -ENOENT if the object is being deleted (or its owner torn
 * down), -ESRCH if @to is dead.
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

	if (from->dead) {
		/* Its teardown has it: it is as good as deleted. */
		err = -ENOENT;
	} else if (to->dead) {
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
EXPORT_SYMBOL_GPL(nexus_object_move);

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
