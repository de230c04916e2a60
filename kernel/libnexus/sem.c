// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's semaphores over /dev/nexus.
 */
#include <assert.h>
#include <string.h>

#include "libnexus_internal.h"

/* The Haiku info struct is passed to the kernel as its nexus_* twin. */
static_assert(sizeof(struct sem_info) == sizeof(struct nexus_sem_info),
	      "sem_info layout");

/* The functions below are also exported under the names OS.h's macros use. */
#undef get_sem_info
#undef get_next_sem_info

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

status_t _get_sem_info(sem_id sem, struct sem_info *info, size_t size)
{
	if (!info || size < sizeof(*info))
		return B_BAD_VALUE;
	return get_sem_info(sem, info);
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

status_t _get_next_sem_info(team_id team, __s32 *cookie,
			    struct sem_info *info, size_t size)
{
	if (!cookie || !info || size < sizeof(*info))
		return B_BAD_VALUE;
	return get_next_sem_info(team, cookie, info);
}
