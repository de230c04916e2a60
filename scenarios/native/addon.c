// SPDX-License-Identifier: GPL-2.0
/*
 * nexus.node: the N-API binding of libnexus for the lab's scenarios.
 *
 * Plain C over node_api.h (N-API 8: the guest runs node 18), linked with
 * libnexus.a.  Every function returns what libnexus returns: Haiku status
 * values, never exceptions; only wrong argument types throw.  The *Async
 * variants run the (possibly blocking) call on the libuv thread pool: the
 * pool's threads belong to this process, hence to its team.
 */
#define NAPI_VERSION 8
#include <node_api.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <nexus.h>
#include "libnexus.h"

#define MAX_ARGS 6
/* Larger read buffers than this are a scenario's mistake. */
#define MAX_READ_BUFFER (64 * 1024 * 1024)

/* ---- argument and result helpers ---------------------------------------- */

/* Throw the pending N-API error, unless an exception is already pending. */
static void throw_napi_error(napi_env env)
{
	const napi_extended_error_info *e = NULL;
	bool pending = false;

	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &e);
	napi_throw_error(env, NULL, e && e->error_message ? e->error_message : "N-API call failed");
}

#define NAPI_OK(env, call)                      \
	do {                                    \
		if ((call) != napi_ok) {        \
			throw_napi_error(env);  \
			return NULL;            \
		}                               \
	} while (0)

static void throw_type(napi_env env, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, what);
	napi_throw_type_error(env, NULL, msg);
}

static bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	napi_value all[MAX_ARGS];
	size_t argc = MAX_ARGS;
	char msg[80];

	if (napi_get_cb_info(env, info, &argc, all, NULL, NULL) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (argc < want) {
		snprintf(msg, sizeof(msg), "expected %zu arguments, got %zu", want, argc);
		napi_throw_type_error(env, NULL, msg);
		return false;
	}
	for (size_t i = 0; i < want; i++)
		argv[i] = all[i];
	return true;
}

/* An integral number in [min, max]. */
static bool get_int(napi_env env, napi_value v, const char *what, double min, double max, int64_t *out)
{
	napi_valuetype t;
	double d;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_number) {
		throw_type(env, "%s must be a number", what);
		return false;
	}
	napi_get_value_double(env, v, &d);
	if (!isfinite(d) || d != trunc(d) || d < min || d > max) {
		throw_type(env, "%s must be an integer in range", what);
		return false;
	}
	*out = (int64_t)d;
	return true;
}

static bool get_i32(napi_env env, napi_value v, const char *what, __s32 *out)
{
	int64_t x;

	if (!get_int(env, v, what, INT32_MIN, INT32_MAX, &x))
		return false;
	*out = (__s32)x;
	return true;
}

static bool get_u32(napi_env env, napi_value v, const char *what, __u32 *out)
{
	int64_t x;

	if (!get_int(env, v, what, 0, UINT32_MAX, &x))
		return false;
	*out = (__u32)x;
	return true;
}

static bool get_size(napi_env env, napi_value v, const char *what, size_t *out)
{
	int64_t x;

	if (!get_int(env, v, what, 0, MAX_READ_BUFFER, &x))
		return false;
	*out = (size_t)x;
	return true;
}

/*
 * A timeout in microseconds: a number (Infinity = forever, clamped to the
 * int64 range) or a bigint (clamped as well).
 */
static bool get_timeout(napi_env env, napi_value v, bigtime_t *out)
{
	napi_valuetype t;

	if (napi_typeof(env, v, &t) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (t == napi_number) {
		double d;

		napi_get_value_double(env, v, &d);
		if (isnan(d)) {
			throw_type(env, "%s must not be NaN", "timeout");
			return false;
		}
		if (d >= 9223372036854775807.0)
			*out = INT64_MAX;
		else if (d <= -9223372036854775808.0)
			*out = INT64_MIN;
		else
			*out = (bigtime_t)d;
		return true;
	}
	if (t == napi_bigint) {
		int64_t x;
		bool lossless;

		if (napi_get_value_bigint_int64(env, v, &x, &lossless) != napi_ok) {
			throw_napi_error(env);
			return false;
		}
		if (!lossless) {
			/* Out of the int64 range: clamp by sign. */
			uint64_t words[8];
			size_t count = 0;
			int sign = 0;

			napi_get_value_bigint_words(env, v, NULL, &count, NULL);
			if (count > 8)
				count = 8;
			napi_get_value_bigint_words(env, v, &sign, &count, words);
			x = sign ? INT64_MIN : INT64_MAX;
		}
		*out = x;
		return true;
	}
	throw_type(env, "%s must be a number or a bigint", "timeout");
	return false;
}

/* The bytes of a TypedArray (Buffer included), DataView or ArrayBuffer. */
static bool get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len)
{
	bool is = false;

	if (napi_is_typedarray(env, v, &is) == napi_ok && is) {
		napi_typedarray_type type;
		size_t length, elem;

		if (napi_get_typedarray_info(env, v, &type, &length, data, NULL, NULL) != napi_ok) {
			throw_napi_error(env);
			return false;
		}
		switch (type) {
		case napi_int16_array:
		case napi_uint16_array:
			elem = 2;
			break;
		case napi_int32_array:
		case napi_uint32_array:
		case napi_float32_array:
			elem = 4;
			break;
		case napi_float64_array:
		case napi_bigint64_array:
		case napi_biguint64_array:
			elem = 8;
			break;
		default:
			elem = 1;
		}
		*len = length * elem;
		return true;
	}
	if (napi_is_dataview(env, v, &is) == napi_ok && is) {
		if (napi_get_dataview_info(env, v, len, data, NULL, NULL) != napi_ok) {
			throw_napi_error(env);
			return false;
		}
		return true;
	}
	if (napi_is_arraybuffer(env, v, &is) == napi_ok && is) {
		if (napi_get_arraybuffer_info(env, v, data, len) != napi_ok) {
			throw_napi_error(env);
			return false;
		}
		return true;
	}
	throw_type(env, "%s must be a Uint8Array, Buffer, DataView or ArrayBuffer", what);
	return false;
}

/* A name: a string (malloc'd copy in *out) or null/undefined (NULL). */
static bool get_name(napi_env env, napi_value v, char **out)
{
	napi_valuetype t;
	size_t len = 0;

	*out = NULL;
	if (napi_typeof(env, v, &t) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (t == napi_null || t == napi_undefined)
		return true;
	if (t != napi_string) {
		throw_type(env, "%s must be a string or null", "name");
		return false;
	}
	napi_get_value_string_utf8(env, v, NULL, 0, &len);
	*out = malloc(len + 1);
	if (!*out) {
		napi_throw_error(env, NULL, "out of memory");
		return false;
	}
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	return true;
}

static napi_value num(napi_env env, double x)
{
	napi_value v = NULL;

	if (napi_create_double(env, x, &v) != napi_ok)
		throw_napi_error(env);
	return v;
}

static bool set_num(napi_env env, napi_value obj, const char *key, double x)
{
	napi_value v;

	return napi_create_double(env, x, &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t max)
{
	napi_value v;

	return napi_create_string_utf8(env, s, strnlen(s, max), &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

static bool set_val(napi_env env, napi_value obj, const char *key, napi_value v)
{
	return v && napi_set_named_property(env, obj, key, v) == napi_ok;
}

static napi_value port_info_value(napi_env env, const struct port_info *pi)
{
	napi_value o;

	if (napi_create_object(env, &o) != napi_ok ||
	    !set_num(env, o, "port", pi->port) || !set_num(env, o, "team", pi->team) ||
	    !set_str(env, o, "name", pi->name, sizeof(pi->name)) ||
	    !set_num(env, o, "capacity", pi->capacity) ||
	    !set_num(env, o, "queueCount", pi->queue_count) ||
	    !set_num(env, o, "totalCount", pi->total_count))
		return NULL;
	return o;
}

static napi_value sem_info_value(napi_env env, const struct sem_info *si)
{
	napi_value o;

	if (napi_create_object(env, &o) != napi_ok ||
	    !set_num(env, o, "sem", si->sem) || !set_num(env, o, "team", si->team) ||
	    !set_str(env, o, "name", si->name, sizeof(si->name)) ||
	    !set_num(env, o, "count", si->count) ||
	    !set_num(env, o, "latestHolder", si->latest_holder))
		return NULL;
	return o;
}

static napi_value message_info_value(napi_env env, const struct port_message_info *mi)
{
	napi_value o;

	if (napi_create_object(env, &o) != napi_ok ||
	    !set_num(env, o, "size", (double)mi->size) ||
	    !set_num(env, o, "sender", mi->sender) ||
	    !set_num(env, o, "senderGroup", mi->sender_group) ||
	    !set_num(env, o, "senderTeam", mi->sender_team))
		return NULL;
	return o;
}

/* { status, info? }: info only when status is B_OK. */
static napi_value status_info(napi_env env, double status, napi_value info)
{
	napi_value o;

	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", status) || (status == B_OK && !set_val(env, o, "info", info))) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* ReadResult: { status (bytes copied or error), code, data }. */
static napi_value read_result(napi_env env, ssize_t status, __s32 code, const void *buf)
{
	napi_value o, data;
	size_t n = status > 0 ? (size_t)status : 0;

	NAPI_OK(env, napi_create_object(env, &o));
	NAPI_OK(env, napi_create_buffer_copy(env, n, n ? buf : "", NULL, &data));
	if (!set_num(env, o, "status", (double)status) || !set_num(env, o, "code", code) ||
	    !set_val(env, o, "data", data)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* ---- ports ---------------------------------------------------------------- */

static napi_value js_create_port(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__s32 capacity;
	char *name;
	port_id id;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "capacity", &capacity) ||
	    !get_name(env, argv[1], &name))
		return NULL;
	id = create_port(capacity, name);
	free(name);
	return num(env, id);
}

static napi_value js_find_port(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *name;
	port_id id;

	if (!get_args(env, info, 1, argv) || !get_name(env, argv[0], &name))
		return NULL;
	id = find_port(name);
	free(name);
	return num(env, id);
}

/* f(id) -> status, for the one-id calls. */
static napi_value id_call(napi_env env, napi_callback_info info, status_t (*f)(__s32))
{
	napi_value argv[1];
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	return num(env, f(id));
}

static napi_value js_close_port(napi_env env, napi_callback_info info)
{
	return id_call(env, info, close_port);
}

static napi_value js_delete_port(napi_env env, napi_callback_info info)
{
	return id_call(env, info, delete_port);
}

static napi_value js_delete_sem(napi_env env, napi_callback_info info)
{
	return id_call(env, info, delete_sem);
}

static napi_value js_acquire_sem(napi_env env, napi_callback_info info)
{
	return id_call(env, info, acquire_sem);
}

static napi_value js_release_sem(napi_env env, napi_callback_info info)
{
	return id_call(env, info, release_sem);
}

static napi_value js_write_port(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	__s32 id, code;
	void *data;
	size_t len;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "code", &code) || !get_bytes(env, argv[2], "data", &data, &len))
		return NULL;
	return num(env, write_port(id, code, data, len));
}

static napi_value js_write_port_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	__s32 id, code;
	__u32 flags;
	bigtime_t timeout;
	void *data;
	size_t len;

	if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "code", &code) || !get_bytes(env, argv[2], "data", &data, &len) ||
	    !get_u32(env, argv[3], "flags", &flags) || !get_timeout(env, argv[4], &timeout))
		return NULL;
	return num(env, write_port_etc(id, code, data, len, flags, timeout));
}

static napi_value do_read(napi_env env, __s32 id, size_t size, __u32 flags, bigtime_t timeout, bool etc)
{
	void *buf = malloc(size ? size : 1);
	__s32 code = 0;
	ssize_t st;
	napi_value r;

	if (!buf) {
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	st = etc ? read_port_etc(id, &code, buf, size, flags, timeout) : read_port(id, &code, buf, size);
	r = read_result(env, st, code, buf);
	free(buf);
	return r;
}

static napi_value js_read_port(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__s32 id;
	size_t size;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_size(env, argv[1], "bufSize", &size))
		return NULL;
	return do_read(env, id, size, 0, 0, false);
}

static napi_value js_read_port_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	__s32 id;
	size_t size;
	__u32 flags;
	bigtime_t timeout;

	if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_size(env, argv[1], "bufSize", &size) || !get_u32(env, argv[2], "flags", &flags) ||
	    !get_timeout(env, argv[3], &timeout))
		return NULL;
	return do_read(env, id, size, flags, timeout, true);
}

static napi_value js_port_buffer_size(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	return num(env, (double)port_buffer_size(id));
}

static napi_value js_port_buffer_size_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	__s32 id;
	__u32 flags;
	bigtime_t timeout;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u32(env, argv[1], "flags", &flags) || !get_timeout(env, argv[2], &timeout))
		return NULL;
	return num(env, (double)port_buffer_size_etc(id, flags, timeout));
}

static napi_value js_port_count(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	return num(env, (double)port_count(id));
}

static napi_value js_get_port_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct port_info pi;
	status_t st;
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	memset(&pi, 0, sizeof(pi));
	st = get_port_info(id, &pi);
	return status_info(env, st, st == B_OK ? port_info_value(env, &pi) : NULL);
}

static napi_value js_get_next_port_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	struct port_info pi;
	__s32 team, cookie;
	status_t st;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "team", &team) ||
	    !get_i32(env, argv[1], "cookie", &cookie))
		return NULL;
	memset(&pi, 0, sizeof(pi));
	st = get_next_port_info(team, &cookie, &pi);
	r = status_info(env, st, st == B_OK ? port_info_value(env, &pi) : NULL);
	if (r && !set_num(env, r, "cookie", cookie)) {
		throw_napi_error(env);
		return NULL;
	}
	return r;
}

static napi_value js_set_port_owner(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__s32 id, team;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "team", &team))
		return NULL;
	return num(env, set_port_owner(id, team));
}

static napi_value js_get_port_message_info_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct port_message_info mi;
	__s32 id;
	__u32 flags;
	bigtime_t timeout;
	status_t st;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u32(env, argv[1], "flags", &flags) || !get_timeout(env, argv[2], &timeout))
		return NULL;
	memset(&mi, 0, sizeof(mi));
	st = get_port_message_info_etc(id, &mi, sizeof(mi), flags, timeout);
	return status_info(env, st, st == B_OK ? message_info_value(env, &mi) : NULL);
}

/* ---- semaphores --------------------------------------------------------- */

static napi_value js_create_sem(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__s32 count;
	char *name;
	sem_id id;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "count", &count) ||
	    !get_name(env, argv[1], &name))
		return NULL;
	id = create_sem(count, name);
	free(name);
	return num(env, id);
}

static napi_value js_acquire_sem_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	__s32 id, count;
	__u32 flags;
	bigtime_t timeout;

	if (!get_args(env, info, 4, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "count", &count) || !get_u32(env, argv[2], "flags", &flags) ||
	    !get_timeout(env, argv[3], &timeout))
		return NULL;
	return num(env, acquire_sem_etc(id, count, flags, timeout));
}

static napi_value js_release_sem_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	__s32 id, count;
	__u32 flags;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "count", &count) || !get_u32(env, argv[2], "flags", &flags))
		return NULL;
	return num(env, release_sem_etc(id, count, flags));
}

static napi_value js_get_sem_count(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o;
	__s32 id, count = 0;
	status_t st;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	st = get_sem_count(id, &count);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", st) || !set_num(env, o, "count", count)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

static napi_value js_get_sem_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	struct sem_info si;
	status_t st;
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	memset(&si, 0, sizeof(si));
	st = get_sem_info(id, &si);
	return status_info(env, st, st == B_OK ? sem_info_value(env, &si) : NULL);
}

static napi_value js_get_next_sem_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	struct sem_info si;
	__s32 team, cookie;
	status_t st;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "team", &team) ||
	    !get_i32(env, argv[1], "cookie", &cookie))
		return NULL;
	memset(&si, 0, sizeof(si));
	st = get_next_sem_info(team, &cookie, &si);
	r = status_info(env, st, st == B_OK ? sem_info_value(env, &si) : NULL);
	if (r && !set_num(env, r, "cookie", cookie)) {
		throw_napi_error(env);
		return NULL;
	}
	return r;
}

/* ---- async variants ----------------------------------------------------- */

enum async_op { OP_WRITE, OP_READ, OP_BUFFER_SIZE, OP_MESSAGE_INFO, OP_ACQUIRE };

struct async_req {
	napi_async_work work;
	napi_deferred deferred;
	enum async_op op;
	__s32 id;
	__s32 code;		/* in for writes, out for reads */
	__s32 count;
	__u32 flags;
	bigtime_t timeout;
	void *buf;		/* a copy of the data written, or the read buffer */
	size_t size;
	ssize_t result;
	struct port_message_info info;
};

/* On a thread-pool thread: no N-API calls here. */
static void async_execute(napi_env env, void *data)
{
	struct async_req *r = data;

	(void)env;
	switch (r->op) {
	case OP_WRITE:
		r->result = write_port_etc(r->id, r->code, r->buf, r->size, r->flags, r->timeout);
		break;
	case OP_READ:
		r->result = read_port_etc(r->id, &r->code, r->buf, r->size, r->flags, r->timeout);
		break;
	case OP_BUFFER_SIZE:
		r->result = port_buffer_size_etc(r->id, r->flags, r->timeout);
		break;
	case OP_MESSAGE_INFO:
		r->result = get_port_message_info_etc(r->id, &r->info, sizeof(r->info), r->flags, r->timeout);
		break;
	case OP_ACQUIRE:
		r->result = acquire_sem_etc(r->id, r->count, r->flags, r->timeout);
		break;
	}
}

static void async_free(napi_env env, struct async_req *r)
{
	if (r->work)
		napi_delete_async_work(env, r->work);
	free(r->buf);
	free(r);
}

/* Back on the JS thread: settle the promise with the same value as the sync call. */
static void async_complete(napi_env env, napi_status status, void *data)
{
	struct async_req *r = data;
	napi_value value = NULL, err, msg;

	if (status == napi_ok) {
		switch (r->op) {
		case OP_READ:
			value = read_result(env, r->result, r->code, r->buf);
			break;
		case OP_MESSAGE_INFO:
			value = status_info(env, (double)r->result,
					    r->result == B_OK ? message_info_value(env, &r->info) : NULL);
			break;
		default:
			value = num(env, (double)r->result);
		}
	}
	if (value) {
		napi_resolve_deferred(env, r->deferred, value);
	} else {
		bool pending = false;

		napi_is_exception_pending(env, &pending);
		if (pending) {
			napi_get_and_clear_last_exception(env, &err);
		} else {
			napi_create_string_utf8(env, status == napi_cancelled ? "cancelled" : "async call failed",
						NAPI_AUTO_LENGTH, &msg);
			napi_create_error(env, NULL, msg, &err);
		}
		napi_reject_deferred(env, r->deferred, err);
	}
	async_free(env, r);
}

static napi_value async_start(napi_env env, struct async_req *r, const char *name)
{
	napi_value promise, resource;

	if (napi_create_promise(env, &r->deferred, &promise) != napi_ok ||
	    napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &resource) != napi_ok ||
	    napi_create_async_work(env, NULL, resource, async_execute, async_complete, r, &r->work) != napi_ok ||
	    napi_queue_async_work(env, r->work) != napi_ok) {
		throw_napi_error(env);
		/* A created promise that is never settled is only garbage. */
		async_free(env, r);
		return NULL;
	}
	return promise;
}

static struct async_req *async_new(napi_env env, enum async_op op)
{
	struct async_req *r = calloc(1, sizeof(*r));

	if (!r)
		napi_throw_error(env, NULL, "out of memory");
	else
		r->op = op;
	return r;
}

static napi_value js_write_port_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct async_req *r;
	void *data;
	size_t len;

	if (!get_args(env, info, 5, argv) || !(r = async_new(env, OP_WRITE)))
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_i32(env, argv[1], "code", &r->code) ||
	    !get_bytes(env, argv[2], "data", &data, &len) || !get_u32(env, argv[3], "flags", &r->flags) ||
	    !get_timeout(env, argv[4], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	/* The JS buffer may change or go away meanwhile: write a copy. */
	if (len) {
		r->buf = malloc(len);
		if (!r->buf) {
			async_free(env, r);
			napi_throw_error(env, NULL, "out of memory");
			return NULL;
		}
		memcpy(r->buf, data, len);
	}
	r->size = len;
	return async_start(env, r, "nexus:writePortEtc");
}

static napi_value js_read_port_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct async_req *r;

	if (!get_args(env, info, 4, argv) || !(r = async_new(env, OP_READ)))
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_size(env, argv[1], "bufSize", &r->size) ||
	    !get_u32(env, argv[2], "flags", &r->flags) || !get_timeout(env, argv[3], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	r->buf = malloc(r->size ? r->size : 1);
	if (!r->buf) {
		async_free(env, r);
		napi_throw_error(env, NULL, "out of memory");
		return NULL;
	}
	return async_start(env, r, "nexus:readPortEtc");
}

static napi_value id_flags_timeout_async(napi_env env, napi_callback_info info, enum async_op op,
					 const char *name)
{
	napi_value argv[3];
	struct async_req *r;

	if (!get_args(env, info, 3, argv) || !(r = async_new(env, op)))
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_u32(env, argv[1], "flags", &r->flags) ||
	    !get_timeout(env, argv[2], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, name);
}

static napi_value js_port_buffer_size_etc_async(napi_env env, napi_callback_info info)
{
	return id_flags_timeout_async(env, info, OP_BUFFER_SIZE, "nexus:portBufferSizeEtc");
}

static napi_value js_get_port_message_info_etc_async(napi_env env, napi_callback_info info)
{
	return id_flags_timeout_async(env, info, OP_MESSAGE_INFO, "nexus:getPortMessageInfoEtc");
}

static napi_value js_acquire_sem_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct async_req *r;

	if (!get_args(env, info, 4, argv) || !(r = async_new(env, OP_ACQUIRE)))
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_i32(env, argv[1], "count", &r->count) ||
	    !get_u32(env, argv[2], "flags", &r->flags) || !get_timeout(env, argv[3], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:acquireSemEtc");
}

/* ---- process helpers ---------------------------------------------------- */

static napi_value js_fd(napi_env env, napi_callback_info info)
{
	(void)info;
	return num(env, nexus_fd());
}

static napi_value js_system_time(napi_env env, napi_callback_info info)
{
	napi_value v;

	(void)info;
	NAPI_OK(env, napi_create_bigint_int64(env, system_time(), &v));
	return v;
}

static napi_value js_gettid(napi_env env, napi_callback_info info)
{
	(void)info;
	return num(env, (double)syscall(SYS_gettid));
}

/*
 * NEXUS_PORT_CREATE on any descriptor, bypassing libnexus: how a scenario
 * checks that a descriptor opened by another process is refused (-EPERM).
 */
static napi_value js_raw_ioctl_port_create(napi_env env, napi_callback_info info)
{
	napi_value argv[3], o;
	struct nexus_port_create req;
	__s32 fd, capacity;
	char *name;
	int rc, err;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "fd", &fd) ||
	    !get_i32(env, argv[1], "capacity", &capacity) || !get_name(env, argv[2], &name))
		return NULL;
	memset(&req, 0, sizeof(req));
	req.name = name;
	req.size = name ? strlen(name) + 1 : 0;
	req.capacity = capacity;
	rc = ioctl(fd, NEXUS_PORT_CREATE, &req);
	err = rc < 0 ? errno : 0;
	free(name);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "errno", err) || !set_num(env, o, "ret", req.ret) || !set_num(env, o, "id", req.id)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* A bigint as the raw 64 bits of a pointer or an ioctl argument. */
static bool get_raw64(napi_env env, napi_value v, const char *what, uint64_t *out)
{
	napi_valuetype t;
	bool lossless;

	if (napi_typeof(env, v, &t) != napi_ok || t != napi_bigint) {
		throw_type(env, "%s must be a bigint", what);
		return false;
	}
	if (napi_get_value_bigint_uint64(env, v, out, &lossless) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	return true;
}

/*
 * Any ioctl on any descriptor with a request struct the scenario built
 * byte by byte (a Buffer, written back in place), or with a raw argument
 * (a bigint: a bad struct pointer, or a by-value argument).  This is how
 * scenarios reach what libnexus never sends: bad user pointers inside a
 * request, sizes below a struct's, unknown commands.
 */
static napi_value js_raw_ioctl(napi_env env, napi_callback_info info)
{
	napi_value argv[3], o;
	napi_valuetype t;
	__s32 fd;
	int64_t request;
	uint64_t raw = 0;
	void *data = NULL;
	size_t len;
	long rc;
	int err;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "fd", &fd) ||
	    !get_int(env, argv[1], "request", 0, UINT32_MAX, &request))
		return NULL;
	if (napi_typeof(env, argv[2], &t) != napi_ok) {
		throw_napi_error(env);
		return NULL;
	}
	if (t == napi_bigint) {
		if (!get_raw64(env, argv[2], "arg", &raw))
			return NULL;
	} else if (!get_bytes(env, argv[2], "arg", &data, &len)) {
		return NULL;
	}
	rc = ioctl(fd, (unsigned long)request, data ? (unsigned long)(uintptr_t)data : (unsigned long)raw);
	err = rc < 0 ? errno : 0;
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "rc", (double)rc) || !set_num(env, o, "errno", err)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* The address of a buffer's bytes, to put in a request built by hand. */
static napi_value js_address_of(napi_env env, napi_callback_info info)
{
	napi_value argv[1], v;
	void *data;
	size_t len;

	if (!get_args(env, info, 1, argv) || !get_bytes(env, argv[0], "buffer", &data, &len))
		return NULL;
	NAPI_OK(env, napi_create_bigint_uint64(env, (uint64_t)(uintptr_t)data, &v));
	return v;
}

/* ---- module ------------------------------------------------------------- */

struct constant {
	const char *name;
	double value;
};

static const struct constant constants[] = {
#define C(x) { #x, (double)(x) }
	C(B_OS_NAME_LENGTH),
	C(B_OK), C(B_ERROR), C(B_BAD_VALUE), C(B_NO_MEMORY), C(B_TIMED_OUT), C(B_WOULD_BLOCK),
	C(B_INTERRUPTED), C(B_BAD_ADDRESS), C(B_BAD_TEAM_ID), C(B_ENTRY_NOT_FOUND),
	C(B_BUFFER_OVERFLOW), C(B_NO_MORE_SEMS), C(B_NO_MORE_PORTS), C(B_GENERAL_ERROR_BASE),
	C(B_NOT_ALLOWED), C(B_BAD_SEM_ID), C(B_BAD_THREAD_ID), C(B_BAD_PORT_ID), C(B_NAME_NOT_FOUND),
	C(B_CAN_INTERRUPT), C(B_DO_NOT_RESCHEDULE), C(B_TIMEOUT), C(B_RELATIVE_TIMEOUT),
	C(B_ABSOLUTE_TIMEOUT), C(B_KILL_CAN_INTERRUPT), C(B_RELEASE_ALL), C(B_RELEASE_IF_WAITING_ONLY),
	C(NEXUS_PORT_MAX_CAPACITY), C(NEXUS_PORT_MAX_MESSAGE_SIZE),
	C(PORT_MAX_CAPACITY), C(PORT_MAX_MESSAGE_SIZE), C(B_CURRENT_TEAM),
	C(NEXUS_PORT_CREATE), C(NEXUS_PORT_CLOSE), C(NEXUS_PORT_FIND), C(NEXUS_GET_NEXT_PORT_FOR_TEAM),
	C(NEXUS_PORT_DELETE), C(NEXUS_PORT_READ), C(NEXUS_PORT_WRITE), C(NEXUS_PORT_INFO),
	C(NEXUS_PORT_MESSAGE_INFO), C(NEXUS_SET_PORT_OWNER),
	C(NEXUS_PORT_CAP_VREF), C(NEXUS_PORT_MAX_CAPS), C(NEXUS_PORT_WRITE_CAPS), C(NEXUS_PORT_READ_CAPS),
	C(NEXUS_SEM_CREATE), C(NEXUS_SEM_ACQUIRE), C(NEXUS_SEM_RELEASE), C(NEXUS_SEM_DELETE),
	C(NEXUS_SEM_COUNT), C(NEXUS_SEM_INFO), C(NEXUS_SEM_NEXT_INFO),
	C(NEXUS_THREAD_SPAWN), C(NEXUS_THREAD_SET_NAME), C(NEXUS_THREAD_WAIT_NEWBORN),
	C(NEXUS_THREAD_CLONE_EXECUTED), C(NEXUS_THREAD_RESUME), C(NEXUS_THREAD_SET_RETURN_CODE),
	C(NEXUS_THREAD_READ), C(NEXUS_THREAD_WRITE), C(NEXUS_THREAD_HAS_DATA), C(NEXUS_THREAD_WAITFOR),
#undef C
};

static napi_value constants_value(napi_env env)
{
	napi_value o, v;

	NAPI_OK(env, napi_create_object(env, &o));
	for (size_t i = 0; i < sizeof(constants) / sizeof(constants[0]); i++)
		NAPI_OK(env, set_num(env, o, constants[i].name, constants[i].value) ? napi_ok : napi_generic_failure);
	NAPI_OK(env, napi_create_bigint_int64(env, B_INFINITE_TIMEOUT, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "B_INFINITE_TIMEOUT", v));
	NAPI_OK(env, napi_create_string_utf8(env, NEXUS_DEVICE_PATH, NAPI_AUTO_LENGTH, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "NEXUS_DEVICE_PATH", v));
	return o;
}

NAPI_MODULE_INIT()
{
	static const struct {
		const char *name;
		napi_callback fn;
	} fns[] = {
		{ "createPort", js_create_port },
		{ "closePort", js_close_port },
		{ "deletePort", js_delete_port },
		{ "findPort", js_find_port },
		{ "writePort", js_write_port },
		{ "writePortEtc", js_write_port_etc },
		{ "readPort", js_read_port },
		{ "readPortEtc", js_read_port_etc },
		{ "portBufferSize", js_port_buffer_size },
		{ "portBufferSizeEtc", js_port_buffer_size_etc },
		{ "portCount", js_port_count },
		{ "getPortInfo", js_get_port_info },
		{ "getNextPortInfo", js_get_next_port_info },
		{ "setPortOwner", js_set_port_owner },
		{ "getPortMessageInfoEtc", js_get_port_message_info_etc },
		{ "createSem", js_create_sem },
		{ "deleteSem", js_delete_sem },
		{ "acquireSem", js_acquire_sem },
		{ "acquireSemEtc", js_acquire_sem_etc },
		{ "releaseSem", js_release_sem },
		{ "releaseSemEtc", js_release_sem_etc },
		{ "getSemCount", js_get_sem_count },
		{ "getSemInfo", js_get_sem_info },
		{ "getNextSemInfo", js_get_next_sem_info },
		{ "writePortEtcAsync", js_write_port_etc_async },
		{ "readPortEtcAsync", js_read_port_etc_async },
		{ "portBufferSizeEtcAsync", js_port_buffer_size_etc_async },
		{ "getPortMessageInfoEtcAsync", js_get_port_message_info_etc_async },
		{ "acquireSemEtcAsync", js_acquire_sem_etc_async },
		{ "fd", js_fd },
		{ "systemTime", js_system_time },
		{ "gettid", js_gettid },
		{ "rawIoctlPortCreate", js_raw_ioctl_port_create },
		{ "rawIoctl", js_raw_ioctl },
		{ "addressOf", js_address_of },
	};
	napi_value fn, c;

	for (size_t i = 0; i < sizeof(fns) / sizeof(fns[0]); i++) {
		NAPI_OK(env, napi_create_function(env, fns[i].name, NAPI_AUTO_LENGTH, fns[i].fn, NULL, &fn));
		NAPI_OK(env, napi_set_named_property(env, exports, fns[i].name, fn));
	}
	c = constants_value(env);
	if (!c)
		return NULL;
	NAPI_OK(env, napi_set_named_property(env, exports, "constants", c));
	return exports;
}
