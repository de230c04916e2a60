// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-bench-nm: the node monitor against inotify doing the same watch, in
 * the same guest, on the same directory.
 *
 *   nexus-bench-nm [--iterations N] [--warmup N] [--rounds R] [--deadline S] [MODE...]
 *
 * Latency (one file operation, then the one message that tells of it read
 * by the watcher: the time from just before the operation to just after
 * the read returns):
 *   nm-create        open(O_CREAT) + close of a new file in a directory
 *                    watched with B_WATCH_DIRECTORY; read_port of its
 *                    B_ENTRY_CREATED (decoded: opcode and name checked)
 *   inotify-create   the same directory watched with IN_CREATE; read(2)
 *                    of its IN_CREATE event (name checked)
 *   nm-chmod         chmod of a file watched with B_WATCH_STAT; its
 *                    B_STAT_CHANGED (fields: B_STAT_MODE)
 *   inotify-chmod    the same file watched with IN_ATTRIB
 *   nm-rename        rename within the watched directory; its
 *                    B_ENTRY_MOVED (both names)
 *   inotify-rename   the same with IN_MOVED_FROM | IN_MOVED_TO: until the
 *                    IN_MOVED_TO (the second of the pair) is read
 * (the create modes unlink the file after each sample, untimed, and read
 * the removal's event too.)
 *
 * Throughput (a burst of creates while the watcher reads on another
 * thread; the sample is the burst's time from the first create to the
 * last event read, divided by the number of files: ns per event):
 *   nm-burst-1000, inotify-burst-1000
 * (the port holds 4096 messages, inotify's queue 16384 events: nothing is
 * dropped; the files are unlinked after each burst, untimed, their events
 * read.)
 *
 * Output: one JSON line per mode (nexus-bench.h); bytes = files per burst
 * (1 for a latency mode).  Every event is checked; a wrong or missing one
 * (a NEXUS_EVENTS_DROPPED included) prints a message and the program exits 1.
 * The directory is a fresh one under /tmp (a tmpfs in the lab's guest),
 * removed at the end.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "nexus-bench.h"
#include "nexus-nm.h"

enum kind { K_CREATE, K_CHMOD, K_RENAME, K_BURST };
#define INOTIFY 0x100
#define KIND(m) ((m)->kind & ~INOTIFY)
#define BURST 1000

static const struct bench_mode MODES[] = {
	{ "nm-create", K_CREATE, 1 },
	{ "inotify-create", K_CREATE | INOTIFY, 1 },
	{ "nm-chmod", K_CHMOD, 1 },
	{ "inotify-chmod", K_CHMOD | INOTIFY, 1 },
	{ "nm-rename", K_RENAME, 1 },
	{ "inotify-rename", K_RENAME | INOTIFY, 1 },
	{ "nm-burst-1000", K_BURST, BURST },
	{ "inotify-burst-1000", K_BURST | INOTIFY, BURST },
};
#define NMODES (sizeof(MODES) / sizeof(MODES[0]))

static char dir[128];

static void remove_dir(void)
{
	if (dir[0])
		nm_remove_tree(dir, true);	/* async-signal-safe enough for a dying benchmark */
	dir[0] = '\0';
}

/* ---- the two watchers ------------------------------------------------------- */

struct watcher {
	bool inotify;
	int fd;			/* the inotify instance, or /dev/nexus_node_monitor */
	port_id port;
	int wd;
	uint8_t buf[65536];
	/* inotify: events read but not consumed yet */
	size_t have, at;
};

static void watcher_open(struct watcher *w, bool inotify)
{
	memset(w, 0, sizeof(*w));
	w->inotify = inotify;
	if (inotify) {
		w->fd = inotify_init1(IN_CLOEXEC);
		if (w->fd < 0)
			die("inotify_init1: %s", strerror(errno));
		return;
	}
	w->fd = nm_open();
	if (w->fd < 0)
		die("open %s: %s", NEXUS_NODE_MONITOR_DEVICE_PATH, strerror(-w->fd));
	w->port = create_port(NEXUS_PORT_MAX_CAPACITY, "bench-nm");
	if (w->port < 0)
		die("create_port: %s", status_name(w->port));
}

static void watcher_close(struct watcher *w)
{
	if (w->inotify) {
		close(w->fd);
		return;
	}
	nm_stop_notifying(w->fd, w->port, 1);
	delete_port(w->port);
	close(w->fd);
}

/* Watch path: the node monitor's flags or inotify's mask. */
static void watch(struct watcher *w, const char *path, uint32_t nm_flags, uint32_t mask)
{
	int fd, st;

	if (w->inotify) {
		w->wd = inotify_add_watch(w->fd, path, mask);
		if (w->wd < 0)
			die("inotify_add_watch(%s): %s", path, strerror(errno));
		return;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		die("open %s: %s", path, strerror(errno));
	st = nm_watch(w->fd, fd, nm_flags, w->port, 1, 0);
	close(fd);
	if (st)
		die("START_WATCHING %s: %s", path, strerror(-st));
}

/* What one event said: its kind (an opcode, or IN_* bits) and name. */
struct seen {
	uint32_t what;
	char name[NM_NAME_MAX];
	int32_t fields;
};

/* Block until the next event; *s says what it was. */
static void next_event(struct watcher *w, struct seen *s, long i)
{
	if (w->inotify) {
		const struct inotify_event *e;

		if (w->at >= w->have) {
			ssize_t n;

			while ((n = read(w->fd, w->buf, sizeof(w->buf))) < 0 && errno == EINTR)
				;
			if (n <= 0)
				die("read(inotify) in iteration %ld: %s", i, n < 0 ? strerror(errno) : "nothing");
			w->have = (size_t)n;
			w->at = 0;
		}
		e = (const struct inotify_event *)(w->buf + w->at);
		w->at += sizeof(*e) + e->len;
		s->what = e->mask;
		snprintf(s->name, sizeof(s->name), "%s", e->len ? e->name : "");
		if (e->mask & IN_Q_OVERFLOW)
			die("inotify: the queue overflowed in iteration %ld", i);
		return;
	} else {
		struct nm_event ev;
		char err[160];
		size_t size = sizeof(w->buf);
		int32_t code = 0;
		ssize_t n = read_port_etc(w->port, &code, w->buf, sizeof(w->buf), 0, 0);

		if (n < 0)
			die("read_port in iteration %ld: %s", i, status_name((int32_t)n));
		size = (size_t)n;
		if ((uint32_t)code != B_NODE_MONITOR)
			die("iteration %ld: a message of code 0x%x, not B_NODE_MONITOR", i, (unsigned int)code);
		if (nm_check(w->buf, size, sizeof(w->buf), &ev, err, sizeof(err)))
			die("iteration %ld: a malformed node monitor message: %s", i, err);
		if ((uint32_t)ev.opcode == NEXUS_EVENTS_DROPPED)
			die("iteration %ld: %d events dropped", i, ev.dropped);
		s->what = (uint32_t)ev.opcode;
		s->fields = ev.fields;
		snprintf(s->name, sizeof(s->name), "%s", ev.name);
	}
}

/* The next event must be `nm_op` / have `mask`, about `name` (NULL: any). */
static void expect_event(struct watcher *w, uint32_t nm_op, uint32_t mask, const char *name, long i)
{
	struct seen s;

	next_event(w, &s, i);
	if (w->inotify ? !(s.what & mask) : s.what != nm_op)
		die("iteration %ld: event 0x%x, expected 0x%x", i, s.what, w->inotify ? mask : nm_op);
	if (name && strcmp(s.name, name))
		die("iteration %ld: an event about \"%s\", expected \"%s\"", i, s.name, name);
}

/* ---- latency ------------------------------------------------------------------ */

static void touch_new(const char *path, long i)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);

	if (fd < 0)
		die("create %s in iteration %ld: %s", path, i, strerror(errno));
	close(fd);
}

static int64_t one_sample(const struct bench_mode *m, struct watcher *w, long i)
{
	char a[256], b[256], name[32];
	int64_t t0, t;

	switch (KIND(m)) {
	case K_CREATE:
		snprintf(name, sizeof(name), "c%ld", i);
		snprintf(a, sizeof(a), "%s/%s", dir, name);
		t0 = now_ns();
		touch_new(a, i);
		expect_event(w, B_ENTRY_CREATED, IN_CREATE, name, i);
		t = now_ns() - t0;
		if (unlink(a))
			die("unlink %s: %s", a, strerror(errno));
		expect_event(w, B_ENTRY_REMOVED, IN_DELETE, name, i);
		return t;
	case K_CHMOD:
		snprintf(a, sizeof(a), "%s/file", dir);
		t0 = now_ns();
		if (chmod(a, i % 2 ? 0600 : 0644))
			die("chmod %s: %s", a, strerror(errno));
		expect_event(w, B_STAT_CHANGED, IN_ATTRIB, NULL, i);
		return now_ns() - t0;
	default:
		snprintf(a, sizeof(a), "%s/%s", dir, i % 2 ? "r1" : "r0");
		snprintf(b, sizeof(b), "%s/%s", dir, i % 2 ? "r0" : "r1");
		t0 = now_ns();
		if (rename(a, b))
			die("rename %s: %s", a, strerror(errno));
		if (w->inotify)
			expect_event(w, 0, IN_MOVED_FROM, i % 2 ? "r1" : "r0", i);
		expect_event(w, B_ENTRY_MOVED, IN_MOVED_TO, i % 2 ? "r0" : "r1", i);
		return now_ns() - t0;
	}
}

static void setup_latency(const struct bench_mode *m, struct watcher *w)
{
	char path[256];

	switch (KIND(m)) {
	case K_CREATE:
		watch(w, dir, B_WATCH_DIRECTORY, IN_CREATE | IN_DELETE);
		break;
	case K_CHMOD:
		snprintf(path, sizeof(path), "%s/file", dir);
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		watch(w, path, B_WATCH_STAT, IN_ATTRIB);
		break;
	default:
		snprintf(path, sizeof(path), "%s/r0", dir);
		close(open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
		watch(w, dir, B_WATCH_DIRECTORY, IN_MOVED_FROM | IN_MOVED_TO);
		break;
	}
}

static void latency_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	struct watcher *w = malloc(sizeof(*w));
	char path[256];
	long i;

	if (!w)
		die("out of memory");
	watcher_open(w, m->kind & INOTIFY);
	setup_latency(m, w);
	for (i = 0; i < warmup; i++)
		one_sample(m, w, i);
	for (i = 0; i < iterations; i++)
		out[i] = one_sample(m, w, warmup + i);
	watcher_close(w);
	free(w);
	/* Back to an empty directory: the next round starts the same way. */
	for (const char *n = "file\0r0\0r1\0"; *n; n += strlen(n) + 1) {
		snprintf(path, sizeof(path), "%s/%s", dir, n);
		unlink(path);
	}
}

/* ---- throughput ------------------------------------------------------------------ */

struct burst {
	struct watcher *w;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int want;		/* events the reader is to read (0: none yet), -1: quit */
	int64_t done_ns;	/* when it read the last one */
	long i;
};

static void *burst_reader(void *p)
{
	struct burst *b = p;

	for (;;) {
		struct seen s;
		int want;

		pthread_mutex_lock(&b->lock);
		while (b->want == 0)
			pthread_cond_wait(&b->cond, &b->lock);
		want = b->want;
		pthread_mutex_unlock(&b->lock);
		if (want < 0)
			return NULL;
		for (int k = 0; k < want; k++) {
			next_event(b->w, &s, b->i);
			if (b->w->inotify ? !(s.what & (IN_CREATE | IN_DELETE)) :
			    s.what != B_ENTRY_CREATED && s.what != B_ENTRY_REMOVED)
				die("burst %ld: event 0x%x", b->i, s.what);
		}
		pthread_mutex_lock(&b->lock);
		b->done_ns = now_ns();
		b->want = 0;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
}

/* Hand the reader `n` events to read; the creates (or unlinks) follow at once. */
static void burst_expect(struct burst *b, int n)
{
	pthread_mutex_lock(&b->lock);
	b->want = n;
	pthread_cond_broadcast(&b->cond);
	pthread_mutex_unlock(&b->lock);
}

static int64_t burst_wait(struct burst *b)
{
	int64_t t;

	pthread_mutex_lock(&b->lock);
	while (b->want != 0)
		pthread_cond_wait(&b->cond, &b->lock);
	t = b->done_ns;
	pthread_mutex_unlock(&b->lock);
	return t;
}

static int64_t one_burst(const struct bench_mode *m, struct burst *b, long i)
{
	char path[256];
	int64_t t0, t1;
	int n = (int)m->bytes;

	b->i = i;
	burst_expect(b, n);
	t0 = now_ns();
	for (int k = 0; k < n; k++) {
		snprintf(path, sizeof(path), "%s/b%d", dir, k);
		touch_new(path, i);
	}
	t1 = burst_wait(b);
	/* Untimed: the removals and their events. */
	burst_expect(b, n);
	for (int k = 0; k < n; k++) {
		snprintf(path, sizeof(path), "%s/b%d", dir, k);
		if (unlink(path))
			die("unlink %s: %s", path, strerror(errno));
	}
	burst_wait(b);
	return (t1 - t0) / n;
}

static void burst_round(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	struct burst b = { .lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER };
	pthread_t reader;
	long i;

	b.w = malloc(sizeof(*b.w));
	if (!b.w)
		die("out of memory");
	watcher_open(b.w, m->kind & INOTIFY);
	watch(b.w, dir, B_WATCH_DIRECTORY, IN_CREATE | IN_DELETE);
	if (pthread_create(&reader, NULL, burst_reader, &b))
		die("pthread_create failed");
	for (i = 0; i < warmup; i++)
		one_burst(m, &b, i);
	for (i = 0; i < iterations; i++)
		out[i] = one_burst(m, &b, warmup + i);
	burst_expect(&b, -1);
	pthread_join(reader, NULL);
	watcher_close(b.w);
	free(b.w);
}

static void round_of(const struct bench_mode *m, long iterations, long warmup, int64_t *out)
{
	if (KIND(m) == K_BURST)
		burst_round(m, iterations, warmup, out);
	else
		latency_round(m, iterations, warmup, out);
}

int main(int argc, char **argv)
{
	int rc;

	who = "nexus-bench-nm";
	snprintf(dir, sizeof(dir), "/tmp/nexus-bench-nm-XXXXXX");
	if (!mkdtemp(dir))
		die("mkdtemp: %s", strerror(errno));
	bench_cleanup = remove_dir;
	rc = bench_main(argc, argv, MODES, NMODES, round_of);
	bench_cleanup = NULL;
	remove_dir();
	return rc;
}
