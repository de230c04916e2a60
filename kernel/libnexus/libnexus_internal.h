/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libnexus's private interface between its core (libnexus.c: descriptors,
 * fork handling, helpers) and the files of its primitives (port.c, sem.c,
 * thread.c, area.c, vref.c, node_monitor.c).  Not installed, not for users of the library.
 */
#ifndef _LIBNEXUS_INTERNAL_H
#define _LIBNEXUS_INTERNAL_H

#include "libnexus.h"

/*
 * 0 when the request went through (status in its ret), else -errno.  A wait
 * interrupted by a signal that does not restart it fails with EINTR:
 * -EINTR is B_INTERRUPTED, the status Haiku returns then.
 */
int nexus_ioctl(unsigned long cmd, void *req);

/*
 * For the requests that return their result as the ioctl's value (the raw
 * thread requests): that value, or -errno when the ioctl returned -1.  A
 * status in -4095..-1 comes back from the kernel as -1 and errno, so -errno
 * is that status; others (B_BAD_THREAD_ID...) come back as they are.
 */
long nexus_ioctl_value(unsigned long cmd, unsigned long arg);

/*
 * An ioctl on /dev/nexus_node_monitor, whose requests return 0 or a
 * negative errno as the ioctl's value: that value (0, or what the ioctl
 * returned otherwise), -errno when it failed, or the failed open's -errno.
 */
long nexus_node_monitor_ioctl(unsigned long cmd, void *req);

/* Bytes readable at name for the kernel (NUL included), 0 for NULL. */
size_t nexus_name_size(const char *name);

/* name truncated to B_OS_NAME_LENGTH - 1 bytes and NUL-padded into to. */
void nexus_copy_name(char to[B_OS_NAME_LENGTH], const char *name);

/*
 * Registers the fork handlers (once; 0 or -errno).  Called before any of
 * libnexus's locks is first taken, so that fork() never copies one held.
 */
int nexus_fork_handlers(void);

/*
 * Fork handlers of the primitives that keep per-process state, called by the
 * core's: prepare takes their locks, parent releases them, child releases
 * them and forgets what belonged to the parent.
 */
void nexus_thread_fork_prepare(void);
void nexus_thread_fork_parent(void);
void nexus_thread_fork_child(void);
void nexus_area_fork_prepare(void);
void nexus_area_fork_parent(void);
void nexus_area_fork_child(void);
void nexus_node_ref_fork_prepare(void);
void nexus_node_ref_fork_parent(void);
void nexus_node_ref_fork_child(void);

#endif /* _LIBNEXUS_INTERNAL_H */
