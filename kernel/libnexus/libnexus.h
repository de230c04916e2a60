/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * libnexus: the Haiku C API for ports, semaphores, threads and areas over
 * /dev/nexus and /dev/nexus_area, and for the node monitor (with vrefs, a
 * Nexus extension) over /dev/nexus_node_monitor.
 *
 * Every call goes through one descriptor per device and process, opened on
 * first use (O_RDWR | O_CLOEXEC).  A forked child closes the inherited
 * descriptors and opens its own, so it is its own team; so does a child made
 * by a raw clone() or vfork(), which is told by its pid.  Functions return
 * Haiku status values (B_OK or a negative error); an ioctl that fails as a
 * whole returns -errno (for instance -EPERM) and a failed open of a device
 * returns open()'s -errno (-ENOENT when the module is not loaded).
 *
 * The signatures are Haiku's (OS.h), with the same types at the ABI level
 * (int32 is __s32, uint32 is __u32, thread_state is an int), so code written
 * for Haiku compiles and links against this header and libnexus.a.
 */
#ifndef _LIBNEXUS_H
#define _LIBNEXUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nexus.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * GNU attributes for C and C++ alike.  (The kernel's checkpatch asks for
 * its own __noreturn and friends, which userspace does not have.)
 */
#define NEXUS_ATTRIBUTE(list)	__attribute__(list)

typedef __s32 status_t;
typedef __s64 bigtime_t;
typedef __s32 port_id;
typedef __s32 sem_id;
typedef __s32 team_id;
typedef __s32 thread_id;
typedef __s32 area_id;
/*
 * Haiku's thread_state is an enum of the B_THREAD_* values; nexus.h defines
 * those as macros, so here it is the int the enum is at the ABI level.
 */
typedef __s32 thread_state;
typedef status_t (*thread_func)(void *data);

#define B_CURRENT_TEAM		0
#define PORT_MAX_CAPACITY	NEXUS_PORT_MAX_CAPACITY
#define PORT_MAX_MESSAGE_SIZE	NEXUS_PORT_MAX_MESSAGE_SIZE
/* x86-64, the ABI's architecture. */
#define B_PAGE_SIZE		4096

/* Thread priorities (Haiku's): recorded and reported, not applied. */
#define B_IDLE_PRIORITY			0
#define B_LOWEST_ACTIVE_PRIORITY	1
#define B_LOW_PRIORITY			5
#define B_NORMAL_PRIORITY		10
#define B_DISPLAY_PRIORITY		15
#define B_URGENT_DISPLAY_PRIORITY	20
#define B_REAL_TIME_DISPLAY_PRIORITY	100
#define B_URGENT_PRIORITY		110
#define B_REAL_TIME_PRIORITY		120

/* Area address specifications (Haiku's). */
#define B_ANY_ADDRESS			0
#define B_EXACT_ADDRESS			1
#define B_BASE_ADDRESS			2
#define B_CLONE_ADDRESS			3
#define B_ANY_KERNEL_ADDRESS		4
#define B_RANDOMIZED_ANY_ADDRESS	6
#define B_RANDOMIZED_BASE_ADDRESS	7

/*
 * Haiku's info types, with the layouts of their nexus_* twins where they
 * have one.  Haiku code names them without "struct" (port_info info;), so
 * the typedefs below are part of the API: tools/checkpatch.sh allows them
 * in libnexus only.
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

/* Haiku's layout.  sem is -1 and the times are 0 (Nexus has neither). */
struct thread_info {
	thread_id thread;
	team_id team;
	char name[B_OS_NAME_LENGTH];
	thread_state state;
	__s32 priority;
	sem_id sem;
	bigtime_t user_time;
	bigtime_t kernel_time;
	void *stack_base;
	void *stack_end;
};

/*
 * Haiku's layout.  ram_size and the counts are 0; address is where this
 * process maps the area (created or cloned here), NULL if it does not.
 */
struct area_info {
	area_id area;
	char name[B_OS_NAME_LENGTH];
	size_t size;
	__u32 lock;
	__u32 protection;
	team_id team;
	__u32 ram_size;
	__u32 copy_count;
	__u32 in_count;
	__u32 out_count;
	void *address;
};

typedef struct port_info port_info;
typedef struct port_message_info port_message_info;
typedef struct sem_info sem_info;
typedef struct thread_info thread_info;
typedef struct area_info area_info;

/*
 * The get_*_info calls are Haiku's macros over the size-checked entry
 * points (_get_*_info: B_BAD_VALUE when info is NULL or size is smaller
 * than the struct); sizeof((info)[0]) is OS.h's sizeof(*(info)).  The plain
 * functions of the same names are exported too, for code that takes their
 * address or #undefs the macros.
 */

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
status_t _get_port_info(port_id port, struct port_info *info, size_t size);
status_t _get_next_port_info(team_id team, __s32 *cookie,
			     struct port_info *info, size_t size);
status_t set_port_owner(port_id port, team_id team);
status_t get_port_message_info_etc(port_id port,
				   struct port_message_info *info,
				   size_t info_size, __u32 flags,
				   bigtime_t timeout);
/*
 * A Nexus extension: messages that carry vrefs (NEXUS-ABI.md, "Port
 * capabilities").  Every vref a write names must be held by this team (else
 * B_NOT_ALLOWED, nothing queued); the reader gets a slot of its own in each
 * (caps[i].key).  Blocking and timeouts are write_port_etc's and
 * read_port_etc's.
 */
status_t write_port_caps_etc(port_id port, __s32 code, const void *buffer,
			     size_t size,
			     const struct nexus_port_cap_in *caps,
			     size_t caps_count, __u32 flags,
			     bigtime_t timeout);
/*
 * *size and *caps_count (NULL: 0) are the room in buffer and caps; on B_OK
 * they become what the message held (bytes and caps copied).  With too
 * little room the status is B_BUFFER_OVERFLOW, *size and *caps_count say
 * what is needed and the message stays queued.  Returns a status, not a
 * byte count.
 */
status_t read_port_caps_etc(port_id port, __s32 *code, void *buffer,
			    size_t *size, struct nexus_port_cap_out *caps,
			    size_t *caps_count, __u32 flags,
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
status_t _get_sem_info(sem_id sem, struct sem_info *info, size_t size);
status_t _get_next_sem_info(team_id team, __s32 *cookie,
			    struct sem_info *info, size_t size);

/*
 * Threads.  Thread ids are Linux tids.  spawn_thread() starts a detached
 * pthread that waits, suspended, for resume_thread() (or wait_for_thread(),
 * which resumes it first) before it runs func.
 */
thread_id spawn_thread(thread_func func, const char *name, __s32 priority,
		       void *data);
status_t resume_thread(thread_id thread);
status_t wait_for_thread(thread_id thread, status_t *return_value);
status_t wait_for_thread_etc(thread_id thread, __u32 flags,
			     bigtime_t timeout, status_t *return_value);
status_t send_data(thread_id thread, __s32 code, const void *buffer,
		   size_t buffer_size);
/* A Nexus extension: send_data with Haiku's timeout flags. */
status_t send_data_etc(thread_id thread, __s32 code, const void *buffer,
		       size_t buffer_size, __u32 flags, bigtime_t timeout);
/* The message's code, or a status; *sender (may be NULL) gets the sender. */
__s32 receive_data(thread_id *sender, void *buffer, size_t buffer_size);
/* A Nexus extension: receive_data with Haiku's timeout flags. */
__s32 receive_data_etc(thread_id *sender, void *buffer, size_t buffer_size,
		       __u32 flags, bigtime_t timeout);
bool has_data(thread_id thread);
/* The caller's team's threads only (another team's: B_NOT_ALLOWED). */
status_t rename_thread(thread_id thread, const char *new_name);
NEXUS_ATTRIBUTE((__noreturn__)) void exit_thread(status_t status);
/* NULL: the caller's tid. */
thread_id find_thread(const char *name);
status_t _get_thread_info(thread_id id, struct thread_info *info,
			  size_t size);
#define get_thread_info(id, info) \
	_get_thread_info((id), (info), sizeof((info)[0]))

/* Areas (/dev/nexus_area). */
area_id create_area(const char *name, void **start_address,
		    __u32 address_spec, size_t size, __u32 lock,
		    __u32 protection);
area_id clone_area(const char *name, void **dest_address, __u32 address_spec,
		   __u32 protection, area_id source);
status_t delete_area(area_id area);
area_id find_area(const char *name);
/* The area this process created or cloned that holds address. */
area_id area_for(void *address);
status_t _get_area_info(area_id id, struct area_info *info, size_t size);
status_t _get_next_area_info(team_id team, ssize_t *cookie,
			     struct area_info *info, size_t size);
#define get_area_info(id, info) \
	_get_area_info((id), (info), sizeof((info)[0]))
#define get_next_area_info(team, cookie, info) \
	_get_next_area_info((team), (cookie), (info), sizeof((info)[0]))
status_t resize_area(area_id id, size_t new_size);
status_t set_area_protection(area_id id, __u32 new_protection);
/*
 * Gives the area (same id) to team target and unmaps it here.  _address and
 * address_spec are ignored: the target maps the area with clone_area() of
 * its own (now) area.
 */
area_id transfer_area(area_id id, void **_address, __u32 address_spec,
		      team_id target);

/*
 * Vrefs (/dev/nexus_node_monitor): kernel-held references to a file or
 * directory, named by an id and held through slots with secret keys
 * (NEXUS-ABI.md, "Vrefs").  A Nexus extension without a Haiku counterpart:
 * these return what the kernel returns, B_OK (or a descriptor) or a
 * negative errno: -EBADF (bad descriptor, unknown id), -EPERM (the key is
 * no slot of this team's, or more access than the creating descriptor
 * had), -EINVAL (bad mode), -ENOSPC (past a limit); or the failed open's
 * -errno (-ENOENT: nexus_node_monitor.ko is not loaded).
 */
typedef __s32 vref_id;

/* A vref of fd's file, held by this team: *id and *key (its slot). */
status_t nexus_vref_create(int fd, vref_id *id, uint64_t *key);
/* One more slot of this team in vref id: its key in *new_key. */
status_t nexus_vref_acquire(vref_id id, uint64_t key, uint64_t *new_key);
/* Drops the slot; the vref dies with its last one. */
status_t nexus_vref_release(vref_id id, uint64_t key);
/* A new descriptor of the file opened with open(2) flags mode, or -errno. */
int nexus_vref_open(vref_id id, uint64_t key, __u32 mode);

/*
 * The node monitor (/dev/nexus_node_monitor), Haiku's watch_node() family
 * with a port and token for the BMessenger: events are KMessages written to
 * the port with code B_NODE_MONITOR (NEXUS-ABI.md, "Node monitor").
 *
 * Haiku's node_ref and entry_ref have an int32 dev_t and an int64 ino_t,
 * which are not Linux's, hence nexus_dev_t and nexus_ino_t; device is
 * stat(2)'s st_dev, node its st_ino.  The Haiku names node_ref and
 * entry_ref are typedefs of the structs below unless
 * NEXUS_NO_HAIKU_REF_TYPES is defined (for code that has its own).
 *
 * Linux cannot open a node by (device, inode): watch_node() knows the
 * node_refs libnexus made itself, with get_node_ref_for_path() or
 * get_node_ref_for_fd() (which keep a descriptor of the node until
 * put_node_ref()), and answers B_ENTRY_NOT_FOUND for any other.  Stopping
 * needs no descriptor: stop_watching_node() takes any node_ref.
 *
 * Statuses: B_OK, B_BAD_VALUE (bad flags, port closed or unknown),
 * B_NOT_ALLOWED (no read permission on the node, or a vref not held),
 * B_ENTRY_NOT_FOUND (no such watch or entry), B_NO_MEMORY (past a limit),
 * -EBADF (bad descriptor), or the failed open's -errno.
 */
typedef __s32 nexus_dev_t;
typedef __s64 nexus_ino_t;

struct nexus_node_ref {
	nexus_dev_t device;
	nexus_ino_t node;
};

struct nexus_entry_ref {
	nexus_dev_t device;
	nexus_ino_t directory;
	char *name;
};

#ifndef NEXUS_NO_HAIKU_REF_TYPES
typedef struct nexus_node_ref node_ref;
typedef struct nexus_entry_ref entry_ref;
#endif

/*
 * flags: B_WATCH_* (B_STOP_WATCHING: stop this node's watch for port and
 * token).  Watching a node again for the same port and token adds flags.
 */
status_t watch_node_fd(int fd, __u32 flags, port_id port, __s32 token);
status_t watch_node_path(const char *path, __u32 flags, port_id port,
			 __s32 token);
/* node NULL: the volume watch (flags B_WATCH_MOUNT or B_STOP_WATCHING). */
status_t watch_node(const struct nexus_node_ref *node, __u32 flags,
		    port_id port, __s32 token);
/* Mounts and unmounts (B_WATCH_MOUNT). */
status_t watch_volume(port_id port, __s32 token);
/* Every watch (node and volume) of this team for port and token. */
status_t stop_watching(port_id port, __s32 token);
status_t stop_watching_node(const struct nexus_node_ref *node, port_id port,
			    __s32 token);
status_t stop_watching_volume(port_id port, __s32 token);
/*
 * The node_ref of path (symbolic links followed) or fd, usable with
 * watch_node() until put_node_ref(); getting the same node again counts.
 */
status_t get_node_ref_for_path(const char *path, struct nexus_node_ref *ref);
status_t get_node_ref_for_fd(int fd, struct nexus_node_ref *ref);
status_t put_node_ref(const struct nexus_node_ref *ref);

#define get_port_info(port, info) \
	_get_port_info((port), (info), sizeof((info)[0]))
#define get_next_port_info(team, cookie, info) \
	_get_next_port_info((team), (cookie), (info), sizeof((info)[0]))
#define get_sem_info(sem, info) \
	_get_sem_info((sem), (info), sizeof((info)[0]))
#define get_next_sem_info(team, cookie, info) \
	_get_next_sem_info((team), (cookie), (info), sizeof((info)[0]))

/* The process's /dev/nexus descriptor (opened on first use), or -errno. */
int nexus_fd(void);
/* The same for /dev/nexus_area. */
int nexus_area_fd(void);
/* The same for /dev/nexus_node_monitor. */
int nexus_node_monitor_fd(void);
/* CLOCK_MONOTONIC in microseconds. */
bigtime_t system_time(void);

#ifdef __cplusplus
}
#endif

#endif /* _LIBNEXUS_H */
