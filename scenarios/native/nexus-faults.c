// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-faults: every ioctl of every Nexus module (and the opens that make
 * a team), with valid arguments, while the kernel fails allocations made on
 * the call's behalf - the faults suite's driver (scenarios/faults).
 *
 *   nexus-faults --mode nth|sweep|off [--modules nexus,nexus_area,nexus_node_monitor]
 *                [--ops NAME,...] [--rounds N] [--max-nth N] [--dir DIR]
 *                [--deadline S] [--verbose] [--list]
 *
 * The faults suite sets the kernel's fault injection up (debugfs failslab
 * and fail_page_alloc: sleeping allocations too, only tasks with
 * make-it-fail, only call stacks that pass through the Nexus modules' text)
 * and runs this program.  Each operation below is one ioctl (or open) with
 * what it needs made beforehand, without injection; only the call itself
 * runs with injection on, in the thread that makes it:
 *
 *  - nth: /proc/thread-self/fail-nth = N makes the N-th allocation the call
 *    makes (of those the stack filter lets through) fail.  N goes 1, 2, 3
 *    ... until the call makes fewer than N allocations: every allocation
 *    site of every path a call takes is failed once, in order; --rounds
 *    times (see run_nth()).
 *  - sweep: /proc/thread-self/make-it-fail = 1 for the call, with the
 *    probability and interval the suite set: several allocations of a
 *    call may fail (a kvmalloc() whose kmalloc and vmalloc both fail).
 *    --rounds times each.
 *  - off: no injection, --rounds times each (the operations and their
 *    checks on a kernel without fault injection).
 *
 * After each call, with injection off again, the rules:
 *
 *  - it returned its success status or B_NO_MEMORY (-ENOMEM), nothing else
 *    (B_BAD_VALUE, EFAULT, ENOENT... for valid arguments are bugs);
 *  - what it made when it succeeded works (a port takes and gives back a
 *    message, a clone maps the source's pages, a watch reports the change
 *    it watches for, a vref key opens the file, ...), and what it would
 *    have made when it failed does not exist (no port, no queued message,
 *    no slot, no descriptor in the caller's table, no watch);
 *  - once its fixture is gone, every Nexus counter (debugfs nexus/counters,
 *    when the tree has it) is back to its value before the operation, the
 *    caller has no more descriptors than before, and a tmpfs it used
 *    unmounts (no file or path reference was left behind).
 *
 * Operations that need a fresh record (a thread's first Nexus call, a
 * team's first node monitor call, a new user's first team) run in a new
 * thread or process made for the attempt.  A call that does not return
 * within --call-timeout seconds ends the program with a "hang" line.
 *
 * stdout: one JSON summary line (see model.ts in scenarios/faults); stderr:
 * each problem as found.  Exit status 0: nothing wrong, 1: problems found,
 * 2: usage, 3: /dev/nexus cannot be opened, 4: no fault injection
 * (/proc/thread-self/fail-nth), 5: a call hung.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include <nexus.h>

#include "nexus-raw.h"
#include "nexus-nm.h"

#define MAX_OPS		64
#define MAX_PROBLEMS	40
#define MAX_COUNTERS	32
#define NAME_LEN	32
#define BIG_MESSAGE	65536		/* past a page: kvmalloc's vmalloc path */
#define AREA_SIZE	65536
#define EVENT_MS	5000		/* how long an expected event may take */
#define SETTLE_MS	5000		/* how long counters may take to come back */
#define WORKER_STACK	(256 * 1024)
#define COUNTERS_FILE	"/sys/kernel/debug/nexus/counters"

enum module { MOD_NEXUS, MOD_AREA, MOD_NM, NR_MODULES };

static const char *const MODULE_NAMES[NR_MODULES] = { "nexus", "nexus_area", "nexus_node_monitor" };

enum inj_mode { INJ_OFF, INJ_NTH, INJ_SWEEP };

/* What injection a call gets, and what came of it. */
struct inj {
	enum inj_mode mode;
	unsigned int nth;
	bool fired;		/* nth: the nth allocation was failed */
};

struct att;

struct op {
	const char *name;
	enum module mod;
	/* Without injection: 0, -1 (a problem was recorded), 1 (skip, a->skip says why). */
	int (*setup)(struct att *a);
	/* The call, with injection around it: its status (B_*, or -errno). */
	int (*call)(struct att *a);
	/* The status of a successful call. */
	int expect;
	/* Without injection: what the call left, given its status. */
	void (*check)(struct att *a, int st);
	/* Without injection: undo the fixture, whatever happened. */
	void (*cleanup)(struct att *a);
	/* The call runs in a thread or process made for it, and injects there itself. */
	bool own;
	/* It needs vrefs (/dev/nexus_node_monitor) besides its own module. */
	bool vrefs;
};

struct op_stats {
	unsigned long calls, ok, nomem, bad, injected, problems;
	unsigned int sites;	/* nth: allocations failed one by one */
	bool capped;		/* nth: --max-nth reached before the call ran out */
	char skip[120];
};

/* ---- options and global state --------------------------------------------- */

static enum inj_mode opt_mode = INJ_NTH;
static unsigned int opt_rounds = 1;
static unsigned int opt_max_nth = 64;
static unsigned int opt_call_timeout = 60;
static unsigned int opt_deadline = 1800;
static bool opt_module[NR_MODULES] = { true, true, true };
static bool opt_verbose;
static const char *opt_ops;
static char opt_dir[256] = "/var/tmp/nexus-faults";

static int nx_fd = -1, area_fd = -1, nm_fd = -1;
static pid_t self_pid;
static bool have_counters;
static bool have_area, have_nm;
static struct timespec t_start;
static bool deadline_hit;

static struct op_stats stats[MAX_OPS];
static pthread_mutex_t problem_lock = PTHREAD_MUTEX_INITIALIZER;
static char problems[MAX_PROBLEMS][320];
static unsigned int nr_problems;

/* Prebuilt for the SIGALRM handler: the operation that did not come back. */
static char hang_line[256];

static long ms_since(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (now.tv_sec - t0->tv_sec) * 1000L + (now.tv_nsec - t0->tv_nsec) / 1000000L;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = ms % 1000 * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* A status as the rules read it: errno values (positive) of a failed ioctl as -errno. */
static int norm(int st)
{
	return st > 0 ? -st : st;
}

/* ---- one attempt ----------------------------------------------------------------- */

struct counters {
	int n;
	char name[MAX_COUNTERS][NAME_LEN];
	long v[MAX_COUNTERS];
};

struct worker;

/* One operation made once: its fixture, its injection, its findings. */
struct att {
	const struct op *op;
	struct op_stats *st;
	struct inj inj;
	char skip[120];
	/* fixture */
	int32_t port, port2, sem, area, area2, vref;
	uint64_t key, key2;
	int memfd, fd, fd2, mapfd;
	void *map;
	char path[PATH_MAX], mnt[PATH_MAX];
	bool mounted;
	pid_t helper;
	int helper_pipe;
	struct worker *w[2];
	struct stat sb;
	/* what the call gave back */
	int32_t out_id;
	uint64_t out_key;
	int out_fd;
	int32_t out_code;
	size_t out_size;
	uint64_t out_size64;
	struct nexus_port_info port_info;
	struct nexus_port_message_info msg_info;
	struct nexus_sem_info sem_info;
	struct nexus_area_get_info area_info;
	struct nexus_area_get_next area_next;
	struct nexus_port_cap_out caps[2];
	/* before the call */
	struct counters pre;
	int fds_pre;
	/* a fresh process's report */
	int child_problem;
};

static void problem(struct att *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void problem(struct att *a, const char *fmt, ...)
{
	char msg[256], line[320];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (!a)
		snprintf(line, sizeof(line), "%s", msg);
	else if (a->inj.mode == INJ_NTH)
		snprintf(line, sizeof(line), "%s (allocation %u failed): %s", a->op->name, a->inj.nth, msg);
	else
		snprintf(line, sizeof(line), "%s (%s): %s", a->op->name,
			 a->inj.mode == INJ_SWEEP ? "sweep" : "no injection", msg);
	fprintf(stderr, "nexus-faults: %s\n", line);
	pthread_mutex_lock(&problem_lock);
	if (nr_problems < MAX_PROBLEMS)
		snprintf(problems[nr_problems], sizeof(problems[0]), "%s", line);
	nr_problems++;
	if (a)
		a->st->problems++;
	pthread_mutex_unlock(&problem_lock);
}

/* ---- injection (per thread) ------------------------------------------------------- */

static __thread int nth_fd = -1, fail_fd = -1;

static int thread_self_fd(int *fd, const char *what)
{
	char path[64];

	if (*fd < 0) {
		snprintf(path, sizeof(path), "/proc/thread-self/%s", what);
		*fd = open(path, O_RDWR | O_CLOEXEC);
	}
	return *fd;
}

static void put_uint(int fd, unsigned int v)
{
	char buf[16];
	int n = snprintf(buf, sizeof(buf), "%u", v);

	if (pwrite(fd, buf, (size_t)n, 0) != n) {
		fprintf(stderr, "nexus-faults: cannot write fault injection control: %s\n", strerror(errno));
		_exit(4);
	}
}

/* Injection on for the calling thread, just before the call. */
static void inj_begin(struct inj *j)
{
	if (j->mode == INJ_NTH)
		put_uint(thread_self_fd(&nth_fd, "fail-nth"), j->nth);
	else if (j->mode == INJ_SWEEP)
		put_uint(thread_self_fd(&fail_fd, "make-it-fail"), 1);
}

/* Injection off, just after the call; nth: was the nth allocation reached (and failed)? */
static void inj_end(struct inj *j)
{
	char buf[16] = "";
	ssize_t n;

	if (j->mode == INJ_NTH) {
		n = pread(nth_fd, buf, sizeof(buf) - 1, 0);
		j->fired = n > 0 && strtoul(buf, NULL, 10) == 0;
		put_uint(nth_fd, 0);
	} else if (j->mode == INJ_SWEEP) {
		put_uint(fail_fd, 0);
	}
}

/* Open the calling thread's controls now, so that the call's window has nothing else in it. */
static void inj_prepare(const struct inj *j)
{
	if (j->mode == INJ_NTH)
		thread_self_fd(&nth_fd, "fail-nth");
	else if (j->mode == INJ_SWEEP)
		thread_self_fd(&fail_fd, "make-it-fail");
}

static void inj_close(void)
{
	if (nth_fd >= 0)
		close(nth_fd);
	if (fail_fd >= 0)
		close(fail_fd);
	nth_fd = -1;
	fail_fd = -1;
}

/* ---- counters, descriptors ------------------------------------------------------- */

static bool counters_read(struct counters *c)
{
	char line[128];
	FILE *f;

	c->n = 0;
	if (!have_counters)
		return false;
	f = fopen(COUNTERS_FILE, "re");
	if (!f)
		return false;
	while (c->n < MAX_COUNTERS && fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%31s %ld", c->name[c->n], &c->v[c->n]) == 2)
			c->n++;
	}
	fclose(f);
	return true;
}

static long counter(const struct counters *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (!strcmp(c->name[i], name))
			return c->v[i];
	return 0;
}

/* The counters that differ, as "name a->b, ..." (empty: none). */
static int counters_diff(const struct counters *a, const struct counters *b, char *out, size_t n)
{
	int diffs = 0;
	size_t used = 0;

	out[0] = '\0';
	for (int i = 0; i < a->n; i++) {
		long v = counter(b, a->name[i]);

		if (v == a->v[i])
			continue;
		diffs++;
		if (used < n)
			used += (size_t)snprintf(out + used, n - used, "%s%s %ld -> %ld", diffs > 1 ? ", " : "",
						 a->name[i], a->v[i], v);
	}
	return diffs;
}

/* Wait for the counters to be back to base (team exits and thread deaths are work items). */
static bool counters_back(struct att *a, const struct counters *base, const char *when)
{
	struct timespec t0;
	struct counters now;
	char diff[200];

	if (!have_counters)
		return true;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		counters_read(&now);
		if (!counters_diff(base, &now, diff, sizeof(diff)))
			return true;
		if (ms_since(&t0) > SETTLE_MS)
			break;
		sleep_ms(5);
	}
	problem(a, "%s, counters not back within %d s: %s", when, SETTLE_MS / 1000, diff);
	return false;
}

/* How many more of counter `name` there are than before the call. */
static long counter_delta(const struct att *a, const char *name)
{
	struct counters now;

	if (!have_counters || !counters_read(&now))
		return 0;
	return counter(&now, name) - counter(&a->pre, name);
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* ---- fresh threads ------------------------------------------------------------------- */

typedef void (*worker_fn)(struct att *a, struct worker *w);

/* A thread made for one attempt: it has no Nexus record until it calls. */
struct worker {
	pthread_t th;
	struct att *a;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pid_t tid;
	worker_fn fn;		/* the command to run; NULL: idle */
	bool busy, quit;
	bool inject;		/* its call is the one under test */
	/* for the command */
	int st;
	int32_t peer;
	int32_t code;
	size_t size;
	char name[B_OS_NAME_LENGTH];
	uint8_t buf[128];
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;

	pthread_mutex_lock(&w->mu);
	w->tid = nx_gettid();
	pthread_cond_broadcast(&w->cv);
	for (;;) {
		while (!w->fn && !w->quit)
			pthread_cond_wait(&w->cv, &w->mu);
		if (!w->fn)
			break;
		pthread_mutex_unlock(&w->mu);
		w->fn(w->a, w);
		pthread_mutex_lock(&w->mu);
		w->fn = NULL;
		w->busy = false;
		pthread_cond_broadcast(&w->cv);
	}
	pthread_mutex_unlock(&w->mu);
	inj_close();
	return NULL;
}

static struct worker *worker_new(struct att *a)
{
	struct worker *w = calloc(1, sizeof(*w));
	pthread_attr_t attr;

	if (!w)
		return NULL;
	w->a = a;
	pthread_mutex_init(&w->mu, NULL);
	pthread_cond_init(&w->cv, NULL);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, WORKER_STACK);
	if (pthread_create(&w->th, &attr, worker_main, w)) {
		pthread_attr_destroy(&attr);
		free(w);
		return NULL;
	}
	pthread_attr_destroy(&attr);
	pthread_mutex_lock(&w->mu);
	while (!w->tid)
		pthread_cond_wait(&w->cv, &w->mu);
	pthread_mutex_unlock(&w->mu);
	return w;
}

/* Start a command in the worker. */
static void worker_start(struct worker *w, worker_fn fn)
{
	pthread_mutex_lock(&w->mu);
	w->fn = fn;
	w->busy = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Wait for the worker's command to end: false after ms. */
static bool worker_wait(struct worker *w, long ms)
{
	struct timespec until;
	bool done;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += ms / 1000;
	until.tv_nsec += ms % 1000 * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&w->mu);
	while (w->busy)
		if (pthread_cond_timedwait(&w->cv, &w->mu, &until) == ETIMEDOUT)
			break;
	done = !w->busy;
	pthread_mutex_unlock(&w->mu);
	return done;
}

static bool worker_busy(struct worker *w)
{
	bool busy;

	pthread_mutex_lock(&w->mu);
	busy = w->busy;
	pthread_mutex_unlock(&w->mu);
	return busy;
}

static void worker_do(struct worker *w, worker_fn fn)
{
	worker_start(w, fn);
	worker_wait(w, (long)opt_call_timeout * 1000);
}

/*
 * End the worker and drop what Nexus kept of it: a dead thread nobody
 * waited for keeps an exit record in its team until a WAITFOR takes it.
 */
static int worker_end_code(struct worker *w, int *code)
{
	pid_t tid;
	int st;

	*code = 0;
	if (!w)
		return B_BAD_THREAD_ID;
	worker_wait(w, (long)opt_call_timeout * 1000);
	pthread_mutex_lock(&w->mu);
	w->quit = true;
	pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	pthread_join(w->th, NULL);
	tid = w->tid;
	st = nx_thread_wait(nx_fd, tid, B_RELATIVE_TIMEOUT, 5000000, code);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	free(w);
	return st;
}

static void worker_end(struct worker *w)
{
	int code;

	worker_end_code(w, &code);
}

/* ---- fresh processes ------------------------------------------------------------------- */

/* What a fresh process reports. */
struct child_report {
	int st;
	bool fired;
	bool ran;
	char problem[200];
};

typedef void (*child_fn)(struct att *a, struct child_report *r);

static void child_problem(struct child_report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void child_problem(struct child_report *r, const char *fmt, ...)
{
	va_list ap;

	if (r->problem[0])
		return;
	va_start(ap, fmt);
	vsnprintf(r->problem, sizeof(r->problem), fmt, ap);
	va_end(ap);
}

/* Run fn in a new process (a new team when it opens a Nexus device); its status. */
static int in_child(struct att *a, child_fn fn)
{
	struct child_report r = { .st = INT32_MIN };
	int fds[2], status;
	ssize_t n;
	pid_t pid;

	if (pipe2(fds, O_CLOEXEC)) {
		problem(a, "pipe: %s", strerror(errno));
		return INT32_MIN;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		mlockall(MCL_CURRENT | MCL_FUTURE);
		nth_fd = -1;
		fail_fd = -1;
		r.ran = true;
		fn(a, &r);
		if (write(fds[1], &r, sizeof(r)) != (ssize_t)sizeof(r))
			_exit(2);
		_exit(0);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		problem(a, "fork: %s", strerror(errno));
		return INT32_MIN;
	}
	n = read(fds[0], &r, sizeof(r));
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n != (ssize_t)sizeof(r) || !r.ran) {
		problem(a, "the fresh process died (wait status 0x%x) before reporting", status);
		return INT32_MIN;
	}
	a->inj.fired = r.fired;
	if (r.problem[0])
		problem(a, "in the fresh process: %s", r.problem);
	return r.st;
}

/* A team of our own user in another process, for TRANSFER: its pid, or -1. */
static pid_t helper_team(struct att *a)
{
	int go[2], ready[2];
	char c;
	pid_t pid;

	if (pipe2(go, O_CLOEXEC) || pipe2(ready, O_CLOEXEC)) {
		problem(a, "pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid == 0) {
		int fd;

		close(go[1]);
		close(ready[0]);
		fd = nx_open();
		c = fd >= 0 ? 'y' : 'n';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		while (read(go[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(go[0]);
	close(ready[1]);
	if (pid < 0 || read(ready[0], &c, 1) != 1 || c != 'y') {
		problem(a, "the helper team did not start");
		close(ready[0]);
		close(go[1]);
		if (pid > 0)
			waitpid(pid, NULL, 0);
		return -1;
	}
	close(ready[0]);
	a->helper = pid;
	a->helper_pipe = go[1];
	return pid;
}

static void helper_end(struct att *a)
{
	if (a->helper <= 0)
		return;
	close(a->helper_pipe);
	waitpid(a->helper, NULL, 0);
	a->helper = 0;
}

/* ---- file systems ------------------------------------------------------------------- */

/* A tmpfs of its own for the attempt (a superblock nobody watches yet). */
static int mount_scratch(struct att *a, const char *name)
{
	snprintf(a->mnt, sizeof(a->mnt), "%s/%s", opt_dir, name);
	mkdir(a->mnt, 0755);
	if (mount("nexus-faults", a->mnt, "tmpfs", 0, "size=1m")) {
		problem(a, "mount tmpfs on %s: %s", a->mnt, strerror(errno));
		return -1;
	}
	a->mounted = true;
	return 0;
}

/*
 * Unmount it: a reference to one of its files or paths that the call left
 * behind keeps it busy (EBUSY) - after a grace for work items that hold it.
 */
static void umount_scratch(struct att *a)
{
	struct timespec t0;

	if (!a->mounted)
		return;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (umount2(a->mnt, 0)) {
		if (errno != EBUSY || ms_since(&t0) > SETTLE_MS) {
			problem(a, "the attempt's tmpfs does not unmount (%s): a reference to it was left",
				strerror(errno));
			umount2(a->mnt, MNT_DETACH);
			break;
		}
		sleep_ms(10);
	}
	a->mounted = false;
}

/* ---- node monitor messages ---------------------------------------------------------- */

/* The next message on a listener port within ms: 1 (in ev), 0 (none), -1 (a problem). */
static int next_event(struct att *a, int32_t port, long ms, struct nm_event *ev)
{
	uint8_t buf[2048];
	size_t size = sizeof(buf);
	char err[160];
	int32_t code = 0;
	int st;

	memset(buf, 0, sizeof(buf));
	st = norm(nx_port_read(nx_fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, ms * 1000LL));
	if (st == B_TIMED_OUT || st == B_WOULD_BLOCK)
		return 0;
	if (st) {
		problem(a, "reading the listener port: status %d", st);
		return -1;
	}
	if (code != B_NODE_MONITOR || nm_check(buf, size, sizeof(buf), ev, err, sizeof(err))) {
		problem(a, "a malformed node monitor message (code 0x%x): %s", (unsigned int)code,
			code != B_NODE_MONITOR ? "not B_NODE_MONITOR" : err);
		return -1;
	}
	return 1;
}

/* Wait for a message of opcode; other messages are problems unless skip_other. */
static bool expect_event(struct att *a, int32_t port, int32_t opcode, struct nm_event *ev, const char *what)
{
	struct timespec t0;
	long left;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	while ((left = EVENT_MS - ms_since(&t0)) > 0) {
		int got = next_event(a, port, left, ev);

		if (got < 0)
			return false;
		if (!got)
			break;
		if (ev->opcode == opcode)
			return true;
		problem(a, "%s: a message of opcode %d came instead (the watch made after the call does not work as asked)",
			what, (int)ev->opcode);
		return false;
	}
	problem(a, "%s: no message within %d s (the watch made by the call tells nothing)", what, EVENT_MS / 1000);
	return false;
}

/* ---- fixture helpers ----------------------------------------------------------------- */

static int new_port(struct att *a, int32_t *id, const char *name, int capacity)
{
	int st = norm(nx_port_create(nx_fd, name, capacity, id));

	if (st) {
		problem(a, "setup: PORT_CREATE: status %d", st);
		return -1;
	}
	return 0;
}

static void del_port(int32_t *id)
{
	if (*id > 0)
		nx_port_delete(nx_fd, *id);
	*id = 0;
}

static void fill(uint8_t *buf, size_t n, unsigned int seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (uint8_t)(seed + i * 7);
}

static uint8_t big_buf[BIG_MESSAGE], big_out[BIG_MESSAGE];

static int write_msg(int32_t port, int32_t code, const void *buf, size_t size)
{
	struct nexus_port_write r = {
		.id = port, .code = &code, .buffer = buf, .size = size,
		.flags = B_RELATIVE_TIMEOUT, .timeout = 1000000,
	};

	if (ioctl(nx_fd, NEXUS_PORT_WRITE, &r) < 0)
		return -errno;
	return r.ret;
}

static int queue_count(int32_t port)
{
	struct nexus_port_info info;

	if (nx_port_info(nx_fd, port, &info))
		return -1;
	return info.queue_count;
}

/* Read the one message expected and compare it. */
static void read_back(struct att *a, int32_t port, int32_t code, const uint8_t *buf, size_t size)
{
	int32_t got = 0;
	size_t n = sizeof(big_out);
	int st;

	memset(big_out, 0, sizeof(big_out));
	st = norm(nx_port_read(nx_fd, port, &got, big_out, &n, B_RELATIVE_TIMEOUT, 1000000));
	if (st)
		problem(a, "reading the message back: status %d", st);
	else if (got != code || n != size || memcmp(big_out, buf, size))
		problem(a, "the message read back is not the one written (code %d, %zu bytes)", got, n);
}

/* A file in the scratch directory (ext4, user xattrs) and a read-only descriptor of it. */
static int scratch_file(struct att *a, const char *name)
{
	int fd;

	snprintf(a->path, sizeof(a->path), "%s/%s", opt_dir, name);
	fd = open(a->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		problem(a, "setup: create %s: %s", a->path, strerror(errno));
		return -1;
	}
	if (write(fd, "nexus faults\n", 13) != 13)
		problem(a, "setup: write %s: %s", a->path, strerror(errno));
	close(fd);
	a->fd = open(a->path, O_RDONLY | O_CLOEXEC);
	if (a->fd < 0 || fstat(a->fd, &a->sb)) {
		problem(a, "setup: open %s: %s", a->path, strerror(errno));
		return -1;
	}
	return 0;
}

static int new_vref(struct att *a)
{
	int st;

	if (scratch_file(a, "vref-file"))
		return -1;
	st = nm_vref_create(nm_fd, a->fd, &a->vref, &a->key);
	if (st) {
		problem(a, "setup: VREF_CREATE: %d", st);
		return -1;
	}
	return 0;
}

/* A vref key opens the file it was made of. */
static bool key_opens(struct att *a, int nfd, int32_t vref, uint64_t key, const struct stat *of, const char *what)
{
	struct stat sb;
	int fd = -1, st;

	st = nm_vref_open(nfd, vref, key, O_RDONLY | O_CLOEXEC, &fd);
	if (st || fstat(fd, &sb) || sb.st_ino != of->st_ino || sb.st_dev != of->st_dev) {
		problem(a, "%s: VREF_OPEN with it: %d (or another file)", what, st);
		if (fd >= 0)
			close(fd);
		return false;
	}
	close(fd);
	return true;
}

static void common_cleanup(struct att *a)
{
	worker_end(a->w[0]);
	worker_end(a->w[1]);
	a->w[0] = a->w[1] = NULL;
	del_port(&a->port);
	del_port(&a->port2);
	if (a->sem > 0)
		nx_sem_delete(nx_fd, a->sem);
	if (a->area2 > 0)
		nx_area_delete(area_fd, a->area2);
	if (a->area > 0)
		nx_area_delete(area_fd, a->area);
	if (a->map && a->map != MAP_FAILED)
		munmap(a->map, AREA_SIZE);
	if (a->mapfd >= 0)
		close(a->mapfd);
	if (a->memfd >= 0)
		close(a->memfd);
	if (a->vref > 0) {
		nm_vref_release(nm_fd, a->vref, a->key);
		if (a->key2)
			nm_vref_release(nm_fd, a->vref, a->key2);
	}
	if (a->fd2 >= 0)
		close(a->fd2);
	if (a->fd >= 0)
		close(a->fd);
	if (a->out_fd >= 0)
		close(a->out_fd);
	helper_end(a);
	umount_scratch(a);
}

/* ---- teams: the opens ------------------------------------------------------------------ */

/* In a fresh process (as uid, when not 0): open dev with injection, then use the team. */
static void open_team(struct att *a, struct child_report *r, const char *dev, uid_t uid)
{
	int fd, nfd, st;
	int32_t id;

	/*
	 * As uid, but the saved uid stays 0: writing make-it-fail takes
	 * CAP_SYS_RESOURCE, so the effective uid is 0 around the open.
	 */
	if (uid && setresuid(uid, uid, 0)) {
		child_problem(r, "setresuid(%u): %s", (unsigned int)uid, strerror(errno));
		r->st = 0;
		return;
	}
	if (uid && seteuid(0))
		child_problem(r, "seteuid(0): %s", strerror(errno));
	inj_prepare(&a->inj);
	inj_begin(&a->inj);
	if (uid && seteuid(uid))
		child_problem(r, "seteuid(%u): %s", (unsigned int)uid, strerror(errno));
	fd = open(dev, O_RDWR | O_CLOEXEC);
	r->st = fd < 0 ? -errno : 0;
	if (uid && seteuid(0))
		child_problem(r, "seteuid(0): %s", strerror(errno));
	inj_end(&a->inj);
	if (uid && seteuid(uid))
		child_problem(r, "seteuid(%u): %s", (unsigned int)uid, strerror(errno));
	r->fired = a->inj.fired;
	if (fd < 0)
		return;
	/* The team is there: a port of its own (through /dev/nexus: the same team). */
	nfd = strcmp(dev, NEXUS_DEVICE_PATH) ? nx_open() : fd;
	st = nfd < 0 ? nfd : nx_port_create(nfd, "faults-team", 1, &id);
	if (st)
		child_problem(r, "the team made by the open cannot make a port: status %d", norm(st));
	else if (nx_port_delete(nfd, id))
		child_problem(r, "the team made by the open cannot delete its port");
}

static void open_nexus_child(struct att *a, struct child_report *r)
{
	open_team(a, r, NEXUS_DEVICE_PATH, 0);
}

static void open_nexus_user_child(struct att *a, struct child_report *r)
{
	/* A user Nexus has no accounting for yet: its first team makes it. */
	open_team(a, r, NEXUS_DEVICE_PATH, 4242 + (uid_t)(a->inj.nth % 1000));
}

static void open_area_child(struct att *a, struct child_report *r)
{
	open_team(a, r, NEXUS_AREA_DEVICE_PATH, 0);
}

static void open_nm_child(struct att *a, struct child_report *r)
{
	open_team(a, r, NEXUS_NODE_MONITOR_DEVICE_PATH, 0);
}

static int open_nexus_call(struct att *a)
{
	return in_child(a, open_nexus_child);
}

static int open_nexus_user_call(struct att *a)
{
	return in_child(a, open_nexus_user_child);
}

static int open_area_call(struct att *a)
{
	return in_child(a, open_area_child);
}

static int open_nm_call(struct att *a)
{
	return in_child(a, open_nm_child);
}

/* ---- ports ------------------------------------------------------------------------------ */

static int port_setup(struct att *a)
{
	return new_port(a, &a->port, "faults-port", 4);
}

static int port_msg_setup(struct att *a)
{
	int st;

	if (port_setup(a))
		return -1;
	fill(big_buf, 64, 3);
	st = write_msg(a->port, 7, big_buf, 64);
	if (st) {
		problem(a, "setup: PORT_WRITE: status %d", st);
		return -1;
	}
	return 0;
}

static int port_create_call(struct att *a)
{
	return norm(nx_port_create(nx_fd, "faults-created", 8, &a->out_id));
}

static void port_create_check(struct att *a, int st)
{
	struct nexus_port_info info;
	int32_t id;

	if (st != B_OK) {
		if (nx_port_find(nx_fd, "faults-created", &id) != B_NAME_NOT_FOUND)
			problem(a, "PORT_CREATE failed, yet a port of its name exists (%d)", id);
		return;
	}
	a->port = a->out_id;
	if (norm(nx_port_info(nx_fd, a->port, &info)) || info.team != self_pid || info.capacity != 8 ||
	    strcmp(info.name, "faults-created"))
		problem(a, "the port made is not as asked (team %d, capacity %d, name \"%.32s\")",
			info.team, info.capacity, info.name);
	fill(big_buf, 100, 1);
	if (write_msg(a->port, 1, big_buf, 100))
		problem(a, "the port made takes no message");
	else
		read_back(a, a->port, 1, big_buf, 100);
}

static int port_write_setup(struct att *a)
{
	fill(big_buf, BIG_MESSAGE, 9);
	return port_setup(a);
}

static int port_write_call(struct att *a)
{
	return norm(write_msg(a->port, 9, big_buf, 64));
}

static int port_write_big_call(struct att *a)
{
	return norm(write_msg(a->port, 9, big_buf, BIG_MESSAGE));
}

static void port_written_check(struct att *a, int st, size_t size)
{
	int n = queue_count(a->port);

	if (st != B_OK) {
		if (n != 0)
			problem(a, "the write failed, yet %d message(s) are queued", n);
		return;
	}
	if (n != 1)
		problem(a, "the write succeeded, yet %d message(s) are queued", n);
	else
		read_back(a, a->port, 9, big_buf, size);
}

static void port_write_check(struct att *a, int st)
{
	port_written_check(a, st, 64);
}

static void port_write_big_check(struct att *a, int st)
{
	port_written_check(a, st, BIG_MESSAGE);
}

static int port_read_call(struct att *a)
{
	a->out_size = sizeof(big_out);
	return norm(nx_port_read(nx_fd, a->port, &a->out_code, big_out, &a->out_size, B_RELATIVE_TIMEOUT, 1000000));
}

static void port_read_check(struct att *a, int st)
{
	fill(big_buf, 64, 3);
	if (st == B_OK && (a->out_code != 7 || a->out_size != 64 || memcmp(big_out, big_buf, 64)))
		problem(a, "the message read is not the one written (code %d, %zu bytes)", a->out_code, a->out_size);
}

static int port_message_info_call(struct att *a)
{
	struct nexus_port_get_message_info r = {
		.id = a->port, .size = sizeof(a->msg_info), .flags = B_RELATIVE_TIMEOUT, .timeout = 1000000,
		.info = &a->msg_info,
	};

	if (ioctl(nx_fd, NEXUS_PORT_MESSAGE_INFO, &r) < 0)
		return -errno;
	return r.ret;
}

static void port_message_info_check(struct att *a, int st)
{
	if (st == B_OK && (a->msg_info.size != 64 || a->msg_info.sender_team != self_pid))
		problem(a, "MESSAGE_INFO says %zu bytes from team %d", (size_t)a->msg_info.size, a->msg_info.sender_team);
	if (queue_count(a->port) != 1)
		problem(a, "MESSAGE_INFO took the message");
}

static int port_info_call(struct att *a)
{
	return norm(nx_port_info(nx_fd, a->port, &a->port_info));
}

static void port_info_check(struct att *a, int st)
{
	if (st == B_OK && (a->port_info.port != a->port || a->port_info.team != self_pid || a->port_info.capacity != 4))
		problem(a, "PORT_INFO says port %d of team %d", a->port_info.port, a->port_info.team);
}

static char find_name[B_OS_NAME_LENGTH];

static int port_find_setup(struct att *a)
{
	snprintf(find_name, sizeof(find_name), "faults-find-%d", (int)self_pid);
	return new_port(a, &a->port, find_name, 1);
}

static int port_find_call(struct att *a)
{
	return norm(nx_port_find(nx_fd, find_name, &a->out_id));
}

static void port_find_check(struct att *a, int st)
{
	if (st == B_OK && a->out_id != a->port)
		problem(a, "PORT_FIND found %d, not %d", a->out_id, a->port);
}

static int port_next_call(struct att *a)
{
	int cookie = 0;

	return norm(nx_port_next(nx_fd, self_pid, &cookie, &a->port_info));
}

static void port_next_check(struct att *a, int st)
{
	if (st == B_OK && a->port_info.port != a->port)
		problem(a, "GET_NEXT_PORT_FOR_TEAM found %d, not %d", a->port_info.port, a->port);
}

static int port_owner_setup(struct att *a)
{
	if (port_setup(a) || helper_team(a) < 0)
		return -1;
	return 0;
}

static int port_owner_call(struct att *a)
{
	struct nexus_port_set_owner r = { .id = a->port, .team = a->helper };

	if (ioctl(nx_fd, NEXUS_SET_PORT_OWNER, &r) < 0)
		return -errno;
	return r.ret;
}

static void port_owner_check(struct att *a, int st)
{
	struct nexus_port_info info;

	if (norm(nx_port_info(nx_fd, a->port, &info)))
		problem(a, "the port is gone after SET_PORT_OWNER");
	else if (info.team != (st == B_OK ? a->helper : self_pid))
		problem(a, "the port's team is %d after SET_PORT_OWNER returned %d", info.team, st);
}

static int port_close_call(struct att *a)
{
	struct nexus_port_id r = { .id = a->port };

	if (ioctl(nx_fd, NEXUS_PORT_CLOSE, &r) < 0)
		return -errno;
	return r.ret;
}

static void port_close_check(struct att *a, int st)
{
	int w = write_msg(a->port, 1, big_buf, 1);

	if (st == B_OK && w != B_BAD_PORT_ID)
		problem(a, "a write to the closed port returned %d", w);
}

static int port_delete_call(struct att *a)
{
	return norm(nx_port_delete(nx_fd, a->port));
}

static void port_delete_check(struct att *a, int st)
{
	struct nexus_port_info info;

	if (st == B_OK) {
		if (nx_port_info(nx_fd, a->port, &info) != B_BAD_PORT_ID)
			problem(a, "the deleted port is still there");
		a->port = 0;
	}
}

/* ---- capability messages ------------------------------------------------------------------ */

static int caps_setup(struct att *a)
{
	if (port_setup(a) || new_vref(a))
		return -1;
	return 0;
}

static int write_caps(int32_t port, int32_t vref)
{
	struct nexus_port_cap_in caps[2] = {
		{ .kind = NEXUS_PORT_CAP_VREF, .vref_id = vref, .buffer_offset = 0 },
		{ .kind = NEXUS_PORT_CAP_VREF, .vref_id = vref, .buffer_offset = 8 },
	};

	fill(big_buf, 16, 5);
	return norm(nx_write_caps(nx_fd, port, 11, big_buf, 16, caps, 2, B_RELATIVE_TIMEOUT, 1000000));
}

static int read_caps(int fd, struct att *a)
{
	size_t size = 64, ncaps = 2;
	int st;

	memset(a->caps, 0, sizeof(a->caps));
	st = norm(nx_read_caps(fd, a->port, &a->out_code, big_out, &size, a->caps, &ncaps, B_RELATIVE_TIMEOUT,
			       1000000));
	a->out_size = size;
	if (st == B_OK && (ncaps != 2 || size != 16 || a->out_code != 11))
		return INT32_MIN + 1;
	return st;
}

/* Both keys a READ_CAPS minted open the file; then they are dropped. */
static void caps_keys_work(struct att *a)
{
	for (int i = 0; i < 2; i++) {
		key_opens(a, nm_fd, a->vref, a->caps[i].key, &a->sb, "a key READ_CAPS minted");
		if (nm_vref_release(nm_fd, a->vref, a->caps[i].key))
			problem(a, "a key READ_CAPS minted cannot be released");
	}
}

static int write_caps_call(struct att *a)
{
	return write_caps(a->port, a->vref);
}

static void write_caps_check(struct att *a, int st)
{
	int n = queue_count(a->port);

	if (st != B_OK) {
		if (n != 0)
			problem(a, "WRITE_CAPS failed, yet %d message(s) are queued", n);
		if (counter_delta(a, "port_caps") || counter_delta(a, "vref_slots"))
			problem(a, "WRITE_CAPS failed, yet port_caps moved by %ld and vref_slots by %ld",
				counter_delta(a, "port_caps"), counter_delta(a, "vref_slots"));
		return;
	}
	if (n != 1 || (have_counters && counter_delta(a, "port_caps") != 2)) {
		problem(a, "WRITE_CAPS succeeded: %d message(s) queued, port_caps +%ld", n, counter_delta(a, "port_caps"));
		return;
	}
	if (read_caps(nx_fd, a) != B_OK)
		problem(a, "the message WRITE_CAPS queued cannot be read with its caps");
	else
		caps_keys_work(a);
}

static int read_caps_setup(struct att *a)
{
	int st;

	if (caps_setup(a))
		return -1;
	st = write_caps(a->port, a->vref);
	if (st) {
		problem(a, "setup: WRITE_CAPS: status %d", st);
		return -1;
	}
	return 0;
}

static int read_caps_call(struct att *a)
{
	return read_caps(nx_fd, a);
}

static void read_caps_check(struct att *a, int st)
{
	int n = queue_count(a->port);

	if (st == B_OK) {
		if (n != 0)
			problem(a, "READ_CAPS succeeded, yet %d message(s) are still queued", n);
		caps_keys_work(a);
		return;
	}
	/* All or nothing: the message is back, no slot was kept. */
	if (n != 1)
		problem(a, "READ_CAPS failed and %d message(s) are queued: the message was lost", n);
	if (counter_delta(a, "vref_slots"))
		problem(a, "READ_CAPS failed, yet vref_slots moved by %ld", counter_delta(a, "vref_slots"));
	if (n == 1) {
		if (read_caps(nx_fd, a) != B_OK)
			problem(a, "the message READ_CAPS gave back cannot be read again");
		else
			caps_keys_work(a);
	}
}

static void read_caps_team_child(struct att *a, struct child_report *r)
{
	int fd = nx_open(), nfd;

	if (fd < 0) {
		child_problem(r, "open /dev/nexus: %d", fd);
		r->st = 0;
		return;
	}
	inj_prepare(&a->inj);
	inj_begin(&a->inj);
	r->st = read_caps(fd, a);
	inj_end(&a->inj);
	r->fired = a->inj.fired;
	if (r->st != B_OK)
		return;
	/* The slots are the new team's own: it opens the file with them. */
	nfd = nm_open();
	for (int i = 0; i < 2; i++) {
		int ofd = -1, st = nfd < 0 ? nfd : nm_vref_open(nfd, a->vref, a->caps[i].key, O_RDONLY, &ofd);

		if (st)
			child_problem(r, "VREF_OPEN with a key READ_CAPS minted for the new team: %d", st);
		if (ofd >= 0)
			close(ofd);
	}
}

static int read_caps_team_call(struct att *a)
{
	return in_child(a, read_caps_team_child);
}

static void read_caps_team_check(struct att *a, int st)
{
	int n = queue_count(a->port);

	if (st == B_OK ? n != 0 : n != 1)
		problem(a, "READ_CAPS by a new team returned %d and %d message(s) are queued", st, n);
}

/* ---- semaphores ----------------------------------------------------------------------------- */

static int sem_op(unsigned long cmd, int32_t id, int32_t count, uint32_t flags, int64_t timeout)
{
	struct nexus_sem_op r = { .id = id, .count = count, .flags = flags, .timeout = timeout };

	if (ioctl(nx_fd, cmd, &r) < 0)
		return -errno;
	return r.ret;
}

static int sem_setup_count(struct att *a, int count)
{
	int st = norm(nx_sem_create(nx_fd, "faults-sem", count, &a->sem));

	if (st) {
		problem(a, "setup: SEM_CREATE: status %d", st);
		return -1;
	}
	return 0;
}

static int sem_setup(struct att *a)
{
	return sem_setup_count(a, 1);
}

static int sem_setup_zero(struct att *a)
{
	return sem_setup_count(a, 0);
}

static int sem_count_of(int32_t sem)
{
	int count = INT32_MIN;

	return nx_sem_count(nx_fd, sem, &count) ? INT32_MIN : count;
}

static int sem_create_call(struct att *a)
{
	return norm(nx_sem_create(nx_fd, "faults-created", 3, &a->out_id));
}

static void sem_create_check(struct att *a, int st)
{
	struct nexus_sem_info info;
	int cookie = 0;

	if (st != B_OK) {
		if (nx_sem_next(nx_fd, self_pid, &cookie, &info) != B_BAD_SEM_ID)
			problem(a, "SEM_CREATE failed, yet the team has semaphore %d", info.sem);
		return;
	}
	a->sem = a->out_id;
	if (norm(nx_sem_info(nx_fd, a->sem, &info)) || info.team != self_pid || info.count != 3 ||
	    strcmp(info.name, "faults-created"))
		problem(a, "the semaphore made is not as asked (team %d, count %d)", info.team, info.count);
	if (sem_op(NEXUS_SEM_ACQUIRE, a->sem, 3, B_RELATIVE_TIMEOUT, 0) ||
	    sem_op(NEXUS_SEM_RELEASE, a->sem, 1, 0, 0) || sem_count_of(a->sem) != 1)
		problem(a, "the semaphore made does not count");
}

static int sem_acquire_call(struct att *a)
{
	return sem_op(NEXUS_SEM_ACQUIRE, a->sem, 1, B_RELATIVE_TIMEOUT, 0);
}

static void sem_acquire_check(struct att *a, int st)
{
	if (sem_count_of(a->sem) != (st == B_OK ? 0 : 1))
		problem(a, "the count is %d after ACQUIRE returned %d", sem_count_of(a->sem), st);
}

static int sem_release_call(struct att *a)
{
	return sem_op(NEXUS_SEM_RELEASE, a->sem, 2, B_DO_NOT_RESCHEDULE, 0);
}

static void sem_release_check(struct att *a, int st)
{
	if (sem_count_of(a->sem) != (st == B_OK ? 2 : 0))
		problem(a, "the count is %d after RELEASE returned %d", sem_count_of(a->sem), st);
}

static int sem_count_call(struct att *a)
{
	int count = -1, st = norm(nx_sem_count(nx_fd, a->sem, &count));

	return st == B_OK && count != 1 ? INT32_MIN + 1 : st;
}

static int sem_info_call(struct att *a)
{
	int st = norm(nx_sem_info(nx_fd, a->sem, &a->sem_info));

	return st == B_OK && (a->sem_info.sem != a->sem || a->sem_info.team != self_pid) ? INT32_MIN + 1 : st;
}

static int sem_next_call(struct att *a)
{
	int cookie = 0, st = norm(nx_sem_next(nx_fd, self_pid, &cookie, &a->sem_info));

	return st == B_OK && a->sem_info.sem != a->sem ? INT32_MIN + 1 : st;
}

static int sem_delete_call(struct att *a)
{
	return norm(nx_sem_delete(nx_fd, a->sem));
}

static void sem_delete_check(struct att *a, int st)
{
	if (st == B_OK) {
		if (sem_count_of(a->sem) != INT32_MIN)
			problem(a, "the deleted semaphore still counts");
		a->sem = 0;
	}
}

/* ---- threads ------------------------------------------------------------------------------ */

/* A worker's call, with the attempt's injection around it when the worker is the one under test. */
#define WCALL(w, expr) ({					\
	int __st;						\
	if ((w)->inject) {					\
		inj_prepare(&(w)->a->inj);			\
		inj_begin(&(w)->a->inj);			\
	}							\
	__st = (expr);						\
	if ((w)->inject)					\
		inj_end(&(w)->a->inj);				\
	__st;							\
})

static int thread_info(int32_t tid, struct nexus_thread_info_req *r)
{
	memset(r, 0, sizeof(*r));
	r->thread = tid;
	if (ioctl(nx_fd, NEXUS_THREAD_GET_INFO, r) < 0)
		return -errno;
	return r->ret;
}

static int has_data(void)
{
	struct nexus_thread_rw r = { .receiver = 0 };

	if (ioctl(nx_fd, NEXUS_THREAD_HAS_DATA, &r) < 0)
		return -errno;
	return r.ret;
}

static void w_info_self(struct att *a, struct worker *w)
{
	struct nexus_thread_info_req r;

	(void)a;
	w->st = WCALL(w, thread_info(0, &r));
	w->peer = r.thread;
	w->code = r.team;
}

static void w_set_name(struct att *a, struct worker *w)
{
	struct nexus_thread_set_name_req r = { .name = "faults-named", .size = 13 };
	struct nexus_thread_info_req info;

	(void)a;
	w->st = WCALL(w, ioctl(nx_fd, NEXUS_THREAD_SET_NAME, &r) < 0 ? -errno : 0);
	thread_info(0, &info);
	memcpy(w->name, info.name, sizeof(w->name));
}

static void w_set_code(struct att *a, struct worker *w)
{
	(void)a;
	w->st = WCALL(w, norm(nx_thread_set_return_code(nx_fd, 4321)));
}

static void w_has_data(struct att *a, struct worker *w)
{
	(void)a;
	w->st = WCALL(w, has_data());
}

static void w_send(struct att *a, struct worker *w)
{
	(void)a;
	w->st = WCALL(w, norm(nx_thread_send(nx_fd, w->peer, 5, big_buf, w->size, B_RELATIVE_TIMEOUT, 1000000)));
}

/* Without injection: is there mail (w->st 1), and what (w->code, w->size, w->peer, big_out)? */
static void w_check_mail(struct att *a, struct worker *w)
{
	int32_t sender = 0, code = 0;
	size_t size = sizeof(big_out);

	(void)a;
	w->st = has_data();
	if (w->st != 1)
		return;
	memset(big_out, 0, sizeof(big_out));
	if (norm(nx_thread_receive(nx_fd, &sender, &code, big_out, &size, B_RELATIVE_TIMEOUT, 1000000)))
		w->st = -1;
	w->peer = sender;
	w->code = code;
	w->size = size;
}

static void w_receive(struct att *a, struct worker *w)
{
	int32_t sender = 0, code = 0;
	size_t size = sizeof(w->buf);

	(void)a;
	memset(w->buf, 0, sizeof(w->buf));
	w->st = WCALL(w, norm(nx_thread_receive(nx_fd, &sender, &code, w->buf, &size, B_RELATIVE_TIMEOUT,
						  1000000)));
	w->peer = sender;
	w->code = code;
	w->size = size;
}

static void w_receive_now(struct att *a, struct worker *w)
{
	int32_t sender, code;
	size_t size = sizeof(w->buf);

	(void)a;
	w->st = WCALL(w, norm(nx_thread_receive(nx_fd, &sender, &code, w->buf, &size, B_RELATIVE_TIMEOUT, 0)));
}

static void w_waitfor(struct att *a, struct worker *w)
{
	int code;

	(void)a;
	w->st = WCALL(w, norm(nx_thread_wait(nx_fd, w->peer, B_RELATIVE_TIMEOUT, 1000, &code)));
}

static void w_spawn(struct att *a, struct worker *w)
{
	(void)a;
	w->st = WCALL(w, norm(nx_thread_spawn(nx_fd, "faults-child", w->peer)));
}

static void w_wait_newborn(struct att *a, struct worker *w)
{
	(void)a;
	w->code = WCALL(w, nx_by_value(nx_fd, NEXUS_THREAD_WAIT_NEWBORN, 0));
}

static void w_clone_executed(struct att *a, struct worker *w)
{
	(void)a;
	w->st = WCALL(w, norm(nx_by_value(nx_fd, NEXUS_THREAD_CLONE_EXECUTED, 0)));
}

static int workers_setup(struct att *a, int n)
{
	for (int i = 0; i < n; i++) {
		a->w[i] = worker_new(a);
		if (!a->w[i]) {
			problem(a, "setup: pthread_create failed");
			return -1;
		}
	}
	return 0;
}

static int one_worker_setup(struct att *a)
{
	return workers_setup(a, 1);
}

static int two_workers_setup(struct att *a)
{
	if (workers_setup(a, 2))
		return -1;
	a->w[1]->peer = a->w[0]->tid;
	return 0;
}

/* The call is worker i's. */
static int worker_call(struct att *a, int i, worker_fn fn)
{
	a->w[i]->inject = true;
	worker_do(a->w[i], fn);
	a->w[i]->inject = false;
	if (worker_busy(a->w[i])) {
		problem(a, "the thread's call did not return within %u s", opt_call_timeout);
		return INT32_MIN + 3;
	}
	return a->w[i]->st;
}

static int info_self_call(struct att *a)
{
	return worker_call(a, 0, w_info_self);
}

static void info_self_check(struct att *a, int st)
{
	if (st == B_OK && (a->w[0]->peer != a->w[0]->tid || a->w[0]->code != self_pid))
		problem(a, "GET_INFO(0) says thread %d of team %d", a->w[0]->peer, a->w[0]->code);
}

static int set_name_call(struct att *a)
{
	return worker_call(a, 0, w_set_name);
}

static void set_name_check(struct att *a, int st)
{
	if (st == B_OK && strcmp(a->w[0]->name, "faults-named"))
		problem(a, "the thread's name is \"%.32s\" after SET_NAME", a->w[0]->name);
}

static int set_code_call(struct att *a)
{
	return worker_call(a, 0, w_set_code);
}

static void set_code_check(struct att *a, int st)
{
	int code, wst = worker_end_code(a->w[0], &code);

	a->w[0] = NULL;
	if (st == B_OK && (wst != B_OK || code != 4321))
		problem(a, "WAITFOR the thread that set its code: status %d, code %d", wst, code);
}

static int has_data_call(struct att *a)
{
	return worker_call(a, 0, w_has_data);
}

static int send_setup(struct att *a, size_t size)
{
	if (two_workers_setup(a))
		return -1;
	fill(big_buf, size, 13);
	a->w[1]->size = size;
	return 0;
}

static int send_small_setup(struct att *a)
{
	return send_setup(a, 32);
}

static int send_big_setup(struct att *a)
{
	return send_setup(a, BIG_MESSAGE);
}

static int send_call(struct att *a)
{
	return worker_call(a, 1, w_send);
}

static void send_check(struct att *a, int st)
{
	struct worker *r = a->w[0], *s = a->w[1];

	worker_do(r, w_check_mail);
	if (st != B_OK) {
		if (r->st != 0)
			problem(a, "WRITE failed, yet the receiver has mail (HAS_DATA %d)", r->st);
		return;
	}
	if (r->st != 1 || r->code != 5 || r->size != s->size || r->peer != s->tid || memcmp(big_out, big_buf, s->size))
		problem(a, "the mail received is not the one sent (has %d, code %d, %zu bytes, from %d)",
			r->st, r->code, r->size, r->peer);
}

static int receive_setup(struct att *a)
{
	int st;

	if (one_worker_setup(a))
		return -1;
	fill(big_buf, 48, 2);
	st = norm(nx_thread_send(nx_fd, a->w[0]->tid, 6, big_buf, 48, B_RELATIVE_TIMEOUT, 1000000));
	if (st) {
		problem(a, "setup: THREAD_WRITE: status %d", st);
		return -1;
	}
	return 0;
}

static int receive_call(struct att *a)
{
	return worker_call(a, 0, w_receive);
}

static void receive_check(struct att *a, int st)
{
	struct worker *w = a->w[0];

	fill(big_buf, 48, 2);
	if (st == B_OK && (w->code != 6 || w->size != 48 || w->peer != nx_gettid() || memcmp(w->buf, big_buf, 48)))
		problem(a, "the mail read is not the one sent (code %d, %zu bytes, from %d)", w->code, w->size, w->peer);
}

static int receive_now_call(struct att *a)
{
	return worker_call(a, 0, w_receive_now);
}

static int waitfor_call(struct att *a)
{
	return worker_call(a, 1, w_waitfor);
}

static int spawn_call(struct att *a)
{
	return worker_call(a, 1, w_spawn);
}

static bool suspended(int32_t tid)
{
	struct nexus_thread_info_req r;

	return thread_info(tid, &r) == B_OK && r.state == B_THREAD_SUSPENDED;
}

static void spawn_check(struct att *a, int st)
{
	struct worker *f = a->w[0], *c = a->w[1];
	int rst;

	if (st != B_OK) {
		if (suspended(c->tid))
			problem(a, "SPAWN failed, yet the thread is a suspended newborn");
		return;
	}
	if (!suspended(c->tid)) {
		problem(a, "SPAWN succeeded, yet the thread is no suspended newborn");
		return;
	}
	worker_do(f, w_wait_newborn);
	if (f->code != c->tid)
		problem(a, "the father's WAIT_NEWBORN gave %d, not the newborn %d", f->code, c->tid);
	rst = norm(nx_thread_resume(nx_fd, c->tid));
	if (rst)
		problem(a, "RESUME of the newborn: status %d", rst);
	worker_do(c, w_clone_executed);
	if (c->st)
		problem(a, "the resumed newborn's CLONE_EXECUTED: status %d", c->st);
}

/* F (worker 0) and its newborn C (worker 1), registered without injection. */
static int newborn_setup(struct att *a)
{
	if (two_workers_setup(a))
		return -1;
	worker_do(a->w[1], w_spawn);
	if (a->w[1]->st) {
		problem(a, "setup: SPAWN: status %d", a->w[1]->st);
		return -1;
	}
	return 0;
}

static int wait_newborn_call(struct att *a)
{
	int32_t got;

	worker_call(a, 0, w_wait_newborn);
	got = a->w[0]->code;
	if (got == a->w[1]->tid)
		return B_OK;
	if (got > 0 && got < 4096)
		return -got;
	return INT32_MIN + 2;
}

static int resumed_setup(struct att *a)
{
	int st;

	if (newborn_setup(a))
		return -1;
	st = norm(nx_thread_resume(nx_fd, a->w[1]->tid));
	if (st) {
		problem(a, "setup: RESUME: status %d", st);
		return -1;
	}
	return 0;
}

static int clone_executed_call(struct att *a)
{
	return worker_call(a, 1, w_clone_executed);
}

static int resume_call(struct att *a)
{
	return norm(nx_thread_resume(nx_fd, a->w[1]->tid));
}

static void resume_check(struct att *a, int st)
{
	bool sus = suspended(a->w[1]->tid);

	if (st == B_OK ? sus : !sus)
		problem(a, "RESUME returned %d, and the newborn is %s suspended", st, sus ? "still" : "no longer");
	if (st == B_OK) {
		worker_do(a->w[1], w_clone_executed);
		if (a->w[1]->st)
			problem(a, "the resumed newborn's CLONE_EXECUTED: status %d", a->w[1]->st);
	}
}

static int resume_plain_call(struct att *a)
{
	return norm(nx_thread_resume(nx_fd, a->w[0]->tid));
}

static int info_other_call(struct att *a)
{
	struct nexus_thread_info_req r;
	int st = thread_info(a->w[0]->tid, &r);

	return st == B_OK && (r.thread != a->w[0]->tid || r.team != self_pid) ? INT32_MIN + 1 : st;
}

/* ---- areas ------------------------------------------------------------------------------- */

#define AREA_RW		(B_READ_AREA | B_WRITE_AREA)

static char area_name[24];

static int area_memfd(struct att *a)
{
	a->memfd = memfd_create("nexus-faults", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (a->memfd < 0 || ftruncate(a->memfd, AREA_SIZE)) {
		problem(a, "setup: memfd: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int area_setup(struct att *a)
{
	int st;

	snprintf(area_name, sizeof(area_name), "faults-area-%d", (int)self_pid);
	if (area_memfd(a))
		return -1;
	st = norm(nx_area_create(area_fd, a->memfd, area_name, AREA_SIZE, B_NO_LOCK, AREA_RW | B_CLONEABLE_AREA,
				 &a->area));
	if (st) {
		problem(a, "setup: AREA_CREATE: status %d", st);
		return -1;
	}
	return 0;
}

static int area_helper_setup(struct att *a)
{
	if (area_setup(a) || helper_team(a) < 0)
		return -1;
	return 0;
}

/* Once the area is gone, nothing holds the memfd writable. */
static void memfd_sealable(struct att *a)
{
	if (fcntl(a->memfd, F_ADD_SEALS, F_SEAL_WRITE))
		problem(a, "the memfd cannot be sealed against writes once its area is gone (%s): still held writable",
			strerror(errno));
}

static int area_create_call(struct att *a)
{
	return norm(nx_area_create(area_fd, a->memfd, "faults-created", AREA_SIZE, B_NO_LOCK,
				   AREA_RW | B_CLONEABLE_AREA, &a->out_id));
}

static void area_create_check(struct att *a, int st)
{
	struct nexus_area_get_info info;
	int32_t id;

	if (st == B_OK) {
		if (norm(nx_area_info(area_fd, a->out_id, &info)) || info.size != AREA_SIZE || info.team != self_pid ||
		    info.protection != (AREA_RW | B_CLONEABLE_AREA) || strcmp(info.name, "faults-created"))
			problem(a, "the area made is not as asked (size %llu, team %d, protection 0x%x)",
				(unsigned long long)info.size, info.team, info.protection);
		if (norm(nx_area_delete(area_fd, a->out_id)))
			problem(a, "the area made cannot be deleted");
	} else if (nx_area_find(area_fd, "faults-created", &id) != B_NAME_NOT_FOUND) {
		problem(a, "AREA_CREATE failed, yet an area of its name exists (%d)", id);
		nx_area_delete(area_fd, id);
	}
	memfd_sealable(a);
}

static int area_clone_call(struct att *a)
{
	return norm(nx_area_clone(area_fd, a->area, "faults-clone", AREA_RW, &a->out_id, &a->out_fd,
				  &a->out_size64));
}

static void area_clone_check(struct att *a, int st)
{
	struct nexus_area_get_info info;
	uint8_t got[16], want[16];

	if (st != B_OK) {
		if (a->out_fd >= 0)
			problem(a, "CLONE failed, yet returned descriptor %d", a->out_fd);
		if (count_fds() != a->fds_pre)
			problem(a, "CLONE failed, yet the caller has %d descriptors, not %d", count_fds(), a->fds_pre);
		return;
	}
	a->area2 = a->out_id;
	a->mapfd = a->out_fd;
	a->out_fd = -1;
	if (a->out_size64 != AREA_SIZE || norm(nx_area_info(area_fd, a->area2, &info)) ||
	    info.protection != AREA_RW || info.team != self_pid) {
		problem(a, "the clone made is not as asked (size %llu)", (unsigned long long)a->out_size64);
		return;
	}
	a->map = mmap(NULL, AREA_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, a->mapfd, 0);
	if (a->map == MAP_FAILED) {
		problem(a, "the clone's descriptor does not map: %s", strerror(errno));
		return;
	}
	fill(want, sizeof(want), 77);
	memcpy((uint8_t *)a->map + 4096, want, sizeof(want));
	if (pread(a->memfd, got, sizeof(got), 4096) != (ssize_t)sizeof(got) || memcmp(got, want, sizeof(got)))
		problem(a, "what is written through the clone is not in the source's memory");
}

static int area_delete_call(struct att *a)
{
	return norm(nx_area_delete(area_fd, a->area));
}

static void area_delete_check(struct att *a, int st)
{
	struct nexus_area_get_info info;

	if (st != B_OK)
		return;
	if (nx_area_info(area_fd, a->area, &info) != B_BAD_VALUE)
		problem(a, "the deleted area is still there");
	a->area = 0;
	memfd_sealable(a);
}

static int area_find_call(struct att *a)
{
	int st = norm(nx_area_find(area_fd, area_name, &a->out_id));

	return st == B_OK && a->out_id != a->area ? INT32_MIN + 1 : st;
}

static int area_info_call(struct att *a)
{
	int st = norm(nx_area_info(area_fd, a->area, &a->area_info));

	return st == B_OK && (a->area_info.size != AREA_SIZE || a->area_info.team != self_pid) ? INT32_MIN + 1 : st;
}

static int area_resize_call(struct att *a)
{
	return norm(nx_area_resize(area_fd, a->area, 2 * AREA_SIZE));
}

static void area_resize_check(struct att *a, int st)
{
	struct nexus_area_get_info info;
	uint64_t want = st == B_OK ? 2 * AREA_SIZE : AREA_SIZE;
	struct stat sb;

	if (norm(nx_area_info(area_fd, a->area, &info)) || fstat(a->memfd, &sb) || info.size != want ||
	    (uint64_t)sb.st_size != want)
		problem(a, "after RESIZE returned %d the area has %llu bytes and its memfd %lld, expected %llu",
			st, (unsigned long long)info.size, (long long)sb.st_size, (unsigned long long)want);
}

static int area_protect_call(struct att *a)
{
	return norm(nx_area_protect(area_fd, a->area, B_READ_AREA));
}

static void area_protect_check(struct att *a, int st)
{
	struct nexus_area_get_info info;

	if (norm(nx_area_info(area_fd, a->area, &info)) ||
	    info.protection != (st == B_OK ? B_READ_AREA : AREA_RW | B_CLONEABLE_AREA))
		problem(a, "after SET_PROTECTION returned %d the protection is 0x%x", st, info.protection);
}

static int area_transfer_call(struct att *a)
{
	int32_t new_area = 0;

	return norm(nx_area_transfer(area_fd, a->area, a->helper, &new_area, &a->out_fd));
}

static void area_transfer_check(struct att *a, int st)
{
	struct nexus_area_get_info info;

	if (norm(nx_area_info(area_fd, a->area, &info)) || info.team != (st == B_OK ? a->helper : self_pid))
		problem(a, "after TRANSFER returned %d the area's team is %d", st, info.team);
	if (st == B_OK)
		a->area = 0;	/* the helper's: it goes with the helper */
}

static int area_next_call(struct att *a)
{
	int cookie = 0, st = norm(nx_area_next(area_fd, 0, &cookie, &a->area_next));

	return st == B_OK && a->area_next.area != a->area ? INT32_MIN + 1 : st;
}

/* ---- vrefs --------------------------------------------------------------------------------- */

static int vref_file_setup(struct att *a)
{
	return scratch_file(a, "vref-file");
}

static int vref_create_call(struct att *a)
{
	return nm_vref_create(nm_fd, a->fd, &a->out_id, &a->out_key);
}

static void vref_create_check(struct att *a, int st)
{
	if (st != B_OK)
		return;
	a->vref = a->out_id;
	a->key = a->out_key;
	key_opens(a, nm_fd, a->vref, a->key, &a->sb, "the key VREF_CREATE gave");
}

static void vref_team_child(struct att *a, struct child_report *r)
{
	int nfd = nm_open(), fd = -1, st;
	int32_t id = 0;
	uint64_t key = 0;

	if (nfd < 0) {
		child_problem(r, "open the node monitor: %d", nfd);
		r->st = 0;
		return;
	}
	inj_prepare(&a->inj);
	inj_begin(&a->inj);
	r->st = nm_vref_create(nfd, a->fd, &id, &key);
	inj_end(&a->inj);
	r->fired = a->inj.fired;
	if (r->st != B_OK)
		return;
	st = nm_vref_open(nfd, id, key, O_RDONLY, &fd);
	if (st)
		child_problem(r, "VREF_OPEN with the key the new team's VREF_CREATE gave: %d", st);
	if (fd >= 0)
		close(fd);
}

static int vref_team_call(struct att *a)
{
	return in_child(a, vref_team_child);
}

static int vref_setup(struct att *a)
{
	return new_vref(a);
}

static int vref_acquire_call(struct att *a)
{
	return nm_vref_acquire(nm_fd, a->vref, a->key, &a->out_key);
}

static void vref_acquire_check(struct att *a, int st)
{
	if (st != B_OK) {
		if (counter_delta(a, "vref_slots"))
			problem(a, "ACQUIRE failed, yet vref_slots moved by %ld", counter_delta(a, "vref_slots"));
		return;
	}
	a->key2 = a->out_key;
	key_opens(a, nm_fd, a->vref, a->key2, &a->sb, "the key ACQUIRE gave");
}

static int vref_release_setup(struct att *a)
{
	int st;

	if (new_vref(a))
		return -1;
	st = nm_vref_acquire(nm_fd, a->vref, a->key, &a->key2);
	if (st) {
		problem(a, "setup: VREF_ACQUIRE: %d", st);
		return -1;
	}
	return 0;
}

static int vref_release_call(struct att *a)
{
	return nm_vref_release(nm_fd, a->vref, a->key2);
}

static void vref_release_check(struct att *a, int st)
{
	int fd = -1;

	if (st != B_OK)
		return;
	if (nm_vref_open(nm_fd, a->vref, a->key2, O_RDONLY, &fd) != -EPERM)
		problem(a, "the released key still opens the file");
	if (fd >= 0)
		close(fd);
	a->key2 = 0;
	key_opens(a, nm_fd, a->vref, a->key, &a->sb, "the key kept");
}

static int vref_open_call(struct att *a)
{
	return nm_vref_open(nm_fd, a->vref, a->key, O_RDONLY | O_CLOEXEC, &a->out_fd);
}

static void vref_open_check(struct att *a, int st)
{
	struct stat sb;

	if (st != B_OK) {
		if (a->out_fd >= 0 || count_fds() != a->fds_pre)
			problem(a, "VREF_OPEN failed, yet the caller has %d descriptors, not %d", count_fds(), a->fds_pre);
		return;
	}
	if (fstat(a->out_fd, &sb) || sb.st_ino != a->sb.st_ino || sb.st_dev != a->sb.st_dev)
		problem(a, "the descriptor VREF_OPEN gave is not the vref's file");
}

/* ---- watches ------------------------------------------------------------------------------ */

#define TOKEN	21

/* A new tmpfs, a descriptor of its root and a listener port. */
static int watch_dir_setup(struct att *a)
{
	if (mount_scratch(a, "mnt") || new_port(a, &a->port, "faults-listener", 16))
		return -1;
	a->fd = open(a->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (a->fd < 0 || fstat(a->fd, &a->sb)) {
		problem(a, "setup: open %s: %s", a->mnt, strerror(errno));
		return -1;
	}
	return 0;
}

/* Make an entry in the watched directory: B_ENTRY_CREATED must tell it. */
static void dir_watch_works(struct att *a, int32_t port, uint32_t token)
{
	struct nm_event ev;
	char path[PATH_MAX + 32];
	int fd;

	snprintf(path, sizeof(path), "%s/made", a->mnt);
	fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		problem(a, "create %s: %s", path, strerror(errno));
		return;
	}
	close(fd);
	if (!expect_event(a, port, B_ENTRY_CREATED, &ev, "an entry made in the watched directory"))
		return;
	if (strcmp(ev.name, "made") || (uint32_t)ev.token != token || ev.directory != (int64_t)a->sb.st_ino)
		problem(a, "B_ENTRY_CREATED names \"%s\" in %lld with token %d", ev.name, (long long)ev.directory,
			ev.token);
}

static void watch_gone(struct att *a, int st, const char *what)
{
	if (st != B_OK && counter_delta(a, "watches"))
		problem(a, "%s failed, yet watches moved by %ld", what, counter_delta(a, "watches"));
}

static int watch_dir_call(struct att *a)
{
	return nm_watch(nm_fd, a->fd, B_WATCH_DIRECTORY, a->port, TOKEN, 0);
}

static void watch_dir_check(struct att *a, int st)
{
	int ust;

	watch_gone(a, st, "START_WATCHING");
	if (st != B_OK)
		return;
	dir_watch_works(a, a->port, TOKEN);
	ust = nm_unwatch(nm_fd, a->sb.st_dev, a->sb.st_ino, a->port, TOKEN);
	if (ust)
		problem(a, "STOP_WATCHING the watch made: %d", ust);
}

static int watch_vref_setup(struct att *a)
{
	int st;

	if (watch_dir_setup(a))
		return -1;
	st = nm_vref_create(nm_fd, a->fd, &a->vref, &a->key);
	if (st) {
		problem(a, "setup: VREF_CREATE: %d", st);
		return -1;
	}
	return 0;
}

static int watch_vref_call(struct att *a)
{
	return nm_watch(nm_fd, -1, B_WATCH_DIRECTORY, a->port, TOKEN, a->vref);
}

static void watch_team_child(struct att *a, struct child_report *r)
{
	int fd = nx_open(), nfd = nm_open(), dfd = open(a->mnt, O_RDONLY | O_DIRECTORY | O_CLOEXEC), ffd;
	uint8_t buf[1024];
	size_t size = sizeof(buf);
	char path[PATH_MAX + 32];
	int32_t port = 0, code = 0;
	int st;

	if (fd < 0 || nfd < 0 || dfd < 0 || nx_port_create(fd, "faults-child-listener", 16, &port)) {
		child_problem(r, "setup in the new team failed");
		r->st = 0;
		return;
	}
	inj_prepare(&a->inj);
	inj_begin(&a->inj);
	r->st = nm_watch(nfd, dfd, B_WATCH_DIRECTORY, port, TOKEN, 0);
	inj_end(&a->inj);
	r->fired = a->inj.fired;
	if (r->st != B_OK)
		return;
	snprintf(path, sizeof(path), "%s/made-by-child", a->mnt);
	ffd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (ffd >= 0)
		close(ffd);
	st = norm(nx_port_read(fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, EVENT_MS * 1000LL));
	if (st || code != B_NODE_MONITOR)
		child_problem(r, "the new team's watch told nothing of an entry made (status %d)", st);
}

static int watch_team_setup(struct att *a)
{
	return mount_scratch(a, "mnt");
}

static int watch_team_call(struct att *a)
{
	return in_child(a, watch_team_child);
}

#define ATTR_OLD	"user.faults-old"
#define ATTR_NEW	"user.faults-new"

/* A file with an xattr already (its snapshot has something to compare). */
static int watch_attr_setup(struct att *a)
{
	if (scratch_file(a, "attr-file"))
		return -1;
	removexattr(a->path, ATTR_NEW);
	if (setxattr(a->path, ATTR_OLD, "1", 1, 0)) {
		snprintf(a->skip, sizeof(a->skip), "the scratch directory %.60s has no user xattrs (%s)", opt_dir,
			 strerror(errno));
		return 1;
	}
	return new_port(a, &a->port, "faults-listener", 16);
}

static int watch_attr_call(struct att *a)
{
	return nm_watch(nm_fd, a->fd, B_WATCH_ATTR | B_WATCH_STAT, a->port, TOKEN, 0);
}

/*
 * A new xattr is told as B_ATTR_CHANGED (and not as a change of st_ctime):
 * that takes the snapshot of the file's xattrs the watch was started with.
 */
static void watch_attr_check(struct att *a, int st)
{
	struct nm_event ev;

	watch_gone(a, st, "START_WATCHING");
	if (st != B_OK)
		return;
	if (setxattr(a->path, ATTR_NEW, "2", 1, 0)) {
		problem(a, "setxattr %s: %s", ATTR_NEW, strerror(errno));
	} else if (expect_event(a, a->port, B_ATTR_CHANGED, &ev, "a new xattr of the watched file")) {
		if (strcmp(ev.attr, ATTR_NEW) || ev.cause != B_ATTR_CREATED)
			problem(a, "B_ATTR_CHANGED names \"%s\" with cause %d", ev.attr, ev.cause);
	}
	if (nm_stop_notifying(nm_fd, a->port, TOKEN))
		problem(a, "STOP_NOTIFYING the watch made failed");
}

static void watch_attr_cleanup(struct att *a)
{
	if (a->path[0])
		removexattr(a->path, ATTR_NEW);
}

static int watch_mount_setup(struct att *a)
{
	snprintf(a->mnt, sizeof(a->mnt), "%s/mnt-new", opt_dir);
	mkdir(a->mnt, 0755);
	return new_port(a, &a->port, "faults-listener", 16);
}

static int watch_mount_call(struct att *a)
{
	return nm_watch(nm_fd, -1, B_WATCH_MOUNT, a->port, TOKEN, 0);
}

/*
 * A mount made after the volume watch started is told once, as
 * B_DEVICE_MOUNTED of its device; no mount that was there before is (the
 * watch compares with the mount table it read when it started).
 */
static void watch_mount_check(struct att *a, int st)
{
	struct nm_event ev;
	struct stat sb;
	int got, ust;

	watch_gone(a, st, "START_WATCHING");
	if (st != B_OK)
		return;
	if (mount("nexus-faults", a->mnt, "tmpfs", 0, "size=1m")) {
		problem(a, "mount tmpfs on %s: %s", a->mnt, strerror(errno));
		return;
	}
	a->mounted = true;
	if (stat(a->mnt, &sb))
		sb.st_dev = 0;
	if (expect_event(a, a->port, B_DEVICE_MOUNTED, &ev, "a tmpfs mounted") &&
	    (uint32_t)ev.new_device != (uint32_t)sb.st_dev)
		problem(a, "B_DEVICE_MOUNTED of device 0x%x, not of the new tmpfs (0x%x): a mount that was there before the watch",
			(unsigned int)ev.new_device, (unsigned int)sb.st_dev);
	while ((got = next_event(a, a->port, 300, &ev)) > 0) {
		if (ev.opcode == B_DEVICE_MOUNTED) {
			problem(a, "another B_DEVICE_MOUNTED (device 0x%x) for one mount: the watch's mount table was incomplete",
				(unsigned int)ev.new_device);
			break;
		}
	}
	ust = nm_unwatch(nm_fd, ~0ULL, ~0ULL, a->port, TOKEN);
	if (ust)
		problem(a, "STOP_WATCHING the volume watch made: %d", ust);
}

/*
 * A volume watch by a new process: its /proc/<pid> is looked up for the
 * first time inside the call (procfs allocates the inodes then).
 */
static void watch_mount_team_child(struct att *a, struct child_report *r)
{
	int fd = nx_open(), nfd = nm_open();
	uint8_t buf[1024];
	size_t size = sizeof(buf);
	int32_t port = 0, code = 0;
	int st;

	if (fd < 0 || nfd < 0 || nx_port_create(fd, "faults-child-listener", 16, &port)) {
		child_problem(r, "setup in the new team failed");
		r->st = 0;
		return;
	}
	inj_prepare(&a->inj);
	inj_begin(&a->inj);
	r->st = nm_watch(nfd, -1, B_WATCH_MOUNT, port, TOKEN, 0);
	inj_end(&a->inj);
	r->fired = a->inj.fired;
	if (r->st != B_OK)
		return;
	if (mount("nexus-faults", a->mnt, "tmpfs", 0, "size=1m")) {
		child_problem(r, "mount tmpfs on %s: %s", a->mnt, strerror(errno));
		return;
	}
	st = norm(nx_port_read(fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, EVENT_MS * 1000LL));
	if (st || code != B_NODE_MONITOR)
		child_problem(r, "the new team's volume watch told nothing of a mount (status %d)", st);
	umount2(a->mnt, MNT_DETACH);
}

static int watch_mount_team_setup(struct att *a)
{
	snprintf(a->mnt, sizeof(a->mnt), "%s/mnt-new", opt_dir);
	mkdir(a->mnt, 0755);
	return 0;
}

static int watch_mount_team_call(struct att *a)
{
	return in_child(a, watch_mount_team_child);
}

/* A tmpfs root and a mount point beside it (for the mount the check makes). */
static int watch_dir_mount_setup(struct att *a)
{
	if (watch_dir_setup(a))
		return -1;
	snprintf(a->path, sizeof(a->path), "%s/mnt-new", opt_dir);
	mkdir(a->path, 0755);
	return 0;
}

static int watch_dir_mount_call(struct att *a)
{
	return nm_watch(nm_fd, a->fd, B_WATCH_DIRECTORY | B_WATCH_MOUNT, a->port, TOKEN, 0);
}

/*
 * One request, two watches: the directory's and the volume's.  Made, both
 * tell; failed, neither is left (a failure of the second must undo the
 * first).
 */
static void watch_dir_mount_check(struct att *a, int st)
{
	struct nm_event ev;
	int ust;

	watch_gone(a, st, "START_WATCHING (directory and mounts)");
	if (st != B_OK)
		return;
	dir_watch_works(a, a->port, TOKEN);
	if (mount("nexus-faults", a->path, "tmpfs", 0, "size=1m")) {
		problem(a, "mount tmpfs on %s: %s", a->path, strerror(errno));
	} else {
		expect_event(a, a->port, B_DEVICE_MOUNTED, &ev, "a tmpfs mounted");
		umount2(a->path, MNT_DETACH);
	}
	ust = nm_stop_notifying(nm_fd, a->port, TOKEN);
	if (ust)
		problem(a, "STOP_NOTIFYING the watches made: %d", ust);
}

static int stop_setup(struct att *a)
{
	int st;

	if (watch_dir_setup(a))
		return -1;
	st = nm_watch(nm_fd, a->fd, B_WATCH_DIRECTORY, a->port, TOKEN, 0);
	if (st) {
		problem(a, "setup: START_WATCHING: %d", st);
		return -1;
	}
	return 0;
}

static int stop_watching_call(struct att *a)
{
	return nm_unwatch(nm_fd, a->sb.st_dev, a->sb.st_ino, a->port, TOKEN);
}

static int stop_notifying_call(struct att *a)
{
	return nm_stop_notifying(nm_fd, a->port, TOKEN);
}

static void stop_check(struct att *a, int st)
{
	if (have_counters && counter_delta(a, "watches") != (st == B_OK ? -1 : 0))
		problem(a, "after the stop returned %d watches moved by %ld", st, counter_delta(a, "watches"));
}

/* ---- the table ----------------------------------------------------------------------------- */

#define OP(n, m, s, c, e, k, u, ...) \
	{ .name = n, .mod = m, .setup = s, .call = c, .expect = e, .check = k, .cleanup = u, __VA_ARGS__ }
#define OWN(n, m, s, c, e, k, u, ...) OP(n, m, s, c, e, k, u, .own = true, __VA_ARGS__)

static const struct op OPS[] = {
	OWN("open-nexus", MOD_NEXUS, NULL, open_nexus_call, B_OK, NULL, NULL),
	OWN("open-nexus-new-user", MOD_NEXUS, NULL, open_nexus_user_call, B_OK, NULL, NULL),
	OP("port-create", MOD_NEXUS, NULL, port_create_call, B_OK, port_create_check, NULL),
	OP("port-write", MOD_NEXUS, port_write_setup, port_write_call, B_OK, port_write_check, NULL),
	OP("port-write-64k", MOD_NEXUS, port_write_setup, port_write_big_call, B_OK, port_write_big_check, NULL),
	OP("port-read", MOD_NEXUS, port_msg_setup, port_read_call, B_OK, port_read_check, NULL),
	OP("port-message-info", MOD_NEXUS, port_msg_setup, port_message_info_call, B_OK, port_message_info_check, NULL),
	OP("port-info", MOD_NEXUS, port_setup, port_info_call, B_OK, port_info_check, NULL),
	OP("port-find", MOD_NEXUS, port_find_setup, port_find_call, B_OK, port_find_check, NULL),
	OP("port-next", MOD_NEXUS, port_setup, port_next_call, B_OK, port_next_check, NULL),
	OP("port-set-owner", MOD_NEXUS, port_owner_setup, port_owner_call, B_OK, port_owner_check, NULL),
	OP("port-close", MOD_NEXUS, port_setup, port_close_call, B_OK, port_close_check, NULL),
	OP("port-delete", MOD_NEXUS, port_setup, port_delete_call, B_OK, port_delete_check, NULL),
	OP("port-write-caps", MOD_NEXUS, caps_setup, write_caps_call, B_OK, write_caps_check, NULL, .vrefs = true),
	OP("port-read-caps", MOD_NEXUS, read_caps_setup, read_caps_call, B_OK, read_caps_check, NULL, .vrefs = true),
	OWN("port-read-caps-new-team", MOD_NEXUS, read_caps_setup, read_caps_team_call, B_OK, read_caps_team_check,
	    NULL, .vrefs = true),
	OP("sem-create", MOD_NEXUS, NULL, sem_create_call, B_OK, sem_create_check, NULL),
	OP("sem-acquire", MOD_NEXUS, sem_setup, sem_acquire_call, B_OK, sem_acquire_check, NULL),
	OP("sem-release", MOD_NEXUS, sem_setup_zero, sem_release_call, B_OK, sem_release_check, NULL),
	OP("sem-count", MOD_NEXUS, sem_setup, sem_count_call, B_OK, NULL, NULL),
	OP("sem-info", MOD_NEXUS, sem_setup, sem_info_call, B_OK, NULL, NULL),
	OP("sem-next-info", MOD_NEXUS, sem_setup, sem_next_call, B_OK, NULL, NULL),
	OP("sem-delete", MOD_NEXUS, sem_setup, sem_delete_call, B_OK, sem_delete_check, NULL),
	OWN("thread-info-self", MOD_NEXUS, one_worker_setup, info_self_call, B_OK, info_self_check, NULL),
	OP("thread-info-other", MOD_NEXUS, one_worker_setup, info_other_call, B_OK, NULL, NULL),
	OWN("thread-set-name", MOD_NEXUS, one_worker_setup, set_name_call, B_OK, set_name_check, NULL),
	OWN("thread-set-return-code", MOD_NEXUS, one_worker_setup, set_code_call, B_OK, set_code_check, NULL),
	OWN("thread-has-data", MOD_NEXUS, one_worker_setup, has_data_call, B_OK, NULL, NULL),
	OWN("thread-write", MOD_NEXUS, send_small_setup, send_call, B_OK, send_check, NULL),
	OWN("thread-write-64k", MOD_NEXUS, send_big_setup, send_call, B_OK, send_check, NULL),
	OWN("thread-read", MOD_NEXUS, receive_setup, receive_call, B_OK, receive_check, NULL),
	OWN("thread-read-empty", MOD_NEXUS, one_worker_setup, receive_now_call, B_WOULD_BLOCK, NULL, NULL),
	OWN("thread-waitfor", MOD_NEXUS, two_workers_setup, waitfor_call, B_TIMED_OUT, NULL, NULL),
	OWN("thread-spawn", MOD_NEXUS, two_workers_setup, spawn_call, B_OK, spawn_check, NULL),
	OWN("thread-wait-newborn", MOD_NEXUS, newborn_setup, wait_newborn_call, B_OK, NULL, NULL),
	OWN("thread-clone-executed", MOD_NEXUS, resumed_setup, clone_executed_call, B_OK, NULL, NULL),
	OP("thread-resume", MOD_NEXUS, newborn_setup, resume_call, B_OK, resume_check, NULL),
	OP("thread-resume-unregistered", MOD_NEXUS, one_worker_setup, resume_plain_call, B_BAD_THREAD_STATE, NULL, NULL),
	OWN("open-area", MOD_AREA, NULL, open_area_call, B_OK, NULL, NULL),
	OP("area-create", MOD_AREA, area_memfd, area_create_call, B_OK, area_create_check, NULL),
	OP("area-clone", MOD_AREA, area_setup, area_clone_call, B_OK, area_clone_check, NULL),
	OP("area-delete", MOD_AREA, area_setup, area_delete_call, B_OK, area_delete_check, NULL),
	OP("area-find", MOD_AREA, area_setup, area_find_call, B_OK, NULL, NULL),
	OP("area-get-info", MOD_AREA, area_setup, area_info_call, B_OK, NULL, NULL),
	OP("area-resize", MOD_AREA, area_setup, area_resize_call, B_OK, area_resize_check, NULL),
	OP("area-set-protection", MOD_AREA, area_setup, area_protect_call, B_OK, area_protect_check, NULL),
	OP("area-transfer", MOD_AREA, area_helper_setup, area_transfer_call, B_OK, area_transfer_check, NULL),
	OP("area-get-next", MOD_AREA, area_setup, area_next_call, B_OK, NULL, NULL),
	OWN("open-node-monitor", MOD_NM, NULL, open_nm_call, B_OK, NULL, NULL),
	OP("vref-create", MOD_NM, vref_file_setup, vref_create_call, B_OK, vref_create_check, NULL),
	OWN("vref-create-new-team", MOD_NM, vref_file_setup, vref_team_call, B_OK, NULL, NULL),
	OP("vref-acquire", MOD_NM, vref_setup, vref_acquire_call, B_OK, vref_acquire_check, NULL),
	OP("vref-release", MOD_NM, vref_release_setup, vref_release_call, B_OK, vref_release_check, NULL),
	OP("vref-open", MOD_NM, vref_setup, vref_open_call, B_OK, vref_open_check, NULL),
	OP("watch-directory", MOD_NM, watch_dir_setup, watch_dir_call, B_OK, watch_dir_check, NULL),
	OWN("watch-directory-new-team", MOD_NM, watch_team_setup, watch_team_call, B_OK, NULL, NULL),
	OP("watch-vref", MOD_NM, watch_vref_setup, watch_vref_call, B_OK, watch_dir_check, NULL),
	OP("watch-attr", MOD_NM, watch_attr_setup, watch_attr_call, B_OK, watch_attr_check, watch_attr_cleanup),
	OP("watch-mount", MOD_NM, watch_mount_setup, watch_mount_call, B_OK, watch_mount_check, NULL),
	OWN("watch-mount-new-team", MOD_NM, watch_mount_team_setup, watch_mount_team_call, B_OK, NULL, NULL),
	OP("watch-directory-and-mount", MOD_NM, watch_dir_mount_setup, watch_dir_mount_call, B_OK, watch_dir_mount_check,
	   NULL),
	OP("stop-watching", MOD_NM, stop_setup, stop_watching_call, B_OK, stop_check, NULL),
	OP("stop-notifying", MOD_NM, stop_setup, stop_notifying_call, B_OK, stop_check, NULL),
};

#define NR_OPS (sizeof(OPS) / sizeof(OPS[0]))

/* ---- running ---------------------------------------------------------------------------------- */

static void on_alarm(int sig)
{
	(void)sig;
	if (write(STDOUT_FILENO, hang_line, strlen(hang_line)) < 0 ||
	    write(STDERR_FILENO, hang_line, strlen(hang_line)) < 0)
		_exit(5);
	_exit(5);
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static const char *inj_name(const struct inj *j, char *buf, size_t n)
{
	if (j->mode == INJ_NTH)
		snprintf(buf, n, "allocation %u failed", j->nth);
	else
		snprintf(buf, n, "%s", j->mode == INJ_SWEEP ? "sweep" : "no injection");
	return buf;
}

/*
 * One attempt of an operation: fixture, call, rules, clean-up.  Returns
 * whether the injection it asked for fired (nth: the call reached its nth
 * allocation).
 */
static bool attempt(const struct op *op, struct op_stats *s, enum inj_mode mode, unsigned int nth)
{
	struct att a = {
		.op = op, .st = s, .inj = { .mode = mode, .nth = nth },
		.memfd = -1, .fd = -1, .fd2 = -1, .mapfd = -1, .out_fd = -1, .helper_pipe = -1,
	};
	struct counters base;
	char what[64];
	int st, r, fds;

	snprintf(hang_line, sizeof(hang_line), "{\"hang\":\"%s (%s)\"}\n", op->name, inj_name(&a.inj, what, sizeof(what)));
	alarm(3 * opt_call_timeout);
	counters_read(&base);
	fds = count_fds();
	r = op->setup ? op->setup(&a) : 0;
	if (r) {
		if (r > 0)
			snprintf(s->skip, sizeof(s->skip), "%s", a.skip);
		goto out;
	}
	counters_read(&a.pre);
	a.fds_pre = count_fds();
	if (op->own) {
		st = op->call(&a);
	} else {
		inj_prepare(&a.inj);
		inj_begin(&a.inj);
		st = op->call(&a);
		inj_end(&a.inj);
	}
	if (mode != INJ_OFF || opt_mode == INJ_OFF) {
		s->calls++;
		s->injected += a.inj.fired;
	}
	if (st == op->expect) {
		s->ok++;
	} else if (st == B_NO_MEMORY) {
		s->nomem++;
		if (mode == INJ_OFF || (mode == INJ_NTH && !a.inj.fired))
			problem(&a, "B_NO_MEMORY, yet no allocation was failed");
	} else {
		s->bad++;
		problem(&a, "status %d (0x%x), expected %d or B_NO_MEMORY (%d)", st, (unsigned int)st, op->expect,
			B_NO_MEMORY);
	}
	if (opt_verbose) {
		struct counters now;
		char diff[200] = "";

		if (counters_read(&now))
			counters_diff(&a.pre, &now, diff, sizeof(diff));
		fprintf(stderr, "nexus-faults: %s (%s): status %d%s, counters moved: %s\n", op->name,
			inj_name(&a.inj, what, sizeof(what)), st, a.inj.fired ? ", injected" : "", diff[0] ? diff : "none");
	}
	if (op->check)
		op->check(&a, st);
out:
	if (op->cleanup)
		op->cleanup(&a);
	common_cleanup(&a);
	if (!r)
		counters_back(&a, &base, "once the operation's objects are gone");
	if (count_fds() != fds)
		problem(&a, "%d descriptors once the operation's are closed, %d before", count_fds(), fds);
	alarm(0);
	return r == 0 && a.inj.fired;
}

static bool past_deadline(void)
{
	if (!deadline_hit && ms_since(&t_start) > (long)opt_deadline * 1000)
		deadline_hit = true;
	return deadline_hit;
}

static bool selected(const struct op *op)
{
	const char *p = opt_ops;
	size_t n = strlen(op->name);

	if (!opt_module[op->mod])
		return false;
	if ((op->mod == MOD_AREA && !have_area) || ((op->mod == MOD_NM || op->vrefs) && !have_nm))
		return false;
	if (!p)
		return true;
	while ((p = strstr(p, op->name))) {
		if ((p == opt_ops || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return true;
		p += n;
	}
	return false;
}

/*
 * nth: each allocation of the call failed in turn, until the call makes no
 * more; --rounds times.  The count of a call's allocations is not quite
 * fixed (KASAN's stack depot, kmemleak and kfree_rcu() allocate now and
 * then on its behalf): one more of those before an allocation site moves
 * that site one turn further, and a round may step over it.  Another round
 * is another draw.
 */
static void run_nth(const struct op *op, struct op_stats *s)
{
	unsigned int n, round;

	/* First without injection: the operation works here at all. */
	attempt(op, s, INJ_OFF, 0);
	if (s->skip[0] || s->problems)
		return;
	for (round = 0; round < opt_rounds && !past_deadline(); round++) {
		for (n = 1; n <= opt_max_nth && !past_deadline(); n++) {
			if (!attempt(op, s, INJ_NTH, n))
				break;
			if (n > s->sites)
				s->sites = n;
		}
		if (n > opt_max_nth) {
			s->capped = true;
			return;
		}
	}
}

static void print_summary(void)
{
	unsigned long calls = 0, ok = 0, nomem = 0, bad = 0, injected = 0;
	bool first = true;

	for (size_t i = 0; i < NR_OPS; i++) {
		calls += stats[i].calls;
		ok += stats[i].ok;
		nomem += stats[i].nomem;
		bad += stats[i].bad;
		injected += stats[i].injected;
	}
	printf("{\"mode\":\"%s\",\"calls\":%lu,\"ok\":%lu,\"nomem\":%lu,\"bad\":%lu,\"injected\":%lu,"
	       "\"problems\":%u,\"wall_ms\":%ld,\"deadline_hit\":%s,\"first_problems\":[",
	       opt_mode == INJ_NTH ? "nth" : opt_mode == INJ_SWEEP ? "sweep" : "off", calls, ok, nomem, bad, injected, nr_problems,
	       ms_since(&t_start), deadline_hit ? "true" : "false");
	for (unsigned int i = 0; i < nr_problems && i < MAX_PROBLEMS; i++) {
		if (i)
			putchar(',');
		json_str(stdout, problems[i]);
	}
	printf("],\"ops\":{");
	for (size_t i = 0; i < NR_OPS; i++) {
		const struct op_stats *s = &stats[i];

		if (!selected(&OPS[i]))
			continue;
		if (!first)
			putchar(',');
		first = false;
		json_str(stdout, OPS[i].name);
		printf(":{\"module\":\"%s\",\"calls\":%lu,\"ok\":%lu,\"nomem\":%lu,\"bad\":%lu,\"injected\":%lu,"
		       "\"problems\":%lu,\"sites\":%u,\"capped\":%s,\"skip\":",
		       MODULE_NAMES[OPS[i].mod], s->calls, s->ok, s->nomem, s->bad, s->injected, s->problems,
		       s->sites, s->capped ? "true" : "false");
		json_str(stdout, s->skip);
		putchar('}');
	}
	printf("}}\n");
	fflush(stdout);
}

static void list_ops(void)
{
	for (size_t i = 0; i < NR_OPS; i++)
		printf("%s %s\n", OPS[i].name, MODULE_NAMES[OPS[i].mod]);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: nexus-faults --mode nth|sweep|off [--modules nexus,nexus_area,nexus_node_monitor] [--ops NAME,...]\n"
		"                    [--rounds N] [--max-nth N] [--call-timeout S] [--deadline S] [--dir DIR] [--verbose] [--list]\n");
	exit(2);
}

static unsigned int arg_uint(const char *v)
{
	char *end;
	unsigned long n = strtoul(v ? v : "", &end, 10);

	if (!v || !*v || *end || n > 1000000)
		usage();
	return (unsigned int)n;
}

static void parse_modules(const char *v)
{
	for (int m = 0; m < NR_MODULES; m++)
		opt_module[m] = false;
	for (const char *p = v; p && *p;) {
		size_t n = strcspn(p, ",");
		bool known = false;

		for (int m = 0; m < NR_MODULES; m++) {
			if (strlen(MODULE_NAMES[m]) == n && !strncmp(p, MODULE_NAMES[m], n)) {
				opt_module[m] = true;
				known = true;
			}
		}
		if (!known)
			usage();
		p += n + (p[n] == ',');
	}
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = on_alarm };

	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(o, "--list")) {
			list_ops();
			return 0;
		} else if (!strcmp(o, "--verbose")) {
			opt_verbose = true;
			continue;
		} else if (!strcmp(o, "--mode") && v) {
			if (!strcmp(v, "nth"))
				opt_mode = INJ_NTH;
			else if (!strcmp(v, "off"))
				opt_mode = INJ_OFF;
			else if (!strcmp(v, "sweep"))
				opt_mode = INJ_SWEEP;
			else
				usage();
		} else if (!strcmp(o, "--modules") && v) {
			parse_modules(v);
		} else if (!strcmp(o, "--ops") && v) {
			opt_ops = v;
		} else if (!strcmp(o, "--rounds")) {
			opt_rounds = arg_uint(v);
		} else if (!strcmp(o, "--max-nth")) {
			opt_max_nth = arg_uint(v);
		} else if (!strcmp(o, "--call-timeout")) {
			opt_call_timeout = arg_uint(v);
		} else if (!strcmp(o, "--deadline")) {
			opt_deadline = arg_uint(v);
		} else if (!strcmp(o, "--dir") && v) {
			snprintf(opt_dir, sizeof(opt_dir), "%s", v);
		} else {
			usage();
		}
		i++;
	}
	if (!opt_call_timeout)
		usage();

	clock_gettime(CLOCK_MONOTONIC, &t_start);
	self_pid = getpid();
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGALRM, &sa, NULL);
	mallopt(M_ARENA_MAX, 1);
	/* No page fault (and its allocations) inside a call: everything is resident. */
	if (mlockall(MCL_CURRENT | MCL_FUTURE))
		fprintf(stderr, "nexus-faults: mlockall: %s (page faults in calls may fail under injection)\n",
			strerror(errno));
	if (opt_mode != INJ_OFF && access("/proc/thread-self/fail-nth", W_OK)) {
		fprintf(stderr, "nexus-faults: no /proc/thread-self/fail-nth: this kernel has no fault injection\n");
		return 4;
	}
	nx_fd = nx_open();
	if (nx_fd < 0) {
		fprintf(stderr, "nexus-faults: open %s: %s\n", NEXUS_DEVICE_PATH, strerror(-nx_fd));
		return 3;
	}
	area_fd = nx_area_open();
	have_area = area_fd >= 0;
	nm_fd = nm_open();
	have_nm = nm_fd >= 0;
	have_counters = access(COUNTERS_FILE, R_OK) == 0;
	mkdir(opt_dir, 0755);
	/* The main thread's record and its injection controls, made now, are part of every baseline. */
	{
		struct nexus_thread_info_req r;
		struct inj nth = { .mode = INJ_NTH }, sweep = { .mode = INJ_SWEEP };

		thread_info(0, &r);
		if (opt_mode != INJ_OFF) {
			inj_prepare(&nth);
			inj_prepare(&sweep);
		}
	}
	fprintf(stderr, "nexus-faults: %s mode, %zu operations%s%s%s\n",
		opt_mode == INJ_NTH ? "nth" : opt_mode == INJ_SWEEP ? "sweep" : "off",
		NR_OPS, have_area ? "" : " (no /dev/nexus_area)", have_nm ? "" : " (no /dev/nexus_node_monitor)",
		have_counters ? "" : " (no counters file)");

	if (opt_mode == INJ_NTH) {
		for (size_t i = 0; i < NR_OPS && !past_deadline(); i++)
			if (selected(&OPS[i]))
				run_nth(&OPS[i], &stats[i]);
	} else {
		for (unsigned int round = 0; round < opt_rounds && !past_deadline(); round++)
			for (size_t i = 0; i < NR_OPS && !past_deadline(); i++)
				if (selected(&OPS[i]) && !stats[i].skip[0])
					attempt(&OPS[i], &stats[i], opt_mode, 0);
	}
	for (size_t i = 0; i < NR_OPS; i++)
		if (selected(&OPS[i]))
			fprintf(stderr, "nexus-faults: %-28s %-18s calls %4lu ok %4lu nomem %4lu bad %lu sites %u%s%s\n",
				OPS[i].name, MODULE_NAMES[OPS[i].mod], stats[i].calls, stats[i].ok, stats[i].nomem,
				stats[i].bad, stats[i].sites, stats[i].skip[0] ? " skipped: " : "", stats[i].skip);
	print_summary();
	return nr_problems ? 1 : 0;
}
