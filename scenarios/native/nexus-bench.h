/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexus-bench.h: what the benchmark drivers share (nexus-bench for perf-core,
 * nexus-bench-ipc for perf-ipc) - fatal errors that take the echo child and
 * any Linux IPC object down with the program, Haiku status names, exact
 * reads and writes, a setup channel, the run's deadline, and the rounds
 * driver that times every mode, interleaved, and prints one JSON line per
 * mode.
 *
 * Header only, every function static inline, so each program takes what it
 * uses without -Wunused-function complaints.
 *
 * Output, one line per mode once its last round ran:
 *   {"name":"port-rtt-64","bytes":64,"iterations":N,"rounds":R,"warmup":W,
 *    "median_ns":..,"p99_ns":..,"mean_ns":..,"min_ns":..,"max_ns":..,
 *    "round_medians_ns":[..R values..]}
 * iterations = timed samples in all (R rounds of --iterations each), warmup =
 * untimed ones per round.  Samples are signed: a timeout's lateness can be
 * negative (it fired early).  Percentiles are nearest-rank over the sorted
 * samples (median = the ceil(N/2)-th, p99 = the ceil(0.99 N)-th), so
 * p99 >= median always.
 *
 * Rounds: every mode runs R times, the modes interleaved (round 1 of every
 * mode, then round 2 ...), so a Nexus mode and its Linux baseline see the same
 * host load; each round's median says how much the figure moves between
 * rounds, which is what a comparison of two runs needs to judge noise.
 */
#ifndef NEXUS_BENCH_H
#define NEXUS_BENCH_H

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libnexus.h"

#define BENCH_MAX_ROUNDS 20
#define BENCH_MAX_MODES 64

static const char *who;
static unsigned int deadline_s = 120;
static int in_child;
/* The parent's current echo child, killed and reaped when the parent fails. */
static volatile pid_t child_pid;
/*
 * What the current mode must undo when the program dies (SysV objects and
 * named POSIX objects outlive the process).  Called from die() and from the
 * SIGALRM handler: async-signal-safe calls only.
 */
static void (*volatile bench_cleanup)(void);

static inline void reap_child(void)
{
	pid_t pid = child_pid;

	if (pid > 0) {
		child_pid = 0;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

static inline void run_cleanup(void)
{
	void (*fn)(void) = bench_cleanup;

	bench_cleanup = NULL;
	if (fn)
		fn();
}

static inline void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static inline void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", who);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	fflush(stderr);
	/* The child must not run the parent's atexit handlers or flush its stdio. */
	if (in_child)
		_exit(1);
	reap_child();
	run_cleanup();
	exit(1);
}

/* A Haiku status as text: the name when it is one of ours, else errno text. */
static inline const char *status_name(int32_t st)
{
	switch (st) {
	case B_BAD_PORT_ID: return "B_BAD_PORT_ID";
	case B_BAD_SEM_ID: return "B_BAD_SEM_ID";
	case B_BAD_THREAD_ID: return "B_BAD_THREAD_ID";
	case B_BAD_THREAD_STATE: return "B_BAD_THREAD_STATE";
	case B_BAD_TEAM_ID: return "B_BAD_TEAM_ID";
	case B_BAD_VALUE: return "B_BAD_VALUE";
	case B_TIMED_OUT: return "B_TIMED_OUT";
	case B_WOULD_BLOCK: return "B_WOULD_BLOCK";
	case B_INTERRUPTED: return "B_INTERRUPTED";
	case B_NO_MEMORY: return "B_NO_MEMORY";
	case B_NO_MORE_PORTS: return "B_NO_MORE_PORTS";
	case B_NO_MORE_SEMS: return "B_NO_MORE_SEMS";
	case B_NOT_ALLOWED: return "B_NOT_ALLOWED";
	case B_ERROR: return "B_ERROR";
	default: return st < 0 && st > -4096 ? strerror(-st) : "unknown status";
	}
}

/* A Haiku call on object `id` in iteration `i` (-1: at setup or teardown) must have returned B_OK. */
static inline void need_ok(status_t st, const char *op, int32_t id, long i)
{
	if (st != B_OK && i < 0)
		die("%s(%" PRId32 "): %s (%" PRId32 ")", op, id, status_name(st), st);
	if (st != B_OK)
		die("%s(%" PRId32 ") in iteration %ld: %s (%" PRId32 ")",
		    op, id, i, status_name(st), st);
}

static inline int64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
}

static inline void write_all(int fd, const void *buf, size_t n, const char *what)
{
	const char *p = buf;

	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			die("%s: write: %s", what, w < 0 ? strerror(errno) : "wrote nothing");
		p += w;
		n -= (size_t)w;
	}
}

static inline void read_all(int fd, void *buf, size_t n, const char *what)
{
	char *p = buf;

	while (n > 0) {
		ssize_t r = read(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("%s: read: %s", what, strerror(errno));
		if (r == 0)
			die("%s: read: end of file (the other side is gone)", what);
		p += r;
		n -= (size_t)r;
	}
}

/* The setup channel between the parent and its echo child: one pipe each way. */
struct chan {
	int to_child[2];
	int to_parent[2];
};

static inline void chan_open(struct chan *c)
{
	if (pipe2(c->to_child, O_CLOEXEC) != 0 || pipe2(c->to_parent, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
}

static inline void send_i32(int fd, int32_t v, const char *what)
{
	write_all(fd, &v, sizeof(v), what);
}

static inline int32_t recv_i32(int fd, const char *what)
{
	int32_t v;

	read_all(fd, &v, sizeof(v), what);
	return v;
}

/*
 * Fork the echo child.  In the child: dies with the parent, has its own
 * deadline, keeps its ends of the channel, and runs fn (which must not
 * return; it ends with _exit).  In the parent: returns the child's pid with
 * the parent's ends of the channel open.
 */
static inline pid_t fork_child(struct chan *c, void (*fn)(void *arg, struct chan *c), void *arg)
{
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0) {
		static char child_who[64];

		snprintf(child_who, sizeof(child_who), "%s (child)", who);
		who = child_who;
		in_child = 1;
		child_pid = 0;
		/* The parent's cleanup is the parent's business. */
		bench_cleanup = NULL;
		/* The child's own deadline kills it (default action), and so does the parent's death. */
		signal(SIGALRM, SIG_DFL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
			die("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
		if (getppid() == 1)
			die("the parent is already gone");
		alarm(deadline_s);
		close(c->to_child[1]);
		close(c->to_parent[0]);
		fn(arg, c);
		_exit(0);
	}
	child_pid = pid;
	close(c->to_child[0]);
	close(c->to_parent[1]);
	return pid;
}

/* The parent's end of a round: wait for the child's clean exit, close the channel. */
static inline void join_child(struct chan *c, pid_t pid, const char *mode)
{
	int status;

	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	child_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			die("%s: the child died of signal %d", mode, WTERMSIG(status));
		die("%s: the child exited with status %d", mode, WEXITSTATUS(status));
	}
	close(c->to_child[1]);
	close(c->to_parent[0]);
}

/* ---- modes, rounds and results ------------------------------------------ */

struct bench_mode {
	const char *name;
	int kind;
	size_t bytes;
};

/*
 * One round of a mode: `warmup` untimed iterations, then `iterations` timed
 * ones, each sample (ns) stored in out[0..iterations).
 */
typedef void (*bench_round_fn)(const struct bench_mode *m, long iterations, long warmup, int64_t *out);

static inline int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the ceil(p/100 * n)-th smallest sample (1-based), n > 0. */
static inline int64_t percentile(const int64_t *sorted, long n, unsigned int p)
{
	long rank = (long)(((unsigned long long)n * p + 99) / 100);

	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static inline void print_result(const struct bench_mode *m, int64_t *samples, long n,
				 int rounds, long warmup, const int64_t *round_medians)
{
	long double sum = 0;
	long i;
	int r;

	qsort(samples, (size_t)n, sizeof(*samples), cmp_i64);
	for (i = 0; i < n; i++)
		sum += samples[i];
	printf("{\"name\":\"%s\",\"bytes\":%zu,\"iterations\":%ld,\"rounds\":%d,\"warmup\":%ld,"
	       "\"median_ns\":%" PRId64 ",\"p99_ns\":%" PRId64 ",\"mean_ns\":%" PRId64 ","
	       "\"min_ns\":%" PRId64 ",\"max_ns\":%" PRId64 ",\"round_medians_ns\":[",
	       m->name, m->bytes, n, rounds, warmup,
	       percentile(samples, n, 50), percentile(samples, n, 99),
	       (int64_t)(sum / n + (sum >= 0 ? 0.5L : -0.5L)), samples[0], samples[n - 1]);
	for (r = 0; r < rounds; r++)
		printf("%s%" PRId64, r ? "," : "", round_medians[r]);
	printf("]}\n");
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing the results: %s", strerror(errno));
}

/* The deadline: say so, take the child and the current mode's objects down, exit 2. */
static inline void on_alarm(int sig)
{
	static const char msg[] = ": deadline passed, giving up\n";
	pid_t pid = child_pid;
	ssize_t ignored;

	(void)sig;
	ignored = write(STDERR_FILENO, who, strlen(who));
	ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	run_cleanup();
	_exit(2);
}

static inline long parse_count(const char *opt, const char *s, long min, long max)
{
	char *end;
	long v;

	if (!s)
		die("%s needs a value", opt);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > max)
		die("%s: bad value '%s'", opt, s);
	return v;
}

static inline void bench_usage(FILE *f, const struct bench_mode *modes, size_t nmodes)
{
	size_t k;

	fprintf(f, "usage: %s [--iterations N] [--warmup N] [--rounds R] [--deadline SECONDS]"
		" [MODE...]\n  N timed and warm-up iterations per round, R rounds (modes"
		" interleaved)\nmodes:", who);
	for (k = 0; k < nmodes; k++)
		fprintf(f, " %s", modes[k].name);
	fprintf(f, "\n");
}

/*
 * The whole program: parse the command line, run every mode named (all of
 * them when none is) for R interleaved rounds, print each mode's line once
 * its last round ran.
 */
static inline int bench_main(int argc, char **argv, const struct bench_mode *modes, size_t nmodes,
			     bench_round_fn round)
{
	const struct bench_mode *todo[BENCH_MAX_MODES];
	int64_t *samples[BENCH_MAX_MODES];
	int64_t medians[BENCH_MAX_MODES][BENCH_MAX_ROUNDS];
	int64_t *scratch;
	size_t ntodo = 0, k;
	long iterations = 1000, warmup = 100;
	int rounds = 1, r, i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--iterations") == 0) {
			iterations = parse_count(a, argv[++i], 1, 10000000);
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = parse_count(a, argv[++i], 0, 10000000);
		} else if (strcmp(a, "--rounds") == 0) {
			rounds = (int)parse_count(a, argv[++i], 1, BENCH_MAX_ROUNDS);
		} else if (strcmp(a, "--deadline") == 0) {
			deadline_s = (unsigned int)parse_count(a, argv[++i], 1, 100000);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			bench_usage(stdout, modes, nmodes);
			return 0;
		} else {
			for (k = 0; k < nmodes; k++)
				if (strcmp(a, modes[k].name) == 0)
					break;
			if (k == nmodes) {
				bench_usage(stderr, modes, nmodes);
				die("unknown mode or option '%s'", a);
			}
			if (ntodo == BENCH_MAX_MODES)
				die("too many modes");
			todo[ntodo++] = &modes[k];
		}
	}
	if (ntodo == 0)
		for (k = 0; k < nmodes && k < BENCH_MAX_MODES; k++)
			todo[ntodo++] = &modes[k];
	if ((unsigned long long)iterations * (unsigned long long)rounds > 10000000ULL)
		die("--iterations x --rounds is more than 10,000,000 samples");

	for (k = 0; k < ntodo; k++) {
		samples[k] = calloc((size_t)(iterations * rounds), sizeof(int64_t));
		if (!samples[k])
			die("out of memory");
	}
	scratch = calloc((size_t)iterations, sizeof(int64_t));
	if (!scratch)
		die("out of memory");

	/* A write to a vanished reader must fail with EPIPE, not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	/* The whole run, every mode and round included. */
	if (signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal: %s", strerror(errno));
	alarm(deadline_s);
	for (r = 0; r < rounds; r++) {
		for (k = 0; k < ntodo; k++) {
			int64_t *out = samples[k] + (long)r * iterations;

			round(todo[k], iterations, warmup, out);
			memcpy(scratch, out, (size_t)iterations * sizeof(int64_t));
			qsort(scratch, (size_t)iterations, sizeof(int64_t), cmp_i64);
			medians[k][r] = percentile(scratch, iterations, 50);
			if (r == rounds - 1) {
				print_result(todo[k], samples[k], iterations * rounds, rounds, warmup,
					     medians[k]);
				free(samples[k]);
			}
		}
	}
	free(scratch);
	return 0;
}

#endif /* NEXUS_BENCH_H */
