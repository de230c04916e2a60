/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences across the kernels Nexus supports, in one place.
 * Code elsewhere uses only the nexus_* names below, never LINUX_VERSION_CODE.
 */
#ifndef _NEXUS_COMPAT_H
#define _NEXUS_COMPAT_H

#include <linux/device.h>
#include <linux/version.h>

/* 6.4 dropped the owner argument of class_create(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 4, 0)
#define nexus_class_create(name)	class_create(name)
#else
#define nexus_class_create(name)	class_create(THIS_MODULE, name)
#endif

/* 6.2 made the device argument of class->devnode() const. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define NEXUS_DEVNODE_CONST		const
#else
#define NEXUS_DEVNODE_CONST
#endif

#endif /* _NEXUS_COMPAT_H */
