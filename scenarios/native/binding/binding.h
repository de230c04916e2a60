/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexus.node: the N-API binding of libnexus for the lab's scenarios.
 *
 * Plain C over node_api.h (N-API 8: the guest runs node 18), linked with
 * libnexus.a.  Every function returns what libnexus returns: Haiku status
 * values, never exceptions; only wrong argument types throw.  The *Async
 * variants run the (possibly blocking) call on the libuv thread pool: the
 * pool's threads belong to this process, hence to its team.
 *
 * Laid out like kernel/nexus/: this header and core.c (argument parsing,
 * value builders), async.c (the thread-pool machinery), module.c (the
 * constants and the module's init), then one file per primitive: ports.c,
 * sems.c, threads.c, areas.c, vrefs.c (vrefs and the port messages that
 * carry them), nodemon.c (the node monitor's requests, raw), and raw.c
 * (process helpers, requests that go around libnexus).  Each primitive file exports a table of its functions
 * that module.c puts on the module's exports.
 *
 * Built with -fvisibility=hidden: the helpers below are shared by the files
 * of the binding only, never interposed by a symbol of node's own.
 */
#ifndef NEXUS_BINDING_H
#define NEXUS_BINDING_H

#define NAPI_VERSION 8
#include <node_api.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <nexus.h>
#include "libnexus.h"

#define MAX_ARGS 6
/* Larger read buffers than this are a scenario's mistake. */
#define MAX_READ_BUFFER (64 * 1024 * 1024)

/* ---- core.c: arguments and results -------------------------------------- */

/* Throw the pending N-API error, unless an exception is already pending. */
void throw_napi_error(napi_env env);
void throw_type(napi_env env, const char *fmt, const char *what);
void throw_oom(napi_env env);

#define NAPI_OK(env, call)                      \
	do {                                    \
		if ((call) != napi_ok) {        \
			throw_napi_error(env);  \
			return NULL;            \
		}                               \
	} while (0)

/* The first want arguments (more are ignored; fewer throw). */
bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv);
/* The same with optional ones up to max (<= MAX_ARGS): those missing are undefined. */
bool get_opt_args(napi_env env, napi_callback_info info, size_t want, size_t max, napi_value *argv);
bool is_undefined(napi_env env, napi_value v);
/* An integral number in [min, max]. */
bool get_int(napi_env env, napi_value v, const char *what, double min, double max, int64_t *out);
bool get_i32(napi_env env, napi_value v, const char *what, __s32 *out);
bool get_u32(napi_env env, napi_value v, const char *what, __u32 *out);
/* A buffer size in [0, MAX_READ_BUFFER]. */
bool get_size(napi_env env, napi_value v, const char *what, size_t *out);
/*
 * A timeout in microseconds: a number (Infinity = forever, clamped to the
 * int64 range) or a bigint (clamped as well).
 */
bool get_timeout(napi_env env, napi_value v, bigtime_t *out);
/* The bytes of a TypedArray (Buffer included), DataView or ArrayBuffer. */
bool get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len);
/* A name: a string (malloc'd copy in *out) or null/undefined (NULL). */
bool get_name(napi_env env, napi_value v, char **out);
/* A bigint as the raw 64 bits of a pointer or an ioctl argument. */
bool get_raw64(napi_env env, napi_value v, const char *what, uint64_t *out);

napi_value num(napi_env env, double x);
bool set_num(napi_env env, napi_value obj, const char *key, double x);
bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t max);
bool set_val(napi_env env, napi_value obj, const char *key, napi_value v);
bool set_bigint(napi_env env, napi_value obj, const char *key, int64_t x);
/* An unsigned bigint (a vref key, a device or inode number). */
bool set_biguint(napi_env env, napi_value obj, const char *key, uint64_t x);
/* { status, info? }: info only when status is B_OK. */
napi_value status_info(napi_env env, double status, napi_value info);

/* f(id) -> status, for the one-id calls. */
napi_value id_call(napi_env env, napi_callback_info info, status_t (*f)(__s32));

/*
 * (id, code, data[, flags, timeout]) -> status, for the calls that send a
 * message: write_port(_etc), send_data(_etc).  @id_name names the id in
 * argument errors ("id", "tid").
 */
typedef status_t (*message_fn)(__s32 id, __s32 code, const void *data, size_t len);
typedef status_t (*message_etc_fn)(__s32 id, __s32 code, const void *data, size_t len,
				   __u32 flags, bigtime_t timeout);
napi_value message_call(napi_env env, napi_callback_info info, const char *id_name, message_fn f);
napi_value message_etc_call(napi_env env, napi_callback_info info, const char *id_name, message_etc_fn f);

/* ---- async.c: calls on the libuv thread pool ---------------------------- */

/*
 * One call on the pool: the JS thread fills the inputs, execute() runs on a
 * pool thread (no N-API there), complete() builds the promise's value back
 * on the JS thread (NULL: the number result).
 */
struct async_req {
	napi_async_work work;
	napi_deferred deferred;
	void (*execute)(struct async_req *r);
	napi_value (*complete)(napi_env env, struct async_req *r);
	__s32 id;
	__s32 code;		/* in for writes, out for reads */
	__s32 count;
	__u32 flags;
	bigtime_t timeout;
	void *buf;		/* a copy of the data written, or the read buffer */
	size_t size;
	void *extra;		/* a second buffer (caps read), freed with r */
	ssize_t result;
	union {
		struct port_message_info message;
		size_t caps_count;
	} out;
};

struct async_req *async_new(napi_env env, void (*execute)(struct async_req *r),
			    napi_value (*complete)(napi_env env, struct async_req *r));
void async_free(napi_env env, struct async_req *r);
/* Queue r; its promise, or NULL (r freed) with an exception pending. */
napi_value async_start(napi_env env, struct async_req *r, const char *name);
/* r->buf = a copy of data (the JS buffer may change meanwhile), r->size = len. */
bool async_copy(napi_env env, struct async_req *r, const void *data, size_t len);
/* r->buf = a buffer of r->size bytes (at least one) to read into. */
bool async_buffer(napi_env env, struct async_req *r);

/* ---- the functions of each file, put on the exports by module.c --------- */

struct binding_fn {
	const char *name;
	napi_callback fn;
};

/* Each table ends with { NULL, NULL }. */
extern const struct binding_fn port_fns[];
extern const struct binding_fn sem_fns[];
extern const struct binding_fn thread_fns[];
extern const struct binding_fn area_fns[];
extern const struct binding_fn vref_fns[];
extern const struct binding_fn nodemon_fns[];
extern const struct binding_fn raw_fns[];

#endif /* NEXUS_BINDING_H */
