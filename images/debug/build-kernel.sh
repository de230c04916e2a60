#!/bin/bash
# Build one debug kernel for the lab (called by lab/debug-kernel.ts).
#
#   build-kernel.sh SOURCE_DEB BASE_CONFIG FRAGMENT OUT JOBS
#
# SOURCE_DEB   Debian's linux-source-<series> package (.deb)
# BASE_CONFIG  the config of the Debian kernel of the same version (cloud-amd64)
# FRAGMENT     images/debug/debug.config
# OUT          an empty directory; on success it holds src/ (the source),
#              build/ (the O= tree, KERNEL_SRC for module builds), root/
#              (boot/vmlinuz-R, boot/config-R, lib/modules/R) and release
#
# Every module of the base config is dropped (the fragment builds in what a
# quick-profile guest needs), so the build is the kernel proper.  Each stage
# prints "stage: NAME" so the caller can show progress; make's own output
# follows as it comes.
set -euo pipefail
deb=$1 base=$2 fragment=$3 out=$4 jobs=$5

echo "stage: extract"
mkdir -p "$out/src" "$out/build" "$out/root/boot"
tarball=$(dpkg-deb -c "$deb" | grep -o '\./usr/src/linux-source-[^ ]*\.tar\.xz' | head -n1)
[ -n "$tarball" ] || { echo "no source tarball in $deb" >&2; exit 1; }
dpkg-deb --fsys-tarfile "$deb" | tar -x -O "$tarball" | tar -xJ -C "$out/src" --strip-components=1

echo "stage: configure"
# Modules off ("=m" becomes "is not set"), then the fragment on top.
sed -E 's/^(CONFIG_[A-Za-z0-9_]+)=m$/# \1 is not set/' "$base" > "$out/build/.config"
cat "$fragment" >> "$out/build/.config"
make -s -C "$out/src" O="$out/build" olddefconfig

# Every option the fragment sets must have survived olddefconfig, but the
# one after a "# lab: optional" line (one series may not offer it).
lost=() optional=0
while IFS= read -r line; do
	if [[ $line == "# lab: optional"* ]]; then
		optional=1
		continue
	fi
	if [[ $line =~ ^(CONFIG_[A-Za-z0-9_]+)=(.*)$ ]]; then
		grep -qxF -- "$line" "$out/build/.config" || [ $optional = 1 ] || lost+=("$line")
		optional=0
	elif [[ $line =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
		! grep -qE "^${BASH_REMATCH[1]}=" "$out/build/.config" || [ $optional = 1 ] || lost+=("$line")
		optional=0
	fi
done < "$fragment"
if [ ${#lost[@]} -gt 0 ]; then
	echo "these options of $fragment did not survive olddefconfig (a missing dependency?):" >&2
	printf '  %s\n' "${lost[@]}" >&2
	exit 1
fi

echo "stage: compile"
make -C "$out/src" O="$out/build" -j"$jobs" bzImage modules
release=$(make -s -C "$out/src" O="$out/build" kernelrelease)

echo "stage: install"
make -s -C "$out/src" O="$out/build" INSTALL_MOD_PATH="$out/root" INSTALL_MOD_STRIP=1 DEPMOD=/bin/true modules_install
rm -f "$out/root/lib/modules/$release/build" "$out/root/lib/modules/$release/source"
depmod -b "$out/root" "$release"
cp "$out/build/arch/x86/boot/bzImage" "$out/root/boot/vmlinuz-$release"
cp "$out/build/.config" "$out/root/boot/config-$release"
echo "$release" > "$out/release"
echo "stage: done $release"
