// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus's core: the device descriptors, fork handling and the helpers its
 * primitives share (port.c, sem.c, thread.c, area.c, vref.c,
 * node_monitor.c).
 *
 * One descriptor per device (/dev/nexus, /dev/nexus_area,
 * /dev/nexus_node_monitor) and process,
 * opened on first use under a mutex.  A pthread_atfork child handler forgets
 * the descriptors a forked child inherits (the kernel refuses them to the
 * child); the child opens its own on its first call and is then its own
 * team.  A child made without the fork handlers (a raw clone(), vfork()) is
 * caught another way: each descriptor is cached together with the pid that
 * opened it, and a process whose pid differs opens its own.  It never closes
 * the inherited one: after vfork() or clone(CLONE_FILES) that descriptor is
 * also the parent's.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libnexus_internal.h"

/*
 * A device's descriptor and the pid that opened it, in one word so that a
 * reader sees both or neither: (pid << 32) | fd, or 0 while none is open.
 * Written under nexus_lock.
 */
struct nexus_device {
	const char *path;
	__u64 cached;
};

static pthread_mutex_t nexus_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nexus_device nexus_dev = { .path = NEXUS_DEVICE_PATH };
static struct nexus_device nexus_area_dev = {
	.path = NEXUS_AREA_DEVICE_PATH
};

static struct nexus_device nexus_node_monitor_dev = {
	.path = NEXUS_NODE_MONITOR_DEVICE_PATH
};

static pthread_once_t nexus_fork_once = PTHREAD_ONCE_INIT;
static int nexus_fork_err;

static __u64 nexus_pack(pid_t pid, int fd)
{
	return (__u64)(__u32)pid << 32 | (__u32)fd;
}

/*
 * Locks: nexus_lock, then the threads', then the areas', then the node
 * refs'.  The child keeps none of the parent's per-process state but its
 * node refs (their descriptors are its own copies).
 */
static void nexus_atfork_prepare(void)
{
	pthread_mutex_lock(&nexus_lock);
	nexus_thread_fork_prepare();
	nexus_area_fork_prepare();
	nexus_node_ref_fork_prepare();
}

static void nexus_atfork_parent(void)
{
	nexus_node_ref_fork_parent();
	nexus_area_fork_parent();
	nexus_thread_fork_parent();
	pthread_mutex_unlock(&nexus_lock);
}

static void nexus_forget_device(struct nexus_device *dev)
{
	__u64 cached = dev->cached;

	if (cached)
		close((int)(__u32)cached);
	__atomic_store_n(&dev->cached, 0, __ATOMIC_RELEASE);
}

static void nexus_atfork_child(void)
{
	/*
	 * The child is a new team: drop the parent's descriptors now and open
	 * its own on first use, so a child that only execs (every spawn by a
	 * multithreaded parent) never becomes a team at all.
	 */
	nexus_forget_device(&nexus_dev);
	nexus_forget_device(&nexus_area_dev);
	nexus_forget_device(&nexus_node_monitor_dev);
	nexus_node_ref_fork_child();
	nexus_area_fork_child();
	nexus_thread_fork_child();
	pthread_mutex_unlock(&nexus_lock);
}

static void nexus_fork_register(void)
{
	nexus_fork_err = pthread_atfork(nexus_atfork_prepare,
					nexus_atfork_parent,
					nexus_atfork_child);
}

int nexus_fork_handlers(void)
{
	pthread_once(&nexus_fork_once, nexus_fork_register);
	return -nexus_fork_err;
}

/* The cached descriptor if this process opened it, else -1. */
static int nexus_cached_fd(__u64 cached, pid_t self)
{
	if (!cached || (pid_t)(cached >> 32) != self)
		return -1;
	return (int)(__u32)cached;
}

static int nexus_device_fd(struct nexus_device *dev)
{
	pid_t self = getpid();
	int fd = nexus_cached_fd(__atomic_load_n(&dev->cached,
						  __ATOMIC_ACQUIRE), self);

	if (fd >= 0)
		return fd;

	fd = nexus_fork_handlers();
	if (fd < 0)
		return fd;
	pthread_mutex_lock(&nexus_lock);
	fd = nexus_cached_fd(dev->cached, self);
	if (fd < 0) {
		fd = open(dev->path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		else
			__atomic_store_n(&dev->cached, nexus_pack(self, fd),
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&nexus_lock);
	return fd;
}

int nexus_fd(void)
{
	return nexus_device_fd(&nexus_dev);
}

int nexus_area_fd(void)
{
	return nexus_device_fd(&nexus_area_dev);
}

int nexus_node_monitor_fd(void)
{
	return nexus_device_fd(&nexus_node_monitor_dev);
}

long nexus_node_monitor_ioctl(unsigned long cmd, void *req)
{
	int fd = nexus_node_monitor_fd();
	long r;

	if (fd < 0)
		return fd;
	r = ioctl(fd, cmd, req);
	return r == -1 ? -errno : r;
}

int nexus_ioctl(unsigned long cmd, void *req)
{
	int fd = nexus_fd();

	if (fd < 0)
		return fd;
	if (ioctl(fd, cmd, req) < 0)
		return -errno;
	return 0;
}

long nexus_ioctl_value(unsigned long cmd, unsigned long arg)
{
	int fd = nexus_fd();
	long r;

	if (fd < 0)
		return fd;
	r = ioctl(fd, cmd, arg);
	return r == -1 ? -errno : r;
}

size_t nexus_name_size(const char *name)
{
	return name ? strlen(name) + 1 : 0;
}

void nexus_copy_name(char to[B_OS_NAME_LENGTH], const char *name)
{
	size_t len = name ? strnlen(name, B_OS_NAME_LENGTH - 1) : 0;

	memset(to, 0, B_OS_NAME_LENGTH);
	if (len)
		memcpy(to, name, len);
}

bigtime_t system_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (bigtime_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
