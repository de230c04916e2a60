// Processes a scenario starts or watches: their state in /proc (a task stuck
// in D state is a kernel bug the scenario must name, not wait for), and
// native programs run to completion under a deadline.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Ctx } from '../runner/api.js';

/** The state letter of a /proc/<pid>/stat line: the field after the command's last ')'. */
export function parseStatState(stat: string): string | undefined {
  const close = stat.lastIndexOf(')');
  if (close < 0) return undefined;
  return /^\s+([A-Za-z])\b/.exec(stat.slice(close + 1))?.[1];
}

function readState(path: string): string | undefined {
  try {
    return parseStatState(readFileSync(path, 'utf8'));
  } catch {
    return undefined;
  }
}

/** The state of each thread of a process ([] once it is gone). */
export function threadStates(pid: number): { tid: number; state: string }[] {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  return tids.flatMap((t) => {
    const state = readState(`/proc/${pid}/task/${t}/stat`);
    return state ? [{ tid: Number(t), state }] : [];
  });
}

/** Each thread of a process as "tid state" ("1234 D": in uninterruptible sleep). */
export function describeThreads(pid: number): string[] {
  return threadStates(pid).map((t) => `${t.tid} ${t.state}`);
}

/** Whether a process exists and has not exited (a zombie has). */
export function isRunning(pid: number): boolean {
  const state = readState(`/proc/${pid}/stat`);
  return state !== undefined && state !== 'Z' && state !== 'X';
}

/** SIGKILL a process we do not own as a child (already gone is fine). */
export function killPid(pid: number | undefined): void {
  if (typeof pid !== 'number' || pid <= 0) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone already
  }
}

export interface NativeRun {
  /** Exit code, or null when a signal ended it (or it never ended). */
  code: number | null;
  signal: string | null;
  stdout: string;
  /** The program was still running at its deadline (and was killed). */
  timedOut: boolean;
  /** Its threads at the deadline, "tid state". */
  threads: string[];
  /** Those of them in D state (stuck in the kernel), "tid D". */
  stuck: string[];
  /** It did not even end after SIGKILL (a task stuck in the kernel). */
  unkillable: boolean;
  ms: number;
}

/** How long a killed program gets to disappear. */
const KILL_GRACE_MS = 5_000;

/**
 * Run a program to its end, at most `deadlineMs`, collecting its stdout (its
 * stderr goes to the runner's).  At the deadline, or when the scenario is
 * aborted, the state of its threads is noted and it is SIGKILLed; the
 * scenario's clean-up kills it too, on every path.
 */
export async function runNative(ctx: Ctx, path: string, args: string[], deadlineMs: number): Promise<NativeRun> {
  const started = performance.now();
  const child = spawn(path, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.once('error', () => resolve());
  });
  ctx.defer(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const ended = await within(exited, deadlineMs, ctx.signal);
  const threads = ended || child.pid === undefined ? [] : describeThreads(child.pid);
  if (!ended) child.kill('SIGKILL');
  const gone = ended || (await within(exited, KILL_GRACE_MS));
  return {
    code: child.exitCode,
    signal: child.signalCode,
    stdout,
    timedOut: !ended,
    threads,
    stuck: threads.filter((t) => t.endsWith(' D')),
    unkillable: !gone,
    ms: Math.round(performance.now() - started),
  };
}

/** Whether `p` settles within `ms` (and before `signal` aborts). */
async function within(p: Promise<void>, ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return false;
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  const late = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), ms);
    onAbort = () => resolve(false);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  try {
    return await Promise.race([p.then(() => true), late]);
  } finally {
    clearTimeout(timer);
    if (onAbort) signal?.removeEventListener('abort', onAbort);
  }
}
