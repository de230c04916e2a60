// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-agent: a second team for the scenarios, fast to start (no node).
 *
 * Opens /dev/nexus at start (so a ready agent is a team), prints
 *   {"ready":true,"pid":P,"uid":U,"gid":G,"fd":F}
 * (euid/egid; F = the descriptor or -errno), then reads one command per line
 * on stdin and answers each with one JSON object per line on stdout, one
 * command at a time: a blocking command blocks the agent.  Quits on EOF.
 * Numbers are decimal (flags may be 0x hex); a timeout may be "inf"
 * (B_INFINITE_TIMEOUT).  Names have no spaces.
 *
 *   port_create CAP NAME                        {"ret":id}
 *   port_write ID CODE LEN BYTE FLAGS TIMEOUT   {"ret":st}  LEN bytes of value BYTE
 *   port_write_hex ID CODE HEX FLAGS TIMEOUT    {"ret":st}  HEX "-" = no bytes
 *   port_read ID BUFSIZE FLAGS TIMEOUT          {"ret":st,"size":n,"code":c,"hex":"..."}
 *                                               (ret B_OK or error, size = bytes copied)
 *   port_close ID | port_delete ID | port_find NAME | port_set_owner ID TEAM
 *                                               {"ret":st}  (port_find: id or error)
 *   port_info ID                                {"ret":st,"port":..,"team":..,"name":"..",
 *                                                "capacity":..,"queue_count":..,"total_count":..}
 *   sem_create COUNT NAME                       {"ret":id}
 *   sem_delete ID                               {"ret":st}
 *   sem_count ID                                {"ret":st,"count":c}
 *   sem_acquire ID COUNT FLAGS TIMEOUT          {"ret":st}
 *   sem_release ID COUNT FLAGS                  {"ret":st}
 *   port_msg_info ID FLAGS TIMEOUT              {"ret":st,"size":..,"sender":..,"sender_group":..,
 *                                                "sender_team":..}  (the next message, not consumed)
 *   port_next TEAM COOKIE                       {"ret":st,"cookie":c, port_info's fields}
 *   sem_info ID                                 {"ret":st,"sem":..,"team":..,"name":"..","count":..,
 *                                                "latest_holder":..}
 *   sem_next TEAM COOKIE                        {"ret":st,"cookie":c, sem_info's fields}
 *   port_create_many N CAP                      {"ret":st,"created":n,"first":id,"last":id}
 *   sem_create_many N COUNT                     the same for semaphores: creates until N exist
 *                                               or a create fails (ret: its status, else 0)
 *   port_fill CAP MAX LEN                       creates ports of CAP and fills each with LEN-byte
 *                                               messages (timeout 0) until MAX are queued or a
 *                                               write fails otherwise than B_WOULD_BLOCK (a full
 *                                               port: next port) or a create fails:
 *                                               {"ret":st (0: MAX reached),"written":n,"ports":k}
 *   sig_restart usr1|usr2 0|1                   reinstall the signal's handler without / with
 *                                               SA_RESTART  {"ret":0}
 *   timed COMMAND...                            COMMAND's answer plus "start_us","end_us" (the
 *                                               CLOCK_MONOTONIC microseconds around it),
 *                                               "elapsed_us" and "caught" (signals handled
 *                                               meanwhile)
 *   ids                                         {"ret":0,"pid":P,"uid":..,"euid":..,"gid":..,
 *                                                "egid":..,"nspid":[...]}  (nspid: /proc/self/status
 *                                                NSpid, outermost visible pid namespace first)
 *   fork_check    fork; the child ioctls NEXUS_PORT_CREATE on a dup of the
 *                 parent's descriptor, then creates a port with libnexus:
 *                 {"ret":0,"inherited_errno":E,"inherited_ret":R,"inherited_id":I,
 *                  "child_pid":P,"child_port":ID,"child_port_team":T}
 *   team                                        {"ret":0,"pid":P,"tid":T}
 *   exit CODE                                   exits at once, no answer
 *
 * Threads.  Commands run on the agent's main thread (tid = pid): its mailbox
 * is the one thread_receive reads and other teams send to.  FLAGS 0 means
 * Haiku's plain call (send_data, receive_data, wait_for_thread), else the
 * _etc one.
 *   thread_spawn NAME OP...                     {"ret":tid_or_st}  a thread (suspended until
 *                                               resumed) that runs the ops, recorded for
 *                                               thread_report (nexus-program.h).  Ops:
 *                                               receive:BUFSIZE[:FLAGS:TIMEOUT]
 *                                               send:TID:CODE:HEX[:FLAGS:TIMEOUT] (HEX - = none)
 *                                               wait:TID[:FLAGS:TIMEOUT]   sleep:US
 *                                               return:CODE   exit:CODE (exit_thread)
 *                                               pthread_exit   block (receive:0, forever)
 *   thread_resume TID | thread_rename TID NAME  {"ret":st}
 *   thread_has_data TID                         {"ret":1|0}  (0 as well when the call fails)
 *   thread_find NAME                            {"ret":tid_or_st}  (NAME - = the calling thread)
 *   thread_send TID CODE HEX FLAGS TIMEOUT      {"ret":st}  (HEX - = no bytes)
 *   thread_receive BUFSIZE FLAGS TIMEOUT        {"ret":code_or_st,"sender":S,"hex":"..."}
 *                                               (the whole buffer, zeroed first: receive_data
 *                                               does not say how many bytes it copied; ""
 *                                               and sender 0 when nothing came)
 *   thread_wait TID FLAGS TIMEOUT               {"ret":st,"code":c}
 *   thread_info TID                             {"ret":st,"thread":..,"team":..,"name":"..",
 *                                                "state":..}  (TID 0: the caller)
 *   thread_report TID                           {"ret":0,"started":bool,"started_us":..,"done":bool,
 *                                                "results":[{"op":"receive","status":..,"sender":..,
 *                                                "hex":"..","start_us":..,"end_us":..},...]}: what a
 *                                               thread of thread_spawn did so far (started_us only
 *                                               once started; code for wait/return/exit); ret
 *                                               B_BAD_THREAD_ID when there is no record
 *   thread_signal TID usr1|usr2                 {"ret":0_or_-errno}  tgkill: interrupts that very
 *                                               thread (a signal sent to the agent goes to its
 *                                               main thread)
 * Areas (libnexus maps them anywhere in the agent, B_ANY_ADDRESS):
 *   area_create NAME SIZE LOCK PROT             {"ret":id_or_st}
 *   area_clone NAME SOURCE PROT                 {"ret":id_or_st}
 *   area_delete ID | area_find NAME | area_resize ID SIZE | area_protect ID PROT |
 *   area_transfer ID TEAM                       {"ret":st}  (area_find, area_transfer: id or st)
 *   area_info ID                                {"ret":st,"area":..,"name":"..","size":..,"lock":..,
 *                                                "protection":..,"team":..,"address":..}
 *   area_next TEAM COOKIE                       {"ret":st,"cookie":c, area_info's fields}
 *   area_read ID OFF LEN                        {"ret":st,"hex":"..."}  through the agent's mapping
 *   area_write ID OFF HEX                       {"ret":st}  (B_BAD_ADDRESS: the mapping refuses)
 *   area_mprotect ID PROT                       {"ret":0_or_-errno}  PROT: PROT_* bits
 *   area_clone_raw SOURCE PROT                  {"ret":st,"rc":..,"errno":..,"area":..,"fd":..,
 *                                                "size":..}  NEXUS_AREA_CLONE on the agent's
 *                                               /dev/nexus_area, the clone's fd left open
 *   mmap_fd FD SIZE PROT shared|private [MPROT] {"ret":0_or_-errno[,"mprotect":0_or_-errno]}
 *                                               maps, mprotects to MPROT if given, unmaps
 *   close_fd FD                                 {"ret":0_or_-errno}
 *   area_fd                                     {"ret":fd_or_-errno}  (/dev/nexus_area)
 * Vrefs (libnexus: the kernel's -errno as it is; keys are u64, printed as
 * decimal strings and taken as decimal or 0x hex):
 *   vref_create PATH [MODE] | vref_create FD    {"ret":st,"id":ID,"key":"K"}  PATH (starts with / or .)
 *                                               is opened with open(2) flags MODE (default
 *                                               O_RDONLY; numeric, 0x hex or 0 octal) and closed
 *                                               after; {"ret":-errno,"open_failed":true} when the
 *                                               open fails.  FD: an agent descriptor (-1...)
 *   vref_acquire ID KEY                         {"ret":st,"key":"NEW"}
 *   vref_release ID KEY                         {"ret":st}
 *   vref_open ID KEY MODE [HEX|-] [keep]        {"ret":-errno} or {"ret":0,"fd":F,"flags":F_GETFL,
 *                                                "cloexec":bool,"write":n_or_-errno,"read":n_or_-errno,
 *                                                "hex":"..."}: writes HEX (none: a 0-byte write,
 *                                               which still needs write access), then preads 64
 *                                               bytes at 0; closes the fd unless keep
 * Port capabilities (write_port_caps_etc, read_port_caps_etc: statuses):
 *   write_caps PORT CODE HEX CAPS [FLAGS TIMEOUT]  {"ret":st}  CAPS: - or ID[:OFFSET[:KIND]],...
 *                                               (flags 0, timeout 0 when not given)
 *   read_caps PORT SIZE ROOM FLAGS TIMEOUT      {"ret":st,"code":c,"size":n,"caps_count":k,"hex":"..",
 *                                                "caps":[{"kind":..,"vref_id":..,"offset":..,"key":"K"}]}
 *                                               (B_BUFFER_OVERFLOW: size, caps_count = needed)
 * Node monitor (libnexus's Haiku calls: -EPERM/-EACCES come as B_NOT_ALLOWED,
 * -ENOSPC as B_NO_MEMORY; TOKEN is an int32 or uint32):
 *   watch PATH FLAGS PORT TOKEN                 {"ret":st}  watch_node_path (FLAGS 0 stops)
 *   watch_ref PATH FLAGS PORT TOKEN             {"ret":st,"device":D,"node":N}  through
 *                                               get_node_ref_for_path + watch_node + put_node_ref
 *   watch_raw PATH|FD FLAGS PORT TOKEN [VREF]   {"ret":0_or_-errno}  NEXUS_START_WATCHING itself
 *                                               (PATH opened O_RDONLY|O_NONBLOCK for the call,
 *                                               {"ret":-errno,"open_failed":true} if it cannot be;
 *                                               FD: one of open_fd's, or -1: with VREF the vref's
 *                                               node, alone the volume watch)
 *   open_fd PATH MODE                           {"ret":fd_or_-errno}  open(2) with flags MODE
 *                                               (| O_CLOEXEC), left open for watch_raw,
 *                                               vref_create FD..., closed by close_fd
 *   watch_volume PORT TOKEN                     {"ret":st}
 *   stop_watching PATH PORT TOKEN               {"ret":st}  (B_ENTRY_NOT_FOUND: no such watch)
 *   stop_watching_volume PORT TOKEN             {"ret":st}
 *   stop_notifying PORT TOKEN                   {"ret":st}  every watch for PORT and TOKEN
 *   node_monitor_fd                             {"ret":fd_or_-errno}  (/dev/nexus_node_monitor,
 *                                               which makes the agent a node monitor team)
 *   hold US|inf                                 {"ret":0} after US microseconds; inf: never
 *                                               answers (send it, then kill the agent)
 * Anything else: {"error":"..."}.
 *
 * SIGUSR1 and SIGUSR2 are caught (without SA_RESTART, until sig_restart says
 * otherwise) and only counted: a scenario interrupts a blocked command with
 * them (B_INTERRUPTED), or checks that a SA_RESTART handler does not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nexus.h>
#include "libnexus.h"
#include "nexus-area-io.h"
#include "nexus-program.h"

/* thread_spawn takes a name and up to PROG_MAX_OPS ops. */
#define MAX_TOKENS (PROG_MAX_OPS + 2)
/* port_write and port_read accept more than a port takes, to test the limit. */
#define MAX_MESSAGE (16 * 1024 * 1024)

/* ---- output: one JSON object per line ----------------------------------- */

struct out {
	char *buf;
	size_t len, cap;
};

static void out_reserve(struct out *o, size_t more)
{
	if (o->len + more + 1 <= o->cap)
		return;
	while (o->len + more + 1 > o->cap)
		o->cap = o->cap ? o->cap * 2 : 256;
	o->buf = realloc(o->buf, o->cap);
	if (!o->buf) {
		perror("nexus-agent: realloc");
		exit(70);
	}
}

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void out_printf(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	out_reserve(o, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(o->buf + o->len, o->cap - o->len, fmt, ap);
	va_end(ap);
	o->len += (size_t)n;
}

static void out_json_string(struct out *o, const char *s, size_t max)
{
	out_printf(o, "\"");
	for (size_t i = 0; i < max && s[i]; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"' || c == '\\')
			out_printf(o, "\\%c", c);
		else if (c < 0x20)
			out_printf(o, "\\u%04x", c);
		else
			out_printf(o, "%c", c);
	}
	out_printf(o, "\"");
}

static void out_hex(struct out *o, const unsigned char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";

	out_reserve(o, 2 * n);
	for (size_t i = 0; i < n; i++) {
		o->buf[o->len++] = digits[p[i] >> 4];
		o->buf[o->len++] = digits[p[i] & 15];
	}
	o->buf[o->len] = '\0';
}

static struct out answer;

static void send_answer(void)
{
	out_printf(&answer, "\n");
	fwrite(answer.buf, 1, answer.len, stdout);
	fflush(stdout);
	answer.len = 0;
}

static void reply_ret(long long ret)
{
	out_printf(&answer, "{\"ret\":%lld}", ret);
}

static void reply_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void reply_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	answer.len = 0;
	out_printf(&answer, "{\"error\":");
	out_json_string(&answer, msg, sizeof(msg));
	out_printf(&answer, "}");
}

/* ---- argument parsing ---------------------------------------------------- */

static bool parse_ll(const char *s, int base, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, base);
	if (errno || end == s || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

#define ARG(i, what, base, min, max, var)                                          \
	do {                                                                       \
		long long v_;                                                      \
		if (!parse_ll(argv[i], base, min, max, &v_)) {                     \
			reply_error("%s: bad %s '%s'", argv[0], what, argv[i]);    \
			return;                                                    \
		}                                                                  \
		var = v_;                                                          \
	} while (0)

#define ARG_I32(i, what, var) ARG(i, what, 10, INT32_MIN, INT32_MAX, var)
#define ARG_FLAGS(i, var) ARG(i, "flags", 0, 0, UINT32_MAX, var)

static bool parse_timeout(const char *s, bigtime_t *out)
{
	long long v;

	if (!strcmp(s, "inf")) {
		*out = B_INFINITE_TIMEOUT;
		return true;
	}
	if (!parse_ll(s, 10, LLONG_MIN, LLONG_MAX, &v))
		return false;
	*out = v;
	return true;
}

#define ARG_TIMEOUT(i, var)                                                        \
	do {                                                                       \
		if (!parse_timeout(argv[i], &var)) {                               \
			reply_error("%s: bad timeout '%s'", argv[0], argv[i]);     \
			return;                                                    \
		}                                                                  \
	} while (0)

/* HEX ("-": no bytes) into a malloc'd *buf; false, with the error replied, if bad. */
static bool parse_hex(const char *cmd, const char *hex, unsigned char **buf, size_t *len)
{
	size_t n = strcmp(hex, "-") ? strlen(hex) : 0;

	if (!prog_unhex(hex, n, buf, len)) {
		reply_error("%s: bad hex '%s'", cmd, hex);
		return false;
	}
	return true;
}

/* ---- commands ------------------------------------------------------------- */

static void cmd_port_create(char **argv)
{
	__s32 capacity;

	ARG_I32(1, "capacity", capacity);
	reply_ret(create_port(capacity, argv[2]));
}

static void cmd_port_write(char **argv)
{
	__s32 id, code;
	long long len, byte;
	__u32 flags;
	bigtime_t timeout;
	void *buf;

	ARG_I32(1, "id", id);
	ARG_I32(2, "code", code);
	ARG(3, "length", 10, 0, MAX_MESSAGE, len);
	ARG(4, "byte", 0, 0, 255, byte);
	ARG_FLAGS(5, flags);
	ARG_TIMEOUT(6, timeout);
	buf = malloc(len ? (size_t)len : 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	memset(buf, (int)byte, (size_t)len);
	reply_ret(write_port_etc(id, code, buf, (size_t)len, flags, timeout));
	free(buf);
}

static void cmd_port_write_hex(char **argv)
{
	unsigned char *buf;
	__s32 id, code;
	__u32 flags;
	bigtime_t timeout;
	size_t len;

	ARG_I32(1, "id", id);
	ARG_I32(2, "code", code);
	ARG_FLAGS(4, flags);
	ARG_TIMEOUT(5, timeout);
	if (!parse_hex(argv[0], argv[3], &buf, &len))
		return;
	reply_ret(write_port_etc(id, code, buf, len, flags, timeout));
	free(buf);
}

static void cmd_port_read(char **argv)
{
	long long size;
	__s32 id, code = 0;
	__u32 flags;
	bigtime_t timeout;
	unsigned char *buf;
	ssize_t r;

	ARG_I32(1, "id", id);
	ARG(2, "buffer size", 10, 0, MAX_MESSAGE, size);
	ARG_FLAGS(3, flags);
	ARG_TIMEOUT(4, timeout);
	buf = malloc(size ? (size_t)size : 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	r = read_port_etc(id, &code, buf, (size_t)size, flags, timeout);
	out_printf(&answer, "{\"ret\":%zd,\"size\":%zd,\"code\":%d,\"hex\":\"", r < 0 ? r : 0, r < 0 ? 0 : r,
		   code);
	if (r > 0)
		out_hex(&answer, buf, (size_t)r);
	out_printf(&answer, "\"}");
	free(buf);
}

static void cmd_port_close(char **argv)
{
	__s32 id;

	ARG_I32(1, "id", id);
	reply_ret(close_port(id));
}

static void cmd_port_delete(char **argv)
{
	__s32 id;

	ARG_I32(1, "id", id);
	reply_ret(delete_port(id));
}

static void cmd_port_find(char **argv)
{
	reply_ret(find_port(argv[1]));
}

static void cmd_port_set_owner(char **argv)
{
	__s32 id, team;

	ARG_I32(1, "id", id);
	ARG_I32(2, "team", team);
	reply_ret(set_port_owner(id, team));
}

/* port_info's fields, without braces. */
static void out_port_info(const struct port_info *info)
{
	out_printf(&answer, "\"port\":%d,\"team\":%d,\"name\":", info->port, info->team);
	out_json_string(&answer, info->name, sizeof(info->name));
	out_printf(&answer, ",\"capacity\":%d,\"queue_count\":%d,\"total_count\":%d", info->capacity,
		   info->queue_count, info->total_count);
}

static void cmd_port_info(char **argv)
{
	struct port_info info;
	status_t st;
	__s32 id;

	ARG_I32(1, "id", id);
	st = get_port_info(id, &info);
	if (st != B_OK) {
		reply_ret(st);
		return;
	}
	out_printf(&answer, "{\"ret\":%d,", st);
	out_port_info(&info);
	out_printf(&answer, "}");
}

static void cmd_sem_create(char **argv)
{
	__s32 count;

	ARG_I32(1, "count", count);
	reply_ret(create_sem(count, argv[2]));
}

static void cmd_sem_delete(char **argv)
{
	__s32 id;

	ARG_I32(1, "id", id);
	reply_ret(delete_sem(id));
}

static void cmd_sem_count(char **argv)
{
	__s32 id, count = 0;
	status_t st;

	ARG_I32(1, "id", id);
	st = get_sem_count(id, &count);
	out_printf(&answer, "{\"ret\":%d,\"count\":%d}", st, count);
}

static void cmd_sem_acquire(char **argv)
{
	__s32 id, count;
	__u32 flags;
	bigtime_t timeout;

	ARG_I32(1, "id", id);
	ARG_I32(2, "count", count);
	ARG_FLAGS(3, flags);
	ARG_TIMEOUT(4, timeout);
	reply_ret(acquire_sem_etc(id, count, flags, timeout));
}

static void cmd_sem_release(char **argv)
{
	__s32 id, count;
	__u32 flags;

	ARG_I32(1, "id", id);
	ARG_I32(2, "count", count);
	ARG_FLAGS(3, flags);
	reply_ret(release_sem_etc(id, count, flags));
}

static void cmd_port_msg_info(char **argv)
{
	struct port_message_info info;
	__s32 id;
	__u32 flags;
	bigtime_t timeout;
	status_t st;

	ARG_I32(1, "id", id);
	ARG_FLAGS(2, flags);
	ARG_TIMEOUT(3, timeout);
	memset(&info, 0, sizeof(info));
	st = get_port_message_info_etc(id, &info, sizeof(info), flags, timeout);
	if (st != B_OK) {
		reply_ret(st);
		return;
	}
	out_printf(&answer, "{\"ret\":%d,\"size\":%zu,\"sender\":%u,\"sender_group\":%u,\"sender_team\":%d}", st,
		   info.size, (unsigned int)info.sender, (unsigned int)info.sender_group, info.sender_team);
}

static void cmd_port_next(char **argv)
{
	struct port_info info;
	__s32 team, cookie;
	status_t st;

	ARG_I32(1, "team", team);
	ARG_I32(2, "cookie", cookie);
	st = get_next_port_info(team, &cookie, &info);
	out_printf(&answer, "{\"ret\":%d,\"cookie\":%d", st, cookie);
	if (st == B_OK) {
		out_printf(&answer, ",");
		out_port_info(&info);
	}
	out_printf(&answer, "}");
}

/* sem_info's fields, without braces. */
static void out_sem_info(const struct sem_info *info)
{
	out_printf(&answer, "\"sem\":%d,\"team\":%d,\"name\":", info->sem, info->team);
	out_json_string(&answer, info->name, sizeof(info->name));
	out_printf(&answer, ",\"count\":%d,\"latest_holder\":%d", info->count, info->latest_holder);
}

static void cmd_sem_info(char **argv)
{
	struct sem_info info;
	status_t st;
	__s32 id;

	ARG_I32(1, "id", id);
	st = get_sem_info(id, &info);
	out_printf(&answer, "{\"ret\":%d", st);
	if (st == B_OK) {
		out_printf(&answer, ",");
		out_sem_info(&info);
	}
	out_printf(&answer, "}");
}

static void cmd_sem_next(char **argv)
{
	struct sem_info info;
	__s32 team, cookie;
	status_t st;

	ARG_I32(1, "team", team);
	ARG_I32(2, "cookie", cookie);
	st = get_next_sem_info(team, &cookie, &info);
	out_printf(&answer, "{\"ret\":%d,\"cookie\":%d", st, cookie);
	if (st == B_OK) {
		out_printf(&answer, ",");
		out_sem_info(&info);
	}
	out_printf(&answer, "}");
}

/* Create up to n objects with create(arg); stop at the first failure. */
static void create_many(long long n, __s32 arg, __s32 (*create)(__s32 arg, const char *name))
{
	__s32 id, first = 0, last = 0, st = B_OK;
	long long created = 0;

	while (created < n) {
		id = create(arg, "many");
		if (id < 0) {
			st = id;
			break;
		}
		if (!created)
			first = id;
		last = id;
		created++;
	}
	out_printf(&answer, "{\"ret\":%d,\"created\":%lld,\"first\":%d,\"last\":%d}", st, created, first, last);
}

static void cmd_port_create_many(char **argv)
{
	long long n;
	__s32 capacity;

	ARG(1, "number", 10, 0, INT32_MAX, n);
	ARG_I32(2, "capacity", capacity);
	create_many(n, capacity, create_port);
}

static void cmd_sem_create_many(char **argv)
{
	long long n;
	__s32 count;

	ARG(1, "number", 10, 0, INT32_MAX, n);
	ARG_I32(2, "count", count);
	create_many(n, count, create_sem);
}

/* Write len-byte messages to port until it is full; the status that stopped it. */
static status_t fill_port(port_id port, const void *buf, size_t len, long long max, long long *written)
{
	status_t st = B_OK;

	while (*written < max) {
		st = write_port_etc(port, 0, buf, len, B_RELATIVE_TIMEOUT, 0);
		if (st != B_OK)
			return st;
		(*written)++;
	}
	return st;
}

static void cmd_port_fill(char **argv)
{
	long long max, len, written = 0, ports = 0;
	__s32 capacity;
	status_t st = B_OK;
	port_id port;
	void *buf;

	ARG_I32(1, "capacity", capacity);
	ARG(2, "number", 10, 0, LLONG_MAX, max);
	ARG(3, "length", 10, 0, MAX_MESSAGE, len);
	buf = calloc(1, len ? (size_t)len : 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	while (written < max) {
		port = create_port(capacity, "fill");
		if (port < 0) {
			st = port;
			break;
		}
		ports++;
		st = fill_port(port, buf, (size_t)len, max, &written);
		if (st != B_OK && st != B_WOULD_BLOCK)
			break;
		st = B_OK;
	}
	free(buf);
	out_printf(&answer, "{\"ret\":%d,\"written\":%lld,\"ports\":%lld}", st, written, ports);
}

static void install_handler(int sig, bool restart);

static void cmd_sig_restart(char **argv)
{
	long long on;
	int sig;

	if (!strcmp(argv[1], "usr1")) {
		sig = SIGUSR1;
	} else if (!strcmp(argv[1], "usr2")) {
		sig = SIGUSR2;
	} else {
		reply_error("sig_restart: bad signal '%s' (usr1 or usr2)", argv[1]);
		return;
	}
	ARG(2, "switch", 10, 0, 1, on);
	install_handler(sig, on);
	reply_ret(0);
}

/* NSpid of /proc/self/status as a JSON array's contents; "" when unknown. */
static void out_nspid(void)
{
	char line[256];
	FILE *f = fopen("/proc/self/status", "r");

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;
		bool first = true;

		if (strncmp(line, "NSpid:", 6))
			continue;
		for (long v = strtol(p, &end, 10); end != p; v = strtol(p, &end, 10)) {
			out_printf(&answer, "%s%ld", first ? "" : ",", v);
			first = false;
			p = end;
		}
		break;
	}
	fclose(f);
}

static void cmd_ids(char **argv)
{
	(void)argv;
	out_printf(&answer, "{\"ret\":0,\"pid\":%d,\"uid\":%u,\"euid\":%u,\"gid\":%u,\"egid\":%u,\"nspid\":[", getpid(),
		   getuid(), geteuid(), getgid(), getegid());
	out_nspid();
	out_printf(&answer, "]}");
}

/* The child's half of fork_check; never returns. */
static void fork_check_child(int inherited, int report)
{
	static const char name[] = "fork-inherited";
	struct nexus_port_create req = { .name = name, .size = sizeof(name), .capacity = 1 };
	struct port_info info;
	int rc, err;
	port_id port;
	team_id team = 0;

	rc = ioctl(inherited, NEXUS_PORT_CREATE, &req);
	err = rc < 0 ? errno : 0;
	port = create_port(1, "fork-child");
	if (port >= 0)
		team = get_port_info(port, &info) == B_OK ? info.team : 0;
	dprintf(report, "%d %d %d %d %d\n", err, rc < 0 ? 0 : req.ret, rc < 0 ? 0 : req.id, port, team);
	_exit(0);
}

static void cmd_fork_check(char **argv)
{
	int fd = nexus_fd(), inherited, pipefd[2], status;
	int err = 0, iret = 0, iid = 0, port = 0, team = 0;
	char buf[128];
	ssize_t n;
	size_t got = 0;
	pid_t pid;

	(void)argv;
	if (fd < 0) {
		reply_ret(fd);
		return;
	}
	inherited = dup(fd);
	if (inherited < 0 || pipe2(pipefd, O_CLOEXEC) < 0) {
		reply_ret(-errno);
		if (inherited >= 0)
			close(inherited);
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(pipefd[0]);
		fork_check_child(inherited, pipefd[1]);
	}
	close(inherited);
	close(pipefd[1]);
	if (pid < 0) {
		reply_ret(-errno);
		close(pipefd[0]);
		return;
	}
	while (got < sizeof(buf) - 1 && (n = read(pipefd[0], buf + got, sizeof(buf) - 1 - got)) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		got += (size_t)n;
	}
	buf[got] = '\0';
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (sscanf(buf, "%d %d %d %d %d", &err, &iret, &iid, &port, &team) != 5) {
		reply_error("fork_check: the child reported '%s' (status 0x%x)", buf, status);
		return;
	}
	out_printf(&answer,
		   "{\"ret\":0,\"inherited_errno\":%d,\"inherited_ret\":%d,\"inherited_id\":%d,"
		   "\"child_pid\":%d,\"child_port\":%d,\"child_port_team\":%d}",
		   err, iret, iid, pid, port, team);
}

static void cmd_team(char **argv)
{
	(void)argv;
	out_printf(&answer, "{\"ret\":0,\"pid\":%d,\"tid\":%ld}", getpid(), (long)syscall(SYS_gettid));
}

/* ---- threads ------------------------------------------------------------- */

/* The FLAGS:TIMEOUT tail of an op (n = 0: none, 2: both); false if bad. */
static bool parse_op_etc(char **f, int n, struct prog_op *op)
{
	long long flags;

	if (n == 0)
		return true;
	if (n != 2 || !parse_ll(f[0], 0, 0, UINT32_MAX, &flags) || !parse_timeout(f[1], &op->timeout))
		return false;
	op->etc = true;
	op->flags = (__u32)flags;
	return true;
}

/* One op of thread_spawn, its fields f[0..n) (op:arg:...); false if bad. */
static bool parse_op_fields(char **f, int n, struct prog_op *op)
{
	long long a, b;

	if (n == 0)
		return false;
	if (!strcmp(f[0], "receive")) {
		op->kind = PROG_RECEIVE;
		if (n < 2 || !parse_ll(f[1], 10, 0, MAX_MESSAGE, &a))
			return false;
		op->size = (size_t)a;
		return parse_op_etc(f + 2, n - 2, op);
	}
	if (!strcmp(f[0], "block")) {
		op->kind = PROG_RECEIVE;
		return n == 1;
	}
	if (!strcmp(f[0], "send")) {
		op->kind = PROG_SEND;
		if (n < 4 || !parse_ll(f[1], 10, INT32_MIN, INT32_MAX, &a) ||
		    !parse_ll(f[2], 10, INT32_MIN, INT32_MAX, &b) ||
		    !prog_unhex(f[3], strcmp(f[3], "-") ? strlen(f[3]) : 0, &op->data, &op->size))
			return false;
		op->target = (thread_id)a;
		op->code = (__s32)b;
		return parse_op_etc(f + 4, n - 4, op);
	}
	if (!strcmp(f[0], "wait")) {
		op->kind = PROG_WAIT;
		if (n < 2 || !parse_ll(f[1], 10, INT32_MIN, INT32_MAX, &a))
			return false;
		op->target = (thread_id)a;
		return parse_op_etc(f + 2, n - 2, op);
	}
	if (!strcmp(f[0], "sleep")) {
		op->kind = PROG_SLEEP;
		if (n != 2 || !parse_ll(f[1], 10, 0, 3600000000LL, &a))
			return false;
		op->us = a;
		return true;
	}
	if (!strcmp(f[0], "return") || !strcmp(f[0], "exit")) {
		op->kind = f[0][0] == 'r' ? PROG_RETURN : PROG_EXIT;
		if (n != 2 || !parse_ll(f[1], 10, INT32_MIN, INT32_MAX, &a))
			return false;
		op->code = (__s32)a;
		return true;
	}
	if (!strcmp(f[0], "pthread_exit")) {
		op->kind = PROG_PTHREAD_EXIT;
		return n == 1;
	}
	return false;
}

static bool parse_op(const char *text, struct prog_op *op)
{
	char *copy = strdup(text), *f[8], *save = NULL, *tok;
	bool ok = !!copy;
	int n = 0;

	for (tok = ok ? strtok_r(copy, ":", &save) : NULL; tok; tok = strtok_r(NULL, ":", &save)) {
		if (n == 8) {
			ok = false;
			break;
		}
		f[n++] = tok;
	}
	ok = ok && parse_op_fields(f, n, op);
	free(copy);
	return ok;
}

static void cmd_thread_spawn(char **argv)
{
	struct prog *p;
	size_t count = 0;

	while (argv[2 + count])
		count++;
	p = prog_new(count);
	if (!p) {
		reply_error("out of memory");
		return;
	}
	for (size_t i = 0; i < count; i++) {
		if (!parse_op(argv[2 + i], &p->ops[i])) {
			prog_free(p);
			reply_error("thread_spawn: bad op '%s'", argv[2 + i]);
			return;
		}
	}
	reply_ret(prog_spawn(argv[1], p));
}

static void cmd_thread_resume(char **argv)
{
	thread_id tid;

	ARG_I32(1, "tid", tid);
	reply_ret(resume_thread(tid));
}

static void cmd_thread_has_data(char **argv)
{
	thread_id tid;

	ARG_I32(1, "tid", tid);
	reply_ret(has_data(tid));
}

static void cmd_thread_rename(char **argv)
{
	thread_id tid;

	ARG_I32(1, "tid", tid);
	reply_ret(rename_thread(tid, argv[2]));
}

static void cmd_thread_find(char **argv)
{
	reply_ret(find_thread(strcmp(argv[1], "-") ? argv[1] : NULL));
}

static void cmd_thread_send(char **argv)
{
	unsigned char *buf;
	thread_id tid;
	__s32 code;
	__u32 flags;
	bigtime_t timeout;
	size_t len;

	ARG_I32(1, "tid", tid);
	ARG_I32(2, "code", code);
	ARG_FLAGS(4, flags);
	ARG_TIMEOUT(5, timeout);
	if (!parse_hex(argv[0], argv[3], &buf, &len))
		return;
	reply_ret(flags ? send_data_etc(tid, code, buf, len, flags, timeout) : send_data(tid, code, buf, len));
	free(buf);
}

static void cmd_thread_receive(char **argv)
{
	long long size;
	thread_id sender = 0;
	__u32 flags;
	bigtime_t timeout;
	unsigned char *buf;
	__s32 r;

	ARG(1, "buffer size", 10, 0, MAX_MESSAGE, size);
	ARG_FLAGS(2, flags);
	ARG_TIMEOUT(3, timeout);
	buf = calloc(1, size ? (size_t)size : 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	r = flags ? receive_data_etc(&sender, buf, (size_t)size, flags, timeout)
		  : receive_data(&sender, buf, (size_t)size);
	out_printf(&answer, "{\"ret\":%d,\"sender\":%d,\"hex\":\"", r, sender);
	if (sender > 0)
		out_hex(&answer, buf, (size_t)size);
	out_printf(&answer, "\"}");
	free(buf);
}

static void cmd_thread_wait(char **argv)
{
	thread_id tid;
	status_t st, code = 0;
	__u32 flags;
	bigtime_t timeout;

	ARG_I32(1, "tid", tid);
	ARG_FLAGS(2, flags);
	ARG_TIMEOUT(3, timeout);
	st = flags ? wait_for_thread_etc(tid, flags, timeout, &code) : wait_for_thread(tid, &code);
	out_printf(&answer, "{\"ret\":%d,\"code\":%d}", st, code);
}

static void cmd_thread_info(char **argv)
{
	thread_info info;
	thread_id tid;
	status_t st;

	ARG_I32(1, "tid", tid);
	memset(&info, 0, sizeof(info));
	st = get_thread_info(tid, &info);
	out_printf(&answer, "{\"ret\":%d", st);
	if (st == B_OK) {
		out_printf(&answer, ",\"thread\":%d,\"team\":%d,\"name\":", info.thread, info.team);
		out_json_string(&answer, info.name, sizeof(info.name));
		out_printf(&answer, ",\"state\":%d", info.state);
	}
	out_printf(&answer, "}");
}

static void out_op_result(const struct prog_op *op, const struct prog_result *r)
{
	out_printf(&answer, "{\"op\":\"%s\",\"status\":%d", prog_kind_names[op->kind], r->status);
	switch (op->kind) {
	case PROG_RECEIVE:
		out_printf(&answer, ",\"sender\":%d,\"hex\":\"", r->sender);
		if (r->sender > 0)
			out_hex(&answer, r->data, r->size);
		out_printf(&answer, "\"");
		break;
	case PROG_WAIT:
	case PROG_RETURN:
	case PROG_EXIT:
		out_printf(&answer, ",\"code\":%d", r->code);
		break;
	default:
		break;
	}
	out_printf(&answer, ",\"start_us\":%lld,\"end_us\":%lld}", (long long)r->start_us, (long long)r->end_us);
}

static void cmd_thread_report(char **argv)
{
	const struct prog *p;
	thread_id tid;

	ARG_I32(1, "tid", tid);
	p = prog_lock_find(tid);
	if (!p) {
		prog_unlock();
		reply_ret(B_BAD_THREAD_ID);
		return;
	}
	out_printf(&answer, "{\"ret\":0,\"started\":%s", p->started_us ? "true" : "false");
	if (p->started_us)
		out_printf(&answer, ",\"started_us\":%lld", (long long)p->started_us);
	out_printf(&answer, ",\"done\":%s,\"results\":[", p->done ? "true" : "false");
	for (size_t i = 0; i < p->ran; i++) {
		if (i)
			out_printf(&answer, ",");
		out_op_result(&p->ops[i], &p->results[i]);
	}
	out_printf(&answer, "]}");
	prog_unlock();
}

static bool parse_signal(const char *name, int *sig)
{
	if (!strcmp(name, "usr1"))
		*sig = SIGUSR1;
	else if (!strcmp(name, "usr2"))
		*sig = SIGUSR2;
	else
		return false;
	return true;
}

static void cmd_thread_signal(char **argv)
{
	thread_id tid;
	int sig;

	ARG_I32(1, "tid", tid);
	if (!parse_signal(argv[2], &sig)) {
		reply_error("thread_signal: bad signal '%s' (usr1 or usr2)", argv[2]);
		return;
	}
	reply_ret(syscall(SYS_tgkill, getpid(), tid, sig) < 0 ? -errno : 0);
}

/* ---- areas ----------------------------------------------------------------- */

#define ARG_U64(i, what, var) ARG(i, what, 10, 0, LLONG_MAX, var)
#define ARG_PROT(i, var) ARG(i, "protection", 0, 0, UINT32_MAX, var)

static void cmd_area_create(char **argv)
{
	void *address = NULL;
	long long size;
	__u32 lock, prot;

	ARG_U64(2, "size", size);
	ARG(3, "lock", 0, 0, UINT32_MAX, lock);
	ARG_PROT(4, prot);
	reply_ret(create_area(argv[1], &address, B_ANY_ADDRESS, (size_t)size, lock, prot));
}

static void cmd_area_clone(char **argv)
{
	void *address = NULL;
	area_id source;
	__u32 prot;

	ARG_I32(2, "source", source);
	ARG_PROT(3, prot);
	reply_ret(clone_area(argv[1], &address, B_ANY_ADDRESS, prot, source));
}

static void cmd_area_delete(char **argv)
{
	area_id id;

	ARG_I32(1, "id", id);
	reply_ret(delete_area(id));
}

static void cmd_area_find(char **argv)
{
	reply_ret(find_area(argv[1]));
}

static void cmd_area_resize(char **argv)
{
	long long size;
	area_id id;

	ARG_I32(1, "id", id);
	ARG_U64(2, "size", size);
	reply_ret(resize_area(id, (size_t)size));
}

static void cmd_area_protect(char **argv)
{
	area_id id;
	__u32 prot;

	ARG_I32(1, "id", id);
	ARG_PROT(2, prot);
	reply_ret(set_area_protection(id, prot));
}

static void cmd_area_transfer(char **argv)
{
	void *address = NULL;
	area_id id;
	team_id team;

	ARG_I32(1, "id", id);
	ARG_I32(2, "team", team);
	reply_ret(transfer_area(id, &address, B_ANY_ADDRESS, team));
}

/* area_info's fields, without braces. */
static void out_area_info(const area_info *info)
{
	out_printf(&answer, "\"area\":%d,\"name\":", info->area);
	out_json_string(&answer, info->name, sizeof(info->name));
	out_printf(&answer, ",\"size\":%zu,\"lock\":%u,\"protection\":%u,\"team\":%d,\"address\":%llu", info->size,
		   info->lock, info->protection, info->team, (unsigned long long)(uintptr_t)info->address);
}

static void cmd_area_info(char **argv)
{
	area_info info;
	status_t st;
	area_id id;

	ARG_I32(1, "id", id);
	memset(&info, 0, sizeof(info));
	st = get_area_info(id, &info);
	out_printf(&answer, "{\"ret\":%d", st);
	if (st == B_OK) {
		out_printf(&answer, ",");
		out_area_info(&info);
	}
	out_printf(&answer, "}");
}

static void cmd_area_next(char **argv)
{
	area_info info;
	ssize_t cookie;
	team_id team;
	status_t st;

	ARG_I32(1, "team", team);
	ARG(2, "cookie", 10, INT32_MIN, INT32_MAX, cookie);
	memset(&info, 0, sizeof(info));
	st = get_next_area_info(team, &cookie, &info);
	out_printf(&answer, "{\"ret\":%d,\"cookie\":%zd", st, cookie);
	if (st == B_OK) {
		out_printf(&answer, ",");
		out_area_info(&info);
	}
	out_printf(&answer, "}");
}

static void cmd_area_read(char **argv)
{
	long long offset, len;
	unsigned char *buf;
	area_id id;
	status_t st;

	ARG_I32(1, "id", id);
	ARG_U64(2, "offset", offset);
	ARG(3, "length", 10, 0, MAX_MESSAGE, len);
	buf = malloc(len ? (size_t)len : 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	st = area_io(id, (uint64_t)offset, buf, (size_t)len, false);
	out_printf(&answer, "{\"ret\":%d,\"hex\":\"", st);
	if (st == B_OK)
		out_hex(&answer, buf, (size_t)len);
	out_printf(&answer, "\"}");
	free(buf);
}

static void cmd_area_write(char **argv)
{
	long long offset;
	unsigned char *buf;
	area_id id;
	size_t len;

	ARG_I32(1, "id", id);
	ARG_U64(2, "offset", offset);
	if (!parse_hex(argv[0], argv[3], &buf, &len))
		return;
	reply_ret(area_io(id, (uint64_t)offset, buf, len, true));
	free(buf);
}

static void cmd_area_mprotect(char **argv)
{
	area_id id;
	int prot;

	ARG_I32(1, "id", id);
	ARG(2, "prot", 0, 0, INT32_MAX, prot);
	reply_ret(area_io_mprotect(id, prot));
}

static void cmd_area_clone_raw(char **argv)
{
	struct nexus_area_clone req = { .name = "clone_raw" };
	int fd = nexus_area_fd(), err;
	long rc;

	ARG_I32(1, "source", req.source);
	ARG_PROT(2, req.protection);
	rc = fd < 0 ? fd : ioctl(fd, NEXUS_AREA_CLONE, &req);
	err = fd < 0 ? -fd : rc < 0 ? errno : 0;
	out_printf(&answer, "{\"ret\":%d,\"rc\":%ld,\"errno\":%d,\"area\":%d,\"fd\":%d,\"size\":%llu}",
		   req.ret, rc, err, req.area, req.fd, (unsigned long long)req.size);
}

static void cmd_mmap_fd(char **argv)
{
	long long size, to = -1;
	int fd, prot, err, mprotect_err, read_back;
	bool shared;

	ARG_I32(1, "fd", fd);
	ARG(2, "size", 10, 1, LLONG_MAX, size);
	ARG(3, "prot", 0, 0, INT32_MAX, prot);
	if (!strcmp(argv[4], "shared")) {
		shared = true;
	} else if (!strcmp(argv[4], "private")) {
		shared = false;
	} else {
		reply_error("mmap_fd: '%s' is not shared or private", argv[4]);
		return;
	}
	if (argv[5] && argv[6]) {
		reply_error("mmap_fd takes 4 or 5 arguments");
		return;
	}
	if (argv[5])
		ARG(5, "mprotect", 0, 0, INT32_MAX, to);
	err = area_io_mmap(fd, (size_t)size, prot, shared, (int)to, &mprotect_err, -1, &read_back);
	out_printf(&answer, "{\"ret\":%d", -err);
	if (!err && to >= 0)
		out_printf(&answer, ",\"mprotect\":%d", -mprotect_err);
	out_printf(&answer, "}");
}

static void cmd_close_fd(char **argv)
{
	int fd;

	ARG_I32(1, "fd", fd);
	reply_ret(close(fd) < 0 ? -errno : 0);
}

static void cmd_area_fd(char **argv)
{
	(void)argv;
	reply_ret(nexus_area_fd());
}

/* ---- vrefs, port capabilities, the node monitor ----------------------------- */

/* A u64 (a vref key): decimal or 0x hex, no sign. */
static bool parse_u64(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (*s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end)
		return false;
	*out = v;
	return true;
}

#define ARG_KEY(i, var)                                                            \
	do {                                                                       \
		if (!parse_u64(argv[i], &var)) {                                   \
			reply_error("%s: bad key '%s'", argv[0], argv[i]);         \
			return;                                                    \
		}                                                                  \
	} while (0)

/* A token: the kernel's u32, given as an int32 or a uint32. */
#define ARG_TOKEN(i, var) ARG(i, "token", 0, INT32_MIN, UINT32_MAX, var)
/* open(2) flags: decimal, 0x hex or 0 octal. */
#define ARG_MODE(i, var) ARG(i, "mode", 0, 0, INT32_MAX, var)

static bool is_path(const char *s)
{
	return s[0] == '/' || s[0] == '.';
}

static void cmd_vref_create(char **argv)
{
	bool path = is_path(argv[1]);
	uint64_t key = 0;
	vref_id id = 0;
	int fd, mode = O_RDONLY;
	status_t st;

	if (argv[2] && (!path || argv[3])) {
		reply_error("vref_create takes PATH [MODE] or FD");
		return;
	}
	if (path) {
		if (argv[2])
			ARG_MODE(2, mode);
		fd = open(argv[1], mode | O_CLOEXEC | O_NOCTTY, 0666);
		if (fd < 0) {
			out_printf(&answer, "{\"ret\":%d,\"open_failed\":true}", -errno);
			return;
		}
	} else {
		ARG_I32(1, "fd", fd);
	}
	st = nexus_vref_create(fd, &id, &key);
	if (path)
		close(fd);
	out_printf(&answer, "{\"ret\":%d,\"id\":%d,\"key\":\"%llu\"}", st, id, (unsigned long long)key);
}

static void cmd_vref_acquire(char **argv)
{
	uint64_t key, new_key = 0;
	vref_id id;
	status_t st;

	ARG_I32(1, "id", id);
	ARG_KEY(2, key);
	st = nexus_vref_acquire(id, key, &new_key);
	out_printf(&answer, "{\"ret\":%d,\"key\":\"%llu\"}", st, (unsigned long long)new_key);
}

static void cmd_vref_release(char **argv)
{
	uint64_t key;
	vref_id id;

	ARG_I32(1, "id", id);
	ARG_KEY(2, key);
	reply_ret(nexus_vref_release(id, key));
}

/* read/write(2) results: bytes, or -errno. */
static long long io_result(ssize_t n)
{
	return n < 0 ? -errno : n;
}

static void cmd_vref_open(char **argv)
{
	unsigned char *data = NULL, buf[64];
	bool keep = false;
	uint64_t key;
	size_t len = 0;
	long long w, r;
	vref_id id;
	int mode, fd, fl, fdfl;

	ARG_I32(1, "id", id);
	ARG_KEY(2, key);
	ARG_MODE(3, mode);
	for (int i = 4; argv[i]; i++) {
		if (!strcmp(argv[i], "keep") && !argv[i + 1]) {
			keep = true;
		} else if (i == 4 && !data) {
			if (!parse_hex(argv[0], argv[i], &data, &len))
				return;
		} else {
			free(data);
			reply_error("vref_open takes ID KEY MODE [HEX|-] [keep]");
			return;
		}
	}
	fd = nexus_vref_open(id, key, (__u32)mode);
	if (fd < 0) {
		free(data);
		reply_ret(fd);
		return;
	}
	fl = fcntl(fd, F_GETFL);
	fdfl = fcntl(fd, F_GETFD);
	/* Writes HEX (no bytes: a write of 0 bytes, which still needs a writable fd), then reads at 0. */
	w = io_result(write(fd, data ? data : buf, len));
	r = io_result(pread(fd, buf, sizeof(buf), 0));
	free(data);
	out_printf(&answer, "{\"ret\":0,\"fd\":%d,\"flags\":%d,\"cloexec\":%s,\"write\":%lld,\"read\":%lld,\"hex\":\"",
		   fd, fl, fdfl >= 0 && (fdfl & FD_CLOEXEC) ? "true" : "false", w, r);
	if (r > 0)
		out_hex(&answer, buf, (size_t)r);
	out_printf(&answer, "\"}");
	if (!keep)
		close(fd);
}

/* CAPS: "-" (none) or ID[:OFFSET[:KIND]],... into a malloc'd array. */
static bool parse_caps(const char *text, struct nexus_port_cap_in **caps, size_t *count)
{
	struct nexus_port_cap_in *list = NULL, *grown;
	char *copy, *save = NULL, *tok;
	size_t n = 0;
	bool ok = true;

	*caps = NULL;
	*count = 0;
	if (!strcmp(text, "-"))
		return true;
	/* No empty field: strtok_r would skip it. */
	for (const char *p = text; *p; p++) {
		bool sep = *p == ',' || *p == ':';

		if (sep && (p == text || !p[1] || p[1] == ',' || p[1] == ':'))
			return false;
	}
	copy = strdup(text);
	if (!copy)
		return false;
	for (tok = strtok_r(copy, ",", &save); tok && ok; tok = strtok_r(NULL, ",", &save)) {
		char *f[3], *fsave = NULL, *ftok;
		long long id, off = 0, kind = NEXUS_PORT_CAP_VREF;
		int nf = 0;

		for (ftok = strtok_r(tok, ":", &fsave); ftok; ftok = strtok_r(NULL, ":", &fsave)) {
			if (nf == 3) {
				ok = false;
				break;
			}
			f[nf++] = ftok;
		}
		ok = ok && nf >= 1 && parse_ll(f[0], 10, INT32_MIN, INT32_MAX, &id) &&
		     (nf < 2 || parse_ll(f[1], 0, 0, UINT32_MAX, &off)) &&
		     (nf < 3 || parse_ll(f[2], 0, 0, UINT32_MAX, &kind));
		if (!ok)
			break;
		grown = realloc(list, (n + 1) * sizeof(*list));
		if (!grown) {
			ok = false;
			break;
		}
		list = grown;
		list[n++] = (struct nexus_port_cap_in){ .kind = (__u32)kind, .vref_id = (__s32)id,
							.buffer_offset = (__u32)off };
	}
	free(copy);
	if (!ok || !n) {
		free(list);
		return false;
	}
	*caps = list;
	*count = n;
	return true;
}

static void cmd_write_caps(char **argv)
{
	struct nexus_port_cap_in *caps;
	unsigned char *buf;
	__s32 port, code;
	__u32 flags = 0;
	bigtime_t timeout = 0;
	size_t len, count;

	ARG_I32(1, "port", port);
	ARG_I32(2, "code", code);
	if (argv[5] && !argv[6]) {
		reply_error("write_caps takes PORT CODE HEX CAPS [FLAGS TIMEOUT]");
		return;
	}
	if (argv[5]) {
		if (argv[7]) {
			reply_error("write_caps takes PORT CODE HEX CAPS [FLAGS TIMEOUT]");
			return;
		}
		ARG_FLAGS(5, flags);
		ARG_TIMEOUT(6, timeout);
	}
	if (!parse_caps(argv[4], &caps, &count)) {
		reply_error("write_caps: bad caps '%s' (- or ID[:OFFSET[:KIND]],...)", argv[4]);
		return;
	}
	if (!parse_hex(argv[0], argv[3], &buf, &len)) {
		free(caps);
		return;
	}
	reply_ret(write_port_caps_etc(port, code, buf, len, caps, count, flags, timeout));
	free(buf);
	free(caps);
}

static void cmd_read_caps(char **argv)
{
	struct nexus_port_cap_out *caps;
	long long size, room;
	size_t got, count;
	__s32 port, code = 0;
	__u32 flags;
	bigtime_t timeout;
	unsigned char *buf;
	status_t st;

	ARG_I32(1, "port", port);
	ARG(2, "buffer size", 10, 0, MAX_MESSAGE, size);
	ARG(3, "caps room", 10, 0, 1 << 20, room);
	ARG_FLAGS(4, flags);
	ARG_TIMEOUT(5, timeout);
	buf = malloc(size ? (size_t)size : 1);
	caps = calloc(room ? (size_t)room : 1, sizeof(*caps));
	if (!buf || !caps) {
		free(buf);
		free(caps);
		reply_error("out of memory");
		return;
	}
	got = (size_t)size;
	count = (size_t)room;
	st = read_port_caps_etc(port, &code, buf, &got, caps, &count, flags, timeout);
	if (st != B_OK && st != B_BUFFER_OVERFLOW)
		got = count = 0;
	out_printf(&answer, "{\"ret\":%d,\"code\":%d,\"size\":%zu,\"caps_count\":%zu,\"hex\":\"", st, code, got,
		   count);
	if (st == B_OK)
		out_hex(&answer, buf, got);
	out_printf(&answer, "\",\"caps\":[");
	for (size_t i = 0; st == B_OK && i < count; i++)
		out_printf(&answer, "%s{\"kind\":%u,\"vref_id\":%d,\"offset\":%u,\"key\":\"%llu\"}", i ? "," : "",
			   caps[i].kind, caps[i].vref_id, caps[i].buffer_offset, (unsigned long long)caps[i].key);
	out_printf(&answer, "]}");
	free(buf);
	free(caps);
}

static void cmd_watch(char **argv)
{
	long long token;
	__u32 flags;
	port_id port;

	ARG_FLAGS(2, flags);
	ARG_I32(3, "port", port);
	ARG_TOKEN(4, token);
	reply_ret(watch_node_path(argv[1], flags, port, (__s32)token));
}

static void cmd_watch_ref(char **argv)
{
	struct nexus_node_ref ref;
	long long token;
	__u32 flags;
	port_id port;
	status_t st;

	ARG_FLAGS(2, flags);
	ARG_I32(3, "port", port);
	ARG_TOKEN(4, token);
	st = get_node_ref_for_path(argv[1], &ref);
	if (st != B_OK) {
		reply_ret(st);
		return;
	}
	st = watch_node(&ref, flags, port, (__s32)token);
	put_node_ref(&ref);
	out_printf(&answer, "{\"ret\":%d,\"device\":%d,\"node\":%lld}", st, ref.device, (long long)ref.node);
}

static void cmd_watch_raw(char **argv)
{
	struct nexus_watch_fd req = { .fd = -1 };
	bool path = is_path(argv[1]);
	long long token;
	int nm = nexus_node_monitor_fd();

	ARG_FLAGS(2, req.flags);
	ARG_I32(3, "port", req.port);
	ARG_TOKEN(4, token);
	req.token = (__u32)token;
	if (argv[5] && argv[6]) {
		reply_error("watch_raw takes PATH|FD FLAGS PORT TOKEN [VREF]");
		return;
	}
	if (argv[5])
		ARG_I32(5, "vref", req.vref_id);
	if (nm < 0) {
		reply_ret(nm);
		return;
	}
	if (path) {
		req.fd = open(argv[1], O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (req.fd < 0) {
			out_printf(&answer, "{\"ret\":%d,\"open_failed\":true}", -errno);
			return;
		}
	} else {
		ARG_I32(1, "fd", req.fd);
	}
	reply_ret(ioctl(nm, NEXUS_START_WATCHING, &req) < 0 ? -errno : 0);
	if (path)
		close(req.fd);
}

static void cmd_open_fd(char **argv)
{
	int mode, fd;

	ARG_MODE(2, mode);
	fd = open(argv[1], mode | O_CLOEXEC | O_NOCTTY, 0666);
	reply_ret(fd < 0 ? -errno : fd);
}

static void cmd_watch_volume(char **argv)
{
	long long token;
	port_id port;

	ARG_I32(1, "port", port);
	ARG_TOKEN(2, token);
	reply_ret(watch_volume(port, (__s32)token));
}

static void cmd_stop_watching(char **argv)
{
	long long token;
	port_id port;

	ARG_I32(2, "port", port);
	ARG_TOKEN(3, token);
	reply_ret(watch_node_path(argv[1], B_STOP_WATCHING, port, (__s32)token));
}

static void cmd_stop_watching_volume(char **argv)
{
	long long token;
	port_id port;

	ARG_I32(1, "port", port);
	ARG_TOKEN(2, token);
	reply_ret(stop_watching_volume(port, (__s32)token));
}

static void cmd_stop_notifying(char **argv)
{
	long long token;
	port_id port;

	ARG_I32(1, "port", port);
	ARG_TOKEN(2, token);
	reply_ret(stop_watching(port, (__s32)token));
}

static void cmd_node_monitor_fd(char **argv)
{
	(void)argv;
	reply_ret(nexus_node_monitor_fd());
}

/* Sleeps US microseconds (signals do not cut it short), or forever: "inf" never answers. */
static void cmd_hold(char **argv)
{
	bigtime_t us, end;

	ARG_TIMEOUT(1, us);
	if (us == B_INFINITE_TIMEOUT) {
		fflush(stdout);
		for (;;)
			pause();
	}
	end = system_time() + (us > 0 ? us : 0);
	for (bigtime_t now = system_time(); now < end; now = system_time()) {
		struct timespec ts = { .tv_sec = (end - now) / 1000000, .tv_nsec = (end - now) % 1000000 * 1000 };

		nanosleep(&ts, NULL);
	}
	reply_ret(0);
}

static void cmd_exit(char **argv)
{
	int code;

	ARG(1, "code", 10, 0, 255, code);
	fflush(stdout);
	exit(code);
}

static const struct command {
	const char *name;
	int argc;	/* arguments after the name; -n: n or more (argv ends with NULL) */
	void (*run)(char **argv);
} commands[] = {
	{ "port_create", 2, cmd_port_create },
	{ "port_write", 6, cmd_port_write },
	{ "port_write_hex", 5, cmd_port_write_hex },
	{ "port_read", 4, cmd_port_read },
	{ "port_close", 1, cmd_port_close },
	{ "port_delete", 1, cmd_port_delete },
	{ "port_find", 1, cmd_port_find },
	{ "port_set_owner", 2, cmd_port_set_owner },
	{ "port_info", 1, cmd_port_info },
	{ "sem_create", 2, cmd_sem_create },
	{ "sem_delete", 1, cmd_sem_delete },
	{ "sem_count", 1, cmd_sem_count },
	{ "sem_acquire", 4, cmd_sem_acquire },
	{ "sem_release", 3, cmd_sem_release },
	{ "port_msg_info", 3, cmd_port_msg_info },
	{ "port_next", 2, cmd_port_next },
	{ "sem_info", 1, cmd_sem_info },
	{ "sem_next", 2, cmd_sem_next },
	{ "port_create_many", 2, cmd_port_create_many },
	{ "sem_create_many", 2, cmd_sem_create_many },
	{ "port_fill", 3, cmd_port_fill },
	{ "sig_restart", 2, cmd_sig_restart },
	{ "ids", 0, cmd_ids },
	{ "fork_check", 0, cmd_fork_check },
	{ "team", 0, cmd_team },
	{ "exit", 1, cmd_exit },
	{ "thread_spawn", -1, cmd_thread_spawn },
	{ "thread_resume", 1, cmd_thread_resume },
	{ "thread_has_data", 1, cmd_thread_has_data },
	{ "thread_rename", 2, cmd_thread_rename },
	{ "thread_find", 1, cmd_thread_find },
	{ "thread_send", 5, cmd_thread_send },
	{ "thread_receive", 3, cmd_thread_receive },
	{ "thread_wait", 3, cmd_thread_wait },
	{ "thread_info", 1, cmd_thread_info },
	{ "thread_report", 1, cmd_thread_report },
	{ "thread_signal", 2, cmd_thread_signal },
	{ "area_create", 4, cmd_area_create },
	{ "area_clone", 3, cmd_area_clone },
	{ "area_delete", 1, cmd_area_delete },
	{ "area_find", 1, cmd_area_find },
	{ "area_resize", 2, cmd_area_resize },
	{ "area_protect", 2, cmd_area_protect },
	{ "area_transfer", 2, cmd_area_transfer },
	{ "area_info", 1, cmd_area_info },
	{ "area_next", 2, cmd_area_next },
	{ "area_read", 3, cmd_area_read },
	{ "area_write", 3, cmd_area_write },
	{ "area_mprotect", 2, cmd_area_mprotect },
	{ "area_clone_raw", 2, cmd_area_clone_raw },
	{ "mmap_fd", -4, cmd_mmap_fd },
	{ "close_fd", 1, cmd_close_fd },
	{ "area_fd", 0, cmd_area_fd },
	{ "vref_create", -1, cmd_vref_create },
	{ "vref_acquire", 2, cmd_vref_acquire },
	{ "vref_release", 2, cmd_vref_release },
	{ "vref_open", -3, cmd_vref_open },
	{ "write_caps", -4, cmd_write_caps },
	{ "read_caps", 5, cmd_read_caps },
	{ "watch", 4, cmd_watch },
	{ "watch_ref", 4, cmd_watch_ref },
	{ "watch_raw", -4, cmd_watch_raw },
	{ "open_fd", 2, cmd_open_fd },
	{ "watch_volume", 2, cmd_watch_volume },
	{ "stop_watching", 3, cmd_stop_watching },
	{ "stop_watching_volume", 2, cmd_stop_watching_volume },
	{ "stop_notifying", 2, cmd_stop_notifying },
	{ "node_monitor_fd", 0, cmd_node_monitor_fd },
	{ "hold", 1, cmd_hold },
};

/* Signals handled so far (SIGUSR1, SIGUSR2). */
static volatile sig_atomic_t signals_caught;

static void dispatch(int argc, char **argv);

/* timed COMMAND...: COMMAND's answer with its times and the signals caught meanwhile. */
static void run_timed(int argc, char **argv)
{
	sig_atomic_t caught = signals_caught;
	bigtime_t start = system_time(), end;

	dispatch(argc, argv);
	end = system_time();
	if (answer.len < 2 || answer.buf[answer.len - 1] != '}' || !strncmp(answer.buf, "{\"error\"", 8))
		return;
	answer.len--;
	out_printf(&answer, ",\"start_us\":%lld,\"end_us\":%lld,\"elapsed_us\":%lld,\"caught\":%d}",
		   (long long)start, (long long)end, (long long)(end - start), (int)(signals_caught - caught));
}

static void dispatch(int argc, char **argv)
{
	if (argc == 0) {
		reply_error("empty command");
		return;
	}
	if (!strcmp(argv[0], "timed")) {
		if (argc > 1 && !strcmp(argv[1], "timed"))
			reply_error("timed: nested");
		else
			run_timed(argc - 1, argv + 1);
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (commands[i].argc >= 0 && argc - 1 != commands[i].argc) {
			reply_error("%s takes %d arguments, got %d", argv[0], commands[i].argc, argc - 1);
			return;
		}
		if (commands[i].argc < 0 && argc - 1 < -commands[i].argc) {
			reply_error("%s takes at least %d arguments, got %d", argv[0], -commands[i].argc, argc - 1);
			return;
		}
		commands[i].run(argv);
		return;
	}
	reply_error("unknown command '%s'", argv[0]);
}

static void run_line(char *line)
{
	char *argv[MAX_TOKENS + 1], *save = NULL, *tok;
	int argc = 0;

	for (tok = strtok_r(line, " \t\r\n", &save); tok; tok = strtok_r(NULL, " \t\r\n", &save)) {
		if (argc == MAX_TOKENS) {
			reply_error("too many arguments");
			return;
		}
		argv[argc++] = tok;
	}
	argv[argc] = NULL;
	dispatch(argc, argv);
}

static void count_signal(int sig)
{
	(void)sig;
	signals_caught++;
}

static void install_handler(int sig, bool restart)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = count_signal;
	sa.sa_flags = restart ? SA_RESTART : 0;
	sigemptyset(&sa.sa_mask);
	sigaction(sig, &sa, NULL);
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;

	/* No SA_RESTART: waits end with B_INTERRUPTED (until sig_restart). */
	install_handler(SIGUSR1, false);
	install_handler(SIGUSR2, false);

	printf("{\"ready\":true,\"pid\":%d,\"uid\":%u,\"gid\":%u,\"fd\":%d}\n", getpid(), geteuid(), getegid(),
	       nexus_fd());
	fflush(stdout);
	for (;;) {
		errno = 0;
		if (getline(&line, &cap, stdin) < 0) {
			/* A signal while idle (no SA_RESTART) is no end of input. */
			if (errno == EINTR && !feof(stdin)) {
				clearerr(stdin);
				continue;
			}
			break;
		}
		run_line(line);
		send_answer();
	}
	free(line);
	free(answer.buf);
	return 0;
}
