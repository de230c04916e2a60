// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: the Haiku C API for ports and semaphores over /dev/nexus.
 *
 * One descriptor per process, opened on first use under a mutex.  A
 * pthread_atfork child handler forgets the descriptor a forked child
 * inherits (the kernel refuses it to the child); the child opens its own on
 * its first call and is then its own team.  A child made without the fork
 * handlers (a raw clone(), vfork()) is caught another way: the descriptor
 * is cached together with the pid that opened it, and a process whose pid
 * differs opens its own.  It never closes the inherited one: after vfork()
 * or clone(CLONE_FILES) that descriptor is also the parent's.
 */
#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "libnexus.h"

/* The Haiku info structs are passed to the kernel as their nexus_* twins. */
static_assert(sizeof(struct port_info) == sizeof(struct nexus_port_info),
	      "port_info layout");
static_assert(sizeof(struct sem_info) == sizeof(struct nexus_sem_info),
	      "sem_info layout");
static_assert(sizeof(struct port_message_info) ==
	      sizeof(struct nexus_port_message_info),
	      "port_message_info layout");
static_assert(offsetof(struct port_message_info, sender_team) ==
	      offsetof(struct nexus_port_message_info, sender_team),
	      "port_message_info layout");

static pthread_mutex_t nexus_lock = PTHREAD_MUTEX_INITIALIZER;
/*
 * The descriptor and the pid that opened it, in one word so that a reader
 * sees both or neither: (pid << 32) | fd, or 0 while none is open.  Written
 * under nexus_lock.
 */
static __u64 nexus_cached;
static int nexus_atfork_registered;

static __u64 nexus_pack(pid_t pid, int fd)
{
	return (__u64)(__u32)pid << 32 | (__u32)fd;
}

static void nexus_atfork_prepare(void)
{
	pthread_mutex_lock(&nexus_lock);
}

static void nexus_atfork_parent(void)
{
	pthread_mutex_unlock(&nexus_lock);
}

static void nexus_atfork_child(void)
{
	__u64 cached = nexus_cached;

	/*
	 * The child is a new team: drop the parent's descriptor now and open
	 * its own on first use, so a child that only execs (every spawn by a
	 * multithreaded parent) never becomes a team at all.
	 */
	if (cached)
		close((int)(__u32)cached);
	__atomic_store_n(&nexus_cached, 0, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&nexus_lock);
}

/* The cached descriptor if this process opened it, else -1. */
static int nexus_cached_fd(__u64 cached, pid_t self)
{
	if (!cached || (pid_t)(cached >> 32) != self)
		return -1;
	return (int)(__u32)cached;
}

int nexus_fd(void)
{
	pid_t self = getpid();
	int fd = nexus_cached_fd(__atomic_load_n(&nexus_cached,
						  __ATOMIC_ACQUIRE), self);

	if (fd >= 0)
		return fd;

	pthread_mutex_lock(&nexus_lock);
	fd = nexus_cached_fd(nexus_cached, self);
	if (fd < 0) {
		if (!nexus_atfork_registered) {
			int err = pthread_atfork(nexus_atfork_prepare,
						 nexus_atfork_parent,
						 nexus_atfork_child);
			if (err) {
				pthread_mutex_unlock(&nexus_lock);
				return -err;
			}
			nexus_atfork_registered = 1;
		}
		fd = open(NEXUS_DEVICE_PATH, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			fd = -errno;
		else
			__atomic_store_n(&nexus_cached, nexus_pack(self, fd),
					 __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&nexus_lock);
	return fd;
}

/*
 * 0 when the request went through (status in its ret), else -errno.  A wait
 * interrupted by a signal that does not restart it fails with EINTR:
 * -EINTR is B_INTERRUPTED, the status Haiku returns then.
 */
static int nexus_ioctl(unsigned long cmd, void *req)
{
	int fd = nexus_fd();

	if (fd < 0)
		return fd;
	if (ioctl(fd, cmd, req) < 0)
		return -errno;
	return 0;
}

static size_t name_size(const char *name)
{
	return name ? strlen(name) + 1 : 0;
}

static void copy_port_info(struct port_info *to,
			   const struct nexus_port_info *from)
{
	to->port = from->port;
	to->team = from->team;
	memcpy(to->name, from->name, sizeof(to->name));
	to->name[sizeof(to->name) - 1] = '\0';
	to->capacity = from->capacity;
	to->queue_count = from->queue_count;
	to->total_count = from->total_count;
}

static void copy_sem_info(struct sem_info *to,
			  const struct nexus_sem_info *from)
{
	to->sem = from->sem;
	to->team = from->team;
	memcpy(to->name, from->name, sizeof(to->name));
	to->name[sizeof(to->name) - 1] = '\0';
	to->count = from->count;
	to->latest_holder = from->latest_holder;
}

/* Ports. */

port_id create_port(__s32 capacity, const char *name)
{
	struct nexus_port_create req = {
		.name = name,
		.size = name_size(name),
		.capacity = capacity,
	};
	int err = nexus_ioctl(NEXUS_PORT_CREATE, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : req.id;
}

static status_t port_id_request(unsigned long cmd, port_id port)
{
	struct nexus_port_id req = { .id = port };
	int err = nexus_ioctl(cmd, &req);

	return err ? err : req.ret;
}

status_t close_port(port_id port)
{
	return port_id_request(NEXUS_PORT_CLOSE, port);
}

status_t delete_port(port_id port)
{
	return port_id_request(NEXUS_PORT_DELETE, port);
}

port_id find_port(const char *name)
{
	struct nexus_port_find_req req = {
		.name = name,
		.size = name_size(name),
	};
	int err = nexus_ioctl(NEXUS_PORT_FIND, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : req.id;
}

status_t write_port_etc(port_id port, __s32 code, const void *buffer,
			size_t size, __u32 flags, bigtime_t timeout)
{
	struct nexus_port_write req = {
		.id = port,
		.code = &code,
		.buffer = buffer,
		.size = size,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_WRITE, &req);

	return err ? err : req.ret;
}

status_t write_port(port_id port, __s32 code, const void *buffer, size_t size)
{
	return write_port_etc(port, code, buffer, size, 0, 0);
}

ssize_t read_port_etc(port_id port, __s32 *code, void *buffer, size_t size,
		      __u32 flags, bigtime_t timeout)
{
	struct nexus_port_read req = {
		.id = port,
		.code = code,
		.buffer = buffer,
		.size = size,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_READ, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : (ssize_t)req.size;
}

ssize_t read_port(port_id port, __s32 *code, void *buffer, size_t size)
{
	return read_port_etc(port, code, buffer, size, 0, 0);
}

status_t get_port_message_info_etc(port_id port,
				   struct port_message_info *info,
				   size_t info_size, __u32 flags,
				   bigtime_t timeout)
{
	struct nexus_port_get_message_info req = {
		.id = port,
		.size = info_size,
		.flags = flags,
		.timeout = timeout,
		.info = (struct nexus_port_message_info *)info,
	};
	int err = nexus_ioctl(NEXUS_PORT_MESSAGE_INFO, &req);

	return err ? err : req.ret;
}

ssize_t port_buffer_size_etc(port_id port, __u32 flags, bigtime_t timeout)
{
	struct port_message_info info;
	status_t st;

	st = get_port_message_info_etc(port, &info, sizeof(info), flags,
				       timeout);
	return st < 0 ? st : (ssize_t)info.size;
}

ssize_t port_buffer_size(port_id port)
{
	return port_buffer_size_etc(port, 0, 0);
}

status_t get_port_info(port_id port, struct port_info *info)
{
	struct nexus_port_info out;
	struct nexus_port_get_info req = { .id = port, .info = &out };
	int err = nexus_ioctl(NEXUS_PORT_INFO, &req);

	if (err)
		return err;
	if (req.ret == B_OK)
		copy_port_info(info, &out);
	return req.ret;
}

ssize_t port_count(port_id port)
{
	struct port_info info;
	status_t st = get_port_info(port, &info);

	return st < 0 ? st : info.queue_count;
}

status_t get_next_port_info(team_id team, __s32 *cookie,
			    struct port_info *info)
{
	struct nexus_get_next_port req = { .team = team, .cookie = *cookie };
	int err = nexus_ioctl(NEXUS_GET_NEXT_PORT_FOR_TEAM, &req);

	if (err)
		return err;
	if (req.ret == B_OK) {
		copy_port_info(info, &req.info);
		*cookie = req.cookie;
	}
	return req.ret;
}

status_t set_port_owner(port_id port, team_id team)
{
	struct nexus_port_set_owner req = { .id = port, .team = team };
	int err = nexus_ioctl(NEXUS_SET_PORT_OWNER, &req);

	return err ? err : req.ret;
}

/* Semaphores. */

sem_id create_sem(__s32 count, const char *name)
{
	struct nexus_sem_create req = { .name = name, .count = count };
	int err = nexus_ioctl(NEXUS_SEM_CREATE, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : req.id;
}

status_t delete_sem(sem_id sem)
{
	struct nexus_sem_delete_req req = { .id = sem };
	int err = nexus_ioctl(NEXUS_SEM_DELETE, &req);

	return err ? err : req.ret;
}

static status_t sem_op(unsigned long cmd, sem_id sem, __s32 count,
		       __u32 flags, bigtime_t timeout)
{
	struct nexus_sem_op req = {
		.id = sem,
		.count = count,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(cmd, &req);

	return err ? err : req.ret;
}

status_t acquire_sem_etc(sem_id sem, __s32 count, __u32 flags,
			 bigtime_t timeout)
{
	return sem_op(NEXUS_SEM_ACQUIRE, sem, count, flags, timeout);
}

status_t acquire_sem(sem_id sem)
{
	return acquire_sem_etc(sem, 1, 0, 0);
}

status_t release_sem_etc(sem_id sem, __s32 count, __u32 flags)
{
	return sem_op(NEXUS_SEM_RELEASE, sem, count, flags, 0);
}

status_t release_sem(sem_id sem)
{
	return release_sem_etc(sem, 1, 0);
}

status_t get_sem_count(sem_id sem, __s32 *count)
{
	struct nexus_sem_count_req req = { .id = sem };
	int err = nexus_ioctl(NEXUS_SEM_COUNT, &req);

	if (err)
		return err;
	if (req.ret == B_OK)
		*count = req.count;
	return req.ret;
}

status_t get_sem_info(sem_id sem, struct sem_info *info)
{
	struct nexus_sem_info_req req = { .id = sem };
	int err = nexus_ioctl(NEXUS_SEM_INFO, &req);

	if (err)
		return err;
	if (req.ret == B_OK)
		copy_sem_info(info, &req.info);
	return req.ret;
}

status_t get_next_sem_info(team_id team, __s32 *cookie,
			   struct sem_info *info)
{
	struct nexus_sem_next_info req = { .team = team, .cookie = *cookie };
	int err = nexus_ioctl(NEXUS_SEM_NEXT_INFO, &req);

	if (err)
		return err;
	if (req.ret == B_OK) {
		copy_sem_info(info, &req.info);
		*cookie = req.cookie;
	}
	return req.ret;
}

bigtime_t system_time(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (bigtime_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}
