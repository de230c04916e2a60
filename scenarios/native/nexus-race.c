// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-race: the concurrent parties of the races suite, in C (a node loop is
 * far too slow to hit a window of a few hundred instructions).
 *
 *   nexus-race create-delete kind=port|sem target=next|find party=thread|process
 *                            rounds=N seconds=S
 *	Round after round the creator creates one object (named race-PID-ROUND),
 *	asks for its info and deletes it, while the deleter, released at the
 *	same moment, deletes again and again until the creator is done: with
 *	target=next the ids last + 1 and last + 2 (ids are handed out in
 *	sequence), with target=find whatever PORT_FIND answers for the
 *	creator's name (ports only).  So create, info and delete each race a
 *	delete (and find races create and delete).  The deleter is a thread of
 *	the creator's team (party=thread) or a forked process, a team of its
 *	own (party=process).  After each round: the object was deleted exactly
 *	once (by the deleter or by the creator, never both, never neither);
 *	INFO answered B_OK with the creator's team and name, or B_BAD_*_ID
 *	only if the deleter deleted it; the deleter deleted no other id.
 *
 *   nexus-race teardown rounds=N seconds=S sems=M ports=K
 *	Round after round a forked victim team creates K ports and M
 *	semaphores and is SIGKILLed, while a walker thread loops over
 *	SEM_NEXT_INFO (team 0, from the victim's first semaphore), SEM_INFO and
 *	PORT_INFO (on the victim's lowest id still alive) and
 *	GET_NEXT_PORT_FOR_TEAM (the victim): none may answer B_OK with team -1
 *	(an object half torn down) or 0 (the victim is in our pid namespace).
 *
 *   nexus-race thread-exit party=thread|process rounds=N seconds=S
 *	Round after round a target thread T (of this team, or of a forked
 *	child's: party=process) registers, its mailbox is filled (T never
 *	reads), and a waiter (WAITFOR T) and a sender (WRITE into the full
 *	mailbox) are released with T, which spins 0..20 us or 0..2 ms, sets its
 *	return code and ends.  The waiter must get B_OK and T's code (in
 *	T's team even when it came after the exit: the exit record is kept
 *	for one wait; another team's waiter that came late may get
 *	B_BAD_THREAD_ID), the sender B_BAD_THREAD_ID; neither may return
 *	before T ended, nor stay blocked (10 s).  Raced: some waits and sends
 *	were woken by the exit, and some came after it.
 *
 *   nexus-race area-teardown rounds=N seconds=S areas=K
 *	Round after round a forked victim team creates K cloneable areas
 *	(filled with a pattern), then resizes them and transfers some to this
 *	team until it is SIGKILLed, 0..2 ms after a walker thread began to
 *	clone, map, touch and drop them and ask their info.  A clone that
 *	answers B_OK has a descriptor, a size of 1..4 pages, maps and can be
 *	deleted; no info names team <= 0; after the reap no area is left to
 *	the victim (AREA_GET_NEXT, GET_INFO) but those it gave us, and a clone
 *	of its first area mapped before the kill still reads the pattern (the
 *	pages outlive their owner).  Raced: during the kill, clones that won
 *	and clones that found the area gone.
 *
 *   nexus-race resize-touch party=thread|process seconds=S pages=N
 *	The owner resizes an area of N pages to 1..N pages, on and on, while
 *	a toucher (a thread of its team, or a forked team) writes and reads
 *	back one byte per page of its clone's mapping: each read gives the
 *	byte written or 0 (truncated and grown back in between), or SIGBUS
 *	(the file is shorter right now); the clone's info gives a size of
 *	1..N pages.  Raced: touches past the first page both succeeded and
 *	met SIGBUS.
 *
 *   nexus-race stop-vs-events, port-delete-vs-delivery, exit-vs-read-caps,
 *              vref-release-vs-acquire, umount-vs-watch, umount-vs-attr-check
 *	The node monitor's (issue 9): see each mode's function below.
 *
 * A mode goes on past its seconds (up to 3 times them) until its race has
 * happened.  Stops after N rounds or S seconds, whichever comes first.  Prints at most
 * MAX_ANOMALY_LINES lines {"anomaly":"WHAT",...} as they happen, then one
 * line {"done":true,...} with the counts.  Exit status 0 when the run was
 * carried out (whatever it found), 1 when it could not be, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/sysinfo.h>
#include <sys/wait.h>
#include <time.h>

#include "nexus-storm.h"
#include "nexus-nm.h"

#define MAX_ANOMALY_LINES 20
#define MAX_DELETED 16
/* How long a party waits for the other before it gives up on it. */
#define STALL_SECONDS 30.0

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static void die(int code, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "nexus-race: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	exit(code);
}

/* ---- anomalies: counted, the first few printed at once ------------------ */

static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static long anomalies;

static void anomaly(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void anomaly(const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&out_lock);
	if (anomalies++ < MAX_ANOMALY_LINES) {
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
		printf("\n");
		fflush(stdout);
	}
	pthread_mutex_unlock(&out_lock);
}

/* ---- arguments: key=value ------------------------------------------------ */

static const char *arg(int argc, char **argv, const char *key, const char *fallback)
{
	size_t n = strlen(key);

	for (int i = 2; i < argc; i++)
		if (!strncmp(argv[i], key, n) && argv[i][n] == '=')
			return argv[i] + n + 1;
	return fallback;
}

static long arg_long(int argc, char **argv, const char *key, long fallback, long min, long max)
{
	const char *s = arg(argc, argv, key, NULL);
	char *end;
	long v;

	if (!s)
		return fallback;
	v = strtol(s, &end, 10);
	if (end == s || *end || v < min || v > max)
		die(2, "%s=%s: expected a number from %ld to %ld", key, s, min, max);
	return v;
}

static bool arg_is(int argc, char **argv, const char *key, const char *a, const char *b)
{
	const char *s = arg(argc, argv, key, a);

	if (strcmp(s, a) && strcmp(s, b))
		die(2, "%s=%s: expected %s or %s", key, s, a, b);
	return !strcmp(s, a);
}

/* Spin, then yield (a single vCPU must let the other party run), until *v >= want. */
static bool wait_for(atomic_int *v, int want, const atomic_int *stop, double deadline)
{
	for (unsigned long i = 0; atomic_load_explicit(v, memory_order_acquire) < want; i++) {
		if (stop && atomic_load(stop))
			return false;
		if (i < 64)
			__builtin_ia32_pause();
		else
			sched_yield();
		if ((i & 255) == 255 && now() > deadline)
			return false;
	}
	return true;
}

/* ---- create vs delete ---------------------------------------------------- */

struct kind {
	const char *name;
	int (*create)(int fd, const char *name, int *id);
	int (*remove)(int fd, int id);
	/* Status; on B_OK the owner team and the name. */
	int (*info)(int fd, int id, int *team, char *name);
	int bad_id;
};

static int port_create(int fd, const char *name, int *id)
{
	return nx_port_create(fd, name, 4, id);
}

static int port_info(int fd, int id, int *team, char *name)
{
	struct nexus_port_info i;
	int st = nx_port_info(fd, id, &i);

	*team = i.team;
	memcpy(name, i.name, B_OS_NAME_LENGTH);
	return st;
}

static int sem_create(int fd, const char *name, int *id)
{
	return nx_sem_create(fd, name, 1, id);
}

static int sem_info(int fd, int id, int *team, char *name)
{
	struct nexus_sem_info i;
	int st = nx_sem_info(fd, id, &i);

	*team = i.team;
	memcpy(name, i.name, B_OS_NAME_LENGTH);
	return st;
}

static const struct kind PORT = { "port", port_create, nx_port_delete, port_info, B_BAD_PORT_ID };
static const struct kind SEM = { "sem", sem_create, nx_sem_delete, sem_info, B_BAD_SEM_ID };

/* Shared by the two parties (MAP_SHARED: they may be two processes). */
struct race {
	atomic_int round;	/* creator: round r has begun */
	atomic_int created;	/* creator: round r's create has returned */
	atomic_int started;	/* deleter: round r's deletes have begun */
	atomic_int checked;	/* creator: round r's info and delete have returned */
	atomic_int raced;	/* deleter: done with round r */
	atomic_int stop;
	int last_id;		/* the creator's last id, before round r */
	char name[B_OS_NAME_LENGTH];
	/* The deleter's round: the ids it deleted (B_OK). */
	int ndeleted;
	int deleted[MAX_DELETED];
	/* The deleter's totals. */
	long calls, deletes, during_create, ioctl_errors;
	int first_errno;
};

struct deleter_args {
	struct race *race;
	const struct kind *kind;
	bool find;
	int fd;
	double deadline;
};

static void deleter_try(struct deleter_args *a, int r, int id)
{
	struct race *x = a->race;
	bool during = atomic_load_explicit(&x->created, memory_order_acquire) < r;
	int st = a->kind->remove(a->fd, id);

	x->calls++;
	if (st > 0) {
		if (!x->ioctl_errors++)
			x->first_errno = st;
		return;
	}
	if (st != B_OK)
		return;
	x->deletes++;
	if (during)
		x->during_create++;
	if (x->ndeleted < MAX_DELETED)
		x->deleted[x->ndeleted++] = id;
}

static void deleter_round(struct deleter_args *a, int r)
{
	struct race *x = a->race;
	int last = x->last_id, id;

	x->ndeleted = 0;
	atomic_store_explicit(&x->started, r, memory_order_release);
	do {
		if (!a->find) {
			deleter_try(a, r, last + 1);
			deleter_try(a, r, last + 2);
		} else if (nx_port_find(a->fd, x->name, &id) == B_OK) {
			x->calls++;
			deleter_try(a, r, id);
		} else {
			x->calls++;
		}
	} while (atomic_load_explicit(&x->checked, memory_order_acquire) < r);
	atomic_store_explicit(&x->raced, r, memory_order_release);
}

static void *deleter(void *p)
{
	struct deleter_args *a = p;

	for (int r = 1;; r++) {
		if (!wait_for(&a->race->round, r, NULL, a->deadline + STALL_SECONDS))
			break;
		if (atomic_load(&a->race->stop))
			break;
		deleter_round(a, r);
	}
	return NULL;
}

struct tally {
	long rounds, deleted_ours, foreign, create_failed;
};

/* How many times the deleter deleted id this round; counts and names the other ids it deleted. */
static int deleted_by_racer(const struct race *x, int id, long *foreign, int *other)
{
	int times = 0;

	for (int i = 0; i < x->ndeleted; i++) {
		if (x->deleted[i] == id) {
			times++;
		} else {
			(*foreign)++;
			*other = x->deleted[i];
		}
	}
	return times;
}

/* What the creator saw of its object in one round. */
struct seen {
	int st, id;		/* create */
	int info, team;		/* INFO */
	char name[B_OS_NAME_LENGTH];
	int del;		/* its own DELETE */
};

/* After round r: was the object deleted exactly once, and did it answer as it must? */
static void check_round(const struct kind *k, struct race *x, int r, const struct seen *o, struct tally *t)
{
	long foreign = 0;
	int other = 0, by_racer = deleted_by_racer(x, o->id, &foreign, &other);
	bool gone = by_racer > 0;
	bool named = !strncmp(o->name, x->name, sizeof(o->name));

	if (foreign) {
		t->foreign += foreign;
		anomaly("{\"anomaly\":\"foreign-delete\",\"round\":%d,\"id\":%d,\"deleted\":%d}", r, o->id, other);
	}
	if (o->st != B_OK || o->id <= 0) {
		t->create_failed++;
		anomaly("{\"anomaly\":\"create-failed\",\"round\":%d,\"status\":%d,\"id\":%d}", r, o->st, o->id);
		return;
	}
	if (gone)
		t->deleted_ours++;
	if (by_racer + (o->del == B_OK) != 1 || (o->del != B_OK && o->del != k->bad_id))
		anomaly("{\"anomaly\":\"not-deleted-once\",\"round\":%d,\"id\":%d,\"by_deleter\":%d,\"delete\":%d}", r,
			o->id, by_racer, o->del);
	if (o->info == B_OK ? o->team != getpid() || !named : !(o->info == k->bad_id && gone))
		anomaly("{\"anomaly\":\"info-wrong\",\"round\":%d,\"id\":%d,\"info\":%d,\"team\":%d,"
			"\"expected_team\":%d,\"name_ok\":%s,\"by_deleter\":%s}",
			r, o->id, o->info, o->team, getpid(), named ? "true" : "false", gone ? "true" : "false");
}

/* How many times its seconds a create-delete run may go on to see its race. */
#define RACE_EXTEND	3

/* Has the deleter deleted the creator's objects (during a create, on 2+ CPUs)? */
static bool raced(const struct tally *t, const struct race *x)
{
	return t->deleted_ours > 0 && (get_nprocs() < 2 || x->during_create > 0);
}

/* Runs the deleter as a thread, or as a forked process with its own descriptor. */
struct party {
	pthread_t thread;
	pid_t pid;
};

static void start_deleter(struct deleter_args *a, bool process, struct party *p)
{
	pid_t parent = getpid();

	p->pid = 0;
	if (!process) {
		if (pthread_create(&p->thread, NULL, deleter, a))
			die(1, "pthread_create failed");
		return;
	}
	p->pid = fork();
	if (p->pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (p->pid > 0)
		return;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	a->fd = nx_open();
	if (a->fd < 0)
		_exit(3);
	deleter(a);
	_exit(0);
}

static bool join_deleter(struct party *p)
{
	int status;

	if (!p->pid)
		return pthread_join(p->thread, NULL) == 0;
	return waitpid(p->pid, &status, 0) == p->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static int create_delete(int argc, char **argv)
{
	const struct kind *k = arg_is(argc, argv, "kind", "port", "sem") ? &PORT : &SEM;
	bool find = !arg_is(argc, argv, "target", "next", "find");
	bool process = !arg_is(argc, argv, "party", "thread", "process");
	long rounds = arg_long(argc, argv, "rounds", 10000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	/*
	 * A run goes on past its seconds, up to RACE_EXTEND times them, until
	 * the race has been run: on a loaded host two TCG vCPUs may seldom run
	 * at the same moment, and a run without a race proves nothing.
	 */
	double start = now(), deadline = start + seconds;
	double last_chance = start + seconds * RACE_EXTEND;
	struct tally t = { 0 };
	struct race *x;
	struct party party;
	int fd = nx_open(), probe = 0, r;
	bool stalled = false;

	if (find && k != &PORT)
		die(2, "target=find needs kind=port");
	if (fd < 0)
		die(1, "open %s: %s", NEXUS_DEVICE_PATH, strerror(-fd));
	x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));
	memset(x, 0, sizeof(*x));
	/* Where the ids are now: the deleter's first targets are the next ones. */
	if (k->create(fd, "race-probe", &probe) != B_OK || k->remove(fd, probe) != B_OK)
		die(1, "cannot create and delete a %s", k->name);

	struct deleter_args a = { .race = x, .kind = k, .find = find, .fd = fd, .deadline = last_chance };

	start_deleter(&a, process, &party);
	x->last_id = probe;
	for (r = 1; r <= rounds && (now() < deadline || (!raced(&t, x) && now() < last_chance)); r++) {
		struct seen o = { 0 };

		snprintf(x->name, sizeof(x->name), "race-%d-%d", getpid(), r);
		atomic_store_explicit(&x->round, r, memory_order_release);
		/*
		 * Create only once the deleter is deleting: on a loaded host (a
		 * TCG vCPU descheduled) it could otherwise wake after the whole
		 * round, every round, and no race would be run at all.
		 */
		if (!wait_for(&x->started, r, NULL, now() + STALL_SECONDS)) {
			stalled = true;
			anomaly("{\"anomaly\":\"deleter-stalled\",\"round\":%d}", r);
			break;
		}
		o.st = k->create(fd, x->name, &o.id);
		atomic_store_explicit(&x->created, r, memory_order_release);
		o.info = k->info(fd, o.id, &o.team, o.name);
		o.del = k->remove(fd, o.id);
		atomic_store_explicit(&x->checked, r, memory_order_release);
		if (!wait_for(&x->raced, r, NULL, now() + STALL_SECONDS)) {
			stalled = true;
			anomaly("{\"anomaly\":\"deleter-stalled\",\"round\":%d}", r);
			break;
		}
		check_round(k, x, r, &o, &t);
		t.rounds++;
		if (o.st == B_OK && o.id > 0)
			x->last_id = o.id;
	}
	atomic_store(&x->stop, 1);
	atomic_store_explicit(&x->round, r + 1, memory_order_release);
	if (!stalled && !join_deleter(&party))
		anomaly("{\"anomaly\":\"deleter-failed\"}");
	printf("{\"done\":true,\"mode\":\"create-delete\",\"kind\":\"%s\",\"target\":\"%s\",\"party\":\"%s\","
	       "\"rounds\":%ld,\"elapsed_ms\":%.0f,\"deleter_calls\":%ld,\"deletes\":%ld,\"deleted_ours\":%ld,"
	       "\"during_create\":%ld,\"foreign_deletes\":%ld,\"create_failed\":%ld,\"ioctl_errors\":%ld,"
	       "\"first_errno\":%d,\"anomalies\":%ld}\n",
	       k->name, find ? "find" : "next", process ? "process" : "thread", t.rounds, (now() - start) * 1000,
	       x->calls, x->deletes, t.deleted_ours, x->during_create, t.foreign, t.create_failed, x->ioctl_errors,
	       x->first_errno, anomalies);
	fflush(stdout);
	return 0;
}

/* ---- info during teardown ------------------------------------------------ */

enum probe { SEM_NEXT, SEM_INFO, PORT_INFO, PORT_NEXT, NR_PROBES };
static const char *const probe_names[NR_PROBES] = { "sem_next_info", "sem_info", "port_info", "port_next" };

struct victim_ids {
	int status;	/* B_OK, or the failed create's status */
	int port_lo, port_hi, sem_lo, sem_hi;
};

/* Shared by the main thread (rounds) and the walker. */
static struct {
	atomic_int gen;		/* bumped when a victim's ids are published */
	atomic_int hot;		/* 1 while a victim is being killed */
	atomic_int stop;
	int victim;
	struct victim_ids ids;
	long calls[NR_PROBES], ok[NR_PROBES], minus_one[NR_PROBES], zero[NR_PROBES];
	long ioctl_errors;
	int first_errno;
} w;

/* A result of the walker: B_OK must come with a real owner. */
static void walker_saw(enum probe p, int st, int id, int team)
{
	w.calls[p]++;
	if (st > 0) {
		if (!w.ioctl_errors++)
			w.first_errno = st;
		return;
	}
	if (st != B_OK)
		return;
	w.ok[p]++;
	if (team > 0)
		return;
	if (team == -1)
		w.minus_one[p]++;
	else
		w.zero[p]++;
	anomaly("{\"anomaly\":\"info-without-owner\",\"call\":\"%s\",\"id\":%d,\"team\":%d,\"victim\":%d}", probe_names[p], id,
		team, w.victim);
}

/* Move on to the victim's next id once this one is gone (or was never the victim's). */
static void front_step(int st, int team, int *front, int hi)
{
	if ((st != B_OK || (team > 0 && team != w.victim)) && *front < hi)
		(*front)++;
}

static void walk_once(int fd, int *sem_front, int *port_front)
{
	struct nexus_sem_info si;
	struct nexus_port_info pi;
	int cookie, st;

	cookie = w.ids.sem_lo - 1;
	st = nx_sem_next(fd, 0, &cookie, &si);
	walker_saw(SEM_NEXT, st, si.sem, si.team);

	st = nx_sem_info(fd, *sem_front, &si);
	walker_saw(SEM_INFO, st, *sem_front, si.team);
	front_step(st, si.team, sem_front, w.ids.sem_hi);

	st = nx_port_info(fd, *port_front, &pi);
	walker_saw(PORT_INFO, st, *port_front, pi.team);
	front_step(st, pi.team, port_front, w.ids.port_hi);

	cookie = w.ids.port_lo - 1;
	st = nx_port_next(fd, w.victim, &cookie, &pi);
	walker_saw(PORT_NEXT, st, pi.port, pi.team);
}

static void *walker(void *p)
{
	static const struct timespec idle = { .tv_nsec = 50 * 1000 };
	int fd = *(int *)p, seen = 0, sem_front = 0, port_front = 0;

	while (!atomic_load(&w.stop)) {
		if (!atomic_load_explicit(&w.hot, memory_order_acquire)) {
			nanosleep(&idle, NULL);
			continue;
		}
		if (atomic_load(&w.gen) != seen) {
			seen = atomic_load(&w.gen);
			sem_front = w.ids.sem_lo;
			port_front = w.ids.port_lo;
		}
		walk_once(fd, &sem_front, &port_front);
	}
	return NULL;
}

static void track(int *lo, int *hi, int id)
{
	if (!*lo || id < *lo)
		*lo = id;
	if (id > *hi)
		*hi = id;
}

/* The victim: a team with many objects, then nothing until SIGKILL. */
static void victim(int report, pid_t parent, int nports, int nsems)
{
	struct victim_ids v = { .status = B_OK };
	int fd, id, i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = nx_open();
	if (fd < 0)
		v.status = fd;
	for (i = 0; i < nports && v.status == B_OK; i++) {
		v.status = nx_port_create(fd, "victim-port", 4, &id);
		track(&v.port_lo, &v.port_hi, id);
	}
	for (i = 0; i < nsems && v.status == B_OK; i++) {
		v.status = nx_sem_create(fd, "victim-sem", 1, &id);
		track(&v.sem_lo, &v.sem_hi, id);
	}
	if (write(report, &v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(1);
	for (;;)
		pause();
}

/* Read a victim's report (its ids); false if it did not report in time. */
static bool victim_ready(int fd, void *v, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, (int)(STALL_SECONDS * 1000)) == 1 && read(fd, v, n) == (ssize_t)n;
}

/* One victim: born, published to the walker, killed and reaped. */
static bool teardown_round(int nports, int nsems, long *objects)
{
	struct victim_ids v = { .status = B_ERROR };
	pid_t parent = getpid(), pid;
	int pipefd[2], status;
	bool ok;

	if (pipe2(pipefd, O_CLOEXEC))
		die(1, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0)
		victim(pipefd[1], parent, nports, nsems);
	close(pipefd[1]);
	ok = victim_ready(pipefd[0], &v, sizeof(v)) && v.status == B_OK;
	close(pipefd[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		anomaly("{\"anomaly\":\"victim-failed\",\"status\":%d}", v.status);
		return false;
	}
	w.victim = pid;
	w.ids = v;
	atomic_fetch_add(&w.gen, 1);
	atomic_store_explicit(&w.hot, 1, memory_order_release);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	atomic_store_explicit(&w.hot, 0, memory_order_release);
	*objects += nports + nsems;
	return true;
}

static long sum(const long *v)
{
	long s = 0;

	for (int i = 0; i < NR_PROBES; i++)
		s += v[i];
	return s;
}

static void print_probes(const char *key, const long *v)
{
	printf("\"%s\":{", key);
	for (int i = 0; i < NR_PROBES; i++)
		printf("%s\"%s\":%ld", i ? "," : "", probe_names[i], v[i]);
	printf("}");
}

static int teardown(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 1000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	int nsems = (int)arg_long(argc, argv, "sems", 500, 1, 30000);
	int nports = (int)arg_long(argc, argv, "ports", 200, 1, 2000);
	double start = now(), deadline = start + seconds;
	long done = 0, objects = 0;
	pthread_t thread;
	int fd = nx_open();

	if (fd < 0)
		die(1, "open %s: %s", NEXUS_DEVICE_PATH, strerror(-fd));
	if (pthread_create(&thread, NULL, walker, &fd))
		die(1, "pthread_create failed");
	while (done < rounds && now() < deadline && teardown_round(nports, nsems, &objects))
		done++;
	atomic_store(&w.stop, 1);
	pthread_join(thread, NULL);
	printf("{\"done\":true,\"mode\":\"teardown\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"objects\":%ld,"
	       "\"walker_calls\":%ld,\"ok\":%ld,\"minus_one\":%ld,\"zero\":%ld,\"ioctl_errors\":%ld,\"first_errno\":%d,"
	       "\"anomalies\":%ld,",
	       done, (now() - start) * 1000, objects, sum(w.calls), sum(w.ok), sum(w.minus_one), sum(w.zero),
	       w.ioctl_errors, w.first_errno, anomalies);
	print_probes("calls", w.calls);
	printf(",");
	print_probes("minus_one_by_call", w.minus_one);
	printf("}\n");
	fflush(stdout);
	return 0;
}

/* ---- thread exit vs send_data / wait_for_thread --------------------------- */

/*
 * One round: a target thread T registers and publishes its tid; the main
 * thread fills T's mailbox (one message: T never reads); a waiter (WAITFOR)
 * and a sender (WRITE into the full mailbox) are released together with T,
 * which spins 0..delay µs, sets its return code and ends.  T lives in the
 * driver (party=thread: the same team as the racers) or in a forked child
 * (party=process: another team).
 */
struct texit {
	atomic_int round;	/* main: round r is set up, T may start */
	atomic_int ready;	/* T: registered, tid published */
	atomic_int go;		/* main: released */
	atomic_int exited;	/* T: about to end (exit_at set) */
	atomic_int stop;
	int tid, code, delay_us, ready_status;
	double exit_at;
};

/* A racer's round: when its call began and returned, and what it said. */
struct racer {
	atomic_int done;
	double start, end;
	int st, code;
};

struct texit_racer_args {
	struct texit *x;
	struct racer *me;
	int fd;
	bool sender;
	double deadline;
};

/* Racers wait this long at most: a racer still blocked then missed its wakeup. */
#define RACER_TIMEOUT_US 10000000LL

static void *texit_racer(void *p)
{
	struct texit_racer_args *a = p;
	struct texit *x = a->x;
	struct racer *me = a->me;
	static const char msg[] = "racer";
	int code;

	for (int r = 1;; r++) {
		if (!wait_for(&x->go, r, &x->stop, a->deadline + STALL_SECONDS))
			break;
		me->start = now();
		if (a->sender) {
			me->st = nx_thread_send(a->fd, x->tid, r, msg, sizeof(msg), B_RELATIVE_TIMEOUT, RACER_TIMEOUT_US);
			me->code = 0;
		} else {
			me->st = nx_thread_wait(a->fd, x->tid, B_RELATIVE_TIMEOUT, RACER_TIMEOUT_US, &code);
			me->code = code;
		}
		me->end = now();
		atomic_store_explicit(&me->done, r, memory_order_release);
	}
	return NULL;
}

struct target_args {
	struct texit *x;
	int fd;
	int r;
};

static void *texit_target(void *p)
{
	struct target_args *a = p;
	struct texit *x = a->x;
	double until;

	x->ready_status = nx_thread_info(a->fd, 0, NULL, NULL, NULL);
	x->tid = nx_gettid();
	atomic_store_explicit(&x->ready, a->r, memory_order_release);
	if (!wait_for(&x->go, a->r, &x->stop, now() + STALL_SECONDS))
		return NULL;
	until = now() + x->delay_us / 1e6;
	while (now() < until)
		__builtin_ia32_pause();
	nx_thread_set_return_code(a->fd, x->code);
	x->exit_at = now();
	atomic_store_explicit(&x->exited, a->r, memory_order_release);
	return NULL;
}

/* Start round r's target thread in this process and wait for it to end. */
static void run_target(struct texit *x, int fd, int r)
{
	struct target_args a = { x, fd, r };
	pthread_t t;

	if (pthread_create(&t, NULL, texit_target, &a))
		die(1, "pthread_create failed");
	pthread_join(t, NULL);
}

/* party=process: a child team that runs one target per round. */
static void target_process(struct texit *x, pid_t parent)
{
	int fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = nx_open();
	if (fd < 0)
		_exit(3);
	for (int r = 1; wait_for(&x->round, r, &x->stop, now() + 3 * STALL_SECONDS); r++)
		run_target(x, fd, r);
	_exit(0);
}

struct texit_tally {
	long rounds, woken[2], late[2], tight, bad_id_late, fill_failed;
};

static const char *const RACER_NAMES[2] = { "waiter", "sender" };

/* How a racer's round went, against T's exit; anomalies as they come. */
static void texit_check(struct texit *x, const struct racer *me, bool sender, bool same_team, int r,
			struct texit_tally *t)
{
	const char *who = RACER_NAMES[sender];
	bool woken = me->start < x->exit_at && me->end > x->exit_at;
	int ok = sender ? B_BAD_THREAD_ID : B_OK;

	if (me->start > x->exit_at - 50e-6 && me->start < x->exit_at + 50e-6)
		t->tight++;
	if (me->end < x->exit_at)
		anomaly("{\"anomaly\":\"%s-woken-before-exit\",\"round\":%d,\"status\":%d,\"early_us\":%.0f}", who, r,
			me->st, (x->exit_at - me->end) * 1e6);
	if (me->st == ok && (sender || me->code == x->code)) {
		if (woken)
			t->woken[sender]++;
		else if (me->start >= x->exit_at)
			t->late[sender]++;
		return;
	}
	if (!sender && me->st == B_BAD_THREAD_ID && !same_team && me->start >= x->exit_at - 1e-3) {
		t->bad_id_late++;	/* another team's dead thread: gone */
		t->late[0]++;
		return;
	}
	if (me->st == B_TIMED_OUT)
		anomaly("{\"anomaly\":\"%s-not-woken\",\"round\":%d,\"tid\":%d}", who, r, x->tid);
	else if (me->st == B_OK && !sender)
		anomaly("{\"anomaly\":\"wrong-exit-code\",\"round\":%d,\"code\":%d,\"expected\":%d}", r, me->code, x->code);
	else
		anomaly("{\"anomaly\":\"%s-status\",\"round\":%d,\"status\":%d,\"expected\":%d,\"started_after_exit_us\":%.0f}",
			who, r, me->st, ok, (me->start - x->exit_at) * 1e6);
}

/* Has the exit been raced: racers woken by it, and racers that came after it (on 2+ CPUs)? */
static bool texit_raced(const struct texit_tally *t)
{
	return t->woken[0] > 0 && t->woken[1] > 0 && (get_nprocs() < 2 || t->late[0] + t->late[1] > 0);
}

static int thread_exit(int argc, char **argv)
{
	bool process = !arg_is(argc, argv, "party", "thread", "process");
	long rounds = arg_long(argc, argv, "rounds", 100000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct racer *racers;
	struct texit *x;
	struct texit_tally t = { 0 };
	struct texit_racer_args ra[2];
	pthread_t rt[2];
	pid_t child = 0;
	int fd = nx_open(), r, status;
	bool stalled = false;
	static const char fill[] = "fill";

	if (fd < 0)
		die(1, "open %s: %s", NEXUS_DEVICE_PATH, strerror(-fd));
	x = mmap(NULL, sizeof(*x) + 2 * sizeof(*racers), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));
	memset(x, 0, sizeof(*x) + 2 * sizeof(*racers));
	racers = (struct racer *)(x + 1);
	if (nx_thread_info(fd, 0, NULL, NULL, NULL) != B_OK)
		die(1, "this tree has no thread records (THREAD_GET_INFO)");
	for (int i = 0; i < 2; i++) {
		ra[i] = (struct texit_racer_args){ x, &racers[i], fd, i == 1, last_chance };
		if (pthread_create(&rt[i], NULL, texit_racer, &ra[i]))
			die(1, "pthread_create failed");
	}
	if (process) {
		pid_t parent = getpid();

		child = fork();
		if (child < 0)
			die(1, "fork: %s", strerror(errno));
		if (child == 0)
			target_process(x, parent);
	}
	for (r = 1; r <= rounds && (now() < deadline || (!texit_raced(&t) && now() < last_chance)); r++) {
		pthread_t tt;
		struct target_args ta = { x, fd, r };
		uint64_t v = (uint64_t)r * 0x9e3779b97f4a7c15ULL;

		x->code = (int)(v >> 32);
		x->delay_us = (v >> 8) % 2 ? (int)((v >> 16) % 20) : (int)((v >> 16) % 2000);
		atomic_store_explicit(&x->round, r, memory_order_release);
		if (!process && pthread_create(&tt, NULL, texit_target, &ta))
			die(1, "pthread_create failed");
		if (!wait_for(&x->ready, r, NULL, now() + STALL_SECONDS)) {
			stalled = true;
			anomaly("{\"anomaly\":\"target-stalled\",\"round\":%d}", r);
			break;
		}
		if (x->ready_status != B_OK) {
			anomaly("{\"anomaly\":\"target-no-record\",\"round\":%d,\"status\":%d}", r, x->ready_status);
			stalled = true;
			break;
		}
		/* T never reads: its mailbox stays full and the sender blocks. */
		if (nx_thread_send(fd, x->tid, 0, fill, sizeof(fill), B_RELATIVE_TIMEOUT, 0) != B_OK) {
			t.fill_failed++;
			anomaly("{\"anomaly\":\"fill-failed\",\"round\":%d}", r);
		}
		atomic_store_explicit(&x->go, r, memory_order_release);
		if (!process)
			pthread_join(tt, NULL);
		if (!wait_for(&x->exited, r, NULL, now() + STALL_SECONDS) ||
		    !wait_for(&racers[0].done, r, NULL, now() + STALL_SECONDS + RACER_TIMEOUT_US / 1e6) ||
		    !wait_for(&racers[1].done, r, NULL, now() + STALL_SECONDS + RACER_TIMEOUT_US / 1e6)) {
			stalled = true;
			anomaly("{\"anomaly\":\"round-stalled\",\"round\":%d,\"waiter\":%d,\"sender\":%d}", r,
				atomic_load(&racers[0].done), atomic_load(&racers[1].done));
			break;
		}
		for (int i = 0; i < 2; i++)
			texit_check(x, &racers[i], i == 1, !process, r, &t);
		t.rounds++;
	}
	atomic_store(&x->stop, 1);
	atomic_store_explicit(&x->go, r + 1, memory_order_release);
	atomic_store_explicit(&x->round, r + 1, memory_order_release);
	if (child) {
		kill(child, SIGKILL);
		waitpid(child, &status, 0);
	}
	if (!stalled)
		for (int i = 0; i < 2; i++)
			pthread_join(rt[i], NULL);
	printf("{\"done\":true,\"mode\":\"thread-exit\",\"party\":\"%s\",\"rounds\":%ld,\"elapsed_ms\":%.0f,"
	       "\"waiter_woken\":%ld,\"sender_woken\":%ld,\"waiter_late\":%ld,\"sender_late\":%ld,\"tight\":%ld,"
	       "\"bad_id_late\":%ld,\"fill_failed\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       process ? "process" : "thread", t.rounds, (now() - start) * 1000, t.woken[0], t.woken[1], t.late[0],
	       t.late[1], t.tight, t.bad_id_late, t.fill_failed, anomalies);
	fflush(stdout);
	if (stalled)
		_exit(0);	/* a racer may still be blocked in the kernel: do not wait for it */
	return 0;
}

/* ---- team teardown vs area clone, transfer and resize --------------------- */

#define MAX_VICTIM_AREAS 64
#define VICTIM_PAGES 4

struct victim_areas {
	int status;
	int n;
	int ids[MAX_VICTIM_AREAS];
};

/* The byte the victim writes at the start of each page of area i. */
static uint8_t area_byte(int i, size_t page)
{
	return (uint8_t)(0x40 + i * 7 + page);
}

/*
 * The victim: K areas (cloneable, writable, filled with a pattern), the
 * first never touched again (the stable one); then, until SIGKILL, resize
 * the others and now and then transfer one to the driver's team.
 */
static void area_victim(int report, pid_t parent, int k)
{
	struct victim_areas v = { .status = B_OK };
	bool given[MAX_VICTIM_AREAS] = { false };
	unsigned long n = 0;
	int fd, afd, new_area, tfd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = nx_open();
	afd = nx_area_open();
	if (fd < 0 || afd < 0)
		v.status = fd < 0 ? fd : afd;
	for (int i = 0; i < k && v.status == B_OK; i++) {
		size_t len = VICTIM_PAGES * 4096;
		int memfd = nx_memfd("victim-area", len);
		uint8_t *p;

		if (memfd < 0) {
			v.status = memfd;
			break;
		}
		v.status = nx_area_create(afd, memfd, "victim-area", len, B_NO_LOCK,
					  B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA, &v.ids[i]);
		p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0);
		close(memfd);
		if (p != MAP_FAILED) {
			for (size_t pg = 0; pg < VICTIM_PAGES; pg++)
				p[pg * 4096] = area_byte(i, pg);
			munmap(p, len);
		}
		v.n = i + 1;
	}
	if (write(report, &v, sizeof(v)) != (ssize_t)sizeof(v))
		_exit(1);
	for (;;) {
		int i = 1 + (int)(n++ % (unsigned long)(k - 1));

		if (given[i])
			continue;
		if (n % 16 == 0 && nx_area_transfer(afd, v.ids[i], parent, &new_area, &tfd) == B_OK)
			given[i] = true;
		else
			nx_area_resize(afd, v.ids[i], (1 + n % VICTIM_PAGES) * 4096);
	}
}

enum { PH_ALIVE, PH_KILLING, NR_PHASES };
static const char *const PHASE_NAMES[NR_PHASES] = { "alive", "killing" };

/* Shared by the main thread (rounds) and the walker. */
static struct {
	atomic_int hot;		/* 0: idle, 1 + phase while a victim is there */
	atomic_int idle;	/* walker: saw hot == 0 */
	atomic_int stop;
	int victim, fd;
	struct victim_areas ids;
	long clone_ok[NR_PHASES], clone_gone[NR_PHASES], info_ok[NR_PHASES], sigbus, maps, calls;
} aw;

/* Clone one of the victim's areas, map and touch the clone, then drop it. */
static void walk_clone(int id, int phase)
{
	int clone, mapfd, st;
	uint64_t size;
	uint8_t *p;

	st = nx_area_clone(aw.fd, id, "walker-clone", B_READ_AREA, &clone, &mapfd, &size);
	aw.calls++;
	if (st == B_BAD_VALUE) {
		aw.clone_gone[phase]++;
		return;
	}
	if (st != B_OK) {
		if (st != B_NOT_ALLOWED)	/* ours by now (a transfer), or not: a walker's clone asks only read */
			anomaly("{\"anomaly\":\"clone-status\",\"id\":%d,\"status\":%d,\"victim\":%d}", id, st, aw.victim);
		return;
	}
	aw.clone_ok[phase]++;
	if (mapfd < 0 || size == 0 || size % 4096 || size > VICTIM_PAGES * 4096) {
		anomaly("{\"anomaly\":\"clone-answer\",\"id\":%d,\"fd\":%d,\"size\":%" PRIu64 "}", id, mapfd, size);
	} else {
		size_t len = (size_t)size;

		/* The victim may shrink it meanwhile: then the clone's current size. */
		p = nx_map_clone(aw.fd, clone, mapfd, &len, PROT_READ);
		if (p == MAP_FAILED) {
			anomaly("{\"anomaly\":\"clone-mmap\",\"id\":%d,\"errno\":%d,\"size\":%zu}", id, errno, len);
		} else {
			aw.maps++;
			if (nx_touch(p, len, false, 0) == NX_TOUCH_SIGBUS)
				aw.sigbus++;
			munmap(p, len);
		}
	}
	if (mapfd >= 0)
		close(mapfd);
	st = nx_area_delete(aw.fd, clone);
	if (st != B_OK)
		anomaly("{\"anomaly\":\"clone-delete\",\"clone\":%d,\"status\":%d}", clone, st);
}

static void walk_info(int id, int phase)
{
	struct nexus_area_get_info info;
	int st = nx_area_info(aw.fd, id, &info);

	aw.calls++;
	if (st != B_OK)
		return;
	aw.info_ok[phase]++;
	if (info.team <= 0)
		anomaly("{\"anomaly\":\"info-without-owner\",\"id\":%d,\"team\":%d,\"victim\":%d}", id, info.team,
			aw.victim);
}

static void *area_walker(void *p)
{
	static const struct timespec pause_ = { .tv_nsec = 50 * 1000 };
	unsigned long n = 0;

	(void)p;
	while (!atomic_load(&aw.stop)) {
		int hot = atomic_load_explicit(&aw.hot, memory_order_acquire);

		if (!hot) {
			atomic_store(&aw.idle, 1);
			nanosleep(&pause_, NULL);
			continue;
		}
		atomic_store(&aw.idle, 0);
		if (aw.ids.n > 0) {
			int id = aw.ids.ids[n++ % (unsigned long)aw.ids.n];

			walk_clone(id, hot - 1);
			walk_info(id, hot - 1);
		}
	}
	return NULL;
}

struct teardown_tally {
	long rounds, areas, transferred, pages_checked;
};

/* After the reap: the victim's areas are gone, but for those it gave us; its pages live on in our mapping. */
static void after_victim(pid_t victim, const struct victim_areas *v, uint8_t *stable, int stable_clone,
			 struct teardown_tally *t)
{
	struct nexus_area_get_info info;
	struct nexus_area_get_next next;
	int cookie = 0, st = B_OK;

	for (int attempt = 0; attempt < 20; attempt++) {
		cookie = 0;
		st = nx_area_next(aw.fd, victim, &cookie, &next);
		if (st != B_OK)
			break;
		usleep(50000);
	}
	if (st == B_OK)
		anomaly("{\"anomaly\":\"area-outlived-team\",\"area\":%d,\"victim\":%d}", next.area, victim);
	for (int i = 0; i < v->n; i++) {
		st = nx_area_info(aw.fd, v->ids[i], &info);
		if (st == B_BAD_VALUE)
			continue;
		if (st == B_OK && info.team == getpid()) {
			t->transferred++;
			st = nx_area_delete(aw.fd, v->ids[i]);
			if (st != B_OK)
				anomaly("{\"anomaly\":\"transferred-delete\",\"area\":%d,\"status\":%d}", v->ids[i], st);
			continue;
		}
		anomaly("{\"anomaly\":\"area-left\",\"area\":%d,\"status\":%d,\"team\":%d,\"victim\":%d}", v->ids[i], st,
			info.team, victim);
	}
	if (stable) {
		if (nx_touch(stable, VICTIM_PAGES * 4096, false, 0) == NX_TOUCH_SIGBUS) {
			anomaly("{\"anomaly\":\"pages-lost\",\"area\":%d,\"how\":\"sigbus\"}", v->ids[0]);
		} else {
			for (size_t pg = 0; pg < VICTIM_PAGES; pg++) {
				if (stable[pg * 4096] != area_byte(0, pg))
					anomaly("{\"anomaly\":\"pages-lost\",\"area\":%d,\"page\":%zu,\"byte\":%d}", v->ids[0], pg,
						stable[pg * 4096]);
			}
			t->pages_checked += VICTIM_PAGES;
		}
		munmap(stable, VICTIM_PAGES * 4096);
		if (nx_area_delete(aw.fd, stable_clone) != B_OK)
			anomaly("{\"anomaly\":\"clone-delete\",\"clone\":%d}", stable_clone);
	}
}

/* Map a clone of the victim's stable area (read-only), or NULL. */
static uint8_t *map_stable(int id, int *clone)
{
	int mapfd;
	uint64_t size;
	uint8_t *p;

	if (nx_area_clone(aw.fd, id, "stable-clone", B_READ_AREA, clone, &mapfd, &size) != B_OK) {
		anomaly("{\"anomaly\":\"stable-clone\",\"area\":%d}", id);
		return NULL;
	}
	p = size == VICTIM_PAGES * 4096 ? mmap(NULL, (size_t)size, PROT_READ, MAP_SHARED, mapfd, 0) : MAP_FAILED;
	close(mapfd);
	if (p == MAP_FAILED) {
		anomaly("{\"anomaly\":\"stable-mmap\",\"area\":%d,\"size\":%" PRIu64 "}", id, size);
		nx_area_delete(aw.fd, *clone);
		return NULL;
	}
	return p;
}

static bool area_round(int k, double linger_us, struct teardown_tally *t)
{
	struct victim_areas v = { .status = B_ERROR };
	pid_t parent = getpid(), pid;
	int pipefd[2], status, clone = 0;
	uint8_t *stable;
	bool ok;

	if (pipe2(pipefd, O_CLOEXEC))
		die(1, "pipe: %s", strerror(errno));
	pid = fork();
	if (pid < 0)
		die(1, "fork: %s", strerror(errno));
	if (pid == 0)
		area_victim(pipefd[1], parent, k);
	close(pipefd[1]);
	ok = victim_ready(pipefd[0], &v, sizeof(v)) && v.status == B_OK;
	close(pipefd[0]);
	if (!ok) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
		anomaly("{\"anomaly\":\"victim-failed\",\"status\":%d}", v.status);
		return false;
	}
	stable = map_stable(v.ids[0], &clone);
	aw.victim = pid;
	aw.ids = v;
	atomic_store_explicit(&aw.hot, 1 + PH_ALIVE, memory_order_release);
	usleep((useconds_t)linger_us);
	atomic_store_explicit(&aw.hot, 1 + PH_KILLING, memory_order_release);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	atomic_store_explicit(&aw.hot, 0, memory_order_release);
	atomic_store(&aw.idle, 0);
	while (!atomic_load(&aw.idle))
		sched_yield();
	after_victim(pid, &v, stable, clone, t);
	t->areas += v.n;
	return true;
}

/* Both sides of the teardown raced: clones that won and clones that found the area gone, while killing. */
static bool area_raced(void)
{
	return aw.clone_ok[PH_KILLING] > 0 && (get_nprocs() < 2 || aw.clone_gone[PH_KILLING] > 0);
}

static int area_teardown(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 100000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	int k = (int)arg_long(argc, argv, "areas", 16, 2, MAX_VICTIM_AREAS);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct teardown_tally t = { 0 };
	pthread_t thread;
	int fd = nx_open();

	if (fd < 0)
		die(1, "open %s: %s", NEXUS_DEVICE_PATH, strerror(-fd));
	aw.fd = nx_area_open();
	if (aw.fd < 0)
		die(1, "open %s: %s", NEXUS_AREA_DEVICE_PATH, strerror(-aw.fd));
	nx_touch_setup();
	if (pthread_create(&thread, NULL, area_walker, NULL))
		die(1, "pthread_create failed");
	while (t.rounds < rounds && (now() < deadline || (!area_raced() && now() < last_chance))) {
		/* The victim lives 0..2 ms under the walker before it is killed. */
		if (!area_round(k, (double)(t.rounds * 7919 % 2000), &t))
			break;
		t.rounds++;
	}
	atomic_store(&aw.stop, 1);
	pthread_join(thread, NULL);
	printf("{\"done\":true,\"mode\":\"area-teardown\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"areas\":%ld,"
	       "\"transferred\":%ld,\"walker_calls\":%ld,\"maps\":%ld,\"sigbus\":%ld,\"pages_checked\":%ld,"
	       "\"ioctl_errors\":0,\"anomalies\":%ld,",
	       t.rounds, (now() - start) * 1000, t.areas, t.transferred, aw.calls, aw.maps, aw.sigbus, t.pages_checked,
	       anomalies);
	for (int ph = 0; ph < NR_PHASES; ph++)
		printf("\"clone_ok_%s\":%ld,\"clone_gone_%s\":%ld,\"info_ok_%s\":%ld,", PHASE_NAMES[ph], aw.clone_ok[ph],
		       PHASE_NAMES[ph], aw.clone_gone[ph], PHASE_NAMES[ph], aw.info_ok[ph]);
	printf("\"killing_raced\":%s}\n", area_raced() ? "true" : "false");
	fflush(stdout);
	return 0;
}

/* ---- resize vs mapping touch ----------------------------------------------- */

struct rt_shared {
	atomic_int stop;
	atomic_int ready;
	int area, pages;
	long touches, ok_high, sigbus, torn, info_calls, info_bad, errors;
	int first_error;
};

/*
 * The toucher: clone the owner's area (a clone of its own team's, or of
 * another team's), map all its pages, and write then read back one byte per
 * page, over and over: each read gives the byte written, or 0 (the page was
 * truncated and grown back in between), or the touch ends in SIGBUS (the file
 * is shorter right now).  Now and then the clone's info must give a size the
 * owner could have set.
 */
static void toucher(struct rt_shared *x, int afd)
{
	size_t len = (size_t)x->pages * 4096;
	uint8_t v = 0;
	int clone, mapfd, st;
	uint64_t size;
	volatile uint8_t *p;

	nx_touch_setup();
	st = nx_area_clone(afd, x->area, "toucher", B_READ_AREA | B_WRITE_AREA, &clone, &mapfd, &size);
	if (st != B_OK) {
		x->errors++;
		x->first_error = st;
		atomic_store(&x->ready, 1);
		return;
	}
	p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, mapfd, 0);
	close(mapfd);
	if (p == MAP_FAILED) {
		x->errors++;
		x->first_error = errno;
		atomic_store(&x->ready, 1);
		return;
	}
	atomic_store(&x->ready, 1);
	while (!atomic_load(&x->stop)) {
		for (int pg = 0; pg < x->pages; pg++) {
			uint8_t got;

			if (!++v)
				v = 1;
			x->touches++;
			if (nx_touch(p + (size_t)pg * 4096, 1, true, v) == NX_TOUCH_SIGBUS) {
				x->sigbus++;
				continue;
			}
			if (nx_peek(p + (size_t)pg * 4096, &got) == NX_TOUCH_SIGBUS) {
				x->sigbus++;
				continue;
			}
			if (got != v && got != 0) {
				x->torn++;
				anomaly("{\"anomaly\":\"torn-page\",\"page\":%d,\"wrote\":%d,\"read\":%d}", pg, v, got);
			} else if (pg > 0) {
				x->ok_high++;
			}
		}
		if ((x->touches & 1023) < (unsigned)x->pages) {
			struct nexus_area_get_info info;

			x->info_calls++;
			if (nx_area_info(afd, clone, &info) == B_OK &&
			    (info.size == 0 || info.size % 4096 || info.size > len)) {
				x->info_bad++;
				anomaly("{\"anomaly\":\"clone-size\",\"size\":%" PRIu64 "}", (uint64_t)info.size);
			}
		}
	}
	munmap((void *)p, len);
	nx_area_delete(afd, clone);
}

static void *toucher_thread(void *p)
{
	struct rt_shared *x = p;

	toucher(x, nx_area_open());
	return NULL;
}

static int resize_touch(int argc, char **argv)
{
	bool process = !arg_is(argc, argv, "party", "thread", "process");
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	int pages = (int)arg_long(argc, argv, "pages", 16, 2, 1024);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct rt_shared *x;
	pthread_t thread;
	pid_t child = 0, parent = getpid();
	long resizes = 0, resize_failed = 0;
	int fd = nx_open(), afd = nx_area_open(), status, first_resize_error = 0;

	if (fd < 0 || afd < 0)
		die(1, "open the Nexus devices: %s", strerror(fd < 0 ? -fd : -afd));
	x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (x == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));
	memset(x, 0, sizeof(*x));
	x->pages = pages;
	if (nx_area_new(afd, "resize-touch", (uint64_t)pages * 4096, B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA,
			&x->area) != B_OK)
		die(1, "cannot create an area of %d pages", pages);
	if (process) {
		child = fork();
		if (child < 0)
			die(1, "fork: %s", strerror(errno));
		if (child == 0) {
			int cfd;

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() != parent)
				_exit(1);
			cfd = nx_area_open();
			toucher(x, cfd);
			_exit(0);
		}
	} else if (pthread_create(&thread, NULL, toucher_thread, x)) {
		die(1, "pthread_create failed");
	}
	while (!atomic_load(&x->ready) && now() < start + STALL_SECONDS)
		sched_yield();
	for (unsigned long n = 1; x->errors == 0 &&
	     (now() < deadline || ((x->sigbus == 0 || x->ok_high == 0) && now() < last_chance)); n++) {
		uint64_t v = n * 0x9e3779b97f4a7c15ULL;
		int st = nx_area_resize(afd, x->area, (1 + (v >> 20) % (uint64_t)pages) * 4096);

		resizes++;
		if (st != B_OK && !resize_failed++)
			first_resize_error = st;
		for (uint64_t i = (v >> 40) % 64; i > 0; i--)
			__builtin_ia32_pause();
		if ((n & 63) == 0)
			sched_yield();
	}
	atomic_store(&x->stop, 1);
	if (child)
		waitpid(child, &status, 0);
	else
		pthread_join(thread, NULL);
	if (process)
		anomalies += x->torn + x->info_bad;	/* the child's, printed by the child */
	if (x->errors)
		anomaly("{\"anomaly\":\"toucher-failed\",\"status\":%d}", x->first_error);
	if (resize_failed)
		anomaly("{\"anomaly\":\"resize-failed\",\"count\":%ld,\"first\":%d}", resize_failed, first_resize_error);
	if (nx_area_delete(afd, x->area) != B_OK)
		anomaly("{\"anomaly\":\"area-delete\",\"area\":%d}", x->area);
	printf("{\"done\":true,\"mode\":\"resize-touch\",\"party\":\"%s\",\"pages\":%d,\"elapsed_ms\":%.0f,\"resizes\":%ld,"
	       "\"touches\":%ld,\"ok_high\":%ld,\"sigbus\":%ld,\"torn\":%ld,\"info_calls\":%ld,\"info_bad\":%ld,"
	       "\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       process ? "process" : "thread", pages, (now() - start) * 1000, resizes, x->touches, x->ok_high, x->sigbus,
	       x->torn, x->info_calls, x->info_bad, anomalies);
	fflush(stdout);
	return 0;
}

/* ---- the node monitor (issue 9): shared helpers ------------------------------ */

/* A Nexus counter now (-1 without the counters or the line). */
static long counter_now(const char *name)
{
	char text[4096];

	return read_counters(text, sizeof(text)) ? counter_value(text, name) : -1;
}

/* Wait up to ms for counter `name` to be `want` (a tree without it: at once); true when it is. */
static bool counter_settles(const char *name, long want, int ms, long *last)
{
	double until = now() + ms / 1000.0;

	for (;;) {
		*last = counter_now(name);
		if (*last < 0 || *last == want)
			return true;
		if (now() > until)
			return false;
		sleep_us(2000);
	}
}

/* A scratch directory on the root file system (or /tmp) for the node monitor's races. */
static void make_scratch(char *dir, size_t n, const char *tag)
{
	static const char *const bases[] = { "/var/tmp", "/tmp" };

	for (size_t i = 0; i < 2; i++) {
		snprintf(dir, n, "%s/nexus-race-%s-XXXXXX", bases[i], tag);
		if (mkdtemp(dir)) {
			chmod(dir, 0755);
			return;
		}
	}
	die(1, "mkdtemp: %s", strerror(errno));
}

static int open_devices(int *nfd)
{
	int fd = nx_open();

	*nfd = nm_open();
	if (fd < 0)
		die(1, "open %s: %s", NEXUS_DEVICE_PATH, strerror(-fd));
	if (*nfd < 0)
		die(1, "open %s: %s", NEXUS_NODE_MONITOR_DEVICE_PATH, strerror(-*nfd));
	return fd;
}

/* Busy-wait up to n pause instructions: a party's random head start. */
static void pause_for(uint64_t n)
{
	for (; n > 0; n--)
		__builtin_ia32_pause();
}

/* ---- stop vs events, port deletion vs delivery --------------------------------- */

/*
 * The generator creates and unlinks files named "r<S>-<seq>" in the
 * watched directory as fast as it can, S being the last round whose stop
 * had returned when it began the file: an event of round R's watch about a
 * file with S >= R was made after that watch was stopped.
 */
struct gen_shared {
	atomic_int stop;
	atomic_int stopped;	/* the last round whose STOP_* returned */
	char dir[200];
	long created;
};

static void *generator(void *p)
{
	struct gen_shared *g = p;
	char path[300];
	long seq = 0;

	while (!atomic_load(&g->stop)) {
		int s = atomic_load_explicit(&g->stopped, memory_order_acquire), fd;

		snprintf(path, sizeof(path), "%s/r%d-%ld", g->dir, s, seq++);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		unlink(path);
		g->created++;
		if ((seq & 15) == 0)
			sched_yield();
	}
	return NULL;
}

struct reader {
	atomic_int stop;
	int fd, port;
	struct gen_shared *g;
	long events, late, after_stop, malformed, dropped, cut;
	int last_round_seen;
};

/* One message read from the port: well-formed, and no event of a watch after its stop. */
static void reader_saw(struct reader *x, const uint8_t *buf, size_t size, int32_t code)
{
	struct nm_event ev;
	char err[160];
	int st, s;

	if ((uint32_t)code != B_NODE_MONITOR)
		return;
	st = nm_check(buf, size, 65536, &ev, err, sizeof(err));
	if (st == -2) {
		x->cut++;
		return;
	}
	if (st) {
		x->malformed++;
		anomaly("{\"anomaly\":\"malformed-event\",\"size\":%zu,\"error\":\"%s\"}", size, err);
		return;
	}
	if ((uint32_t)ev.opcode == NEXUS_EVENTS_DROPPED) {
		x->dropped += ev.dropped;
		return;
	}
	x->events++;
	if (ev.token > x->last_round_seen)
		x->last_round_seen = ev.token;
	if (atomic_load_explicit(&x->g->stopped, memory_order_acquire) >= ev.token)
		x->late++;	/* read after its watch's stop returned: in flight across it */
	if (sscanf(ev.name, "r%d-", &s) == 1 && s >= ev.token) {
		x->after_stop++;
		anomaly("{\"anomaly\":\"event-after-stop\",\"token\":%d,\"opcode\":%d,\"name\":\"%s\"}", ev.token,
			ev.opcode, ev.name);
	}
}

static void *reader(void *p)
{
	struct reader *x = p;
	static uint8_t buf[65536];

	for (;;) {
		size_t size = sizeof(buf);
		int32_t code = 0;
		int st = nx_port_read(x->fd, x->port, &code, buf, &size, B_RELATIVE_TIMEOUT, 20000);

		if (st == B_OK)
			reader_saw(x, buf, size, code);
		else if (st == B_TIMED_OUT && atomic_load(&x->stop))
			break;
		else if (st != B_TIMED_OUT)
			break;	/* the port is gone */
	}
	return NULL;
}

/*
 * nexus-race stop-vs-events rounds=N seconds=S
 *	Round after round the main thread watches the directory (token =
 *	round) for a port a reader thread drains, lets events flow for
 *	0..~100 us while the generator makes them from the other CPU, and
 *	stops the watch (STOP_NOTIFYING, or STOP_WATCHING every other round):
 *	each stop answers 0, and no event of a watch is about a file made
 *	after its stop returned.  Raced: events read after their watch's stop.
 */
static int stop_vs_events(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct gen_shared g = { 0 };
	struct reader x = { 0 };
	pthread_t gt, rt;
	int nfd, fd = open_devices(&nfd), dirfd;
	long r, stop_failed = 0, start_failed = 0, base_watches = counter_now("watches"), left;
	struct stat st;
	char port_name[] = "race-stop";

	make_scratch(g.dir, sizeof(g.dir), "stop");
	dirfd = open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0 || fstat(dirfd, &st) < 0)
		die(1, "open %s: %s", g.dir, strerror(errno));
	if (nx_port_create(fd, port_name, 1024, &x.port) != B_OK)
		die(1, "cannot create a port");
	x.fd = fd;
	x.g = &g;
	if (pthread_create(&gt, NULL, generator, &g) || pthread_create(&rt, NULL, reader, &x))
		die(1, "pthread_create failed");
	for (r = 1; r <= rounds && (now() < deadline || (x.late == 0 && now() < last_chance)); r++) {
		int w = nm_watch(nfd, dirfd, B_WATCH_DIRECTORY, x.port, (uint32_t)r, 0), s;

		if (w != 0 && !start_failed++)
			anomaly("{\"anomaly\":\"start-failed\",\"round\":%ld,\"status\":%d}", r, w);
		pause_for((uint64_t)(r * 0x9e3779b97f4a7c15ULL >> 50) % 4096);
		s = r % 2 ? nm_stop_notifying(nfd, x.port, (uint32_t)r) :
		    nm_unwatch(nfd, (uint64_t)st.st_dev, (uint64_t)st.st_ino, x.port, (uint32_t)r);
		if (w == 0 && s != 0 && stop_failed++ < 5)
			anomaly("{\"anomaly\":\"stop-failed\",\"round\":%ld,\"how\":\"%s\",\"status\":%d}", r,
				r % 2 ? "STOP_NOTIFYING" : "STOP_WATCHING", s);
		atomic_store_explicit(&g.stopped, (int)r, memory_order_release);
	}
	atomic_store(&g.stop, 1);
	pthread_join(gt, NULL);
	atomic_store(&x.stop, 1);
	pthread_join(rt, NULL);
	if (!counter_settles("watches", base_watches, 3000, &left))
		anomaly("{\"anomaly\":\"watches-left\",\"watches\":%ld,\"expected\":%ld}", left, base_watches);
	nx_port_delete(fd, x.port);
	close(dirfd);
	nm_remove_tree(g.dir, true);
	printf("{\"done\":true,\"mode\":\"stop-vs-events\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"created\":%ld,\"events\":%ld,"
	       "\"late\":%ld,\"after_stop\":%ld,\"malformed\":%ld,\"dropped\":%ld,\"cut\":%ld,\"start_failed\":%ld,"
	       "\"stop_failed\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       r - 1, (now() - start) * 1000, g.created, x.events, x.late, x.after_stop, x.malformed, x.dropped, x.cut,
	       start_failed, stop_failed, anomalies);
	fflush(stdout);
	return 0;
}

/*
 * nexus-race port-delete-vs-delivery rounds=N seconds=S
 *	Round after round a small port (capacity 1..4: the backlog fills)
 *	becomes a listener of the directory while the generator makes events;
 *	after 0..~100 us the port is deleted, or closed (its last messages
 *	read: each well-formed) then deleted, while events are on their way
 *	to it.  The watches are never stopped: they must die with their ports
 *	(the watches counter back where it was within 3 s of the last round).
 *	Raced: deletions while the node_events counter said events waited.
 */
static int port_delete_vs_delivery(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct gen_shared g = { 0 };
	struct reader x = { 0 };
	static uint8_t buf[65536];
	pthread_t gt;
	int nfd, fd = open_devices(&nfd), dirfd;
	long r, start_failed = 0, with_backlog = 0, closed = 0, base_watches = counter_now("watches"), left;
	long base_events = counter_now("node_events");

	make_scratch(g.dir, sizeof(g.dir), "port");
	dirfd = open(g.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dirfd < 0)
		die(1, "open %s: %s", g.dir, strerror(errno));
	x.g = &g;
	atomic_store(&g.stopped, -1);	/* never stopped: no event is "after its stop" */
	if (pthread_create(&gt, NULL, generator, &g))
		die(1, "pthread_create failed");
	for (r = 1; r <= rounds && (now() < deadline || (with_backlog == 0 && now() < last_chance)); r++) {
		int port, w;
		long queued;

		if (nx_port_create(fd, "race-listener", 1 + (int)(r % 4), &port) != B_OK)
			die(1, "cannot create a port in round %ld", r);
		w = nm_watch(nfd, dirfd, B_WATCH_DIRECTORY | B_WATCH_NAME, port, (uint32_t)r, 0);
		if (w != 0 && !start_failed++)
			anomaly("{\"anomaly\":\"start-failed\",\"round\":%ld,\"status\":%d}", r, w);
		pause_for((uint64_t)(r * 0x9e3779b97f4a7c15ULL >> 50) % 4096);
		queued = counter_now("node_events");
		if (queued > base_events)
			with_backlog++;
		if (r % 2) {
			struct nexus_port_id req = { .id = port };

			ioctl(fd, NEXUS_PORT_CLOSE, &req);
			closed++;
			for (;;) {
				size_t size = sizeof(buf);
				int32_t code = 0;

				if (nx_port_read(fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, 0) != B_OK)
					break;
				reader_saw(&x, buf, size, code);
			}
		}
		nx_port_delete(fd, port);
	}
	atomic_store(&g.stop, 1);
	pthread_join(gt, NULL);
	if (!counter_settles("watches", base_watches, 3000, &left))
		anomaly("{\"anomaly\":\"watches-outlived-their-ports\",\"watches\":%ld,\"expected\":%ld}", left, base_watches);
	if (!counter_settles("node_events", base_events, 3000, &left))
		anomaly("{\"anomaly\":\"events-outlived-their-ports\",\"node_events\":%ld,\"expected\":%ld}", left, base_events);
	close(dirfd);
	nm_remove_tree(g.dir, true);
	printf("{\"done\":true,\"mode\":\"port-delete-vs-delivery\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"created\":%ld,"
	       "\"with_backlog\":%ld,\"closed\":%ld,\"events_read\":%ld,\"malformed\":%ld,\"dropped\":%ld,"
	       "\"start_failed\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       r - 1, (now() - start) * 1000, g.created, with_backlog, closed, x.events, x.malformed, x.dropped,
	       start_failed, anomalies);
	fflush(stdout);
	return 0;
}

/* ---- team exit vs READ_CAPS minting --------------------------------------------- */

struct erc_shared {
	atomic_int in_read;
	atomic_long minted;
	int port;
};

static void erc_child(struct erc_shared *x, int report, pid_t parent)
{
	struct nexus_port_cap_out caps[8];
	static uint8_t buf[256];
	int fd, port;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	fd = nx_open();
	if (fd < 0 || nx_port_create(fd, "race-reader", 16, &port) != B_OK)
		_exit(3);
	if (write(report, &port, sizeof(port)) != sizeof(port))
		_exit(4);
	for (;;) {
		size_t size = sizeof(buf), n = 8;
		int32_t code;
		int st;

		atomic_store(&x->in_read, 1);
		st = nx_read_caps(fd, port, &code, buf, &size, caps, &n, 0, 0);
		atomic_store(&x->in_read, 0);
		if (st == B_OK)
			atomic_fetch_add(&x->minted, (long)n);
	}
}

/*
 * nexus-race exit-vs-read-caps rounds=N seconds=S
 *	The driver holds a vref.  Round after round a forked team reads
 *	capability messages from its port on and on, minting a slot per cap,
 *	while the driver writes messages carrying the vref into that port; a
 *	SIGKILL ends the reader 0..3 ms in (later, up to 100 ms, once the
 *	deadline passed with nothing minted), mid-READ_CAPS or not.  Once it is
 *	reaped, every slot it was minted, and every cap queued in its port,
 *	must be gone: vref_slots and port_caps back where they were (within
 *	3 s), the driver's own slot still good.  Raced: readers killed inside
 *	READ_CAPS after slots were minted.
 */
static int exit_vs_read_caps(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct erc_shared *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int nfd, fd = open_devices(&nfd), ffd, vfd;
	char dir[200], path[300];
	int32_t vref;
	uint64_t key;
	long r, killed_in_read = 0, minted_rounds = 0, written = 0, refused = 0, left;
	long base_slots, base_caps, base_vrefs, window_us = 3000;
	pid_t parent = getpid();

	if (x == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));
	make_scratch(dir, sizeof(dir), "caps");
	snprintf(path, sizeof(path), "%s/file", dir);
	ffd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ffd < 0 || nm_vref_create(nfd, ffd, &vref, &key) != 0)
		die(1, "cannot make a vref of %s", path);
	close(ffd);
	base_slots = counter_now("vref_slots");
	base_caps = counter_now("port_caps");
	base_vrefs = counter_now("vrefs");
	for (r = 1; r <= rounds && (now() < deadline || ((killed_in_read == 0 || minted_rounds == 0) && now() < last_chance)); r++) {
		struct nexus_port_cap_in caps[4];
		int p[2], status, port;
		long before = atomic_load(&x->minted);
		double stop_at;
		pid_t child;

		/*
		 * Past the deadline with nothing minted yet (a kernel too slow to
		 * read a message within 3 ms: 6.1-debug under TCG minted nothing
		 * in 583 rounds), the kill comes later and later, up to 100 ms.
		 */
		if (now() >= deadline && minted_rounds == 0 && window_us < 100000)
			window_us *= 2;
		stop_at = now() + (double)(((uint64_t)r * 0x9e3779b97f4a7c15ULL >> 40) % (uint64_t)window_us) / 1e6;

		if (pipe2(p, O_CLOEXEC))
			die(1, "pipe: %s", strerror(errno));
		atomic_store(&x->in_read, 0);
		child = fork();
		if (child < 0)
			die(1, "fork: %s", strerror(errno));
		if (child == 0) {
			close(p[0]);
			erc_child(x, p[1], parent);
		}
		close(p[1]);
		if (read(p[0], &port, sizeof(port)) != sizeof(port))
			die(1, "the reader team did not start (round %ld)", r);
		close(p[0]);
		for (int i = 0; i < 4; i++)
			caps[i] = (struct nexus_port_cap_in){ NEXUS_PORT_CAP_VREF, vref, (uint32_t)i, 0 };
		do {
			int st = nx_write_caps(fd, port, 1, "caps", 4, caps, 1 + (size_t)(r % 4), B_RELATIVE_TIMEOUT, 0);

			if (st == B_OK)
				written++;
			else if (st != B_WOULD_BLOCK && st != B_BAD_PORT_ID && !refused++)
				anomaly("{\"anomaly\":\"write-caps\",\"round\":%ld,\"status\":%d}", r, st);
		} while (now() < stop_at);
		if (atomic_load(&x->in_read))
			killed_in_read++;
		kill(child, SIGKILL);
		if (waitpid(child, &status, 0) != child)
			die(1, "waitpid: %s", strerror(errno));
		if (atomic_load(&x->minted) > before)
			minted_rounds++;
		if (!counter_settles("vref_slots", base_slots, 3000, &left))
			anomaly("{\"anomaly\":\"slots-left\",\"round\":%ld,\"vref_slots\":%ld,\"expected\":%ld}", r, left,
				base_slots);
		if (!counter_settles("port_caps", base_caps, 3000, &left))
			anomaly("{\"anomaly\":\"caps-left\",\"round\":%ld,\"port_caps\":%ld,\"expected\":%ld}", r, left,
				base_caps);
		if (anomalies > MAX_ANOMALY_LINES)
			break;
	}
	if (counter_now("vrefs") >= 0 && counter_now("vrefs") != base_vrefs)
		anomaly("{\"anomaly\":\"vrefs\",\"vrefs\":%ld,\"expected\":%ld}", counter_now("vrefs"), base_vrefs);
	vfd = -1;
	if (nm_vref_open(nfd, vref, key, O_RDONLY | O_CLOEXEC, &vfd) != 0)
		anomaly("{\"anomaly\":\"own-slot-lost\",\"vref\":%d}", vref);
	if (vfd >= 0)
		close(vfd);
	if (nm_vref_release(nfd, vref, key) != 0)
		anomaly("{\"anomaly\":\"own-release\",\"vref\":%d}", vref);
	nm_remove_tree(dir, true);
	printf("{\"done\":true,\"mode\":\"exit-vs-read-caps\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"written\":%ld,"
	       "\"minted\":%ld,\"minted_rounds\":%ld,\"killed_in_read\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       r - 1, (now() - start) * 1000, written, atomic_load(&x->minted), minted_rounds, killed_in_read, anomalies);
	fflush(stdout);
	return 0;
}

/* ---- vref RELEASE vs ACQUIRE (or RELEASE) of the same slot ------------------------- */

struct rva {
	atomic_int round, go, done;
	int nfd;
	int32_t vref;
	uint64_t key, new_key;
	int st_b;
	bool acquire;
	uint64_t head;		/* B's head start in pause instructions */
};

static void *rva_b(void *p)
{
	struct rva *x = p;

	for (int r = 1;; r++) {
		if (!wait_for(&x->round, r, NULL, now() + STALL_SECONDS))
			return NULL;
		if (x->vref < 0)
			return NULL;
		while (atomic_load_explicit(&x->go, memory_order_acquire) < r)
			__builtin_ia32_pause();
		pause_for(x->head);
		x->st_b = x->acquire ? nm_vref_acquire(x->nfd, x->vref, x->key, &x->new_key) :
			  nm_vref_release(x->nfd, x->vref, x->key);
		atomic_store_explicit(&x->done, r, memory_order_release);
	}
}

/*
 * nexus-race vref-release-vs-acquire how=acquire|release rounds=N seconds=S
 *	Round after round a fresh vref (and, every other round, a second slot
 *	that keeps it alive): the main thread RELEASEs the first slot while a
 *	second thread ACQUIREs with that same key (how=acquire) or RELEASEs it
 *	too (how=release), from the other CPU.  RELEASE answers 0; ACQUIRE 0
 *	(then its new slot works and the vref lives) or -EPERM / -EBADF (the
 *	slot was gone; -EBADF only when no other slot kept the vref); of two
 *	RELEASEs exactly one answers 0.  The vrefs and vref_slots counters end
 *	where they began.  Raced: both outcomes of the second party.
 */
static int vref_release_vs_acquire(int argc, char **argv)
{
	bool acquire = arg_is(argc, argv, "how", "acquire", "release");
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct rva x = { .acquire = acquire };
	pthread_t bt;
	int nfd, fd = open_devices(&nfd), ffd;
	char dir[200], path[300];
	long r, won = 0, lost = 0, bad = 0, left, base_slots = counter_now("vref_slots"), base_vrefs = counter_now("vrefs");

	(void)fd;
	make_scratch(dir, sizeof(dir), "vref");
	snprintf(path, sizeof(path), "%s/file", dir);
	ffd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (ffd < 0)
		die(1, "open %s: %s", path, strerror(errno));
	x.nfd = nfd;
	if (pthread_create(&bt, NULL, rva_b, &x))
		die(1, "pthread_create failed");
	for (r = 1; r <= rounds && (now() < deadline || ((won == 0 || lost == 0) && now() < last_chance)); r++) {
		uint64_t extra = 0, k;
		bool keep = r % 2 == 0;
		int st_a;

		if (nm_vref_create(nfd, ffd, &x.vref, &x.key) != 0)
			die(1, "VREF_CREATE failed in round %ld", r);
		if (keep && nm_vref_acquire(nfd, x.vref, x.key, &extra) != 0)
			die(1, "VREF_ACQUIRE of a fresh vref failed in round %ld", r);
		x.head = (r * 0x9e3779b97f4a7c15ULL >> 52) % 2048;
		x.st_b = 1;
		atomic_store_explicit(&x.round, (int)r, memory_order_release);
		atomic_store_explicit(&x.go, (int)r, memory_order_release);
		pause_for((r * 0xc2b2ae3d27d4eb4fULL >> 52) % 2048);
		st_a = nm_vref_release(nfd, x.vref, x.key);
		if (!wait_for(&x.done, (int)r, NULL, now() + STALL_SECONDS))
			die(1, "the second party is stuck in round %ld", r);
		if (acquire) {
			if (st_a != 0) {
				bad++;
				anomaly("{\"anomaly\":\"release-failed\",\"round\":%ld,\"status\":%d}", r, st_a);
			}
			if (x.st_b == 0) {
				won++;
				if (nm_vref_release(nfd, x.vref, x.new_key) != 0) {
					bad++;
					anomaly("{\"anomaly\":\"acquired-slot-dead\",\"round\":%ld,\"kept\":%s}", r,
						keep ? "true" : "false");
				}
			} else if (x.st_b == -EPERM || (x.st_b == -EBADF && !keep)) {
				lost++;
			} else {
				bad++;
				anomaly("{\"anomaly\":\"acquire-answer\",\"round\":%ld,\"status\":%d,\"kept\":%s}", r, x.st_b,
					keep ? "true" : "false");
			}
		} else {
			bool a = st_a == 0, b = x.st_b == 0;

			if (a == b) {
				bad++;
				anomaly("{\"anomaly\":\"double-release\",\"round\":%ld,\"a\":%d,\"b\":%d}", r, st_a, x.st_b);
			}
			if (a)
				won++;
			else
				lost++;
		}
		/* Whatever happened: the slot released twice must be dead. */
		if (nm_vref_acquire(nfd, x.vref, x.key, &k) == 0) {
			bad++;
			anomaly("{\"anomaly\":\"released-key-lives\",\"round\":%ld}", r);
			nm_vref_release(nfd, x.vref, k);
		}
		if (keep && nm_vref_release(nfd, x.vref, extra) != 0) {
			bad++;
			anomaly("{\"anomaly\":\"kept-slot-dead\",\"round\":%ld}", r);
		}
		if (anomalies > MAX_ANOMALY_LINES)
			break;
	}
	x.vref = -1;
	atomic_store(&x.round, (int)r + 1);
	pthread_join(bt, NULL);
	close(ffd);
	if (!counter_settles("vref_slots", base_slots, 3000, &left))
		anomaly("{\"anomaly\":\"slots-left\",\"vref_slots\":%ld,\"expected\":%ld}", left, base_slots);
	if (!counter_settles("vrefs", base_vrefs, 3000, &left))
		anomaly("{\"anomaly\":\"vrefs-left\",\"vrefs\":%ld,\"expected\":%ld}", left, base_vrefs);
	nm_remove_tree(dir, true);
	printf("{\"done\":true,\"mode\":\"vref-release-vs-acquire\",\"how\":\"%s\",\"rounds\":%ld,\"elapsed_ms\":%.0f,"
	       "\"second_won\":%ld,\"second_lost\":%ld,\"bad\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       acquire ? "acquire" : "release", r - 1, (now() - start) * 1000, won, lost, bad, anomalies);
	fflush(stdout);
	return 0;
}

/* ---- unmount vs watches ------------------------------------------------------------ */

struct uvw {
	atomic_int round, go, unmounted, done;
	char mnt[220];
	int umount_plain, umount_lazy;
	double umount_at;
};

static void *uvw_unmounter(void *p)
{
	struct uvw *x = p;

	for (int r = 1;; r++) {
		int tries = 0;
		bool lazy = false;

		if (!wait_for(&x->round, r, NULL, now() + STALL_SECONDS) || !x->mnt[0])
			return NULL;
		while (atomic_load_explicit(&x->go, memory_order_acquire) < r)
			__builtin_ia32_pause();
		while (umount(x->mnt) < 0) {
			if (errno != EBUSY || ++tries > 2000) {
				umount2(x->mnt, MNT_DETACH);
				lazy = true;
				break;
			}
			sched_yield();
		}
		if (lazy)
			x->umount_lazy++;
		else
			x->umount_plain++;
		x->umount_at = now();
		atomic_store_explicit(&x->unmounted, r, memory_order_release);
	}
}

/* Watch the tmpfs's root, d, d's files and the volume for (port, token); fds closed after. */
static int uvw_watch_all(int nfd, const char *mnt, int port, uint32_t token, long *failed)
{
	static const char *const names[] = { "", "/d", "/d/f0", "/d/f1", "/d/f2" };
	char path[300];
	int n = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		int fd, st;

		snprintf(path, sizeof(path), "%s%s", mnt, names[i]);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		st = nm_watch(nfd, fd, B_WATCH_ALL | B_WATCH_CHILDREN, port, token, 0);
		close(fd);
		if (st == 0)
			n++;
		else
			(*failed)++;
	}
	if (nm_watch(nfd, -1, B_WATCH_MOUNT, port, token, 0) == 0)
		n++;
	return n;
}

/*
 * nexus-race umount-vs-watch party=thread|process rounds=N seconds=S
 *	Round after round a tmpfs is mounted in a scratch directory, a
 *	directory and files made in it, and watched (its root, the directory,
 *	the files, the volume) by this team (party=thread) or a forked one
 *	(party=process); the descriptors are closed, so nothing keeps it busy.
 *	Then, at once, one thread unmounts it (a plain umount, retried while
 *	busy, lazy after 2,000 tries) while the watcher, in turn, stops the
 *	watches (STOP_NOTIFYING), or watches a freshly opened directory of it
 *	again and again until it is gone (START_WATCHING against the umount),
 *	or deletes the listener's port - or, for a forked watcher, is
 *	SIGKILLed.  Every STOP answers 0 or -ENOENT (the umount took the watch
 *	first); every watch left is stopped after the round, and the watches
 *	counter is back where it was within 3 s.  Raced: START_WATCHING calls
 *	made while the umount was in progress.
 */
static int umount_vs_watch(int argc, char **argv)
{
	bool process = !arg_is(argc, argv, "party", "thread", "process");
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds, last_chance = start + seconds * RACE_EXTEND;
	struct uvw *x = mmap(NULL, sizeof(*x), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int nfd, fd = open_devices(&nfd), port = 0;
	char dir[200], path[300];
	pthread_t ut;
	long r, starts_during = 0, stops_raced = 0, watched = 0, failed = 0, events = 0, unmounted_seen = 0, left;
	long base_watches = counter_now("watches");
	pid_t parent = getpid();
	static uint8_t buf[65536];

	if (x == MAP_FAILED)
		die(1, "mmap: %s", strerror(errno));
	make_scratch(dir, sizeof(dir), "umount");
	snprintf(x->mnt, sizeof(x->mnt), "%s/mnt", dir);
	mkdir(x->mnt, 0755);
	if (pthread_create(&ut, NULL, uvw_unmounter, x))
		die(1, "pthread_create failed");
	for (r = 1; r <= rounds && (now() < deadline || (starts_during == 0 && !process && now() < last_chance)); r++) {
		int how = (int)(r % 3), p[2], cport = 0, status, st;
		pid_t child = 0;

		if (mount("nexus-race", x->mnt, "tmpfs", 0, "size=1m,mode=0755") < 0)
			die(1, "mount tmpfs on %s: %s", x->mnt, strerror(errno));
		snprintf(path, sizeof(path), "%s/d", x->mnt);
		mkdir(path, 0755);
		for (int i = 0; i < 3; i++) {
			snprintf(path, sizeof(path), "%s/d/f%d", x->mnt, i);
			close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		}
		if (!port && nx_port_create(fd, "race-umount", 256, &port) != B_OK)
			die(1, "cannot create a port");
		if (process) {
			if (pipe2(p, O_CLOEXEC))
				die(1, "pipe: %s", strerror(errno));
			child = fork();
			if (child < 0)
				die(1, "fork: %s", strerror(errno));
			if (child == 0) {
				int cfd, cnfd, n;
				long f = 0;

				prctl(PR_SET_PDEATHSIG, SIGKILL);
				if (getppid() != parent)
					_exit(1);
				cfd = nx_open();
				cnfd = nm_open();
				if (cfd < 0 || cnfd < 0 || nx_port_create(cfd, "race-umount-child", 256, &cport) != B_OK)
					_exit(3);
				n = uvw_watch_all(cnfd, x->mnt, cport, (uint32_t)r, &f);
				if (write(p[1], &n, sizeof(n)) != sizeof(n))
					_exit(4);
				for (;;)
					pause();
			}
			close(p[1]);
			if (read(p[0], &st, sizeof(st)) == sizeof(st))
				watched += st;
			close(p[0]);
		} else {
			watched += uvw_watch_all(nfd, x->mnt, port, (uint32_t)r, &failed);
		}
		atomic_store_explicit(&x->round, (int)r, memory_order_release);
		atomic_store_explicit(&x->go, (int)r, memory_order_release);
		if (process) {
			kill(child, SIGKILL);
			waitpid(child, &status, 0);
		} else if (how == 0) {
			st = nm_stop_notifying(nfd, port, (uint32_t)r);
			if (st != 0 && st != -ENOENT)
				anomaly("{\"anomaly\":\"stop-answer\",\"round\":%ld,\"status\":%d}", r, st);
			if (atomic_load(&x->unmounted) >= r)
				stops_raced++;
		} else if (how == 1) {
			snprintf(path, sizeof(path), "%s/d", x->mnt);
			while (atomic_load_explicit(&x->unmounted, memory_order_acquire) < r) {
				int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

				if (dfd < 0)
					continue;	/* gone: the umount is through */
				st = nm_watch(nfd, dfd, B_WATCH_DIRECTORY, port, (uint32_t)r, 0);
				close(dfd);
				if (st != 0 && st != -ENOENT)
					anomaly("{\"anomaly\":\"start-answer\",\"round\":%ld,\"status\":%d}", r, st);
				starts_during++;
			}
		} else {
			nx_port_delete(fd, port);
			port = 0;
		}
		if (!wait_for(&x->unmounted, (int)r, NULL, now() + STALL_SECONDS))
			die(1, "the unmounter is stuck in round %ld", r);
		if (port) {
			for (;;) {
				size_t size = sizeof(buf);
				int32_t code = 0;
				struct nm_event ev;
				char err[160];

				if (nx_port_read(fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, 0) != B_OK)
					break;
				if ((uint32_t)code != B_NODE_MONITOR)
					continue;
				st = nm_check(buf, size, sizeof(buf), &ev, err, sizeof(err));
				if (st == -1)
					anomaly("{\"anomaly\":\"malformed-event\",\"round\":%ld,\"error\":\"%s\"}", r, err);
				else if (st == 0 && ++events && ev.opcode == B_DEVICE_UNMOUNTED)
					unmounted_seen++;
			}
			st = nm_stop_notifying(nfd, port, (uint32_t)r);
			if (st != 0 && st != -ENOENT)
				anomaly("{\"anomaly\":\"stop-after-answer\",\"round\":%ld,\"status\":%d}", r, st);
		}
		if (!counter_settles("watches", base_watches, 3000, &left))
			anomaly("{\"anomaly\":\"watches-left\",\"round\":%ld,\"watches\":%ld,\"expected\":%ld}", r, left,
				base_watches);
		if (anomalies > MAX_ANOMALY_LINES)
			break;
	}
	x->mnt[0] = '\0';
	atomic_store(&x->round, (int)r + 1);
	pthread_join(ut, NULL);
	if (port)
		nx_port_delete(fd, port);
	snprintf(path, sizeof(path), "%s/mnt", dir);
	umount2(path, MNT_DETACH);
	nm_remove_tree(dir, true);
	printf("{\"done\":true,\"mode\":\"umount-vs-watch\",\"party\":\"%s\",\"rounds\":%ld,\"elapsed_ms\":%.0f,"
	       "\"watched\":%ld,\"watch_failed\":%ld,\"starts_during_umount\":%ld,\"stops_after_umount\":%ld,"
	       "\"umount_plain\":%d,\"umount_lazy\":%d,\"events\":%ld,\"unmounted_events\":%ld,\"ioctl_errors\":0,"
	       "\"anomalies\":%ld}\n",
	       process ? "process" : "thread", r - 1, (now() - start) * 1000, watched, failed, starts_during, stops_raced,
	       x->umount_plain, x->umount_lazy, events, unmounted_seen, anomalies);
	fflush(stdout);
	return 0;
}

/*
 * nexus-race umount-vs-attr-check rounds=N seconds=S
 *	Round after round a tmpfs is mounted, a file with an xattr made in it
 *	and watched (B_WATCH_ATTR | B_WATCH_STAT, descriptor closed), its xattr
 *	set again - a change of st_ctime alone, which the node monitor checks
 *	later, in a worker, against the xattrs it saw before - and at once
 *	the tmpfs is unmounted.  A check still queued must not keep the file's
 *	inode or dentry past the unmount: the kernel said "Busy inodes after
 *	unmount" and oopsed when it did (found by the stress suite's kill
 *	storm, 6.1, 2 vCPUs).  Every umount answers 0 (lazily after 2,000
 *	EBUSY tries), and the watches counter is back where it was within 3 s.
 */
static int umount_vs_attr_check(int argc, char **argv)
{
	long rounds = arg_long(argc, argv, "rounds", 1000000, 1, 100000000);
	double seconds = (double)arg_long(argc, argv, "seconds", 10, 1, 86400);
	double start = now(), deadline = start + seconds;
	int nfd, fd = open_devices(&nfd), port = 0;
	long r, sets = 0, plain = 0, lazy = 0, events = 0, left;
	long base_watches = counter_now("watches");
	char dir[200], mnt[220], path[300], key[64];
	static uint8_t buf[65536];

	make_scratch(dir, sizeof(dir), "attrcheck");
	snprintf(mnt, sizeof(mnt), "%s/mnt", dir);
	mkdir(mnt, 0755);
	if (nx_port_create(fd, "race-attr-check", 256, &port) != B_OK)
		die(1, "cannot create a port");
	for (r = 1; r <= rounds && now() < deadline; r++) {
		int tries = 0, ffd, st;
		char v = (char)('a' + r % 26);

		if (mount("nexus-race", mnt, "tmpfs", 0, "size=1m,mode=0755") < 0)
			die(1, "mount tmpfs on %s: %s", mnt, strerror(errno));
		snprintf(path, sizeof(path), "%s/f", mnt);
		ffd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (ffd < 0)
			die(1, "create %s: %s", path, strerror(errno));
		st = nm_setxattr(path, "nexus-race", "0", 1, key, sizeof(key));
		if (st == 0)
			st = nm_watch(nfd, ffd, B_WATCH_ATTR | B_WATCH_STAT, port, (uint32_t)r, 0);
		close(ffd);
		if (st != 0)
			anomaly("{\"anomaly\":\"setup\",\"round\":%ld,\"status\":%d}", r, st);
		else if (setxattr(path, key, &v, 1, 0) == 0)
			sets++;
		while (umount(mnt) < 0) {
			if (errno != EBUSY || ++tries > 2000) {
				if (umount2(mnt, MNT_DETACH) < 0)
					die(1, "umount %s: %s", mnt, strerror(errno));
				lazy++;
				break;
			}
			sched_yield();
		}
		if (tries <= 2000)
			plain++;
		for (;;) {
			size_t size = sizeof(buf);
			int32_t code = 0;

			if (nx_port_read(fd, port, &code, buf, &size, B_RELATIVE_TIMEOUT, 0) != B_OK)
				break;
			events++;
		}
		if (!counter_settles("watches", base_watches, 3000, &left))
			anomaly("{\"anomaly\":\"watches-left\",\"round\":%ld,\"watches\":%ld,\"expected\":%ld}", r, left,
				base_watches);
		if (anomalies > MAX_ANOMALY_LINES)
			break;
	}
	nx_port_delete(fd, port);
	umount2(mnt, MNT_DETACH);
	nm_remove_tree(dir, true);
	printf("{\"done\":true,\"mode\":\"umount-vs-attr-check\",\"rounds\":%ld,\"elapsed_ms\":%.0f,\"xattr_sets\":%ld,"
	       "\"umount_plain\":%ld,\"umount_lazy\":%ld,\"events\":%ld,\"ioctl_errors\":0,\"anomalies\":%ld}\n",
	       r - 1, (now() - start) * 1000, sets, plain, lazy, events, anomalies);
	fflush(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "create-delete"))
		return create_delete(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "teardown"))
		return teardown(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "thread-exit"))
		return thread_exit(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "area-teardown"))
		return area_teardown(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "resize-touch"))
		return resize_touch(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "stop-vs-events"))
		return stop_vs_events(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "port-delete-vs-delivery"))
		return port_delete_vs_delivery(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "exit-vs-read-caps"))
		return exit_vs_read_caps(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "vref-release-vs-acquire"))
		return vref_release_vs_acquire(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "umount-vs-watch"))
		return umount_vs_watch(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "umount-vs-attr-check"))
		return umount_vs_attr_check(argc, argv);
	fprintf(stderr, "usage: nexus-race create-delete kind=port|sem target=next|find party=thread|process "
			"rounds=N seconds=S\n"
			"       nexus-race teardown rounds=N seconds=S sems=M ports=K\n"
			"       nexus-race thread-exit party=thread|process rounds=N seconds=S\n"
			"       nexus-race area-teardown rounds=N seconds=S areas=K\n"
			"       nexus-race resize-touch party=thread|process seconds=S pages=N\n"
			"       nexus-race stop-vs-events rounds=N seconds=S\n"
			"       nexus-race port-delete-vs-delivery rounds=N seconds=S\n"
			"       nexus-race exit-vs-read-caps rounds=N seconds=S\n"
			"       nexus-race vref-release-vs-acquire how=acquire|release rounds=N seconds=S\n"
			"       nexus-race umount-vs-watch party=thread|process rounds=N seconds=S\n"
			"       nexus-race umount-vs-attr-check rounds=N seconds=S\n");
	return 2;
}
