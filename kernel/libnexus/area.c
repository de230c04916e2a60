// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's areas over /dev/nexus_area.
 *
 * An area's memory is a memfd: create_area() makes one, sizes it, maps it
 * MAP_SHARED with the area's protection and registers it with the kernel
 * (NEXUS_AREA_CREATE keeps a reference), then closes it.  clone_area() gets
 * a descriptor on the same pages from NEXUS_AREA_CLONE, maps it and closes
 * it.  Every area ioctl returns its status both in ret and as its return
 * value; glibc turns a status in -4095..-1 into -1 and errno, so -errno is
 * that status (or the error of an ioctl that failed as a whole).
 *
 * The kernel knows areas, not where a process maps them: this process keeps
 * a table of the areas it created or cloned (id, address, size,
 * protection), for area_for(), get_area_info()'s address, delete_area()
 * (which unmaps) and resize_area() (which remaps in place).  Entries are
 * tagged with the pid of the process that made them, so that a child made
 * by a raw clone() or vfork() (which shares or copies the table without the
 * fork handlers) ignores its parent's; a forked child starts empty (the
 * mappings it inherits are not its areas).
 */
#define _GNU_SOURCE		/* memfd_create, mremap, MAP_FIXED_NOREPLACE */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libnexus_internal.h"

struct nexus_mapped {
	pid_t pid;			/* the process that mapped it */
	area_id area;
	void *address;
	size_t size;			/* of the mapping */
	__u32 protection;		/* of the mapping */
};

static pthread_mutex_t mapped_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nexus_mapped *mapped;	/* under mapped_lock */
static size_t mapped_count, mapped_room;

void nexus_area_fork_prepare(void)
{
	pthread_mutex_lock(&mapped_lock);	/* under nexus_lock */
}

void nexus_area_fork_parent(void)
{
	pthread_mutex_unlock(&mapped_lock);
}

void nexus_area_fork_child(void)
{
	free(mapped);
	mapped = NULL;
	mapped_count = 0;
	mapped_room = 0;
	pthread_mutex_unlock(&mapped_lock);
}

static void mapped_lock_take(void)
{
	nexus_fork_handlers();
	pthread_mutex_lock(&mapped_lock);
}

/* This process's entry for area, under mapped_lock. */
static struct nexus_mapped *mapped_find(area_id area)
{
	pid_t self = getpid();
	size_t i;

	for (i = 0; i < mapped_count; i++)
		if (mapped[i].area == area && mapped[i].pid == self)
			return &mapped[i];
	return NULL;
}

/* 0, or -ENOMEM. */
static int mapped_add(const struct nexus_mapped *entry)
{
	int err = 0;

	mapped_lock_take();
	if (mapped_count == mapped_room) {
		size_t room = mapped_room ? mapped_room * 2 : 16;
		struct nexus_mapped *more;

		more = realloc(mapped, room * sizeof(*more));
		if (!more) {
			err = -ENOMEM;
			goto out;
		}
		mapped = more;
		mapped_room = room;
	}
	mapped[mapped_count++] = *entry;
out:
	pthread_mutex_unlock(&mapped_lock);
	return err;
}

/* Drops this process's entry for area and unmaps it, if there is one. */
static void mapped_unmap(area_id area)
{
	struct nexus_mapped *entry, gone = { .address = NULL };

	mapped_lock_take();
	entry = mapped_find(area);
	if (entry) {
		gone = *entry;
		*entry = mapped[--mapped_count];
	}
	pthread_mutex_unlock(&mapped_lock);
	if (gone.address)
		munmap(gone.address, gone.size);
}

/*
 * Bring an entry's mapping to the area's size (the kernel's), in place: a
 * resize by anyone sharing the pages changes every area's size.  Under
 * mapped_lock.  Shrinking cannot fail; growing fails when the addresses
 * after the mapping are taken, and the mapping then keeps its size.
 */
static int mapped_sync(struct nexus_mapped *entry, size_t size)
{
	void *p;

	if (entry->size == size)
		return 0;
	p = mremap(entry->address, entry->size, size, 0);
	if (p == MAP_FAILED)
		return -errno;
	entry->size = size;
	return 0;
}

static status_t area_ioctl(unsigned long cmd, void *req, const __s32 *ret)
{
	int fd = nexus_area_fd();
	int r;

	if (fd < 0)
		return fd;
	r = ioctl(fd, cmd, req);
	if (r == -1)
		return -errno;
	return r < 0 ? r : *ret;
}

static status_t area_delete_request(area_id area)
{
	struct nexus_area_delete req = { .area = area };

	return area_ioctl(NEXUS_AREA_DELETE, &req, &req.ret);
}

/* The status of a failed memfd, mmap or mremap call. */
static status_t errno_status(void)
{
	switch (errno) {
	case ENOMEM:
	case ENOSPC:
	case EFBIG:
	case EEXIST:		/* B_EXACT_ADDRESS: the range is taken */
		return B_NO_MEMORY;
	case EACCES:
	case EPERM:
		return B_NOT_ALLOWED;
	default:
		return -errno;
	}
}

static int area_prot(__u32 protection)
{
	int prot = PROT_NONE;

	if (protection & B_READ_AREA)
		prot |= PROT_READ;
	if (protection & B_WRITE_AREA)
		prot |= PROT_WRITE;
	if (protection & B_EXECUTE_AREA)
		prot |= PROT_EXEC;
	return prot;
}

static bool address_spec_valid(__u32 spec)
{
	return spec == B_ANY_ADDRESS || spec == B_EXACT_ADDRESS ||
	       spec == B_BASE_ADDRESS || spec == B_RANDOMIZED_ANY_ADDRESS ||
	       spec == B_RANDOMIZED_BASE_ADDRESS;
}

/*
 * Maps size bytes of fd MAP_SHARED where spec says: anywhere (the kernel
 * chooses), exactly at *address (MAP_FIXED_NOREPLACE: never over another
 * mapping), or at or above *address (a hint; B_NO_MEMORY if the kernel
 * picks a lower address).  *address gets where.
 */
static status_t area_map(int fd, void **address, __u32 spec, size_t size,
			 __u32 protection)
{
	int flags = MAP_SHARED;
	void *hint = NULL, *p;

	switch (spec) {
	case B_EXACT_ADDRESS:
		flags |= MAP_FIXED_NOREPLACE;
		hint = *address;
		break;
	case B_BASE_ADDRESS:
	case B_RANDOMIZED_BASE_ADDRESS:
		hint = *address;
		break;
	}
	p = mmap(hint, size, area_prot(protection), flags, fd, 0);
	if (p == MAP_FAILED)
		return errno_status();
	/* Kernels before 4.17 take MAP_FIXED_NOREPLACE for a hint. */
	if ((spec == B_EXACT_ADDRESS && p != hint) ||
	    (hint && (char *)p < (char *)hint)) {
		munmap(p, size);
		return B_NO_MEMORY;
	}
	*address = p;
	return B_OK;
}

area_id create_area(const char *name, void **start_address,
		    __u32 address_spec, size_t size, __u32 lock,
		    __u32 protection)
{
	struct nexus_area_create req = {
		.size = size,
		.lock = lock,
		.protection = protection,
	};
	struct nexus_mapped entry = {
		.pid = getpid(),
		.size = size,
		.protection = protection,
	};
	status_t st;
	int afd;

	if (!address_spec_valid(address_spec))
		return B_BAD_VALUE;
	if (!name || !start_address)
		return B_BAD_ADDRESS;
	if (!size || size % B_PAGE_SIZE)
		return B_BAD_VALUE;
	afd = nexus_area_fd();
	if (afd < 0)
		return afd;

	nexus_copy_name(req.name, name);
	req.fd = memfd_create(req.name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (req.fd < 0)
		return errno_status();
	if (ftruncate(req.fd, (off_t)size)) {
		st = errno_status();
		goto out;
	}
	entry.address = *start_address;
	st = area_map(req.fd, &entry.address, address_spec, size, protection);
	if (st)
		goto out;
	st = area_ioctl(NEXUS_AREA_CREATE, &req, &req.ret);
	if (st) {
		munmap(entry.address, size);
		goto out;
	}
	entry.area = req.area;
	if (mapped_add(&entry)) {
		area_delete_request(req.area);
		munmap(entry.address, size);
		st = B_NO_MEMORY;
		goto out;
	}
	*start_address = entry.address;
	st = req.area;
out:
	close(req.fd);
	return st;
}

area_id clone_area(const char *name, void **dest_address, __u32 address_spec,
		   __u32 protection, area_id source)
{
	struct nexus_area_clone req = {
		.source = source,
		.protection = protection,
	};
	struct nexus_mapped entry = {
		.pid = getpid(),
		.protection = protection,
	};
	struct nexus_mapped *src;
	status_t st;

	if (!name || !dest_address)
		return B_BAD_ADDRESS;
	entry.address = *dest_address;
	if (address_spec == B_CLONE_ADDRESS) {
		/*
		 * The source's address: known only for an area mapped here
		 * (the kernel does not know where other teams map theirs).
		 */
		mapped_lock_take();
		src = mapped_find(source);
		if (src)
			entry.address = src->address;
		pthread_mutex_unlock(&mapped_lock);
		if (!src)
			return B_BAD_VALUE;
		address_spec = B_EXACT_ADDRESS;
	}
	if (!address_spec_valid(address_spec))
		return B_BAD_VALUE;

	nexus_copy_name(req.name, name);
	st = area_ioctl(NEXUS_AREA_CLONE, &req, &req.ret);
	if (st)
		return st;
	entry.area = req.area;
	entry.size = req.size;
	st = area_map(req.fd, &entry.address, address_spec, req.size,
		      protection);
	close(req.fd);
	if (!st && mapped_add(&entry)) {
		munmap(entry.address, entry.size);
		st = B_NO_MEMORY;
	}
	if (st) {
		area_delete_request(req.area);
		return st;
	}
	*dest_address = entry.address;
	return req.area;
}

status_t delete_area(area_id area)
{
	status_t st = area_delete_request(area);

	if (st == B_OK)
		mapped_unmap(area);
	return st;
}

area_id find_area(const char *name)
{
	struct nexus_area_find req = { .area = 0 };
	status_t st;

	if (!name)
		return B_BAD_ADDRESS;
	nexus_copy_name(req.name, name);
	st = area_ioctl(NEXUS_AREA_FIND, &req, &req.ret);
	return st ? st : req.area;
}

area_id area_for(void *address)
{
	pid_t self = getpid();
	area_id found = B_ERROR;
	char *a = address;
	size_t i;

	mapped_lock_take();
	for (i = 0; i < mapped_count; i++) {
		char *start = mapped[i].address;

		if (mapped[i].pid == self && a >= start &&
		    a < start + mapped[i].size) {
			found = mapped[i].area;
			break;
		}
	}
	pthread_mutex_unlock(&mapped_lock);
	return found;
}

/* Fills info; address (and the mapping's size) from this process's table. */
static void fill_area_info(struct area_info *info, area_id area,
			   const char *name, __u64 size, __u32 lock,
			   __u32 protection, team_id team)
{
	struct nexus_mapped *entry;

	memset(info, 0, sizeof(*info));
	info->area = area;
	memcpy(info->name, name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = '\0';
	info->size = size;
	info->lock = lock;
	info->protection = protection;
	info->team = team;

	mapped_lock_take();
	entry = mapped_find(area);
	if (entry) {
		mapped_sync(entry, size);
		info->address = entry->address;
	}
	pthread_mutex_unlock(&mapped_lock);
}

status_t _get_area_info(area_id id, struct area_info *info, size_t size)
{
	struct nexus_area_get_info req = { .area = id };
	status_t st;

	if (!info || size < sizeof(*info))
		return B_BAD_VALUE;
	st = area_ioctl(NEXUS_AREA_GET_INFO, &req, &req.ret);
	if (st)
		return st;
	fill_area_info(info, id, req.name, req.size, req.lock, req.protection,
		       req.team);
	return B_OK;
}

status_t _get_next_area_info(team_id team, ssize_t *cookie,
			     struct area_info *info, size_t size)
{
	struct nexus_area_get_next req = { .team = team };
	status_t st;

	if (!cookie || !info || size < sizeof(*info))
		return B_BAD_VALUE;
	req.cookie = (__s32)*cookie;
	st = area_ioctl(NEXUS_AREA_GET_NEXT, &req, &req.ret);
	if (st)
		return st;
	/* The areas listed are the team's; team 0 is the caller's (its pid). */
	fill_area_info(info, req.area, req.name, req.size, req.lock,
		       req.protection, team ? team : getpid());
	*cookie = req.next_cookie;
	return B_OK;
}

/*
 * The kernel resizes the area's memfd, so every area sharing its pages has
 * the new size; then this process's mappings of them follow, in place (no
 * MREMAP_MAYMOVE: an area does not move).  If the area's own mapping cannot
 * grow, the kernel's size is put back and the status is B_NO_MEMORY.
 */
status_t resize_area(area_id id, size_t new_size)
{
	struct nexus_area_resize req = { .area = id, .new_size = new_size };
	struct nexus_area_get_info info = { .area = id };
	struct nexus_mapped *entry;
	status_t st;
	size_t i;

	mapped_lock_take();
	entry = mapped_find(id);
	if (entry) {
		st = area_ioctl(NEXUS_AREA_GET_INFO, &info, &info.ret);
		if (st)
			goto out;
	}
	st = area_ioctl(NEXUS_AREA_RESIZE, &req, &req.ret);
	if (st || !entry)
		goto out;
	if (mapped_sync(entry, new_size)) {
		req.new_size = info.size;
		area_ioctl(NEXUS_AREA_RESIZE, &req, &req.ret);
		st = B_NO_MEMORY;
		goto out;
	}
	/* Other areas of this process on the same pages (its clones). */
	for (i = 0; i < mapped_count; i++) {
		struct nexus_area_get_info other = { .area = mapped[i].area };

		if (&mapped[i] == entry || mapped[i].pid != entry->pid)
			continue;
		if (area_ioctl(NEXUS_AREA_GET_INFO, &other, &other.ret) == B_OK)
			mapped_sync(&mapped[i], other.size);
	}
out:
	pthread_mutex_unlock(&mapped_lock);
	return st;
}

/*
 * What future clones may get.  The mappings that exist keep their
 * protection, this process's included (see the plan for issue 8).
 */
status_t set_area_protection(area_id id, __u32 new_protection)
{
	struct nexus_area_set_protection req = {
		.area = id,
		.protection = new_protection,
	};

	return area_ioctl(NEXUS_AREA_SET_PROTECTION, &req, &req.ret);
}

/*
 * In Haiku, _address and address_spec say where the target maps the area.
 * Here the target maps it itself, with clone_area() of its own (now) area;
 * they are ignored.  The giver unmaps the area and forgets it.
 */
area_id transfer_area(area_id id, void **_address, __u32 address_spec,
		      team_id target)
{
	struct nexus_area_transfer req = {
		.area = id,
		.target = target,
		.fd = -1,
	};
	status_t st;

	(void)_address;
	(void)address_spec;
	st = area_ioctl(NEXUS_AREA_TRANSFER, &req, &req.ret);
	if (st)
		return st;
	if (req.fd >= 0)
		close(req.fd);
	mapped_unmap(id);
	return req.new_area > 0 ? req.new_area : id;
}
