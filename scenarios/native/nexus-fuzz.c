// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-fuzz: every /dev/nexus and /dev/nexus_area ioctl with hostile
 * arguments, from several processes (teams) at once, some SIGKILLed mid-call
 * and replaced.
 *
 *   nexus-fuzz [--seed N] [--calls N] [--workers N] [--kill-ms N]
 *              [--deadline S] [--dry-run N [--gens G]] [--list]
 *
 * The parent opens /dev/nexus and /dev/nexus_area (so it is a team, and every
 * worker inherits descriptors it may not use), creates a few ports,
 * semaphores and areas everyone shares, then keeps --workers worker
 * processes running until they have
 * made --calls calls between them (each slot has calls/workers to make).
 * Every 1..--kill-ms ms it SIGKILLs a random worker that has made a call
 * in its life (its set-up is not cut short), mid-call or not, and
 * starts the slot's next generation, which carries on with what is left of
 * the slot's calls.  Each worker opens the devices itself (its own team) and
 * calls the ioctls of the tables below with arguments mixed from:
 *
 *  - ids: recently seen ones (a ring in shared memory that every worker
 *    feeds with the ids it creates, finds or lists), the predicted ones
 *    (the highest seen + 1..3, or just below it) and the holes (ids below
 *    the highest seen that nobody has learnt yet): a delete of an id that a
 *    create is handing out right now; its own last one, the parent's,
 *    stale neighbours, 0, negative, INT32_MAX, random; team and thread ids
 *    of live workers, of their newborn threads (below), of dead ones (from
 *    the same shared memory), the parent, the next pids;
 *  - boundary values: capacities 0/1/4096/4097, message sizes
 *    0/1/64 KiB/64 KiB+1/256 KiB/256 KiB+1/huge/negative, counts around 0
 *    and INT32_MIN/MAX, every flag bit;
 *  - areas: memfds of the right size, of another size, read-only, sealed,
 *    hugetlb; descriptors that are no memfd (/dev/null, a pipe, an eventfd,
 *    the Nexus devices, a /dev/shm file, a clone's descriptor), closed, -1
 *    or huge; sizes 0, 1, unaligned, 2 MiB, 2 GiB, 1 TiB, UINT64_MAX,
 *    negative; protections and lock kinds valid or any bits;
 *  - pointers: NULL, an inaccessible page, a read-only page, kernel-half and
 *    non-canonical addresses, a buffer running into an inaccessible page,
 *    misaligned, or the request itself - in every pointer field, and for the
 *    request struct itself;
 *  - names with and without a NUL, of about 32 bytes, with wrong sizes (and
 *    the areas' inline names, filled to the last byte);
 *  - wrong ioctl numbers near the real ones (other _IOC sizes: truncated
 *    structs; other directions, numbers and types);
 *  - the node monitor (/dev/nexus_node_monitor): nodes to watch or make a
 *    vref of - the scratch directory a churner process keeps changing (and
 *    a tmpfs it mounts and unmounts in it), its files opened read-only,
 *    write-only, read-write, O_APPEND or O_PATH, "/", -1 (a vref's node or
 *    the volume watch), pipes, sockets, eventfds, memfds, the Nexus devices
 *    themselves, closed and huge descriptors; vref keys of the caller's own
 *    slots, of other teams' (every key any worker gets is published in
 *    shared memory), flipped by one bit, 0, random; open modes valid, with
 *    O_CREAT, O_TRUNC, access mode 3 or any bits; watch flags valid, only
 *    B_WATCH_MOUNT, 0, bits past 0x7f; a few tokens, so that stops meet
 *    starts; (device, node) pairs of the scratch nodes, of the volume (~0),
 *    random; capability messages whose caps name vrefs the writer holds,
 *    or one it holds none in, or anything, 0..1025 or SIZE_MAX of them;
 *  - short timeouts only: relative 0..2 ms or <= 0, absolute around now;
 *    the calls that have no timeout field (thread ioctls that wait) run
 *    under a 5 ms interval timer whose signal (no SA_RESTART) ends them.
 * Each worker generation has a persona drawn from the seed: it favours
 * creating (with mostly valid arguments: every create that succeeds is a
 * publish to race with), destroying (aiming at the predicted ids and the
 * holes), querying or waiting eight to one, or nothing; calls come in
 * streaks of one ioctl (1..8, 1..24 for the persona's own role).
 * A few calls go to the parent's inherited descriptor: they must all fail
 * with -EPERM (ENOTTY too for the optional thread ioctls).  Every worker
 * now and then closes its descriptors and opens new ones: its team ends
 * and a new one begins while the others still use its ids.
 *
 * Besides its calls, each worker has a second thread that keeps making
 * newborns: a thread that registers (SPAWN, father: the worker's main
 * thread), waits to be resumed (CLONE_EXECUTED; the second thread resumes
 * it after 0..5 ms, racing the fuzzed RESUMEs and WAITFORs), receives,
 * sends, sets a return code and exits - so the thread ids the calls aim at
 * are threads that are being born, suspended, receiving and dying.  Its
 * tid is published in shared memory with the worker's pid.
 *
 * Rules checked on the way: a create that returns B_OK returns an id; an
 * area request's ret equals the ioctl's return value; a clone made B_OK
 * has a descriptor and a size that is a whole number of pages, and its
 * descriptor refuses what the clone's protection does not grant (a shared
 * writable, executable or readable mmap, or an mprotect up to one, must fail
 * without B_WRITE_AREA, B_EXECUTE_AREA, B_READ_AREA); mapped, its pages can
 * be touched (a SIGBUS is fine: the owner may have shrunk it meanwhile);
 * TRANSFER hands the giver
 * no descriptor; GET_INFO of a thread or an area names a live team, and the
 * caller's own thread is in the caller's team.  The node monitor's: a vref
 * request (ACQUIRE, RELEASE, OPEN) answers 0 only with a key that is one of
 * the caller's slots in that vref (each worker lists the slots it was
 * given: created, acquired, minted by READ_CAPS); a new key is never 0;
 * OPEN never grants more access than the descriptor the vref was made of
 * (when the worker made it), keeps O_APPEND, and leaves no descriptor
 * behind when it fails (-EFAULT included); START_WATCHING refuses flags
 * outside 0x7f, 0, a volume watch with other flags than B_WATCH_MOUNT,
 * descriptors that are not open; VREF_CREATE refuses those too; every
 * message with code B_NODE_MONITOR a worker reads whole is a well-formed
 * KMessage (header, fields, alignment: nexus-nm.h) with the fields its
 * opcode carries.
 *
 * At the end the parent kills what is left, reaps every worker within a
 * deadline (a worker that cannot be reaped is reported stuck, with its
 * /proc state and wchan), scans for objects left to dead workers' teams
 * (GET_NEXT_PORT_FOR_TEAM and AREA_GET_NEXT on each dead team,
 * SEM_NEXT_INFO over all teams) and prints one JSON summary line on stdout:
 *   {"seed":..,"workers":..,"calls":..,"wall_ms":..,"spawned":..,
 *    "killed":..,"killed_mid_call":..,"stuck":[..],"crashed":[..],
 *    "stalled":..,"orphans":[..],"violations":..,"violation":"..",
 *    "eperm_checks":..,"deadline_hit":..,"newborns":..,"newborns_registered":..,
 *    "newborns_resumed":..,"clone_maps":..,"sigbus":..,"nm":{"events":..,
 *    "cut":..,"opens_checked":..,"caps_minted":..,"slots_held_max":..,
 *    "churn_ops":..,"mounts":..,"umounts":..,"lazy_umounts":..,
 *    "by_opcode":{"created":..,..,"dropped":..}},
 *    "ioctls":{"PORT_CREATE":{..},..}}
 * In "ioctls", a request the kernel acted on counts in neither errno column
 * (an area request that answered B_NOT_ALLOWED is not an "other" errno).
 * Exit status 0 when nothing was wrong, 1 otherwise, 2 on bad usage, 3 when
 * /dev/nexus cannot be opened.
 *
 * Replay: the seed decides every call of every (worker slot, generation),
 * so the same seed gives the same call sequence per worker.  Which ids the
 * calls resolve to, and when the parent's kills land (so how far each
 * generation gets), depend on timing and are not reproduced exactly.
 * --dry-run N prints the first N calls of each slot's first --gens
 * generations without touching /dev/nexus (nor forking): the unit tests
 * check that a seed always gives the same sequence.  --list prints the
 * table (name, device, cmd, request size), which the unit tests hold
 * against kernel/include/nexus.h: every ioctl there must be in it.
 *
 * Plugging in a primitive (threads, areas, vrefs, watches): describe its
 * ioctls as a table of struct fuzz_ioctl (the cmd, the request struct's size,
 * its fields by kind with offsetof(): ids of which kind, names, pointers in
 * and out, sizes, counts, flags, timeouts, out ids to learn), add the table
 * with its device to DEVICES[], and add an id kind to enum id_kind if the
 * primitive has ids of its own (area_id, vref_id): every worker then opens
 * that device too (a device the tree lacks is skipped), feeds the new pool
 * from the table's F_OUT_ID fields, and mixes the new calls with the rest.
 * A new field kind needs a generator (gen_field), a printer (print_field)
 * and a resolver (resolve_field).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/time.h>

#include <sys/socket.h>

#include "nexus-storm.h"
#include "nexus-nm.h"

/* ---- what a call is made of --------------------------------------------- */

enum id_kind { ID_PORT, ID_SEM, ID_TEAM, ID_THREAD, ID_AREA, ID_VREF, NR_ID_KINDS };
static const char *const ID_NAMES[NR_ID_KINDS] = { "port", "sem", "team", "thread", "area", "vref" };

enum field_kind {
	F_END,
	F_ID,		/* an id of kind `arg`: seen, predicted or hostile */
	F_TEAM_OR_ALL,	/* a team id, 0 (all teams / the caller) half of the time */
	F_COOKIE,	/* an iteration cookie over ids of kind `arg` */
	F_OUT_ID,	/* out: an id of kind `arg`, learnt when the call succeeds */
	F_NAME,		/* const char *: a name */
	F_NAME_LEN,	/* size_t: bytes readable at the F_NAME before it */
	F_IN_PTR,	/* const void *: `arg` bytes the kernel reads */
	F_OUT_PTR,	/* void *: `arg` bytes the kernel writes */
	F_DATA_IN,	/* const void *: a message payload */
	F_DATA_OUT,	/* void *: room for a message */
	F_MSG_SIZE,	/* size_t or ssize_t: a message size */
	F_INFO_SIZE,	/* size_t: the out struct's size (`arg`) as the caller knows it */
	F_CAPACITY,	/* int32: a port capacity */
	F_COUNT,	/* int32: a semaphore count */
	F_WAIT_FLAGS,	/* uint32: the flags of a call that may block (always bounded) */
	F_TIMEOUT,	/* int64: the timeout going with the F_WAIT_FLAGS before it */
	F_ANY_FLAGS,	/* uint32: any bits */
	F_I32,		/* int32: any value (exit codes, return codes) */
	F_OUT,		/* out: garbage in */
	F_CAPS_IN,	/* const struct nexus_port_cap_in *: capabilities to send */
	F_CAPS_OUT,	/* struct nexus_port_cap_out *: room for received ones */
	F_CAPS_COUNT,	/* size_t: how many caps there are, or there is room for */
	F_AREA_SIZE,	/* uint64: an area size (an F_FD after it gets a memfd of that size) */
	F_FD,		/* int32: a descriptor to make an area of */
	F_PROT,		/* uint32: area protection bits */
	F_AREA_LOCK,		/* uint32: an area lock kind */
	F_INLINE_NAME,	/* char[32] in the request: a name, filled to the last byte or not */
	F_NODE_FD,	/* int32: a descriptor to watch or to make a vref of (-1: none) */
	F_VREF_KEY,	/* uint64: a slot's key, for the F_ID vref before it */
	F_OPEN_MODE,	/* uint32: open(2) flags for a vref's OPEN */
	F_WATCH_FLAGS,	/* uint32: B_WATCH_* bits */
	F_TOKEN,	/* uint32: a watch's token */
	F_NODE_DEV,	/* uint64: a node's st_dev (~0: the volume watch) ... */
	F_NODE_INO,	/* uint64: ... and its st_ino, of the same node */
};

struct field {
	uint8_t kind;	/* enum field_kind */
	uint8_t arg;	/* an enum id_kind, or a size in bytes */
	uint16_t off;	/* in the request struct (unused for a by-value argument) */
	uint8_t width;	/* bytes */
};

enum arg_mode {
	ARG_STRUCT,	/* a pointer to a request struct of `size` bytes */
	ARG_VALUE,	/* fields[0] passed by value */
	ARG_NONE,	/* no argument (0, sometimes garbage) */
	ARG_REOPEN,	/* not an ioctl: close the device and open it again */
};

#define D_UNBOUNDED	0x1	/* may wait without a timeout: run under a timer */
#define D_OPTIONAL	0x2	/* numbered, maybe not implemented: ENOTTY is fine */
#define D_CREATES	0x4	/* its F_OUT_ID is a new object of the caller's */
#define D_STATUS_RET	0x8	/* returns its status as the ioctl's value (too: areas) */
/* Roles: a worker generation may favour one (its persona). */
#define R_CREATE	0x10	/* makes objects */
#define R_DESTROY	0x20	/* closes, deletes or gives them away; ends teams */
#define R_QUERY		0x40	/* finds, lists, describes */
#define R_WAIT		0x80	/* moves data or units, may block */
#define R_MASK		0xf0

#define MAX_FIELDS	8
#define NO_RET		0xffff

struct worker;

struct fuzz_ioctl {
	const char *name;
	unsigned long cmd;
	uint16_t size;		/* ARG_STRUCT: sizeof the request */
	uint16_t ret_off;	/* the ret field, or NO_RET */
	uint8_t arg;		/* enum arg_mode */
	uint8_t weight;		/* relative frequency */
	uint8_t flags;		/* D_* */
	struct field fields[MAX_FIELDS];
};

#define FLD(T, m, k, a) \
	{ (k), (a), offsetof(struct T, m), sizeof(((struct T *)0)->m) }
#define VAL(k, a)	{ (k), (a), 0, 8 }
#define RET(T)		offsetof(struct T, ret)
#define STRUCT(T)	sizeof(struct T), RET(T), ARG_STRUCT

/* ---- the /dev/nexus table ------------------------------------------------- */

static const struct fuzz_ioctl NEXUS_IOCTLS[] = {
	{ "PORT_CREATE", NEXUS_PORT_CREATE, STRUCT(nexus_port_create), 10, D_CREATES | R_CREATE, {
		FLD(nexus_port_create, name, F_NAME, 0),
		FLD(nexus_port_create, size, F_NAME_LEN, 0),
		FLD(nexus_port_create, capacity, F_CAPACITY, 0),
		FLD(nexus_port_create, id, F_OUT_ID, ID_PORT) } },
	{ "PORT_CLOSE", NEXUS_PORT_CLOSE, STRUCT(nexus_port_id), 4, R_DESTROY, {
		FLD(nexus_port_id, id, F_ID, ID_PORT) } },
	{ "PORT_FIND", NEXUS_PORT_FIND, STRUCT(nexus_port_find_req), 4, R_QUERY, {
		FLD(nexus_port_find_req, name, F_NAME, 0),
		FLD(nexus_port_find_req, size, F_NAME_LEN, 0),
		FLD(nexus_port_find_req, id, F_OUT_ID, ID_PORT) } },
	{ "GET_NEXT_PORT_FOR_TEAM", NEXUS_GET_NEXT_PORT_FOR_TEAM, STRUCT(nexus_get_next_port), 4, R_QUERY, {
		FLD(nexus_get_next_port, team, F_TEAM_OR_ALL, ID_TEAM),
		FLD(nexus_get_next_port, cookie, F_COOKIE, ID_PORT),
		FLD(nexus_get_next_port, info.port, F_OUT_ID, ID_PORT),
		FLD(nexus_get_next_port, info.team, F_OUT, 0) } },
	{ "PORT_DELETE", NEXUS_PORT_DELETE, STRUCT(nexus_port_id), 10, R_DESTROY, {
		FLD(nexus_port_id, id, F_ID, ID_PORT) } },
	{ "PORT_READ", NEXUS_PORT_READ, STRUCT(nexus_port_read), 6, R_WAIT, {
		FLD(nexus_port_read, id, F_ID, ID_PORT),
		FLD(nexus_port_read, code, F_OUT_PTR, 4),
		FLD(nexus_port_read, buffer, F_DATA_OUT, 0),
		FLD(nexus_port_read, size, F_MSG_SIZE, 0),
		FLD(nexus_port_read, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_port_read, timeout, F_TIMEOUT, 0) } },
	{ "PORT_WRITE", NEXUS_PORT_WRITE, STRUCT(nexus_port_write), 8, R_WAIT, {
		FLD(nexus_port_write, id, F_ID, ID_PORT),
		FLD(nexus_port_write, code, F_IN_PTR, 4),
		FLD(nexus_port_write, buffer, F_DATA_IN, 0),
		FLD(nexus_port_write, size, F_MSG_SIZE, 0),
		FLD(nexus_port_write, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_port_write, timeout, F_TIMEOUT, 0) } },
	{ "PORT_INFO", NEXUS_PORT_INFO, STRUCT(nexus_port_get_info), 3, R_QUERY, {
		FLD(nexus_port_get_info, id, F_ID, ID_PORT),
		FLD(nexus_port_get_info, info, F_OUT_PTR, sizeof(struct nexus_port_info)) } },
	{ "PORT_MESSAGE_INFO", NEXUS_PORT_MESSAGE_INFO, STRUCT(nexus_port_get_message_info), 3, R_WAIT, {
		FLD(nexus_port_get_message_info, id, F_ID, ID_PORT),
		FLD(nexus_port_get_message_info, size, F_INFO_SIZE,
		    sizeof(struct nexus_port_message_info)),
		FLD(nexus_port_get_message_info, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_port_get_message_info, timeout, F_TIMEOUT, 0),
		FLD(nexus_port_get_message_info, info, F_OUT_PTR,
		    sizeof(struct nexus_port_message_info)) } },
	{ "SET_PORT_OWNER", NEXUS_SET_PORT_OWNER, STRUCT(nexus_port_set_owner), 4, R_DESTROY, {
		FLD(nexus_port_set_owner, id, F_ID, ID_PORT),
		FLD(nexus_port_set_owner, team, F_ID, ID_TEAM) } },
	{ "SEM_CREATE", NEXUS_SEM_CREATE, STRUCT(nexus_sem_create), 10, D_CREATES | R_CREATE, {
		FLD(nexus_sem_create, name, F_NAME, 0),
		FLD(nexus_sem_create, count, F_COUNT, 0),
		FLD(nexus_sem_create, id, F_OUT_ID, ID_SEM) } },
	{ "SEM_ACQUIRE", NEXUS_SEM_ACQUIRE, STRUCT(nexus_sem_op), 8, R_WAIT, {
		FLD(nexus_sem_op, id, F_ID, ID_SEM),
		FLD(nexus_sem_op, count, F_COUNT, 0),
		FLD(nexus_sem_op, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_sem_op, timeout, F_TIMEOUT, 0) } },
	{ "SEM_RELEASE", NEXUS_SEM_RELEASE, STRUCT(nexus_sem_op), 8, R_WAIT, {
		FLD(nexus_sem_op, id, F_ID, ID_SEM),
		FLD(nexus_sem_op, count, F_COUNT, 0),
		FLD(nexus_sem_op, flags, F_ANY_FLAGS, 0),
		FLD(nexus_sem_op, timeout, F_OUT, 0) } },
	{ "SEM_DELETE", NEXUS_SEM_DELETE, STRUCT(nexus_sem_delete_req), 10, R_DESTROY, {
		FLD(nexus_sem_delete_req, id, F_ID, ID_SEM) } },
	{ "SEM_COUNT", NEXUS_SEM_COUNT, STRUCT(nexus_sem_count_req), 3, R_QUERY, {
		FLD(nexus_sem_count_req, id, F_ID, ID_SEM),
		FLD(nexus_sem_count_req, count, F_OUT, 0) } },
	{ "SEM_INFO", NEXUS_SEM_INFO, STRUCT(nexus_sem_info_req), 3, R_QUERY, {
		FLD(nexus_sem_info_req, id, F_ID, ID_SEM),
		FLD(nexus_sem_info_req, team, F_TEAM_OR_ALL, ID_TEAM),
		FLD(nexus_sem_info_req, info.sem, F_OUT_ID, ID_SEM) } },
	{ "SEM_NEXT_INFO", NEXUS_SEM_NEXT_INFO, STRUCT(nexus_sem_next_info), 4, R_QUERY, {
		FLD(nexus_sem_next_info, team, F_TEAM_OR_ALL, ID_TEAM),
		FLD(nexus_sem_next_info, cookie, F_COOKIE, ID_SEM),
		FLD(nexus_sem_next_info, info.sem, F_OUT_ID, ID_SEM) } },
#ifdef NEXUS_PORT_WRITE_CAPS
	/* Messages with capabilities: numbered, not implemented by every tree. */
	{ "PORT_WRITE_CAPS", NEXUS_PORT_WRITE_CAPS, STRUCT(nexus_port_write_caps), 3,
	  D_OPTIONAL | R_WAIT, {
		FLD(nexus_port_write_caps, id, F_ID, ID_PORT),
		FLD(nexus_port_write_caps, code, F_IN_PTR, 4),
		FLD(nexus_port_write_caps, buffer, F_DATA_IN, 0),
		FLD(nexus_port_write_caps, size, F_MSG_SIZE, 0),
		FLD(nexus_port_write_caps, caps, F_CAPS_IN, 0),
		FLD(nexus_port_write_caps, caps_count, F_CAPS_COUNT, 0),
		FLD(nexus_port_write_caps, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_port_write_caps, timeout, F_TIMEOUT, 0) } },
	{ "PORT_READ_CAPS", NEXUS_PORT_READ_CAPS, STRUCT(nexus_port_read_caps), 3,
	  D_OPTIONAL | R_WAIT, {
		FLD(nexus_port_read_caps, id, F_ID, ID_PORT),
		FLD(nexus_port_read_caps, code, F_OUT_PTR, 4),
		FLD(nexus_port_read_caps, buffer, F_DATA_OUT, 0),
		FLD(nexus_port_read_caps, size, F_MSG_SIZE, 0),
		FLD(nexus_port_read_caps, caps, F_CAPS_OUT, 0),
		FLD(nexus_port_read_caps, caps_count, F_CAPS_COUNT, 0),
		FLD(nexus_port_read_caps, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_port_read_caps, timeout, F_TIMEOUT, 0) } },
#endif
	/* Threads: numbered, not implemented yet by every tree. */
	{ "THREAD_SPAWN", NEXUS_THREAD_SPAWN, sizeof(struct nexus_thread_spawn), NO_RET,
	  ARG_STRUCT, 2, D_OPTIONAL | D_UNBOUNDED | D_STATUS_RET | R_CREATE, {
		FLD(nexus_thread_spawn, name, F_NAME, 0),
		FLD(nexus_thread_spawn, father, F_ID, ID_THREAD) } },
	{ "THREAD_SET_NAME", NEXUS_THREAD_SET_NAME, sizeof(struct nexus_thread_set_name_req),
	  NO_RET, ARG_STRUCT, 2, D_OPTIONAL | D_STATUS_RET, {
		FLD(nexus_thread_set_name_req, name, F_NAME, 0),
		FLD(nexus_thread_set_name_req, size, F_NAME_LEN, 0) } },
	{ "THREAD_WAIT_NEWBORN", NEXUS_THREAD_WAIT_NEWBORN, 0, NO_RET, ARG_NONE, 1,
	  D_OPTIONAL | D_UNBOUNDED | D_STATUS_RET, { { F_END, 0, 0, 0 } } },
	{ "THREAD_CLONE_EXECUTED", NEXUS_THREAD_CLONE_EXECUTED, 0, NO_RET, ARG_VALUE, 1,
	  D_OPTIONAL | D_UNBOUNDED | D_STATUS_RET, { VAL(F_I32, 0) } },
	{ "THREAD_RESUME", NEXUS_THREAD_RESUME, 0, NO_RET, ARG_VALUE, 2, D_OPTIONAL | D_STATUS_RET, {
		VAL(F_ID, ID_THREAD) } },
	{ "THREAD_SET_RETURN_CODE", NEXUS_THREAD_SET_RETURN_CODE, 0, NO_RET, ARG_VALUE, 1,
	  D_OPTIONAL | D_STATUS_RET, { VAL(F_I32, 0) } },
	{ "THREAD_READ", NEXUS_THREAD_READ, STRUCT(nexus_thread_rw), 2, D_OPTIONAL | R_WAIT, {
		FLD(nexus_thread_rw, sender, F_OUT, 0),
		FLD(nexus_thread_rw, receiver, F_ID, ID_THREAD),
		FLD(nexus_thread_rw, buffer, F_DATA_OUT, 0),
		FLD(nexus_thread_rw, size, F_MSG_SIZE, 0),
		FLD(nexus_thread_rw, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_thread_rw, timeout, F_TIMEOUT, 0),
		FLD(nexus_thread_rw, return_code, F_OUT, 0) } },
	{ "THREAD_WRITE", NEXUS_THREAD_WRITE, STRUCT(nexus_thread_rw), 3, D_OPTIONAL | R_WAIT, {
		FLD(nexus_thread_rw, sender, F_ID, ID_THREAD),
		FLD(nexus_thread_rw, receiver, F_ID, ID_THREAD),
		FLD(nexus_thread_rw, buffer, F_DATA_IN, 0),
		FLD(nexus_thread_rw, size, F_MSG_SIZE, 0),
		FLD(nexus_thread_rw, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_thread_rw, timeout, F_TIMEOUT, 0),
		FLD(nexus_thread_rw, return_code, F_I32, 0) } },
	{ "THREAD_HAS_DATA", NEXUS_THREAD_HAS_DATA, STRUCT(nexus_thread_rw), 1, D_OPTIONAL | R_QUERY, {
		FLD(nexus_thread_rw, sender, F_OUT, 0),
		FLD(nexus_thread_rw, receiver, F_ID, ID_THREAD),
		FLD(nexus_thread_rw, buffer, F_DATA_OUT, 0),
		FLD(nexus_thread_rw, size, F_MSG_SIZE, 0),
		FLD(nexus_thread_rw, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_thread_rw, timeout, F_TIMEOUT, 0) } },
	{ "THREAD_WAITFOR", NEXUS_THREAD_WAITFOR, STRUCT(nexus_thread_waitfor_req), 2, D_OPTIONAL | R_WAIT, {
		FLD(nexus_thread_waitfor_req, receiver, F_ID, ID_THREAD),
		FLD(nexus_thread_waitfor_req, flags, F_WAIT_FLAGS, 0),
		FLD(nexus_thread_waitfor_req, timeout, F_TIMEOUT, 0),
		FLD(nexus_thread_waitfor_req, return_code, F_OUT, 0) } },
	{ "THREAD_GET_INFO", NEXUS_THREAD_GET_INFO, STRUCT(nexus_thread_info_req), 2, D_OPTIONAL | R_QUERY, {
		FLD(nexus_thread_info_req, thread, F_TEAM_OR_ALL, ID_THREAD),
		FLD(nexus_thread_info_req, team, F_OUT, 0),
		FLD(nexus_thread_info_req, state, F_OUT, 0) } },
	/* The team ends (its objects with it) and a new one begins. */
	{ "REOPEN", 0, 0, NO_RET, ARG_REOPEN, 1, R_DESTROY, { { F_END, 0, 0, 0 } } },
};

/* ---- the /dev/nexus_area table ------------------------------------------- */

static const struct fuzz_ioctl AREA_IOCTLS[] = {
	/* The size first: the memfd F_FD makes is of that size (or of another, on purpose). */
	{ "AREA_CREATE", NEXUS_AREA_CREATE, STRUCT(nexus_area_create), 10,
	  D_STATUS_RET | D_CREATES | R_CREATE, {
		FLD(nexus_area_create, size, F_AREA_SIZE, 0),
		FLD(nexus_area_create, fd, F_FD, 0),
		FLD(nexus_area_create, name, F_INLINE_NAME, 0),
		FLD(nexus_area_create, lock, F_AREA_LOCK, 0),
		FLD(nexus_area_create, protection, F_PROT, 0),
		FLD(nexus_area_create, area, F_OUT_ID, ID_AREA) } },
	{ "AREA_CLONE", NEXUS_AREA_CLONE, STRUCT(nexus_area_clone), 8,
	  D_STATUS_RET | D_CREATES | R_CREATE, {
		FLD(nexus_area_clone, source, F_ID, ID_AREA),
		FLD(nexus_area_clone, name, F_INLINE_NAME, 0),
		FLD(nexus_area_clone, protection, F_PROT, 0),
		FLD(nexus_area_clone, area, F_OUT_ID, ID_AREA),
		FLD(nexus_area_clone, fd, F_OUT, 0),
		FLD(nexus_area_clone, size, F_OUT, 0) } },
	{ "AREA_DELETE", NEXUS_AREA_DELETE, STRUCT(nexus_area_delete), 8, D_STATUS_RET | R_DESTROY, {
		FLD(nexus_area_delete, area, F_ID, ID_AREA) } },
	{ "AREA_FIND", NEXUS_AREA_FIND, STRUCT(nexus_area_find), 3, D_STATUS_RET | R_QUERY, {
		FLD(nexus_area_find, name, F_INLINE_NAME, 0),
		FLD(nexus_area_find, area, F_OUT_ID, ID_AREA),
		FLD(nexus_area_find, size, F_OUT, 0) } },
	{ "AREA_GET_INFO", NEXUS_AREA_GET_INFO, STRUCT(nexus_area_get_info), 3, D_STATUS_RET | R_QUERY, {
		FLD(nexus_area_get_info, area, F_ID, ID_AREA),
		FLD(nexus_area_get_info, size, F_OUT, 0),
		FLD(nexus_area_get_info, team, F_OUT, 0) } },
	{ "AREA_RESIZE", NEXUS_AREA_RESIZE, STRUCT(nexus_area_resize), 5, D_STATUS_RET | R_DESTROY, {
		FLD(nexus_area_resize, area, F_ID, ID_AREA),
		FLD(nexus_area_resize, new_size, F_AREA_SIZE, 0) } },
	{ "AREA_SET_PROTECTION", NEXUS_AREA_SET_PROTECTION, STRUCT(nexus_area_set_protection), 3,
	  D_STATUS_RET | R_DESTROY, {
		FLD(nexus_area_set_protection, area, F_ID, ID_AREA),
		FLD(nexus_area_set_protection, protection, F_PROT, 0) } },
	{ "AREA_TRANSFER", NEXUS_AREA_TRANSFER, STRUCT(nexus_area_transfer), 4, D_STATUS_RET | R_DESTROY, {
		FLD(nexus_area_transfer, area, F_ID, ID_AREA),
		FLD(nexus_area_transfer, target, F_ID, ID_TEAM),
		FLD(nexus_area_transfer, new_area, F_OUT, 0),
		FLD(nexus_area_transfer, fd, F_OUT, 0) } },
	{ "AREA_GET_NEXT", NEXUS_AREA_GET_NEXT, STRUCT(nexus_area_get_next), 3, D_STATUS_RET | R_QUERY, {
		FLD(nexus_area_get_next, team, F_TEAM_OR_ALL, ID_TEAM),
		FLD(nexus_area_get_next, cookie, F_COOKIE, ID_AREA),
		FLD(nexus_area_get_next, area, F_OUT_ID, ID_AREA),
		FLD(nexus_area_get_next, size, F_OUT, 0),
		FLD(nexus_area_get_next, next_cookie, F_OUT, 0) } },
};

/* ---- the /dev/nexus_node_monitor table -------------------------------------- */

/*
 * Vrefs and watches answer with the ioctl's value (0 or a negative errno)
 * and have no ret field.  OPEN may wait (a vref of a FIFO opens like
 * open(2) does): it runs under the timer.
 */
#define NORET(T)	sizeof(struct T), NO_RET, ARG_STRUCT

static const struct fuzz_ioctl NM_IOCTLS[] = {
	{ "VREF_CREATE", NEXUS_VREF_CREATE, NORET(nexus_vref_create), 8, D_CREATES | R_CREATE, {
		FLD(nexus_vref_create, fd, F_NODE_FD, 0),
		FLD(nexus_vref_create, id, F_OUT_ID, ID_VREF),
		FLD(nexus_vref_create, key, F_OUT, 0) } },
	{ "VREF_ACQUIRE", NEXUS_VREF_ACQUIRE, NORET(nexus_vref_op), 6, R_CREATE, {
		FLD(nexus_vref_op, id, F_ID, ID_VREF),
		FLD(nexus_vref_op, key, F_VREF_KEY, 0) } },
	{ "VREF_RELEASE", NEXUS_VREF_RELEASE, NORET(nexus_vref_op), 6, R_DESTROY, {
		FLD(nexus_vref_op, id, F_ID, ID_VREF),
		FLD(nexus_vref_op, key, F_VREF_KEY, 0) } },
	{ "VREF_OPEN", NEXUS_VREF_OPEN, NORET(nexus_vref_open), 5, D_UNBOUNDED | R_QUERY, {
		FLD(nexus_vref_open, id, F_ID, ID_VREF),
		FLD(nexus_vref_open, key, F_VREF_KEY, 0),
		FLD(nexus_vref_open, requested_mode, F_OPEN_MODE, 0),
		FLD(nexus_vref_open, fd_out, F_OUT, 0) } },
	{ "START_WATCHING", NEXUS_START_WATCHING, NORET(nexus_watch_fd), 9, R_CREATE, {
		FLD(nexus_watch_fd, fd, F_NODE_FD, 1),
		FLD(nexus_watch_fd, flags, F_WATCH_FLAGS, 0),
		FLD(nexus_watch_fd, port, F_ID, ID_PORT),
		FLD(nexus_watch_fd, token, F_TOKEN, 0),
		FLD(nexus_watch_fd, vref_id, F_ID, ID_VREF) } },
	{ "STOP_WATCHING", NEXUS_STOP_WATCHING, NORET(nexus_unwatch_fd), 4, R_DESTROY, {
		FLD(nexus_unwatch_fd, device, F_NODE_DEV, 0),
		FLD(nexus_unwatch_fd, node, F_NODE_INO, 0),
		FLD(nexus_unwatch_fd, port, F_ID, ID_PORT),
		FLD(nexus_unwatch_fd, token, F_TOKEN, 0) } },
	{ "STOP_NOTIFYING", NEXUS_STOP_NOTIFYING, NORET(nexus_stop_notifying), 4, R_DESTROY, {
		FLD(nexus_stop_notifying, port, F_ID, ID_PORT),
		FLD(nexus_stop_notifying, token, F_TOKEN, 0) } },
};

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Devices and their tables: a new primitive adds its line here. */
static const struct fuzz_device {
	const char *path;
	const struct fuzz_ioctl *ioctls;
	size_t count;
} DEVICES[] = {
	{ NEXUS_DEVICE_PATH, NEXUS_IOCTLS, COUNT_OF(NEXUS_IOCTLS) },
	{ NEXUS_AREA_DEVICE_PATH, AREA_IOCTLS, COUNT_OF(AREA_IOCTLS) },
	{ NEXUS_NODE_MONITOR_DEVICE_PATH, NM_IOCTLS, COUNT_OF(NM_IOCTLS) },
};
enum { DEV_NEXUS, DEV_AREA, DEV_NM };
#define NR_DEVICES COUNT_OF(DEVICES)
#define MAX_DESCS 64

/* Every description of every device, flattened, with the device of each. */
static const struct fuzz_ioctl *descs[MAX_DESCS];
static uint8_t desc_device[MAX_DESCS];
static size_t nr_descs;

static void flatten_tables(void)
{
	for (size_t d = 0; d < NR_DEVICES; d++) {
		for (size_t i = 0; i < DEVICES[d].count && nr_descs < MAX_DESCS; i++) {
			descs[nr_descs] = &DEVICES[d].ioctls[i];
			desc_device[nr_descs] = (uint8_t)d;
			nr_descs++;
		}
	}
}

/*
 * Personas: each worker generation favours one role eight to one (or none),
 * so that at any moment some workers mostly create while others mostly
 * delete the ids about to be handed out, or list, or wait.
 */
enum { P_MIXED, P_CREATE, P_DESTROY, P_QUERY, P_WAIT, NR_P };
static const uint8_t P_WEIGHTS[NR_P] = { 2, 3, 4, 1, 1 };
static const uint8_t P_ROLES[NR_P] = { 0, R_CREATE, R_DESTROY, R_QUERY, R_WAIT };
static const char *const P_NAMES[NR_P] = { "mixed", "creator", "destroyer", "querier", "waiter" };
#define PERSONA_BOOST 8

static uint64_t desc_weight(size_t i, unsigned int persona)
{
	uint8_t role = P_ROLES[persona];

	return (uint64_t)descs[i]->weight * (role && (descs[i]->flags & role) ? PERSONA_BOOST : 1);
}

static size_t pick_desc(struct rng *r, unsigned int persona)
{
	uint64_t total = 0, x;

	for (size_t i = 0; i < nr_descs; i++)
		total += desc_weight(i, persona);
	x = rng_below(r, total);
	for (size_t i = 0; i < nr_descs; i++) {
		if (x < desc_weight(i, persona))
			return i;
		x -= desc_weight(i, persona);
	}
	return nr_descs - 1;
}

/* ---- choices: what the generator decides, before anything is resolved --- */

/* How an id is chosen. */
enum { IDC_RECENT, IDC_PRED, IDC_HOLE, IDC_OWN, IDC_ZERO, IDC_NEG, IDC_MAX, IDC_RANDOM,
	IDC_STALE, IDC_DEAD, IDC_PARENT, NR_IDC };
static const uint8_t IDC_WEIGHTS[NR_IDC] = { 30, 15, 8, 12, 3, 3, 2, 3, 5, 4, 4 };
/* A vref is usable by a team that holds a slot in it: its own, mostly. */
static const uint8_t IDC_VREF_WEIGHTS[NR_IDC] = { 20, 8, 4, 40, 3, 3, 2, 4, 5, 3, 8 };
/* A destroyer aims at the ids being handed out right now. */
static const uint8_t IDC_DESTROYER_WEIGHTS[NR_IDC] = { 10, 50, 30, 3, 1, 1, 1, 1, 1, 1, 1 };

/* Where a pointer points. */
enum { PC_VALID, PC_NULL, PC_UNMAPPED, PC_READONLY, PC_KERNEL, PC_NONCANON,
	PC_EDGE, PC_MISALIGNED, PC_ALIAS, NR_PC };
static const uint8_t PC_WEIGHTS[NR_PC] = { 70, 5, 5, 4, 5, 3, 4, 2, 2 };
static const uint8_t PC_CREATOR_WEIGHTS[NR_PC] = { 94, 1, 1, 1, 1, 0, 1, 1, 0 };
/* The request struct itself: mostly valid. */
static const uint8_t ARG_PC_WEIGHTS[NR_PC] = { 92, 1, 1, 2, 1, 1, 2, 0, 0 };
static const char *const PC_NAMES[NR_PC] = {
	"valid", "NULL", "unmapped", "readonly", "kernel", "noncanon", "edge",
	"misaligned", "alias" };
static const uint64_t KERNEL_ADDRS[] = {
	0xffff800000000000ULL, 0xffffffff81000000ULL, 0xffff888000000000ULL,
	0xfffffffffffff000ULL, 0xffffffffffffffffULL };
static const uint64_t NONCANON_ADDRS[] = {
	0x0000800000000000ULL, 0x8000000000000000ULL, 0x00007ffffffff000ULL };

/* Name contents. */
enum { NC_SHARED, NC_UNIQUE, NC_EMPTY, NC_LONG, NC_NONUL, NC_BINARY, NR_NC };
static const uint8_t NC_WEIGHTS[NR_NC] = { 40, 15, 5, 15, 15, 10 };
static const char *const NC_NAMES[NR_NC] = {
	"shared", "unique", "empty", "long", "no-nul", "binary" };
static const size_t LONG_LENS[] = { 30, 31, 32, 33, 64 };

/* Name sizes. */
enum { NL_EXACT, NL_STRLEN, NL_ZERO, NL_ONE, NL_31, NL_32, NL_33, NL_HUGE, NL_BIG,
	NL_RANDOM, NR_NL };
static const uint8_t NL_WEIGHTS[NR_NL] = { 40, 10, 5, 5, 5, 8, 5, 8, 4, 10 };
static const uint8_t NL_CREATOR_WEIGHTS[NR_NL] = { 80, 5, 2, 2, 2, 2, 2, 1, 1, 3 };
static const char *const NL_NAMES[NR_NL] = {
	"exact", "strlen", "0", "1", "31", "32", "33", "SIZE_MAX", "1<<32", "random" };

/* Message sizes (ports' largest, then threads'). */
#define MSG_MAX NEXUS_PORT_MAX_MESSAGE_SIZE
#define THREAD_MSG_MAX NEXUS_THREAD_MAX_MESSAGE_SIZE
enum { MS_ZERO, MS_ONE, MS_SMALL, MS_PAGE, MS_MAX, MS_MAX1, MS_HUGE, MS_BIG, MS_NEG, MS_TMAX,
	MS_TMAX1, MS_MIN, NR_MS };
static const uint8_t MS_WEIGHTS[NR_MS] = { 15, 8, 40, 5, 3, 5, 5, 4, 3, 3, 4, 2 };
static const char *const MS_NAMES[NR_MS] = {
	"0", "1", "small", "4096", "256KiB", "256KiB+1", "SIZE_MAX", "big", "-1", "64KiB",
	"64KiB+1", "INT64_MIN" };

/* Descriptors to make an area of. */
enum { FD_MEMFD, FD_MEMFD_SIZE, FD_MEMFD_RO, FD_MEMFD_SEALED, FD_HUGETLB, FD_NOT_MEMFD, FD_CLONE,
	FD_CLOSED, FD_NEG, FD_BIG, NR_FD };
static const uint8_t FD_WEIGHTS[NR_FD] = { 50, 8, 6, 5, 5, 8, 5, 5, 4, 4 };
/* A creator's creates mostly succeed (each one a publish to race with). */
static const uint8_t FD_CREATOR_WEIGHTS[NR_FD] = { 85, 3, 2, 2, 2, 2, 1, 1, 1, 1 };
static const char *const FD_NAMES[NR_FD] = {
	"memfd", "memfd-other-size", "memfd-readonly", "memfd-sealed", "hugetlb", "not-memfd",
	"clone-fd", "closed", "-1", "big" };
enum { NM_DEVNULL, NM_PIPE, NM_EVENTFD, NM_NEXUS, NM_NEXUS_AREA, NM_SHM, NR_NM };
static const char *const NM_NAMES[NR_NM] = {
	"dev-null", "pipe", "eventfd", "dev-nexus", "dev-nexus-area", "shm-file" };

/* Area sizes. */
#define PAGE		4096
enum { AS_PAGES, AS_ZERO, AS_ONE, AS_PAGE_LESS, AS_UNALIGNED, AS_2M, AS_2G, AS_TERA, AS_MAX,
	AS_NEG, NR_AS };
static const uint8_t AS_WEIGHTS[NR_AS] = { 60, 5, 4, 4, 6, 3, 3, 4, 4, 4 };
static const uint8_t AS_CREATOR_WEIGHTS[NR_AS] = { 90, 1, 1, 1, 2, 1, 1, 1, 1, 1 };
static const char *const AS_NAMES[NR_AS] = {
	"pages", "0", "1", "4095", "unaligned", "2MiB", "2GiB", "1TiB", "UINT64_MAX", "-4096" };
#define AREA_PAGES_MAX	16

/* Area protections. */
enum { PR_VALID, PR_ZERO, PR_BIT, PR_RANDOM, PR_ALL, NR_PR };
static const uint8_t PR_WEIGHTS[NR_PR] = { 70, 5, 10, 10, 5 };
static const uint8_t PR_CREATOR_WEIGHTS[NR_PR] = { 92, 2, 2, 2, 2 };
static const char *const PR_NAMES[NR_PR] = { "valid", "0", "one-bit", "random", "all" };

/* Area lock kinds. */
enum { LK_VALID, LK_BAD, LK_RANDOM, LK_MAX, NR_LK };
static const uint8_t LK_WEIGHTS[NR_LK] = { 80, 8, 8, 4 };
static const char *const LK_NAMES[NR_LK] = { "valid", "bad", "random", "UINT32_MAX" };

/* Info struct sizes. */
enum { IS_EXACT, IS_ZERO, IS_LESS, IS_MORE, IS_HUGE, IS_RANDOM, NR_IS };
static const uint8_t IS_WEIGHTS[NR_IS] = { 60, 8, 8, 8, 8, 8 };
static const char *const IS_NAMES[NR_IS] = { "exact", "0", "exact-1", "more", "SIZE_MAX", "random" };

/* int32 values: capacities, counts, codes. */
enum { IV_ZERO, IV_ONE, IV_TWO, IV_THREE, IV_SMALL, IV_NEG1, IV_MIN, IV_MAX, IV_MAX1,
	IV_HALF, IV_4096, IV_4097, IV_RANDOM, NR_IV };
static const char *const IV_NAMES[NR_IV] = {
	"0", "1", "2", "3", "small", "-1", "INT32_MIN", "INT32_MAX", "INT32_MAX-1",
	"2^30", "4096", "4097", "random" };
static const uint8_t CAP_WEIGHTS[NR_IV] = { 8, 10, 5, 0, 46, 5, 5, 5, 0, 0, 8, 8, 2 };
/* A creator's creates mostly succeed: each one is a publish to race with. */
static const uint8_t CAP_CREATOR_WEIGHTS[NR_IV] = { 1, 20, 10, 0, 60, 1, 1, 1, 0, 0, 5, 1, 0 };
static const uint8_t COUNT_WEIGHTS[NR_IV] = { 10, 30, 10, 5, 5, 8, 5, 5, 4, 3, 0, 0, 5 };
static const uint8_t I32_WEIGHTS[NR_IV] = { 30, 10, 0, 0, 0, 10, 10, 10, 0, 0, 0, 0, 30 };

/* Waits: relative, absolute, or both bits (then only timeouts <= 0). */
enum { WM_REL, WM_ABS, WM_BOTH, NR_WM };
static const uint8_t WM_WEIGHTS[NR_WM] = { 55, 35, 10 };
/* Timeouts; which ones a mode may use is in timeout_allowed(). */
enum { TO_MIN, TO_NEG1, TO_ZERO, TO_ONE, TO_SHORT, TO_PAST, TO_NOW, TO_SOON, NR_TO };
static const uint8_t TO_WEIGHTS[NR_TO] = { 1, 1, 3, 2, 10, 2, 2, 10 };
static const char *const TO_NAMES[NR_TO] = {
	"INT64_MIN", "-1", "0", "1", "short", "past", "now", "soon" };
#define SHORT_TIMEOUT_US 2000

/* Flags without a wait: any bits. */
enum { AF_ZERO, AF_BIT, AF_KNOWN, AF_RANDOM, AF_ALL, NR_AF };
static const uint8_t AF_WEIGHTS[NR_AF] = { 30, 30, 20, 15, 5 };
static const char *const AF_NAMES[NR_AF] = { "0", "one-bit", "known", "random", "all" };

/* Capability counts. */
enum { CC_ZERO, CC_ONE, CC_FEW, CC_MAX, CC_MAX1, CC_HUGE, NR_CC };
static const uint8_t CC_WEIGHTS[NR_CC] = { 20, 30, 30, 5, 8, 7 };
static const char *const CC_NAMES[NR_CC] = { "0", "1", "few", "1024", "1025", "SIZE_MAX" };
#define MAX_CAPS 1024

/* Cookies. */
enum { CK_ZERO, CK_RECENT, CK_PRED, CK_NEG, CK_MIN, CK_MAX, CK_RANDOM, NR_CK };
static const uint8_t CK_WEIGHTS[NR_CK] = { 30, 30, 10, 8, 5, 5, 12 };
static const char *const CK_NAMES[NR_CK] = { "0", "recent", "max+", "-1", "INT32_MIN", "INT32_MAX", "random" };

/*
 * Node descriptors (to watch, or to make a vref of): the scratch directory
 * the churner keeps changing, its subdirectory, its files opened each way,
 * O_PATH, the tmpfs the churner mounts and unmounts, "/", -1 (a vref's
 * node or the volume watch), things that are no file of a file system, a
 * closed or a huge descriptor.
 */
enum { ND_DIR, ND_SUBDIR, ND_FILE_RO, ND_FILE_WO, ND_FILE_RW, ND_FILE_APPEND, ND_PATH, ND_MOUNT,
	ND_ROOT, ND_NEG, ND_OTHER, ND_CLOSED, ND_BIG, NR_ND };
static const uint8_t ND_WEIGHTS[NR_ND] = { 30, 6, 8, 4, 5, 3, 4, 5, 2, 6, 8, 3, 2 };
/* A watch: -1 (by vref, or the volume) more often. */
static const uint8_t ND_WATCH_WEIGHTS[NR_ND] = { 30, 6, 5, 1, 2, 1, 4, 6, 2, 18, 5, 3, 2 };
static const uint8_t ND_CREATOR_WEIGHTS[NR_ND] = { 40, 8, 12, 6, 8, 4, 3, 5, 1, 4, 3, 1, 1 };
static const char *const ND_NAMES[NR_ND] = {
	"dir", "subdir", "file-ro", "file-wo", "file-rw", "file-append", "o-path", "mount", "root",
	"-1", "other", "closed", "big" };
enum { NO_DEVNULL, NO_PIPE, NO_EVENTFD, NO_SOCKET, NO_NEXUS, NO_NM, NO_MEMFD, NO_PROC, NR_NO };
static const char *const NO_NAMES[NR_NO] = {
	"dev-null", "pipe", "eventfd", "socket", "dev-nexus", "dev-nexus-node-monitor", "memfd", "proc" };

/* Vref keys: the caller's slot in that vref, another of its slots, another team's, forged. */
enum { KC_OWN, KC_OWN_OTHER, KC_FOREIGN, KC_FLIP, KC_ZERO, KC_RANDOM, KC_MAX, NR_KC };
static const uint8_t KC_WEIGHTS[NR_KC] = { 55, 8, 12, 8, 5, 9, 3 };
static const char *const KC_NAMES[NR_KC] = { "own", "own-other", "foreign", "flipped", "0", "random", "UINT64_MAX" };

/* open(2) flags for a vref's OPEN: allowed ones, forbidden bits, garbage. */
enum { OM_VALID, OM_PATH, OM_CREAT, OM_ACC3, OM_BIT, OM_RANDOM, OM_ALL, NR_OM };
static const uint8_t OM_WEIGHTS[NR_OM] = { 66, 5, 8, 5, 6, 7, 3 };
static const char *const OM_NAMES[NR_OM] = { "valid", "o-path", "o-creat", "accmode-3", "one-bit", "random", "all" };

/* Watch flags. */
enum { WF_VALID, WF_MOUNT, WF_ZERO, WF_HIGH, WF_RANDOM, WF_ALL7F, WF_ALL, NR_WF };
static const uint8_t WF_WEIGHTS[NR_WF] = { 60, 10, 5, 8, 9, 5, 3 };
static const uint8_t WF_CREATOR_WEIGHTS[NR_WF] = { 80, 8, 2, 2, 4, 3, 1 };
static const char *const WF_NAMES[NR_WF] = { "valid", "mount", "0", "high-bit", "random", "0x7f", "all" };

/* Tokens: a few small ones (so stops meet starts), or any. */
enum { TK_SMALL, TK_RANDOM, TK_MAX, NR_TK };
static const uint8_t TK_WEIGHTS[NR_TK] = { 85, 10, 5 };
static const char *const TK_NAMES[NR_TK] = { "small", "random", "UINT32_MAX" };
#define TOKENS 2

/* The node a STOP_WATCHING names. */
enum { TG_DIR, TG_FILE, TG_VOLUME, TG_SUBDIR, TG_MOUNT, TG_DEV_ONLY, TG_ZERO, TG_RANDOM, NR_TG };
static const uint8_t TG_WEIGHTS[NR_TG] = { 35, 20, 15, 5, 5, 5, 5, 10 };
static const char *const TG_NAMES[NR_TG] = { "dir", "file", "volume", "subdir", "mount", "dev-only", "0", "random" };

/* The ioctl number. */
enum { CMD_EXACT, CMD_SIZE, CMD_DIR, CMD_NR, CMD_TYPE, CMD_RANDOM, NR_CMD };
static const uint8_t CMD_WEIGHTS[NR_CMD] = { 88, 4, 2, 3, 1, 2 };
static const char *const CMD_NAMES[NR_CMD] = { "exact", "size", "dir", "nr", "type", "random" };

static unsigned int pick(struct rng *r, const uint8_t *weights, unsigned int n)
{
	unsigned int total = 0, x;

	for (unsigned int i = 0; i < n; i++)
		total += weights[i];
	x = (unsigned int)rng_below(r, total);
	for (unsigned int i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

#define PICK(r, w) pick((r), (w), COUNT_OF(w))

struct choice {
	uint8_t how;	/* the kind's choice (IDC_*, MS_*, ...) */
	uint8_t ptr;	/* F_NAME: where the name is (PC_*) */
	uint64_t v;	/* randomness for the details */
};

/* One call, as decided by the seed alone. */
struct plan {
	size_t desc;
	uint8_t cmd_how;
	uint8_t arg_ptr;	/* PC_* for the request struct */
	bool inherited;		/* on the parent's descriptor: must be refused */
	uint64_t cmd_v, arg_v, fill;
	struct choice f[MAX_FIELDS];
};

static bool timeout_allowed(unsigned int mode, unsigned int to)
{
	switch (mode) {
	case WM_REL:
		return to <= TO_SHORT;
	case WM_ABS:
		return to != TO_ONE && to != TO_SHORT;
	default:
		return to == TO_MIN || to == TO_NEG1 || to == TO_ZERO;
	}
}

/* What the generator knows while it decides one call. */
struct gen {
	unsigned int persona;
	unsigned int mode;	/* the WM_* of the call's F_WAIT_FLAGS */
};

static uint8_t gen_id(struct rng *r, const struct gen *g, unsigned int kind)
{
	if (kind == ID_VREF)
		return (uint8_t)PICK(r, IDC_VREF_WEIGHTS);
	return (uint8_t)(g->persona == P_DESTROY ? PICK(r, IDC_DESTROYER_WEIGHTS) :
			 PICK(r, IDC_WEIGHTS));
}

static struct choice gen_field(struct rng *r, const struct field *fl, struct gen *g)
{
	struct choice c = { 0, PC_VALID, rng_next(r) };

	switch (fl->kind) {
	case F_ID:
		c.how = gen_id(r, g, fl->arg);
		break;
	case F_TEAM_OR_ALL:
		c.how = rng_chance(r, 1, 2) ? IDC_ZERO : gen_id(r, g, fl->arg);
		break;
	case F_COOKIE:
		c.how = (uint8_t)PICK(r, CK_WEIGHTS);
		break;
	case F_NAME:
		c.how = (uint8_t)PICK(r, NC_WEIGHTS);
		c.ptr = (uint8_t)(g->persona == P_CREATE ? PICK(r, PC_CREATOR_WEIGHTS) :
				  PICK(r, PC_WEIGHTS));
		break;
	case F_NAME_LEN:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, NL_CREATOR_WEIGHTS) :
				  PICK(r, NL_WEIGHTS));
		break;
	case F_IN_PTR:
	case F_OUT_PTR:
	case F_DATA_IN:
	case F_DATA_OUT:
	case F_CAPS_IN:
	case F_CAPS_OUT:
		c.how = (uint8_t)PICK(r, PC_WEIGHTS);
		break;
	case F_CAPS_COUNT:
		c.how = (uint8_t)PICK(r, CC_WEIGHTS);
		break;
	case F_MSG_SIZE:
		c.how = (uint8_t)PICK(r, MS_WEIGHTS);
		break;
	case F_INFO_SIZE:
		c.how = (uint8_t)PICK(r, IS_WEIGHTS);
		break;
	case F_CAPACITY:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, CAP_CREATOR_WEIGHTS) :
				  PICK(r, CAP_WEIGHTS));
		break;
	case F_COUNT:
		c.how = (uint8_t)PICK(r, COUNT_WEIGHTS);
		break;
	case F_I32:
		c.how = (uint8_t)PICK(r, I32_WEIGHTS);
		break;
	case F_WAIT_FLAGS:
		c.how = (uint8_t)PICK(r, WM_WEIGHTS);
		g->mode = c.how;
		/* Extra bits half of the time: any but the two timeout bits. */
		c.v = rng_chance(r, 1, 2) ? 0 :
		      (c.v & rng_next(r) & ~(uint64_t)(B_RELATIVE_TIMEOUT | B_ABSOLUTE_TIMEOUT));
		break;
	case F_TIMEOUT:
		do
			c.how = (uint8_t)PICK(r, TO_WEIGHTS);
		while (!timeout_allowed(g->mode, c.how));
		c.ptr = (uint8_t)g->mode;
		break;
	case F_ANY_FLAGS:
		c.how = (uint8_t)PICK(r, AF_WEIGHTS);
		break;
	case F_AREA_SIZE:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, AS_CREATOR_WEIGHTS) : PICK(r, AS_WEIGHTS));
		break;
	case F_FD:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, FD_CREATOR_WEIGHTS) : PICK(r, FD_WEIGHTS));
		break;
	case F_PROT:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, PR_CREATOR_WEIGHTS) : PICK(r, PR_WEIGHTS));
		break;
	case F_AREA_LOCK:
		c.how = (uint8_t)PICK(r, LK_WEIGHTS);
		break;
	case F_INLINE_NAME:
		c.how = (uint8_t)PICK(r, NC_WEIGHTS);
		break;
	case F_NODE_FD:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, ND_CREATOR_WEIGHTS) :
				  fl->arg ? PICK(r, ND_WATCH_WEIGHTS) : PICK(r, ND_WEIGHTS));
		break;
	case F_VREF_KEY:
		c.how = (uint8_t)PICK(r, KC_WEIGHTS);
		break;
	case F_OPEN_MODE:
		c.how = (uint8_t)PICK(r, OM_WEIGHTS);
		break;
	case F_WATCH_FLAGS:
		c.how = (uint8_t)(g->persona == P_CREATE ? PICK(r, WF_CREATOR_WEIGHTS) : PICK(r, WF_WEIGHTS));
		break;
	case F_TOKEN:
		c.how = (uint8_t)PICK(r, TK_WEIGHTS);
		break;
	case F_NODE_DEV:
		c.how = (uint8_t)PICK(r, TG_WEIGHTS);
		break;
	default:
		break;
	}
	return c;
}

static void gen_plan(struct rng *r, size_t desc, unsigned int persona, struct plan *p)
{
	const struct fuzz_ioctl *d = descs[desc];
	struct gen g = { persona, WM_REL };

	memset(p, 0, sizeof(*p));
	p->desc = desc;
	p->cmd_how = (uint8_t)PICK(r, CMD_WEIGHTS);
	p->cmd_v = rng_next(r);
	p->arg_ptr = (uint8_t)PICK(r, ARG_PC_WEIGHTS);
	p->arg_v = rng_next(r);
	p->fill = rng_next(r);
	for (int i = 0; i < MAX_FIELDS && d->fields[i].kind != F_END; i++)
		p->f[i] = gen_field(r, &d->fields[i], &g);
	/* Now and then the parent's descriptor, with a well-formed request. */
	if (d->arg != ARG_REOPEN && rng_chance(r, 1, 40)) {
		p->inherited = true;
		p->cmd_how = CMD_EXACT;
		p->arg_ptr = PC_VALID;
	}
	if (d->arg == ARG_REOPEN)
		p->cmd_how = CMD_EXACT;
}

/*
 * A worker's stream of calls: the seed, its slot and generation decide its
 * persona and which description each call uses (in streaks of the same
 * one, so that creates meet deletes), and each call's details come
 * from a generator of their own, so nothing a call decides shifts the next
 * ones.
 */
struct stream {
	struct rng r;
	unsigned int persona;
	size_t desc;
	unsigned int streak;
};

static struct stream stream_for(uint64_t seed, unsigned int slot, unsigned int gen)
{
	struct stream s = { rng_for(seed, slot, gen), 0, 0, 0 };

	s.persona = PICK(&s.r, P_WEIGHTS);
	return s;
}

static void next_plan(struct stream *s, struct plan *p)
{
	struct rng call;

	if (s->streak == 0) {
		s->desc = pick_desc(&s->r, s->persona);
		s->streak = rng_chance(&s->r, 1, 4) ? 1 + (unsigned int)rng_below(&s->r, 8) : 1;
		/* A persona's own calls come in longer runs: a destroyer keeps aiming. */
		if (descs[s->desc]->flags & P_ROLES[s->persona])
			s->streak = 1 + (unsigned int)rng_below(&s->r, 24);
	}
	s->streak--;
	call.s = rng_next(&s->r);
	gen_plan(&call, s->desc, s->persona, p);
}

/* ---- the dry run: plans as text ------------------------------------------- */

/*
 * Ids being handed out right now, relative to the highest id anyone has
 * seen: the next ones (+1 70%, +2 10%, +3 5%), or one just below it (-0..-7,
 * 15%) that a creator may still be publishing while later ones came back
 * already.
 */
static int pred_delta(uint64_t v)
{
	unsigned int x = (unsigned int)(v % 20);

	if (x < 14)
		return 1;
	if (x < 16)
		return 2;
	if (x < 17)
		return 3;
	return -(int)((v >> 8) % 8);
}

static void print_id(FILE *f, const struct field *fl, const struct choice *c)
{
	const char *k = ID_NAMES[fl->arg];

	switch (c->how) {
	case IDC_RECENT: fprintf(f, "%s:recent[%u]", k, (unsigned int)(c->v % 64)); break;
	case IDC_PRED: fprintf(f, "%s:max%+d", k, pred_delta(c->v)); break;
	case IDC_HOLE: fprintf(f, "%s:hole", k); break;
	case IDC_OWN: fprintf(f, "%s:own", k); break;
	case IDC_ZERO: fputs("0", f); break;
	case IDC_NEG: fprintf(f, "neg#%u", (unsigned int)(c->v % 3)); break;
	case IDC_MAX: fputs("INT32_MAX", f); break;
	case IDC_RANDOM: fprintf(f, "%" PRId32, (int32_t)c->v); break;
	case IDC_STALE: fprintf(f, "%s:recent[%u]%+d", k, (unsigned int)(c->v % 64),
				(c->v >> 32) & 1 ? 1 : -1); break;
	case IDC_DEAD: fprintf(f, "%s:dead[%u]", k, (unsigned int)(c->v % 64)); break;
	default: fprintf(f, "%s:parent[%u]", k, (unsigned int)(c->v % 4)); break;
	}
}

static void print_ptr(FILE *f, unsigned int how, uint64_t v)
{
	fputs(PC_NAMES[how], f);
	if (how == PC_KERNEL)
		fprintf(f, "(0x%" PRIx64 ")", KERNEL_ADDRS[v % COUNT_OF(KERNEL_ADDRS)]);
	else if (how == PC_NONCANON)
		fprintf(f, "(0x%" PRIx64 ")", NONCANON_ADDRS[v % COUNT_OF(NONCANON_ADDRS)]);
	else if (how == PC_EDGE)
		fprintf(f, "-%u", 1 + (unsigned int)(v % 64));
	else if (how == PC_MISALIGNED)
		fprintf(f, "+%u", 1 + (unsigned int)(v % 7));
}

static void print_field(FILE *f, const struct field *fl, const struct choice *c)
{
	switch (fl->kind) {
	case F_ID:
	case F_TEAM_OR_ALL:
		print_id(f, fl, c);
		break;
	case F_COOKIE:
		fprintf(f, "cookie:%s", CK_NAMES[c->how]);
		break;
	case F_CAPACITY:
	case F_COUNT:
	case F_I32:
		fputs(IV_NAMES[c->how], f);
		break;
	case F_ANY_FLAGS:
		fprintf(f, "flags:%s", AF_NAMES[c->how]);
		break;
	case F_INFO_SIZE:
		fputs(IS_NAMES[c->how], f);
		break;
	case F_NAME:
		fprintf(f, "%s@", NC_NAMES[c->how]);
		print_ptr(f, c->ptr, c->v);
		break;
	case F_NAME_LEN:
		fputs(NL_NAMES[c->how], f);
		break;
	case F_IN_PTR:
	case F_OUT_PTR:
	case F_DATA_IN:
	case F_DATA_OUT:
	case F_CAPS_IN:
	case F_CAPS_OUT:
		print_ptr(f, c->how, c->v);
		break;
	case F_MSG_SIZE:
		fputs(MS_NAMES[c->how], f);
		break;
	case F_CAPS_COUNT:
		fputs(CC_NAMES[c->how], f);
		break;
	case F_WAIT_FLAGS:
		fprintf(f, "%s|0x%" PRIx32, c->how == WM_REL ? "rel" : c->how == WM_ABS ? "abs" : "both",
			(uint32_t)c->v);
		break;
	case F_TIMEOUT:
		fputs(TO_NAMES[c->how], f);
		break;
	case F_AREA_SIZE:
		fprintf(f, "size:%s", AS_NAMES[c->how]);
		break;
	case F_FD:
		fprintf(f, "fd:%s", FD_NAMES[c->how]);
		if (c->how == FD_NOT_MEMFD)
			fprintf(f, "(%s)", NM_NAMES[c->v % NR_NM]);
		break;
	case F_PROT:
		fprintf(f, "prot:%s", PR_NAMES[c->how]);
		break;
	case F_AREA_LOCK:
		fprintf(f, "lock:%s", LK_NAMES[c->how]);
		break;
	case F_INLINE_NAME:
		fprintf(f, "name:%s", NC_NAMES[c->how]);
		break;
	case F_NODE_FD:
		fprintf(f, "node:%s", ND_NAMES[c->how]);
		if (c->how == ND_OTHER)
			fprintf(f, "(%s)", NO_NAMES[c->v % NR_NO]);
		break;
	case F_VREF_KEY:
		fprintf(f, "key:%s", KC_NAMES[c->how]);
		break;
	case F_OPEN_MODE:
		fprintf(f, "mode:%s", OM_NAMES[c->how]);
		break;
	case F_WATCH_FLAGS:
		fprintf(f, "watch:%s", WF_NAMES[c->how]);
		break;
	case F_TOKEN:
		fprintf(f, "token:%s", TK_NAMES[c->how]);
		break;
	case F_NODE_DEV:
		fprintf(f, "node-ref:%s", TG_NAMES[c->how]);
		break;
	case F_NODE_INO:
		fputs("ino", f);
		break;
	case F_OUT:
	case F_OUT_ID:
		fputs("out", f);
		break;
	default:
		fprintf(f, "#%u", c->how);
		break;
	}
}

static void print_plan(FILE *f, const struct plan *p)
{
	const struct fuzz_ioctl *d = descs[p->desc];

	fprintf(f, "%s cmd=%s", d->name, CMD_NAMES[p->cmd_how]);
	if (d->arg == ARG_STRUCT) {
		fputs(" arg=", f);
		print_ptr(f, p->arg_ptr, p->arg_v);
	}
	if (p->inherited)
		fputs(" fd=inherited", f);
	for (int i = 0; i < MAX_FIELDS && d->fields[i].kind != F_END; i++) {
		fprintf(f, " %d=", i);
		print_field(f, &d->fields[i], &p->f[i]);
	}
	fputc('\n', f);
}

/* --list: the table, one line per description: name, device, cmd, size. */
static int list_table(void)
{
	for (size_t i = 0; i < nr_descs; i++)
		printf("%s %s 0x%lx %u\n", descs[i]->name, DEVICES[desc_device[i]].path,
		       descs[i]->cmd, descs[i]->size);
	return fflush(stdout) == 0 ? 0 : 1;
}

static int dry_run(uint64_t seed, unsigned int workers, unsigned int gens, unsigned long n)
{
	struct plan p;

	printf("seed %" PRIu64 " workers %u\n", seed, workers);
	for (unsigned int slot = 0; slot < workers; slot++) {
		for (unsigned int gen = 0; gen < gens; gen++) {
			struct stream s = stream_for(seed, slot, gen);

			printf("w%u.%u persona %s\n", slot, gen, P_NAMES[s.persona]);
			for (unsigned long i = 0; i < n; i++) {
				next_plan(&s, &p);
				printf("w%u.%u #%lu ", slot, gen, i);
				print_plan(stdout, &p);
			}
		}
	}
	return fflush(stdout) == 0 ? 0 : 1;
}

/* ---- shared memory: ids everyone learns, slots, statistics -------------- */

#define POOL		64
#define MAX_WORKERS	64
#define MAX_SPARED	256
#define PARENT_OBJECTS	4

#define SEEN		1024

struct pool {
	uint32_t cursor;
	int32_t max;
	int32_t ids[POOL];
	int32_t seen[SEEN];	/* id % SEEN: the last id there anyone learnt */
};

struct slot {
	pid_t pid;		/* 0: no worker running */
	int32_t tid;		/* its newborn thread's tid, 0: none right now */
	uint32_t gen;
	uint64_t done;		/* calls made by every generation */
	uint64_t quota;
	int32_t in_call;	/* the description in progress + 1, 0 between calls */
	int64_t killed_ms;	/* when the parent sent SIGKILL, 0 if not */
	int64_t progress_ms;	/* parent: when done last moved */
	uint64_t seen_done;
	uint64_t born_done;	/* parent: done when this generation was spawned */
	bool retired;		/* stuck: never respawned */
};

struct stat_row {
	uint64_t calls, ok, efault, enotty, eperm, einval, eintr, other;
};

struct shared {
	struct pool pools[NR_ID_KINDS];
	int32_t dead[POOL];		/* pids of workers that died */
	uint32_t dead_cursor;
	int32_t max_pid;
	pid_t parent;
	int32_t parent_ids[NR_ID_KINDS][PARENT_OBJECTS];
	/* --spare: its threads, read again and again by the parent (tick). */
	pid_t spare;
	unsigned int nspared;
	int32_t spared[MAX_SPARED];
	unsigned int workers;
	uint64_t violations, eperm_checks, reopens;
	uint64_t newborns, newborns_registered, newborns_resumed, clone_maps, sigbus;
	char violation[256];
	struct stat_row stats[MAX_DESCS];
	struct slot slots[MAX_WORKERS];
	/* The node monitor: the directory the churner changes, the tmpfs it mounts in it. */
	char scratch[200];
	char mnt[220];
	uint64_t churn_ops, churn_mounts, churn_umounts, churn_lazy;
	/* Events read (by opcode index, nexus-nm.h), messages that were not all there. */
	uint64_t nm_events, nm_by_op[NM_NR_OPS], nm_cut;
	uint64_t nm_opens_checked, nm_caps_minted, nm_forged_tried, nm_slots_held_max;
	/* Every slot key any team was given: the "foreign" keys of the others. */
	struct key_entry {
		int32_t id;
		int32_t owner;		/* the pid of the team that holds it */
		uint64_t key;
	} keys[POOL];
	uint32_t key_cursor;
};

static struct shared *sh;
/* The churner process (nexus-nm.h's file system operations), 0 when there is none. */
static pid_t churner;

static void pool_add(struct pool *p, int32_t id)
{
	uint32_t i = __atomic_fetch_add(&p->cursor, 1, __ATOMIC_RELAXED);
	int32_t max = __atomic_load_n(&p->max, __ATOMIC_RELAXED);

	__atomic_store_n(&p->ids[i % POOL], id, __ATOMIC_RELAXED);
	__atomic_store_n(&p->seen[(uint32_t)id % SEEN], id, __ATOMIC_RELAXED);
	while (id > max &&
	       !__atomic_compare_exchange_n(&p->max, &max, id, false, __ATOMIC_RELAXED,
					    __ATOMIC_RELAXED))
		;
}

static void note_dead(pid_t pid)
{
	uint32_t i = __atomic_fetch_add(&sh->dead_cursor, 1, __ATOMIC_RELAXED);

	__atomic_store_n(&sh->dead[i % POOL], pid, __ATOMIC_RELAXED);
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_violation(&sh->violations, sh->violation, sizeof(sh->violation), fmt, ap);
	va_end(ap);
}

/* ---- a worker: memory it hands the kernel --------------------------------- */

#define DATA_SIZE	(2 * MSG_MAX + PAGE)
/* A page per pointer field, then room for MAX_CAPS caps beyond any of them. */
#define SCRATCH_SIZE	((MAX_FIELDS + 1) * PAGE + MAX_CAPS * 24 + PAGE)
#define REQ_MAX		256
/* The request, and room for a whole message read over it (PC_ALIAS). */
#define REQ_REGION	(MSG_MAX + 2 * PAGE)

struct mem {
	uint8_t *req;		/* the request struct, when valid (REQ_REGION bytes) */
	uint8_t *scratch;	/* one page per pointer field */
	uint8_t *data;		/* message payloads, DATA_SIZE bytes ... */
	uint8_t *guard;		/* ... then a page without access */
	uint8_t *ro;		/* a read-only page (a name at its start) */
	uint8_t *ro_req;	/* a read-only page for read-only requests */
	uint8_t *unmapped;	/* a page without access (PROT_NONE) */
};

static void *map(size_t n, int prot)
{
	void *p = mmap(NULL, n, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("nexus-fuzz: mmap");
		_exit(70);
	}
	return p;
}

/*
 * n bytes followed by a page without access.  Every region the kernel may
 * be told to write into is one of these, big enough for the largest write
 * aimed at it: a write that ran past it into the next mapping would corrupt
 * the worker or the shared memory, and look like a kernel bug.  (The page
 * stays mapped: an unmapped one could be handed to the next mmap().)
 */
static uint8_t *map_guarded(size_t n, int prot)
{
	uint8_t *p = map(n + PAGE, prot);

	mprotect(p + n, PAGE, PROT_NONE);
	return p;
}

static void setup_mem(struct mem *m)
{
	m->req = map_guarded(REQ_REGION, PROT_READ | PROT_WRITE);
	m->scratch = map_guarded(SCRATCH_SIZE, PROT_READ | PROT_WRITE);
	m->data = map_guarded(DATA_SIZE, PROT_READ | PROT_WRITE);
	m->guard = m->data + DATA_SIZE;
	for (size_t i = 0; i < DATA_SIZE; i++)
		m->data[i] = (uint8_t)(i * 31 + 7);
	m->ro = map_guarded(PAGE, PROT_READ | PROT_WRITE);
	strcpy((char *)m->ro, "fz-0");
	mprotect(m->ro, PAGE, PROT_READ);
	m->ro_req = map_guarded(PAGE, PROT_READ);
	/*
	 * Inaccessible, but mapped: a hole left by munmap() would be filled by
	 * a later mmap() - the second thread's and its newborns' stacks, the
	 * clones mapped along the way - and the kernel, told to write "there",
	 * would corrupt them (SIGSEGVs at addresses whose high half is -22).
	 */
	m->unmapped = map(PAGE, PROT_NONE);
}

/* ---- a worker: turning a plan into a request ------------------------------ */

#define HELD_FDS	4
#define CALL_FDS	4
#define HELD_SLOTS	256

/* What a descriptor made a vref of could do: open(2)'s access, or these. */
#define MODE_UNKNOWN	(-1)
#define MODE_PATH	3

/* A vref slot this team holds, as far as the worker has seen. */
struct held_slot {
	int32_t id;
	int8_t mode;		/* the creating descriptor's O_ACCMODE, MODE_PATH or MODE_UNKNOWN */
	bool append;
	uint64_t key;
};

struct worker {
	unsigned int slot, gen;
	pid_t pid;
	int fd[NR_DEVICES];		/* its own, or -errno */
	int inherited[NR_DEVICES];	/* the parent's */
	int32_t own[NR_ID_KINDS];	/* its last created id of each kind */
	int held[HELD_FDS];		/* clones' descriptors kept for later (-1: none) */
	unsigned int next_held, clones;
	uint64_t seed;
	struct mem m;
	/* Vref slots: created, acquired and received (READ_CAPS), less those released. */
	struct held_slot slots[HELD_SLOTS];
	unsigned int nslots;
	bool slots_lost;	/* the table overflowed: some slots are held but not listed */
};

/* Resolving one call: the request being built and what earlier fields chose. */
struct build {
	uint8_t req[REQ_MAX];
	uint8_t *where;		/* where the request goes */
	size_t name_len;	/* strlen of the last name */
	int64_t now_us;
	uint64_t area_size;	/* the last F_AREA_SIZE */
	int fds[CALL_FDS];	/* descriptors made for the call, closed after it */
	unsigned int nfds;
	int32_t vref_id;	/* the last vref id (an F_KEY is for it) */
	int8_t node_mode;	/* the F_NODE_FD's access (MODE_*) */
	bool node_append;
	bool node_bad;		/* the F_NODE_FD is no open descriptor (-1, closed, huge) */
	uint64_t node_dev, node_ino;	/* the node an F_NODE_DEV chose */
	int lowest_fd;		/* VREF_OPEN: the lowest free descriptor before the call */
};

static int32_t recent_id(unsigned int kind, uint64_t v)
{
	const struct pool *p = &sh->pools[kind];
	int32_t id;

	if (kind == ID_TEAM || kind == ID_THREAD) {
		const struct slot *s = &sh->slots[v % sh->workers];

		/* A thread: half of the time the worker's newborn, when it has one. */
		id = kind == ID_THREAD && ((v >> 40) & 1) ? __atomic_load_n(&s->tid, __ATOMIC_RELAXED) : 0;
		if (!id)
			id = __atomic_load_n(&s->pid, __ATOMIC_RELAXED);
		return id ? id : sh->parent;
	}
	id = __atomic_load_n(&p->ids[v % POOL], __ATOMIC_RELAXED);
	return id ? id : 1;
}

static int32_t predicted_id(unsigned int kind, uint64_t v)
{
	int32_t max = kind == ID_TEAM || kind == ID_THREAD ?
		      __atomic_load_n(&sh->max_pid, __ATOMIC_RELAXED) :
		      __atomic_load_n(&sh->pools[kind].max, __ATOMIC_RELAXED);

	return max + pred_delta(v);
}

/*
 * A hole: an id at or just below the highest seen that nobody has learnt -
 * handed out by a create that has not returned yet (or whose worker was
 * killed before it could tell).  The next id when there is none.
 */
static int32_t hole_id(unsigned int kind, uint64_t v)
{
	const struct pool *p = &sh->pools[kind];
	int32_t max = __atomic_load_n(&p->max, __ATOMIC_RELAXED);

	if (kind == ID_TEAM || kind == ID_THREAD)
		return predicted_id(kind, v);
	for (int32_t id = max - (int32_t)(v % 4); id > 0 && id > max - 64; id--)
		if (__atomic_load_n(&p->seen[(uint32_t)id % SEEN], __ATOMIC_RELAXED) != id)
			return id;
	return max + 1;
}

static int32_t resolve_any_id(const struct worker *w, unsigned int kind, const struct choice *c)
{
	static const int32_t negs[] = { -1, INT32_MIN, -12345 };
	bool teamish = kind == ID_TEAM || kind == ID_THREAD;

	switch (c->how) {
	case IDC_RECENT: return recent_id(kind, c->v);
	case IDC_PRED: return predicted_id(kind, c->v);
	case IDC_HOLE: return hole_id(kind, c->v);
	case IDC_OWN:
		if (kind == ID_VREF && w->nslots)	/* one it holds a slot in */
			return w->slots[(c->v >> 16) % w->nslots].id;
		if (kind == ID_THREAD && ((c->v >> 33) & 1) &&
		    __atomic_load_n(&sh->slots[w->slot].tid, __ATOMIC_RELAXED))
			return __atomic_load_n(&sh->slots[w->slot].tid, __ATOMIC_RELAXED);
		return teamish ? w->pid : w->own[kind];
	case IDC_ZERO: return 0;
	case IDC_NEG: return negs[c->v % 3];
	case IDC_MAX: return INT32_MAX;
	case IDC_RANDOM: return (int32_t)c->v;
	case IDC_STALE: return recent_id(kind, c->v) + ((c->v >> 32) & 1 ? 1 : -1);
	case IDC_DEAD:
		return teamish ? __atomic_load_n(&sh->dead[c->v % POOL], __ATOMIC_RELAXED) :
				 recent_id(kind, c->v >> 8);
	default:
		return teamish ? sh->parent : sh->parent_ids[kind][c->v % PARENT_OBJECTS];
	}
}

/* A thread of the spared process (--spare): a bystander that is a team too. */
static bool spared(int32_t id)
{
	unsigned int n = __atomic_load_n(&sh->nspared, __ATOMIC_ACQUIRE);

	for (unsigned int i = 0; i < n && i < MAX_SPARED; i++)
		if (__atomic_load_n(&sh->spared[i], __ATOMIC_RELAXED) == id)
			return true;
	return false;
}

/*
 * Any id the choice makes, but never a thread or team of the spared process:
 * a lookup of one of its threads gives that thread a record (and a message
 * sent stays in its mailbox) for as long as the thread lives, which the
 * suite's counter check would take for a leak.  Ours instead.
 */
static int32_t resolve_id(const struct worker *w, unsigned int kind, const struct choice *c)
{
	int32_t id = resolve_any_id(w, kind, c);

	return (kind == ID_TEAM || kind == ID_THREAD) && id > 0 && spared(id) ? sh->parent : id;
}

static int64_t resolve_cookie(unsigned int kind, const struct choice *c)
{
	switch (c->how) {
	case CK_ZERO: return 0;
	case CK_RECENT: return recent_id(kind, c->v);
	case CK_PRED: return predicted_id(kind, c->v);
	case CK_NEG: return -1;
	case CK_MIN: return INT32_MIN;
	case CK_MAX: return INT32_MAX;
	default: return (int32_t)c->v;
	}
}

/* A pointer field's address; `valid` is its own page of scratch. */
static uint64_t resolve_ptr(const struct worker *w, struct build *b, unsigned int how,
			    uint64_t v, uint8_t *valid)
{
	switch (how) {
	case PC_VALID: return (uintptr_t)valid;
	case PC_NULL: return 0;
	case PC_UNMAPPED: return (uintptr_t)w->m.unmapped + (v % PAGE);
	case PC_READONLY: return (uintptr_t)w->m.ro;
	case PC_KERNEL: return KERNEL_ADDRS[v % COUNT_OF(KERNEL_ADDRS)];
	case PC_NONCANON: return NONCANON_ADDRS[v % COUNT_OF(NONCANON_ADDRS)];
	case PC_EDGE: return (uintptr_t)w->m.guard - 1 - (v % 64);
	case PC_MISALIGNED: return (uintptr_t)valid + 1 + (v % 7);
	default: return (uintptr_t)b->where;
	}
}

/* Write a name's bytes; returns its strlen (bytes before the first NUL). */
static size_t make_name(const struct worker *w, const struct choice *c, uint8_t *out, size_t room)
{
	size_t len, i;

	switch (c->how) {
	case NC_SHARED:
		return (size_t)snprintf((char *)out, room, "fz-%u", (unsigned int)(c->v % 8));
	case NC_UNIQUE:
		return (size_t)snprintf((char *)out, room, "fz-%u-%08x", w->slot, (uint32_t)c->v);
	case NC_EMPTY:
		out[0] = 0;
		return 0;
	case NC_LONG:
		len = LONG_LENS[c->v % COUNT_OF(LONG_LENS)];
		for (i = 0; i < len; i++)
			out[i] = (uint8_t)('a' + i % 26);
		out[len] = 0;
		return len;
	case NC_NONUL:
		memset(out, 'n', room);
		return room;
	default:
		for (i = 0; i < 40; i++)
			out[i] = (uint8_t)(c->v >> (i % 8 * 8)) ^ (uint8_t)i;
		return strnlen((char *)out, 40);
	}
}

static uint64_t resolve_name(const struct worker *w, struct build *b, const struct choice *c,
			     uint8_t *valid)
{
	uint8_t tmp[80];
	size_t room = c->how == NC_NONUL ? 32 + c->v % 33 : sizeof(tmp) - 1;
	uint8_t *at;

	memset(tmp, 0, sizeof(tmp));
	b->name_len = make_name(w, c, tmp, room);
	if (c->ptr == PC_VALID || c->ptr == PC_MISALIGNED) {
		at = (uint8_t *)(uintptr_t)resolve_ptr(w, b, c->ptr, c->v, valid);
		memcpy(at, tmp, sizeof(tmp));
		if (c->how == NC_NONUL)	/* no NUL for a long way after it */
			memset(at + room, 'x', 64);
		return (uintptr_t)at;
	}
	if (c->ptr == PC_EDGE) {
		/* The name ends exactly where the guard page begins. */
		size_t n = c->how == NC_NONUL ? room : b->name_len + 1;

		at = w->m.guard - n;
		memcpy(at, tmp, n);
		return (uintptr_t)at;
	}
	if (c->ptr == PC_READONLY)
		b->name_len = 4;
	return resolve_ptr(w, b, c->ptr, c->v, valid);
}

static uint64_t resolve_name_len(const struct build *b, const struct choice *c)
{
	switch (c->how) {
	case NL_EXACT: return b->name_len + 1;
	case NL_STRLEN: return b->name_len;
	case NL_ZERO: return 0;
	case NL_ONE: return 1;
	case NL_31: return 31;
	case NL_32: return 32;
	case NL_33: return 33;
	case NL_HUGE: return SIZE_MAX;
	case NL_BIG: return 1ULL << 32;
	default: return c->v % 128;
	}
}

static uint64_t resolve_msg_size(const struct choice *c)
{
	switch (c->how) {
	case MS_ZERO: return 0;
	case MS_ONE: return 1;
	case MS_SMALL: return c->v % 4096;
	case MS_PAGE: return PAGE;
	case MS_MAX: return MSG_MAX;
	case MS_MAX1: return MSG_MAX + 1;
	case MS_HUGE: return SIZE_MAX;
	case MS_BIG: return (c->v & 1) ? 1ULL << 32 : 1ULL << 63;
	case MS_TMAX: return THREAD_MSG_MAX;
	case MS_TMAX1: return THREAD_MSG_MAX + 1;
	case MS_MIN: return (uint64_t)INT64_MIN;
	default: return (uint64_t)-1;
	}
}

/* ---- a worker: areas' sizes, descriptors, protections --------------------- */

static uint64_t resolve_area_size(const struct choice *c)
{
	switch (c->how) {
	case AS_PAGES: return (1 + c->v % AREA_PAGES_MAX) * PAGE;
	case AS_ZERO: return 0;
	case AS_ONE: return 1;
	case AS_PAGE_LESS: return PAGE - 1;
	case AS_UNALIGNED: return (1 + c->v % 4) * PAGE + 1 + (c->v >> 8) % (PAGE - 1);
	case AS_2M: return 2ULL << 20;
	case AS_2G: return 2ULL << 30;
	case AS_TERA: return 1ULL << 40;
	case AS_MAX: return UINT64_MAX;
	default: return (uint64_t)-PAGE;
	}
}

/* A descriptor made for this call only: closed once the call returns. */
static int call_fd(struct build *b, int fd)
{
	if (fd >= 0 && b->nfds < CALL_FDS)
		b->fds[b->nfds++] = fd;
	else if (fd >= 0)
		close(fd);
	return fd;
}

static void close_call_fds(struct build *b)
{
	while (b->nfds > 0)
		close(b->fds[--b->nfds]);
}

/* A memfd of `size` bytes (an impossible size leaves it empty), sealable. */
static int fuzz_memfd(uint64_t size, unsigned int flags)
{
	int fd = memfd_create("fz-area", MFD_CLOEXEC | MFD_ALLOW_SEALING | flags);

	if (fd >= 0 && size <= (uint64_t)INT64_MAX)
		(void)!ftruncate(fd, (off_t)size);
	return fd;
}

/* A descriptor that is no memfd. */
static int not_memfd(const struct worker *w, struct build *b, uint64_t v)
{
	int p[2], fd;
	char path[64];

	switch (v % NR_NM) {
	case NM_PIPE:
		if (pipe2(p, O_CLOEXEC))
			return -1;
		call_fd(b, p[1]);
		return call_fd(b, p[0]);
	case NM_EVENTFD:
		return call_fd(b, eventfd(0, EFD_CLOEXEC));
	case NM_NEXUS:
		return w->fd[DEV_NEXUS];
	case NM_NEXUS_AREA:
		return w->fd[DEV_AREA];
	case NM_SHM:
		/* shmem, but no memfd: a file of /dev/shm, gone from the directory at once. */
		snprintf(path, sizeof(path), "/dev/shm/fz-%d-%u", (int)w->pid, (unsigned int)(v >> 8));
		fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
		if (fd >= 0) {
			unlink(path);
			(void)!ftruncate(fd, (off_t)(b->area_size <= (uint64_t)INT64_MAX ? b->area_size : PAGE));
		}
		return call_fd(b, fd);
	default:
		return call_fd(b, open("/dev/null", O_RDWR | O_CLOEXEC));
	}
}

static int resolve_fd(const struct worker *w, struct build *b, const struct choice *c)
{
	int fd, ro;
	char path[64];

	switch (c->how) {
	case FD_MEMFD:
		return call_fd(b, fuzz_memfd(b->area_size, 0));
	case FD_MEMFD_SIZE:
		return call_fd(b, fuzz_memfd((c->v & 1) || b->area_size > UINT32_MAX ? PAGE :
					     b->area_size + PAGE, 0));
	case FD_MEMFD_RO:
		/* The same memory, opened read-only through /proc. */
		fd = call_fd(b, fuzz_memfd(b->area_size, 0));
		if (fd < 0)
			return fd;
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		ro = open(path, O_RDONLY | O_CLOEXEC);
		return ro >= 0 ? call_fd(b, ro) : fd;
	case FD_MEMFD_SEALED:
		fd = call_fd(b, fuzz_memfd(b->area_size, 0));
		if (fd >= 0)
			fcntl(fd, F_ADD_SEALS, (c->v & 1) ? F_SEAL_SHRINK | F_SEAL_GROW :
					       (c->v & 2) ? F_SEAL_WRITE : F_SEAL_GROW);
		return fd;
	case FD_HUGETLB:
		/* Huge pages are refused; a system without them gives another memfd. */
		fd = memfd_create("fz-huge", MFD_CLOEXEC | MFD_HUGETLB);
		if (fd >= 0)
			(void)!ftruncate(fd, 2 << 20);
		else
			fd = fuzz_memfd(b->area_size, 0);
		return call_fd(b, fd);
	case FD_NOT_MEMFD:
		return not_memfd(w, b, c->v);
	case FD_CLONE:
		fd = w->held[c->v % HELD_FDS];
		return fd >= 0 ? fd : not_memfd(w, b, c->v);
	case FD_CLOSED:
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd;
	case FD_NEG:
		return -1;
	default:
		return (c->v & 1) ? INT32_MAX : 1 << 20;
	}
}

static uint64_t resolve_prot(const struct choice *c)
{
	uint32_t p = 0;

	switch (c->how) {
	case PR_VALID:
		if (c->v % 8)
			p |= B_READ_AREA;
		if ((c->v >> 3) & 1)
			p |= B_WRITE_AREA;
		if ((c->v >> 4) % 8 == 0)
			p |= B_EXECUTE_AREA;
		if ((c->v >> 7) % 4)
			p |= B_CLONEABLE_AREA;
		return p;
	case PR_ZERO: return 0;
	case PR_BIT: return 1U << (c->v % 32);
	case PR_RANDOM: return (uint32_t)c->v;
	default: return 0xffffffffU;
	}
}

static uint64_t resolve_lock(const struct choice *c)
{
	switch (c->how) {
	case LK_VALID: return c->v % (B_LOMEM + 1);
	case LK_BAD: return B_LOMEM + 1 + c->v % 100;
	case LK_RANDOM: return (uint32_t)c->v;
	default: return UINT32_MAX;
	}
}

/* A name in the request itself: NUL-terminated, or 32 bytes without a NUL. */
static void resolve_inline_name(const struct worker *w, struct build *b, const struct field *fl,
				const struct choice *c)
{
	uint8_t tmp[80];

	memset(tmp, 0, sizeof(tmp));
	make_name(w, c, tmp, B_OS_NAME_LENGTH);
	memcpy(b->req + fl->off, tmp, fl->width);
}

static uint64_t resolve_info_size(const struct field *fl, const struct choice *c)
{
	switch (c->how) {
	case IS_EXACT: return fl->arg;
	case IS_ZERO: return 0;
	case IS_LESS: return fl->arg - 1;
	case IS_MORE: return fl->arg + 1 + c->v % 64;
	case IS_HUGE: return SIZE_MAX;
	default: return c->v % 256;
	}
}

static uint64_t resolve_caps_count(const struct choice *c)
{
	switch (c->how) {
	case CC_ZERO: return 0;
	case CC_ONE: return 1;
	case CC_FEW: return 2 + c->v % 15;
	case CC_MAX: return MAX_CAPS;
	case CC_MAX1: return MAX_CAPS + 1;
	default: return SIZE_MAX;
	}
}

/*
 * Capabilities to send, at the start of `at` (the rest of the scratch after
 * it is mapped too: room for MAX_CAPS + 1 of them).  Six times in ten every
 * one names a vref the worker holds a slot in (a write that must go
 * through), twice one of them names a vref it holds none in (another
 * team's, the parent's, a dead one: the whole write must be refused with
 * B_NOT_ALLOWED), twice kinds and ids are anything.
 */
#define CAPS_FILLED 16

static void fill_caps(const struct worker *w, uint8_t *at, uint64_t v)
{
	struct rng r = { v };
	unsigned int how = (unsigned int)(v % 10), bad = (unsigned int)rng_below(&r, CAPS_FILLED);

	for (unsigned int i = 0; i < CAPS_FILLED; i++) {
		struct nexus_port_cap_in cap = {
			.kind = NEXUS_PORT_CAP_VREF,
			.buffer_offset = (uint32_t)rng_next(&r),
			._pad = rng_chance(&r, 1, 8) ? (uint32_t)rng_next(&r) : 0,
		};

		if (how < 8 && w->nslots && !(how >= 6 && i == bad))
			cap.vref_id = w->slots[rng_below(&r, w->nslots)].id;
		else if (how < 8)
			cap.vref_id = recent_id(ID_VREF, rng_next(&r));
		else if (rng_chance(&r, 1, 2))
			cap.vref_id = (int32_t)rng_below(&r, 64) - 8;
		else
			cap.vref_id = (int32_t)rng_next(&r);
		if (how >= 8 && rng_chance(&r, 1, 3))
			cap.kind = rng_chance(&r, 1, 2) ? 0 : (uint32_t)rng_next(&r);
		memcpy(at + i * sizeof(cap), &cap, sizeof(cap));
	}
}

/* ---- a worker: vref slots, node descriptors, keys ----------------------------- */

static struct held_slot *slot_for(struct worker *w, int32_t id, uint64_t key)
{
	for (unsigned int i = 0; i < w->nslots; i++)
		if (w->slots[i].key == key && w->slots[i].id == id)
			return &w->slots[i];
	return NULL;
}

/* A slot of ours in vref id (the n-th one found, cycling), or NULL. */
static const struct held_slot *slot_in(const struct worker *w, int32_t id, uint64_t n)
{
	unsigned int found = 0;

	for (unsigned int i = 0; i < w->nslots; i++)
		found += w->slots[i].id == id;
	if (!found)
		return NULL;
	n %= found;
	for (unsigned int i = 0; i < w->nslots; i++)
		if (w->slots[i].id == id && n-- == 0)
			return &w->slots[i];
	return NULL;
}

/* What we know of the descriptor a vref was made of: from any slot of ours in it. */
static void slot_mode(const struct worker *w, int32_t id, int8_t *mode, bool *append)
{
	const struct held_slot *h = slot_in(w, id, 0);

	*mode = h ? h->mode : MODE_UNKNOWN;
	*append = h ? h->append : false;
}

static void publish_key(int32_t id, uint64_t key)
{
	uint32_t i = __atomic_fetch_add(&sh->key_cursor, 1, __ATOMIC_RELAXED) % POOL;

	__atomic_store_n(&sh->keys[i].id, id, __ATOMIC_RELAXED);
	__atomic_store_n(&sh->keys[i].owner, (int32_t)getpid(), __ATOMIC_RELAXED);
	__atomic_store_n(&sh->keys[i].key, key, __ATOMIC_RELAXED);
}

static void add_slot(struct worker *w, int32_t id, uint64_t key, int8_t mode, bool append)
{
	uint64_t n;

	if (w->nslots == HELD_SLOTS) {
		/*
		 * Release the oldest, so that the list stays the whole truth (a
		 * slot held but not listed would turn the forged-key check off);
		 * -EPERM or -EBADF say it was held no more (its team ended with a
		 * REOPEN); any other failure leaves it held but unlisted, and the
		 * check goes off.
		 */
		int st = w->fd[DEV_NM] < 0 ? -ENODEV : nm_vref_release(w->fd[DEV_NM], w->slots[0].id, w->slots[0].key);

		if (st != 0 && st != -EPERM && st != -EBADF)
			w->slots_lost = true;
		memmove(&w->slots[0], &w->slots[1], (HELD_SLOTS - 1) * sizeof(w->slots[0]));
		w->nslots--;
	}
	w->slots[w->nslots++] = (struct held_slot){ id, mode, append, key };
	n = w->nslots;
	if (n > __atomic_load_n(&sh->nm_slots_held_max, __ATOMIC_RELAXED))
		__atomic_store_n(&sh->nm_slots_held_max, n, __ATOMIC_RELAXED);
	publish_key(id, key);
}

static void drop_slot(struct worker *w, struct held_slot *h)
{
	unsigned int i = (unsigned int)(h - w->slots);

	memmove(&w->slots[i], &w->slots[i + 1], (w->nslots - i - 1) * sizeof(w->slots[0]));
	w->nslots--;
}

/* Another team's key: in the vref id when one is known, else any. */
static uint64_t foreign_key(int32_t id, uint64_t v)
{
	int32_t me = (int32_t)getpid();
	uint64_t any = 0;

	for (unsigned int k = 0; k < POOL; k++) {
		unsigned int i = (unsigned int)((v + k) % POOL);
		int32_t kid = __atomic_load_n(&sh->keys[i].id, __ATOMIC_RELAXED);
		int32_t owner = __atomic_load_n(&sh->keys[i].owner, __ATOMIC_RELAXED);
		uint64_t key = __atomic_load_n(&sh->keys[i].key, __ATOMIC_RELAXED);

		if (!key || owner == me)
			continue;
		if (kid == id)
			return key;
		if (!any)
			any = key;
	}
	return any ? any : v | 1;
}

static uint64_t resolve_key(const struct worker *w, const struct build *b, const struct choice *c)
{
	const struct held_slot *h;

	switch (c->how) {
	case KC_OWN:
		h = slot_in(w, b->vref_id, c->v);
		if (h)
			return h->key;
		/* no slot in that one: another of ours */
		__attribute__((fallthrough));
	case KC_OWN_OTHER:
		return w->nslots ? w->slots[(c->v >> 8) % w->nslots].key : c->v;
	case KC_FOREIGN:
		return foreign_key(b->vref_id, c->v);
	case KC_FLIP:
		h = slot_in(w, b->vref_id, c->v);
		return (h ? h->key : c->v) ^ (1ULL << ((c->v >> 8) % 64));
	case KC_ZERO: return 0;
	case KC_RANDOM: return c->v;
	default: return UINT64_MAX;
	}
}

static uint64_t resolve_open_mode(const struct choice *c)
{
	static const uint32_t extra[] = { O_CLOEXEC, O_NONBLOCK, O_DIRECTORY, O_PATH };
	uint32_t m = 0;

	switch (c->how) {
	case OM_VALID:
		m = (uint32_t)(c->v % 3);
		for (size_t i = 0; i < COUNT_OF(extra) - 1; i++)	/* O_PATH has its own choice */
			if ((c->v >> (8 + i)) % 4 == 0)
				m |= extra[i];
		return m | O_CLOEXEC;
	case OM_PATH: return O_PATH | O_CLOEXEC;
	case OM_CREAT: return (uint32_t)(c->v % 3) | ((c->v >> 8) & 1 ? O_CREAT : O_TRUNC) | O_CLOEXEC;
	case OM_ACC3: return 3 | O_CLOEXEC;
	case OM_BIT: return 1U << (c->v % 32);
	case OM_RANDOM: return (uint32_t)c->v;
	default: return 0xffffffffU;
	}
}

static uint64_t resolve_watch_flags(const struct choice *c)
{
	uint32_t f;

	switch (c->how) {
	case WF_VALID:
		/* Mostly the directory and the node, sometimes more: never 0. */
		f = (uint32_t)(c->v & NEXUS_WATCH_FLAGS & ~B_WATCH_MOUNT);
		if ((c->v >> 8) % 2)
			f |= B_WATCH_DIRECTORY;
		if ((c->v >> 9) % 8 == 0)
			f |= B_WATCH_MOUNT;
		return f ? f : B_WATCH_NAME;
	case WF_MOUNT: return B_WATCH_MOUNT;
	case WF_ZERO: return 0;
	case WF_HIGH: return (uint32_t)(c->v & NEXUS_WATCH_FLAGS) | (1U << (7 + (c->v >> 8) % 25));
	case WF_RANDOM: return (uint32_t)c->v;
	case WF_ALL7F: return NEXUS_WATCH_FLAGS;
	default: return 0xffffffffU;
	}
}

static uint64_t resolve_token(const struct choice *c)
{
	switch (c->how) {
	case TK_SMALL: return c->v % TOKENS;
	case TK_RANDOM: return (uint32_t)c->v;
	default: return UINT32_MAX;
	}
}

/* A node's (st_dev, st_ino), by stat; the scratch directory's when path is gone. */
static void node_ref(const char *path, struct build *b)
{
	struct stat st;

	if (stat(path, &st) < 0 && stat(sh->scratch, &st) < 0)
		memset(&st, 0, sizeof(st));
	b->node_dev = (uint64_t)st.st_dev;
	b->node_ino = (uint64_t)st.st_ino;
}

static uint64_t resolve_node_dev(struct build *b, const struct choice *c)
{
	char path[300];

	switch (c->how) {
	case TG_DIR: node_ref(sh->scratch, b); break;
	case TG_FILE:
		snprintf(path, sizeof(path), "%s/f%u", sh->scratch, (unsigned int)(c->v % NM_CHURN_NAMES));
		node_ref(path, b);
		break;
	case TG_VOLUME: b->node_dev = b->node_ino = UINT64_MAX; break;
	case TG_SUBDIR:
		snprintf(path, sizeof(path), "%s/sub", sh->scratch);
		node_ref(path, b);
		break;
	case TG_MOUNT: node_ref(sh->mnt, b); break;
	case TG_DEV_ONLY:
		node_ref(sh->scratch, b);
		b->node_ino = c->v >> 40;
		break;
	case TG_ZERO: b->node_dev = b->node_ino = 0; break;
	default:
		b->node_dev = c->v;
		b->node_ino = c->v * 0x9e3779b97f4a7c15ULL;
		break;
	}
	return b->node_dev;
}

/* A descriptor that is no file of a file system (or one of the devices). */
static int other_fd(const struct worker *w, struct build *b, uint64_t v)
{
	int p[2], fd;

	b->node_mode = O_RDWR;
	switch (v % NR_NO) {
	case NO_PIPE:
		if (pipe2(p, O_CLOEXEC))
			return -1;
		b->node_mode = (v >> 8) & 1 ? O_WRONLY : O_RDONLY;
		call_fd(b, (v >> 8) & 1 ? p[0] : p[1]);
		return call_fd(b, (v >> 8) & 1 ? p[1] : p[0]);
	case NO_EVENTFD:
		return call_fd(b, eventfd(0, EFD_CLOEXEC));
	case NO_SOCKET:
		return call_fd(b, socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
	case NO_NEXUS:
		return w->fd[DEV_NEXUS];
	case NO_NM:
		return w->fd[DEV_NM];
	case NO_MEMFD:
		fd = memfd_create("fz-vref", MFD_CLOEXEC);
		return call_fd(b, fd);
	case NO_PROC:
		b->node_mode = O_RDONLY;
		return call_fd(b, open("/proc/self", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	default:
		return call_fd(b, open("/dev/null", O_RDWR | O_CLOEXEC));
	}
}

static int resolve_node_fd(const struct worker *w, struct build *b, const struct choice *c)
{
	char path[300];
	unsigned int x = (unsigned int)(c->v % NM_CHURN_NAMES);
	int flags = O_RDONLY | O_DIRECTORY, fd;
	const char *dir = sh->scratch;

	b->node_mode = MODE_UNKNOWN;
	b->node_append = false;
	b->node_bad = false;
	snprintf(path, sizeof(path), "%s/f%u", dir, x);
	switch (c->how) {
	case ND_DIR: snprintf(path, sizeof(path), "%s", dir); break;
	case ND_SUBDIR: snprintf(path, sizeof(path), "%s/sub", dir); break;
	case ND_FILE_RO: flags = O_RDONLY; break;
	case ND_FILE_WO: flags = O_WRONLY | O_CREAT; break;
	case ND_FILE_RW: flags = O_RDWR | O_CREAT; break;
	case ND_FILE_APPEND: flags = ((c->v >> 8) & 1 ? O_RDWR : O_WRONLY) | O_APPEND | O_CREAT; break;
	case ND_PATH:
		if ((c->v >> 8) & 1)
			snprintf(path, sizeof(path), "%s", dir);
		flags = O_PATH;
		break;
	case ND_MOUNT: snprintf(path, sizeof(path), "%s", sh->mnt); break;
	case ND_ROOT: snprintf(path, sizeof(path), "/"); break;
	case ND_NEG:
		b->node_bad = true;
		return -1;
	case ND_OTHER:
		return other_fd(w, b, c->v >> 4);
	case ND_CLOSED:
		b->node_bad = true;
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0)
			close(fd);
		return fd;
	default:
		b->node_bad = true;
		return (c->v & 1) ? INT32_MAX : 1 << 20;
	}
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0) {
		/* The churner removed it: the directory, then. */
		flags = O_RDONLY | O_DIRECTORY;
		fd = open(dir, flags | O_CLOEXEC);
	}
	if (fd >= 0) {
		b->node_mode = (flags & O_PATH) ? MODE_PATH : (int8_t)(flags & O_ACCMODE);
		b->node_append = flags & O_APPEND;
	}
	return call_fd(b, fd);
}

static int64_t resolve_i32(const struct choice *c)
{
	switch (c->how) {
	case IV_ZERO: return 0;
	case IV_ONE: return 1;
	case IV_TWO: return 2;
	case IV_THREE: return 3;
	case IV_SMALL: return 1 + (int64_t)(c->v % 16);
	case IV_NEG1: return -1;
	case IV_MIN: return INT32_MIN;
	case IV_MAX: return INT32_MAX;
	case IV_MAX1: return INT32_MAX - 1;
	case IV_HALF: return INT32_MAX / 2 + 1;
	case IV_4096: return NEXUS_PORT_MAX_CAPACITY;
	case IV_4097: return NEXUS_PORT_MAX_CAPACITY + 1;
	default: return (int32_t)c->v;
	}
}

static int64_t resolve_timeout(const struct build *b, const struct choice *c)
{
	switch (c->how) {
	case TO_MIN: return INT64_MIN;
	case TO_NEG1: return -1;
	case TO_ZERO: return 0;
	case TO_ONE: return 1;
	case TO_SHORT: return (int64_t)(c->v % SHORT_TIMEOUT_US);
	case TO_PAST: return b->now_us - 1000 - (int64_t)(c->v % 100000);
	case TO_NOW: return b->now_us;
	default: return b->now_us + (int64_t)(c->v % SHORT_TIMEOUT_US);
	}
}

static uint64_t resolve_any_flags(const struct choice *c)
{
	static const uint32_t known[] = { B_CAN_INTERRUPT, B_DO_NOT_RESCHEDULE,
		B_RELEASE_ALL, B_RELEASE_IF_WAITING_ONLY, B_KILL_CAN_INTERRUPT };

	switch (c->how) {
	case AF_ZERO: return 0;
	case AF_BIT: return 1U << (c->v % 32);
	case AF_KNOWN: {
		uint32_t f = 0;

		for (size_t i = 0; i < COUNT_OF(known); i++)
			if ((c->v >> i) & 1)
				f |= known[i];
		return f;
	}
	case AF_RANDOM: return (uint32_t)c->v;
	default: return 0xffffffffU;
	}
}

static uint64_t resolve_field(const struct worker *w, struct build *b, const struct field *fl,
			      const struct choice *c, int i)
{
	uint8_t *valid = w->m.scratch + (size_t)(i + 1) * PAGE;

	int32_t id;

	switch (fl->kind) {
	case F_ID:
	case F_TEAM_OR_ALL:
		id = resolve_id(w, fl->arg, c);
		if (fl->arg == ID_VREF)
			b->vref_id = id;
		return (uint64_t)(int64_t)id;
	case F_COOKIE: return (uint64_t)resolve_cookie(fl->arg, c);
	case F_NAME: return resolve_name(w, b, c, valid);
	case F_NAME_LEN: return resolve_name_len(b, c);
	case F_IN_PTR:
		memcpy(valid, &c->v, sizeof(c->v));
		return resolve_ptr(w, b, c->how, c->v, valid);
	case F_OUT_PTR:
	case F_CAPS_OUT:
		return resolve_ptr(w, b, c->how, c->v, valid);
	case F_CAPS_IN:
		fill_caps(w, valid, c->v);
		return resolve_ptr(w, b, c->how, c->v, valid);
	case F_CAPS_COUNT: return resolve_caps_count(c);
	case F_DATA_IN:
	case F_DATA_OUT:
		/* A message may be 256 KiB: only the data region has room. */
		return resolve_ptr(w, b, c->how, c->v, w->m.data);
	case F_MSG_SIZE: return resolve_msg_size(c);
	case F_INFO_SIZE: return resolve_info_size(fl, c);
	case F_CAPACITY:
	case F_COUNT:
	case F_I32:
		return (uint64_t)resolve_i32(c);
	case F_WAIT_FLAGS:
		return c->v | (c->how == WM_REL ? B_RELATIVE_TIMEOUT :
			       c->how == WM_ABS ? B_ABSOLUTE_TIMEOUT :
			       B_RELATIVE_TIMEOUT | B_ABSOLUTE_TIMEOUT);
	case F_TIMEOUT: return (uint64_t)resolve_timeout(b, c);
	case F_ANY_FLAGS: return resolve_any_flags(c);
	case F_AREA_SIZE:
		b->area_size = resolve_area_size(c);
		return b->area_size;
	case F_FD: return (uint64_t)(int64_t)resolve_fd(w, b, c);
	case F_PROT: return resolve_prot(c);
	case F_AREA_LOCK: return resolve_lock(c);
	case F_INLINE_NAME:
		resolve_inline_name(w, b, fl, c);
		return 0;
	case F_NODE_FD: return (uint64_t)(int64_t)resolve_node_fd(w, b, c);
	case F_VREF_KEY: return resolve_key(w, b, c);
	case F_OPEN_MODE: return resolve_open_mode(c);
	case F_WATCH_FLAGS: return resolve_watch_flags(c);
	case F_TOKEN: return resolve_token(c);
	case F_NODE_DEV: return resolve_node_dev(b, c);
	case F_NODE_INO: return b->node_ino;
	default: return c->v;	/* out fields: garbage in */
	}
}

static void put_field(uint8_t *req, const struct field *fl, uint64_t v)
{
	if (fl->width > sizeof(v))
		return;	/* written in place (an inline name) */
	memcpy(req + fl->off, &v, fl->width);	/* little endian: the low bytes */
}

static unsigned long mutate_cmd(unsigned long cmd, unsigned int how, uint64_t v)
{
	unsigned long size = _IOC_SIZE(cmd), nr = _IOC_NR(cmd);
	static const long deltas[] = { -8, -4, -1, 1, 4, 8 };

	switch (how) {
	case CMD_SIZE:
		if (v % 4 == 0)
			size = 0;
		else if (v % 4 == 1)
			size = (size * 2) & _IOC_SIZEMASK;
		else
			size = (unsigned long)((long)size + deltas[(v >> 8) % 6]) & _IOC_SIZEMASK;
		return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), nr, size);
	case CMD_DIR:
		return _IOC((_IOC_DIR(cmd) + 1 + v % 3) & 3, _IOC_TYPE(cmd), nr, size);
	case CMD_NR:
		nr = (v & 1) ? (nr + 1 + (v >> 8) % 3) & 0xff : (v >> 8) % 64;
		return _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), nr, size);
	case CMD_TYPE:
		return _IOC(_IOC_DIR(cmd), (v & 1) ? 'm' : (v >> 8) & 0xff, nr, size);
	case CMD_RANDOM:
		return cmd ^ (1UL << (v % 32));
	default:
		return cmd;
	}
}

/* Put the request where the plan says; returns its address. */
static unsigned long place_request(struct worker *w, const struct plan *p, struct build *b)
{
	size_t size = descs[p->desc]->size;
	uint8_t *at;

	switch (p->arg_ptr) {
	case PC_VALID:
		memcpy(w->m.req, b->req, size);
		return (uintptr_t)w->m.req;
	case PC_READONLY:
		/* Read fine, written back never: the call happens, its answer faults. */
		mprotect(w->m.ro_req, PAGE, PROT_READ | PROT_WRITE);
		memcpy(w->m.ro_req, b->req, size);
		mprotect(w->m.ro_req, PAGE, PROT_READ);
		return (uintptr_t)w->m.ro_req;
	case PC_EDGE:
		/* The first half is there, the rest runs into the guard page. */
		at = w->m.guard - size / 2;
		memcpy(at, b->req, size / 2);
		return (uintptr_t)at;
	default:
		return resolve_ptr(w, b, p->arg_ptr, p->arg_v, w->m.req);
	}
}

/* Build the request of a plan; returns the ioctl's argument. */
static unsigned long build_request(struct worker *w, const struct plan *p, struct build *b)
{
	const struct fuzz_ioctl *d = descs[p->desc];
	uint64_t value = 0;

	memset(b->req, 0, sizeof(b->req));
	for (size_t i = 0; i < d->size; i += 8)
		memcpy(b->req + i, &p->fill, 8);
	b->where = w->m.req;
	b->now_us = mono_us();
	b->area_size = PAGE;
	b->nfds = 0;
	b->vref_id = 0;
	b->node_bad = false;
	for (int i = 0; i < MAX_FIELDS && d->fields[i].kind != F_END; i++) {
		value = resolve_field(w, b, &d->fields[i], &p->f[i], i);
		if (d->arg == ARG_STRUCT)
			put_field(b->req, &d->fields[i], value);
	}
	if (d->ret_off != NO_RET) {
		int32_t sentinel = 0x7eadbeef;

		memcpy(b->req + d->ret_off, &sentinel, 4);
	}
	if (d->arg == ARG_VALUE)
		return (unsigned long)value;
	if (d->arg == ARG_NONE)
		return (p->fill & 7) ? 0 : (unsigned long)p->fill;
	return place_request(w, p, b);
}

/* ---- a worker: one call --------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
}

/*
 * A 5 ms one-shot timer (or none): its SIGALRM ends a wait with no timeout
 * (now that threads are implemented, WAIT_NEWBORN and CLONE_EXECUTED do
 * wait: a longer timer would cost the run a minute).
 */
static void arm_timer(bool on)
{
	struct itimerval it = { { 0, 0 }, { 0, on ? 5000 : 0 } };

	setitimer(ITIMER_REAL, &it, NULL);
}

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void tally(struct stat_row *s, long rc, bool ok)
{
	count(&s->calls);
	if (ok)
		count(&s->ok);
	switch (rc) {
	case -EFAULT: count(&s->efault); break;
	case -ENOTTY: count(&s->enotty); break;
	case -EPERM: count(&s->eperm); break;
	case -EINVAL: count(&s->einval); break;
	case -EINTR: count(&s->eintr); break;
	default:
		if (rc < 0)
			count(&s->other);
	}
}

/* ---- a worker: what some answers must be ----------------------------------- */

static void after_thread_info(struct worker *w, const struct build *b, const uint8_t *req)
{
	(void)b;
	struct nexus_thread_info_req r;

	memcpy(&r, req, sizeof(r));
	if (r.state < B_THREAD_RUNNING || r.state > B_THREAD_WAITING)
		violation("THREAD_GET_INFO(%" PRId32 ") gave state %" PRId32, r.thread, r.state);
	if (r.team <= 0)
		violation("THREAD_GET_INFO(%" PRId32 ") gave team %" PRId32 " (all workers share our pid namespace)",
			  r.thread, r.team);
	else if ((r.thread == 0 || r.thread == w->pid) && r.team != w->pid)
		violation("THREAD_GET_INFO(%" PRId32 ") of the caller gave team %" PRId32 ", not its pid %d",
			  r.thread, r.team, (int)w->pid);
}

/* An area's size: a whole number of pages, more than none. */
static void check_area_size(const char *what, int32_t area, uint64_t size)
{
	if (size == 0 || size % PAGE)
		violation("%s of area %" PRId32 " gave size %" PRIu64, what, area, size);
}

/* Keep a clone's descriptor for later (an F_FD that is no memfd), or close it. */
static void hold_fd(struct worker *w, int fd, bool keep)
{
	unsigned int i = w->next_held++ % HELD_FDS;

	if (!keep) {
		close(fd);
		return;
	}
	if (w->held[i] >= 0)
		close(w->held[i]);
	w->held[i] = fd;
}

/*
 * Map a clone's descriptor as asked: the mapping (to touch, then unmap), or
 * NULL.  One that succeeds although the clone was not granted it breaks the
 * rule that rights never grow.
 */
static uint8_t *map_clone(int fd, size_t len, int mprot, bool granted, uint32_t prot, const char *what)
{
	uint8_t *m = mmap(NULL, len, mprot, MAP_SHARED, fd, 0);

	if (m == MAP_FAILED)
		return NULL;
	count(&sh->clone_maps);
	if (!granted)
		violation("a clone of protection 0x%" PRIx32 " maps %s", prot, what);
	return m;
}

/*
 * A clone's descriptor refuses what its protection does not grant: a shared
 * writable, an executable or a readable mapping, and an mprotect of its
 * mappings up to them.  Its pages can be touched (a SIGBUS is fine: the
 * owner may have shrunk it meanwhile).
 */
static void check_clone_mapping(int fd, uint32_t prot, uint64_t size)
{
	size_t len = size > AREA_PAGES_MAX * PAGE ? AREA_PAGES_MAX * PAGE : (size_t)size;
	bool r = prot & B_READ_AREA, wr = prot & B_WRITE_AREA, x = prot & B_EXECUTE_AREA;
	uint8_t *m;

	m = map_clone(fd, len, PROT_READ | PROT_WRITE, r && wr, prot, "shared and read-write");
	if (m) {
		if (nx_touch(m, len, true, 0x5a) == NX_TOUCH_SIGBUS)
			count(&sh->sigbus);
		munmap(m, len);
	}
	if (!x) {
		m = map_clone(fd, len, PROT_EXEC, false, prot, "executable");
		if (m)
			munmap(m, len);
	}
	m = map_clone(fd, len, PROT_READ, r, prot, "readable");
	if (!m)
		return;
	if (!wr && mprotect(m, len, PROT_READ | PROT_WRITE) == 0)
		violation("a shared mapping of a clone of protection 0x%" PRIx32 " was mprotected writable", prot);
	if (!x && mprotect(m, len, PROT_READ | PROT_EXEC) == 0)
		violation("a shared mapping of a clone of protection 0x%" PRIx32 " was mprotected executable", prot);
	if (nx_touch(m, len, false, 0) == NX_TOUCH_SIGBUS)
		count(&sh->sigbus);
	munmap(m, len);
}

static void after_area_clone(struct worker *w, const struct build *b, const uint8_t *req)
{
	(void)b;
	struct nexus_area_clone r;

	unsigned int n = w->clones++;

	memcpy(&r, req, sizeof(r));
	if (r.fd < 0) {
		violation("AREA_CLONE(%" PRId32 ") returned B_OK without a descriptor (%" PRId32 ")", r.source, r.fd);
		return;
	}
	check_area_size("AREA_CLONE", r.area, r.size);
	/* Every other clone is mapped; one in four descriptors is kept for later. */
	if (r.size > 0 && n % 2 == 0)
		check_clone_mapping(r.fd, r.protection, r.size);
	hold_fd(w, r.fd, n % 4 == 1);
}

static void after_area_transfer(struct worker *w, const struct build *b, const uint8_t *req)
{
	(void)b;
	struct nexus_area_transfer r;

	(void)w;
	memcpy(&r, req, sizeof(r));
	if (r.fd != -1) {
		violation("AREA_TRANSFER(%" PRId32 ") handed the giver descriptor %" PRId32 ", expected -1", r.area, r.fd);
		if (r.fd >= 0)
			close(r.fd);
	}
	if (r.new_area != r.area)
		violation("AREA_TRANSFER(%" PRId32 ") gave new_area %" PRId32 ", expected the same id", r.area, r.new_area);
}

static void after_area_info(struct worker *w, const struct build *b, const uint8_t *req)
{
	(void)b;
	struct nexus_area_get_info r;

	(void)w;
	memcpy(&r, req, sizeof(r));
	check_area_size("AREA_GET_INFO", r.area, r.size);
	if (r.team <= 0)
		violation("AREA_GET_INFO(%" PRId32 ") gave team %" PRId32 " (all workers share our pid namespace)",
			  r.area, r.team);
}

static void after_area_next(struct worker *w, const struct build *b, const uint8_t *req)
{
	(void)b;
	struct nexus_area_get_next r;

	(void)w;
	memcpy(&r, req, sizeof(r));
	check_area_size("AREA_GET_NEXT", r.area, r.size);
	if (r.area <= 0)
		violation("AREA_GET_NEXT(team %" PRId32 ", cookie %" PRId32 ") returned B_OK with area %" PRId32,
			  r.team, r.cookie, r.area);
}

/* ---- node monitor answers --------------------------------------------------- */

/* A pointer the kernel wrote through is in the worker's scratch pages (n bytes of it). */
static bool in_scratch(const struct worker *w, uint64_t p, size_t n)
{
	uintptr_t lo = (uintptr_t)w->m.scratch;

	return p >= lo && p <= lo + SCRATCH_SIZE && n <= lo + SCRATCH_SIZE - p;
}

/*
 * A message read whole into the data region (code and bytes where the
 * worker can see them): a node monitor message must be a well-formed
 * KMessage with the fields its opcode has (nexus-nm.h).
 */
static void check_message(const struct worker *w, uint64_t code_at, uint64_t buffer, uint64_t size, uint64_t room)
{
	struct nm_event ev;
	char err[160];
	int32_t code;
	int st;

	if (!in_scratch(w, code_at, 4) || buffer != (uintptr_t)w->m.data || size > MSG_MAX)
		return;
	memcpy(&code, (const void *)(uintptr_t)code_at, 4);
	if ((uint32_t)code != B_NODE_MONITOR)
		return;
	st = nm_check(w->m.data, (size_t)size, room > DATA_SIZE ? DATA_SIZE : (size_t)room, &ev, err, sizeof(err));
	if (st == -2) {
		count(&sh->nm_cut);	/* a read into too little room: not all there */
		return;
	}
	if (st) {
		violation("a node monitor message of %" PRIu64 " bytes is malformed: %s", size, err);
		return;
	}
	count(&sh->nm_events);
	count(&sh->nm_by_op[nm_op_index(ev.opcode)]);
}

/*
 * Workers never write a message with code B_NODE_MONITOR, so one read back
 * is the kernel's and check_message can hold it to the KMessage format: a
 * code an earlier read left in the worker's memory, sent again with the
 * KMessage still in the data region but another size, forged one (the same
 * user may write any code to its ports: no rule is broken by that).  A
 * write request placed in the read-only page did so once (6.1, 2 vCPUs:
 * "2316 bytes, header size 196") while this was only done for requests in
 * the writable one.
 */
static void unforge_code(const struct worker *w, unsigned long cmd, const void *arg)
{
	uintptr_t at, data = (uintptr_t)w->m.data;
	struct nexus_port_write_caps pwc;
	struct nexus_port_write pw;
	int32_t code;

	if (cmd == NEXUS_PORT_WRITE) {
		memcpy(&pw, arg, sizeof(pw));
		at = (uintptr_t)pw.code;
	} else if (cmd == NEXUS_PORT_WRITE_CAPS) {
		memcpy(&pwc, arg, sizeof(pwc));
		at = (uintptr_t)pwc.code;
	} else {
		return;
	}
	if (!in_scratch(w, at, 4) && !(at >= data && at <= data + DATA_SIZE - 4))
		return;
	memcpy(&code, (const void *)at, 4);
	if ((uint32_t)code == B_NODE_MONITOR) {
		code ^= 1;
		memcpy((void *)at, &code, 4);
	}
}

/* The room a read request offered (its size field before the call answered over it). */
static uint64_t room_of(const struct build *b, size_t off)
{
	uint64_t room;

	memcpy(&room, b->req + off, sizeof(room));
	return room;
}

static void after_port_read(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_port_read r;

	memcpy(&r, req, sizeof(r));
	check_message(w, (uintptr_t)r.code, (uintptr_t)r.buffer, r.size, room_of(b, offsetof(struct nexus_port_read, size)));
}

/* Slots minted for us: each a vref cap with an id and a key; ours from now on. */
static void after_read_caps(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_port_read_caps r;
	struct nexus_port_cap_out cap;
	int8_t mode;
	bool append;

	memcpy(&r, req, sizeof(r));
	check_message(w, (uintptr_t)r.code, (uintptr_t)r.buffer, r.size,
		      room_of(b, offsetof(struct nexus_port_read_caps, size)));
	if (r.caps_count > MAX_CAPS) {
		violation("READ_CAPS answered B_OK with %zu caps (at most %d)", (size_t)r.caps_count, MAX_CAPS);
		return;
	}
	if (!in_scratch(w, (uintptr_t)r.caps, r.caps_count * sizeof(cap)))
		return;
	for (size_t i = 0; i < r.caps_count; i++) {
		memcpy(&cap, (const uint8_t *)r.caps + i * sizeof(cap), sizeof(cap));
		if (cap.kind != NEXUS_PORT_CAP_VREF || cap.vref_id <= 0 || cap.key == 0) {
			violation("READ_CAPS gave cap %zu of %zu: kind %" PRIu32 ", vref %" PRId32 ", key 0x%" PRIx64,
				  i, (size_t)r.caps_count, cap.kind, cap.vref_id, (uint64_t)cap.key);
			continue;
		}
		count(&sh->nm_caps_minted);
		slot_mode(w, cap.vref_id, &mode, &append);
		add_slot(w, cap.vref_id, cap.key, mode, append);
	}
}

static void after_vref_create(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_vref_create r;

	memcpy(&r, req, sizeof(r));
	if (b->node_bad)
		violation("VREF_CREATE of descriptor %" PRId32 " (not open) answered 0", r.fd);
	if (r.key == 0)
		violation("VREF_CREATE gave vref %" PRId32 " the key 0", r.id);
	if (r.id > 0)
		add_slot(w, r.id, r.key, b->node_mode, b->node_append);
}

/*
 * A request naming (id, key) answered 0: the key must be one of this team's
 * slots in that vref.  Any other key - another team's, a flipped or a
 * random one, a slot of ours in another vref - is a capability forged.
 */
static struct held_slot *check_key(struct worker *w, const char *what, int32_t id, uint64_t key)
{
	struct held_slot *h = slot_for(w, id, key);

	if (!h && !w->slots_lost)
		violation("%s(vref %" PRId32 ", key 0x%" PRIx64 ") answered 0 with a key that is no slot of the caller's in that vref",
			  what, id, key);
	return h;
}

static void after_vref_acquire(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_vref_op r;
	const struct held_slot *h;
	uint64_t used;

	memcpy(&r, req, sizeof(r));
	memcpy(&used, b->req + offsetof(struct nexus_vref_op, key), sizeof(used));
	h = check_key(w, "VREF_ACQUIRE", r.id, used);
	if (r.key == 0 || r.key == used)
		violation("VREF_ACQUIRE(vref %" PRId32 ") gave the new slot key 0x%" PRIx64, r.id, (uint64_t)r.key);
	add_slot(w, r.id, r.key, h ? h->mode : MODE_UNKNOWN, h ? h->append : false);
}

static void after_vref_release(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_vref_op r;
	struct held_slot *h;

	(void)b;
	memcpy(&r, req, sizeof(r));
	h = check_key(w, "VREF_RELEASE", r.id, r.key);
	if (h)
		drop_slot(w, h);
}

/*
 * OPEN answered 0: a descriptor that never grants more than the one the
 * vref was made of (when this worker made it: its access is known), with
 * O_APPEND kept.  Closed at once.
 */
static void after_vref_open(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_vref_open r;
	const struct held_slot *h;
	int fl, acc, want;

	(void)b;
	memcpy(&r, req, sizeof(r));
	h = check_key(w, "VREF_OPEN", r.id, r.key);
	if (r.fd_out < 0) {
		violation("VREF_OPEN(vref %" PRId32 ") answered 0 with descriptor %" PRId32, r.id, r.fd_out);
		return;
	}
	fl = fcntl(r.fd_out, F_GETFL);
	if (fl < 0) {
		violation("VREF_OPEN(vref %" PRId32 ") answered 0 with descriptor %" PRId32 ", which is not open", r.id,
			  r.fd_out);
		return;
	}
	want = (int)(r.requested_mode & O_ACCMODE);
	acc = fl & O_ACCMODE;
	if (h && h->mode != MODE_UNKNOWN && !(r.requested_mode & O_PATH) && !(fl & O_PATH)) {
		bool can_read = h->mode == O_RDONLY || h->mode == O_RDWR;
		bool can_write = h->mode == O_WRONLY || h->mode == O_RDWR;

		count(&sh->nm_opens_checked);
		if (((acc == O_RDONLY || acc == O_RDWR) && !can_read) || ((acc == O_WRONLY || acc == O_RDWR) && !can_write))
			violation("VREF_OPEN(vref %" PRId32 ", mode 0x%" PRIx32 ") opened access %d from a descriptor of access %d",
				  r.id, r.requested_mode, acc, h->mode);
		if (acc != want)
			violation("VREF_OPEN(vref %" PRId32 ", mode 0x%" PRIx32 ") opened access %d, not the %d asked for",
				  r.id, r.requested_mode, acc, want);
		if (h->append && acc != O_RDONLY && !(fl & O_APPEND))
			violation("VREF_OPEN(vref %" PRId32 ") of an O_APPEND descriptor opened it writable without O_APPEND",
				  r.id);
	}
	close(r.fd_out);
}

/* START_WATCHING answered 0: the flags and the target were ones the ABI accepts. */
static void after_start_watching(struct worker *w, const struct build *b, const uint8_t *req)
{
	struct nexus_watch_fd r;

	(void)w;
	memcpy(&r, req, sizeof(r));
	if (r.flags == 0 || (r.flags & ~NEXUS_WATCH_FLAGS))
		violation("START_WATCHING accepted flags 0x%" PRIx32, r.flags);
	else if (r.fd == -1 && r.vref_id <= 0 && r.flags != B_WATCH_MOUNT)
		violation("START_WATCHING accepted a volume watch with flags 0x%" PRIx32 " (only B_WATCH_MOUNT)", r.flags);
	else if (r.fd != -1 && b->node_bad)
		violation("START_WATCHING accepted descriptor %" PRId32 ", which is not open", r.fd);
}

/*
 * What to check (and clean up) after a well-formed call that answered
 * B_OK, by request: a new primitive adds its lines here.
 */
static const struct after {
	unsigned long cmd;
	void (*check)(struct worker *w, const struct build *b, const uint8_t *req);
} AFTER[] = {
	{ NEXUS_THREAD_GET_INFO, after_thread_info },
	{ NEXUS_AREA_CLONE, after_area_clone },
	{ NEXUS_AREA_TRANSFER, after_area_transfer },
	{ NEXUS_AREA_GET_INFO, after_area_info },
	{ NEXUS_AREA_GET_NEXT, after_area_next },
	{ NEXUS_PORT_READ, after_port_read },
	{ NEXUS_PORT_READ_CAPS, after_read_caps },
	{ NEXUS_VREF_CREATE, after_vref_create },
	{ NEXUS_VREF_ACQUIRE, after_vref_acquire },
	{ NEXUS_VREF_RELEASE, after_vref_release },
	{ NEXUS_VREF_OPEN, after_vref_open },
	{ NEXUS_START_WATCHING, after_start_watching },
};

/* What an accepted, well-formed call taught: ids for everyone's pools. */
static void learn(struct worker *w, const struct build *b, const struct fuzz_ioctl *d)
{
	for (size_t i = 0; i < COUNT_OF(AFTER); i++)
		if (AFTER[i].cmd == d->cmd)
			AFTER[i].check(w, b, w->m.req);
	for (int i = 0; i < MAX_FIELDS && d->fields[i].kind != F_END; i++) {
		const struct field *fl = &d->fields[i];
		int32_t id;

		if (fl->kind != F_OUT_ID && fl->kind != F_COOKIE)
			continue;
		memcpy(&id, w->m.req + fl->off, sizeof(id));
		if (fl->kind == F_OUT_ID && (d->flags & D_CREATES)) {
			if (id <= 0)
				violation("%s returned B_OK with id %" PRId32, d->name, id);
			w->own[fl->arg] = id;
		}
		if (id > 0)
			pool_add(&sh->pools[fl->arg], id);
	}
}

static void reopen(struct worker *w)
{
	count(&sh->reopens);
	for (size_t d = 0; d < NR_DEVICES; d++) {
		if (w->fd[d] >= 0)
			close(w->fd[d]);
		w->fd[d] = nx_open_path(DEVICES[d].path);
	}
	memset(w->own, 0, sizeof(w->own));
}

/* The lowest descriptor free right now (what an open installs next), or -1. */
static int lowest_free_fd(void)
{
	int fd = fcntl(0, F_DUPFD_CLOEXEC, 0);

	if (fd >= 0)
		close(fd);
	return fd;
}

/*
 * VREF_OPEN installs a descriptor only when it answers 0: a refused request,
 * or one whose answer could not be written back (-EFAULT), must leave none
 * behind.  One that answered 0 but not cleanly (its request was not where
 * the worker reads it back) has its descriptor closed here.
 */
static void check_open_fd(struct worker *w, const struct plan *p, const struct build *b, long rc)
{
	bool clean = rc == 0 && p->cmd_how == CMD_EXACT && p->arg_ptr == PC_VALID && !p->inherited;

	(void)w;
	if (clean || fcntl(b->lowest_fd, F_GETFD) < 0)
		return;
	if (rc < 0 && p->cmd_how == CMD_EXACT)
		violation("VREF_OPEN answered %ld but left descriptor %d installed", rc, b->lowest_fd);
	close(b->lowest_fd);
}

/* A call on the parent's descriptor must be refused as a whole. */
static void check_inherited(const struct fuzz_ioctl *d, long rc)
{
	count(&sh->eperm_checks);
	if (rc == -EPERM || (rc == -ENOTTY && (d->flags & D_OPTIONAL)))
		return;
	violation("%s on a descriptor inherited from another team gave %ld, expected -EPERM (%d)",
		  d->name, rc, -EPERM);
}

/*
 * Did the kernel act on the request, and what was its status (*ret)?  Most
 * requests say so with an ioctl that returns 0 and the status in ret.  Those
 * that return their status as the ioctl's value too (D_STATUS_RET) acted
 * when ret, written back, equals that value - or, passed by value, when the
 * value is no errno (a B_* status below -4095).  A well-formed area request
 * whose ret and return value disagree breaks the ABI.
 */
static bool acted(const struct worker *w, const struct plan *p, long rc, int32_t *ret)
{
	const struct fuzz_ioctl *d = descs[p->desc];
	bool readable = d->arg == ARG_STRUCT && p->arg_ptr == PC_VALID && d->ret_off != NO_RET;
	int32_t r = B_OK;

	if (readable)
		memcpy(&r, w->m.req + d->ret_off, sizeof(r));
	*ret = B_OK;
	if (!(d->flags & D_STATUS_RET)) {
		if (rc == 0 && readable)
			*ret = r;
		return rc >= 0;
	}
	if (d->arg != ARG_STRUCT || d->ret_off == NO_RET) {
		/* The value is the status (or a tid: WAIT_NEWBORN); an errno means refused. */
		*ret = rc > 0 ? B_OK : (int32_t)rc;
		return rc >= 0 || rc < -4095;
	}
	if (readable && p->cmd_how == CMD_EXACT && (r == NX_SENTINEL ? rc == 0 : r != rc))
		violation("%s: the ioctl returned %ld, its ret says %" PRId32 "%s", d->name, rc, r,
			  r == NX_SENTINEL ? " (never written)" : "");
	if (!readable || r == NX_SENTINEL || r != rc)
		return rc == 0;
	*ret = r;
	return true;
}

static void one_call(struct worker *w, const struct plan *p)
{
	const struct fuzz_ioctl *d = descs[p->desc];
	unsigned int dev = desc_device[p->desc];
	struct build b;
	unsigned long arg, cmd = mutate_cmd(d->cmd, p->cmd_how, p->cmd_v);
	/*
	 * A call without a timeout field may wait forever, and so may a wrong
	 * number that lands on another request (a release read as an acquire
	 * takes its garbage as flags and timeout): those run under the timer.
	 */
	bool timed = (d->flags & D_UNBOUNDED) || p->cmd_how != CMD_EXACT;
	int32_t ret = B_OK;
	bool done;
	long rc;

	if (d->arg == ARG_REOPEN) {
		reopen(w);
		tally(&sh->stats[p->desc], 0, true);
		return;
	}
	if ((p->inherited ? w->inherited[dev] : w->fd[dev]) < 0) {
		/* A device this tree does not have (or that could not be opened). */
		tally(&sh->stats[p->desc], -ENODEV, false);
		return;
	}
	arg = build_request(w, p, &b);
	/*
	 * From the built bytes, not from where the request went: a request in
	 * the read-only page is carried out too (only its answer faults), and
	 * a command whose bits were flipped into a write reads its code from
	 * the same bytes.
	 */
	unforge_code(w, cmd, b.req);
	b.lowest_fd = d->cmd == NEXUS_VREF_OPEN ? lowest_free_fd() : -1;
	__atomic_store_n(&sh->slots[w->slot].in_call, (int32_t)p->desc + 1, __ATOMIC_RELAXED);
	if (timed)
		arm_timer(true);
	rc = nx_ioctl(p->inherited ? w->inherited[dev] : w->fd[dev], cmd, arg);
	if (timed)
		arm_timer(false);
	__atomic_store_n(&sh->slots[w->slot].in_call, 0, __ATOMIC_RELAXED);
	close_call_fds(&b);
	if (b.lowest_fd >= 0)
		check_open_fd(w, p, &b, rc);
	if (p->inherited) {
		check_inherited(d, rc);
		tally(&sh->stats[p->desc], rc, false);
		return;
	}
	done = acted(w, p, rc, &ret);
	tally(&sh->stats[p->desc], done ? 0 : rc, done && ret == B_OK);
	if (done && ret == B_OK && p->cmd_how == CMD_EXACT && p->arg_ptr == PC_VALID &&
	    d->arg == ARG_STRUCT)
		learn(w, &b, d);
}

/* ---- a worker's second thread: newborns ----------------------------------- */

struct newborn {
	struct worker *w;
	struct rng r;
	int32_t tid;
	int32_t stage;		/* 1: registered (SPAWN B_OK), 2: resumed or never suspended */
};

#define NEWBORN_MAX_WAIT_US	20000

/*
 * One newborn's life: register with the worker's main thread as its father,
 * wait to be resumed, receive, send, set a return code, end.  Its tid is
 * published for the calls to aim at all along.
 */
static void *newborn_main(void *arg)
{
	struct newborn *nb = arg;
	struct worker *w = nb->w;
	struct slot *me = &sh->slots[w->slot];
	uint8_t buf[256];
	size_t size = sizeof(buf);
	int sender, code;

	__atomic_store_n(&nb->tid, nx_gettid(), __ATOMIC_RELEASE);
	__atomic_store_n(&me->tid, nb->tid, __ATOMIC_RELAXED);
	count(&sh->newborns);
	if (rng_chance(&nb->r, 7, 8) && nx_thread_spawn(w->fd[DEV_NEXUS], "fz-newborn", w->pid) == B_OK) {
		count(&sh->newborns_registered);
		__atomic_store_n(&nb->stage, 1, __ATOMIC_RELEASE);
		nx_by_value(w->fd[DEV_NEXUS], NEXUS_THREAD_CLONE_EXECUTED, 0);
	}
	__atomic_store_n(&nb->stage, 2, __ATOMIC_RELEASE);
	nx_thread_receive(w->fd[DEV_NEXUS], &sender, &code, buf, &size, B_RELATIVE_TIMEOUT,
			  (long long)rng_below(&nb->r, NEWBORN_MAX_WAIT_US));
	if (rng_chance(&nb->r, 1, 2))
		nx_thread_send(w->fd[DEV_NEXUS], recent_id(ID_THREAD, rng_next(&nb->r)), code, buf,
			       (size_t)rng_below(&nb->r, sizeof(buf)), B_RELATIVE_TIMEOUT,
			       (long long)rng_below(&nb->r, NEWBORN_MAX_WAIT_US));
	if (rng_chance(&nb->r, 3, 4))
		nx_thread_set_return_code(w->fd[DEV_NEXUS], (int)rng_next(&nb->r));
	__atomic_store_n(&me->tid, 0, __ATOMIC_RELAXED);
	return NULL;
}

/*
 * The second thread: one newborn after another.  It resumes each after
 * 0..5 ms, as a spawner would (the fuzzed RESUMEs and WAITFORs may have
 * done it first), and gives up on one that stays suspended for 2 s (its
 * RESUME on another team's descriptor after a REOPEN, say).  Every signal
 * is blocked here: the interval timer's SIGALRM is for the main thread.
 */
static void *helper_main(void *arg)
{
	struct worker *w = arg;
	struct rng r = rng_for(w->seed, w->slot, 0x10000 + w->gen);
	sigset_t all;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		struct newborn nb = { w, { rng_next(&r) }, 0, 0 };
		pthread_t t;

		if (pthread_create(&t, NULL, newborn_main, &nb)) {
			sleep_us(10000);
			continue;
		}
		sleep_us((int64_t)rng_below(&r, 5000));
		for (int i = 0; i < 2000 && __atomic_load_n(&nb.stage, __ATOMIC_ACQUIRE) < 2; i++) {
			if (__atomic_load_n(&nb.stage, __ATOMIC_ACQUIRE) == 1 &&
			    nx_thread_resume(w->fd[DEV_NEXUS], nb.tid) == B_OK)
				count(&sh->newborns_resumed);
			sleep_us(1000);
		}
		pthread_join(t, NULL);
	}
	return NULL;
}

/* ---- a worker's life ------------------------------------------------------- */

/*
 * Count a call a worker's first acts made in the table's row for `cmd`: the
 * reach check then sees the success paths they took under the storm.
 */
static void tally_cmd(unsigned long cmd, long rc, bool ok)
{
	for (size_t i = 0; i < nr_descs; i++) {
		if (descs[i]->cmd == cmd) {
			tally(&sh->stats[i], rc, ok);
			return;
		}
	}
}

/*
 * Each worker's first act: a capability round trip - a vref of "/" sent in
 * a message to a port of its own and read back with READ_CAPS - so that
 * every run mints slots while the other workers fuzz and die around it
 * (random requests alone reach a successful mint only now and then).  The
 * others may delete the port, fill it or read the message first (they are
 * the same user): a few tries.  Broken rules: a WRITE_CAPS naming a vref
 * the writer holds refused as not held, a minted key that is 0 or the
 * writer's own.  Its slots and port go before the fuzzing.
 */
static bool caps_round_trip_once(struct worker *w, int32_t id, uint64_t key)
{
	struct nexus_port_create pc = { .name = "rt", .size = 2, .capacity = 1 };
	struct nexus_port_cap_in in = { .kind = NEXUS_PORT_CAP_VREF, .vref_id = id };
	struct nexus_port_cap_out out = { 0 };
	int32_t code = 1, got = 0;
	char byte = 'x', back = 0;
	struct nexus_port_id del;
	bool minted = false;

	if (ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_CREATE, &pc) < 0 || pc.ret)
		return false;
	struct nexus_port_write_caps wr = { .id = pc.id, .code = &code, .buffer = &byte, .size = 1,
					    .caps = &in, .caps_count = 1, .flags = B_RELATIVE_TIMEOUT };
	struct nexus_port_read_caps rd = { .id = pc.id, .code = &got, .buffer = &back, .size = 1,
					   .caps = &out, .caps_count = 1, .flags = B_RELATIVE_TIMEOUT };
	int rc = ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_WRITE_CAPS, &wr) < 0 ? -errno : 0;

	tally_cmd(NEXUS_PORT_WRITE_CAPS, rc, rc == 0 && wr.ret == B_OK);
	if (rc == 0 && wr.ret == B_NOT_ALLOWED)
		violation("a capability round trip: WRITE_CAPS of vref %d, held, answered B_NOT_ALLOWED", id);
	if (rc == 0 && wr.ret == B_OK) {
		rc = ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_READ_CAPS, &rd) < 0 ? -errno : 0;
		tally_cmd(NEXUS_PORT_READ_CAPS, rc, rc == 0 && rd.ret == B_OK);
	}
	if (wr.ret == B_OK && rc == 0 && rd.ret == B_OK && rd.caps_count == 1 && out.vref_id == id) {
		if (out.key == 0 || out.key == key)
			violation("a capability round trip minted key 0x%" PRIx64 " (the writer's is 0x%" PRIx64 ")",
				  (uint64_t)out.key, key);
		count(&sh->nm_caps_minted);
		nm_vref_release(w->fd[DEV_NM], id, out.key);
		minted = true;
	}
	del.id = pc.id;
	ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_DELETE, &del);
	return minted;
}

static void caps_round_trip(struct worker *w)
{
	uint64_t key;
	int32_t id;
	int fd, st;

	if (w->fd[DEV_NEXUS] < 0 || w->fd[DEV_NM] < 0)
		return;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return;
	st = nm_vref_create(w->fd[DEV_NM], fd, &id, &key);
	close(fd);
	if (st < 0)
		return;	/* a limit: nothing to say */
	for (int i = 0; i < 8 && !caps_round_trip_once(w, id, key); i++)
		;
	nm_vref_release(w->fd[DEV_NM], id, key);
}

/*
 * And a watch round trip: "/" watched for its stat, the watch stopped by
 * (device, node), watched again and stopped by (port, token) - so that
 * STOP_WATCHING and STOP_NOTIFYING succeed in every run under the storm
 * (random requests hit a live watch with the right key a handful of times
 * in 90000 calls, sometimes never).  Failures here are the storm's doing
 * (a port deleted by a sibling, a limit): counted, not judged.
 */
static void watch_round_trip(struct worker *w)
{
	struct nexus_port_create pc = { .name = "wt", .size = 2, .capacity = 4 };
	struct nexus_port_id del;
	struct stat st;
	int fd, rc;

	if (w->fd[DEV_NEXUS] < 0 || w->fd[DEV_NM] < 0)
		return;
	if (ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_CREATE, &pc) < 0 || pc.ret)
		return;
	fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd >= 0 && fstat(fd, &st) == 0) {
		rc = nm_watch(w->fd[DEV_NM], fd, B_WATCH_STAT, pc.id, 1, 0);
		tally_cmd(NEXUS_START_WATCHING, rc, rc == 0);
		if (rc == 0) {
			rc = nm_unwatch(w->fd[DEV_NM], (uint64_t)st.st_dev, (uint64_t)st.st_ino, pc.id, 1);
			tally_cmd(NEXUS_STOP_WATCHING, rc, rc == 0);
		}
		rc = nm_watch(w->fd[DEV_NM], fd, B_WATCH_STAT, pc.id, 2, 0);
		tally_cmd(NEXUS_START_WATCHING, rc, rc == 0);
		if (rc == 0) {
			rc = nm_stop_notifying(w->fd[DEV_NM], pc.id, 2);
			tally_cmd(NEXUS_STOP_NOTIFYING, rc, rc == 0);
		}
	}
	if (fd >= 0)
		close(fd);
	del.id = pc.id;
	ioctl(w->fd[DEV_NEXUS], NEXUS_PORT_DELETE, &del);
}

static void worker_main(unsigned int slot, unsigned int gen, uint64_t seed, const int *parent_fds)
{
	struct worker w = { .slot = slot, .gen = gen, .pid = getpid(), .seed = seed };
	struct stream s = stream_for(seed, slot, gen);
	struct slot *me = &sh->slots[slot];
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	struct plan p;
	pthread_t helper;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sh->parent)
		_exit(0);
	sigaction(SIGALRM, &sa, NULL);
	nx_touch_setup();
	setup_mem(&w.m);
	for (int i = 0; i < HELD_FDS; i++)
		w.held[i] = -1;
	for (size_t d = 0; d < NR_DEVICES; d++) {
		w.inherited[d] = parent_fds[d];
		w.fd[d] = nx_open_path(DEVICES[d].path);
	}
	caps_round_trip(&w);
	watch_round_trip(&w);
	if (w.fd[DEV_NEXUS] >= 0 && pthread_create(&helper, NULL, helper_main, &w) == 0)
		pthread_detach(helper);
	while (__atomic_load_n(&me->done, __ATOMIC_RELAXED) < me->quota) {
		next_plan(&s, &p);
		one_call(&w, &p);
		__atomic_add_fetch(&me->done, 1, __ATOMIC_RELAXED);
	}
	_exit(0);
}

/* The threads of the spared process now (a thread it starts later is seen within 100 ms). */
static void refresh_spared(void)
{
	char path[40];
	struct dirent *e;
	unsigned int n = 0;
	DIR *d;

	if (sh->spare <= 0)
		return;
	snprintf(path, sizeof(path), "/proc/%d/task", (int)sh->spare);
	d = opendir(path);
	if (!d)
		return;
	while ((e = readdir(d)) && n < MAX_SPARED) {
		int tid = atoi(e->d_name);

		if (tid > 0)
			__atomic_store_n(&sh->spared[n++], tid, __ATOMIC_RELAXED);
	}
	closedir(d);
	/* The count only grows: what is left past n is tids that were spared before. */
	if (n > sh->nspared)
		__atomic_store_n(&sh->nspared, n, __ATOMIC_RELEASE);
}

/* ---- the parent ------------------------------------------------------------ */

#define STALL_MS	20000	/* a worker that made no call for so long is hung */

struct options {
	uint64_t seed, calls;
	unsigned int workers, kill_ms, deadline_s, gens;
	pid_t spare;
	unsigned long dry_run;
	bool list;
};

struct parent {
	const struct options *o;
	struct rng r;
	int fds[NR_DEVICES];
	int64_t start_ms, deadline_ms, next_kill_ms, next_progress_ms, next_spare_ms;
	uint64_t spawned, killed, killed_mid_call, exited, stalled;
	bool stop, deadline_hit;
	struct report crashed, stuck, orphans;
	pid_t *dead;		/* every worker pid that has been reaped */
	size_t nr_dead, cap_dead;
};

static void remember_dead(struct parent *P, pid_t pid)
{
	if (P->nr_dead == P->cap_dead) {
		P->cap_dead = P->cap_dead ? 2 * P->cap_dead : 256;
		P->dead = realloc(P->dead, P->cap_dead * sizeof(*P->dead));
		if (!P->dead) {
			perror("nexus-fuzz: realloc");
			exit(70);
		}
	}
	P->dead[P->nr_dead++] = pid;
	note_dead(pid);
}

static void spawn(struct parent *P, unsigned int i)
{
	struct slot *s = &sh->slots[i];
	unsigned int gen = s->gen++;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("nexus-fuzz: fork");
		P->stop = true;
		return;
	}
	if (pid == 0)
		worker_main(i, gen, P->o->seed, P->fds);
	P->spawned++;
	s->tid = 0;
	s->killed_ms = 0;
	s->progress_ms = mono_ms();
	s->seen_done = s->done;
	s->born_done = s->done;
	__atomic_store_n(&s->pid, pid, __ATOMIC_RELAXED);
	if (pid > sh->max_pid)
		__atomic_store_n(&sh->max_pid, pid, __ATOMIC_RELAXED);
}

static struct slot *slot_of(pid_t pid)
{
	for (unsigned int i = 0; i < sh->workers; i++)
		if (sh->slots[i].pid == pid)
			return &sh->slots[i];
	return NULL;
}

static void reaped(struct parent *P, struct slot *s, pid_t pid, int st)
{
	char how[32];

	remember_dead(P, pid);
	__atomic_store_n(&s->pid, 0, __ATOMIC_RELAXED);
	if (s->killed_ms && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
		return;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		P->exited++;
		return;
	}
	describe_status(st, how, sizeof(how));
	add_report(&P->crashed, "worker %d (slot %u generation %u) ended by %s%s", (int)pid,
		   (unsigned int)(s - sh->slots), s->gen - 1, how,
		   WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? " that the fuzzer did not send" : "");
}

static void reap_any(struct parent *P)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct slot *s = slot_of(pid);
		char how[32];

		if (s) {
			reaped(P, s, pid, st);
		} else if (pid == churner) {
			churner = 0;
			describe_status(st, how, sizeof(how));
			add_report(&P->crashed, "the churner (pid %d) ended by %s", (int)pid, how);
		}
	}
}

static void kill_slot(struct parent *P, struct slot *s)
{
	if (!s->pid || s->killed_ms)
		return;
	if (__atomic_load_n(&s->in_call, __ATOMIC_RELAXED))
		P->killed_mid_call++;
	kill(s->pid, SIGKILL);
	s->killed_ms = mono_ms();
	P->killed++;
}

/* The name of the call a worker is in, from what it wrote in shared memory. */
static const char *call_name(int32_t in_call)
{
	if (in_call == 0)
		return "no call";
	if (in_call < 0 || (size_t)in_call > nr_descs)
		return "a call it could not name (shared memory overwritten?)";
	return descs[in_call - 1]->name;
}

static void mark_stuck(struct parent *P, struct slot *s)
{
	char wchan[64];
	char state = proc_state(s->pid, wchan, sizeof(wchan));
	int32_t call = __atomic_load_n(&s->in_call, __ATOMIC_RELAXED);

	add_report(&P->stuck, "worker %d (slot %u) not reaped %d s after SIGKILL: state %c, wchan %s, in %s",
		   (int)s->pid, (unsigned int)(s - sh->slots), REAP_MS / 1000, state ? state : '?',
		   wchan[0] ? wchan : "?", call_name(call));
	fprintf(stderr, "nexus-fuzz: %s\n", P->stuck.text[P->stuck.n ? P->stuck.n - 1 : 0]);
	s->retired = true;
	s->pid = 0;
	P->stop = true;	/* the kernel is wedged: what follows would mean little */
}

static void watch_slots(struct parent *P, int64_t now)
{
	for (unsigned int i = 0; i < sh->workers; i++) {
		struct slot *s = &sh->slots[i];
		uint64_t done = __atomic_load_n(&s->done, __ATOMIC_RELAXED);

		if (!s->pid)
			continue;
		if (s->killed_ms) {
			if (now - s->killed_ms > REAP_MS)
				mark_stuck(P, s);
			continue;
		}
		if (done != s->seen_done) {
			s->seen_done = done;
			s->progress_ms = now;
		} else if (now - s->progress_ms > STALL_MS) {
			int32_t call = __atomic_load_n(&s->in_call, __ATOMIC_RELAXED);

			P->stalled++;
			violation("worker %d made no call for %d s (in %s)", (int)s->pid,
				  STALL_MS / 1000, call_name(call));
			kill_slot(P, s);
		}
	}
}

static bool all_done(void)
{
	for (unsigned int i = 0; i < sh->workers; i++) {
		const struct slot *s = &sh->slots[i];

		if (s->pid || (!s->retired && s->done < s->quota))
			return false;
	}
	return true;
}

static void respawn(struct parent *P)
{
	for (unsigned int i = 0; i < sh->workers && !P->stop; i++) {
		struct slot *s = &sh->slots[i];

		if (!s->pid && !s->retired && s->done < s->quota)
			spawn(P, i);
	}
}

static uint64_t total_calls(void)
{
	uint64_t n = 0;

	for (unsigned int i = 0; i < sh->workers; i++)
		n += __atomic_load_n(&sh->slots[i].done, __ATOMIC_RELAXED);
	return n;
}

static void tick(struct parent *P, int64_t now)
{
	if (now >= P->next_spare_ms) {
		refresh_spared();
		P->next_spare_ms = now + 100;
	}
	reap_any(P);
	watch_slots(P, now);
	respawn(P);
	if (now >= P->next_kill_ms) {
		struct slot *s = &sh->slots[rng_below(&P->r, sh->workers)];

		/*
		 * Not before its first call: on a debug kernel under TCG a
		 * worker's set-up (fork, devices, round trips) takes longer than
		 * the kill interval once the parent ticks freely, and a last worker
		 * killed every ~80 ms made 6 calls/s for the last 1-2 % of 1M.
		 */
		if (__atomic_load_n(&s->done, __ATOMIC_RELAXED) > s->born_done)
			kill_slot(P, s);
		P->next_kill_ms = now + 1 + (int64_t)rng_below(&P->r, P->o->kill_ms);
	}
	if (now >= P->next_progress_ms) {
		fprintf(stderr, "nexus-fuzz: %.1f s: %" PRIu64 " calls, %" PRIu64 " workers killed\n",
			(double)(now - P->start_ms) / 1000, total_calls(), P->killed);
		P->next_progress_ms = now + 10000;
	}
}

/* Kill whatever runs and reap it all, REAP_MS at most. */
static void finish_workers(struct parent *P)
{
	int64_t until = mono_ms() + REAP_MS;

	for (unsigned int i = 0; i < sh->workers; i++)
		kill_slot(P, &sh->slots[i]);
	for (unsigned int i = 0; i < sh->workers; i++) {
		struct slot *s = &sh->slots[i];
		pid_t pid = s->pid;
		int st;

		if (!pid)
			continue;
		if (reap_until(pid, until, &st))
			reaped(P, s, pid, st);
		else
			mark_stuck(P, s);
	}
	reap_any(P);
}

static void run_workers(struct parent *P)
{
	P->start_ms = mono_ms();
	P->deadline_ms = P->start_ms + (int64_t)P->o->deadline_s * 1000;
	P->next_kill_ms = P->start_ms + 1 + (int64_t)rng_below(&P->r, P->o->kill_ms);
	P->next_progress_ms = P->start_ms + 10000;
	while (!P->stop && !all_done()) {
		int64_t now = mono_ms();

		if (now >= P->deadline_ms) {
			P->deadline_hit = true;
			break;
		}
		tick(P, now);
		sleep_us(1000);
	}
	finish_workers(P);
}

/* ---- the parent's own objects, shared by every worker ---------------------- */

static int32_t parent_port(int fd, const char *name, int32_t capacity)
{
	struct nexus_port_create r = { name, strlen(name) + 1, capacity, 0, 0 };

	return nx_ioctl(fd, NEXUS_PORT_CREATE, (uintptr_t)&r) == 0 && r.ret == B_OK ? r.id : 0;
}

static int32_t parent_sem(int fd, const char *name, int32_t count)
{
	struct nexus_sem_create r = { name, count, 0, 0 };

	return nx_ioctl(fd, NEXUS_SEM_CREATE, (uintptr_t)&r) == 0 && r.ret == B_OK ? r.id : 0;
}

/* An area of the parent's: cloneable or not, writable or not (0 without the device). */
static int32_t parent_area(int fd, const char *name, int pages, uint32_t protection)
{
	int32_t id = 0;

	if (fd < 0 || nx_area_new(fd, name, (uint64_t)pages * PAGE, protection, &id) != B_OK)
		return 0;
	return id;
}

/* The parent's vrefs (and their keys): slots no worker holds. */
static uint64_t parent_keys[PARENT_OBJECTS];

static int32_t parent_vref(int nfd, const char *path, int flags, int i)
{
	int fd, st;
	int32_t id = 0;

	if (nfd < 0)
		return 0;
	fd = open(path, flags | O_CLOEXEC, 0644);
	if (fd < 0)
		return 0;
	st = nm_vref_create(nfd, fd, &id, &parent_keys[i]);
	close(fd);
	if (st != 0)
		return 0;
	publish_key(id, parent_keys[i]);
	return id;
}

static void create_parent_objects(const int *fds)
{
	static const int32_t caps[PARENT_OBJECTS] = { 1, 2, 64, NEXUS_PORT_MAX_CAPACITY };
	static const int32_t counts[PARENT_OBJECTS] = { 0, 1, 2, 100 };
	static const int pages[PARENT_OBJECTS] = { 1, 2, 4, AREA_PAGES_MAX };
	static const uint32_t prots[PARENT_OBJECTS] = {
		B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA, B_READ_AREA | B_CLONEABLE_AREA,
		B_READ_AREA | B_WRITE_AREA, B_READ_AREA | B_WRITE_AREA | B_EXECUTE_AREA | B_CLONEABLE_AREA };
	char name[16];

	for (int i = 0; i < PARENT_OBJECTS; i++) {
		snprintf(name, sizeof(name), "fz-%d", i);
		sh->parent_ids[ID_PORT][i] = parent_port(fds[DEV_NEXUS], name, caps[i]);
		sh->parent_ids[ID_SEM][i] = parent_sem(fds[DEV_NEXUS], name, counts[i]);
		sh->parent_ids[ID_AREA][i] = parent_area(fds[DEV_AREA], name, pages[i], prots[i]);
		pool_add(&sh->pools[ID_PORT], sh->parent_ids[ID_PORT][i]);
		pool_add(&sh->pools[ID_SEM], sh->parent_ids[ID_SEM][i]);
		if (sh->parent_ids[ID_AREA][i])
			pool_add(&sh->pools[ID_AREA], sh->parent_ids[ID_AREA][i]);
	}
	for (int i = 0; i < PARENT_OBJECTS; i++) {
		char path[300];

		snprintf(path, sizeof(path), "%s/f%d", sh->scratch, i);
		sh->parent_ids[ID_VREF][i] = parent_vref(fds[DEV_NM], i == 0 ? sh->scratch : path,
							 i == 0 ? O_RDONLY | O_DIRECTORY : i == 1 ? O_RDONLY :
							 O_RDWR | O_CREAT, i);
		if (sh->parent_ids[ID_VREF][i])
			pool_add(&sh->pools[ID_VREF], sh->parent_ids[ID_VREF][i]);
	}
}

static void delete_parent_objects(const int *fds)
{
	for (int i = 0; i < PARENT_OBJECTS; i++) {
		struct nexus_port_id p = { sh->parent_ids[ID_PORT][i], 0 };
		struct nexus_sem_delete_req s = { sh->parent_ids[ID_SEM][i], 0 };

		/* Gone already (a worker deleted it) is fine. */
		nx_ioctl(fds[DEV_NEXUS], NEXUS_PORT_DELETE, (uintptr_t)&p);
		nx_ioctl(fds[DEV_NEXUS], NEXUS_SEM_DELETE, (uintptr_t)&s);
		if (fds[DEV_AREA] >= 0 && sh->parent_ids[ID_AREA][i])
			nx_area_delete(fds[DEV_AREA], sh->parent_ids[ID_AREA][i]);
		if (fds[DEV_NM] >= 0 && sh->parent_ids[ID_VREF][i])
			nm_vref_release(fds[DEV_NM], sh->parent_ids[ID_VREF][i], parent_keys[i]);
	}
}

/* ---- the churner: file system events for the watches -------------------------- */


/*
 * The directory the churner changes and the workers watch (on the root
 * file system, which has user xattrs on every kernel; /tmp, a tmpfs, has
 * them only since 6.6), with a subdirectory, a few files and "mnt", where
 * the churner mounts and unmounts a tmpfs.
 */
static bool setup_scratch(void)
{
	static const char *const bases[] = { "/var/tmp", "/tmp" };
	char path[300];

	for (size_t i = 0; i < COUNT_OF(bases); i++) {
		snprintf(sh->scratch, sizeof(sh->scratch), "%s/nexus-fuzz-XXXXXX", bases[i]);
		if (mkdtemp(sh->scratch))
			break;
		sh->scratch[0] = '\0';
	}
	if (!sh->scratch[0])
		return false;
	chmod(sh->scratch, 0755);
	snprintf(sh->mnt, sizeof(sh->mnt), "%s/mnt", sh->scratch);
	mkdir(sh->mnt, 0755);
	snprintf(path, sizeof(path), "%s/sub", sh->scratch);
	mkdir(path, 0755);
	for (int i = 0; i < 4; i++)
		nm_churn_once(sh->scratch, NM_OP_CREATE | (uint64_t)i << 8);
	return true;
}

static void churn_toggle_mount(bool *mounted)
{
	if (!*mounted) {
		if (mount("nexus-fuzz", sh->mnt, "tmpfs", 0, "size=1m,mode=0755") == 0) {
			*mounted = true;
			count(&sh->churn_mounts);
		}
		return;
	}
	if (umount(sh->mnt) < 0) {
		if (errno != EBUSY || umount2(sh->mnt, MNT_DETACH) < 0)
			return;
		count(&sh->churn_lazy);	/* a watched or vref'd file held it: detached */
	}
	*mounted = false;
	count(&sh->churn_umounts);
}

/*
 * Until killed: bursts of 1..16 operations (nexus-nm.h's churn: creates,
 * unlinks, renames within and across directories, links, chmod, chown,
 * writes, truncates, utimes, xattrs, mkdir, rmdir), now and then in the
 * tmpfs, which it mounts and unmounts every fifty operations or so, then
 * a pause of 0.5..3 ms.  Not a team: it never opens a Nexus device.
 */
static void churn_main(uint64_t seed)
{
	struct rng r = rng_for(seed, 0xc4, 0);
	bool mounted = false;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != sh->parent)
		_exit(0);
	for (;;) {
		for (uint64_t n = 1 + rng_below(&r, 16); n > 0; n--) {
			uint64_t x = rng_below(&r, 100);

			if (x < 2)
				churn_toggle_mount(&mounted);
			else
				nm_churn_once(mounted && x < 15 ? sh->mnt : sh->scratch, rng_next(&r));
			count(&sh->churn_ops);
		}
		sleep_us(500 + (int64_t)rng_below(&r, 2500));
	}
}

static void start_churner(uint64_t seed)
{
	fflush(NULL);
	churner = fork();
	if (churner == 0)
		churn_main(seed);
	if (churner < 0)
		perror("nexus-fuzz: fork (churner)");
}

static void stop_churner(void)
{
	int st;

	if (churner > 0) {
		kill_and_reap(churner, REAP_MS, &st);
		churner = 0;
	}
	if (sh->mnt[0])
		umount2(sh->mnt, MNT_DETACH);
}

/* ---- orphans: objects still owned by a dead worker's team ------------------ */

static int cmp_pid(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;

	return (x > y) - (x < y);
}

static bool is_dead_worker(const struct parent *P, pid_t pid)
{
	return bsearch(&pid, P->dead, P->nr_dead, sizeof(pid), cmp_pid) != NULL;
}

/* Ports of a dead team: GET_NEXT_PORT_FOR_TEAM must find none. */
static void scan_ports(struct parent *P, struct report *r)
{
	for (size_t i = 0; i < P->nr_dead; i++) {
		pid_t pid = P->dead[i];
		struct nexus_get_next_port q;

		if (i > 0 && P->dead[i - 1] == pid)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;	/* the pid is someone's again (or stuck): not a dead team */
		memset(&q, 0, sizeof(q));
		q.team = pid;
		if (nx_ioctl(P->fds[0], NEXUS_GET_NEXT_PORT_FOR_TEAM, (uintptr_t)&q) == 0 &&
		    q.ret == B_OK)
			add_report(r, "port %" PRId32 " still owned by dead team %d", q.info.port,
				   (int)pid);
	}
}

/* Areas of a dead team: AREA_GET_NEXT must find none. */
static void scan_areas(struct parent *P, struct report *r)
{
	struct nexus_area_get_next q;

	if (P->fds[DEV_AREA] < 0)
		return;
	for (size_t i = 0; i < P->nr_dead; i++) {
		pid_t pid = P->dead[i];
		int cookie = 0;

		if (i > 0 && P->dead[i - 1] == pid)
			continue;
		if (kill(pid, 0) == 0 || errno != ESRCH)
			continue;	/* the pid is someone's again (or stuck): not a dead team */
		if (nx_area_next(P->fds[DEV_AREA], pid, &cookie, &q) == B_OK)
			add_report(r, "area %" PRId32 " (\"%.32s\") still owned by dead team %d", q.area, q.name,
				   (int)pid);
	}
}

/* Semaphores, all teams: none may belong to a dead worker or to no team. */
static void scan_sems(struct parent *P, struct report *r)
{
	struct nexus_sem_next_info q;
	int32_t cookie = 0;

	for (int n = 0; n < 1 << 20; n++) {
		memset(&q, 0, sizeof(q));
		q.cookie = cookie;
		if (nx_ioctl(P->fds[0], NEXUS_SEM_NEXT_INFO, (uintptr_t)&q) != 0 || q.ret != B_OK)
			return;
		if (q.cookie <= cookie)
			return;	/* a cookie that does not move would loop forever */
		cookie = q.cookie;
		if (q.info.team <= 0 || is_dead_worker(P, q.info.team))
			add_report(r, "semaphore %" PRId32 " (\"%.32s\") owned by %s %" PRId32,
				   q.info.sem, q.info.name,
				   q.info.team <= 0 ? "no team:" : "dead team", q.info.team);
	}
}

/* Teardown may finish a moment after the reap: look again for up to 3 s. */
static void scan_orphans(struct parent *P)
{
	qsort(P->dead, P->nr_dead, sizeof(*P->dead), cmp_pid);
	for (int attempt = 0; attempt < 7; attempt++) {
		memset(&P->orphans, 0, sizeof(P->orphans));
		scan_ports(P, &P->orphans);
		scan_sems(P, &P->orphans);
		scan_areas(P, &P->orphans);
		if (P->orphans.n == 0)
			return;
		sleep_us(500000);
	}
}

/* ---- the summary ------------------------------------------------------------- */

static void print_stats(void)
{
	printf(",\"ioctls\":{");
	for (size_t i = 0; i < nr_descs; i++) {
		const struct stat_row *s = &sh->stats[i];

		printf("%s\"%s\":{\"calls\":%" PRIu64 ",\"ok\":%" PRIu64 ",\"efault\":%" PRIu64
		       ",\"enotty\":%" PRIu64 ",\"eperm\":%" PRIu64 ",\"einval\":%" PRIu64
		       ",\"eintr\":%" PRIu64 ",\"other\":%" PRIu64 "}",
		       i ? "," : "", descs[i]->name, s->calls, s->ok, s->efault, s->enotty,
		       s->eperm, s->einval, s->eintr, s->other);
	}
	putchar('}');
}

static void print_summary(const struct parent *P, int64_t wall_ms)
{
	printf("{\"seed\":%" PRIu64 ",\"workers\":%u,\"target_calls\":%" PRIu64
	       ",\"calls\":%" PRIu64 ",\"wall_ms\":%" PRId64 ",\"spawned\":%" PRIu64
	       ",\"killed\":%" PRIu64 ",\"killed_mid_call\":%" PRIu64 ",\"exited\":%" PRIu64
	       ",\"stalled\":%" PRIu64 ",\"reopens\":%" PRIu64 ",\"eperm_checks\":%" PRIu64
	       ",\"violations\":%" PRIu64 ",\"deadline_hit\":%s,\"newborns\":%" PRIu64
	       ",\"newborns_registered\":%" PRIu64 ",\"newborns_resumed\":%" PRIu64
	       ",\"clone_maps\":%" PRIu64 ",\"sigbus\":%" PRIu64 ",\"violation\":",
	       P->o->seed, sh->workers, P->o->calls, total_calls(), wall_ms, P->spawned,
	       P->killed, P->killed_mid_call, P->exited, P->stalled, sh->reopens,
	       sh->eperm_checks, sh->violations, P->deadline_hit ? "true" : "false", sh->newborns,
	       sh->newborns_registered, sh->newborns_resumed, sh->clone_maps, sh->sigbus);
	json_string(stdout, sh->violation);
	printf(",\"nm\":{\"events\":%" PRIu64 ",\"cut\":%" PRIu64 ",\"opens_checked\":%" PRIu64
	       ",\"caps_minted\":%" PRIu64 ",\"slots_held_max\":%" PRIu64 ",\"churn_ops\":%" PRIu64
	       ",\"mounts\":%" PRIu64 ",\"umounts\":%" PRIu64 ",\"lazy_umounts\":%" PRIu64 ",\"by_opcode\":{",
	       sh->nm_events, sh->nm_cut, sh->nm_opens_checked, sh->nm_caps_minted, sh->nm_slots_held_max,
	       sh->churn_ops, sh->churn_mounts, sh->churn_umounts, sh->churn_lazy);
	for (unsigned int i = 0; i < NM_NR_OPS; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", NM_OP_NAMES[i], sh->nm_by_op[i]);
	printf("}}");
	print_report("crashed", &P->crashed);
	print_report("stuck", &P->stuck);
	print_report("orphans", &P->orphans);
	print_stats();
	printf("}\n");
	fflush(stdout);
}

/* ---- main ---------------------------------------------------------------------- */

static void usage(void)
{
	fprintf(stderr, "usage: nexus-fuzz [--seed N] [--calls N] [--workers N] [--kill-ms N]\n"
		"                  [--deadline S] [--spare PID] [--dry-run N [--gens G]] [--list]\n");
	exit(2);
}

static uint64_t number(const char *s)
{
	return parse_number(s, usage);
}

static void parse(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (!strcmp(a, "--list")) {
			o->list = true;
			continue;
		}
		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--seed"))
			o->seed = number(argv[++i]);
		else if (!strcmp(a, "--calls"))
			o->calls = number(argv[++i]);
		else if (!strcmp(a, "--workers"))
			o->workers = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--kill-ms"))
			o->kill_ms = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--deadline"))
			o->deadline_s = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--dry-run"))
			o->dry_run = (unsigned long)number(argv[++i]);
		else if (!strcmp(a, "--gens"))
			o->gens = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--spare"))
			o->spare = (pid_t)number(argv[++i]);
		else
			usage();
	}
	if (o->workers < 1 || o->workers > MAX_WORKERS || o->kill_ms < 1 || o->gens < 1)
		usage();
}

static void setup_shared(const struct options *o)
{
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("nexus-fuzz: mmap");
		exit(70);
	}
	report_crashes(sh, sizeof(*sh));
	sh->workers = o->workers;
	sh->spare = o->spare;
	refresh_spared();
	sh->parent = getpid();
	sh->max_pid = getpid();
	for (unsigned int i = 0; i < o->workers; i++)
		sh->slots[i].quota = o->calls / o->workers + (i < o->calls % o->workers);
}

static bool verdict(const struct parent *P)
{
	return !sh->violations && !P->crashed.n && !P->stuck.n && !P->orphans.n;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct options o = { .seed = (uint64_t)time(NULL), .calls = 2000000,
		.workers = (unsigned int)(cpus > 0 ? 2 * cpus : 2), .kill_ms = 40,
		.deadline_s = 300, .gens = 1 };
	struct parent P = { .o = &o };
	int64_t t0;

	parse(argc, argv, &o);
	flatten_tables();
	if (o.list)
		return list_table();
	if (o.dry_run)
		return dry_run(o.seed, o.workers, o.gens, o.dry_run);

	fprintf(stderr, "nexus-fuzz: seed %" PRIu64 ", %" PRIu64 " calls, %u workers, a kill every 1..%u ms\n",
		o.seed, o.calls, o.workers, o.kill_ms);
	setup_shared(&o);
	for (size_t d = 0; d < NR_DEVICES; d++)
		P.fds[d] = nx_open_path(DEVICES[d].path);
	if (P.fds[0] < 0) {
		fprintf(stderr, "nexus-fuzz: %s: %s\n", DEVICES[0].path, strerror(-P.fds[0]));
		return 3;
	}
	P.r = rng_for(o.seed, 0xffff, 0);
	if (!setup_scratch())
		fprintf(stderr, "nexus-fuzz: no scratch directory for the node monitor: %s\n", strerror(errno));
	else
		start_churner(o.seed);
	create_parent_objects(P.fds);
	t0 = mono_ms();
	run_workers(&P);
	stop_churner();
	scan_orphans(&P);
	delete_parent_objects(P.fds);
	if (sh->scratch[0])
		nm_remove_tree(sh->scratch, true);
	print_summary(&P, mono_ms() - t0);
	return verdict(&P) ? 0 : 1;
}
