/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexus_node_monitor.ko: shared declarations of vref.c, watch.c, mount.c,
 * kmessage.c and node_monitor.c.
 */
#ifndef _NEXUS_NODE_MONITOR_H
#define _NEXUS_NODE_MONITOR_H

#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "nexus_internal.h"

/*
 * What the module keeps for one team: its vref slots, its listeners and
 * its volume watches.  It is an object of kind NEXUS_KIND_NODE_MONITOR
 * owned by the team, so the team's teardown destroys it (nm_team_destroy)
 * and it holds this module while it lives.
 */
struct nm_team {
	struct nexus_object obj;
	struct nexus_team *team;	/* referenced */
	struct mutex lock;		/* slots and dead */
	struct list_head slots;		/* nm_slot.team_node */
	bool dead;			/* torn down: holds nothing more */
	/* Under nm_lock (watch.c): */
	struct list_head listeners;	/* nm_listener.team_node */
	struct list_head volumes;	/* nm_volume.team_node */
	struct nm_mounts *mounts;	/* the mount table seen, or NULL */
	bool watches_dead;		/* torn down: no more watches */
};

extern struct workqueue_struct *nm_wq;

struct nm_team *nm_team_of(struct nexus_team *team, bool create);
void nm_team_put(struct nm_team *nt);

/* Vrefs (vref.c). */
long nm_vref_ioctl(struct nexus_team *team, unsigned int cmd, void *req,
		   void __user *argp);
struct file *nm_vref_file(struct nm_team *nt, s32 id);
void nm_vrefs_team_exit(struct nm_team *nt);
extern const struct nexus_cap_ops nm_cap_ops;
void nm_vrefs_exit(void);

/*
 * A node monitor message being built (kmessage.c): a Haiku KMessage in a
 * buffer of NM_MSG_MAX bytes, big enough for any message the module sends
 * (two names of NAME_MAX bytes and eight fields).
 */
#define NM_MSG_MAX	1024

struct nm_msg {
	size_t len;
	bool overflow;
	u8 buf[NM_MSG_MAX];
};

void nm_msg_init(struct nm_msg *msg, s32 opcode);
void nm_msg_add_int32(struct nm_msg *msg, const char *name, s32 value);
void nm_msg_add_int64(struct nm_msg *msg, const char *name, s64 value);
void nm_msg_add_string(struct nm_msg *msg, const char *name,
		       const char *value, size_t len);
void nm_msg_set_token(u8 *buf, u32 token);

/* Watches and listeners (watch.c). */
extern struct mutex nm_lock;
struct nm_listener;

long nm_watch_ioctl(struct nexus_team *team, unsigned int cmd, void *req);
void nm_watches_team_exit(struct nm_team *nt);
int nm_listener_send(struct nm_listener *l, const struct nm_msg *msg,
		     u32 token);
int nm_watches_init(void);
void nm_watches_exit(void);

/* Volume watches (mount.c): the mount table of the watcher's namespace. */
struct nm_volume {
	struct list_head team_node;	/* in nm_team.volumes; nm_lock */
	struct list_head listener_node;	/* in the listener's; nm_lock */
	struct nm_listener *listener;
	u32 token;
};

struct nm_mounts *nm_mounts_new(struct nm_team *nt);
void nm_mounts_free(struct nm_mounts *m);

#endif /* _NEXUS_NODE_MONITOR_H */
