// nexus-lab shell and nexus-lab exec: what a kernel developer reaches for to
// reproduce a failure.  Both boot quick-profile guests exactly as a run's
// quick job does up to and including load (the same steps, lab/steps/), then
// open a shell on the terminal (shell) or upload files and run one command
// (exec); the guest is stopped after, on every path.  The command lines and
// the pure rules are in lab/interactive/options.ts, the guests in
// lab/interactive/session.ts, the terminal in lab/interactive/terminal.ts,
// the steps in lab/steps/interactive.ts.
import { join } from 'node:path';
import { UsageError } from './args.js';
import { inspectSource, type SourceTree } from './build.js';
import {
  combinedStatus, DEFAULT_EXEC_TIMEOUT_S, DEFAULT_SHELL_TIMEOUT_S, describeCommandEnd, EXIT, exitStatusOf, GUEST_UPLOAD_DIR,
  linePrefix, parseExecArgs, parseShellArgs, type CommandEnd, type ExecOptions, type GuestOptions, type ShellOptions,
} from './interactive/options.js';
import { planSessions, runSessions, type SessionKind, type SessionRecord, type SessionResult } from './interactive/session.js';
import type { Job } from './plan.js';
import { interruptible, killAll, liveProcesses } from './proc.js';
import { Progress, type ProgressSink } from './progress.js';
import type { JobRecord } from './results.js';
import type { LabPaths } from './run.js';
import { execStep, loadedStep, sessionTeardown, shellStep, uploadStep, UP_TO_LOAD, type SessionState } from './steps/interactive.js';

const GUEST_OPTIONS = `  --source PATH        the Nexus tree to build (default: kernel/); any tree
                       'nexus-lab run' takes
  --cpus N             guest vCPUs (default 1)
  --memory MIB         guest memory (default 1024)
  --accel MODE         auto (default): KVM if a probe boot works, else TCG;
                       or kvm / tcg
  --timeout-scale X    multiply the build, boot and small-command deadlines
                       by X (default 1)
  --matrix PATH        kernel matrix (default images/kernels.json)
  --results DIR        where the logs are written (default results/)
  --cache DIR          kernels, images and builds cache (default .cache/, or
                       $NEXUS_LAB_CACHE)
  -q, --quiet          no progress lines on stderr`;

export const SHELL_HELP = `nexus-lab shell - a shell in a guest with the Nexus modules loaded

Usage:
  nexus-lab shell --kernels K [--source PATH] [--timeout SECONDS] [options]

Builds the modules for kernel K (cached like a run's builds), boots one
quick-profile guest, loads the modules (insmod, in dependency order; the
shell does not open if one fails) and opens an SSH session as root on this
terminal: a pty of the terminal's size, window changes forwarded.  Type
'exit' (or Ctrl-D) to end it; "~." at the start of a line ends it from the
host, also when the guest hangs.  Ctrl-C goes to the guest's shell.  The
guest's files are thrown away with it (the root disk is a snapshot).

Without a terminal on stdin, no pty is opened: stdin is the guest shell's
input, as with 'ssh host < script', e.g.
  echo 'cat /proc/modules; exit 3' | nexus-lab shell --kernels 6.12-cloud

The guest is powered off when the session ends, and QEMU is ended on every
other path: Ctrl-C or SIGTERM before the session opens, SIGTERM or SIGHUP
during it, a failed build, boot or load, and the deadline.

Options:
  --kernels K          the guest's kernel: one kernel id of the matrix
  --timeout SECONDS    the session's deadline (default ${DEFAULT_SHELL_TIMEOUT_S}, ${DEFAULT_SHELL_TIMEOUT_S / 3600} hours)
${GUEST_OPTIONS}

Logs: <results>/<run-id>/session.json, and in <results>/<run-id>/<K>-shell/
build.log, console.log (the guest's serial console) and dmesg.txt; shell
prints where they are.

Exit status: the guest shell's exit status; 124 when the session passed its
deadline, 125 when the lab could not give a shell (build, boot or load
failed, the guest was lost) or "~." ended it, 130 when interrupted, 2 on
bad usage.`;

export const EXEC_HELP = `nexus-lab exec - run one command in a fresh guest per kernel

Usage:
  nexus-lab exec --kernels K[,K2...] [--upload FILE]... [--timeout SECONDS]
                 [--source PATH] [options] -- CMD [ARG...]

For each kernel, one after the other: builds the modules (cached), boots a
fresh quick-profile guest, loads the modules, uploads the files, runs the
command as root, then powers the guest off.  The guest has the modules
loaded (/dev/nexus exists) before the command starts.

The command: the words after -- joined with spaces and given to
'/bin/sh -c' in ${GUEST_UPLOAD_DIR} (as ssh does with its command words), so
quote what the host's shell must not expand:
  nexus-lab exec --kernels 6.12-cloud -- 'ls -l /dev/nexus* && cat /proc/modules'
Its stdin is empty.  Its stdout goes to stdout and its stderr to stderr, line
by line as they come; with several kernels each line starts with
"[<kernel>] ".

Options:
  --kernels LIST       comma-separated kernel ids of the matrix, or "all"
  --upload FILE        copy FILE (or a directory, with its contents) into
                       ${GUEST_UPLOAD_DIR}/ of the guest under its base name,
                       modes kept (an executable stays executable);
                       repeatable
  --timeout SECONDS    the command's deadline, wall time, not scaled under
                       TCG (default ${DEFAULT_EXEC_TIMEOUT_S}); the command is killed then
${GUEST_OPTIONS}

Logs: <results>/<run-id>/session.json (each kernel's job and how its command
ended), and per kernel <results>/<run-id>/<kernel>-exec/ build.log,
console.log and dmesg.txt.  Kernel splats seen on a guest's console during
the command are named on stderr.

Exit status: with one kernel, the command's exit status (128+N when killed
by signal N); 124 when it passed its deadline; 125 when the lab could not
run it to its end (build, boot, load or upload failed, the guest was lost or
panicked); 130 when interrupted (Ctrl-C or SIGTERM: the guest is stopped
first); 2 on bad usage.  With several kernels: 0 when every kernel's status
is 0, else the first non-zero status in --kernels order (each kernel's is
printed on stderr).`;

/** Progress lines that the shell silences while it owns the terminal. */
class QuietableProgress implements ProgressSink {
  muted = false;
  constructor(private readonly inner: ProgressSink | undefined) {}
  step(message: string): void {
    if (!this.muted) this.inner?.step(message);
  }
  phase(job: string, phase: string, ended?: boolean): void {
    if (!this.muted) this.inner?.phase(job, phase, ended);
  }
  stop(): void {
    this.inner?.stop();
  }
}

/** Ctrl-C and SIGTERM (lab/proc.ts interruptible), and SIGHUP: the terminal went away. */
function stopSignals(what: string): { signal: AbortSignal; dispose: () => void } {
  const intr = interruptible(what);
  const hup = new AbortController();
  const onHup = () => hup.abort('SIGHUP');
  process.on('SIGHUP', onHup);
  return {
    signal: AbortSignal.any([intr.signal, hup.signal]),
    dispose: () => {
      process.off('SIGHUP', onHup);
      intr.dispose();
    },
  };
}

/** How a kernel's session ended when its step never recorded it. */
export function endOf(st: SessionState, rec: JobRecord, signal: AbortSignal): CommandEnd {
  if (st.end) return st.end;
  if (signal.aborted) return { kind: 'interrupted', reason: String(signal.reason ?? 'signal') };
  const problems = rec.problems.length > 0 ? rec.problems.join('; ') : undefined;
  return { kind: 'lab', reason: problems ?? `${rec.verdict ?? 'no verdict'}${rec.reason ? `: ${rec.reason}` : ''}` };
}

function resultOf(job: Job, st: SessionState, rec: JobRecord, signal: AbortSignal): SessionResult {
  const end = endOf(st, rec, signal);
  return { kernel: job.kernel.id, job: job.id, status: exitStatusOf(end), end };
}

async function prepare(
  kind: SessionKind,
  argv: string[],
  paths: LabPaths,
): Promise<{ help: string } | { options: ShellOptions | ExecOptions; jobs: Job[]; source: SourceTree }> {
  const parsed = kind === 'shell' ? parseShellArgs(argv, { root: paths.root }) : parseExecArgs(argv, { root: paths.root });
  if (parsed.help) return { help: kind === 'shell' ? SHELL_HELP : EXEC_HELP };
  const jobs = await planSessions(kind, parsed.options).catch((e: Error) => {
    throw new UsageError(e.message);
  });
  const source = await inspectSource(parsed.options.sourcePath).catch((e: Error) => {
    throw new UsageError(e.message);
  });
  return { options: parsed.options, jobs, source };
}

function fileOf(runDir: string, rec: JobRecord | undefined, key: string): string | undefined {
  const f = rec?.files[key];
  return f ? join(runDir, f) : undefined;
}

function finishCommon(record: SessionRecord, runDir: string, quiet: boolean): void {
  for (const rec of record.jobs) {
    for (const sp of rec.splats) process.stderr.write(`${rec.kernel.id}: kernel ${sp.kind}: ${sp.title} (${fileOf(runDir, rec, 'console') ?? 'console.log'})\n`);
    for (const p of rec.problems) process.stderr.write(`${rec.kernel.id}: ${p}\n`);
  }
  if (!quiet || record.results.some((r) => r.status !== 0)) {
    process.stderr.write(`logs: ${runDir}\n`);
    if (record.accel) process.stderr.write(`accelerator: ${record.accel.used} (${record.accel.reason})\n`);
  }
  const left = liveProcesses();
  if (left.length > 0) process.stderr.write(`warning: ending ${left.length} leftover process(es)\n`);
  killAll();
}

async function runCommand(kind: SessionKind, argv: string[], paths: LabPaths): Promise<number> {
  let prepared;
  try {
    prepared = await prepare(kind, argv, paths);
  } catch (e) {
    process.stderr.write(`nexus-lab ${kind}: ${(e as Error).message}\n\nRun 'nexus-lab ${kind} --help' for usage.\n`);
    return EXIT.usage;
  }
  if ('help' in prepared) {
    process.stdout.write(`${prepared.help}\n`);
    return 0;
  }
  const { options: o, jobs, source } = prepared;
  const stop = stopSignals(kind === 'shell' ? 'stopping the guest' : 'stopping the guest and writing the results');
  const progress = new QuietableProgress(o.quiet ? undefined : new Progress(process.stderr, jobs.map((j) => j.id), false));
  // `nexus-lab exec ... | head`: a reader that stops early does not stop the guest's cleanup.
  process.stdout.on('error', () => undefined);
  let runDir = o.resultsDir;
  try {
    const record = await runSessions({
      kind,
      options: o,
      jobs,
      source,
      paths,
      progress,
      signal: stop.signal,
      onStart: (dir) => {
        runDir = dir;
      },
      job: (job) => (kind === 'shell' ? shellJob(job, o, progress, stop.signal) : execJob(job, o as ExecOptions, jobs.length, stop.signal)),
    });
    finishCommon(record, runDir, o.quiet);
    for (const r of record.results) {
      if (kind === 'exec' && (jobs.length > 1 || r.status !== 0 || !o.quiet)) process.stderr.write(`${r.kernel}: ${describeCommandEnd(r.end)}\n`);
      if (kind === 'shell' && r.end.kind !== 'exit') process.stderr.write(`${r.kernel}: shell ${describeCommandEnd(r.end)}\n`);
    }
    if (record.error) process.stderr.write(`nexus-lab ${kind}: ${record.error}\n`);
    if (stop.signal.aborted) return EXIT.interrupted;
    if (record.results.length === 0) return EXIT.lab;
    return kind === 'shell' || jobs.length === 1 ? record.results[0]!.status : combinedStatus(record.results.map((r) => r.status));
  } catch (e) {
    process.stderr.write(`nexus-lab ${kind}: ${(e as Error).message}\n`);
    killAll();
    return stop.signal.aborted ? EXIT.interrupted : EXIT.lab;
  } finally {
    stop.dispose();
  }
}

function shellJob(job: Job, o: GuestOptions, progress: QuietableProgress, signal: AbortSignal) {
  const st: SessionState = { timeoutMs: o.timeoutMs };
  const steps = [
    ...UP_TO_LOAD,
    loadedStep,
    shellStep(st, {
      before: (s) => {
        progress.muted = true;
        const release = s.kernel?.release ?? job.kernel.id;
        process.stderr.write(
          `\nguest ${release} is up, modules loaded: ${s.modules.map((m) => m.name).join(', ')}\n` +
            `console log: ${join(s.jobDir, 'console.log')}\n` +
            `dmesg (at the end): ${join(s.jobDir, 'dmesg.txt')}\n` +
            (process.stdin.isTTY ? `'exit' or Ctrl-D ends the session, "~." ends it from the host; the guest is then powered off\n\n` : ''),
        );
      },
      after: () => {
        progress.muted = false;
      },
    }),
    ...sessionTeardown,
  ];
  return { steps, result: (rec: JobRecord) => resultOf(job, st, rec, signal) };
}

function execJob(job: Job, o: ExecOptions, kernels: number, signal: AbortSignal) {
  const st: SessionState = { timeoutMs: o.timeoutMs };
  const prefix = linePrefix(job.kernel.id, kernels);
  const steps = [
    ...UP_TO_LOAD,
    loadedStep,
    uploadStep(o.uploads),
    execStep(st, o.words, {
      stdoutLine: (line) => process.stdout.write(`${prefix}${line}\n`),
      stderrLine: (line) => process.stderr.write(`${prefix}${line}\n`),
    }),
    ...sessionTeardown,
  ];
  return { steps, result: (rec: JobRecord) => resultOf(job, st, rec, signal) };
}

/** `nexus-lab shell ...`: see SHELL_HELP. */
export function cmdShell(argv: string[], paths: LabPaths): Promise<number> {
  return runCommand('shell', argv, paths);
}

/** `nexus-lab exec ... -- CMD...`: see EXEC_HELP. */
export function cmdExec(argv: string[], paths: LabPaths): Promise<number> {
  return runCommand('exec', argv, paths);
}
