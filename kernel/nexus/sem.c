// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus semaphores: Haiku's counting semaphores, with system-wide ids.
 *
 * As in Haiku, an acquire of n that cannot be granted at once still takes
 * its n off the count, which then goes negative, and queues.  The count is
 * thus the units available minus the units blocked acquirers still want.
 * Grants are strictly FIFO: a release wakes the head of the queue only when
 * the units available cover its whole request, and a newcomer cannot take
 * units while anyone is queued.  The waker decides a woken acquirer's
 * status under the semaphore's spinlock (hand-off), so a timeout or signal
 * racing with a grant never loses or duplicates units.
 */

#include <linux/limits.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include "nexus_internal.h"

struct nexus_sem {
	struct nexus_object obj;
	spinlock_t lock;		/* guards everything below */
	s64 count;			/* available - wanted by the queue */
	s64 wanted;			/* sum of the queued acquirers' n */
	struct pid *latest_holder;	/* the last acquirer; referenced */
	bool deleted;
	struct list_head waiters;	/* blocked acquirers, FIFO */
};

struct nexus_sem_waiter {
	struct list_head node;		/* in the semaphore's waiters */
	struct task_struct *task;
	s32 n;
	int status;			/* NEXUS_WAITING until decided */
};

static DEFINE_XARRAY_ALLOC1(nexus_sems);
static u32 nexus_sem_next_id = 1;	/* under the xarray's lock */

static struct nexus_sem *nexus_sem_of(struct nexus_object *obj)
{
	return container_of(obj, struct nexus_sem, obj);
}

static struct nexus_sem *nexus_sem_get(s32 id)
{
	struct nexus_object *obj = nexus_object_lookup(&nexus_sems, id);

	return obj ? nexus_sem_of(obj) : NULL;
}

static void nexus_sem_put(struct nexus_sem *sem)
{
	nexus_object_put(&sem->obj);
}

void nexus_sem_free(struct nexus_object *obj)
{
	struct nexus_sem *sem = nexus_sem_of(obj);

	WARN_ON(!list_empty(&sem->waiters));
	put_pid(sem->latest_holder);
	kfree_rcu(sem, obj.rcu);
}

/* Under the lock: @task is now the latest holder. */
static void nexus_sem_set_holder(struct nexus_sem *sem,
				 struct task_struct *task)
{
	struct pid *pid = task_pid(task);

	if (sem->latest_holder != pid) {
		put_pid(sem->latest_holder);
		sem->latest_holder = get_pid(pid);
	}
}

/* Decide a queued acquirer's status, take it off the queue, wake it. */
static void nexus_sem_wake(struct nexus_sem *sem, struct nexus_sem_waiter *w,
			   int status)
{
	list_del_init(&w->node);
	sem->wanted -= w->n;
	if (status == B_OK)
		nexus_sem_set_holder(sem, w->task);
	w->status = status;
	nexus_counter_dec(NEXUS_COUNTER_WAITERS);
	wake_up_process(w->task);
}

/* Grant the head of the queue for as long as its whole request fits. */
static void nexus_sem_grant(struct nexus_sem *sem)
{
	struct nexus_sem_waiter *w;

	lockdep_assert_held(&sem->lock);
	while ((w = list_first_entry_or_null(&sem->waiters,
					     struct nexus_sem_waiter, node)) &&
	       sem->count + sem->wanted >= w->n)
		nexus_sem_wake(sem, w, B_OK);
}

static void nexus_sem_wake_all(struct nexus_sem *sem, int status)
{
	struct nexus_sem_waiter *w, *tmp;

	list_for_each_entry_safe(w, tmp, &sem->waiters, node)
		nexus_sem_wake(sem, w, status);
}

/* Delete a semaphore: erase its id, wake every waiter with B_BAD_SEM_ID. */
static bool nexus_sem_kill(struct nexus_sem *sem)
{
	if (!nexus_object_claim(&nexus_sems, &sem->obj))
		return false;

	spin_lock(&sem->lock);
	sem->deleted = true;
	nexus_sem_wake_all(sem, B_BAD_SEM_ID);
	spin_unlock(&sem->lock);

	nexus_uncharge(sem->obj.user, NEXUS_LIMIT_SEMS, 1);
	nexus_object_unlink(&sem->obj);
	nexus_sem_put(sem);		/* the id's reference */
	return true;
}

/* A team teardown deletes the semaphores it owns. */
void nexus_sem_destroy(struct nexus_object *obj)
{
	nexus_sem_kill(nexus_sem_of(obj));
}

static int nexus_sem_create(struct nexus_team *team,
			    struct nexus_sem_create *req)
{
	struct nexus_sem *sem;
	int err;

	if (req->count < 0)
		return B_BAD_VALUE;

	sem = kzalloc(sizeof(*sem), GFP_KERNEL_ACCOUNT);
	if (!sem)
		return B_NO_MEMORY;
	spin_lock_init(&sem->lock);
	INIT_LIST_HEAD(&sem->waiters);
	sem->count = req->count;
	if (nexus_object_init(&sem->obj, NEXUS_KIND_SEM)) {
		err = B_NO_MEMORY;
		goto free;
	}

	err = nexus_copy_name(sem->obj.name, req->name, B_OS_NAME_LENGTH,
			      "unnamed semaphore");
	if (err)
		goto free;

	if (nexus_charge(sem->obj.user, NEXUS_LIMIT_SEMS, 1)) {
		err = B_NO_MORE_SEMS;
		goto free;
	}
	err = nexus_object_publish(&nexus_sems, &nexus_sem_next_id,
				   &sem->obj, team, &req->id);
	if (err) {
		nexus_uncharge(sem->obj.user, NEXUS_LIMIT_SEMS, 1);
		err = err == -ESRCH ? B_BAD_TEAM_ID :
		      err == -EBUSY ? B_NO_MORE_SEMS : B_NO_MEMORY;
		goto free;
	}
	return B_OK;

free:
	nexus_sem_put(sem);
	return err;
}

/* A semaphore the caller's user may acquire, release or delete. */
static struct nexus_sem *nexus_sem_get_allowed(s32 id, int *status)
{
	struct nexus_object *obj;
	int err;

	obj = nexus_object_lookup_allowed(&nexus_sems, id, &err);
	if (!obj) {
		*status = err == -EPERM ? B_NOT_ALLOWED : B_BAD_SEM_ID;
		return NULL;
	}
	return nexus_sem_of(obj);
}

static int nexus_sem_delete(struct nexus_sem_delete_req *req)
{
	struct nexus_sem *sem;
	bool killed;
	int status;

	sem = nexus_sem_get_allowed(req->id, &status);
	if (!sem)
		return status;
	killed = nexus_sem_kill(sem);
	nexus_sem_put(sem);
	return killed ? B_OK : B_BAD_SEM_ID;
}

static int nexus_sem_acquire(struct nexus_sem_op *req,
			     const struct nexus_deadline *dl)
{
	struct nexus_sem_waiter w;
	struct nexus_sem *sem;
	s32 n = req->count;
	int status;

	if (n < 1)
		return B_BAD_VALUE;
	sem = nexus_sem_get_allowed(req->id, &status);
	if (!sem)
		return status;

	spin_lock(&sem->lock);
	if (sem->deleted) {
		status = B_BAD_SEM_ID;
	} else if (list_empty(&sem->waiters) && sem->count >= n) {
		sem->count -= n;
		nexus_sem_set_holder(sem, current);
		status = B_OK;
	} else if (dl->mode == NEXUS_WAIT_NEVER) {
		status = dl->status;
	} else if (sem->count - n < S32_MIN) {
		/* The count would not fit the ABI's int32 any more. */
		status = B_BAD_VALUE;
	} else {
		w.task = current;
		w.n = n;
		w.status = NEXUS_WAITING;
		sem->count -= n;
		sem->wanted += n;
		list_add_tail(&w.node, &sem->waiters);
		nexus_counter_inc(NEXUS_COUNTER_WAITERS);

		while (w.status == NEXUS_WAITING) {
			status = nexus_wait(&sem->lock, dl);
			if (status) {
				/* Give n back; those behind may fit now. */
				list_del_init(&w.node);
				nexus_counter_dec(NEXUS_COUNTER_WAITERS);
				sem->wanted -= n;
				sem->count += n;
				w.status = status;
				nexus_sem_grant(sem);
			}
		}
		status = w.status;
	}
	spin_unlock(&sem->lock);
	nexus_sem_put(sem);
	return status;
}

static int nexus_sem_release(struct nexus_sem_op *req)
{
	struct nexus_sem *sem;
	s32 n = req->count;
	int status;

	if (n < 1 && !(req->flags & B_RELEASE_ALL))
		return B_BAD_VALUE;
	sem = nexus_sem_get_allowed(req->id, &status);
	if (!sem)
		return status;

	/* B_DO_NOT_RESCHEDULE: wakeups never switch to the woken here. */
	status = B_OK;
	spin_lock(&sem->lock);
	if (sem->deleted) {
		status = B_BAD_SEM_ID;
	} else if (req->flags & B_RELEASE_ALL) {
		if (!list_empty(&sem->waiters)) {
			nexus_sem_wake_all(sem, B_OK);
			sem->count = 0;
		}
	} else if (req->flags & B_RELEASE_IF_WAITING_ONLY) {
		if (!list_empty(&sem->waiters)) {
			/* Waiters mean count < 0: no overflow. */
			sem->count += n;
			nexus_sem_grant(sem);
			if (list_empty(&sem->waiters) && sem->count > 0)
				sem->count = 0;
		}
	} else if (sem->count + n > S32_MAX) {
		status = B_BAD_VALUE;
	} else {
		sem->count += n;
		nexus_sem_grant(sem);
	}
	spin_unlock(&sem->lock);
	nexus_sem_put(sem);
	return status;
}

static int nexus_sem_count(struct nexus_sem_count_req *req)
{
	struct nexus_sem *sem;
	int status = B_OK;

	sem = nexus_sem_get(req->id);
	if (!sem)
		return B_BAD_SEM_ID;
	spin_lock(&sem->lock);
	if (sem->deleted)
		status = B_BAD_SEM_ID;
	else
		req->count = sem->count;
	spin_unlock(&sem->lock);
	nexus_sem_put(sem);
	return status;
}

/*
 * Fill a sem_info; fails only if the semaphore is being deleted.  The owner
 * is read first: a semaphore without one, or marked deleted after, is dying.
 */
static int nexus_sem_fill_info(struct nexus_sem *sem,
			       struct nexus_sem_info *info)
{
	bool deleted;

	memset(info, 0, sizeof(*info));
	info->sem = sem->obj.id;
	if (nexus_object_owner_id(&sem->obj, &info->team))
		return B_BAD_SEM_ID;
	strscpy(info->name, sem->obj.name, sizeof(info->name));
	spin_lock(&sem->lock);
	deleted = sem->deleted;
	info->count = sem->count;
	info->latest_holder = sem->latest_holder ?
			      pid_vnr(sem->latest_holder) : -1;
	spin_unlock(&sem->lock);
	return deleted ? B_BAD_SEM_ID : B_OK;
}

static int nexus_sem_info(struct nexus_sem_info_req *req)
{
	struct nexus_sem *sem;
	int status;

	sem = nexus_sem_get(req->id);
	if (!sem)
		return B_BAD_SEM_ID;
	status = nexus_sem_fill_info(sem, &req->info);
	nexus_sem_put(sem);
	return status;
}

static int nexus_sem_next(struct nexus_sem_next_info *req)
{
	struct nexus_team *target = NULL;
	struct nexus_object *obj;
	int status;

	if (req->team) {
		target = nexus_team_find(req->team);
		if (!target)
			return B_BAD_TEAM_ID;
	}

	/* A semaphore deleted under us is skipped. */
	do {
		obj = nexus_object_next(&nexus_sems, req->cookie, target);
		if (!obj) {
			status = B_BAD_SEM_ID;
			break;
		}
		req->cookie = obj->id;
		status = nexus_sem_fill_info(nexus_sem_of(obj), &req->info);
		nexus_object_put(obj);
	} while (status);
	if (target)
		nexus_team_put(target);
	return status;
}

/**
 * nexus_sem_ioctl() - carry out a semaphore request
 * @team: the caller's team
 * @cmd: the ioctl number
 * @req: the request, copied in; its ret is set here
 *
 * Return: 0, -ERESTARTSYS when a signal interrupted a wait (see
 * nexus_wait_end()), or -ENOTTY if @cmd is no semaphore request.
 */
long nexus_sem_ioctl(struct nexus_team *team, unsigned int cmd, void *req)
{
	struct nexus_deadline dl;

	switch (cmd) {
	case NEXUS_SEM_CREATE: {
		struct nexus_sem_create *r = req;

		r->ret = nexus_sem_create(team, r);
		break;
	}
	case NEXUS_SEM_DELETE: {
		struct nexus_sem_delete_req *r = req;

		r->ret = nexus_sem_delete(r);
		break;
	}
	case NEXUS_SEM_ACQUIRE: {
		struct nexus_sem_op *r = req;

		nexus_deadline_init(&dl, r->flags, r->timeout);
		r->ret = nexus_sem_acquire(r, &dl);
		return nexus_wait_end(&dl, r->ret, &r->flags, &r->timeout);
	}
	case NEXUS_SEM_RELEASE: {
		struct nexus_sem_op *r = req;

		r->ret = nexus_sem_release(r);
		break;
	}
	case NEXUS_SEM_COUNT: {
		struct nexus_sem_count_req *r = req;

		r->ret = nexus_sem_count(r);
		break;
	}
	case NEXUS_SEM_INFO: {
		struct nexus_sem_info_req *r = req;

		r->ret = nexus_sem_info(r);
		break;
	}
	case NEXUS_SEM_NEXT_INFO: {
		struct nexus_sem_next_info *r = req;

		r->ret = nexus_sem_next(r);
		break;
	}
	default:
		return -ENOTTY;
	}
	return 0;
}

/* Module exit: no file is open, so no semaphore is left; make sure. */
void nexus_sems_exit(void)
{
	struct nexus_sem *sem;
	unsigned long index;

	xa_for_each(&nexus_sems, index, sem) {
		WARN_ON_ONCE(1);
		if (kref_get_unless_zero(&sem->obj.ref)) {
			nexus_sem_kill(sem);
			nexus_sem_put(sem);
		}
	}
	xa_destroy(&nexus_sems);
}
