// SPDX-License-Identifier: GPL-2.0
/*
 * Ports: create_port .. get_port_message_info_etc, and the *Async variants
 * of the calls that block.
 */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

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

static napi_value js_close_port(napi_env env, napi_callback_info info)
{
	return id_call(env, info, close_port);
}

static napi_value js_delete_port(napi_env env, napi_callback_info info)
{
	return id_call(env, info, delete_port);
}

static napi_value js_write_port(napi_env env, napi_callback_info info)
{
	return message_call(env, info, "id", write_port);
}

static napi_value js_write_port_etc(napi_env env, napi_callback_info info)
{
	return message_etc_call(env, info, "id", write_port_etc);
}

static napi_value do_read(napi_env env, __s32 id, size_t size, __u32 flags, bigtime_t timeout, bool etc)
{
	void *buf = malloc(size ? size : 1);
	__s32 code = 0;
	ssize_t st;
	napi_value r;

	if (!buf) {
		throw_oom(env);
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

/* ---- on the thread pool ---------------------------------------------------- */

static void exec_write(struct async_req *r)
{
	r->result = write_port_etc(r->id, r->code, r->buf, r->size, r->flags, r->timeout);
}

static void exec_read(struct async_req *r)
{
	r->result = read_port_etc(r->id, &r->code, r->buf, r->size, r->flags, r->timeout);
}

static napi_value done_read(napi_env env, struct async_req *r)
{
	return read_result(env, r->result, r->code, r->buf);
}

static void exec_buffer_size(struct async_req *r)
{
	r->result = port_buffer_size_etc(r->id, r->flags, r->timeout);
}

static void exec_message_info(struct async_req *r)
{
	r->result = get_port_message_info_etc(r->id, &r->out.message, sizeof(r->out.message), r->flags,
					      r->timeout);
}

static napi_value done_message_info(napi_env env, struct async_req *r)
{
	return status_info(env, (double)r->result,
			   r->result == B_OK ? message_info_value(env, &r->out.message) : NULL);
}

static napi_value js_write_port_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct async_req *r;
	void *data;
	size_t len;

	if (!get_args(env, info, 5, argv))
		return NULL;
	r = async_new(env, exec_write, NULL);
	if (!r)
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_i32(env, argv[1], "code", &r->code) ||
	    !get_bytes(env, argv[2], "data", &data, &len) || !get_u32(env, argv[3], "flags", &r->flags) ||
	    !get_timeout(env, argv[4], &r->timeout) || !async_copy(env, r, data, len)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:writePortEtc");
}

static napi_value js_read_port_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct async_req *r;

	if (!get_args(env, info, 4, argv))
		return NULL;
	r = async_new(env, exec_read, done_read);
	if (!r)
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_size(env, argv[1], "bufSize", &r->size) ||
	    !get_u32(env, argv[2], "flags", &r->flags) || !get_timeout(env, argv[3], &r->timeout) ||
	    !async_buffer(env, r)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:readPortEtc");
}

static napi_value id_flags_timeout_async(napi_env env, napi_callback_info info,
					 void (*execute)(struct async_req *r),
					 napi_value (*complete)(napi_env env, struct async_req *r),
					 const char *name)
{
	napi_value argv[3];
	struct async_req *r;

	if (!get_args(env, info, 3, argv))
		return NULL;
	r = async_new(env, execute, complete);
	if (!r)
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
	return id_flags_timeout_async(env, info, exec_buffer_size, NULL, "nexus:portBufferSizeEtc");
}

static napi_value js_get_port_message_info_etc_async(napi_env env, napi_callback_info info)
{
	return id_flags_timeout_async(env, info, exec_message_info, done_message_info,
				      "nexus:getPortMessageInfoEtc");
}

const struct binding_fn port_fns[] = {
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
	{ "writePortEtcAsync", js_write_port_etc_async },
	{ "readPortEtcAsync", js_read_port_etc_async },
	{ "portBufferSizeEtcAsync", js_port_buffer_size_etc_async },
	{ "getPortMessageInfoEtcAsync", js_get_port_message_info_etc_async },
	{ NULL, NULL }
};
