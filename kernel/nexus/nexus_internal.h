/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nexus core: shared declarations of nexus.ko.
 */
#ifndef _NEXUS_INTERNAL_H
#define _NEXUS_INTERNAL_H

#include <linux/atomic.h>
#include <linux/cdev.h>
#include <linux/kref.h>
#include <linux/ktime.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/rcupdate.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/uidgid.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <linux/xarray.h>

#include <nexus.h>

/* The kinds of objects a team owns. */
enum nexus_kind {
	NEXUS_KIND_PORT,
	NEXUS_KIND_SEM,
	NEXUS_KIND_AREA,		/* nexus_area.ko's */
	NEXUS_KIND_NODE_MONITOR,	/* nexus_node_monitor.ko's, one a team */
	NEXUS_NR_KINDS
};

/*
 * Users (user.c): what each effective uid has live, for the per-user share
 * of each system-wide limit.  Objects and queued messages hold a reference
 * on the user they are charged to.
 */
enum nexus_limit {
	NEXUS_LIMIT_PORTS,
	NEXUS_LIMIT_SEMS,
	NEXUS_LIMIT_PORT_SPACE,
	NEXUS_LIMIT_THREADS,
	NEXUS_LIMIT_AREAS,
	NEXUS_LIMIT_AREA_SPACE,
	NEXUS_LIMIT_VREFS,
	NEXUS_LIMIT_VREF_SLOTS,
	NEXUS_LIMIT_WATCHES,
	NEXUS_LIMIT_NODE_EVENTS,
	NEXUS_NR_LIMITS
};

struct nexus_user {
	struct hlist_node node;		/* in the user table, by uid */
	kuid_t uid;
	refcount_t ref;
	atomic_long_t used[NEXUS_NR_LIMITS];
};

struct nexus_user *nexus_user_get(kuid_t uid);
struct nexus_user *nexus_user_hold(struct nexus_user *user);
void nexus_user_put(struct nexus_user *user);
int nexus_charge(struct nexus_user *user, enum nexus_limit limit, long n);
int nexus_charge_for(struct nexus_user *user, enum nexus_limit limit, long n,
		     const bool *exempt);
void nexus_uncharge(struct nexus_user *user, enum nexus_limit limit, long n);
void nexus_users_exit(void);

/*
 * A team is a thread group that has /dev/nexus open.  The team table holds
 * one reference while the team is in it (hashed); every struct file opened
 * on /dev/nexus by the thread group holds one, objects hold one on their
 * owner, lookups while they use it.  The team leaves the table, and
 * everything it owns is destroyed, when its last file is released or when
 * its thread group exits, whichever comes first: a descriptor inherited by
 * another process never keeps a dead process's team alive.  The exit is
 * learnt from the thread group's struct pid (the wait queue pidfds poll).
 */
struct nexus_team {
	struct hlist_node node;		/* in the team table, by tgid */
	struct pid *tgid;		/* reference held for the team's life */
	struct nexus_user *user;	/* the euid that opened it */
	struct user_namespace *user_ns;	/* its opener's; referenced */
	unsigned int files;		/* open files; under the table lock */
	bool hashed;			/* in the table; under the table lock */
	struct kref ref;		/* table, files, owned objects, lookups */
	struct mutex lock;		/* guards objects[] and dead */
	struct list_head objects[NEXUS_NR_KINDS];	/* owned, by kind */
	struct list_head threads;	/* records of its live threads */
	struct list_head dead_threads;	/* exit records nobody took yet */
	unsigned int nr_dead_threads;
	bool dead;			/* torn down: owns nothing more */
	struct wait_queue_entry exit_wait;	/* on tgid->wait_pidfd */
	struct work_struct exit_work;	/* tears down after an exit */
};

struct nexus_team *nexus_team_attach(void);
void nexus_team_detach(struct nexus_team *team);
bool nexus_team_is_current(const struct nexus_team *team);
struct nexus_team *nexus_team_find(pid_t id);
struct nexus_team *nexus_team_of_tgid(struct pid *tgid);
pid_t nexus_team_id(const struct nexus_team *team);
struct nexus_team *nexus_team_get(struct nexus_team *team);
void nexus_team_put(struct nexus_team *team);
int nexus_teams_init(void);
void nexus_teams_exit(void);

/*
 * What ports and semaphores have in common: a system-wide id (the id's
 * xarray holds one reference until the object is deleted), a name, an
 * owner team whose list the object is in, and the user it belongs to (its
 * creator's euid and user namespace), who alone may use it beyond writing
 * and reading its info (NEXUS-ABI.md, "Users, namespaces and limits").
 *
 * An object is linked to its owner before its id is published, and its id
 * is erased (and the object marked deleted) before it is unlinked: so an
 * object whose id can be found always has an owner, and one without an
 * owner is being deleted.
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
	struct nexus_user *user;	/* charged for the object; referenced */
	struct user_namespace *user_ns;	/* its creator's; referenced */
	struct rcu_head rcu;		/* lookups are RCU: freed after a GP */
	bool module_held;		/* a reference on the kind's module */
	char name[B_OS_NAME_LENGTH];
};

/*
 * What a kind of object does when deleted by its owner's teardown and when
 * its last reference goes.  Ports and semaphores are nexus.ko's; areas
 * register theirs from nexus_area.ko, whose objects each hold a reference
 * on that module.
 */
struct nexus_kind_ops {
	struct module *owner;
	void (*destroy)(struct nexus_object *obj);
	void (*free)(struct nexus_object *obj);
};

int nexus_kind_register(enum nexus_kind kind,
			const struct nexus_kind_ops *ops);
void nexus_kind_unregister(enum nexus_kind kind);
int nexus_object_init(struct nexus_object *obj, enum nexus_kind kind);
int nexus_object_publish(struct xarray *xa, u32 *next,
			 struct nexus_object *obj, struct nexus_team *team,
			 s32 *id);
struct nexus_object *nexus_object_lookup(struct xarray *xa, s32 id);
struct nexus_object *nexus_team_object(struct nexus_team *team,
				       enum nexus_kind kind);
struct nexus_object *nexus_object_next(struct xarray *xa, s32 cookie,
				       struct nexus_team *team);
bool nexus_object_claim(struct xarray *xa, struct nexus_object *obj);
void nexus_object_unlink(struct nexus_object *obj);
int nexus_object_move(struct nexus_object *obj, struct nexus_team *to);
int nexus_object_owner_id(struct nexus_object *obj, pid_t *id);
bool nexus_object_owned(struct nexus_object *obj, struct nexus_team *team);
bool nexus_object_allowed(const struct nexus_object *obj);
struct nexus_object *nexus_object_lookup_allowed(struct xarray *xa, s32 id,
						 int *err);
bool nexus_object_same_user(const struct nexus_object *obj,
			    const struct nexus_team *team);
void nexus_object_put(struct nexus_object *obj);
int nexus_copy_name(char *dst, const char __user *src, size_t size,
		    const char *fallback);

/* Ports (port.c). */
long nexus_port_ioctl(struct nexus_team *team, unsigned int cmd, void *req);
void nexus_port_destroy(struct nexus_object *obj);
void nexus_port_free(struct nexus_object *obj);
void nexus_ports_exit(void);

/*
 * Port capabilities (port.c): messages that carry vrefs.  The vrefs are
 * nexus_node_monitor.ko's, which registers what a message does with them;
 * a queued message holds a reference on each and one on that module.
 */
struct nexus_cap_ops {
	struct module *owner;
	/* A reference on vref @id if @team holds a slot in it, else NULL. */
	void *(*get)(struct nexus_team *team, s32 id);
	/* A new slot in @ref for @team: 0 and *key, or a status. */
	int (*mint)(struct nexus_team *team, void *ref, u64 *key);
	/* Drops a slot mint() made. */
	void (*unmint)(struct nexus_team *team, void *ref, u64 key);
	void (*put)(void *ref);
};

int nexus_cap_ops_register(const struct nexus_cap_ops *ops);
void nexus_cap_ops_unregister(void);

/*
 * Kernel writers (the node monitor) to a port: a link is told, under the
 * port's lock, when the port dies (closed or deleted) and, once a write
 * found the port full, when room appears.  The link holds a reference on
 * the port until unlinked.
 */
struct nexus_port;

struct nexus_port_link {
	struct list_head node;		/* in the port's links; port lock */
	struct nexus_port *port;	/* referenced while set */
	void (*func)(struct nexus_port_link *link, bool dead);
	bool want_space;		/* port lock */
};

int nexus_port_link(struct nexus_port_link *link, s32 id);
void nexus_port_unlink(struct nexus_port_link *link);
int nexus_port_link_write(struct nexus_port_link *link, s32 code,
			  const void *data, size_t size,
			  struct nexus_user *user, bool exempt);

/* Threads (thread.c). */
long nexus_thread_ioctl(struct nexus_team *team, unsigned int cmd, void *req);
long nexus_thread_ioctl_raw(struct nexus_team *team, unsigned int cmd,
			    unsigned long arg);
void nexus_threads_team_exit(struct nexus_team *team);
int nexus_threads_init(void);
void nexus_threads_exit(void);

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
long nexus_wait_end(const struct nexus_deadline *dl, int status, u32 *flags,
		    s64 *timeout);

/* Device nodes (chrdev.c): one per module, mode 0666. */
struct nexus_chrdev {
	dev_t devt;
	struct cdev cdev;
	struct class *class;
	struct device *device;
};

int nexus_chrdev_add(struct nexus_chrdev *cd, const char *name,
		     const struct file_operations *fops);
void nexus_chrdev_del(struct nexus_chrdev *cd);
int nexus_team_open(struct inode *inode, struct file *filp);
int nexus_team_release(struct inode *inode, struct file *filp);

/* Live object counters, shown in debugfs (nexus/counters). */
enum nexus_counter {
	NEXUS_COUNTER_TEAMS,
	NEXUS_COUNTER_PORTS,
	NEXUS_COUNTER_SEMS,
	NEXUS_COUNTER_PORT_MESSAGES,
	NEXUS_COUNTER_PORT_BYTES,
	NEXUS_COUNTER_WAITERS,
	NEXUS_COUNTER_PORT_SPACE,
	NEXUS_COUNTER_THREADS,
	NEXUS_COUNTER_THREAD_MESSAGES,
	NEXUS_COUNTER_AREAS,
	NEXUS_COUNTER_AREA_SPACE,
	NEXUS_COUNTER_PORT_CAPS,
	NEXUS_COUNTER_VREFS,
	NEXUS_COUNTER_VREF_SLOTS,
	NEXUS_COUNTER_WATCHES,
	NEXUS_COUNTER_NODE_EVENTS,
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

void nexus_debugfs_init(void);
void nexus_debugfs_exit(void);

#endif /* _NEXUS_INTERNAL_H */
