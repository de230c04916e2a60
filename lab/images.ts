// Guest images of the quick profile.
//
// - The root filesystem: Debian bookworm built by mmdebstrap from
//   images/rootfs.json, plus the files in images/guest/rootfs/, as a raw ext4
//   disk.  Cached by a hash of the recipe; QEMU attaches it with snapshot=on.
// - Per job, a small initramfs: busybox (taken from the rootfs), the kernel's
//   own modules the guest needs (virtio disk and network), the guest init,
//   and the payload copied into the root at boot (the built Nexus modules,
//   the scenario bundle, the run's public key).
//
// Why not one cpio of the whole rootfs: under TCG the kernel unpacks a
// 215 MiB uncompressed cpio in about 4.5 s before init runs, where a 2-3 MiB
// initramfs plus a virtio disk reaches init in 3.4 s and reads only the
// blocks it uses.
import { createHash, randomBytes } from 'node:crypto';
import { chmod, copyFile, cp, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { COMPLETE, isComplete, publish } from './cache.js';
import { listFiles } from './files.js';
import { moduleClosure, moduleName, parseModulesBuiltin, parseModulesDep } from './kmod.js';
import { runChecked } from './proc.js';
import type { KernelTree } from './kernels.js';
import type { BuiltModule } from './build.js';

export interface RootfsRecipe {
  suite: string;
  mirror: string;
  components: string[];
  variant: string;
  include: string[];
  excludePaths: string[];
}

/** The quick profile's rootfs. */
export type Rootfs = CachedImage;

/** Bump when the way the image is assembled changes. */
const BUILDER_VERSION = 'rootfs-v1';

export function parseRecipe(text: string): RootfsRecipe {
  const r = JSON.parse(text) as Partial<RootfsRecipe>;
  const strings = (v: unknown) => Array.isArray(v) && v.every((x) => typeof x === 'string');
  if (typeof r.suite !== 'string' || typeof r.mirror !== 'string' || typeof r.variant !== 'string') {
    throw new Error('rootfs recipe needs "suite", "mirror" and "variant" strings');
  }
  if (!strings(r.include) || !strings(r.components) || !strings(r.excludePaths)) {
    throw new Error('rootfs recipe needs "include", "components" and "excludePaths" string arrays');
  }
  return r as RootfsRecipe;
}

/**
 * Hash of what goes into an image: `parts` (builder version, recipe text,
 * anything else that shapes it), then every file of the overlay directory.
 */
export async function imageHash(parts: readonly string[], overlayDir: string): Promise<string> {
  const h = createHash('sha256').update(parts.join('\0'));
  for (const rel of await listFiles(overlayDir)) {
    h.update(`\0${rel}\0`).update(await readFile(join(overlayDir, rel)));
  }
  return h.digest('hex').slice(0, 16);
}

/** Hash of everything that goes into the rootfs image. */
export function recipeHash(recipeText: string, overlayDir: string): Promise<string> {
  return imageHash([BUILDER_VERSION, recipeText], overlayDir);
}

export function mmdebstrapArgs(r: RootfsRecipe, target: string): string[] {
  return [
    '--mode=root',
    `--variant=${r.variant}`,
    `--components=${r.components.join(',')}`,
    `--include=${r.include.join(',')}`,
    ...r.excludePaths.map((p) => `--dpkgopt=path-exclude=${p}`),
    '--aptopt=Acquire::Retries "3"',
    r.suite,
    target,
    r.mirror,
  ];
}

/** Image size: the tree plus a third for the guest's writes, in MiB. */
export function imageSizeMiB(treeBytes: number): number {
  return Math.ceil((treeBytes * 1.35) / (1 << 20)) + 64;
}

export interface RootfsOptions {
  recipePath: string;
  overlayDir: string;
  cacheDir: string;
  signal?: AbortSignal;
  onStep?: (step: string) => void;
}

/** A guest image in the cache: the raw ext4 disk and what the lab takes from it. */
export interface CachedImage {
  hash: string;
  image: string;
  /** The guest's SSH host key (OpenSSH public key line). */
  hostKey: string;
  busybox: string;
  sizeBytes: number;
  cached: boolean;
}

/** How to build a cached guest image (lab/images.ts, lab/release-image.ts). */
export interface ImageBuild {
  /** Cache entry: <cacheDir>/images/<name>-<hash>. */
  name: string;
  hash: string;
  cacheDir: string;
  /** "guest rootfs", "release rootfs": for errors. */
  what: string;
  recipeText: string;
  overlayDir: string;
  /** mmdebstrap's arguments for the tree (may fetch what they name first). */
  mmdebstrap: (tree: string) => Promise<string[]>;
  mmdebstrapTimeoutMs: number;
  /** After the overlay files are in the tree. */
  customize?: (tree: string) => Promise<void>;
  /** mke2fs options besides the label, root owner, tree and size. */
  mkfsOptions: readonly string[];
  sizeMiB: (treeBytes: number) => number;
  /** Written into the complete marker. */
  note?: string;
  signal?: AbortSignal;
  onStep?: (step: string) => void;
}

/**
 * The cached image, built when missing: mmdebstrap into a scratch tree of
 * its own, the overlay files, an ext4 disk of the tree (mke2fs -d), the
 * host key and busybox kept beside it, published by rename.
 */
export async function ensureImage(o: ImageBuild): Promise<CachedImage> {
  const dir = join(o.cacheDir, 'images', `${o.name}-${o.hash}`);
  const result = async (cached: boolean): Promise<CachedImage> => ({
    hash: o.hash,
    image: join(dir, 'root.img'),
    hostKey: (await readFile(join(dir, 'ssh_host_ed25519_key.pub'), 'utf8')).trim(),
    busybox: join(dir, 'busybox'),
    sizeBytes: (await stat(join(dir, 'root.img'))).blocks * 512,
    cached,
  });
  if (isComplete(dir)) return result(true);

  // Its own scratch: two jobs of one run may build the same image at once
  // (publish keeps the first; the other uses it).
  const tmp = join(o.cacheDir, 'images', `.tmp-${o.name}-${o.hash}-${process.pid}-${randomBytes(4).toString('hex')}`);
  const tree = join(tmp, 'tree');
  const out = join(tmp, 'out');
  await mkdir(out, { recursive: true });
  try {
    await runChecked('mmdebstrap', await o.mmdebstrap(tree), {
      timeoutMs: o.mmdebstrapTimeoutMs,
      signal: o.signal,
      logFile: join(tmp, 'mmdebstrap.log'),
    });
    await cp(o.overlayDir, tree, { recursive: true });
    await o.customize?.(tree);
    await copyFile(join(tree, 'etc', 'ssh', 'ssh_host_ed25519_key.pub'), join(out, 'ssh_host_ed25519_key.pub'));
    await copyFile(join(tree, 'bin', 'busybox'), join(out, 'busybox'));
    await chmod(join(out, 'busybox'), 0o755);
    const used = Number((await runChecked('du', ['-sb', tree], { timeoutMs: 120_000 })).split(/\s/)[0]);
    o.onStep?.('mke2fs');
    await runChecked(
      'mke2fs',
      ['-q', '-t', 'ext4', ...o.mkfsOptions, '-L', 'nexus-root', '-E', 'root_owner=0:0', '-d', tree,
        join(out, 'root.img'), `${o.sizeMiB(used)}M`],
      { timeoutMs: 900_000, signal: o.signal },
    );
    await writeFile(join(out, 'recipe.json'), o.recipeText);
    await writeFile(join(out, COMPLETE), `${new Date().toISOString()}${o.note ? `\n${o.note}` : ''}\n`);
    await publish(out, dir);
  } catch (e) {
    const log = await readFile(join(tmp, 'mmdebstrap.log'), 'utf8').catch(() => '');
    const tail = log.trim().split('\n').slice(-8).join('\n');
    throw new Error(`building the ${o.what} failed: ${(e as Error).message}${tail ? `\n${tail}` : ''}`);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return result(false);
}

/** The cached rootfs image for the recipe, built when missing. */
export async function ensureRootfs(o: RootfsOptions): Promise<Rootfs> {
  const recipeText = await readFile(o.recipePath, 'utf8');
  const recipe = parseRecipe(recipeText);
  return ensureImage({
    name: 'rootfs',
    hash: await recipeHash(recipeText, o.overlayDir),
    cacheDir: o.cacheDir,
    what: 'guest rootfs',
    recipeText,
    overlayDir: o.overlayDir,
    mmdebstrap: async (tree) => {
      o.onStep?.(`mmdebstrap ${recipe.suite} (${recipe.include.length} packages)`);
      return mmdebstrapArgs(recipe, tree);
    },
    mmdebstrapTimeoutMs: 900_000,
    // Nothing below is used without systemd; drop what would only confuse.
    customize: (tree) => rm(join(tree, 'etc', 'machine-id'), { force: true }),
    // No journal: the disk is a throw-away snapshot.
    mkfsOptions: ['-O', '^has_journal'],
    sizeMiB: imageSizeMiB,
    ...(o.signal ? { signal: o.signal } : {}),
    ...(o.onStep ? { onStep: o.onStep } : {}),
  });
}

/**
 * Kernel modules every quick-profile guest loads before its root is mounted
 * (those built into a kernel are skipped): the cloud flavour builds ext4 in,
 * the generic and rt flavours do not.  ext4 asks the crypto API for crc32c
 * at mount time, and nothing in the initramfs could load it on demand.
 */
export const BOOT_MODULES = ['virtio_pci', 'virtio_blk', 'virtio_net', 'crc32c_generic', 'ext4'];

/**
 * Kernel modules the scenarios use, loaded after the boot modules when the
 * kernel has them (skipped when it has not): loop, for the node-monitor
 * suite's loop-mounted ext4 image (the guest has no modprobe on demand).
 */
export const SCENARIO_MODULES = ['loop'];

/** What sshd prints on the console (it runs with -e) once it listens. */
export const SSHD_LISTENING = /Server listening on \S+ port 22\b/;

/** Where the payload lands in the guest. */
export const GUEST_MODULES_DIR = '/opt/nexus/modules';
export const GUEST_SCENARIOS_DIR = '/opt/nexus/scenarios';

export interface InitramfsRequest {
  workDir: string;
  output: string;
  rootfs: Rootfs;
  initScript: string;
  kernel: KernelTree;
  nexusModules: readonly BuiltModule[];
  /** Compiled scenario bundle (the runner and the suites). */
  bundleDir: string;
  authorizedKey: string;
  signal?: AbortSignal;
}

async function decompressModule(src: string, dest: string, signal?: AbortSignal): Promise<void> {
  const tool = src.endsWith('.xz') ? 'xz' : src.endsWith('.zst') ? 'zstd' : src.endsWith('.gz') ? 'gzip' : undefined;
  if (!tool) {
    await copyFile(src, dest);
    return;
  }
  await runChecked('bash', ['-c', `${tool} -dc -- "$1" > "$2"`, '_', src, dest], { timeoutMs: 60_000, signal });
}

/** Assemble a job's initramfs (newc cpio); returns its size in bytes. */
export async function buildInitramfs(r: InitramfsRequest): Promise<number> {
  const root = join(r.workDir, 'initramfs');
  await rm(root, { recursive: true, force: true });
  for (const d of ['bin', 'lib/modules', 'proc', 'sys', 'dev', 'newroot', 'payload/root/.ssh']) {
    await mkdir(join(root, d), { recursive: true });
  }
  await copyFile(r.rootfs.busybox, join(root, 'bin', 'busybox'));
  await chmod(join(root, 'bin', 'busybox'), 0o755);
  await copyFile(r.initScript, join(root, 'init'));
  await chmod(join(root, 'init'), 0o755);

  const deps = parseModulesDep(await readFile(join(r.kernel.modules, 'modules.dep'), 'utf8'));
  const builtin = parseModulesBuiltin(await readFile(join(r.kernel.modules, 'modules.builtin'), 'utf8').catch(() => ''));
  const load: string[] = [];
  const paths = moduleClosure(BOOT_MODULES, deps, builtin);
  for (const m of SCENARIO_MODULES) {
    let more: string[] = [];
    try {
      more = moduleClosure([m], deps, builtin);
    } catch {
      // Not in this kernel: the scenarios that need it say so.
    }
    for (const p of more) if (!paths.includes(p)) paths.push(p);
  }
  for (const path of paths) {
    const name = `${moduleName(path)}.ko`;
    await decompressModule(join(r.kernel.modules, path), join(root, 'lib', 'modules', name), r.signal);
    load.push(name);
  }
  await writeFile(join(root, 'modules.load'), `${load.join('\n')}\n`);

  const payload = join(root, 'payload');
  const modDir = join(payload, GUEST_MODULES_DIR);
  await mkdir(modDir, { recursive: true });
  for (const m of r.nexusModules) await copyFile(m.path, join(modDir, basename(m.path)));
  await cp(r.bundleDir, join(payload, GUEST_SCENARIOS_DIR), { recursive: true });
  await writeFile(join(payload, GUEST_SCENARIOS_DIR, 'package.json'), '{ "type": "module" }\n');
  await chmod(join(payload, 'root'), 0o700);
  await chmod(join(payload, 'root', '.ssh'), 0o700);
  await writeFile(join(payload, 'root', '.ssh', 'authorized_keys'), `${r.authorizedKey}\n`, { mode: 0o600 });

  await runChecked(
    'bash',
    ['-c', 'cd "$1" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet > "$2"', '_', root, r.output],
    { timeoutMs: 120_000, signal: r.signal },
  );
  await rm(root, { recursive: true, force: true });
  return (await stat(r.output)).size;
}
