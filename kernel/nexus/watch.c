// SPDX-License-Identifier: GPL-2.0
/*
 * The node monitor: Haiku's watches on fsnotify (NEXUS-ABI.md, "Node
 * monitor").
 *
 * One fsnotify group; one mark per watched file system, on its superblock
 * (struct nm_sb), so that one event handler sees every event of that file
 * system with its full context: the directory and name of an entry event,
 * both directories and names of a rename (FS_RENAME).  Watched nodes are
 * keyed by (superblock, inode number) in an RCU hash, as Haiku keys them by
 * (device, node): a watch pins no inode, and a node's watches end when its
 * last link goes.
 *
 * Events become KMessages queued on the listener - a team's port - and a
 * work item writes them to the port without ever blocking: when the port
 * is full the backlog waits for the port to say there is room.  The backlog
 * is bounded (backlog, per listener, and the user's node_events share);
 * past it events are dropped and one NEXUS_EVENTS_DROPPED message with the
 * count takes their place in the stream.  The file system never waits.
 *
 * Locking: nm_lock (a mutex) guards the structure - listeners, watches,
 * nodes in the hash, superblocks - and is never held across a VFS call.
 * A node's mutex guards its watches and snapshots for the event path,
 * which runs in the context of the file system operation (with its
 * directory locks held) and takes node locks, never nm_lock - except to
 * drop the watches of a node that is gone.  Order: nm_lock -> node lock ->
 * listener lock.
 */

#include <linux/capability.h>
#include <linux/dcache.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/hashtable.h>
#include <linux/kdev_t.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/namei.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/xattr.h>
#include <linux/xxhash.h>

#include "nexus_compat.h"
#include "node_monitor.h"

static unsigned int backlog = 256;
module_param(backlog, uint, 0644);
MODULE_PARM_DESC(backlog,
		 "node monitor events one listener may have waiting for room in its port");

DEFINE_MUTEX(nm_lock);		/* listeners, watches, nodes, sbs */
static struct fsnotify_group *nm_group;
static LIST_HEAD(nm_sbs);		/* nm_lock */
static atomic_t nm_children;		/* B_WATCH_CHILDREN watches */

#define NM_HASH_BITS	10
static DEFINE_HASHTABLE(nm_nodes, NM_HASH_BITS);

/* What fsnotify tells us of, for every watched file system. */
#define NM_EVENTS	(FS_CREATE | FS_DELETE | FS_RENAME | FS_ATTRIB | \
			 FS_MODIFY | FS_CLOSE_WRITE | FS_MOVE_SELF)

struct nm_sb {
	struct fsnotify_mark mark;	/* on sb; one reference is ours */
	struct super_block *sb;
	struct list_head node;		/* in nm_sbs; nm_lock */
	struct list_head nodes;		/* nm_node.sb_node; nm_lock */
	bool dying;			/* set under nm_lock */
};

struct nm_stat {
	umode_t mode;
	kuid_t uid;
	kgid_t gid;
	loff_t size;
	struct timespec64 atime, mtime, ctime;
};

struct nm_xattr {
	struct list_head node;
	u64 hash;
	char name[];
};

struct nm_node {
	struct hlist_node hash;		/* in nm_nodes (RCU); nm_lock */
	struct list_head sb_node;	/* in nsb->nodes; nm_lock */
	struct kref ref;		/* the hash, lookups */
	struct super_block *sb;
	unsigned long ino;
	struct nm_sb *nsb;
	struct mutex lock;		/* below */
	struct mutex xattr_lock;	/* one xattr check at a time */
	struct list_head watches;
	struct nm_stat stat;		/* as last reported */
	struct nm_stat interim;		/* as last reported to interim watchers */
	struct list_head xattrs;	/* user.* names and value hashes */
	bool have_xattrs;
	bool modified;			/* written since last reported */
	struct rcu_head rcu;
};

struct nm_watch {
	struct list_head node_link;	/* in node->watches; nm_lock + node lock */
	struct list_head listener_link;	/* in listener->watches; nm_lock */
	struct nm_node *node;		/* referenced */
	struct nm_listener *listener;
	u32 token;
	u32 flags;
};

/* A message waiting for room in the port, or the mark of a loss. */
struct nm_event {
	struct list_head node;
	u32 dropped;			/* a loss mark: events lost here */
	u32 token;			/* a mark's: its first lost event's */
	u32 len;
	u8 data[];
};

struct nm_listener {
	struct kref ref;		/* the team's list, senders, works */
	struct list_head team_node;	/* in owner->listeners; nm_lock */
	struct nm_team *owner;
	s32 port;
	struct nexus_port_link link;
	struct nexus_user *user;	/* charged for queued events */
	bool exempt;			/* from its share: CAP_SYS_RESOURCE */
	struct list_head watches;	/* nm_lock */
	struct list_head volumes;	/* nm_lock */
	bool killed;			/* nm_lock */
	spinlock_t lock;		/* below */
	struct list_head backlog;
	unsigned int nr_backlog;	/* events, not loss marks */
	u32 lost;			/* dropped without a mark yet */
	bool dead;
	struct work_struct work;	/* delivery */
	struct work_struct kill_work;	/* the port died */
	struct nm_msg scratch;		/* delivery's loss messages */
};

/* Haiku's dev_t of a file system: what stat(2) says of it. */
static u32 nm_dev(const struct super_block *sb)
{
	return new_encode_dev(sb->s_dev);
}

static u32 nm_hash(const struct super_block *sb, unsigned long ino)
{
	return hash_ptr(sb, 32) ^ ino;
}

/* ----- listeners ----- */

static void nm_listener_free(struct kref *ref)
{
	struct nm_listener *l = container_of(ref, struct nm_listener, ref);

	nexus_user_put(l->user);
	kfree(l);
}

static void nm_listener_put(struct nm_listener *l)
{
	kref_put(&l->ref, nm_listener_free);
}

static void nm_event_free(struct nm_listener *l, struct nm_event *ev)
{
	if (!ev->dropped)
		nexus_uncharge(l->user, NEXUS_LIMIT_NODE_EVENTS, 1);
	kfree(ev);
}

/*
 * Queue a message for @l with @token as its target; the file system's
 * context: never blocks on the port.  Past the backlog the event is
 * dropped and counted on the loss mark at the tail.
 */
int nm_listener_send(struct nm_listener *l, const struct nm_msg *msg,
		     u32 token)
{
	struct nm_event *ev, *tail;
	bool charged;

	if (msg->overflow)
		return -EOVERFLOW;
	ev = kmalloc(struct_size(ev, data, msg->len), GFP_NOFS);
	/* The watcher's share, whoever made the event. */
	charged = !nexus_charge_for(l->user, NEXUS_LIMIT_NODE_EVENTS, 1,
				    &l->exempt);
	spin_lock(&l->lock);
	if (l->dead) {
		spin_unlock(&l->lock);
		if (charged)
			nexus_uncharge(l->user, NEXUS_LIMIT_NODE_EVENTS, 1);
		kfree(ev);
		return -ESRCH;
	}
	if (ev && charged && l->nr_backlog < READ_ONCE(backlog)) {
		ev->dropped = 0;
		ev->len = msg->len;
		memcpy(ev->data, msg->buf, msg->len);
		nm_msg_set_token(ev->data, token);
		list_add_tail(&ev->node, &l->backlog);
		l->nr_backlog++;
		ev = NULL;
		charged = false;
	} else {
		tail = list_empty(&l->backlog) ? NULL :
		       list_last_entry(&l->backlog, struct nm_event, node);
		if (tail && tail->dropped) {
			tail->dropped++;
		} else if (ev) {
			/* This event's room becomes the mark of the loss. */
			ev->dropped = 1 + l->lost;
			ev->token = token;
			ev->len = 0;
			l->lost = 0;
			list_add_tail(&ev->node, &l->backlog);
			ev = NULL;
		} else {
			l->lost++;
		}
	}
	queue_work(nm_wq, &l->work);
	spin_unlock(&l->lock);
	if (charged)
		nexus_uncharge(l->user, NEXUS_LIMIT_NODE_EVENTS, 1);
	kfree(ev);
	return 0;
}

static void nm_listener_kill(struct nm_listener *l);

/* Write the backlog to the port until it is empty or the port full. */
static void nm_listener_deliver(struct work_struct *work)
{
	struct nm_listener *l = container_of(work, struct nm_listener, work);
	struct nm_event *ev;
	const u8 *data;
	size_t len;
	int status;

	for (;;) {
		spin_lock(&l->lock);
		/* Dead: the link may be going, the port with it. */
		ev = l->dead ? NULL :
		     list_first_entry_or_null(&l->backlog, struct nm_event,
					      node);
		/*
		 * An event being written still counts in nr_backlog: a sender
		 * meanwhile must not take its room, or a full port's backlog
		 * holds one more than it may once the event comes back.
		 */
		if (ev)
			list_del(&ev->node);
		spin_unlock(&l->lock);
		if (!ev)
			return;
		data = ev->data;
		len = ev->len;
		if (ev->dropped) {
			nm_msg_init(&l->scratch, NEXUS_EVENTS_DROPPED);
			nm_msg_add_int32(&l->scratch, "dropped", ev->dropped);
			nm_msg_set_token(l->scratch.buf, ev->token);
			data = l->scratch.buf;
			len = l->scratch.len;
		}
		status = nexus_port_link_write(&l->link, B_NODE_MONITOR, data,
					       len, l->user, l->exempt);
		if (status == B_WOULD_BLOCK) {
			/* The port calls us again once it has room. */
			spin_lock(&l->lock);
			list_add(&ev->node, &l->backlog);
			spin_unlock(&l->lock);
			return;
		}
		if (status != B_OK && status != B_BAD_PORT_ID) {
			/* No port space for it: it becomes a loss mark. */
			spin_lock(&l->lock);
			if (!ev->dropped) {
				nexus_uncharge(l->user, NEXUS_LIMIT_NODE_EVENTS,
					       1);
				ev->dropped = 1;
				memcpy(&ev->token, ev->data + 16, 4);
				ev->len = 0;
				l->nr_backlog--;
			}
			list_add(&ev->node, &l->backlog);
			spin_unlock(&l->lock);
			return;
		}
		if (!ev->dropped) {
			spin_lock(&l->lock);
			l->nr_backlog--;
			spin_unlock(&l->lock);
		}
		nm_event_free(l, ev);
		if (status == B_BAD_PORT_ID) {
			kref_get(&l->ref);
			if (!queue_work(nm_wq, &l->kill_work))
				nm_listener_put(l);
			return;
		}
	}
}

static void nm_listener_kill_work(struct work_struct *work)
{
	struct nm_listener *l = container_of(work, struct nm_listener,
					     kill_work);

	nm_listener_kill(l);
	nm_listener_put(l);
}

/* The port, under its lock: room again, or it died. */
static void nm_listener_port(struct nexus_port_link *link, bool dead)
{
	struct nm_listener *l = container_of(link, struct nm_listener, link);

	if (!dead) {
		queue_work(nm_wq, &l->work);
		return;
	}
	/* Linked means not yet killed: the team's reference is there. */
	kref_get(&l->ref);
	if (!queue_work(nm_wq, &l->kill_work))
		nm_listener_put(l);
}

static struct nm_listener *nm_listener_find(struct nm_team *nt, s32 port)
{
	struct nm_listener *l;

	lockdep_assert_held(&nm_lock);
	list_for_each_entry(l, &nt->listeners, team_node)
		if (l->port == port)
			return l;
	return NULL;
}

static struct nm_listener *nm_listener_get(struct nm_team *nt, s32 port)
{
	struct nm_listener *l = nm_listener_find(nt, port);

	if (l)
		return l;
	l = kzalloc(sizeof(*l), GFP_KERNEL_ACCOUNT);
	if (!l)
		return ERR_PTR(-ENOMEM);
	kref_init(&l->ref);
	l->owner = nt;
	l->port = port;
	l->user = nexus_user_hold(nt->team->user);
	/* Decided here, in the watcher's context, once. */
	l->exempt = has_capability_noaudit(current, CAP_SYS_RESOURCE);
	INIT_LIST_HEAD(&l->watches);
	INIT_LIST_HEAD(&l->volumes);
	INIT_LIST_HEAD(&l->backlog);
	spin_lock_init(&l->lock);
	INIT_WORK(&l->work, nm_listener_deliver);
	INIT_WORK(&l->kill_work, nm_listener_kill_work);
	l->link.func = nm_listener_port;
	if (nexus_port_link(&l->link, port)) {
		nm_listener_put(l);
		return ERR_PTR(-EINVAL);
	}
	list_add_tail(&l->team_node, &nt->listeners);
	return l;
}

/* ----- nodes ----- */

static void nm_stat_read(struct inode *inode, struct nm_stat *st)
{
	st->mode = inode->i_mode;
	st->uid = inode->i_uid;
	st->gid = inode->i_gid;
	st->size = i_size_read(inode);
	st->atime = nexus_inode_atime(inode);
	st->mtime = nexus_inode_mtime(inode);
	st->ctime = nexus_inode_ctime(inode);
}

static u32 nm_stat_diff(const struct nm_stat *a, const struct nm_stat *b)
{
	u32 fields = 0;

	if (a->mode != b->mode)
		fields |= B_STAT_MODE;
	if (!uid_eq(a->uid, b->uid))
		fields |= B_STAT_UID;
	if (!gid_eq(a->gid, b->gid))
		fields |= B_STAT_GID;
	if (a->size != b->size)
		fields |= B_STAT_SIZE;
	if (!timespec64_equal(&a->atime, &b->atime))
		fields |= B_STAT_ACCESS_TIME;
	if (!timespec64_equal(&a->mtime, &b->mtime))
		fields |= B_STAT_MODIFICATION_TIME;
	if (!timespec64_equal(&a->ctime, &b->ctime))
		fields |= B_STAT_CHANGE_TIME;
	return fields;
}

static void nm_xattrs_free(struct list_head *list)
{
	struct nm_xattr *x, *tmp;

	list_for_each_entry_safe(x, tmp, list, node)
		kfree(x);
	INIT_LIST_HEAD(list);
}

#define NM_XATTR_MAX	65536

/*
 * The user.* xattrs of @dentry, names and value hashes; VFS, no locks.  A
 * file system without xattrs has none; running out of memory is -ENOMEM,
 * never a shorter list: each xattr missing from a snapshot would be told
 * as created at the next change.
 */
static int nm_xattrs_read(struct dentry *dentry, struct list_head *list)
{
	char *names, *name, *value = NULL;
	ssize_t len, vlen;
	struct nm_xattr *x;
	int err = 0;

	INIT_LIST_HEAD(list);
	/* Failing is the caller's -ENOMEM, not vmalloc's warning. */
	names = kvmalloc(NM_XATTR_MAX, GFP_KERNEL | __GFP_NOWARN);
	value = kvmalloc(NM_XATTR_MAX, GFP_KERNEL | __GFP_NOWARN);
	if (!names || !value) {
		err = -ENOMEM;
		goto out;
	}
	len = vfs_listxattr(dentry, names, NM_XATTR_MAX);
	if (len == -ENOMEM) {
		err = len;
		goto out;
	}
	if (len < 0)
		len = 0;	/* no xattrs on this file system: none to see */
	for (name = names; name < names + len; name += strlen(name) + 1) {
		if (strncmp(name, XATTR_USER_PREFIX, XATTR_USER_PREFIX_LEN))
			continue;
		vlen = nexus_getxattr(dentry, name, value, NM_XATTR_MAX);
		if (vlen == -ENOMEM) {
			err = vlen;
			break;
		}
		if (vlen < 0)
			continue;	/* gone meanwhile, or not ours to read */
		x = kmalloc(struct_size(x, name, strlen(name) + 1), GFP_KERNEL);
		if (!x) {
			err = -ENOMEM;
			break;
		}
		x->hash = xxh64(value, vlen, 0);
		memcpy(x->name, name, strlen(name) + 1);
		list_add_tail(&x->node, list);
	}
out:
	kvfree(names);
	kvfree(value);
	if (err)
		nm_xattrs_free(list);
	return err;
}

static void nm_node_free(struct kref *ref)
{
	struct nm_node *node = container_of(ref, struct nm_node, ref);

	nm_xattrs_free(&node->xattrs);
	kfree_rcu(node, rcu);
}

static void nm_node_put(struct nm_node *node)
{
	kref_put(&node->ref, nm_node_free);
}

static struct nm_node *nm_node_lookup(struct super_block *sb,
				      unsigned long ino)
{
	struct nm_node *node;

	rcu_read_lock();
	hash_for_each_possible_rcu(nm_nodes, node, hash, nm_hash(sb, ino)) {
		if (node->sb == sb && node->ino == ino &&
		    kref_get_unless_zero(&node->ref)) {
			rcu_read_unlock();
			return node;
		}
	}
	rcu_read_unlock();
	return NULL;
}

static void nm_sb_gc(struct work_struct *work);
static DECLARE_WORK(nm_sb_gc_work, nm_sb_gc);

/* A node without watches leaves the hash; its file system may go too. */
static void nm_node_unhash(struct nm_node *node)
{
	lockdep_assert_held(&nm_lock);
	hash_del_rcu(&node->hash);
	list_del(&node->sb_node);
	if (list_empty(&node->nsb->nodes))
		queue_work(nm_wq, &nm_sb_gc_work);
	nm_node_put(node);		/* the hash's */
}

static void nm_watch_free(struct nm_watch *w)
{
	struct nm_node *node = w->node;

	lockdep_assert_held(&nm_lock);
	mutex_lock(&node->lock);
	list_del(&w->node_link);
	mutex_unlock(&node->lock);
	list_del(&w->listener_link);
	if (w->flags & B_WATCH_CHILDREN)
		atomic_dec(&nm_children);
	nexus_uncharge(w->listener->user, NEXUS_LIMIT_WATCHES, 1);
	if (list_empty(&node->watches))
		nm_node_unhash(node);
	kfree(w);
}

static void nm_volume_free(struct nm_volume *v)
{
	lockdep_assert_held(&nm_lock);
	list_del(&v->team_node);
	list_del(&v->listener_node);
	nexus_uncharge(v->listener->user, NEXUS_LIMIT_WATCHES, 1);
	kfree(v);
}

/* Detach the mount table when no volume watch is left; free it after. */
static struct nm_mounts *nm_mounts_unused(struct nm_team *nt)
{
	struct nm_mounts *m = NULL;

	lockdep_assert_held(&nm_lock);
	if (list_empty(&nt->volumes)) {
		m = nt->mounts;
		nt->mounts = NULL;
	}
	return m;
}

/*
 * End a listener: its watches and volume watches, its link to the port,
 * its backlog.  Process context, nm_lock not held.
 */
static void nm_listener_kill(struct nm_listener *l)
{
	struct nm_volume *v, *vtmp;
	struct nm_watch *w, *wtmp;
	struct nm_event *ev, *etmp;
	struct nm_mounts *m;
	LIST_HEAD(events);

	mutex_lock(&nm_lock);
	if (l->killed) {
		mutex_unlock(&nm_lock);
		return;
	}
	l->killed = true;
	list_del(&l->team_node);
	list_for_each_entry_safe(w, wtmp, &l->watches, listener_link)
		nm_watch_free(w);
	list_for_each_entry_safe(v, vtmp, &l->volumes, listener_node)
		nm_volume_free(v);
	m = nm_mounts_unused(l->owner);
	mutex_unlock(&nm_lock);
	nm_mounts_free(m);

	/*
	 * Dead: no sender queues more, and a delivery that starts now writes
	 * nothing.  One that ran before is waited for before the port goes,
	 * and one the port queued before the unlink after.
	 */
	spin_lock(&l->lock);
	l->dead = true;
	spin_unlock(&l->lock);
	cancel_work_sync(&l->work);
	nexus_port_unlink(&l->link);
	cancel_work_sync(&l->work);
	list_splice_init(&l->backlog, &events);
	l->nr_backlog = 0;
	list_for_each_entry_safe(ev, etmp, &events, node)
		nm_event_free(l, ev);
	nm_listener_put(l);		/* the team's */
}

/* A listener left without watches ends (nm_lock held; kills after). */
static bool nm_listener_unused(struct nm_listener *l)
{
	return list_empty(&l->watches) && list_empty(&l->volumes);
}

/* ----- the event path ----- */

/*
 * Who was told of one event: each (listener, token) once, as Haiku tells
 * each listener once however many of its watches an event concerns.
 */
#define NM_TARGETS	16

struct nm_targets {
	unsigned int n;
	struct {
		struct nm_listener *l;
		u32 token;
	} t[NM_TARGETS];
};

static bool nm_targets_seen(struct nm_targets *tg, struct nm_listener *l,
			    u32 token)
{
	unsigned int i;

	for (i = 0; i < tg->n; i++)
		if (tg->t[i].l == l && tg->t[i].token == token)
			return true;
	/* Past NM_TARGETS a listener may be told twice, never not at all. */
	if (tg->n < NM_TARGETS) {
		tg->t[tg->n].l = l;
		tg->t[tg->n].token = token;
		tg->n++;
	}
	return false;
}

/* Under the node's lock: tell the watches that have all of @want. */
static void nm_tell_node(struct nm_targets *tg, struct nm_node *node,
			 u32 want, const struct nm_msg *msg)
{
	struct nm_watch *w;

	lockdep_assert_held(&node->lock);
	list_for_each_entry(w, &node->watches, node_link)
		if ((w->flags & want) == want &&
		    !nm_targets_seen(tg, w->listener, w->token))
			nm_listener_send(w->listener, msg, w->token);
}

/* Tell the watchers of node (@sb, @ino) that have all of @want. */
static void nm_tell(struct nm_targets *tg, struct super_block *sb,
		    unsigned long ino, u32 want, const struct nm_msg *msg)
{
	struct nm_node *node = nm_node_lookup(sb, ino);

	if (!node)
		return;
	mutex_lock(&node->lock);
	nm_tell_node(tg, node, want, msg);
	mutex_unlock(&node->lock);
	nm_node_put(node);
}

static struct nm_msg *nm_msg_new(s32 opcode)
{
	struct nm_msg *msg = kmalloc(sizeof(*msg), GFP_NOFS);

	if (msg)
		nm_msg_init(msg, opcode);
	return msg;
}

/* The node is gone (its last link): its watches end. */
static void nm_node_gone(struct super_block *sb, unsigned long ino)
{
	struct nm_listener *dead[NM_TARGETS];
	struct nm_node *node = nm_node_lookup(sb, ino);
	struct nm_watch *w, *tmp;
	unsigned int n = 0, i;

	if (!node)
		return;
	mutex_lock(&nm_lock);
	if (!hlist_unhashed(&node->hash)) {
		list_for_each_entry_safe(w, tmp, &node->watches, node_link) {
			struct nm_listener *l = w->listener;

			nm_watch_free(w);
			if (nm_listener_unused(l) && n < NM_TARGETS) {
				kref_get(&l->ref);
				dead[n++] = l;
			}
		}
	}
	mutex_unlock(&nm_lock);
	nm_node_put(node);
	for (i = 0; i < n; i++) {
		/* Not here: the file system's locks are held. */
		if (!queue_work(nm_wq, &dead[i]->kill_work))
			nm_listener_put(dead[i]);
	}
}

static void nm_entry_event(s32 opcode, struct inode *dir, struct inode *inode,
			   const struct qstr *name)
{
	struct nm_targets tg = { 0 };
	struct nm_msg *msg;

	if (!dir || !inode || !name)
		return;
	msg = nm_msg_new(opcode);
	if (!msg)
		return;
	nm_msg_add_int32(msg, "device", nm_dev(dir->i_sb));
	nm_msg_add_int64(msg, "directory", dir->i_ino);
	nm_msg_add_int64(msg, "node", inode->i_ino);
	nm_msg_add_string(msg, "name", name->name, name->len);
	nm_tell(&tg, dir->i_sb, dir->i_ino, B_WATCH_DIRECTORY, msg);
	if (opcode == B_ENTRY_REMOVED)
		nm_tell(&tg, inode->i_sb, inode->i_ino, B_WATCH_NAME, msg);
	kfree(msg);
}

/*
 * A rename's FS_RENAME comes first, then (when it replaced an entry) the
 * replaced inode's FS_ATTRIB, then the moved inode's FS_MOVE_SELF, all in
 * the renaming task: what the first says lets the second be told as the
 * removal of the replaced entry.
 */
struct nm_rename {
	struct list_head node;
	struct task_struct *task;
	struct super_block *sb;
	unsigned long moved, dir;
	unsigned long when;		/* jiffies: stale ones are ignored */
	unsigned int len;
	char name[NAME_MAX + 1];
};

static LIST_HEAD(nm_renames);
static DEFINE_SPINLOCK(nm_renames_lock);

static struct nm_rename *nm_rename_take(struct task_struct *task)
{
	struct nm_rename *r, *found = NULL;

	spin_lock(&nm_renames_lock);
	list_for_each_entry(r, &nm_renames, node) {
		if (r->task == task) {
			list_del(&r->node);
			found = r;
			break;
		}
	}
	spin_unlock(&nm_renames_lock);
	return found;
}

static void nm_rename_put_back(struct nm_rename *r)
{
	spin_lock(&nm_renames_lock);
	list_add(&r->node, &nm_renames);
	spin_unlock(&nm_renames_lock);
}

static void nm_rename_event(struct inode *old_dir, const struct qstr *old_name,
			    struct dentry *moved)
{
	struct nm_targets tg = { 0 };
	struct inode *new_dir, *inode;
	struct nm_rename *r;
	struct nm_msg *msg;

	if (!old_dir || !old_name || !moved || !d_inode(moved))
		return;
	inode = d_inode(moved);
	new_dir = d_inode(moved->d_parent);
	msg = nm_msg_new(B_ENTRY_MOVED);
	if (!msg)
		return;
	nm_msg_add_int32(msg, "device", nm_dev(old_dir->i_sb));
	nm_msg_add_int64(msg, "from directory", old_dir->i_ino);
	nm_msg_add_int64(msg, "to directory", new_dir->i_ino);
	nm_msg_add_int32(msg, "node device", nm_dev(inode->i_sb));
	nm_msg_add_int64(msg, "node", inode->i_ino);
	nm_msg_add_string(msg, "from name", old_name->name, old_name->len);
	nm_msg_add_string(msg, "name", moved->d_name.name, moved->d_name.len);
	nm_tell(&tg, old_dir->i_sb, old_dir->i_ino, B_WATCH_DIRECTORY, msg);
	if (new_dir != old_dir)
		nm_tell(&tg, new_dir->i_sb, new_dir->i_ino, B_WATCH_DIRECTORY,
			msg);
	nm_tell(&tg, inode->i_sb, inode->i_ino, B_WATCH_NAME, msg);
	kfree(msg);

	kfree(nm_rename_take(current));
	r = kmalloc(sizeof(*r), GFP_NOFS);
	if (!r)
		return;
	r->task = current;
	r->when = jiffies;
	r->sb = inode->i_sb;
	r->moved = inode->i_ino;
	r->dir = new_dir->i_ino;
	r->len = min_t(unsigned int, moved->d_name.len, NAME_MAX);
	memcpy(r->name, moved->d_name.name, r->len);
	nm_rename_put_back(r);
}

/* Is this FS_ATTRIB the replaced entry of a rename?  Then tell it. */
static bool nm_rename_replaced(struct inode *inode)
{
	struct nm_targets tg = { 0 };
	struct nm_rename *r;
	struct nm_msg *msg;

	r = nm_rename_take(current);
	if (!r)
		return false;
	if (time_after(jiffies, r->when + HZ)) {
		/* Its FS_MOVE_SELF never came (the mark went meanwhile). */
		kfree(r);
		return false;
	}
	if (r->sb != inode->i_sb || r->moved == inode->i_ino) {
		nm_rename_put_back(r);
		return false;
	}
	msg = nm_msg_new(B_ENTRY_REMOVED);
	if (msg) {
		nm_msg_add_int32(msg, "device", nm_dev(inode->i_sb));
		nm_msg_add_int64(msg, "directory", r->dir);
		nm_msg_add_int64(msg, "node", inode->i_ino);
		nm_msg_add_string(msg, "name", r->name, r->len);
		nm_tell(&tg, r->sb, r->dir, B_WATCH_DIRECTORY, msg);
		nm_tell(&tg, inode->i_sb, inode->i_ino, B_WATCH_NAME, msg);
		kfree(msg);
	}
	kfree(r);
	if (!inode->i_nlink)
		nm_node_gone(inode->i_sb, inode->i_ino);
	return true;
}

static struct nm_msg *nm_stat_msg(struct inode *inode, u32 fields)
{
	struct nm_msg *msg = nm_msg_new(B_STAT_CHANGED);

	if (msg) {
		nm_msg_add_int32(msg, "device", nm_dev(inode->i_sb));
		nm_msg_add_int64(msg, "node", inode->i_ino);
		nm_msg_add_int32(msg, "fields", fields);
	}
	return msg;
}

/* The watched parent of @inode, for B_WATCH_CHILDREN; VFS-safe here. */
static struct nm_node *nm_parent_node(struct inode *inode)
{
	struct dentry *dentry, *parent;
	struct nm_node *node;

	if (!atomic_read(&nm_children))
		return NULL;
	dentry = d_find_any_alias(inode);
	if (!dentry)
		return NULL;
	parent = dget_parent(dentry);
	node = nm_node_lookup(inode->i_sb, d_inode(parent)->i_ino);
	dput(parent);
	dput(dentry);
	return node;
}

enum nm_stat_kind {
	NM_STAT_FINAL,		/* setattr, truncate, close after writes */
	NM_STAT_INTERIM,	/* a write */
	NM_STAT_CLOSE,		/* close of a file opened for writing */
};

/* What changed, and who to tell; a child's parent without a snapshot. */
static void nm_stat_event(struct inode *inode, enum nm_stat_kind kind,
			  bool *ctime_only)
{
	struct nm_node *node = nm_node_lookup(inode->i_sb, inode->i_ino);
	struct nm_targets tg = { 0 };
	u32 fields = 0, want = B_WATCH_STAT;
	struct nm_node *parent;
	struct nm_stat now;
	struct nm_msg *msg;

	nm_stat_read(inode, &now);
	if (kind == NM_STAT_INTERIM)
		want |= B_WATCH_INTERIM_STAT;
	if (node) {
		mutex_lock(&node->lock);
		if (kind == NM_STAT_INTERIM) {
			fields = nm_stat_diff(&node->interim, &now);
			node->interim = now;
			node->modified = true;
		} else if (kind == NM_STAT_FINAL || node->modified) {
			fields = nm_stat_diff(&node->stat, &now);
			node->stat = now;
			node->interim = now;
			node->modified = false;
		}
		mutex_unlock(&node->lock);
	} else if (kind == NM_STAT_INTERIM) {
		fields = B_STAT_SIZE | B_STAT_MODIFICATION_TIME;
	} else {
		/* No snapshot: what such an event may have changed. */
		fields = B_STAT_SIZE | B_STAT_MODIFICATION_TIME |
			 B_STAT_CHANGE_TIME;
		if (kind == NM_STAT_FINAL && ctime_only)
			fields = B_STAT_MODE | B_STAT_UID | B_STAT_GID |
				 B_STAT_ACCESS_TIME | B_STAT_MODIFICATION_TIME |
				 B_STAT_CHANGE_TIME;
	}
	if (ctime_only) {
		/* An xattr's change shows as the change time alone. */
		*ctime_only = node && node->have_xattrs &&
			      !(fields & ~B_STAT_CHANGE_TIME);
		if (*ctime_only)
			fields = 0;
	}
	if (kind == NM_STAT_INTERIM)
		fields |= B_STAT_INTERIM_UPDATE;
	parent = nm_parent_node(inode);
	msg = (fields & ~B_STAT_INTERIM_UPDATE) ?
	      nm_stat_msg(inode, fields) : NULL;
	if (msg) {
		if (node) {
			mutex_lock(&node->lock);
			nm_tell_node(&tg, node, want, msg);
			mutex_unlock(&node->lock);
		}
		if (parent) {
			mutex_lock(&parent->lock);
			nm_tell_node(&tg, parent, want | B_WATCH_CHILDREN, msg);
			mutex_unlock(&parent->lock);
		}
		kfree(msg);
	}
	if (parent)
		nm_node_put(parent);
	if (node)
		nm_node_put(node);
}

/*
 * An xattr check, in process context without file system locks.  The inode
 * is referenced, and so is its super block, actively: an inode or
 * dentry held across the last unmount is a "Busy inodes after unmount" BUG,
 * so the unmount of a file system whose check is queued is finished by the
 * check's deactivate_super().
 */
struct nm_attr_check {
	struct work_struct work;
	struct inode *inode;		/* referenced */
	struct nm_node *node;		/* referenced */
};

static void nm_attr_tell(struct nm_node *node, struct inode *inode,
			 const char *name, s32 cause)
{
	struct nm_targets tg = { 0 };
	struct nm_msg *msg = nm_msg_new(B_ATTR_CHANGED);

	if (!msg)
		return;
	nm_msg_add_int32(msg, "device", nm_dev(inode->i_sb));
	nm_msg_add_int64(msg, "node", inode->i_ino);
	nm_msg_add_string(msg, "attr", name, strlen(name));
	nm_msg_add_int32(msg, "cause", cause);
	mutex_lock(&node->lock);
	nm_tell_node(&tg, node, B_WATCH_ATTR, msg);
	mutex_unlock(&node->lock);
	kfree(msg);
}

static struct nm_xattr *nm_xattr_find(struct list_head *list, const char *name)
{
	struct nm_xattr *x;

	list_for_each_entry(x, list, node)
		if (!strcmp(x->name, name))
			return x;
	return NULL;
}

/* Record a change of @name for telling once the node's lock is dropped. */
static void nm_xattr_change(struct list_head *changes, const char *name,
			    s32 cause)
{
	size_t len = strlen(name) + 1;
	struct nm_xattr *c;

	c = kmalloc(struct_size(c, name, len), GFP_KERNEL);
	if (!c)
		return;
	c->hash = cause;
	memcpy(c->name, name, len);
	list_add_tail(&c->node, changes);
}

/*
 * Compare the node's xattrs with @now, which becomes its snapshot; under
 * the node's lock.  The changes are listed in @changes, causes in hash.
 */
static bool nm_xattrs_diff(struct nm_node *node, struct list_head *now,
			   struct list_head *before, struct list_head *changes)
{
	struct nm_xattr *x, *old;

	lockdep_assert_held(&node->lock);
	list_splice_init(&node->xattrs, before);
	list_splice_init(now, &node->xattrs);
	list_for_each_entry(x, &node->xattrs, node) {
		old = nm_xattr_find(before, x->name);
		if (!old)
			nm_xattr_change(changes, x->name, B_ATTR_CREATED);
		else if (old->hash != x->hash)
			nm_xattr_change(changes, x->name, B_ATTR_CHANGED_CAUSE);
	}
	list_for_each_entry(old, before, node)
		if (!nm_xattr_find(&node->xattrs, old->name))
			nm_xattr_change(changes, old->name, B_ATTR_REMOVED);
	return !list_empty(changes);
}

static void nm_attr_check(struct work_struct *work)
{
	struct nm_attr_check *c = container_of(work, struct nm_attr_check,
					       work);
	struct nm_node *node = c->node;
	struct super_block *sb;
	struct dentry *dentry;
	struct nm_xattr *x;
	LIST_HEAD(changes);
	LIST_HEAD(before);
	LIST_HEAD(now);
	bool changed;

	/* One check of a node at a time, so snapshots follow each other. */
	mutex_lock(&node->xattr_lock);
	dentry = d_find_any_alias(c->inode);
	if (!dentry || nm_xattrs_read(dentry, &now))
		goto out;
	mutex_lock(&node->lock);
	changed = nm_xattrs_diff(node, &now, &before, &changes);
	mutex_unlock(&node->lock);
	list_for_each_entry(x, &changes, node)
		nm_attr_tell(node, c->inode, x->name, x->hash);
	nm_xattrs_free(&changes);
	nm_xattrs_free(&before);
	if (!changed) {
		/* Not an xattr: the change time alone changed. */
		struct nm_targets tg = { 0 };
		struct nm_msg *msg = nm_stat_msg(c->inode, B_STAT_CHANGE_TIME);

		if (msg) {
			mutex_lock(&node->lock);
			nm_tell_node(&tg, node, B_WATCH_STAT, msg);
			mutex_unlock(&node->lock);
			kfree(msg);
		}
	}
out:
	mutex_unlock(&node->xattr_lock);
	dput(dentry);
	sb = c->inode->i_sb;
	iput(c->inode);
	nm_node_put(node);
	kfree(c);
	deactivate_super(sb);
}

static void nm_attrib_event(struct inode *inode)
{
	struct nm_attr_check *c;
	bool ctime_only = false;
	struct nm_node *node;

	if (nm_rename_replaced(inode))
		return;
	nm_stat_event(inode, NM_STAT_FINAL, &ctime_only);
	if (!ctime_only)
		return;
	node = nm_node_lookup(inode->i_sb, inode->i_ino);
	if (!node)
		return;
	c = kmalloc(sizeof(*c), GFP_NOFS);
	/* No check while the file system is going away: nobody will read it. */
	if (!c || !atomic_inc_not_zero(&inode->i_sb->s_active)) {
		kfree(c);
		nm_node_put(node);
		return;
	}
	ihold(inode);
	c->inode = inode;
	c->node = node;
	INIT_WORK(&c->work, nm_attr_check);
	queue_work(nm_wq, &c->work);
}

static int nm_handle_event(struct fsnotify_group *group, u32 mask,
			   const void *data, int data_type, struct inode *dir,
			   const struct qstr *name, u32 cookie,
			   struct fsnotify_iter_info *iter_info)
{
	struct inode *inode = fsnotify_data_inode(data, data_type);

	if (mask & FS_CREATE)
		nm_entry_event(B_ENTRY_CREATED, dir, inode, name);
	if (mask & FS_DELETE) {
		nm_entry_event(B_ENTRY_REMOVED, dir, inode, name);
		if (inode && !inode->i_nlink)
			nm_node_gone(inode->i_sb, inode->i_ino);
	}
	if (mask & FS_RENAME)
		nm_rename_event(dir, name, fsnotify_data_dentry(data,
								data_type));
	if (!inode)
		return 0;
	if (mask & FS_ATTRIB)
		nm_attrib_event(inode);
	if (mask & FS_MODIFY)
		nm_stat_event(inode, data_type == FSNOTIFY_EVENT_PATH ?
				     NM_STAT_INTERIM : NM_STAT_FINAL, NULL);
	if (mask & FS_CLOSE_WRITE)
		nm_stat_event(inode, NM_STAT_CLOSE, NULL);
	if (mask & FS_MOVE_SELF)
		kfree(nm_rename_take(current));
	return 0;
}

/* ----- watched file systems ----- */

static void nm_sb_drop_nodes(struct nm_sb *nsb)
{
	struct nm_node *node, *ntmp;
	struct nm_watch *w, *wtmp;

	lockdep_assert_held(&nm_lock);
	list_for_each_entry_safe(node, ntmp, &nsb->nodes, sb_node) {
		kref_get(&node->ref);
		list_for_each_entry_safe(w, wtmp, &node->watches, node_link) {
			struct nm_listener *l = w->listener;

			nm_watch_free(w);
			if (nm_listener_unused(l)) {
				kref_get(&l->ref);
				if (!queue_work(nm_wq, &l->kill_work))
					nm_listener_put(l);
			}
		}
		nm_node_put(node);
	}
}

/*
 * The file system is unmounted: its watches end.  Also called when
 * nm_sb_gc() destroys the mark, with nm_lock held and dying set: nothing
 * to do then.
 */
static void nm_freeing_mark(struct fsnotify_mark *mark,
			    struct fsnotify_group *group)
{
	struct nm_sb *nsb = container_of(mark, struct nm_sb, mark);
	bool ours = false;

	if (READ_ONCE(nsb->dying))
		return;
	mutex_lock(&nm_lock);
	if (!nsb->dying) {
		WRITE_ONCE(nsb->dying, true);
		list_del(&nsb->node);
		nm_sb_drop_nodes(nsb);
		ours = true;
	}
	mutex_unlock(&nm_lock);
	if (ours)
		fsnotify_put_mark(mark);
}

static void nm_free_mark(struct fsnotify_mark *mark)
{
	kfree(container_of(mark, struct nm_sb, mark));
}

static const struct fsnotify_ops nm_fsnotify_ops = {
	.handle_event = nm_handle_event,
	.freeing_mark = nm_freeing_mark,
	.free_mark = nm_free_mark,
};

/*
 * Drop the marks of file systems without watched nodes left, under nm_lock
 * so that no new watch looks for the mark meanwhile (a second mark of the
 * group on the superblock would be refused).
 */
static void nm_sb_gc(struct work_struct *work)
{
	struct nm_sb *nsb, *tmp;

	mutex_lock(&nm_lock);
	list_for_each_entry_safe(nsb, tmp, &nm_sbs, node) {
		if (!list_empty(&nsb->nodes))
			continue;
		WRITE_ONCE(nsb->dying, true);
		list_del(&nsb->node);
		fsnotify_destroy_mark(&nsb->mark, nm_group);
		fsnotify_put_mark(&nsb->mark);
	}
	mutex_unlock(&nm_lock);
}

static struct nm_sb *nm_sb_get(struct super_block *sb)
{
	struct nm_sb *nsb;
	int err;

	lockdep_assert_held(&nm_lock);
	list_for_each_entry(nsb, &nm_sbs, node)
		if (nsb->sb == sb && !nsb->dying)
			return nsb;
	nsb = kzalloc(sizeof(*nsb), GFP_KERNEL_ACCOUNT);
	if (!nsb)
		return ERR_PTR(-ENOMEM);
	nsb->sb = sb;
	INIT_LIST_HEAD(&nsb->nodes);
	fsnotify_init_mark(&nsb->mark, nm_group);
	nsb->mark.mask = NM_EVENTS;
	err = nexus_fsnotify_add_sb_mark(&nsb->mark, sb);
	if (err) {
		fsnotify_put_mark(&nsb->mark);
		return ERR_PTR(err);
	}
	list_add_tail(&nsb->node, &nm_sbs);
	return nsb;
}

/* A snapshot of a node taken before nm_lock: its stat and xattrs. */
struct nm_snapshot {
	struct nm_stat stat;
	struct list_head xattrs;
	bool have_xattrs;
};

static struct nm_node *nm_node_get(struct inode *inode,
				   struct nm_snapshot *snap)
{
	struct nm_node *node;
	struct nm_sb *nsb;

	lockdep_assert_held(&nm_lock);
	hash_for_each_possible(nm_nodes, node, hash,
			       nm_hash(inode->i_sb, inode->i_ino))
		if (node->sb == inode->i_sb && node->ino == inode->i_ino)
			return node;
	nsb = nm_sb_get(inode->i_sb);
	if (IS_ERR(nsb))
		return ERR_CAST(nsb);
	node = kzalloc(sizeof(*node), GFP_KERNEL_ACCOUNT);
	if (!node) {
		if (list_empty(&nsb->nodes))
			queue_work(nm_wq, &nm_sb_gc_work);
		return ERR_PTR(-ENOMEM);
	}
	kref_init(&node->ref);
	node->sb = inode->i_sb;
	node->ino = inode->i_ino;
	node->nsb = nsb;
	mutex_init(&node->lock);
	mutex_init(&node->xattr_lock);
	INIT_LIST_HEAD(&node->watches);
	INIT_LIST_HEAD(&node->xattrs);
	node->stat = snap->stat;
	node->interim = snap->stat;
	list_add_tail(&node->sb_node, &nsb->nodes);
	hash_add_rcu(nm_nodes, &node->hash, nm_hash(node->sb, node->ino));
	return node;
}

/* ----- requests ----- */

static struct file *nm_watch_file(struct nm_team *nt,
				  const struct nexus_watch_fd *req)
{
	struct file *file;
	int mask;

	if (req->fd >= 0)
		file = fget_raw(req->fd);
	else if (req->vref_id > 0)
		file = nm_vref_file(nt, req->vref_id);
	else
		return NULL;
	if (!file)
		return ERR_PTR(req->fd >= 0 ? -EBADF : -EPERM);
	/* Only what the caller may read (a directory: list). */
	mask = MAY_READ | (S_ISDIR(file_inode(file)->i_mode) ? MAY_EXEC : 0);
	if (nexus_file_permission_as(file, mask)) {
		fput(file);
		return ERR_PTR(-EACCES);
	}
	return file;
}

static int nm_watch_node(struct nm_listener *l, struct inode *inode,
			 const struct nexus_watch_fd *req,
			 struct nm_snapshot *snap)
{
	u32 flags = req->flags & ~B_WATCH_MOUNT;
	struct nm_node *node;
	struct nm_watch *w;

	lockdep_assert_held(&nm_lock);
	list_for_each_entry(w, &l->watches, listener_link) {
		if (w->node->sb == inode->i_sb && w->node->ino == inode->i_ino &&
		    w->token == req->token) {
			mutex_lock(&w->node->lock);
			if (!(w->flags & B_WATCH_CHILDREN) &&
			    (flags & B_WATCH_CHILDREN))
				atomic_inc(&nm_children);
			w->flags |= flags;
			if (snap->have_xattrs && !w->node->have_xattrs) {
				list_splice_init(&snap->xattrs,
						 &w->node->xattrs);
				w->node->have_xattrs = true;
			}
			mutex_unlock(&w->node->lock);
			return 0;
		}
	}
	if (nexus_charge(l->user, NEXUS_LIMIT_WATCHES, 1))
		return -ENOSPC;
	w = kzalloc(sizeof(*w), GFP_KERNEL_ACCOUNT);
	node = w ? nm_node_get(inode, snap) : ERR_PTR(-ENOMEM);
	if (IS_ERR(node)) {
		kfree(w);
		nexus_uncharge(l->user, NEXUS_LIMIT_WATCHES, 1);
		return PTR_ERR(node);
	}
	w->node = node;
	w->listener = l;
	w->token = req->token;
	w->flags = flags;
	if (flags & B_WATCH_CHILDREN)
		atomic_inc(&nm_children);
	mutex_lock(&node->lock);
	list_add_tail(&w->node_link, &node->watches);
	if (snap->have_xattrs && !node->have_xattrs) {
		list_splice_init(&snap->xattrs, &node->xattrs);
		node->have_xattrs = true;
	}
	mutex_unlock(&node->lock);
	list_add_tail(&w->listener_link, &l->watches);
	return 0;
}

/* The volume watch of @l with @token; *made: the one it made, NULL if it was there. */
static int nm_watch_volume(struct nm_team *nt, struct nm_listener *l,
			   u32 token, struct nm_volume **made)
{
	struct nm_volume *v;

	lockdep_assert_held(&nm_lock);
	*made = NULL;
	list_for_each_entry(v, &l->volumes, listener_node)
		if (v->token == token)
			return 0;
	if (!nt->mounts)
		return -ENOENT;		/* no mount table to watch */
	if (nexus_charge(l->user, NEXUS_LIMIT_WATCHES, 1))
		return -ENOSPC;
	v = kzalloc(sizeof(*v), GFP_KERNEL_ACCOUNT);
	if (!v) {
		nexus_uncharge(l->user, NEXUS_LIMIT_WATCHES, 1);
		return -ENOMEM;
	}
	v->listener = l;
	v->token = token;
	list_add_tail(&v->team_node, &nt->volumes);
	list_add_tail(&v->listener_node, &l->volumes);
	*made = v;
	return 0;
}

static int nm_start_watching(struct nexus_team *team,
			     const struct nexus_watch_fd *req)
{
	struct nm_snapshot snap = { .have_xattrs = false };
	struct nm_mounts *mounts = NULL, *unused = NULL;
	struct nm_listener *l = NULL;
	struct nm_volume *made = NULL;
	struct nm_team *nt;
	struct file *file;
	int err;

	if (!req->flags || (req->flags & ~NEXUS_WATCH_FLAGS))
		return -EINVAL;
	nt = nm_team_of(team, true);
	if (IS_ERR(nt))
		return PTR_ERR(nt);
	INIT_LIST_HEAD(&snap.xattrs);
	file = nm_watch_file(nt, req);
	err = PTR_ERR_OR_ZERO(file);
	if (err)
		goto put_team;
	if (!file && req->flags != B_WATCH_MOUNT) {
		err = -EINVAL;
		goto put_team;
	}
	if (file) {
		nm_stat_read(file_inode(file), &snap.stat);
		/*
		 * Without the snapshot of its xattrs the node's first xattr
		 * change would be told as a change of st_ctime, not as
		 * B_ATTR_CHANGED: a watch that cannot take it is not made.
		 */
		if (req->flags & (B_WATCH_ATTR | B_WATCH_STAT)) {
			err = nm_xattrs_read(file->f_path.dentry, &snap.xattrs);
			if (err)
				goto put_file;
			snap.have_xattrs = true;
		}
	}
	if (req->flags & B_WATCH_MOUNT) {
		/* The caller's mount table, read here, in its namespace. */
		mounts = nm_mounts_new(nt);
		if (IS_ERR(mounts)) {
			err = PTR_ERR(mounts);
			mounts = NULL;
			goto put_file;
		}
	}

	mutex_lock(&nm_lock);
	err = -ESRCH;
	if (nt->watches_dead)
		goto unlock;
	l = nm_listener_get(nt, req->port);
	err = PTR_ERR_OR_ZERO(l);
	if (err) {
		l = NULL;
		goto unlock;
	}
	/*
	 * One request, all or nothing: the volume watch first, so that a
	 * failure of the node watch can take it back (a node watch could not
	 * be: it may be flags OR-ed into one that was there).
	 */
	if (mounts && !nt->mounts) {
		nt->mounts = mounts;
		mounts = NULL;
	}
	if (req->flags & B_WATCH_MOUNT)
		err = nm_watch_volume(nt, l, req->token, &made);
	if (!err && file && (req->flags & ~B_WATCH_MOUNT)) {
		err = nm_watch_node(l, file_inode(file), req, &snap);
		if (err && made)
			nm_volume_free(made);
	}
	if (nm_listener_unused(l))
		kref_get(&l->ref);	/* nothing came of it: it goes */
	else
		l = NULL;
	unused = nm_mounts_unused(nt);
unlock:
	mutex_unlock(&nm_lock);
	if (l) {
		nm_listener_kill(l);
		nm_listener_put(l);
	}
	nm_mounts_free(unused);
	nm_mounts_free(mounts);
put_file:
	if (file)
		fput(file);
	nm_xattrs_free(&snap.xattrs);
put_team:
	nm_team_put(nt);
	return err;
}

/*
 * Remove the caller's watches on @port that match: with @token, and (when
 * @node is set) on that node, or (@volume) the volume watch.
 */
static int nm_stop(struct nexus_team *team, s32 port, u32 token, bool all,
		   bool volume, u64 device, u64 ino)
{
	struct nm_listener *l, *unused = NULL;
	struct nm_mounts *m = NULL;
	struct nm_volume *v, *vtmp;
	struct nm_watch *w, *wtmp;
	struct nm_team *nt;
	int err = -ENOENT;

	nt = nm_team_of(team, false);
	if (IS_ERR_OR_NULL(nt))
		return -ENOENT;
	mutex_lock(&nm_lock);
	l = nm_listener_find(nt, port);
	if (!l)
		goto unlock;
	list_for_each_entry_safe(w, wtmp, &l->watches, listener_link) {
		if (w->token != token || volume)
			continue;
		if (!all && (nm_dev(w->node->sb) != device ||
			     w->node->ino != ino))
			continue;
		nm_watch_free(w);
		err = 0;
	}
	list_for_each_entry_safe(v, vtmp, &l->volumes, listener_node) {
		if (v->token != token || (!all && !volume))
			continue;
		nm_volume_free(v);
		err = 0;
	}
	m = nm_mounts_unused(nt);
	if (nm_listener_unused(l)) {
		kref_get(&l->ref);
		unused = l;
	}
unlock:
	mutex_unlock(&nm_lock);
	nm_mounts_free(m);
	if (unused) {
		nm_listener_kill(unused);
		nm_listener_put(unused);
	}
	nm_team_put(nt);
	return err;
}

/**
 * nm_watch_ioctl() - carry out a watch request
 * @team: the caller's team
 * @cmd: the ioctl
 * @req: the request, copied in
 *
 * Return: 0, a negative errno, or -ENOTTY for no watch request.
 */
long nm_watch_ioctl(struct nexus_team *team, unsigned int cmd, void *req)
{
	switch (cmd) {
	case NEXUS_START_WATCHING:
		return nm_start_watching(team, req);
	case NEXUS_STOP_WATCHING: {
		struct nexus_unwatch_fd *r = req;
		bool volume = r->device == ~0ULL && r->node == ~0ULL;

		return nm_stop(team, r->port, r->token, false, volume,
			       r->device, r->node);
	}
	case NEXUS_STOP_NOTIFYING: {
		struct nexus_stop_notifying *r = req;

		return nm_stop(team, r->port, r->token, true, false, 0, 0);
	}
	}
	return -ENOTTY;
}

/* A team's teardown: its listeners, watches and mount table go. */
void nm_watches_team_exit(struct nm_team *nt)
{
	struct nm_listener *l;

	for (;;) {
		mutex_lock(&nm_lock);
		nt->watches_dead = true;
		l = list_first_entry_or_null(&nt->listeners,
					     struct nm_listener, team_node);
		if (l)
			kref_get(&l->ref);
		mutex_unlock(&nm_lock);
		if (!l)
			break;
		nm_listener_kill(l);
		nm_listener_put(l);
	}
}

int nm_watches_init(void)
{
	nm_group = fsnotify_alloc_group(&nm_fsnotify_ops, 0);
	return PTR_ERR_OR_ZERO(nm_group);
}

/* Module exit: no team, so no watch; drop the file systems' marks. */
void nm_watches_exit(void)
{
	struct nm_rename *r, *tmp;

	flush_workqueue(nm_wq);
	nm_sb_gc(NULL);
	WARN_ON(!list_empty(&nm_sbs));
	fsnotify_put_group(nm_group);
	fsnotify_wait_marks_destroyed();
	list_for_each_entry_safe(r, tmp, &nm_renames, node)
		kfree(r);
}
