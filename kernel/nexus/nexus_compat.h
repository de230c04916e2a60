/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences across the kernels Nexus supports, in one place.
 * Code elsewhere uses only the nexus_* names below, never LINUX_VERSION_CODE.
 */
#ifndef _NEXUS_COMPAT_H
#define _NEXUS_COMPAT_H

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/fsnotify_backend.h>
#include <linux/mm.h>
#include <linux/mount.h>
#include <linux/xattr.h>
#include <linux/sched.h>
#include <linux/version.h>

/* 6.4 dropped the owner argument of class_create(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define nexus_class_create(name)	class_create(name)
#else
#define nexus_class_create(name)	class_create(THIS_MODULE, name)
#endif

/* 6.2 made the device argument of class->devnode() const. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define NEXUS_DEVNODE_CONST		const
#else
#define NEXUS_DEVNODE_CONST
#endif

/*
 * A task's name into a buffer of any size (get_task_comm() wants exactly
 * TASK_COMM_LEN bytes on 6.1 and 6.12).
 */
#define nexus_get_task_comm(buf, task) \
	__get_task_comm(buf, sizeof(buf), task)

/*
 * The sched_process_exit tracepoint's probe: (data, task) on every kernel
 * Nexus supports.  thread.c registers nexus_thread_exit_probe with it.
 */
#define NEXUS_EXIT_PROBE_ARGS	void *data, struct task_struct *task

/* 6.3 made vma->vm_flags read-only behind vm_flags_clear(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define nexus_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#else
#define nexus_vm_flags_clear(vma, flags)	((vma)->vm_flags &= ~(flags))
#endif

/*
 * fsnotify marks on a superblock: 6.9 passes the object itself where 6.1
 * passes its connector pointer (and a fsid nobody but fanotify uses).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 9, 0)
#define nexus_fsnotify_add_sb_mark(mark, sb) \
	fsnotify_add_mark(mark, sb, FSNOTIFY_OBJ_TYPE_SB, 0)
#else
#define nexus_fsnotify_add_sb_mark(mark, sb) \
	fsnotify_add_mark(mark, &(sb)->s_fsnotify_marks, \
			  FSNOTIFY_OBJ_TYPE_SB, 0, NULL)
#endif

/*
 * 6.3 replaced the mount's user namespace by its idmap in permission and
 * xattr calls; both mean "as the file's mount maps ids".
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
static inline int nexus_file_permission_as(struct file *file, int mask)
{
	return inode_permission(file_mnt_idmap(file), file_inode(file), mask);
}

#define nexus_getxattr(dentry, name, buf, size) \
	vfs_getxattr(&nop_mnt_idmap, dentry, name, buf, size)
#else
static inline int nexus_file_permission_as(struct file *file, int mask)
{
	return inode_permission(file_mnt_user_ns(file), file_inode(file), mask);
}

#define nexus_getxattr(dentry, name, buf, size) \
	vfs_getxattr(&init_user_ns, dentry, name, buf, size)
#endif

/*
 * vfs_path_lookup() is exported on every kernel Nexus supports, but 6.1
 * declares it in fs/internal.h only; the same declaration here is harmless
 * where <linux/namei.h> has it too.
 */
int vfs_path_lookup(struct dentry *dentry, struct vfsmount *mnt,
		    const char *name, unsigned int flags, struct path *path);

/* 6.7 hid an inode's timestamps behind accessors. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 7, 0)
#define nexus_inode_atime(inode)	inode_get_atime(inode)
#define nexus_inode_mtime(inode)	inode_get_mtime(inode)
#define nexus_inode_ctime(inode)	inode_get_ctime(inode)
#else
#define nexus_inode_atime(inode)	((inode)->i_atime)
#define nexus_inode_mtime(inode)	((inode)->i_mtime)
#define nexus_inode_ctime(inode)	((inode)->i_ctime)
#endif

#endif /* _NEXUS_COMPAT_H */
