// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's ports over /dev/nexus.
 */
#include <assert.h>
#include <string.h>

#include "libnexus_internal.h"

/* The Haiku info structs are passed to the kernel as their nexus_* twins. */
static_assert(sizeof(struct port_info) == sizeof(struct nexus_port_info),
	      "port_info layout");
static_assert(sizeof(struct port_message_info) ==
	      sizeof(struct nexus_port_message_info),
	      "port_message_info layout");
static_assert(offsetof(struct port_message_info, sender_team) ==
	      offsetof(struct nexus_port_message_info, sender_team),
	      "port_message_info layout");

/* The functions below are also exported under the names OS.h's macros use. */
#undef get_port_info
#undef get_next_port_info

static void copy_port_info(struct port_info *to,
			   const struct nexus_port_info *from)
{
	to->port = from->port;
	to->team = from->team;
	memcpy(to->name, from->name, sizeof(to->name));
	to->name[sizeof(to->name) - 1] = '\0';
	to->capacity = from->capacity;
	to->queue_count = from->queue_count;
	to->total_count = from->total_count;
}

port_id create_port(__s32 capacity, const char *name)
{
	struct nexus_port_create req = {
		.name = name,
		.size = nexus_name_size(name),
		.capacity = capacity,
	};
	int err = nexus_ioctl(NEXUS_PORT_CREATE, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : req.id;
}

static status_t port_id_request(unsigned long cmd, port_id port)
{
	struct nexus_port_id req = { .id = port };
	int err = nexus_ioctl(cmd, &req);

	return err ? err : req.ret;
}

status_t close_port(port_id port)
{
	return port_id_request(NEXUS_PORT_CLOSE, port);
}

status_t delete_port(port_id port)
{
	return port_id_request(NEXUS_PORT_DELETE, port);
}

port_id find_port(const char *name)
{
	struct nexus_port_find_req req = {
		.name = name,
		.size = nexus_name_size(name),
	};
	int err = nexus_ioctl(NEXUS_PORT_FIND, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : req.id;
}

status_t write_port_etc(port_id port, __s32 code, const void *buffer,
			size_t size, __u32 flags, bigtime_t timeout)
{
	struct nexus_port_write req = {
		.id = port,
		.code = &code,
		.buffer = buffer,
		.size = size,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_WRITE, &req);

	return err ? err : req.ret;
}

status_t write_port(port_id port, __s32 code, const void *buffer, size_t size)
{
	return write_port_etc(port, code, buffer, size, 0, 0);
}

ssize_t read_port_etc(port_id port, __s32 *code, void *buffer, size_t size,
		      __u32 flags, bigtime_t timeout)
{
	struct nexus_port_read req = {
		.id = port,
		.code = code,
		.buffer = buffer,
		.size = size,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_READ, &req);

	if (err)
		return err;
	return req.ret < 0 ? req.ret : (ssize_t)req.size;
}

ssize_t read_port(port_id port, __s32 *code, void *buffer, size_t size)
{
	return read_port_etc(port, code, buffer, size, 0, 0);
}

status_t get_port_message_info_etc(port_id port,
				   struct port_message_info *info,
				   size_t info_size, __u32 flags,
				   bigtime_t timeout)
{
	struct nexus_port_get_message_info req = {
		.id = port,
		.size = info_size,
		.flags = flags,
		.timeout = timeout,
		.info = (struct nexus_port_message_info *)info,
	};
	int err = nexus_ioctl(NEXUS_PORT_MESSAGE_INFO, &req);

	return err ? err : req.ret;
}

ssize_t port_buffer_size_etc(port_id port, __u32 flags, bigtime_t timeout)
{
	struct port_message_info info;
	status_t st;

	st = get_port_message_info_etc(port, &info, sizeof(info), flags,
				       timeout);
	return st < 0 ? st : (ssize_t)info.size;
}

ssize_t port_buffer_size(port_id port)
{
	return port_buffer_size_etc(port, 0, 0);
}

status_t get_port_info(port_id port, struct port_info *info)
{
	struct nexus_port_info out;
	struct nexus_port_get_info req = { .id = port, .info = &out };
	int err = nexus_ioctl(NEXUS_PORT_INFO, &req);

	if (err)
		return err;
	if (req.ret == B_OK)
		copy_port_info(info, &out);
	return req.ret;
}

status_t _get_port_info(port_id port, struct port_info *info, size_t size)
{
	if (!info || size < sizeof(*info))
		return B_BAD_VALUE;
	return get_port_info(port, info);
}

ssize_t port_count(port_id port)
{
	struct port_info info;
	status_t st = get_port_info(port, &info);

	return st < 0 ? st : info.queue_count;
}

status_t get_next_port_info(team_id team, __s32 *cookie,
			    struct port_info *info)
{
	struct nexus_get_next_port req = { .team = team, .cookie = *cookie };
	int err = nexus_ioctl(NEXUS_GET_NEXT_PORT_FOR_TEAM, &req);

	if (err)
		return err;
	if (req.ret == B_OK) {
		copy_port_info(info, &req.info);
		*cookie = req.cookie;
	}
	return req.ret;
}

status_t _get_next_port_info(team_id team, __s32 *cookie,
			     struct port_info *info, size_t size)
{
	if (!cookie || !info || size < sizeof(*info))
		return B_BAD_VALUE;
	return get_next_port_info(team, cookie, info);
}

status_t set_port_owner(port_id port, team_id team)
{
	struct nexus_port_set_owner req = { .id = port, .team = team };
	int err = nexus_ioctl(NEXUS_SET_PORT_OWNER, &req);

	return err ? err : req.ret;
}

status_t write_port_caps_etc(port_id port, __s32 code, const void *buffer,
			     size_t size,
			     const struct nexus_port_cap_in *caps,
			     size_t caps_count, __u32 flags,
			     bigtime_t timeout)
{
	struct nexus_port_write_caps req = {
		.id = port,
		.code = &code,
		.buffer = buffer,
		.size = size,
		.caps = caps,
		.caps_count = caps_count,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_WRITE_CAPS, &req);

	return err ? err : req.ret;
}

status_t read_port_caps_etc(port_id port, __s32 *code, void *buffer,
			    size_t *size, struct nexus_port_cap_out *caps,
			    size_t *caps_count, __u32 flags,
			    bigtime_t timeout)
{
	__s32 got = 0;
	struct nexus_port_read_caps req = {
		.id = port,
		.code = &got,
		.buffer = buffer,
		.size = size ? *size : 0,
		.caps = caps,
		.caps_count = caps_count ? *caps_count : 0,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_PORT_READ_CAPS, &req);

	if (err)
		return err;
	if (req.ret == B_OK || req.ret == B_BUFFER_OVERFLOW) {
		if (size)
			*size = req.size;
		if (caps_count)
			*caps_count = req.caps_count;
	}
	if (req.ret == B_OK && code)
		*code = got;
	return req.ret;
}
