// Processes a scenario starts or watches: their state in /proc (a task stuck
// in D state is a kernel bug the scenario must name, not wait for), and
// native programs run to completion under a deadline.
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Ctx } from '../runner/api.js';
import { scaled } from './guest.js';

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
  const ended = await within(exited, scaled(deadlineMs), ctx.signal);
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

/** What checkNativeRun expects of a program that runNative ran. */
export interface NativeExpect {
  /** How the checks name it: "nexus-fuzz", "nexus-race create-delete". */
  name: string;
  /** Its own time limit in seconds, and the room beyond it that runNative gave it. */
  deadlineS: number;
  slackMs: number;
  /** The exit statuses with which it has run to its report, and how a check says so. */
  codes: readonly number[];
  ran: string;
}

/**
 * Check that a native program ended in time by itself (naming its threads,
 * and those stuck in D state, when it did not), died when killed, and
 * exited with one of its statuses; true when all of that held.
 */
export function checkNativeRun(ctx: Ctx, run: NativeRun, e: NativeExpect): boolean {
  const ended = ctx.check(!run.timedOut, `${e.name} ends within ${e.deadlineS} s + ${e.slackMs / 1000} s`, 'ended',
    run.stuck.length > 0 ? `stuck in D state: ${run.stuck.join(', ')}` : `still running: ${run.threads.join(', ')}`);
  const died = ctx.check(!run.unkillable, `${e.name} dies when killed`, 'gone', `still there ${KILL_GRACE_MS / 1000} s after SIGKILL`);
  const code = ctx.check(run.code !== null && e.codes.includes(run.code), `${e.name} ${e.ran}`,
    e.codes.length === 1 ? e.codes[0] : e.codes.join(' or '),
    { code: run.code, signal: run.signal });
  return ended && died && code;
}

/**
 * checkNativeRun, then the program's summary from its stdout by `parse`
 * (which throws a readable message on anything else: a failed check).
 */
export function checkNativeSummary<T>(ctx: Ctx, run: NativeRun, e: NativeExpect, parse: (stdout: string) => T): T | undefined {
  checkNativeRun(ctx, run, e);
  try {
    return parse(run.stdout);
  } catch (err) {
    ctx.check(false, (err as Error).message);
    return undefined;
  }
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
