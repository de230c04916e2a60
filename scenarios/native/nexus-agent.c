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
 *   fork_check    fork; the child ioctls NEXUS_PORT_CREATE on a dup of the
 *                 parent's descriptor, then creates a port with libnexus:
 *                 {"ret":0,"inherited_errno":E,"inherited_ret":R,"inherited_id":I,
 *                  "child_pid":P,"child_port":ID,"child_port_team":T}
 *   team                                        {"ret":0,"pid":P,"tid":T}
 *   exit CODE                                   exits at once, no answer
 * Anything else: {"error":"..."}.
 *
 * SIGUSR1 and SIGUSR2 are caught (without SA_RESTART) and do nothing: a
 * scenario interrupts a blocked command with them (B_INTERRUPTED).
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
#include <unistd.h>

#include <nexus.h>
#include "libnexus.h"

#define MAX_TOKENS 16
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

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
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
	const char *hex = argv[3];
	size_t n = strcmp(hex, "-") ? strlen(hex) : 0;
	unsigned char *buf;
	__s32 id, code;
	__u32 flags;
	bigtime_t timeout;

	ARG_I32(1, "id", id);
	ARG_I32(2, "code", code);
	ARG_FLAGS(4, flags);
	ARG_TIMEOUT(5, timeout);
	if (n % 2) {
		reply_error("port_write_hex: odd number of hex digits");
		return;
	}
	buf = malloc(n / 2 + 1);
	if (!buf) {
		reply_error("out of memory");
		return;
	}
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_digit(hex[2 * i]), lo = hex_digit(hex[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(buf);
			reply_error("port_write_hex: bad hex '%s'", hex);
			return;
		}
		buf[i] = (unsigned char)(hi << 4 | lo);
	}
	reply_ret(write_port_etc(id, code, buf, n / 2, flags, timeout));
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
	out_printf(&answer, "{\"ret\":%d,\"port\":%d,\"team\":%d,\"name\":", st, info.port, info.team);
	out_json_string(&answer, info.name, sizeof(info.name));
	out_printf(&answer, ",\"capacity\":%d,\"queue_count\":%d,\"total_count\":%d}", info.capacity,
		   info.queue_count, info.total_count);
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

static void cmd_exit(char **argv)
{
	int code;

	ARG(1, "code", 10, 0, 255, code);
	fflush(stdout);
	exit(code);
}

static const struct command {
	const char *name;
	int argc;	/* arguments after the name */
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
	{ "fork_check", 0, cmd_fork_check },
	{ "team", 0, cmd_team },
	{ "exit", 1, cmd_exit },
};

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
	if (argc == 0) {
		reply_error("empty command");
		return;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].name))
			continue;
		if (argc - 1 != commands[i].argc) {
			reply_error("%s takes %d arguments, got %d", argv[0], commands[i].argc, argc - 1);
			return;
		}
		commands[i].run(argv);
		return;
	}
	reply_error("unknown command '%s'", argv[0]);
}

static void ignore_signal(int sig)
{
	(void)sig;
}

int main(void)
{
	struct sigaction sa;
	char *line = NULL;
	size_t cap = 0;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ignore_signal;	/* no SA_RESTART: waits end with B_INTERRUPTED */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGUSR1, &sa, NULL);
	sigaction(SIGUSR2, &sa, NULL);

	printf("{\"ready\":true,\"pid\":%d,\"uid\":%u,\"gid\":%u,\"fd\":%d}\n", getpid(), geteuid(), getegid(),
	       nexus_fd());
	fflush(stdout);
	while (getline(&line, &cap, stdin) >= 0) {
		run_line(line);
		send_answer();
	}
	free(line);
	free(answer.buf);
	return 0;
}
