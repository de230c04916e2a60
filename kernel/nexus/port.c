// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus ports: Haiku's message queues, with system-wide ids.
 *
 * A port has a FIFO queue of at most capacity messages, a FIFO of blocked
 * readers (readers and MESSAGE_INFO peekers) and a FIFO of blocked writers,
 * all under the port's spinlock.  Wakeups hand over instead of letting the
 * woken race newcomers for the state:
 *
 *  - a writer that finds readers blocked tells every peeker ahead of the
 *    first reader about its message and gives the message to that reader;
 *    the message is queued only when no reader is blocked;
 *  - a reader that takes a message from a full queue puts the first blocked
 *    writer's message in the freed slot and wakes that writer.
 *
 * So blocked readers imply an empty queue, blocked writers a full one, and
 * a newcomer can never overtake a blocked caller.
 *
 * Messages are allocated and copied from userspace before the port lock is
 * taken, and copied out after they have been dequeued.
 */

#include <linux/cred.h>
#include <linux/minmax.h>
#include <linux/mm.h>
#include <linux/overflow.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>
#include <linux/uidgid.h>
#include <linux/user_namespace.h>

#include "nexus_internal.h"

/*
 * Ports and port space (Haiku's total port space limit) are limited
 * system-wide and per user (user.c).  A queued message is charged to its
 * writer's user at what it really costs, header and payload as the
 * allocator rounds them: without that, zero-byte messages would pin
 * unaccounted kernel memory.  A write past the limit fails with
 * B_NO_MEMORY.
 */

/* Who wrote a message, kept as the kernel's ids: readers translate them. */
struct nexus_port_sender {
	kuid_t uid;
	kgid_t gid;
	struct pid *team;		/* referenced */
};

/* A vref a message carries (NEXUS-ABI.md, "Port capabilities"). */
struct nexus_port_cap {
	u32 kind;
	s32 vref_id;
	u32 offset;			/* the writer's note, passed through */
	void *ref;			/* the cap ops' reference */
};

struct nexus_port_msg {
	struct list_head node;		/* in the port's queue */
	size_t size;
	struct nexus_user *user;	/* charged; referenced */
	struct nexus_port_sender sender;
	s32 code;
	void *data;			/* size bytes, NULL when empty */
	u32 nr_caps;
	struct nexus_port_cap *caps;	/* nr_caps, NULL when none */
	const struct nexus_cap_ops *cap_ops;	/* its module held */
};

/* What a peeker learns of a message (its own references). */
struct nexus_port_peek {
	size_t size;
	struct nexus_port_sender sender;
};

struct nexus_port {
	struct nexus_object obj;
	spinlock_t lock;		/* guards everything below */
	struct list_head queue;		/* messages, oldest first */
	struct list_head readers;	/* blocked readers and peekers */
	struct list_head writers;	/* blocked writers */
	struct list_head links;		/* kernel writers' links */
	s32 capacity;
	s32 queue_count;
	s32 reserved;			/* slots of messages being minted */
	u32 total_count;		/* messages ever read */
	bool closed;			/* writes fail; reads drain the queue */
	bool deleted;			/* the id is gone */
};

struct nexus_port_waiter {
	struct list_head node;		/* in readers or writers */
	struct task_struct *task;
	/* writer: its message until queued; reader: the message given */
	struct nexus_port_msg *msg;
	struct nexus_port_peek info;	/* peeker: what it learnt */
	int status;			/* NEXUS_WAITING until decided */
	bool peek;
	/* A READ_CAPS reader: the room it has, or what it lacked. */
	bool caps_reader;
	size_t room_size;
	size_t room_caps;
};

static DEFINE_XARRAY_ALLOC1(nexus_ports);
static u32 nexus_port_next_id = 1;	/* under the xarray's lock */

static struct nexus_port *nexus_port_get(s32 id)
{
	struct nexus_object *obj = nexus_object_lookup(&nexus_ports, id);

	return obj ? container_of(obj, struct nexus_port, obj) : NULL;
}

/* A port the caller's user may read, close or delete; else *status says why. */
static struct nexus_port *nexus_port_get_allowed(s32 id, int *status)
{
	struct nexus_object *obj;
	int err;

	obj = nexus_object_lookup_allowed(&nexus_ports, id, &err);
	if (!obj) {
		*status = err == -EPERM ? B_NOT_ALLOWED : B_BAD_PORT_ID;
		return NULL;
	}
	return container_of(obj, struct nexus_port, obj);
}

static void nexus_port_put(struct nexus_port *port)
{
	nexus_object_put(&port->obj);
}

void nexus_port_free(struct nexus_object *obj)
{
	struct nexus_port *port = container_of(obj, struct nexus_port, obj);

	WARN_ON(!list_empty(&port->queue));
	WARN_ON(!list_empty(&port->readers));
	WARN_ON(!list_empty(&port->writers));
	WARN_ON(!list_empty(&port->links));
	kfree_rcu(port, obj.rcu);
}

/*
 * What a message of @size bytes costs in kernel memory: its header, and
 * its payload in a separate allocation, so that a payload of a power of two
 * (4 KiB, 256 KiB) is not doubled by the header.  kvmalloc() tries
 * kmalloc() first, whose buckets and page orders kmalloc_size_roundup()
 * gives; its vmalloc() fallback never takes more.
 */
static size_t nexus_port_msg_cost(size_t size, u32 nr_caps)
{
	return kmalloc_size_roundup(sizeof(struct nexus_port_msg)) +
	       (size ? kmalloc_size_roundup(size) : 0) +
	       (nr_caps ? kmalloc_size_roundup(array_size(nr_caps,
					sizeof(struct nexus_port_cap))) : 0);
}

/* The caps' references; the message keeps its array. */
static void nexus_port_msg_put_caps(struct nexus_port_msg *msg)
{
	u32 i;

	for (i = 0; i < msg->nr_caps; i++) {
		if (msg->caps[i].ref)
			msg->cap_ops->put(msg->caps[i].ref);
		msg->caps[i].ref = NULL;
	}
	if (msg->cap_ops) {
		nexus_counter_sub(NEXUS_COUNTER_PORT_CAPS, msg->nr_caps);
		module_put(msg->cap_ops->owner);
		msg->cap_ops = NULL;
	}
}

static void nexus_port_msg_free(struct nexus_port_msg *msg)
{
	nexus_port_msg_put_caps(msg);
	nexus_uncharge(msg->user, NEXUS_LIMIT_PORT_SPACE,
		       nexus_port_msg_cost(msg->size, msg->nr_caps));
	nexus_user_put(msg->user);
	put_pid(msg->sender.team);
	kvfree(msg->caps);
	kvfree(msg->data);
	kfree(msg);
}

/*
 * An empty message of @size bytes and @nr_caps caps, charged to @user,
 * before any lock is taken.
 */
static struct nexus_port_msg *nexus_port_msg_alloc(struct nexus_user *user,
						   size_t size, u32 nr_caps,
						   const bool *exempt)
{
	size_t cost = nexus_port_msg_cost(size, nr_caps);
	struct nexus_port_msg *msg;

	/* size and nr_caps are bounded by the callers: no overflow here. */
	if (nexus_charge_for(user, NEXUS_LIMIT_PORT_SPACE, cost, exempt))
		return ERR_PTR(B_NO_MEMORY);
	msg = kzalloc(sizeof(*msg), GFP_KERNEL_ACCOUNT);
	/*
	 * The sizes are the writer's: a failure is its B_NO_MEMORY, not a
	 * warning with a stack in the kernel log (vmalloc's) at its will.
	 */
	if (msg && size)
		msg->data = kvmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (msg && nr_caps)
		msg->caps = kvcalloc(nr_caps, sizeof(*msg->caps),
				     GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
	if (!msg || (size && !msg->data) || (nr_caps && !msg->caps)) {
		if (msg) {
			kvfree(msg->data);
			kvfree(msg->caps);
		}
		kfree(msg);
		nexus_uncharge(user, NEXUS_LIMIT_PORT_SPACE, cost);
		return ERR_PTR(B_NO_MEMORY);
	}
	msg->user = nexus_user_hold(user);
	msg->size = size;
	msg->nr_caps = nr_caps;
	return msg;
}

/* Build a message from a write request, before any lock is taken. */
static struct nexus_port_msg *
nexus_port_msg_new(struct nexus_team *team, const s32 __user *code,
		   const void __user *buffer, size_t size, u32 nr_caps)
{
	struct nexus_port_msg *msg;

	msg = nexus_port_msg_alloc(team->user, size, nr_caps, NULL);
	if (IS_ERR(msg))
		return msg;
	msg->sender.uid = current_euid();
	msg->sender.gid = current_egid();
	msg->sender.team = get_pid(team->tgid);
	if (get_user(msg->code, code) ||
	    (size && copy_from_user(msg->data, buffer, size))) {
		nexus_port_msg_free(msg);
		return ERR_PTR(B_BAD_ADDRESS);
	}
	return msg;
}

static const struct nexus_cap_ops __rcu *nexus_cap_ops;
static DEFINE_MUTEX(nexus_cap_ops_lock);

/**
 * nexus_cap_ops_register() - the vrefs' module says what caps do
 * @ops: its operations; @ops->owner is the module
 *
 * Return: 0, or -EBUSY if another module did.
 */
int nexus_cap_ops_register(const struct nexus_cap_ops *ops)
{
	int err = 0;

	mutex_lock(&nexus_cap_ops_lock);
	if (rcu_access_pointer(nexus_cap_ops))
		err = -EBUSY;
	else
		rcu_assign_pointer(nexus_cap_ops, ops);
	mutex_unlock(&nexus_cap_ops_lock);
	return err;
}
EXPORT_SYMBOL_GPL(nexus_cap_ops_register);

/* Module exit: every message with caps held the module, so none is left. */
void nexus_cap_ops_unregister(void)
{
	mutex_lock(&nexus_cap_ops_lock);
	RCU_INIT_POINTER(nexus_cap_ops, NULL);
	mutex_unlock(&nexus_cap_ops_lock);
	synchronize_rcu();
}
EXPORT_SYMBOL_GPL(nexus_cap_ops_unregister);

/* The cap ops with their module held, or NULL when no module gives them. */
static const struct nexus_cap_ops *nexus_cap_ops_get(void)
{
	const struct nexus_cap_ops *ops;

	rcu_read_lock();
	ops = rcu_dereference(nexus_cap_ops);
	if (ops && !try_module_get(ops->owner))
		ops = NULL;
	rcu_read_unlock();
	return ops;
}

/*
 * Fill a new message's caps from the writer's array: each must name a
 * vref the writer's team holds a slot in (an id alone is no capability).
 */
static int nexus_port_msg_caps(struct nexus_team *team,
			       struct nexus_port_msg *msg,
			       const struct nexus_port_cap_in __user *ucaps)
{
	struct nexus_port_cap_in in;
	u32 i;

	for (i = 0; i < msg->nr_caps; i++) {
		if (copy_from_user(&in, &ucaps[i], sizeof(in)))
			return B_BAD_ADDRESS;
		if (in.kind != NEXUS_PORT_CAP_VREF)
			return B_BAD_VALUE;
		msg->caps[i].kind = in.kind;
		msg->caps[i].vref_id = in.vref_id;
		msg->caps[i].offset = in.buffer_offset;
	}
	msg->cap_ops = nexus_cap_ops_get();
	if (!msg->cap_ops)
		return B_NOT_ALLOWED;
	nexus_counter_add(NEXUS_COUNTER_PORT_CAPS, msg->nr_caps);
	for (i = 0; i < msg->nr_caps; i++) {
		msg->caps[i].ref = msg->cap_ops->get(team,
						     msg->caps[i].vref_id);
		if (!msg->caps[i].ref)
			return B_NOT_ALLOWED;
	}
	return B_OK;
}

/* Under the port lock: what a peeker learns, with its own references. */
static void nexus_port_peek_msg(const struct nexus_port_msg *msg,
				struct nexus_port_peek *peek)
{
	peek->size = msg->size;
	peek->sender = msg->sender;
	get_pid(peek->sender.team);
}

/* In the peeker's context: its view of the sender's ids. */
static void nexus_port_peek_info(struct nexus_port_peek *peek,
				 struct nexus_port_message_info *info)
{
	struct user_namespace *ns = current_user_ns();

	memset(info, 0, sizeof(*info));
	info->size = peek->size;
	info->sender = from_kuid_munged(ns, peek->sender.uid);
	info->sender_group = from_kgid_munged(ns, peek->sender.gid);
	info->sender_team = pid_vnr(peek->sender.team);
	put_pid(peek->sender.team);
}

/* Decide a blocked caller's status and wake it. */
static void nexus_port_wake(struct nexus_port_waiter *w, int status)
{
	list_del_init(&w->node);
	w->status = status;
	nexus_counter_dec(NEXUS_COUNTER_WAITERS);
	wake_up_process(w->task);
}

static void nexus_port_wake_all(struct nexus_port *port, int status)
{
	struct nexus_port_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &port->readers, node)
		nexus_port_wake(w, status);
	list_for_each_entry_safe(w, tmp, &port->writers, node)
		nexus_port_wake(w, status);
}

/* Does a message fit a READ_CAPS reader's room?  Else say what it needs. */
static bool nexus_port_fits(struct nexus_port_waiter *w,
			    const struct nexus_port_msg *msg)
{
	if (msg->size <= w->room_size && msg->nr_caps <= w->room_caps)
		return true;
	w->room_size = msg->size;
	w->room_caps = msg->nr_caps;
	return false;
}

/* Tell kernel writers waiting for room (or the port's death). */
static void nexus_port_tell_links(struct nexus_port *port, bool dead)
{
	struct nexus_port_link *link, *tmp;

	list_for_each_entry_safe(link, tmp, &port->links, node) {
		if (dead) {
			list_del_init(&link->node);
			link->func(link, true);
		} else if (link->want_space) {
			link->want_space = false;
			link->func(link, false);
		}
	}
}

/*
 * A message enters the port, which has room for it: peekers ahead of the
 * first blocked reader learn about it, that reader gets it (a READ_CAPS
 * reader only if it has the room, else it learns what it needs), and if
 * no reader takes it, it is queued at the tail (or at the head, for one a
 * READ_CAPS reader gives back).
 */
static void nexus_port_offer(struct nexus_port *port,
			     struct nexus_port_msg *msg, bool head)
{
	struct nexus_port_waiter *w, *tmp;

	lockdep_assert_held(&port->lock);
	list_for_each_entry_safe(w, tmp, &port->readers, node) {
		if (w->peek) {
			nexus_port_peek_msg(msg, &w->info);
			nexus_port_wake(w, B_OK);
		} else if (w->caps_reader && !nexus_port_fits(w, msg)) {
			nexus_port_wake(w, B_BUFFER_OVERFLOW);
		} else {
			w->msg = msg;
			port->total_count++;
			/* Its slot stays taken until its caps are minted. */
			if (w->caps_reader)
				port->reserved++;
			nexus_port_wake(w, B_OK);
			return;
		}
	}
	if (head)
		list_add(&msg->node, &port->queue);
	else
		list_add_tail(&msg->node, &port->queue);
	port->queue_count++;
	nexus_counter_inc(NEXUS_COUNTER_PORT_MESSAGES);
	nexus_counter_add(NEXUS_COUNTER_PORT_BYTES, msg->size);
}

static bool nexus_port_has_room(const struct nexus_port *port)
{
	return port->queue_count + port->reserved < port->capacity;
}

/* Room appeared: blocked writers' messages fill it, then kernel writers. */
static void nexus_port_refill(struct nexus_port *port)
{
	struct nexus_port_waiter *w;

	lockdep_assert_held(&port->lock);
	while (nexus_port_has_room(port) &&
	       (w = list_first_entry_or_null(&port->writers,
					     struct nexus_port_waiter, node))) {
		nexus_port_offer(port, w->msg, false);
		w->msg = NULL;
		nexus_port_wake(w, B_OK);
	}
	if (nexus_port_has_room(port))
		nexus_port_tell_links(port, false);
}

/*
 * Take the oldest message.  A READ_CAPS reader keeps its slot reserved
 * until it has minted the caps; otherwise the first blocked writer's
 * message fills the slot.
 */
static struct nexus_port_msg *nexus_port_dequeue(struct nexus_port *port,
						 bool reserve)
{
	struct nexus_port_msg *msg;

	lockdep_assert_held(&port->lock);
	msg = list_first_entry(&port->queue, struct nexus_port_msg, node);
	list_del(&msg->node);
	port->queue_count--;
	port->total_count++;
	nexus_counter_dec(NEXUS_COUNTER_PORT_MESSAGES);
	nexus_counter_sub(NEXUS_COUNTER_PORT_BYTES, msg->size);
	if (reserve)
		port->reserved++;
	else
		nexus_port_refill(port);
	return msg;
}

/*
 * Block on one of the port's queues until a waker decides the status, or
 * a signal or the deadline ends the wait.  Called and returns with the
 * port lock held.
 */
static int nexus_port_block(struct nexus_port *port,
			    struct nexus_port_waiter *w, struct list_head *queue,
			    const struct nexus_deadline *dl)
{
	int status;

	w->task = current;
	w->status = NEXUS_WAITING;
	list_add_tail(&w->node, queue);
	nexus_counter_inc(NEXUS_COUNTER_WAITERS);

	while (w->status == NEXUS_WAITING) {
		status = nexus_wait(&port->lock, dl);
		if (status) {
			list_del_init(&w->node);
			nexus_counter_dec(NEXUS_COUNTER_WAITERS);
			w->status = status;
		}
	}
	return w->status;
}

/*
 * Delete a port: erase its id, wake every blocked caller with
 * B_BAD_PORT_ID, free its queue and take it from its owner.
 */
static bool nexus_port_kill(struct nexus_port *port)
{
	struct nexus_port_msg *msg, *tmp;
	LIST_HEAD(queue);

	if (!nexus_object_claim(&nexus_ports, &port->obj))
		return false;

	spin_lock(&port->lock);
	port->closed = true;
	port->deleted = true;
	nexus_port_wake_all(port, B_BAD_PORT_ID);
	nexus_port_tell_links(port, true);
	list_splice_init(&port->queue, &queue);
	port->queue_count = 0;
	spin_unlock(&port->lock);

	list_for_each_entry_safe(msg, tmp, &queue, node) {
		nexus_counter_dec(NEXUS_COUNTER_PORT_MESSAGES);
		nexus_counter_sub(NEXUS_COUNTER_PORT_BYTES, msg->size);
		nexus_port_msg_free(msg);
	}
	nexus_uncharge(port->obj.user, NEXUS_LIMIT_PORTS, 1);
	nexus_object_unlink(&port->obj);
	nexus_port_put(port);		/* the id's reference */
	return true;
}

/* A team teardown deletes the ports it owns. */
void nexus_port_destroy(struct nexus_object *obj)
{
	nexus_port_kill(container_of(obj, struct nexus_port, obj));
}

static int nexus_port_create(struct nexus_team *team,
			     struct nexus_port_create *req)
{
	struct nexus_port *port;
	int err;

	if (req->capacity < 1 || req->capacity > NEXUS_PORT_MAX_CAPACITY)
		return B_BAD_VALUE;

	port = kzalloc(sizeof(*port), GFP_KERNEL_ACCOUNT);
	if (!port)
		return B_NO_MEMORY;
	spin_lock_init(&port->lock);
	INIT_LIST_HEAD(&port->queue);
	INIT_LIST_HEAD(&port->readers);
	INIT_LIST_HEAD(&port->writers);
	INIT_LIST_HEAD(&port->links);
	port->capacity = req->capacity;
	if (nexus_object_init(&port->obj, NEXUS_KIND_PORT)) {
		err = B_NO_MEMORY;
		goto free;
	}

	err = nexus_copy_name(port->obj.name, req->name, req->size,
			      "unnamed port");
	if (err)
		goto free;

	if (nexus_charge(port->obj.user, NEXUS_LIMIT_PORTS, 1)) {
		err = B_NO_MORE_PORTS;
		goto free;
	}
	err = nexus_object_publish(&nexus_ports, &nexus_port_next_id,
				   &port->obj, team, &req->id);
	if (err) {
		nexus_uncharge(port->obj.user, NEXUS_LIMIT_PORTS, 1);
		err = err == -ESRCH ? B_BAD_TEAM_ID :
		      err == -EBUSY ? B_NO_MORE_PORTS : B_NO_MEMORY;
		goto free;
	}
	return B_OK;

free:
	nexus_port_put(port);
	return err;
}

static int nexus_port_close(struct nexus_port_id *req)
{
	struct nexus_port *port;
	int status = B_OK;

	port = nexus_port_get_allowed(req->id, &status);
	if (!port)
		return status;
	spin_lock(&port->lock);
	if (port->closed) {
		status = B_BAD_PORT_ID;
	} else {
		port->closed = true;
		/* Blocked readers mean an empty queue: nothing to read. */
		nexus_port_wake_all(port, B_BAD_PORT_ID);
		nexus_port_tell_links(port, true);
	}
	spin_unlock(&port->lock);
	nexus_port_put(port);
	return status;
}

static int nexus_port_delete(struct nexus_port_id *req)
{
	struct nexus_port *port;
	bool killed;
	int status;

	port = nexus_port_get_allowed(req->id, &status);
	if (!port)
		return status;
	killed = nexus_port_kill(port);
	nexus_port_put(port);
	return killed ? B_OK : B_BAD_PORT_ID;
}

static int nexus_port_find(struct nexus_port_find_req *req)
{
	char name[B_OS_NAME_LENGTH];
	struct nexus_port *port;
	unsigned long index;
	int err;

	if (!req->name)
		return B_BAD_VALUE;
	err = nexus_copy_name(name, req->name, req->size, NULL);
	if (err)
		return err;

	/* Names never change: RCU keeps them readable, in id order. */
	err = B_NAME_NOT_FOUND;
	rcu_read_lock();
	xa_for_each(&nexus_ports, index, port) {
		if (!strcmp(port->obj.name, name)) {
			req->id = index;
			err = B_OK;
			break;
		}
	}
	rcu_read_unlock();
	return err;
}

/*
 * Fill a port_info; fails only if the port is being deleted.  The owner is
 * read first: a port without one, or marked deleted after, is dying.
 */
static int nexus_port_fill_info(struct nexus_port *port,
				struct nexus_port_info *info)
{
	bool deleted;

	memset(info, 0, sizeof(*info));
	info->port = port->obj.id;
	if (nexus_object_owner_id(&port->obj, &info->team))
		return B_BAD_PORT_ID;
	strscpy(info->name, port->obj.name, sizeof(info->name));
	spin_lock(&port->lock);
	deleted = port->deleted;
	info->capacity = port->capacity;
	info->queue_count = port->queue_count;
	info->total_count = port->total_count;
	spin_unlock(&port->lock);
	return deleted ? B_BAD_PORT_ID : B_OK;
}

static int nexus_port_info(struct nexus_port_get_info *req)
{
	struct nexus_port_info info;
	struct nexus_port *port;
	int status;

	port = nexus_port_get(req->id);
	if (!port)
		return B_BAD_PORT_ID;
	status = nexus_port_fill_info(port, &info);
	nexus_port_put(port);
	if (status)
		return status;
	if (copy_to_user(req->info, &info, sizeof(info)))
		return B_BAD_ADDRESS;
	return B_OK;
}

static int nexus_port_next(struct nexus_team *team,
			   struct nexus_get_next_port *req)
{
	struct nexus_team *target;
	struct nexus_object *obj;
	int status;

	target = req->team ? nexus_team_find(req->team) :
			     nexus_team_get(team);
	if (!target)
		return B_BAD_TEAM_ID;

	/* A port deleted under us is skipped. */
	do {
		obj = nexus_object_next(&nexus_ports, req->cookie, target);
		if (!obj) {
			status = B_BAD_PORT_ID;
			break;
		}
		req->cookie = obj->id;
		status = nexus_port_fill_info(container_of(obj,
							   struct nexus_port,
							   obj),
					      &req->info);
		nexus_object_put(obj);
	} while (status);
	nexus_team_put(target);
	return status;
}

static int nexus_port_set_owner(struct nexus_team *team,
				struct nexus_port_set_owner *req)
{
	struct nexus_team *target;
	struct nexus_port *port;
	int err;

	port = nexus_port_get(req->id);
	if (!port)
		return B_BAD_PORT_ID;
	/* 0 is B_CURRENT_TEAM, as for every team argument in Haiku. */
	target = req->team ? nexus_team_find(req->team) :
			     nexus_team_get(team);
	if (!target) {
		nexus_port_put(port);
		return B_BAD_TEAM_ID;
	}
	/* Only the port's user may move it, and only to a team of its own. */
	if (!nexus_object_allowed(&port->obj) ||
	    !nexus_object_same_user(&port->obj, target))
		err = -EPERM;
	else
		err = nexus_object_move(&port->obj, target);
	nexus_team_put(target);
	nexus_port_put(port);
	if (err == -ENOENT)
		return B_BAD_PORT_ID;
	if (err == -EPERM)
		return B_NOT_ALLOWED;
	if (err)
		return B_BAD_TEAM_ID;
	return B_OK;
}

/*
 * Send a message built by the caller, who holds a reference on the port:
 * queue it, give it to a blocked reader, or block until there is room.
 * The message is the port's, or freed, once this returns.
 */
static int nexus_port_send(struct nexus_port *port, struct nexus_port_msg *msg,
			   const struct nexus_deadline *dl)
{
	struct nexus_port_waiter w = { .peek = false };
	int status;

	spin_lock(&port->lock);
	if (port->closed) {
		status = B_BAD_PORT_ID;
	} else if (nexus_port_has_room(port)) {
		nexus_port_offer(port, msg, false);
		msg = NULL;
		status = B_OK;
	} else if (dl->mode == NEXUS_WAIT_NEVER) {
		status = dl->status;
	} else {
		w.msg = msg;
		status = nexus_port_block(port, &w, &port->writers, dl);
		/* NULL once a reader has queued it for us. */
		msg = w.msg;
	}
	spin_unlock(&port->lock);
	if (msg)
		nexus_port_msg_free(msg);
	return status;
}

static int nexus_port_write(struct nexus_team *team, s32 id,
			    const s32 __user *code, const void __user *buffer,
			    size_t size,
			    const struct nexus_port_cap_in __user *caps,
			    size_t nr_caps, const struct nexus_deadline *dl)
{
	struct nexus_port_msg *msg;
	struct nexus_port *port;
	int status;

	if (size > NEXUS_PORT_MAX_MESSAGE_SIZE || nr_caps > NEXUS_PORT_MAX_CAPS)
		return B_BAD_VALUE;
	port = nexus_port_get(id);
	if (!port)
		return B_BAD_PORT_ID;
	/* A cheap early answer; decided again under the lock. */
	if (READ_ONCE(port->closed)) {
		status = B_BAD_PORT_ID;
		goto put;
	}
	msg = nexus_port_msg_new(team, code, buffer, size, nr_caps);
	if (IS_ERR(msg)) {
		status = PTR_ERR(msg);
		goto put;
	}
	status = nr_caps ? nexus_port_msg_caps(team, msg, caps) : B_OK;
	if (status)
		nexus_port_msg_free(msg);
	else
		status = nexus_port_send(port, msg, dl);
put:
	nexus_port_put(port);
	return status;
}

/*
 * Take the next message for a reader, or (peek) describe it.  A READ_CAPS
 * reader (@room) only takes a message that fits its room, and keeps the
 * message's slot reserved; a message that does not fit stays queued and
 * @room says what it needs.  Returns the message taken in *msgp, which the
 * caller then owns, and the port, referenced, in *portp.
 */
static int nexus_port_receive(s32 id, const struct nexus_deadline *dl,
			      bool peek, struct nexus_port_waiter *room,
			      struct nexus_port **portp,
			      struct nexus_port_msg **msgp,
			      struct nexus_port_peek *info)
{
	struct nexus_port_waiter w = { .peek = peek };
	struct nexus_port_msg *head;
	struct nexus_port *port;
	int status;

	*msgp = NULL;
	*portp = NULL;
	port = nexus_port_get_allowed(id, &status);
	if (!port)
		return status;
	if (room) {
		w.caps_reader = true;
		w.room_size = room->room_size;
		w.room_caps = room->room_caps;
	}

	spin_lock(&port->lock);
	head = list_first_entry_or_null(&port->queue, struct nexus_port_msg,
					node);
	if (head) {
		status = B_OK;
		if (peek)
			nexus_port_peek_msg(head, info);
		else if (room && !nexus_port_fits(&w, head))
			status = B_BUFFER_OVERFLOW;
		else
			*msgp = nexus_port_dequeue(port, !!room);
	} else if (port->closed) {
		status = B_BAD_PORT_ID;
	} else if (dl->mode == NEXUS_WAIT_NEVER) {
		status = dl->status;
	} else {
		status = nexus_port_block(port, &w, &port->readers, dl);
		if (status == B_OK) {
			if (peek)
				*info = w.info;
			else
				*msgp = w.msg;
		}
	}
	spin_unlock(&port->lock);
	if (room) {
		room->room_size = w.room_size;
		room->room_caps = w.room_caps;
	}
	*portp = port;
	return status;
}

static int nexus_port_read(struct nexus_port_read *req,
			   const struct nexus_deadline *dl)
{
	struct nexus_port_msg *msg;
	struct nexus_port *port;
	size_t len;
	int status;

	status = nexus_port_receive(req->id, dl, false, NULL, &port, &msg,
				    NULL);
	if (port)
		nexus_port_put(port);
	if (status)
		return status;

	/* The message is consumed whatever happens to the copy. */
	len = min(req->size, msg->size);
	if ((len && copy_to_user(req->buffer, msg->data, len)) ||
	    (req->code && put_user(msg->code, req->code)))
		status = B_BAD_ADDRESS;
	else
		req->size = len;
	nexus_port_msg_free(msg);
	return status;
}

/*
 * Mint the reader's slots and copy the message out, all or nothing: on
 * failure the slots minted are dropped and the caller gives the message
 * back.
 */
static int nexus_port_mint(struct nexus_team *team, struct nexus_port_msg *msg,
			   struct nexus_port_read_caps *req)
{
	struct nexus_port_cap_out out;
	u32 i, minted;
	int status = B_OK;

	for (minted = 0; minted < msg->nr_caps; minted++) {
		struct nexus_port_cap *cap = &msg->caps[minted];

		memset(&out, 0, sizeof(out));
		out.kind = cap->kind;
		out.vref_id = cap->vref_id;
		out.buffer_offset = cap->offset;
		status = msg->cap_ops->mint(team, cap->ref, &out.key);
		if (status)
			break;
		if (copy_to_user(&req->caps[minted], &out, sizeof(out))) {
			msg->cap_ops->unmint(team, cap->ref, out.key);
			status = B_BAD_ADDRESS;
			break;
		}
	}
	if (!status &&
	    ((msg->size && copy_to_user(req->buffer, msg->data, msg->size)) ||
	     (req->code && put_user(msg->code, req->code))))
		status = B_BAD_ADDRESS;
	if (!status)
		return B_OK;
	/* The keys were written out: read them back to drop the slots. */
	for (i = 0; i < minted; i++) {
		u64 key;

		if (!get_user(key, &req->caps[i].key))
			msg->cap_ops->unmint(team, msg->caps[i].ref, key);
	}
	return status;
}

static int nexus_port_read_caps(struct nexus_team *team,
				struct nexus_port_read_caps *req,
				const struct nexus_deadline *dl)
{
	struct nexus_port_waiter room = {
		.room_size = req->size,
		.room_caps = req->caps_count,
	};
	struct nexus_port_msg *msg;
	struct nexus_port *port;
	int status;

	status = nexus_port_receive(req->id, dl, false, &room, &port, &msg,
				    NULL);
	if (status == B_BUFFER_OVERFLOW) {
		req->size = room.room_size;
		req->caps_count = room.room_caps;
	}
	if (status)
		goto put;

	status = nexus_port_mint(team, msg, req);
	if (!status) {
		req->size = msg->size;
		req->caps_count = msg->nr_caps;
	}
	spin_lock(&port->lock);
	port->reserved--;
	if (status && !port->deleted) {
		/* Back where it was, and readers blocked since then get it. */
		nexus_port_offer(port, msg, true);
		port->total_count--;
		msg = NULL;
	}
	nexus_port_refill(port);
	spin_unlock(&port->lock);
	if (msg)
		nexus_port_msg_free(msg);
put:
	if (port)
		nexus_port_put(port);
	return status;
}

static int nexus_port_message_info(struct nexus_port_get_message_info *req,
				   const struct nexus_deadline *dl)
{
	struct nexus_port_message_info info;
	struct nexus_port_peek peek;
	struct nexus_port_msg *msg;
	struct nexus_port *port;
	int status;

	if (!req->info || req->size < sizeof(info))
		return B_BAD_VALUE;
	status = nexus_port_receive(req->id, dl, true, NULL, &port, &msg,
				    &peek);
	if (port)
		nexus_port_put(port);
	if (status)
		return status;
	nexus_port_peek_info(&peek, &info);
	if (copy_to_user(req->info, &info, sizeof(info)))
		return B_BAD_ADDRESS;
	return B_OK;
}

/**
 * nexus_port_link() - a kernel writer attaches to a port
 * @link: the link, its func set
 * @id: the port
 *
 * Return: B_OK, or B_BAD_PORT_ID if the port is gone or closed.
 */
int nexus_port_link(struct nexus_port_link *link, s32 id)
{
	struct nexus_port *port = nexus_port_get(id);
	int status = B_BAD_PORT_ID;

	if (!port)
		return status;
	INIT_LIST_HEAD(&link->node);
	link->want_space = false;
	spin_lock(&port->lock);
	if (!port->closed) {
		list_add_tail(&link->node, &port->links);
		status = B_OK;
	}
	spin_unlock(&port->lock);
	if (status) {
		nexus_port_put(port);
		return status;
	}
	link->port = port;
	return B_OK;
}
EXPORT_SYMBOL_GPL(nexus_port_link);

/* Detach a link (the port may have dropped it already); idempotent. */
void nexus_port_unlink(struct nexus_port_link *link)
{
	struct nexus_port *port = link->port;

	if (!port)
		return;
	spin_lock(&port->lock);
	list_del_init(&link->node);
	spin_unlock(&port->lock);
	link->port = NULL;
	nexus_port_put(port);
}
EXPORT_SYMBOL_GPL(nexus_port_unlink);

/**
 * nexus_port_link_write() - a kernel writer's message, never blocking
 * @link: the writer's link to the port
 * @code: the message code
 * @data: @size bytes
 * @size: at most NEXUS_PORT_MAX_MESSAGE_SIZE
 * @user: charged for the queued message
 * @exempt: @user's share does not apply (decided in the context the
 *	message is written for, not the kernel worker's)
 *
 * The message's sender is the kernel (uid 0, team 0).
 *
 * Return: B_OK; B_WOULD_BLOCK when the port is full (the link's func is
 * called once there is room); B_BAD_PORT_ID when the port is closed or
 * deleted; B_NO_MEMORY or B_BAD_VALUE.
 */
int nexus_port_link_write(struct nexus_port_link *link, s32 code,
			  const void *data, size_t size,
			  struct nexus_user *user, bool exempt)
{
	struct nexus_port *port = link->port;
	struct nexus_port_msg *msg;
	int status;

	if (!port)
		return B_BAD_PORT_ID;
	if (size > NEXUS_PORT_MAX_MESSAGE_SIZE)
		return B_BAD_VALUE;
	msg = nexus_port_msg_alloc(user, size, 0, &exempt);
	if (IS_ERR(msg))
		return PTR_ERR(msg);
	msg->code = code;
	msg->sender.uid = GLOBAL_ROOT_UID;
	msg->sender.gid = GLOBAL_ROOT_GID;
	if (size)
		memcpy(msg->data, data, size);

	spin_lock(&port->lock);
	if (port->closed) {
		status = B_BAD_PORT_ID;
	} else if (nexus_port_has_room(port)) {
		nexus_port_offer(port, msg, false);
		msg = NULL;
		status = B_OK;
	} else {
		link->want_space = true;
		status = B_WOULD_BLOCK;
	}
	spin_unlock(&port->lock);
	if (msg)
		nexus_port_msg_free(msg);
	return status;
}
EXPORT_SYMBOL_GPL(nexus_port_link_write);

/**
 * nexus_port_ioctl() - carry out a port request
 * @team: the caller's team
 * @cmd: the ioctl number
 * @req: the request, copied in; its ret is set here
 *
 * Return: 0, -ERESTARTSYS when a signal interrupted a wait (see
 * nexus_wait_end()), or -ENOTTY if @cmd is no port request.
 */
long nexus_port_ioctl(struct nexus_team *team, unsigned int cmd, void *req)
{
	struct nexus_deadline dl;

	switch (cmd) {
	case NEXUS_PORT_CREATE: {
		struct nexus_port_create *r = req;

		r->ret = nexus_port_create(team, r);
		break;
	}
	case NEXUS_PORT_CLOSE: {
		struct nexus_port_id *r = req;

		r->ret = nexus_port_close(r);
		break;
	}
	case NEXUS_PORT_DELETE: {
		struct nexus_port_id *r = req;

		r->ret = nexus_port_delete(r);
		break;
	}
	case NEXUS_PORT_FIND: {
		struct nexus_port_find_req *r = req;

		r->ret = nexus_port_find(r);
		break;
	}
	case NEXUS_GET_NEXT_PORT_FOR_TEAM: {
		struct nexus_get_next_port *r = req;

		r->ret = nexus_port_next(team, r);
		break;
	}
	case NEXUS_PORT_READ: {
		struct nexus_port_read *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_port_read(r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_PORT_WRITE: {
		struct nexus_port_write *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_port_write(team, r->id, r->code, r->buffer,
					  r->size, NULL, 0, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_PORT_WRITE_CAPS: {
		struct nexus_port_write_caps *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_port_write(team, r->id, r->code, r->buffer,
					  r->size, r->caps, r->caps_count, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_PORT_READ_CAPS: {
		struct nexus_port_read_caps *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_port_read_caps(team, r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_PORT_INFO: {
		struct nexus_port_get_info *r = req;

		r->ret = nexus_port_info(r);
		break;
	}
	case NEXUS_PORT_MESSAGE_INFO: {
		struct nexus_port_get_message_info *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_port_message_info(r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_SET_PORT_OWNER: {
		struct nexus_port_set_owner *r = req;

		r->ret = nexus_port_set_owner(team, r);
		break;
	}
	default:
		return -ENOTTY;
	}
	return 0;
}

/* Module exit: no file is open, so no port is left; make sure. */
void nexus_ports_exit(void)
{
	struct nexus_port *port;
	unsigned long index;

	xa_for_each(&nexus_ports, index, port) {
		WARN_ON_ONCE(1);
		if (kref_get_unless_zero(&port->obj.ref)) {
			nexus_port_kill(port);
			nexus_port_put(port);
		}
	}
	xa_destroy(&nexus_ports);
}
