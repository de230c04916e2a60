// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus blocking: timeouts and sleeping.
 *
 * Every Nexus wait is the same loop: the waiter queues itself on the
 * object (under the object's spinlock), then calls nexus_wait() until a
 * waker has decided its status.  Wakers decide and wake under the same
 * lock, so a wakeup cannot be lost between the check and the sleep.
 * Sleeps are interruptible: a signal ends the wait with B_INTERRUPTED, and
 * nexus_wait_end() turns that into a syscall restart the way Haiku's
 * syscalls restart: transparently after a stop/continue, a ptrace stop, the
 * freezer or a handler installed with SA_RESTART (the signal code decides),
 * keeping the original deadline; B_INTERRUPTED otherwise.  Deadlines are
 * hrtimers on CLOCK_MONOTONIC.
 */

#include <linux/errno.h>
#include <linux/hrtimer.h>
#include <linux/math64.h>
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

/**
 * nexus_wait_end() - finish a blocking request after its wait
 * @dl: the request's deadline
 * @status: the request's status
 * @flags: the request's flags, in the kernel's copy of the request
 * @timeout: the request's timeout, likewise
 *
 * A request interrupted by a signal is restarted by the signal code when
 * the signal allows it.  The restart reads the request again from user
 * memory, so a relative timeout is rewritten there (with the rest of the
 * request, B_INTERRUPTED in its ret) as the absolute deadline it stood for:
 * the restarted call keeps its deadline instead of starting over, as
 * select() keeps its timeout.  When the call is not restarted, userspace
 * sees the ioctl fail with EINTR and ret B_INTERRUPTED.
 *
 * Return: -ERESTARTSYS after a signal, else 0.
 */
long nexus_wait_end(const struct nexus_deadline *dl, int status, u32 *flags,
		    s64 *timeout)
{
	if (status != B_INTERRUPTED)
		return 0;
	if (dl->mode == NEXUS_WAIT_UNTIL && !(*flags & B_ABSOLUTE_TIMEOUT)) {
		*flags = (*flags & ~B_RELATIVE_TIMEOUT) | B_ABSOLUTE_TIMEOUT;
		*timeout = div_u64(ktime_to_ns(dl->expires) + NSEC_PER_USEC - 1,
				   NSEC_PER_USEC);
	}
	return -ERESTARTSYS;
}
