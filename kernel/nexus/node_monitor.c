// SPDX-License-Identifier: GPL-2.0
/*
 * nexus_node_monitor.ko: vrefs and Haiku's node monitor on fsnotify
 * (/dev/nexus_node_monitor; NEXUS-ABI.md, "Vrefs" and "Node monitor").
 *
 * Opening the device makes the caller a team exactly as opening /dev/nexus
 * does.  What the module keeps for a team (its vref slots, listeners and
 * watches) is one object of kind NEXUS_KIND_NODE_MONITOR that the team
 * owns: nexus.ko's teardown of the team destroys it, which is how this
 * module learns of team exits.
 */

#include <linux/fs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "node_monitor.h"

struct workqueue_struct *nm_wq;

static DEFINE_XARRAY_ALLOC1(nm_teams);
static u32 nm_team_next_id = 1;
static DEFINE_MUTEX(nm_teams_lock);	/* one nm_team a team */
static struct nexus_chrdev nm_chrdev;

static struct nm_team *nm_team_from(struct nexus_object *obj)
{
	return container_of(obj, struct nm_team, obj);
}

void nm_team_put(struct nm_team *nt)
{
	nexus_object_put(&nt->obj);
}

/**
 * nm_team_of() - what the module keeps for a team
 * @team: the team
 * @create: make it on first use
 *
 * Return: it, with a reference the caller must put; NULL when it does not
 * exist and @create is false; ERR_PTR(-ENOMEM) or ERR_PTR(-ESRCH) (the
 * team is being torn down).
 */
struct nm_team *nm_team_of(struct nexus_team *team, bool create)
{
	struct nexus_object *obj;
	struct nm_team *nt;
	s32 id;
	int err;

	obj = nexus_team_object(team, NEXUS_KIND_NODE_MONITOR);
	if (obj || !create)
		return obj ? nm_team_from(obj) : NULL;

	mutex_lock(&nm_teams_lock);
	obj = nexus_team_object(team, NEXUS_KIND_NODE_MONITOR);
	if (obj) {
		nt = nm_team_from(obj);
		goto unlock;
	}
	nt = kzalloc(sizeof(*nt), GFP_KERNEL_ACCOUNT);
	if (!nt) {
		nt = ERR_PTR(-ENOMEM);
		goto unlock;
	}
	mutex_init(&nt->lock);
	INIT_LIST_HEAD(&nt->slots);
	INIT_LIST_HEAD(&nt->listeners);
	INIT_LIST_HEAD(&nt->volumes);
	nt->team = nexus_team_get(team);
	err = nexus_object_init(&nt->obj, NEXUS_KIND_NODE_MONITOR);
	/* The caller's reference; the first becomes the id's once published. */
	kref_get(&nt->obj.ref);
	if (!err)
		err = nexus_object_publish(&nm_teams, &nm_team_next_id,
					   &nt->obj, team, &id);
	if (err) {
		nm_team_put(nt);
		nm_team_put(nt);
		nt = ERR_PTR(err == -ESRCH ? -ESRCH : -ENOMEM);
	}
unlock:
	mutex_unlock(&nm_teams_lock);
	return nt;
}

/* The team's teardown: everything it held here goes. */
static void nm_team_destroy(struct nexus_object *obj)
{
	struct nm_team *nt = nm_team_from(obj);

	if (!nexus_object_claim(&nm_teams, obj))
		return;
	nm_watches_team_exit(nt);
	nm_vrefs_team_exit(nt);
	nexus_object_unlink(obj);
	nm_team_put(nt);		/* the id's */
}

static void nm_team_free(struct nexus_object *obj)
{
	struct nm_team *nt = nm_team_from(obj);

	WARN_ON(!list_empty(&nt->slots));
	WARN_ON(!list_empty(&nt->listeners));
	nexus_team_put(nt->team);
	kfree_rcu(nt, obj.rcu);
}

static const struct nexus_kind_ops nm_team_ops = {
	.owner = THIS_MODULE,
	.destroy = nm_team_destroy,
	.free = nm_team_free,
};

/* Room for the largest request. */
#define NM_MAX_REQ_SIZE	32

static long nm_ioctl(struct file *filp, unsigned int cmd, unsigned long arg)
{
	struct nexus_team *team = filp->private_data;
	void __user *argp = (void __user *)arg;
	u64 req[NM_MAX_REQ_SIZE / sizeof(u64)];
	size_t size = _IOC_SIZE(cmd);

	if (!nexus_team_is_current(team))
		return -EPERM;
	switch (_IOC_TYPE(cmd)) {
	case NEXUS_VREF_IOCTL_MAGIC:
	case NEXUS_WATCH_IOCTL_MAGIC:
		break;
	default:
		return -ENOTTY;
	}
	if (size > sizeof(req))
		return -ENOTTY;
	if (copy_from_user(req, argp, size))
		return -EFAULT;
	/* Vref requests write their answers back themselves; watches have none. */
	if (_IOC_TYPE(cmd) == NEXUS_VREF_IOCTL_MAGIC)
		return nm_vref_ioctl(team, cmd, req, argp);
	return nm_watch_ioctl(team, cmd, req);
}

static const struct file_operations nm_fops = {
	.owner = THIS_MODULE,
	.open = nexus_team_open,
	.release = nexus_team_release,
	.unlocked_ioctl = nm_ioctl,
};

static int __init nm_init(void)
{
	int err;

	nm_wq = alloc_workqueue("nexus_node_monitor", WQ_UNBOUND, 0);
	if (!nm_wq)
		return -ENOMEM;
	err = nm_watches_init();
	if (err)
		goto err_wq;
	err = nexus_kind_register(NEXUS_KIND_NODE_MONITOR, &nm_team_ops);
	if (err)
		goto err_watches;
	err = nexus_cap_ops_register(&nm_cap_ops);
	if (err)
		goto err_kind;
	err = nexus_chrdev_add(&nm_chrdev, NEXUS_NODE_MONITOR_DEVICE_NAME,
			       &nm_fops);
	if (err)
		goto err_caps;
	return 0;

err_caps:
	nexus_cap_ops_unregister();
err_kind:
	nexus_kind_unregister(NEXUS_KIND_NODE_MONITOR);
err_watches:
	nm_watches_exit();
err_wq:
	destroy_workqueue(nm_wq);
	return err;
}

/*
 * Every nm_team and every message carrying a vref held this module: no
 * team state, slot, watch or vref is left.
 */
static void __exit nm_exit(void)
{
	nexus_chrdev_del(&nm_chrdev);
	nexus_cap_ops_unregister();
	nexus_kind_unregister(NEXUS_KIND_NODE_MONITOR);
	WARN_ON(!xa_empty(&nm_teams));
	xa_destroy(&nm_teams);
	nm_watches_exit();
	nm_vrefs_exit();
	destroy_workqueue(nm_wq);
	rcu_barrier();
}

module_init(nm_init);
module_exit(nm_exit);

MODULE_DESCRIPTION("Nexus: BeOS/Haiku node monitor and vrefs (fsnotify)");
MODULE_LICENSE("GPL");
