/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nexus core: shared declarations of nexus.ko.
 */
#ifndef _NEXUS_INTERNAL_H
#define _NEXUS_INTERNAL_H

#include <linux/atomic.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/xarray.h>

#include <nexus.h>

/* The kinds of objects a team owns. */
enum nexus_kind {
	NEXUS_KIND_PORT,
	NEXUS_KIND_SEM,
	NEXUS_NR_KINDS
};

/*
 * A team is a thread group that has /dev/nexus open.  The team table holds
 * one reference; every struct file opened on /dev/nexus by the thread group
 * holds one "files" count, and the release of the last one removes the team
 * from the table and destroys everything it owns.  Objects hold a reference
 * on their owner while they are in its lists, lookups while they use it.
 */
struct nexus_team {
	struct hlist_node node;		/* in the team table, by tgid */
	struct hlist_node id_node;	/* in the team table, by id */
	struct pid *tgid;		/* reference held for the team's life */
	pid_t id;			/* team_id as userspace sees it */
	unsigned int files;		/* open files; under the table lock */
	struct kref ref;		/* table, owned objects, lookups */
	struct mutex lock;		/* guards objects[] and dead */
	struct list_head objects[NEXUS_NR_KINDS];	/* owned, by kind */
	bool dead;			/* torn down: owns nothing more */
};

struct nexus_team *nexus_team_attach(void);
void nexus_team_detach(struct nexus_team *team);
bool nexus_team_is_current(const struct nexus_team *team);
struct nexus_team *nexus_team_find(pid_t id);
struct nexus_team *nexus_team_get(struct nexus_team *team);
void nexus_team_put(struct nexus_team *team);

/*
 * What ports and semaphores have in common: a system-wide id (the id's
 * xarray holds one reference until the object is deleted), a name, and an
 * owner team whose list the object is in.
 *
 * The owner pointer changes only with the owner's lock held (and the new
 * owner's, for a move) and owner_lock; either lock makes it stable to read.
 * Lock order: team lock (two in address order) -> owner_lock.  Objects'
 * own locks are never held together with a team lock.
 */
struct nexus_object {
	struct kref ref;		/* the id, lookups, waiters */
	s32 id;
	enum nexus_kind kind;
	struct list_head team_node;	/* in owner->objects[kind] */
	spinlock_t owner_lock;		/* guards owner for readers */
	struct nexus_team *owner;	/* referenced; NULL once unlinked */
	struct rcu_head rcu;		/* lookups are RCU: freed after a GP */
	char name[B_OS_NAME_LENGTH];
};

void nexus_object_init(struct nexus_object *obj, enum nexus_kind kind);
int nexus_object_publish(struct xarray *xa, u32 *next,
			 struct nexus_object *obj, struct nexus_team *team);
struct nexus_object *nexus_object_lookup(struct xarray *xa, s32 id);
struct nexus_object *nexus_object_next(struct xarray *xa, s32 cookie,
				       struct nexus_team *team);
bool nexus_object_claim(struct xarray *xa, struct nexus_object *obj);
void nexus_object_unlink(struct nexus_object *obj);
int nexus_object_move(struct nexus_object *obj, struct nexus_team *to);
pid_t nexus_object_owner_id(struct nexus_object *obj);
void nexus_object_put(struct nexus_object *obj);
int nexus_copy_name(char *dst, const char __user *src, size_t size,
		    const char *fallback);

/* Ports (port.c). */
long nexus_port_ioctl(struct nexus_team *team, unsigned int cmd, void *req);
void nexus_port_destroy(struct nexus_object *obj);
void nexus_port_free(struct nexus_object *obj);
void nexus_ports_exit(void);

/* Semaphores (sem.c). */
long nexus_sem_ioctl(struct nexus_team *team, unsigned int cmd, void *req);
void nexus_sem_destroy(struct nexus_object *obj);
void nexus_sem_free(struct nexus_object *obj);
void nexus_sems_exit(void);

/*
 * Blocking (wait.c).  A deadline is computed once per call from the
 * request's flags and timeout; nexus_wait() sleeps once on it.
 */
enum nexus_wait_mode {
	NEXUS_WAIT_FOREVER,
	NEXUS_WAIT_UNTIL,
	NEXUS_WAIT_NEVER,
};

struct nexus_deadline {
	enum nexus_wait_mode mode;
	int status;			/* NEVER: B_WOULD_BLOCK or B_TIMED_OUT */
	ktime_t expires;		/* UNTIL: CLOCK_MONOTONIC */
};

/* A waiter's status until a waker or the waiter itself decides it. */
#define NEXUS_WAITING	1

void nexus_deadline_init(struct nexus_deadline *dl, u32 flags, s64 timeout);
int nexus_wait(spinlock_t *lock, const struct nexus_deadline *dl);

/* Live object counters, shown in debugfs (nexus/counters). */
enum nexus_counter {
	NEXUS_COUNTER_TEAMS,
	NEXUS_COUNTER_PORTS,
	NEXUS_COUNTER_SEMS,
	NEXUS_COUNTER_PORT_MESSAGES,
	NEXUS_COUNTER_PORT_BYTES,
	NEXUS_COUNTER_WAITERS,
	NEXUS_NR_COUNTERS
};

extern atomic_long_t nexus_counters[NEXUS_NR_COUNTERS];

static inline void nexus_counter_inc(enum nexus_counter c)
{
	atomic_long_inc(&nexus_counters[c]);
}

static inline void nexus_counter_dec(enum nexus_counter c)
{
	atomic_long_dec(&nexus_counters[c]);
}

static inline void nexus_counter_add(enum nexus_counter c, long n)
{
	atomic_long_add(n, &nexus_counters[c]);
}

static inline void nexus_counter_sub(enum nexus_counter c, long n)
{
	atomic_long_sub(n, &nexus_counters[c]);
}

/* Count one more object of a kind, unless there are @max already. */
static inline bool nexus_counter_inc_below(enum nexus_counter c, long max)
{
	if (atomic_long_inc_return(&nexus_counters[c]) <= max)
		return true;
	atomic_long_dec(&nexus_counters[c]);
	return false;
}

void nexus_debugfs_init(void);
void nexus_debugfs_exit(void);

#endif /* _NEXUS_INTERNAL_H */
