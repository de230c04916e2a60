// SPDX-License-Identifier: GPL-2.0
/*
 * Haiku KMessages, as node monitor messages are (NEXUS-ABI.md, "Node
 * monitor"): a 28-byte header, then fields, each 4-byte aligned: type,
 * element size (-1 when variable), count, field size, header size (18
 * bytes), the NUL-terminated name, padded so that the header is
 * align4(20 + strlen(name)) bytes as Haiku's is, then the data; a variable-size element
 * is its int32 size followed by its bytes, padded to 4.  Every field here
 * has one element.
 */

#include <linux/align.h>
#include <linux/string.h>

#include "node_monitor.h"

static void nm_put(u8 *at, u32 value, size_t size)
{
	__le32 v = cpu_to_le32(value);

	memcpy(at, &v, size);
}

static void nm_put32(struct nm_msg *msg, size_t at, u32 value)
{
	nm_put(msg->buf + at, value, 4);
}

static void nm_msg_set_size(struct nm_msg *msg)
{
	nm_put32(msg, 4, msg->len);
}

/* Start a B_NODE_MONITOR message whose first field is the opcode. */
void nm_msg_init(struct nm_msg *msg, s32 opcode)
{
	memset(msg->buf, 0, KMESSAGE_HEADER_SIZE);
	msg->overflow = false;
	msg->len = KMESSAGE_HEADER_SIZE;
	nm_put32(msg, 0, KMESSAGE_MAGIC);
	nm_put32(msg, 8, B_NODE_MONITOR);
	nm_put32(msg, 12, 0);		/* sender: the kernel */
	nm_put32(msg, 16, 0);		/* target token: set per watch */
	nm_put32(msg, 20, (u32)-1);	/* reply port */
	nm_put32(msg, 24, (u32)-1);	/* reply token */
	nm_msg_set_size(msg);
	nm_msg_add_int32(msg, "opcode", opcode);
}

void nm_msg_set_token(u8 *buf, u32 token)
{
	nm_put(buf + 16, token, 4);
}

/*
 * Append a field of one element of @size bytes (@fixed: a fixed-size
 * type; else the element carries its size).
 */
static void nm_msg_add(struct nm_msg *msg, const char *name, u32 type,
		       const void *data, size_t size, bool fixed)
{
	size_t name_len = strlen(name) + 1;
	/* Haiku's: the name at 18, the header padded as its struct is. */
	size_t header = ALIGN(KMESSAGE_FIELD_HEADER_SIZE + 2 + name_len - 1,
			      4);
	size_t body = fixed ? size : 4 + size;
	size_t at = msg->len;

	if (msg->overflow || at + header + ALIGN(body, 4) > NM_MSG_MAX) {
		msg->overflow = true;
		return;
	}
	memset(msg->buf + at, 0, header + ALIGN(body, 4));
	nm_put32(msg, at, type);
	nm_put32(msg, at + 4, fixed ? size : (u32)-1);
	nm_put32(msg, at + 8, 1);
	nm_put32(msg, at + 12, header + body);
	nm_put(msg->buf + at + 16, header, 2);
	memcpy(msg->buf + at + KMESSAGE_FIELD_HEADER_SIZE, name, name_len);
	if (!fixed) {
		nm_put32(msg, at + header, size);
		memcpy(msg->buf + at + header + 4, data, size);
	} else {
		memcpy(msg->buf + at + header, data, size);
	}
	msg->len = at + header + ALIGN(body, 4);
	nm_msg_set_size(msg);
}

void nm_msg_add_int32(struct nm_msg *msg, const char *name, s32 value)
{
	__le32 v = cpu_to_le32(value);

	nm_msg_add(msg, name, B_INT32_TYPE, &v, sizeof(v), true);
}

void nm_msg_add_int64(struct nm_msg *msg, const char *name, s64 value)
{
	__le64 v = cpu_to_le64(value);

	nm_msg_add(msg, name, B_INT64_TYPE, &v, sizeof(v), true);
}

/* A string of @len bytes (no NUL), sent NUL-terminated. */
void nm_msg_add_string(struct nm_msg *msg, const char *name,
		       const char *value, size_t len)
{
	char buf[NAME_MAX + 1];

	len = min_t(size_t, len, NAME_MAX);
	memcpy(buf, value, len);
	buf[len] = '\0';
	nm_msg_add(msg, name, B_STRING_TYPE, buf, len + 1, false);
}
