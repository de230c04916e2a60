// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus blocking: timeouts and sleeping.
 *
 * Every Nexus wait is the same loop: the waiter queues itself on the
 * object (under the object's spinlock), then calls nexus_wait() until a
 * waker has decided its status.  Wakers decide and wake under the same
 * lock, so a wakeup cannot be lost between the check and the sleep.
 * Sleeps are interruptible: any signal ends the wait with B_INTERRUPTED.
 * Deadlines are hrtimers on CLOCK_MONOTONIC.
 */

#include <linux/hrtimer.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>

#include "nexus_internal.h"

/* Timeouts (µs) beyond this many are forever: KTIME_MAX is ~292 years. */
#define NEXUS_MAX_TIMEOUT_US	(KTIME_MAX / NSEC_PER_USEC)

/**
 * nexus_deadline_init() - turn a request's timeout into a deadline
 * @dl: the deadline
 * @flags: the request's flags (B_RELATIVE_TIMEOUT, B_ABSOLUTE_TIMEOUT)
 * @timeout: microseconds, relative or on CLOCK_MONOTONIC
 *
 * Without a timeout flag, or with B_INFINITE_TIMEOUT, a call may wait
 * forever.  A relative timeout <= 0 or a negative absolute one must not
 * block (B_WOULD_BLOCK); an absolute one already past has timed out.
 */
void nexus_deadline_init(struct nexus_deadline *dl, u32 flags, s64 timeout)
{
	ktime_t now, span;

	dl->mode = NEXUS_WAIT_FOREVER;
	dl->status = B_OK;
	dl->expires = KTIME_MAX;

	if (flags & B_ABSOLUTE_TIMEOUT) {
		if (timeout < 0) {
			dl->mode = NEXUS_WAIT_NEVER;
			dl->status = B_WOULD_BLOCK;
		} else if (timeout < NEXUS_MAX_TIMEOUT_US) {
			dl->expires = ns_to_ktime(timeout * NSEC_PER_USEC);
			if (ktime_compare(dl->expires, ktime_get()) <= 0) {
				dl->mode = NEXUS_WAIT_NEVER;
				dl->status = B_TIMED_OUT;
			} else {
				dl->mode = NEXUS_WAIT_UNTIL;
			}
		}
	} else if (flags & B_RELATIVE_TIMEOUT) {
		if (timeout <= 0) {
			dl->mode = NEXUS_WAIT_NEVER;
			dl->status = B_WOULD_BLOCK;
		} else if (timeout < NEXUS_MAX_TIMEOUT_US) {
			now = ktime_get();
			span = ns_to_ktime(timeout * NSEC_PER_USEC);
			if (span < KTIME_MAX - now) {
				dl->expires = ktime_add(now, span);
				dl->mode = NEXUS_WAIT_UNTIL;
			}
		}
	}
}

/**
 * nexus_wait() - sleep once in a queued wait
 * @lock: the object's lock, held; dropped while sleeping
 * @dl: the call's deadline (not NEXUS_WAIT_NEVER)
 *
 * The caller has queued itself and seen that its status is still
 * NEXUS_WAITING, under @lock.  Returns with @lock held.
 *
 * Return: 0 after a sleep (the caller checks its status again), or
 * B_INTERRUPTED / B_TIMED_OUT without sleeping: the caller must then
 * leave the queue itself.
 */
int nexus_wait(spinlock_t *lock, const struct nexus_deadline *dl)
	__must_hold(lock)
{
	ktime_t expires = dl->expires;

	if (signal_pending(current))
		return B_INTERRUPTED;
	if (dl->mode == NEXUS_WAIT_UNTIL &&
	    ktime_compare(ktime_get(), expires) >= 0)
		return B_TIMED_OUT;

	set_current_state(TASK_INTERRUPTIBLE);
	spin_unlock(lock);
	if (dl->mode == NEXUS_WAIT_UNTIL)
		schedule_hrtimeout_range(&expires, current->timer_slack_ns,
					 HRTIMER_MODE_ABS);
	else
		schedule();
	spin_lock(lock);
	return 0;
}
