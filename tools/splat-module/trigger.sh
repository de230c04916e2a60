#!/bin/sh
# Guest side of tools/splat-module (a nexus-lab test tool, not part of Nexus):
#
#   trigger.sh REQUEST... [scan]
#
# Loads ./splat_trigger.ko and makes each request's report in turn, a second
# apart.  "scan" lets kmemleak's 5 s minimum age pass, scans twice (a copy
# of a lost pointer may survive the first) and prints its reports.  Last,
# KFENCE's counters, for a kfence request that found no sampled object.
insmod ./splat_trigger.ko || exit 1
for r in "$@"; do
	if [ "$r" = scan ]; then
		sleep 6
		echo scan > /sys/kernel/debug/kmemleak
		sleep 2
		echo scan > /sys/kernel/debug/kmemleak
		echo "== kmemleak"
		cat /sys/kernel/debug/kmemleak
		continue
	fi
	echo "== $r"
	echo "$r" > /sys/kernel/debug/splat_trigger || echo "request $r failed"
	sleep 1
done
if [ -r /sys/kernel/debug/kfence/stats ]; then
	echo "== kfence stats"
	cat /sys/kernel/debug/kfence/stats
fi
