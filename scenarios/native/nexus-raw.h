/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw /dev/nexus and /dev/nexus_area requests for the C drivers (nexus-race,
 * nexus-life, nexus-fuzz, nexus-stress): no libnexus in between, so a driver
 * chooses which descriptor each request goes through and sees the ioctl's
 * own failure.
 *
 * Each call returns the request's status (ret: B_OK or a negative B_* value)
 * or, when the ioctl itself failed, its errno: a positive number.  Requests
 * that return their status as the ioctl's value (the area ioctls, RESUME,
 * SET_RETURN_CODE) are told apart from a failed ioctl by the ret field
 * (areas: still the sentinel the call put there) or by the value (a B_*
 * status outside -4095..-1 is never an errno).
 */
#ifndef NEXUS_RAW_H
#define NEXUS_RAW_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nexus.h>

/* A new descriptor of /dev/nexus (the caller's team), or -errno. */
static inline int nx_open(void)
{
	int fd = open(NEXUS_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int nx_port_create(int fd, const char *name, int capacity, int *id)
{
	struct nexus_port_create r = {
		.name = name,
		.size = name ? strlen(name) + 1 : 0,
		.capacity = capacity,
	};

	*id = 0;
	if (ioctl(fd, NEXUS_PORT_CREATE, &r) < 0)
		return errno;
	*id = r.id;
	return r.ret;
}

static inline int nx_port_delete(int fd, int id)
{
	struct nexus_port_id r = { .id = id };

	if (ioctl(fd, NEXUS_PORT_DELETE, &r) < 0)
		return errno;
	return r.ret;
}

static inline int nx_port_find(int fd, const char *name, int *id)
{
	struct nexus_port_find_req r = { .name = name, .size = strlen(name) + 1 };

	*id = 0;
	if (ioctl(fd, NEXUS_PORT_FIND, &r) < 0)
		return errno;
	*id = r.id;
	return r.ret;
}

static inline int nx_port_info(int fd, int id, struct nexus_port_info *info)
{
	struct nexus_port_get_info r = { .id = id, .info = info };

	memset(info, 0, sizeof(*info));
	if (ioctl(fd, NEXUS_PORT_INFO, &r) < 0)
		return errno;
	return r.ret;
}

/* GET_NEXT_PORT_FOR_TEAM: the team's first port above *cookie; *cookie moves on. */
static inline int nx_port_next(int fd, int team, int *cookie, struct nexus_port_info *info)
{
	struct nexus_get_next_port r = { .team = team, .cookie = *cookie };

	memset(info, 0, sizeof(*info));
	if (ioctl(fd, NEXUS_GET_NEXT_PORT_FOR_TEAM, &r) < 0)
		return errno;
	*cookie = r.cookie;
	*info = r.info;
	return r.ret;
}

static inline int nx_sem_create(int fd, const char *name, int count, int *id)
{
	struct nexus_sem_create r = { .name = name, .count = count };

	*id = 0;
	if (ioctl(fd, NEXUS_SEM_CREATE, &r) < 0)
		return errno;
	*id = r.id;
	return r.ret;
}

static inline int nx_sem_delete(int fd, int id)
{
	struct nexus_sem_delete_req r = { .id = id };

	if (ioctl(fd, NEXUS_SEM_DELETE, &r) < 0)
		return errno;
	return r.ret;
}

static inline int nx_sem_count(int fd, int id, int *count)
{
	struct nexus_sem_count_req r = { .id = id };

	*count = 0;
	if (ioctl(fd, NEXUS_SEM_COUNT, &r) < 0)
		return errno;
	*count = r.count;
	return r.ret;
}

static inline int nx_sem_info(int fd, int id, struct nexus_sem_info *info)
{
	struct nexus_sem_info_req r = { .id = id };

	memset(info, 0, sizeof(*info));
	if (ioctl(fd, NEXUS_SEM_INFO, &r) < 0)
		return errno;
	*info = r.info;
	return r.ret;
}

/* SEM_NEXT_INFO: the first semaphore above *cookie (of team, 0 = any); *cookie moves on. */
static inline int nx_sem_next(int fd, int team, int *cookie, struct nexus_sem_info *info)
{
	struct nexus_sem_next_info r = { .team = team, .cookie = *cookie };

	memset(info, 0, sizeof(*info));
	if (ioctl(fd, NEXUS_SEM_NEXT_INFO, &r) < 0)
		return errno;
	*cookie = r.cookie;
	*info = r.info;
	return r.ret;
}

/* ---- threads (/dev/nexus) ------------------------------------------------ */

/* The calling thread's id (a Linux tid, in the caller's pid namespace). */
static inline int nx_gettid(void)
{
	return (int)syscall(SYS_gettid);
}

/* A by-value request (RESUME, SET_RETURN_CODE, CLONE_EXECUTED): its status, or errno. */
static inline int nx_by_value(int fd, unsigned long cmd, long arg)
{
	long rc = ioctl(fd, cmd, arg);

	return rc == -1 ? errno : (int)rc;
}

static inline int nx_thread_resume(int fd, int tid)
{
	return nx_by_value(fd, NEXUS_THREAD_RESUME, tid);
}

static inline int nx_thread_set_return_code(int fd, int code)
{
	return nx_by_value(fd, NEXUS_THREAD_SET_RETURN_CODE, code);
}

/* SPAWN: the calling thread registers as a newborn of `father`. */
static inline int nx_thread_spawn(int fd, const char *name, int father)
{
	struct nexus_thread_spawn r = { .name = name, .father = father };

	return nx_by_value(fd, NEXUS_THREAD_SPAWN, (long)(uintptr_t)&r);
}

/* GET_INFO of `tid` (0: the caller); team, state and name may be NULL. */
static inline int nx_thread_info(int fd, int tid, int *team, int *state, char *name)
{
	struct nexus_thread_info_req r = { .thread = tid, .ret = 0x7eadbeef };

	if (ioctl(fd, NEXUS_THREAD_GET_INFO, &r) < 0)
		return errno;
	if (team)
		*team = r.team;
	if (state)
		*state = r.state;
	if (name)
		memcpy(name, r.name, B_OS_NAME_LENGTH);
	return r.ret;
}

/* WRITE (send_data) to `tid`. */
static inline int nx_thread_send(int fd, int tid, int code, const void *buf, size_t size,
				 unsigned int flags, long long timeout)
{
	struct nexus_thread_rw r = {
		.receiver = tid, .buffer = (void *)(uintptr_t)buf, .size = (ssize_t)size,
		.flags = flags, .timeout = timeout, .return_code = code,
	};

	if (ioctl(fd, NEXUS_THREAD_WRITE, &r) < 0)
		return errno;
	return r.ret;
}

/* READ (receive_data): the caller's mailbox; *size in: room, out: bytes copied. */
static inline int nx_thread_receive(int fd, int *sender, int *code, void *buf, size_t *size,
				    unsigned int flags, long long timeout)
{
	struct nexus_thread_rw r = {
		.buffer = buf, .size = (ssize_t)*size, .flags = flags, .timeout = timeout,
	};

	*sender = 0;
	*code = 0;
	if (ioctl(fd, NEXUS_THREAD_READ, &r) < 0)
		return errno;
	*sender = r.sender;
	*code = r.return_code;
	*size = r.size < 0 ? 0 : (size_t)r.size;
	return r.ret;
}

/* WAITFOR (wait_for_thread_etc): *code gets the exit code on B_OK. */
static inline int nx_thread_wait(int fd, int tid, unsigned int flags, long long timeout, int *code)
{
	struct nexus_thread_waitfor_req r = { .receiver = tid, .flags = flags, .timeout = timeout };

	*code = 0;
	if (ioctl(fd, NEXUS_THREAD_WAITFOR, &r) < 0)
		return errno;
	*code = r.return_code;
	return r.ret;
}

/* ---- areas (/dev/nexus_area) ---------------------------------------------- */

#define NX_SENTINEL 0x7eadbeef

/* The status of an area request: its ret, or errno when the ioctl never got that far. */
static inline int nx_area_status(long rc, int ret)
{
	return rc == -1 && ret == NX_SENTINEL ? errno : ret;
}

/* A new descriptor of /dev/nexus_area (the caller's team), or -errno. */
static inline int nx_area_open(void)
{
	int fd = open(NEXUS_AREA_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* A memfd of `size` bytes (MFD_CLOEXEC), or -errno. */
static inline int nx_memfd(const char *name, uint64_t size)
{
	int fd = (int)syscall(SYS_memfd_create, name, 1U /* MFD_CLOEXEC */);

	if (fd < 0)
		return -errno;
	if (ftruncate(fd, (off_t)size) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static inline void nx_name32(char *dst, const char *name)
{
	memset(dst, 0, B_OS_NAME_LENGTH);
	if (name)
		strncpy(dst, name, B_OS_NAME_LENGTH - 1);
}

/* CREATE an area of `memfd` (sized `size`). */
static inline int nx_area_create(int fd, int memfd, const char *name, uint64_t size,
				 unsigned int lock, unsigned int protection, int *id)
{
	struct nexus_area_create r = {
		.fd = memfd, .size = size, .lock = lock, .protection = protection, .ret = NX_SENTINEL,
	};
	long rc;

	nx_name32(r.name, name);
	rc = ioctl(fd, NEXUS_AREA_CREATE, &r);
	*id = r.area;
	return nx_area_status(rc, r.ret);
}

/* A memfd of `size`, registered as an area; the memfd is closed (the kernel keeps its own reference). */
static inline int nx_area_new(int fd, const char *name, uint64_t size, unsigned int protection, int *id)
{
	int memfd = nx_memfd(name, size), st;

	*id = 0;
	if (memfd < 0)
		return -memfd;
	st = nx_area_create(fd, memfd, name, size, B_NO_LOCK, protection, id);
	close(memfd);
	return st;
}

/* CLONE `source`: *mapfd (to mmap, the caller closes it) and *size on B_OK. */
static inline int nx_area_clone(int fd, int source, const char *name, unsigned int protection,
				int *id, int *mapfd, uint64_t *size)
{
	struct nexus_area_clone r = { .source = source, .protection = protection, .fd = -1, .ret = NX_SENTINEL };
	long rc;

	nx_name32(r.name, name);
	rc = ioctl(fd, NEXUS_AREA_CLONE, &r);
	*id = r.area;
	*mapfd = r.fd;
	*size = r.size;
	return nx_area_status(rc, r.ret);
}

static inline int nx_area_delete(int fd, int area)
{
	struct nexus_area_delete r = { .area = area, .ret = NX_SENTINEL };
	long rc = ioctl(fd, NEXUS_AREA_DELETE, &r);

	return nx_area_status(rc, r.ret);
}

static inline int nx_area_resize(int fd, int area, uint64_t size)
{
	struct nexus_area_resize r = { .area = area, .new_size = size, .ret = NX_SENTINEL };
	long rc = ioctl(fd, NEXUS_AREA_RESIZE, &r);

	return nx_area_status(rc, r.ret);
}

static inline int nx_area_protect(int fd, int area, unsigned int protection)
{
	struct nexus_area_set_protection r = { .area = area, .protection = protection, .ret = NX_SENTINEL };
	long rc = ioctl(fd, NEXUS_AREA_SET_PROTECTION, &r);

	return nx_area_status(rc, r.ret);
}

/* TRANSFER `area` to team `target`; *new_area (the same id) and *mapfd (-1) on B_OK. */
static inline int nx_area_transfer(int fd, int area, int target, int *new_area, int *mapfd)
{
	struct nexus_area_transfer r = { .area = area, .target = target, .fd = -1, .ret = NX_SENTINEL };
	long rc = ioctl(fd, NEXUS_AREA_TRANSFER, &r);

	*new_area = r.new_area;
	*mapfd = r.fd;
	return nx_area_status(rc, r.ret);
}

static inline int nx_area_info(int fd, int area, struct nexus_area_get_info *info)
{
	long rc;

	memset(info, 0, sizeof(*info));
	info->area = area;
	info->ret = NX_SENTINEL;
	rc = ioctl(fd, NEXUS_AREA_GET_INFO, info);
	return nx_area_status(rc, info->ret);
}

/* GET_NEXT: the team's (0: the caller's) next area after *cookie; *cookie moves on. */
static inline int nx_area_next(int fd, int team, int *cookie, struct nexus_area_get_next *next)
{
	long rc;

	memset(next, 0, sizeof(*next));
	next->team = team;
	next->cookie = *cookie;
	next->ret = NX_SENTINEL;
	rc = ioctl(fd, NEXUS_AREA_GET_NEXT, next);
	if (rc == 0 && next->ret == B_OK)
		*cookie = next->next_cookie;
	return nx_area_status(rc, next->ret);
}

static inline int nx_area_find(int fd, const char *name, int *id)
{
	struct nexus_area_find r = { .ret = NX_SENTINEL };
	long rc;

	nx_name32(r.name, name);
	rc = ioctl(fd, NEXUS_AREA_FIND, &r);
	*id = r.area;
	return nx_area_status(rc, r.ret);
}

/*
 * Map a clone's descriptor shared, *len bytes (at most): mmap() refuses
 * (EINVAL) more than the area's pages, and the owner may shrink it (and grow
 * it back) between the CLONE that said its size and the mmap() - then ask
 * the clone's size again and retry, up to 20 times.  The mapping, or
 * MAP_FAILED with errno (and *len the last size tried, which the clone's
 * info had just given as fitting).
 */
static inline void *nx_map_clone(int afd, int clone, int mapfd, size_t *len, int prot)
{
	struct nexus_area_get_info info;
	void *p = MAP_FAILED;

	for (int i = 0; i < 20; i++) {
		p = mmap(NULL, *len, prot, MAP_SHARED, mapfd, 0);
		if (p != MAP_FAILED || errno != EINVAL)
			return p;
		if (nx_area_info(afd, clone, &info) != B_OK || info.size == 0) {
			errno = EINVAL;
			return MAP_FAILED;
		}
		if (info.size < *len)
			*len = (size_t)info.size;
	}
	errno = EINVAL;
	return p;
}

/* ---- touching shared memory that may shrink under us ---------------------- */

/*
 * A mapping of an area's memfd faults with SIGBUS past the file's end, and
 * another team may shrink the file at any moment (RESIZE).  nx_touch() reads
 * (and writes, when `write`) one byte per page and says how it went; a
 * SIGBUS is caught and reported, any other fault stays fatal.  One touch at
 * a time per thread (the jump buffer is per thread).
 */
static __thread sigjmp_buf nx_touch_jmp;
static __thread volatile sig_atomic_t nx_touching;

static inline void nx_touch_sigbus(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	if (nx_touching)
		siglongjmp(nx_touch_jmp, 1);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Install the SIGBUS handler nx_touch() needs (once per process). */
static inline void nx_touch_setup(void)
{
	struct sigaction sa = { .sa_sigaction = nx_touch_sigbus, .sa_flags = SA_SIGINFO | SA_NODEFER };

	sigaction(SIGBUS, &sa, NULL);
}

enum { NX_TOUCH_OK, NX_TOUCH_SIGBUS };

/* Touch every page of [p, p + size): NX_TOUCH_OK, or NX_TOUCH_SIGBUS (the file ended first). */
static inline int nx_touch(volatile uint8_t *p, size_t size, bool write, uint8_t value)
{
	size_t off;

	if (sigsetjmp(nx_touch_jmp, 1)) {
		nx_touching = 0;
		return NX_TOUCH_SIGBUS;
	}
	nx_touching = 1;
	for (off = 0; off < size; off += 4096) {
		if (write)
			p[off] = value;
		else
			(void)p[off];
	}
	nx_touching = 0;
	return NX_TOUCH_OK;
}

/* Read one byte that may be past the file's end: NX_TOUCH_OK with *out, or NX_TOUCH_SIGBUS. */
static inline int nx_peek(volatile uint8_t *p, uint8_t *out)
{
	if (sigsetjmp(nx_touch_jmp, 1)) {
		nx_touching = 0;
		return NX_TOUCH_SIGBUS;
	}
	nx_touching = 1;
	*out = *p;
	nx_touching = 0;
	return NX_TOUCH_OK;
}

#endif /* NEXUS_RAW_H */
