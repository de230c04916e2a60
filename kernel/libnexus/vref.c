// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: vrefs over /dev/nexus_node_monitor.
 *
 * The vref ioctls return 0 or a negative errno as their value and have no
 * status field: these calls return that errno as it is (vrefs have no
 * Haiku counterpart whose statuses they would have to mimic).
 */
#include "libnexus_internal.h"

status_t nexus_vref_create(int fd, vref_id *id, uint64_t *key)
{
	struct nexus_vref_create req = { .fd = fd };
	long r = nexus_node_monitor_ioctl(NEXUS_VREF_CREATE, &req);

	if (r < 0)
		return (status_t)r;
	if (id)
		*id = req.id;
	if (key)
		*key = req.key;
	return B_OK;
}

status_t nexus_vref_acquire(vref_id id, uint64_t key, uint64_t *new_key)
{
	struct nexus_vref_op req = { .id = id, .key = key };
	long r = nexus_node_monitor_ioctl(NEXUS_VREF_ACQUIRE, &req);

	if (r < 0)
		return (status_t)r;
	if (new_key)
		*new_key = req.key;
	return B_OK;
}

status_t nexus_vref_release(vref_id id, uint64_t key)
{
	struct nexus_vref_op req = { .id = id, .key = key };
	long r = nexus_node_monitor_ioctl(NEXUS_VREF_RELEASE, &req);

	return r < 0 ? (status_t)r : B_OK;
}

int nexus_vref_open(vref_id id, uint64_t key, __u32 mode)
{
	struct nexus_vref_open req = {
		.id = id,
		.key = key,
		.requested_mode = mode,
		.fd_out = -1,
	};
	long r = nexus_node_monitor_ioctl(NEXUS_VREF_OPEN, &req);

	return r < 0 ? (int)r : req.fd_out;
}
