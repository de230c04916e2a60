// SPDX-License-Identifier: GPL-2.0
/*
 * Vrefs: kernel-held references to an open file, named by a small id and
 * usable across teams (NEXUS-ABI.md, "Vrefs").
 *
 * A vref holds the struct file it was created from, so that opening it
 * never gives more access than that descriptor had.  Each holder team owns
 * a slot with a secret key from the kernel's CSPRNG: the id is public, the
 * key is the capability.  Only a team with a slot may acquire another,
 * release its own, open the file or send the vref in a port message.
 *
 * Lifetime: a vref is referenced by its slots, by queued port messages
 * that carry it and by lookups; its id is erased with its last reference.
 * A team's slots are listed in its nm_team and go with its teardown.
 * Lock order: nm_team.lock -> vref->lock.
 */

#include <linux/fcntl.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/kref.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/xarray.h>

#include "node_monitor.h"

struct nm_vref {
	struct kref ref;		/* slots, queued messages, lookups */
	s32 id;
	struct file *file;		/* the creating descriptor's file */
	struct nexus_user *user;	/* its creator, charged for it */
	spinlock_t lock;		/* slots */
	struct list_head slots;
	struct rcu_head rcu;
};

struct nm_slot {
	struct list_head vref_node;	/* in vref->slots */
	struct list_head team_node;	/* in owner->slots */
	struct nm_vref *vref;		/* referenced */
	struct nm_team *owner;
	struct nexus_user *user;	/* charged for the slot */
	u64 key;
};

static DEFINE_XARRAY_ALLOC1(nm_vrefs);
static u32 nm_vref_next_id = 1;

static void nm_vref_release(struct kref *ref)
{
	struct nm_vref *vref = container_of(ref, struct nm_vref, ref);

	xa_erase(&nm_vrefs, vref->id);
	fput(vref->file);
	nexus_uncharge(vref->user, NEXUS_LIMIT_VREFS, 1);
	nexus_user_put(vref->user);
	kfree_rcu(vref, rcu);
}

static void nm_vref_put(struct nm_vref *vref)
{
	kref_put(&vref->ref, nm_vref_release);
}

static struct nm_vref *nm_vref_get(s32 id)
{
	struct nm_vref *vref;

	if (id <= 0)
		return NULL;
	rcu_read_lock();
	vref = xa_load(&nm_vrefs, id);
	if (vref && !kref_get_unless_zero(&vref->ref))
		vref = NULL;
	rcu_read_unlock();
	return vref;
}

/* A new slot in @vref for @nt: its key, or -ENOSPC / -ENOMEM / -ESRCH. */
static int nm_slot_new(struct nm_team *nt, struct nm_vref *vref, u64 *key)
{
	struct nexus_user *user = nt->team->user;
	struct nm_slot *slot, *other;
	bool unique;
	int err;

	if (nexus_charge(user, NEXUS_LIMIT_VREF_SLOTS, 1))
		return -ENOSPC;
	slot = kzalloc(sizeof(*slot), GFP_KERNEL_ACCOUNT);
	if (!slot) {
		nexus_uncharge(user, NEXUS_LIMIT_VREF_SLOTS, 1);
		return -ENOMEM;
	}
	slot->owner = nt;
	slot->user = nexus_user_hold(user);
	kref_get(&vref->ref);
	slot->vref = vref;

	mutex_lock(&nt->lock);
	err = -ESRCH;
	if (nt->dead)
		goto unlock;
	spin_lock(&vref->lock);
	do {
		/* Never 0, never one another slot of the vref has. */
		slot->key = get_random_u64();
		unique = slot->key != 0;
		list_for_each_entry(other, &vref->slots, vref_node)
			if (other->key == slot->key)
				unique = false;
	} while (!unique);
	list_add_tail(&slot->vref_node, &vref->slots);
	spin_unlock(&vref->lock);
	list_add_tail(&slot->team_node, &nt->slots);
	*key = slot->key;
	err = 0;
unlock:
	mutex_unlock(&nt->lock);
	if (err) {
		nexus_uncharge(user, NEXUS_LIMIT_VREF_SLOTS, 1);
		nexus_user_put(slot->user);
		nm_vref_put(vref);
		kfree(slot);
	}
	return err;
}

/* Free a slot taken off both lists. */
static void nm_slot_free(struct nm_slot *slot)
{
	nexus_uncharge(slot->user, NEXUS_LIMIT_VREF_SLOTS, 1);
	nexus_user_put(slot->user);
	nm_vref_put(slot->vref);
	kfree(slot);
}

/*
 * Does @nt hold a slot in @vref (with @key, or any when @any)?  Called
 * with nt->lock held or not: a slot is only ever added and removed with
 * vref->lock held, which is what makes the answer stable.
 */
static struct nm_slot *nm_slot_find(struct nm_team *nt, struct nm_vref *vref,
				    u64 key, bool any)
{
	struct nm_slot *slot;

	lockdep_assert_held(&vref->lock);
	list_for_each_entry(slot, &vref->slots, vref_node)
		if (slot->owner == nt && (any || slot->key == key))
			return slot;
	return NULL;
}

static bool nm_holds(struct nm_team *nt, struct nm_vref *vref, u64 key,
		     bool any)
{
	bool held;

	spin_lock(&vref->lock);
	held = nm_slot_find(nt, vref, key, any);
	spin_unlock(&vref->lock);
	return held;
}

/* Drop @nt's slot with @key in @vref: 0 or -EPERM. */
static int nm_slot_drop(struct nm_team *nt, struct nm_vref *vref, u64 key)
{
	struct nm_slot *slot;

	mutex_lock(&nt->lock);
	spin_lock(&vref->lock);
	slot = nm_slot_find(nt, vref, key, false);
	if (slot) {
		list_del(&slot->vref_node);
		list_del(&slot->team_node);
	}
	spin_unlock(&vref->lock);
	mutex_unlock(&nt->lock);
	if (!slot)
		return -EPERM;
	nm_slot_free(slot);
	return 0;
}

static int nm_vref_create(struct nexus_team *team, struct nexus_vref_create *req)
{
	struct nexus_user *user = team->user;
	struct nm_vref *vref;
	struct nm_team *nt;
	struct file *file;
	u32 id;
	int err;

	file = fget_raw(req->fd);
	if (!file)
		return -EBADF;
	nt = nm_team_of(team, true);
	if (IS_ERR(nt)) {
		fput(file);
		return PTR_ERR(nt);
	}
	err = -ENOSPC;
	if (nexus_charge(user, NEXUS_LIMIT_VREFS, 1))
		goto put_file;
	err = -ENOMEM;
	vref = kzalloc(sizeof(*vref), GFP_KERNEL_ACCOUNT);
	if (!vref)
		goto uncharge;
	kref_init(&vref->ref);
	spin_lock_init(&vref->lock);
	INIT_LIST_HEAD(&vref->slots);
	vref->file = file;
	vref->user = nexus_user_hold(user);
	/* From here on the vref's release undoes all of the above. */
	err = xa_alloc_cyclic(&nm_vrefs, &id, vref, XA_LIMIT(1, INT_MAX),
			      &nm_vref_next_id, GFP_KERNEL);
	if (err < 0) {
		nm_vref_put(vref);
		nm_team_put(nt);
		return -ENOMEM;
	}
	vref->id = id;
	err = nm_slot_new(nt, vref, &req->key);
	if (!err)
		req->id = id;
	nm_vref_put(vref);		/* the slot holds it, or it dies */
	nm_team_put(nt);
	return err;

uncharge:
	nexus_uncharge(user, NEXUS_LIMIT_VREFS, 1);
put_file:
	fput(file);
	nm_team_put(nt);
	return err;
}

/* The vref @id and the caller's team's state, if the team holds @key. */
static int nm_vref_held(struct nexus_team *team, s32 id, u64 key,
			struct nm_vref **vrefp, struct nm_team **ntp)
{
	struct nm_vref *vref = nm_vref_get(id);
	struct nm_team *nt;

	if (!vref)
		return -EBADF;
	nt = nm_team_of(team, false);
	if (IS_ERR_OR_NULL(nt) || !nm_holds(nt, vref, key, false)) {
		if (!IS_ERR_OR_NULL(nt))
			nm_team_put(nt);
		nm_vref_put(vref);
		return -EPERM;
	}
	*vrefp = vref;
	*ntp = nt;
	return 0;
}

/* Drop the slot CREATE made, whose answer the caller never got. */
static void nm_vref_undo(struct nexus_team *team, s32 id, u64 key)
{
	struct nm_vref *vref;
	struct nm_team *nt;

	if (nm_vref_held(team, id, key, &vref, &nt))
		return;
	nm_slot_drop(nt, vref, key);
	nm_team_put(nt);
	nm_vref_put(vref);
}

/* What OPEN may ask for, and whether the creating descriptor allows it. */
#define NM_OPEN_FLAGS	(O_ACCMODE | O_CLOEXEC | O_NONBLOCK | O_DIRECTORY | \
			 O_PATH)

static int nm_open_flags(struct file *file, u32 mode, int *flags)
{
	unsigned int acc = mode & O_ACCMODE;

	if (mode & ~NM_OPEN_FLAGS || acc == O_ACCMODE)
		return -EINVAL;
	if (mode & O_PATH) {
		*flags = mode & (O_PATH | O_CLOEXEC | O_DIRECTORY);
		return 0;
	}
	if (file->f_mode & FMODE_PATH)
		return -EPERM;
	if ((acc == O_RDONLY || acc == O_RDWR) && !(file->f_mode & FMODE_READ))
		return -EPERM;
	if ((acc == O_WRONLY || acc == O_RDWR) && !(file->f_mode & FMODE_WRITE))
		return -EPERM;
	if ((mode & O_DIRECTORY) && !S_ISDIR(file_inode(file)->i_mode))
		return -ENOTDIR;
	/* An append-only descriptor never becomes one that may seek. */
	*flags = mode | (file->f_flags & O_APPEND) | O_LARGEFILE;
	return 0;
}

static int nm_vref_open(struct nexus_team *team, struct nexus_vref_open *req,
			struct nexus_vref_open __user *ureq)
{
	struct nm_vref *vref;
	struct nm_team *nt;
	struct file *file;
	int flags, fd, err;

	err = nm_vref_held(team, req->id, req->key, &vref, &nt);
	if (err)
		return err;
	err = nm_open_flags(vref->file, req->requested_mode, &flags);
	if (err)
		goto put;
	fd = get_unused_fd_flags(flags);
	if (fd < 0) {
		err = fd;
		goto put;
	}
	file = dentry_open(&vref->file->f_path, flags & ~O_CLOEXEC,
			   current_cred());
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		err = PTR_ERR(file);
		goto put;
	}
	/* Installed only once the caller can learn its number. */
	req->fd_out = fd;
	if (copy_to_user(ureq, req, sizeof(*req))) {
		put_unused_fd(fd);
		fput(file);
		err = -EFAULT;
		goto put;
	}
	fd_install(fd, file);
put:
	nm_team_put(nt);
	nm_vref_put(vref);
	return err;
}

/**
 * nm_vref_ioctl() - carry out a vref request and write its answer back
 * @team: the caller's team
 * @cmd: the ioctl
 * @req: the request, copied in
 * @argp: where it came from
 *
 * An answer that cannot be written back undoes what the request made: a
 * slot (and so a new vref) or a descriptor the caller would never learn of.
 *
 * Return: 0, a negative errno, or -ENOTTY for no vref request.
 */
long nm_vref_ioctl(struct nexus_team *team, unsigned int cmd, void *req,
		   void __user *argp)
{
	struct nexus_vref_create *create = req;
	struct nexus_vref_op *op = req;
	struct nm_vref *vref;
	struct nm_team *nt;
	u64 key;
	int err;

	switch (cmd) {
	case NEXUS_VREF_CREATE:
		err = nm_vref_create(team, create);
		if (!err && copy_to_user(argp, create, sizeof(*create))) {
			nm_vref_undo(team, create->id, create->key);
			err = -EFAULT;
		}
		return err;
	case NEXUS_VREF_OPEN:
		return nm_vref_open(team, req, argp);
	case NEXUS_VREF_ACQUIRE:
	case NEXUS_VREF_RELEASE:
		break;
	default:
		return -ENOTTY;
	}
	err = nm_vref_held(team, op->id, op->key, &vref, &nt);
	if (err)
		return err;
	if (cmd == NEXUS_VREF_ACQUIRE) {
		err = nm_slot_new(nt, vref, &key);
		if (!err) {
			op->key = key;
			if (copy_to_user(argp, op, sizeof(*op))) {
				nm_slot_drop(nt, vref, key);
				err = -EFAULT;
			}
		}
	} else {
		err = nm_slot_drop(nt, vref, op->key);
	}
	nm_team_put(nt);
	nm_vref_put(vref);
	return err;
}

/*
 * The file of vref @id if @nt holds a slot in it (a watch through a vref),
 * with a reference the caller must put; else NULL.
 */
struct file *nm_vref_file(struct nm_team *nt, s32 id)
{
	struct nm_vref *vref = nm_vref_get(id);
	struct file *file = NULL;

	if (!vref)
		return NULL;
	if (nm_holds(nt, vref, 0, true))
		file = get_file(vref->file);
	nm_vref_put(vref);
	return file;
}

/* A team's teardown: its slots go; vrefs without slot or message die. */
void nm_vrefs_team_exit(struct nm_team *nt)
{
	struct nm_slot *slot, *tmp;
	LIST_HEAD(slots);

	mutex_lock(&nt->lock);
	nt->dead = true;
	list_splice_init(&nt->slots, &slots);
	list_for_each_entry(slot, &slots, team_node) {
		spin_lock(&slot->vref->lock);
		list_del(&slot->vref_node);
		spin_unlock(&slot->vref->lock);
	}
	mutex_unlock(&nt->lock);
	list_for_each_entry_safe(slot, tmp, &slots, team_node)
		nm_slot_free(slot);
}

/* Port capabilities: what a queued message does with the vrefs it carries. */
static void *nm_cap_get(struct nexus_team *team, s32 id)
{
	struct nm_vref *vref = nm_vref_get(id);
	struct nm_team *nt;

	if (!vref)
		return NULL;
	nt = nm_team_of(team, false);
	if (IS_ERR_OR_NULL(nt) || !nm_holds(nt, vref, 0, true)) {
		nm_vref_put(vref);
		vref = NULL;
	}
	if (!IS_ERR_OR_NULL(nt))
		nm_team_put(nt);
	return vref;
}

static int nm_cap_mint(struct nexus_team *team, void *ref, u64 *key)
{
	struct nm_team *nt = nm_team_of(team, true);
	int err;

	if (IS_ERR(nt))
		return B_NO_MEMORY;
	err = nm_slot_new(nt, ref, key);
	nm_team_put(nt);
	return err ? B_NO_MEMORY : B_OK;
}

static void nm_cap_unmint(struct nexus_team *team, void *ref, u64 key)
{
	struct nm_team *nt = nm_team_of(team, false);

	if (IS_ERR_OR_NULL(nt))
		return;
	nm_slot_drop(nt, ref, key);
	nm_team_put(nt);
}

static void nm_cap_put(void *ref)
{
	nm_vref_put(ref);
}

const struct nexus_cap_ops nm_cap_ops = {
	.owner = THIS_MODULE,
	.get = nm_cap_get,
	.mint = nm_cap_mint,
	.unmint = nm_cap_unmint,
	.put = nm_cap_put,
};

/* Module exit: no team and no message is left, so no vref. */
void nm_vrefs_exit(void)
{
	WARN_ON(!xa_empty(&nm_vrefs));
	xa_destroy(&nm_vrefs);
}
