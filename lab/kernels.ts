// The kernel matrix: Debian kernel packages named by series + flavour, resolved
// to exact package versions, downloaded with `apt-get download` (never
// installed on the host) and extracted into a cache keyed by package version.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { COMPLETE, isComplete, publish } from './cache.js';
import { compareDebVersions } from './debversion.js';
import { describeEnd, run, runChecked } from './proc.js';

export interface KernelSpec {
  /** Short name used in job ids and on the command line, e.g. "6.12-cloud". */
  id: string;
  /** Upstream series, e.g. "6.1" or "6.12". */
  series: string;
  /** Debian flavour, e.g. "cloud-amd64", "amd64", "rt-amd64". */
  flavour: string;
  /** Exact Debian package version to use instead of the newest. */
  version?: string;
  /** Part of the default matrix. */
  default?: boolean;
  /** Names that select it with others on the command line (`--kernels debug`). */
  groups?: string[];
  /**
   * Built by the lab from linux-source-<series> at the version the packages
   * resolve to, with the packaged kernel's config plus this fragment
   * (lab/debug-kernel.ts); absolute paths once loaded.
   */
  build?: { fragment: string; script: string };
  /** How much slower than a packaged kernel its guests run (scales the runner's deadlines). */
  slowdown?: number;
  /** Kernel parameters its quick-profile guests boot with, besides the lab's own. */
  append?: string[];
}

export interface KernelMatrix {
  kernels: KernelSpec[];
}

export interface KernelPackages {
  image: string;
  headers: string;
  common: string;
  kbuild: string;
}

export interface ResolvedKernel {
  id: string;
  series: string;
  flavour: string;
  /** Debian ABI name, e.g. "6.1.0-56" or "6.12.117+deb12". */
  abi: string;
  /** `uname -r` of the kernel, e.g. "6.1.0-56-cloud-amd64". */
  release: string;
  /** Exact Debian package version shared by all four packages. */
  version: string;
  packages: KernelPackages;
}

export interface KernelTree {
  release: string;
  version: string;
  root: string;
  vmlinuz: string;
  config: string;
  /** The kernel's build tree (KERNEL_SRC). */
  headers: string;
  /** /lib/modules/<release> inside the extracted tree, with modules.dep. */
  modules: string;
  cached: boolean;
}

const ID_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** Validate a parsed kernels.json; throws with a message naming the bad entry. */
export function parseMatrix(text: string, origin = 'kernels.json'): KernelMatrix {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (e) {
    throw new Error(`${origin}: not valid JSON: ${(e as Error).message}`);
  }
  const list = (data as { kernels?: unknown }).kernels;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`${origin}: "kernels" must be a non-empty array`);
  const seen = new Set<string>();
  const kernels = list.map((raw, i): KernelSpec => {
    const k = raw as Record<string, unknown>;
    const where = `${origin}: kernels[${i}]`;
    for (const f of ['id', 'series', 'flavour'] as const) {
      if (typeof k[f] !== 'string' || k[f] === '') throw new Error(`${where}: "${f}" must be a non-empty string`);
    }
    const spec: KernelSpec = { id: k.id as string, series: k.series as string, flavour: k.flavour as string };
    if (!ID_RE.test(spec.id)) throw new Error(`${where}: id '${spec.id}' may only use letters, digits, '.', '_' and '-'`);
    if (!/^\d+\.\d+$/.test(spec.series)) throw new Error(`${where}: series '${spec.series}' must look like 6.1`);
    if (!/^[a-z0-9-]+$/.test(spec.flavour)) throw new Error(`${where}: flavour '${spec.flavour}' is not a Debian flavour`);
    if (seen.has(spec.id)) throw new Error(`${where}: duplicate id '${spec.id}'`);
    seen.add(spec.id);
    if (spec.id === 'all') throw new Error(`${where}: 'all' names every kernel and cannot be an id`);
    if (k.version !== undefined) {
      if (typeof k.version !== 'string' || k.version === '') throw new Error(`${where}: "version" must be a string`);
      spec.version = k.version;
    }
    if (k.default !== undefined) {
      if (typeof k.default !== 'boolean') throw new Error(`${where}: "default" must be true or false`);
      spec.default = k.default;
    }
    if (k.groups !== undefined) {
      const g = k.groups;
      if (!Array.isArray(g) || !g.every((x) => typeof x === 'string' && ID_RE.test(x))) {
        throw new Error(`${where}: "groups" must be an array of names (letters, digits, '.', '_', '-')`);
      }
      spec.groups = g as string[];
    }
    if (k.build !== undefined) {
      const b = k.build as Record<string, unknown> | null;
      if (typeof b !== 'object' || b === null || typeof b.fragment !== 'string' || typeof b.script !== 'string') {
        throw new Error(`${where}: "build" must be { "fragment": PATH, "script": PATH }`);
      }
      spec.build = { fragment: b.fragment, script: b.script };
    }
    if (k.append !== undefined) {
      const a = k.append;
      if (!Array.isArray(a) || !a.every((x) => typeof x === 'string' && /^[^\s"']+$/.test(x))) {
        throw new Error(`${where}: "append" must be an array of kernel parameters (no spaces or quotes)`);
      }
      spec.append = a as string[];
    }
    if (k.slowdown !== undefined) {
      if (typeof k.slowdown !== 'number' || !(k.slowdown >= 1)) throw new Error(`${where}: "slowdown" must be a number of at least 1`);
      spec.slowdown = k.slowdown;
    }
    return spec;
  });
  for (const g of kernels.flatMap((k) => k.groups ?? [])) {
    if (seen.has(g) || g === 'all') throw new Error(`${origin}: group '${g}' is also a kernel id`);
  }
  return { kernels };
}

export async function loadMatrix(path: string): Promise<KernelMatrix> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read kernel matrix ${path}: ${(e as Error).message}`);
  }
  const matrix = parseMatrix(text, path);
  // A build's files are named relative to the matrix file.
  for (const k of matrix.kernels) {
    if (k.build) k.build = { fragment: resolve(dirname(path), k.build.fragment), script: resolve(dirname(path), k.build.script) };
  }
  return matrix;
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * The image packages of a spec among package names, with their ABI.
 * 6.1 ABIs look like "6.1.0-56", 6.12 ones like "6.12.117+deb12".
 */
export function matchImagePackages(spec: KernelSpec, names: readonly string[]): { name: string; abi: string }[] {
  const re = new RegExp(
    `^linux-image-(${escapeRe(spec.series)}\\.[0-9][^-]*(?:-[0-9]+)?)-${escapeRe(spec.flavour)}-unsigned$`,
  );
  const out: { name: string; abi: string }[] = [];
  for (const name of names) {
    const m = re.exec(name);
    if (m) out.push({ name, abi: m[1]! });
  }
  return out;
}

/** Parse `apt-cache madison` output: "name | version | source" lines. */
export function parseMadison(text: string): { name: string; version: string }[] {
  const out: { name: string; version: string }[] = [];
  for (const line of text.split('\n')) {
    const parts = line.split('|').map((p) => p.trim());
    if (parts.length >= 3 && parts[0] && parts[1]) out.push({ name: parts[0], version: parts[1] });
  }
  return out;
}

/** Pick the newest candidate (or the pinned version) of a spec. */
export function chooseKernel(
  spec: KernelSpec,
  images: readonly { name: string; abi: string }[],
  versions: readonly { name: string; version: string }[],
): { image: string; abi: string; version: string } {
  const abiOf = new Map(images.map((i) => [i.name, i.abi]));
  const candidates = versions.filter((v) => abiOf.has(v.name));
  if (candidates.length === 0) {
    throw new Error(
      `no Debian package linux-image-${spec.series}.*-${spec.flavour}-unsigned is known to apt` +
        ' (run apt-get update, and check the series and flavour in kernels.json)',
    );
  }
  let chosen: { name: string; version: string } | undefined;
  if (spec.version !== undefined) {
    chosen = candidates.find((c) => c.version === spec.version);
    if (!chosen) {
      const known = [...new Set(candidates.map((c) => c.version))].sort(compareDebVersions).join(', ');
      throw new Error(`kernel ${spec.id}: pinned version ${spec.version} is not available (known: ${known})`);
    }
  } else {
    chosen = candidates.reduce((best, c) => (compareDebVersions(c.version, best.version) > 0 ? c : best));
  }
  return { image: chosen.name, abi: abiOf.get(chosen.name)!, version: chosen.version };
}

/** From `apt-cache show` of a headers package: its -common and kbuild packages. */
export function parseHeaderDepends(showText: string): { common: string; kbuild: string } {
  const line = showText.split('\n').find((l) => l.startsWith('Depends:'));
  if (!line) throw new Error('headers package has no Depends field');
  const names = line
    .slice('Depends:'.length)
    .split(/[,|]/)
    .map((d) => d.trim().split(/[\s(]/)[0]!)
    .filter(Boolean);
  const common = names.find((n) => /^linux-headers-.+-common(-rt)?$/.test(n));
  const kbuild = names.find((n) => n.startsWith('linux-kbuild-'));
  if (!common || !kbuild) throw new Error(`cannot find the -common and kbuild packages in '${line.trim()}'`);
  return { common, kbuild };
}

const APT_TIMEOUT = 120_000;

/** Split `apt-cache show` output into its package stanzas. */
export function splitStanzas(text: string): { package: string; version: string; text: string }[] {
  return text
    .split(/\n\s*\n/)
    .map((t) => ({
      package: /^Package:\s*(\S+)/m.exec(t)?.[1] ?? '',
      version: /^Version:\s*(\S+)/m.exec(t)?.[1] ?? '',
      text: t,
    }))
    .filter((st) => st.package !== '');
}

/**
 * Resolve specs to exact packages with apt-cache (reads the host's package
 * lists only).  Each apt-cache call loads the whole cache (about a second),
 * so all specs share three calls; a spec that cannot be resolved gets its
 * own error and does not stop the others.
 */
export async function resolveKernels(
  specs: readonly KernelSpec[],
  signal?: AbortSignal,
): Promise<Map<string, ResolvedKernel | Error>> {
  const opts = { timeoutMs: APT_TIMEOUT, signal };
  const out = new Map<string, ResolvedKernel | Error>();
  const attempt = <T>(spec: KernelSpec, fn: () => T): T | undefined => {
    try {
      return fn();
    } catch (e) {
      out.set(spec.id, e as Error);
      return undefined;
    }
  };

  const names = (await runChecked('apt-cache', ['pkgnames', 'linux-image-'], opts)).split('\n');
  const images = new Map(specs.map((spec) => [spec.id, matchImagePackages(spec, names)]));
  const candidates = [...new Set([...images.values()].flat().map((i) => i.name))];
  const versions = candidates.length > 0 ? parseMadison(await runChecked('apt-cache', ['madison', ...candidates], opts)) : [];

  const chosen = specs.flatMap((spec) => {
    const c = attempt(spec, () => chooseKernel(spec, images.get(spec.id)!, versions));
    return c ? [{ spec, ...c, headers: `linux-headers-${c.abi}-${spec.flavour}` }] : [];
  });
  if (chosen.length === 0) return out;

  // Not runChecked: one missing headers package must not hide the others.
  const show = await run('apt-cache', ['show', ...chosen.map((c) => `${c.headers}=${c.version}`)], opts);
  const stanzas = splitStanzas(show.stdout);
  for (const c of chosen) {
    attempt(c.spec, () => {
      const stanza = stanzas.find((st) => st.package === c.headers && st.version === c.version);
      if (!stanza) throw new Error(`apt-cache knows no ${c.headers} ${c.version}: ${show.stderr.trim() || describeEnd(show)}`);
      const { common, kbuild } = parseHeaderDepends(stanza.text);
      out.set(c.spec.id, {
        id: c.spec.id,
        series: c.spec.series,
        flavour: c.spec.flavour,
        abi: c.abi,
        release: `${c.abi}-${c.spec.flavour}`,
        version: c.version,
        packages: { image: c.image, headers: c.headers, common, kbuild },
      });
    });
  }
  return out;
}

/** Cache directory name of a resolved kernel: exact release and package version. */
export function kernelCacheKey(k: ResolvedKernel): string {
  return `${k.release}_${k.version}`.replace(/[^A-Za-z0-9._+-]/g, '_');
}

function treeOf(root: string, k: ResolvedKernel, cached: boolean): KernelTree {
  return {
    release: k.release,
    version: k.version,
    root,
    vmlinuz: join(root, 'boot', `vmlinuz-${k.release}`),
    config: join(root, 'boot', `config-${k.release}`),
    headers: join(root, 'usr', 'src', `linux-headers-${k.release}`),
    modules: join(root, 'lib', 'modules', k.release),
    cached,
  };
}

/**
 * Debian's headers Makefile includes its -common tree by absolute path
 * (/usr/src/...); point it into the extracted tree instead.
 */
export function relocateHeadersMakefile(text: string, root: string): string {
  return text.replace(/^(\s*include\s+)\/usr\/src\//gm, `$1${root}/usr/src/`);
}

/** Download (kernelDebs) and extract a kernel's packages into the cache, or reuse them. */
export async function fetchKernel(
  k: ResolvedKernel,
  cacheDir: string,
  signal?: AbortSignal,
  onStep?: (step: string) => void,
): Promise<KernelTree> {
  const base = join(cacheDir, 'kernels');
  const final = join(base, kernelCacheKey(k));
  if (isComplete(final)) return treeOf(final, k, true);

  const tmp = join(base, `.tmp-${kernelCacheKey(k)}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  const root = join(tmp, 'root');
  await mkdir(root, { recursive: true });
  try {
    // The packages are kept (kernelDebs): a release image installs them.
    onStep?.(`download ${k.release} ${k.version}`);
    const debs = await kernelDebs(k, cacheDir, signal);
    onStep?.(`extract ${k.release}`);
    for (const deb of debs.files) {
      await runChecked('dpkg-deb', ['-x', deb, root], { timeoutMs: 300_000, signal });
    }
    const tree = treeOf(root, k, false);
    const makefile = join(tree.headers, 'Makefile');
    await writeFile(makefile, relocateHeadersMakefile(await readFile(makefile, 'utf8'), final));
    // The image package does not ship modules.dep: generate it in the tree.
    await runChecked('depmod', ['-b', root, k.release], { timeoutMs: 120_000, signal });
    await writeFile(join(root, COMPLETE), JSON.stringify({ ...k, fetchedAt: new Date().toISOString() }, null, 2));
    await publish(root, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return treeOf(final, k, false);
}

export interface KernelDebs {
  /** uname -r of the kernel. */
  release: string;
  /** The four packages' .deb files: image, headers, common, kbuild. */
  files: string[];
}

/**
 * The kernel's four packages as .deb files, downloaded once into their own
 * cache entry: fetchKernel extracts them, a release image installs them.
 */
export async function kernelDebs(k: ResolvedKernel, cacheDir: string, signal?: AbortSignal): Promise<KernelDebs> {
  const final = join(cacheDir, 'kernels', `debs-${kernelCacheKey(k)}`);
  const list = async () => ({
    release: k.release,
    files: (await readdir(final)).filter((f) => f.endsWith('.deb')).sort().map((f) => join(final, f)),
  });
  if (isComplete(final)) return list();
  // Its own scratch: two release jobs of one run may fetch the same kernel at once.
  const tmp = join(cacheDir, 'kernels', `.tmp-debs-${kernelCacheKey(k)}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const pkgs = [k.packages.image, k.packages.headers, k.packages.common, k.packages.kbuild];
    await runChecked('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', ...pkgs.map((p) => `${p}=${k.version}`)], {
      cwd: tmp,
      timeoutMs: 600_000,
      signal,
    });
    const got = (await readdir(tmp)).filter((f) => f.endsWith('.deb'));
    if (got.length !== pkgs.length) throw new Error(`apt-get download gave ${got.length} .deb files for ${k.release}, not ${pkgs.length}`);
    await writeFile(join(tmp, COMPLETE), JSON.stringify({ ...k, fetchedAt: new Date().toISOString() }, null, 2));
    await publish(tmp, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return list();
}
