// SPDX-License-Identifier: GPL-2.0
/*
 * splat_trigger: a test tool of nexus-lab, NOT part of Nexus.
 *
 * It makes a debug kernel (images/debug/debug.config) print one report of a
 * kind the lab's console watcher must recognise (lab/splat-kinds.ts), so that
 * the watcher's fixtures are what real kernels print.  Load it only in a
 * throwaway guest: a request corrupts nothing the kernel relies on, but the
 * reports taint the kernel, KASAN reports only its first bug of a boot
 * (unless kasan_multi_shot) and lockdep turns itself off after its first
 * report.
 *
 *   cat /sys/kernel/debug/splat_trigger            # the requests it knows
 *   echo kasan-uaf > /sys/kernel/debug/splat_trigger
 *
 * A write of a request's name makes that report, from the writing task,
 * and returns once the kernel has printed it.  Serve one request at a time.
 */
#include <linux/debugfs.h>
#include <linux/delay.h>
#include <linux/fs.h>
#include <linux/jiffies.h>
#include <linux/kfence.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/timer.h>
#include <linux/uaccess.h>

/* How long the kfence request waits for an allocation KFENCE samples. */
#define SPLAT_KFENCE_WAIT	(30 * HZ)
#define SPLAT_LEAK_SIZE		200

static struct dentry *splat_file;

/* A slab object KASAN watches: KFENCE's objects are KFENCE's to check. */
static void *splat_alloc_slab(size_t size)
{
	int i;

	for (i = 0; i < 100; i++) {
		void *p = kmalloc(size, GFP_KERNEL);

		if (!p || !is_kfence_address(p))
			return p;
		kfree(p);
	}
	return NULL;
}

/* Read the first byte of a freed object. */
static noinline int splat_kasan_uaf(void)
{
	char *p = splat_alloc_slab(64);

	if (!p)
		return -ENOMEM;
	kfree(p);
	OPTIMIZER_HIDE_VAR(p);
	pr_info("splat_trigger: read %d after free\n", READ_ONCE(p[0]));
	return 0;
}

/* Read the byte just past a 40-byte object (its kmalloc-64 slot's redzone). */
static noinline int splat_kasan_oob(void)
{
	size_t size = 40;
	char *p = splat_alloc_slab(size);

	if (!p)
		return -ENOMEM;
	OPTIMIZER_HIDE_VAR(p);
	pr_info("splat_trigger: read %d past the end\n", READ_ONCE(p[size]));
	kfree(p);
	return 0;
}

/*
 * KFENCE samples the first allocation after each kfence.sample_interval ms:
 * allocate without pause (whoever allocates first wins) until one is
 * KFENCE's and sits at the right end of its page, then read the byte just
 * past it, which is KFENCE's guard page.
 */
static noinline int splat_kfence(void)
{
	unsigned long until = jiffies + SPLAT_KFENCE_WAIT;
	size_t size = 32;
	unsigned long n;

	for (n = 0; time_before(jiffies, until); n++) {
		char *p = kmalloc(size, GFP_KERNEL);

		if (!p)
			return -ENOMEM;
		if (is_kfence_address(p) && PAGE_ALIGNED(p + size)) {
			OPTIMIZER_HIDE_VAR(p);
			pr_info("splat_trigger: read %d past a kfence object\n",
				READ_ONCE(p[size]));
			kfree(p);
			return 0;
		}
		kfree(p);
		cond_resched();
	}
	pr_info("splat_trigger: KFENCE sampled none of %lu allocations\n", n);
	return -ETIMEDOUT;
}

static noinline int splat_ubsan_shift(void)
{
	int shift = 40;

	OPTIMIZER_HIDE_VAR(shift);
	pr_info("splat_trigger: 1 << %d is %d\n", shift, 1 << shift);
	return 0;
}

/* The index is out of the array's range, not of the struct: UBSAN, not KASAN. */
static struct {
	int slots[4];
	int after;
} splat_array;

static noinline int splat_ubsan_bounds(void)
{
	int i = ARRAY_SIZE(splat_array.slots);

	OPTIMIZER_HIDE_VAR(i);
	pr_info("splat_trigger: slot %d holds %d\n", i, splat_array.slots[i]);
	return 0;
}

static DEFINE_MUTEX(splat_lock_a);
static DEFINE_MUTEX(splat_lock_b);

/* A then B, later B then A, in one task: no deadlock, but the order is cyclic. */
static noinline int splat_lockdep_circular(void)
{
	mutex_lock(&splat_lock_a);
	mutex_lock(&splat_lock_b);
	mutex_unlock(&splat_lock_b);
	mutex_unlock(&splat_lock_a);

	mutex_lock(&splat_lock_b);
	mutex_lock(&splat_lock_a);
	mutex_unlock(&splat_lock_a);
	mutex_unlock(&splat_lock_b);
	return 0;
}

/* Taken in a timer (softirq) by the two lockdep requests below. */
static DEFINE_SPINLOCK(splat_softirq_lock);
static DEFINE_SPINLOCK(splat_unsafe_lock);
static DECLARE_COMPLETION(splat_timer_done);

static void splat_softirq_fn(struct timer_list *t)
{
	spin_lock(&splat_softirq_lock);
	spin_unlock(&splat_softirq_lock);
	complete(&splat_timer_done);
}

/* Run splat_softirq_fn once in softirq context and wait for it. */
static int splat_take_in_softirq(void)
{
	struct timer_list timer;
	unsigned long left;

	reinit_completion(&splat_timer_done);
	timer_setup_on_stack(&timer, splat_softirq_fn, 0);
	mod_timer(&timer, jiffies + 1);
	left = wait_for_completion_timeout(&splat_timer_done, 10 * HZ);
	del_timer_sync(&timer);
	destroy_timer_on_stack(&timer);
	return left ? 0 : -ETIMEDOUT;
}

/* The lock with softirqs on, then in a softirq: irq-unsafe and irq-safe at once. */
static noinline int splat_lockdep_inconsistent(void)
{
	spin_lock(&splat_softirq_lock);
	spin_unlock(&splat_softirq_lock);
	return splat_take_in_softirq();
}

/* A softirq-safe lock held while taking a softirq-unsafe one. */
static noinline int splat_lockdep_irq_order(void)
{
	int err = splat_take_in_softirq();

	if (err)
		return err;
	spin_lock(&splat_unsafe_lock);
	spin_unlock(&splat_unsafe_lock);

	spin_lock_bh(&splat_softirq_lock);
	spin_lock(&splat_unsafe_lock);
	spin_unlock(&splat_unsafe_lock);
	spin_unlock_bh(&splat_softirq_lock);
	return 0;
}

static DEFINE_SPINLOCK(splat_atomic_lock);

/*
 * An allocation that may sleep, under a spinlock: DEBUG_ATOMIC_SLEEP's
 * might_sleep() check reports it even though this one need not sleep.
 */
static noinline int splat_atomic_sleep(void)
{
	void *p;

	spin_lock(&splat_atomic_lock);
	p = kmalloc(64, GFP_KERNEL);
	spin_unlock(&splat_atomic_lock);
	kfree(p);
	return 0;
}

/*
 * Sleep under a spinlock: msleep() has no might_sleep() check, the
 * scheduler then finds the preempt count raised ("scheduling while atomic").
 */
static noinline int splat_atomic_schedule(void)
{
	spin_lock(&splat_atomic_lock);
	msleep(20);
	spin_unlock(&splat_atomic_lock);
	return 0;
}

struct splat_timer {
	struct timer_list timer;
};

static void splat_never_fn(struct timer_list *t)
{
	pr_info("splat_trigger: a freed timer fired\n");
}

/* Free a pending timer (debugobjects' fixup then deletes it). */
static noinline int splat_debugobjects(void)
{
	struct splat_timer *st = kmalloc(sizeof(*st), GFP_KERNEL);

	if (!st)
		return -ENOMEM;
	timer_setup(&st->timer, splat_never_fn, 0);
	mod_timer(&st->timer, jiffies + 60 * HZ);
	kfree(st);
	return 0;
}

/* Overwrite the dead stack frames a lost pointer may linger in. */
static noinline void splat_scrub_stack(void)
{
	char junk[512];

	memset(junk, 0, sizeof(junk));
	barrier_data(junk);
}

static noinline void splat_lose(void)
{
	char *p = kmalloc(SPLAT_LEAK_SIZE, GFP_KERNEL);

	if (p)
		strscpy(p, "splat_trigger leaked this", SPLAT_LEAK_SIZE);
}

/*
 * Allocate and lose the pointer.  kmemleak reports it once it is older than
 * 5 s and a scan found no reference: echo scan > /sys/kernel/debug/kmemleak
 * (twice if a copy of the pointer was still around at the first).
 */
static noinline int splat_kmemleak(void)
{
	splat_lose();
	splat_scrub_stack();
	return 0;
}

static const struct {
	const char *name;
	int (*fn)(void);
} splat_requests[] = {
	{ "kasan-uaf", splat_kasan_uaf },
	{ "kasan-oob", splat_kasan_oob },
	{ "kfence", splat_kfence },
	{ "ubsan-shift", splat_ubsan_shift },
	{ "ubsan-bounds", splat_ubsan_bounds },
	{ "lockdep-circular", splat_lockdep_circular },
	{ "lockdep-inconsistent", splat_lockdep_inconsistent },
	{ "lockdep-irq-order", splat_lockdep_irq_order },
	{ "atomic-sleep", splat_atomic_sleep },
	{ "atomic-schedule", splat_atomic_schedule },
	{ "debugobjects", splat_debugobjects },
	{ "kmemleak", splat_kmemleak },
};

static ssize_t splat_write(struct file *file, const char __user *ubuf,
			   size_t count, loff_t *ppos)
{
	char buf[32];
	size_t i;
	int err;

	if (count >= sizeof(buf))
		return -EINVAL;
	if (copy_from_user(buf, ubuf, count))
		return -EFAULT;
	buf[count] = '\0';
	for (i = 0; i < ARRAY_SIZE(splat_requests); i++) {
		if (strcmp(strim(buf), splat_requests[i].name))
			continue;
		pr_info("splat_trigger: %s\n", splat_requests[i].name);
		err = splat_requests[i].fn();
		return err ? err : count;
	}
	return -EINVAL;
}

static ssize_t splat_read(struct file *file, char __user *ubuf, size_t count,
			  loff_t *ppos)
{
	char buf[256];
	size_t i;
	int len = 0;

	for (i = 0; i < ARRAY_SIZE(splat_requests); i++)
		len += scnprintf(buf + len, sizeof(buf) - len, "%s\n",
				 splat_requests[i].name);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations splat_fops = {
	.owner = THIS_MODULE,
	.read = splat_read,
	.write = splat_write,
	.llseek = default_llseek,
};

static int __init splat_init(void)
{
	splat_file = debugfs_create_file("splat_trigger", 0600, NULL, NULL,
					 &splat_fops);
	return IS_ERR(splat_file) ? PTR_ERR(splat_file) : 0;
}

static void __exit splat_exit(void)
{
	debugfs_remove(splat_file);
}

module_init(splat_init);
module_exit(splat_exit);
MODULE_DESCRIPTION("nexus-lab test tool: makes debug-kernel reports on request");
MODULE_LICENSE("GPL");
