// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-bench: round-trip latency between two teams (two processes), Nexus
 * against the Linux baseline in the same guest.
 *
 *   nexus-bench [--iterations N] [--warmup N] [--deadline S] [MODE...]
 *
 * Modes (all of them when none is named):
 *   port-rtt-64, port-rtt-4096   write_port to the peer, read_port its echo
 *   sem-pingpong                 release_sem the peer's sem, acquire our own
 *   pipe-rtt-64, pipe-rtt-4096   the same round trip over two pipes
 *   posix-sem-pingpong           sem_post / sem_wait on a pshared sem_t pair
 *                                (futex based) in a shared anonymous mapping
 *
 * For each mode the parent forks an echo child, both set their objects up and
 * exchange ids over a pipe, then the parent runs --warmup untimed round trips
 * and --iterations timed ones, each timed alone with CLOCK_MONOTONIC.  One
 * JSON line per mode on stdout:
 *   {"name":"port-rtt-64","bytes":64,"iterations":N,"median_ns":..,
 *    "p99_ns":..,"mean_ns":..,"min_ns":..,"max_ns":..}
 * Percentiles are nearest-rank over the sorted samples (median = the
 * ceil(N/2)-th, p99 = the ceil(0.99 N)-th), so p99 >= median always.
 *
 * Every call is checked: a failed operation (or a wrong echo) prints a
 * message on stderr and the program exits 1 instead of timing errors.  Each
 * side reads from an object the *other* side owns, so when one team dies its
 * objects go with it and the survivor's blocked call fails instead of hanging;
 * alarm() bounds everything else (POSIX sems, a stuck kernel).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <semaphore.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libnexus.h"

enum kind { K_PORT, K_SEM, K_PIPE, K_POSIX_SEM };

struct mode {
	const char *name;
	enum kind kind;
	size_t bytes;
};

static const struct mode MODES[] = {
	{ "port-rtt-64", K_PORT, 64 },
	{ "port-rtt-4096", K_PORT, 4096 },
	{ "sem-pingpong", K_SEM, 0 },
	{ "pipe-rtt-64", K_PIPE, 64 },
	{ "pipe-rtt-4096", K_PIPE, 4096 },
	{ "posix-sem-pingpong", K_POSIX_SEM, 0 },
};
#define NMODES (sizeof(MODES) / sizeof(MODES[0]))

static const char *who = "nexus-bench";
static unsigned int deadline_s = 120;
static int in_child;
/* The parent's current echo child, killed and reaped when the parent fails. */
static volatile pid_t child_pid;

static void reap_child(void)
{
	pid_t pid = child_pid;

	if (pid > 0) {
		child_pid = 0;
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
}

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...)
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
	exit(1);
}

/* A Haiku status as text: the name when it is one of ours, else errno text. */
static const char *status_name(int32_t st)
{
	switch (st) {
	case B_BAD_PORT_ID: return "B_BAD_PORT_ID";
	case B_BAD_SEM_ID: return "B_BAD_SEM_ID";
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

/* A Haiku call on object `id` in round trip `i` (-1: at teardown) must have returned B_OK. */
static void need_ok(status_t st, const char *op, int32_t id, long i)
{
	if (st != B_OK && i < 0)
		die("%s(%" PRId32 "): %s (%" PRId32 ")", op, id, status_name(st), st);
	if (st != B_OK)
		die("%s(%" PRId32 ") in round trip %ld: %s (%" PRId32 ")",
		    op, id, i, status_name(st), st);
}

/* A read_port must have returned a whole message with the expected code. */
static void need_message(ssize_t got, int32_t code, int32_t id, size_t bytes, long i)
{
	if (got < 0)
		die("read_port(%" PRId32 ") in round trip %ld: %s (%zd)",
		    id, i, status_name((int32_t)got), got);
	if ((size_t)got != bytes || code != (int32_t)i)
		die("read_port(%" PRId32 ") in round trip %ld: %zd bytes with code %" PRId32
		    ", expected %zu bytes with code %ld", id, i, got, code, bytes, i);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		die("clock_gettime: %s", strerror(errno));
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void write_all(int fd, const void *buf, size_t n, const char *what)
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

static void read_all(int fd, void *buf, size_t n, const char *what)
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

/* The setup channel: one pipe each way, for ids and the go signal. */
struct chan {
	int to_child[2];
	int to_parent[2];
};

static void send_i32(int fd, int32_t v, const char *what)
{
	write_all(fd, &v, sizeof(v), what);
}

static int32_t recv_i32(int fd, const char *what)
{
	int32_t v;

	read_all(fd, &v, sizeof(v), what);
	return v;
}

/* Per-mode state, set up on both sides before the timed loop. */
struct bench {
	const struct mode *m;
	long total;		/* warm-up + timed round trips */
	char *buf;
	/* ports / sems: the one this side reads or acquires, and the peer's */
	int32_t mine, peer;
	/* pipes */
	int in_fd, out_fd;
	/* posix sems */
	sem_t *psem;		/* [0] acquired by the child, [1] by the parent */
};

/* One "echo" step of the child: wait for the ping, answer it. */
static void child_step(struct bench *b, long i)
{
	const struct mode *m = b->m;
	ssize_t got;
	int32_t code = -1;

	switch (m->kind) {
	case K_PORT:
		got = read_port(b->mine, &code, b->buf, m->bytes);
		need_message(got, code, b->mine, m->bytes, i);
		need_ok(write_port(b->peer, code, b->buf, m->bytes), "write_port", b->peer, i);
		break;
	case K_SEM:
		need_ok(acquire_sem(b->mine), "acquire_sem", b->mine, i);
		need_ok(release_sem(b->peer), "release_sem", b->peer, i);
		break;
	case K_PIPE:
		read_all(b->in_fd, b->buf, m->bytes, "pipe");
		write_all(b->out_fd, b->buf, m->bytes, "pipe");
		break;
	case K_POSIX_SEM:
		while (sem_wait(&b->psem[0]) != 0)
			if (errno != EINTR)
				die("sem_wait #%ld: %s", i, strerror(errno));
		if (sem_post(&b->psem[1]) != 0)
			die("sem_post #%ld: %s", i, strerror(errno));
		break;
	}
}

/* One round trip of the parent: ping the child, wait for its answer. */
static void parent_step(struct bench *b, long i)
{
	const struct mode *m = b->m;
	ssize_t got;
	int32_t code = -1;

	switch (m->kind) {
	case K_PORT:
		need_ok(write_port(b->peer, (int32_t)i, b->buf, m->bytes),
			"write_port", b->peer, i);
		got = read_port(b->mine, &code, b->buf, m->bytes);
		need_message(got, code, b->mine, m->bytes, i);
		break;
	case K_SEM:
		need_ok(release_sem(b->peer), "release_sem", b->peer, i);
		need_ok(acquire_sem(b->mine), "acquire_sem", b->mine, i);
		break;
	case K_PIPE:
		write_all(b->out_fd, b->buf, m->bytes, "pipe");
		read_all(b->in_fd, b->buf, m->bytes, "pipe");
		break;
	case K_POSIX_SEM:
		if (sem_post(&b->psem[0]) != 0)
			die("sem_post #%ld: %s", i, strerror(errno));
		while (sem_wait(&b->psem[1]) != 0)
			if (errno != EINTR)
				die("sem_wait #%ld: %s", i, strerror(errno));
		break;
	}
}

/* Create this side's object (the one the peer reads or acquires). */
static int32_t create_for_peer(const struct mode *m, const char *name)
{
	int32_t id;

	if (m->kind == K_PORT) {
		id = create_port(1, name);
		if (id < 0)
			die("create_port(%s): %s (%" PRId32 ")", name, status_name(id), id);
	} else {
		id = create_sem(0, name);
		if (id < 0)
			die("create_sem(%s): %s (%" PRId32 ")", name, status_name(id), id);
	}
	return id;
}

static void run_child(struct bench *b, struct chan *c, int pipes[2][2])
{
	const struct mode *m = b->m;
	long i;

	who = "nexus-bench (child)";
	in_child = 1;
	child_pid = 0;
	/* The child's own deadline kills it (default action), and so does the parent's death. */
	signal(SIGALRM, SIG_DFL);
	/* Die with the parent; the alarm is not inherited across fork. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	if (getppid() == 1)
		die("the parent is already gone");
	alarm(deadline_s);
	close(c->to_child[1]);
	close(c->to_parent[0]);

	if (m->kind == K_PORT || m->kind == K_SEM) {
		/* The parent reads/acquires what the child owns and vice versa. */
		b->peer = create_for_peer(m, "bench-to-parent");
		send_i32(c->to_parent[1], b->peer, "setup");
		b->mine = recv_i32(c->to_child[0], "setup");
	} else if (m->kind == K_PIPE) {
		/* pipes[0]: parent -> child, pipes[1]: child -> parent */
		close(pipes[0][1]);
		close(pipes[1][0]);
		b->in_fd = pipes[0][0];
		b->out_fd = pipes[1][1];
		send_i32(c->to_parent[1], 0, "setup");
	} else {
		send_i32(c->to_parent[1], 0, "setup");
	}

	for (i = 0; i < b->total; i++)
		child_step(b, i);

	/*
	 * Wait for the parent's "done" before exiting: the parent reads from a
	 * port the child owns, and the child's exit would delete it.
	 */
	if (recv_i32(c->to_child[0], "teardown") != 1)
		die("teardown: unexpected message");
	_exit(0);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* Nearest rank: the ceil(p/100 * n)-th smallest sample (1-based), n > 0. */
static uint64_t percentile(const uint64_t *sorted, long n, unsigned int p)
{
	long rank = (long)(((unsigned long long)n * p + 99) / 100);

	if (rank < 1)
		rank = 1;
	return sorted[rank - 1];
}

static void run_mode(const struct mode *m, long iterations, long warmup)
{
	struct bench b = {
		.m = m, .total = warmup + iterations,
		.mine = -1, .peer = -1, .in_fd = -1, .out_fd = -1,
	};
	int pipes[2][2] = { { -1, -1 }, { -1, -1 } };
	struct chan c;
	uint64_t *samples;
	unsigned long long sum = 0;
	long i;
	pid_t pid;
	int status;

	b.buf = malloc(m->bytes ? m->bytes : 1);
	samples = calloc((size_t)iterations, sizeof(*samples));
	if (!b.buf || !samples)
		die("out of memory");
	memset(b.buf, 0x5a, m->bytes ? m->bytes : 1);

	if (pipe2(c.to_child, O_CLOEXEC) != 0 || pipe2(c.to_parent, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));
	if (m->kind == K_PIPE &&
	    (pipe2(pipes[0], O_CLOEXEC) != 0 || pipe2(pipes[1], O_CLOEXEC) != 0))
		die("pipe: %s", strerror(errno));
	if (m->kind == K_POSIX_SEM) {
		b.psem = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (b.psem == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		if (sem_init(&b.psem[0], 1, 0) != 0 || sem_init(&b.psem[1], 1, 0) != 0)
			die("sem_init: %s", strerror(errno));
	}

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (pid == 0)
		run_child(&b, &c, pipes);
	child_pid = pid;

	close(c.to_child[0]);
	close(c.to_parent[1]);
	if (m->kind == K_PORT || m->kind == K_SEM) {
		b.mine = recv_i32(c.to_parent[0], "setup (child)");
		b.peer = create_for_peer(m, "bench-to-child");
		send_i32(c.to_child[1], b.peer, "setup");
	} else {
		if (recv_i32(c.to_parent[0], "setup (child)") != 0)
			die("setup: unexpected message from the child");
		if (m->kind == K_PIPE) {
			close(pipes[0][0]);
			close(pipes[1][1]);
			b.out_fd = pipes[0][1];
			b.in_fd = pipes[1][0];
		}
	}

	for (i = 0; i < warmup; i++)
		parent_step(&b, i);
	for (i = 0; i < iterations; i++) {
		uint64_t t0 = now_ns();

		parent_step(&b, warmup + i);
		samples[i] = now_ns() - t0;
	}

	send_i32(c.to_child[1], 1, "teardown");
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	child_pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (WIFSIGNALED(status))
			die("%s: the child died of signal %d", m->name, WTERMSIG(status));
		die("%s: the child exited with status %d", m->name, WEXITSTATUS(status));
	}

	/* Free what this side created (the child's went with its team). */
	if (m->kind == K_PORT) {
		need_ok(delete_port(b.peer), "delete_port", b.peer, -1);
	} else if (m->kind == K_SEM) {
		need_ok(delete_sem(b.peer), "delete_sem", b.peer, -1);
	} else if (m->kind == K_PIPE) {
		close(b.in_fd);
		close(b.out_fd);
	} else {
		if (sem_destroy(&b.psem[0]) != 0 || sem_destroy(&b.psem[1]) != 0)
			die("sem_destroy: %s", strerror(errno));
		if (munmap(b.psem, 2 * sizeof(sem_t)) != 0)
			die("munmap: %s", strerror(errno));
	}
	close(c.to_child[1]);
	close(c.to_parent[0]);

	qsort(samples, (size_t)iterations, sizeof(*samples), cmp_u64);
	for (i = 0; i < iterations; i++)
		sum += samples[i];
	printf("{\"name\":\"%s\",\"bytes\":%zu,\"iterations\":%ld,\"warmup\":%ld,"
	       "\"median_ns\":%" PRIu64 ",\"p99_ns\":%" PRIu64 ",\"mean_ns\":%llu,"
	       "\"min_ns\":%" PRIu64 ",\"max_ns\":%" PRIu64 "}\n",
	       m->name, m->bytes, iterations, warmup,
	       percentile(samples, iterations, 50), percentile(samples, iterations, 99),
	       sum / (unsigned long long)iterations, samples[0], samples[iterations - 1]);
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing the results: %s", strerror(errno));
	free(samples);
	free(b.buf);
}

/* The deadline: say so, take the child down with us, exit non-zero. */
static void on_alarm(int sig)
{
	static const char msg[] = "nexus-bench: deadline passed, giving up\n";
	pid_t pid = child_pid;
	ssize_t ignored;

	(void)sig;
	ignored = write(STDERR_FILENO, msg, sizeof(msg) - 1);
	(void)ignored;
	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	_exit(2);
}

static long parse_count(const char *opt, const char *s, long min)
{
	char *end;
	long v;

	if (!s)
		die("%s needs a value", opt);
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *s == '\0' || *end != '\0' || v < min || v > 100000000)
		die("%s: bad value '%s'", opt, s);
	return v;
}

static void usage(FILE *f)
{
	size_t k;

	fprintf(f, "usage: nexus-bench [--iterations N] [--warmup N] [--deadline SECONDS]");
	fprintf(f, " [MODE...]\nmodes:");
	for (k = 0; k < NMODES; k++)
		fprintf(f, " %s", MODES[k].name);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	const struct mode *todo[64];
	size_t ntodo = 0, k;
	long iterations = 1000, warmup = 100;
	int i;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--iterations") == 0) {
			iterations = parse_count(a, argv[++i], 1);
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = parse_count(a, argv[++i], 0);
		} else if (strcmp(a, "--deadline") == 0) {
			deadline_s = (unsigned int)parse_count(a, argv[++i], 1);
		} else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			for (k = 0; k < NMODES; k++)
				if (strcmp(a, MODES[k].name) == 0)
					break;
			if (k == NMODES) {
				usage(stderr);
				die("unknown mode or option '%s'", a);
			}
			if (ntodo == sizeof(todo) / sizeof(todo[0]))
				die("too many modes");
			todo[ntodo++] = &MODES[k];
		}
	}
	if (ntodo == 0)
		for (k = 0; k < NMODES; k++)
			todo[ntodo++] = &MODES[k];

	/* A write to a vanished reader must fail with EPIPE, not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	/* The whole run, every mode included. */
	if (signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal: %s", strerror(errno));
	alarm(deadline_s);
	for (k = 0; k < ntodo; k++)
		run_mode(todo[k], iterations, warmup);
	return 0;
}
