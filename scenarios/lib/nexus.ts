// Helpers for the ports, sems and teams suites: the status values and flags
// of NEXUS-ABI.md (our own copy, so the suites assert the ABI and not what a
// binding happens to export), status names for readable failures, a scenario
// wrapper that checks the Nexus counters come back to where they started,
// and small tools for asynchronous parties.
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import { Agent } from './agent.js';
import { hasCountersFile, readCounters, sleep, waitFor, waitForWaiters, currentWaiters } from './guest.js';

// Status values, flags and limits: nexus.h's, as scenarios/native/index.ts
// exports them (test/unit/native.test.ts checks them against the header,
// and test/unit/abi.test.ts the header against NEXUS-ABI.md).
export {
  B_OK, B_ERROR, B_BAD_VALUE, B_NO_MEMORY, B_TIMED_OUT, B_WOULD_BLOCK, B_INTERRUPTED, B_BAD_ADDRESS,
  B_BAD_TEAM_ID, B_ENTRY_NOT_FOUND, B_BUFFER_OVERFLOW, B_NO_MORE_SEMS, B_NO_MORE_PORTS, B_NOT_ALLOWED,
  B_BAD_SEM_ID, B_BAD_THREAD_ID, B_BAD_PORT_ID, B_NAME_NOT_FOUND, B_CAN_INTERRUPT, B_DO_NOT_RESCHEDULE,
  B_RELATIVE_TIMEOUT, B_ABSOLUTE_TIMEOUT, B_RELEASE_ALL, B_RELEASE_IF_WAITING_ONLY, B_INFINITE_TIMEOUT,
  PORT_MAX_CAPACITY, PORT_MAX_MESSAGE_SIZE,
} from '../native/index.js';
import {
  B_OK, B_ERROR, B_BAD_VALUE, B_NO_MEMORY, B_TIMED_OUT, B_WOULD_BLOCK, B_INTERRUPTED, B_BAD_ADDRESS,
  B_BAD_TEAM_ID, B_ENTRY_NOT_FOUND, B_BUFFER_OVERFLOW, B_NO_MORE_SEMS, B_NO_MORE_PORTS, B_NOT_ALLOWED,
  B_BAD_SEM_ID, B_BAD_THREAD_ID, B_BAD_PORT_ID, B_NAME_NOT_FOUND,
} from '../native/index.js';
export const EPERM = 1;

export const MAX_PORTS = 4096;

/**
 * A relative timeout for waits that are not themselves under test: long
 * enough never to expire on a slow guest, short enough that a kernel that
 * forgets a wakeup does not hang the runner forever.
 */
export const LONG_US = 20_000_000;
/** How long the scenarios wait (ms) for a state they expect: a party blocked, a call returned. */
export const SETTLE_MS = 5_000;

const NAMES: Record<number, string> = {
  [B_OK]: 'B_OK',
  [B_ERROR]: 'B_ERROR',
  [B_BAD_VALUE]: 'B_BAD_VALUE',
  [B_NO_MEMORY]: 'B_NO_MEMORY',
  [B_TIMED_OUT]: 'B_TIMED_OUT',
  [B_WOULD_BLOCK]: 'B_WOULD_BLOCK',
  [B_INTERRUPTED]: 'B_INTERRUPTED',
  [B_BAD_ADDRESS]: 'B_BAD_ADDRESS',
  [B_BAD_TEAM_ID]: 'B_BAD_TEAM_ID',
  [B_ENTRY_NOT_FOUND]: 'B_ENTRY_NOT_FOUND',
  [B_BUFFER_OVERFLOW]: 'B_BUFFER_OVERFLOW',
  [B_NO_MORE_SEMS]: 'B_NO_MORE_SEMS',
  [B_NO_MORE_PORTS]: 'B_NO_MORE_PORTS',
  [B_NOT_ALLOWED]: 'B_NOT_ALLOWED',
  [B_BAD_SEM_ID]: 'B_BAD_SEM_ID',
  [B_BAD_THREAD_ID]: 'B_BAD_THREAD_ID',
  [B_BAD_PORT_ID]: 'B_BAD_PORT_ID',
  [B_NAME_NOT_FOUND]: 'B_NAME_NOT_FOUND',
  [-25]: '-ENOTTY',
  [-9]: '-EBADF',
};

/** "B_BAD_PORT_ID (-2147475448)"; other numbers as they are. */
export function statusName(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  const n = NAMES[v];
  return n ? `${n} (${v})` : String(v);
}

/** Check that a status is the expected one; failures show status names. */
export function expectStatus(ctx: Ctx, actual: unknown, expected: number, message: string): boolean {
  return ctx.check(actual === expected, message, statusName(expected), statusName(actual));
}

/** Check that a create call returned an id (> 0). */
export function expectId(ctx: Ctx, actual: unknown, message: string): boolean {
  return ctx.check(typeof actual === 'number' && actual > 0, message, 'an id > 0', statusName(actual));
}

/** Record a failure and stop the scenario unless `cond` holds. */
export function need(ctx: Ctx, cond: boolean, message: string, expected?: unknown, actual?: unknown): asserts cond {
  if (!ctx.check(cond, message, expected, actual)) throw new Error(`cannot go on: ${message}`);
}

/** Microseconds elapsed on CLOCK_MONOTONIC since `start` (nx.systemTime()). */
export function elapsedUs(start: bigint): number {
  return Number(nx.systemTime() - start);
}

/** `n` bytes of a pattern that differs per seed and per position. */
export function pattern(n: number, seed = 1): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7 + (i >> 8)) & 0xff;
  return b;
}

/** Check the listed fields of an object (their order and any other fields do not matter). */
export function expectFields(ctx: Ctx, actual: object | undefined, expected: Record<string, unknown>, what: string): void {
  const a = (actual ?? {}) as Record<string, unknown>;
  for (const [k, v] of Object.entries(expected)) ctx.equal(a[k], v, `${what}: ${k}`);
}

/** Whether ids strictly increase. */
export const ascending = (ids: number[]): boolean => ids.every((v, i) => i === 0 || v > ids[i - 1]!);

/** Compare two byte strings; on mismatch, records where they first differ. */
export function expectBytes(ctx: Ctx, actual: Uint8Array | undefined, expected: Uint8Array, message: string): boolean {
  if (!actual) return ctx.check(false, message, `${expected.length} bytes`, 'no data');
  if (actual.length !== expected.length)
    return ctx.check(false, `${message}: length`, expected.length, actual.length);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i])
      return ctx.check(false, `${message}: first difference at byte ${i}`, expected[i], actual[i]);
  }
  return true;
}

// ---------------------------------------------------------------------------
// Asynchronous parties

export interface Tracked<T> {
  readonly promise: Promise<T>;
  readonly done: boolean;
  readonly value: T | undefined;
  readonly error: unknown;
}

/** Follow a promise's state without awaiting it (a rejection is recorded, never unhandled). */
export function track<T>(p: Promise<T>): Tracked<T> {
  const t: { promise: Promise<T>; done: boolean; value: T | undefined; error: unknown } = {
    promise: p,
    done: false,
    value: undefined,
    error: undefined,
  };
  p.then(
    (v) => {
      t.done = true;
      t.value = v;
    },
    (e: unknown) => {
      t.done = true;
      t.error = e;
    },
  );
  return t;
}

/** Wait up to `ms` for a tracked promise; true when it settled. */
export function settled(t: Tracked<unknown>, ms = SETTLE_MS): Promise<boolean> {
  return waitFor(() => t.done, ms, 5);
}

/**
 * Await a tracked call that is expected to return (within SETTLE_MS) and
 * give its value; records a failure and stops the scenario otherwise.
 */
export async function returned<T>(ctx: Ctx, t: Tracked<T>, what: string, ms = SETTLE_MS): Promise<T> {
  const ok = await settled(t, ms);
  need(ctx, ok, `${what} returns`, `returned within ${ms} ms`, 'still blocked');
  need(ctx, t.error === undefined, `${what} does not throw`, 'a result', String(t.error));
  return t.value as T;
}

/**
 * Wait until the waiters counter reaches `n` (some party is now asleep in a
 * Nexus wait); records a failure and stops the scenario otherwise.
 */
export async function blocked(ctx: Ctx, n: number, what: string, ms = SETTLE_MS): Promise<void> {
  const ok = await waitForWaiters(n, ms);
  need(ctx, ok, `${what}: waiters counter reaches ${n}`, n, currentWaiters());
}

/**
 * Check, right now, that exactly `n` threads sleep in Nexus waits.  A waker
 * takes a woken waiter off the counter before its call returns, so this
 * sees a wrong wakeup at once, when a promise would not have settled yet.
 */
export function expectWaiters(ctx: Ctx, n: number, message: string): boolean {
  return ctx.equal(currentWaiters(), n, `${message} (waiters counter)`);
}

/** Check that a tracked call is still blocked after `ms` more milliseconds. */
export async function stillBlocked(ctx: Ctx, t: Tracked<unknown>, what: string, ms = 200): Promise<boolean> {
  await sleep(ms);
  return ctx.check(!t.done, `${what} is still blocked`, 'pending', t.done ? statusOf(t.value) : 'pending');
}

function statusOf(v: unknown): string {
  if (typeof v === 'number') return statusName(v);
  if (v && typeof v === 'object' && 'status' in v) return statusName((v as { status: unknown }).status);
  return JSON.stringify(v);
}

// ---------------------------------------------------------------------------
// Objects and agents, cleaned up when the scenario ends

/** Create a port that the scenario deletes at its end (unless it is gone by then). */
export function newPort(ctx: Ctx, capacity: number, name: string | null = null): number {
  const id = nx.createPort(capacity, name);
  need(ctx, id > 0, `create_port(${capacity}, ${JSON.stringify(name)}) returns an id`, 'an id > 0', statusName(id));
  ctx.defer(() => {
    nx.deletePort(id);
  });
  return id;
}

/** Create a semaphore that the scenario deletes at its end. */
export function newSem(ctx: Ctx, count: number, name: string | null = null): number {
  const id = nx.createSem(count, name);
  need(ctx, id > 0, `create_sem(${count}, ${JSON.stringify(name)}) returns an id`, 'an id > 0', statusName(id));
  ctx.defer(() => {
    nx.deleteSem(id);
  });
  return id;
}

/**
 * Start a nexus-agent (a second team) that the scenario kills at its end.
 * The agent opens /dev/nexus at once (a find that misses), so its team
 * exists when this returns.
 */
export async function startAgent(ctx: Ctx, opts?: { uid?: number; gid?: number }): Promise<Agent> {
  const a = await Agent.start(opts);
  ctx.defer(() => a.kill());
  const r = await a.call('port_find nexus-lab-no-such-port');
  need(ctx, r.ret === B_NAME_NOT_FOUND, 'the agent can use /dev/nexus', statusName(B_NAME_NOT_FOUND), r);
  return a;
}

/** Send a command to an agent without awaiting it; a rejection is recorded (e.g. when it is killed). */
export function agentCall(a: Agent, line: string, timeoutMs = 30_000): Tracked<Record<string, any>> {
  return track(a.call(line, timeoutMs));
}

/**
 * Fill the system-wide table of one object kind up to its limit, check the
 * next create gives `noMore` and that one delete makes room again, then
 * delete them all (the no-more-ports / no-more-sems scenarios).
 */
export function exhaust(
  ctx: Ctx,
  base: Record<string, number>,
  k: { counter: 'ports' | 'sems'; max: number; noun: string; plural: string; create: (name: string | null) => number; remove: (id: number) => number; noMore: number },
): void {
  const room = k.max - readCounters()[k.counter]!;
  need(ctx, room > 0, `fewer than ${k.max} ${k.plural} exist`, `< ${k.max}`, k.max - room);
  const ids: number[] = [];
  ctx.defer(() => ids.forEach((id) => k.remove(id)));
  let failed = 0;
  let first = B_OK;
  for (let i = 0; i < room; i++) {
    const id = k.create(null);
    if (id > 0) ids.push(id);
    else if (failed++ === 0) first = id;
  }
  ctx.check(failed === 0, `the first ${room} creates (up to ${k.max} live ${k.plural}) succeed`, 'all ids', `${failed} failed, first ${statusName(first)}`);
  ctx.equal(readCounters()[k.counter], k.max, `the ${k.counter} counter shows ${k.max} live ${k.plural}`);
  const over = k.create('one-too-many');
  if (over > 0) ids.push(over);
  expectStatus(ctx, over, k.noMore, `${k.noun} number ${k.max + 1}`);
  expectStatus(ctx, k.remove(ids.pop()!), B_OK, `delete one ${k.noun}`);
  const again = k.create('room-again');
  if (again > 0) ids.push(again);
  expectId(ctx, again, `after a delete there is room for one ${k.noun} again`);
  let bad = 0;
  for (const id of ids.splice(0)) if (k.remove(id) !== B_OK) bad++;
  ctx.equal(bad, 0, `every ${k.noun} deletes`);
  ctx.equal(readCounters()[k.counter], base[k.counter], `the ${k.counter} counter is back`);
}

// ---------------------------------------------------------------------------
// Scenarios that leave the counters as they found them

const COUNTERS = ['teams', 'ports', 'sems', 'port_messages', 'port_bytes', 'waiters'];
/** Checked too where the module has them (later additions). */
const OPTIONAL_COUNTERS = ['port_space'];

/** The counters a scenario is checked against: ours, or those the ABI tells on a tree without our file. */
function countersOf(base: Record<string, number>): string[] {
  return [...COUNTERS, ...OPTIONAL_COUNTERS].filter((k) => k in base && typeof base[k] === 'number');
}

function sameCounters(base: Record<string, number>, now: Record<string, number>): boolean {
  return countersOf(base).every((k) => base[k] === now[k]);
}

/**
 * A scenario that takes a counters baseline (after this process's team
 * exists), runs, undoes everything it deferred, then checks that the
 * teams, ports, sems, port_messages, port_bytes and waiters counters are
 * back to the baseline.  The deferred clean-ups also run if the scenario
 * dies or misses its deadline.
 */
export function scenario(
  name: string,
  run: (ctx: Ctx, base: Record<string, number>) => Promise<void> | void,
  opts: { timeoutMs?: number } = {},
): Scenario {
  const sc: Scenario = {
    name,
    async run(ctx) {
      const fd = nx.fd();
      need(ctx, fd >= 0, 'this process opens /dev/nexus', 'a descriptor', fd);
      const base = ctx.counters('before');
      if (hasCountersFile()) {
        for (const k of COUNTERS) ctx.check(typeof base[k] === 'number', `the counters file has a ${k} line`, k, Object.keys(base));
      }
      const stack: (() => void | Promise<void>)[] = [];
      let unwound = false;
      const unwind = async () => {
        if (unwound) return;
        unwound = true;
        for (const fn of stack.reverse()) {
          try {
            await fn();
          } catch (e) {
            process.stderr.write(`${ctx.suite}/${name}: clean-up failed: ${String(e)}\n`);
          }
        }
      };
      ctx.defer(unwind);
      const local: Ctx = {
        ...ctx,
        defer(fn) {
          stack.push(fn);
        },
      };
      await run(local, base);
      await unwind();
      await waitFor(() => sameCounters(base, readCounters()), SETTLE_MS, 20);
      const after = ctx.counters('after');
      for (const k of countersOf(base)) ctx.equal(after[k], base[k], `counter ${k} is back to its value before the scenario`);
    },
  };
  if (opts.timeoutMs !== undefined) sc.timeoutMs = opts.timeoutMs;
  return sc;
}
