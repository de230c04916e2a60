// One job, start to verdict: build the modules for its kernel, assemble its
// initramfs, boot the guest, connect, load the modules, run the suites,
// check the counters, unload, collect, power off.  Whatever happens, the
// guest and the SSH session are ended and the job gets exactly one verdict.
import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { buildModules, type BuiltModule, type SourceTree } from './build.js';
import { ConsoleWatcher, type Splat } from './console.js';
import { buildInitramfs, GUEST_MODULES_DIR, GUEST_SCENARIOS_DIR, SSHD_LISTENING, type Rootfs } from './images.js';
import type { KernelTree } from './kernels.js';
import { DEFAULT_BUDGET_MS, type Job } from './plan.js';
import { describeExec, execOk, Remote, type ExecResult, type KeyPair } from './remote.js';
import { EventFolder, type JobRecord } from './results.js';
import { decideVerdict, type VerdictInput } from './verdict.js';
import { freePort, guestAppend, Vm, type AccelChoice } from './vm.js';
import { parseEvent } from '../scenarios/runner/events.js';
import { parseCounters, COUNTERS_PATH } from '../scenarios/lib/guest.js';

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
 * and a job whose suites have `budgetMs` between them (Job.budgetMs).  The
 * job deadline is the sum of its phases' plus room for the small commands.
 */
export function timeoutsFor(accel: 'kvm' | 'tcg', scale = 1, budgetMs = DEFAULT_BUDGET_MS): Timeouts {
  const s = (accel === 'tcg' ? 4 : 1) * scale;
  const buildMs = 600_000 * scale;
  const bootMs = 45_000 * s;
  const runnerMs = budgetMs * s;
  return {
    buildMs,
    bootMs,
    commandMs: 15_000 * s,
    runnerMs,
    poweroffMs: 10_000 * s,
    jobMs: buildMs + bootMs + runnerMs + 135_000 * s,
  };
}

/** The job config the guest runner reads (--config): its suites and the run parameters. */
export function jobConfig(runId: string, job: Pick<Job, 'id' | 'suites'>, params: Readonly<Record<string, string>>): string {
  return JSON.stringify({ runId, job: job.id, suites: job.suites, params }, null, 2);
}

export interface JobContext {
  runId: string;
  runDir: string;
  workDir: string;
  cacheDir: string;
  source: SourceTree;
  rootfs: Rootfs;
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

async function bootHint(consolePath: string): Promise<string> {
  return bootHintOf(await readFile(consolePath, 'latin1').catch(() => ''));
}

/** Poll `cond` until it holds, the deadline passes or the signal aborts. */
async function waitUntil(cond: () => boolean, deadline: number, signal: AbortSignal): Promise<void> {
  while (!cond() && Date.now() < deadline && !signal.aborted) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** A guest that saw other vCPUs than the job asked for runs its suites for nothing. */
export function cpuMismatch(asked: number, seen: number | undefined): string | undefined {
  if (seen === undefined || seen === asked) return undefined;
  return `the guest saw ${seen} vCPU${seen === 1 ? '' : 's'}, the job asked for ${asked}`;
}

/** Counters that are not zero once every scenario is over: leaked objects. */
/** A guest command that removes a loaded module, retrying for up to 5 s while it is in use. */
export function unloadCommand(name: string): string {
  const q = shellQuote(name);
  return `if grep -q '^${name} ' /proc/modules; then for i in $(seq 50); do rmmod ${q} 2>/dev/null && exit 0; sleep 0.1; done; rmmod ${q}; fi`;
}

export function leaks(values: Record<string, number>): string[] {
  return Object.entries(values)
    .filter(([, v]) => v !== 0)
    .map(([k, v]) => `${k}=${v}`);
}

export async function runJob(job: Job, rec: JobRecord, ctx: JobContext): Promise<void> {
  const jobDir = join(ctx.runDir, job.id);
  const work = join(ctx.workDir, job.id);
  await mkdir(jobDir, { recursive: true });
  await mkdir(work, { recursive: true });
  const started = Date.now();
  rec.startedAt = new Date(started).toISOString();
  rec.deadlines = { runnerMs: ctx.timeouts.runnerMs, jobMs: ctx.timeouts.jobMs };

  let phaseName = 'queued';
  let phaseStart = started;
  const phase = async (name: string) => {
    if (phaseName !== 'queued') rec.phases[phaseName] = (rec.phases[phaseName] ?? 0) + (Date.now() - phaseStart);
    phaseName = name;
    phaseStart = Date.now();
    rec.phase = name;
    ctx.onPhase(job.id, name);
    await ctx.save();
  };

  const abort = new AbortController();
  let timeoutReason: string | undefined;
  let panic: Splat | undefined;
  const onRunAbort = () => abort.abort(ctx.signal.reason);
  if (ctx.signal.aborted) abort.abort(ctx.signal.reason);
  else ctx.signal.addEventListener('abort', onRunAbort, { once: true });
  const jobTimer = setTimeout(() => {
    timeoutReason = `the job passed its deadline of ${Math.round(ctx.timeouts.jobMs / 1000)} s during ${phaseName}`;
    abort.abort(new Error(timeoutReason));
  }, ctx.timeouts.jobMs);
  jobTimer.unref();

  const input: Pick<VerdictInput, 'buildError' | 'bootError' | 'timeout' | 'infraError'> = {};
  const problems: string[] = [];
  const folder = new EventFolder();
  let sshdListening = false;
  const watcher = new ConsoleWatcher({
    onPanic: (s) => {
      panic = s;
      abort.abort(new Error('kernel panic'));
    },
    onLine: (line) => {
      if (SSHD_LISTENING.test(line)) sshdListening = true;
    },
  });
  let vm: Vm | undefined;
  let remote: Remote | undefined;
  let events: WriteStream | undefined;
  let runnerLog: WriteStream | undefined;

  try {
    if (ctx.sharedError) {
      input.infraError = ctx.sharedError.message;
      return;
    }
    if (ctx.kernel instanceof Error) {
      input.infraError = `kernel ${job.kernel.id} unavailable: ${ctx.kernel.message}`;
      return;
    }
    const kernel = ctx.kernel;

    // Build.
    await phase('build');
    rec.files.build = `${job.id}/build.log`;
    const b = await buildModules({
      source: ctx.source,
      kernel,
      cacheDir: ctx.cacheDir,
      logPath: join(jobDir, 'build.log'),
      timeoutMs: ctx.timeouts.buildMs,
      signal: abort.signal,
    });
    rec.build = {
      ok: b.ok,
      cached: b.cached,
      warnings: b.warnings,
      durationMs: b.durationMs,
      modules: b.modules.map((m) => m.name),
      ...(b.error ? { error: b.error } : {}),
    };
    if (!b.ok) {
      if (abort.signal.aborted) throw abort.signal.reason;
      input.buildError = `${kernel.release}: ${b.error}`;
      return;
    }
    const modules: BuiltModule[] = b.modules;

    // Image.
    await phase('image');
    const initrd = join(work, 'initrd.cpio');
    rec.initramfsBytes = await buildInitramfs({
      workDir: work,
      output: initrd,
      rootfs: ctx.rootfs,
      initScript: ctx.initScript,
      kernel,
      nexusModules: modules,
      bundleDir: ctx.bundleDir,
      authorizedKey: ctx.keys.publicKey,
      signal: abort.signal,
    });

    // Boot: QEMU follows the run's cancellation, not the job's, so that a
    // panicking guest can finish printing before it is collected.
    await phase('boot');
    rec.files.console = `${job.id}/console.log`;
    const sshPort = await freePort();
    const qmpSocket = join(tmpdir(), `nexus-lab-${ctx.runId}-${job.id}.qmp`);
    vm = Vm.start(
      {
        name: `${ctx.runId}/${job.id}`,
        accel: ctx.accel.used,
        kernel: kernel.vmlinuz,
        initrd,
        append: guestAppend(),
        disk: ctx.rootfs.image,
        memoryMiB: ctx.memoryMiB,
        cpus: job.cpus,
        consolePath: join(jobDir, 'console.log'),
        qmpSocket,
        sshPort,
      },
      { signal: ctx.signal, lifetimeMs: ctx.timeouts.jobMs, onConsole: (c) => watcher.feed(c) },
    );
    rec.boot = { accel: ctx.accel.used };
    const theVm = vm;
    const bootDeadline = Date.now() + ctx.timeouts.bootMs;
    // Connect once sshd listens: before that, user-mode networking accepts
    // the connection and holds it until the attempt times out.
    await waitUntil(() => sshdListening || theVm.exited(), bootDeadline, abort.signal);
    if (abort.signal.aborted) throw abort.signal.reason;
    remote = await (sshdListening
      ? Remote.connect({
          host: '127.0.0.1',
          port: sshPort,
          username: 'root',
          privateKey: ctx.keys.privateKey,
          hostKey: ctx.rootfs.hostKey,
          deadline: bootDeadline,
          signal: abort.signal,
          shouldStop: () => (theVm.exited() ? 'QEMU exited before SSH was ready' : undefined),
        })
      : Promise.reject(
          new Error(theVm.exited() ? 'QEMU exited before sshd started' : `sshd did not start within ${Math.round(ctx.timeouts.bootMs / 1000)} s`),
        )
    ).catch(async (e: Error) => {
      if (abort.signal.aborted) throw abort.signal.reason;
      await theVm.stop();
      input.bootError = `${e.message}${await bootHint(join(jobDir, 'console.log'))}`;
      return undefined;
    });
    if (!remote) return;
    rec.boot.bootToSshMs = Date.now() - vm.startedAt;
    const r = remote;
    // A lost connection means the guest is gone (a panic, most often): let
    // QEMU finish and its console be read, then stop the job.
    const checked = async (res: ExecResult): Promise<ExecResult> => {
      if (abort.signal.aborted) throw abort.signal.reason;
      if (!res.lost) return res;
      await theVm.waitExit(5000);
      await theVm.stop();
      if (abort.signal.aborted) throw abort.signal.reason;
      throw new Error(`the connection to the guest was lost during '${res.command}'`);
    };
    const cmd = async (command: string) =>
      checked(await r.exec(command, { timeoutMs: ctx.timeouts.commandMs, signal: abort.signal }));

    // Load.
    await phase('load');
    const config = join(work, 'job.json');
    await writeFile(config, jobConfig(ctx.runId, job, ctx.params));
    const up = await checked(await r.upload(work, ['job.json'], '/run/nexus', { timeoutMs: ctx.timeouts.commandMs, signal: abort.signal }));
    if (!execOk(up)) throw new Error(`uploading the job config failed: ${describeExec(up)}`);
    for (const m of modules) {
      const res = await cmd(`insmod ${GUEST_MODULES_DIR}/${m.name}.ko`);
      if (!execOk(res)) {
        problems.push(`insmod ${m.name}.ko failed: ${describeExec(res)}`);
        break;
      }
    }
    if (problems.length === 0) {
      const dev = await cmd('test -c /dev/nexus');
      if (!execOk(dev)) problems.push('/dev/nexus did not appear after loading the modules');
    }

    // Run.
    if (problems.length === 0) {
      await phase('run');
      rec.files.events = `${job.id}/events.jsonl`;
      rec.files.runner = `${job.id}/runner.log`;
      events = createWriteStream(join(jobDir, 'events.jsonl'));
      runnerLog = createWriteStream(join(jobDir, 'runner.log'));
      const ev = events;
      const rl = runnerLog;
      const res = await checked(await r.exec(`UV_THREADPOOL_SIZE=32 node ${GUEST_SCENARIOS_DIR}/runner/main.js --config /run/nexus/job.json`, {
        timeoutMs: ctx.timeouts.runnerMs,
        signal: abort.signal,
        onStdoutLine: (line) => {
          const e = parseEvent(line);
          if (e) {
            ev.write(`${line}\n`);
            folder.add(e);
          } else rl.write(`stdout: ${line}\n`);
        },
        onStderrLine: (line) => rl.write(`${line}\n`),
      }));
      if (res.timedOut) {
        input.timeout = `the scenarios did not finish within ${Math.round(ctx.timeouts.runnerMs / 1000)} s`;
      } else if (!folder.runEnded) {
        problems.push(`the runner ended without finishing the run (${describeExec(res)})`);
      }
      const cpuProblem = cpuMismatch(job.cpus, folder.guest?.cpus);
      if (cpuProblem) problems.push(cpuProblem);
      rec.counters = folder.counters;
      await ctx.save();

      // Objects left over once every scenario is over are leaks.
      await phase('counters');
      const c = await cmd(`cat ${COUNTERS_PATH}`);
      if (execOk(c)) {
        const values = parseCounters(c.stdout);
        rec.counters.push({ label: 'after run', values });
        const leaked = leaks(values);
        if (leaked.length > 0) problems.push(`objects left after the run: ${leaked.join(', ')}`);
      } else problems.push(`cannot read ${COUNTERS_PATH}: ${describeExec(c)}`);
    }

    // Unload, dependents first: a module that will not go is a failure.
    // Objects hold the module that provides them (nexus_area.ko) and a
    // dead team's objects go in the kernel's own time, just after its
    // process: a module still in use gets a few seconds.
    await phase('unload');
    for (const m of [...modules].reverse()) {
      const res = await cmd(unloadCommand(m.name));
      if (!execOk(res)) problems.push(`rmmod ${m.name} failed: ${describeExec(res)}`);
    }

    await phase('collect');
    rec.files.dmesg = `${job.id}/dmesg.txt`;
    const d = await cmd('dmesg');
    await writeFile(join(jobDir, 'dmesg.txt'), execOk(d) ? d.stdout : `dmesg failed: ${describeExec(d)}\n`);

    await phase('poweroff');
    // The guest powers off in the middle of this command: its end is not an error.
    await r.exec('sync; echo o > /proc/sysrq-trigger', { timeoutMs: 5000, signal: abort.signal });
    if (!(await vm.waitExit(ctx.timeouts.poweroffMs))) problems.push('the guest did not power off in time');
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    if (panic) {
      // The splat says it all.
    } else if (timeoutReason) input.timeout = timeoutReason;
    else if (ctx.signal.aborted) input.infraError = `interrupted (${String(ctx.signal.reason ?? 'signal')})`;
    else input.infraError = `${phaseName}: ${why}`;
  } finally {
    clearTimeout(jobTimer);
    ctx.signal.removeEventListener('abort', onRunAbort);
    remote?.close();
    if (vm) {
      // After a panic QEMU exits by itself (panic=-1, -no-reboot) once the
      // kernel has printed everything.
      if (panic && !ctx.signal.aborted) await vm.waitExit(5000);
      rec.boot = { ...(rec.boot ?? { accel: ctx.accel.used }), qemuExit: await vm.stop() };
    }
    await Promise.all(
      [events, runnerLog].filter((s): s is WriteStream => s !== undefined).map((s) => new Promise((res) => s.end(res))),
    );
    if (folder.guest) rec.guest = folder.guest;
    rec.splats = watcher.finish();
    rec.scenarios = folder.finish(panic ? 'the guest kernel panicked' : 'the runner stopped before the scenario ended');
    rec.problems = problems;
    const v = decideVerdict({ ...input, splats: rec.splats, scenarios: rec.scenarios, problems });
    rec.verdict = v.verdict;
    rec.reason = v.reason;
    rec.phases[phaseName] = (rec.phases[phaseName] ?? 0) + (Date.now() - phaseStart);
    rec.phase = 'done';
    rec.endedAt = new Date().toISOString();
    rec.wallMs = Date.now() - started;
    await rm(work, { recursive: true, force: true }).catch(() => undefined);
    ctx.onPhase(job.id, v.verdict, true);
    await ctx.save();
  }
}
