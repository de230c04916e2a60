// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-bench-scale: do unrelated Nexus objects contend?  The throughput of
 * one ping-pong pair alone against two independent pairs at once, each pair
 * on its own objects, for Nexus ports and semaphores and for the Linux
 * primitives of the same shape, in the same guest.
 *
 *   nexus-bench-scale [--window MS] [--warmup N] [--rounds R] [--deadline S]
 *                     [--pin] MODE...
 *
 * A pair is two teams (two processes): the pinging one and its echo child.
 * Modes, each as <kind>-1pair and <kind>-2pairs:
 *   port        write_port a 64-byte message to the peer's port (its code the
 *               round trip's number), read_port the echo from our own
 *   pipe        the same round trip over two pipes
 *   sem         release_sem the peer's semaphore, acquire_sem our own
 *   posix-sem   sem_post / sem_wait on a pshared sem_t pair (futex based) in
 *               memory the pair shares
 *   sysv-sem    semop +1 / -1 on a SysV set of two semaphores
 * Objects are never shared between pairs: two pairs are two sets of ports,
 * pipes, semaphores or SysV sets, and four processes.
 *
 * The pairs of every kind asked for are set up once, before the first
 * round (the Nexus objects are created by the teams themselves), and run
 * --warmup untimed round trips each; then they wait, blocked, for windows.
 * A window of a mode: its pairs (pair 1 alone for a 1-pair mode, pairs 1
 * and 2 for a 2-pair mode, the other pair blocked and idle) start at the
 * same CLOCK_MONOTONIC instant and run round trips until the window
 * (--window ms) closes; a pair counts those completed inside it.  So a
 * 2-pair window's pairs run over the same span of time, its throughput is
 * every pair's round trips over the window, and one pair alone and two
 * pairs are the same processes on the same objects.  A round is one window
 * of every mode, the modes in the order given on odd rounds and reversed on
 * even ones, so that a mode and the one it is compared with take turns
 * going first; the windows being short, a mode and its comparison see the
 * same moment of a busy host.
 *
 * --pin puts both teams of pair k on the k-th CPU the program may use: a
 * pair then never competes with another for a CPU, and what two pairs lose
 * against one is what their objects (and the kernel paths they take)
 * share.  Without it the scheduler places the four processes, as it would
 * anyone's.
 *
 * Output, one JSON line per mode once every round ran:
 *   {"name":"port-2pairs","kind":"port","pairs":2,"bytes":64,"pinned":0,
 *    "rounds":R,"warmup":N,"window_ns":W,
 *    "round_trips":[[pair 1, pair 2] per round],
 *    "late_ns":[[pair 1, pair 2] per round]}
 * round_trips: those each pair completed inside the window; late_ns: how long
 * after the window opened each pair made its first timed round trip.
 *
 * Every call is checked, and so is every echo (the port message's code and
 * the pipe message's first bytes are the round trip's number); when a pair
 * stops, its echo child must have answered exactly as many pings as the
 * pair sent.  Any failure prints a message on stderr and the program exits
 * 1.  alarm() bounds a stuck peer or kernel; the pairs and their children
 * die with the program, and its SysV sets are removed when it fails.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>

#include "nexus-bench.h"

enum kind { K_PORT, K_PIPE, K_SEM, K_POSIX_SEM, K_SYSV_SEM };

static const char *const KIND_NAMES[] = {
	[K_PORT] = "port", [K_PIPE] = "pipe", [K_SEM] = "sem",
	[K_POSIX_SEM] = "posix-sem", [K_SYSV_SEM] = "sysv-sem",
};

#define MAX_PAIRS 2
/* The round trip's message, ports and pipes. */
#define PING_BYTES 64
/* From the go signal to the window's start: every pair has read it by then. */
#define START_DELAY_NS (20 * 1000000LL)

struct scale_mode {
	const char *name;
	enum kind kind;
	int pairs;
};

static const struct scale_mode MODES[] = {
	{ "port-1pair", K_PORT, 1 },
	{ "port-2pairs", K_PORT, 2 },
	{ "pipe-1pair", K_PIPE, 1 },
	{ "pipe-2pairs", K_PIPE, 2 },
	{ "sem-1pair", K_SEM, 1 },
	{ "sem-2pairs", K_SEM, 2 },
	{ "posix-sem-1pair", K_POSIX_SEM, 1 },
	{ "posix-sem-2pairs", K_POSIX_SEM, 2 },
	{ "sysv-sem-1pair", K_SYSV_SEM, 1 },
	{ "sysv-sem-2pairs", K_SYSV_SEM, 2 },
};
#define NMODES (sizeof(MODES) / sizeof(MODES[0]))

static int64_t window_ns = 200 * 1000000LL;
static long warmup = 100;
static int pin;

/* What the pair and its echo child share. */
struct pair_shared {
	int stop;		/* set by the pair before its last ping */
	long echoed;		/* pings the child answered, written when it stops */
	sem_t psem[2];		/* posix-sem: [0] acquired by the child, [1] by the pair */
};

/* One pair's side of a round (the pinging team's, or a copy in its child). */
struct pair {
	const struct scale_mode *m;
	int index;
	struct pair_shared *sh;
	char buf[PING_BYTES];
	/* ports / sems: the one this side reads or acquires, and the peer's */
	int32_t mine, peer;
	/* pipes: [0] pair -> child, [1] child -> pair */
	int pipes[2][2];
	int in_fd, out_fd;
	/* sysv-sem: semaphore 0 acquired by the child, 1 by the pair */
	int semset;
	/* the setup channel with the echo child */
	struct chan c;
};

/* A window for a pair: when it opens and closes (CLOCK_MONOTONIC ns); a negative start ends the pair. */
struct window {
	int64_t start, end;
};

/* What a pair tells the program after a window. */
struct pair_result {
	int64_t round_trips;	/* completed inside the window */
	int64_t late_ns;	/* first timed round trip after the window opened */
};

#define NKINDS 5

/* The program's side of a pair: its process, its pipes, its SysV set. */
struct pair_proc {
	pid_t pid;
	int ctl;		/* windows to the pair */
	int rep;		/* results from the pair */
	int semset;
};

static struct pair_proc procs[NKINDS][MAX_PAIRS];
static int kind_pairs[NKINDS];

/*
 * What outlives a dead program, or must die with it: the SysV sets and the
 * pair processes.  Plain data read by the cleanup (async-signal-safe).
 */
static volatile int live_semset[NKINDS * MAX_PAIRS];
static volatile pid_t live_pair[NKINDS * MAX_PAIRS];

static void cleanup_scale(void)
{
	int k;

	for (k = 0; k < NKINDS * MAX_PAIRS; k++) {
		pid_t pid = live_pair[k];

		live_pair[k] = 0;
		if (pid > 0) {
			kill(pid, SIGKILL);
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
		}
	}
	for (k = 0; k < NKINDS * MAX_PAIRS; k++) {
		if (live_semset[k] >= 0)
			semctl(live_semset[k], 0, IPC_RMID);
		live_semset[k] = -1;
	}
}

/* ---- the round trip ------------------------------------------------------ */

static void need_message(ssize_t got, int32_t code, int32_t id, long i)
{
	if (got < 0)
		die("read_port(%" PRId32 ") in round trip %ld: %s (%zd)",
		    id, i, status_name((int32_t)got), got);
	if (got != PING_BYTES || code != (int32_t)i)
		die("read_port(%" PRId32 ") in round trip %ld: %zd bytes with code %" PRId32
		    ", expected %d bytes with code %ld", id, i, got, code, PING_BYTES, i);
}

static void pipe_send(struct pair *p, long i)
{
	int64_t v = i;

	memcpy(p->buf, &v, sizeof(v));
	write_all(p->out_fd, p->buf, PING_BYTES, "pipe");
}

static void pipe_receive(struct pair *p, long i)
{
	int64_t v;

	read_all(p->in_fd, p->buf, PING_BYTES, "pipe");
	memcpy(&v, p->buf, sizeof(v));
	if (v != i)
		die("pipe: round trip %ld carried %" PRId64, i, v);
}

static void psem_wait(sem_t *s, long i)
{
	while (sem_wait(s) != 0)
		if (errno != EINTR)
			die("sem_wait in round trip %ld: %s", i, strerror(errno));
}

static void psem_post(sem_t *s, long i)
{
	if (sem_post(s) != 0)
		die("sem_post in round trip %ld: %s", i, strerror(errno));
}

static void sysv_semop(int set, unsigned short num, short op, long i)
{
	struct sembuf sb = { .sem_num = num, .sem_op = op, .sem_flg = 0 };

	while (semop(set, &sb, 1) != 0)
		if (errno != EINTR)
			die("semop(%hu, %hd) in round trip %ld: %s", num, op, i, strerror(errno));
}

/* The pair's ping: the first half of a round trip (also the stop signal). */
static void ping(struct pair *p, long i)
{
	switch (p->m->kind) {
	case K_PORT:
		need_ok(write_port(p->peer, (int32_t)i, p->buf, PING_BYTES), "write_port", p->peer, i);
		break;
	case K_PIPE:
		pipe_send(p, i);
		break;
	case K_SEM:
		need_ok(release_sem(p->peer), "release_sem", p->peer, i);
		break;
	case K_POSIX_SEM:
		psem_post(&p->sh->psem[0], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(p->semset, 0, 1, i);
		break;
	}
}

/* The pair's wait for the echo of round trip i. */
static void await_echo(struct pair *p, long i)
{
	int32_t code = -1;
	ssize_t got;

	switch (p->m->kind) {
	case K_PORT:
		got = read_port(p->mine, &code, p->buf, PING_BYTES);
		need_message(got, code, p->mine, i);
		break;
	case K_PIPE:
		pipe_receive(p, i);
		break;
	case K_SEM:
		need_ok(acquire_sem(p->mine), "acquire_sem", p->mine, i);
		break;
	case K_POSIX_SEM:
		psem_wait(&p->sh->psem[1], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(p->semset, 1, -1, i);
		break;
	}
}

static void round_trip(struct pair *p, long i)
{
	ping(p, i);
	await_echo(p, i);
}

/* The child's wait for ping i. */
static void await_ping(struct pair *p, long i)
{
	int32_t code = -1;
	ssize_t got;

	switch (p->m->kind) {
	case K_PORT:
		got = read_port(p->mine, &code, p->buf, PING_BYTES);
		need_message(got, code, p->mine, i);
		break;
	case K_PIPE:
		pipe_receive(p, i);
		break;
	case K_SEM:
		need_ok(acquire_sem(p->mine), "acquire_sem", p->mine, i);
		break;
	case K_POSIX_SEM:
		psem_wait(&p->sh->psem[0], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(p->semset, 0, -1, i);
		break;
	}
}

/* The child's echo of ping i. */
static void echo(struct pair *p, long i)
{
	switch (p->m->kind) {
	case K_PORT:
		need_ok(write_port(p->peer, (int32_t)i, p->buf, PING_BYTES), "write_port", p->peer, i);
		break;
	case K_PIPE:
		pipe_send(p, i);
		break;
	case K_SEM:
		need_ok(release_sem(p->peer), "release_sem", p->peer, i);
		break;
	case K_POSIX_SEM:
		psem_post(&p->sh->psem[1], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(p->semset, 1, 1, i);
		break;
	}
}

/* ---- a pair -------------------------------------------------------------- */

/* This side's Nexus object, the one the peer reads or acquires. */
static int32_t create_for_peer(const struct scale_mode *m, const char *name)
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

static int nexus_kind(const struct scale_mode *m)
{
	return m->kind == K_PORT || m->kind == K_SEM;
}

/* The echo child (its own team): answer every ping until the stop flag. */
static void run_child(void *arg, struct chan *c)
{
	struct pair *p = arg;
	long i;

	if (nexus_kind(p->m)) {
		p->peer = create_for_peer(p->m, "scale-to-pair");
		send_i32(c->to_parent[1], p->peer, "setup");
		p->mine = recv_i32(c->to_child[0], "setup");
	} else {
		if (p->m->kind == K_PIPE) {
			close(p->pipes[0][1]);
			close(p->pipes[1][0]);
			p->in_fd = p->pipes[0][0];
			p->out_fd = p->pipes[1][1];
		}
		send_i32(c->to_parent[1], 0, "setup");
	}
	for (i = 0;; i++) {
		await_ping(p, i);
		if (__atomic_load_n(&p->sh->stop, __ATOMIC_ACQUIRE))
			break;
		echo(p, i);
	}
	__atomic_store_n(&p->sh->echoed, i, __ATOMIC_RELEASE);
	_exit(0);
}

/* The k-th CPU this process may run on. */
static int kth_cpu(int k)
{
	cpu_set_t set;
	int cpu, seen = 0;

	if (sched_getaffinity(0, sizeof(set), &set) != 0)
		die("sched_getaffinity: %s", strerror(errno));
	for (cpu = 0; cpu < CPU_SETSIZE; cpu++)
		if (CPU_ISSET(cpu, &set) && seen++ == k)
			return cpu;
	die("--pin: pair %d needs a CPU of its own, but this program may use only %d", k + 1,
	    CPU_COUNT(&set));
}

/* Set up with the echo child, then warm up. */
static pid_t pair_setup(struct pair *p)
{
	pid_t pid;
	long i;

	if (pin) {
		cpu_set_t one;

		CPU_ZERO(&one);
		CPU_SET(kth_cpu(p->index), &one);
		if (sched_setaffinity(0, sizeof(one), &one) != 0)
			die("sched_setaffinity: %s", strerror(errno));
	}
	p->sh = mmap(NULL, sizeof(*p->sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p->sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	if (p->m->kind == K_POSIX_SEM &&
	    (sem_init(&p->sh->psem[0], 1, 0) != 0 || sem_init(&p->sh->psem[1], 1, 0) != 0))
		die("sem_init: %s", strerror(errno));
	if (p->m->kind == K_PIPE &&
	    (pipe2(p->pipes[0], O_CLOEXEC) != 0 || pipe2(p->pipes[1], O_CLOEXEC) != 0))
		die("pipe: %s", strerror(errno));
	memset(p->buf, 0x5a, sizeof(p->buf));

	chan_open(&p->c);
	pid = fork_child(&p->c, run_child, p);
	if (nexus_kind(p->m)) {
		p->mine = recv_i32(p->c.to_parent[0], "setup (child)");
		p->peer = create_for_peer(p->m, "scale-to-child");
		send_i32(p->c.to_child[1], p->peer, "setup");
	} else if (recv_i32(p->c.to_parent[0], "setup (child)") != 0) {
		die("setup: unexpected message from the child");
	}
	if (p->m->kind == K_PIPE) {
		close(p->pipes[0][0]);
		close(p->pipes[1][1]);
		p->out_fd = p->pipes[0][1];
		p->in_fd = p->pipes[1][0];
	}
	for (i = 0; i < warmup; i++)
		round_trip(p, i);
	return pid;
}

/* Round trips from round trip *i on, in a window: those completed inside it, and how late it started. */
static struct pair_result pair_window(struct pair *p, const struct window *w, long *i)
{
	struct pair_result res = { 0, 0 };
	struct timespec ts = { .tv_sec = w->start / 1000000000, .tv_nsec = w->start % 1000000000 };
	int64_t t;
	int err;

	while ((err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL)) == EINTR)
		;
	if (err)
		die("clock_nanosleep: %s", strerror(err));
	t = now_ns();
	res.late_ns = t - w->start;
	while (t < w->end) {
		round_trip(p, (*i)++);
		t = now_ns();
		if (t <= w->end)
			res.round_trips++;
	}
	return res;
}

/*
 * The pinging team of a pair: set up, say it is ready on `rep`, then run
 * every window read from `ctl` and answer each with its result, until a
 * window with a negative start; then stop the echo child, check that it
 * answered every ping, clean up.
 */
static void run_pair(struct pair *p, int ctl, int rep)
{
	struct pair_result res;
	struct window w;
	pid_t pid;
	long i = warmup;

	pid = pair_setup(p);
	send_i32(rep, 1, "ready");
	for (;;) {
		read_all(ctl, &w, sizeof(w), "a window");
		if (w.start < 0)
			break;
		res = pair_window(p, &w, &i);
		write_all(rep, &res, sizeof(res), "a result");
	}

	/* The last ping finds the stop flag set: the child stops, unanswered. */
	__atomic_store_n(&p->sh->stop, 1, __ATOMIC_RELEASE);
	ping(p, i);
	join_child(&p->c, pid, p->m->name);
	if (__atomic_load_n(&p->sh->echoed, __ATOMIC_ACQUIRE) != i)
		die("the echo child answered %ld pings, the pair sent %ld",
		    __atomic_load_n(&p->sh->echoed, __ATOMIC_ACQUIRE), i);

	/* Free what this side created (the child's went with its team). */
	if (p->m->kind == K_PORT)
		need_ok(delete_port(p->peer), "delete_port", p->peer, -1);
	else if (p->m->kind == K_SEM)
		need_ok(delete_sem(p->peer), "delete_sem", p->peer, -1);
	else if (p->m->kind == K_POSIX_SEM &&
		 (sem_destroy(&p->sh->psem[0]) != 0 || sem_destroy(&p->sh->psem[1]) != 0))
		die("sem_destroy: %s", strerror(errno));
	_exit(0);
}

/* ---- the program's side -------------------------------------------------- */

/*
 * Start the pinging team of pair k of a kind: a process of its own that
 * dies with the program and keeps only its own ends of its own pipes.
 */
static void start_pair(const struct scale_mode *m, int k)
{
	static char pair_who[64];
	struct pair_proc *pp = &procs[m->kind][k];
	int ctl[2], rep[2], kind, j;
	struct pair p = {
		.m = m, .index = k, .mine = -1, .peer = -1,
		.pipes = { { -1, -1 }, { -1, -1 } }, .in_fd = -1, .out_fd = -1, .semset = -1,
	};

	if (m->kind == K_SYSV_SEM) {
		/* A new set's values are 0 on Linux. */
		p.semset = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
		if (p.semset < 0)
			die("semget: %s", strerror(errno));
		live_semset[m->kind * MAX_PAIRS + k] = p.semset;
	}
	pp->semset = p.semset;
	if (pipe2(ctl, O_CLOEXEC) != 0 || pipe2(rep, O_CLOEXEC) != 0)
		die("pipe: %s", strerror(errno));

	fflush(stdout);
	fflush(stderr);
	pp->pid = fork();
	if (pp->pid < 0)
		die("fork: %s", strerror(errno));
	if (pp->pid > 0) {
		live_pair[m->kind * MAX_PAIRS + k] = pp->pid;
		close(ctl[0]);
		close(rep[1]);
		pp->ctl = ctl[1];
		pp->rep = rep[0];
		return;
	}
	snprintf(pair_who, sizeof(pair_who), "%s (%s, pair %d)", who, KIND_NAMES[m->kind], k + 1);
	who = pair_who;
	in_child = 1;
	child_pid = 0;
	bench_cleanup = NULL;
	signal(SIGALRM, SIG_DFL);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		die("prctl(PR_SET_PDEATHSIG): %s", strerror(errno));
	if (getppid() == 1)
		die("the program is already gone");
	alarm(deadline_s);
	/* The pairs started before this one are the program's business. */
	for (kind = 0; kind < NKINDS; kind++) {
		for (j = 0; j < MAX_PAIRS; j++) {
			if (procs[kind][j].pid > 0) {
				close(procs[kind][j].ctl);
				close(procs[kind][j].rep);
			}
		}
	}
	close(ctl[1]);
	close(rep[0]);
	run_pair(&p, ctl[0], rep[1]);
	_exit(0);
}

/* One window of a mode: every pair's round trips in it and how late it started. */
static void run_window(const struct scale_mode *m, int64_t *round_trips, int64_t *late)
{
	struct pair_result res;
	struct window w;
	int k;

	w.start = now_ns() + START_DELAY_NS;
	w.end = w.start + window_ns;
	for (k = 0; k < m->pairs; k++)
		write_all(procs[m->kind][k].ctl, &w, sizeof(w), "a window");
	for (k = 0; k < m->pairs; k++) {
		read_all(procs[m->kind][k].rep, &res, sizeof(res), "a result (pair)");
		round_trips[k] = res.round_trips;
		late[k] = res.late_ns;
	}
}

/* End every pair: each checks its echo count; all must exit cleanly. */
static void stop_pairs(void)
{
	struct window stop = { -1, -1 };
	int kind, k, status;

	for (kind = 0; kind < NKINDS; kind++)
		for (k = 0; k < kind_pairs[kind]; k++)
			write_all(procs[kind][k].ctl, &stop, sizeof(stop), "the end");
	for (kind = 0; kind < NKINDS; kind++) {
		for (k = 0; k < kind_pairs[kind]; k++) {
			struct pair_proc *pp = &procs[kind][k];

			while (waitpid(pp->pid, &status, 0) < 0)
				if (errno != EINTR)
					die("waitpid: %s", strerror(errno));
			live_pair[kind * MAX_PAIRS + k] = 0;
			if (WIFSIGNALED(status))
				die("%s pair %d died of signal %d", KIND_NAMES[kind], k + 1, WTERMSIG(status));
			if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
				die("%s pair %d exited with status %d", KIND_NAMES[kind], k + 1, WEXITSTATUS(status));
			close(pp->ctl);
			close(pp->rep);
			if (pp->semset >= 0 && semctl(pp->semset, 0, IPC_RMID) != 0)
				die("semctl(IPC_RMID): %s", strerror(errno));
			live_semset[kind * MAX_PAIRS + k] = -1;
		}
	}
}

/* ---- the program --------------------------------------------------------- */

static void print_pairs(const char *key, int64_t (*v)[MAX_PAIRS], int rounds, int pairs)
{
	int r, k;

	printf(",\"%s\":[", key);
	for (r = 0; r < rounds; r++) {
		printf("%s[", r ? "," : "");
		for (k = 0; k < pairs; k++)
			printf("%s%" PRId64, k ? "," : "", v[r][k]);
		printf("]");
	}
	printf("]");
}

static void usage(FILE *f)
{
	size_t k;

	fprintf(f, "usage: %s [--window MS] [--warmup N] [--rounds R] [--deadline SECONDS] [--pin]"
		" MODE...\n  round trips of each pair in windows of MS ms after N untimed ones,"
		" R rounds (a window\n  of each mode per round, the order reversed every other round);"
		" --pin: pair k on\n  the k-th CPU\nmodes:", who);
	for (k = 0; k < NMODES; k++)
		fprintf(f, " %s", MODES[k].name);
	fprintf(f, "\n");
}

int main(int argc, char **argv)
{
	const struct scale_mode *todo[NMODES];
	static int64_t round_trips[NMODES][BENCH_MAX_ROUNDS][MAX_PAIRS];
	static int64_t late[NMODES][BENCH_MAX_ROUNDS][MAX_PAIRS];
	const struct scale_mode *first[NKINDS] = { NULL };
	size_t ntodo = 0, k, j;
	int rounds = 1, r, i;

	who = "nexus-bench-scale";
	for (i = 0; i < NKINDS * MAX_PAIRS; i++)
		live_semset[i] = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--window") == 0) {
			window_ns = parse_count(a, argv[++i], 1, 60000) * 1000000LL;
		} else if (strcmp(a, "--warmup") == 0) {
			warmup = parse_count(a, argv[++i], 0, 10000000);
		} else if (strcmp(a, "--rounds") == 0) {
			rounds = (int)parse_count(a, argv[++i], 1, BENCH_MAX_ROUNDS);
		} else if (strcmp(a, "--deadline") == 0) {
			deadline_s = (unsigned int)parse_count(a, argv[++i], 1, 100000);
		} else if (strcmp(a, "--pin") == 0) {
			pin = 1;
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
			for (j = 0; j < ntodo; j++)
				if (todo[j] == &MODES[k])
					die("mode '%s' named twice", a);
			todo[ntodo++] = &MODES[k];
		}
	}
	if (ntodo == 0)
		for (k = 0; k < NMODES; k++)
			todo[ntodo++] = &MODES[k];
	/* Each kind's pairs: as many as its biggest mode runs. */
	for (k = 0; k < ntodo; k++) {
		if (!first[todo[k]->kind])
			first[todo[k]->kind] = todo[k];
		if (todo[k]->pairs > kind_pairs[todo[k]->kind])
			kind_pairs[todo[k]->kind] = todo[k]->pairs;
	}
	if (pin)
		for (i = 0; i < NKINDS; i++)
			if (kind_pairs[i] > 1)
				kth_cpu(kind_pairs[i] - 1);

	/* A write to a vanished reader must fail with EPIPE, not kill us silently. */
	signal(SIGPIPE, SIG_IGN);
	/* The whole run, set-up and every round included. */
	if (signal(SIGALRM, on_alarm) == SIG_ERR)
		die("signal: %s", strerror(errno));
	alarm(deadline_s);
	bench_cleanup = cleanup_scale;
	for (i = 0; i < NKINDS; i++)
		for (r = 0; r < kind_pairs[i]; r++)
			start_pair(first[i], r);
	for (i = 0; i < NKINDS; i++)
		for (r = 0; r < kind_pairs[i]; r++)
			if (recv_i32(procs[i][r].rep, "ready (pair)") != 1)
				die("%s pair %d: unexpected message", KIND_NAMES[i], r + 1);
	for (r = 0; r < rounds; r++) {
		for (j = 0; j < ntodo; j++) {
			/* Odd rounds (1, 3, ...) in order, even ones reversed. */
			k = r % 2 == 0 ? j : ntodo - 1 - j;
			run_window(todo[k], round_trips[k][r], late[k][r]);
		}
	}
	stop_pairs();
	bench_cleanup = NULL;

	for (k = 0; k < ntodo; k++) {
		const struct scale_mode *m = todo[k];

		printf("{\"name\":\"%s\",\"kind\":\"%s\",\"pairs\":%d,\"bytes\":%d,\"pinned\":%d,"
		       "\"rounds\":%d,\"warmup\":%ld,\"window_ns\":%" PRId64,
		       m->name, KIND_NAMES[m->kind], m->pairs,
		       m->kind == K_PORT || m->kind == K_PIPE ? PING_BYTES : 0, pin,
		       rounds, warmup, window_ns);
		print_pairs("round_trips", round_trips[k], rounds, m->pairs);
		print_pairs("late_ns", late[k], rounds, m->pairs);
		printf("}\n");
	}
	if (fflush(stdout) != 0 || ferror(stdout))
		die("writing the results: %s", strerror(errno));
	return 0;
}
