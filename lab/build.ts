// Module builds: a Nexus source tree (the DKMS contract: dkms.conf and a
// Makefile taking KERNEL_SRC) built out of tree against one kernel's
// extracted headers, with W=1, cached by source hash and kernel version.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
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
}

/** Check that a directory is a buildable Nexus tree and describe it. */
export async function inspectSource(path: string): Promise<SourceTree> {
  if (!existsSync(join(path, 'Makefile'))) {
    throw new Error(`${path} is not a Nexus source tree: it has no Makefile (the DKMS contract needs one taking KERNEL_SRC)`);
  }
  const confPath = join(path, 'dkms.conf');
  const hasDkmsConf = existsSync(confPath);
  const dkms = hasDkmsConf ? parseDkmsConf(await readFile(confPath, 'utf8')) : { modules: [] };
  return { path, hash: await hashSourceTree(path), dkms, hasDkmsConf };
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
    .update(`${req.source.hash}\0${req.kernel.release}\0${req.kernel.version}\0W=1\0v1`)
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
  const tree = join(scratch, 'src');
  await rm(scratch, { recursive: true, force: true });
  await mkdir(scratch, { recursive: true });
  try {
    await cp(req.source.path, tree, {
      recursive: true,
      filter: (src) => isSourceFile(relative(req.source.path, src)),
    });
    const header =
      `# nexus-lab module build\n# source: ${req.source.path} (${req.source.hash.slice(0, 12)})\n` +
      `# kernel: ${req.kernel.release} ${req.kernel.version}\n# KERNEL_SRC=${req.kernel.headers}\n`;
    const env = {
      kernelver: req.kernel.release,
      kernel_source_dir: req.kernel.headers,
      KERNEL_SRC: req.kernel.headers,
      // Same as W=1 on the command line, whatever MAKE line the tree uses.
      KBUILD_EXTRA_WARN: '1',
    };
    const command = req.source.dkms.make ?? `make KERNEL_SRC=${req.kernel.headers}`;
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

    const expected = req.source.dkms.modules.length > 0
      ? req.source.dkms.modules.map((m) => join(m.location, `${m.name}.ko`))
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
