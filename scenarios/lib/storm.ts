// What the fuzz and stress suites check once a storm of processes is over,
// on any Nexus tree: no process of the storm is left (none stuck in D
// state), the Nexus counters are back where they were (our debugfs file's,
// or on another tree what the ABI tells), and unreclaimable slab is back near where it was;
// and how their drivers' summary line is read.  The parsing is pure and
// unit-tested; the rest reads /proc and /sys.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import type { Ctx } from '../runner/api.js';
import { readCounters, sleep } from './guest.js';

// ---------------------------------------------------------------------------
// A driver's summary line

/** The fields a summary line must have, by type. */
export interface SummaryFields {
  numbers: readonly string[];
  /** JSON objects (tallies by name). */
  records: readonly string[];
  lists: readonly string[];
}

/**
 * The summary of `program` (nexus-fuzz, nexus-stress): the last non-empty
 * line of its stdout, a JSON object with every one of `fields` and a
 * boolean deadline_hit; anything else throws, with a message that names
 * the program and the field.
 */
export function parseSummaryLine(program: string, stdout: string, fields: SummaryFields): Record<string, unknown> {
  const line = stdout.trim().split('\n').pop() ?? '';
  let v: Record<string, unknown>;
  try {
    v = JSON.parse(line) as Record<string, unknown>;
  } catch {
    throw new Error(`${program} printed no summary line (last line: ${JSON.stringify(line.slice(0, 200))})`);
  }
  if (typeof v !== 'object' || v === null) throw new Error(`${program}: the summary is not an object`);
  for (const k of fields.numbers) if (typeof v[k] !== 'number') throw new Error(`${program}: summary field ${k} is not a number`);
  for (const k of fields.records) if (typeof v[k] !== 'object' || v[k] === null) throw new Error(`${program}: summary field ${k} is missing`);
  for (const k of fields.lists) if (!Array.isArray(v[k])) throw new Error(`${program}: summary field ${k} is not a list`);
  if (typeof v.deadline_hit !== 'boolean') throw new Error(`${program}: summary field deadline_hit is not a boolean`);
  return v;
}

// ---------------------------------------------------------------------------
// The kernel log

/**
 * The kernel's own splats among splat lines (from lib/kmsg.ts): without
 * "traps: nexus-fuzz[123] general protection fault ...", a process's crash
 * that the drivers report themselves as a crashed process.
 */
export function kernelSplats(lines: readonly string[]): string[] {
  return lines.filter((l) => !/\btraps: /.test(l));
}

// ---------------------------------------------------------------------------
// Processes left over

export interface ProcStat {
  pid: number;
  comm: string;
  state: string;
  ppid: number;
}

/** One /proc/<pid>/stat line: "PID (COMM) STATE PPID ..."; COMM may hold spaces and parentheses. */
export function parseProcStat(text: string): ProcStat | undefined {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  if (open < 0 || close < open) return undefined;
  const pid = Number(text.slice(0, open).trim());
  const rest = text.slice(close + 1).trim().split(/\s+/);
  if (!Number.isInteger(pid) || rest.length < 2 || !/^[A-Za-z]$/.test(rest[0]!)) return undefined;
  return { pid, comm: text.slice(open + 1, close), state: rest[0]!, ppid: Number(rest[1]) };
}

/** Processes whose command is `comm` and that have not exited (zombies count: nobody reaped them). */
export function processesNamed(comm: string): ProcStat[] {
  const out: ProcStat[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let text: string;
    try {
      text = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // gone meanwhile
    }
    const st = parseProcStat(text);
    if (st && st.comm === comm && st.state !== 'X') out.push(st);
  }
  return out;
}

/** "1234 D (wchan nexus_wait)": a leftover as text for a failure. */
export function describeLeftover(p: ProcStat): string {
  let wchan = '';
  try {
    wchan = readFileSync(`/proc/${p.pid}/wchan`, 'utf8').trim();
  } catch {
    // gone, or no wchan
  }
  return `${p.pid} ${p.state}${wchan && wchan !== '0' ? ` (wchan ${wchan})` : ''}`;
}

/**
 * Wait up to `ms` for every process named `comm` to be gone; checks it, and
 * names those left (a task in D state is stuck in the kernel).
 */
export async function checkNoLeftovers(ctx: Ctx, comm: string, ms: number): Promise<boolean> {
  const until = performance.now() + ms;
  let left = processesNamed(comm);
  while (left.length > 0 && performance.now() < until) {
    await sleep(100);
    left = processesNamed(comm);
  }
  const stuck = left.filter((p) => p.state === 'D');
  ctx.check(stuck.length === 0, `no ${comm} process is stuck in D state`, 'none', stuck.map(describeLeftover));
  return ctx.check(left.length === 0, `every ${comm} process has ended within ${ms / 1000} s of the run`, 'none',
    left.slice(0, 10).map(describeLeftover));
}

// ---------------------------------------------------------------------------
// Nexus counters, when the tree has them

/**
 * Compared where the baseline has them: the thread and area counters came
 * with issue 8, the node monitor's (vrefs, their slots, watches, events
 * waiting in backlogs, caps in queued messages) with issue 9.
 */
const COUNTERS = ['teams', 'ports', 'sems', 'port_messages', 'port_bytes', 'waiters', 'threads', 'thread_messages', 'areas', 'area_space',
  'vrefs', 'vref_slots', 'watches', 'node_events', 'port_caps'];

/**
 * The counters now, emitted as a snapshot: our debugfs file's, or on a tree
 * without it what the ABI tells (lib/abi-counters.ts: teams, waiters, ports,
 * port_messages, sems, areas), compared key by key.
 */
export function countersBaseline(ctx: Ctx): Record<string, number> | undefined {
  return ctx.counters('before');
}

/** Counters that differ from the baseline, as {name: [before, now]}. */
export function counterDrift(base: Record<string, number>, now: Record<string, number>): Record<string, [number, number | undefined]> {
  const out: Record<string, [number, number | undefined]> = {};
  for (const k of COUNTERS) if (k in base && base[k] !== now[k]) out[k] = [base[k]!, now[k]];
  return out;
}

/** Wait up to `ms` for the counters to come back to `base`, then check them. */
export async function checkCountersBack(ctx: Ctx, base: Record<string, number> | undefined, ms: number): Promise<void> {
  if (!base) return;
  const until = performance.now() + ms;
  while (Object.keys(counterDrift(base, readCounters())).length > 0 && performance.now() < until) await sleep(50);
  const after = ctx.counters('after');
  const drift = counterDrift(base, after);
  ctx.check(Object.keys(drift).length === 0, 'every Nexus counter is back to its value before the run', 'no change', drift);
}

/**
 * The counters issues 8 and 9 added (threads, areas, the node monitor);
 * lib/nexus.ts's scenario() checks the older ones.
 */
export const NEW_COUNTERS = ['threads', 'thread_messages', 'areas', 'area_space', 'vrefs', 'vref_slots', 'watches', 'node_events', 'port_caps'];

/**
 * Wait up to `ms` for the thread and area counters (those the baseline has)
 * to come back to `base`, then check each of them.
 */
export async function checkNewCounters(ctx: Ctx, base: Record<string, number>, ms = 5_000): Promise<void> {
  const keys = NEW_COUNTERS.filter((k) => k in base && typeof base[k] === 'number');
  const back = () => {
    const now = readCounters();
    return keys.every((k) => now[k] === base[k]);
  };
  const until = performance.now() + ms;
  while (!back() && performance.now() < until) await sleep(20);
  const now = readCounters();
  for (const k of keys) ctx.equal(now[k], base[k], `counter ${k} is back to its value before the scenario`);
}

// ---------------------------------------------------------------------------
// Unreclaimable slab

/** /proc/meminfo as {field: kB}. */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^(\w+(?:\(\w+\))?):\s+(\d+)(?:\s+kB)?$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/** Ask SLUB to give back the empty slabs it caches per CPU (best effort, root only). */
function shrinkSlabs(): void {
  let caches: string[];
  try {
    caches = readdirSync('/sys/kernel/slab');
  } catch {
    return;
  }
  for (const c of caches) {
    try {
      writeFileSync(`/sys/kernel/slab/${c}/shrink`, '1');
    } catch {
      // an alias, or not writable: fine
    }
  }
}

function sUnreclaimKb(): number | undefined {
  try {
    return parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).SUnreclaim;
  } catch {
    return undefined;
  }
}

/**
 * SUnreclaim (kB) once it has settled: RCU frees objects a grace period
 * later and SLUB keeps empty slabs per CPU, so shrink the caches and read
 * again until two readings `stepMs` apart differ by less than `quietKb`
 * (at most `ms`).  Undefined when /proc/meminfo has no SUnreclaim.
 */
export async function settledSlabKb(ms = 10_000, stepMs = 500, quietKb = 64): Promise<number | undefined> {
  const until = performance.now() + ms;
  shrinkSlabs();
  let last = sUnreclaimKb();
  if (last === undefined) return undefined;
  while (performance.now() < until) {
    await sleep(stepMs);
    shrinkSlabs();
    const now = sUnreclaimKb()!;
    if (Math.abs(now - last) < quietKb) return now;
    last = now;
  }
  return last;
}

/**
 * Wait (up to `ms`) for unreclaimable slab to come back within `toleranceKb`
 * of `baseKb`; returns the last delta in kB.
 */
export async function slabBack(baseKb: number, toleranceKb: number, ms: number): Promise<number> {
  const until = performance.now() + ms;
  let delta = ((await settledSlabKb(Math.min(ms, 10_000))) ?? baseKb) - baseKb;
  while (delta > toleranceKb && performance.now() < until) {
    await sleep(1000);
    delta = ((await settledSlabKb(2_000)) ?? baseKb) - baseKb;
  }
  return delta;
}
