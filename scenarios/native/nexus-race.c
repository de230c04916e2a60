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
 * Stops after N rounds or S seconds, whichever comes first.  Prints at most
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

#include "nexus-raw.h"

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

/* Read the victim's ids; false if it did not report in time. */
static bool victim_ready(int fd, struct victim_ids *v)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, (int)(STALL_SECONDS * 1000)) == 1 && read(fd, v, sizeof(*v)) == (ssize_t)sizeof(*v);
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
	ok = victim_ready(pipefd[0], &v) && v.status == B_OK;
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

int main(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "create-delete"))
		return create_delete(argc, argv);
	if (argc >= 2 && !strcmp(argv[1], "teardown"))
		return teardown(argc, argv);
	fprintf(stderr, "usage: nexus-race create-delete kind=port|sem target=next|find party=thread|process "
			"rounds=N seconds=S\n"
			"       nexus-race teardown rounds=N seconds=S sems=M ports=K\n");
	return 2;
}
