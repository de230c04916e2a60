// The pure half of the threads suite: the programs a spawned thread runs
// (the binding's ThreadOp objects and nexus-agent's op:arg:arg words), what
// a thread's report says it did, the raw request layouts, and the verdicts
// the scenarios draw from times and reports.  No addon, no guest:
// test/unit/threads.test.ts runs it on the host.
import type { Layout } from '../lib/raw.js';
// Types only: erased at run time, so no addon is loaded here.
import type { OpResult as NativeOpResult, ThreadOp, ThreadReport as NativeThreadReport } from '../native/index.js';

/** Haiku's names are at most 31 characters (B_OS_NAME_LENGTH with the NUL). */
export const NAME_KEPT = 31;
/** send_data's largest message (NEXUS_THREAD_MAX_MESSAGE_SIZE). */
export const THREAD_MAX_MESSAGE_SIZE = 65536;

/**
 * How long a death may take to wake its waiters and blocked senders: the
 * module learns of a thread's end when the thread (or its whole team) goes
 * away, which under TCG on a busy host can take a few hundred ms.  Generous
 * on purpose: what is asserted is that it is bounded, not that it is fast.
 */
export const DEATH_WAKE_BOUND_US = 5_000_000;

/** One step of a spawned thread's program: the binding's own type. */
export type { ThreadOp };

/**
 * What one step did: the binding's OpResult, but op is any string, since the
 * agent's programs have ops the binding's do not (block).
 */
export type OpResult = Omit<NativeOpResult, 'op'> & { op: string };

/** What a spawned thread did so far: the binding's ThreadReport of such steps. */
export type ThreadReport = Omit<NativeThreadReport, 'results'> & { results: OpResult[] };

const timeoutWord = (t: number | bigint | undefined): string =>
  t === undefined ? '' : t === Infinity || t === 0x7fffffffffffffffn ? 'inf' : String(t);

/**
 * One op as nexus-agent's thread_spawn takes it: receive:BUF[:FLAGS:TIMEOUT],
 * send:TID:CODE:HEX[:FLAGS:TIMEOUT], wait:TID[:FLAGS:TIMEOUT], sleep:US,
 * return:CODE, exit:CODE, pthread_exit.  An empty payload is "-".
 */
export function agentOp(o: ThreadOp): string {
  const tail = (flags?: number, timeout?: number | bigint) =>
    flags === undefined && timeout === undefined ? '' : `:${flags ?? 0}:${timeoutWord(timeout) || '0'}`;
  switch (o.op) {
    case 'receive':
      return `receive:${o.bufSize}${tail(o.flags, o.timeout)}`;
    case 'send':
      if (!/^([0-9a-f]{2})*$/.test(o.hex)) throw new Error(`send: hex payload expected, not '${o.hex}'`);
      return `send:${o.target}:${o.code}:${o.hex || '-'}${tail(o.flags, o.timeout)}`;
    case 'wait':
      return `wait:${o.target}${tail(o.flags, o.timeout)}`;
    case 'sleep':
      return `sleep:${o.us}`;
    case 'return':
      return `return:${o.code}`;
    case 'exit':
      return `exit:${o.code}`;
    case 'pthread_exit':
      return 'pthread_exit';
  }
}

/** The thread_spawn command line for a program. */
export function agentSpawnLine(name: string, program: readonly ThreadOp[]): string {
  if (!/^\S+$/.test(name)) throw new Error(`an agent thread name has no spaces: '${name}'`);
  if (program.length === 0) throw new Error('a thread program has at least one op');
  return `thread_spawn ${name} ${program.map(agentOp).join(' ')}`;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' ? v : undefined);
const big = (v: unknown): bigint | undefined =>
  typeof v === 'number' ? BigInt(Math.trunc(v)) : typeof v === 'bigint' ? v : typeof v === 'string' && /^-?\d+$/.test(v) ? BigInt(v) : undefined;

/**
 * nexus-agent's thread_report answer as a ThreadReport:
 * {"ret":0,"started":bool,"started_us":N?,"done":bool,"results":[{op,ret|status,code?,sender?,hex?,start_us,end_us}]}.
 * Undefined when the answer is not a report.
 */
export function parseAgentReport(a: Record<string, unknown>): ThreadReport | undefined {
  if (a.ret !== 0 || typeof a.done !== 'boolean' || !Array.isArray(a.results)) return undefined;
  const started = a.started === true || a.started_us !== undefined;
  const results: OpResult[] = [];
  for (const r of a.results as Record<string, unknown>[]) {
    const status = num(r.status) ?? num(r.ret);
    if (typeof r.op !== 'string' || status === undefined) return undefined;
    const o: OpResult = { op: r.op, status, startUs: big(r.start_us) ?? 0n, endUs: big(r.end_us) ?? 0n };
    if (num(r.code) !== undefined) o.code = num(r.code)!;
    if (num(r.sender) !== undefined) o.sender = num(r.sender)!;
    if (typeof r.hex === 'string') o.hex = r.hex === '-' ? '' : r.hex;
    results.push(o);
  }
  return { startedUs: started ? (big(a.started_us) ?? 0n) : null, done: a.done, results };
}

export interface Verdict {
  ok: boolean;
  message: string;
  expected: unknown;
  actual: unknown;
}

/**
 * A thread spawned suspended ran nothing before it was resumed: before the
 * resume its report had no start and no results, and its body began at or
 * after `resumeUs` (taken just before resume_thread was called).
 */
export function ranNothingBeforeResume(before: ThreadReport | null, after: ThreadReport | null, resumeUs: bigint): Verdict[] {
  const v: Verdict[] = [];
  v.push({
    ok: before !== null && before.startedUs === null && before.results.length === 0 && !before.done,
    message: 'before resume_thread the thread has not begun its body',
    expected: { startedUs: null, results: 0, done: false },
    actual: before && { startedUs: before.startedUs === null ? null : String(before.startedUs), results: before.results.length, done: before.done },
  });
  const started = after?.startedUs ?? null;
  v.push({
    ok: started !== null && started >= resumeUs,
    message: 'its body began after resume_thread was called',
    expected: `>= ${resumeUs}`,
    actual: started === null ? 'not started' : String(started),
  });
  const early = (after?.results ?? []).filter((r) => r.startUs < resumeUs);
  v.push({
    ok: early.length === 0,
    message: 'none of its ops ran before resume_thread was called',
    expected: 'every op at or after the resume',
    actual: early.map((r) => `${r.op}@${r.startUs}`),
  });
  return v;
}

/** Whether a woken party returned within `boundUs` of `eventUs` (both CLOCK_MONOTONIC µs). */
export function wokeWithin(eventUs: bigint, endUs: bigint, boundUs = DEATH_WAKE_BOUND_US): Verdict {
  const took = Number(endUs - eventUs);
  return {
    ok: took >= 0 && took <= boundUs,
    message: `woken within ${boundUs / 1e6} s of the death`,
    expected: `0..${boundUs} µs`,
    actual: `${took} µs`,
  };
}

/** What a receiver with a `bufSize`-byte buffer gets of `data`: the first min(bufSize, length) bytes. */
export function truncated(data: Uint8Array, bufSize: number): Buffer {
  return Buffer.from(data.subarray(0, Math.max(0, Math.min(bufSize, data.length))));
}

/**
 * The `bufSize`-byte buffer a receive fills with `data`: its first
 * min(bufSize, length) bytes, then zeros (the binding zeroes the buffer).
 */
export function asReceived(data: Uint8Array, bufSize: number): Buffer {
  const b = Buffer.alloc(Math.max(0, bufSize));
  b.set(truncated(data, bufSize));
  return b;
}

/** A received buffer as text, up to its first NUL. */
export const cstr = (b: Uint8Array): string => {
  const i = b.indexOf(0);
  return Buffer.from(i < 0 ? b : b.subarray(0, i)).toString('latin1');
};

/** The name the kernel keeps: at most 31 bytes (names are ASCII here). */
export function keptName(name: string): string {
  return Buffer.from(name, 'latin1').subarray(0, NAME_KEPT).toString('latin1');
}

/**
 * The order in which blocked senders were served, from the codes the
 * receiver got: sender i sent code base + i.  -1 for a code that is no
 * sender's.
 */
export function servedOrder(codes: readonly number[], base: number, senders: number): number[] {
  return codes.map((c) => (c >= base && c < base + senders ? c - base : -1));
}

// ---------------------------------------------------------------------------
// Raw requests (x86-64 layouts of kernel/include/nexus.h) for lib/raw's call()

const f = (at: number, kind: 'ptr' | 'u64' | 's64' | 's32' | 'u32') => ({ at, kind });

/** The thread request structs (nexus.h), with the sizes their ioctl numbers encode. */
export const THREAD_LAYOUTS = {
  thread_rw: {
    size: 48,
    fields: { sender: f(0, 's32'), receiver: f(4, 's32'), buffer: f(8, 'ptr'), size: f(16, 's64'), flags: f(24, 'u32'), timeout: f(32, 's64'), return_code: f(40, 's32'), ret: f(44, 's32') },
  },
  thread_waitfor: { size: 24, fields: { receiver: f(0, 's32'), flags: f(4, 'u32'), timeout: f(8, 's64'), return_code: f(16, 's32'), ret: f(20, 's32') } },
  thread_set_name: { size: 16, fields: { name: f(0, 'ptr'), size: f(8, 'u64') } },
  // name[32] at 8 (bytes, read back by hand), state at 40.
  thread_info: { size: 48, fields: { thread: f(0, 's32'), team: f(4, 's32'), state: f(40, 's32'), ret: f(44, 's32') } },
} satisfies Record<string, Layout>;

const ioc = (dir: number, nr: number, size: number) => ((dir << 30) | (size << 16) | (0x6e << 8) | nr) >>> 0;
export const THREAD_IOCTLS = {
  NEXUS_THREAD_SET_NAME: ioc(1, 3, 16),
  NEXUS_THREAD_READ: ioc(3, 20, 48),
  NEXUS_THREAD_WRITE: ioc(3, 21, 48),
  NEXUS_THREAD_HAS_DATA: ioc(3, 22, 48),
  NEXUS_THREAD_WAITFOR: ioc(3, 23, 24),
  NEXUS_THREAD_GET_INFO: ioc(3, 24, 48),
};

export const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
