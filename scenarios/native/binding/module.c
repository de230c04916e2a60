// SPDX-License-Identifier: GPL-2.0
/*
 * The module: every file's functions and the ABI's constants, compiled from
 * nexus.h and libnexus.h (scenarios/native/index.ts repeats them; a unit
 * test checks that both agree with nexus.h).
 */
#define _GNU_SOURCE		/* O_PATH */
#include <fcntl.h>
#include <sys/mman.h>

#include "binding.h"

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
	C(NEXUS_THREAD_GET_INFO), C(B_BAD_THREAD_STATE), C(NEXUS_THREAD_MAX_MESSAGE_SIZE),
	C(B_THREAD_RUNNING), C(B_THREAD_READY), C(B_THREAD_RECEIVING), C(B_THREAD_ASLEEP),
	C(B_THREAD_SUSPENDED), C(B_THREAD_WAITING),
	C(B_READ_AREA), C(B_WRITE_AREA), C(B_EXECUTE_AREA), C(B_CLONEABLE_AREA),
	C(B_NO_LOCK), C(B_LAZY_LOCK), C(B_FULL_LOCK), C(B_CONTIGUOUS), C(B_LOMEM),
	C(NEXUS_IOCTL_MAGIC), C(NEXUS_AREA_IOCTL_MAGIC),
	C(NEXUS_AREA_CREATE), C(NEXUS_AREA_CLONE), C(NEXUS_AREA_DELETE), C(NEXUS_AREA_FIND),
	C(NEXUS_AREA_GET_INFO), C(NEXUS_AREA_RESIZE), C(NEXUS_AREA_SET_PROTECTION), C(NEXUS_AREA_TRANSFER),
	C(NEXUS_AREA_GET_NEXT),
	C(NEXUS_VREF_IOCTL_MAGIC), C(NEXUS_WATCH_IOCTL_MAGIC),
	C(NEXUS_VREF_CREATE), C(NEXUS_VREF_ACQUIRE), C(NEXUS_VREF_RELEASE), C(NEXUS_VREF_OPEN),
	C(NEXUS_START_WATCHING), C(NEXUS_STOP_WATCHING), C(NEXUS_STOP_NOTIFYING),
	C(B_STOP_WATCHING), C(B_WATCH_NAME), C(B_WATCH_STAT), C(B_WATCH_ATTR), C(B_WATCH_DIRECTORY),
	C(B_WATCH_ALL), C(B_WATCH_MOUNT), C(B_WATCH_INTERIM_STAT), C(B_WATCH_CHILDREN), C(NEXUS_WATCH_FLAGS),
	C(B_NODE_MONITOR), C(B_ENTRY_CREATED), C(B_ENTRY_REMOVED), C(B_ENTRY_MOVED), C(B_STAT_CHANGED),
	C(B_ATTR_CHANGED), C(B_DEVICE_MOUNTED), C(B_DEVICE_UNMOUNTED), C(NEXUS_EVENTS_DROPPED),
	C(B_STAT_MODE), C(B_STAT_UID), C(B_STAT_GID), C(B_STAT_SIZE), C(B_STAT_ACCESS_TIME),
	C(B_STAT_MODIFICATION_TIME), C(B_STAT_CREATION_TIME), C(B_STAT_CHANGE_TIME), C(B_STAT_INTERIM_UPDATE),
	C(B_ATTR_CREATED), C(B_ATTR_REMOVED), C(B_ATTR_CHANGED_CAUSE),
	C(KMESSAGE_MAGIC), C(KMESSAGE_HEADER_SIZE), C(KMESSAGE_FIELD_HEADER_SIZE),
	C(B_INT32_TYPE), C(B_INT64_TYPE), C(B_STRING_TYPE),
	/* libnexus.h's */
	C(B_PAGE_SIZE), C(B_IDLE_PRIORITY), C(B_LOWEST_ACTIVE_PRIORITY), C(B_LOW_PRIORITY),
	C(B_NORMAL_PRIORITY), C(B_DISPLAY_PRIORITY), C(B_URGENT_DISPLAY_PRIORITY),
	C(B_REAL_TIME_DISPLAY_PRIORITY), C(B_URGENT_PRIORITY), C(B_REAL_TIME_PRIORITY),
	C(B_ANY_ADDRESS), C(B_EXACT_ADDRESS), C(B_BASE_ADDRESS), C(B_CLONE_ADDRESS),
	C(B_ANY_KERNEL_ADDRESS), C(B_RANDOMIZED_ANY_ADDRESS), C(B_RANDOMIZED_BASE_ADDRESS),
	/* <sys/mman.h>'s */
	C(PROT_NONE), C(PROT_READ), C(PROT_WRITE), C(PROT_EXEC),
	/* <fcntl.h>'s: the modes of vrefOpen (node's fs.constants lacks O_PATH, O_CLOEXEC) */
	C(O_RDONLY), C(O_WRONLY), C(O_RDWR), C(O_ACCMODE), C(O_APPEND), C(O_CLOEXEC), C(O_NONBLOCK),
	C(O_DIRECTORY), C(O_PATH), C(O_NOFOLLOW), C(O_CREAT), C(O_TRUNC), C(O_EXCL),
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
	NAPI_OK(env, napi_create_string_utf8(env, NEXUS_AREA_DEVICE_PATH, NAPI_AUTO_LENGTH, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "NEXUS_AREA_DEVICE_PATH", v));
	NAPI_OK(env, napi_create_string_utf8(env, NEXUS_NODE_MONITOR_DEVICE_PATH, NAPI_AUTO_LENGTH, &v));
	NAPI_OK(env, napi_set_named_property(env, o, "NEXUS_NODE_MONITOR_DEVICE_PATH", v));
	return o;
}

NAPI_MODULE_INIT()
{
	static const struct binding_fn *const tables[] = {
		port_fns, sem_fns, thread_fns, area_fns, vref_fns, nodemon_fns, raw_fns,
	};
	napi_value fn, c;

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		for (const struct binding_fn *f = tables[t]; f->name; f++) {
			NAPI_OK(env, napi_create_function(env, f->name, NAPI_AUTO_LENGTH, f->fn, NULL, &fn));
			NAPI_OK(env, napi_set_named_property(env, exports, f->name, fn));
		}
	}
	c = constants_value(env);
	if (!c)
		return NULL;
	NAPI_OK(env, napi_set_named_property(env, exports, "constants", c));
	return exports;
}
