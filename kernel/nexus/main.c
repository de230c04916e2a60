// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus: BeOS/Haiku IPC primitives for Linux.
 *
 * nexus.ko provides /dev/nexus.  Opening it registers the calling thread
 * group as a team; the ioctls (ports, semaphores, threads) act on behalf of
 * that team, and the release of its last file tears it down.
 */

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/rcupdate.h>
#include <linux/uaccess.h>

#include <nexus.h>

#include "nexus_compat.h"
#include "nexus_internal.h"

static struct nexus_chrdev nexus_chrdev;

/* The requests of /dev/nexus and who carries them out. */
static const struct nexus_ioctl_desc {
	unsigned int cmd;
	long (*handler)(struct nexus_team *team, unsigned int cmd, void *req);
} nexus_ioctls[] = {
	{ NEXUS_PORT_CREATE, nexus_port_ioctl },
	{ NEXUS_PORT_CLOSE, nexus_port_ioctl },
	{ NEXUS_PORT_FIND, nexus_port_ioctl },
	{ NEXUS_GET_NEXT_PORT_FOR_TEAM, nexus_port_ioctl },
	{ NEXUS_PORT_DELETE, nexus_port_ioctl },
	{ NEXUS_PORT_READ, nexus_port_ioctl },
	{ NEXUS_PORT_WRITE, nexus_port_ioctl },
	{ NEXUS_PORT_INFO, nexus_port_ioctl },
	{ NEXUS_PORT_MESSAGE_INFO, nexus_port_ioctl },
	{ NEXUS_SET_PORT_OWNER, nexus_port_ioctl },
	{ NEXUS_PORT_WRITE_CAPS, nexus_port_ioctl },
	{ NEXUS_PORT_READ_CAPS, nexus_port_ioctl },
	{ NEXUS_SEM_CREATE, nexus_sem_ioctl },
	{ NEXUS_SEM_ACQUIRE, nexus_sem_ioctl },
	{ NEXUS_SEM_RELEASE, nexus_sem_ioctl },
	{ NEXUS_SEM_DELETE, nexus_sem_ioctl },
	{ NEXUS_SEM_COUNT, nexus_sem_ioctl },
	{ NEXUS_SEM_INFO, nexus_sem_ioctl },
	{ NEXUS_SEM_NEXT_INFO, nexus_sem_ioctl },
	{ NEXUS_THREAD_SET_NAME, nexus_thread_ioctl },
	{ NEXUS_THREAD_READ, nexus_thread_ioctl },
	{ NEXUS_THREAD_WRITE, nexus_thread_ioctl },
	{ NEXUS_THREAD_HAS_DATA, nexus_thread_ioctl },
	{ NEXUS_THREAD_WAITFOR, nexus_thread_ioctl },
	{ NEXUS_THREAD_GET_INFO, nexus_thread_ioctl },
};

/*
 * The thread requests kept with upstream's calling convention: an argument
 * by value (or SPAWN's pointer under an _IO number), the status or a tid as
 * the return value.
 */
static const unsigned int nexus_raw_ioctls[] = {
	NEXUS_THREAD_SPAWN,
	NEXUS_THREAD_WAIT_NEWBORN,
	NEXUS_THREAD_CLONE_EXECUTED,
	NEXUS_THREAD_RESUME,
	NEXUS_THREAD_SET_RETURN_CODE,
};

/* Room for the largest request struct. */
#define NEXUS_MAX_REQ_SIZE	80

static long nexus_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct nexus_team *team = filp->private_data;
	void __user *argp = (void __user *)arg;
	const struct nexus_ioctl_desc *desc = NULL;
	u64 req[NEXUS_MAX_REQ_SIZE / sizeof(u64)];
	size_t size = _IOC_SIZE(cmd);
	long err;
	int i;

	/* A descriptor inherited by another process is not its team. */
	if (!nexus_team_is_current(team))
		return -EPERM;

	for (i = 0; i < ARRAY_SIZE(nexus_raw_ioctls); i++)
		if (nexus_raw_ioctls[i] == cmd)
			return nexus_thread_ioctl_raw(team, cmd, arg);

	for (i = 0; i < ARRAY_SIZE(nexus_ioctls); i++) {
		if (nexus_ioctls[i].cmd == cmd) {
			desc = &nexus_ioctls[i];
			break;
		}
	}
	if (!desc || WARN_ON_ONCE(size > sizeof(req)))
		return -ENOTTY;

	/*
	 * Every request is read whole, carried out and written back; also
	 * when a signal interrupted it (-ERESTARTSYS): a restart reads it
	 * again, and a call that is not restarted leaves B_INTERRUPTED in it.
	 */
	if (copy_from_user(req, argp, size))
		return -EFAULT;
	err = desc->handler(team, cmd, req);
	if (err && err != -ERESTARTSYS)
		return err;
	/* A request the caller only writes (_IOW) may be read-only memory. */
	if ((_IOC_DIR(cmd) & _IOC_READ) && copy_to_user(argp, req, size))
		return -EFAULT;
	return err;
}

static const struct file_operations nexus_fops = {
	.owner = THIS_MODULE,
	.open = nexus_team_open,
	.release = nexus_team_release,
	.unlocked_ioctl = nexus_ioctl,
};

static int __init nexus_init(void)
{
	int err;

	err = nexus_teams_init();
	if (err)
		return err;
	err = nexus_threads_init();
	if (err)
		goto err_teams;
	err = nexus_chrdev_add(&nexus_chrdev, NEXUS_DEVICE_NAME, &nexus_fops);
	if (err)
		goto err_threads;

	nexus_debugfs_init();
	return 0;

err_threads:
	nexus_threads_exit();
err_teams:
	nexus_teams_exit();
	return err;
}

static void __exit nexus_exit(void)
{
	nexus_debugfs_exit();
	nexus_chrdev_del(&nexus_chrdev);
	/* No file is open any more: every team and object is gone. */
	nexus_teams_exit();
	nexus_threads_exit();
	nexus_ports_exit();
	nexus_sems_exit();
	nexus_users_exit();
	rcu_barrier();
}

module_init(nexus_init);
module_exit(nexus_exit);

MODULE_DESCRIPTION("Nexus: BeOS/Haiku IPC primitives (teams, ports, semaphores, threads, capability messages)");
MODULE_LICENSE("GPL");
