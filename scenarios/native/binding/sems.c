// SPDX-License-Identifier: GPL-2.0
/*
 * Semaphores: create_sem .. get_next_sem_info, and acquireSemEtcAsync.
 */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

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

static void exec_acquire(struct async_req *r)
{
	r->result = acquire_sem_etc(r->id, r->count, r->flags, r->timeout);
}

static napi_value js_acquire_sem_etc_async(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct async_req *r;

	if (!get_args(env, info, 4, argv))
		return NULL;
	r = async_new(env, exec_acquire, NULL);
	if (!r)
		return NULL;
	if (!get_i32(env, argv[0], "id", &r->id) || !get_i32(env, argv[1], "count", &r->count) ||
	    !get_u32(env, argv[2], "flags", &r->flags) || !get_timeout(env, argv[3], &r->timeout)) {
		async_free(env, r);
		return NULL;
	}
	return async_start(env, r, "nexus:acquireSemEtc");
}

const struct binding_fn sem_fns[] = {
	{ "createSem", js_create_sem },
	{ "deleteSem", js_delete_sem },
	{ "acquireSem", js_acquire_sem },
	{ "acquireSemEtc", js_acquire_sem_etc },
	{ "releaseSem", js_release_sem },
	{ "releaseSemEtc", js_release_sem_etc },
	{ "getSemCount", js_get_sem_count },
	{ "getSemInfo", js_get_sem_info },
	{ "getNextSemInfo", js_get_next_sem_info },
	{ "acquireSemEtcAsync", js_acquire_sem_etc_async },
	{ NULL, NULL }
};
