// SPDX-License-Identifier: GPL-2.0
/*
 * Vrefs (nexus_vref_*: the kernel's -errno as it is) and the port messages
 * that carry them (write_port_caps_etc, read_port_caps_etc: statuses).
 * Keys are bigints (u64).
 */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* More caps than a message may carry (NEXUS_PORT_MAX_CAPS), to test the limit. */
#define MAX_CAPS_ARG (1 << 20)

static napi_value js_vref_create(napi_env env, napi_callback_info info)
{
	napi_value argv[1], o;
	vref_id id = 0;
	uint64_t key = 0;
	__s32 fd;
	status_t st;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "fd", &fd))
		return NULL;
	st = nexus_vref_create(fd, &id, &key);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", st) || !set_num(env, o, "id", st == B_OK ? id : 0) ||
	    !set_biguint(env, o, "key", st == B_OK ? key : 0)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* (id, key) arguments. */
static bool get_id_key(napi_env env, napi_value *argv, vref_id *id, uint64_t *key)
{
	return get_i32(env, argv[0], "id", id) && get_raw64(env, argv[1], "key", key);
}

static napi_value js_vref_acquire(napi_env env, napi_callback_info info)
{
	napi_value argv[2], o;
	uint64_t key, new_key = 0;
	vref_id id;
	status_t st;

	if (!get_args(env, info, 2, argv) || !get_id_key(env, argv, &id, &key))
		return NULL;
	st = nexus_vref_acquire(id, key, &new_key);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", st) || !set_biguint(env, o, "key", st == B_OK ? new_key : 0)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

static napi_value js_vref_release(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint64_t key;
	vref_id id;

	if (!get_args(env, info, 2, argv) || !get_id_key(env, argv, &id, &key))
		return NULL;
	return num(env, nexus_vref_release(id, key));
}

static napi_value js_vref_open(napi_env env, napi_callback_info info)
{
	napi_value argv[3], o;
	uint64_t key;
	vref_id id;
	__u32 mode;
	int r;

	if (!get_args(env, info, 3, argv) || !get_id_key(env, argv, &id, &key) ||
	    !get_u32(env, argv[2], "mode", &mode))
		return NULL;
	r = nexus_vref_open(id, key, mode);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", r < 0 ? r : 0) || !set_num(env, o, "fd", r < 0 ? -1 : r)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* An optional unsigned field of a cap object (default def). */
static bool get_cap_field(napi_env env, napi_value obj, const char *name, bool required, __u32 def,
			  double min, double max, int64_t *out)
{
	napi_value v;
	bool has;

	if (napi_has_named_property(env, obj, name, &has) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (has && napi_get_named_property(env, obj, name, &v) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (!has || is_undefined(env, v)) {
		if (required) {
			throw_type(env, "caps[].%s is required", name);
			return false;
		}
		*out = def;
		return true;
	}
	return get_int(env, v, name, min, max, out);
}

/* caps: [{ vrefId, offset?, kind? }] into a malloc'd array (NULL when empty). */
static bool get_caps(napi_env env, napi_value v, struct nexus_port_cap_in **out, size_t *count)
{
	struct nexus_port_cap_in *caps = NULL;
	napi_value e;
	uint32_t n;
	bool is_array;
	int64_t x;

	if (napi_is_array(env, v, &is_array) != napi_ok || !is_array) {
		throw_type(env, "%s must be an array", "caps");
		return false;
	}
	if (napi_get_array_length(env, v, &n) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (n > MAX_CAPS_ARG) {
		throw_type(env, "%s has too many entries", "caps");
		return false;
	}
	if (n) {
		caps = calloc(n, sizeof(*caps));
		if (!caps) {
			throw_oom(env);
			return false;
		}
	}
	for (uint32_t i = 0; i < n; i++) {
		napi_valuetype t;

		if (napi_get_element(env, v, i, &e) != napi_ok || napi_typeof(env, e, &t) != napi_ok) {
			throw_napi_error(env);
			goto fail;
		}
		if (t != napi_object) {
			throw_type(env, "%s must be objects", "caps[]");
			goto fail;
		}
		if (!get_cap_field(env, e, "vrefId", true, 0, INT32_MIN, INT32_MAX, &x))
			goto fail;
		caps[i].vref_id = (__s32)x;
		if (!get_cap_field(env, e, "offset", false, 0, 0, UINT32_MAX, &x))
			goto fail;
		caps[i].buffer_offset = (__u32)x;
		if (!get_cap_field(env, e, "kind", false, NEXUS_PORT_CAP_VREF, 0, UINT32_MAX, &x))
			goto fail;
		caps[i].kind = (__u32)x;
	}
	*out = caps;
	*count = n;
	return true;
fail:
	free(caps);
	return false;
}

static napi_value js_write_port_caps(napi_env env, napi_callback_info info)
{
	napi_value argv[6];
	struct nexus_port_cap_in *caps;
	__s32 port, code;
	__u32 flags = 0;
	bigtime_t timeout = 0;
	size_t len, count;
	void *data;
	status_t st;

	if (!get_opt_args(env, info, 4, 6, argv) || !get_i32(env, argv[0], "port", &port) ||
	    !get_i32(env, argv[1], "code", &code) || !get_bytes(env, argv[2], "data", &data, &len) ||
	    (!is_undefined(env, argv[4]) && !get_u32(env, argv[4], "flags", &flags)) ||
	    (!is_undefined(env, argv[5]) && !get_timeout(env, argv[5], &timeout)) ||
	    !get_caps(env, argv[3], &caps, &count))
		return NULL;
	st = write_port_caps_etc(port, code, data, len, caps, count, flags, timeout);
	free(caps);
	return num(env, st);
}

/*
 * ReadCapsResult: { status, code, data, size, capsCount, caps }.  size and
 * capsCount are the message's (B_OK) or what it needs (B_BUFFER_OVERFLOW),
 * else 0; data and caps are what was copied (B_OK only).
 */
static napi_value read_caps_result(napi_env env, status_t st, __s32 code, const void *buf, size_t size,
				   const struct nexus_port_cap_out *caps, size_t count)
{
	bool out = st == B_OK || st == B_BUFFER_OVERFLOW;
	size_t n = st == B_OK ? size : 0, k = st == B_OK ? count : 0;
	napi_value o, data, list, c;

	NAPI_OK(env, napi_create_object(env, &o));
	NAPI_OK(env, napi_create_buffer_copy(env, n, n ? buf : "", NULL, &data));
	NAPI_OK(env, napi_create_array_with_length(env, k, &list));
	for (size_t i = 0; i < k; i++) {
		NAPI_OK(env, napi_create_object(env, &c));
		if (!set_num(env, c, "kind", caps[i].kind) || !set_num(env, c, "vrefId", caps[i].vref_id) ||
		    !set_num(env, c, "offset", caps[i].buffer_offset) || !set_biguint(env, c, "key", caps[i].key)) {
			throw_napi_error(env);
			return NULL;
		}
		NAPI_OK(env, napi_set_element(env, list, (uint32_t)i, c));
	}
	if (!set_num(env, o, "status", st) || !set_num(env, o, "code", st == B_OK ? code : 0) ||
	    !set_val(env, o, "data", data) || !set_num(env, o, "size", out ? (double)size : 0) ||
	    !set_num(env, o, "capsCount", out ? (double)count : 0) || !set_val(env, o, "caps", list)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* (port, size, capsRoom[, flags, timeout]) into r; false (thrown) if bad. */
static bool get_read_caps_args(napi_env env, napi_callback_info info, struct async_req *r)
{
	napi_value argv[5];
	int64_t room;

	if (!get_opt_args(env, info, 3, 5, argv) || !get_i32(env, argv[0], "port", &r->id) ||
	    !get_size(env, argv[1], "size", &r->size) ||
	    !get_int(env, argv[2], "capsRoom", 0, MAX_CAPS_ARG, &room) ||
	    (!is_undefined(env, argv[3]) && !get_u32(env, argv[3], "flags", &r->flags)) ||
	    (!is_undefined(env, argv[4]) && !get_timeout(env, argv[4], &r->timeout)) ||
	    !async_buffer(env, r))
		return false;
	r->count = (__s32)room;
	r->extra = calloc(room ? (size_t)room : 1, sizeof(struct nexus_port_cap_out));
	if (!r->extra) {
		throw_oom(env);
		return false;
	}
	return true;
}

static void exec_read_caps(struct async_req *r)
{
	size_t count = (size_t)r->count;

	r->result = read_port_caps_etc(r->id, &r->code, r->buf, &r->size, r->extra, &count, r->flags,
				       r->timeout);
	r->out.caps_count = count;
}

static napi_value done_read_caps(napi_env env, struct async_req *r)
{
	return read_caps_result(env, (status_t)r->result, r->code, r->buf, r->size, r->extra, r->out.caps_count);
}

static napi_value js_read_port_caps(napi_env env, napi_callback_info info)
{
	struct async_req *r = async_new(env, exec_read_caps, done_read_caps);
	napi_value v;

	if (!r)
		return NULL;
	if (!get_read_caps_args(env, info, r)) {
		async_free(env, r);
		return NULL;
	}
	exec_read_caps(r);
	v = done_read_caps(env, r);
	async_free(env, r);
	return v;
}

static napi_value js_read_port_caps_async(napi_env env, napi_callback_info info)
{
	struct async_req *r = async_new(env, exec_read_caps, done_read_caps);

	if (!r)
		return NULL;
	if (!get_read_caps_args(env, info, r)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:readPortCaps");
}

const struct binding_fn vref_fns[] = {
	{ "vrefCreate", js_vref_create },
	{ "vrefAcquire", js_vref_acquire },
	{ "vrefRelease", js_vref_release },
	{ "vrefOpen", js_vref_open },
	{ "writePortCaps", js_write_port_caps },
	{ "readPortCaps", js_read_port_caps },
	{ "readPortCapsAsync", js_read_port_caps_async },
	{ NULL, NULL }
};
