// SPDX-License-Identifier: GPL-2.0
/*
 * Areas: create_area .. transfer_area (libnexus maps them anywhere,
 * B_ANY_ADDRESS), reads, writes and mprotect through this process's
 * mapping (../nexus-area-io.h: a mapping that refuses answers
 * B_BAD_ADDRESS, never SIGSEGV).  The raw requests that check the kernel's
 * clone descriptors are in raw.c.
 */
#define _GNU_SOURCE
#include <stdlib.h>
#include <string.h>

#include "binding.h"
#include "../nexus-area-io.h"

/* A byte count or offset: an integer in [0, 2^53]. */
static bool get_u64(napi_env env, napi_value v, const char *what, uint64_t *out)
{
	int64_t x;

	if (!get_int(env, v, what, 0, 9007199254740992.0, &x))
		return false;
	*out = (uint64_t)x;
	return true;
}

static napi_value area_info_value(napi_env env, const area_info *ai)
{
	napi_value o;

	if (napi_create_object(env, &o) != napi_ok ||
	    !set_num(env, o, "area", ai->area) ||
	    !set_str(env, o, "name", ai->name, sizeof(ai->name)) ||
	    !set_num(env, o, "size", (double)ai->size) ||
	    !set_num(env, o, "lock", ai->lock) ||
	    !set_num(env, o, "protection", ai->protection) ||
	    !set_num(env, o, "team", ai->team) ||
	    !set_bigint(env, o, "address", (int64_t)(uintptr_t)ai->address))
		return NULL;
	return o;
}

static napi_value js_create_area(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	void *address = NULL;
	uint64_t size;
	__u32 lock, protection;
	char *name;
	area_id id;

	if (!get_args(env, info, 4, argv) || !get_u64(env, argv[1], "size", &size) ||
	    !get_u32(env, argv[2], "lock", &lock) || !get_u32(env, argv[3], "protection", &protection) ||
	    !get_name(env, argv[0], &name))
		return NULL;
	id = create_area(name, &address, B_ANY_ADDRESS, (size_t)size, lock, protection);
	free(name);
	return num(env, id);
}

static napi_value js_clone_area(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	void *address = NULL;
	__s32 source;
	__u32 protection;
	char *name;
	area_id id;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[1], "source", &source) ||
	    !get_u32(env, argv[2], "protection", &protection) || !get_name(env, argv[0], &name))
		return NULL;
	id = clone_area(name, &address, B_ANY_ADDRESS, protection, source);
	free(name);
	return num(env, id);
}

static napi_value js_delete_area(napi_env env, napi_callback_info info)
{
	return id_call(env, info, delete_area);
}

static napi_value js_find_area(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	char *name;
	area_id id;

	if (!get_args(env, info, 1, argv) || !get_name(env, argv[0], &name))
		return NULL;
	id = find_area(name);
	free(name);
	return num(env, id);
}

static napi_value js_resize_area(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	uint64_t size;
	__s32 id;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u64(env, argv[1], "size", &size))
		return NULL;
	return num(env, resize_area(id, (size_t)size));
}

static napi_value js_set_area_protection(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__u32 protection;
	__s32 id;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u32(env, argv[1], "protection", &protection))
		return NULL;
	return num(env, set_area_protection(id, protection));
}

static napi_value js_transfer_area(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	void *address = NULL;
	__s32 id, team;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_i32(env, argv[1], "team", &team))
		return NULL;
	return num(env, transfer_area(id, &address, B_ANY_ADDRESS, team));
}

static napi_value js_get_area_info(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	area_info ai;
	status_t st;
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	memset(&ai, 0, sizeof(ai));
	st = get_area_info(id, &ai);
	return status_info(env, st, st == B_OK ? area_info_value(env, &ai) : NULL);
}

static napi_value js_get_next_area_info(napi_env env, napi_callback_info info)
{
	napi_value argv[2], r;
	area_info ai;
	ssize_t cookie;
	status_t st;
	__s32 team, c;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "team", &team) ||
	    !get_i32(env, argv[1], "cookie", &c))
		return NULL;
	cookie = c;
	memset(&ai, 0, sizeof(ai));
	st = get_next_area_info(team, &cookie, &ai);
	r = status_info(env, st, st == B_OK ? area_info_value(env, &ai) : NULL);
	if (r && !set_num(env, r, "cookie", (double)cookie)) {
		throw_napi_error(env);
		return NULL;
	}
	return r;
}

static napi_value js_area_read(napi_env env, napi_callback_info info)
{
	napi_value argv[3], o, data;
	uint64_t offset, length;
	status_t st;
	void *buf;
	__s32 id;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u64(env, argv[1], "offset", &offset) || !get_u64(env, argv[2], "length", &length))
		return NULL;
	if (length > MAX_READ_BUFFER) {
		throw_type(env, "%s must be an integer in range", "length");
		return NULL;
	}
	buf = malloc(length ? (size_t)length : 1);
	if (!buf) {
		throw_oom(env);
		return NULL;
	}
	st = area_io(id, offset, buf, (size_t)length, false);
	if (napi_create_object(env, &o) != napi_ok ||
	    napi_create_buffer_copy(env, st == B_OK ? (size_t)length : 0, buf, NULL, &data) != napi_ok ||
	    !set_num(env, o, "status", st) || !set_val(env, o, "data", data)) {
		free(buf);
		throw_napi_error(env);
		return NULL;
	}
	free(buf);
	return o;
}

static napi_value js_area_write(napi_env env, napi_callback_info info)
{
	napi_value argv[3];
	uint64_t offset;
	void *data;
	size_t len;
	__s32 id;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u64(env, argv[1], "offset", &offset) || !get_bytes(env, argv[2], "data", &data, &len))
		return NULL;
	return num(env, area_io(id, offset, data, len, true));
}

/* mprotect(2) of this process's whole mapping of the area: 0 or -errno (or a status). */
static napi_value js_area_mprotect(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	__s32 id;
	__u32 prot;

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "id", &id) ||
	    !get_u32(env, argv[1], "prot", &prot))
		return NULL;
	return num(env, area_io_mprotect(id, (int)prot));
}

static napi_value js_area_fd(napi_env env, napi_callback_info info)
{
	(void)info;
	return num(env, nexus_area_fd());
}

const struct binding_fn area_fns[] = {
	{ "createArea", js_create_area },
	{ "cloneArea", js_clone_area },
	{ "deleteArea", js_delete_area },
	{ "findArea", js_find_area },
	{ "resizeArea", js_resize_area },
	{ "setAreaProtection", js_set_area_protection },
	{ "transferArea", js_transfer_area },
	{ "getAreaInfo", js_get_area_info },
	{ "getNextAreaInfo", js_get_next_area_info },
	{ "areaRead", js_area_read },
	{ "areaWrite", js_area_write },
	{ "areaMprotect", js_area_mprotect },
	{ "areaFd", js_area_fd },
	{ NULL, NULL }
};
