#!/bin/sh
# Make a throwaway copy of our module tree (kernel/) with a deliberate leak,
# to show that the lab's slab leak rule (lab/leaks.ts) catches one:
#
#   dir=$(tools/plant-leak.sh [BYTES])
#   nexus-lab run --source "$dir" --kernels 6.12-cloud --suites ports --param leaks.repeat=3
#
# Every successful port creation kmalloc()s BYTES (default 200: kmalloc-256)
# with plain GFP_KERNEL, so the leaked objects land in kmalloc-N, not in the
# kmalloc-cg-N caches our own (GFP_KERNEL_ACCOUNT) objects use, and are never
# freed: the pointer is kept only until the next port overwrites it, so
# kmemleak would report them too.  The copy's path is printed on stdout; it
# is the caller's to delete.  Our tree is not touched.
set -eu
bytes=${1:-200}
case $bytes in '' | *[!0-9]*) echo "plant-leak: BYTES must be a number, not '$bytes'" >&2; exit 2 ;; esac
here=$(cd "$(dirname "$0")/.." && pwd)
src=$here/kernel
dir=$(mktemp -d "${TMPDIR:-/tmp}/nexus-planted-leak.XXXXXX")
cp -a "$src/." "$dir/"
port=$dir/nexus/port.c
anchor='	port = kzalloc(sizeof(\*port), GFP_KERNEL_ACCOUNT);'
if [ "$(grep -c "^$anchor\$" "$port")" != 1 ]; then
	echo "plant-leak: $port has no single '$anchor' line to plant the leak after" >&2
	rm -rf "$dir"
	exit 1
fi
# After the port's own allocation succeeded: leak BYTES per port created.
awk -v bytes="$bytes" '
	/^static int nexus_port_create\(/ && !decl {
		print "/* nexus-lab tools/plant-leak.sh: a deliberate leak, never freed. */"
		print "static void *nexus_planted_leak;"
		print ""
		decl = 1
	}
	{ print }
	/^\tport = kzalloc\(sizeof\(\*port\), GFP_KERNEL_ACCOUNT\);$/ {
		getline; print                      # if (!port)
		getline; print                      #         return B_NO_MEMORY;
		print "\tnexus_planted_leak = kmalloc(" bytes ", GFP_KERNEL);"
	}
' "$port" > "$port.new"
mv "$port.new" "$port"
if [ "$(grep -c 'nexus_planted_leak = kmalloc' "$port")" != 1 ]; then
	echo "plant-leak: planting failed in $port" >&2
	rm -rf "$dir"
	exit 1
fi
echo "$dir"
