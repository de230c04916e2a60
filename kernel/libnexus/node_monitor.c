// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's node monitor over /dev/nexus_node_monitor.
 *
 * The watch ioctls return 0 or a negative errno as their value; the calls
 * here make Haiku statuses of them: -EPERM and -EACCES are B_NOT_ALLOWED,
 * -ENOSPC (a limit) is B_NO_MEMORY, the others are already Haiku's
 * (B_BAD_VALUE is -EINVAL, B_ENTRY_NOT_FOUND -ENOENT).
 *
 * The kernel names a node by a descriptor.  For watch_node(), which names
 * it by node_ref, this process keeps a table of the nodes it made node_refs
 * of (get_node_ref_for_path/fd), each with an O_PATH descriptor of the node
 * and a count of the gets not yet put.  A forked child keeps the table: the
 * descriptors are its own copies.
 */
#define _GNU_SOURCE		/* O_PATH */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libnexus_internal.h"

struct nexus_held_ref {
	struct nexus_node_ref ref;
	int fd;				/* O_PATH, O_CLOEXEC */
	unsigned long count;		/* gets not yet put */
};

static pthread_mutex_t refs_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nexus_held_ref *refs;	/* under refs_lock */
static size_t refs_count, refs_room;

void nexus_node_ref_fork_prepare(void)
{
	pthread_mutex_lock(&refs_lock);	/* under nexus_lock */
}

void nexus_node_ref_fork_parent(void)
{
	pthread_mutex_unlock(&refs_lock);
}

void nexus_node_ref_fork_child(void)
{
	pthread_mutex_unlock(&refs_lock);
}

static void refs_lock_take(void)
{
	nexus_fork_handlers();
	pthread_mutex_lock(&refs_lock);
}

/* The entry of ref, under refs_lock; NULL if there is none. */
static struct nexus_held_ref *refs_find(const struct nexus_node_ref *ref)
{
	size_t i;

	for (i = 0; i < refs_count; i++)
		if (refs[i].ref.device == ref->device &&
		    refs[i].ref.node == ref->node)
			return &refs[i];
	return NULL;
}

/* A failed open(2) or stat(2)'s errno as a status. */
static status_t errno_status(int err)
{
	switch (err) {
	case EPERM:
	case EACCES:
		return B_NOT_ALLOWED;
	case ENOMEM:
		return B_NO_MEMORY;
	default:
		return -err;
	}
}

/* A watch ioctl's result as a status. */
static status_t watch_status(long r)
{
	switch (r) {
	case -EPERM:
	case -EACCES:
		return B_NOT_ALLOWED;
	case -ENOSPC:
		return B_NO_MEMORY;
	default:
		return r < 0 ? (status_t)r : B_OK;
	}
}

static status_t start_watching(int fd, __u32 flags, port_id port,
			       __s32 token)
{
	struct nexus_watch_fd req = {
		.fd = fd,
		.flags = flags,
		.port = port,
		.token = (__u32)token,
	};

	return watch_status(nexus_node_monitor_ioctl(NEXUS_START_WATCHING,
						     &req));
}

static status_t stop_node(__u64 device, __u64 node, port_id port,
			  __s32 token)
{
	struct nexus_unwatch_fd req = {
		.device = device,
		.node = node,
		.port = port,
		.token = (__u32)token,
	};

	return watch_status(nexus_node_monitor_ioctl(NEXUS_STOP_WATCHING,
						     &req));
}

/*
 * st_dev holds the kernel's 32-bit encoding of the device (what
 * nexus_dev_t keeps); the kernel takes it back as a u64 without sign.
 */
static __u64 ref_device(const struct nexus_node_ref *ref)
{
	return (__u32)ref->device;
}

static void ref_of_stat(const struct stat *st, struct nexus_node_ref *ref)
{
	ref->device = (nexus_dev_t)st->st_dev;
	ref->node = (nexus_ino_t)st->st_ino;
}

/*
 * A kernel that takes no O_PATH descriptor (fdget() rather than
 * fdget_raw()) refuses one with -EBADF: then watch through a descriptor of
 * the same node opened for reading, which a watch needs the right to do
 * anyway.
 */
static status_t start_watching_readable(int fd, __u32 flags, port_id port,
					__s32 token)
{
	char path[32];
	int fl = fcntl(fd, F_GETFL), rfd;
	status_t st;

	if (fl < 0 || !(fl & O_PATH))
		return -EBADF;
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	rfd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (rfd < 0)
		return errno_status(errno);
	st = start_watching(rfd, flags, port, token);
	close(rfd);
	return st;
}

status_t watch_node_fd(int fd, __u32 flags, port_id port, __s32 token)
{
	struct stat st;
	status_t status;

	if (fd < 0)
		return -EBADF;	/* -1 would be the volume watch */
	if (flags == B_STOP_WATCHING) {
		if (fstat(fd, &st) < 0)
			return errno_status(errno);
		return stop_node((__u32)st.st_dev, st.st_ino, port, token);
	}
	status = start_watching(fd, flags, port, token);
	if (status == -EBADF)
		status = start_watching_readable(fd, flags, port, token);
	return status;
}

status_t watch_node_path(const char *path, __u32 flags, port_id port,
			 __s32 token)
{
	status_t status;
	int fd;

	if (!path)
		return B_BAD_VALUE;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno_status(errno);
	status = watch_node_fd(fd, flags, port, token);
	close(fd);
	return status;
}

status_t watch_node(const struct nexus_node_ref *node, __u32 flags,
		    port_id port, __s32 token)
{
	struct nexus_held_ref *held;
	status_t status;
	int fd = -1;

	if (!node) {
		if (flags == B_STOP_WATCHING)
			return stop_watching_volume(port, token);
		return start_watching(-1, flags, port, token);
	}
	if (flags == B_STOP_WATCHING)
		return stop_watching_node(node, port, token);
	/* A copy of the descriptor: put_node_ref() may close the table's. */
	refs_lock_take();
	held = refs_find(node);
	if (held)
		fd = fcntl(held->fd, F_DUPFD_CLOEXEC, 0);
	pthread_mutex_unlock(&refs_lock);
	if (!held)
		return B_ENTRY_NOT_FOUND;
	if (fd < 0)
		return errno_status(errno);
	status = watch_node_fd(fd, flags, port, token);
	close(fd);
	return status;
}

status_t watch_volume(port_id port, __s32 token)
{
	return start_watching(-1, B_WATCH_MOUNT, port, token);
}

status_t stop_watching(port_id port, __s32 token)
{
	struct nexus_stop_notifying req = {
		.port = port,
		.token = (__u32)token,
	};

	return watch_status(nexus_node_monitor_ioctl(NEXUS_STOP_NOTIFYING,
						     &req));
}

status_t stop_watching_node(const struct nexus_node_ref *node, port_id port,
			    __s32 token)
{
	if (!node)
		return B_BAD_VALUE;
	return stop_node(ref_device(node), (__u64)node->node, port, token);
}

status_t stop_watching_volume(port_id port, __s32 token)
{
	return stop_node(~0ULL, ~0ULL, port, token);
}

/* Keeps fd (an O_PATH descriptor) as the table's for its node, or closes it. */
static status_t hold_node(int fd, struct nexus_node_ref *ref)
{
	struct nexus_held_ref *held, *grown;
	struct stat st;
	size_t room;

	if (fstat(fd, &st) < 0) {
		status_t status = errno_status(errno);

		close(fd);
		return status;
	}
	ref_of_stat(&st, ref);
	refs_lock_take();
	held = refs_find(ref);
	if (held) {
		held->count++;
		pthread_mutex_unlock(&refs_lock);
		close(fd);
		return B_OK;
	}
	if (refs_count == refs_room) {
		room = refs_room ? refs_room * 2 : 16;
		grown = realloc(refs, room * sizeof(*refs));
		if (!grown) {
			pthread_mutex_unlock(&refs_lock);
			close(fd);
			return B_NO_MEMORY;
		}
		refs = grown;
		refs_room = room;
	}
	refs[refs_count].ref = *ref;
	refs[refs_count].fd = fd;
	refs[refs_count].count = 1;
	refs_count++;
	pthread_mutex_unlock(&refs_lock);
	return B_OK;
}

status_t get_node_ref_for_path(const char *path, struct nexus_node_ref *ref)
{
	int fd;

	if (!path || !ref)
		return B_BAD_VALUE;
	fd = open(path, O_PATH | O_CLOEXEC);
	if (fd < 0)
		return errno_status(errno);
	return hold_node(fd, ref);
}

status_t get_node_ref_for_fd(int fd, struct nexus_node_ref *ref)
{
	char path[32];
	int pfd;

	if (!ref)
		return B_BAD_VALUE;
	if (fcntl(fd, F_GETFD) < 0)
		return -errno;
	/* An O_PATH descriptor of the same node; else a plain copy. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	pfd = open(path, O_PATH | O_CLOEXEC);
	if (pfd < 0)
		pfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (pfd < 0)
		return errno_status(errno);
	return hold_node(pfd, ref);
}

status_t put_node_ref(const struct nexus_node_ref *ref)
{
	struct nexus_held_ref *held;
	int fd = -1;

	if (!ref)
		return B_BAD_VALUE;
	refs_lock_take();
	held = refs_find(ref);
	if (held && !--held->count) {
		fd = held->fd;
		*held = refs[--refs_count];
	}
	pthread_mutex_unlock(&refs_lock);
	if (!held)
		return B_ENTRY_NOT_FOUND;
	if (fd >= 0)
		close(fd);
	return B_OK;
}
