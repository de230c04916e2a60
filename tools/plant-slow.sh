#!/bin/sh
# Make a throwaway copy of our module tree (kernel/) with a deliberate
# slowdown, to show that nexus-lab compare (lab/compare.ts) calls a real
# perf regression one:
#
#   dir=$(tools/plant-slow.sh [USECS])
#   nexus-lab run --source "$dir" --kernels 6.12-cloud --suites perf-core
#   nexus-lab compare results/<run of our tree> results/latest
#
# Every successful port read busy-waits USECS microseconds (default 15,
# udelay) after it took its message and before copying it out: a round trip
# between two teams is two reads, so port-rtt-64 and port-rtt-4096 get
# about 2 x USECS slower (under TCG, where a round trip is 60-130 us, some
# 25-50 %), while semaphores, timeouts (a read that times out takes no
# message) and the Linux baselines do not.  The copy's path is printed on
# stdout; it is the caller's to delete.  Our tree is not touched.
set -eu
usecs=${1:-15}
case $usecs in '' | *[!0-9]*) echo "plant-slow: USECS must be a number, not '$usecs'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/kernel
dir=$(mktemp -d "${TMPDIR:-/tmp}/nexus-planted-slow.XXXXXX")
cp -a "$src/." "$dir/"
port=$dir/nexus/port.c
anchor='	/* The message is consumed whatever happens to the copy. */'
if [ "$(grep -cxF "$anchor" "$port")" != 1 ]; then
	echo "plant-slow: $port has no single '$anchor' line to plant the delay before" >&2
	rm -rf "$dir"
	exit 1
fi
awk -v usecs="$usecs" '
	/^#include <linux\/cred.h>$/ && !inc { print "#include <linux/delay.h>"; inc = 1 }
	/^\t\/\* The message is consumed whatever happens to the copy\. \*\/$/ {
		print "\t/* nexus-lab tools/plant-slow.sh: a deliberate slowdown. */"
		print "\tudelay(" usecs ");"
		print ""
	}
	{ print }
' "$port" > "$port.new"
mv "$port.new" "$port"
if [ "$(grep -cxF "	udelay($usecs);" "$port")" != 1 ] || [ "$(grep -c '^#include <linux/delay.h>$' "$port")" -lt 1 ]; then
	echo "plant-slow: planting failed in $port" >&2
	rm -rf "$dir"
	exit 1
fi
echo "$dir"
