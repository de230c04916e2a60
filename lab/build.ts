// Module builds: a Nexus source tree (the DKMS contract: dkms.conf and a
// Makefile taking KERNEL_SRC) built out of tree against one kernel's
// extracted headers, with W=1, cached by source hash and kernel version.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile, rm, stat, symlink, writeFile, copyFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { COMPLETE, isComplete, publish } from './cache.js';
import { hashFiles, listFiles } from './files.js';
import { run, runChecked, describeEnd, succeeded } from './proc.js';
import type { KernelTree } from './kernels.js';

export interface DkmsModule {
  name: string;
  /** Directory of the built .ko, relative to the tree root ("" = root). */
  location: string;
}

export interface DkmsConf {
  packageName?: string;
  packageVersion?: string;
  make?: string;
  modules: DkmsModule[];
}

/** Parse the parts of a dkms.conf the lab needs (it is a shell fragment). */
export function parseDkmsConf(text: string): DkmsConf {
  const names = new Map<number, string>();
  const locations = new Map<number, string>();
  const conf: DkmsConf = { modules: [] };
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([A-Z_]+)(?:\[(\d+)\])?=(.*)$/.exec(line);
    if (!m) continue;
    const key = m[1]!;
    const index = m[2] === undefined ? 0 : Number(m[2]);
    let value = m[3]!.trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) {
      value = value.slice(1, -1);
    }
    if (key === 'PACKAGE_NAME') conf.packageName = value;
    else if (key === 'PACKAGE_VERSION') conf.packageVersion = value;
    else if (key === 'MAKE' && index === 0) conf.make = value;
    else if (key === 'BUILT_MODULE_NAME') names.set(index, value);
    else if (key === 'BUILT_MODULE_LOCATION') locations.set(index, value.replace(/^\/+|\/+$/g, ''));
  }
  for (const [i, name] of [...names].sort((a, b) => a[0] - b[0])) {
    conf.modules.push({ name, location: locations.get(i) ?? '' });
  }
  return conf;
}

/** The first compiler or make error of a build log, with the scratch path taken out. */
export function firstError(log: string, scratch: string): string | undefined {
  const line = log.split('\n').find((l) => /\berror:|^ERROR:|\*\*\* No rule/.test(l));
  return line?.split(`${scratch}/`).join('').trim();
}

/** Count compiler and modpost warnings in a build log. */
export function countWarnings(log: string): number {
  return log.split('\n').filter((l) => /\bwarning:/i.test(l)).length;
}

const BUILD_DEBRIS = /(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.order|\.symvers|\.a|\.d)$|(^|\/)\.tmp_versions(\/|$)/;

function isSourceFile(rel: string): boolean {
  if (rel.split('/').some((p) => p === '.git' || p === 'node_modules')) return false;
  return !BUILD_DEBRIS.test(rel);
}

/** Content hash of a source tree (paths, modes and contents; build debris ignored). */
export function hashSourceTree(dir: string): Promise<string> {
  return hashFiles(dir, isSourceFile);
}

export interface SourceTree {
  path: string;
  hash: string;
  dkms: DkmsConf;
  hasDkmsConf: boolean;
  /** Where the tree's dkms.conf is, relative to the tree ("dkms.conf" or "debian/<package>.dkms"). */
  confPath?: string;
}

/** The variables DKMS defines before it sources dkms.conf (dkms(8)), for one kernel. */
export interface DkmsVars {
  kernelver: string;
  kernel_source_dir: string;
  arch: string;
  parallel_jobs: string;
  dkms_tree: string;
  source_tree: string;
}

/** The dkms.conf of a tree: at its root, else the Debian layout's debian/<package>.dkms (what dh_dkms installs as dkms.conf). */
export async function findDkmsConf(path: string): Promise<string | undefined> {
  if (existsSync(join(path, 'dkms.conf'))) return 'dkms.conf';
  const debian = join(path, 'debian');
  if (!existsSync(debian)) return undefined;
  const found = (await readdir(debian)).filter((f) => f.endsWith('.dkms')).sort();
  if (found.length > 1) {
    throw new Error(`${path} has several DKMS configurations (${found.map((f) => `debian/${f}`).join(', ')}): the lab builds one tree at a time; give it a tree with one`);
  }
  return found.length === 1 ? `debian/${found[0]}` : undefined;
}

/** The upstream version of debian/changelog's first entry ("pkg (1.2-3) ..." gives 1.2), what dh_dkms puts for #MODULE_VERSION#. */
export function changelogVersion(text: string): string | undefined {
  const m = /^\S+ \(([^)\s]+)\)/.exec(text);
  if (!m) return undefined;
  const version = m[1]!.replace(/^\d+:/, '');
  const dash = version.lastIndexOf('-');
  return dash > 0 ? version.slice(0, dash) : version;
}

// Sources dkms.conf as DKMS does (a shell fragment, with DKMS's variables
// set) and prints what the lab needs, NUL-separated.
const DKMS_EVAL = `
set +e
. "$1" >&2 || exit 3
for v in PACKAGE_NAME PACKAGE_VERSION; do printf '%s\\0%s\\0' "$v" "\${!v}"; done
printf 'MAKE\\0%s\\0' "\${MAKE[0]}"
for i in "\${!BUILT_MODULE_NAME[@]}"; do
  printf 'BUILT_MODULE_NAME[%s]\\0%s\\0BUILT_MODULE_LOCATION[%s]\\0%s\\0' "$i" "\${BUILT_MODULE_NAME[$i]}" "$i" "\${BUILT_MODULE_LOCATION[$i]}"
done
`;

/** The DKMS variables for a build of `tree` against `kernel`, laid out as DKMS lays out its tree. */
export function dkmsVars(kernel: { release: string; headers: string }, dkmsTree: string, sourceTree: string): DkmsVars {
  return {
    kernelver: kernel.release,
    kernel_source_dir: kernel.headers,
    arch: 'x86_64',
    parallel_jobs: String(Math.max(1, availableParallelism())),
    dkms_tree: dkmsTree,
    source_tree: sourceTree,
  };
}

/**
 * Evaluate a dkms.conf the way DKMS does: source it in bash with DKMS's
 * variables (and module/module_version) set, then read PACKAGE_NAME,
 * PACKAGE_VERSION, MAKE[0] and the BUILT_MODULE_* arrays as they came out.
 * A #MODULE_VERSION# placeholder (the Debian layout) takes debian/changelog's
 * version, as dh_dkms would.
 */
export async function evalDkmsConf(tree: string, confRel: string, vars: DkmsVars, signal?: AbortSignal): Promise<DkmsConf> {
  const first = parseDkmsConf(await readFile(join(tree, confRel), 'utf8'));
  let version = first.packageVersion;
  if (version === '#MODULE_VERSION#' || version === undefined) {
    const changelog = join(tree, 'debian', 'changelog');
    version = existsSync(changelog) ? changelogVersion(await readFile(changelog, 'utf8')) ?? version : version;
  }
  const env: Record<string, string> = {
    ...vars,
    module: first.packageName ?? '',
    module_version: version ?? '',
  };
  const r = await run('bash', ['-c', DKMS_EVAL, 'dkms-eval', resolve(tree, confRel)], { cwd: tree, env, timeoutMs: 30_000, signal, buffer: true });
  if (!succeeded(r)) throw new Error(`${confRel} cannot be sourced by bash as DKMS sources it (${describeEnd(r)}): ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  const parts = r.stdout.split('\0');
  const values = new Map<string, string>();
  for (let i = 0; i + 1 < parts.length; i += 2) values.set(parts[i]!, parts[i + 1]!);
  const conf: DkmsConf = { modules: [] };
  const name = values.get('PACKAGE_NAME');
  if (name) conf.packageName = name;
  const v = values.get('PACKAGE_VERSION');
  conf.packageVersion = v === '#MODULE_VERSION#' || !v ? version : v;
  const make = values.get('MAKE');
  if (make) conf.make = make;
  for (const [key, value] of values) {
    const m = /^BUILT_MODULE_NAME\[(\d+)\]$/.exec(key);
    if (m && value) conf.modules.push({ name: value, location: (values.get(`BUILT_MODULE_LOCATION[${m[1]}]`) ?? '').replace(/^\/+|\/+$/g, '') });
  }
  return conf;
}

/** DKMS's own MAKE when dkms.conf gives none: kbuild run on the build directory. */
export function defaultDkmsMake(vars: DkmsVars, buildDir: string): string {
  return `make -j${vars.parallel_jobs} KERNELRELEASE=${vars.kernelver} -C ${vars.kernel_source_dir} M=${buildDir}`;
}

/**
 * Check that a directory is a tree DKMS would take and describe it: a
 * dkms.conf (at the root or as debian/<package>.dkms) naming at least one
 * module, or, without one, a top-level Makefile taking KERNEL_SRC.
 */
export async function inspectSource(path: string, signal?: AbortSignal): Promise<SourceTree> {
  let st;
  try {
    st = await stat(path);
  } catch {
    throw new Error(`--source ${path}: no such file or directory`);
  }
  if (!st.isDirectory()) throw new Error(`--source ${path} is not a directory (give the root of a Nexus source tree)`);
  const confPath = await findDkmsConf(path);
  if (confPath === undefined) {
    if (!existsSync(join(path, 'Makefile'))) {
      throw new Error(
        `${path} is not a Nexus source tree: it has no dkms.conf, no debian/*.dkms and no Makefile ` +
          '(the lab builds what DKMS builds: a dkms.conf naming MAKE[0] and BUILT_MODULE_NAME[i], or a Makefile taking KERNEL_SRC)',
      );
    }
    return { path, hash: await hashSourceTree(path), dkms: { modules: [] }, hasDkmsConf: false };
  }
  const vars = dkmsVars({ release: 'KERNELVER', headers: '/lib/modules/KERNELVER/build' }, '/var/lib/dkms', '/usr/src');
  const dkms = await evalDkmsConf(path, confPath, vars, signal);
  if (dkms.modules.length === 0) {
    throw new Error(`${join(path, confPath)} names no module: DKMS needs BUILT_MODULE_NAME[0] (and BUILT_MODULE_LOCATION[0] when it is not built at the top)`);
  }
  if (!dkms.make && !existsSync(join(path, 'Kbuild')) && !existsSync(join(path, 'Makefile'))) {
    throw new Error(`${join(path, confPath)} has no MAKE[0] and the tree has no top-level Kbuild or Makefile for DKMS's default make`);
  }
  return { path, hash: await hashSourceTree(path), dkms, hasDkmsConf: true, confPath };
}

export interface BuiltModule {
  name: string;
  /** Path of the .ko in the build cache. */
  path: string;
  /** Module names this one depends on (from modinfo). */
  depends: string[];
}

export interface BuildResult {
  ok: boolean;
  cached: boolean;
  durationMs: number;
  warnings: number;
  /** Built modules in load order (dependencies first). */
  modules: BuiltModule[];
  /** Why the build failed. */
  error?: string;
}

/** Order modules so that each comes after the modules it depends on. */
export function loadOrder(mods: readonly BuiltModule[]): BuiltModule[] {
  const byName = new Map(mods.map((m) => [m.name.replace(/-/g, '_'), m]));
  const out: BuiltModule[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (m: BuiltModule) => {
    const key = m.name.replace(/-/g, '_');
    const s = state.get(key);
    if (s === 'done') return;
    if (s === 'visiting') throw new Error(`module dependency cycle through ${m.name}`);
    state.set(key, 'visiting');
    for (const d of m.depends) {
      const dep = byName.get(d.replace(/-/g, '_'));
      if (dep) visit(dep);
    }
    state.set(key, 'done');
    out.push(m);
  };
  for (const m of [...mods].sort((a, b) => a.name.localeCompare(b.name))) visit(m);
  return out;
}

export interface BuildRequest {
  source: SourceTree;
  kernel: KernelTree;
  cacheDir: string;
  /** Where the job's build.log goes. */
  logPath: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

function buildKey(req: BuildRequest): string {
  return createHash('sha256')
    .update(`${req.source.hash}\0${req.kernel.release}\0${req.kernel.version}\0W=1\0v2`)
    .digest('hex')
    .slice(0, 24);
}

/** A build of this process that others of the same key wait for. */
interface Underway {
  result?: BuildResult;
  logPath: string;
  /** The job that built was stopped: its failure says nothing of the tree. */
  aborted: boolean;
}

/** Builds under way in this lab, by build key: the jobs of one kernel build it once. */
const underway = new Map<string, Promise<Underway>>();

function abortedBy(signal: AbortSignal | undefined): Promise<never> {
  return new Promise((_, reject) => {
    if (signal?.aborted) reject(signal.reason);
    signal?.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

/**
 * Build the tree against one kernel (see buildOnce).  When another job of
 * this lab is building the same thing, wait for it: its success is then in
 * the cache, its failure is this job's too (with its log); only a build
 * that was stopped is done again.
 */
export async function buildModules(req: BuildRequest): Promise<BuildResult> {
  const started = Date.now();
  const key = buildKey(req);
  const earlier = underway.get(key);
  if (earlier) {
    const first = await Promise.race([earlier, abortedBy(req.signal)]);
    if (first.result && !first.result.ok && !first.aborted) {
      const log = await readFile(first.logPath, 'utf8').catch(() => '');
      await writeFile(req.logPath, `# the build of ${first.logPath}, which failed\n${log}`);
      return { ...first.result, durationMs: Date.now() - started };
    }
  }
  const build = buildOnce(req, key, started);
  const mine: Promise<Underway> = build.then(
    (result) => ({ result, logPath: req.logPath, aborted: req.signal?.aborted ?? false }),
    () => ({ logPath: req.logPath, aborted: true }),
  );
  underway.set(key, mine);
  try {
    return await build;
  } finally {
    if (underway.get(key) === mine) underway.delete(key);
  }
}

/**
 * Build the tree against one kernel, or take it from the cache: the tree is
 * copied into a scratch directory (objects never land in the source), built
 * with the dkms.conf MAKE command (or `make KERNEL_SRC=...`) at W=1, and the
 * modules kept in the build cache.
 */
async function buildOnce(req: BuildRequest, key: string, started: number): Promise<BuildResult> {
  const cached = join(req.cacheDir, 'builds', key);
  if (isComplete(cached)) {
    const saved = JSON.parse(await readFile(join(cached, 'result.json'), 'utf8')) as BuildResult;
    const log = await readFile(join(cached, 'build.log'), 'utf8');
    await writeFile(req.logPath, `# reused from build cache ${key}\n${log}`);
    return {
      ...saved,
      cached: true,
      durationMs: Date.now() - started,
      modules: saved.modules.map((m) => ({ ...m, path: join(cached, 'modules', basename(m.path)) })),
    };
  }

  // Unique per build: two builds of one key (a stopped one done again) never share it.
  const scratch = join(req.cacheDir, 'builds', `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    // Laid out as DKMS lays it out: $dkms_tree/$module/$module_version/build
    // is the copy that is built, $source_tree/$module-$module_version the source.
    const name = req.source.dkms.packageName ?? 'nexus';
    const version = req.source.dkms.packageVersion ?? '0';
    const dkmsTree = join(scratch, 'dkms');
    const sourceTree = join(scratch, 'src');
    const tree = join(dkmsTree, name, version, 'build');
    await mkdir(sourceTree, { recursive: true });
    await cp(req.source.path, tree, {
      recursive: true,
      filter: (src) => isSourceFile(relative(req.source.path, src)),
    });
    await symlink(tree, join(sourceTree, `${name}-${version}`));
    const vars = dkmsVars(req.kernel, dkmsTree, sourceTree);
    const dkms = req.source.confPath ? await evalDkmsConf(tree, req.source.confPath, vars, req.signal) : req.source.dkms;
    const header =
      `# nexus-lab module build\n# source: ${req.source.path} (${req.source.hash.slice(0, 12)})` +
      `${req.source.confPath ? `, ${req.source.confPath}` : ''}\n` +
      `# kernel: ${req.kernel.release} ${req.kernel.version}\n# KERNEL_SRC=${req.kernel.headers}\n`;
    const env = {
      ...vars,
      module: name,
      module_version: version,
      KERNEL_SRC: req.kernel.headers,
      // Same as W=1 on the command line, whatever MAKE line the tree uses.
      KBUILD_EXTRA_WARN: '1',
    };
    const command = dkms.make ?? (req.source.confPath ? defaultDkmsMake(vars, tree) : `make KERNEL_SRC=${req.kernel.headers}`);
    await writeFile(req.logPath, `${header}# ${command}\n`);
    const r = await run('bash', ['-c', command], {
      cwd: tree,
      env,
      timeoutMs: req.timeoutMs,
      signal: req.signal,
      logFile: req.logPath,
      buffer: true,
    });
    const logText = await readFile(req.logPath, 'utf8');
    const warnings = countWarnings(logText);
    if (!succeeded(r)) {
      const first = firstError(logText, tree);
      const error = `build ${describeEnd(r)}${first ? `: ${first}` : ''}`;
      return { ok: false, cached: false, durationMs: Date.now() - started, warnings, modules: [], error };
    }

    const expected = dkms.modules.length > 0
      ? dkms.modules.map((m) => join(m.location, `${m.name}.ko`))
      : (await listFiles(tree)).filter((rel) => rel.endsWith('.ko'));
    const missing = expected.filter((rel) => !existsSync(join(tree, rel)));
    if (expected.length === 0 || missing.length > 0) {
      const what = expected.length === 0 ? 'no .ko file was produced' : `missing ${missing.join(', ')}`;
      return { ok: false, cached: false, durationMs: Date.now() - started, warnings, modules: [], error: `build succeeded but ${what}` };
    }

    const outDir = join(scratch, 'out');
    await mkdir(join(outDir, 'modules'), { recursive: true });
    const modules: BuiltModule[] = [];
    for (const rel of expected) {
      const name = basename(rel, '.ko');
      const dest = join(outDir, 'modules', `${name}.ko`);
      await copyFile(join(tree, rel), dest);
      const deps = (await runChecked('modinfo', ['-F', 'depends', dest], { timeoutMs: 30_000, signal: req.signal })).trim();
      modules.push({ name, path: join(cached, 'modules', `${name}.ko`), depends: deps ? deps.split(',') : [] });
    }
    const result: BuildResult = {
      ok: true,
      cached: false,
      durationMs: Date.now() - started,
      warnings,
      modules: loadOrder(modules),
    };
    await copyFile(req.logPath, join(outDir, 'build.log'));
    await writeFile(join(outDir, 'result.json'), JSON.stringify(result, null, 2));
    await writeFile(join(outDir, COMPLETE), new Date().toISOString());
    await publish(outDir, cached);
    return result;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}
