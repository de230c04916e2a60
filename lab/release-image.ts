// Guest images of the release profile.
//
// - The release rootfs: Debian bookworm with systemd as init, dkms and a
//   compiler, built by mmdebstrap from images/release.json, with the job
//   kernel's image and headers packages installed (dependencies resolved by
//   apt, as on a user's machine) and the upgrade kernels' packages staged in
//   RELEASE_DEBS_DIR, plus the files of images/guest/release-rootfs/.  A raw
//   ext4 disk, cached by a hash of the recipe, the overlay files and the
//   kernel packages (the "kernel set"); never written to.
// - Per job, a qcow2 overlay backed by it: the guest's writes (the package,
//   DKMS's builds, a second kernel) go there and survive its reboots.
// - Per boot, a small initramfs (lab/images.ts, with release-init) that
//   mounts the overlay read-write and hands over to systemd.
import { copyFile, mkdir, readFile, rm, symlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { buildInitramfs, ensureImage, imageHash, mmdebstrapArgs, parseRecipe, type CachedImage, type RootfsRecipe } from './images.js';
import { kernelDebs, type KernelDebs, type KernelTree, type ResolvedKernel } from './kernels.js';
import { runChecked } from './proc.js';

/** Where the staged kernels' packages are in the guest: <dir>/<release>/*.deb. */
export const RELEASE_DEBS_DIR = '/var/cache/nexus-lab/kernels';

/** systemd's console line once sshd runs (ShowStatus=yes in the guest). */
export const RELEASE_SSH_READY = /Started (?:ssh\.service\b|OpenBSD Secure Shell server)/;

/** Bump when the way the image is assembled changes. */
const BUILDER_VERSION = 'release-rootfs-v1';

export interface ReleaseRecipe extends RootfsRecipe {
  /** systemd units masked in the image. */
  mask: string[];
}

export interface ReleaseRootfs extends CachedImage {
  /** uname -r of the installed kernel. */
  installed: string;
  /** uname -r of the kernels whose packages are staged, not installed. */
  staged: string[];
}

export function parseReleaseRecipe(text: string): ReleaseRecipe {
  const r = parseRecipe(text);
  const mask = (JSON.parse(text) as { mask?: unknown }).mask ?? [];
  if (!Array.isArray(mask) || !mask.every((m) => typeof m === 'string' && /^[\w@.-]+\.(service|timer|socket|target|mount)$/.test(m))) {
    throw new Error('release recipe: "mask" must be an array of systemd unit names');
  }
  return { ...r, mask: mask as string[] };
}

/** The kernel set of an image: the installed kernel and the staged ones, as exact packages. */
export function kernelSetKey(installed: ResolvedKernel, staged: readonly ResolvedKernel[]): string {
  const one = (k: ResolvedKernel) => `${k.release}=${k.version}`;
  return [`installed:${one(installed)}`, ...staged.map((k) => `staged:${one(k)}`).sort()].join(' ');
}

/** Hash of everything that goes into a release image. */
export function releaseHash(recipeText: string, overlayDir: string, kernelSet: string): Promise<string> {
  return imageHash([BUILDER_VERSION, recipeText, kernelSet], overlayDir);
}

/**
 * mmdebstrap's arguments: the recipe, then hooks that install the kernel's
 * .deb files with apt inside the new system (apt resolves what they depend
 * on, as on a user's machine; a path given to --include is not visible to
 * dpkg in the chroot), before the positional suite, target and mirror.
 */
export function releaseMmdebstrapArgs(r: RootfsRecipe, target: string, debs: readonly string[]): string[] {
  const args = mmdebstrapArgs(r, target);
  const positional = args.splice(-3);
  const hooks = [
    'mkdir -p "$1/tmp/nexus-kernel"',
    // A special hook, split on white space: the cache paths have none.
    `copy-in ${debs.join(' ')} /tmp/nexus-kernel`,
    'chroot "$1" sh -c \'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /tmp/nexus-kernel/*.deb\'',
    'rm -rf "$1/tmp/nexus-kernel"',
  ];
  return [...args, ...hooks.map((h) => `--customize-hook=${h}`), ...positional];
}

/** Image size: the tree plus room for a second kernel, its headers and DKMS builds, in MiB. */
export function releaseImageSizeMiB(treeBytes: number): number {
  return Math.ceil((treeBytes * 1.1) / (1 << 20)) + 1536;
}

export interface ReleaseRootfsOptions {
  recipePath: string;
  overlayDir: string;
  cacheDir: string;
  installed: ResolvedKernel;
  staged: readonly ResolvedKernel[];
  signal?: AbortSignal;
  onStep?: (step: string) => void;
}

/** The cached release rootfs for the recipe and kernel set, built when missing. */
export async function ensureReleaseRootfs(o: ReleaseRootfsOptions): Promise<ReleaseRootfs> {
  const recipeText = await readFile(o.recipePath, 'utf8');
  const recipe = parseReleaseRecipe(recipeText);
  const kernelSet = kernelSetKey(o.installed, o.staged);
  let staged: KernelDebs[] = [];
  const image = await ensureImage({
    name: 'release',
    hash: await releaseHash(recipeText, o.overlayDir, kernelSet),
    cacheDir: o.cacheDir,
    what: 'release rootfs',
    recipeText,
    overlayDir: o.overlayDir,
    mmdebstrap: async (tree) => {
      o.onStep?.(`kernel packages ${[o.installed, ...o.staged].map((k) => k.release).join(', ')}`);
      const own = await kernelDebs(o.installed, o.cacheDir, o.signal);
      staged = await Promise.all(o.staged.map((k) => kernelDebs(k, o.cacheDir, o.signal)));
      const spaced = own.files.find((f) => /\s/.test(f));
      if (spaced) throw new Error(`the cache path has white space (${spaced}): mmdebstrap's copy-in cannot take it; use --cache with a path without`);
      o.onStep?.(`mmdebstrap ${recipe.suite} (${recipe.include.length} packages and ${own.release})`);
      return releaseMmdebstrapArgs(recipe, tree, own.files);
    },
    mmdebstrapTimeoutMs: 1_800_000,
    customize: async (tree) => {
      for (const unit of recipe.mask) {
        const link = join(tree, 'etc', 'systemd', 'system', unit);
        await rm(link, { force: true });
        await symlink('/dev/null', link);
      }
      for (const k of staged) {
        const to = join(tree, RELEASE_DEBS_DIR, k.release);
        await mkdir(to, { recursive: true });
        for (const f of k.files) await copyFile(f, join(to, basename(f)));
      }
    },
    // With a journal: the guest writes to it and reboots.
    mkfsOptions: [],
    sizeMiB: releaseImageSizeMiB,
    note: kernelSet,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  });
  return { ...image, installed: o.installed.release, staged: o.staged.map((k) => k.release) };
}

/** A job's copy-on-write overlay: the guest writes there, the cached image stays as it is. */
export async function createOverlay(base: string, overlay: string, signal?: AbortSignal): Promise<void> {
  await runChecked('qemu-img', ['create', '-q', '-f', 'qcow2', '-F', 'raw', '-b', base, overlay], { timeoutMs: 60_000, signal });
}

export interface ReleaseInitramfsRequest {
  workDir: string;
  output: string;
  rootfs: ReleaseRootfs;
  /** images/guest/release-init */
  initScript: string;
  /** The kernel this initramfs boots (its boot modules). */
  kernel: KernelTree;
  authorizedKey: string;
  bundleDir: string;
  signal?: AbortSignal;
}

/** The initramfs of one boot: release-init, the kernel's boot modules, the key and the scenario bundle. */
export async function buildReleaseInitramfs(r: ReleaseInitramfsRequest): Promise<number> {
  return buildInitramfs({ ...r, nexusModules: [] });
}
