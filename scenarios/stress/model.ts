// The pure half of the stress suite: its parameters, nexus-stress's command
// line, what its summary line says and what in it is a failure.  The storm
// itself happens in C (scenarios/native/nexus-stress.c).
import { randomSeed, type Param } from '../fuzz/model.js';
import { parseSummaryLine } from '../lib/storm.js';

export interface StressOptions {
  /** Teams (processes) started over the run. */
  teams: number;
  /** Teams alive at once. */
  alive: number;
  seed: number;
  /** A child killed at a random moment dies within its first maxLifeMs ms. */
  maxLifeMs: number;
  /** nexus-stress stops the storm (and reports it) after this many seconds. */
  deadlineS: number;
  /** Vrefs, watches and the churner's tmpfs in the storm (1, the default) or not (0: to compare). */
  nodeMonitor?: number;
}

/**
 * Sized for `make test`: a 2-vCPU TCG guest started and killed 100-170
 * teams/s with 32 alive before the node monitor (110/s still with
 * --param stress.node_monitor=0), 40-60 teams/s with vrefs, watches and the
 * churner's tmpfs on a host busy with other work, 121-127 teams/s on a
 * quiet one (6.1 and 6.12), so 5,000 teams take 40-125 s there.  A
 * nightly asks for 50,000 or more with --stress-teams.
 */
export const DEFAULT_TEAMS = 5_000;
export const DEFAULT_ALIVE = 32;
export const DEFAULT_MAX_LIFE_MS = 100;
export const MAX_ALIVE = 256;

/** The storm's deadline, growing with the teams: 60 s plus 40 ms per team (25 teams/s, below the slowest seen). */
export function defaultDeadlineS(teams: number): number {
  return Math.ceil(60 + teams / 25);
}

/** The storm's own deadline for these run parameters, in seconds (stress.deadline, or as stress.teams asks). */
export function stressDeadlineS(param: Param): number {
  return param('stress.deadline', defaultDeadlineS(param('stress.teams', DEFAULT_TEAMS)));
}

export function stressOptions(param: Param, seed: () => number = randomSeed): StressOptions {
  const teams = param('stress.teams', DEFAULT_TEAMS);
  const o: StressOptions = {
    teams,
    alive: param('stress.alive', DEFAULT_ALIVE),
    seed: param('stress.seed', NaN),
    maxLifeMs: param('stress.max_life_ms', DEFAULT_MAX_LIFE_MS),
    deadlineS: stressDeadlineS(param),
    nodeMonitor: param('stress.node_monitor', 1),
  };
  if (Number.isNaN(o.seed)) o.seed = seed();
  const whole = (name: string, v: number, min: number, max = Number.MAX_SAFE_INTEGER) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`stress.${name} must be a whole number from ${min} to ${max}, not ${v}`);
  };
  whole('teams', o.teams, 1);
  whole('alive', o.alive, 2, MAX_ALIVE);
  whole('seed', o.seed, 0);
  whole('max_life_ms', o.maxLifeMs, 1);
  whole('deadline', o.deadlineS, 1);
  whole('node_monitor', o.nodeMonitor!, 0, 1);
  return o;
}

export function stressArgs(o: StressOptions): string[] {
  return [
    '--teams', String(o.teams),
    '--alive', String(o.alive),
    '--seed', String(o.seed),
    '--max-life-ms', String(o.maxLifeMs),
    '--deadline', String(o.deadlineS),
    ...(o.nodeMonitor === 0 ? ['--node-monitor', '0'] : []),
  ];
}

/** nexus-stress's summary line. */
export interface StressSummary {
  seed: number;
  teams: number;
  alive: number;
  spawned: number;
  wall_ms: number;
  exited: number;
  overdue: number;
  violations: number;
  deadline_hit: boolean;
  peak_table_objects: number;
  violation: string;
  fates: Record<string, number>;
  killed_in: Record<string, number>;
  waits: Record<string, number>;
  /** Peaks of the Nexus counters during the storm (empty without them). */
  peak: Record<string, number>;
  /** Objects created, by primitive (port, sem, thread, area; absent from older drivers). */
  created?: Record<string, number>;
  /** Teams killed while blocked, by what they were blocked in (port_read, ..., thread_receive, area_touch). */
  killed_blocked_in?: Record<string, number>;
  /** The node monitor side (absent from older drivers). */
  nm?: StressNodeMonitor;
  stuck: string[];
  crashed: string[];
}

/** What nexus-stress saw of vrefs, capability messages, watches and the churner's tmpfs. */
export interface StressNodeMonitor {
  /** Node monitor messages read whole (each checked well-formed). */
  events: number;
  /** Capability messages written, writes refused (a vref without a slot), slots minted by READ_CAPS. */
  caps_sent: number;
  caps_refused: number;
  slots_minted: number;
  /** Vref requests with another team's key, refused. */
  forged_refused: number;
  churn_ops: number;
  /** tmpfs mounted, unmounted under live watches, and unmounted lazily (a vref or descriptor held it). */
  mounts: number;
  umounts: number;
  lazy_umounts: number;
  /** START_WATCHING answers: 0, node gone or unreadable, port gone, anything else. */
  watches: Record<string, number>;
  by_opcode: Record<string, number>;
}

const FIELDS = {
  numbers: ['seed', 'teams', 'alive', 'spawned', 'wall_ms', 'exited', 'overdue', 'violations', 'peak_table_objects'],
  records: ['fates', 'killed_in', 'waits', 'peak'],
  lists: ['stuck', 'crashed'],
} as const;

/** The summary: the last non-empty line of stdout, a JSON object; anything else throws. */
export function parseStressSummary(stdout: string): StressSummary {
  return parseSummaryLine('nexus-stress', stdout, FIELDS) as unknown as StressSummary;
}

/** Teams per second, one decimal (0 when no time passed). */
export function teamRate(s: Pick<StressSummary, 'spawned' | 'wall_ms'>): number {
  return s.wall_ms > 0 ? Math.round((s.spawned * 10_000) / s.wall_ms) / 10 : 0;
}

/**
 * Live objects at the peak: the counters' ports + sems (+ threads + areas
 * where the tree counts them) when the tree has them, else the ids the
 * teams published.
 */
export function peakObjects(s: Pick<StressSummary, 'peak' | 'peak_table_objects'>): number {
  if (typeof s.peak.ports === 'number' && typeof s.peak.sems === 'number')
    return s.peak.ports + s.peak.sems + (s.peak.threads ?? 0) + (s.peak.areas ?? 0) + (s.peak.vrefs ?? 0) + (s.peak.watches ?? 0);
  return s.peak_table_objects;
}

/** What each primitive's teams must have been killed blocked in, once the primitive works. */
export const BLOCKED_IN = {
  thread: ['thread_wait', 'thread_send', 'thread_receive'],
  area: ['area_touch'],
  vref: ['caps_read'],
  watch: ['event_read'],
} as const;

/** The guest's means: which primitives the storm must have used. */
export interface StormReach {
  threads: boolean;
  areas: boolean;
  /** /dev/nexus_node_monitor exists: vrefs and watches. */
  nodeMonitor?: boolean;
}

/**
 * What the storm should have done and did not (empty: all of it): create
 * threads and areas where the guest has them, and kill teams while blocked
 * in each of receive_data, wait_for_thread, send_data and while touching a
 * clone's pages.  A storm of fewer than 1,000 teams proves nothing either way.
 */
export function stormUnreached(s: StressSummary, reach: StormReach): string[] {
  const out: string[] = [];
  if (s.spawned < 1000 || !s.created || !s.killed_blocked_in) return out;
  for (const [p, kinds] of Object.entries(BLOCKED_IN) as [keyof typeof BLOCKED_IN, readonly string[]][]) {
    const wanted = p === 'thread' ? reach.threads : p === 'area' ? reach.areas : reach.nodeMonitor === true;
    if (!wanted) continue;
    if (!(s.created[p]! > 0)) {
      out.push(`no ${p} was ever created`);
      continue;
    }
    for (const k of kinds) if (!(s.killed_blocked_in[k]! > 0)) out.push(`no team was killed while blocked in ${k}`);
  }
  if (reach.nodeMonitor) {
    const nm = s.nm;
    if (!nm) out.push('nexus-stress said nothing of the node monitor');
    else {
      if (!(nm.events > 0)) out.push('no node monitor event was read');
      if (!(nm.caps_sent > 0)) out.push('no capability message was sent');
      if (!(nm.slots_minted > 0)) out.push('no READ_CAPS minted a slot');
      if (!(nm.mounts > 0 && nm.umounts > 0)) out.push('the tmpfs was never mounted and unmounted under the watches');
      if (!(nm.watches.ok! > 0)) out.push('no watch was started');
    }
  }
  return out;
}

/** Everything in a summary that fails the suite (empty: nothing). */
export function stressProblems(s: StressSummary): string[] {
  const p: string[] = [];
  if (s.violations > 0) p.push(`${s.violations} broken rule(s), the first: ${s.violation}`);
  for (const c of s.crashed) p.push(`a team crashed: ${c}`);
  for (const x of s.stuck) p.push(`a team could not be reaped: ${x}`);
  return p;
}

/**
 * How far above its starting point unreclaimable slab may end, in kB, once
 * the caches are shrunk and RCU has settled.  With 5,000 teams it ended
 * 28-572 kB higher on 6.1 and 6.12 at 1 and 2 vCPUs with the fixed module,
 * and 540 kB after 20,000 teams: caches the storm warmed (task and pid
 * structures, xarray nodes, per-CPU partial slabs that shrinking does not
 * empty), not something that grows with the storm.  1 MiB is nearly twice
 * the worst of those, and still catches a leak of 256 bytes per team at the
 * default size (1.25 MiB), of 25 bytes per team in a nightly of 50,000.
 */
export const SLAB_TOLERANCE_KB = 1024;
