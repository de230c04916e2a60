// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's areas over /dev/nexus_area (not yet: every call
 * B_ERROR).
 */
#include "libnexus_internal.h"

void nexus_area_fork_prepare(void) {}
void nexus_area_fork_parent(void) {}
void nexus_area_fork_child(void) {}

area_id create_area(const char *name, void **startAddress,
		    __u32 addressSpec, size_t size, __u32 lock,
		    __u32 protection)
{
	(void)name; (void)startAddress; (void)addressSpec; (void)size;
	(void)lock; (void)protection;
	return B_ERROR;
}

area_id clone_area(const char *name, void **destAddress, __u32 addressSpec,
		   __u32 protection, area_id source)
{
	(void)name; (void)destAddress; (void)addressSpec; (void)protection;
	(void)source;
	return B_ERROR;
}

status_t delete_area(area_id area) { (void)area; return B_ERROR; }
area_id find_area(const char *name) { (void)name; return B_ERROR; }
area_id area_for(void *address) { (void)address; return B_ERROR; }

status_t _get_area_info(area_id id, struct area_info *info, size_t size)
{
	(void)id; (void)info; (void)size;
	return B_ERROR;
}

status_t _get_next_area_info(team_id team, ssize_t *cookie,
			     struct area_info *info, size_t size)
{
	(void)team; (void)cookie; (void)info; (void)size;
	return B_ERROR;
}

status_t resize_area(area_id id, size_t newSize)
{
	(void)id; (void)newSize;
	return B_ERROR;
}

status_t set_area_protection(area_id id, __u32 newProtection)
{
	(void)id; (void)newProtection;
	return B_ERROR;
}

area_id transfer_area(area_id id, void **_address, __u32 addressSpec,
		      team_id target)
{
	(void)id; (void)_address; (void)addressSpec; (void)target;
	return B_ERROR;
}
