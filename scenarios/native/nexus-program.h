/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Thread programs: what a thread spawned by the binding's spawnThread or by
 * nexus-agent's thread_spawn runs, and the record of what it did.
 *
 * A program is a list of ops (receive, send, wait, sleep, then return, exit
 * or pthread_exit).  prog_spawn() hands it to libnexus's spawn_thread, so
 * the thread starts suspended; the first thing its body does once resumed
 * is to note the time (CLOCK_MONOTONIC µs): a record that was never
 * started proves the thread ran nothing before resume_thread.  Each op then
 * records its status, code, sender, bytes and start/end times.
 *
 * Records live in one list per process under one lock, newest first, found
 * by tid.  A running thread writes only its own record and never touches it
 * once it is done; done records are kept for reports, at most
 * PROG_KEEP_DONE of them (older ones are freed), and a done record whose tid
 * a new thread reuses is freed at once.  When spawn_thread fails, libnexus
 * guarantees the thread never runs the program: its record goes at once.
 *
 * Header only, every function static inline (like nexus-storm.h): the
 * binding (binding/threads.c) and nexus-agent include it.
 */
#ifndef NEXUS_PROGRAM_H
#define NEXUS_PROGRAM_H

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nexus.h>
#include "libnexus.h"

/* Ops per program, and done records kept for reports. */
#define PROG_MAX_OPS 256
#define PROG_KEEP_DONE 256

enum prog_kind {
	PROG_RECEIVE,		/* receive_data, or receive_data_etc */
	PROG_SEND,		/* send_data, or send_data_etc */
	PROG_WAIT,		/* wait_for_thread, or wait_for_thread_etc */
	PROG_SLEEP,		/* sleep us microseconds (through signals) */
	PROG_RETURN,		/* return code from the thread function */
	PROG_EXIT,		/* exit_thread(code) */
	PROG_PTHREAD_EXIT,	/* pthread_exit: the thread ends without a code */
};

static const char *const prog_kind_names[] = {
	[PROG_RECEIVE] = "receive",
	[PROG_SEND] = "send",
	[PROG_WAIT] = "wait",
	[PROG_SLEEP] = "sleep",
	[PROG_RETURN] = "return",
	[PROG_EXIT] = "exit",
	[PROG_PTHREAD_EXIT] = "pthread_exit",
};

struct prog_op {
	enum prog_kind kind;
	bool etc;		/* flags and timeout given: the _etc call */
	__u32 flags;
	bigtime_t timeout;
	thread_id target;	/* send, wait */
	__s32 code;		/* send, return, exit */
	size_t size;		/* receive: the buffer's size; send: data's */
	unsigned char *data;	/* send: the bytes (owned) */
	bigtime_t us;		/* sleep */
};

struct prog_result {
	/*
	 * receive: receive_data's return (the code, or an error status);
	 * send, wait: the status; the others B_OK.
	 */
	__s32 status;
	__s32 code;		/* wait: the thread's return code; return, exit: code */
	thread_id sender;	/* receive */
	unsigned char *data;	/* receive: the buffer (owned), size bytes */
	size_t size;
	bigtime_t start_us, end_us;
};

struct prog {
	struct prog *next;
	/* Set before the spawn, read-only after. */
	struct prog_op *ops;
	size_t count;
	/* Under prog_lock. */
	thread_id tid;		/* -1 until spawned */
	bigtime_t started_us;	/* 0: not started */
	bool done;		/* the thread is past its last op */
	size_t ran;		/* results[0, ran) are filled */
	struct prog_result *results;	/* count entries */
};

static pthread_mutex_t prog_lock = PTHREAD_MUTEX_INITIALIZER;
static struct prog *prog_list;

/* A program of count ops, to fill in; NULL when out of memory. */
static inline struct prog *prog_new(size_t count)
{
	struct prog *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->tid = -1;
	p->count = count;
	p->ops = calloc(count ? count : 1, sizeof(*p->ops));
	p->results = calloc(count ? count : 1, sizeof(*p->results));
	if (!p->ops || !p->results) {
		free(p->ops);
		free(p->results);
		free(p);
		return NULL;
	}
	return p;
}

static inline void prog_free(struct prog *p)
{
	for (size_t i = 0; i < p->count; i++) {
		free(p->ops[i].data);
		free(p->results[i].data);
	}
	free(p->ops);
	free(p->results);
	free(p);
}

static inline void prog_sleep(bigtime_t us)
{
	struct timespec ts = { .tv_sec = us / 1000000, .tv_nsec = us % 1000000 * 1000 };

	while (us > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Run one op; false when the thread ends here (return: *code is its value). */
static inline bool prog_step(struct prog_op *op, struct prog_result *r, status_t *code)
{
	status_t rv = 0;

	r->status = B_OK;
	switch (op->kind) {
	case PROG_RECEIVE:
		/*
		 * receive_data does not say how many bytes it copied: the
		 * whole buffer is kept, zeroed first.
		 */
		r->data = calloc(1, op->size ? op->size : 1);
		if (!r->data) {
			r->status = B_NO_MEMORY;
			break;
		}
		r->size = op->size;
		r->status = op->etc ? receive_data_etc(&r->sender, r->data, op->size, op->flags, op->timeout)
				    : receive_data(&r->sender, r->data, op->size);
		break;
	case PROG_SEND:
		r->status = op->etc ? send_data_etc(op->target, op->code, op->data, op->size, op->flags,
						    op->timeout)
				    : send_data(op->target, op->code, op->data, op->size);
		break;
	case PROG_WAIT:
		r->status = op->etc ? wait_for_thread_etc(op->target, op->flags, op->timeout, &rv)
				    : wait_for_thread(op->target, &rv);
		r->code = rv;
		break;
	case PROG_SLEEP:
		prog_sleep(op->us);
		break;
	case PROG_RETURN:
	case PROG_EXIT:
		r->code = op->code;
		*code = op->code;
		return false;
	case PROG_PTHREAD_EXIT:
		return false;
	}
	return true;
}

/* The thread function (spawn_thread's), data = its struct prog. */
static inline status_t prog_main(void *data)
{
	struct prog *p = data;
	bigtime_t now = system_time();
	status_t code = B_OK;
	enum prog_kind last = PROG_RETURN;

	pthread_mutex_lock(&prog_lock);
	p->started_us = now;
	pthread_mutex_unlock(&prog_lock);
	for (size_t i = 0; i < p->count; i++) {
		struct prog_result r = { .start_us = system_time() };
		bool more = prog_step(&p->ops[i], &r, &code);

		r.end_us = system_time();
		pthread_mutex_lock(&prog_lock);
		p->results[i] = r;
		p->ran = i + 1;
		if (!more) {
			last = p->ops[i].kind;
			p->done = true;
		}
		pthread_mutex_unlock(&prog_lock);
		if (!more)
			break;
	}
	/* Past this, p may be freed at any time. */
	pthread_mutex_lock(&prog_lock);
	p->done = true;
	pthread_mutex_unlock(&prog_lock);
	if (last == PROG_EXIT)
		exit_thread(code);
	if (last == PROG_PTHREAD_EXIT)
		pthread_exit(NULL);
	return code;
}

/* Under prog_lock: free done records past PROG_KEEP_DONE (the oldest). */
static inline void prog_trim_locked(void)
{
	struct prog **pp = &prog_list;
	unsigned int done = 0;

	while (*pp) {
		struct prog *p = *pp;

		if (p->done && ++done > PROG_KEEP_DONE) {
			*pp = p->next;
			prog_free(p);
			continue;
		}
		pp = &p->next;
	}
}

/*
 * Spawn p's thread (suspended: resume_thread starts it) and keep p for
 * reports: the new tid, or spawn_thread's error (p is freed then).
 */
static inline thread_id prog_spawn(const char *name, struct prog *p)
{
	struct prog **pp;
	thread_id tid;

	pthread_mutex_lock(&prog_lock);
	p->next = prog_list;
	prog_list = p;
	pthread_mutex_unlock(&prog_lock);
	tid = spawn_thread(prog_main, name, B_NORMAL_PRIORITY, p);
	pthread_mutex_lock(&prog_lock);
	p->tid = tid;
	for (pp = &prog_list; *pp;) {
		struct prog *q = *pp;

		/*
		 * p if its spawn failed; a done record whose tid is reused
		 * (its thread is gone).
		 */
		if ((q == p && tid < 0) || (q != p && tid >= 0 && q->tid == tid && q->done)) {
			*pp = q->next;
			prog_free(q);
			continue;
		}
		pp = &q->next;
	}
	prog_trim_locked();
	pthread_mutex_unlock(&prog_lock);
	return tid;
}

/*
 * The record of tid with prog_lock held (NULL: none, the lock still held):
 * read it, then prog_unlock().
 */
static inline const struct prog *prog_lock_find(thread_id tid)
{
	struct prog *p;

	pthread_mutex_lock(&prog_lock);
	for (p = prog_list; p; p = p->next) {
		if (p->tid == tid && tid > 0)
			return p;
	}
	return NULL;
}

static inline void prog_unlock(void)
{
	pthread_mutex_unlock(&prog_lock);
}

/*
 * n hex digits to bytes: a malloc'd buffer in *out (never NULL, even for no
 * bytes); false if not hex (or out of memory).
 */
static inline bool prog_unhex(const char *hex, size_t n, unsigned char **out, size_t *len)
{
	unsigned char *buf;

	*out = NULL;
	*len = 0;
	if (n % 2)
		return false;
	buf = malloc(n ? n / 2 : 1);
	if (!buf)
		return false;
	for (size_t i = 0; i < n; i += 2) {
		int d[2];

		for (int k = 0; k < 2; k++) {
			char c = hex[i + k];

			d[k] = c >= '0' && c <= '9' ? c - '0' :
			       c >= 'a' && c <= 'f' ? c - 'a' + 10 :
			       c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
		}
		if (d[0] < 0 || d[1] < 0) {
			free(buf);
			return false;
		}
		buf[i / 2] = (unsigned char)(d[0] << 4 | d[1]);
	}
	*out = buf;
	*len = n / 2;
	return true;
}

#endif /* NEXUS_PROGRAM_H */
