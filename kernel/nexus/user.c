// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus limits: the system-wide limits and each user's share of them.
 *
 * Haiku has one user; Linux has many, so that one user cannot exhaust
 * ports, semaphores, port space, thread records, areas, area memory,
 * vrefs, vref slots, watches or queued node monitor events for the others, each effective uid may
 * hold at most its share of each system-wide limit (half by default).
 * Users with CAP_SYS_RESOURCE are exempt from the share, never from the
 * system-wide limits.  The live totals are the debugfs counters.
 */

#include <linux/capability.h>
#include <linux/hashtable.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/refcount.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "nexus_internal.h"

static long max_ports = 4096;
module_param(max_ports, long, 0644);
MODULE_PARM_DESC(max_ports, "ports that may exist at once, system-wide");

static long max_sems = 65536;
module_param(max_sems, long, 0644);
MODULE_PARM_DESC(max_sems, "semaphores that may exist at once, system-wide");

static long max_port_space = 64L << 20;
module_param(max_port_space, long, 0644);
MODULE_PARM_DESC(max_port_space,
		 "kernel memory queued messages may take, system-wide (bytes)");

static long user_max_ports = 2048;
module_param(user_max_ports, long, 0644);
MODULE_PARM_DESC(user_max_ports, "ports one user may have at once");

static long user_max_sems = 32768;
module_param(user_max_sems, long, 0644);
MODULE_PARM_DESC(user_max_sems, "semaphores one user may have at once");

static long user_max_port_space = 32L << 20;
module_param(user_max_port_space, long, 0644);
MODULE_PARM_DESC(user_max_port_space,
		 "kernel memory one user's queued messages may take (bytes)");

static long max_threads = 32768;
module_param(max_threads, long, 0644);
MODULE_PARM_DESC(max_threads, "thread records that may exist at once, system-wide");

static long user_max_threads = 16384;
module_param(user_max_threads, long, 0644);
MODULE_PARM_DESC(user_max_threads, "thread records one user may have at once");

static long max_areas = 8192;
module_param(max_areas, long, 0644);
MODULE_PARM_DESC(max_areas, "areas that may exist at once, system-wide");

static long user_max_areas = 4096;
module_param(user_max_areas, long, 0644);
MODULE_PARM_DESC(user_max_areas, "areas one user may have at once");

static long max_area_space = 1L << 30;
module_param(max_area_space, long, 0644);
MODULE_PARM_DESC(max_area_space,
		 "memory areas may register, system-wide (bytes)");

static long user_max_area_space = 512L << 20;
module_param(user_max_area_space, long, 0644);
MODULE_PARM_DESC(user_max_area_space,
		 "memory one user's areas may register (bytes)");

static long max_vrefs = 65536;
module_param(max_vrefs, long, 0644);
MODULE_PARM_DESC(max_vrefs, "vrefs that may exist at once, system-wide");

static long user_max_vrefs = 32768;
module_param(user_max_vrefs, long, 0644);
MODULE_PARM_DESC(user_max_vrefs, "vrefs one user may have created at once");

static long max_vref_slots = 131072;
module_param(max_vref_slots, long, 0644);
MODULE_PARM_DESC(max_vref_slots, "vref slots that may exist at once, system-wide");

static long user_max_vref_slots = 65536;
module_param(user_max_vref_slots, long, 0644);
MODULE_PARM_DESC(user_max_vref_slots, "vref slots one user's teams may hold");

static long max_watches = 65536;
module_param(max_watches, long, 0644);
MODULE_PARM_DESC(max_watches, "node monitor watches at once, system-wide");

static long user_max_watches = 32768;
module_param(user_max_watches, long, 0644);
MODULE_PARM_DESC(user_max_watches, "node monitor watches one user may have");

static long max_node_events = 65536;
module_param(max_node_events, long, 0644);
MODULE_PARM_DESC(max_node_events,
		 "node monitor events waiting for room in a port, system-wide");

static long user_max_node_events = 32768;
module_param(user_max_node_events, long, 0644);
MODULE_PARM_DESC(user_max_node_events,
		 "node monitor events waiting for one user's listeners");

static const struct {
	enum nexus_counter total;
	long *max;
	long *user_max;
} nexus_limits[NEXUS_NR_LIMITS] = {
	[NEXUS_LIMIT_PORTS] = { NEXUS_COUNTER_PORTS, &max_ports,
				&user_max_ports },
	[NEXUS_LIMIT_SEMS] = { NEXUS_COUNTER_SEMS, &max_sems, &user_max_sems },
	[NEXUS_LIMIT_PORT_SPACE] = { NEXUS_COUNTER_PORT_SPACE, &max_port_space,
				     &user_max_port_space },
	[NEXUS_LIMIT_THREADS] = { NEXUS_COUNTER_THREADS, &max_threads,
				  &user_max_threads },
	[NEXUS_LIMIT_AREAS] = { NEXUS_COUNTER_AREAS, &max_areas,
				&user_max_areas },
	[NEXUS_LIMIT_AREA_SPACE] = { NEXUS_COUNTER_AREA_SPACE, &max_area_space,
				     &user_max_area_space },
	[NEXUS_LIMIT_VREFS] = { NEXUS_COUNTER_VREFS, &max_vrefs,
				&user_max_vrefs },
	[NEXUS_LIMIT_VREF_SLOTS] = { NEXUS_COUNTER_VREF_SLOTS, &max_vref_slots,
				     &user_max_vref_slots },
	[NEXUS_LIMIT_WATCHES] = { NEXUS_COUNTER_WATCHES, &max_watches,
				  &user_max_watches },
	[NEXUS_LIMIT_NODE_EVENTS] = { NEXUS_COUNTER_NODE_EVENTS,
				      &max_node_events,
				      &user_max_node_events },
};

#define NEXUS_USER_HASH_BITS	6

static DEFINE_HASHTABLE(nexus_users, NEXUS_USER_HASH_BITS);
static DEFINE_SPINLOCK(nexus_users_lock);

/**
 * nexus_user_get() - the accounting of a user, created on first use
 * @uid: the user
 *
 * Return: the user with a reference the caller must put, or NULL.
 */
struct nexus_user *nexus_user_get(kuid_t uid)
{
	unsigned long key = __kuid_val(uid);
	struct nexus_user *user, *fresh = NULL;

	for (;;) {
		spin_lock(&nexus_users_lock);
		hash_for_each_possible(nexus_users, user, node, key) {
			if (uid_eq(user->uid, uid)) {
				refcount_inc(&user->ref);
				spin_unlock(&nexus_users_lock);
				kfree(fresh);
				return user;
			}
		}
		if (fresh) {
			hash_add(nexus_users, &fresh->node, key);
			spin_unlock(&nexus_users_lock);
			return fresh;
		}
		spin_unlock(&nexus_users_lock);

		fresh = kzalloc(sizeof(*fresh), GFP_KERNEL_ACCOUNT);
		if (!fresh)
			return NULL;
		fresh->uid = uid;
		refcount_set(&fresh->ref, 1);
	}
}
EXPORT_SYMBOL_GPL(nexus_user_get);

/* One more reference on a user already held. */
struct nexus_user *nexus_user_hold(struct nexus_user *user)
{
	refcount_inc(&user->ref);
	return user;
}
EXPORT_SYMBOL_GPL(nexus_user_hold);

void nexus_user_put(struct nexus_user *user)
{
	int i;

	if (!refcount_dec_and_lock(&user->ref, &nexus_users_lock))
		return;
	hash_del(&user->node);
	spin_unlock(&nexus_users_lock);
	for (i = 0; i < NEXUS_NR_LIMITS; i++)
		WARN_ON_ONCE(atomic_long_read(&user->used[i]));
	kfree(user);
}
EXPORT_SYMBOL_GPL(nexus_user_put);

/**
 * nexus_charge_for() - nexus_charge() on behalf of another context
 * @user: the user charged
 * @limit: which limit
 * @n: how much
 * @exempt: whether the user's share does not apply, as decided in the
 *	context the charge is for (the kernel charges a watcher's events in
 *	the context of whoever touched the file); NULL: the caller's
 *	CAP_SYS_RESOURCE decides
 *
 * Return: 0 or -ENOSPC.
 */
int nexus_charge_for(struct nexus_user *user, enum nexus_limit limit, long n,
		     const bool *exempt)
{
	atomic_long_t *total = &nexus_counters[nexus_limits[limit].total];
	atomic_long_t *used = &user->used[limit];

	if (atomic_long_add_return(n, total) > READ_ONCE(*nexus_limits[limit].max))
		goto undo_total;
	/* capable() only past the share: it is not free, and it audits. */
	if (atomic_long_add_return(n, used) >
	    READ_ONCE(*nexus_limits[limit].user_max) &&
	    !(exempt ? *exempt : capable(CAP_SYS_RESOURCE)))
		goto undo_used;
	return 0;

undo_used:
	atomic_long_sub(n, used);
undo_total:
	atomic_long_sub(n, total);
	return -ENOSPC;
}
EXPORT_SYMBOL_GPL(nexus_charge_for);

/**
 * nexus_charge() - take @n units of a limit for a user
 * @user: the user charged
 * @limit: which limit
 * @n: how much (objects, or bytes of port space)
 *
 * Return: 0, or -ENOSPC past the system-wide limit or past the user's
 * share of it (unless the caller has CAP_SYS_RESOURCE).
 */
int nexus_charge(struct nexus_user *user, enum nexus_limit limit, long n)
{
	return nexus_charge_for(user, limit, n, NULL);
}
EXPORT_SYMBOL_GPL(nexus_charge);

void nexus_uncharge(struct nexus_user *user, enum nexus_limit limit, long n)
{
	atomic_long_sub(n, &user->used[limit]);
	atomic_long_sub(n, &nexus_counters[nexus_limits[limit].total]);
}
EXPORT_SYMBOL_GPL(nexus_uncharge);

/* Module exit: every object and team is gone, so is every user. */
void nexus_users_exit(void)
{
	struct nexus_user *user;
	int bkt;

	hash_for_each(nexus_users, bkt, user, node)
		WARN_ONCE(1, "nexus: user %u still referenced\n",
			  __kuid_val(user->uid));
}
