// nexus-lab bench, the run: prepare what the jobs share (kernels, the quick
// rootfs, the accelerator, a key pair), then one A/B job per kernel, one
// after the other (lab/steps/ab.ts), then the analysis (lab/bench.ts) into
// <results>/<run-id>/bench.json, rewritten as the run goes.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import {
  analyze, BENCH_HELP, benchTable, collectSamples, countCalls, describeMethod, parseBenchArgs, schedule,
  type Analysis, type BenchOptions, type CallCounts, type Method, type Side,
} from '../bench.js';
import { inspectSource, type SourceTree } from '../build.js';
import { gitInfo, hostInfo } from '../host.js';
import { timeoutsFor, type Timeouts } from '../job.js';
import { leakRepeat } from '../leaks.js';
import { loadMatrix, type ResolvedKernel } from '../kernels.js';
import { runPipeline } from '../pipeline.js';
import { failUnfinished, newJobRecord, prepareQuickGuests, quickJobContext, recordFile } from '../prepare.js';
import { budgetOf, plan, type Job } from '../plan.js';
import { interruptible, killAll, liveProcesses } from '../proc.js';
import { Progress, type ProgressSink } from '../progress.js';
import type { JobRecord, RunRecord } from '../results.js';
import { newRunId, type LabPaths } from '../run.js';
import { UsageError } from '../args.js';
import { SUITES } from '../../scenarios/suites.js';
import { abSteps, type AbState } from './ab.js';

export interface BenchKernelResult {
  kernel: { id: string; release?: string; version?: string };
  job: string;
  verdict?: string;
  reason?: string;
  /** The job's wall time (build, boot, every round, poweroff). */
  wallMs?: number;
  /** Rounds whose two sides both ran. */
  roundsRun: number;
  runs: AbState['runs'];
  builds: Partial<Record<Side, JobRecord['build']>>;
  counts: CallCounts;
  /** The method with this kernel's number of benchmarks (the Bonferroni level). */
  method: string;
  benchmarks: Analysis[];
}

export interface BenchRecord {
  schema: 1;
  kind: 'bench';
  runId: string;
  status: 'running' | 'done' | 'interrupted';
  startedAt: string;
  endedAt?: string;
  command: string[];
  host: RunRecord['host'];
  qemu?: RunRecord['qemu'];
  accel?: RunRecord['accel'];
  sources: Record<Side, { path: string; hash: string; git?: { revision: string; dirty: boolean } }>;
  suites: string[];
  rounds: number;
  /** The sides' order in each round. */
  schedule: Side[][];
  params: Record<string, string>;
  method: Method & { description: string };
  image?: RunRecord['image'];
  kernels: ResolvedKernel[];
  phases: Record<string, number>;
  results: BenchKernelResult[];
  jobs: JobRecord[];
  error?: string;
}

/** The vCPUs the suites need (perf suites: 1). */
function cpusFor(suites: readonly string[]): number {
  return Math.max(1, ...suites.map((n) => SUITES.find((s) => s.name === n)?.cpus ?? 1));
}

/** One A/B job per kernel: <kernel>-ab, the bench suites, one guest. */
export async function planBench(o: Pick<BenchOptions, 'matrixPath' | 'kernels' | 'suites'>): Promise<Job[]> {
  const matrix = await loadMatrix(o.matrixPath);
  const jobs = plan(matrix, { ...(o.kernels ? { kernels: o.kernels } : {}), suites: o.suites, cpus: cpusFor(o.suites) });
  return jobs.map((j) => ({ ...j, id: `${j.kernel.id}-ab`, profile: 'bench' }));
}

/**
 * Deadlines of an A/B job: each side's runner gets the suites' budget (x4
 * under TCG, x --timeout-scale); the job, two builds, a boot, 2 x rounds
 * runs with their loads and unloads, and the small commands.
 */
export function benchTimeouts(accel: 'kvm' | 'tcg', scale: number, suites: readonly string[], rounds: number, repeat = 1): Timeouts {
  // --param leaks.repeat=N runs each suite N times in a row.
  const one = timeoutsFor(accel, scale, budgetOf(suites) * repeat);
  const s = (accel === 'tcg' ? 4 : 1) * scale;
  return { ...one, jobMs: 2 * one.buildMs + one.bootMs + 2 * rounds * (one.runnerMs + 60_000 * s) + 135_000 * s };
}

export async function runBench(
  o: BenchOptions,
  jobs: readonly Job[],
  sources: Record<Side, SourceTree>,
  paths: LabPaths,
  progress: ProgressSink,
  signal: AbortSignal,
): Promise<BenchRecord> {
  if (!existsSync(join(paths.bundle, 'runner', 'main.js'))) {
    throw new Error(`the scenario bundle is missing (${paths.bundle}/runner/main.js): run 'make build' first`);
  }
  const runId = newRunId();
  const runDir = join(o.resultsDir, runId);
  const workDir = join(o.cacheDir, 'work', runId);
  await mkdir(runDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const src = async (t: SourceTree) => {
    const git = await gitInfo(t.path);
    return { path: t.path, hash: t.hash, ...(git ? { git } : {}) };
  };
  const record: BenchRecord = {
    schema: 1,
    kind: 'bench',
    runId,
    status: 'running',
    startedAt: new Date().toISOString(),
    command: o.command,
    host: await hostInfo(),
    sources: { A: await src(sources.A), B: await src(sources.B) },
    suites: o.suites,
    rounds: o.rounds,
    schedule: schedule(o.rounds),
    params: o.params,
    method: { ...o.method, description: describeMethod(o.method) },
    kernels: [],
    phases: {},
    results: [],
    jobs: jobs.map(newJobRecord),
  };
  const file = recordFile(join(runDir, 'bench.json'), record);
  const { save, timed } = file;
  await save();
  progress.step(`bench ${runId}: ${jobs.map((j) => j.kernel.id).join(', ')}, ${o.rounds} rounds of ${o.suites.join(',')} -> ${runDir}`);

  try {
    const prepared = await prepareQuickGuests(
      record, file, jobs, { root: paths.root, cacheDir: o.cacheDir, workDir, accel: o.accel, runId }, signal, progress,
    );
    const timeoutsOf = (job: Job) =>
      benchTimeouts(prepared.accel.used, o.timeoutScale * (job.kernel.slowdown ?? 1), o.suites, o.rounds, leakRepeat(o.params));

    // One kernel at a time: two guests at once would share the host's CPUs
    // and each one's figures would carry the other's load.
    await timed('jobs', async () => {
      for (const job of jobs) {
        const rec = record.jobs.find((r) => r.id === job.id)!;
        if (signal.aborted) {
          Object.assign(rec, { verdict: 'infra-error', reason: `interrupted (${String(signal.reason)}) before it started`, phase: 'done' });
          continue;
        }
        const timeouts = timeoutsOf(job);
        const st: AbState = {
          sides: { A: { source: sources.A, modules: [] }, B: { source: sources.B, modules: [] } },
          rounds: o.rounds,
          runnerMs: timeouts.runnerMs,
          runs: [],
        };
        const ctx = quickJobContext(prepared, job, {
          runId,
          runDir,
          workDir,
          cacheDir: o.cacheDir,
          source: sources.A,
          bundleDir: paths.bundle,
          initScript: join(paths.root, 'images', 'guest', 'init'),
          timeouts,
          memoryMiB: o.memoryMiB,
          params: o.params,
          signal,
          save,
          onPhase: (id, ph, ended) => progress.phase(id, ph, ended),
        });
        await runPipeline(job, rec, ctx, abSteps(st));
        record.results.push(resultOf(rec, st, o.rounds, o.method));
        await save();
      }
    });
  } catch (e) {
    failUnfinished(record, e as Error);
  } finally {
    record.status = signal.aborted ? 'interrupted' : 'done';
    record.endedAt = new Date().toISOString();
    await save();
    await rm(workDir, { recursive: true, force: true }).catch(() => undefined);
    progress.stop();
  }
  return record;
}

/** A finished job's A/B: its samples analysed. */
export function resultOf(rec: JobRecord, st: AbState, rounds: number, method: Method): BenchKernelResult {
  const benchmarks = analyze(collectSamples(rec.scenarios, rounds), method);
  const sides = (r: number) => st.runs.filter((x) => x.round === r).length;
  return {
    kernel: rec.kernel,
    job: rec.id,
    ...(rec.verdict ? { verdict: rec.verdict } : {}),
    ...(rec.reason ? { reason: rec.reason } : {}),
    ...(rec.wallMs !== undefined ? { wallMs: rec.wallMs } : {}),
    roundsRun: Array.from({ length: rounds }, (_, i) => i + 1).filter((r) => sides(r) === 2).length,
    runs: st.runs,
    builds: { A: st.sides.A.build, B: st.sides.B.build },
    counts: countCalls(benchmarks),
    method: describeMethod(method, benchmarks.length),
    benchmarks,
  };
}

/** The stdout report of one kernel. */
export function kernelReport(r: BenchKernelResult, m: Method): string {
  const wall = r.wallMs !== undefined ? `${Math.round(r.wallMs / 1000)} s` : '-';
  const head = `${r.kernel.id}${r.kernel.release ? ` (${r.kernel.release})` : ''}: job ${r.verdict ?? '?'}` +
    `${r.verdict !== 'pass' && r.reason ? ` (${r.reason})` : ''}, ${r.roundsRun} A/B rounds, wall ${wall}`;
  if (r.benchmarks.length === 0) return `${head}\n  no benchmark has samples of both sides`;
  return `${head}\n${benchTable(r.benchmarks, m)}`;
}

/** `nexus-lab bench ...`: the exit status (0 ran, 1 a job failed, 2 usage, 130 interrupted). */
export async function cmdBench(argv: string[], paths: LabPaths): Promise<number> {
  let o: BenchOptions;
  let jobs: Job[];
  let sources: Record<Side, SourceTree>;
  try {
    const parsed = parseBenchArgs(argv, { root: paths.root });
    if (parsed.help) {
      process.stdout.write(`${BENCH_HELP}\n`);
      return 0;
    }
    o = parsed.options;
    jobs = await planBench(o);
    if (jobs.length === 0) throw new UsageError('no kernel to run');
    sources = {
      A: await inspectSource(o.sourcePath).catch((e: Error) => {
        throw new UsageError(`tree A (--source): ${e.message}`);
      }),
      B: await inspectSource(o.againstPath).catch((e: Error) => {
        throw new UsageError(`tree B (--against): ${e.message}`);
      }),
    };
  } catch (e) {
    process.stderr.write(`nexus-lab bench: ${(e as Error).message}\n\nRun 'nexus-lab bench --help' for usage.\n`);
    return 2;
  }

  const controller = interruptible('stopping the guest and writing the results');
  try {
    const progress = new Progress(process.stderr, jobs.map((j) => j.id));
    const record = await runBench(o, jobs, sources, paths, progress, controller.signal);
    process.stdout.write(`\nA: ${record.sources.A.path}\nB: ${record.sources.B.path}\n`);
    for (const r of record.results) process.stdout.write(`\n${kernelReport(r, o.method)}\n`);
    for (const j of record.jobs.filter((x) => !record.results.some((r) => r.job === x.id))) {
      process.stdout.write(`\n${j.kernel.id}: job ${j.verdict ?? 'not run'}${j.reason ? ` (${j.reason})` : ''}\n`);
    }
    process.stdout.write(`\nresults: ${join(o.resultsDir, record.runId, 'bench.json')}\n`);
    if (record.accel) process.stdout.write(`accelerator: ${record.accel.used} (${record.accel.reason})\n`);
    const left = liveProcesses();
    if (left.length > 0) process.stderr.write(`warning: ending ${left.length} leftover process(es)\n`);
    killAll();
    if (controller.signal.aborted) return 130;
    return record.error === undefined && record.jobs.every((j) => j.verdict === 'pass') ? 0 : 1;
  } catch (e) {
    process.stderr.write(`nexus-lab bench: ${(e as Error).message}\n`);
    killAll();
    return controller.signal.aborted ? 130 : 1;
  } finally {
    controller.dispose();
  }
}
