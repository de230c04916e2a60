/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexus-storm.h: what nexus-fuzz and nexus-stress share - a seeded random
 * generator, clocks, raw ioctls (and nexus-raw.h's requests), child
 * processes that are always reaped within a deadline, the Nexus debugfs
 * counters (when the tree has them), a process's state from /proc, the
 * first broken rule, reports of what went wrong and numbers on the command
 * line.
 *
 * Header only, every function static inline, so each program takes what it
 * uses without -Wunused-function complaints.
 */
#ifndef NEXUS_STORM_H
#define NEXUS_STORM_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <nexus.h>
#include "nexus-raw.h"

/* ---- random numbers: splitmix64, the same on every host and guest ------- */

struct rng {
	uint64_t s;
};

static inline uint64_t rng_next(struct rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A generator for one (seed, a, b) - a worker slot and generation, a call. */
static inline struct rng rng_for(uint64_t seed, uint64_t a, uint64_t b)
{
	struct rng r = { seed ^ 0x6e65787573ULL };

	r.s ^= rng_next(&r) + a * 0x100000001b3ULL;
	r.s ^= rng_next(&r) + b * 0xc2b2ae3d27d4eb4fULL;
	rng_next(&r);
	return r;
}

/* Uniform in [0, n), n > 0 (the tiny modulo bias does not matter here). */
static inline uint64_t rng_below(struct rng *r, uint64_t n)
{
	return rng_next(r) % n;
}

/* True with probability num/den. */
static inline bool rng_chance(struct rng *r, unsigned int num, unsigned int den)
{
	return rng_below(r, den) < num;
}

/* ---- clocks --------------------------------------------------------------- */

static inline int64_t mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static inline int64_t mono_ms(void)
{
	return mono_us() / 1000;
}

static inline void sleep_us(int64_t us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* ---- raw calls ------------------------------------------------------------ */

/*
 * An ioctl as a number: its return value, or -errno when it failed (-1).
 * A request that returns a B_* status as its value (the area ioctls,
 * RESUME) gives that status: below -4095 it is no errno.
 */
static inline long nx_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	long rc = ioctl(fd, cmd, arg);

	return rc == -1 ? -errno : rc;
}

/* Open a Nexus device: the descriptor or -errno. */
static inline int nx_open_path(const char *path)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

/* nx_open() (/dev/nexus: a new team for a new process) is nexus-raw.h's. */

/* ---- child processes ------------------------------------------------------ */

/*
 * Wait for `pid` until `deadline_ms` (mono_ms()); *status gets its wait
 * status.  Returns 1 when reaped, 0 when still there at the deadline.
 */
static inline int reap_until(pid_t pid, int64_t deadline_ms, int *status)
{
	for (;;) {
		pid_t got = waitpid(pid, status, WNOHANG);

		if (got == pid)
			return 1;
		if (got < 0 && errno != EINTR)
			return 1;	/* not our child (any more): nothing to wait for */
		if (mono_ms() >= deadline_ms)
			return 0;
		sleep_us(500);
	}
}

/* SIGKILL and reap within `ms`; 1 when reaped. */
static inline int kill_and_reap(pid_t pid, int64_t ms, int *status)
{
	kill(pid, SIGKILL);
	return reap_until(pid, mono_ms() + ms, status);
}

/*
 * A SIGKILLed child that is still there this long after is reported stuck
 * (with its /proc state).  Generous: a starved TCG guest has been seen
 * stalling for seconds, and a false "stuck" would be a false failure.
 */
#define REAP_MS 30000

/* ---- a crash of the driver itself ---------------------------------------- */

static const void *crash_shared;
static size_t crash_shared_size;

static inline void crash_put_hex(char *p, uint64_t v)
{
	for (int i = 15; i >= 0; i--, v >>= 4)
		p[i] = "0123456789abcdef"[v & 15];
}

static inline void crash_report(int sig, siginfo_t *si, void *uc)
{
	char msg[] = "driver: signal .. at 0x................, shared memory 0x................ +0x................\n";

	(void)uc;
	msg[15] = (char)('0' + sig / 10);
	msg[16] = (char)('0' + sig % 10);
	crash_put_hex(msg + 23, (uint64_t)(uintptr_t)si->si_addr);
	crash_put_hex(msg + 57, (uint64_t)(uintptr_t)crash_shared);
	crash_put_hex(msg + 77, (uint64_t)crash_shared_size);
	if (write(2, msg, sizeof(msg) - 1) < 0)
		_exit(99);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Say where a driver crashed (and where its shared memory is) on stderr
 * before dying of the signal as it would have: a crash of the parent is
 * either our bug or the kernel's, and the address tells which to look at.
 */
static inline void report_crashes(const void *shared, size_t size)
{
	struct sigaction sa = { .sa_sigaction = crash_report, .sa_flags = SA_SIGINFO };

	crash_shared = shared;
	crash_shared_size = size;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* "signal 11", "exit 3": how a reaped child ended. */
static inline void describe_status(int st, char *buf, size_t n)
{
	if (WIFSIGNALED(st))
		snprintf(buf, n, "signal %d", WTERMSIG(st));
	else if (WIFEXITED(st))
		snprintf(buf, n, "exit %d", WEXITSTATUS(st));
	else
		snprintf(buf, n, "status 0x%x", st);
}

/*
 * A process's state letter from /proc/PID/stat ('R', 'S', 'D', 'Z', ...),
 * or 0 when it is gone.  `wchan` (may be NULL) gets /proc/PID/wchan.
 */
static inline char proc_state(pid_t pid, char *wchan, size_t n)
{
	char path[64], buf[512];
	const char *paren;
	ssize_t len;
	int fd;

	if (wchan && n)
		wchan[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return 0;
	buf[len] = '\0';
	paren = strrchr(buf, ')');
	if (!paren || paren[1] != ' ')
		return 0;
	if (wchan && n) {
		snprintf(path, sizeof(path), "/proc/%d/wchan", (int)pid);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			len = read(fd, wchan, n - 1);
			wchan[len > 0 ? len : 0] = '\0';
			close(fd);
		}
	}
	return paren[2];
}

/* ---- Nexus debugfs counters (our tree only) ------------------------------- */

#define NEXUS_COUNTERS_PATH "/sys/kernel/debug/nexus/counters"

/* The value of counter `name`, or -1 when the file or the line is missing. */
static inline long counter_value(const char *text, const char *name)
{
	size_t len = strlen(name);
	const char *p = text;

	while (p && *p) {
		if (!strncmp(p, name, len) && p[len] == ' ')
			return strtol(p + len + 1, NULL, 10);
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return -1;
}

/* Read the counters file into buf; false when the tree has none. */
static inline bool read_counters(char *buf, size_t n)
{
	int fd = open(NEXUS_COUNTERS_PATH, O_RDONLY | O_CLOEXEC);
	ssize_t len;

	if (fd < 0)
		return false;
	len = read(fd, buf, n - 1);
	close(fd);
	if (len < 0)
		return false;
	buf[len] = '\0';
	return true;
}

/* ---- JSON output ---------------------------------------------------------- */

/* A string as JSON (quotes and escapes), into a FILE. */
static inline void json_string(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c >= 0x7f)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

/* ---- what went wrong ------------------------------------------------------- */

/*
 * Count a broken rule in `*count` (shared memory: any process may call it)
 * and keep the text of the first one in `text`.
 */
static inline void note_violation(uint64_t *count, char *text, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static inline void note_violation(uint64_t *count, char *text, size_t size, const char *fmt, va_list ap)
{
	if (__atomic_fetch_add(count, 1, __ATOMIC_RELAXED) == 0)
		vsnprintf(text, size, fmt, ap);
}

#define MAX_REPORTS	8

/* The first MAX_REPORTS of one kind of failure, and how many more there were. */
struct report {
	char text[MAX_REPORTS][200];
	unsigned int n, more;
};

static inline void add_report(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static inline void add_report(struct report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->n == MAX_REPORTS) {
		r->more++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(r->text[r->n++], sizeof(r->text[0]), fmt, ap);
	va_end(ap);
}

/* A report as the summary's field `key`: ,"key":["...",...,"... and N more"] */
static inline void print_report(const char *key, const struct report *r)
{
	printf(",\"%s\":[", key);
	for (unsigned int i = 0; i < r->n; i++) {
		if (i)
			putchar(',');
		json_string(stdout, r->text[i]);
	}
	if (r->more)
		printf("%s\"... and %u more\"", r->n ? "," : "", r->more);
	putchar(']');
}

/* ---- the command line ----------------------------------------------------- */

/* A whole number >= 0 (decimal, 0x hex or 0 octal); anything else calls usage(), which exits. */
static inline uint64_t parse_number(const char *s, void (*usage)(void))
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-')
		usage();
	return v;
}

#endif /* NEXUS_STORM_H */
