// SPDX-License-Identifier: GPL-2.0
/*
 * The node monitor's requests, raw: START_WATCHING, STOP_WATCHING and
 * STOP_NOTIFYING straight on libnexus's /dev/nexus_node_monitor descriptor,
 * returning what the kernel returns (0 or -errno; the failed open's -errno
 * when the device cannot be opened), so that scenarios see the exact errno
 * libnexus's watch_node() family would turn into a Haiku status.
 */
#include <errno.h>
#include <sys/ioctl.h>

#include "binding.h"

/* 0, what the ioctl returned otherwise, or -errno. */
static double node_monitor_ioctl(unsigned long cmd, void *req)
{
	int fd = nexus_node_monitor_fd();
	long r;

	if (fd < 0)
		return fd;
	r = ioctl(fd, cmd, req);
	return r == -1 ? -errno : (double)r;
}

/* A token: the kernel's u32, given as an int32 or a uint32. */
static bool get_token(napi_env env, napi_value v, __u32 *out)
{
	int64_t x;

	if (!get_int(env, v, "token", INT32_MIN, UINT32_MAX, &x))
		return false;
	*out = (__u32)x;
	return true;
}

/* A u64 (device, node): a bigint, or a number (-1 = ~0). */
static bool get_u64(napi_env env, napi_value v, const char *what, uint64_t *out)
{
	napi_valuetype t;
	int64_t x;

	if (napi_typeof(env, v, &t) != napi_ok) {
		throw_napi_error(env);
		return false;
	}
	if (t == napi_bigint)
		return get_raw64(env, v, what, out);
	if (!get_int(env, v, what, -1, 9007199254740991.0, &x))
		return false;
	*out = (uint64_t)x;
	return true;
}

static napi_value js_start_watching(napi_env env, napi_callback_info info)
{
	napi_value argv[5];
	struct nexus_watch_fd req = { 0 };

	if (!get_opt_args(env, info, 4, 5, argv) || !get_i32(env, argv[0], "fd", &req.fd) ||
	    !get_u32(env, argv[1], "flags", &req.flags) || !get_i32(env, argv[2], "port", &req.port) ||
	    !get_token(env, argv[3], &req.token) ||
	    (!is_undefined(env, argv[4]) && !get_i32(env, argv[4], "vrefId", &req.vref_id)))
		return NULL;
	return num(env, node_monitor_ioctl(NEXUS_START_WATCHING, &req));
}

static napi_value js_stop_watching(napi_env env, napi_callback_info info)
{
	napi_value argv[4];
	struct nexus_unwatch_fd req = { 0 };
	uint64_t device, node;

	if (!get_args(env, info, 4, argv) || !get_u64(env, argv[0], "device", &device) ||
	    !get_u64(env, argv[1], "node", &node) || !get_i32(env, argv[2], "port", &req.port) ||
	    !get_token(env, argv[3], &req.token))
		return NULL;
	req.device = device;
	req.node = node;
	return num(env, node_monitor_ioctl(NEXUS_STOP_WATCHING, &req));
}

static napi_value js_stop_notifying(napi_env env, napi_callback_info info)
{
	napi_value argv[2];
	struct nexus_stop_notifying req = { 0 };

	if (!get_args(env, info, 2, argv) || !get_i32(env, argv[0], "port", &req.port) ||
	    !get_token(env, argv[1], &req.token))
		return NULL;
	return num(env, node_monitor_ioctl(NEXUS_STOP_NOTIFYING, &req));
}

static napi_value js_node_monitor_fd(napi_env env, napi_callback_info info)
{
	(void)info;
	return num(env, nexus_node_monitor_fd());
}

const struct binding_fn nodemon_fns[] = {
	{ "startWatching", js_start_watching },
	{ "stopWatching", js_stop_watching },
	{ "stopNotifying", js_stop_notifying },
	{ "nodeMonitorFd", js_node_monitor_fd },
	{ NULL, NULL }
};
