/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libnexus: the Haiku C API for ports and semaphores over /dev/nexus.
 *
 * Every call goes through one descriptor per process, opened on first use
 * (O_RDWR | O_CLOEXEC).  A forked child closes the inherited descriptor and
 * opens its own, so it is its own team; so does a child made by a raw
 * clone() or vfork(), which is told by its pid.  Functions return Haiku status values
 * (B_OK or a negative error); an ioctl that fails as a whole returns -errno
 * (for instance -EPERM) and a failed open of /dev/nexus returns open()'s
 * -errno.
 */
#ifndef _LIBNEXUS_H
#define _LIBNEXUS_H

#include <stddef.h>
#include <sys/types.h>

#include <nexus.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef __s32 status_t;
typedef __s64 bigtime_t;
typedef __s32 port_id;
typedef __s32 sem_id;
typedef __s32 team_id;
typedef __s32 thread_id;

#define B_CURRENT_TEAM		0
#define PORT_MAX_CAPACITY	NEXUS_PORT_MAX_CAPACITY
#define PORT_MAX_MESSAGE_SIZE	NEXUS_PORT_MAX_MESSAGE_SIZE

/*
 * Haiku's info types, with the layouts of their nexus_* twins.  Haiku code
 * names them without "struct" (port_info info;), so the typedefs below are
 * part of the API: tools/checkpatch.sh allows them in libnexus only.
 */

/* Same layout as struct nexus_port_info. */
struct port_info {
	port_id port;
	team_id team;
	char name[B_OS_NAME_LENGTH];
	__s32 capacity;
	__s32 queue_count;
	__s32 total_count;
};

/* Same layout as struct nexus_port_message_info. */
struct port_message_info {
	size_t size;
	uid_t sender;
	gid_t sender_group;
	team_id sender_team;
};

/* Same layout as struct nexus_sem_info. */
struct sem_info {
	sem_id sem;
	team_id team;
	char name[B_OS_NAME_LENGTH];
	__s32 count;
	thread_id latest_holder;
};

typedef struct port_info port_info;
typedef struct port_message_info port_message_info;
typedef struct sem_info sem_info;

/* Ports. */
port_id create_port(__s32 capacity, const char *name);
status_t close_port(port_id port);
status_t delete_port(port_id port);
port_id find_port(const char *name);
status_t write_port(port_id port, __s32 code, const void *buffer,
		    size_t size);
status_t write_port_etc(port_id port, __s32 code, const void *buffer,
			size_t size, __u32 flags, bigtime_t timeout);
/* Bytes copied into buffer, or a status. */
ssize_t read_port(port_id port, __s32 *code, void *buffer, size_t size);
ssize_t read_port_etc(port_id port, __s32 *code, void *buffer, size_t size,
		      __u32 flags, bigtime_t timeout);
/* Size of the next message (waits for one), or a status. */
ssize_t port_buffer_size(port_id port);
ssize_t port_buffer_size_etc(port_id port, __u32 flags, bigtime_t timeout);
/* Messages queued, or a status. */
ssize_t port_count(port_id port);
status_t get_port_info(port_id port, struct port_info *info);
status_t get_next_port_info(team_id team, __s32 *cookie,
			    struct port_info *info);
status_t set_port_owner(port_id port, team_id team);
status_t get_port_message_info_etc(port_id port,
				   struct port_message_info *info,
				   size_t info_size, __u32 flags,
				   bigtime_t timeout);

/* Semaphores. */
sem_id create_sem(__s32 count, const char *name);
status_t delete_sem(sem_id sem);
status_t acquire_sem(sem_id sem);
status_t acquire_sem_etc(sem_id sem, __s32 count, __u32 flags,
			 bigtime_t timeout);
status_t release_sem(sem_id sem);
status_t release_sem_etc(sem_id sem, __s32 count, __u32 flags);
status_t get_sem_count(sem_id sem, __s32 *count);
status_t get_sem_info(sem_id sem, struct sem_info *info);
status_t get_next_sem_info(team_id team, __s32 *cookie,
			   struct sem_info *info);

/* The process's /dev/nexus descriptor (opened on first use), or -errno. */
int nexus_fd(void);
/* CLOCK_MONOTONIC in microseconds. */
bigtime_t system_time(void);

#ifdef __cplusplus
}
#endif

#endif /* _LIBNEXUS_H */
