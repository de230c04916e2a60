// SPDX-License-Identifier: GPL-2.0
/*
 * Process helpers (the descriptor, the clock, the tid) and requests that go
 * around libnexus: how scenarios reach what libnexus never sends.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "binding.h"
#include "../nexus-area-io.h"

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

/*
 * NEXUS_AREA_CLONE on this process's /dev/nexus_area, bypassing libnexus:
 * the clone's descriptor stays open (not mapped) for mmapFd, until closeFd.
 */
static napi_value js_raw_area_clone(napi_env env, napi_callback_info info)
{
	napi_value argv[3], o;
	struct nexus_area_clone req;
	__s32 source;
	__u32 protection;
	char *name;
	long rc;
	int fd, err;

	if (!get_args(env, info, 3, argv) || !get_i32(env, argv[0], "source", &source) ||
	    !get_name(env, argv[1], &name) || !get_u32(env, argv[2], "protection", &protection))
		return NULL;
	memset(&req, 0, sizeof(req));
	req.source = source;
	req.protection = protection;
	if (name)
		snprintf(req.name, sizeof(req.name), "%s", name);
	free(name);
	fd = nexus_area_fd();
	rc = fd < 0 ? fd : ioctl(fd, NEXUS_AREA_CLONE, &req);
	err = fd < 0 ? -fd : rc < 0 ? errno : 0;
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "rc", (double)rc) || !set_num(env, o, "errno", err) ||
	    !set_num(env, o, "ret", req.ret) || !set_num(env, o, "area", req.area) ||
	    !set_num(env, o, "fd", req.fd) || !set_num(env, o, "size", (double)req.size)) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/*
 * mmap(fd) with prot, MAP_SHARED or MAP_PRIVATE: { errno } (0: mapped);
 * when mapped and mprotectTo is given, mprotect(mprotectTo) as well:
 * { errno, mprotectErrno }; when mapped writable and writeByte is given,
 * that byte written at offset 0 and read back: { ..., readBack }.  The
 * mapping is gone when this returns.
 */
static napi_value js_mmap_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[6], o;
	int64_t size, to = -1, byte = -1;
	bool shared;
	int err, mprotect_err, read_back;
	__u32 prot;
	__s32 fd;

	if (!get_opt_args(env, info, 4, 6, argv) || !get_i32(env, argv[0], "fd", &fd) ||
	    !get_int(env, argv[1], "size", 1, 9007199254740992.0, &size) ||
	    !get_u32(env, argv[2], "prot", &prot))
		return NULL;
	if (napi_get_value_bool(env, argv[3], &shared) != napi_ok) {
		throw_type(env, "%s must be a boolean", "shared");
		return NULL;
	}
	if (!is_undefined(env, argv[4]) && !get_int(env, argv[4], "mprotectTo", 0, INT32_MAX, &to))
		return NULL;
	if (!is_undefined(env, argv[5]) && !get_int(env, argv[5], "writeByte", 0, 255, &byte))
		return NULL;
	err = area_io_mmap(fd, (size_t)size, (int)prot, shared, (int)to, &mprotect_err, (int)byte, &read_back);
	NAPI_OK(env, napi_create_object(env, &o));
	if (!set_num(env, o, "errno", err) ||
	    (to >= 0 && !err && !set_num(env, o, "mprotectErrno", mprotect_err)) ||
	    (byte >= 0 && !err && !set_num(env, o, "readBack", read_back))) {
		throw_napi_error(env);
		return NULL;
	}
	return o;
}

/* close(2): 0 or -errno. */
static napi_value js_close_fd(napi_env env, napi_callback_info info)
{
	napi_value argv[1];
	__s32 fd;

	if (!get_args(env, info, 1, argv) || !get_i32(env, argv[0], "fd", &fd))
		return NULL;
	return num(env, close(fd) < 0 ? -errno : 0);
}

const struct binding_fn raw_fns[] = {
	{ "fd", js_fd },
	{ "systemTime", js_system_time },
	{ "gettid", js_gettid },
	{ "rawIoctlPortCreate", js_raw_ioctl_port_create },
	{ "rawIoctl", js_raw_ioctl },
	{ "addressOf", js_address_of },
	{ "rawAreaClone", js_raw_area_clone },
	{ "mmapFd", js_mmap_fd },
	{ "closeFd", js_close_fd },
	{ NULL, NULL }
};
