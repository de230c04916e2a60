// One job, start to verdict.  A job is its profile's list of steps
// (lab/profiles.ts) run by the pipeline (lab/pipeline.ts); this file keeps
// what they share: deadlines, the job context, small guest commands.
import { DEFAULT_BUDGET_MS, type Job } from './plan.js';
import type { SourceTree } from './build.js';
import type { Rootfs } from './images.js';
import type { KernelSpec, KernelTree, ResolvedKernel } from './kernels.js';
import type { DebPackage } from './package.js';
import type { KeyPair } from './remote.js';
import type { JobRecord } from './results.js';
import type { AccelChoice } from './vm.js';
import { runPipeline } from './pipeline.js';
import { stepsOf } from './profiles.js';

export interface Timeouts {
  buildMs: number;
  /** From QEMU start to a working SSH session. */
  bootMs: number;
  /** Each small guest command (insmod, rmmod, cat, dmesg). */
  commandMs: number;
  /** The whole scenario runner. */
  runnerMs: number;
  /** Waiting for the guest to power off. */
  poweroffMs: number;
  /** The whole job: nothing runs longer. */
  jobMs: number;
}

/**
 * Deadlines for an accelerator (TCG runs everything several times slower)
 * and a job whose suites have `budgetMs` between them (Job.budgetMs), plus
 * `ownMs`, the deadlines its suites keep themselves (ownDeadlinesMs), which
 * are wall clock and not scaled.  The job deadline is the sum of its
 * phases' plus room for the small commands.
 */
export function timeoutsFor(accel: 'kvm' | 'tcg', scale = 1, budgetMs = DEFAULT_BUDGET_MS, ownMs = 0): Timeouts {
  const s = (accel === 'tcg' ? 4 : 1) * scale;
  const buildMs = 600_000 * scale;
  const bootMs = 45_000 * s;
  const runnerMs = budgetMs * s + ownMs;
  return {
    buildMs,
    bootMs,
    commandMs: 15_000 * s,
    runnerMs,
    poweroffMs: 10_000 * s,
    jobMs: buildMs + bootMs + runnerMs + 135_000 * s,
  };
}

/**
 * The run parameters a job's guest gets: a kernel that runs slower
 * ("slowdown", the debug kernels) stretches the suites' own deadlines by as
 * much (lab.time_scale, read by the guest runner), unless --param sets it.
 */
export function guestParams(kernel: Pick<KernelSpec, 'slowdown'>, params: Readonly<Record<string, string>>): Record<string, string> {
  return { ...(kernel.slowdown !== undefined ? { 'lab.time_scale': String(kernel.slowdown) } : {}), ...params };
}

/** The job config the guest runner reads (--config): its suites and the run parameters. */
export function jobConfig(runId: string, job: Pick<Job, 'id' | 'suites'>, params: Readonly<Record<string, string>>): string {
  return JSON.stringify({ runId, job: job.id, suites: job.suites, params }, null, 2);
}

export interface ReleaseContext {
  /** The nexus-dkms package of the source tree, or why it could not be built. */
  deb: DebPackage | Error;
  /** The job's kernel, as packages (the image installs them). */
  resolved: ResolvedKernel;
  /** The kernel the job upgrades to (Job.upgrade), fetched. */
  upgrade?: { resolved: ResolvedKernel; tree: KernelTree } | Error;
  /** images/release.json, images/guest/release-rootfs/, images/guest/release-init */
  recipePath: string;
  overlayDir: string;
  initScript: string;
}

export interface JobContext {
  runId: string;
  runDir: string;
  workDir: string;
  cacheDir: string;
  source: SourceTree;
  /** The quick profile's shared rootfs (absent when no quick job runs). */
  rootfs?: Rootfs;
  /** What a release job needs, prepared once per run. */
  release?: ReleaseContext;
  accel: AccelChoice;
  kernel: KernelTree | Error;
  /** Set when something every job needs (QEMU, the rootfs) is missing. */
  sharedError?: Error;
  keys: KeyPair;
  bundleDir: string;
  initScript: string;
  timeouts: Timeouts;
  memoryMiB: number;
  /** Run parameters for the guest runner (--param NAME=VALUE). */
  params: Readonly<Record<string, string>>;
  /** Run-level cancellation (Ctrl-C, SIGTERM). */
  signal: AbortSignal;
  /** Persist the run record (called at every phase change). */
  save: () => Promise<void>;
  onPhase: (job: string, phase: string, ended?: boolean) => void;
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/** The guest init's own failure message, or the console's last line, to explain a boot failure. */
export function bootHintOf(console: string): string {
  const lines = console.split('\n').map((l) => l.trim()).filter(Boolean);
  const failed = lines.filter((l) => /nexus-init: FAILED/.test(l)).at(-1);
  const last = failed ?? lines.at(-1);
  return last ? ` (console: ${last.length > 160 ? `${last.slice(0, 157)}...` : last})` : ' (the console is empty)';
}

/** A guest that saw other vCPUs than the job asked for runs its suites for nothing. */
export function cpuMismatch(asked: number, seen: number | undefined): string | undefined {
  if (seen === undefined || seen === asked) return undefined;
  return `the guest saw ${seen} vCPU${seen === 1 ? '' : 's'}, the job asked for ${asked}`;
}

/** A guest command that removes a loaded module, retrying for up to 5 s while it is in use. */
export function unloadCommand(name: string): string {
  const q = shellQuote(name);
  return `if grep -q '^${name} ' /proc/modules; then for i in $(seq 50); do rmmod ${q} 2>/dev/null && exit 0; sleep 0.1; done; rmmod ${q}; fi`;
}

/** Counters that are not zero once every scenario is over: leaked objects. */
export function leaks(values: Record<string, number>): string[] {
  return Object.entries(values)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`);
}

/** One job, start to verdict: its profile's steps, in order. */
export async function runJob(job: Job, rec: JobRecord, ctx: JobContext): Promise<void> {
  await runPipeline(job, rec, ctx, stepsOf(job.profile));
}
