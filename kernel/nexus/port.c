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

struct nexus_port_msg {
	struct list_head node;		/* in the port's queue */
	size_t size;
	struct nexus_user *user;	/* charged; referenced */
	struct nexus_port_sender sender;
	s32 code;
	void *data;			/* size bytes, NULL when empty */
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
	s32 capacity;
	s32 queue_count;
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
	kfree_rcu(port, obj.rcu);
}

/*
 * What a message of @size bytes costs in kernel memory: its header, and
 * its payload in a separate allocation, so that a payload of a power of two
 * (4 KiB, 256 KiB) is not doubled by the header.  kvmalloc() tries
 * kmalloc() first, whose buckets and page orders kmalloc_size_roundup()
 * gives; its vmalloc() fallback never takes more.
 */
static size_t nexus_port_msg_cost(size_t size)
{
	return kmalloc_size_roundup(sizeof(struct nexus_port_msg)) +
	       (size ? kmalloc_size_roundup(size) : 0);
}

static void nexus_port_msg_free(struct nexus_port_msg *msg)
{
	nexus_uncharge(msg->user, NEXUS_LIMIT_PORT_SPACE,
		       nexus_port_msg_cost(msg->size));
	nexus_user_put(msg->user);
	put_pid(msg->sender.team);
	kvfree(msg->data);
	kfree(msg);
}

/* Build a message from a write request, before any lock is taken. */
static struct nexus_port_msg *
nexus_port_msg_new(struct nexus_team *team, const struct nexus_port_write *req)
{
	size_t cost = nexus_port_msg_cost(req->size);
	struct nexus_port_msg *msg;
	s32 code;

	/* req->size is bounded by the caller: no overflow here. */
	if (nexus_charge(team->user, NEXUS_LIMIT_PORT_SPACE, cost))
		return ERR_PTR(B_NO_MEMORY);
	msg = kzalloc(sizeof(*msg), GFP_KERNEL_ACCOUNT);
	if (msg && req->size) {
		msg->data = kvmalloc(req->size, GFP_KERNEL_ACCOUNT);
		if (!msg->data) {
			kfree(msg);
			msg = NULL;
		}
	}
	if (!msg) {
		nexus_uncharge(team->user, NEXUS_LIMIT_PORT_SPACE, cost);
		return ERR_PTR(B_NO_MEMORY);
	}
	msg->user = nexus_user_hold(team->user);
	msg->size = req->size;
	msg->sender.uid = current_euid();
	msg->sender.gid = current_egid();
	msg->sender.team = get_pid(team->tgid);
	if (get_user(code, req->code) ||
	    (req->size && copy_from_user(msg->data, req->buffer, req->size))) {
		nexus_port_msg_free(msg);
		return ERR_PTR(B_BAD_ADDRESS);
	}
	msg->code = code;
	return msg;
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

/*
 * A message enters the port, which has room for it: peekers ahead of the
 * first blocked reader learn about it, that reader gets it, and if no
 * reader is blocked it is queued.
 */
static void nexus_port_deliver(struct nexus_port *port,
			       struct nexus_port_msg *msg)
{
	struct nexus_port_waiter *w, *tmp;

	lockdep_assert_held(&port->lock);
	list_for_each_entry_safe(w, tmp, &port->readers, node) {
		if (!w->peek) {
			w->msg = msg;
			port->total_count++;
			nexus_port_wake(w, B_OK);
			return;
		}
		nexus_port_peek_msg(msg, &w->info);
		nexus_port_wake(w, B_OK);
	}
	list_add_tail(&msg->node, &port->queue);
	port->queue_count++;
	nexus_counter_inc(NEXUS_COUNTER_PORT_MESSAGES);
	nexus_counter_add(NEXUS_COUNTER_PORT_BYTES, msg->size);
}

/* Take the oldest message; the first blocked writer's fills the slot. */
static struct nexus_port_msg *nexus_port_dequeue(struct nexus_port *port)
{
	struct nexus_port_msg *msg;
	struct nexus_port_waiter *w;

	lockdep_assert_held(&port->lock);
	msg = list_first_entry(&port->queue, struct nexus_port_msg, node);
	list_del(&msg->node);
	port->queue_count--;
	port->total_count++;
	nexus_counter_dec(NEXUS_COUNTER_PORT_MESSAGES);
	nexus_counter_sub(NEXUS_COUNTER_PORT_BYTES, msg->size);

	w = list_first_entry_or_null(&port->writers, struct nexus_port_waiter,
				     node);
	if (w) {
		nexus_port_deliver(port, w->msg);
		w->msg = NULL;
		nexus_port_wake(w, B_OK);
	}
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

static int nexus_port_write(struct nexus_team *team,
			    struct nexus_port_write *req,
			    const struct nexus_deadline *dl)
{
	struct nexus_port_waiter w = { .peek = false };
	struct nexus_port_msg *msg;
	struct nexus_port *port;
	int status;

	if (req->size > NEXUS_PORT_MAX_MESSAGE_SIZE)
		return B_BAD_VALUE;
	port = nexus_port_get(req->id);
	if (!port)
		return B_BAD_PORT_ID;
	/* A cheap early answer; decided again under the lock below. */
	if (READ_ONCE(port->closed)) {
		status = B_BAD_PORT_ID;
		goto put;
	}
	msg = nexus_port_msg_new(team, req);
	if (IS_ERR(msg)) {
		status = PTR_ERR(msg);
		goto put;
	}

	spin_lock(&port->lock);
	if (port->closed) {
		status = B_BAD_PORT_ID;
	} else if (port->queue_count < port->capacity) {
		nexus_port_deliver(port, msg);
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
put:
	nexus_port_put(port);
	return status;
}

/*
 * Take the next message for a reader, or (peek) describe it.  Returns the
 * message taken in *msgp, which the caller then owns.
 */
static int nexus_port_receive(s32 id, const struct nexus_deadline *dl,
			      bool peek, struct nexus_port_msg **msgp,
			      struct nexus_port_peek *info)
{
	struct nexus_port_waiter w = { .peek = peek };
	struct nexus_port *port;
	int status;

	*msgp = NULL;
	port = nexus_port_get_allowed(id, &status);
	if (!port)
		return status;

	spin_lock(&port->lock);
	if (!list_empty(&port->queue)) {
		if (peek)
			nexus_port_peek_msg(list_first_entry(&port->queue,
							     struct nexus_port_msg,
							     node), info);
		else
			*msgp = nexus_port_dequeue(port);
		status = B_OK;
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
	nexus_port_put(port);
	return status;
}

static int nexus_port_read(struct nexus_port_read *req,
			   const struct nexus_deadline *dl)
{
	struct nexus_port_msg *msg;
	size_t len;
	int status;

	status = nexus_port_receive(req->id, dl, false, &msg, NULL);
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

static int nexus_port_message_info(struct nexus_port_get_message_info *req,
				   const struct nexus_deadline *dl)
{
	struct nexus_port_message_info info;
	struct nexus_port_peek peek;
	struct nexus_port_msg *msg;
	int status;

	if (!req->info || req->size < sizeof(info))
		return B_BAD_VALUE;
	status = nexus_port_receive(req->id, dl, true, &msg, &peek);
	if (status)
		return status;
	nexus_port_peek_info(&peek, &info);
	if (copy_to_user(req->info, &info, sizeof(info)))
		return B_BAD_ADDRESS;
	return B_OK;
}

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
		r->ret = nexus_port_write(team, r, &dl);
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
