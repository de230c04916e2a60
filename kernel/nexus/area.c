// SPDX-License-Identifier: GPL-2.0
/*
 * nexus_area.ko: Haiku's areas, named shared memory, on memfd.
 *
 * Userspace makes a memfd, sizes and maps it, and registers it (CREATE):
 * the area keeps a reference to the file.  CLONE makes a new area of the
 * caller sharing the same memory and gives it a descriptor to map.  Areas
 * are objects of nexus.ko's teams (kind NEXUS_KIND_AREA): ids, owners,
 * rights across users and teardown with the owner are nexus.ko's, so there
 * is one team registry.  Opening /dev/nexus_area attaches the caller to its
 * team exactly as opening /dev/nexus does.
 *
 * Rights never grow.  Each area has the most it may ever grant (max): all
 * the memfd's descriptor allows for an area made by CREATE, what its source
 * granted for a clone.  A clone asks at most its source's protection; the
 * descriptor it gets is not the memfd but a file of this module whose
 * mmap() refuses more than the clone's protection and clears VM_MAYWRITE
 * (shared mappings) and VM_MAYEXEC from the mapping, so mprotect() cannot
 * raise it later, and then hands the mapping to the memfd (vma_set_file()):
 * the pages are the memfd's, and live as long as some mapping does.
 */

#include <linux/anon_inodes.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/shmem_fs.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/uaccess.h>

#include <nexus.h>

#include "nexus_compat.h"
#include "nexus_internal.h"

#define NEXUS_AREA_RWX	(B_READ_AREA | B_WRITE_AREA | B_EXECUTE_AREA)
#define NEXUS_AREA_BITS	(NEXUS_AREA_RWX | B_CLONEABLE_AREA)

/*
 * The memory an area and its clones share.  An area that may be written
 * holds the memfd's mapping writable for its life, as a shared writable
 * mapping does: the memfd cannot be sealed against writes under it.
 */
struct nexus_area_mem {
	struct kref ref;		/* one per area and clone descriptor */
	struct file *file;		/* the memfd; referenced */
	struct nexus_user *user;	/* charged for size; referenced */
	struct mutex lock;		/* resizes */
	u64 size;			/* READ_ONCE: mmap */
	bool writable;			/* holds i_mmap_writable */
};

struct nexus_area {
	struct nexus_object obj;
	struct nexus_area_mem *mem;
	u32 lock;
	u32 protection;			/* READ_ONCE: set_protection */
	u32 max;			/* never above its source's */
};

/* A clone's descriptor: what its mappings may do, and on what. */
struct nexus_area_map {
	struct nexus_area_mem *mem;	/* referenced */
	u32 protection;
};

static DEFINE_XARRAY_ALLOC1(nexus_areas);
static u32 nexus_area_next_id = 1;
static const struct file_operations *nexus_shmem_fops;

static struct nexus_chrdev nexus_area_chrdev;

static struct nexus_area *nexus_area_of(struct nexus_object *obj)
{
	return container_of(obj, struct nexus_area, obj);
}

static void nexus_area_mem_release(struct kref *ref)
{
	struct nexus_area_mem *mem = container_of(ref, struct nexus_area_mem,
						  ref);

	nexus_uncharge(mem->user, NEXUS_LIMIT_AREA_SPACE, mem->size);
	nexus_user_put(mem->user);
	if (mem->writable)
		mapping_unmap_writable(mem->file->f_mapping);
	fput(mem->file);
	mutex_destroy(&mem->lock);
	kfree(mem);
}

static void nexus_area_free(struct nexus_object *obj)
{
	struct nexus_area *area = nexus_area_of(obj);

	if (area->mem)
		kref_put(&area->mem->ref, nexus_area_mem_release);
	kfree_rcu(area, obj.rcu);
}

static void nexus_area_put(struct nexus_area *area)
{
	nexus_object_put(&area->obj);
}

/* Delete an area: erase its id, give back its count, leave its owner. */
static bool nexus_area_kill(struct nexus_area *area)
{
	if (!nexus_object_claim(&nexus_areas, &area->obj))
		return false;
	nexus_uncharge(area->obj.user, NEXUS_LIMIT_AREAS, 1);
	nexus_object_unlink(&area->obj);
	nexus_area_put(area);		/* the id's reference */
	return true;
}

static void nexus_area_destroy(struct nexus_object *obj)
{
	nexus_area_kill(nexus_area_of(obj));
}

static const struct nexus_kind_ops nexus_area_ops = {
	.owner = THIS_MODULE,
	.destroy = nexus_area_destroy,
	.free = nexus_area_free,
};

/* A new area of @team on @mem (whose reference it takes), published. */
static int nexus_area_add(struct nexus_team *team, struct nexus_area_mem *mem,
			  const char *name, u32 lock, u32 protection, u32 max,
			  s32 *id)
{
	struct nexus_area *area;
	int err;

	area = kzalloc(sizeof(*area), GFP_KERNEL_ACCOUNT);
	if (!area) {
		kref_put(&mem->ref, nexus_area_mem_release);
		return B_NO_MEMORY;
	}
	area->mem = mem;
	area->lock = lock;
	area->protection = protection;
	area->max = max;
	if (nexus_object_init(&area->obj, NEXUS_KIND_AREA)) {
		err = B_NO_MEMORY;
		goto put;
	}
	/* The request's name need not be terminated: at most 31 bytes. */
	strscpy(area->obj.name, name, B_OS_NAME_LENGTH);
	if (nexus_charge(area->obj.user, NEXUS_LIMIT_AREAS, 1)) {
		err = B_NO_MEMORY;
		goto put;
	}
	err = nexus_object_publish(&nexus_areas, &nexus_area_next_id,
				   &area->obj, team, id);
	if (err) {
		nexus_uncharge(area->obj.user, NEXUS_LIMIT_AREAS, 1);
		err = err == -ESRCH ? B_BAD_TEAM_ID : B_NO_MEMORY;
		goto put;
	}
	return B_OK;
put:
	nexus_area_put(area);
	return err;
}

/* Sealed against writes (F_SEAL_WRITE, or F_SEAL_FUTURE_WRITE: mappings)? */
static bool nexus_area_write_sealed(struct file *memfd)
{
	unsigned int seals = READ_ONCE(SHMEM_I(file_inode(memfd))->seals);

	return seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE);
}

static int nexus_area_create(struct nexus_team *team,
			     struct nexus_area_create *req)
{
	char name[B_OS_NAME_LENGTH];
	struct nexus_area_mem *mem;
	struct file *file;
	u32 max;
	int err;

	if (!req->size || !PAGE_ALIGNED(req->size) || req->size > LONG_MAX ||
	    (req->protection & ~NEXUS_AREA_BITS))
		return B_BAD_VALUE;
	file = fget(req->fd);
	if (!file)
		return B_BAD_VALUE;
	err = B_BAD_VALUE;
	/* A memfd is a shmem file (hugetlb memfds are not supported). */
	if (file->f_op != nexus_shmem_fops || !(file->f_mode & FMODE_READ) ||
	    i_size_read(file_inode(file)) != req->size)
		goto fput;
	max = NEXUS_AREA_RWX;
	if (!(file->f_mode & FMODE_WRITE) || nexus_area_write_sealed(file))
		max &= ~B_WRITE_AREA;
	err = B_NOT_ALLOWED;
	if (req->protection & NEXUS_AREA_RWX & ~max)
		goto fput;
	/* Writable from now on: F_SEAL_WRITE refuses (EBUSY) while it is. */
	if ((max & B_WRITE_AREA) && mapping_map_writable(file->f_mapping)) {
		if (req->protection & B_WRITE_AREA)
			goto fput;
		max &= ~B_WRITE_AREA;
	}

	err = B_NO_MEMORY;
	mem = kzalloc(sizeof(*mem), GFP_KERNEL_ACCOUNT);
	if (!mem)
		goto unwritable;
	mem->user = nexus_user_get(current_euid());
	if (!mem->user)
		goto free;
	if (nexus_charge(mem->user, NEXUS_LIMIT_AREA_SPACE, req->size)) {
		nexus_user_put(mem->user);
		goto free;
	}
	kref_init(&mem->ref);
	mutex_init(&mem->lock);
	mem->file = file;
	mem->size = req->size;
	mem->writable = max & B_WRITE_AREA;

	memcpy(name, req->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	return nexus_area_add(team, mem, name, req->lock, req->protection,
			      max, &req->area);
free:
	kfree(mem);
unwritable:
	if (max & B_WRITE_AREA)
		mapping_unmap_writable(file->f_mapping);
fput:
	fput(file);
	return err;
}

/*
 * A clone's mappings fault in the area's pages only, whatever the memfd grew
 * to behind the area (mremap() can grow a mapping without mmap()): the
 * memfd's own fault handlers, bounded by the area's size.  Each mapping
 * holds the clone's descriptor, which holds this module and the memory.
 */
static const struct vm_operations_struct *nexus_shmem_vm_ops;
static DEFINE_MUTEX(nexus_area_vm_ops_lock);

static pgoff_t nexus_area_vma_pages(struct vm_area_struct *vma)
{
	struct file *file = vma->vm_private_data;
	struct nexus_area_map *map = file->private_data;

	return DIV_ROUND_UP(READ_ONCE(map->mem->size), PAGE_SIZE);
}

static vm_fault_t nexus_area_vm_fault(struct vm_fault *vmf)
{
	if (vmf->pgoff >= nexus_area_vma_pages(vmf->vma))
		return VM_FAULT_SIGBUS;
	return nexus_shmem_vm_ops->fault(vmf);
}

static vm_fault_t nexus_area_vm_map_pages(struct vm_fault *vmf,
					  pgoff_t start, pgoff_t end)
{
	pgoff_t pages = nexus_area_vma_pages(vmf->vma);

	if (start >= pages)
		return 0;
	return nexus_shmem_vm_ops->map_pages(vmf, start, min(end, pages - 1));
}

static void nexus_area_vm_open(struct vm_area_struct *vma)
{
	get_file(vma->vm_private_data);
}

static void nexus_area_vm_close(struct vm_area_struct *vma)
{
	/* The last put frees the descriptor in the VFS, not in our code. */
	fput(vma->vm_private_data);
}

/* NUMA policies are left to the default: a clone maps like anonymous memory. */
static const struct vm_operations_struct nexus_area_vm_ops = {
	.fault = nexus_area_vm_fault,
	.map_pages = nexus_area_vm_map_pages,
	.open = nexus_area_vm_open,
	.close = nexus_area_vm_close,
};

/* The memfd's operations, learnt from the first mapping: always shmem's. */
static int nexus_area_learn_shmem_vm_ops(const struct vm_operations_struct *ops)
{
	int err = 0;

	mutex_lock(&nexus_area_vm_ops_lock);
	if (!nexus_shmem_vm_ops && ops && ops->fault && ops->map_pages &&
	    !ops->open && !ops->close)
		nexus_shmem_vm_ops = ops;
	if (ops != nexus_shmem_vm_ops)
		err = -ENODEV;
	mutex_unlock(&nexus_area_vm_ops_lock);
	WARN_ONCE(err, "nexus_area: unexpected shmem vm_operations\n");
	return err;
}

static int nexus_area_map_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct nexus_area_map *map = file->private_data;
	struct file *memfd = map->mem->file;
	bool shared = vma->vm_flags & VM_MAYSHARE;
	int err;

	if ((vma->vm_flags & VM_READ) && !(map->protection & B_READ_AREA))
		return -EACCES;
	if ((vma->vm_flags & VM_EXEC) && !(map->protection & B_EXECUTE_AREA))
		return -EACCES;
	if (shared && (vma->vm_flags & VM_WRITE) &&
	    !(map->protection & B_WRITE_AREA))
		return -EACCES;
	/* The memfd's own mmap() would check its seals: do it for it. */
	if (shared && (vma->vm_flags & VM_WRITE) &&
	    nexus_area_write_sealed(memfd))
		return -EPERM;
	/* Nor later, with mprotect(). */
	if (!(map->protection & B_READ_AREA))
		nexus_vm_flags_clear(vma, VM_MAYREAD);
	if (!(map->protection & B_EXECUTE_AREA))
		nexus_vm_flags_clear(vma, VM_MAYEXEC);
	if (shared && !(map->protection & B_WRITE_AREA))
		nexus_vm_flags_clear(vma, VM_MAYWRITE);

	/* From here on the pages are the memfd's. */
	vma_set_file(vma, memfd);
	err = call_mmap(memfd, vma);
	if (err)
		return err;
	err = nexus_area_learn_shmem_vm_ops(vma->vm_ops);
	if (err)
		return err;
	vma->vm_private_data = get_file(file);
	vma->vm_ops = &nexus_area_vm_ops;
	return 0;
}

static int nexus_area_map_release(struct inode *inode, struct file *file)
{
	struct nexus_area_map *map = file->private_data;

	kref_put(&map->mem->ref, nexus_area_mem_release);
	kfree(map);
	return 0;
}

static const struct file_operations nexus_area_map_fops = {
	.owner = THIS_MODULE,
	.mmap = nexus_area_map_mmap,
	.release = nexus_area_map_release,
};

/* A descriptor on @mem that maps at most @protection. */
static struct file *nexus_area_map_file(struct nexus_area_mem *mem,
					u32 protection)
{
	struct nexus_area_map *map;
	struct file *file;

	map = kzalloc(sizeof(*map), GFP_KERNEL_ACCOUNT);
	if (!map)
		return ERR_PTR(-ENOMEM);
	kref_get(&mem->ref);
	map->mem = mem;
	map->protection = protection;
	file = anon_inode_getfile("[nexus_area]", &nexus_area_map_fops, map,
				  (protection & B_WRITE_AREA) ? O_RDWR :
								O_RDONLY);
	if (IS_ERR(file)) {
		kref_put(&mem->ref, nexus_area_mem_release);
		kfree(map);
	}
	return file;
}

/* An area the caller's user may use, else B_BAD_VALUE / B_NOT_ALLOWED. */
static struct nexus_area *nexus_area_get(s32 id, int *status)
{
	struct nexus_object *obj;
	int err;

	obj = nexus_object_lookup_allowed(&nexus_areas, id, &err);
	if (!obj) {
		*status = err == -EPERM ? B_NOT_ALLOWED : B_BAD_VALUE;
		return NULL;
	}
	return nexus_area_of(obj);
}

/* One of the caller's team's own areas. */
static struct nexus_area *nexus_area_get_own(struct nexus_team *team, s32 id,
					     int *status)
{
	struct nexus_area *area = nexus_area_get(id, status);

	if (area && !nexus_object_owned(&area->obj, team)) {
		nexus_area_put(area);
		*status = B_NOT_ALLOWED;
		return NULL;
	}
	return area;
}

static int nexus_area_clone(struct nexus_team *team,
			    struct nexus_area_clone *req)
{
	char name[B_OS_NAME_LENGTH];
	struct nexus_area *src;
	struct file *file;
	u32 want = req->protection, granted;
	int fd, status;

	if (want & ~NEXUS_AREA_BITS)
		return B_BAD_VALUE;
	src = nexus_area_get(req->source, &status);
	if (!src)
		return status;
	granted = READ_ONCE(src->protection);
	status = B_NOT_ALLOWED;
	if (!nexus_object_owned(&src->obj, team) &&
	    !(granted & B_CLONEABLE_AREA))
		goto put;
	/* The source's own team may re-grant up to the source's max. */
	if (nexus_object_owned(&src->obj, team))
		granted = src->max;
	if (want & NEXUS_AREA_RWX & ~granted)
		goto put;

	fd = get_unused_fd_flags(O_CLOEXEC);
	if (fd < 0) {
		status = B_NO_MEMORY;
		goto put;
	}
	file = nexus_area_map_file(src->mem, want);
	if (IS_ERR(file)) {
		put_unused_fd(fd);
		status = B_NO_MEMORY;
		goto put;
	}
	kref_get(&src->mem->ref);
	memcpy(name, req->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	status = nexus_area_add(team, src->mem, name, src->lock, want,
				want & NEXUS_AREA_RWX, &req->area);
	if (status) {
		put_unused_fd(fd);
		fput(file);
		goto put;
	}
	mutex_lock(&src->mem->lock);
	req->size = src->mem->size;
	mutex_unlock(&src->mem->lock);
	fd_install(fd, file);
	req->fd = fd;
put:
	nexus_area_put(src);
	return status;
}

static int nexus_area_delete(struct nexus_team *team,
			     struct nexus_area_delete *req)
{
	struct nexus_area *area;
	int status;

	area = nexus_area_get_own(team, req->area, &status);
	if (!area)
		return status;
	status = nexus_area_kill(area) ? B_OK : B_BAD_VALUE;
	nexus_area_put(area);
	return status;
}

static int nexus_area_fill(struct nexus_area *area, char *name, u64 *size,
			   u32 *lock, u32 *protection, s32 *team)
{
	if (team && nexus_object_owner_id(&area->obj, team))
		return B_BAD_VALUE;		/* being deleted */
	memcpy(name, area->obj.name, B_OS_NAME_LENGTH);
	mutex_lock(&area->mem->lock);
	*size = area->mem->size;
	mutex_unlock(&area->mem->lock);
	if (lock)
		*lock = area->lock;
	if (protection)
		*protection = READ_ONCE(area->protection);
	return B_OK;
}

static int nexus_area_find(struct nexus_area_find *req)
{
	char name[B_OS_NAME_LENGTH], found[B_OS_NAME_LENGTH];
	struct nexus_object *obj;
	s32 cookie = 0;
	int status = B_NAME_NOT_FOUND;

	memcpy(name, req->name, sizeof(name));
	name[sizeof(name) - 1] = '\0';
	while ((obj = nexus_object_next(&nexus_areas, cookie, NULL))) {
		cookie = obj->id;
		if (nexus_object_allowed(obj) && !strcmp(obj->name, name) &&
		    nexus_area_fill(nexus_area_of(obj), found, &req->size,
				    NULL, NULL, NULL) == B_OK) {
			req->area = obj->id;
			status = B_OK;
		}
		nexus_object_put(obj);
		if (status == B_OK)
			break;
	}
	return status;
}

static int nexus_area_get_info(struct nexus_area_get_info *req)
{
	struct nexus_area *area;
	int status;

	area = nexus_area_get(req->area, &status);
	if (!area)
		return status;
	status = nexus_area_fill(area, req->name, &req->size, &req->lock,
				 &req->protection, &req->team);
	nexus_area_put(area);
	return status;
}

static int nexus_area_resize(struct nexus_team *team,
			     struct nexus_area_resize *req)
{
	struct nexus_area_mem *mem;
	struct nexus_area *area;
	u64 size = req->new_size;
	long delta;
	int status, err;

	if (!size || !PAGE_ALIGNED(size) || size > LONG_MAX)
		return B_BAD_VALUE;
	area = nexus_area_get_own(team, req->area, &status);
	if (!area)
		return status;
	mem = area->mem;
	mutex_lock(&mem->lock);
	delta = (long)size - (long)mem->size;
	status = B_OK;
	if (delta > 0 && nexus_charge(mem->user, NEXUS_LIMIT_AREA_SPACE, delta))
		status = B_NO_MEMORY;
	if (status == B_OK && delta) {
		err = vfs_truncate(&mem->file->f_path, size);
		if (err) {
			if (delta > 0)
				nexus_uncharge(mem->user,
					       NEXUS_LIMIT_AREA_SPACE, delta);
			/* Seals (F_SEAL_GROW, _SHRINK) refuse with EPERM. */
			status = err == -EPERM ? B_NOT_ALLOWED : B_NO_MEMORY;
		} else {
			if (delta < 0)
				nexus_uncharge(mem->user,
					       NEXUS_LIMIT_AREA_SPACE, -delta);
			WRITE_ONCE(mem->size, size);
		}
	}
	mutex_unlock(&mem->lock);
	nexus_area_put(area);
	return status;
}

static int nexus_area_set_protection(struct nexus_team *team,
				     struct nexus_area_set_protection *req)
{
	struct nexus_area *area;
	int status;

	if (req->protection & ~NEXUS_AREA_BITS)
		return B_BAD_VALUE;
	area = nexus_area_get_own(team, req->area, &status);
	if (!area)
		return status;
	if (req->protection & NEXUS_AREA_RWX & ~area->max) {
		status = B_NOT_ALLOWED;
	} else {
		WRITE_ONCE(area->protection, req->protection);
		status = B_OK;
	}
	nexus_area_put(area);
	return status;
}

static int nexus_area_transfer(struct nexus_team *team,
			       struct nexus_area_transfer *req)
{
	struct nexus_team *target;
	struct nexus_area *area;
	int status, err;

	req->fd = -1;
	area = nexus_area_get_own(team, req->area, &status);
	if (!area)
		return status;
	target = nexus_team_find(req->target);
	if (!target) {
		status = B_BAD_TEAM_ID;
	} else if (!nexus_object_same_user(&area->obj, target)) {
		status = B_NOT_ALLOWED;
	} else {
		err = nexus_object_move(&area->obj, target);
		status = err == -ESRCH ? B_BAD_TEAM_ID :
			 err ? B_BAD_VALUE : B_OK;
		if (!err)
			req->new_area = area->obj.id;
	}
	if (target)
		nexus_team_put(target);
	nexus_area_put(area);
	return status;
}

static int nexus_area_get_next(struct nexus_team *team,
			       struct nexus_area_get_next *req)
{
	struct nexus_team *target;
	struct nexus_object *obj;
	s32 cookie = req->cookie;
	int status = B_ENTRY_NOT_FOUND;

	/* Referenced either way: the caller's own id finds the same team. */
	target = req->team ? nexus_team_find(req->team) : nexus_team_get(team);
	if (!target)
		return B_BAD_TEAM_ID;
	while ((obj = nexus_object_next(&nexus_areas, cookie, target))) {
		cookie = obj->id;
		if (nexus_object_allowed(obj) &&
		    nexus_area_fill(nexus_area_of(obj), req->name, &req->size,
				    &req->lock, &req->protection,
				    NULL) == B_OK) {
			req->area = obj->id;
			req->next_cookie = obj->id;
			status = B_OK;
		}
		nexus_object_put(obj);
		if (status == B_OK)
			break;
	}
	nexus_team_put(target);
	return status;
}

/* Room for the largest request struct. */
#define NEXUS_AREA_MAX_REQ_SIZE	72

static long nexus_area_do(struct nexus_team *team, unsigned int cmd, void *req)
{
	switch (cmd) {
	case NEXUS_AREA_CREATE:
		return nexus_area_create(team, req);
	case NEXUS_AREA_CLONE:
		return nexus_area_clone(team, req);
	case NEXUS_AREA_DELETE:
		return nexus_area_delete(team, req);
	case NEXUS_AREA_FIND:
		return nexus_area_find(req);
	case NEXUS_AREA_GET_INFO:
		return nexus_area_get_info(req);
	case NEXUS_AREA_RESIZE:
		return nexus_area_resize(team, req);
	case NEXUS_AREA_SET_PROTECTION:
		return nexus_area_set_protection(team, req);
	case NEXUS_AREA_TRANSFER:
		return nexus_area_transfer(team, req);
	case NEXUS_AREA_GET_NEXT:
		return nexus_area_get_next(team, req);
	}
	return -ENOTTY;
}

/* Where each request keeps its ret. */
static s32 *nexus_area_ret(unsigned int cmd, void *req)
{
	switch (cmd) {
	case NEXUS_AREA_CREATE:
		return &((struct nexus_area_create *)req)->ret;
	case NEXUS_AREA_CLONE:
		return &((struct nexus_area_clone *)req)->ret;
	case NEXUS_AREA_DELETE:
		return &((struct nexus_area_delete *)req)->ret;
	case NEXUS_AREA_FIND:
		return &((struct nexus_area_find *)req)->ret;
	case NEXUS_AREA_GET_INFO:
		return &((struct nexus_area_get_info *)req)->ret;
	case NEXUS_AREA_RESIZE:
		return &((struct nexus_area_resize *)req)->ret;
	case NEXUS_AREA_SET_PROTECTION:
		return &((struct nexus_area_set_protection *)req)->ret;
	case NEXUS_AREA_TRANSFER:
		return &((struct nexus_area_transfer *)req)->ret;
	case NEXUS_AREA_GET_NEXT:
		return &((struct nexus_area_get_next *)req)->ret;
	}
	return NULL;
}

static long nexus_area_ioctl(struct file *filp, unsigned int cmd,
			     unsigned long arg)
{
	struct nexus_team *team = filp->private_data;
	void __user *argp = (void __user *)arg;
	u64 req[NEXUS_AREA_MAX_REQ_SIZE / sizeof(u64)];
	size_t size = _IOC_SIZE(cmd);
	s32 *ret;
	long status;

	if (!nexus_team_is_current(team))
		return -EPERM;
	ret = nexus_area_ret(cmd, req);
	if (!ret || WARN_ON_ONCE(size > sizeof(req)))
		return -ENOTTY;
	if (copy_from_user(req, argp, size))
		return -EFAULT;
	status = nexus_area_do(team, cmd, req);
	*ret = status;
	if (copy_to_user(argp, req, size)) {
		/* A clone's descriptor is installed: it stays the caller's. */
		return -EFAULT;
	}
	return status;
}

static const struct file_operations nexus_area_fops = {
	.owner = THIS_MODULE,
	.open = nexus_team_open,
	.release = nexus_team_release,
	.unlocked_ioctl = nexus_area_ioctl,
};

/* What a memfd's f_op is: that of any shmem file. */
static int nexus_area_find_shmem_fops(void)
{
	struct file *probe = shmem_file_setup("nexus_area_probe", 0, 0);

	if (IS_ERR(probe))
		return PTR_ERR(probe);
	nexus_shmem_fops = probe->f_op;
	fput(probe);
	return 0;
}

static int __init nexus_area_init(void)
{
	int err;

	err = nexus_area_find_shmem_fops();
	if (err)
		return err;
	err = nexus_kind_register(NEXUS_KIND_AREA, &nexus_area_ops);
	if (err)
		return err;
	err = nexus_chrdev_add(&nexus_area_chrdev, NEXUS_AREA_DEVICE_NAME,
			       &nexus_area_fops);
	if (err)
		goto err_kind;
	return 0;

err_kind:
	nexus_kind_unregister(NEXUS_KIND_AREA);
	return err;
}

/* Every area held this module: none is left. */
static void __exit nexus_area_exit(void)
{
	nexus_chrdev_del(&nexus_area_chrdev);
	nexus_kind_unregister(NEXUS_KIND_AREA);
	WARN_ON(!xa_empty(&nexus_areas));
	xa_destroy(&nexus_areas);
	rcu_barrier();
}

module_init(nexus_area_init);
module_exit(nexus_area_exit);

MODULE_DESCRIPTION("Nexus: BeOS/Haiku areas (shared memory on memfd)");
MODULE_LICENSE("GPL");
