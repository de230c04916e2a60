/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Kernel API differences across the kernels Nexus supports, in one place.
 * Code elsewhere uses only the nexus_* names below, never LINUX_VERSION_CODE.
 */
#ifndef _NEXUS_COMPAT_H
#define _NEXUS_COMPAT_H

#include <linux/device.h>
#include <linux/mm.h>
#include <linux/sched.h>
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

/*
 * A task's name into a buffer of any size (get_task_comm() wants exactly
 * TASK_COMM_LEN bytes on 6.1 and 6.12).
 */
#define nexus_get_task_comm(buf, task) \
	__get_task_comm(buf, sizeof(buf), task)

/*
 * The sched_process_exit tracepoint's probe: (data, task) on every kernel
 * Nexus supports.  thread.c registers nexus_thread_exit_probe with it.
 */
#define NEXUS_EXIT_PROBE_ARGS	void *data, struct task_struct *task

/* 6.3 made vma->vm_flags read-only behind vm_flags_clear(). */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define nexus_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#else
#define nexus_vm_flags_clear(vma, flags)	((vma)->vm_flags &= ~(flags))
#endif

#endif /* _NEXUS_COMPAT_H */
