// The events the guest-side runner streams to the host, one JSON object per
// line on stdout.  This file is the schema shared by both sides; the host
// never parses free text from the guest except the kernel console.
//
// `t` is milliseconds since the runner started (guest monotonic clock).

export type ScenarioStatus = 'pass' | 'fail' | 'skip' | 'error';

export interface RunStart {
  type: 'run-start';
  t: number;
  suites: string[];
  node: string;
  kernel: string;
  /** The guest's vCPUs (availableParallelism()): the lab checks it got what the job asked for. */
  cpus: number;
  /** The run parameters the runner was given (job.json "params"). */
  params: Record<string, string>;
}

export interface SuiteStart {
  type: 'suite-start';
  t: number;
  suite: string;
  scenarios: string[];
}

export interface ScenarioStart {
  type: 'scenario-start';
  t: number;
  suite: string;
  scenario: string;
}

export interface AssertFail {
  type: 'assert-fail';
  t: number;
  suite: string;
  scenario: string;
  message: string;
  expected?: unknown;
  actual?: unknown;
}

export interface Metric {
  type: 'metric';
  t: number;
  suite: string;
  scenario: string;
  name: string;
  value: number;
  unit: string;
  /**
   * The samples `value` summarises, when it has some (a benchmark mode's
   * median: each round's median; a ratio to a baseline: each round's ratio),
   * at most MAX_METRIC_SAMPLES: what tells a change between two runs from
   * noise (lab/compare.ts).
   */
  samples?: number[];
}

/** The most samples one metric carries (the perf suites run 5 rounds; the C drivers allow 20). */
export const MAX_METRIC_SAMPLES = 64;

export interface CounterSnapshot {
  type: 'counters';
  t: number;
  suite?: string;
  scenario?: string;
  label: string;
  values: Record<string, number>;
}

/**
 * Slab snapshot around a suite (scenarios/lib/leaks.ts), taken after settling
 * (deferred frees run, per-CPU slabs flushed): rep 0 before the suite's
 * first round, rep k after its k-th round (`leaks.repeat` rounds in all).
 */
export interface SlabSnapshot {
  type: 'slab';
  t: number;
  suite: string;
  rep: number;
  repeat: number;
  /** active_objs of the kept caches: the tree's own and kmalloc-*, kmalloc-cg-*, kmalloc-rcl-*. */
  objects: Record<string, number>;
  /** Bytes per object of the same caches. */
  objsize: Record<string, number>;
  /** Module caches SLUB merged into another (alias -> the cache /proc/slabinfo lists, kept too). */
  merged: Record<string, string>;
  /** /proc/meminfo SUnreclaim and Slab, kB (-1: unreadable). */
  sunreclaimKiB: number;
  slabKiB: number;
  /** The out-of-tree (taint O) modules loaded: the tree under test. */
  modules: string[];
  /** The kernel has /sys/kernel/debug/kmemleak. */
  kmemleak: boolean;
  /** Why the snapshot is empty. */
  error?: string;
}

/** One object kmemleak found unreferenced. */
export interface KmemleakReport {
  address: string;
  size: number;
  comm: string;
  pid: number;
  ageSecs?: number;
  /** Frames, innermost first, without the [<address>] prefix: "nexus_port_create+0x2c/0x90 [nexus]". */
  backtrace: string[];
  /** The report's lines as kmemleak printed them, hex dump included (the first reports of a scan only). */
  text?: string;
}

/** What kmemleak reported after a suite's round `rep`, or before its first round (rep 0): scan, read, clear. */
export interface KmemleakEvent {
  type: 'kmemleak';
  t: number;
  suite: string;
  rep: number;
  reports: KmemleakReport[];
  error?: string;
}

export interface ScenarioEnd {
  type: 'scenario-end';
  t: number;
  suite: string;
  scenario: string;
  status: ScenarioStatus;
  durationMs: number;
  /** Why it failed, errored or was skipped. */
  reason?: string;
}

export interface SuiteEnd {
  type: 'suite-end';
  t: number;
  suite: string;
  passed: number;
  failed: number;
  skipped: number;
}

/** A Nexus primitive, as the evidence matrix and feature probing name it. */
export type Primitive = 'teams' | 'ports' | 'sems' | 'threads' | 'areas' | 'vrefs' | 'node-monitor';

/** What one ioctl answered a probe: anything but ENOTTY is present. */
export type ProbeResult = 'present' | 'enotty' | 'no-device';

/** What the loaded modules have (runner/probe.ts). */
export interface Features {
  /** Device path -> it exists and opens. */
  devices: Record<string, boolean>;
  /** ioctl name (NEXUS_ prefix dropped) -> what it answered. */
  ioctls: Record<string, ProbeResult>;
  /** Per primitive: present (its devices exist, one of its ioctls answers) and what is missing. */
  primitives: Record<Primitive, { present: boolean; missing: string[] }>;
  /** The tree has our debugfs counters file. */
  counters: boolean;
}

export interface FeaturesEvent {
  type: 'features';
  t: number;
  features: Features;
}

/** A suite that did not run: the primitive it tests is missing. */
export interface SuiteSkip {
  type: 'suite-skip';
  t: number;
  suite: string;
  reason: string;
}

/**
 * The ABI-level orphan scan after a scenario (runner/orphans.ts): the
 * objects looked at, and the ports, semaphores and areas of exited teams
 * the tree still lists (each one a leak).
 */
export interface Orphans {
  type: 'orphans';
  t: number;
  suite: string;
  scenario: string;
  /** Objects (or ids) looked at. */
  scanned: number;
  /** "port 12 of team 345", ... */
  found: string[];
}

export interface RunEnd {
  type: 'run-end';
  t: number;
  passed: number;
  failed: number;
  skipped: number;
}

export type GuestEvent =
  | RunStart
  | SuiteStart
  | ScenarioStart
  | AssertFail
  | Metric
  | CounterSnapshot
  | SlabSnapshot
  | KmemleakEvent
  | ScenarioEnd
  | SuiteEnd
  | FeaturesEvent
  | SuiteSkip
  | Orphans
  | RunEnd;

const TYPES = new Set([
  'run-start',
  'suite-start',
  'scenario-start',
  'assert-fail',
  'metric',
  'counters',
  'slab',
  'kmemleak',
  'scenario-end',
  'suite-end',
  'features',
  'suite-skip',
  'orphans',
  'run-end',
]);

/** Parse one line of the event stream; undefined when it is not an event. */
export function parseEvent(line: string): GuestEvent | undefined {
  const s = line.trim();
  if (!s.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(s) as { type?: unknown };
    if (typeof v.type === 'string' && TYPES.has(v.type)) return v as GuestEvent;
  } catch {
    // not an event
  }
  return undefined;
}
