// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-bench-ipc: Nexus thread messages and areas against what Linux
 * programs use for the same work, in the same guest.
 *
 *   nexus-bench-ipc [--iterations N] [--warmup N] [--rounds R] [--deadline S] [MODE...]
 *
 * Round trips (the time of one ping and its echo):
 *   data-threads-64, -4096    send_data to an echo thread of the same team
 *                             (spawn_thread + resume_thread), receive_data
 *                             its answer (same code, same bytes)
 *   eventfd-threads           the same with a pthread and two eventfds (one
 *                             8-byte counter each way: the cheapest wakeup)
 *   pipe-threads-64, -4096    the same with a pthread and two pipes
 *   data-teams-64, -4096      send_data / receive_data with an echo child
 *                             process (fork: its own team), thread to thread
 *   eventfd-teams             two eventfds shared with a forked child
 *   pipe-teams-64, -4096      two pipes shared with a forked child
 * Shared memory (the time of one whole cycle, in one process):
 *   area-4k, -64k, -1m        create_area (B_ANY_ADDRESS, B_NO_LOCK, read +
 *                             write), clone_area of it (a second mapping of
 *                             the same pages), one byte written per page
 *                             through the clone (first touch: every page
 *                             faults in), the last page's byte read back
 *                             through the first mapping, delete_area of both
 *   posix-shm-4k, -64k, -1m   the same work with shm_open + ftruncate + two
 *                             mmaps (MAP_SHARED) + close, touch, read back,
 *                             two munmaps + shm_unlink
 *   sysv-shm-4k, -64k, -1m    shmget + two shmats, touch, read back, two
 *                             shmdts + shmctl(IPC_RMID)
 *
 * Output: one JSON line per mode (nexus-bench.h), bytes = the message or the
 * area size.  Every call is checked: a failed operation, a wrong code or
 * sender, a byte that did not come through, prints a message on stderr and
 * the program exits 1.  alarm() bounds a stuck peer or kernel; the echo
 * child dies with the parent; a POSIX name or SysV segment of the cycle in
 * progress is removed when the program fails.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/eventfd.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/shm.h>

#include "nexus-bench.h"

enum kind { K_DATA, K_EVENTFD, K_PIPE, K_AREA, K_POSIX_SHM, K_SYSV_SHM };
/* Or'ed into a round-trip kind: the echo is a forked child, not a thread. */
#define TEAMS 0x100
#define KIND(m) ((m)->kind & ~TEAMS)

static const struct bench_mode MODES[] = {
	{ "data-threads-64", K_DATA, 64 },
	{ "data-threads-4096", K_DATA, 4096 },
	{ "eventfd-threads", K_EVENTFD, 8 },
	{ "pipe-threads-64", K_PIPE, 64 },
	{ "pipe-threads-4096", K_PIPE, 4096 },
	{ "data-teams-64", K_DATA | TEAMS, 64 },
	{ "data-teams-4096", K_DATA | TEAMS, 4096 },
	{ "eventfd-teams", K_EVENTFD | TEAMS, 8 },
	{ "pipe-teams-64", K_PIPE | TEAMS, 64 },
	{ "pipe-teams-4096", K_PIPE | TEAMS, 4096 },
	{ "area-4k", K_AREA, 4096 },
	{ "area-64k", K_AREA, 65536 },
	{ "area-1m", K_AREA, 1048576 },
	{ "posix-shm-4k", K_POSIX_SHM, 4096 },
	{ "posix-shm-64k", K_POSIX_SHM, 65536 },
	{ "posix-shm-1m", K_POSIX_SHM, 1048576 },
	{ "sysv-shm-4k", K_SYSV_SHM, 4096 },
	{ "sysv-shm-64k", K_SYSV_SHM, 65536 },
	{ "sysv-shm-1m", K_SYSV_SHM, 1048576 },
};
#define NMODES (sizeof(MODES) / sizeof(MODES[0]))

/* ---- round trips ---------------------------------------------------------- */

/* One round of a round-trip mode, shared by the pinging and the echoing side. */
struct rtt {
	const struct bench_mode *m;
	long total;		/* warm-up + timed round trips */
	/* send_data: the other side's thread */
	thread_id peer;
	/* eventfds and pipes: [0] ping -> echo, [1] echo -> ping */
	int efd[2];
	int pipes[2][2];
};

static void efd_signal(int fd, long i)
{
	uint64_t one = 1;
	ssize_t w;

	while ((w = write(fd, &one, sizeof(one))) < 0 && errno == EINTR)
		;
	if (w != sizeof(one))
		die("write(eventfd) in round trip %ld: %s", i, w < 0 ? strerror(errno) : "short write");
}

static void efd_wait(int fd, long i)
{
	uint64_t v = 0;
	ssize_t r;

	while ((r = read(fd, &v, sizeof(v))) < 0 && errno == EINTR)
		;
	if (r != sizeof(v) || v != 1)
		die("read(eventfd) in round trip %ld: %s (counter %" PRIu64 ")", i,
		    r < 0 ? strerror(errno) : "short read", v);
}

/* receive_data must have returned code i from `from` (any sender when from is 0). */
static thread_id need_data(int32_t code, thread_id sender, thread_id from, long i)
{
	if (code < 0)
		die("receive_data in round trip %ld: %s (%" PRId32 ")", i, status_name(code), code);
	if (code != (int32_t)i || (from != 0 && sender != from))
		die("receive_data in round trip %ld: code %" PRId32 " from thread %" PRId32
		    ", expected code %ld from thread %" PRId32, i, code, sender, i, from);
	return sender;
}

/* One echo: wait for the ping, answer it the same way. */
static void echo_step(struct rtt *b, char *buf, long i)
{
	size_t n = b->m->bytes;
	thread_id sender = -1;
	int32_t code;

	switch (KIND(b->m)) {
	case K_DATA:
		code = receive_data(&sender, buf, n);
		need_data(code, sender, 0, i);
		need_ok(send_data(sender, code, buf, n), "send_data", sender, i);
		break;
	case K_EVENTFD:
		efd_wait(b->efd[0], i);
		efd_signal(b->efd[1], i);
		break;
	case K_PIPE:
		read_all(b->pipes[0][0], buf, n, "pipe");
		write_all(b->pipes[1][1], buf, n, "pipe");
		break;
	}
}

/* One round trip of the pinging side. */
static void ping_step(struct rtt *b, char *buf, long i)
{
	size_t n = b->m->bytes;
	thread_id sender = -1;
	int32_t code;

	switch (KIND(b->m)) {
	case K_DATA:
		need_ok(send_data(b->peer, (int32_t)i, buf, n), "send_data", b->peer, i);
		code = receive_data(&sender, buf, n);
		need_data(code, sender, b->peer, i);
		break;
	case K_EVENTFD:
		efd_signal(b->efd[0], i);
		efd_wait(b->efd[1], i);
		break;
	case K_PIPE:
		write_all(b->pipes[0][1], buf, n, "pipe");
		read_all(b->pipes[1][0], buf, n, "pipe");
		break;
	}
}

static void echo_loop(struct rtt *b)
{
	char *buf = malloc(b->m->bytes);
	long i;

	if (!buf)
		die("out of memory");
	memset(buf, 0xa5, b->m->bytes);
	for (i = 0; i < b->total; i++)
		echo_step(b, buf, i);
	free(buf);
}

/* The echo thread of a Nexus mode (spawn_thread). */
static status_t echo_thread(void *arg)
{
	echo_loop(arg);
	return B_OK;
}

/* The echo thread of a Linux baseline (pthread_create). */
static void *echo_pthread(void *arg)
{
	echo_loop(arg);
	return NULL;
}

/* The echo child of a teams mode: say which thread to send to, echo, wait for "done". */
static void echo_child(void *arg, struct chan *c)
{
	struct rtt *b = arg;
	thread_id me = find_thread(NULL);

	if (KIND(b->m) == K_DATA) {
		struct thread_info info;

		/* The first Nexus call makes this process its own team with a thread record. */
		need_ok(get_thread_info(me, &info), "get_thread_info", me, -1);
		if (info.thread != me)
			die("get_thread_info(%" PRId32 ") names thread %" PRId32, me, info.thread);
	} else if (KIND(b->m) == K_PIPE) {
		close(b->pipes[0][1]);
		close(b->pipes[1][0]);
	}
	send_i32(c->to_parent[1], me, "setup");
	echo_loop(b);
	if (recv_i32(c->to_child[0], "teardown") != 1)
		die("teardown: unexpected message");
	_exit(0);
}

static void rtt_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	struct rtt b = {
		.m = m, .total = warmup + iterations, .peer = -1,
		.efd = { -1, -1 }, .pipes = { { -1, -1 }, { -1, -1 } },
	};
	struct chan c = { { -1, -1 }, { -1, -1 } };
	pthread_t th = 0;
	pid_t pid = -1;
	char *buf = malloc(m->bytes);
	status_t ret = B_ERROR;
	long i;
	int k;

	if (!buf)
		die("out of memory");
	memset(buf, 0x5a, m->bytes);
	for (k = 0; k < 2; k++) {
		if (KIND(m) == K_EVENTFD && (b.efd[k] = eventfd(0, EFD_CLOEXEC)) < 0)
			die("eventfd: %s", strerror(errno));
		if (KIND(m) == K_PIPE && pipe2(b.pipes[k], O_CLOEXEC) != 0)
			die("pipe: %s", strerror(errno));
	}

	if (m->kind & TEAMS) {
		chan_open(&c);
		pid = fork_child(&c, echo_child, &b);
		b.peer = recv_i32(c.to_parent[0], "setup (child)");
		if (KIND(m) == K_PIPE) {
			close(b.pipes[0][0]);
			close(b.pipes[1][1]);
			b.pipes[0][0] = b.pipes[1][1] = -1;
		}
	} else if (KIND(m) == K_DATA) {
		b.peer = spawn_thread(echo_thread, "bench-echo", B_NORMAL_PRIORITY, &b);
		if (b.peer < 0)
			die("spawn_thread: %s (%" PRId32 ")", status_name(b.peer), b.peer);
		need_ok(resume_thread(b.peer), "resume_thread", b.peer, -1);
	} else {
		int err = pthread_create(&th, NULL, echo_pthread, &b);

		if (err)
			die("pthread_create: %s", strerror(err));
	}

	for (i = 0; i < warmup; i++)
		ping_step(&b, buf, i);
	for (i = 0; i < iterations; i++) {
		int64_t t0 = now_ns();

		ping_step(&b, buf, warmup + i);
		out[i] = now_ns() - t0;
	}

	if (m->kind & TEAMS) {
		send_i32(c.to_child[1], 1, "teardown");
		join_child(&c, pid, m->name);
	} else if (KIND(m) == K_DATA) {
		need_ok(wait_for_thread(b.peer, &ret), "wait_for_thread", b.peer, -1);
		if (ret != B_OK)
			die("the echo thread %" PRId32 " returned %" PRId32, b.peer, ret);
	} else {
		int err = pthread_join(th, NULL);

		if (err)
			die("pthread_join: %s", strerror(err));
	}
	for (k = 0; k < 2; k++) {
		if (b.efd[k] >= 0)
			close(b.efd[k]);
		if (b.pipes[k][0] >= 0)
			close(b.pipes[k][0]);
		if (b.pipes[k][1] >= 0)
			close(b.pipes[k][1]);
	}
	free(buf);
}

/* ---- shared memory cycles ------------------------------------------------- */

/* What a failed program must remove: the POSIX name and SysV segment of the cycle in progress. */
static char live_shm_name[64];
static volatile int live_shmid = -1;

static void cleanup_shm(void)
{
	if (live_shm_name[0])
		shm_unlink(live_shm_name);
	live_shm_name[0] = '\0';
	if (live_shmid >= 0)
		shmctl(live_shmid, IPC_RMID, NULL);
	live_shmid = -1;
}

/*
 * The work every mode does with its two mappings of the same pages: write
 * one byte per page through the second (each page faults in), read the last
 * page's byte back through the first.
 */
static void touch(volatile char *first, volatile char *second, size_t size, size_t page, long i)
{
	size_t off;

	for (off = 0; off < size; off += page)
		second[off] = (char)(i | 1);
	if (first[size - page] != (char)(i | 1))
		die("iteration %ld: a byte written through one mapping is not seen through the other", i);
}

static void area_cycle(size_t size, size_t page, long i)
{
	void *a = NULL, *c = NULL;
	area_id id, clone;

	id = create_area("bench-area", &a, B_ANY_ADDRESS, size, B_NO_LOCK, B_READ_AREA | B_WRITE_AREA);
	if (id < 0)
		die("create_area(%zu) in iteration %ld: %s (%" PRId32 ")", size, i, status_name(id), id);
	clone = clone_area("bench-clone", &c, B_ANY_ADDRESS, B_READ_AREA | B_WRITE_AREA, id);
	if (clone < 0)
		die("clone_area(%" PRId32 ") in iteration %ld: %s (%" PRId32 ")", id, i, status_name(clone), clone);
	if (!a || !c || a == c)
		die("iteration %ld: create_area mapped %p, clone_area %p", i, a, c);
	touch(a, c, size, page, i);
	need_ok(delete_area(clone), "delete_area", clone, i);
	need_ok(delete_area(id), "delete_area", id, i);
}

static void posix_shm_cycle(size_t size, size_t page, long i)
{
	void *a, *c;
	int fd;

	fd = shm_open(live_shm_name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		die("shm_open(%s) in iteration %ld: %s", live_shm_name, i, strerror(errno));
	if (ftruncate(fd, (off_t)size) != 0)
		die("ftruncate(%zu) in iteration %ld: %s", size, i, strerror(errno));
	a = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	c = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (a == MAP_FAILED || c == MAP_FAILED)
		die("mmap(%zu) in iteration %ld: %s", size, i, strerror(errno));
	close(fd);
	touch(a, c, size, page, i);
	if (munmap(c, size) != 0 || munmap(a, size) != 0)
		die("munmap in iteration %ld: %s", i, strerror(errno));
	if (shm_unlink(live_shm_name) != 0)
		die("shm_unlink(%s) in iteration %ld: %s", live_shm_name, i, strerror(errno));
}

static void sysv_shm_cycle(size_t size, size_t page, long i)
{
	void *a, *c;
	int id;

	id = shmget(IPC_PRIVATE, size, IPC_CREAT | 0600);
	if (id < 0)
		die("shmget(%zu) in iteration %ld: %s", size, i, strerror(errno));
	live_shmid = id;
	a = shmat(id, NULL, 0);
	c = shmat(id, NULL, 0);
	if (a == (void *)-1 || c == (void *)-1)
		die("shmat in iteration %ld: %s", i, strerror(errno));
	touch(a, c, size, page, i);
	if (shmdt(c) != 0 || shmdt(a) != 0)
		die("shmdt in iteration %ld: %s", i, strerror(errno));
	if (shmctl(id, IPC_RMID, NULL) != 0)
		die("shmctl(IPC_RMID) in iteration %ld: %s", i, strerror(errno));
	live_shmid = -1;
}

static void shm_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void (*cycle)(size_t, size_t, long) =
		m->kind == K_AREA ? area_cycle : m->kind == K_POSIX_SHM ? posix_shm_cycle : sysv_shm_cycle;
	long i;

	if (m->bytes % page != 0)
		die("%s: %zu bytes is not a multiple of the page size (%zu)", m->name, m->bytes, page);
	snprintf(live_shm_name, sizeof(live_shm_name), "/nexus-bench-ipc-%d", (int)getpid());
	if (m->kind != K_POSIX_SHM)
		live_shm_name[0] = '\0';
	bench_cleanup = cleanup_shm;
	for (i = 0; i < warmup; i++)
		cycle(m->bytes, page, i);
	for (i = 0; i < iterations; i++) {
		int64_t t0 = now_ns();

		cycle(m->bytes, page, warmup + i);
		out[i] = now_ns() - t0;
	}
	bench_cleanup = NULL;
	live_shm_name[0] = '\0';
}

static void round_of(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	if (m->kind == K_AREA || m->kind == K_POSIX_SHM || m->kind == K_SYSV_SHM)
		shm_round(m, iterations, warmup, out);
	else
		rtt_round(m, iterations, warmup, out);
}

int main(int argc, char **argv)
{
	who = "nexus-bench-ipc";
	return bench_main(argc, argv, MODES, NMODES, round_of);
}
