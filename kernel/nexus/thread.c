// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus threads: Haiku's thread messaging over Linux threads.
 *
 * Thread ids are tids.  A thread gets a record the first time a thread
 * request names it (itself or another thread of a process that is a team):
 * the record holds its one-message mailbox, the senders blocked on it, the
 * callers waiting for its exit, its exit code and, for a thread started by
 * libnexus's spawn_thread(), the "suspended until resumed" handshake:
 * SPAWN registers the new thread with its father, WAIT_NEWBORN gives the
 * father its tid, CLONE_EXECUTED parks it until RESUME.
 *
 * Records are keyed by the thread's struct pid, in a hash table read under
 * RCU, and owned by the team of the thread's process (team->threads).
 *
 * Death.  A module has no exit hook, and the pidfd wait queue a thread's
 * struct pid has is woken for a single thread's exit only from 6.9 on.  So
 * Nexus attaches a probe to the sched_process_exit tracepoint, which do_exit()
 * fires for every exiting task on every kernel Nexus supports (after
 * exit_mm(), before exit_files(); the task can never run user code again).
 * The probe runs with preemption off: it only looks the task's struct pid up
 * under RCU and, for a thread with a record, queues the record's death work,
 * which wakes every blocked sender (B_BAD_THREAD_ID) and waiter (B_OK and
 * the exit code).  A team's teardown does the same for all its threads, so
 * a process killed at once wakes everybody whichever comes first.  A record
 * created for a thread that is already exiting is put to death by its
 * creator (the probe may have run before the record was visible).
 *
 * After its death a thread of a team that nobody was waiting for keeps a
 * small exit record in its team (team->dead_threads, at most
 * NEXUS_MAX_DEAD_THREADS, oldest dropped), so that a thread of the same team
 * can still wait for it once, as Haiku keeps its death entries.
 */

#include <linux/cred.h>
#include <linux/hashtable.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/tracepoint.h>
#include <linux/uaccess.h>

#include "nexus_compat.h"
#include "nexus_internal.h"

#define NEXUS_THREAD_HASH_BITS	10
#define NEXUS_MAX_DEAD_THREADS	128

struct nexus_thread_msg {
	s32 code;
	struct pid *sender;		/* referenced */
	struct nexus_user *user;	/* charged; referenced */
	long charge;
	size_t size;
	void *data;			/* its own allocation, as ports' */
};

struct nexus_thread {
	struct hlist_node node;		/* in the table while alive; RCU */
	struct list_head team_node;	/* team->threads or ->dead_threads */
	struct pid *pid;		/* referenced */
	struct nexus_team *team;	/* referenced */
	struct kref ref;		/* team list, lookups, wait lists */
	struct rcu_head rcu;
	struct work_struct death_work;

	spinlock_t lock;		/* guards everything below */
	bool dead;
	bool newborn;			/* registered by SPAWN */
	bool resumed;			/* RESUME came */
	bool suspended;			/* parked in CLONE_EXECUTED */
	bool code_set;
	s32 exit_code;
	int state;			/* B_THREAD_* while blocked; no lock */
	char name[B_OS_NAME_LENGTH];
	char comm[TASK_COMM_LEN];	/* the task's name when name was set */
	struct nexus_thread_msg *msg;	/* the mailbox, NULL when empty */
	struct list_head senders;	/* blocked in WRITE, FIFO */
	struct list_head receivers;	/* the thread itself in READ */
	struct list_head waiters;	/* in WAITFOR */
	struct list_head resumers;	/* the thread itself in CLONE_EXECUTED */
	struct list_head fathers;	/* the thread itself in WAIT_NEWBORN */
	struct list_head newborns;	/* its newborns not yet given out */
	struct list_head newborn_node;	/* in its father's newborns */
};

struct nexus_thread_waiter {
	struct list_head node;
	struct task_struct *task;
	int status;			/* NEXUS_WAITING until decided */
	s32 code;			/* WAITFOR: the exit code */
	struct nexus_thread_msg *msg;	/* WRITE: the message to hand over */
};

static DEFINE_HASHTABLE(nexus_threads, NEXUS_THREAD_HASH_BITS);
static DEFINE_SPINLOCK(nexus_threads_lock);
static struct workqueue_struct *nexus_thread_wq;
static struct tracepoint *nexus_exit_tp;

static void nexus_thread_free_msg(struct nexus_thread_msg *msg)
{
	if (!msg)
		return;
	put_pid(msg->sender);
	nexus_uncharge(msg->user, NEXUS_LIMIT_PORT_SPACE, msg->charge);
	nexus_user_put(msg->user);
	nexus_counter_dec(NEXUS_COUNTER_THREAD_MESSAGES);
	kvfree(msg->data);
	kfree(msg);
}

static void nexus_thread_release(struct kref *ref)
{
	struct nexus_thread *t = container_of(ref, struct nexus_thread, ref);

	WARN_ON(t->msg || !list_empty(&t->newborns));
	nexus_uncharge(t->team->user, NEXUS_LIMIT_THREADS, 1);
	nexus_team_put(t->team);
	put_pid(t->pid);
	kfree_rcu(t, rcu);
}

static void nexus_thread_put(struct nexus_thread *t)
{
	kref_put(&t->ref, nexus_thread_release);
}

/* The live record of a struct pid, referenced, or NULL. */
static struct nexus_thread *nexus_thread_hashed(struct pid *pid)
{
	struct nexus_thread *t;

	rcu_read_lock();
	hash_for_each_possible_rcu(nexus_threads, t, node, (unsigned long)pid) {
		if (t->pid == pid && kref_get_unless_zero(&t->ref)) {
			rcu_read_unlock();
			return t;
		}
	}
	rcu_read_unlock();
	return NULL;
}

/* Decide a queued waiter's status, take it off its list, wake it. */
static void nexus_thread_decide(struct nexus_thread_waiter *w, int status,
				s32 code)
{
	list_del_init(&w->node);
	w->status = status;
	w->code = code;
	nexus_counter_dec(NEXUS_COUNTER_WAITERS);
	wake_up_process(w->task);
}

/* Wake every waiter of a list with a status (under t->lock). */
static void nexus_thread_wake_all(struct list_head *list, int status, s32 code)
{
	struct nexus_thread_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, list, node)
		nexus_thread_decide(w, status, code);
}

static void nexus_thread_wake_one(struct list_head *list)
{
	struct nexus_thread_waiter *w;

	w = list_first_entry_or_null(list, struct nexus_thread_waiter, node);
	if (w)
		nexus_thread_decide(w, B_OK, 0);
}

/* Drop the newborns a father never took (their records stay theirs). */
static void nexus_thread_drop_newborns(struct nexus_thread *t)
{
	struct nexus_thread *nb;
	LIST_HEAD(list);

	spin_lock(&t->lock);
	list_splice_init(&t->newborns, &list);
	spin_unlock(&t->lock);
	while ((nb = list_first_entry_or_null(&list, struct nexus_thread,
					      newborn_node))) {
		list_del_init(&nb->newborn_node);
		nexus_thread_put(nb);
	}
}

/*
 * A thread has died (or its team is torn down): decide every waiter, leave
 * the table, and keep an exit record in the team if nobody got the code.
 * All under the team's lock, so that a record in team->threads is alive.
 */
static void nexus_thread_die(struct nexus_thread *t)
{
	struct nexus_team *team = t->team;
	struct nexus_thread *drop = NULL;
	struct nexus_thread_msg *msg;
	bool keep, put = false;
	s32 code;

	mutex_lock(&team->lock);
	spin_lock(&t->lock);
	if (t->dead) {
		spin_unlock(&t->lock);
		mutex_unlock(&team->lock);
		return;
	}
	t->dead = true;
	code = t->code_set ? t->exit_code : B_ERROR;
	keep = list_empty(&t->waiters);
	nexus_thread_wake_all(&t->waiters, B_OK, code);
	nexus_thread_wake_all(&t->senders, B_BAD_THREAD_ID, 0);
	nexus_thread_wake_all(&t->receivers, B_BAD_THREAD_ID, 0);
	nexus_thread_wake_all(&t->resumers, B_BAD_THREAD_ID, 0);
	nexus_thread_wake_all(&t->fathers, B_BAD_THREAD_ID, 0);
	msg = t->msg;
	t->msg = NULL;
	spin_unlock(&t->lock);

	spin_lock(&nexus_threads_lock);
	hash_del_rcu(&t->node);
	spin_unlock(&nexus_threads_lock);

	list_del_init(&t->team_node);
	if (keep && !team->dead) {
		list_add_tail(&t->team_node, &team->dead_threads);
		if (++team->nr_dead_threads > NEXUS_MAX_DEAD_THREADS) {
			drop = list_first_entry(&team->dead_threads,
						struct nexus_thread, team_node);
			list_del_init(&drop->team_node);
			team->nr_dead_threads--;
		}
	} else {
		put = true;
	}
	mutex_unlock(&team->lock);

	nexus_thread_free_msg(msg);
	nexus_thread_drop_newborns(t);
	if (drop)
		nexus_thread_put(drop);
	if (put)
		nexus_thread_put(t);		/* the team list's */
}

static void nexus_thread_death_work(struct work_struct *work)
{
	struct nexus_thread *t = container_of(work, struct nexus_thread,
					      death_work);

	nexus_thread_die(t);
	nexus_thread_put(t);			/* the work's */
}

/*
 * sched_process_exit: every exiting task, preemption off.  Only find the
 * record and queue its death.
 */
static void nexus_thread_exit_probe(NEXUS_EXIT_PROBE_ARGS)
{
	struct nexus_thread *t = nexus_thread_hashed(task_pid(task));

	if (t && !queue_work(nexus_thread_wq, &t->death_work))
		nexus_thread_put(t);	/* queued already: not the last */
}

static bool nexus_task_exiting(struct task_struct *task)
{
	return READ_ONCE(task->flags) & PF_EXITING;
}

/*
 * The record of a live thread of @team, created if needed.  @pid is the
 * thread's.  Return: the record referenced, or an ERR_PTR (-ESRCH: the
 * thread or its team is dead; -ENOSPC: past the thread limits).
 */
static struct nexus_thread *nexus_thread_create(struct pid *pid,
						struct task_struct *task,
						struct nexus_team *team)
{
	struct nexus_thread *t, *other;
	int err;

	t = nexus_thread_hashed(pid);
	if (t)
		return t;

	if (nexus_charge(team->user, NEXUS_LIMIT_THREADS, 1))
		return ERR_PTR(-ENOSPC);
	t = kzalloc(sizeof(*t), GFP_KERNEL_ACCOUNT);
	if (!t) {
		nexus_uncharge(team->user, NEXUS_LIMIT_THREADS, 1);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&t->ref);			/* the team list's */
	t->pid = get_pid(pid);
	t->team = nexus_team_get(team);
	spin_lock_init(&t->lock);
	INIT_LIST_HEAD(&t->team_node);
	INIT_LIST_HEAD(&t->senders);
	INIT_LIST_HEAD(&t->receivers);
	INIT_LIST_HEAD(&t->waiters);
	INIT_LIST_HEAD(&t->resumers);
	INIT_LIST_HEAD(&t->fathers);
	INIT_LIST_HEAD(&t->newborns);
	INIT_LIST_HEAD(&t->newborn_node);
	INIT_WORK(&t->death_work, nexus_thread_death_work);
	nexus_get_task_comm(t->name, task);
	nexus_get_task_comm(t->comm, task);

	mutex_lock(&team->lock);
	err = team->dead ? -ESRCH : 0;
	if (!err) {
		spin_lock(&nexus_threads_lock);
		hash_for_each_possible(nexus_threads, other, node,
				       (unsigned long)pid)
			if (other->pid == pid)
				err = -EEXIST;
		if (!err) {
			hash_add_rcu(nexus_threads, &t->node,
				     (unsigned long)pid);
			list_add_tail(&t->team_node, &team->threads);
		}
		spin_unlock(&nexus_threads_lock);
	}
	mutex_unlock(&team->lock);
	if (err) {
		nexus_thread_put(t);
		if (err != -EEXIST)
			return ERR_PTR(err);
		t = nexus_thread_hashed(pid);
		return t ? t : ERR_PTR(-ESRCH);
	}

	kref_get(&t->ref);			/* the caller's */
	/*
	 * The exit probe may have run before the record was hashed: a value
	 * returning atomic between PF_EXITING and the probe orders them.
	 */
	smp_mb();
	if (nexus_task_exiting(task))
		nexus_thread_die(t);
	return t;
}

/* The caller's own record (its team is the file's). */
static struct nexus_thread *nexus_thread_self(struct nexus_team *team)
{
	return nexus_thread_create(task_pid(current), current, team);
}

/* May the caller act on a thread of @team (NEXUS-ABI.md, threads)? */
static bool nexus_thread_allowed(const struct nexus_team *team)
{
	if (uid_eq(current_euid(), team->user->uid))
		return true;
	return ns_capable(team->user_ns, CAP_IPC_OWNER);
}

/*
 * The record of a live thread, by tid in the caller's pid namespace.
 * Return: the record referenced, or NULL with *status B_BAD_THREAD_ID,
 * B_NOT_ALLOWED or B_NO_MEMORY.
 */
static struct nexus_thread *nexus_thread_find(pid_t tid, int *status)
{
	struct nexus_thread *t = NULL;
	struct nexus_team *team;
	struct task_struct *task;
	struct pid *pid;

	*status = B_BAD_THREAD_ID;
	if (tid <= 0)
		return NULL;
	pid = find_get_pid(tid);
	if (!pid)
		return NULL;
	t = nexus_thread_hashed(pid);
	if (t)
		goto check;

	task = get_pid_task(pid, PIDTYPE_PID);
	if (!task)
		goto out;
	team = nexus_team_of_tgid(task_tgid(task));
	if (team && !nexus_thread_allowed(team)) {
		*status = B_NOT_ALLOWED;
	} else if (team && !nexus_task_exiting(task)) {
		t = nexus_thread_create(pid, task, team);
		if (IS_ERR(t)) {
			*status = PTR_ERR(t) == -ESRCH ? B_BAD_THREAD_ID :
							   B_NO_MEMORY;
			t = NULL;
		}
	}
	if (team)
		nexus_team_put(team);
	put_task_struct(task);
	goto out;
check:
	if (!nexus_thread_allowed(t->team)) {
		nexus_thread_put(t);
		t = NULL;
		*status = B_NOT_ALLOWED;
	}
out:
	put_pid(pid);
	return t;
}

/*
 * What a thread is doing, for GET_INFO: set by the thread itself around a
 * wait, on its own record (@self, which may be an ERR_PTR: then nothing is
 * shown), read without a lock: advisory.  Return: the state it replaced.
 */
static int nexus_thread_mark(struct nexus_thread *self, int state)
{
	int old;

	if (IS_ERR(self))
		return 0;
	old = READ_ONCE(self->state);
	WRITE_ONCE(self->state, state);
	return old;
}

/* Put a record that may be an ERR_PTR (nexus_thread_mark()'s @self). */
static void nexus_thread_put_self(struct nexus_thread *self)
{
	if (!IS_ERR(self))
		nexus_thread_put(self);
}

/* Sleep on one of a record's lists until decided; under t->lock. */
static int nexus_thread_block(struct nexus_thread *t, struct list_head *list,
			      struct nexus_thread_waiter *w,
			      const struct nexus_deadline *dl)
	__must_hold(&t->lock)
{
	int status;

	w->task = current;
	w->status = NEXUS_WAITING;
	list_add_tail(&w->node, list);
	nexus_counter_inc(NEXUS_COUNTER_WAITERS);
	while (w->status == NEXUS_WAITING) {
		status = nexus_wait(&t->lock, dl);
		if (status) {
			list_del_init(&w->node);
			nexus_counter_dec(NEXUS_COUNTER_WAITERS);
			w->status = status;
		}
	}
	return w->status;
}

static int nexus_thread_spawn(struct nexus_team *team, void __user *argp)
{
	struct nexus_thread_spawn req;
	struct nexus_thread *self, *father;
	char name[B_OS_NAME_LENGTH];
	int status;

	if (copy_from_user(&req, argp, sizeof(req)))
		return -EFAULT;
	status = nexus_copy_name(name, req.name, B_OS_NAME_LENGTH, "");
	if (status == B_OK && !req.name)
		nexus_get_task_comm(name, current);
	if (status)
		return status;

	father = nexus_thread_find(req.father, &status);
	if (!father)
		return status;
	if (father->team != team || father->pid == task_pid(current)) {
		nexus_thread_put(father);
		return B_BAD_THREAD_ID;
	}
	self = nexus_thread_self(team);
	if (IS_ERR(self)) {
		nexus_thread_put(father);
		return B_NO_MEMORY;
	}

	spin_lock(&self->lock);
	strscpy(self->name, name, sizeof(self->name));
	nexus_get_task_comm(self->comm, current);
	status = self->newborn ? B_BAD_THREAD_STATE : B_OK;
	self->newborn = true;
	spin_unlock(&self->lock);

	if (status == B_OK) {
		spin_lock(&father->lock);
		if (father->dead) {
			status = B_BAD_THREAD_ID;
		} else {
			list_add_tail(&self->newborn_node, &father->newborns);
			kref_get(&self->ref);	/* the father's list's */
			nexus_thread_wake_one(&father->fathers);
		}
		spin_unlock(&father->lock);
	}
	nexus_thread_put(self);
	nexus_thread_put(father);
	return status;
}

/* Return: the first newborn's tid, or a negative errno. */
static long nexus_thread_wait_newborn(struct nexus_team *team)
{
	struct nexus_thread_waiter w = {};
	struct nexus_deadline dl;
	struct nexus_thread *self, *nb = NULL;
	long ret;

	self = nexus_thread_self(team);
	if (IS_ERR(self))
		return PTR_ERR(self);
	nexus_deadline_init(&dl, 0, 0);
	spin_lock(&self->lock);
	for (;;) {
		nb = list_first_entry_or_null(&self->newborns,
					      struct nexus_thread,
					      newborn_node);
		if (nb) {
			list_del_init(&nb->newborn_node);
			break;
		}
		if (nexus_thread_block(self, &self->fathers, &w, &dl) != B_OK)
			break;
	}
	spin_unlock(&self->lock);
	nexus_thread_put(self);
	if (!nb)
		/* Only a signal ends the wait: always restart it. */
		return w.status == B_INTERRUPTED ? -ERESTARTNOINTR : -ESRCH;
	ret = pid_vnr(nb->pid);
	nexus_thread_put(nb);
	return ret ? ret : -ESRCH;
}

static long nexus_thread_clone_executed(struct nexus_team *team,
					unsigned long arg)
{
	struct nexus_thread_waiter w = {};
	struct nexus_deadline dl;
	struct nexus_thread *self;
	int status = B_OK;

	if (arg)
		return B_BAD_VALUE;
	self = nexus_thread_self(team);
	if (IS_ERR(self))
		return PTR_ERR(self);
	nexus_deadline_init(&dl, 0, 0);
	spin_lock(&self->lock);
	if (!self->newborn) {
		status = B_BAD_THREAD_STATE;
	} else if (!self->resumed) {
		self->suspended = true;
		status = nexus_thread_block(self, &self->resumers, &w, &dl);
		self->suspended = false;
	}
	spin_unlock(&self->lock);
	nexus_thread_put(self);
	/* Parked until resumed: a signal handler does not end it. */
	return status == B_INTERRUPTED ? -ERESTARTNOINTR : status;
}

/* Haiku's resume_thread(): only a newborn that was never resumed. */
static int nexus_thread_resume_one(struct nexus_thread *t)
{
	int status;

	spin_lock(&t->lock);
	if (t->dead) {
		status = B_BAD_THREAD_ID;
	} else if (!t->newborn || t->resumed) {
		status = B_BAD_THREAD_STATE;
	} else {
		t->resumed = true;
		nexus_thread_wake_all(&t->resumers, B_OK, 0);
		status = B_OK;
	}
	spin_unlock(&t->lock);
	return status;
}

static long nexus_thread_resume(unsigned long arg)
{
	struct nexus_thread *t;
	int status;

	if (arg > INT_MAX)
		return B_BAD_THREAD_ID;
	t = nexus_thread_find(arg, &status);
	if (!t)
		return status;
	status = nexus_thread_resume_one(t);
	nexus_thread_put(t);
	return status;
}

static long nexus_thread_set_return_code(struct nexus_team *team,
					 unsigned long arg)
{
	struct nexus_thread *self = nexus_thread_self(team);

	if (IS_ERR(self))
		return PTR_ERR(self);
	spin_lock(&self->lock);
	self->exit_code = (s32)arg;
	self->code_set = true;
	spin_unlock(&self->lock);
	nexus_thread_put(self);
	return B_OK;
}

static int nexus_thread_set_name(struct nexus_team *team,
				 struct nexus_thread_set_name_req *req)
{
	char name[B_OS_NAME_LENGTH];
	struct nexus_thread *self;
	int status;

	if (!req->name)
		return B_BAD_VALUE;
	status = nexus_copy_name(name, req->name, req->size, "");
	if (status)
		return status;
	self = nexus_thread_self(team);
	if (IS_ERR(self))
		return B_NO_MEMORY;
	spin_lock(&self->lock);
	strscpy(self->name, name, sizeof(self->name));
	nexus_get_task_comm(self->comm, current);
	spin_unlock(&self->lock);
	nexus_thread_put(self);
	return B_OK;
}

/* A message from the caller, copied in and charged to its user. */
static struct nexus_thread_msg *nexus_thread_msg_new(struct nexus_team *team,
						     struct nexus_thread_rw *req,
						     int *status)
{
	struct nexus_thread_msg *msg;
	size_t size = req->size;
	long charge;

	if (req->size < 0) {
		*status = B_BAD_VALUE;
		return NULL;
	}
	if (size > NEXUS_THREAD_MAX_MESSAGE_SIZE) {
		*status = B_NO_MEMORY;
		return NULL;
	}
	/*
	 * The header and the bytes apart, as ports do: a page of data takes
	 * a page, not an order-1 block.
	 */
	charge = kmalloc_size_roundup(sizeof(*msg)) +
		 (size ? kmalloc_size_roundup(size) : 0);
	if (nexus_charge(team->user, NEXUS_LIMIT_PORT_SPACE, charge)) {
		*status = B_NO_MEMORY;
		return NULL;
	}
	*status = B_NO_MEMORY;
	msg = kzalloc(sizeof(*msg), GFP_KERNEL_ACCOUNT);
	if (!msg)
		goto uncharge;
	if (size) {
		/* The sender's size: failing is its B_NO_MEMORY, no warning. */
		msg->data = kvmalloc(size, GFP_KERNEL_ACCOUNT | __GFP_NOWARN);
		if (!msg->data)
			goto free;
		if (copy_from_user(msg->data, req->buffer, size)) {
			*status = B_BAD_ADDRESS;
			goto free;
		}
	}
	msg->code = req->return_code;
	msg->sender = get_pid(task_pid(current));
	msg->user = nexus_user_hold(team->user);
	msg->charge = charge;
	msg->size = size;
	nexus_counter_inc(NEXUS_COUNTER_THREAD_MESSAGES);
	return msg;

free:
	kvfree(msg->data);
	kfree(msg);
uncharge:
	nexus_uncharge(team->user, NEXUS_LIMIT_PORT_SPACE, charge);
	return NULL;
}

static int nexus_thread_write(struct nexus_team *team,
			      struct nexus_thread_rw *req,
			      const struct nexus_deadline *dl)
{
	struct nexus_thread_waiter w = {};
	struct nexus_thread_msg *msg;
	struct nexus_thread *t, *self;
	int status, state;

	t = nexus_thread_find(req->receiver, &status);
	if (!t)
		return status;
	msg = nexus_thread_msg_new(team, req, &status);
	if (!msg)
		goto out;

	self = nexus_thread_self(team);
	state = nexus_thread_mark(self, B_THREAD_WAITING);
	spin_lock(&t->lock);
	if (t->dead) {
		status = B_BAD_THREAD_ID;
	} else if (!t->msg && list_empty(&t->senders)) {
		t->msg = msg;
		msg = NULL;
		nexus_thread_wake_all(&t->receivers, B_OK, 0);
		status = B_OK;
	} else if (dl->mode == NEXUS_WAIT_NEVER) {
		status = dl->status;
	} else {
		/* The reader hands the slot over: msg is then its. */
		w.msg = msg;
		status = nexus_thread_block(t, &t->senders, &w, dl);
		if (status == B_OK)
			msg = NULL;
	}
	spin_unlock(&t->lock);
	nexus_thread_mark(self, state);
	nexus_thread_put_self(self);
	nexus_thread_free_msg(msg);
out:
	nexus_thread_put(t);
	return status;
}

/* Take the mailbox's message; the first blocked sender's moves in. */
static struct nexus_thread_msg *nexus_thread_take(struct nexus_thread *t)
{
	struct nexus_thread_msg *msg = t->msg;
	struct nexus_thread_waiter *w;

	lockdep_assert_held(&t->lock);
	t->msg = NULL;
	w = list_first_entry_or_null(&t->senders, struct nexus_thread_waiter,
				     node);
	if (w) {
		t->msg = w->msg;
		nexus_thread_decide(w, B_OK, 0);
	}
	return msg;
}

static int nexus_thread_read(struct nexus_team *team,
			     struct nexus_thread_rw *req,
			     const struct nexus_deadline *dl)
{
	struct nexus_thread_waiter w = {};
	struct nexus_thread_msg *msg = NULL;
	struct nexus_thread *self;
	size_t n;
	int status = B_OK, old;

	if (req->size < 0)
		return B_BAD_VALUE;
	self = nexus_thread_self(team);
	if (IS_ERR(self))
		return B_NO_MEMORY;

	old = nexus_thread_mark(self, B_THREAD_RECEIVING);
	spin_lock(&self->lock);
	while (!self->msg && status == B_OK) {
		if (dl->mode == NEXUS_WAIT_NEVER)
			status = dl->status;
		else
			status = nexus_thread_block(self, &self->receivers, &w,
						    dl);
	}
	if (status == B_OK)
		msg = nexus_thread_take(self);
	spin_unlock(&self->lock);
	nexus_thread_mark(self, old);
	nexus_thread_put(self);
	if (!msg)
		return status;

	n = min_t(size_t, req->size, msg->size);
	req->return_code = msg->code;
	req->sender = pid_vnr(msg->sender);
	req->size = n;
	if (n && copy_to_user(req->buffer, msg->data, n))
		status = B_BAD_ADDRESS;
	nexus_thread_free_msg(msg);
	return status;
}

static int nexus_thread_has_data(struct nexus_team *team,
				 struct nexus_thread_rw *req)
{
	struct nexus_thread *t;
	int status;

	if (req->receiver)
		t = nexus_thread_find(req->receiver, &status);
	else
		t = nexus_thread_self(team);
	if (IS_ERR_OR_NULL(t))
		return t ? B_NO_MEMORY : status;
	spin_lock(&t->lock);
	status = t->dead ? B_BAD_THREAD_ID : !!t->msg;
	spin_unlock(&t->lock);
	nexus_thread_put(t);
	return status;
}

/* A dead thread of the caller's team nobody waited for: take its code. */
static bool nexus_thread_reap(struct nexus_team *team, pid_t tid, s32 *code)
{
	struct pid_namespace *ns = task_active_pid_ns(current);
	struct nexus_thread *t, *found = NULL;

	mutex_lock(&team->lock);
	list_for_each_entry(t, &team->dead_threads, team_node) {
		if (pid_nr_ns(t->pid, ns) == tid) {
			found = t;
			list_del_init(&t->team_node);
			team->nr_dead_threads--;
			break;
		}
	}
	mutex_unlock(&team->lock);
	if (!found)
		return false;
	*code = found->code_set ? found->exit_code : B_ERROR;
	nexus_thread_put(found);
	return true;
}

static int nexus_thread_waitfor(struct nexus_team *team,
				struct nexus_thread_waitfor_req *req,
				const struct nexus_deadline *dl)
{
	struct nexus_thread_waiter w = {};
	struct nexus_thread *t, *self;
	int status, state;

	if (req->receiver == task_pid_vnr(current))
		return B_BAD_THREAD_ID;
	t = nexus_thread_find(req->receiver, &status);
	if (!t) {
		/*
		 * A thread that has just ended has left the pid table before
		 * its death work has kept its exit record: let it run.
		 */
		if (status == B_BAD_THREAD_ID) {
			flush_workqueue(nexus_thread_wq);
			if (nexus_thread_reap(team, req->receiver,
					      &req->return_code))
				return B_OK;
		}
		return status;
	}

	/* Haiku resumes a suspended thread one waits for. */
	self = nexus_thread_self(team);
	state = nexus_thread_mark(self, B_THREAD_WAITING);
	spin_lock(&t->lock);
	if (t->newborn && !t->resumed && !t->dead) {
		t->resumed = true;
		nexus_thread_wake_all(&t->resumers, B_OK, 0);
	}
	if (t->dead) {
		/* Died since found: its exit record may be the team's. */
		status = B_BAD_THREAD_ID;
	} else if (dl->mode == NEXUS_WAIT_NEVER) {
		status = dl->status;
	} else {
		status = nexus_thread_block(t, &t->waiters, &w, dl);
		if (status == B_OK)
			req->return_code = w.code;
	}
	spin_unlock(&t->lock);
	nexus_thread_mark(self, state);
	nexus_thread_put_self(self);
	nexus_thread_put(t);
	if (status == B_BAD_THREAD_ID &&
	    nexus_thread_reap(team, req->receiver, &req->return_code))
		status = B_OK;
	return status;
}

static int nexus_thread_get_info(struct nexus_team *team,
				 struct nexus_thread_info_req *req)
{
	char comm[TASK_COMM_LEN];
	struct task_struct *task;
	struct nexus_thread *t;
	int status;

	if (req->thread)
		t = nexus_thread_find(req->thread, &status);
	else
		t = nexus_thread_self(team);
	if (IS_ERR_OR_NULL(t))
		return t ? B_NO_MEMORY : status;
	req->thread = pid_vnr(t->pid);
	req->team = nexus_team_id(t->team);
	/*
	 * SET_NAME names only the caller: a thread renamed otherwise (its
	 * comm, by /proc/PID/task/TID/comm or prctl) is known by that name,
	 * unless it is the name's own beginning (libnexus sets both).
	 */
	comm[0] = '\0';
	task = get_pid_task(t->pid, PIDTYPE_PID);
	if (task) {
		nexus_get_task_comm(comm, task);
		put_task_struct(task);
	}
	spin_lock(&t->lock);
	status = t->dead ? B_BAD_THREAD_ID : B_OK;
	if (comm[0] && strcmp(comm, t->comm) &&
	    strncmp(comm, t->name, TASK_COMM_LEN - 1))
		strscpy(req->name, comm, sizeof(req->name));
	else
		memcpy(req->name, t->name, sizeof(req->name));
	req->state = t->suspended || (t->newborn && !t->resumed) ?
		     B_THREAD_SUSPENDED : READ_ONCE(t->state);
	if (!req->state)
		req->state = B_THREAD_RUNNING;
	spin_unlock(&t->lock);
	nexus_thread_put(t);
	return status;
}

/**
 * nexus_thread_ioctl_raw() - the thread requests that do not take a struct
 * @team: the caller's team
 * @cmd: NEXUS_THREAD_SPAWN, _WAIT_NEWBORN, _CLONE_EXECUTED, _RESUME or
 *	 _SET_RETURN_CODE
 * @arg: the ioctl's argument (a pointer for SPAWN, else a value)
 *
 * Return: the status (or the newborn's tid) as the ioctl's return value.
 */
long nexus_thread_ioctl_raw(struct nexus_team *team, unsigned int cmd,
			    unsigned long arg)
{
	switch (cmd) {
	case NEXUS_THREAD_SPAWN:
		return nexus_thread_spawn(team, (void __user *)arg);
	case NEXUS_THREAD_WAIT_NEWBORN:
		return nexus_thread_wait_newborn(team);
	case NEXUS_THREAD_CLONE_EXECUTED:
		return nexus_thread_clone_executed(team, arg);
	case NEXUS_THREAD_RESUME:
		return nexus_thread_resume(arg);
	case NEXUS_THREAD_SET_RETURN_CODE:
		return nexus_thread_set_return_code(team, arg);
	default:
		return -ENOTTY;
	}
}

/**
 * nexus_thread_ioctl() - carry out a thread request that takes a struct
 * @team: the caller's team
 * @cmd: the ioctl number
 * @req: the request, copied in; its ret is set here
 *
 * Return: 0, -ERESTARTSYS after a signal (see nexus_wait_end()), or
 * -ENOTTY.
 */
long nexus_thread_ioctl(struct nexus_team *team, unsigned int cmd, void *req)
{
	struct nexus_deadline dl;

	switch (cmd) {
	case NEXUS_THREAD_SET_NAME:
		/* The request has no ret: the status is the return value. */
		return nexus_thread_set_name(team, req);
	case NEXUS_THREAD_READ:
	case NEXUS_THREAD_WRITE: {
		struct nexus_thread_rw *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		if (cmd == NEXUS_THREAD_READ)
			r->ret = nexus_thread_read(team, r, &dl);
		else
			r->ret = nexus_thread_write(team, r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_THREAD_HAS_DATA: {
		struct nexus_thread_rw *r = req;

		r->ret = nexus_thread_has_data(team, r);
		return 0;
	}
	case NEXUS_THREAD_WAITFOR: {
		struct nexus_thread_waitfor_req *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_thread_waitfor(team, r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_THREAD_GET_INFO: {
		struct nexus_thread_info_req *r = req;

		r->ret = nexus_thread_get_info(team, r);
		return 0;
	}
	default:
		return -ENOTTY;
	}
}

/**
 * nexus_threads_team_exit() - a team is torn down: its threads die with it
 * @team: the team, marked dead (no record joins its lists any more)
 */
void nexus_threads_team_exit(struct nexus_team *team)
{
	struct nexus_thread *t;

	for (;;) {
		mutex_lock(&team->lock);
		t = list_first_entry_or_null(&team->threads,
					     struct nexus_thread, team_node);
		if (t)
			kref_get(&t->ref);
		mutex_unlock(&team->lock);
		if (!t)
			break;
		nexus_thread_die(t);
		nexus_thread_put(t);
	}
	for (;;) {
		mutex_lock(&team->lock);
		t = list_first_entry_or_null(&team->dead_threads,
					     struct nexus_thread, team_node);
		if (t) {
			list_del_init(&t->team_node);
			team->nr_dead_threads--;
		}
		mutex_unlock(&team->lock);
		if (!t)
			break;
		nexus_thread_put(t);
	}
}

static void nexus_find_exit_tp(struct tracepoint *tp, void *priv)
{
	if (!strcmp(tp->name, "sched_process_exit"))
		*(struct tracepoint **)priv = tp;
}

int nexus_threads_init(void)
{
	int err;

	for_each_kernel_tracepoint(nexus_find_exit_tp, &nexus_exit_tp);
	if (!nexus_exit_tp) {
		pr_err("nexus: no sched_process_exit tracepoint (CONFIG_TRACEPOINTS?)\n");
		return -ENOENT;
	}
	nexus_thread_wq = alloc_workqueue("nexus_threads", WQ_UNBOUND, 0);
	if (!nexus_thread_wq)
		return -ENOMEM;
	err = tracepoint_probe_register(nexus_exit_tp,
					nexus_thread_exit_probe, NULL);
	if (err)
		destroy_workqueue(nexus_thread_wq);
	return err;
}

/* Module exit: no team is left; no probe may run or be queued after. */
void nexus_threads_exit(void)
{
	tracepoint_probe_unregister(nexus_exit_tp, nexus_thread_exit_probe,
				    NULL);
	tracepoint_synchronize_unregister();
	destroy_workqueue(nexus_thread_wq);
	rcu_barrier();
}
