// The pure half of the fuzz suite: its parameters, nexus-fuzz's command
// line, and what its summary line says (and what in it is a failure).  The
// fuzzing itself happens in C (scenarios/native/nexus-fuzz.c).
import { parseSummaryLine } from '../lib/storm.js';

/** Run parameters (`--param fuzz.NAME=VALUE`, `--fuzz-calls N`) and their defaults. */
export interface FuzzOptions {
  /** Calls over the whole run, all workers together. */
  calls: number;
  /** The seed: the same one replays the same call sequence per worker. */
  seed: number;
  /** Worker processes running at once (default: 2 per vCPU). */
  workers: number;
  /** The parent SIGKILLs a worker every 1..killMs ms. */
  killMs: number;
  /** nexus-fuzz stops (and reports it) after this many seconds. */
  deadlineS: number;
}

/**
 * Sized for `make test`: a 2-vCPU TCG guest makes 30,000-60,000 calls/s
 * (kills and replacements included; the low end on a busy host), so two
 * million calls take 35-65 s there.  Less would be quicker but would miss
 * the create/delete race on a module that has it in about half of the runs
 * (it needs the creator's vCPU to stall in a window of a few hundred
 * instructions).  A nightly asks for 20,000,000 or more with --fuzz-calls.
 */
export const DEFAULT_CALLS = 2_000_000;
export const DEFAULT_KILL_MS = 40;
export const MAX_WORKERS = 64;

/**
 * nexus-fuzz's deadline, growing with the calls asked for: 60 s plus 50 µs
 * per call (a rate of 20,000 calls/s, below the slowest seen under TCG).
 * Reaching it is reported, not failed: the calls made were made.
 */
export function defaultDeadlineS(calls: number): number {
  return Math.ceil(60 + calls / 20_000);
}

export type Param = (name: string, fallback: number) => number;

/** nexus-fuzz's own deadline for these run parameters, in seconds (fuzz.deadline, or as fuzz.calls asks). */
export function fuzzDeadlineS(param: Param): number {
  return param('fuzz.deadline', defaultDeadlineS(param('fuzz.calls', DEFAULT_CALLS)));
}

/** A 32-bit seed for runs that do not name one (JSON-safe, easy to type back). */
export function randomSeed(): number {
  return Math.floor(Math.random() * 0xffffffff) + 1;
}

/** The options of a run; throws with a readable message on a bad parameter. */
export function fuzzOptions(param: Param, cpus: number, seed: () => number = randomSeed): FuzzOptions {
  const calls = param('fuzz.calls', DEFAULT_CALLS);
  const o: FuzzOptions = {
    calls,
    seed: param('fuzz.seed', NaN),
    workers: param('fuzz.workers', Math.min(MAX_WORKERS, 2 * Math.max(1, cpus))),
    killMs: param('fuzz.kill_ms', DEFAULT_KILL_MS),
    deadlineS: fuzzDeadlineS(param),
  };
  if (Number.isNaN(o.seed)) o.seed = seed();
  const whole = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`fuzz.${name} must be a whole number from ${min} to ${max}, not ${v}`);
  };
  whole('calls', o.calls, 1);
  whole('seed', o.seed, 0);
  whole('workers', o.workers, 1, MAX_WORKERS);
  whole('kill_ms', o.killMs, 1);
  whole('deadline', o.deadlineS, 1);
  return o;
}

/**
 * nexus-fuzz's arguments; `spare`: a process (the runner, a team too) whose
 * threads the fuzzer must not address - a lookup gives a live thread a record
 * for as long as it lives, which the counter check would take for a leak.
 */
export function fuzzArgs(o: FuzzOptions, spare?: number): string[] {
  return [
    '--seed', String(o.seed),
    '--calls', String(o.calls),
    '--workers', String(o.workers),
    '--kill-ms', String(o.killMs),
    '--deadline', String(o.deadlineS),
    ...(spare !== undefined ? ['--spare', String(spare)] : []),
  ];
}

/** One ioctl's tally: calls, B_OK answers and the errnos of refused calls. */
export interface IoctlStats {
  calls: number;
  ok: number;
  efault: number;
  enotty: number;
  eperm: number;
  einval: number;
  eintr: number;
  other: number;
}

/** nexus-fuzz's summary line. */
export interface FuzzSummary {
  seed: number;
  workers: number;
  target_calls: number;
  calls: number;
  wall_ms: number;
  spawned: number;
  killed: number;
  killed_mid_call: number;
  exited: number;
  stalled: number;
  reopens: number;
  eperm_checks: number;
  violations: number;
  deadline_hit: boolean;
  violation: string;
  crashed: string[];
  stuck: string[];
  orphans: string[];
  ioctls: Record<string, IoctlStats>;
  /** The workers' newborn threads: started, registered (SPAWN B_OK), resumed by their spawner (absent from older drivers). */
  newborns?: number;
  newborns_registered?: number;
  newborns_resumed?: number;
  /** Clones mapped and touched, and touches that met a SIGBUS (the area shrank meanwhile). */
  clone_maps?: number;
  sigbus?: number;
  /** The node monitor side (absent from older drivers). */
  nm?: NodeMonitorTally;
}

/** What nexus-fuzz saw of vrefs, capability messages and events. */
export interface NodeMonitorTally {
  /** Node monitor messages read whole and found well-formed, and those cut by a short read. */
  events: number;
  cut: number;
  /** VREF_OPENs whose descriptor was held against what the vref was made of. */
  opens_checked: number;
  /** Slots minted by READ_CAPS for the reader. */
  caps_minted: number;
  /** The most slots one worker held at once. */
  slots_held_max: number;
  /** The churner's file system operations, tmpfs mounts, unmounts and lazy (busy) unmounts. */
  churn_ops: number;
  mounts: number;
  umounts: number;
  lazy_umounts: number;
  /** Events read by opcode (created .. unmounted, dropped = NEXUS_EVENTS_DROPPED markers). */
  by_opcode: Record<string, number>;
}

const FIELDS = {
  numbers: ['seed', 'workers', 'target_calls', 'calls', 'wall_ms', 'spawned', 'killed', 'killed_mid_call',
    'exited', 'stalled', 'reopens', 'eperm_checks', 'violations'],
  records: ['ioctls'],
  lists: ['crashed', 'stuck', 'orphans'],
} as const;

/** The summary: the last non-empty line of stdout, a JSON object; anything else throws. */
export function parseFuzzSummary(stdout: string): FuzzSummary {
  return parseSummaryLine('nexus-fuzz', stdout, FIELDS) as unknown as FuzzSummary;
}

/** Calls per second, rounded (0 when no time passed). */
export function callRate(s: Pick<FuzzSummary, 'calls' | 'wall_ms'>): number {
  return s.wall_ms > 0 ? Math.round((s.calls * 1000) / s.wall_ms) : 0;
}

/** The ioctls the run never made (a table entry that never came up is a hole in the fuzzing). */
export function untried(s: Pick<FuzzSummary, 'ioctls'>): string[] {
  return Object.entries(s.ioctls).filter(([, st]) => st.calls === 0).map(([name]) => name);
}

/** The per-ioctl tally as a text table, for the runner log. */
export function ioctlTable(s: Pick<FuzzSummary, 'ioctls'>): string {
  const cols = ['calls', 'ok', 'efault', 'enotty', 'eperm', 'einval', 'eintr', 'other'] as const;
  const rows = Object.entries(s.ioctls).map(([name, st]) => [name, ...cols.map((c) => String(st[c]))]);
  const header = ['ioctl', ...cols];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** What the run had to reach beyond the argument checks, given what the guest has. */
export interface Reach {
  /** /dev/nexus_area exists. */
  areas: boolean;
  /** /dev/nexus_node_monitor exists. */
  nodeMonitor?: boolean;
}

/** The ioctls a run must have seen succeed: the paths past the argument checks were fuzzed too. */
export const MUST_SUCCEED = {
  areas: ['AREA_CREATE', 'AREA_CLONE', 'AREA_GET_INFO', 'AREA_DELETE'],
  threads: ['THREAD_GET_INFO', 'THREAD_WAITFOR', 'THREAD_READ'],
  nodeMonitor: ['VREF_CREATE', 'VREF_ACQUIRE', 'VREF_RELEASE', 'VREF_OPEN', 'START_WATCHING', 'STOP_WATCHING', 'STOP_NOTIFYING',
    'PORT_WRITE_CAPS', 'PORT_READ_CAPS'],
} as const;

/**
 * What a run of `calls` calls should have reached and did not (empty:
 * all of it).  Threads count once the tree implements them (THREAD_GET_INFO
 * is not all -ENOTTY); areas once the guest has /dev/nexus_area.  A short
 * run (under 100 calls per table entry) proves nothing either way.
 */
export function unreached(s: FuzzSummary, reach: Reach): string[] {
  const out: string[] = [];
  if (s.calls < 100 * Object.keys(s.ioctls).length) return out;
  const ok = (name: string) => (s.ioctls[name]?.ok ?? 0) > 0;
  if (reach.areas) {
    for (const name of MUST_SUCCEED.areas) if (!ok(name)) out.push(`${name} never answered B_OK`);
    if ((s.clone_maps ?? 0) === 0) out.push('no clone was ever mapped');
  }
  if (reach.nodeMonitor) {
    for (const name of MUST_SUCCEED.nodeMonitor) if (!ok(name)) out.push(`${name} never answered B_OK`);
    const nm = s.nm;
    if (!nm) out.push('nexus-fuzz said nothing of the node monitor');
    else {
      if (nm.churn_ops === 0) out.push('the churner made no file system operation');
      if (nm.events === 0) out.push('no node monitor event was read');
      if (nm.caps_minted === 0) out.push('no READ_CAPS minted a slot');
      if (nm.opens_checked === 0) out.push('no VREF_OPEN was held against what its vref was made of');
    }
  }
  const info = s.ioctls.THREAD_GET_INFO;
  if (info && info.calls > info.enotty) {
    for (const name of MUST_SUCCEED.threads) if (!ok(name)) out.push(`${name} never answered B_OK`);
    if ((s.newborns_registered ?? 0) === 0) out.push('no newborn thread ever registered (SPAWN)');
  }
  return out;
}

/** Everything in a summary that fails the suite, as messages (empty: nothing). */
export function summaryProblems(s: FuzzSummary): string[] {
  const p: string[] = [];
  if (s.violations > 0) p.push(`${s.violations} broken rule(s), the first: ${s.violation}`);
  if (s.stalled > 0) p.push(`${s.stalled} worker(s) made no call for 20 s (a wait that never ends)`);
  for (const c of s.crashed) p.push(`a worker crashed: ${c}`);
  for (const x of s.stuck) p.push(`a worker could not be reaped: ${x}`);
  for (const o of s.orphans) p.push(`left behind by a dead team: ${o}`);
  return p;
}
