// nexus-lab compare BASE NEW: what changed between two runs, as plain data,
// and the text printed for it.  Pure except cmdCompare at the bottom (reads
// the two run.json files).
//
// WHAT IS COMPARED, per job matched by id (a job of one run whose id the
// other lacks is matched by kernel id, profile and suites when exactly one
// job on each side has them; the rest are "only in base" / "only in new"):
// - the verdict, ranked by SEVERITY (worse to the right):
//     pass < skip < fail < infra-error < boot-failed < timeout < kernel-splat < build-failed
//   the house precedence (ARCHITECTURE.md) with fail and skip swapped: for a
//   verdict's explanation a job-level skip wins, but a job that ran and
//   failed is worse than one that had nothing to run;
// - splats, keyed by kind and title with addresses, offsets, CPU and PID
//   numbers blanked (a splat that moved in memory or time is the same one);
// - scenarios newly failing (fail or error now, not before, also when new)
//   and newly passing (pass now, fail or error before);
// - perf metrics that carry samples (see SAMPLES): judged below;
// - leak figures per suite (lab/leaks.ts): a suite the rule now says LEAKS
//   that it did not before; a signal whose growth per round after round 1
//   grew by more than the rule's noise floor (16 objects, 256 kB per round:
//   DEFAULT_RULE), compared only when both runs ran the suite 2 rounds or
//   more (round 1 is warm-up: it moved by up to 473 objects between two
//   runs of the same tree); new kmemleak reports in the tree's modules.
// Regressions: a worse verdict, a new splat, a newly failing scenario, a
// metric worse beyond noise, a leak change.  Jobs only in one run are
// reported, never regressions (a matrix may change on purpose).
//
// SAMPLES.  A metric's samples are its `samples` list (perf suites since
// they record them: each round's median of the mode, and for a ratio to a
// Linux baseline each round's ratio), or, for a `<mode>.median` without one
// (older runs), its `<mode>.round<k>` metrics.  `.round<k>` metrics are
// samples, not metrics of their own.
//
// NOISE METHOD for a metric with at least MIN_SAMPLES samples on both sides:
// the ratio of medians NEW/BASE, a percentile bootstrap interval of it
// (lab/stats.ts bootstrapRatio with the two runs' samples resampled
// independently: unpaired, two runs are two boots), at a Bonferroni level
// 1 - (1 - confidence)/m over the m metrics judged in the whole comparison,
// and a call: a change only when the whole interval lies beyond the band
// +-minEffect (lab/stats.ts judge).  The band is wider than bench's 5 %
// (10 %): bench compares two trees in ONE boot, alternating, so the host's
// drift and the module's placement cancel; two runs are two boots at two
// moments, and what differs between boots is not in either run's samples.
import { readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { decidesVerdict, type Splat, type SplatKind } from './console.js';
import { blames, DEFAULT_RULE, SUNRECLAIM, type LeakRecord, type LeakRule, type SuiteLeaks } from './leaks.js';
import type { JobRecord, RunRecord } from './results.js';
import { bonferroniLevel, bootstrapRatio, judge, median, type Call } from './stats.js';
import type { ScenarioResult, Verdict } from './verdict.js';
import type { ScenarioStatus } from '../scenarios/runner/events.js';

/** Verdicts from best to worst: a move to the right is a regression. */
export const SEVERITY: readonly Verdict[] = [
  'pass', 'skip', 'fail', 'infra-error', 'boot-failed', 'timeout', 'kernel-splat', 'build-failed',
];

export const DEFAULT_COMPARE_CONFIDENCE = 0.95;
/** 10 %: two boots differ by more than two loads in one boot (bench's 5 %). */
export const DEFAULT_COMPARE_MIN_EFFECT = 0.1;
export const DEFAULT_COMPARE_RESAMPLES = 10_000;
export const DEFAULT_COMPARE_SEED = 1;
/** Fewer samples than this on a side: not judged (no noise to measure). */
export const MIN_SAMPLES = 3;

export interface CompareOptions {
  /** Family-wise confidence over all judged metrics (default 0.95). */
  confidence?: number;
  /** Smallest change that counts, as a fraction (default 0.10). */
  minEffect?: number;
  resamples?: number;
  seed?: number;
  /** Noise floor for leak growth (default: lab/leaks.ts DEFAULT_RULE). */
  leakRule?: LeakRule;
}

export interface CompareMethod {
  confidence: number;
  minEffect: number;
  resamples: number;
  seed: number;
  /** Metrics judged (m of Bonferroni). */
  judged: number;
  /** The level of each metric's interval: 1 - (1 - confidence)/m. */
  adjustedLevel: number;
  leakRule: LeakRule;
  description: string;
}

/** What a run is, for the header. */
export interface RunRef {
  runId: string;
  status: RunRecord['status'];
  startedAt: string;
  revision?: string;
  dirty?: boolean;
  sourceHash?: string;
  accel?: 'kvm' | 'tcg';
  jobs: number;
}

export interface JobPair {
  /** The job's id in NEW (the key of every change below). */
  job: string;
  /** Its id in BASE, when matched by kernel, profile and suites. */
  baseJob: string;
  matchedBy: 'id' | 'kernel+profile+suites';
  kernel: string;
  /** Kernel releases, when they differ (a newer package of the same series). */
  releases?: { base: string; next: string };
}

export interface JobOnly {
  job: string;
  kernel: string;
  suites: string[];
  verdict?: Verdict;
}

export type Direction = 'worse' | 'better';

export interface VerdictChange {
  job: string;
  base: Verdict;
  next: Verdict;
  direction: Direction;
  baseReason?: string;
  nextReason?: string;
}

export interface SplatChange {
  job: string;
  /** new: in NEW, not in BASE (a regression); gone: the other way. */
  change: 'new' | 'gone';
  kind: SplatKind;
  title: string;
  /** How many splats of this key the run has. */
  count: number;
}

export type StatusOrAbsent = ScenarioStatus | 'absent';

export interface ScenarioChange {
  job: string;
  suite: string;
  scenario: string;
  change: 'newly-failing' | 'newly-passing';
  base: StatusOrAbsent;
  next: StatusOrAbsent;
  /** Why it fails now (newly failing), or failed before (newly passing). */
  reason?: string;
}

export interface MetricChange {
  job: string;
  suite: string;
  scenario: string;
  metric: string;
  unit: string;
  /** Higher values are better (rates: events/s; scalings); otherwise lower is (times, ratios to Linux). */
  higherIsBetter: boolean;
  /** Medians of the samples. */
  base: number;
  next: number;
  /** next / base. */
  ratio: number;
  samples: { base: number[]; next: number[] };
  /** Plain interval at the family confidence (for reading). */
  ci: { level: number; lo: number; hi: number };
  /** Bonferroni-adjusted interval: the call is made on it. */
  ciAdjusted: { level: number; lo: number; hi: number };
  /** lab/stats.ts judge on the adjusted interval: higher/lower mean NEW's figure is. */
  call: Call;
  /** worse or better beyond noise; none: not a change. */
  direction: Direction | 'none';
  /** What the metric measures (see metricRoles). */
  role: MetricRole;
  /**
   * Set when a change beyond noise is the machine's, not Nexus's: such a
   * change is listed, never a regression or an improvement.
   */
  environment?: string;
}

/**
 * A perf metric's role in its scenario: `ratio`, a Nexus mode against its
 * Linux baseline measured in the same guest and round (`<mode>.vs-<name>`,
 * or a figure's ratio, `<family>.scaling.vs-<name>`); `nexus`, a mode (the
 * metric's name up to its first dot) that has such ratios; `linux`, a mode of a scenario with
 * ratios that has none itself (a Linux baseline: pipes, mq, SysV, timerfd);
 * `other`, a scenario without baselines or a figure like `wall`.
 */
export type MetricRole = 'ratio' | 'nexus' | 'linux' | 'other';

export interface NotJudged {
  job: string;
  suite: string;
  scenario: string;
  metric: string;
  unit: string;
  reason: string;
}

export interface LeakChange {
  job: string;
  suite: string;
  /** A cache, SUnreclaim, or "kmemleak". */
  signal: string;
  kind: 'newly-leaking' | 'grew' | 'kmemleak';
  unit: 'objects' | 'kB' | 'reports';
  /** The figure compared (growth per round after round 1, or round 1's when a side ran one round; reports). */
  base: number;
  next: number;
  /** What the figure is: "per round after round 1", "round 1 (warm-up included)", ... */
  basis: string;
  detail: string;
}

/** A suite whose leak figures were not compared, and why. */
export interface LeakNotJudged {
  job: string;
  suite: string;
  reason: string;
}

export interface Comparison {
  schema: 1;
  base: RunRef;
  next: RunRef;
  method: CompareMethod;
  pairs: JobPair[];
  onlyInBase: JobOnly[];
  onlyInNext: JobOnly[];
  verdicts: VerdictChange[];
  splats: SplatChange[];
  scenarios: ScenarioChange[];
  /** Every judged metric, changed or not (direction none). */
  metrics: MetricChange[];
  notJudged: NotJudged[];
  leaks: LeakChange[];
  /** Suites whose growth figures were not compared (one round: warm-up only). */
  leaksNotJudged: LeakNotJudged[];
  /** Things a reader should know (accelerators differ, a run unfinished, ...). */
  notes: string[];
}

export interface Regression {
  kind: 'verdict' | 'splat' | 'scenario' | 'metric' | 'leak';
  job: string;
  text: string;
}

// ---------------------------------------------------------------- helpers

function runRef(r: RunRecord): RunRef {
  const ref: RunRef = { runId: r.runId, status: r.status, startedAt: r.startedAt, jobs: r.jobs.length };
  if (r.source?.git) {
    ref.revision = r.source.git.revision;
    ref.dirty = r.source.git.dirty;
  }
  if (r.source?.hash) ref.sourceHash = r.source.hash;
  if (r.accel) ref.accel = r.accel.used;
  return ref;
}

function severity(v: Verdict): number {
  return SEVERITY.indexOf(v);
}

/**
 * A splat's identity across runs: its kind and its title with what differs
 * from boot to boot blanked - function offsets (+0x18f/0x1d5, they change
 * with the compiler), file paths down to the file's name (the module is
 * built in a fresh temporary directory each time), addresses, and every
 * other number (CPU, PID, line, seconds, "task x:131").  The same WARN
 * from two runs of one tree is then one key; a WARN in another function is
 * another.
 */
export function splatKey(s: Pick<Splat, 'kind' | 'title'>): string {
  const title = s.title
    .replace(/\+0x[0-9a-f]+\/0x[0-9a-f]+/gi, '')
    .replace(/(?:\/[^\s/:]+)+\/([^\s/:]+)/g, '$1')
    .replace(/\b0x[0-9a-f]+\b/gi, 'ADDR')
    .replace(/\b[0-9a-f]{8,16}\b/gi, 'ADDR')
    .replace(/\d+/g, 'N')
    .replace(/\s+/g, ' ')
    .trim();
  return `${s.kind}\0${title}`;
}

function failing(s: StatusOrAbsent): boolean {
  return s === 'fail' || s === 'error';
}

/**
 * Rates (events/s, rt/s, ...) are better high; times and ratios to a
 * baseline are better low - except a scaling (`<family>.scaling`, N pairs'
 * throughput over one pair's, and `<family>.scaling.vs-<baseline>`, that
 * over Linux's: perf-scaling), a ratio of rates, better high.
 */
export function higherIsBetter(unit: string, metric = ''): boolean {
  return /\/s$/.test(unit) || isScaling(metric);
}

/** A scaling figure of perf-scaling, or a ratio of one (see higherIsBetter). */
const isScaling = (metric: string) => metric.split('.')[1] === 'scaling';

interface Sampled {
  name: string;
  value: number;
  unit: string;
  samples?: number[];
}

type MetricEntry = ScenarioResult['metrics'][number] & { samples?: number[] };

/**
 * A scenario's metrics with their samples (see SAMPLES at the top); the
 * `<mode>.round<k>` metrics of a `<mode>.median` are folded into it.
 */
export function sampledMetrics(s: Pick<ScenarioResult, 'metrics'>): Sampled[] {
  const metrics = s.metrics as readonly MetricEntry[];
  const medians = new Set(metrics.filter((m) => m.name.endsWith('.median')).map((m) => m.name.slice(0, -'.median'.length)));
  const rounds = new Map<string, { k: number; v: number }[]>();
  const out: Sampled[] = [];
  for (const m of metrics) {
    const r = /^(.+)\.round(\d+)$/.exec(m.name);
    if (r && medians.has(r[1]!)) {
      rounds.set(r[1]!, [...(rounds.get(r[1]!) ?? []), { k: Number(r[2]), v: m.value }]);
      continue;
    }
  }
  for (const m of metrics) {
    const r = /^(.+)\.round(\d+)$/.exec(m.name);
    if (r && medians.has(r[1]!)) continue;
    const e: Sampled = { name: m.name, value: m.value, unit: m.unit };
    if (Array.isArray(m.samples) && m.samples.length > 0) e.samples = m.samples.filter((x) => Number.isFinite(x));
    else if (m.name.endsWith('.median')) {
      const rs = rounds.get(m.name.slice(0, -'.median'.length));
      if (rs && rs.length > 0) e.samples = rs.sort((a, b) => a.k - b.k).map((x) => x.v);
    }
    out.push(e);
  }
  return out;
}

// ---------------------------------------------------------------- jobs

function pairJobs(base: RunRecord, next: RunRecord): { pairs: { b: JobRecord; n: JobRecord; by: JobPair['matchedBy'] }[]; onlyB: JobRecord[]; onlyN: JobRecord[] } {
  const byId = new Map(base.jobs.map((j) => [j.id, j]));
  const pairs: { b: JobRecord; n: JobRecord; by: JobPair['matchedBy'] }[] = [];
  const restN: JobRecord[] = [];
  const used = new Set<string>();
  for (const n of next.jobs) {
    const b = byId.get(n.id);
    if (b && !used.has(b.id)) {
      pairs.push({ b, n, by: 'id' });
      used.add(b.id);
    } else restN.push(n);
  }
  const restB = base.jobs.filter((j) => !used.has(j.id));
  const shape = (j: JobRecord) => `${j.kernel.id}\0${j.profile}\0${[...j.suites].sort().join(',')}`;
  const count = (js: JobRecord[]) => {
    const m = new Map<string, JobRecord[]>();
    for (const j of js) m.set(shape(j), [...(m.get(shape(j)) ?? []), j]);
    return m;
  };
  const cb = count(restB);
  const cn = count(restN);
  const onlyN: JobRecord[] = [];
  for (const n of restN) {
    const bs = cb.get(shape(n));
    if (bs?.length === 1 && cn.get(shape(n))?.length === 1) {
      pairs.push({ b: bs[0]!, n, by: 'kernel+profile+suites' });
      used.add(bs[0]!.id);
    } else onlyN.push(n);
  }
  return { pairs, onlyB: base.jobs.filter((j) => !used.has(j.id)), onlyN };
}

function jobOnly(j: JobRecord): JobOnly {
  const o: JobOnly = { job: j.id, kernel: j.kernel.id, suites: [...j.suites] };
  if (j.verdict) o.verdict = j.verdict;
  return o;
}

function compareVerdict(job: string, b: JobRecord, n: JobRecord): VerdictChange | undefined {
  const bv = b.verdict ?? 'infra-error';
  const nv = n.verdict ?? 'infra-error';
  if (bv === nv) return undefined;
  const c: VerdictChange = { job, base: bv, next: nv, direction: severity(nv) > severity(bv) ? 'worse' : 'better' };
  if (b.reason !== undefined) c.baseReason = b.reason;
  if (n.reason !== undefined) c.nextReason = n.reason;
  return c;
}

function compareSplats(job: string, b: JobRecord, n: JobRecord): SplatChange[] {
  const group = (ss: readonly Splat[]) => {
    const m = new Map<string, { s: Splat; count: number }>();
    for (const s of ss) {
      const k = splatKey(s);
      const e = m.get(k);
      if (e) e.count++;
      else m.set(k, { s, count: 1 });
    }
    return m;
  };
  // kmemleak's console lines are compared as leaks (compareLeaks), by the tree's modules.
  const gb = group((b.splats ?? []).filter(decidesVerdict));
  const gn = group((n.splats ?? []).filter(decidesVerdict));
  const out: SplatChange[] = [];
  for (const [k, e] of gn) if (!gb.has(k)) out.push({ job, change: 'new', kind: e.s.kind, title: e.s.title, count: e.count });
  for (const [k, e] of gb) if (!gn.has(k)) out.push({ job, change: 'gone', kind: e.s.kind, title: e.s.title, count: e.count });
  return out;
}

function scenarioKey(s: Pick<ScenarioResult, 'suite' | 'name'>): string {
  return `${s.suite}\0${s.name}`;
}

function whyFailed(s: ScenarioResult | undefined): string | undefined {
  if (!s) return undefined;
  return s.reason ?? s.failures[0]?.message;
}

function compareScenarios(job: string, b: JobRecord, n: JobRecord): ScenarioChange[] {
  const mb = new Map(b.scenarios.map((s) => [scenarioKey(s), s]));
  const out: ScenarioChange[] = [];
  for (const s of n.scenarios) {
    const old = mb.get(scenarioKey(s));
    const bs: StatusOrAbsent = old?.status ?? 'absent';
    if (failing(s.status) && !failing(bs)) {
      const c: ScenarioChange = { job, suite: s.suite, scenario: s.name, change: 'newly-failing', base: bs, next: s.status };
      const why = whyFailed(s);
      if (why !== undefined) c.reason = why;
      out.push(c);
    } else if (s.status === 'pass' && failing(bs)) {
      const c: ScenarioChange = { job, suite: s.suite, scenario: s.name, change: 'newly-passing', base: bs, next: s.status };
      const why = whyFailed(old);
      if (why !== undefined) c.reason = why;
      out.push(c);
    }
  }
  return out;
}

// ---------------------------------------------------------------- metrics

interface Candidate {
  job: string;
  suite: string;
  scenario: string;
  metric: string;
  unit: string;
  base: number[];
  next: number[];
}

function collectMetrics(job: string, b: JobRecord, n: JobRecord, accelNote: string | undefined, nj: NotJudged[]): Candidate[] {
  const mb = new Map(b.scenarios.map((s) => [scenarioKey(s), s]));
  const out: Candidate[] = [];
  for (const s of n.scenarios) {
    const old = mb.get(scenarioKey(s));
    const oldMetrics = new Map((old ? sampledMetrics(old) : []).map((m) => [m.name, m]));
    for (const m of sampledMetrics(s)) {
      const where = { job, suite: s.suite, scenario: s.name, metric: m.name, unit: m.unit };
      const o = oldMetrics.get(m.name);
      if (!o) continue; // a metric new in NEW: nothing to compare with
      let reason: string | undefined;
      if (!m.samples || !o.samples) reason = 'no samples';
      else if (accelNote !== undefined) reason = accelNote;
      else if (s.status !== 'pass' || old?.status !== 'pass') reason = 'scenario did not pass in both runs';
      else if (o.unit !== m.unit) reason = `units differ (${o.unit}, ${m.unit})`;
      else if (o.samples.length < MIN_SAMPLES || m.samples.length < MIN_SAMPLES) {
        reason = `too few samples (${o.samples.length} and ${m.samples.length}, at least ${MIN_SAMPLES})`;
      } else if (!o.samples.every((x) => x > 0) || !m.samples.every((x) => x > 0)) reason = 'samples not all positive (no ratio)';
      if (reason !== undefined) nj.push({ ...where, reason });
      else out.push({ ...where, base: o.samples!, next: m.samples! });
    }
  }
  return out;
}

const modeOf = (metric: string) => metric.split('.')[0]!;
/** Which job's scenario a metric is of, as one key. */
const scenarioOf = (m: Pick<MetricChange, 'job' | 'suite' | 'scenario'>) => `${m.job}\0${m.suite}\0${m.scenario}`;
/** `<mode>.vs-<baseline>`, or a figure's ratio to its baseline's (`port.scaling.vs-pipe`). */
const isRatio = (metric: string) => metric.split('.').slice(1).some((s) => /^vs-/.test(s));

/** Each metric name of one scenario with its role (see MetricRole). */
export function metricRoles(names: readonly string[]): Map<string, MetricRole> {
  const nexusModes = new Set(names.filter(isRatio).map(modeOf));
  const figure = (m: string) => m.includes('.');
  return new Map(names.map((m): [string, MetricRole] => [
    m,
    isRatio(m) ? 'ratio' : nexusModes.size === 0 || !figure(m) ? 'other' : nexusModes.has(modeOf(m)) ? 'nexus' : 'linux',
  ]));
}

/**
 * Changes that are the machine's: a Linux baseline that moved beyond noise
 * (two runs are two boots, and host load differs), and a Nexus mode's own
 * figure that moved the way a baseline of its scenario moved too - its
 * ratios to the baselines, measured in the same rounds, are what tell
 * whether Nexus changed.  Measured: a busy host made timerfd's 1 ms
 * lateness x1.59 between two runs of one tree.
 */
function attributeEnvironment(rows: MetricChange[]): void {
  const groups = new Map<string, MetricChange[]>();
  for (const r of rows) {
    const k = scenarioOf(r);
    groups.set(k, [...(groups.get(k) ?? []), r]);
  }
  for (const g of groups.values()) {
    const moved = (d: Direction) => g.filter((r) => r.role === 'linux' && r.direction === d).map((r) => modeOf(r.metric));
    for (const r of g) {
      if (r.direction === 'none') continue;
      if (r.role === 'linux') r.environment = 'a Linux baseline: it measures the host and the guest kernel, not Nexus';
      else if (r.role === 'nexus' && moved(r.direction).length > 0) {
        r.environment = `the Linux baselines ${moved(r.direction).join(', ')} moved the same way: judged by its ratios to them`;
      }
    }
  }
}

function judgeMetrics(cands: Candidate[], o: Required<Omit<CompareOptions, 'leakRule'>>, names: Map<string, string[]>): { rows: MetricChange[]; level: number } {
  const level = bonferroniLevel(o.confidence, cands.length);
  const rows = cands.map((c, i) => {
    const r = bootstrapRatio(
      { a: [c.base], b: [c.next] },
      { resamples: o.resamples, seed: (o.seed + i * 7919) >>> 0, levels: [o.confidence, level] },
    );
    const [ci, adj] = r.intervals as [typeof r.intervals[0], typeof r.intervals[0]];
    const call = judge(adj, o.minEffect);
    const hib = higherIsBetter(c.unit, c.metric);
    const direction: MetricChange['direction'] =
      call === 'higher' ? (hib ? 'better' : 'worse') : call === 'lower' ? (hib ? 'worse' : 'better') : 'none';
    return {
      job: c.job, suite: c.suite, scenario: c.scenario, metric: c.metric, unit: c.unit,
      higherIsBetter: hib,
      base: median(c.base),
      next: median(c.next),
      ratio: r.ratio,
      samples: { base: c.base, next: c.next },
      ci, ciAdjusted: adj, call, direction,
      role: metricRoles(names.get(scenarioOf(c)) ?? []).get(c.metric) ?? 'other',
    };
  });
  attributeEnvironment(rows);
  return { rows, level };
}

// ---------------------------------------------------------------- leaks

/** A signal's growth in a suite: per round after round 1 (the least of them: what the leak rule tests), or round 1's. */
function growth(s: SuiteLeaks, signal: string, steady: boolean): number {
  const get = (d: SuiteLeaks['deltas'][number]) => (signal === SUNRECLAIM ? d.sunreclaimKiB : d.objects[signal] ?? 0);
  if (steady) return Math.min(...s.deltas.slice(1).map(get));
  return s.deltas[0] ? get(s.deltas[0]) : 0;
}

function blamedReports(s: SuiteLeaks, rec: LeakRecord): number {
  return s.kmemleak.reduce((n, k) => n + k.reports.filter((r) => blames(r, rec.modules) !== undefined).length, 0);
}

function compareLeaks(job: string, b: LeakRecord | undefined, n: LeakRecord | undefined, rule: LeakRule, notJudged: LeakNotJudged[]): LeakChange[] {
  if (!b || !n) return [];
  const out: LeakChange[] = [];
  // Suites by name and occurrence (a suite run twice in a job is two entries).
  const index = (rec: LeakRecord) => {
    const seen = new Map<string, number>();
    const m = new Map<string, SuiteLeaks>();
    for (const s of rec.suites) {
      const k = seen.get(s.suite) ?? 0;
      seen.set(s.suite, k + 1);
      m.set(`${s.suite}#${k}`, s);
    }
    return m;
  };
  const ib = index(b);
  for (const [key, ns] of index(n)) {
    const bs = ib.get(key);
    if (!bs) continue;
    const reported = new Set<string>();
    if (ns.leaking.length > 0) {
      const before = new Set(bs.leaking.map((g) => g.signal));
      const word = !bs.conclusive ? 'figures only' : bs.leaking.length > 0 ? `LEAK: ${bs.leaking.map((g) => g.signal).join(', ')}` : 'no leak';
      for (const g of ns.leaking) {
        if (before.has(g.signal)) continue;
        reported.add(g.signal);
        const steadyBase = bs.deltas.length >= 2;
        out.push({
          job, suite: ns.suite, signal: g.signal, kind: 'newly-leaking', unit: g.unit,
          base: steadyBase ? growth(bs, g.signal, true) : growth(bs, g.signal, false),
          next: Math.min(...g.perRound),
          basis: steadyBase ? 'per round after round 1 (least)' : 'base: round 1 (warm-up included); new: per round after round 1 (least)',
          detail: `rule said "${word}" in base, LEAK now (${g.perRound.map((v) => `+${v}`).join(', ')} ${g.unit} in rounds 2..${ns.rounds})`,
        });
      }
    }
    // Figures: growth per round after round 1, when both sides have it.
    // Round 1 alone is not compared: it carries the warm-up, which moved by
    // up to 473 objects (kmalloc-8, node-monitor) and 32 kB between two
    // runs of the same tree, far beyond the rule's floor for later rounds.
    const steady = bs.deltas.length >= 2 && ns.deltas.length >= 2;
    if (!steady) {
      notJudged.push({
        job, suite: ns.suite,
        reason: `${Math.min(bs.rounds, ns.rounds)} round${Math.min(bs.rounds, ns.rounds) === 1 ? '' : 's'} in ${bs.deltas.length < 2 ? 'base' : 'new'}: ` +
          'round 1 is warm-up; growth figures need --param leaks.repeat=2 or more on both runs',
      });
    } else {
      const signals = new Set<string>([SUNRECLAIM]);
      for (const d of [...bs.deltas, ...ns.deltas]) for (const c of Object.keys(d.objects)) signals.add(c);
      for (const sig of [...signals].sort()) {
        if (reported.has(sig)) continue;
        const kb = sig === SUNRECLAIM;
        const vb = growth(bs, sig, true);
        const vn = growth(ns, sig, true);
        const floor = kb ? rule.minSunreclaimKiB : rule.minObjects;
        if (vn - vb > floor) {
          out.push({
            job, suite: ns.suite, signal: sig, kind: 'grew', unit: kb ? 'kB' : 'objects', base: vb, next: vn,
            basis: 'per round after round 1 (least)',
            detail: `grew by ${vn - vb} ${kb ? 'kB' : 'objects'}, more than the noise floor of ${floor}`,
          });
        }
      }
    }
    const rb = blamedReports(bs, b);
    const rn = blamedReports(ns, n);
    if (rn > rb) {
      out.push({
        job, suite: ns.suite, signal: 'kmemleak', kind: 'kmemleak', unit: 'reports', base: rb, next: rn, basis: 'reports in the tree\'s modules',
        detail: `kmemleak: ${rn} unreferenced object${rn === 1 ? '' : 's'} allocated in the tree's modules (base ${rb})`,
      });
    }
  }
  return out;
}

// ---------------------------------------------------------------- the comparison

export function describeCompareMethod(m: Omit<CompareMethod, 'description'>): string {
  const pct = (x: number) => `${Number((x * 100).toPrecision(4))} %`;
  return (
    `per metric with samples (each round's median; at least ${MIN_SAMPLES} per run): ratio of medians NEW/BASE, ` +
    `percentile bootstrap (${m.resamples} resamples, seed ${m.seed}, the runs resampled independently) at ` +
    `${pct(m.adjustedLevel)} (Bonferroni: ${pct(m.confidence)} over ${m.judged} metrics); a change only when that ` +
    `interval lies wholly beyond +-${pct(m.minEffect)}; leaks: growth beyond ${m.leakRule.minObjects} objects or ` +
    `${m.leakRule.minSunreclaimKiB} kB per round`
  );
}

export function compareRuns(base: RunRecord, next: RunRecord, opts: CompareOptions = {}): Comparison {
  const o = {
    confidence: opts.confidence ?? DEFAULT_COMPARE_CONFIDENCE,
    minEffect: opts.minEffect ?? DEFAULT_COMPARE_MIN_EFFECT,
    resamples: opts.resamples ?? DEFAULT_COMPARE_RESAMPLES,
    seed: opts.seed ?? DEFAULT_COMPARE_SEED,
  };
  const leakRule = opts.leakRule ?? DEFAULT_RULE;
  const notes: string[] = [];
  for (const [name, r] of [['base', base], ['new', next]] as const) {
    if (r.status !== 'done') notes.push(`${name} run ${r.runId} is ${r.status}: its jobs may be incomplete`);
  }
  let accelNote: string | undefined;
  if (base.accel && next.accel && base.accel.used !== next.accel.used) {
    accelNote = `accelerators differ (${base.accel.used} in base, ${next.accel.used} in new)`;
    notes.push(`${accelNote}: no metric judged`);
  }
  const { pairs, onlyB, onlyN } = pairJobs(base, next);
  const out: Comparison = {
    schema: 1,
    base: runRef(base),
    next: runRef(next),
    method: { ...o, judged: 0, adjustedLevel: o.confidence, leakRule, description: '' },
    pairs: [],
    onlyInBase: onlyB.map(jobOnly),
    onlyInNext: onlyN.map(jobOnly),
    verdicts: [],
    splats: [],
    scenarios: [],
    metrics: [],
    notJudged: [],
    leaks: [],
    leaksNotJudged: [],
    notes,
  };
  const cands: Candidate[] = [];
  for (const { b, n, by } of pairs) {
    const job = n.id;
    const p: JobPair = { job, baseJob: b.id, matchedBy: by, kernel: n.kernel.id };
    if (b.kernel.release && n.kernel.release && b.kernel.release !== n.kernel.release) p.releases = { base: b.kernel.release, next: n.kernel.release };
    out.pairs.push(p);
    const v = compareVerdict(job, b, n);
    if (v) out.verdicts.push(v);
    out.splats.push(...compareSplats(job, b, n));
    out.scenarios.push(...compareScenarios(job, b, n));
    cands.push(...collectMetrics(job, b, n, accelNote, out.notJudged));
    out.leaks.push(...compareLeaks(job, b.leaks, n.leaks, leakRule, out.leaksNotJudged));
  }
  const names = new Map<string, string[]>();
  for (const m of [...cands, ...out.notJudged]) {
    const k = scenarioOf(m);
    names.set(k, [...(names.get(k) ?? []), m.metric]);
  }
  const { rows, level } = judgeMetrics(cands, o, names);
  out.metrics = rows;
  out.method.judged = rows.length;
  out.method.adjustedLevel = level;
  out.method.description = describeCompareMethod(out.method);
  return out;
}

// ---------------------------------------------------------------- reading it

function fmtNum(v: number, unit: string): string {
  if (unit === 'ns') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : `${(v / 1000).toFixed(1)} us`;
  if (unit === 'us') return `${v.toFixed(1)} us`;
  return `${Number(v.toPrecision(4))} ${unit}`;
}

const f3 = (x: number) => x.toFixed(3);

function metricName(m: Pick<MetricChange, 'suite' | 'scenario' | 'metric'>): string {
  return `${m.suite}/${m.scenario}/${m.metric}`;
}

function metricLine(m: MetricChange): string {
  const what = m.direction === 'none' ? m.call : m.direction;
  return (
    `${metricName(m)}: ${fmtNum(m.base, m.unit)} -> ${fmtNum(m.next, m.unit)} (x${f3(m.ratio)}, ` +
    `${Number((m.ciAdjusted.level * 100).toPrecision(4))} % CI ${f3(m.ciAdjusted.lo)}-${f3(m.ciAdjusted.hi)}, ` +
    `${m.samples.base.length}+${m.samples.next.length} samples): ${what}`
  );
}

function verdictLine(v: VerdictChange): string {
  const why = v.direction === 'worse' ? v.nextReason : v.baseReason;
  return `verdict ${v.base} -> ${v.next}${why ? ` (${why})` : ''}`;
}

function scenarioLine(s: ScenarioChange): string {
  return `scenario ${s.suite}/${s.scenario}: ${s.base} -> ${s.next}${s.reason ? ` (${s.reason})` : ''}`;
}

function leakLine(l: LeakChange): string {
  if (l.kind === 'kmemleak') return `leaks in ${l.suite}: ${l.detail}`;
  return `leaks in ${l.suite}: ${l.signal} ${l.base} -> ${l.next} ${l.unit} (${l.basis}): ${l.detail}`;
}

/** Every regression of a comparison, in a stable order: verdicts, splats, scenarios, metrics, leaks. */
export function regressions(c: Comparison): Regression[] {
  return [
    ...c.verdicts.filter((v) => v.direction === 'worse').map((v) => ({ kind: 'verdict' as const, job: v.job, text: verdictLine(v) })),
    ...c.splats.filter((s) => s.change === 'new').map((s) => ({
      kind: 'splat' as const, job: s.job, text: `new splat ${s.kind}: ${s.title}${s.count > 1 ? ` (x${s.count})` : ''}`,
    })),
    ...c.scenarios.filter((s) => s.change === 'newly-failing').map((s) => ({ kind: 'scenario' as const, job: s.job, text: scenarioLine(s) })),
    ...c.metrics.filter((m) => m.direction === 'worse' && !m.environment).map((m) => ({ kind: 'metric' as const, job: m.job, text: metricLine(m) })),
    ...c.leaks.map((l) => ({ kind: 'leak' as const, job: l.job, text: leakLine(l) })),
  ];
}

/** What got better: verdicts, gone splats, newly passing scenarios, metrics better beyond noise. */
export function improvements(c: Comparison): Regression[] {
  return [
    ...c.verdicts.filter((v) => v.direction === 'better').map((v) => ({ kind: 'verdict' as const, job: v.job, text: verdictLine(v) })),
    ...c.splats.filter((s) => s.change === 'gone').map((s) => ({ kind: 'splat' as const, job: s.job, text: `splat gone ${s.kind}: ${s.title}` })),
    ...c.scenarios.filter((s) => s.change === 'newly-passing').map((s) => ({ kind: 'scenario' as const, job: s.job, text: scenarioLine(s) })),
    ...c.metrics.filter((m) => m.direction === 'better' && !m.environment).map((m) => ({ kind: 'metric' as const, job: m.job, text: metricLine(m) })),
  ];
}

function runLine(label: string, r: RunRef): string {
  const rev = r.revision ? ` ${r.revision.slice(0, 12)}${r.dirty ? '+dirty' : ''}` : '';
  return `${label} ${r.runId} (${r.status}, ${r.jobs} job${r.jobs === 1 ? '' : 's'}${rev}${r.accel ? `, ${r.accel}` : ''})`;
}

/** The printed comparison. */
export function comparisonText(c: Comparison): string {
  const lines: string[] = [runLine('base:', c.base), runLine('new: ', c.next)];
  const byId = c.pairs.filter((p) => p.matchedBy === 'id').length;
  lines.push(
    `jobs: ${c.pairs.length} compared${byId < c.pairs.length ? ` (${c.pairs.length - byId} matched by kernel, profile and suites)` : ''}, ` +
      `${c.onlyInBase.length} only in base, ${c.onlyInNext.length} only in new`,
  );
  for (const j of c.onlyInBase) lines.push(`  only in base: ${j.job} (${j.verdict ?? 'no verdict'})`);
  for (const j of c.onlyInNext) lines.push(`  only in new:  ${j.job} (${j.verdict ?? 'no verdict'})`);
  for (const p of c.pairs) {
    if (p.matchedBy !== 'id') lines.push(`  ${p.job} matched with base ${p.baseJob}`);
    if (p.releases) lines.push(`  ${p.job}: kernel ${p.releases.base} -> ${p.releases.next}`);
  }
  for (const n of c.notes) lines.push(`note: ${n}`);
  const w = Math.max(3, ...c.pairs.map((p) => p.job.length));
  const section = (title: string, items: Regression[]) => {
    lines.push('', `${title} (${items.length}):`);
    if (items.length === 0) lines.push('  none');
    for (const r of items) lines.push(`  ${r.job.padEnd(w)}  ${r.text}`);
  };
  const reg = regressions(c);
  section('REGRESSIONS', reg);
  section('improvements', improvements(c));
  const env = c.metrics.filter((m) => m.environment);
  if (env.length > 0) {
    lines.push('', `the machine, not Nexus (${env.length}, not counted):`);
    for (const m of env) lines.push(`  ${m.job.padEnd(w)}  ${metricLine(m)} (${m.environment})`);
  }
  const count = (d: MetricChange['direction'] | 'within' | 'unclear') =>
    c.metrics.filter((m) => (d === 'within' || d === 'unclear' ? m.direction === 'none' && m.call === d : m.direction === d && !m.environment)).length;
  lines.push('');
  if (c.metrics.length > 0 || c.notJudged.length > 0) {
    lines.push(
      `metrics: ${c.metrics.length} judged: ${count('worse')} worse, ${count('better')} better, ` +
        `${c.metrics.filter((m) => m.environment).length} the machine's, ${count('within')} within +-${Number((c.method.minEffect * 100).toPrecision(4))} %, ${count('unclear')} unclear`,
    );
    const reasons = new Map<string, number>();
    for (const n of c.notJudged) reasons.set(n.reason, (reasons.get(n.reason) ?? 0) + 1);
    for (const [r, k] of reasons) lines.push(`  not judged: ${r}: ${k} metric${k === 1 ? '' : 's'}`);
    lines.push(`method: ${c.method.description}`);
  } else lines.push('metrics: none in common');
  if (c.leaksNotJudged.length > 0) {
    const k = c.leaksNotJudged.length;
    lines.push(
      `leaks: growth of ${k} suite${k === 1 ? '' : 's'} not compared (one round, warm-up only; ` +
        'run both with --param leaks.repeat=3 to compare it); the leak rule\'s word and kmemleak still are',
    );
  }
  lines.push('', reg.length === 0 ? 'no regression' : `${reg.length} regression${reg.length === 1 ? '' : 's'}`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- the command

export const COMPARE_HELP = `nexus-lab compare - what changed between two runs

Usage:
  nexus-lab compare BASE NEW [--json] [--min-effect PCT] [--confidence X]
                             [--resamples N] [--seed N]

BASE and NEW are run directories (results/<run-id>, results/latest) or
their run.json files.  Jobs are matched by id (else by kernel, profile and
suites when that is unambiguous).  Printed: verdicts that got worse or
better (pass < skip < fail < infra-error < boot-failed < timeout <
kernel-splat < build-failed), new and gone splats (by kind and title),
scenarios newly failing and newly passing, perf metrics whose change is
beyond noise, leak figures that grew, and jobs only in one run.

Perf metrics are judged from their samples (each round's median of a
benchmark mode, recorded by the perf suites; at least ${MIN_SAMPLES} per run): the
ratio of medians NEW/BASE with a percentile bootstrap interval at a
Bonferroni-adjusted level (1 - (1-X)/m over the m metrics judged); a
change only when the whole interval lies beyond +-PCT.  The default band,
${DEFAULT_COMPARE_MIN_EFFECT * 100} %, is twice bench's: two runs are two boots, and what differs
between boots (host load, where the module lands) is not in either run's
samples.  Metrics without samples are listed as not judged.  For times
and ratios to Linux higher is worse; for rates (events/s) lower is, and
for scalings (perf-scaling: two pairs' throughput over one pair's, and
that over Linux's, <family>.scaling and .scaling.vs-<baseline>) too.  A
Linux baseline (pipes, mq, SysV, timerfd) that moved measures the machine,
not Nexus, and so does a Nexus figure that moved the way a baseline of its
scenario did: both are listed as the machine's, never counted; the Nexus
mode is then judged by its ratios to the baselines (same guest, same
rounds), which host load cancels out of.
Leaks: a suite the leak rule now calls LEAK and did not before, a slab
cache or SUnreclaim growing per round (after round 1) by more than the
rule's noise floor (16 objects, 256 kB) more than in base, new kmemleak
reports in the tree's modules.  Growth is compared only when both runs ran
each suite twice or more (--param leaks.repeat=3): round 1 is warm-up, and
it moved by hundreds of objects between two runs of the same tree.

Options:
  --json               print the comparison as JSON instead of text
  --min-effect PCT     smallest change that counts, in percent (default ${DEFAULT_COMPARE_MIN_EFFECT * 100})
  --confidence X       family-wise confidence (default ${DEFAULT_COMPARE_CONFIDENCE})
  --resamples N        bootstrap resamples (default ${DEFAULT_COMPARE_RESAMPLES})
  --seed N             bootstrap seed (default ${DEFAULT_COMPARE_SEED})

Exit status: 0 when nothing regressed, 1 on any regression (a worse
verdict, a new splat, a newly failing scenario, a metric worse beyond
noise, a leak figure that grew), 2 on bad usage (a missing directory, a
file that is not a run).`;

/** Thrown for what exits 2: a path that is not a run, bad options. */
export class CompareUsageError extends Error {}

/** Read a run: a directory holding run.json, or the file itself. */
export async function loadRun(path: string): Promise<RunRecord> {
  const p = resolve(path);
  let st;
  try {
    st = await stat(p);
  } catch {
    throw new CompareUsageError(`${path}: no such file or directory`);
  }
  const file = st.isDirectory() ? join(p, 'run.json') : p;
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new CompareUsageError(`${path}: not a run (no ${st.isDirectory() ? 'run.json in it' : 'readable file'})`);
  }
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    throw new CompareUsageError(`${file}: not a run (not JSON)`);
  }
  const r = v as Partial<RunRecord> & { kind?: unknown };
  if (typeof r !== 'object' || r === null || r.kind === 'bench') {
    throw new CompareUsageError(`${file}: not a run${r && r.kind === 'bench' ? ' (a bench.json: bench compares its two trees itself)' : ''}`);
  }
  if (r.schema !== 1 || typeof r.runId !== 'string' || !Array.isArray(r.jobs)) throw new CompareUsageError(`${file}: not a run (no schema 1, runId and jobs)`);
  return r as RunRecord;
}

function num(name: string, v: string | undefined, ok: (n: number) => boolean): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || !ok(n)) throw new CompareUsageError(`${name}: bad value '${v}'`);
  return n;
}

/** nexus-lab compare BASE NEW: 0 no regression, 1 regressions, 2 bad usage. */
export async function cmdCompare(argv: string[]): Promise<number> {
  try {
    let parsed;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          json: { type: 'boolean' },
          'min-effect': { type: 'string' },
          confidence: { type: 'string' },
          resamples: { type: 'string' },
          seed: { type: 'string' },
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (e) {
      throw new CompareUsageError((e as Error).message);
    }
    const { values, positionals } = parsed;
    if (values.help) {
      process.stdout.write(`${COMPARE_HELP}\n`);
      return 0;
    }
    if (positionals.length !== 2) throw new CompareUsageError(`takes two runs, BASE and NEW (got ${positionals.length} argument${positionals.length === 1 ? '' : 's'})`);
    const opts: CompareOptions = {};
    const me = num('--min-effect', values['min-effect'], (n) => n >= 0 && n < 100);
    if (me !== undefined) opts.minEffect = me / 100;
    const cf = num('--confidence', values.confidence, (n) => n > 0 && n < 1);
    if (cf !== undefined) opts.confidence = cf;
    const rs = num('--resamples', values.resamples, (n) => Number.isInteger(n) && n >= 1);
    if (rs !== undefined) opts.resamples = rs;
    const sd = num('--seed', values.seed, (n) => Number.isSafeInteger(n) && n >= 0);
    if (sd !== undefined) opts.seed = sd;
    const [base, next] = await Promise.all([loadRun(positionals[0]!), loadRun(positionals[1]!)]);
    const c = compareRuns(base, next, opts);
    process.stdout.write(values.json ? `${JSON.stringify(c, null, 2)}\n` : `${comparisonText(c)}\n`);
    return regressions(c).length > 0 ? 1 : 0;
  } catch (e) {
    if (e instanceof CompareUsageError) {
      process.stderr.write(`nexus-lab compare: ${e.message}\n\nRun 'nexus-lab compare --help' for usage.\n`);
      return 2;
    }
    throw e;
  }
}
