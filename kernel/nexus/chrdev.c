// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus character devices: each Nexus module's one device node, made by
 * the module itself (class + device, mode 0666) so that a small guest needs
 * no udev rule.  nexus.ko's /dev/nexus and nexus_area.ko's /dev/nexus_area
 * are made the same way, here.
 */

#include <linux/device.h>
#include <linux/fs.h>
#include <linux/module.h>

#include "nexus_compat.h"
#include "nexus_internal.h"

/* Everyone may open a Nexus device. */
static char *nexus_chrdev_devnode(NEXUS_DEVNODE_CONST struct device *dev,
				  umode_t *mode)
{
	if (mode)
		*mode = 0666;
	return NULL;
}

/**
 * nexus_chrdev_add() - make a Nexus device node
 * @cd: the device, zeroed
 * @name: its name, of the class and of the node (/dev/@name)
 * @fops: its file operations
 *
 * Return: 0 or a negative errno; nothing is left behind on failure.
 */
int nexus_chrdev_add(struct nexus_chrdev *cd, const char *name,
		     const struct file_operations *fops)
{
	int err;

	err = alloc_chrdev_region(&cd->devt, 0, 1, name);
	if (err)
		return err;
	cdev_init(&cd->cdev, fops);
	err = cdev_add(&cd->cdev, cd->devt, 1);
	if (err)
		goto err_region;
	cd->class = nexus_class_create(name);
	if (IS_ERR(cd->class)) {
		err = PTR_ERR(cd->class);
		goto err_cdev;
	}
	cd->class->devnode = nexus_chrdev_devnode;
	cd->device = device_create(cd->class, NULL, cd->devt, NULL, name);
	if (IS_ERR(cd->device)) {
		err = PTR_ERR(cd->device);
		goto err_class;
	}
	return 0;

err_class:
	class_destroy(cd->class);
err_cdev:
	cdev_del(&cd->cdev);
err_region:
	unregister_chrdev_region(cd->devt, 1);
	return err;
}
EXPORT_SYMBOL_GPL(nexus_chrdev_add);

/* Remove a device node made by nexus_chrdev_add(). */
void nexus_chrdev_del(struct nexus_chrdev *cd)
{
	device_destroy(cd->class, cd->devt);
	class_destroy(cd->class);
	cdev_del(&cd->cdev);
	unregister_chrdev_region(cd->devt, 1);
}
EXPORT_SYMBOL_GPL(nexus_chrdev_del);

/*
 * Every Nexus device's open and release: opening makes the calling thread
 * group a team (or reuses its team), the file holds it until released.
 */
int nexus_team_open(struct inode *inode, struct file *filp)
{
	struct nexus_team *team;

	team = nexus_team_attach();
	if (IS_ERR(team))
		return PTR_ERR(team);
	filp->private_data = team;
	return nonseekable_open(inode, filp);
}
EXPORT_SYMBOL_GPL(nexus_team_open);

int nexus_team_release(struct inode *inode, struct file *filp)
{
	nexus_team_detach(filp->private_data);
	return 0;
}
EXPORT_SYMBOL_GPL(nexus_team_release);
