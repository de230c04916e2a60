/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Area memory seen from this process, for the binding (binding/areas.c,
 * binding/raw.c) and nexus-agent: reads and writes through the process's
 * own mapping of an area, its mprotect, and what mmap/mprotect make of a
 * descriptor.
 *
 * Reads and writes go through process_vm_readv/writev on this very
 * process: a mapping that does not allow the access answers EFAULT
 * (B_BAD_ADDRESS) instead of killing the process with SIGSEGV.
 *
 * Header only, every function static inline (like nexus-storm.h).
 */
#ifndef NEXUS_AREA_IO_H
#define NEXUS_AREA_IO_H

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/uio.h>
#include <unistd.h>

#include <nexus.h>
#include "libnexus.h"

/*
 * Where [offset, offset + length) of area id is mapped in this process:
 * B_OK, get_area_info's error, or B_BAD_VALUE (out of the area, or not
 * mapped here).
 */
static inline status_t area_io_span(area_id id, uint64_t offset, uint64_t length, void **at)
{
	area_info ai;
	status_t st;

	memset(&ai, 0, sizeof(ai));
	st = get_area_info(id, &ai);
	if (st != B_OK)
		return st;
	if (!ai.address || offset > ai.size || length > ai.size - offset)
		return B_BAD_VALUE;
	*at = (char *)ai.address + offset;
	return B_OK;
}

/*
 * Copy len bytes between buf and offset of area id (write: into the area):
 * B_OK, area_io_span's error, B_BAD_ADDRESS when the mapping refuses (a
 * partial copy stops at the first page that refused), or -errno.
 */
static inline status_t area_io(area_id id, uint64_t offset, void *buf, size_t len, bool write)
{
	struct iovec local = { .iov_base = buf, .iov_len = len };
	struct iovec remote = { .iov_len = len };
	status_t st;
	ssize_t n;

	st = area_io_span(id, offset, len, &remote.iov_base);
	if (st != B_OK || !len)
		return st;
	n = write ? process_vm_writev(getpid(), &local, 1, &remote, 1, 0)
		  : process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? B_OK : B_BAD_ADDRESS;
}

/* mprotect(2) of this process's whole mapping of area id: 0, -errno, or a status. */
static inline status_t area_io_mprotect(area_id id, int prot)
{
	area_info ai;
	status_t st;

	memset(&ai, 0, sizeof(ai));
	st = get_area_info(id, &ai);
	if (st != B_OK)
		return st;
	if (!ai.address)
		return B_BAD_VALUE;
	return mprotect(ai.address, ai.size, prot) < 0 ? -errno : 0;
}

/*
 * mmap(fd, size, prot, MAP_SHARED or MAP_PRIVATE), then, if it mapped and
 * mprotect_to >= 0, mprotect(mprotect_to) (its errno in *mprotect_err);
 * if it mapped writable and write_byte >= 0, write that byte at offset 0
 * and read it back through the mapping (*read_back, else -1); then munmap:
 * mmap's errno, 0 when it mapped.
 */
static inline int area_io_mmap(int fd, size_t size, int prot, bool shared, int mprotect_to, int *mprotect_err,
			       int write_byte, int *read_back)
{
	void *p = mmap(NULL, size, prot, shared ? MAP_SHARED : MAP_PRIVATE, fd, 0);

	*mprotect_err = 0;
	*read_back = -1;
	if (p == MAP_FAILED)
		return errno;
	if (mprotect_to >= 0 && mprotect(p, size, mprotect_to) < 0)
		*mprotect_err = errno;
	if (write_byte >= 0 && (prot & PROT_WRITE)) {
		*(volatile unsigned char *)p = (unsigned char)write_byte;
		*read_back = *(volatile unsigned char *)p;
	}
	munmap(p, size);
	return 0;
}

#endif /* NEXUS_AREA_IO_H */
