// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-bench: Nexus ports and semaphores against Linux's IPC family in the
 * same guest - round-trip latency between two teams (two processes), and how
 * late a 1 ms timeout fires.
 *
 *   nexus-bench [--iterations N] [--warmup N] [--rounds R] [--deadline S] [MODE...]
 *
 * Round trips (all of them when no mode is named), between the parent and an
 * echo child it forks for each round:
 *   port-rtt-64, port-rtt-4096   write_port to the peer, read_port its echo
 *   sem-pingpong                 release_sem the peer's sem, acquire our own
 *   pipe-rtt-64, pipe-rtt-4096   the same round trip over two pipes
 *   mq-rtt-64, mq-rtt-4096       over two POSIX message queues (mq_send /
 *                                mq_receive, one message deep like the ports)
 *   sysv-msg-rtt-64, -4096       over two SysV message queues (msgsnd / msgrcv)
 *   posix-sem-pingpong           sem_post / sem_wait on a pshared sem_t pair
 *                                (futex based) in a shared anonymous mapping
 *   sysv-sem-pingpong            semop +1 / -1 on a SysV set of two semaphores
 * Timeout precision, in one process (each sample: how long the call took
 * minus the 1 ms asked for, so the lateness; nobody ever signals):
 *   sem-timeout-1ms              acquire_sem_etc(B_RELATIVE_TIMEOUT, 1000 us)
 *   port-timeout-1ms             read_port_etc(B_RELATIVE_TIMEOUT, 1000 us) on
 *                                an empty port
 *   timerfd-1ms                  a CLOCK_MONOTONIC timerfd armed for 1 ms, read
 *
 * For a round-trip mode both sides set their objects up and exchange ids over
 * a pipe, then the parent runs --warmup untimed round trips and --iterations
 * timed ones, each timed alone with CLOCK_MONOTONIC.  Output: one JSON line
 * per mode (nexus-bench.h).
 *
 * Every call is checked: a failed operation (or a wrong echo) prints a
 * message on stderr and the program exits 1 instead of timing errors; a
 * timeout that ends with anything but B_TIMED_OUT (or one read of the timer)
 * is an error too.  Each side reads from an object the *other* side owns, so
 * when one team dies its objects go with it and the survivor's blocked call
 * fails instead of hanging; alarm() bounds everything else (POSIX and SysV
 * objects, a stuck kernel).  SysV objects and queue names are removed when
 * the program fails.
 */
#define _GNU_SOURCE
#include <mqueue.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/timerfd.h>

#include "nexus-bench.h"

enum kind {
	K_PORT, K_SEM, K_PIPE, K_MQ, K_SYSV_MSG, K_POSIX_SEM, K_SYSV_SEM,
	K_SEM_TIMEOUT, K_PORT_TIMEOUT, K_TIMERFD,
};

static const struct bench_mode MODES[] = {
	{ "port-rtt-64", K_PORT, 64 },
	{ "port-rtt-4096", K_PORT, 4096 },
	{ "sem-pingpong", K_SEM, 0 },
	{ "pipe-rtt-64", K_PIPE, 64 },
	{ "pipe-rtt-4096", K_PIPE, 4096 },
	{ "mq-rtt-64", K_MQ, 64 },
	{ "mq-rtt-4096", K_MQ, 4096 },
	{ "sysv-msg-rtt-64", K_SYSV_MSG, 64 },
	{ "sysv-msg-rtt-4096", K_SYSV_MSG, 4096 },
	{ "posix-sem-pingpong", K_POSIX_SEM, 0 },
	{ "sysv-sem-pingpong", K_SYSV_SEM, 0 },
	{ "sem-timeout-1ms", K_SEM_TIMEOUT, 0 },
	{ "port-timeout-1ms", K_PORT_TIMEOUT, 0 },
	{ "timerfd-1ms", K_TIMERFD, 0 },
};
#define NMODES (sizeof(MODES) / sizeof(MODES[0]))

/* The timeout the precision modes ask for. */
#define TIMEOUT_US 1000

/* A SysV message: the type, then the payload. */
struct sysv_msg {
	long mtype;
	char text[4096];
};

/* Per-round state, set up on both sides before the timed loop. */
struct bench {
	const struct bench_mode *m;
	long total;		/* warm-up + timed round trips */
	char *buf;
	/* ports / sems: the one this side reads or acquires, and the peer's */
	int32_t mine, peer;
	/* pipes */
	int in_fd, out_fd;
	/* POSIX queues */
	mqd_t in_q, out_q;
	/* SysV queues */
	int in_msq, out_msq;
	struct sysv_msg *msg;
	/* POSIX sems: [0] acquired by the child, [1] by the parent */
	sem_t *psem;
	/* SysV sems: semaphore 0 acquired by the child, 1 by the parent */
	int semset;
	/* the channel, the child's pipes (parent -> child, child -> parent), both queues */
	struct chan c;
	int pipes[2][2];
	mqd_t q[2];
	int msq[2];
};

/*
 * What outlives a dead program: the SysV objects and queue names of the
 * round in progress.  Plain data read by the cleanup (async-signal-safe).
 */
static volatile int live_msq[2] = { -1, -1 };
static volatile int live_semset = -1;
static char live_mq_name[2][64];

static void cleanup_ipc(void)
{
	int k;

	for (k = 0; k < 2; k++) {
		if (live_msq[k] >= 0)
			msgctl(live_msq[k], IPC_RMID, NULL);
		live_msq[k] = -1;
		if (live_mq_name[k][0])
			mq_unlink(live_mq_name[k]);
		live_mq_name[k][0] = '\0';
	}
	if (live_semset >= 0)
		semctl(live_semset, 0, IPC_RMID);
	live_semset = -1;
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

static void mq_send_one(mqd_t q, const char *buf, size_t bytes, long i)
{
	while (mq_send(q, buf, bytes, 0) != 0)
		if (errno != EINTR)
			die("mq_send in round trip %ld: %s", i, strerror(errno));
}

static void mq_receive_one(mqd_t q, char *buf, size_t bytes, long i)
{
	ssize_t got;

	while ((got = mq_receive(q, buf, bytes, NULL)) < 0)
		if (errno != EINTR)
			die("mq_receive in round trip %ld: %s", i, strerror(errno));
	if ((size_t)got != bytes)
		die("mq_receive in round trip %ld: %zd bytes, expected %zu", i, got, bytes);
}

static void msg_send_one(int q, struct sysv_msg *msg, size_t bytes, long i)
{
	msg->mtype = 1;
	while (msgsnd(q, msg, bytes, 0) != 0)
		if (errno != EINTR)
			die("msgsnd in round trip %ld: %s", i, strerror(errno));
}

static void msg_receive_one(int q, struct sysv_msg *msg, size_t bytes, long i)
{
	ssize_t got;

	while ((got = msgrcv(q, msg, bytes, 0, 0)) < 0)
		if (errno != EINTR)
			die("msgrcv in round trip %ld: %s", i, strerror(errno));
	if ((size_t)got != bytes)
		die("msgrcv in round trip %ld: %zd bytes, expected %zu", i, got, bytes);
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

/* One "echo" step of the child: wait for the ping, answer it. */
static void child_step(struct bench *b, long i)
{
	const struct bench_mode *m = b->m;
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
	case K_MQ:
		mq_receive_one(b->in_q, b->buf, m->bytes, i);
		mq_send_one(b->out_q, b->buf, m->bytes, i);
		break;
	case K_SYSV_MSG:
		msg_receive_one(b->in_msq, b->msg, m->bytes, i);
		msg_send_one(b->out_msq, b->msg, m->bytes, i);
		break;
	case K_POSIX_SEM:
		psem_wait(&b->psem[0], i);
		psem_post(&b->psem[1], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(b->semset, 0, -1, i);
		sysv_semop(b->semset, 1, 1, i);
		break;
	}
}

/* One round trip of the parent: ping the child, wait for its answer. */
static void parent_step(struct bench *b, long i)
{
	const struct bench_mode *m = b->m;
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
	case K_MQ:
		mq_send_one(b->out_q, b->buf, m->bytes, i);
		mq_receive_one(b->in_q, b->buf, m->bytes, i);
		break;
	case K_SYSV_MSG:
		msg_send_one(b->out_msq, b->msg, m->bytes, i);
		msg_receive_one(b->in_msq, b->msg, m->bytes, i);
		break;
	case K_POSIX_SEM:
		psem_post(&b->psem[0], i);
		psem_wait(&b->psem[1], i);
		break;
	case K_SYSV_SEM:
		sysv_semop(b->semset, 0, 1, i);
		sysv_semop(b->semset, 1, -1, i);
		break;
	}
}

/* Create this side's object (the one the peer reads or acquires). */
static int32_t create_for_peer(const struct bench_mode *m, const char *name)
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

static void run_child(void *arg, struct chan *c)
{
	struct bench *b = arg;
	const struct bench_mode *m = b->m;
	long i;

	switch (m->kind) {
	case K_PORT:
	case K_SEM:
		/* The parent reads/acquires what the child owns and vice versa. */
		b->peer = create_for_peer(m, "bench-to-parent");
		send_i32(c->to_parent[1], b->peer, "setup");
		b->mine = recv_i32(c->to_child[0], "setup");
		break;
	case K_PIPE:
		/* pipes[0]: parent -> child, pipes[1]: child -> parent */
		close(b->pipes[0][1]);
		close(b->pipes[1][0]);
		b->in_fd = b->pipes[0][0];
		b->out_fd = b->pipes[1][1];
		send_i32(c->to_parent[1], 0, "setup");
		break;
	case K_MQ:
		/* q[0]: parent -> child, q[1]: child -> parent */
		b->in_q = b->q[0];
		b->out_q = b->q[1];
		send_i32(c->to_parent[1], 0, "setup");
		break;
	case K_SYSV_MSG:
		b->in_msq = b->msq[0];
		b->out_msq = b->msq[1];
		send_i32(c->to_parent[1], 0, "setup");
		break;
	default:
		send_i32(c->to_parent[1], 0, "setup");
		break;
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

/* Create a POSIX queue one message of `bytes` deep, named for cleanup until unlinked. */
static mqd_t open_queue(int k, size_t bytes)
{
	struct mq_attr attr = { .mq_maxmsg = 1, .mq_msgsize = (long)bytes };
	mqd_t q;

	snprintf(live_mq_name[k], sizeof(live_mq_name[k]), "/nexus-bench-%d-%d", (int)getpid(), k);
	q = mq_open(live_mq_name[k], O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, &attr);
	if (q == (mqd_t)-1)
		die("mq_open(%s): %s", live_mq_name[k], strerror(errno));
	return q;
}

static void rtt_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	struct bench b = {
		.m = m, .total = warmup + iterations,
		.mine = -1, .peer = -1, .in_fd = -1, .out_fd = -1,
		.in_q = (mqd_t)-1, .out_q = (mqd_t)-1, .in_msq = -1, .out_msq = -1,
		.semset = -1,
		.pipes = { { -1, -1 }, { -1, -1 } }, .q = { (mqd_t)-1, (mqd_t)-1 }, .msq = { -1, -1 },
	};
	long i;
	int k;
	pid_t pid;

	b.buf = malloc(m->bytes ? m->bytes : 1);
	b.msg = malloc(sizeof(*b.msg));
	if (!b.buf || !b.msg)
		die("out of memory");
	memset(b.buf, 0x5a, m->bytes ? m->bytes : 1);
	memset(b.msg, 0x5a, sizeof(*b.msg));

	bench_cleanup = cleanup_ipc;
	chan_open(&b.c);
	switch (m->kind) {
	case K_PIPE:
		if (pipe2(b.pipes[0], O_CLOEXEC) != 0 || pipe2(b.pipes[1], O_CLOEXEC) != 0)
			die("pipe: %s", strerror(errno));
		break;
	case K_MQ:
		/* Both ends hold the descriptors across fork: the names can go at once. */
		for (k = 0; k < 2; k++)
			b.q[k] = open_queue(k, m->bytes);
		for (k = 0; k < 2; k++) {
			if (mq_unlink(live_mq_name[k]) != 0)
				die("mq_unlink(%s): %s", live_mq_name[k], strerror(errno));
			live_mq_name[k][0] = '\0';
		}
		break;
	case K_SYSV_MSG:
		for (k = 0; k < 2; k++) {
			b.msq[k] = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
			if (b.msq[k] < 0)
				die("msgget: %s", strerror(errno));
			live_msq[k] = b.msq[k];
		}
		break;
	case K_POSIX_SEM:
		b.psem = mmap(NULL, 2 * sizeof(sem_t), PROT_READ | PROT_WRITE,
			      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
		if (b.psem == MAP_FAILED)
			die("mmap: %s", strerror(errno));
		if (sem_init(&b.psem[0], 1, 0) != 0 || sem_init(&b.psem[1], 1, 0) != 0)
			die("sem_init: %s", strerror(errno));
		break;
	case K_SYSV_SEM:
		/* A new set's values are 0 on Linux. */
		b.semset = semget(IPC_PRIVATE, 2, IPC_CREAT | 0600);
		if (b.semset < 0)
			die("semget: %s", strerror(errno));
		live_semset = b.semset;
		break;
	}

	pid = fork_child(&b.c, run_child, &b);

	switch (m->kind) {
	case K_PORT:
	case K_SEM:
		b.mine = recv_i32(b.c.to_parent[0], "setup (child)");
		b.peer = create_for_peer(m, "bench-to-child");
		send_i32(b.c.to_child[1], b.peer, "setup");
		break;
	default:
		if (recv_i32(b.c.to_parent[0], "setup (child)") != 0)
			die("setup: unexpected message from the child");
		break;
	}
	if (m->kind == K_PIPE) {
		close(b.pipes[0][0]);
		close(b.pipes[1][1]);
		b.out_fd = b.pipes[0][1];
		b.in_fd = b.pipes[1][0];
	}
	b.out_q = b.q[0];
	b.in_q = b.q[1];
	b.out_msq = b.msq[0];
	b.in_msq = b.msq[1];

	for (i = 0; i < warmup; i++)
		parent_step(&b, i);
	for (i = 0; i < iterations; i++) {
		int64_t t0 = now_ns();

		parent_step(&b, warmup + i);
		out[i] = now_ns() - t0;
	}

	send_i32(b.c.to_child[1], 1, "teardown");
	join_child(&b.c, pid, m->name);

	/* Free what this side created (the child's went with its team). */
	switch (m->kind) {
	case K_PORT:
		need_ok(delete_port(b.peer), "delete_port", b.peer, -1);
		break;
	case K_SEM:
		need_ok(delete_sem(b.peer), "delete_sem", b.peer, -1);
		break;
	case K_PIPE:
		close(b.in_fd);
		close(b.out_fd);
		break;
	case K_MQ:
		for (k = 0; k < 2; k++)
			if (mq_close(b.q[k]) != 0)
				die("mq_close: %s", strerror(errno));
		break;
	case K_SYSV_MSG:
		for (k = 0; k < 2; k++) {
			if (msgctl(b.msq[k], IPC_RMID, NULL) != 0)
				die("msgctl(IPC_RMID): %s", strerror(errno));
			live_msq[k] = -1;
		}
		break;
	case K_POSIX_SEM:
		if (sem_destroy(&b.psem[0]) != 0 || sem_destroy(&b.psem[1]) != 0)
			die("sem_destroy: %s", strerror(errno));
		if (munmap(b.psem, 2 * sizeof(sem_t)) != 0)
			die("munmap: %s", strerror(errno));
		break;
	case K_SYSV_SEM:
		if (semctl(b.semset, 0, IPC_RMID) != 0)
			die("semctl(IPC_RMID): %s", strerror(errno));
		live_semset = -1;
		break;
	}
	bench_cleanup = NULL;
	free(b.msg);
	free(b.buf);
}

/*
 * One timeout of TIMEOUT_US that nobody ends early, on the object of a
 * timeout mode; returns how long the call took in ns.
 */
static int64_t one_timeout(const struct bench_mode *m, int32_t id, int tfd, long i)
{
	struct itimerspec its = { .it_value = { .tv_sec = 0, .tv_nsec = TIMEOUT_US * 1000 } };
	int32_t code;
	char buf[64];
	uint64_t expirations = 0;
	int64_t t0 = now_ns(), t1;
	ssize_t got;
	status_t st;

	switch (m->kind) {
	case K_SEM_TIMEOUT:
		st = acquire_sem_etc(id, 1, B_RELATIVE_TIMEOUT, TIMEOUT_US);
		if (st != B_TIMED_OUT)
			die("acquire_sem_etc(%" PRId32 ", %d us) in iteration %ld: %s (%" PRId32
			    "), expected B_TIMED_OUT", id, TIMEOUT_US, i, status_name(st), st);
		break;
	case K_PORT_TIMEOUT:
		got = read_port_etc(id, &code, buf, sizeof(buf), B_RELATIVE_TIMEOUT, TIMEOUT_US);
		if (got != B_TIMED_OUT)
			die("read_port_etc(%" PRId32 ", %d us) in iteration %ld: %s (%zd)"
			    ", expected B_TIMED_OUT", id, TIMEOUT_US, i,
			    got < 0 ? status_name((int32_t)got) : "a message", got);
		break;
	default:
		if (timerfd_settime(tfd, 0, &its, NULL) != 0)
			die("timerfd_settime: %s", strerror(errno));
		while ((got = read(tfd, &expirations, sizeof(expirations))) < 0)
			if (errno != EINTR)
				die("read(timerfd) in iteration %ld: %s", i, strerror(errno));
		if (got != sizeof(expirations) || expirations != 1)
			die("read(timerfd) in iteration %ld: %zd bytes, %" PRIu64 " expirations",
			    i, got, expirations);
		break;
	}
	t1 = now_ns();
	return t1 - t0;
}

static void timeout_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	int32_t id = -1;
	int tfd = -1;
	long i;

	switch (m->kind) {
	case K_SEM_TIMEOUT:
		id = create_sem(0, "bench-timeout");
		if (id < 0)
			die("create_sem: %s (%" PRId32 ")", status_name(id), id);
		break;
	case K_PORT_TIMEOUT:
		id = create_port(1, "bench-timeout");
		if (id < 0)
			die("create_port: %s (%" PRId32 ")", status_name(id), id);
		break;
	default:
		tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
		if (tfd < 0)
			die("timerfd_create: %s", strerror(errno));
		break;
	}
	for (i = 0; i < warmup; i++)
		one_timeout(m, id, tfd, i);
	for (i = 0; i < iterations; i++)
		out[i] = one_timeout(m, id, tfd, warmup + i) - (int64_t)TIMEOUT_US * 1000;

	if (m->kind == K_SEM_TIMEOUT)
		need_ok(delete_sem(id), "delete_sem", id, -1);
	else if (m->kind == K_PORT_TIMEOUT)
		need_ok(delete_port(id), "delete_port", id, -1);
	else
		close(tfd);
}

static void round_of(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	if (m->kind == K_SEM_TIMEOUT || m->kind == K_PORT_TIMEOUT || m->kind == K_TIMERFD)
		timeout_round(m, iterations, warmup, out);
	else
		rtt_round(m, iterations, warmup, out);
}

int main(int argc, char **argv)
{
	who = "nexus-bench";
	return bench_main(argc, argv, MODES, NMODES, round_of);
}
