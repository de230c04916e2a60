/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Nexus: BeOS/Haiku IPC primitives for Linux - the ABI shared by the kernel
 * modules and userspace (libnexus, the lab's scenarios).
 *
 * This header is the single source of truth for the ABI described in
 * NEXUS-ABI.md: device names, ioctl numbers, request structures and status
 * values.  Layouts are those of x86-64 (LP64).
 */
#ifndef _UAPI_NEXUS_H
#define _UAPI_NEXUS_H

#include <linux/types.h>
#include <linux/ioctl.h>

#ifndef __KERNEL__
#ifndef __user
#define __user
#endif
#endif

#define NEXUS_DEVICE_NAME		"nexus"
#define NEXUS_DEVICE_PATH		"/dev/nexus"
#define NEXUS_IOCTL_MAGIC		'n'

/* Names are at most B_OS_NAME_LENGTH bytes, NUL included. */
#define B_OS_NAME_LENGTH		32

/* Status values (int32), carried in the request structs' ret field. */
#define B_OK				0
#define B_ERROR				(-1)
#define B_BAD_VALUE			(-22)
#define B_NO_MEMORY			(-12)
#define B_TIMED_OUT			(-110)
#define B_WOULD_BLOCK			(-11)
#define B_INTERRUPTED			(-4)
#define B_BAD_ADDRESS			(-14)
#define B_BAD_TEAM_ID			(-3)
#define B_ENTRY_NOT_FOUND		(-2)
#define B_BUFFER_OVERFLOW		(-75)
#define B_NO_MORE_SEMS			(-37)
#define B_NO_MORE_PORTS			(-23)
#define B_GENERAL_ERROR_BASE		(-2147483647 - 1)
#define B_NOT_ALLOWED			(B_GENERAL_ERROR_BASE + 16)
#define B_BAD_SEM_ID			(B_GENERAL_ERROR_BASE + 0x2001)
#define B_BAD_THREAD_ID			(B_GENERAL_ERROR_BASE + 0x2003)
#define B_BAD_THREAD_STATE		(B_GENERAL_ERROR_BASE + 0x2004)
#define B_BAD_PORT_ID			(B_GENERAL_ERROR_BASE + 0x2008)
#define B_NAME_NOT_FOUND		(-2147454966)

/* Timeout flags; timeouts are microseconds (bigtime_t). */
#define B_CAN_INTERRUPT			0x01
#define B_DO_NOT_RESCHEDULE		0x02
#define B_TIMEOUT			0x08
#define B_RELATIVE_TIMEOUT		0x08
#define B_ABSOLUTE_TIMEOUT		0x10
#define B_KILL_CAN_INTERRUPT		0x20
#define B_INFINITE_TIMEOUT		0x7fffffffffffffffLL

/* Limits (Haiku's). */
#define NEXUS_PORT_MAX_CAPACITY		4096
#define NEXUS_PORT_MAX_MESSAGE_SIZE	(256 * 1024)

/* Semaphore release flags (B_DO_NOT_RESCHEDULE is above). */
#define B_RELEASE_ALL			0x08
#define B_RELEASE_IF_WAITING_ONLY	0x10

typedef __s32 nexus_port_id_t;
typedef __s32 nexus_sem_id_t;
typedef __s32 nexus_team_id_t;
typedef __s32 nexus_thread_id_t;

/*
 * Ports.  Every request is read, acted on and written back; the status of
 * the operation is in ret.
 */

struct nexus_port_info {
	__s32 port;
	__s32 team;
	char name[B_OS_NAME_LENGTH];
	__s32 capacity;
	__s32 queue_count;
	__s32 total_count;
};

struct nexus_port_message_info {
	__kernel_size_t size;
	__kernel_uid32_t sender;
	__kernel_gid32_t sender_group;
	__kernel_pid_t sender_team;
};

struct nexus_port_create {
	const char __user *name;
	__kernel_size_t size;		/* bytes readable at name */
	__s32 capacity;
	__s32 id;			/* out */
	__s32 ret;			/* out */
};

struct nexus_port_id {
	__s32 id;
	__s32 ret;			/* out */
};

struct nexus_port_find_req {
	const char __user *name;
	__kernel_size_t size;
	__s32 id;			/* out */
	__s32 ret;			/* out */
};

struct nexus_get_next_port {
	__kernel_pid_t team;
	__s32 cookie;			/* last id returned, 0 to start */
	struct nexus_port_info info;	/* out */
	__s32 ret;			/* out */
};

struct nexus_port_read {
	__s32 id;
	__s32 __user *code;		/* out: the message code */
	void __user *buffer;
	__kernel_size_t size;		/* in: buffer size; out: bytes copied */
	__u32 flags;
	__s64 timeout;
	__s32 ret;			/* out */
};

struct nexus_port_write {
	__s32 id;
	const __s32 __user *code;
	const void __user *buffer;
	__kernel_size_t size;
	__u32 flags;
	__s64 timeout;
	__s32 ret;			/* out */
};

struct nexus_port_get_info {
	__s32 id;
	struct nexus_port_info __user *info;
	__s32 ret;			/* out */
};

struct nexus_port_get_message_info {
	__s32 id;
	__kernel_size_t size;		/* sizeof(*info) as the caller knows it */
	__u32 flags;
	__s64 timeout;
	struct nexus_port_message_info __user *info;
	__s32 ret;			/* out */
};

struct nexus_port_set_owner {
	__s32 id;
	__s32 team;
	__s32 ret;			/* out */
};

#define NEXUS_PORT_CREATE	_IOWR(NEXUS_IOCTL_MAGIC, 10, struct nexus_port_create)
#define NEXUS_PORT_CLOSE	_IOWR(NEXUS_IOCTL_MAGIC, 11, struct nexus_port_id)
#define NEXUS_PORT_FIND		_IOWR(NEXUS_IOCTL_MAGIC, 12, struct nexus_port_find_req)
#define NEXUS_GET_NEXT_PORT_FOR_TEAM \
	_IOWR(NEXUS_IOCTL_MAGIC, 13, struct nexus_get_next_port)
#define NEXUS_PORT_DELETE	_IOWR(NEXUS_IOCTL_MAGIC, 30, struct nexus_port_id)
#define NEXUS_PORT_READ		_IOWR(NEXUS_IOCTL_MAGIC, 31, struct nexus_port_read)
#define NEXUS_PORT_WRITE	_IOWR(NEXUS_IOCTL_MAGIC, 32, struct nexus_port_write)
#define NEXUS_PORT_INFO		_IOWR(NEXUS_IOCTL_MAGIC, 33, struct nexus_port_get_info)
#define NEXUS_PORT_MESSAGE_INFO \
	_IOWR(NEXUS_IOCTL_MAGIC, 34, struct nexus_port_get_message_info)
#define NEXUS_SET_PORT_OWNER	_IOWR(NEXUS_IOCTL_MAGIC, 35, struct nexus_port_set_owner)

/*
 * Port capabilities: messages that carry vrefs (NEXUS-ABI.md, "Port
 * capabilities").  nexus.ko queues them; the vrefs themselves live in
 * nexus_node_monitor.ko, without which no team holds a vref to send.
 */
#define NEXUS_PORT_CAP_VREF	1
#define NEXUS_PORT_MAX_CAPS	1024

struct nexus_port_cap_in {
	__u32 kind;			/* NEXUS_PORT_CAP_VREF */
	__s32 vref_id;
	__u32 buffer_offset;		/* the writer's note, passed through */
	__u32 _pad;
};

struct nexus_port_cap_out {
	__u32 kind;
	__s32 vref_id;
	__u32 buffer_offset;
	__u32 _pad;
	__u64 key;			/* the reader's new slot */
};

struct nexus_port_write_caps {
	__s32 id;
	const __s32 __user *code;
	const void __user *buffer;
	__kernel_size_t size;
	const struct nexus_port_cap_in __user *caps;
	__kernel_size_t caps_count;
	__u32 flags;
	__s64 timeout;
	__s32 ret;			/* out */
};

struct nexus_port_read_caps {
	__s32 id;
	__s32 __user *code;
	void __user *buffer;
	__kernel_size_t size;		/* in: room; out: the message's size */
	struct nexus_port_cap_out __user *caps;
	__kernel_size_t caps_count;	/* in: room; out: the message's caps */
	__u32 flags;
	__s64 timeout;
	__s32 ret;			/* out */
};

#define NEXUS_PORT_WRITE_CAPS	_IOWR(NEXUS_IOCTL_MAGIC, 36, struct nexus_port_write_caps)
#define NEXUS_PORT_READ_CAPS	_IOWR(NEXUS_IOCTL_MAGIC, 37, struct nexus_port_read_caps)

/* Semaphores. */

struct nexus_sem_info {
	__s32 sem;
	__s32 team;
	char name[B_OS_NAME_LENGTH];
	__s32 count;
	__s32 latest_holder;
};

struct nexus_sem_create {
	const char __user *name;	/* read up to B_OS_NAME_LENGTH bytes */
	__s32 count;
	__s32 id;			/* out */
	__s32 ret;			/* out */
};

struct nexus_sem_op {
	__s32 id;
	__s32 count;
	__u32 flags;
	__s64 timeout;
	__s32 ret;			/* out */
};

struct nexus_sem_delete_req {
	__s32 id;
	__s32 ret;			/* out */
};

struct nexus_sem_count_req {
	__s32 id;
	__s32 count;			/* out */
	__s32 ret;			/* out */
};

struct nexus_sem_info_req {
	__s32 id;
	__s32 team;
	struct nexus_sem_info info;	/* out */
	__s32 ret;			/* out */
};

struct nexus_sem_next_info {
	__s32 team;			/* 0: every team */
	__s32 cookie;			/* last id returned, 0 to start */
	struct nexus_sem_info info;	/* out */
	__s32 ret;			/* out */
};

#define NEXUS_SEM_CREATE	_IOWR(NEXUS_IOCTL_MAGIC, 40, struct nexus_sem_create)
#define NEXUS_SEM_ACQUIRE	_IOWR(NEXUS_IOCTL_MAGIC, 41, struct nexus_sem_op)
#define NEXUS_SEM_RELEASE	_IOWR(NEXUS_IOCTL_MAGIC, 42, struct nexus_sem_op)
#define NEXUS_SEM_DELETE	_IOWR(NEXUS_IOCTL_MAGIC, 43, struct nexus_sem_delete_req)
#define NEXUS_SEM_COUNT		_IOWR(NEXUS_IOCTL_MAGIC, 44, struct nexus_sem_count_req)
#define NEXUS_SEM_INFO		_IOWR(NEXUS_IOCTL_MAGIC, 45, struct nexus_sem_info_req)
#define NEXUS_SEM_NEXT_INFO	_IOWR(NEXUS_IOCTL_MAGIC, 46, struct nexus_sem_next_info)

/*
 * Threads.  SPAWN takes a pointer although its number is _IO (kept for
 * compatibility); WAIT_NEWBORN returns a tid; RESUME and SET_RETURN_CODE
 * take their argument by value.
 */

struct nexus_thread_spawn {
	const char __user *name;
	__s32 father;
};

struct nexus_thread_set_name_req {
	const char __user *name;
	__kernel_size_t size;
};

struct nexus_thread_rw {
	__s32 sender;
	__s32 receiver;
	void __user *buffer;
	__kernel_ssize_t size;
	__u32 flags;
	__s64 timeout;
	__s32 return_code;
	__s32 ret;			/* out */
};

struct nexus_thread_waitfor_req {
	__s32 receiver;
	__u32 flags;
	__s64 timeout;
	__s32 return_code;		/* out */
	__s32 ret;			/* out */
};

#define NEXUS_THREAD_SPAWN		_IO(NEXUS_IOCTL_MAGIC, 1)
#define NEXUS_THREAD_SET_NAME		_IOW(NEXUS_IOCTL_MAGIC, 3, struct nexus_thread_set_name_req)
#define NEXUS_THREAD_WAIT_NEWBORN	_IO(NEXUS_IOCTL_MAGIC, 4)
#define NEXUS_THREAD_CLONE_EXECUTED	_IO(NEXUS_IOCTL_MAGIC, 5)
#define NEXUS_THREAD_RESUME		_IO(NEXUS_IOCTL_MAGIC, 6)
#define NEXUS_THREAD_SET_RETURN_CODE	_IO(NEXUS_IOCTL_MAGIC, 7)
#define NEXUS_THREAD_READ		_IOWR(NEXUS_IOCTL_MAGIC, 20, struct nexus_thread_rw)
#define NEXUS_THREAD_WRITE		_IOWR(NEXUS_IOCTL_MAGIC, 21, struct nexus_thread_rw)
#define NEXUS_THREAD_HAS_DATA		_IOWR(NEXUS_IOCTL_MAGIC, 22, struct nexus_thread_rw)
#define NEXUS_THREAD_WAITFOR \
	_IOWR(NEXUS_IOCTL_MAGIC, 23, struct nexus_thread_waitfor_req)

/* Thread states reported by NEXUS_THREAD_GET_INFO (Haiku's thread_state). */
#define B_THREAD_RUNNING		1
#define B_THREAD_READY			2
#define B_THREAD_RECEIVING		3
#define B_THREAD_ASLEEP			4
#define B_THREAD_SUSPENDED		5
#define B_THREAD_WAITING		6

/* Thread messages (send_data) are at most this many bytes (Haiku's). */
#define NEXUS_THREAD_MAX_MESSAGE_SIZE	65536

/* A Nexus extension: what get_thread_info needs from the kernel. */
struct nexus_thread_info_req {
	__s32 thread;			/* 0: the caller */
	__s32 team;			/* out */
	char name[B_OS_NAME_LENGTH];	/* out */
	__s32 state;			/* out: B_THREAD_* */
	__s32 ret;			/* out */
};

#define NEXUS_THREAD_GET_INFO \
	_IOWR(NEXUS_IOCTL_MAGIC, 24, struct nexus_thread_info_req)

/*
 * Areas (/dev/nexus_area, nexus_area.ko).  Every ioctl returns the status
 * both in ret and as its return value.
 */
#define NEXUS_AREA_DEVICE_NAME		"nexus_area"
#define NEXUS_AREA_DEVICE_PATH		"/dev/nexus_area"
#define NEXUS_AREA_IOCTL_MAGIC		'A'

#define B_READ_AREA			0x01
#define B_WRITE_AREA			0x02
#define B_EXECUTE_AREA			0x04
#define B_CLONEABLE_AREA		0x100

/* Area lock kinds (recorded and reported; memory is pageable shmem). */
#define B_NO_LOCK			0
#define B_LAZY_LOCK			1
#define B_FULL_LOCK			2
#define B_CONTIGUOUS			3
#define B_LOMEM				4

typedef __s32 nexus_area_id_t;

struct nexus_area_create {
	__s32 fd;			/* a memfd, sized to size */
	char name[B_OS_NAME_LENGTH];
	__u64 size;
	__u32 lock;
	__u32 protection;
	__s32 area;			/* out */
	__s32 ret;			/* out */
};

struct nexus_area_clone {
	__s32 source;
	char name[B_OS_NAME_LENGTH];
	__u32 protection;
	__s32 area;			/* out */
	__s32 fd;			/* out: map this */
	__u64 size;			/* out */
	__s32 ret;			/* out */
};

struct nexus_area_delete {
	__s32 area;
	__s32 ret;			/* out */
};

struct nexus_area_find {
	char name[B_OS_NAME_LENGTH];
	__s32 area;			/* out */
	__u64 size;			/* out */
	__s32 ret;			/* out */
};

struct nexus_area_get_info {
	__s32 area;
	char name[B_OS_NAME_LENGTH];	/* out */
	__u64 size;			/* out */
	__u32 lock;			/* out */
	__u32 protection;		/* out */
	__s32 team;			/* out */
	__s32 ret;			/* out */
};

struct nexus_area_resize {
	__s32 area;
	__u64 new_size;
	__s32 ret;			/* out */
};

struct nexus_area_set_protection {
	__s32 area;
	__u32 protection;
	__s32 ret;			/* out */
};

struct nexus_area_transfer {
	__s32 area;
	__s32 target;			/* team id */
	__s32 new_area;			/* out */
	__s32 fd;			/* out: -1, the target clones its area */
	__s32 ret;			/* out */
};

struct nexus_area_get_next {
	__s32 team;			/* 0: the caller's */
	__s32 cookie;			/* 0 to start */
	__s32 area;			/* out */
	char name[B_OS_NAME_LENGTH];	/* out */
	__u64 size;			/* out */
	__u32 lock;			/* out */
	__u32 protection;		/* out */
	__s32 next_cookie;		/* out */
	__s32 ret;			/* out */
};

#define NEXUS_AREA_CREATE \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 1, struct nexus_area_create)
#define NEXUS_AREA_CLONE \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 2, struct nexus_area_clone)
#define NEXUS_AREA_DELETE \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 3, struct nexus_area_delete)
#define NEXUS_AREA_FIND \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 4, struct nexus_area_find)
#define NEXUS_AREA_GET_INFO \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 5, struct nexus_area_get_info)
#define NEXUS_AREA_RESIZE \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 6, struct nexus_area_resize)
#define NEXUS_AREA_SET_PROTECTION \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 7, struct nexus_area_set_protection)
#define NEXUS_AREA_TRANSFER \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 8, struct nexus_area_transfer)
#define NEXUS_AREA_GET_NEXT \
	_IOWR(NEXUS_AREA_IOCTL_MAGIC, 9, struct nexus_area_get_next)

/*
 * nexus_node_monitor.ko: vrefs (magic 'V') and the node monitor (magic 'H')
 * on /dev/nexus_node_monitor.
 */
#define NEXUS_NODE_MONITOR_DEVICE_NAME	"nexus_node_monitor"
#define NEXUS_NODE_MONITOR_DEVICE_PATH	"/dev/nexus_node_monitor"
#define NEXUS_VREF_IOCTL_MAGIC		'V'
#define NEXUS_WATCH_IOCTL_MAGIC		'H'

typedef __s32 nexus_vref_id_t;

struct nexus_vref_create {
	__s32 fd;
	__s32 id;			/* out */
	__u64 key;			/* out: the creator's slot */
};

struct nexus_vref_op {
	__s32 id;
	__u32 _pad;
	__u64 key;			/* ACQUIRE: out, the new slot's key */
};

struct nexus_vref_open {
	__s32 id;
	__u32 _pad;
	__u64 key;
	__u32 requested_mode;		/* open(2) flags: O_ACCMODE, O_CLOEXEC... */
	__s32 fd_out;			/* out */
};

#define NEXUS_VREF_CREATE \
	_IOWR(NEXUS_VREF_IOCTL_MAGIC, 6, struct nexus_vref_create)
#define NEXUS_VREF_ACQUIRE \
	_IOWR(NEXUS_VREF_IOCTL_MAGIC, 7, struct nexus_vref_op)
#define NEXUS_VREF_RELEASE \
	_IOWR(NEXUS_VREF_IOCTL_MAGIC, 8, struct nexus_vref_op)
#define NEXUS_VREF_OPEN \
	_IOWR(NEXUS_VREF_IOCTL_MAGIC, 9, struct nexus_vref_open)

/* Watch flags (Haiku's). */
#define B_STOP_WATCHING			0x00
#define B_WATCH_NAME			0x01
#define B_WATCH_STAT			0x02
#define B_WATCH_ATTR			0x04
#define B_WATCH_DIRECTORY		0x08
#define B_WATCH_ALL			0x0f
#define B_WATCH_MOUNT			0x10
#define B_WATCH_INTERIM_STAT		0x20
#define B_WATCH_CHILDREN		0x40
#define NEXUS_WATCH_FLAGS		0x7f

/* The message code of every node monitor message, and its opcodes. */
#define B_NODE_MONITOR			0x4e444d4e	/* 'NDMN' */
#define B_ENTRY_CREATED			1
#define B_ENTRY_REMOVED			2
#define B_ENTRY_MOVED			3
#define B_STAT_CHANGED			4
#define B_ATTR_CHANGED			5
#define B_DEVICE_MOUNTED		6
#define B_DEVICE_UNMOUNTED		7
/* Nexus: events were lost past the listener's backlog ("dropped": count). */
#define NEXUS_EVENTS_DROPPED		0x4e584450	/* 'NXDP' */

/* B_STAT_CHANGED "fields". */
#define B_STAT_MODE			0x0001
#define B_STAT_UID			0x0002
#define B_STAT_GID			0x0004
#define B_STAT_SIZE			0x0008
#define B_STAT_ACCESS_TIME		0x0010
#define B_STAT_MODIFICATION_TIME	0x0020
#define B_STAT_CREATION_TIME		0x0040
#define B_STAT_CHANGE_TIME		0x0080
#define B_STAT_INTERIM_UPDATE		0x1000

/* B_ATTR_CHANGED "cause". */
#define B_ATTR_CREATED			1
#define B_ATTR_REMOVED			2
#define B_ATTR_CHANGED_CAUSE		3

/* KMessage, the format of node monitor messages. */
#define KMESSAGE_MAGIC			0x6b4d7347	/* 'kMsG' */
#define KMESSAGE_HEADER_SIZE		28
/* A field's header before its name; with the name, align4(20 + strlen). */
#define KMESSAGE_FIELD_HEADER_SIZE	18
#define B_INT32_TYPE			0x4c4f4e47	/* 'LONG' */
#define B_INT64_TYPE			0x4c4c4e47	/* 'LLNG' */
#define B_STRING_TYPE			0x43535452	/* 'CSTR' */

struct nexus_watch_fd {
	__s32 fd;			/* -1: vref_id, or a volume watch */
	__u32 flags;
	__s32 port;
	__u32 token;
	__s32 vref_id;			/* when fd is -1; 0 for none */
	__s32 _pad;
};

struct nexus_unwatch_fd {
	__u64 device;			/* ~0: the volume watch */
	__u64 node;
	__s32 port;
	__u32 token;
};

struct nexus_stop_notifying {
	__s32 port;
	__u32 token;
};

#define NEXUS_START_WATCHING \
	_IOW(NEXUS_WATCH_IOCTL_MAGIC, 1, struct nexus_watch_fd)
#define NEXUS_STOP_WATCHING \
	_IOW(NEXUS_WATCH_IOCTL_MAGIC, 2, struct nexus_unwatch_fd)
#define NEXUS_STOP_NOTIFYING \
	_IOW(NEXUS_WATCH_IOCTL_MAGIC, 3, struct nexus_stop_notifying)

#endif /* _UAPI_NEXUS_H */
