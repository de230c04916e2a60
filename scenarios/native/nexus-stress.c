// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-stress: kill storms.  Thousands of short-lived teams, several alive
 * at once, each creating ports, semaphores, threads and areas, writing
 * messages, sending data, mapping and touching areas and blocking on its
 * own and other live teams' objects, SIGKILLed at random moments by the
 * parent.
 *
 *   nexus-stress [--teams N] [--alive N] [--seed N] [--deadline S]
 *                [--max-life-ms N]
 *
 * The parent keeps --alive children running until --teams have been
 * started.  Each child is a team (it opens /dev/nexus itself), creates one
 * to four objects of every primitive, publishing each id in a table in
 * shared memory as soon as it has it, then acts until it is killed: create
 * another object, block on one of its own or on another live team's (no
 * timeout, or a long one), poke one (a write, a release, a send, a resize:
 * what wakes a waiter or pulls memory from under a toucher), destroy one of
 * its own.  The thread objects are threads of the team (receivers blocked
 * in receive_data, or sleepers whose mailbox fills); blocking on one is
 * wait_for_thread, send_data into its full mailbox, or receive_data on the
 * main thread's own mailbox.  The area objects are memfds registered and
 * mapped; blocking on one is cloning it, mapping the clone and touching its
 * pages on and on (a SIGBUS when its owner shrank it is counted, not
 * fatal); poking is resizing (or re-protecting), destroying is deleting or
 * transferring it to another live team.  At spawn the parent gives each
 * child a fate:
 *   early    SIGKILL at once, or within 1.5 ms of fork: before it starts,
 *            while it opens the device or creates its objects
 *   blocked  SIGKILL 0..20 ms after it first reports being blocked
 *   random   SIGKILL at a random moment of its first --max-life-ms ms
 *   exit     never killed: 4..24 actions whose waits all have timeouts,
 *            then it ends by itself
 *            (a child that has not ended a minute later is "overdue": a
 *            wait that forgot its timeout, or a hang)
 * A killed child's objects die with its team; the children blocked on them
 * must wake (with the object's bad-id status), and those it was blocked on
 * lose a waiter.
 *
 * Vrefs and watches (nexus_node_monitor.ko, when the guest has it) are two
 * more primitives.  A vref is made of a file or directory of a scratch
 * directory or of the tmpfs mounted in it; blocking on one is writing a
 * capability message carrying it into a port (full ones block; a vref the
 * team holds no slot in must be refused with B_NOT_ALLOWED, one it holds
 * must go through) or reading one from a port of its own (slots minted);
 * poking is ACQUIRE or OPEN with its own slot's key, or with another team's
 * published key (must be refused); destroying is RELEASE (must answer 0).
 * A watch is started on the directory, its files, the tmpfs, a vref's node
 * or the volume, for a port of the team's or another team's, with a token
 * of its own; blocking on one is reading events from its port (each one
 * must be a well-formed KMessage), poking is a file system operation that
 * makes events, destroying is STOP_WATCHING or STOP_NOTIFYING (0, or
 * -ENOENT when the watch died already with its node, port or tmpfs).
 * Meanwhile a churner process (no team) changes the scratch directory and
 * mounts a tmpfs on its "mnt", churns it 5..40 ms and unmounts it under
 * the live watches - lazily when a vref or descriptor keeps it busy - and
 * again, until the storm ends.
 *
 * Every wait of the parent has a deadline: children are reaped within 30 s
 * of their SIGKILL (else they are reported stuck, with /proc state and
 * wchan), and the whole storm stops at --deadline.  The parent samples the
 * Nexus debugfs counters (when the tree has them) for the peaks.  One JSON
 * summary line on stdout:
 *   {"seed":..,"teams":..,"alive":..,"spawned":..,"wall_ms":..,
 *    "fates":{"early":..,..},"killed_in":{"start":..,"creating":..,
 *    "running":..,"blocked":..},"exited":..,"overdue":..,"stuck":[..],
 *    "crashed":[..],"violations":..,"violation":"..","waits":{"ok":..,
 *    "bad_id":..,"timed_out":..,..},"peak_table_objects":..,
 *    "created":{"port":..,"sem":..,"thread":..,"area":..},
 *    "killed_blocked_in":{"port_read":..,..,"area_touch":..,"caps_write":..,
 *    "caps_read":..,"event_read":..},"peak":{"teams":..,"ports":..,..},
 *    "nm":{"events":..,"caps_sent":..,"caps_refused":..,"slots_minted":..,
 *    "forged_refused":..,"churn_ops":..,"mounts":..,"umounts":..,
 *    "lazy_umounts":..,"watches":{..},"by_opcode":{..}},"deadline_hit":..}
 * Exit status 0 when nothing was wrong, 1 otherwise, 2 on bad usage, 3 when
 * /dev/nexus cannot be opened.
 *
 * Plugging in a primitive (threads, areas, vrefs, watches): write its four
 * actions - create (an object of the calling team; return its id), block
 * (wait on an id, its own or another team's, forever or with a timeout),
 * poke (what wakes such a waiter: a send, a release, a write), destroy -
 * as a struct primitive, add it to PRIMITIVES[] and count it in
 * NR_PRIMITIVES.  The table in shared memory has a row of ids per
 * primitive, the scripts pick among all of them, and every kill then also
 * exercises its teardown while blocked.
 */
#define _GNU_SOURCE
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/prctl.h>

#include "nexus-storm.h"
#include "nexus-nm.h"

#define COUNT_OF(a) (sizeof(a) / sizeof((a)[0]))

/* ---- shared memory: who is alive and what it owns --------------------------- */

#define MAX_ALIVE	256
#define MAX_OBJECTS	8	/* ids per primitive a team publishes */
#define NR_PRIMITIVES	6

enum team_state { T_START, T_CREATING, T_RUNNING, T_BLOCKED, T_DONE, NR_STATES };
static const char *const STATE_NAMES[NR_STATES] = { "start", "creating", "running", "blocked", "done" };

enum fate { F_EARLY, F_BLOCKED, F_RANDOM, F_EXIT, NR_FATES };
static const char *const FATE_NAMES[NR_FATES] = { "early", "blocked", "random", "exit" };
static const uint8_t FATE_WEIGHTS[NR_FATES] = { 2, 4, 3, 1 };

/* How a wait ended (an area touch: ok, or a SIGBUS when its owner shrank it). */
enum { WS_OK, WS_BAD_ID, WS_TIMED_OUT, WS_WOULD_BLOCK, WS_INTERRUPTED, WS_NO_MEMORY, WS_NOT_ALLOWED,
	WS_SIGBUS, WS_OTHER, NR_WS };
static const char *const WS_NAMES[NR_WS] = {
	"ok", "bad_id", "timed_out", "would_block", "interrupted", "no_memory", "not_allowed",
	"sigbus", "other" };
#define ST_SIGBUS	1	/* an area touch's "status": the mapping met the file's end */

/* What a blocked team is blocked in (the parent counts kills by it). */
enum { BK_PORT_READ, BK_PORT_MSG_INFO, BK_PORT_WRITE, BK_SEM_ACQUIRE, BK_THREAD_WAIT,
	BK_THREAD_SEND, BK_THREAD_RECEIVE, BK_AREA_TOUCH, BK_CAPS_WRITE, BK_CAPS_READ, BK_EVENT_READ, NR_BK };
static const char *const BK_NAMES[NR_BK] = {
	"port_read", "port_msg_info", "port_write", "sem_acquire", "thread_wait", "thread_send",
	"thread_receive", "area_touch", "caps_write", "caps_read", "event_read" };

struct slot {
	pid_t pid;			/* 0: free */
	int32_t state;			/* enum team_state, written by the child */
	uint32_t fate;
	uint32_t index;			/* which team of the run (its seed) */
	int64_t blocked_since_ms;	/* child: when it first blocked (0: never) */
	int32_t blocked_in;		/* child: BK_* of its current (or last) block */
	int64_t spawned_ms, kill_at_ms, killed_ms;	/* parent */
	int32_t ids[NR_PRIMITIVES][MAX_OBJECTS];	/* 0: none */
	uint64_t keys[MAX_OBJECTS];	/* the key of each vref id it published (for others to forge with) */
};

struct shared {
	unsigned int alive;
	uint64_t waits[NR_WS];
	uint64_t created[NR_PRIMITIVES];
	uint64_t violations;
	char violation[256];
	/* The node monitor: the directory churned and watched, the tmpfs mounted and unmounted in it. */
	char scratch[200];
	char mnt[220];
	uint64_t churn_ops, mounts, umounts, lazy_umounts;
	uint64_t events, by_op[NM_NR_OPS], caps_sent, caps_refused, slots_minted, forged_refused;
	uint64_t watch_status[4];	/* START_WATCHING: 0, -ENOENT/-EACCES (gone), -EINVAL (port gone), other */
	bool node_monitor;		/* the teams open /dev/nexus_node_monitor */
	struct slot slots[MAX_ALIVE];
};

static struct shared *sh;
/* The churner process (nexus-nm.h's file system operations), 0 when there is none. */
static pid_t churner;

static void count(uint64_t *c)
{
	__atomic_add_fetch(c, 1, __ATOMIC_RELAXED);
}

static void violation(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void violation(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	note_violation(&sh->violations, sh->violation, sizeof(sh->violation), fmt, ap);
	va_end(ap);
}

/* ---- a team (a child) ------------------------------------------------------- */

/* Long timeouts: waits of children that must end by themselves. */
#define LONG_WAIT_MIN_US	50000
#define LONG_WAIT_SPAN_US	250000
#define FOREVER			(-1)

#define MAX_THREADS	16	/* threads a team starts over its life */

/* One of the team's threads (a thread "object"). */
struct thread_obj {
	struct team *t;
	pthread_t thread;
	int32_t tid;			/* set once it has its thread record */
	bool sleeper;			/* never reads: its mailbox fills, senders block */
	int quit;			/* destroy: end now */
};

/* One of the team's areas, as the team maps it. */
struct area_map {
	int32_t id;
	uint8_t *p;
	size_t len;
};

#define MAX_SLOTS	64	/* vref slots a team keeps track of */
#define MAX_WATCHES	64

/* A vref slot the team holds. */
struct vslot {
	int32_t id;
	uint64_t key;
};

/* A watch the team made: what STOP_WATCHING and STOP_NOTIFYING name. */
struct wentry {
	uint32_t token;
	int32_t port;
	uint64_t dev, ino;
};

struct team {
	int fd;
	int afd;			/* /dev/nexus_area, or -errno */
	int nfd;			/* /dev/nexus_node_monitor, or -errno */
	struct vslot vslots[MAX_SLOTS];
	unsigned int nvslots;
	bool vslots_lost;		/* more slots than the table holds */
	struct wentry watches[MAX_WATCHES];
	unsigned int nwatches;
	uint32_t next_token;
	struct slot *me;
	struct rng r;
	bool may_block_forever;
	uint8_t *buf;			/* messages out and in */
	unsigned int nthreads;
	struct thread_obj threads[MAX_THREADS];
	struct area_map maps[MAX_OBJECTS];
};

/* One primitive's part in a storm: see the comment at the top. */
struct primitive {
	const char *name;
	int32_t (*create)(struct team *t);
	int32_t (*block)(struct team *t, int32_t id, int64_t timeout_us);
	int32_t (*poke)(struct team *t, int32_t id);
	int32_t (*destroy)(struct team *t, int32_t id);
	int32_t bad_id;			/* the status of an id that is gone */
};

/* Say what the team is about to block in. */
static void blocking(struct team *t, int kind)
{
	__atomic_store_n(&t->me->blocked_in, kind, __ATOMIC_RELEASE);
}

#define BUF_SIZE (NEXUS_PORT_MAX_MESSAGE_SIZE + 4096)

static void wait_flags(int64_t timeout_us, __u32 *flags, __s64 *timeout)
{
	*flags = timeout_us == FOREVER ? 0 : B_RELATIVE_TIMEOUT;
	*timeout = timeout_us == FOREVER ? 0 : timeout_us;
}

/* A raw request on the team's own descriptor: ioctl-level failure is a bug here. */
static void call(struct team *t, unsigned long cmd, void *req, const char *what)
{
	long rc = nx_ioctl(t->fd, cmd, (uintptr_t)req);

	if (rc != 0)
		violation("%s: the ioctl itself failed: %ld", what, rc);
}

/* -- ports -- */

static int32_t port_create(struct team *t)
{
	struct nexus_port_create r = { "stress", 7, 1 + (int32_t)rng_below(&t->r, 8), 0, 0 };

	call(t, NEXUS_PORT_CREATE, &r, "PORT_CREATE");
	return r.ret == B_OK ? r.id : r.ret;
}

static size_t message_size(struct rng *r)
{
	uint64_t x = rng_below(r, 100);

	if (x < 60)
		return (size_t)rng_below(r, 256);
	if (x < 90)
		return (size_t)rng_below(r, 8192);
	if (x < 98)
		return 65536;
	return NEXUS_PORT_MAX_MESSAGE_SIZE;
}

static int32_t port_write(struct team *t, int32_t id, __u32 flags, __s64 timeout)
{
	int32_t code = (int32_t)rng_next(&t->r);
	struct nexus_port_write r = { id, &code, t->buf, message_size(&t->r), flags, timeout, 0 };

	call(t, NEXUS_PORT_WRITE, &r, "PORT_WRITE");
	return r.ret;
}

/* Block reading, peeking, or writing into a full port. */
static int32_t port_block(struct team *t, int32_t id, int64_t timeout_us)
{
	uint64_t how = rng_below(&t->r, 3);
	struct nexus_port_message_info mi;
	__u32 flags;
	__s64 timeout;
	int32_t code;

	wait_flags(timeout_us, &flags, &timeout);
	if (how == 0) {
		struct nexus_port_read r = { id, &code, t->buf, BUF_SIZE, flags, timeout, 0 };

		blocking(t, BK_PORT_READ);
		call(t, NEXUS_PORT_READ, &r, "PORT_READ");
		return r.ret;
	}
	if (how == 1) {
		struct nexus_port_get_message_info r = { id, sizeof(mi), flags, timeout, &mi, 0 };

		blocking(t, BK_PORT_MSG_INFO);
		call(t, NEXUS_PORT_MESSAGE_INFO, &r, "PORT_MESSAGE_INFO");
		return r.ret;
	}
	blocking(t, BK_PORT_WRITE);
	return port_write(t, id, flags, timeout);
}

static int32_t port_poke(struct team *t, int32_t id)
{
	return port_write(t, id, B_RELATIVE_TIMEOUT, 0);
}

static int32_t port_destroy(struct team *t, int32_t id)
{
	struct nexus_port_id r = { id, 0 };

	call(t, rng_chance(&t->r, 1, 4) ? NEXUS_PORT_CLOSE : NEXUS_PORT_DELETE, &r, "PORT_DELETE");
	return r.ret;
}

/* -- semaphores -- */

static int32_t sem_create(struct team *t)
{
	struct nexus_sem_create r = { "stress", (int32_t)rng_below(&t->r, 2), 0, 0 };

	call(t, NEXUS_SEM_CREATE, &r, "SEM_CREATE");
	return r.ret == B_OK ? r.id : r.ret;
}

static int32_t sem_block(struct team *t, int32_t id, int64_t timeout_us)
{
	struct nexus_sem_op r = { id, 1 + (int32_t)rng_below(&t->r, 3), 0, 0, 0 };

	wait_flags(timeout_us, &r.flags, &r.timeout);
	blocking(t, BK_SEM_ACQUIRE);
	call(t, NEXUS_SEM_ACQUIRE, &r, "SEM_ACQUIRE");
	return r.ret;
}

static int32_t sem_poke(struct team *t, int32_t id)
{
	struct nexus_sem_op r = { id, 1 + (int32_t)rng_below(&t->r, 3), 0, 0, 0 };

	call(t, NEXUS_SEM_RELEASE, &r, "SEM_RELEASE");
	return r.ret;
}

static int32_t sem_destroy(struct team *t, int32_t id)
{
	struct nexus_sem_delete_req r = { id, 0 };

	call(t, NEXUS_SEM_DELETE, &r, "SEM_DELETE");
	return r.ret;
}

/* -- threads -- */

/* A code that tells a receiver to end (destroy). */
#define CODE_QUIT	0x71756974

/*
 * A raw thread request's status; an ioctl that itself failed is a bug here
 * (but for -ENOTTY: a tree without threads, where the thread objects are
 * never created).
 */
static int32_t thread_status(const char *what, int st)
{
	if (st == ENOTTY)
		return B_ERROR;
	if (st > 0)
		violation("%s: the ioctl itself failed: errno %d", what, st);
	return st;
}

/*
 * A thread object's life: take a thread record (GET_INFO of itself), say
 * so, then receive forever until a CODE_QUIT message (a receiver), or never
 * read (a sleeper: its mailbox fills, its senders block) until told to
 * quit.  Either ends with a return code: its waiters get it.
 */
static void *thread_obj_main(void *arg)
{
	struct thread_obj *o = arg;
	struct team *t = o->t;
	sigset_t all;
	uint8_t buf[512];
	int sender, code = 0;

	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (thread_status("THREAD_GET_INFO", nx_thread_info(t->fd, 0, NULL, NULL, NULL)) == B_OK)
		__atomic_store_n(&o->tid, nx_gettid(), __ATOMIC_RELEASE);
	else
		__atomic_store_n(&o->tid, -1, __ATOMIC_RELEASE);
	while (!__atomic_load_n(&o->quit, __ATOMIC_ACQUIRE)) {
		size_t size = sizeof(buf);

		if (o->sleeper) {
			sleep_us(1000);
			continue;
		}
		if (thread_status("THREAD_READ", nx_thread_receive(t->fd, &sender, &code, buf, &size, 0, 0)) == B_OK &&
		    code == CODE_QUIT)
			break;
	}
	nx_thread_set_return_code(t->fd, code);
	return NULL;
}

static int32_t thread_create(struct team *t)
{
	struct thread_obj *o;
	pthread_attr_t attr;
	int64_t until = mono_ms() + 5000;
	int32_t tid;

	if (t->nthreads == MAX_THREADS)
		return B_NO_MEMORY;
	o = &t->threads[t->nthreads];
	memset(o, 0, sizeof(*o));
	o->t = t;
	o->sleeper = rng_chance(&t->r, 1, 3);
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 64 * 1024);
	if (pthread_create(&o->thread, &attr, thread_obj_main, o)) {
		pthread_attr_destroy(&attr);
		return B_NO_MEMORY;
	}
	pthread_attr_destroy(&attr);
	pthread_detach(o->thread);
	t->nthreads++;
	while (!(tid = __atomic_load_n(&o->tid, __ATOMIC_ACQUIRE)) && mono_ms() < until)
		sleep_us(100);
	return tid > 0 ? tid : B_ERROR;
}

/* The thread object of ours with this tid, or NULL. */
static struct thread_obj *own_thread(struct team *t, int32_t tid)
{
	for (unsigned int i = 0; i < t->nthreads; i++)
		if (t->threads[i].tid == tid)
			return &t->threads[i];
	return NULL;
}

/* Block: wait for it to end, send into its (maybe full) mailbox, or receive on our own. */
static int32_t thread_block(struct team *t, int32_t id, int64_t timeout_us)
{
	uint64_t how = rng_below(&t->r, 3);
	__u32 flags;
	__s64 timeout;
	int code, sender;
	size_t size = BUF_SIZE;

	wait_flags(timeout_us, &flags, &timeout);
	if (how == 0) {
		blocking(t, BK_THREAD_WAIT);
		return thread_status("THREAD_WAITFOR", nx_thread_wait(t->fd, id, flags, timeout, &code));
	}
	if (how == 1) {
		blocking(t, BK_THREAD_SEND);
		return thread_status("THREAD_WRITE", nx_thread_send(t->fd, id, (int)rng_next(&t->r), t->buf,
								     message_size(&t->r) % (NEXUS_THREAD_MAX_MESSAGE_SIZE + 1),
								     flags, timeout));
	}
	blocking(t, BK_THREAD_RECEIVE);
	return thread_status("THREAD_READ", nx_thread_receive(t->fd, &sender, &code, t->buf, &size, flags, timeout));
}

static int32_t thread_poke(struct team *t, int32_t id)
{
	return thread_status("THREAD_WRITE", nx_thread_send(t->fd, id, (int)rng_next(&t->r) & 0xffff, t->buf,
							      (size_t)rng_below(&t->r, 256), B_RELATIVE_TIMEOUT, 0));
}

static int32_t thread_destroy(struct team *t, int32_t id)
{
	struct thread_obj *o = own_thread(t, id);

	if (o)
		__atomic_store_n(&o->quit, 1, __ATOMIC_RELEASE);
	return thread_status("THREAD_WRITE", nx_thread_send(t->fd, id, CODE_QUIT, NULL, 0, B_RELATIVE_TIMEOUT, 100000));
}

/* -- areas -- */

#define AREA_MAX_PAGES	8
#define TOUCH_MAX	(32 * 4096)

/* An area status; an ioctl that itself failed is a bug here. */
static int32_t area_status(const char *what, int st)
{
	if (st > 0 && st != ENODEV)
		violation("%s: the ioctl itself failed: errno %d", what, st);
	return st;
}

static int32_t area_create(struct team *t)
{
	size_t len = (size_t)(1 + rng_below(&t->r, AREA_MAX_PAGES)) * 4096;
	uint32_t prot = B_READ_AREA | B_WRITE_AREA | (rng_chance(&t->r, 7, 8) ? B_CLONEABLE_AREA : 0);
	int memfd, st;
	int32_t id = 0;
	uint8_t *p;

	if (t->afd < 0)
		return B_ERROR;
	memfd = nx_memfd("stress", len);
	if (memfd < 0)
		return B_NO_MEMORY;
	st = area_status("AREA_CREATE", nx_area_create(t->afd, memfd, "stress", len, B_NO_LOCK, prot, &id));
	p = st == B_OK ? mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, memfd, 0) : MAP_FAILED;
	close(memfd);
	if (st != B_OK)
		return st;
	if (p == MAP_FAILED) {
		violation("mmap of area %" PRId32 "'s own memfd failed: %s", id, strerror(errno));
		return id;
	}
	nx_touch(p, len, true, 1);
	for (int i = 0; i < MAX_OBJECTS; i++) {
		if (!t->maps[i].id) {
			t->maps[i] = (struct area_map){ id, p, len };
			return id;
		}
	}
	munmap(p, len);
	return id;
}

/*
 * Block: clone the area, map the clone and touch its pages until the
 * timeout (forever: until killed).  A SIGBUS (its owner shrank it) ends the
 * touching; that is no bug.
 */
static int32_t area_block(struct team *t, int32_t id, int64_t timeout_us)
{
	int64_t until = timeout_us == FOREVER ? INT64_MAX : mono_us() + timeout_us;
	int32_t clone;
	int mapfd, st;
	uint64_t size;
	size_t len;
	uint8_t *p, v = 0;

	if (t->afd < 0)
		return B_ERROR;
	blocking(t, BK_AREA_TOUCH);
	st = area_status("AREA_CLONE", nx_area_clone(t->afd, id, "stress-clone", B_READ_AREA | B_WRITE_AREA,
						     &clone, &mapfd, &size));
	if (st != B_OK)
		return st;
	if (size == 0 || size % 4096) {
		violation("AREA_CLONE(%" PRId32 ") gave size %" PRIu64, id, size);
		close(mapfd);
		return B_ERROR;
	}
	len = size > TOUCH_MAX ? TOUCH_MAX : (size_t)size;
	/* The owner may shrink it meanwhile: then the clone's current size. */
	p = nx_map_clone(t->afd, clone, mapfd, &len, PROT_READ | PROT_WRITE);
	close(mapfd);
	if (p == MAP_FAILED) {
		violation("mmap of the writable clone %" PRId32 " of area %" PRId32 " failed: %s", clone, id,
			  strerror(errno));
		return B_ERROR;
	}
	st = B_OK;
	do {
		if (nx_touch(p, len, true, ++v) == NX_TOUCH_SIGBUS) {
			st = ST_SIGBUS;
			break;
		}
	} while (mono_us() < until);
	munmap(p, len);
	area_status("AREA_DELETE", nx_area_delete(t->afd, clone));
	return st;
}

/* Poke: resize (ours: the file shrinks under every toucher) or re-protect. */
static int32_t area_poke(struct team *t, int32_t id)
{
	if (t->afd < 0)
		return B_ERROR;
	if (rng_chance(&t->r, 1, 4))
		return area_status("AREA_SET_PROTECTION",
				   nx_area_protect(t->afd, id, B_READ_AREA | B_WRITE_AREA |
						   (rng_chance(&t->r, 1, 2) ? B_CLONEABLE_AREA : 0)));
	return area_status("AREA_RESIZE",
			   nx_area_resize(t->afd, id, (1 + rng_below(&t->r, AREA_MAX_PAGES)) * 4096));
}

/* Destroy: delete it, or give it to another live team (it dies with that team). */
static int32_t area_destroy(struct team *t, int32_t id)
{
	int32_t st, to = __atomic_load_n(&sh->slots[rng_below(&t->r, sh->alive)].pid, __ATOMIC_RELAXED);
	int new_area, fd;

	for (int i = 0; i < MAX_OBJECTS; i++) {
		if (t->maps[i].id == id) {
			munmap(t->maps[i].p, t->maps[i].len);
			t->maps[i].id = 0;
		}
	}
	if (to > 0 && rng_chance(&t->r, 1, 4)) {
		st = area_status("AREA_TRANSFER", nx_area_transfer(t->afd, id, to, &new_area, &fd));
		if (st == B_OK && fd >= 0) {
			violation("AREA_TRANSFER(%" PRId32 ") handed the giver descriptor %d", id, fd);
			close(fd);
		}
		if (st == B_OK)
			return st;
	}
	return area_status("AREA_DELETE", nx_area_delete(t->afd, id));
}

/* -- vrefs: created, sent and received in capability messages, acquired, opened, released -- */

enum { P_PORT, P_SEM, P_THREAD, P_AREA, P_VREF, P_WATCH };

static void count_event(const uint8_t *buf, size_t size, int32_t code);

static struct vslot *vslot_of(struct team *t, int32_t id)
{
	for (unsigned int i = 0; i < t->nvslots; i++)
		if (t->vslots[i].id == id)
			return &t->vslots[i];
	return NULL;
}

static void vslot_add(struct team *t, int32_t id, uint64_t key)
{
	if (t->nvslots == MAX_SLOTS) {
		t->vslots_lost = true;
		return;
	}
	t->vslots[t->nvslots++] = (struct vslot){ id, key };
}

/* A node of the scratch directory or of the tmpfs in it (which may be unmounted right now). */
static int scratch_fd(struct team *t, int *flags_out)
{
	char path[300];
	uint64_t x = rng_below(&t->r, 10);
	const char *base = x < 4 ? sh->mnt : sh->scratch;
	int flags;

	if (x % 3 == 0) {
		snprintf(path, sizeof(path), "%s", base);
		flags = O_RDONLY | O_DIRECTORY;
	} else {
		static const int modes[] = { O_RDONLY, O_WRONLY | O_CREAT, O_RDWR | O_CREAT, O_PATH };

		snprintf(path, sizeof(path), "%s/f%u", base, (unsigned int)rng_below(&t->r, NM_CHURN_NAMES));
		flags = modes[rng_below(&t->r, 4)];
	}
	*flags_out = flags;
	return open(path, flags | O_CLOEXEC, 0644);
}

static int32_t vref_create(struct team *t)
{
	int flags, fd, st;
	int32_t id;
	uint64_t key;

	if (t->nfd < 0)
		return B_ERROR;
	fd = scratch_fd(t, &flags);
	if (fd < 0)
		return B_ENTRY_NOT_FOUND;
	st = nm_vref_create(t->nfd, fd, &id, &key);
	close(fd);
	if (st != 0)
		return st;
	if (id <= 0 || key == 0)
		violation("VREF_CREATE answered 0 with vref %" PRId32 " and key 0x%" PRIx64, id, key);
	vslot_add(t, id, key);
	for (int i = 0; i < MAX_OBJECTS; i++)
		if (!t->me->keys[i]) {
			__atomic_store_n(&t->me->keys[i], key, __ATOMIC_RELEASE);
			break;
		}
	return id;
}

/* One of the team's ports (0: none): the listeners and the caps' readers. */
static int32_t own_port(struct team *t)
{
	for (int i = 0, k = (int)rng_below(&t->r, MAX_OBJECTS); i < MAX_OBJECTS; i++) {
		int32_t id = __atomic_load_n(&t->me->ids[P_PORT][(k + i) % MAX_OBJECTS], __ATOMIC_ACQUIRE);

		if (id > 0)
			return id;
	}
	return 0;
}

static int32_t some_port(struct team *t)
{
	struct slot *s = &sh->slots[rng_below(&t->r, sh->alive)];
	int32_t id = __atomic_load_n(&s->ids[P_PORT][rng_below(&t->r, MAX_OBJECTS)], __ATOMIC_ACQUIRE);

	return id > 0 ? id : own_port(t);
}

/*
 * Block: write a message carrying vref id (one of ours, or one another
 * team published) into a port, which may be full, or read one (with its
 * caps, minting slots for us) from a port of ours.  A write of a vref the
 * team holds no slot in must be refused (B_NOT_ALLOWED) whatever the port.
 */
static int32_t vref_block(struct team *t, int32_t id, int64_t timeout_us)
{
	__u32 flags;
	__s64 timeout;
	int32_t port, code = 0x63617073;
	int st;

	wait_flags(timeout_us, &flags, &timeout);
	if (rng_chance(&t->r, 1, 2)) {
		struct nexus_port_cap_in caps[3];
		size_t n = 1 + rng_below(&t->r, 3);
		bool held = vslot_of(t, id) != NULL;

		port = some_port(t);
		if (!port)
			return B_ERROR;
		for (size_t i = 0; i < n; i++) {
			struct vslot *v = t->nvslots ? &t->vslots[rng_below(&t->r, t->nvslots)] : NULL;

			caps[i] = (struct nexus_port_cap_in){ NEXUS_PORT_CAP_VREF, i == 0 || !v ? id : v->id,
							      (uint32_t)i * 8, 0 };
			held = held && (i == 0 || v);
		}
		blocking(t, BK_CAPS_WRITE);
		st = nx_write_caps(t->fd, port, code, t->buf, (size_t)rng_below(&t->r, 64), caps, n, flags, timeout);
		if (st > 0 && st != ENOTTY)
			violation("PORT_WRITE_CAPS: the ioctl itself failed: errno %d", st);
		if (st == B_OK && !held && !t->vslots_lost)
			violation("PORT_WRITE_CAPS sent vref %" PRId32 ", in which the team holds no slot", id);
		if (st == B_NOT_ALLOWED && held)
			violation("PORT_WRITE_CAPS of vref %" PRId32 ", in which the team holds a slot, was refused", id);
		if (st == B_OK)
			count(&sh->caps_sent);
		if (st == B_NOT_ALLOWED) {
			count(&sh->caps_refused);
			return B_OK;	/* as it must be: the wait itself was fine */
		}
		return st;
	} else {
		struct nexus_port_cap_out caps[8];
		size_t size = BUF_SIZE, ncaps = 8;

		port = own_port(t);
		if (!port)
			return B_ERROR;
		blocking(t, BK_CAPS_READ);
		st = nx_read_caps(t->fd, port, &code, t->buf, &size, caps, &ncaps, flags, timeout);
		if (st > 0 && st != ENOTTY)
			violation("PORT_READ_CAPS: the ioctl itself failed: errno %d", st);
		if (st == B_BUFFER_OVERFLOW) {
			/* More caps than room: read it plainly (its references are dropped). */
			size = BUF_SIZE;
			st = nx_port_read(t->fd, port, &code, t->buf, &size, B_RELATIVE_TIMEOUT, 0);
		} else if (st == B_OK) {
			for (size_t i = 0; i < ncaps; i++) {
				if (caps[i].vref_id <= 0 || !caps[i].key)
					violation("READ_CAPS minted vref %" PRId32 " key 0x%" PRIx64, caps[i].vref_id,
						  (uint64_t)caps[i].key);
				vslot_add(t, caps[i].vref_id, caps[i].key);
				count(&sh->slots_minted);
			}
		}
		if (st == B_OK)
			count_event(t->buf, size, code);
		return st;
	}
}

/* Poke: acquire another slot, or open it; with another team's key, both must be refused. */
static int32_t vref_poke(struct team *t, int32_t id)
{
	struct vslot *v = vslot_of(t, id);
	uint64_t key, nk;
	int st, fd;

	if (t->nfd < 0)
		return B_ERROR;
	if (v && rng_chance(&t->r, 2, 3)) {
		if (rng_chance(&t->r, 1, 2)) {
			st = nm_vref_acquire(t->nfd, id, v->key, &nk);
			if (st == 0)
				vslot_add(t, id, nk);
		} else {
			st = nm_vref_open(t->nfd, id, v->key, O_RDONLY | O_CLOEXEC | O_NONBLOCK, &fd);
			if (st == 0)
				close(fd);
		}
		if (st != 0 && st != -EPERM && st != -ENOSPC && st != -ENXIO && st != -ENOENT)
			violation("a vref request with a slot the team holds answered %d", st);
		return st;
	}
	/* Another team's key for this id (a team that published it), else a guess. */
	key = rng_next(&t->r) | 1;
	for (unsigned int i = 0; i < sh->alive; i++) {
		struct slot *s = &sh->slots[i];

		if (s == t->me)
			continue;
		for (int k = 0; k < MAX_OBJECTS; k++)
			if (__atomic_load_n(&s->ids[P_VREF][k], __ATOMIC_ACQUIRE) == id)
				key = __atomic_load_n(&s->keys[k], __ATOMIC_ACQUIRE);
	}
	st = rng_chance(&t->r, 1, 2) ? nm_vref_acquire(t->nfd, id, key, &nk) :
	     nm_vref_open(t->nfd, id, key, O_RDONLY | O_CLOEXEC | O_NONBLOCK, &fd);
	if (st == 0) {
		if (!v && !t->vslots_lost)
			violation("vref %" PRId32 " answered 0 to a team without a slot, with key 0x%" PRIx64, id, key);
		return st;
	}
	count(&sh->forged_refused);
	return st;
}

static int32_t vref_destroy(struct team *t, int32_t id)
{
	struct vslot *v = vslot_of(t, id);
	int st;

	if (!v || t->nfd < 0)
		return B_ERROR;
	st = nm_vref_release(t->nfd, id, v->key);
	if (st != 0)
		violation("VREF_RELEASE of a slot the team holds (vref %" PRId32 ") answered %d", id, st);
	*v = t->vslots[--t->nvslots];
	for (int i = 0; i < MAX_OBJECTS; i++)
		if (t->me->ids[P_VREF][i] == id)
			__atomic_store_n(&t->me->keys[i], 0, __ATOMIC_RELEASE);
	return st;
}

/* -- watches: on the scratch directory, its files, the tmpfs (mounted or not), the volume -- */

/* A node monitor message read whole: it must be well-formed. */
static void count_event(const uint8_t *buf, size_t size, int32_t code)
{
	struct nm_event ev;
	char err[160];
	int st;

	if ((uint32_t)code != B_NODE_MONITOR)
		return;
	st = nm_check(buf, size, BUF_SIZE, &ev, err, sizeof(err));
	if (st == -1) {
		violation("a node monitor message of %zu bytes is malformed: %s", size, err);
		return;
	}
	if (st == 0) {
		count(&sh->events);
		count(&sh->by_op[nm_op_index(ev.opcode)]);
	}
}

static int32_t watch_create(struct team *t)
{
	static const uint32_t flag_sets[] = {
		B_WATCH_DIRECTORY, B_WATCH_NAME | B_WATCH_STAT | B_WATCH_ATTR, B_WATCH_ALL,
		B_WATCH_DIRECTORY | B_WATCH_CHILDREN | B_WATCH_STAT, B_WATCH_STAT | B_WATCH_INTERIM_STAT,
		NEXUS_WATCH_FLAGS,
	};
	struct wentry *w;
	struct stat st;
	int32_t port, vref = 0;
	uint32_t flags = flag_sets[rng_below(&t->r, COUNT_OF(flag_sets))];
	int fd = -1, how = (int)rng_below(&t->r, 10), ret, mode;

	if (t->nfd < 0 || t->nwatches == MAX_WATCHES)
		return B_ERROR;
	port = rng_chance(&t->r, 7, 10) ? own_port(t) : some_port(t);
	if (!port)
		return B_ERROR;
	memset(&st, 0, sizeof(st));
	if (how == 0) {
		flags = B_WATCH_MOUNT;			/* the volume */
		st.st_dev = (dev_t)UINT64_MAX;
		st.st_ino = (ino_t)UINT64_MAX;
	} else if (how == 1 && t->nvslots) {
		vref = t->vslots[rng_below(&t->r, t->nvslots)].id;	/* by vref */
	} else {
		fd = scratch_fd(t, &mode);
		if (fd < 0)
			return B_ENTRY_NOT_FOUND;
		fstat(fd, &st);
	}
	ret = nm_watch(t->nfd, fd, flags, port, ++t->next_token, vref);
	if (fd >= 0)
		close(fd);
	count(&sh->watch_status[ret == 0 ? 0 : ret == -ENOENT || ret == -EACCES ? 1 : ret == -EINVAL ? 2 : 3]);
	if (ret == -EINVAL && port != own_port(t))
		ret = B_ERROR;		/* another team's port, gone meanwhile */
	if (ret != 0)
		return ret == -ENOSPC ? B_NO_MEMORY : ret;
	w = &t->watches[t->nwatches++];
	*w = (struct wentry){ t->next_token, port, (uint64_t)st.st_dev, (uint64_t)st.st_ino };
	if (vref)
		w->dev = w->ino = 0;		/* its node: not known here */
	return (int32_t)w->token;
}

static struct wentry *watch_of(struct team *t, uint32_t token)
{
	for (unsigned int i = 0; i < t->nwatches; i++)
		if (t->watches[i].token == token)
			return &t->watches[i];
	return NULL;
}

/* Block: read events from a port of ours that watches write to. */
static int32_t watch_block(struct team *t, int32_t token, int64_t timeout_us)
{
	struct wentry *w = watch_of(t, (uint32_t)token);
	int32_t port = w && rng_chance(&t->r, 3, 4) ? w->port : own_port(t), code = 0;
	size_t size = BUF_SIZE;
	__u32 flags;
	__s64 timeout;
	int st;

	if (!port)
		return B_ERROR;
	wait_flags(timeout_us, &flags, &timeout);
	blocking(t, BK_EVENT_READ);
	st = nx_port_read(t->fd, port, &code, t->buf, &size, flags, timeout);
	if (st > 0)
		violation("PORT_READ: the ioctl itself failed: errno %d", st);
	if (st == B_OK)
		count_event(t->buf, size, code);
	return st;
}

/* Poke: what watchers hear about - an operation in the scratch directory or the tmpfs. */
static int32_t watch_poke(struct team *t, int32_t token)
{
	(void)token;
	nm_churn_once(rng_chance(&t->r, 1, 3) ? sh->mnt : sh->scratch, rng_next(&t->r));
	return B_OK;
}

static int32_t watch_destroy(struct team *t, int32_t token)
{
	struct wentry *w = watch_of(t, (uint32_t)token);
	int st;

	if (!w || t->nfd < 0)
		return B_ERROR;
	if (rng_chance(&t->r, 1, 2) || (!w->dev && !w->ino))
		st = nm_stop_notifying(t->nfd, w->port, w->token);
	else
		st = nm_unwatch(t->nfd, w->dev, w->ino, w->port, w->token);
	/* -ENOENT: it died already (its node deleted, its port gone, its tmpfs unmounted). */
	if (st != 0 && st != -ENOENT)
		violation("stopping watch %" PRIu32 " answered %d", w->token, st);
	*w = t->watches[--t->nwatches];
	return st;
}

static const struct primitive PRIMITIVES[NR_PRIMITIVES] = {
	{ "port", port_create, port_block, port_poke, port_destroy, B_BAD_PORT_ID },
	{ "sem", sem_create, sem_block, sem_poke, sem_destroy, B_BAD_SEM_ID },
	{ "thread", thread_create, thread_block, thread_poke, thread_destroy, B_BAD_THREAD_ID },
	{ "area", area_create, area_block, area_poke, area_destroy, B_BAD_VALUE },
	{ "vref", vref_create, vref_block, vref_poke, vref_destroy, B_BAD_PORT_ID },
	{ "watch", watch_create, watch_block, watch_poke, watch_destroy, B_BAD_PORT_ID },
};

/* -- the script -- */

static void set_state(struct team *t, enum team_state s)
{
	__atomic_store_n(&t->me->state, (int32_t)s, __ATOMIC_RELEASE);
}

/* Publish a new object of ours in the first free place of its row. */
static void publish(struct team *t, unsigned int p, int32_t id)
{
	for (int i = 0; i < MAX_OBJECTS; i++) {
		if (!t->me->ids[p][i]) {
			__atomic_store_n(&t->me->ids[p][i], id, __ATOMIC_RELEASE);
			return;
		}
	}
}

static void create_one(struct team *t, unsigned int p)
{
	int32_t id = PRIMITIVES[p].create(t);

	if (id > 0) {
		count(&sh->created[p]);
		publish(t, p, id);
	}
}

/* An id of primitive p: one of ours, or of another live team (0: none found). */
static int32_t some_id(struct team *t, unsigned int p, bool own)
{
	struct slot *s = own ? t->me : &sh->slots[rng_below(&t->r, sh->alive)];

	return __atomic_load_n(&s->ids[p][rng_below(&t->r, MAX_OBJECTS)], __ATOMIC_ACQUIRE);
}

static void tally_wait(unsigned int p, int32_t st)
{
	int w;

	switch (st) {
	case B_OK: w = WS_OK; break;
	case B_TIMED_OUT: w = WS_TIMED_OUT; break;
	case B_WOULD_BLOCK: w = WS_WOULD_BLOCK; break;
	case B_INTERRUPTED: w = WS_INTERRUPTED; break;
	case B_NO_MEMORY: w = WS_NO_MEMORY; break;
	case B_NOT_ALLOWED: w = WS_NOT_ALLOWED; break;
	case ST_SIGBUS: w = WS_SIGBUS; break;
	default: w = st == PRIMITIVES[p].bad_id ? WS_BAD_ID : WS_OTHER; break;
	}
	count(&sh->waits[w]);
}

static void block_on(struct team *t, unsigned int p, bool own)
{
	int32_t id = some_id(t, p, own);
	int64_t timeout = t->may_block_forever && rng_chance(&t->r, 1, 2) ? FOREVER :
			  LONG_WAIT_MIN_US + (int64_t)rng_below(&t->r, LONG_WAIT_SPAN_US);

	if (!id)
		return;
	if (!t->me->blocked_since_ms)
		__atomic_store_n(&t->me->blocked_since_ms, mono_ms(), __ATOMIC_RELEASE);
	set_state(t, T_BLOCKED);
	tally_wait(p, PRIMITIVES[p].block(t, id, timeout));
	set_state(t, T_RUNNING);
}

static void destroy_one(struct team *t, unsigned int p)
{
	int i = (int)rng_below(&t->r, MAX_OBJECTS);
	int32_t id = t->me->ids[p][i];

	if (!id)
		return;
	__atomic_store_n(&t->me->ids[p][i], 0, __ATOMIC_RELEASE);
	PRIMITIVES[p].destroy(t, id);
}

enum { A_CREATE, A_BLOCK_OWN, A_BLOCK_OTHER, A_POKE_OWN, A_POKE_OTHER, A_DESTROY, NR_A };
static const uint8_t ACTION_WEIGHTS[NR_A] = { 2, 3, 5, 2, 5, 1 };

static unsigned int pick(struct rng *r, const uint8_t *weights, unsigned int n)
{
	unsigned int total = 0, x;

	for (unsigned int i = 0; i < n; i++)
		total += weights[i];
	x = (unsigned int)rng_below(r, total);
	for (unsigned int i = 0; i < n; i++) {
		if (x < weights[i])
			return i;
		x -= weights[i];
	}
	return n - 1;
}

static void act(struct team *t)
{
	unsigned int p = (unsigned int)rng_below(&t->r, NR_PRIMITIVES);
	int32_t id;

	switch (pick(&t->r, ACTION_WEIGHTS, NR_A)) {
	case A_CREATE: create_one(t, p); break;
	case A_BLOCK_OWN: block_on(t, p, true); break;
	case A_BLOCK_OTHER: block_on(t, p, false); break;
	case A_POKE_OWN:
	case A_POKE_OTHER:
		id = some_id(t, p, rng_chance(&t->r, 1, 3));
		if (id)
			PRIMITIVES[p].poke(t, id);
		break;
	default: destroy_one(t, p); break;
	}
}

static void child_main(struct slot *me, uint64_t seed)
{
	struct team t = { .me = me, .r = rng_for(seed, me->index, 1) };
	unsigned int actions = 4 + (unsigned int)rng_below(&t.r, 21);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	nx_touch_setup();
	t.may_block_forever = me->fate != F_EXIT;
	t.buf = mmap(NULL, BUF_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (t.buf == MAP_FAILED)
		_exit(70);
	t.fd = nx_open();
	if (t.fd < 0)
		_exit(3);
	t.afd = nx_area_open();
	t.nfd = sh->node_monitor ? nm_open() : -ENODEV;
	set_state(&t, T_CREATING);
	/* The main thread is a thread object too: others send to it, it receives. */
	if (nx_thread_info(t.fd, 0, NULL, NULL, NULL) == B_OK)
		publish(&t, P_THREAD, nx_gettid());
	/* One to four of each; threads and areas (a pthread, a memfd and its mapping) cost more: one or two. */
	for (unsigned int p = 0; p < NR_PRIMITIVES; p++)
		for (uint64_t n = 1 + rng_below(&t.r, p == P_THREAD || p == P_AREA ? 2 : p >= P_VREF ? 3 : 4); n > 0; n--)
			create_one(&t, p);
	set_state(&t, T_RUNNING);
	if (me->fate != F_EXIT) {
		for (;;)	/* until the parent's SIGKILL */
			act(&t);
	}
	while (actions-- > 0)
		act(&t);
	set_state(&t, T_DONE);
	_exit(0);
}

/* ---- the parent ------------------------------------------------------------------ */

#define OVERDUE_MS	60000	/* an "exit" child still there by then is overdue */
#define SAMPLE_MS	50

struct options {
	uint64_t seed;
	unsigned int teams, alive, deadline_s, max_life_ms;
	bool node_monitor;	/* vrefs, watches and the churner (--node-monitor 0: none) */
};

static const char *const PEAKS[] = { "teams", "ports", "sems", "port_messages", "port_bytes", "waiters",
	"threads", "thread_messages", "areas", "area_space", "vrefs", "vref_slots", "watches", "node_events",
	"port_caps" };
#define NR_PEAKS COUNT_OF(PEAKS)

struct parent {
	const struct options *o;
	struct rng r;
	int64_t start_ms, next_sample_ms;
	unsigned int spawned, live, exited, overdue;
	uint64_t fates[NR_FATES], killed_in[NR_STATES], killed_blocked_in[NR_BK];
	long peak[NR_PEAKS];
	unsigned int peak_table;
	bool have_counters, stop, deadline_hit;
	struct report stuck, crashed;
};

/* When the parent kills a child of this fate (blocked: decided once it blocks). */
static int64_t kill_time(struct parent *P, unsigned int fate, int64_t now)
{
	switch (fate) {
	case F_EARLY: return now + (int64_t)rng_below(&P->r, 2);	/* or sooner: watch_slot */
	case F_RANDOM: return now + 1 + (int64_t)rng_below(&P->r, P->o->max_life_ms);
	case F_BLOCKED: return now + P->o->max_life_ms * 4;	/* if it never blocks */
	default: return now + OVERDUE_MS;
	}
}

static void kill_slot(struct parent *P, struct slot *s, int64_t now);

static void spawn(struct parent *P, struct slot *s)
{
	int64_t now = mono_ms();
	unsigned int fate = pick(&P->r, FATE_WEIGHTS, NR_FATES);
	pid_t pid;

	memset(s, 0, sizeof(*s));
	s->fate = fate;
	s->index = P->spawned;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		perror("nexus-stress: fork");
		P->stop = true;
		return;
	}
	if (pid == 0)
		child_main(s, P->o->seed);
	s->pid = pid;
	s->spawned_ms = now;
	s->kill_at_ms = kill_time(P, fate, now);
	P->spawned++;
	/*
	 * Two thirds of the early ones die at once or after a spin of up to
	 * 1.5 ms (finer than the parent's ticks): before they start, while
	 * they open the device or create their objects.
	 */
	if (fate == F_EARLY && !rng_chance(&P->r, 1, 3)) {
		int64_t until = mono_us() + (int64_t)rng_below(&P->r, 1500);

		while (mono_us() < until)
			;
		kill_slot(P, s, now);
	}
	P->live++;
	P->fates[fate]++;
}

static void kill_slot(struct parent *P, struct slot *s, int64_t now)
{
	int32_t state = __atomic_load_n(&s->state, __ATOMIC_ACQUIRE);

	if (s->killed_ms)
		return;
	if (state >= 0 && state < NR_STATES)
		P->killed_in[state]++;
	if (state == T_BLOCKED) {
		int32_t in = __atomic_load_n(&s->blocked_in, __ATOMIC_ACQUIRE);

		if (in >= 0 && in < NR_BK)
			P->killed_blocked_in[in]++;
	}
	kill(s->pid, SIGKILL);
	s->killed_ms = now;
}

static void mark_stuck(struct parent *P, struct slot *s)
{
	char wchan[64];
	char state = proc_state(s->pid, wchan, sizeof(wchan));

	add_report(&P->stuck, "team %d (%s) not reaped %d s after SIGKILL: state %c, wchan %s",
		   (int)s->pid, STATE_NAMES[s->state % NR_STATES], REAP_MS / 1000,
		   state ? state : '?', wchan[0] ? wchan : "?");
	fprintf(stderr, "nexus-stress: %s\n", P->stuck.text[P->stuck.n ? P->stuck.n - 1 : 0]);
	s->pid = 0;
	P->live--;
	P->stop = true;	/* the kernel is wedged: stop the storm */
}

/* Time to kill this child?  (Or to give up on reaping it.) */
static void watch_slot(struct parent *P, struct slot *s, int64_t now)
{
	int64_t blocked = __atomic_load_n(&s->blocked_since_ms, __ATOMIC_ACQUIRE);

	if (s->killed_ms) {
		if (now - s->killed_ms > REAP_MS)
			mark_stuck(P, s);
		return;
	}
	if (s->fate == F_BLOCKED && blocked && s->kill_at_ms > blocked + 20)
		s->kill_at_ms = blocked + (int64_t)rng_below(&P->r, 21);
	if (now < s->kill_at_ms)
		return;
	if (s->fate == F_EXIT) {
		P->overdue++;
		violation("team %d should have ended by itself but was still %s after %d s",
			  (int)s->pid, STATE_NAMES[s->state % NR_STATES], OVERDUE_MS / 1000);
	}
	kill_slot(P, s, now);
}

static struct slot *slot_of(pid_t pid)
{
	for (unsigned int i = 0; i < sh->alive; i++)
		if (sh->slots[i].pid == pid)
			return &sh->slots[i];
	return NULL;
}

static void reaped(struct parent *P, struct slot *s, int st)
{
	char how[32];

	if (WIFEXITED(st) && WEXITSTATUS(st) == 0) {
		P->exited++;
	} else if (!(s->killed_ms && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)) {
		describe_status(st, how, sizeof(how));
		add_report(&P->crashed, "team %d (fate %s, %s) ended by %s", (int)s->pid,
			   FATE_NAMES[s->fate], STATE_NAMES[s->state % NR_STATES], how);
	}
	memset(s->ids, 0, sizeof(s->ids));
	memset(s->keys, 0, sizeof(s->keys));
	s->pid = 0;
	P->live--;
}

static void reap_any(struct parent *P)
{
	pid_t pid;
	int st;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct slot *s = slot_of(pid);
		char how[32];

		if (s) {
			reaped(P, s, st);
		} else if (pid == churner) {
			churner = 0;
			describe_status(st, how, sizeof(how));
			add_report(&P->crashed, "the churner (pid %d) ended by %s", (int)pid, how);
		}
	}
}

static void sample(struct parent *P)
{
	char text[4096];
	unsigned int objects = 0;

	for (unsigned int i = 0; i < sh->alive; i++)
		for (unsigned int p = 0; p < NR_PRIMITIVES; p++)
			for (unsigned int k = 0; k < MAX_OBJECTS; k++)
				objects += sh->slots[i].ids[p][k] != 0;
	if (objects > P->peak_table)
		P->peak_table = objects;
	if (!P->have_counters || !read_counters(text, sizeof(text)))
		return;
	for (size_t i = 0; i < NR_PEAKS; i++) {
		long v = counter_value(text, PEAKS[i]);

		if (v > P->peak[i])
			P->peak[i] = v;
	}
}

static void tick(struct parent *P, int64_t now)
{
	reap_any(P);
	for (unsigned int i = 0; i < sh->alive; i++)
		if (sh->slots[i].pid)
			watch_slot(P, &sh->slots[i], now);
	for (unsigned int i = 0; i < sh->alive && !P->stop && P->spawned < P->o->teams; i++)
		if (!sh->slots[i].pid)
			spawn(P, &sh->slots[i]);
	if (now >= P->next_sample_ms) {
		sample(P);
		P->next_sample_ms = now + SAMPLE_MS;
	}
}

/* Kill every child left and reap them all, REAP_MS at most. */
static void finish(struct parent *P)
{
	int64_t now = mono_ms(), until = now + REAP_MS;

	for (unsigned int i = 0; i < sh->alive; i++)
		if (sh->slots[i].pid)
			kill_slot(P, &sh->slots[i], now);
	for (unsigned int i = 0; i < sh->alive; i++) {
		struct slot *s = &sh->slots[i];
		int st;

		if (!s->pid)
			continue;
		if (reap_until(s->pid, until, &st))
			reaped(P, s, st);
		else
			mark_stuck(P, s);
	}
}

static void storm(struct parent *P)
{
	int64_t deadline, progress;

	P->start_ms = mono_ms();
	deadline = P->start_ms + (int64_t)P->o->deadline_s * 1000;
	progress = P->start_ms + 10000;
	while (!P->stop && (P->spawned < P->o->teams || P->live > 0)) {
		int64_t now = mono_ms();

		if (now >= deadline) {
			P->deadline_hit = true;
			break;
		}
		tick(P, now);
		if (now >= progress) {
			fprintf(stderr, "nexus-stress: %.1f s: %u teams started, %u alive\n",
				(double)(now - P->start_ms) / 1000, P->spawned, P->live);
			progress = now + 10000;
		}
		sleep_us(500);
	}
	finish(P);
}

/* ---- the churner: events for the watches, a tmpfs mounted and unmounted under them -- */


/* As nexus-fuzz's: on the root file system (user xattrs), with sub/, f0..f3 and mnt/. */
static bool setup_scratch(void)
{
	static const char *const bases[] = { "/var/tmp", "/tmp" };
	char path[300];

	for (size_t i = 0; i < COUNT_OF(bases); i++) {
		snprintf(sh->scratch, sizeof(sh->scratch), "%s/nexus-stress-XXXXXX", bases[i]);
		if (mkdtemp(sh->scratch))
			break;
		sh->scratch[0] = '\0';
	}
	if (!sh->scratch[0])
		return false;
	chmod(sh->scratch, 0755);
	snprintf(sh->mnt, sizeof(sh->mnt), "%s/mnt", sh->scratch);
	mkdir(sh->mnt, 0755);
	snprintf(path, sizeof(path), "%s/sub", sh->scratch);
	mkdir(path, 0755);
	for (int i = 0; i < 4; i++)
		nm_churn_once(sh->scratch, NM_OP_CREATE | (uint64_t)i << 8);
	return true;
}

/*
 * Until killed: a tmpfs mounted on mnt, files made in it (the teams watch
 * them, make vrefs of them, watch the volume), 5..40 ms of churn there and
 * in the scratch directory, then unmounted under the live watches - a
 * plain umount, or a lazy one when a vref or an open descriptor keeps it
 * busy - and again.
 */
static void churn_main(uint64_t seed)
{
	struct rng r = rng_for(seed, 0xc4, 1);

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	for (;;) {
		bool mounted = mount("nexus-stress", sh->mnt, "tmpfs", 0, "size=1m,mode=0755") == 0;
		int64_t until = mono_ms() + 5 + (int64_t)rng_below(&r, 36);

		if (mounted) {
			count(&sh->mounts);
			for (int i = 0; i < 4; i++)
				nm_churn_once(sh->mnt, NM_OP_CREATE | (uint64_t)i << 8);
		}
		while (mono_ms() < until) {
			for (uint64_t n = 1 + rng_below(&r, 8); n > 0; n--) {
				nm_churn_once(mounted && rng_chance(&r, 1, 3) ? sh->mnt : sh->scratch, rng_next(&r));
				count(&sh->churn_ops);
			}
			sleep_us(500 + (int64_t)rng_below(&r, 1500));
		}
		if (!mounted) {
			sleep_us(10000);
			continue;
		}
		if (umount(sh->mnt) < 0) {
			if (errno != EBUSY || umount2(sh->mnt, MNT_DETACH) < 0)
				continue;
			count(&sh->lazy_umounts);
		}
		count(&sh->umounts);
	}
}

static void start_churner(uint64_t seed)
{
	fflush(NULL);
	churner = fork();
	if (churner == 0)
		churn_main(seed);
	if (churner < 0)
		perror("nexus-stress: fork (churner)");
}

static void stop_churner(void)
{
	int st;

	if (churner > 0)
		kill_and_reap(churner, REAP_MS, &st);
	churner = 0;
	while (sh->mnt[0] && umount2(sh->mnt, MNT_DETACH) == 0)
		;
	if (sh->scratch[0])
		nm_remove_tree(sh->scratch, true);
}

/* ---- the summary -------------------------------------------------------------- */

static void print_counts(const char *key, const char *const *names, const uint64_t *v, size_t n)
{
	printf(",\"%s\":{", key);
	for (size_t i = 0; i < n; i++)
		printf("%s\"%s\":%" PRIu64, i ? "," : "", names[i], v[i]);
	putchar('}');
}

static void print_summary(const struct parent *P, int64_t wall_ms)
{
	printf("{\"seed\":%" PRIu64 ",\"teams\":%u,\"alive\":%u,\"spawned\":%u,\"wall_ms\":%" PRId64
	       ",\"exited\":%u,\"overdue\":%u,\"violations\":%" PRIu64 ",\"deadline_hit\":%s"
	       ",\"peak_table_objects\":%u,\"violation\":",
	       P->o->seed, P->o->teams, sh->alive, P->spawned, wall_ms, P->exited, P->overdue,
	       sh->violations, P->deadline_hit ? "true" : "false", P->peak_table);
	json_string(stdout, sh->violation);
	print_counts("fates", FATE_NAMES, P->fates, NR_FATES);
	print_counts("killed_in", STATE_NAMES, P->killed_in, NR_STATES);
	print_counts("waits", WS_NAMES, sh->waits, NR_WS);
	print_counts("killed_blocked_in", BK_NAMES, P->killed_blocked_in, NR_BK);
	printf(",\"created\":{");
	for (unsigned int p = 0; p < NR_PRIMITIVES; p++)
		printf("%s\"%s\":%" PRIu64, p ? "," : "", PRIMITIVES[p].name, sh->created[p]);
	putchar('}');
	printf(",\"peak\":{");
	for (size_t i = 0, n = 0; i < NR_PEAKS && P->have_counters; i++)
		if (P->peak[i] >= 0)
			printf("%s\"%s\":%ld", n++ ? "," : "", PEAKS[i], P->peak[i]);
	putchar('}');
	printf(",\"nm\":{\"events\":%" PRIu64 ",\"caps_sent\":%" PRIu64 ",\"caps_refused\":%" PRIu64
	       ",\"slots_minted\":%" PRIu64 ",\"forged_refused\":%" PRIu64 ",\"churn_ops\":%" PRIu64
	       ",\"mounts\":%" PRIu64 ",\"umounts\":%" PRIu64 ",\"lazy_umounts\":%" PRIu64
	       ",\"watches\":{\"ok\":%" PRIu64 ",\"node_gone\":%" PRIu64 ",\"port_gone\":%" PRIu64 ",\"other\":%" PRIu64 "}",
	       sh->events, sh->caps_sent, sh->caps_refused, sh->slots_minted, sh->forged_refused, sh->churn_ops,
	       sh->mounts, sh->umounts, sh->lazy_umounts, sh->watch_status[0], sh->watch_status[1],
	       sh->watch_status[2], sh->watch_status[3]);
	print_counts("by_opcode", NM_OP_NAMES, sh->by_op, NM_NR_OPS);
	putchar('}');
	print_report("stuck", &P->stuck);
	print_report("crashed", &P->crashed);
	printf("}\n");
	fflush(stdout);
}

/* ---- main ------------------------------------------------------------------------ */

static void usage(void)
{
	fprintf(stderr, "usage: nexus-stress [--teams N] [--alive N] [--seed N] [--deadline S]\n"
		"                    [--max-life-ms N] [--node-monitor 0|1]\n");
	exit(2);
}

static uint64_t number(const char *s)
{
	return parse_number(s, usage);
}

static void parse(int argc, char **argv, struct options *o)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (i + 1 >= argc)
			usage();
		if (!strcmp(a, "--teams"))
			o->teams = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--alive"))
			o->alive = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--seed"))
			o->seed = number(argv[++i]);
		else if (!strcmp(a, "--deadline"))
			o->deadline_s = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--max-life-ms"))
			o->max_life_ms = (unsigned int)number(argv[++i]);
		else if (!strcmp(a, "--node-monitor"))
			o->node_monitor = number(argv[++i]) != 0;
		else
			usage();
	}
	if (o->teams < 1 || o->alive < 2 || o->alive > MAX_ALIVE || o->max_life_ms < 1)
		usage();
}

int main(int argc, char **argv)
{
	struct options o = { .seed = (uint64_t)time(NULL), .teams = 5000, .alive = 32,
		.deadline_s = 300, .max_life_ms = 100, .node_monitor = true };
	struct parent P = { .o = &o };
	char text[1024];
	int fd;

	parse(argc, argv, &o);
	fprintf(stderr, "nexus-stress: seed %" PRIu64 ", %u teams, %u alive at once\n",
		o.seed, o.teams, o.alive);
	fd = nx_open();	/* can we at all?  (Closed at once: the parent is no team.) */
	if (fd < 0) {
		fprintf(stderr, "nexus-stress: %s: %s\n", NEXUS_DEVICE_PATH, strerror(-fd));
		return 3;
	}
	close(fd);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED) {
		perror("nexus-stress: mmap");
		return 70;
	}
	report_crashes(sh, sizeof(*sh));
	sh->alive = o.alive;
	for (size_t i = 0; i < NR_PEAKS; i++)
		P.peak[i] = -1;	/* a counter the tree lacks stays out of the summary */
	P.r = rng_for(o.seed, 0xffff, 0);
	P.have_counters = read_counters(text, sizeof(text));
	sh->node_monitor = o.node_monitor;
	if (!o.node_monitor)
		fprintf(stderr, "nexus-stress: without vrefs, watches and the churner (--node-monitor 0)\n");
	else if (setup_scratch())
		start_churner(o.seed);
	else
		fprintf(stderr, "nexus-stress: no scratch directory for the node monitor: %s\n", strerror(errno));
	storm(&P);
	stop_churner();
	print_summary(&P, mono_ms() - P.start_ms);
	return sh->violations || P.stuck.n || P.crashed.n ? 1 : 0;
}
