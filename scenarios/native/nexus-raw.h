/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Raw /dev/nexus requests for the C drivers of the races and teams suites
 * (nexus-race, nexus-life): no libnexus in between, so a driver chooses which
 * descriptor each request goes through and sees the ioctl's own failure.
 *
 * Each call returns the request's status (ret: B_OK or a negative B_* value)
 * or, when the ioctl itself failed, its errno: a positive number.
 */
#ifndef NEXUS_RAW_H
#define NEXUS_RAW_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
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

#endif /* NEXUS_RAW_H */
