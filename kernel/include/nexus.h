/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * Nexus: BeOS/Haiku IPC primitives for Linux - the ABI shared by the kernel
 * modules and userspace (libnexus, the lab's scenarios).
 *
 * This header is the single source of truth for the ABI described in
 * NEXUS-ABI.md: device names, ioctl numbers, request structures and status
 * values.  Layouts are those of x86-64 (LP64).
 */
#ifndef _UAPI_NEXUS_H
#define _UAPI_NEXUS_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <stdint.h>
#include <sys/ioctl.h>
#endif

#define NEXUS_DEVICE_NAME		"nexus"
#define NEXUS_DEVICE_PATH		"/dev/nexus"
#define NEXUS_IOCTL_MAGIC		'n'

/* Names are at most B_OS_NAME_LENGTH bytes, NUL included. */
#define B_OS_NAME_LENGTH		32

/* Status values (int32), carried in the request structs' ret field. */
#define B_OK				0
#define B_ERROR				(-1)
#define B_BAD_VALUE			(-22)
#define B_NO_MEMORY			(-12)
#define B_TIMED_OUT			(-110)
#define B_WOULD_BLOCK			(-11)
#define B_INTERRUPTED			(-4)
#define B_BAD_ADDRESS			(-14)
#define B_BAD_TEAM_ID			(-3)
#define B_ENTRY_NOT_FOUND		(-2)
#define B_BUFFER_OVERFLOW		(-75)
#define B_NO_MORE_SEMS			(-37)
#define B_NO_MORE_PORTS			(-23)
#define B_GENERAL_ERROR_BASE		(-2147483647 - 1)
#define B_NOT_ALLOWED			(B_GENERAL_ERROR_BASE + 16)
#define B_BAD_SEM_ID			(B_GENERAL_ERROR_BASE + 0x2001)
#define B_BAD_THREAD_ID			(B_GENERAL_ERROR_BASE + 0x2003)
#define B_BAD_PORT_ID			(B_GENERAL_ERROR_BASE + 0x2008)
#define B_NAME_NOT_FOUND		(-2147454966)

/* Timeout flags; timeouts are microseconds (bigtime_t). */
#define B_CAN_INTERRUPT			0x01
#define B_DO_NOT_RESCHEDULE		0x02
#define B_TIMEOUT			0x08
#define B_RELATIVE_TIMEOUT		0x08
#define B_ABSOLUTE_TIMEOUT		0x10
#define B_KILL_CAN_INTERRUPT		0x20
#define B_INFINITE_TIMEOUT		0x7fffffffffffffffLL

#endif /* _UAPI_NEXUS_H */
