// SPDX-License-Identifier: GPL-2.0
/*
 * nexus-life: processes whose lifetimes the teams suite needs to control
 * precisely - a parent that exits while its child keeps the parent's
 * /dev/nexus descriptor, a new process given a dead team's pid, children
 * made without fork() (raw clone, clone(), vfork) that use libnexus.
 *
 *   nexus-life
 *	The supervisor: never a team itself, a child subreaper (an orphaned
 *	grandchild becomes its child, so it can reap it).  Prints
 *	  {"ready":true,"pid":G,"uid":U,"gid":G}
 *	then answers one command per line with one JSON object per line:
 *	  orphan   a parent P opens /dev/nexus itself (no libnexus), creates a
 *		   port and a semaphore with it and forks a child C that keeps
 *		   the descriptor and waits; P exits and is reaped:
 *		   {"ret":0,"parent":P,"child":C,"port":X,"sem":Y,"parent_status":S}
 *	  probe    C sends requests through the descriptor it inherited:
 *		   {"ret":0,"port_info":E,"port_create":E,"sem_create":E,"sem_count":E}
 *		   (each the ioctl's errno, 0 when the ioctl went through)
 *	  reuse    a new process is made with P's pid (ns_last_pid = P - 1, then
 *		   fork; retried while another pid comes out); it opens
 *		   /dev/nexus and creates a port and a semaphore, and waits:
 *		   {"ret":0,"pid":P,"attempts":N,"port":Z,"sem":W}, or
 *		   {"ret":-1,"attempts":N,"why":"..."}
 *	  release  C closes the descriptor it inherited: {"ret":0,"close":E}
 *	  end      C and the new process are killed and reaped: {"ret":0}
 *	On EOF it does what end does and exits.
 *
 *   nexus-life clone
 *	Opens this process's descriptor through libnexus (a port), then makes
 *	three children that never run libnexus's fork handler - a raw clone
 *	syscall, glibc's clone() on its own stack (neither with CLONE_VM) and
 *	vfork() - and has each create a port, write to it and read it back
 *	through libnexus.  Prints one line:
 *	  {"ret":0,"parent":P,"raw_clone":{...},"clone":{...},"vfork":{...}}
 *	each child as {"pid":C,"port":ID,"write":ST,"read":N,"code":C,
 *	"data_ok":B,"team":T,"port_after_exit":ST,"parent_port":ID,
 *	"parent_port_team":T,"exit_status":S}: the parent_* fields are a port
 *	the parent creates after the child has exited.
 *
 * Every process it makes ends with it (or within LIFE_DEADLINE seconds).
 */
#define _GNU_SOURCE
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "nexus-raw.h"
#include "libnexus.h"

/* No process of this program lives longer than this (seconds). */
#define LIFE_DEADLINE 300
#define REPORT_TIMEOUT_MS 15000
#define NS_LAST_PID "/proc/sys/kernel/ns_last_pid"
#define REUSE_ATTEMPTS 100

static void answer(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void answer(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Read exactly n bytes, waiting at most REPORT_TIMEOUT_MS. */
static bool read_report(int fd, void *buf, size_t n)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };

	return poll(&pfd, 1, REPORT_TIMEOUT_MS) == 1 && read(fd, buf, n) == (ssize_t)n;
}

static void reap(pid_t *pid)
{
	int status;

	if (*pid <= 0)
		return;
	kill(*pid, SIGKILL);
	waitpid(*pid, &status, 0);
	*pid = 0;
}

/* Our children keep no end of a pipe to the scenario runner, and die in time. */
static void detach_child(void)
{
	int null = open("/dev/null", O_RDWR);

	alarm(LIFE_DEADLINE);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		close(null);
	}
}

/* ---- serve: the orphaned descriptor and the reused pid ------------------- */

struct orphan_report {
	int status;	/* B_OK, or what failed */
	int child, port, sem;
};

struct probe_report {
	int port_info, port_create, sem_create, sem_count;
};

static struct {
	pid_t parent, child, reused;
	int cmd;	/* to the child: one command byte */
	int res;	/* from the child: its answers */
	int port, sem;
} life;

/* The ioctl's errno, 0 when it went through. */
static int ioctl_errno(int st)
{
	return st > 0 ? st : 0;
}

static void child_probe(int fd, int res)
{
	struct probe_report r;
	struct nexus_port_info pi;
	int id, count;

	r.port_info = ioctl_errno(nx_port_info(fd, life.port, &pi));
	r.port_create = ioctl_errno(nx_port_create(fd, "life-inherited", 1, &id));
	r.sem_create = ioctl_errno(nx_sem_create(fd, "life-inherited", 0, &id));
	r.sem_count = ioctl_errno(nx_sem_count(fd, life.sem, &count));
	if (write(res, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
}

/* The child C: keeps the parent's descriptor and does what it is told. */
static void orphan_child(int fd, int cmd, int res)
{
	char c;
	int rc;

	detach_child();
	while (read(cmd, &c, 1) == 1) {
		switch (c) {
		case 'p':
			child_probe(fd, res);
			break;
		case 'c':
			rc = close(fd) ? errno : 0;
			if (write(res, &rc, sizeof(rc)) != (ssize_t)sizeof(rc))
				_exit(1);
			break;
		default:
			_exit(0);
		}
	}
	_exit(0);
}

/* Open a descriptor of our own (a new team) with a port and a semaphore in it. */
static int new_team(int *fd, const char *name, int *port, int *sem)
{
	int status;

	*fd = nx_open();
	if (*fd < 0)
		return *fd;
	status = nx_port_create(*fd, name, 2, port);
	if (status == B_OK)
		status = nx_sem_create(*fd, name, 0, sem);
	return status;
}

/* The parent P: a team made through its own descriptor, which it leaves to C. */
static void orphan_parent(int report, int cmd, int res)
{
	struct orphan_report r = { .status = B_OK };
	int fd;

	detach_child();
	r.status = new_team(&fd, "life-orphan", &r.port, &r.sem);
	life.port = r.port;
	life.sem = r.sem;
	r.child = r.status == B_OK ? fork() : 0;
	if (r.child == 0 && r.status == B_OK)
		orphan_child(fd, cmd, res);
	if (write(report, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	_exit(0);
}

static void cmd_orphan(void)
{
	struct orphan_report r = { .status = B_ERROR };
	int report[2], cmd[2], res[2], status = -1;

	if (life.parent) {
		answer("{\"ret\":-1,\"why\":\"orphan already done\"}");
		return;
	}
	if (pipe2(report, O_CLOEXEC) || pipe(cmd) || pipe(res)) {
		answer("{\"ret\":-1,\"why\":\"pipe: %s\"}", strerror(errno));
		return;
	}
	life.parent = fork();
	if (life.parent == 0) {
		close(cmd[1]);
		close(res[0]);
		orphan_parent(report[1], cmd[0], res[1]);
	}
	close(report[1]);
	close(cmd[0]);
	close(res[1]);
	life.cmd = cmd[1];
	life.res = res[0];
	if (!read_report(report[0], &r, sizeof(r)))
		r.status = B_ERROR;
	close(report[0]);
	waitpid(life.parent, &status, 0);
	life.child = r.child;
	answer("{\"ret\":%d,\"parent\":%d,\"child\":%d,\"port\":%d,\"sem\":%d,\"parent_status\":%d}", r.status,
	       life.parent, r.child, r.port, r.sem, status);
}

static bool child_ask(char c, void *buf, size_t n)
{
	return life.child > 0 && write(life.cmd, &c, 1) == 1 && read_report(life.res, buf, n);
}

static void cmd_probe(void)
{
	struct probe_report r;

	if (!child_ask('p', &r, sizeof(r))) {
		answer("{\"ret\":-1,\"why\":\"the child did not answer\"}");
		return;
	}
	answer("{\"ret\":0,\"port_info\":%d,\"port_create\":%d,\"sem_create\":%d,\"sem_count\":%d}", r.port_info,
	       r.port_create, r.sem_create, r.sem_count);
}

static void cmd_release(void)
{
	int rc;

	if (!child_ask('c', &rc, sizeof(rc))) {
		answer("{\"ret\":-1,\"why\":\"the child did not answer\"}");
		return;
	}
	answer("{\"ret\":0,\"close\":%d}", rc);
}

struct reuse_report {
	int status, port, sem;
};

/* The new process with the old pid: a team of its own, until killed. */
static void reused_team(int report)
{
	struct reuse_report r = { .status = B_OK };
	int fd;

	detach_child();
	r.status = new_team(&fd, "life-reused", &r.port, &r.sem);
	if (write(report, &r, sizeof(r)) != (ssize_t)sizeof(r))
		_exit(1);
	for (;;)
		pause();
}

static bool set_last_pid(pid_t last)
{
	FILE *f = fopen(NS_LAST_PID, "w");
	bool ok;

	if (!f)
		return false;
	ok = fprintf(f, "%d", last) > 0;
	return fclose(f) == 0 && ok;
}

/* Fork until the child gets pid target; the child runs reused_team(). */
static pid_t fork_with_pid(pid_t target, int report, int *attempts)
{
	pid_t pid;

	for (*attempts = 1; *attempts <= REUSE_ATTEMPTS; (*attempts)++) {
		if (!set_last_pid(target - 1))
			return -errno;
		pid = fork();
		if (pid < 0)
			return -errno;
		if (pid == 0) {
			if (getpid() == target)
				reused_team(report);
			_exit(0);
		}
		if (pid == target)
			return pid;
		reap(&pid);
	}
	return 0;
}

static void cmd_reuse(void)
{
	struct reuse_report r = { .status = B_ERROR };
	int report[2], attempts = 0;
	pid_t pid;

	if (!life.parent || life.reused) {
		answer("{\"ret\":-1,\"attempts\":0,\"why\":\"needs orphan first, once\"}");
		return;
	}
	if (pipe2(report, O_CLOEXEC)) {
		answer("{\"ret\":-1,\"attempts\":0,\"why\":\"pipe: %s\"}", strerror(errno));
		return;
	}
	pid = fork_with_pid(life.parent, report[1], &attempts);
	close(report[1]);
	if (pid <= 0) {
		close(report[0]);
	{
		answer("{\"ret\":-1,\"attempts\":%d,\"why\":\"%s\"}", attempts,
			      pid ? strerror(-pid) : "another pid came out every time");
		return;
	}
	}
	life.reused = pid;
	if (!read_report(report[0], &r, sizeof(r)))
		r.status = B_ERROR;
	close(report[0]);
	answer("{\"ret\":%d,\"pid\":%d,\"attempts\":%d,\"port\":%d,\"sem\":%d}", r.status, pid, attempts, r.port, r.sem);
}

static void cmd_end(void)
{
	reap(&life.child);
	reap(&life.reused);
	if (life.cmd > 0)
		close(life.cmd);
	if (life.res > 0)
		close(life.res);
	life.cmd = life.res = -1;
}

static void cmd_end_answer(void)
{
	cmd_end();
	answer("{\"ret\":0}");
}

static int serve(void)
{
	char *line = NULL;
	size_t cap = 0;

	if (prctl(PR_SET_CHILD_SUBREAPER, 1))
		perror("nexus-life: PR_SET_CHILD_SUBREAPER");
	answer("{\"ready\":true,\"pid\":%d,\"uid\":%u,\"gid\":%u}", getpid(), geteuid(), getegid());
	while (getline(&line, &cap, stdin) >= 0) {
		line[strcspn(line, "\r\n")] = '\0';
		if (!strcmp(line, "orphan"))
			cmd_orphan();
		else if (!strcmp(line, "probe"))
			cmd_probe();
		else if (!strcmp(line, "reuse"))
			cmd_reuse();
		else if (!strcmp(line, "release"))
			cmd_release();
		else if (!strcmp(line, "end"))
			cmd_end_answer();
		else
			answer("{\"error\":\"unknown command\"}");
	}
	cmd_end();
	free(line);
	return 0;
}

/* ---- clone: children libnexus's fork handler never sees ------------------ */

struct child_result {
	int pid, port, write, read, code, data_ok, team;
};

static const char ping[] = "ping";

/* In the child: the Haiku calls on a port of its own, then exit. */
static void child_work(struct child_result *r)
{
	struct port_info info;
	char buf[16] = "";
	__s32 code = 0;

	r->pid = getpid();
	r->port = create_port(2, "life-clone-child");
	if (r->port > 0) {
		r->write = write_port(r->port, 7, ping, sizeof(ping));
		r->read = (int)read_port(r->port, &code, buf, sizeof(buf));
		r->code = code;
		r->data_ok = !memcmp(buf, ping, sizeof(ping));
		r->team = get_port_info(r->port, &info) == B_OK ? info.team : 0;
	}
}

static int clone_fn(void *p)
{
	child_work(p);
	return 0;
}

static pid_t via_raw_clone(struct child_result *r)
{
	pid_t pid = (pid_t)syscall(SYS_clone, SIGCHLD, 0, NULL, NULL, 0);

	if (pid == 0) {
		child_work(r);
		_exit(0);
	}
	return pid;
}

static pid_t via_clone(struct child_result *r)
{
	static char stack[256 * 1024] __attribute__((aligned(16)));

	return clone(clone_fn, stack + sizeof(stack), SIGCHLD, r);
}

static pid_t via_vfork(struct child_result *r)
{
	pid_t pid = vfork();

	if (pid == 0) {
		child_work(r);
		_exit(0);
	}
	return pid;
}

static void run_child(const char *key, pid_t (*make)(struct child_result *), struct child_result *r, bool last)
{
	struct port_info info;
	int status = -1, after, own, own_team = 0;
	pid_t pid;

	memset(r, 0, sizeof(*r));
	pid = make(r);
	if (pid > 0)
		waitpid(pid, &status, 0);
	after = r->port > 0 ? get_port_info(r->port, &info) : 0;
	own = create_port(1, "life-clone-after");
	if (own > 0) {
		own_team = get_port_info(own, &info) == B_OK ? info.team : 0;
		delete_port(own);
	}
	printf("\"%s\":{\"pid\":%d,\"port\":%d,\"write\":%d,\"read\":%d,\"code\":%d,\"data_ok\":%s,\"team\":%d,"
	       "\"port_after_exit\":%d,\"parent_port\":%d,\"parent_port_team\":%d,\"exit_status\":%d}%s",
	       key, r->pid, r->port, r->write, r->read, r->code, r->data_ok ? "true" : "false", r->team, after, own,
	       own_team, status, last ? "" : ",");
}

static int clone_children(void)
{
	struct child_result *r = mmap(NULL, sizeof(*r), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	port_id mine = create_port(1, "life-clone-parent");

	if (r == MAP_FAILED || mine <= 0) {
		answer("{\"ret\":-1,\"why\":\"setup failed: port %d\"}", mine);
		return 1;
	}
	printf("{\"ret\":0,\"parent\":%d,", getpid());
	run_child("raw_clone", via_raw_clone, r, false);
	run_child("clone", via_clone, r, false);
	run_child("vfork", via_vfork, r, true);
	answer("}");
	delete_port(mine);
	return 0;
}

int main(int argc, char **argv)
{
	alarm(LIFE_DEADLINE);
	if (argc == 1)
		return serve();
	if (argc == 2 && !strcmp(argv[1], "clone"))
		return clone_children();
	fprintf(stderr, "usage: nexus-life (serve commands on stdin) | nexus-life clone\n");
	return 2;
}
