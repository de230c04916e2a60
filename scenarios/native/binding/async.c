// SPDX-License-Identifier: GPL-2.0
/*
 * The *Async variants' machinery: a call runs on a libuv pool thread (the
 * event loop keeps running while it blocks) and settles a promise with the
 * same value as the synchronous call.  The pool's threads belong to this
 * process, hence to its team.
 */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

/* On a thread-pool thread: no N-API calls here. */
static void async_execute(napi_env env, void *data)
{
	struct async_req *r = data;

	(void)env;
	r->execute(r);
}

void async_free(napi_env env, struct async_req *r)
{
	if (r->work)
		napi_delete_async_work(env, r->work);
	free(r->buf);
	free(r->extra);
	free(r);
}

/* Back on the JS thread: settle the promise with the same value as the sync call. */
static void async_complete(napi_env env, napi_status status, void *data)
{
	struct async_req *r = data;
	napi_value value = NULL, err, msg;

	if (status == napi_ok)
		value = r->complete ? r->complete(env, r) : num(env, (double)r->result);
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

napi_value async_start(napi_env env, struct async_req *r, const char *name)
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

struct async_req *async_new(napi_env env, void (*execute)(struct async_req *r),
			    napi_value (*complete)(napi_env env, struct async_req *r))
{
	struct async_req *r = calloc(1, sizeof(*r));

	if (!r) {
		throw_oom(env);
		return NULL;
	}
	r->execute = execute;
	r->complete = complete;
	return r;
}

bool async_copy(napi_env env, struct async_req *r, const void *data, size_t len)
{
	if (len) {
		r->buf = malloc(len);
		if (!r->buf) {
			throw_oom(env);
			return false;
		}
		memcpy(r->buf, data, len);
	}
	r->size = len;
	return true;
}

bool async_buffer(napi_env env, struct async_req *r)
{
	r->buf = malloc(r->size ? r->size : 1);
	if (!r->buf) {
		throw_oom(env);
		return false;
	}
	return true;
}
