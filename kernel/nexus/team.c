// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus teams: one per thread group that has /dev/nexus open.
 *
 * The team table is the owner of every team.  Opening /dev/nexus attaches
 * the caller's thread group to its team (creating it on first open);
 * releasing a file detaches it, and the last detach removes the team from
 * the table and tears it down.
 */

#include <linux/hashtable.h>
#include <linux/mutex.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>

#include "nexus_internal.h"

#define NEXUS_TEAM_HASH_BITS	8

static DEFINE_HASHTABLE(nexus_teams, NEXUS_TEAM_HASH_BITS);
static DEFINE_MUTEX(nexus_teams_lock);

static struct nexus_team *nexus_team_lookup(struct pid *tgid)
{
	struct nexus_team *team;

	lockdep_assert_held(&nexus_teams_lock);
	hash_for_each_possible(nexus_teams, team, node, (unsigned long)tgid)
		if (team->tgid == tgid)
			return team;
	return NULL;
}

/* Tear down a team that is no longer in the table. */
static void nexus_team_destroy(struct nexus_team *team)
{
	put_pid(team->tgid);
	kfree(team);
	nexus_counter_dec(NEXUS_COUNTER_TEAMS);
}

/**
 * nexus_team_attach() - attach the current thread group to its team
 *
 * Return: the team, with one more open file counted, or ERR_PTR(-ENOMEM).
 */
struct nexus_team *nexus_team_attach(void)
{
	struct pid *tgid = task_tgid(current);
	struct nexus_team *team, *fresh;

	fresh = kzalloc(sizeof(*fresh), GFP_KERNEL);
	if (!fresh)
		return ERR_PTR(-ENOMEM);

	mutex_lock(&nexus_teams_lock);
	team = nexus_team_lookup(tgid);
	if (team) {
		team->files++;
	} else {
		team = fresh;
		fresh = NULL;
		team->tgid = get_pid(tgid);
		team->id = pid_nr(tgid);
		team->files = 1;
		hash_add(nexus_teams, &team->node, (unsigned long)tgid);
		nexus_counter_inc(NEXUS_COUNTER_TEAMS);
	}
	mutex_unlock(&nexus_teams_lock);

	kfree(fresh);
	return team;
}

/**
 * nexus_team_detach() - drop one open file of a team
 * @team: the team the released file belonged to
 *
 * The last detach destroys the team and everything it owns.
 */
void nexus_team_detach(struct nexus_team *team)
{
	bool last;

	mutex_lock(&nexus_teams_lock);
	last = --team->files == 0;
	if (last)
		hash_del(&team->node);
	mutex_unlock(&nexus_teams_lock);

	if (last)
		nexus_team_destroy(team);
}

/**
 * nexus_team_is_current() - does the calling thread group own this team?
 * @team: the team of the file being used
 *
 * A descriptor inherited across fork() stays attached to the parent's team;
 * the child must open /dev/nexus itself.
 */
bool nexus_team_is_current(const struct nexus_team *team)
{
	return team->tgid == task_tgid(current);
}
