// SPDX-License-Identifier: GPL-2.0
/*
 * The binding's core: arguments from JS values (wrong types throw a
 * TypeError, the only exceptions the binding raises) and the plain-data
 * results built from libnexus's answers.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

void throw_napi_error(napi_env env)
{
	const napi_extended_error_info *e = NULL;
	bool pending = false;

	napi_is_exception_pending(env, &pending);
	if (pending)
		return;
	napi_get_last_error_info(env, &e);
	napi_throw_error(env, NULL, e && e->error_message ? e->error_message : "N-API call failed");
}

void throw_type(napi_env env, const char *fmt, const char *what)
{
	char msg[160];

	snprintf(msg, sizeof(msg), fmt, what);
	napi_throw_type_error(env, NULL, msg);
}

void throw_oom(napi_env env)
{
	napi_throw_error(env, NULL, "out of memory");
}

bool get_opt_args(napi_env env, napi_callback_info info, size_t want, size_t max, napi_value *argv)
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
	for (size_t i = 0; i < max; i++) {
		if (i < argc) {
			argv[i] = all[i];
		} else if (napi_get_undefined(env, &argv[i]) != napi_ok) {
			throw_napi_error(env);
			return false;
		}
	}
	return true;
}

bool get_args(napi_env env, napi_callback_info info, size_t want, napi_value *argv)
{
	return get_opt_args(env, info, want, want, argv);
}

bool is_undefined(napi_env env, napi_value v)
{
	napi_valuetype t;

	return napi_typeof(env, v, &t) == napi_ok && t == napi_undefined;
}

/* An integral number in [min, max]. */
bool get_int(napi_env env, napi_value v, const char *what, double min, double max, int64_t *out)
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

bool get_i32(napi_env env, napi_value v, const char *what, __s32 *out)
{
	int64_t x;

	if (!get_int(env, v, what, INT32_MIN, INT32_MAX, &x))
		return false;
	*out = (__s32)x;
	return true;
}

bool get_u32(napi_env env, napi_value v, const char *what, __u32 *out)
{
	int64_t x;

	if (!get_int(env, v, what, 0, UINT32_MAX, &x))
		return false;
	*out = (__u32)x;
	return true;
}

bool get_size(napi_env env, napi_value v, const char *what, size_t *out)
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
bool get_timeout(napi_env env, napi_value v, bigtime_t *out)
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
bool get_bytes(napi_env env, napi_value v, const char *what, void **data, size_t *len)
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
bool get_name(napi_env env, napi_value v, char **out)
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
		throw_oom(env);
		return false;
	}
	napi_get_value_string_utf8(env, v, *out, len + 1, &len);
	return true;
}

/* A bigint as the raw 64 bits of a pointer or an ioctl argument. */
bool get_raw64(napi_env env, napi_value v, const char *what, uint64_t *out)
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

napi_value num(napi_env env, double x)
{
	napi_value v = NULL;

	if (napi_create_double(env, x, &v) != napi_ok)
		throw_napi_error(env);
	return v;
}

bool set_num(napi_env env, napi_value obj, const char *key, double x)
{
	napi_value v;

	return napi_create_double(env, x, &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool set_str(napi_env env, napi_value obj, const char *key, const char *s, size_t max)
{
	napi_value v;

	return napi_create_string_utf8(env, s, strnlen(s, max), &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool set_val(napi_env env, napi_value obj, const char *key, napi_value v)
{
	return v && napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool set_bigint(napi_env env, napi_value obj, const char *key, int64_t x)
{
	napi_value v;

	return napi_create_bigint_int64(env, x, &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

bool set_biguint(napi_env env, napi_value obj, const char *key, uint64_t x)
{
	napi_value v;

	return napi_create_bigint_uint64(env, x, &v) == napi_ok &&
	       napi_set_named_property(env, obj, key, v) == napi_ok;
}

/* { status, info? }: info only when status is B_OK. */
napi_value status_info(napi_env env, double status, napi_value info)
{
	napi_value o;

	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "status", status) || (status == B_OK && !set_val(env, o, "info", info))) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

napi_value id_call(napi_env env, napi_callback_info info, status_t (*f)(__s32))
{
	napi_value argv[1];
	__s32 id;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "id", &id))
		return NULL;
	return num(env, f(id));
}

napi_value message_call(napi_env env, napi_callback_info info, const char *id_name, message_fn f)
{
	napi_value argv[3];
	__s32 id, code;
	void *data;
	size_t len;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], id_name, &id) ||
	    !get_i32(env, argv[1], "code", &code) || !get_bytes(env, argv[2], "data", &data, &len))
		return NULL;
	return num(env, f(id, code, data, len));
}

napi_value message_etc_call(napi_env env, napi_callback_info info, const char *id_name, message_etc_fn f)
{
	napi_value argv[5];
	__s32 id, code;
	__u32 flags;
	bigtime_t timeout;
	void *data;
	size_t len;

	if (!get_args(env, info, 5, argv) || !get_i32(env, argv[0], id_name, &id) ||
	    !get_i32(env, argv[1], "code", &code) || !get_bytes(env, argv[2], "data", &data, &len) ||
	    !get_u32(env, argv[3], "flags", &flags) || !get_timeout(env, argv[4], &timeout))
		return NULL;
	return num(env, f(id, code, data, len, flags, timeout));
}
