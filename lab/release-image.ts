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
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { COMPLETE, isComplete, publish } from './cache.js';
import { listFiles } from './files.js';
import { buildInitramfs, mmdebstrapArgs, parseRecipe, type RootfsRecipe } from './images.js';
import { kernelDebs, type KernelTree, type ResolvedKernel } from './kernels.js';
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

export interface ReleaseRootfs {
  hash: string;
  /** Raw ext4, read-only: jobs boot copy-on-write overlays of it. */
  image: string;
  /** The guest's SSH host key (OpenSSH public key line). */
  hostKey: string;
  busybox: string;
  /** Bytes the image takes on the host's disk. */
  sizeBytes: number;
  cached: boolean;
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
export async function releaseHash(recipeText: string, overlayDir: string, kernelSet: string): Promise<string> {
  const h = createHash('sha256').update(BUILDER_VERSION).update('\0').update(recipeText).update('\0').update(kernelSet);
  for (const rel of await listFiles(overlayDir)) {
    h.update(`\0${rel}\0`).update(await readFile(join(overlayDir, rel)));
  }
  return h.digest('hex').slice(0, 16);
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
  const hash = await releaseHash(recipeText, o.overlayDir, kernelSetKey(o.installed, o.staged));
  const dir = join(o.cacheDir, 'images', `release-${hash}`);
  const result = async (cached: boolean): Promise<ReleaseRootfs> => ({
    hash,
    image: join(dir, 'root.img'),
    hostKey: (await readFile(join(dir, 'ssh_host_ed25519_key.pub'), 'utf8')).trim(),
    busybox: join(dir, 'busybox'),
    sizeBytes: (await stat(join(dir, 'root.img'))).blocks * 512,
    cached,
    installed: o.installed.release,
    staged: o.staged.map((k) => k.release),
  });
  if (isComplete(dir)) return result(true);

  // Its own scratch: two jobs of one run may build the same image at once
  // (publish keeps the first; the other uses it).
  const tmp = join(o.cacheDir, 'images', `.tmp-release-${hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tree = join(tmp, 'tree');
  const out = join(tmp, 'out');
  await rm(tmp, { recursive: true, force: true });
  await mkdir(out, { recursive: true });
  try {
    o.onStep?.(`kernel packages ${[o.installed, ...o.staged].map((k) => k.release).join(', ')}`);
    const own = await kernelDebs(o.installed, o.cacheDir, o.signal);
    const staged = await Promise.all(o.staged.map((k) => kernelDebs(k, o.cacheDir, o.signal)));
    const spaced = own.files.find((f) => /\s/.test(f));
    if (spaced) throw new Error(`the cache path has white space (${spaced}): mmdebstrap's copy-in cannot take it; use --cache with a path without`);
    o.onStep?.(`mmdebstrap ${recipe.suite} (${recipe.include.length} packages and ${own.release})`);
    await runChecked('mmdebstrap', releaseMmdebstrapArgs(recipe, tree, own.files), {
      timeoutMs: 1_800_000,
      signal: o.signal,
      logFile: join(tmp, 'mmdebstrap.log'),
    });
    await cp(o.overlayDir, tree, { recursive: true });
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
    await copyFile(join(tree, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'), join(out, 'ssh_host_ed25519_key.pub'));
    await copyFile(join(tree, 'bin', 'busybox'), join(out, 'busybox'));
    await chmod(join(out, 'busybox'), 0o755);
    const used = Number((await runChecked('du', ['-sb', tree], { timeoutMs: 120_000 })).split(/\s/)[0]);
    o.onStep?.('mke2fs');
    // With a journal: the guest writes to it and reboots.
    await runChecked(
      'mke2fs',
      ['-q', '-t', 'ext4', '-L', 'nexus-root', '-E', 'root_owner=0:0', '-d', tree, join(out, 'root.img'), `${releaseImageSizeMiB(used)}M`],
      { timeoutMs: 900_000, signal: o.signal },
    );
    await writeFile(join(out, 'recipe.json'), recipeText);
    await writeFile(join(out, COMPLETE), `${new Date().toISOString()}\n${kernelSetKey(o.installed, o.staged)}\n`);
    await publish(out, dir);
  } catch (e) {
    const log = await readFile(join(tmp, 'mmdebstrap.log'), 'utf8').catch(() => '');
    const tail = log.trim().split('\n').slice(-8).join('\n');
    throw new Error(`building the release rootfs failed: ${(e as Error).message}${tail ? `\n${tail}` : ''}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return result(false);
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
