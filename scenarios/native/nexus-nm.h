/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nexus-nm.h: what the hostile drivers (nexus-fuzz, nexus-stress, nexus-race,
 * nexus-hx) and the node monitor benchmark (nexus-bench-nm) share about
 * nexus_node_monitor.ko - raw vref and watch requests on
 * /dev/nexus_node_monitor, raw capability messages on /dev/nexus, a strict
 * reader of the KMessages the kernel writes, and file system churn (the
 * operations that make events).
 *
 * Conventions: the vref and watch requests return their status as the
 * ioctl's value (0 or a negative errno, NEXUS-ABI.md "Vrefs" and "Node
 * monitor"); the nm_* calls here give 0 or -errno.  The capability
 * requests are port requests (status in ret): nx_write_caps and
 * nx_read_caps give that status, or a positive errno when the ioctl itself
 * failed, like nexus-raw.h's requests.
 *
 * Header only, every function static inline.
 */
#ifndef NEXUS_NM_H
#define NEXUS_NM_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <nexus.h>

/* ---- /dev/nexus_node_monitor ------------------------------------------------ */

/* A new descriptor of /dev/nexus_node_monitor (the caller's team), or -errno. */
static inline int nm_open(void)
{
	int fd = open(NEXUS_NODE_MONITOR_DEVICE_PATH, O_RDWR | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static inline int nm_ioctl(int fd, unsigned long cmd, void *req)
{
	return ioctl(fd, cmd, req) < 0 ? -errno : 0;
}

static inline int nm_vref_create(int nfd, int fd, int32_t *id, uint64_t *key)
{
	struct nexus_vref_create r = { .fd = fd };
	int st = nm_ioctl(nfd, NEXUS_VREF_CREATE, &r);

	*id = st == 0 ? r.id : 0;
	*key = st == 0 ? r.key : 0;
	return st;
}

static inline int nm_vref_acquire(int nfd, int32_t id, uint64_t key, uint64_t *new_key)
{
	struct nexus_vref_op r = { .id = id, .key = key };
	int st = nm_ioctl(nfd, NEXUS_VREF_ACQUIRE, &r);

	*new_key = st == 0 ? r.key : 0;
	return st;
}

static inline int nm_vref_release(int nfd, int32_t id, uint64_t key)
{
	struct nexus_vref_op r = { .id = id, .key = key };

	return nm_ioctl(nfd, NEXUS_VREF_RELEASE, &r);
}

/* OPEN: *fd (the caller closes it) on 0, -1 otherwise. */
static inline int nm_vref_open(int nfd, int32_t id, uint64_t key, uint32_t mode, int *fd)
{
	struct nexus_vref_open r = { .id = id, .key = key, .requested_mode = mode, .fd_out = -1 };
	int st = nm_ioctl(nfd, NEXUS_VREF_OPEN, &r);

	*fd = st == 0 ? r.fd_out : -1;
	return st;
}

/* START_WATCHING: a node by fd (fd >= 0), by vref (fd -1, vref > 0), or the volume watch. */
static inline int nm_watch(int nfd, int fd, uint32_t flags, int32_t port, uint32_t token, int32_t vref)
{
	struct nexus_watch_fd r = { .fd = fd, .flags = flags, .port = port, .token = token, .vref_id = vref };

	return nm_ioctl(nfd, NEXUS_START_WATCHING, &r);
}

/* STOP_WATCHING (device, node) as stat(2) gives them; ~0, ~0: the volume watch. */
static inline int nm_unwatch(int nfd, uint64_t dev, uint64_t ino, int32_t port, uint32_t token)
{
	struct nexus_unwatch_fd r = { .device = dev, .node = ino, .port = port, .token = token };

	return nm_ioctl(nfd, NEXUS_STOP_WATCHING, &r);
}

static inline int nm_stop_notifying(int nfd, int32_t port, uint32_t token)
{
	struct nexus_stop_notifying r = { .port = port, .token = token };

	return nm_ioctl(nfd, NEXUS_STOP_NOTIFYING, &r);
}

/* ---- capability messages (/dev/nexus) --------------------------------------- */

static inline int nx_write_caps(int fd, int32_t port, int32_t code, const void *buf, size_t size,
				const struct nexus_port_cap_in *caps, size_t ncaps, uint32_t flags,
				int64_t timeout)
{
	struct nexus_port_write_caps r = {
		.id = port, .code = &code, .buffer = buf, .size = size, .caps = caps,
		.caps_count = ncaps, .flags = flags, .timeout = timeout,
	};

	if (ioctl(fd, NEXUS_PORT_WRITE_CAPS, &r) < 0)
		return errno;
	return r.ret;
}

/* *size and *ncaps: in, the room; out, what the message holds (also on B_BUFFER_OVERFLOW). */
static inline int nx_read_caps(int fd, int32_t port, int32_t *code, void *buf, size_t *size,
			       struct nexus_port_cap_out *caps, size_t *ncaps, uint32_t flags,
			       int64_t timeout)
{
	struct nexus_port_read_caps r = {
		.id = port, .code = code, .buffer = buf, .size = *size, .caps = caps,
		.caps_count = *ncaps, .flags = flags, .timeout = timeout,
	};

	if (ioctl(fd, NEXUS_PORT_READ_CAPS, &r) < 0)
		return errno;
	*size = r.size;
	*ncaps = r.caps_count;
	return r.ret;
}

/* A plain READ: the status, *size the bytes copied. */
static inline int nx_port_read(int fd, int32_t port, int32_t *code, void *buf, size_t *size,
			       uint32_t flags, int64_t timeout)
{
	struct nexus_port_read r = {
		.id = port, .code = code, .buffer = buf, .size = *size, .flags = flags, .timeout = timeout,
	};

	if (ioctl(fd, NEXUS_PORT_READ, &r) < 0)
		return errno;
	*size = r.size;
	return r.ret;
}

/* ---- KMessages: what the kernel writes, read strictly ------------------------ */

#define NM_NAME_MAX 256
/*
 * A field: type, element size, count, field size (int32 each), header size
 * (int16), then the name at 18; the header is align4(20 + strlen(name))
 * bytes, as Haiku's FieldHeader makes it.
 */
#define NM_FIELD_NAME_AT 18

/* One node monitor message, its fields by name (absent: 0, "", -1 for ids). */
struct nm_event {
	int32_t what, sender, token, reply_port, reply_token;
	int32_t opcode;
	bool has_opcode;
	int32_t device, new_device, node_device;
	int64_t directory, from_directory, to_directory, node;
	int32_t fields, cause, dropped;
	char name[NM_NAME_MAX], from_name[NM_NAME_MAX], attr[NM_NAME_MAX];
	unsigned int nfields;
	uint32_t have;		/* NMF_* of the fields present with their type */
};

/* The fields of NEXUS-ABI.md's table, as bits of nm_event.have. */
enum {
	NMF_OPCODE = 1 << 0, NMF_DEVICE = 1 << 1, NMF_NEW_DEVICE = 1 << 2, NMF_NODE_DEVICE = 1 << 3,
	NMF_DIRECTORY = 1 << 4, NMF_FROM_DIRECTORY = 1 << 5, NMF_TO_DIRECTORY = 1 << 6, NMF_NODE = 1 << 7,
	NMF_NAME = 1 << 8, NMF_FROM_NAME = 1 << 9, NMF_FIELDS = 1 << 10, NMF_ATTR = 1 << 11,
	NMF_CAUSE = 1 << 12, NMF_DROPPED = 1 << 13,
};

static inline uint32_t nm_align4(uint32_t v)
{
	return (v + 3) & ~3U;
}

static inline int32_t nm_get32(const uint8_t *p)
{
	int32_t v;

	memcpy(&v, p, 4);
	return v;
}

static inline int64_t nm_get64(const uint8_t *p)
{
	int64_t v;

	memcpy(&v, p, 8);
	return v;
}

static inline int nm_bad(char *err, size_t n, const char *fmt, unsigned long a, unsigned long b)
{
	if (err && n)
		snprintf(err, n, fmt, a, b);
	return -1;
}

/* A field we know: where its value goes. */
static inline void nm_take(struct nm_event *ev, const char *name, uint32_t type, const uint8_t *data, int32_t esize)
{
	if (type == B_INT32_TYPE && esize == 4) {
		int32_t v = nm_get32(data);

		if (!strcmp(name, "opcode")) {
			ev->opcode = v;
			ev->has_opcode = true;
			ev->have |= NMF_OPCODE;
		} else if (!strcmp(name, "device")) {
			ev->device = v;
			ev->have |= NMF_DEVICE;
		} else if (!strcmp(name, "new device")) {
			ev->new_device = v;
			ev->have |= NMF_NEW_DEVICE;
		} else if (!strcmp(name, "node device")) {
			ev->node_device = v;
			ev->have |= NMF_NODE_DEVICE;
		} else if (!strcmp(name, "fields")) {
			ev->fields = v;
			ev->have |= NMF_FIELDS;
		} else if (!strcmp(name, "cause")) {
			ev->cause = v;
			ev->have |= NMF_CAUSE;
		} else if (!strcmp(name, "dropped")) {
			ev->dropped = v;
			ev->have |= NMF_DROPPED;
		}
	} else if (type == B_INT64_TYPE && esize == 8) {
		int64_t v = nm_get64(data);

		if (!strcmp(name, "directory")) {
			ev->directory = v;
			ev->have |= NMF_DIRECTORY;
		} else if (!strcmp(name, "from directory")) {
			ev->from_directory = v;
			ev->have |= NMF_FROM_DIRECTORY;
		} else if (!strcmp(name, "to directory")) {
			ev->to_directory = v;
			ev->have |= NMF_TO_DIRECTORY;
		} else if (!strcmp(name, "node")) {
			ev->node = v;
			ev->have |= NMF_NODE;
		}
	}
}

/*
 * Parse a node monitor message of `len` bytes (what the read copied):
 * 0 and *ev, or -1 with what is wrong in err.  Strict: the header (magic,
 * size = len, what, reply port and token -1), every field's type, sizes and
 * name, elements within the field, fields 4-aligned and ending exactly at
 * the message's end, an "opcode" field.  A message larger than len (cut by
 * a short read), or len shorter than a header, is -2: not all there - which
 * is malformed too when the reader had room for more than len bytes (see
 * nm_check).
 */
static inline int nm_parse(const uint8_t *buf, size_t len, struct nm_event *ev, char *err, size_t errn)
{
	uint32_t off = KMESSAGE_HEADER_SIZE, size;

	memset(ev, 0, sizeof(*ev));
	if (len < KMESSAGE_HEADER_SIZE)
		return -2;	/* a read into less room than a header: cut */
	if ((uint32_t)nm_get32(buf) != KMESSAGE_MAGIC)
		return nm_bad(err, errn, "magic 0x%lx, expected 0x%lx", (uint32_t)nm_get32(buf), KMESSAGE_MAGIC);
	size = (uint32_t)nm_get32(buf + 4);
	if (size > len)
		return -2;
	if (size != len || size < KMESSAGE_HEADER_SIZE)
		return nm_bad(err, errn, "header size %lu, but the message has %lu bytes", size, len);
	ev->what = nm_get32(buf + 8);
	ev->sender = nm_get32(buf + 12);
	ev->token = nm_get32(buf + 16);
	ev->reply_port = nm_get32(buf + 20);
	ev->reply_token = nm_get32(buf + 24);
	if ((uint32_t)ev->what != B_NODE_MONITOR)
		return nm_bad(err, errn, "what 0x%lx, expected B_NODE_MONITOR 0x%lx", (uint32_t)ev->what, B_NODE_MONITOR);
	if (ev->reply_port != -1 || ev->reply_token != -1)
		return nm_bad(err, errn, "reply port %lu and token %lu, expected -1 and -1",
			      (unsigned long)(uint32_t)ev->reply_port, (unsigned long)(uint32_t)ev->reply_token);
	while (off < size) {
		uint32_t type, fsize, hsize, name_len, data;
		int32_t esize, count;
		const char *name;

		if (off % 4)
			return nm_bad(err, errn, "field at %lu is not 4-aligned (%lu)", off, off % 4);
		if (size - off < NM_FIELD_NAME_AT + 2)
			return nm_bad(err, errn, "field at %lu: %lu bytes left, too few for a field header", off, size - off);
		type = (uint32_t)nm_get32(buf + off);
		esize = nm_get32(buf + off + 4);
		count = nm_get32(buf + off + 8);
		fsize = (uint32_t)nm_get32(buf + off + 12);
		hsize = (uint16_t)((uint16_t)buf[off + 16] | (uint16_t)buf[off + 17] << 8);
		name = (const char *)buf + off + 18;
		if (hsize < NM_FIELD_NAME_AT + 2 || hsize > size - off)
			return nm_bad(err, errn, "field at %lu: header size %lu out of bounds", off, hsize);
		name_len = (uint32_t)strnlen(name, hsize - 18);
		if (name_len == hsize - 18U || name_len == 0)
			return nm_bad(err, errn, "field at %lu: name not NUL-terminated within its header (%lu)", off, hsize);
		if (hsize != nm_align4(20 + name_len))
			return nm_bad(err, errn, "field at %lu: header size %lu, not align4(20 + strlen(name)) (Haiku's)", off, hsize);
		if (fsize < hsize || fsize > size - off)
			return nm_bad(err, errn, "field at %lu: field size %lu out of bounds", off, fsize);
		if (count < 1)
			return nm_bad(err, errn, "field at %lu: count %lu", off, (unsigned long)(uint32_t)count);
		data = off + hsize;
		if (type == B_INT32_TYPE || type == B_INT64_TYPE) {
			int32_t want = type == B_INT32_TYPE ? 4 : 8;

			if (esize != want)
				return nm_bad(err, errn, "field at %lu: element size %lu for a fixed-size type",
					      off, (unsigned long)(uint32_t)esize);
			if ((uint64_t)count * (uint64_t)want != fsize - hsize)
				return nm_bad(err, errn, "field at %lu: %lu data bytes for its elements", off, fsize - hsize);
			nm_take(ev, name, type, buf + data, esize);
		} else if (type == B_STRING_TYPE) {
			uint32_t at = data, end = off + fsize;
			char *dst = !strcmp(name, "name") ? ev->name : !strcmp(name, "from name") ? ev->from_name :
				    !strcmp(name, "attr") ? ev->attr : NULL;

			if (esize != -1)
				return nm_bad(err, errn, "field at %lu: element size %lu for a string",
					      off, (unsigned long)(uint32_t)esize);
			for (int32_t i = 0; i < count; i++) {
				int32_t n;

				if (end - at < 4)
					return nm_bad(err, errn, "field at %lu: string %lu runs past the field", off, (unsigned long)i);
				n = nm_get32(buf + at);
				at += 4;
				if (n < 1 || (uint32_t)n > end - at)
					return nm_bad(err, errn, "field at %lu: string size %lu out of bounds", off,
						      (unsigned long)(uint32_t)n);
				if (buf[at + (uint32_t)n - 1] != 0 || strnlen((const char *)buf + at, (size_t)n) != (size_t)n - 1)
					return nm_bad(err, errn, "field at %lu: string %lu not one NUL-terminated string",
						      off, (unsigned long)i);
				if (i == 0 && dst) {
					snprintf(dst, NM_NAME_MAX, "%s", (const char *)buf + at);
					ev->have |= dst == ev->name ? NMF_NAME : dst == ev->from_name ? NMF_FROM_NAME : NMF_ATTR;
				}
				at = nm_align4(at + (uint32_t)n);
				if (at > end && i + 1 < count)
					return nm_bad(err, errn, "field at %lu: padding runs past the field", off, 0);
			}
		} else {
			return nm_bad(err, errn, "field at %lu: unknown type 0x%lx", off, type);
		}
		ev->nfields++;
		off = nm_align4(off + fsize);
	}
	if (off != size)
		return nm_bad(err, errn, "the last field ends at %lu, past the message's %lu bytes", off, size);
	if (!ev->has_opcode)
		return nm_bad(err, errn, "no opcode field (%lu fields)", ev->nfields, 0);
	return 0;
}

/*
 * What a parsed message lacks of what its opcode must carry (NEXUS-ABI.md's
 * table; NEXUS_EVENTS_DROPPED: opcode and a positive "dropped"): 0, or -1
 * with the first thing missing in err.  Values are checked where they have
 * a range: inodes > 0, names not empty, a stat change with some bits, a
 * cause of 1..3.
 */
static inline int nm_event_problem(const struct nm_event *ev, char *err, size_t n)
{
	static const struct { uint32_t bit; const char *name; } names[] = {
		{ NMF_DEVICE, "device" }, { NMF_NEW_DEVICE, "new device" }, { NMF_NODE_DEVICE, "node device" },
		{ NMF_DIRECTORY, "directory" }, { NMF_FROM_DIRECTORY, "from directory" },
		{ NMF_TO_DIRECTORY, "to directory" }, { NMF_NODE, "node" }, { NMF_NAME, "name" },
		{ NMF_FROM_NAME, "from name" }, { NMF_FIELDS, "fields" }, { NMF_ATTR, "attr" },
		{ NMF_CAUSE, "cause" }, { NMF_DROPPED, "dropped" },
	};
	uint32_t need;

	switch (ev->opcode) {
	case B_ENTRY_CREATED:
	case B_ENTRY_REMOVED:
		need = NMF_DEVICE | NMF_DIRECTORY | NMF_NODE | NMF_NAME;
		break;
	case B_ENTRY_MOVED:
		need = NMF_DEVICE | NMF_FROM_DIRECTORY | NMF_TO_DIRECTORY | NMF_NODE_DEVICE | NMF_NODE |
		       NMF_FROM_NAME | NMF_NAME;
		break;
	case B_STAT_CHANGED:
		need = NMF_DEVICE | NMF_NODE | NMF_FIELDS;
		break;
	case B_ATTR_CHANGED:
		need = NMF_DEVICE | NMF_NODE | NMF_ATTR | NMF_CAUSE;
		break;
	case B_DEVICE_MOUNTED:
		need = NMF_NEW_DEVICE | NMF_DEVICE | NMF_DIRECTORY;
		break;
	case B_DEVICE_UNMOUNTED:
		need = NMF_DEVICE;
		break;
	default:
		if ((uint32_t)ev->opcode != NEXUS_EVENTS_DROPPED)
			return nm_bad(err, n, "unknown opcode %lu (0x%lx)", (unsigned long)(uint32_t)ev->opcode,
				      (unsigned long)(uint32_t)ev->opcode);
		need = NMF_DROPPED;
		break;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if ((need & names[i].bit) && !(ev->have & names[i].bit)) {
			if (err && n)
				snprintf(err, n, "opcode %d without its field \"%s\" (of its type)", (int)ev->opcode,
					 names[i].name);
			return -1;
		}
	if ((need & NMF_NODE) && ev->node <= 0)
		return nm_bad(err, n, "opcode %lu with node %lu", (unsigned long)ev->opcode, (unsigned long)ev->node);
	if ((need & NMF_NAME) && !ev->name[0])
		return nm_bad(err, n, "opcode %lu with an empty name (%lu)", (unsigned long)ev->opcode, 0);
	if ((need & NMF_FIELDS) && !(ev->fields & 0xff))
		return nm_bad(err, n, "B_STAT_CHANGED with fields 0x%lx (%lu)", (unsigned long)(uint32_t)ev->fields, 0);
	if ((need & NMF_CAUSE) && (ev->cause < B_ATTR_CREATED || ev->cause > B_ATTR_CHANGED_CAUSE))
		return nm_bad(err, n, "B_ATTR_CHANGED with cause %lu (%lu)", (unsigned long)(uint32_t)ev->cause, 0);
	if ((need & NMF_DROPPED) && ev->dropped <= 0)
		return nm_bad(err, n, "NEXUS_EVENTS_DROPPED with dropped %lu (%lu)", (unsigned long)(uint32_t)ev->dropped, 0);
	return 0;
}

/*
 * A message read with `room` bytes of room, `len` copied: nm_parse and
 * nm_event_problem, where a message cut short although there was room for
 * more is malformed (the kernel never writes less than a whole KMessage).
 * 0, -1 (err says why) or -2 (cut by a read with too little room).
 */
static inline int nm_check(const uint8_t *buf, size_t len, size_t room, struct nm_event *ev, char *err, size_t n)
{
	int st = nm_parse(buf, len, ev, err, n);

	if (st == -2 && len < room) {
		if (err && n)
			snprintf(err, n, "%zu bytes read with room for %zu: %s", len, room,
				 len < KMESSAGE_HEADER_SIZE ? "shorter than a header" : "shorter than its header's size");
		return -1;
	}
	if (st == 0)
		st = nm_event_problem(ev, err, n);
	return st;
}

/* Opcodes as a small index for tallies: 1..7, 8 = NEXUS_EVENTS_DROPPED, 0 = anything else. */
#define NM_NR_OPS 9
static const char *const NM_OP_NAMES[NM_NR_OPS] = {
	"other", "created", "removed", "moved", "stat", "attr", "mounted", "unmounted", "dropped" };

static inline unsigned int nm_op_index(int32_t opcode)
{
	if (opcode >= B_ENTRY_CREATED && opcode <= B_DEVICE_UNMOUNTED)
		return (unsigned int)opcode;
	return (uint32_t)opcode == NEXUS_EVENTS_DROPPED ? 8 : 0;
}

/* ---- file system churn: what makes events ------------------------------------ */

#define NM_CHURN_NAMES 12

enum { NM_OP_CREATE, NM_OP_UNLINK, NM_OP_RENAME, NM_OP_RENAME_ACROSS, NM_OP_LINK, NM_OP_CHMOD,
	NM_OP_CHOWN, NM_OP_WRITE, NM_OP_TRUNCATE, NM_OP_UTIMES, NM_OP_SETXATTR, NM_OP_REMOVEXATTR,
	NM_OP_MKDIR, NM_OP_RMDIR, NR_NM_OPS };

/* The user xattr namespace, or trusted.* where the fs has no user xattrs (tmpfs before 6.6). */
static inline int nm_setxattr(const char *path, const char *key, const void *v, size_t n, char *used, size_t un)
{
	snprintf(used, un, "user.%s", key);
	if (setxattr(path, used, v, n, 0) == 0)
		return 0;
	if (errno != EOPNOTSUPP && errno != EPERM)
		return -errno;
	snprintf(used, un, "trusted.%s", key);
	return setxattr(path, used, v, n, 0) == 0 ? 0 : -errno;
}

/*
 * One file system operation in dir (and its subdirectory "sub"), on names
 * f0..f11, chosen by v: what a watcher of dir or of its entries hears
 * about.  Failures (a name that is not there) are part of the churn.
 * Returns the operation done (NM_OP_*).
 */
static inline int nm_churn_once(const char *dir, uint64_t v)
{
	char a[512], b[512], key[64] = "churn", k[8];
	unsigned int op = (unsigned int)(v % NR_NM_OPS);
	unsigned int x = (unsigned int)((v >> 8) % NM_CHURN_NAMES), y = (unsigned int)((v >> 16) % NM_CHURN_NAMES);
	bool in_sub = (v >> 24) % 4 == 0;
	struct timeval tv[2] = { { (time_t)(v >> 32) % 100000, 0 }, { (time_t)(v >> 40) % 100000, 0 } };
	int fd;

	snprintf(a, sizeof(a), "%s/%sf%u", dir, in_sub ? "sub/" : "", x);
	switch (op) {
	case NM_OP_CREATE:
		fd = open(a, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd >= 0)
			close(fd);
		break;
	case NM_OP_UNLINK:
		unlink(a);
		break;
	case NM_OP_RENAME:
		snprintf(b, sizeof(b), "%s/%sf%u", dir, in_sub ? "sub/" : "", y);
		rename(a, b);
		break;
	case NM_OP_RENAME_ACROSS:
		snprintf(b, sizeof(b), "%s/%sf%u", dir, in_sub ? "" : "sub/", y);
		rename(a, b);
		break;
	case NM_OP_LINK:
		snprintf(b, sizeof(b), "%s/f%u", dir, y);
		link(a, b);
		break;
	case NM_OP_CHMOD:
		chmod(a, (v >> 48) & 1 ? 0600 : 0644);
		break;
	case NM_OP_CHOWN:
		if (chown(a, (v >> 48) & 1 ? 1000 : 0, (v >> 49) & 1 ? 1000 : 0) < 0)
			(void)0;
		break;
	case NM_OP_WRITE:
		fd = open(a, O_WRONLY | O_APPEND | O_CLOEXEC);
		if (fd >= 0) {
			if (write(fd, key, 1 + (v >> 50) % 32) < 0)
				(void)0;
			close(fd);
		}
		break;
	case NM_OP_TRUNCATE:
		if (truncate(a, (off_t)((v >> 48) % 4096)) < 0)
			(void)0;
		break;
	case NM_OP_UTIMES:
		utimes(a, tv);
		break;
	case NM_OP_SETXATTR:
		snprintf(k, sizeof(k), "k%u", (unsigned int)(v >> 48) % 3);
		nm_setxattr(a, k, "v", 1 + (v >> 52) % 2, key, sizeof(key));
		break;
	case NM_OP_REMOVEXATTR:
		snprintf(key, sizeof(key), "user.k%u", (unsigned int)(v >> 48) % 3);
		if (removexattr(a, key) < 0) {
			snprintf(key, sizeof(key), "trusted.k%u", (unsigned int)(v >> 48) % 3);
			removexattr(a, key);
		}
		break;
	case NM_OP_MKDIR:
		snprintf(b, sizeof(b), "%s/sub", dir);
		mkdir(b, 0755);
		break;
	default:
		snprintf(b, sizeof(b), "%s/sub", dir);
		rmdir(b);	/* only once it is empty */
		break;
	}
	return (int)op;
}

/* Remove every entry of dir, one level of subdirectories deep, then dir itself (best effort). */
static inline void nm_remove_tree(const char *dir, bool self)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[1024];

	if (d) {
		while ((e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path))
				continue;
			if (unlink(path) < 0 && (errno == EISDIR || errno == EPERM))
				nm_remove_tree(path, true);
		}
		closedir(d);
	}
	if (self) {
		umount2(dir, MNT_DETACH);
		rmdir(dir);
	}
}

#endif /* NEXUS_NM_H */
