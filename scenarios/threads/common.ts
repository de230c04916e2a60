// Guest-side helpers of the threads and areas suites: the ABI constants they
// add (kernel/include/nexus.h), a scenario wrapper that also brings the
// thread and area counters back to their baseline, spawned threads that are
// always ended and reaped, and small waits on a thread's report.
import { readdirSync } from 'node:fs';
import type { Ctx, Scenario } from '../runner/api.js';
import type { Agent } from '../lib/agent.js';
import { hasCountersFile, readCounters, sleep, waitFor } from '../lib/guest.js';
import {
  B_BAD_THREAD_ID,
  B_OK,
  B_RELATIVE_TIMEOUT,
  SETTLE_MS,
  need,
  scenario as countedScenario,
  statusName as baseStatusName,
} from '../lib/nexus.js';
import { B_GENERAL_ERROR_BASE } from '../native/index.js';
import { tx } from './api.js';
import { agentSpawnLine, parseAgentReport, type ThreadOp, type ThreadReport } from './model.js';

// nexus.h: thread states, the thread status Haiku adds, area bits.
export const B_BAD_THREAD_STATE = B_GENERAL_ERROR_BASE + 0x2004;
export const B_THREAD_RUNNING = 1;
export const B_THREAD_READY = 2;
export const B_THREAD_RECEIVING = 3;
export const B_THREAD_ASLEEP = 4;
export const B_THREAD_SUSPENDED = 5;
export const B_THREAD_WAITING = 6;
export const B_READ_AREA = 0x01;
export const B_WRITE_AREA = 0x02;
export const B_EXECUTE_AREA = 0x04;
export const B_CLONEABLE_AREA = 0x100;
export const B_NO_LOCK = 0;
export const B_LAZY_LOCK = 1;
export const B_FULL_LOCK = 2;
export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;
export const EACCES = 13;
export const EFAULT = 14;
export const PAGE = 4096;

/** A team id no process has (pid_max is at most 2^22), and a thread id no thread has. */
export const NO_SUCH_TEAM = 0x3ffffff0;
export const NO_SUCH_THREAD = 0x3ffffff1;

/** A value the runner can put in an event (JSON): bigints become strings. */
export function plain(v: unknown): unknown {
  return v === undefined ? undefined : JSON.parse(JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? String(x) : x)));
}

const MORE_NAMES: Record<number, string> = { [B_BAD_THREAD_STATE]: 'B_BAD_THREAD_STATE' };

/** lib/nexus's status names, and the ones threads add. */
export function statusName(v: unknown): string {
  return typeof v === 'number' && MORE_NAMES[v] ? `${MORE_NAMES[v]} (${v})` : baseStatusName(v);
}

export function expectStatus(ctx: Ctx, actual: unknown, expected: number, message: string): boolean {
  return ctx.check(actual === expected, message, statusName(expected), statusName(actual));
}

const STATES: Record<number, string> = {
  [B_THREAD_RUNNING]: 'B_THREAD_RUNNING',
  [B_THREAD_READY]: 'B_THREAD_READY',
  [B_THREAD_RECEIVING]: 'B_THREAD_RECEIVING',
  [B_THREAD_ASLEEP]: 'B_THREAD_ASLEEP',
  [B_THREAD_SUSPENDED]: 'B_THREAD_SUSPENDED',
  [B_THREAD_WAITING]: 'B_THREAD_WAITING',
};
export const stateName = (s: unknown): string => (typeof s === 'number' && STATES[s] ? STATES[s]! : String(s));

// ---------------------------------------------------------------------------
// Scenarios that also bring the thread and area counters back

/** The counters issue 8 adds; checked like lib/nexus's (teams, ports, ... waiters). */
export const EXTRA_COUNTERS = ['threads', 'thread_messages', 'areas', 'area_space'];

/**
 * Give every thread of this process a thread record before the baseline is
 * taken: a record lives as long as its thread, so the runner's own threads
 * (the main thread, the libuv pool the *Async calls run on) would otherwise
 * show up as "leaked" records the first time a scenario uses them.  The pool
 * is started first (one asynchronous call), then every tid in
 * /proc/self/task is named once (get_thread_info creates its record).
 */
export async function adoptOwnThreads(): Promise<void> {
  await tx.waitForThreadEtcAsync(NO_SUCH_THREAD, B_RELATIVE_TIMEOUT, 0);
  for (const name of readdirSync('/proc/self/task')) tx.getThreadInfo(Number(name));
}

/** Receive and drop whatever waits in this thread's mailbox (it is the runner's main thread). */
export function drainOwnMailbox(): number {
  let n = 0;
  while (n < 64 && tx.hasData(tx.findThread(null))) {
    tx.receiveDataEtc(0, B_RELATIVE_TIMEOUT, 0);
    n++;
  }
  return n;
}

/**
 * lib/nexus's scenario (teams, ports, sems, port_messages, port_bytes,
 * waiters back to the baseline, deferred clean-ups on every path), plus
 * the threads, thread_messages, areas and area_space counters.
 */
export function scenario(
  name: string,
  run: (ctx: Ctx, base: Record<string, number>) => Promise<void> | void,
  opts: { timeoutMs?: number } = {},
): Scenario {
  const inner = countedScenario(
    name,
    async (ctx, base) => {
      if (hasCountersFile()) {
        for (const k of EXTRA_COUNTERS) ctx.check(typeof base[k] === 'number', `the counters file has a ${k} line`, k, Object.keys(base));
      }
      // Runs last: what a scenario left in the main thread's mailbox.
      ctx.defer(() => void drainOwnMailbox());
      await run(ctx, base);
    },
    opts,
  );
  return {
    ...inner,
    async run(ctx) {
      await adoptOwnThreads();
      let base: Record<string, number> | undefined;
      const spy: Ctx = {
        ...ctx,
        counters(label) {
          const v = ctx.counters(label);
          if (label === 'before') base = v;
          return v;
        },
      };
      await inner.run(spy);
      if (!base) return;
      const b = base;
      const same = () => {
        const now = readCounters();
        return EXTRA_COUNTERS.every((k) => !(k in b) || now[k] === b[k]);
      };
      await waitFor(same, SETTLE_MS, 20);
      const after = readCounters();
      for (const k of EXTRA_COUNTERS)
        if (k in b && typeof b[k] === 'number') ctx.equal(after[k], b[k], `counter ${k} is back to its value before the scenario`);
    },
  };
}

// ---------------------------------------------------------------------------
// Threads of this process

/**
 * End a spawned thread whatever it is doing and reap it: resume it when
 * suspended, feed it a message when it receives, then wait for it (which
 * also frees its exit record).  Every op of the programs the suite runs has
 * a deadline, so a thread stuck in anything else ends by itself.
 */
export async function reap(tid: number, ms = 30_000): Promise<void> {
  const deadline = performance.now() + ms;
  while (performance.now() < deadline) {
    const rep = tx.threadReport(tid);
    if (!rep || rep.done) break;
    const info = tx.getThreadInfo(tid);
    if (info.status !== B_OK) break;
    if (info.info?.state === B_THREAD_SUSPENDED) tx.resumeThread(tid);
    else if (info.info?.state === B_THREAD_RECEIVING) tx.sendDataEtc(tid, 0, new Uint8Array(0), B_RELATIVE_TIMEOUT, 0);
    await sleep(20);
  }
  await tx.waitForThreadEtcAsync(tid, B_RELATIVE_TIMEOUT, Math.max(1, deadline - performance.now()) * 1000);
}

/** spawn_thread a program; the scenario ends the thread and reaps it at its end. */
export function spawn(ctx: Ctx, name: string | null, program: ThreadOp[]): number {
  const tid = tx.spawnThread(name, program);
  need(ctx, tid > 0, `spawn_thread(${JSON.stringify(name)}) returns a thread id`, 'a tid > 0', statusName(tid));
  ctx.defer(() => reap(tid));
  return tid;
}

/** spawn and resume at once. */
export function start(ctx: Ctx, name: string | null, program: ThreadOp[]): number {
  const tid = spawn(ctx, name, program);
  expectStatus(ctx, tx.resumeThread(tid), B_OK, `resume_thread of ${name}`);
  return tid;
}

/** Wait until a spawned thread's report says its body is done; the report. */
export async function finished(ctx: Ctx, tid: number, what: string, ms = SETTLE_MS): Promise<ThreadReport> {
  const ok = await waitFor(() => tx.threadReport(tid)?.done === true, ms, 5);
  const rep = tx.threadReport(tid);
  need(ctx, ok && rep !== null, `${what} finishes its program`, `done within ${ms} ms`, plain(rep));
  return rep;
}

/** Wait until a thread's get_thread_info state is `state` (it is blocked where expected). */
export async function inState(ctx: Ctx, tid: number, state: number, what: string, ms = SETTLE_MS): Promise<void> {
  const ok = await waitFor(() => tx.getThreadInfo(tid).info?.state === state, ms, 5);
  const now = tx.getThreadInfo(tid);
  need(ctx, ok, `${what}: state ${stateName(state)}`, stateName(state), now.status === B_OK ? stateName(now.info?.state) : statusName(now.status));
}

/** Wait until the op at index `i` of a thread's program has a result; that result. */
export async function opDone(ctx: Ctx, tid: number, i: number, what: string, ms = SETTLE_MS) {
  const ok = await waitFor(() => (tx.threadReport(tid)?.results.length ?? 0) > i, ms, 5);
  const r = tx.threadReport(tid)?.results[i];
  need(ctx, ok && r !== undefined, `${what} returns`, `op ${i} done within ${ms} ms`, plain(tx.threadReport(tid)));
  return r;
}

/** The thread's tid is gone for good (its record freed): B_BAD_THREAD_ID. */
export function expectGoneThread(ctx: Ctx, tid: number, what: string): void {
  expectStatus(ctx, tx.getThreadInfo(tid).status, B_BAD_THREAD_ID, `${what}: get_thread_info`);
}

// ---------------------------------------------------------------------------
// Threads of an agent (nexus-agent, a second team)

/** thread_spawn in an agent: the new (suspended) thread's tid. */
export async function agentSpawn(ctx: Ctx, a: Agent, name: string, program: ThreadOp[]): Promise<number> {
  const r = await a.call(agentSpawnLine(name, program));
  need(ctx, typeof r.ret === 'number' && r.ret > 0, `the agent spawns ${name}`, 'a tid > 0', statusName(r.ret));
  return r.ret as number;
}

/** An agent thread's report. */
export async function agentReport(ctx: Ctx, a: Agent, tid: number, what: string): Promise<ThreadReport> {
  const r = await a.call(`thread_report ${tid}`);
  const rep = parseAgentReport(r);
  need(ctx, rep !== undefined, `${what}: the agent reports on its thread`, 'a report', r);
  return rep;
}

/** Wait until an agent's thread finished its program; the report. */
export async function agentFinished(ctx: Ctx, a: Agent, tid: number, what: string, ms = SETTLE_MS): Promise<ThreadReport> {
  const deadline = performance.now() + ms;
  for (;;) {
    const rep = await agentReport(ctx, a, tid, what);
    if (rep.done) return rep;
    need(ctx, performance.now() < deadline, `${what} finishes its program`, `done within ${ms} ms`, plain(rep));
    await sleep(20);
  }
}
