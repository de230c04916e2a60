/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Nexus core: shared declarations of nexus.ko.
 */
#ifndef _NEXUS_INTERNAL_H
#define _NEXUS_INTERNAL_H

#include <linux/atomic.h>
#include <linux/list.h>
#include <linux/pid.h>
#include <linux/types.h>

/*
 * A team is a thread group that has /dev/nexus open.  The team table owns
 * it; every struct file opened on /dev/nexus by the thread group holds one
 * "files" count, and the release of the last one destroys the team with
 * everything it owns.
 */
struct nexus_team {
	struct hlist_node node;		/* in the team table, by tgid */
	struct pid *tgid;		/* reference held for the team's life */
	pid_t id;			/* team_id as userspace sees it */
	unsigned int files;		/* open files; under the table lock */
};

struct nexus_team *nexus_team_attach(void);
void nexus_team_detach(struct nexus_team *team);
bool nexus_team_is_current(const struct nexus_team *team);

/* Live object counters, shown in debugfs (nexus/counters). */
enum nexus_counter {
	NEXUS_COUNTER_TEAMS,
	NEXUS_NR_COUNTERS
};

extern atomic_long_t nexus_counters[NEXUS_NR_COUNTERS];

static inline void nexus_counter_inc(enum nexus_counter c)
{
	atomic_long_inc(&nexus_counters[c]);
}

static inline void nexus_counter_dec(enum nexus_counter c)
{
	atomic_long_dec(&nexus_counters[c]);
}

void nexus_debugfs_init(void);
void nexus_debugfs_exit(void);

#endif /* _NEXUS_INTERNAL_H */
