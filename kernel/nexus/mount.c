// SPDX-License-Identifier: GPL-2.0
/*
 * Volume watches: B_DEVICE_MOUNTED and B_DEVICE_UNMOUNTED.
 *
 * fsnotify has no mount events before 6.15, and nothing exported tells a
 * module of mounts on 6.1 or 6.12.  But /proc/<pid>/mountinfo does: the
 * kernel wakes the mount namespace's poll queue on every change of the
 * namespace's mount table (what poll(2) on mountinfo reports as POLLPRI).
 * So a team's first volume watch opens its own /proc/self/mountinfo - in
 * the team's mount namespace, relative to its root - and puts a wait entry
 * on that queue through the file's poll method; each wakeup queues a work
 * item that reads the table again and compares it with the last one read,
 * by mount id.  New ids are mounts, vanished ids unmounts.  The file holds
 * its namespace (and so the queue) while we hold the file.
 */

#include <linux/bsearch.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/fs_struct.h>
#include <linux/kdev_t.h>
#include <linux/magic.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>

#include "nexus_compat.h"
#include "node_monitor.h"

/* One line of the table: what B_DEVICE_* messages say of a mount. */
struct nm_mount {
	int id;
	u32 dev;			/* the mounted file system, as st_dev */
};

struct nm_mounts {
	struct nm_team *nt;		/* its owner; outlives us */
	struct file *file;		/* the owner's /proc/self/mountinfo */
	struct path root;		/* the owner's root: paths are relative */
	poll_table pt;
	wait_queue_head_t *head;	/* the namespace's poll queue */
	struct wait_queue_entry wait;
	struct work_struct work;
	struct nm_mount *table;		/* the table last read, by id */
	unsigned int n;
};

#define NM_MOUNTINFO_MAX	(4 << 20)

/*
 * The whole file: seq_file restarts from the top at offset 0.  An error of
 * any read is the caller's (ERR_PTR): a table read short would tell the
 * mounts it lacks as mounted later, or as unmounted.
 */
static char *nm_mounts_read(struct nm_mounts *m, size_t *lenp)
{
	size_t size = 16384, len;
	loff_t pos;
	ssize_t n;
	char *buf;

	for (;;) {
		/* Failing is the caller's -ENOMEM, not vmalloc's warning. */
		buf = kvmalloc(size + 1, GFP_KERNEL | __GFP_NOWARN);
		if (!buf)
			return ERR_PTR(-ENOMEM);
		pos = 0;
		len = 0;
		while (len < size) {
			n = kernel_read(m->file, buf + len, size - len, &pos);
			if (n < 0) {
				kvfree(buf);
				return ERR_PTR(n);
			}
			if (!n)
				break;
			len += n;
		}
		if (len < size || size >= NM_MOUNTINFO_MAX)
			break;
		kvfree(buf);
		size *= 4;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

static int nm_mount_cmp(const void *a, const void *b)
{
	const struct nm_mount *x = a, *y = b;

	return x->id < y->id ? -1 : x->id > y->id;
}

/*
 * Parse "id parent major:minor root mountpoint ..." lines; the mount point
 * of each is left in @points, NUL-terminated in place.
 */
static int nm_mounts_parse(char *buf, struct nm_mount **tablep,
			   unsigned int *np, char ***pointsp)
{
	unsigned int n = 0, lines = 0, major, minor;
	struct nm_mount *table;
	char **points, *line, *p;
	int id, parent, off;

	for (p = buf; *p; p++)
		lines += *p == '\n';
	table = kvcalloc(lines + 1, sizeof(*table), GFP_KERNEL | __GFP_NOWARN);
	points = kvcalloc(lines + 1, sizeof(*points), GFP_KERNEL | __GFP_NOWARN);
	if (!table || !points) {
		kvfree(table);
		kvfree(points);
		return -ENOMEM;
	}
	while ((line = strsep(&buf, "\n")) && n <= lines) {
		char *root, *point;

		if (sscanf(line, "%d %d %u:%u %n", &id, &parent, &major,
			   &minor, &off) != 4)
			continue;
		p = line + off;
		root = strsep(&p, " ");
		point = p ? strsep(&p, " ") : NULL;
		if (!root || !point)
			continue;
		table[n].id = id;
		table[n].dev = new_encode_dev(MKDEV(major, minor));
		points[n] = point;
		n++;
	}
	*tablep = table;
	*np = n;
	*pointsp = points;
	return 0;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void nm_unescape(char *s)
{
	char *d = s;

	while (*s) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*d++ = (s[1] - '0') << 6 | (s[2] - '0') << 3 |
			       (s[3] - '0');
			s += 4;
		} else {
			*d++ = *s++;
		}
	}
	*d = '\0';
}

/* A new mount: the device and directory it covers, as Haiku says them. */
static void nm_mounted(struct nm_mounts *m, const struct nm_mount *mnt,
		       char *point, struct nm_msg *msg)
{
	struct path path;
	u32 dev = 0;
	u64 dir = 0;

	nm_unescape(point);
	if (!vfs_path_lookup(m->root.dentry, m->root.mnt, point, 0, &path)) {
		/* From the mount's root to the directory it is mounted on. */
		if (follow_up(&path)) {
			dev = new_encode_dev(path.dentry->d_sb->s_dev);
			dir = d_inode(path.dentry)->i_ino;
		}
		path_put(&path);
	}
	nm_msg_init(msg, B_DEVICE_MOUNTED);
	nm_msg_add_int32(msg, "new device", mnt->dev);
	nm_msg_add_int32(msg, "device", dev);
	nm_msg_add_int64(msg, "directory", dir);
}

/* Under nm_lock: every volume watch of the team is told. */
static void nm_mounts_tell(struct nm_mounts *m, const struct nm_msg *msg)
{
	struct nm_volume *v;

	lockdep_assert_held(&nm_lock);
	list_for_each_entry(v, &m->nt->volumes, team_node)
		nm_listener_send(v->listener, msg, v->token);
}

static int nm_mounts_snapshot(struct nm_mounts *m, struct nm_mount **tablep,
			      unsigned int *np, char ***pointsp, char **bufp)
{
	size_t len;
	char *buf;
	int err;

	buf = nm_mounts_read(m, &len);
	if (IS_ERR(buf))
		return PTR_ERR(buf);
	err = nm_mounts_parse(buf, tablep, np, pointsp);
	if (err) {
		kvfree(buf);
		return err;
	}
	*bufp = buf;
	return 0;
}

static struct nm_mount *nm_mount_find(struct nm_mount *table, unsigned int n,
				      int id)
{
	struct nm_mount key = { .id = id };

	return bsearch(&key, table, n, sizeof(*table), nm_mount_cmp);
}

static void nm_mounts_changed(struct work_struct *work)
{
	struct nm_mounts *m = container_of(work, struct nm_mounts, work);
	struct nm_mount *table, *old = m->table;
	unsigned int n, i, old_n = m->n;
	char **points, *buf;
	struct nm_msg *msg;

	msg = kmalloc(sizeof(*msg), GFP_KERNEL);
	if (!msg || nm_mounts_snapshot(m, &table, &n, &points, &buf)) {
		kfree(msg);
		return;
	}
	for (i = 0; i < n; i++) {
		if (nm_mount_find(old, old_n, table[i].id))
			continue;
		nm_mounted(m, &table[i], points[i], msg);
		mutex_lock(&nm_lock);
		nm_mounts_tell(m, msg);
		mutex_unlock(&nm_lock);
	}
	sort(table, n, sizeof(*table), nm_mount_cmp, NULL);
	for (i = 0; i < old_n; i++) {
		if (nm_mount_find(table, n, old[i].id))
			continue;
		nm_msg_init(msg, B_DEVICE_UNMOUNTED);
		nm_msg_add_int32(msg, "device", old[i].dev);
		mutex_lock(&nm_lock);
		nm_mounts_tell(m, msg);
		mutex_unlock(&nm_lock);
	}
	m->table = table;
	m->n = n;
	kvfree(old);
	kvfree(points);
	kvfree(buf);
	kfree(msg);
}

/* The namespace's poll queue woke: under its lock, only queue the work. */
static int nm_mounts_wake(struct wait_queue_entry *wait, unsigned int mode,
			  int sync, void *key)
{
	struct nm_mounts *m = container_of(wait, struct nm_mounts, wait);

	queue_work(nm_wq, &m->work);
	return 0;
}

static void nm_mounts_queue(struct file *file, wait_queue_head_t *head,
			    poll_table *pt)
{
	struct nm_mounts *m = container_of(pt, struct nm_mounts, pt);

	if (m->head)
		return;
	m->head = head;
	init_waitqueue_func_entry(&m->wait, nm_mounts_wake);
	add_wait_queue(head, &m->wait);
}

/*
 * Why the caller's /proc/self/mountinfo could not be opened, when the open
 * said -ENOENT: procfs says so too when it could not allocate the inode of
 * /proc/<pid> or of the file (proc_pid_make_inode() failing is "no such
 * pid"), so -ENOENT means "no /proc" only when the caller's /proc is not
 * procfs.  A live task always has /proc/self/mountinfo in a procfs.
 */
static int nm_mountinfo_missing(void)
{
	struct path proc;
	bool procfs;
	int err;

	err = kern_path("/proc", LOOKUP_FOLLOW, &proc);
	if (err)
		return err;
	procfs = proc.dentry->d_sb->s_magic == PROC_SUPER_MAGIC;
	path_put(&proc);
	return procfs ? -ENOMEM : -ENOENT;
}

/**
 * nm_mounts_new() - start watching the caller's mount table
 * @nt: the team it is for
 *
 * Called in the watcher's context: /proc/self is the caller.
 *
 * Return: the table, ERR_PTR(-ENOENT) when the caller has no /proc, or
 * another ERR_PTR (-ENOMEM) when it could not be read.
 */
struct nm_mounts *nm_mounts_new(struct nm_team *nt)
{
	struct nm_mounts *m;
	char **points, *buf;
	int err;

	m = kzalloc(sizeof(*m), GFP_KERNEL_ACCOUNT);
	if (!m)
		return ERR_PTR(-ENOMEM);
	m->nt = nt;
	INIT_WORK(&m->work, nm_mounts_changed);
	m->file = filp_open("/proc/self/mountinfo", O_RDONLY, 0);
	if (IS_ERR(m->file)) {
		err = PTR_ERR(m->file);
		kfree(m);
		/* Out of memory opening it is not "no /proc". */
		if (err == -ENOENT)
			err = nm_mountinfo_missing();
		return ERR_PTR(err == -ENOMEM ? err : -ENOENT);
	}
	get_fs_root(current->fs, &m->root);
	err = nm_mounts_snapshot(m, &m->table, &m->n, &points, &buf);
	if (err) {
		path_put(&m->root);
		fput(m->file);
		kfree(m);
		return ERR_PTR(err);
	}
	kvfree(points);
	kvfree(buf);
	sort(m->table, m->n, sizeof(*m->table), nm_mount_cmp, NULL);
	init_poll_funcptr(&m->pt, nm_mounts_queue);
	vfs_poll(m->file, &m->pt);
	if (!m->head) {
		nm_mounts_free(m);
		return ERR_PTR(-ENOENT);
	}
	return m;
}

/* Stop watching; process context, nm_lock not held (the work takes it). */
void nm_mounts_free(struct nm_mounts *m)
{
	if (!m)
		return;
	if (m->head)
		remove_wait_queue(m->head, &m->wait);
	cancel_work_sync(&m->work);
	path_put(&m->root);
	fput(m->file);
	kvfree(m->table);
	kfree(m);
}
