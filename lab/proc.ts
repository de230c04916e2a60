// Owned child processes: every process the lab starts has a deadline, can be
// cancelled, and is ended (with its whole process group) on every path,
// including Ctrl-C and SIGTERM of the lab itself (see killAll).
import { createWriteStream, type WriteStream } from 'node:fs';
import { execa } from 'execa';
import { lineSplitter } from './lines.js';

export interface SpawnOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** Hard deadline; the process group is terminated when it passes. */
  timeoutMs: number;
  /** Cancels the process (SIGTERM to its group, then SIGKILL). */
  signal?: AbortSignal;
  /** Append stdout and stderr, as they come, to this file. */
  logFile?: string;
  /** Called with each complete line of stdout. */
  onStdoutLine?: (line: string) => void;
  /** Called with each complete line of stderr. */
  onStderrLine?: (line: string) => void;
  /** Written to stdin, which is then closed; stdin is /dev/null otherwise. */
  input?: string;
  /** Keep stdout in memory (default true); off for chatty long-lived processes. */
  buffer?: boolean;
  /** Grace period between SIGTERM and SIGKILL. */
  killGraceMs?: number;
}

export interface ProcResult {
  command: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  cancelled: boolean;
  /** The process could not be started (missing binary, ...). */
  spawnError?: string;
  durationMs: number;
  stdout: string;
  stderr: string;
}

export function succeeded(r: ProcResult): boolean {
  return r.exitCode === 0 && !r.timedOut && !r.cancelled && r.spawnError === undefined;
}

/** One line describing how a process ended, for logs and verdict reasons. */
export function describeEnd(r: ProcResult): string {
  if (r.spawnError !== undefined) return `could not start: ${r.spawnError}`;
  if (r.timedOut) return `timed out after ${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.cancelled) return 'cancelled';
  if (r.signal) return `killed by ${r.signal}`;
  return `exit code ${r.exitCode}`;
}

interface LiveEntry {
  command: string;
  terminate: () => void;
}

const live = new Map<number, LiveEntry>();

/** Processes started by this lab that are still running. */
export function liveProcesses(): { pid: number; command: string }[] {
  return [...live].map(([pid, e]) => ({ pid, command: e.command }));
}

/** Terminate every process this lab owns (used on SIGINT/SIGTERM and at exit). */
export function killAll(): void {
  for (const entry of live.values()) entry.terminate();
}

export interface Interruptible {
  signal: AbortSignal;
  /** Stop listening for the signals (the command is over). */
  dispose(): void;
}

/**
 * SIGINT/SIGTERM for a long command: the first aborts `signal` so the
 * command winds down (ends its guests, writes its results), saying `what`;
 * if that takes over 30 s, or on a second signal, every process the lab owns
 * is ended and the lab exits 130.
 */
export function interruptible(what: string): Interruptible {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${sig}: ${what} (again to force)\n`);
      controller.abort(sig);
      setTimeout(() => {
        killAll();
        process.exit(130);
      }, 30_000).unref();
    } else {
      killAll();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    signal: controller.signal,
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      // already gone
    }
  }
}

export interface OwnedProcess {
  pid: number | undefined;
  command: string;
  /** Resolves when the process has ended, however it ended. Never rejects. */
  done: Promise<ProcResult>;
  /** SIGTERM the group, SIGKILL after the grace period. */
  terminate: () => void;
  /** True once the process has exited. */
  exited: () => boolean;
}

/**
 * Start a process in its own process group.  It is registered until it ends,
 * so killAll() can reach it, and it is terminated when its deadline passes or
 * its signal aborts.
 */
export function spawnOwned(file: string, args: readonly string[], opts: SpawnOptions): OwnedProcess {
  const command = [file, ...args].join(' ');
  const started = Date.now();
  const grace = opts.killGraceMs ?? 3000;
  const keep = opts.buffer ?? true;
  let timedOut = false;
  let cancelled = false;
  let finished = false;
  let killTimer: NodeJS.Timeout | undefined;
  let stdout = '';
  let stderr = '';
  let log: WriteStream | undefined;
  if (opts.logFile) log = createWriteStream(opts.logFile, { flags: 'a' });

  const sub = execa(file, args, {
    cwd: opts.cwd,
    env: opts.env,
    extendEnv: true,
    detached: true,
    reject: false,
    buffer: false,
    stdin: opts.input !== undefined ? 'pipe' : 'ignore',
    stdout: 'pipe',
    stderr: 'pipe',
    encoding: 'utf8',
    cleanup: true,
  });
  const pid = sub.pid;

  const terminate = () => {
    if (finished || pid === undefined) return;
    signalGroup(pid, 'SIGTERM');
    if (!killTimer) {
      killTimer = setTimeout(() => {
        if (!finished) signalGroup(pid, 'SIGKILL');
      }, grace);
      killTimer.unref();
    }
  };
  if (pid !== undefined) live.set(pid, { command, terminate });

  const outLines = opts.onStdoutLine ? lineSplitter(opts.onStdoutLine) : undefined;
  const errLines = opts.onStderrLine ? lineSplitter(opts.onStderrLine) : undefined;
  sub.stdout?.setEncoding('utf8');
  sub.stderr?.setEncoding('utf8');
  sub.stdout?.on('data', (chunk: string) => {
    if (keep) stdout += chunk;
    log?.write(chunk);
    outLines?.push(chunk);
  });
  sub.stderr?.on('data', (chunk: string) => {
    stderr += chunk;
    log?.write(chunk);
    errLines?.push(chunk);
  });
  if (opts.input !== undefined) {
    sub.stdin?.on('error', () => undefined);
    sub.stdin?.end(opts.input);
  }

  const deadline = setTimeout(() => {
    timedOut = true;
    terminate();
  }, opts.timeoutMs);
  deadline.unref();
  const onAbort = () => {
    cancelled = true;
    terminate();
  };
  if (opts.signal) {
    if (opts.signal.aborted) onAbort();
    else opts.signal.addEventListener('abort', onAbort, { once: true });
  }

  const done = (async (): Promise<ProcResult> => {
    const r = await sub;
    finished = true;
    clearTimeout(deadline);
    if (killTimer) clearTimeout(killTimer);
    opts.signal?.removeEventListener('abort', onAbort);
    if (pid !== undefined) {
      // Children of the process that outlived it belong to us too.
      signalGroup(pid, 'SIGKILL');
      live.delete(pid);
    }
    outLines?.flush();
    errLines?.flush();
    if (log) await new Promise<void>((resolve) => log!.end(resolve));
    const spawnFailed = r.failed && r.exitCode === undefined && r.signal === undefined && !timedOut && !cancelled;
    return {
      command,
      exitCode: r.exitCode ?? null,
      signal: r.signal ?? null,
      timedOut,
      cancelled,
      ...(spawnFailed ? { spawnError: r.originalMessage || r.shortMessage } : {}),
      durationMs: Date.now() - started,
      stdout,
      stderr,
    };
  })();

  return { pid, command, done, terminate, exited: () => finished };
}

/** Run a process to completion under a deadline. Never rejects. */
export function run(file: string, args: readonly string[], opts: SpawnOptions): Promise<ProcResult> {
  return spawnOwned(file, args, opts).done;
}

/** Run a process and return its stdout; throw with its stderr if it failed. */
export async function runChecked(file: string, args: readonly string[], opts: SpawnOptions): Promise<string> {
  const r = await run(file, args, opts);
  if (!succeeded(r)) {
    const tail = (r.stderr || r.stdout).trim().split('\n').slice(-5).join('\n');
    throw new Error(`${file} ${args.join(' ')}: ${describeEnd(r)}${tail ? `\n${tail}` : ''}`);
  }
  return r.stdout;
}
