#!/usr/bin/env bash
# Check the Nexus C sources with the kernel's checkpatch.pl, --strict.
#
# checkpatch.pl comes from Debian's linux-source package, downloaded (never
# installed) and cached by package version.  Only the compat header may use
# LINUX_VERSION_CODE: that is what it is for.  libnexus (userspace, the
# Haiku API) may declare typedefs: port_info, sem_info, port_message_info.
set -euo pipefail

tree=${1:-kernel}
cache=${NEXUS_LAB_CACHE:-$PWD/.cache}/checkpatch
pkg=linux-source-6.12

version=$(apt-cache policy "$pkg" | awk '/Candidate:/ {print $2}')
if [ -z "$version" ] || [ "$version" = "(none)" ]; then
	echo "checkpatch: apt knows no $pkg (run apt-get update)" >&2
	exit 1
fi
dir=$cache/${version//[^A-Za-z0-9.+-]/_}
if [ ! -f "$dir/checkpatch.pl" ]; then
	echo "checkpatch: fetching checkpatch.pl from $pkg $version"
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && timeout 600 apt-get download -q -o APT::Sandbox::User=root "$pkg=$version" >/dev/null)
	src=$(basename "$pkg")
	dpkg-deb --fsys-tarfile "$tmp"/*.deb |
		tar -xO "./usr/src/$src.tar.xz" |
		tar -xJ -C "$tmp" "$src/scripts/checkpatch.pl" "$src/scripts/spelling.txt" "$src/scripts/const_structs.checkpatch"
	mkdir -p "$dir"
	mv "$tmp/$src/scripts/"* "$dir/"
fi

mapfile -t files < <(find "$tree" -name '*.[ch]' ! -name '*.mod.c' ! -name 'nexus_compat.h' ! -path '*/libnexus/*' | sort)
mapfile -t compat < <(find "$tree" -name 'nexus_compat.h' | sort)
# libnexus is the Haiku API: its info types are typedefs (port_info, sem_info).
mapfile -t lib < <(find "$tree" -path '*/libnexus/*' -name '*.[ch]' | sort)
out=$(perl "$dir/checkpatch.pl" --no-tree --strict --terse --show-types -f "${files[@]}" || true)
if [ ${#lib[@]} -gt 0 ]; then
	out+=$'\n'$(perl "$dir/checkpatch.pl" --no-tree --strict --terse --show-types \
		--ignore NEW_TYPEDEFS -f "${lib[@]}" || true)
fi
if [ ${#compat[@]} -gt 0 ]; then
	out+=$'\n'$(perl "$dir/checkpatch.pl" --no-tree --strict --terse --show-types \
		--ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f "${compat[@]}" || true)
fi
problems=$(grep -E ': (ERROR|WARNING|CHECK):' <<<"$out" || true)
n=$(( ${#files[@]} + ${#compat[@]} + ${#lib[@]} ))
if [ -n "$problems" ]; then
	echo "$problems"
	echo "checkpatch: $(wc -l <<<"$problems") problem(s) in $n files"
	exit 1
fi
echo "checkpatch: $n files clean (--strict, $pkg $version)"
