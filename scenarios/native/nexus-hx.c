// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-hx: what the hardening suite asks of areas that neither libnexus nor
 * the agent can do - memfds kept, sealed and resized behind the area's back,
 * clone descriptors reopened through /proc.  Raw requests (nexus-raw.h); one
 * check per run, one JSON line of raw results on stdout; the suite decides
 * what they must be (scenarios/hardening/seals.ts).
 *
 *   nexus-hx seal-write
 *	A memfd sealed with F_SEAL_WRITE (after "sealed" was written to it) is
 *	registered as an area granting B_READ_AREA | B_WRITE_AREA.  Then: a
 *	writable clone, mapped shared and writable, and a write through it; a
 *	read-only clone mapped shared, and while that mapping exists a shared
 *	writable mmap of the memfd itself, and a write through that.  A seal
 *	is a promise to whoever holds the memfd: nothing may change its bytes.
 *	  {"ret":0,"create":st,"clone_rw":st,"map_rw_errno":e,"clone_ro":st,
 *	   "map_ro_errno":e,"direct_rw_errno":e,"content":"..."}
 *	(errno 0: the mapping was made and written; content: the memfd's first
 *	bytes at the end, read with pread)
 *
 *   nexus-hx seal-future-write
 *	The same with F_SEAL_FUTURE_WRITE (no new writable mapping, no write).
 *
 *   nexus-hx seal-after-map
 *	An area of an unsealed memfd, a writable clone mapped shared and
 *	writable; then F_SEAL_WRITE is added to the memfd (must fail, EBUSY,
 *	while a writable mapping exists) and the clone's mapping is written.
 *	  {"ret":0,"create":st,"clone_rw":st,"map_rw_errno":e,"seal_errno":e,
 *	   "content":"..."}
 *
 *   nexus-hx reopen-clone
 *	A read-only clone's descriptor reopened through /proc/self/fd, read-only
 *	and read-write: an open that succeeds must still not map shared and
 *	writable.
 *	  {"ret":0,"clone":st,"open_ro_errno":e,"open_rw_errno":e,
 *	   "map_rw_errno":e}  (map_rw_errno: of the read-write reopen, -1 when
 *	   neither open succeeded)
 *
 *   nexus-hx memfd-grow
 *	An area of one page whose memfd its creator keeps and grows to 64 MiB
 *	with ftruncate; a clone mapped over 64 MiB and its 32 MiB-th byte
 *	written - or, when that mapping is refused, a clone mapped over its one
 *	page and mremap()ed to 64 MiB.  Area memory is charged with the area's
 *	size: a size that changes behind the area's back escapes the limit.
 *	  {"ret":0,"create":st,"grow_errno":e,"info_size":n,"clone":st,
 *	   "clone_size":n,"map_errno":e,"mremap_errno":e,"touched_far":bool,
 *	   "area_space_delta":n}
 *	(area_space_delta: the area_space counter's change, -1 without it;
 *	mremap_errno -1: not tried)
 *
 * Exit status 0 when the check ran (whatever it found), 1 when it could
 * not, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "nexus-raw.h"

#define PAGE		4096
#define GROWN		(64UL << 20)
#define COUNTERS	"/sys/kernel/debug/nexus/counters"

static int afd;

static void die(const char *what)
{
	fprintf(stderr, "nexus-hx: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* A sealable memfd of `size` bytes holding "original". */
static int memfd(size_t size)
{
	int fd = memfd_create("nexus-hx", MFD_CLOEXEC | MFD_ALLOW_SEALING);

	if (fd < 0 || ftruncate(fd, (off_t)size) < 0 || pwrite(fd, "original", 8, 0) != 8)
		die("memfd");
	return fd;
}

/* The errno of a shared mapping of `fd` (0: made), written at `off` when writable and made. */
static int map_errno(int fd, size_t len, int prot, size_t off, const char *text, void **keep)
{
	void *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);

	if (p == MAP_FAILED)
		return errno;
	if ((prot & PROT_WRITE) && nx_touch((uint8_t *)p + off, 1, false, 0) == NX_TOUCH_OK)
		memcpy((uint8_t *)p + off, text, strlen(text));
	if (keep)
		*keep = p;
	else
		munmap(p, len);
	return 0;
}

/* The memfd's first bytes, as JSON-safe text. */
static void print_content(int fd)
{
	char buf[9] = { 0 };

	if (pread(fd, buf, 8, 0) != 8)
		strcpy(buf, "?");
	for (char *c = buf; *c; c++)
		if (*c < 0x20 || *c > 0x7e || *c == '"' || *c == '\\')
			*c = '.';
	printf(",\"content\":\"%s\"}\n", buf);
}

static int sealed_clones(int seal)
{
	int fd = memfd(2 * PAGE), area = 0, rw = 0, ro = 0, rwfd = -1, rofd = -1;
	int clone_rw = B_ERROR, clone_ro = B_ERROR, map_rw = -1, map_ro = -1, direct = -1, create;
	uint64_t size;
	void *ro_map = NULL;

	if (fcntl(fd, F_ADD_SEALS, seal) < 0)
		die("F_ADD_SEALS");
	create = nx_area_create(afd, fd, "hx-sealed", 2 * PAGE, B_NO_LOCK,
				B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA, &area);
	if (create == B_OK) {
		clone_rw = nx_area_clone(afd, area, "hx-rw", B_READ_AREA | B_WRITE_AREA, &rw, &rwfd, &size);
		if (clone_rw == B_OK)
			map_rw = map_errno(rwfd, 2 * PAGE, PROT_READ | PROT_WRITE, 0, "CLONEWR", NULL);
		clone_ro = nx_area_clone(afd, area, "hx-ro", B_READ_AREA, &ro, &rofd, &size);
		if (clone_ro == B_OK)
			map_ro = map_errno(rofd, 2 * PAGE, PROT_READ, 0, "", &ro_map);
	}
	/* With the read-only clone mapped (or not), the memfd itself. */
	direct = map_errno(fd, 2 * PAGE, PROT_READ | PROT_WRITE, 0, "DIRECTWR", NULL);
	printf("{\"ret\":0,\"create\":%d,\"clone_rw\":%d,\"map_rw_errno\":%d,\"clone_ro\":%d,\"map_ro_errno\":%d,"
	       "\"direct_rw_errno\":%d",
	       create, clone_rw, map_rw, clone_ro, map_ro, direct);
	print_content(fd);
	if (ro_map)
		munmap(ro_map, 2 * PAGE);
	return 0;
}

static int seal_write(void)
{
	return sealed_clones(F_SEAL_WRITE);
}

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010
#endif

static int seal_future_write(void)
{
	return sealed_clones(F_SEAL_FUTURE_WRITE);
}

static int seal_after_map(void)
{
	int fd = memfd(2 * PAGE), area = 0, rw = 0, rwfd = -1, seal = -1, map_rw = -1, clone_rw = B_ERROR, create;
	uint64_t size;
	void *p = NULL;

	create = nx_area_create(afd, fd, "hx-unsealed", 2 * PAGE, B_NO_LOCK, B_READ_AREA | B_WRITE_AREA, &area);
	if (create == B_OK) {
		clone_rw = nx_area_clone(afd, area, "hx-rw", B_READ_AREA | B_WRITE_AREA, &rw, &rwfd, &size);
		if (clone_rw == B_OK)
			map_rw = map_errno(rwfd, 2 * PAGE, PROT_READ | PROT_WRITE, PAGE, "", &p);
	}
	seal = fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE) < 0 ? errno : 0;
	if (p) {
		memcpy(p, "AFTERSL", 7);	/* after the seal, through the clone's mapping */
		munmap(p, 2 * PAGE);
	}
	printf("{\"ret\":0,\"create\":%d,\"clone_rw\":%d,\"map_rw_errno\":%d,\"seal_errno\":%d", create, clone_rw,
	       map_rw, seal);
	print_content(fd);
	return 0;
}

static int reopen_clone(void)
{
	int fd = memfd(PAGE), area = 0, ro = 0, rofd = -1, clone, orw = -1, oro = -1, map = -1;
	uint64_t size;
	char path[64];

	if (nx_area_create(afd, fd, "hx-reopen", PAGE, B_NO_LOCK, B_READ_AREA | B_WRITE_AREA, &area) != B_OK)
		die("area");
	clone = nx_area_clone(afd, area, "hx-ro", B_READ_AREA, &ro, &rofd, &size);
	if (clone == B_OK) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", rofd);
		oro = open(path, O_RDONLY | O_CLOEXEC);
		orw = open(path, O_RDWR | O_CLOEXEC);
		if (orw >= 0)
			map = map_errno(orw, PAGE, PROT_READ | PROT_WRITE, 0, "REOPENW", NULL);
		else if (oro >= 0)
			map = map_errno(oro, PAGE, PROT_READ | PROT_WRITE, 0, "REOPENR", NULL);
	}
	printf("{\"ret\":0,\"clone\":%d,\"open_ro_errno\":%d,\"open_rw_errno\":%d,\"map_rw_errno\":%d", clone,
	       oro >= 0 ? 0 : errno, orw >= 0 ? 0 : errno, map);
	print_content(fd);
	return 0;
}

static long area_space(void)
{
	char text[4096];
	FILE *f = fopen(COUNTERS, "r");
	size_t n;
	char *p;

	if (!f)
		return -1;
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	p = strstr(text, "area_space ");
	return p ? strtol(p + 11, NULL, 10) : -1;
}

static int memfd_grow(void)
{
	int fd = memfd(PAGE), area = 0, rw = 0, rwfd = -1, create, clone = B_ERROR, grow, map = -1, remap = -1;
	long before = area_space(), after;
	struct nexus_area_get_info info = { 0 };
	uint64_t size = 0;
	bool far = false;
	void *p;

	create = nx_area_create(afd, fd, "hx-grow", PAGE, B_NO_LOCK, B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA,
				&area);
	grow = ftruncate(fd, (off_t)GROWN) < 0 ? errno : 0;
	if (create == B_OK) {
		nx_area_info(afd, area, &info);
		clone = nx_area_clone(afd, area, "hx-grow-clone", B_READ_AREA | B_WRITE_AREA, &rw, &rwfd, &size);
	}
	if (clone == B_OK) {
		p = mmap(NULL, GROWN, PROT_READ | PROT_WRITE, MAP_SHARED, rwfd, 0);
		map = p == MAP_FAILED ? errno : 0;
		if (p != MAP_FAILED) {
			far = nx_touch((uint8_t *)p + GROWN / 2, 1, true, 0x42) == NX_TOUCH_OK;
			munmap(p, GROWN);
		} else if ((p = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rwfd, 0)) != MAP_FAILED) {
			/* The area's own page, then grown past it without the descriptor's say. */
			void *q = mremap(p, PAGE, GROWN, MREMAP_MAYMOVE);

			remap = q == MAP_FAILED ? errno : 0;
			if (q != MAP_FAILED) {
				far = nx_touch((uint8_t *)q + GROWN / 2, 1, true, 0x42) == NX_TOUCH_OK;
				munmap(q, GROWN);
			} else {
				munmap(p, PAGE);
			}
		}
	}
	after = area_space();
	printf("{\"ret\":0,\"create\":%d,\"grow_errno\":%d,\"info_size\":%" PRIu64 ",\"clone\":%d,\"clone_size\":%" PRIu64
	       ",\"map_errno\":%d,\"mremap_errno\":%d,\"touched_far\":%s,\"area_space_delta\":%ld",
	       create, grow, (uint64_t)info.size, clone, size, map, remap, far ? "true" : "false",
	       before < 0 || after < 0 ? -1 : after - before);
	print_content(fd);
	return 0;
}

static const struct {
	const char *name;
	int (*run)(void);
} CHECKS[] = {
	{ "seal-write", seal_write },
	{ "seal-future-write", seal_future_write },
	{ "seal-after-map", seal_after_map },
	{ "reopen-clone", reopen_clone },
	{ "memfd-grow", memfd_grow },
};

int main(int argc, char **argv)
{
	for (size_t i = 0; argc == 2 && i < sizeof(CHECKS) / sizeof(CHECKS[0]); i++) {
		if (strcmp(argv[1], CHECKS[i].name))
			continue;
		if (nx_open() < 0 || (afd = nx_area_open()) < 0)
			die("open the Nexus devices");
		nx_touch_setup();
		return CHECKS[i].run();
	}
	fprintf(stderr, "usage: nexus-hx seal-write|seal-future-write|seal-after-map|reopen-clone|memfd-grow\n");
	return 2;
}
