// A run: plan -> prepare (kernels, rootfs, accelerator) -> jobs in parallel
// -> results.  run.json is rewritten at every step, so an interrupted run
// keeps what it had; junit.xml and the summary come at the end.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import type { SourceTree } from './build.js';
import { declaredPrimitives, evidenceMatrix, evidenceTable } from './evidence.js';
import { gitInfo, hostInfo } from './host.js';
import { leakRepeat } from './leaks.js';
import type { Rootfs } from './images.js';
import { runJob, timeoutsFor, type JobContext, type ReleaseContext } from './job.js';
import { loadMatrix, type KernelTree, type ResolvedKernel } from './kernels.js';
import { buildDeb, type DebPackage } from './package.js';
import { ownDeadlinesMs, plan, shard, shardRecord, type Job, type Shard } from './plan.js';
import { failUnfinished, newJobRecord, prepareGuests, prepareKernels, probeQemu, recordFile } from './prepare.js';
import type { ProgressSink } from './progress.js';
import { generateKeyPair } from './remote.js';
import { junitXml, metricsTable, summarize, type RunRecord } from './results.js';
import { writeReport } from './report.js';

export interface LabPaths {
  /** Repository root (images/, kernel/). */
  root: string;
  /** Compiled scenario bundle (dist/scenarios). */
  bundle: string;
}

export interface RunOptions {
  matrixPath: string;
  kernels?: string[];
  profile?: string;
  suites?: string[];
  /** Guest vCPUs at least (--cpus); suites needing more get more. */
  cpus?: number;
  shard?: Shard;
  /** Run parameters for the guest runner (--param NAME=VALUE). */
  params: Record<string, string>;
  sourcePath: string;
  resultsDir: string;
  cacheDir: string;
  accel: 'auto' | 'kvm' | 'tcg';
  parallel: number;
  timeoutScale: number;
  memoryMiB: number;
  command: string[];
}

export function newRunId(now = new Date()): string {
  const p = (n: number) => String(n).padStart(2, '0');
  const stamp = `${now.getFullYear()}${p(now.getMonth() + 1)}${p(now.getDate())}-${p(now.getHours())}${p(now.getMinutes())}${p(now.getSeconds())}`;
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** Run at most `limit` tasks at once, in order. */
/**
 * Run `fn` over `items`, at most `limit` at once and at most `capacity`
 * weight at once (a job's weight is its guest's vCPUs, the capacity the
 * host's CPUs): under TCG each vCPU is a host thread, and a 2-vCPU guest
 * whose vCPUs seldom run at the same moment cannot run a race at all.  Items
 * start in order, each as soon as it fits; one heavier than the capacity
 * runs alone.
 */
export function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<void>,
  opts: { capacity?: number; weight?: (item: T) => number } = {},
): Promise<void> {
  const capacity = opts.capacity ?? Infinity;
  const weight = (item: T) => Math.min(opts.weight?.(item) ?? 0, capacity);
  const waiting = [...items];
  let used = 0;
  let running = 0;
  return new Promise((resolve, reject) => {
    const startFitting = () => {
      for (let i = 0; i < waiting.length && running < Math.max(1, limit); ) {
        const w = weight(waiting[i]!);
        if (running > 0 && used + w > capacity) {
          i++;
          continue;
        }
        const item = waiting.splice(i, 1)[0]!;
        used += w;
        running++;
        fn(item).then(
          () => {
            used -= w;
            running--;
            if (waiting.length === 0 && running === 0) resolve();
            else startFitting();
          },
          reject,
        );
      }
    };
    if (waiting.length === 0) resolve();
    else startFitting();
  });
}

/** Validate options and plan; throws on bad input before anything starts. */
export async function planRun(o: Pick<RunOptions, 'matrixPath' | 'kernels' | 'profile' | 'suites' | 'cpus' | 'shard'>): Promise<Job[]> {
  const matrix = await loadMatrix(o.matrixPath);
  const jobs = plan(matrix, {
    ...(o.kernels ? { kernels: o.kernels } : {}),
    ...(o.profile ? { profile: o.profile } : {}),
    ...(o.suites ? { suites: o.suites } : {}),
    ...(o.cpus !== undefined ? { cpus: o.cpus } : {}),
  });
  return o.shard ? shard(jobs, o.shard) : jobs;
}

export async function runLab(
  o: RunOptions,
  jobs: readonly Job[],
  source: SourceTree,
  paths: LabPaths,
  progress: ProgressSink,
  signal: AbortSignal,
): Promise<RunRecord> {
  if (jobs.length === 0) throw new Error('the plan has no job (is the shard empty?)');
  const bundleDir = paths.bundle;
  if (!existsSync(join(bundleDir, 'runner', 'main.js'))) {
    throw new Error(`the scenario bundle is missing (${bundleDir}/runner/main.js): run 'make build' first`);
  }

  const runId = newRunId();
  const runDir = join(o.resultsDir, runId);
  const workDir = join(o.cacheDir, 'work', runId);
  await mkdir(runDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const latest = join(o.resultsDir, 'latest');
  await rm(latest, { force: true });
  await symlink(runId, latest).catch(() => undefined);

  const record: RunRecord = {
    schema: 1,
    runId,
    status: 'running',
    startedAt: new Date().toISOString(),
    command: o.command,
    params: o.params,
    host: await hostInfo(),
    kernels: [],
    phases: {},
    jobs: jobs.map(newJobRecord),
  };
  const git = await gitInfo(source.path);
  record.source = {
    path: source.path,
    hash: source.hash,
    ...(git ? { git } : {}),
    ...(source.confPath ? { dkmsConf: source.confPath } : {}),
    declares: await declaredPrimitives(source.path),
  };
  if (o.shard) {
    // Enough for 'nexus-lab merge' to tell shards of one plan from others.
    const { shard: _slice, ...unsharded } = o;
    record.shard = shardRecord(await planRun(unsharded), o.shard, {
      sourceHash: source.hash,
      params: o.params,
      timeoutScale: o.timeoutScale,
      memoryMiB: o.memoryMiB,
    });
  }

  // Saves are serialized so run.json always holds the latest complete state.
  const file = recordFile(join(runDir, 'run.json'), record);
  const { save, timed } = file;
  await save();
  progress.step(`run ${runId}: ${jobs.length} job${jobs.length === 1 ? '' : 's'} -> ${runDir}`);

  try {
    // Prepare what the jobs share.  A failure here fails every job that
    // needed it, with the reason, and never leaves a job without a verdict.
    let shared: Error | undefined;
    let rootfs: Rootfs | undefined;
    let deb: DebPackage | Error | undefined;
    let kernels = new Map<string, KernelTree | Error>();
    let resolvedById = new Map<string, ResolvedKernel>();
    const upgradeOf = (j: Job) => (j.upgrade && 'to' in j.upgrade ? j.upgrade.to : undefined);
    const qemu = await probeQemu();
    if (qemu instanceof Error) shared = qemu;
    else record.qemu = qemu;

    await timed('kernels', async () => {
      // A release job also needs the kernel it upgrades to.
      const wanted = jobs.flatMap((j) => [j.kernel, ...(upgradeOf(j) ? [upgradeOf(j)!] : [])]);
      ({ trees: kernels, resolved: resolvedById } = await prepareKernels(wanted, o.cacheDir, signal, progress, (rk, spec) => {
        record.kernels.push(rk);
        for (const j of record.jobs.filter((x) => x.kernel.id === spec.id)) {
          j.kernel = { id: spec.id, release: rk.release, version: rk.version };
        }
      }));
    });

    if (!shared && jobs.some((j) => j.profile === 'release')) {
      await timed('package', async () => {
        // Into the run's own directory: another run's tree has another package of the same name.
        deb = await buildDeb({ source: source.path, outDir: join(workDir, 'package'), cacheDir: o.cacheDir, signal, logPath: join(runDir, 'package.log') }).catch((e: Error) => e);
        progress.step(deb instanceof Error ? `package: FAILED: ${deb.message}` : `package: ${deb.path}${deb.cached ? ' (cached)' : ''}`);
      });
    }

    if (!shared) {
      const g = await prepareGuests(record, file, { root: paths.root, cacheDir: o.cacheDir, workDir, accel: o.accel, rootfsNeeded: jobs.some((j) => j.profile === 'quick') }, kernels, signal, progress);
      rootfs = g.rootfs;
      shared = g.error;
    }
    if (signal.aborted) shared ??= new Error(`interrupted (${String(signal.reason)})`);

    const keys = generateKeyPair(`nexus-lab-${runId}`);
    const accel = record.accel ?? { used: 'tcg' as const, reason: 'not probed', probeMs: 0 };

    await timed('jobs', () =>
      pool(jobs, o.parallel, async (job) => {
        const rec = record.jobs.find((r) => r.id === job.id)!;
        const kernel = kernels.get(job.kernel.id) ?? new Error('kernel not prepared');
        const release = releaseContext(job, deb, resolvedById, kernels, paths.root);
        const ctx: JobContext = {
          runId,
          runDir,
          workDir,
          cacheDir: o.cacheDir,
          source,
          ...(rootfs ? { rootfs } : {}),
          ...(release ? { release } : {}),
          accel,
          kernel,
          ...(shared ? { sharedError: shared } : {}),
          keys,
          bundleDir,
          initScript: join(paths.root, 'images', 'guest', 'init'),
          // each suite runs leaks.repeat times: the runner needs that many budgets
          timeouts: timeoutsFor(accel.used, o.timeoutScale * (job.kernel.slowdown ?? 1), job.budgetMs * leakRepeat(o.params),
            ownDeadlinesMs(job.suites, o.params) * leakRepeat(o.params)),
          memoryMiB: o.memoryMiB,
          params: o.params,
          signal,
          save,
          onPhase: (id, ph, ended) => progress.phase(id, ph, ended),
        };
        await runJob(job, rec, ctx);
      }, { capacity: availableParallelism(), weight: (job) => job.cpus }),
    );
  } catch (e) {
    failUnfinished(record, e as Error);
  } finally {
    record.status = signal.aborted ? 'interrupted' : 'done';
    record.endedAt = new Date().toISOString();
    record.summary = summarize(record.jobs);
    record.evidence = evidenceMatrix(record.jobs, record.source?.declares ?? []);
    await save();
    await writeFile(join(runDir, 'junit.xml'), junitXml(record));
    // The report is for reading: its failure costs the run nothing but the page.
    await writeReport(join(runDir, 'report.html'), record).catch((e: Error) => process.stderr.write(`warning: report.html not written: ${e.message}\n`));
    const metrics = metricsTable(record);
    if (metrics !== undefined) await writeFile(join(runDir, 'metrics.txt'), `${metrics}\n`);
    if (record.evidence) await writeFile(join(runDir, 'evidence.txt'), `${evidenceTable(record.evidence)}\n`);
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    progress.stop();
  }
  return record;
}

/** What a release job needs from the run: the package, its kernels as packages, the recipe. */
function releaseContext(
  job: Job,
  deb: DebPackage | Error | undefined,
  resolved: ReadonlyMap<string, ResolvedKernel>,
  kernels: ReadonlyMap<string, KernelTree | Error>,
  root: string,
): ReleaseContext | undefined {
  const own = resolved.get(job.kernel.id);
  if (job.profile !== 'release' || !own) return undefined;
  const to = job.upgrade && 'to' in job.upgrade ? job.upgrade.to : undefined;
  let upgrade: ReleaseContext['upgrade'];
  if (to) {
    const r = resolved.get(to.id);
    const tree = kernels.get(to.id);
    upgrade = !r || !tree ? new Error(`kernel ${to.id} was not prepared`) : tree instanceof Error ? tree : { resolved: r, tree };
  }
  return {
    deb: deb ?? new Error('the package was not built'),
    resolved: own,
    ...(upgrade ? { upgrade } : {}),
    recipePath: join(root, 'images', 'release.json'),
    overlayDir: join(root, 'images', 'guest', 'release-rootfs'),
    initScript: join(root, 'images', 'guest', 'release-init'),
  };
}
