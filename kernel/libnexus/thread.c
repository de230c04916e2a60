// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's threads over /dev/nexus (not yet: every call B_ERROR).
 */
#include <pthread.h>

#include "libnexus_internal.h"

void nexus_thread_fork_prepare(void) {}
void nexus_thread_fork_parent(void) {}
void nexus_thread_fork_child(void) {}

thread_id spawn_thread(thread_func func, const char *name, __s32 priority,
		       void *data)
{
	(void)func; (void)name; (void)priority; (void)data;
	return B_ERROR;
}

status_t resume_thread(thread_id thread) { (void)thread; return B_ERROR; }

status_t wait_for_thread_etc(thread_id thread, __u32 flags,
			     bigtime_t timeout, status_t *returnValue)
{
	(void)thread; (void)flags; (void)timeout; (void)returnValue;
	return B_ERROR;
}

status_t wait_for_thread(thread_id thread, status_t *returnValue)
{
	return wait_for_thread_etc(thread, 0, 0, returnValue);
}

status_t send_data_etc(thread_id thread, __s32 code, const void *buffer,
		       size_t bufferSize, __u32 flags, bigtime_t timeout)
{
	(void)thread; (void)code; (void)buffer; (void)bufferSize; (void)flags;
	(void)timeout;
	return B_ERROR;
}

status_t send_data(thread_id thread, __s32 code, const void *buffer,
		   size_t bufferSize)
{
	return send_data_etc(thread, code, buffer, bufferSize, 0, 0);
}

__s32 receive_data_etc(thread_id *sender, void *buffer, size_t bufferSize,
		       __u32 flags, bigtime_t timeout)
{
	(void)sender; (void)buffer; (void)bufferSize; (void)flags;
	(void)timeout;
	return B_ERROR;
}

__s32 receive_data(thread_id *sender, void *buffer, size_t bufferSize)
{
	return receive_data_etc(sender, buffer, bufferSize, 0, 0);
}

bool has_data(thread_id thread) { (void)thread; return false; }

status_t rename_thread(thread_id thread, const char *newName)
{
	(void)thread; (void)newName;
	return B_ERROR;
}

void exit_thread(status_t status)
{
	(void)status;
	pthread_exit(NULL);
}

thread_id find_thread(const char *name) { (void)name; return B_ERROR; }

status_t _get_thread_info(thread_id id, struct thread_info *info,
			  size_t size)
{
	(void)id; (void)info; (void)size;
	return B_ERROR;
}
