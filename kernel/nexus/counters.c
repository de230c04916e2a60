// SPDX-License-Identifier: GPL-2.0
/*
 * Nexus object counters, exported in debugfs as nexus/counters: one
 * "<name> <value>" line per live object kind.  The lab reads it to check
 * that every object is gone once its owner is.
 */

#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/seq_file.h>

#include "nexus_internal.h"

atomic_long_t nexus_counters[NEXUS_NR_COUNTERS];
EXPORT_SYMBOL_GPL(nexus_counters);

static const char * const nexus_counter_names[NEXUS_NR_COUNTERS] = {
	[NEXUS_COUNTER_TEAMS] = "teams",
	[NEXUS_COUNTER_PORTS] = "ports",
	[NEXUS_COUNTER_SEMS] = "sems",
	[NEXUS_COUNTER_PORT_MESSAGES] = "port_messages",
	[NEXUS_COUNTER_PORT_BYTES] = "port_bytes",
	[NEXUS_COUNTER_WAITERS] = "waiters",
	[NEXUS_COUNTER_PORT_SPACE] = "port_space",
	[NEXUS_COUNTER_THREADS] = "threads",
	[NEXUS_COUNTER_THREAD_MESSAGES] = "thread_messages",
	[NEXUS_COUNTER_AREAS] = "areas",
	[NEXUS_COUNTER_AREA_SPACE] = "area_space",
	[NEXUS_COUNTER_PORT_CAPS] = "port_caps",
	[NEXUS_COUNTER_VREFS] = "vrefs",
	[NEXUS_COUNTER_VREF_SLOTS] = "vref_slots",
	[NEXUS_COUNTER_WATCHES] = "watches",
	[NEXUS_COUNTER_NODE_EVENTS] = "node_events",
};

static struct dentry *nexus_debugfs_dir;

static int nexus_counters_show(struct seq_file *m, void *unused)
{
	int i;

	for (i = 0; i < NEXUS_NR_COUNTERS; i++)
		seq_printf(m, "%s %ld\n", nexus_counter_names[i],
			   atomic_long_read(&nexus_counters[i]));
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(nexus_counters);

void nexus_debugfs_init(void)
{
	/* Built with NEXUS_DEBUGFS=n: no counters file, like other trees. */
	if (!IS_ENABLED(CONFIG_NEXUS_DEBUGFS_COUNTERS))
		return;
	/* debugfs is best effort: its failures are not Nexus failures. */
	nexus_debugfs_dir = debugfs_create_dir("nexus", NULL);
	debugfs_create_file("counters", 0444, nexus_debugfs_dir, NULL,
			    &nexus_counters_fops);
}

void nexus_debugfs_exit(void)
{
	debugfs_remove_recursive(nexus_debugfs_dir);
}
