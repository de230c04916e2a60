// Debug kernels: built by the lab from Debian's linux-source-<series> package
// of the same version as a packaged kernel (its config is the base), with a
// config fragment from the repository (images/debug/debug.config: KASAN,
// kmemleak, lockdep, fault injection ...).  The build itself is
// images/debug/build-kernel.sh; this module fetches its inputs, runs it with
// progress and a deadline, and caches the result by the source version and a
// hash of the fragment, the script and the base config.
import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, readlink, rm, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { COMPLETE, isComplete, publish } from './cache.js';
import type { KernelTree, ResolvedKernel } from './kernels.js';
import { describeEnd, run, succeeded } from './proc.js';

/** How long one debug kernel build may take (about 25 min on 2 cores, TCG host). */
export const DEBUG_BUILD_TIMEOUT_MS = 150 * 60_000;

/** How often a build in progress is reported (at most). */
const REPORT_EVERY_MS = 60_000;

export interface DebugKernelRequest {
  /** The packaged kernel whose source version and config the build starts from. */
  base: ResolvedKernel;
  baseTree: KernelTree;
  /** The config fragment (absolute path) and the build script. */
  fragment: string;
  script: string;
  cacheDir: string;
  jobs: number;
  signal?: AbortSignal;
  onStep?: (step: string) => void;
}

/** The Debian source package of a kernel series, e.g. linux-source-6.12. */
export function sourcePackage(series: string): string {
  return `linux-source-${series}`;
}

/** The cache key of a debug kernel: its source version and a hash of what configures it. */
export function debugKernelKey(base: ResolvedKernel, inputs: readonly string[]): string {
  const h = createHash('sha256');
  for (const text of inputs) h.update(text).update('\0');
  return `debug-${base.series}_${base.version}_${h.digest('hex').slice(0, 12)}`.replace(/[^A-Za-z0-9._+-]/g, '_');
}

/**
 * What one line of the build script's output says about its progress: a
 * stage ("stage: compile") or one compiled object ("  CC      kernel/fork.o").
 */
export function parseBuildLine(line: string): { stage: string } | { object: true } | undefined {
  const stage = /^stage: (.+)$/.exec(line);
  if (stage) return { stage: stage[1]! };
  if (/^\s+(CC|AS|LD)(\s\[M\])?\s+\S/.test(line)) return { object: true };
  return undefined;
}

/** The tree of a published debug kernel entry. */
export async function debugTreeOf(entry: string, base: ResolvedKernel, key: string, cached: boolean): Promise<KernelTree> {
  const release = (await readFile(join(entry, 'release'), 'utf8')).trim();
  return {
    release,
    // The module build cache keys on release + version: the fragment's hash is in it.
    version: `${base.version}+${key.slice(-12)}`,
    root: join(entry, 'root'),
    vmlinuz: join(entry, 'root', 'boot', `vmlinuz-${release}`),
    config: join(entry, 'root', 'boot', `config-${release}`),
    headers: join(entry, 'build'),
    modules: join(entry, 'root', 'lib', 'modules', release),
    cached,
  };
}

/** linux-source-<series> at the base kernel's version, downloaded once into the cache. */
async function sourceDeb(base: ResolvedKernel, cacheDir: string, signal?: AbortSignal, onStep?: (s: string) => void): Promise<string> {
  const pkg = sourcePackage(base.series);
  const final = join(cacheDir, 'kernels', `src-${pkg}_${base.version}`.replace(/[^A-Za-z0-9._+-]/g, '_'));
  const find = async () => {
    const deb = (await readdir(final)).find((f) => f.endsWith('.deb'));
    if (!deb) throw new Error(`${final} holds no .deb`);
    return join(final, deb);
  };
  if (isComplete(final)) return find();
  onStep?.(`download ${pkg} ${base.version}`);
  const tmp = `${final}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    const r = await run('apt-get', ['download', '-q', '-o', 'APT::Sandbox::User=root', `${pkg}=${base.version}`], {
      cwd: tmp,
      timeoutMs: 900_000,
      ...(signal ? { signal } : {}),
    });
    if (!succeeded(r)) {
      throw new Error(`apt-get download ${pkg}=${base.version}: ${r.stderr.trim().split('\n').pop() || describeEnd(r)}`);
    }
    await writeFile(join(tmp, COMPLETE), `${pkg} ${base.version}\n`);
    await publish(tmp, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return find();
}

/**
 * The O= build tree names its source tree by absolute path (its Makefile and
 * the `source` link): point both at where the entry will live once published.
 */
export async function relocateBuildTree(scratch: string, entry: string): Promise<void> {
  const build = join(scratch, 'build');
  const makefile = join(build, 'Makefile');
  await writeFile(makefile, (await readFile(makefile, 'utf8')).split(scratch).join(entry));
  const link = join(build, 'source');
  const target = await readlink(link).catch(() => undefined);
  if (target !== undefined) {
    await rm(link);
    await symlink(target.split(scratch).join(entry), link);
  }
}

/** Build (or reuse) the debug kernel of a request; throws why it could not. */
export async function ensureDebugKernel(r: DebugKernelRequest): Promise<KernelTree> {
  const [fragment, script, config] = await Promise.all([
    readFile(r.fragment, 'utf8'),
    readFile(r.script, 'utf8'),
    readFile(r.baseTree.config, 'utf8'),
  ]);
  const key = debugKernelKey(r.base, [fragment, script, config]);
  const final = join(r.cacheDir, 'kernels', key);
  if (isComplete(final)) return debugTreeOf(final, r.base, key, true);

  const deb = await sourceDeb(r.base, r.cacheDir, r.signal, r.onStep);
  const tmp = join(r.cacheDir, 'kernels', `.tmp-${key}-${process.pid}`);
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const log = join(r.cacheDir, 'kernels', `${key}.log`);
  const started = Date.now();
  let objects = 0;
  let stage = 'start';
  let reported = 0;
  const report = (force: boolean) => {
    if (!force && Date.now() - reported < REPORT_EVERY_MS) return;
    reported = Date.now();
    const mins = ((Date.now() - started) / 60_000).toFixed(0);
    r.onStep?.(`build ${stage}${stage === 'compile' ? `: ${objects} objects` : ''}, ${mins} min (log ${log})`);
  };
  try {
    await rm(log, { force: true });
    // The text hashed into the key is the text run: bash reads a script file
    // as it goes, and an edit during a 40-minute build would run half of each.
    const res = await run('bash', ['-c', script, r.script, deb, r.baseTree.config, r.fragment, tmp, String(r.jobs)], {
      timeoutMs: DEBUG_BUILD_TIMEOUT_MS,
      logFile: log,
      buffer: false,
      ...(r.signal ? { signal: r.signal } : {}),
      onStdoutLine: (line) => {
        const p = parseBuildLine(line);
        if (p && 'stage' in p) {
          stage = p.stage;
          report(true);
        } else if (p) {
          objects++;
          report(false);
        }
      },
    });
    if (!succeeded(res)) {
      const tail = (await readFile(log, 'utf8').catch(() => '')).trim().split('\n').slice(-8).join('\n  ');
      throw new Error(`debug kernel build ${describeEnd(res)} in stage ${stage} (log ${log}):\n  ${tail}`);
    }
    await relocateBuildTree(tmp, final);
    await writeFile(join(tmp, COMPLETE), JSON.stringify({ base: r.base, key, builtAt: new Date().toISOString() }, null, 2));
    await publish(tmp, final);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  return debugTreeOf(final, r.base, key, false);
}
