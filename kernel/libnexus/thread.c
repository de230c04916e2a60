// SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note
/*
 * libnexus: Haiku's threads over /dev/nexus.
 *
 * Thread ids are Linux tids.  spawn_thread() starts a detached pthread on a
 * trampoline that registers with the kernel as a newborn of the spawner
 * (NEXUS_THREAD_SPAWN), tells the spawner how that went, and parks in
 * NEXUS_THREAD_CLONE_EXECUTED until resume_thread() (or a waiter) resumes
 * it: Haiku's "threads start suspended".  The spawner collects the newborn's
 * tid with NEXUS_THREAD_WAIT_NEWBORN.  Then the thread runs func(data) and
 * hands its result to NEXUS_THREAD_SET_RETURN_CODE, which wait_for_thread()
 * returns.
 *
 * The trampoline reports SPAWN's status to the spawner in userspace before
 * the spawner calls WAIT_NEWBORN, so a failed SPAWN never leaves the spawner
 * blocked; if anything fails after that, the spawner marks the newborn
 * cancelled and resumes it, and it ends without running func.  The request
 * they share is freed by whichever of them lets go of it last.
 *
 * Priorities are recorded (for get_thread_info), not applied: a table of the
 * threads this process spawned, each entry tagged with the pid of the
 * process that made it so that a child made by a raw clone() or vfork()
 * (which shares or copies the table without the fork handlers) ignores its
 * parent's entries.
 */
#define _GNU_SOURCE		/* gettid, pthread_getattr_np */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "libnexus_internal.h"

/* Linux's thread names (comm) are 15 characters. */
#define NEXUS_COMM_LEN		15

/* A thread spawned by this process: what get_thread_info reports of it. */
struct nexus_spawned {
	pid_t pid;			/* the process that spawned it */
	pid_t tid;
	__s32 priority;
	void *stack_base;
	void *stack_end;
};

static pthread_mutex_t spawned_lock = PTHREAD_MUTEX_INITIALIZER;
static struct nexus_spawned *spawned;	/* under spawned_lock */
static size_t spawned_count, spawned_room;

/* What the spawner and its newborn share; freed by the last to drop it. */
struct nexus_spawn {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int refs;			/* under lock, and below */
	int state;			/* 0 until SPAWN returned: 1 or its status */
	bool cancelled;			/* end without running func */
	pid_t tid;			/* the newborn's */
	pid_t father;
	thread_func func;
	void *data;
	__s32 priority;
	bool has_name;
	char name[B_OS_NAME_LENGTH];
};

void nexus_thread_fork_prepare(void)
{
	pthread_mutex_lock(&spawned_lock);	/* under nexus_lock */
}

void nexus_thread_fork_parent(void)
{
	pthread_mutex_unlock(&spawned_lock);
}

void nexus_thread_fork_child(void)
{
	/* The child has one thread, which it did not spawn. */
	free(spawned);
	spawned = NULL;
	spawned_count = 0;
	spawned_room = 0;
	pthread_mutex_unlock(&spawned_lock);
}

static pid_t nexus_gettid(void)
{
	return gettid();
}

static void spawned_lock_take(void)
{
	nexus_fork_handlers();
	pthread_mutex_lock(&spawned_lock);
}

/* The entry of thread tid of this process, under spawned_lock. */
static struct nexus_spawned *spawned_find(pid_t tid)
{
	pid_t self = getpid();
	size_t i;

	for (i = 0; i < spawned_count; i++)
		if (spawned[i].tid == tid && spawned[i].pid == self)
			return &spawned[i];
	return NULL;
}

static void spawned_add(const struct nexus_spawned *entry)
{
	struct nexus_spawned *old;

	spawned_lock_take();
	/* A stale entry with a reused tid (the thread died unseen) goes. */
	old = spawned_find(entry->tid);
	if (old) {
		*old = *entry;
	} else {
		if (spawned_count == spawned_room) {
			size_t room = spawned_room ? spawned_room * 2 : 16;
			struct nexus_spawned *more;

			more = realloc(spawned, room * sizeof(*more));
			if (!more)
				goto out;	/* reported as B_NORMAL_PRIORITY */
			spawned = more;
			spawned_room = room;
		}
		spawned[spawned_count++] = *entry;
	}
out:
	pthread_mutex_unlock(&spawned_lock);
}

static void spawned_remove(pid_t tid)
{
	struct nexus_spawned *entry;

	spawned_lock_take();
	entry = spawned_find(tid);
	if (entry)
		*entry = spawned[--spawned_count];
	pthread_mutex_unlock(&spawned_lock);
}

static void spawned_remove_cleanup(void *tid)
{
	spawned_remove((pid_t)(long)tid);
}

/* The calling thread's stack, as Haiku's stack_base and stack_end. */
static void own_stack(void **base, void **end)
{
	pthread_attr_t attr;
	size_t size;
	void *addr;

	*base = NULL;
	*end = NULL;
	if (pthread_getattr_np(pthread_self(), &attr))
		return;
	if (!pthread_attr_getstack(&attr, &addr, &size)) {
		*base = addr;
		*end = (char *)addr + size;
	}
	pthread_attr_destroy(&attr);
}

static void spawn_put(struct nexus_spawn *s)
{
	bool last;

	pthread_mutex_lock(&s->lock);
	last = --s->refs == 0;
	pthread_mutex_unlock(&s->lock);
	if (last) {
		pthread_cond_destroy(&s->cond);
		pthread_mutex_destroy(&s->lock);
		free(s);
	}
}

static void *nexus_trampoline(void *arg)
{
	struct nexus_spawn *s = arg;
	struct nexus_thread_spawn req = {
		.name = s->has_name ? s->name : NULL,
		.father = s->father,
	};
	struct nexus_spawned entry = {
		.pid = getpid(),
		.tid = nexus_gettid(),
		.priority = s->priority,
	};
	thread_func func;
	bool cancelled;
	status_t ret;
	void *data;
	long st;

	/* find_thread() looks names up in /proc/.../comm. */
	if (s->has_name)
		prctl(PR_SET_NAME, s->name, 0, 0, 0);
	st = nexus_ioctl_value(NEXUS_THREAD_SPAWN, (unsigned long)&req);
	if (st == B_OK) {
		own_stack(&entry.stack_base, &entry.stack_end);
		spawned_add(&entry);
	}

	pthread_mutex_lock(&s->lock);
	s->tid = entry.tid;
	s->state = st == B_OK ? 1 : st < 0 ? (int)st : B_ERROR;
	pthread_cond_signal(&s->cond);
	pthread_mutex_unlock(&s->lock);
	if (st != B_OK) {
		spawn_put(s);
		return NULL;
	}

	/* Suspended until resumed (the kernel restarts it after a signal). */
	st = nexus_ioctl_value(NEXUS_THREAD_CLONE_EXECUTED, 0);
	pthread_mutex_lock(&s->lock);
	cancelled = s->cancelled;
	pthread_mutex_unlock(&s->lock);
	func = s->func;
	data = s->data;
	spawn_put(s);
	if (st != B_OK || cancelled) {
		spawned_remove(entry.tid);
		return NULL;
	}

	/* exit_thread() and pthread_exit() end it inside func: forget it then. */
	pthread_cleanup_push(spawned_remove_cleanup, (void *)(long)entry.tid);
	ret = func(data);
	nexus_ioctl_value(NEXUS_THREAD_SET_RETURN_CODE, (unsigned long)(__u32)ret);
	pthread_cleanup_pop(1);
	return NULL;
}

/*
 * The handshake; the caller has cancellation disabled (pthread_cond_wait is
 * a cancellation point: a spawner cancelled there would leave the newborn
 * parked and the request it shares with it allocated).
 */
static thread_id spawn(thread_func func, const char *name, __s32 priority,
		       void *data)
{
	struct nexus_spawn *s;
	pthread_attr_t attr;
	pthread_t pt;
	int err, state, i;
	long tid;

	s = calloc(1, sizeof(*s));
	if (!s)
		return B_NO_MEMORY;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->cond, NULL);
	s->refs = 2;
	s->father = nexus_gettid();
	s->func = func;
	s->data = data;
	s->priority = priority;
	s->has_name = !!name;
	nexus_copy_name(s->name, name);

	err = pthread_attr_init(&attr);
	if (!err) {
		err = pthread_attr_setdetachstate(&attr,
						  PTHREAD_CREATE_DETACHED);
		if (!err)
			err = pthread_create(&pt, &attr, nexus_trampoline, s);
		pthread_attr_destroy(&attr);
	}
	if (err) {
		s->refs = 1;
		spawn_put(s);
		return err == EAGAIN || err == ENOMEM ? B_NO_MEMORY : -err;
	}

	pthread_mutex_lock(&s->lock);
	while (!s->state)
		pthread_cond_wait(&s->cond, &s->lock);
	state = s->state;
	pthread_mutex_unlock(&s->lock);
	if (state < 0) {
		/* SPAWN failed: the thread has ended (or is ending) by itself. */
		spawn_put(s);
		return state;
	}

	/*
	 * It is registered, so WAIT_NEWBORN does not block.  A newborn left
	 * over from a spawn that failed here earlier may come first: skip it
	 * (it was cancelled and resumed then).
	 */
	for (i = 0; i < 128; i++) {
		tid = nexus_ioctl_value(NEXUS_THREAD_WAIT_NEWBORN, 0);
		if (tid <= 0 || tid == s->tid)
			break;
	}
	if (tid != s->tid) {
		/*
		 * Should RESUME fail too (a broken descriptor), the newborn
		 * stays parked until its team ends.
		 */
		pthread_mutex_lock(&s->lock);
		s->cancelled = true;
		pthread_mutex_unlock(&s->lock);
		nexus_ioctl_value(NEXUS_THREAD_RESUME, (unsigned long)s->tid);
		spawn_put(s);
		return tid < 0 ? (status_t)tid : B_ERROR;
	}
	spawn_put(s);
	return (thread_id)tid;
}

thread_id spawn_thread(thread_func func, const char *name, __s32 priority,
		       void *data)
{
	thread_id tid;
	int fd, old;

	if (!func)
		return B_BAD_VALUE;
	fd = nexus_fd();
	if (fd < 0)
		return fd;
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &old);
	tid = spawn(func, name, priority, data);
	pthread_setcancelstate(old, NULL);
	return tid;
}

status_t resume_thread(thread_id thread)
{
	return (status_t)nexus_ioctl_value(NEXUS_THREAD_RESUME,
					   (unsigned long)(long)thread);
}

status_t wait_for_thread_etc(thread_id thread, __u32 flags,
			     bigtime_t timeout, status_t *return_value)
{
	struct nexus_thread_waitfor_req req = {
		.receiver = thread,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_THREAD_WAITFOR, &req);

	if (err)
		return err;
	if (req.ret == B_OK && return_value)
		*return_value = req.return_code;
	return req.ret;
}

status_t wait_for_thread(thread_id thread, status_t *return_value)
{
	return wait_for_thread_etc(thread, 0, 0, return_value);
}

status_t send_data_etc(thread_id thread, __s32 code, const void *buffer,
		       size_t buffer_size, __u32 flags, bigtime_t timeout)
{
	struct nexus_thread_rw req = {
		.receiver = thread,
		.buffer = (void *)buffer,
		.size = (__kernel_ssize_t)buffer_size,
		.flags = flags,
		.timeout = timeout,
		.return_code = code,
	};
	int err = nexus_ioctl(NEXUS_THREAD_WRITE, &req);

	return err ? err : req.ret;
}

status_t send_data(thread_id thread, __s32 code, const void *buffer,
		   size_t buffer_size)
{
	return send_data_etc(thread, code, buffer, buffer_size, 0, 0);
}

__s32 receive_data_etc(thread_id *sender, void *buffer, size_t buffer_size,
		       __u32 flags, bigtime_t timeout)
{
	struct nexus_thread_rw req = {
		.buffer = buffer,
		.size = (__kernel_ssize_t)buffer_size,
		.flags = flags,
		.timeout = timeout,
	};
	int err = nexus_ioctl(NEXUS_THREAD_READ, &req);

	if (err)
		return err;
	if (req.ret != B_OK)
		return req.ret;
	if (sender)
		*sender = req.sender;
	return req.return_code;
}

__s32 receive_data(thread_id *sender, void *buffer, size_t buffer_size)
{
	return receive_data_etc(sender, buffer, buffer_size, 0, 0);
}

bool has_data(thread_id thread)
{
	struct nexus_thread_rw req = { .receiver = thread };

	return !nexus_ioctl(NEXUS_THREAD_HAS_DATA, &req) && req.ret == 1;
}

void exit_thread(status_t status)
{
	nexus_ioctl_value(NEXUS_THREAD_SET_RETURN_CODE,
			  (unsigned long)(__u32)status);
	pthread_exit(NULL);
}

/*
 * Another thread of this process: only its Linux name (comm, 15 characters)
 * can change.  NEXUS_THREAD_SET_NAME has no tid, it renames the caller, so
 * the kernel's record (what get_thread_info reports) keeps the name only
 * when a thread renames itself.
 */
static status_t rename_other_thread(thread_id thread, const char *name)
{
	char path[64];
	size_t len = strnlen(name, NEXUS_COMM_LEN);
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/comm", thread);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		if (errno != ENOENT)
			return -errno;
		/* Not ours: another process's thread, or none. */
		snprintf(path, sizeof(path), "/proc/%d", thread);
		return access(path, F_OK) ? B_BAD_THREAD_ID : B_NOT_ALLOWED;
	}
	n = write(fd, name, len);
	if (n < 0) {
		n = -errno;
		close(fd);
		/* It ended meanwhile. */
		return n == -ESRCH || n == -ENOENT ? B_BAD_THREAD_ID : n;
	}
	close(fd);
	return B_OK;
}

status_t rename_thread(thread_id thread, const char *new_name)
{
	struct nexus_thread_set_name_req req;
	int err;

	if (!new_name)
		return B_BAD_VALUE;
	if (thread <= 0)
		return B_BAD_THREAD_ID;
	if (thread != nexus_gettid())
		return rename_other_thread(thread, new_name);

	req.name = new_name;
	req.size = strlen(new_name) + 1;
	err = nexus_ioctl(NEXUS_THREAD_SET_NAME, &req);
	if (err)
		return err;
	prctl(PR_SET_NAME, new_name, 0, 0, 0);
	return B_OK;
}

/* Whether comm (a /proc comm line) is name as Linux keeps it. */
static bool comm_matches(const char *comm, const char *name)
{
	size_t len = strnlen(name, NEXUS_COMM_LEN);

	return !strncmp(comm, name, len) &&
	       (comm[len] == '\n' || comm[len] == '\0');
}

/* The first thread under dir (a /proc/.../task) named name, or 0. */
static pid_t find_in_tasks(const char *dir, const char *name)
{
	char path[300], comm[32];
	struct dirent *e;
	pid_t found = 0;
	DIR *d;
	ssize_t n;
	int fd;

	d = opendir(dir);
	if (!d)
		return 0;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(path, sizeof(path), "%s/%s/comm", dir, e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, comm, sizeof(comm) - 1);
		close(fd);
		if (n <= 0)
			continue;
		comm[n] = '\0';
		if (comm_matches(comm, name))
			found = (pid_t)atoi(e->d_name);
	}
	closedir(d);
	return found;
}

/*
 * Linux's thread names: the caller's process first, then every process
 * /proc shows.  Names are compared on their first 15 characters (comm).
 */
thread_id find_thread(const char *name)
{
	char dir[300];
	struct dirent *e;
	pid_t found;
	DIR *d;

	if (!name)
		return nexus_gettid();
	found = find_in_tasks("/proc/self/task", name);
	if (found)
		return found;
	d = opendir("/proc");
	if (!d)
		return B_NAME_NOT_FOUND;
	while (!found && (e = readdir(d))) {
		if (e->d_name[0] < '0' || e->d_name[0] > '9')
			continue;
		snprintf(dir, sizeof(dir), "/proc/%s/task", e->d_name);
		found = find_in_tasks(dir, name);
	}
	closedir(d);
	return found ? found : B_NAME_NOT_FOUND;
}

status_t _get_thread_info(thread_id id, struct thread_info *info,
			  size_t size)
{
	struct nexus_thread_info_req req = { .thread = id };
	struct nexus_spawned *entry;
	int err;

	if (!info || size < sizeof(*info) || id < 0)
		return B_BAD_VALUE;
	err = nexus_ioctl(NEXUS_THREAD_GET_INFO, &req);
	if (err)
		return err;
	if (req.ret != B_OK)
		return req.ret;

	memset(info, 0, sizeof(*info));
	info->thread = req.thread ? req.thread : id ? id : nexus_gettid();
	info->team = req.team;
	memcpy(info->name, req.name, sizeof(info->name));
	info->name[sizeof(info->name) - 1] = '\0';
	info->state = req.state;
	info->priority = B_NORMAL_PRIORITY;
	info->sem = -1;

	spawned_lock_take();
	entry = spawned_find(info->thread);
	if (entry) {
		info->priority = entry->priority;
		info->stack_base = entry->stack_base;
		info->stack_end = entry->stack_end;
	}
	pthread_mutex_unlock(&spawned_lock);
	if (!entry && info->thread == nexus_gettid())
		own_stack(&info->stack_base, &info->stack_end);
	return B_OK;
}
