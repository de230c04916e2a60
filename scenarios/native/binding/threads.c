// SPDX-License-Identifier: GPL-2.0
/*
 * Threads: spawn_thread .. get_thread_info, and the record of what a
 * spawned thread did (threadReport).
 *
 * spawnThread runs a small native program (../nexus-program.h) in a thread
 * of this process, started suspended by libnexus.  receive_data reads the
 * calling thread's own mailbox, so receiveData and receiveDataEtc run on
 * the JS thread (they block it); waitForThreadEtcAsync and sendDataEtcAsync
 * run on the libuv pool (the sender is then a pool thread).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "../nexus-program.h"

/* ---- ThreadOp[] -> struct prog ------------------------------------------ */

/* obj[key], or false with present unset when it is undefined or missing. */
static bool get_prop(napi_env env, napi_value obj, const char *key, napi_value *v, bool *present)
{
	napi_valuetype t;

	if (napi_get_named_property(env, obj, key, v) != napi_ok || napi_typeof(env, *v, &t) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	*present = t != napi_undefined;
	return true;
}

/* A required integer property. */
static bool prop_int(napi_env env, napi_value obj, const char *key, double min, double max, int64_t *out)
{
	napi_value v;
	bool present;
	char what[48];

	snprintf(what, sizeof(what), "op.%s", key);
	if (!get_prop(env, obj, key, &v, &present))
		return false;
	if (!present) {
		throw_type(env, "%s is missing", what);
		return false;
	}
	return get_int(env, v, what, min, max, out);
}

/* flags and timeout, both optional: either one makes the op an _etc call. */
static bool prop_etc(napi_env env, napi_value obj, struct prog_op *op)
{
	napi_value flags, timeout;
	bool has_flags, has_timeout;

	if (!get_prop(env, obj, "flags", &flags, &has_flags) ||
	    !get_prop(env, obj, "timeout", &timeout, &has_timeout))
		return false;
	op->etc = has_flags || has_timeout;
	if (has_flags && !get_u32(env, flags, "op.flags", &op->flags))
		return false;
	if (has_timeout && !get_timeout(env, timeout, &op->timeout))
		return false;
	return true;
}

/* op.hex: a string of hex digits, the bytes to send. */
static bool prop_hex(napi_env env, napi_value obj, struct prog_op *op)
{
	napi_value v;
	napi_valuetype t;
	size_t n = 0;
	char *hex;
	bool ok;

	if (napi_get_named_property(env, obj, "hex", &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (t != napi_string) {
		throw_type(env, "%s must be a string of hex digits", "op.hex");
		return false;
	}
	napi_get_value_string_utf8(env, v, NULL, 0, &n);
	hex = malloc(n + 1);
	if (!hex) {
		throw_oom(env);
		return false;
	}
	napi_get_value_string_utf8(env, v, hex, n + 1, &n);
	ok = prog_unhex(hex, n, &op->data, &op->size);
	free(hex);
	if (!ok)
		throw_type(env, "%s must be a string of hex digits", "op.hex");
	return ok;
}

static bool parse_op(napi_env env, napi_value obj, struct prog_op *op)
{
	napi_value v;
	napi_valuetype t;
	char kind[16];
	size_t n = 0;
	int64_t x;

	if (napi_typeof(env, obj, &t) != napi_ok || t != napi_object ||
	    napi_get_named_property(env, obj, "op", &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok ||
	    t != napi_string) {
		throw_type(env, "%s must be an object with an op string", "a thread op");
		return false;
	}
	napi_get_value_string_utf8(env, v, kind, sizeof(kind), &n);
	if (!strcmp(kind, "receive")) {
		op->kind = PROG_RECEIVE;
		if (!prop_int(env, obj, "bufSize", 0, MAX_READ_BUFFER, &x))
			return false;
		op->size = (size_t)x;
		return prop_etc(env, obj, op);
	}
	if (!strcmp(kind, "send")) {
		op->kind = PROG_SEND;
		if (!prop_int(env, obj, "target", INT32_MIN, INT32_MAX, &x))
			return false;
		op->target = (thread_id)x;
		if (!prop_int(env, obj, "code", INT32_MIN, INT32_MAX, &x))
			return false;
		op->code = (__s32)x;
		return prop_hex(env, obj, op) && prop_etc(env, obj, op);
	}
	if (!strcmp(kind, "wait")) {
		op->kind = PROG_WAIT;
		if (!prop_int(env, obj, "target", INT32_MIN, INT32_MAX, &x))
			return false;
		op->target = (thread_id)x;
		return prop_etc(env, obj, op);
	}
	if (!strcmp(kind, "sleep")) {
		op->kind = PROG_SLEEP;
		if (!prop_int(env, obj, "us", 0, 3600e6, &x))
			return false;
		op->us = x;
		return true;
	}
	if (!strcmp(kind, "return") || !strcmp(kind, "exit")) {
		op->kind = kind[0] == 'r' ? PROG_RETURN : PROG_EXIT;
		if (!prop_int(env, obj, "code", INT32_MIN, INT32_MAX, &x))
			return false;
		op->code = (__s32)x;
		return true;
	}
	if (!strcmp(kind, "pthread_exit")) {
		op->kind = PROG_PTHREAD_EXIT;
		return true;
	}
	throw_type(env, "op.op '%s' is not receive, send, wait, sleep, return, exit or pthread_exit", kind);
	return false;
}

/* A program from a ThreadOp[]; NULL with an exception pending. */
static struct prog *parse_program(napi_env env, napi_value arr)
{
	struct prog *p;
	uint32_t count;
	bool is = false;
	napi_value v;

	if (napi_is_array(env, arr, &is) != napi_ok || !is) {
		throw_type(env, "%s must be an array of thread ops", "program");
		return NULL;
	}
	napi_get_array_length(env, arr, &count);
	if (count > PROG_MAX_OPS) {
		throw_type(env, "%s has too many ops", "program");
		return NULL;
	}
	p = prog_new(count);
	if (!p) {
		throw_oom(env);
		return NULL;
	}
	for (uint32_t i = 0; i < count; i++) {
		if (napi_get_element(env, arr, i, &v) != napi_ok) {
			throw_napi_error(env);
			prog_free(p);
			return NULL;
		}
		if (!parse_op(env, v, &p->ops[i])) {
			prog_free(p);
			return NULL;
		}
	}
	return p;
}

/* ---- the calls ------------------------------------------------------------ */

static napi_value js_spawn_thread(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct prog *p;
	char *name;
	thread_id tid;

	if (!get_args(env, info, 2, argv) || !get_name(env, argv[0], &name))
		return NULL;
	p = parse_program(env, argv[1]);
	if (!p) {
		free(name);
		return NULL;
	}
	tid = prog_spawn(name, p);
	free(name);
	return num(env, tid);
}

static napi_value js_resume_thread(napi_env env, napi_callback_info info)
{
	return id_call(env, info, resume_thread);
}

/* { status, code }: wait_for_thread's status and the thread's return code. */
static napi_value wait_result(napi_env env, status_t status, status_t code)
{
	napi_value o;

	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", status) || !set_num(env, o, "code", code)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

static napi_value js_wait_for_thread(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	status_t st, code = 0;
	__s32 tid;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "tid", &tid))
		return NULL;
	st = wait_for_thread(tid, &code);
	return wait_result(env, st, code);
}

static napi_value js_wait_for_thread_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	status_t st, code = 0;
	__s32 tid;
	__u32 flags;
	bigtime_t timeout;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "tid", &tid) ||
	    !get_u32(env, argv[1], "flags", &flags) || !get_timeout(env, argv[2], &timeout))
		return NULL;
	st = wait_for_thread_etc(tid, flags, timeout, &code);
	return wait_result(env, st, code);
}

static napi_value js_send_data(napi_env env, napi_callback_info info)
{
	return message_call(env, info, "tid", send_data);
}

static napi_value js_send_data_etc(napi_env env, napi_callback_info info)
{
	return message_etc_call(env, info, "tid", send_data_etc);
}

/*
 * { status (the code, or an error), sender, data }: data is the whole
 * buffer, zeroed first (receive_data does not say how many bytes it
 * copied), empty when sender is 0 (nothing received).
 */
static napi_value do_receive(napi_env env, size_t size, __u32 flags, bigtime_t timeout, bool etc)
{
	void *buf = calloc(1, size ? size : 1);
	thread_id sender = 0;
	napi_value o, data;
	__s32 st;

	if (!buf) {
		throw_oom(env);
		return NULL;
	}
	st = etc ? receive_data_etc(&sender, buf, size, flags, timeout) : receive_data(&sender, buf, size);
	if (napi_create_object(env, &o) != napi_ok ||
	    napi_create_buffer_copy(env, sender > 0 ? size : 0, buf, NULL, &data) != napi_ok ||
	    !set_num(env, o, "status", st) || !set_num(env, o, "sender", sender) ||
	    !set_val(env, o, "data", data)) {
		free(buf);
		throw_napi_error(env);
		return NULL;
	}
	free(buf);
	return o;
}

static napi_value js_receive_data(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	size_t size;

	if (!get_args(env, info, 1, argv) || !get_size(env, argv[0], "bufSize", &size))
		return NULL;
	return do_receive(env, size, 0, 0, false);
}

static napi_value js_receive_data_etc(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	size_t size;
	__u32 flags;
	bigtime_t timeout;

	if (!get_args(env, info, 3, argv) || !get_size(env, argv[0], "bufSize", &size) ||
	    !get_u32(env, argv[1], "flags", &flags) || !get_timeout(env, argv[2], &timeout))
		return NULL;
	return do_receive(env, size, flags, timeout, true);
}

static napi_value js_has_data(napi_env env, napi_callback_info info)
{
	napi_value argv[1], v;
	__s32 tid;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "tid", &tid))
		return NULL;
	NAPI_OK(env, napi_get_boolean(env, has_data(tid), &v));
	return v;
}

static napi_value js_rename_thread(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	status_t st;
	char *name;
	__s32 tid;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "tid", &tid) ||
	    !get_name(env, argv[1], &name))
		return NULL;
	st = rename_thread(tid, name);
	free(name);
	return num(env, st);
}

static napi_value js_find_thread(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	thread_id tid;
	char *name;

	if (!get_args(env, info, 1, argv) || !get_name(env, argv[0], &name))
		return NULL;
	tid = find_thread(name);
	free(name);
	return num(env, tid);
}

static napi_value js_get_thread_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o = NULL;
	thread_info ti;
	status_t st;
	__s32 tid;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "tid", &tid))
		return NULL;
	memset(&ti, 0, sizeof(ti));
	st = get_thread_info(tid, &ti);
	if (st == B_OK &&
	    (napi_create_object(env, &o) != napi_ok || !set_num(env, o, "thread", ti.thread) ||
	     !set_num(env, o, "team", ti.team) || !set_str(env, o, "name", ti.name, sizeof(ti.name)) ||
	     !set_num(env, o, "state", ti.state)))
		o = NULL;
	return status_info(env, st, o);
}

/* One OpResult: { op, status, code?, sender?, hex?, startUs, endUs }. */
static napi_value op_result(napi_env env, const struct prog_op *op, const struct prog_result *r)
{
	static const char digits[] = "0123456789abcdef";
	napi_value o, v;
	char *hex;
	bool ok;

	if (napi_create_object(env, &o) != napi_ok ||
	    napi_create_string_utf8(env, prog_kind_names[op->kind], NAPI_AUTO_LENGTH, &v) != napi_ok ||
	    !set_val(env, o, "op", v) || !set_num(env, o, "status", r->status))
		return NULL;
	switch (op->kind) {
	case PROG_RECEIVE:
		hex = malloc(r->size * 2 + 1);
		if (!hex)
			return NULL;
		/* Like receiveData: no bytes unless a message came. */
		for (size_t i = 0; i < (r->sender > 0 ? r->size : 0); i++) {
			hex[2 * i] = digits[r->data[i] >> 4];
			hex[2 * i + 1] = digits[r->data[i] & 15];
		}
		ok = set_num(env, o, "sender", r->sender) &&
		     set_str(env, o, "hex", hex, r->sender > 0 ? r->size * 2 : 0);
		free(hex);
		if (!ok)
			return NULL;
		break;
	case PROG_WAIT:
	case PROG_RETURN:
	case PROG_EXIT:
		if (!set_num(env, o, "code", r->code))
			return NULL;
		break;
	default:
		break;
	}
	if (!set_bigint(env, o, "startUs", r->start_us) || !set_bigint(env, o, "endUs", r->end_us))
		return NULL;
	return o;
}

/* The record's JS value; built under prog_lock (the thread may be running). */
static napi_value report_value(napi_env env, const struct prog *p)
{
	napi_value o, v, results;

	if (napi_create_object(env, &o) != napi_ok)
		return NULL;
	if (p->started_us) {
		if (!set_bigint(env, o, "startedUs", p->started_us))
			return NULL;
	} else if (napi_get_null(env, &v) != napi_ok || !set_val(env, o, "startedUs", v)) {
		return NULL;
	}
	if (napi_get_boolean(env, p->done, &v) != napi_ok || !set_val(env, o, "done", v) ||
	    napi_create_array_with_length(env, p->ran, &results) != napi_ok)
		return NULL;
	for (size_t i = 0; i < p->ran; i++) {
		v = op_result(env, &p->ops[i], &p->results[i]);
		if (!v || napi_set_element(env, results, i, v) != napi_ok)
			return NULL;
	}
	if (!set_val(env, o, "results", results))
		return NULL;
	return o;
}

static napi_value js_thread_report(napi_env env, napi_callback_info info)
{
	napi_value argv[1], v = NULL;
	const struct prog *p;
	__s32 tid;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "tid", &tid))
		return NULL;
	p = prog_lock_find(tid);
	if (!p) {
		prog_unlock();
		NAPI_OK(env, napi_get_null(env, &v));
		return v;
	}
	v = report_value(env, p);
	prog_unlock();
	if (!v)
		throw_napi_error(env);
	return v;
}

/* ---- on the thread pool ---------------------------------------------------- */

static void exec_wait(struct async_req *r)
{
	status_t code = 0;

	r->result = wait_for_thread_etc(r->id, r->flags, r->timeout, &code);
	r->code = code;
}

static napi_value done_wait(napi_env env, struct async_req *r)
{
	return wait_result(env, (status_t)r->result, r->code);
}

static void exec_send(struct async_req *r)
{
	r->result = send_data_etc(r->id, r->code, r->buf, r->size, r->flags, r->timeout);
}

static napi_value js_wait_for_thread_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	struct async_req *r;

	if (!get_args(env, info, 3, argv))
		return NULL;
	r = async_new(env, exec_wait, done_wait);
	if (!r)
		return NULL;
	if (!get_i32(env, argv[0], "tid", &r->id) || !get_u32(env, argv[1], "flags", &r->flags) ||
	    !get_timeout(env, argv[2], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:waitForThreadEtc");
}

static napi_value js_send_data_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct async_req *r;
	void *data;
	size_t len;

	if (!get_args(env, info, 5, argv))
		return NULL;
	r = async_new(env, exec_send, NULL);
	if (!r)
		return NULL;
	if (!get_i32(env, argv[0], "tid", &r->id) || !get_i32(env, argv[1], "code", &r->code) ||
	    !get_bytes(env, argv[2], "data", &data, &len) || !get_u32(env, argv[3], "flags", &r->flags) ||
	    !get_timeout(env, argv[4], &r->timeout) || !async_copy(env, r, data, len)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:sendDataEtc");
}

const struct binding_fn thread_fns[] = {
	{ "spawnThread", js_spawn_thread },
	{ "resumeThread", js_resume_thread },
	{ "waitForThread", js_wait_for_thread },
	{ "waitForThreadEtc", js_wait_for_thread_etc },
	{ "sendData", js_send_data },
	{ "sendDataEtc", js_send_data_etc },
	{ "receiveData", js_receive_data },
	{ "receiveDataEtc", js_receive_data_etc },
	{ "hasData", js_has_data },
	{ "renameThread", js_rename_thread },
	{ "findThread", js_find_thread },
	{ "getThreadInfo", js_get_thread_info },
	{ "threadReport", js_thread_report },
	{ "waitForThreadEtcAsync", js_wait_for_thread_etc_async },
	{ "sendDataEtcAsync", js_send_data_etc_async },
	{ NULL, NULL }
};
