// Guests for `nexus-lab shell` and `nexus-lab exec`: what a run prepares
// (lab/prepare.ts: QEMU, the kernels, the quick rootfs, the accelerator, a
// key pair), then one job per kernel, one after the other, each a pipeline
// (lab/pipeline.ts) of the caller's steps.  The record goes to
// <results>/<run-id>/session.json as the jobs go; each job's files
// (build.log, console.log, dmesg.txt) to <results>/<run-id>/<job>/.
import { existsSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { SourceTree } from '../build.js';
import { gitInfo, hostInfo } from '../host.js';
import { timeoutsFor, type Timeouts } from '../job.js';
import { loadMatrix, type ResolvedKernel } from '../kernels.js';
import { runPipeline, type Step } from '../pipeline.js';
import { plan, type Job } from '../plan.js';
import { failUnfinished, newJobRecord, prepareQuickGuests, quickJobContext, recordFile } from '../prepare.js';
import type { ProgressSink } from '../progress.js';
import type { JobRecord, RunRecord } from '../results.js';
import { newRunId, type LabPaths } from '../run.js';
import type { CommandEnd, GuestOptions } from './options.js';

export type SessionKind = 'shell' | 'exec';

export interface SessionResult {
  kernel: string;
  job: string;
  /** The lab's exit status for this kernel (the command's own, or 124/125/130). */
  status: number;
  end: CommandEnd;
}

export interface SessionRecord {
  schema: 1;
  kind: SessionKind;
  runId: string;
  status: 'running' | 'done' | 'interrupted';
  startedAt: string;
  endedAt?: string;
  command: string[];
  host: RunRecord['host'];
  qemu?: RunRecord['qemu'];
  accel?: RunRecord['accel'];
  image?: RunRecord['image'];
  source: { path: string; hash: string; git?: { revision: string; dirty: boolean } };
  kernels: ResolvedKernel[];
  phases: Record<string, number>;
  jobs: JobRecord[];
  results: SessionResult[];
  error?: string;
}

/** One job per kernel, named <kernel>-<kind>, with no suites. */
export async function planSessions(kind: SessionKind, o: Pick<GuestOptions, 'matrixPath' | 'kernels' | 'cpus'>): Promise<Job[]> {
  const matrix = await loadMatrix(o.matrixPath);
  // plan() resolves the kernel ids (and "all") with its own errors.
  return plan(matrix, { kernels: o.kernels, suites: ['smoke'], cpus: o.cpus }).map((j) => ({
    ...j,
    id: `${j.kernel.id}-${kind}`,
    profile: kind,
    suites: [],
    budgetMs: 0,
  }));
}

/**
 * Deadlines of a session: a quick job's for the build, boot and small
 * commands, the command's (or shell's) own deadline unscaled (the user
 * gave it in seconds), and the job's the sum of them.
 */
export function sessionTimeouts(accel: 'kvm' | 'tcg', scale: number, commandMs: number): Timeouts {
  const base = timeoutsFor(accel, scale, 0);
  const s = (accel === 'tcg' ? 4 : 1) * scale;
  return { ...base, runnerMs: commandMs, jobMs: base.buildMs + base.bootMs + commandMs + 135_000 * s };
}

export interface SessionRun {
  kind: SessionKind;
  options: GuestOptions;
  jobs: readonly Job[];
  source: SourceTree;
  paths: LabPaths;
  progress: ProgressSink;
  signal: AbortSignal;
  /** Told the run's directory once it exists. */
  onStart?: (runDir: string) => void;
  /** The steps of one kernel's job, and after it ran, that kernel's result. */
  job: (job: Job) => { steps: readonly Step[]; result: (rec: JobRecord) => SessionResult };
}

export async function runSessions(r: SessionRun): Promise<SessionRecord> {
  const { options: o, jobs, progress, signal, paths } = r;
  if (!existsSync(join(paths.bundle, 'runner', 'main.js'))) {
    throw new Error(`the scenario bundle is missing (${paths.bundle}/runner/main.js): run 'make build' first`);
  }
  const runId = newRunId();
  const runDir = join(o.resultsDir, runId);
  const workDir = join(o.cacheDir, 'work', runId);
  await mkdir(runDir, { recursive: true });
  await mkdir(workDir, { recursive: true });
  const git = await gitInfo(r.source.path);
  const record: SessionRecord = {
    schema: 1,
    kind: r.kind,
    runId,
    status: 'running',
    startedAt: new Date().toISOString(),
    command: o.command,
    host: await hostInfo(),
    source: { path: r.source.path, hash: r.source.hash, ...(git ? { git } : {}) },
    kernels: [],
    phases: {},
    jobs: jobs.map(newJobRecord),
    results: [],
  };
  const file = recordFile(join(runDir, 'session.json'), record);
  const { save, timed } = file;
  await save();
  r.onStart?.(runDir);
  progress.step(`${r.kind} ${runId}: ${jobs.map((j) => j.kernel.id).join(', ')} -> ${runDir}`);

  try {
    const prepared = await prepareQuickGuests(
      record, file, jobs, { root: paths.root, cacheDir: o.cacheDir, workDir, accel: o.accel, runId }, signal, progress,
    );
    const timeoutsOf = (job: Job) => sessionTimeouts(prepared.accel.used, o.timeoutScale * (job.kernel.slowdown ?? 1), o.timeoutMs);

    // One guest at a time: their output shares the terminal.
    await timed('jobs', async () => {
      for (const job of jobs) {
        const rec = record.jobs.find((x) => x.id === job.id)!;
        const { steps, result } = r.job(job);
        if (signal.aborted) {
          Object.assign(rec, { verdict: 'infra-error', reason: `interrupted (${String(signal.reason)}) before it started`, phase: 'done' });
        } else {
          const ctx = quickJobContext(prepared, job, {
            runId,
            runDir,
            workDir,
            cacheDir: o.cacheDir,
            source: r.source,
            bundleDir: paths.bundle,
            initScript: join(paths.root, 'images', 'guest', 'init'),
            timeouts: timeoutsOf(job),
            memoryMiB: o.memoryMiB,
            params: {},
            signal,
            save,
            onPhase: (id, ph, ended) => progress.phase(id, ph, ended),
          });
          await runPipeline(job, rec, ctx, steps);
        }
        record.results.push(result(rec));
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
