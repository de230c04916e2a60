// A job is a pipeline: a profile's list of small named steps (build, image,
// boot, load, run, reboot, install, ...) run in order over one JobRun, the
// state they share.  The pipeline owns what every step relies on: the job's
// deadline and cancellation, one deadline per step, phase timing, the
// console watcher, and the cleanup that ends the guest and the SSH session
// on every path.  Whatever happens, the job gets exactly one verdict.
import type { WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { BuiltModule } from './build.js';
import { ConsoleWatcher, type Splat } from './console.js';
import type { JobContext, Timeouts } from './job.js';
import type { KernelTree, ResolvedKernel } from './kernels.js';
import type { DebPackage } from './package.js';
import type { ReleaseRootfs } from './release-image.js';
import type { Job } from './plan.js';
import { describeExec, execOk, type ExecResult, type Remote } from './remote.js';
import { EventFolder, type JobRecord } from './results.js';
import { decideVerdict, type ScenarioResult, type VerdictInput } from './verdict.js';
import type { Vm } from './vm.js';

export interface Step {
  name: string;
  /** The step's own deadline; the job's deadline bounds it anyway. */
  deadlineMs?: (t: Timeouts) => number;
  /**
   * Run even once an earlier step has stopped the job (cleanup that still
   * makes sense, such as unloading modules after a failed load).
   */
  when?: (s: JobRun) => boolean;
  run: (s: JobRun) => Promise<void>;
}

/** What a guest boots from. */
export interface BootMedia {
  kernel: KernelTree;
  initrd: string;
  disk: string;
  /** raw + snapshot (the quick profile's shared disk) or a writable qcow2 overlay. */
  diskFormat: 'raw' | 'qcow2';
  snapshot: boolean;
  /** The guest's SSH host key (OpenSSH public key line). */
  hostKey: string;
  /** The console line that says sshd accepts connections. */
  ready: RegExp;
}

export interface ReleaseState {
  rootfs: ReleaseRootfs;
  /** The job's own copy-on-write overlay over the cached rootfs. */
  overlay: string;
  deb: DebPackage;
  /** From the tree's dkms.conf. */
  names: { name: string; version: string; modules: string[] };
  upgrade?: { resolved: ResolvedKernel; tree: KernelTree };
}

/** Why a step ended the job early: the verdict input it sets. */
export type StopKind = 'buildError' | 'bootError' | 'infraError' | 'skipReason';

/** The state a job's steps share. */
export class JobRun {
  readonly jobDir: string;
  readonly work: string;
  readonly input: Pick<VerdictInput, 'buildError' | 'bootError' | 'timeout' | 'infraError' | 'skipReason'> = {};
  readonly problems: string[] = [];
  readonly folder = new EventFolder();
  readonly watcher: ConsoleWatcher;
  readonly streams: WriteStream[] = [];
  /** Set by the first step that ends the job early. */
  stopped = false;
  panic: Splat | undefined;
  timeoutReason: string | undefined;
  kernel: KernelTree | undefined;
  modules: BuiltModule[] = [];
  /** What the next boot starts: set by the image steps. */
  media: BootMedia | undefined;
  /** The guest runner has run (the counters are then worth reading). */
  ranSuites = false;
  /** How many guests this job has booted (a reboot is a new one). */
  boots = 0;
  vm: Vm | undefined;
  remote: Remote | undefined;
  /** Release profile: the job's image, overlay and package, set by its image step. */
  release: ReleaseState | undefined;
  /** Console lines seen since the current guest started. */
  private readyLine: RegExp | undefined;
  private readySeen = false;
  private readonly abortCtl = new AbortController();

  constructor(readonly job: Job, readonly rec: JobRecord, readonly ctx: JobContext) {
    this.jobDir = join(ctx.runDir, job.id);
    this.work = join(ctx.workDir, job.id);
    this.watcher = new ConsoleWatcher({
      onPanic: (sp) => {
        this.panic = sp;
        this.abort(new Error('kernel panic'));
      },
      onLine: (line) => {
        if (this.readyLine?.test(line)) this.readySeen = true;
      },
    });
  }

  get signal(): AbortSignal {
    return this.abortCtl.signal;
  }

  get t(): Timeouts {
    return this.ctx.timeouts;
  }

  abort(reason: unknown): void {
    this.abortCtl.abort(reason);
  }

  /** End the job here: later steps run only if their `when` says so. */
  stop(kind: StopKind, why: string): void {
    this.input[kind] ??= why;
    this.stopped = true;
  }

  /** End the job here after a failed check: only the teardown steps still run. */
  halt(): void {
    this.stopped = true;
  }

  /** Watch the console of a new guest for `line` (sshd is up). */
  expectReady(line: RegExp): void {
    this.readyLine = line;
    this.readySeen = false;
  }

  /** A scenario the host judged (a release step), in order with the guest's. */
  hostScenario(r: ScenarioResult): void {
    this.folder.scenarios.push(r);
  }

  get ready(): boolean {
    return this.readySeen;
  }

  /**
   * A lost connection means the guest is gone (a panic, most often): let
   * QEMU finish and its console be read, then stop the job.
   */
  async checked(res: ExecResult): Promise<ExecResult> {
    if (this.signal.aborted) throw this.signal.reason;
    if (!res.lost) return res;
    await this.vm?.waitExit(5000);
    await this.vm?.stop();
    if (this.signal.aborted) throw this.signal.reason;
    throw new Error(`the connection to the guest was lost during '${res.command}'`);
  }

  /** A guest command with the small-command deadline (or `timeoutMs`). */
  async cmd(command: string, timeoutMs = this.t.commandMs): Promise<ExecResult> {
    if (!this.remote) throw new Error(`no connection to the guest for '${command}'`);
    return this.checked(await this.remote.exec(command, { timeoutMs, signal: this.signal }));
  }

  /** Like cmd, but a failure is an error naming `what`. */
  async must(what: string, command: string, timeoutMs?: number): Promise<ExecResult> {
    const r = await this.cmd(command, timeoutMs);
    if (!execOk(r)) throw new Error(`${what}: ${describeExec(r)}`);
    return r;
  }
}

/** Polls `cond` until it holds, the deadline passes or the signal aborts. */
export async function waitUntil(cond: () => boolean, deadline: number, signal: AbortSignal): Promise<void> {
  while (!cond() && Date.now() < deadline && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Run `steps` for one job; the job record ends with its verdict. */
export async function runPipeline(job: Job, rec: JobRecord, ctx: JobContext, steps: readonly Step[]): Promise<void> {
  const s = new JobRun(job, rec, ctx);
  await mkdir(s.jobDir, { recursive: true });
  await mkdir(s.work, { recursive: true });
  const started = Date.now();
  rec.startedAt = new Date(started).toISOString();
  rec.deadlines = { runnerMs: ctx.timeouts.runnerMs, jobMs: ctx.timeouts.jobMs };

  let phaseName = 'queued';
  let phaseStart = started;
  const endPhase = () => {
    if (phaseName !== 'queued') rec.phases[phaseName] = (rec.phases[phaseName] ?? 0) + (Date.now() - phaseStart);
  };
  const phase = async (name: string) => {
    endPhase();
    phaseName = name;
    phaseStart = Date.now();
    rec.phase = name;
    ctx.onPhase(job.id, name);
    await ctx.save();
  };

  const onRunAbort = () => s.abort(ctx.signal.reason);
  if (ctx.signal.aborted) s.abort(ctx.signal.reason);
  else ctx.signal.addEventListener('abort', onRunAbort, { once: true });
  const jobTimer = setTimeout(() => {
    s.timeoutReason = `the job passed its deadline of ${Math.round(ctx.timeouts.jobMs / 1000)} s during ${phaseName}`;
    s.abort(new Error(s.timeoutReason));
  }, ctx.timeouts.jobMs);
  jobTimer.unref();

  try {
    if (ctx.sharedError) {
      s.stop('infraError', ctx.sharedError.message);
      return;
    }
    if (ctx.kernel instanceof Error) {
      s.stop('infraError', `kernel ${job.kernel.id} unavailable: ${ctx.kernel.message}`);
      return;
    }
    s.kernel = ctx.kernel;
    for (const step of steps) {
      if (step.when ? !step.when(s) : s.stopped) continue;
      await phase(step.name);
      const ms = step.deadlineMs?.(ctx.timeouts);
      const stepTimer =
        ms === undefined
          ? undefined
          : setTimeout(() => {
              s.timeoutReason = `step ${step.name} passed its deadline of ${Math.round(ms / 1000)} s`;
              s.abort(new Error(s.timeoutReason));
            }, ms);
      stepTimer?.unref();
      try {
        await step.run(s);
      } finally {
        clearTimeout(stepTimer);
      }
      if (s.signal.aborted) throw s.signal.reason;
    }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (s.panic) {
      // The splat says it all.
    } else if (s.timeoutReason) s.input.timeout = s.timeoutReason;
    else if (ctx.signal.aborted) s.input.infraError = `interrupted (${String(ctx.signal.reason ?? 'signal')})`;
    else s.input.infraError = `${phaseName}: ${why}`;
  } finally {
    clearTimeout(jobTimer);
    ctx.signal.removeEventListener('abort', onRunAbort);
    s.remote?.close();
    if (s.vm) {
      // After a panic QEMU exits by itself (panic=-1, -no-reboot) once the
      // kernel has printed everything.
      if (s.panic && !ctx.signal.aborted) await s.vm.waitExit(5000);
      rec.boot = { ...(rec.boot ?? { accel: ctx.accel.used }), qemuExit: await s.vm.stop() };
    }
    await Promise.all(s.streams.map((st) => new Promise((res) => st.end(res))));
    if (s.folder.guest) rec.guest = s.folder.guest;
    rec.splats = s.watcher.finish();
    rec.scenarios = s.folder.finish(s.panic ? 'the guest kernel panicked' : 'the runner stopped before the scenario ended');
    rec.problems = s.problems;
    const v = decideVerdict({ ...s.input, splats: rec.splats, scenarios: rec.scenarios, problems: s.problems });
    rec.verdict = v.verdict;
    rec.reason = v.reason;
    endPhase();
    rec.phase = 'done';
    rec.endedAt = new Date().toISOString();
    rec.wallMs = Date.now() - started;
    await rm(s.work, { recursive: true, force: true }).catch(() => undefined);
    ctx.onPhase(job.id, v.verdict, true);
    await ctx.save();
  }
}

