// The pure half of the benchmark suites (perf-core, perf-ipc): what the C
// drivers print, how it is checked, and which metrics come out of it.  The
// timing itself happens in C (scenarios/native/nexus-bench*.c, the output
// format is described in nexus-bench.h); nothing here measures anything.

/** One JSON line of a bench driver: a mode's samples summarised, in ns. */
export interface BenchResult {
  name: string;
  bytes: number;
  /** Timed samples in all: rounds x the iterations asked for per round. */
  iterations: number;
  rounds: number;
  /** Untimed iterations per round. */
  warmup: number;
  median_ns: number;
  p99_ns: number;
  mean_ns: number;
  min_ns: number;
  max_ns: number;
  /** Each round's median, in round order. */
  round_medians_ns: number[];
}

/** A Nexus mode against the Linux baseline of the same shape: `<mode>.<metric>` = median / baseline median. */
export interface Baseline {
  mode: string;
  baseline: string;
  metric: string;
}

/** What one driver invocation runs and how its results are read. */
export interface BenchSpec {
  /** Every mode, in the order the driver is asked for them (and prints them). */
  modes: readonly string[];
  baselines: readonly Baseline[];
  /**
   * Modes whose samples are a timeout's lateness (how long past the deadline
   * it fired), not a latency: reported in µs, and 0 is a fine minimum while
   * a negative one (fired early) is a problem.
   */
  lateness?: readonly string[];
}

const NUMBERS = ['bytes', 'iterations', 'rounds', 'warmup', 'median_ns', 'p99_ns', 'mean_ns', 'min_ns', 'max_ns'] as const;

/** Parse a driver's stdout: one JSON object per non-empty line; anything else throws. */
export function parseBenchOutput(stdout: string, program = 'nexus-bench'): BenchResult[] {
  const out: BenchResult[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${program} printed a line that is not JSON: ${JSON.stringify(line)}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string')
      throw new Error(`${program} printed a line without a mode name: ${line}`);
    for (const k of NUMBERS) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k]))
        throw new Error(`${program}: ${o.name}: "${k}" is not a number: ${line}`);
    }
    const rm = o.round_medians_ns;
    if (!Array.isArray(rm) || !rm.every((x) => typeof x === 'number' && Number.isFinite(x)))
      throw new Error(`${program}: ${o.name}: "round_medians_ns" is not a list of numbers: ${line}`);
    out.push(o as unknown as BenchResult);
  }
  return out;
}

/**
 * What is wrong with a result, as messages (empty = sane): the sample count
 * asked for (rounds x iterations per round), one median per round,
 * min <= median <= p99 <= max, min <= mean <= max, every round's median
 * within [min, max]; a latency's min is positive, a lateness's is not
 * negative (a timeout that fires early is a defect, not noise).
 * No thresholds on the values themselves: a slow run is not a failure.
 */
export function sanityProblems(r: BenchResult, perRound: number, rounds: number, lateness = false): string[] {
  const p: string[] = [];
  const n = r.name;
  if (r.rounds !== rounds) p.push(`${n}: ${r.rounds} rounds, asked for ${rounds}`);
  if (r.iterations !== perRound * rounds)
    p.push(`${n}: ${r.iterations} samples, asked for ${rounds} x ${perRound}`);
  if (r.round_medians_ns.length !== r.rounds) p.push(`${n}: ${r.round_medians_ns.length} round medians for ${r.rounds} rounds`);
  if (lateness) {
    if (r.min_ns < 0) p.push(`${n}: a timeout fired ${-r.min_ns} ns early`);
  } else if (!(r.min_ns > 0)) {
    p.push(`${n}: min ${r.min_ns} ns is not positive`);
  }
  if (!(r.median_ns >= r.min_ns)) p.push(`${n}: median ${r.median_ns} ns < min ${r.min_ns} ns`);
  if (!(r.p99_ns >= r.median_ns)) p.push(`${n}: p99 ${r.p99_ns} ns < median ${r.median_ns} ns`);
  if (!(r.max_ns >= r.p99_ns)) p.push(`${n}: max ${r.max_ns} ns < p99 ${r.p99_ns} ns`);
  if (!(r.mean_ns >= r.min_ns && r.mean_ns <= r.max_ns)) p.push(`${n}: mean ${r.mean_ns} ns outside [min, max]`);
  const stray = r.round_medians_ns.filter((m) => m < r.min_ns || m > r.max_ns);
  if (stray.length > 0) p.push(`${n}: round medians ${stray.join(', ')} ns outside [min, max]`);
  return p;
}

/** Ratio of two medians, rounded to 3 decimals (0 when the baseline is not positive). */
export function ratio(value: number, baseline: number): number {
  if (!(baseline > 0)) return 0;
  return Math.round((value / baseline) * 1000) / 1000;
}

/**
 * The ratio in each round (a mode's round-k median over its baseline's: both
 * ran back to back, under the same host load), when both ran the same rounds.
 */
export function roundRatios(mode: BenchResult, base: BenchResult): number[] {
  if (mode.round_medians_ns.length !== base.round_medians_ns.length) return [];
  return mode.round_medians_ns.map((m, k) => ratio(m, base.round_medians_ns[k]!));
}

export interface MetricOut {
  name: string;
  value: number;
  unit: string;
  /** What the value summarises, per round (see benchMetrics). */
  samples?: number[];
}

/**
 * Samples a metric carries at most: the runner keeps 64 (MAX_METRIC_SAMPLES
 * in runner/events.ts); the drivers run at most 20 rounds (BENCH_MAX_ROUNDS).
 */
export const MAX_SAMPLES = 64;

/** ns as µs with one decimal. */
const toUs = (ns: number) => Math.round(ns / 100) / 10;

/**
 * The metrics of a run, per mode: `<mode>.median` and `<mode>.p99`, then each
 * round's median `<mode>.round<k>` (k from 1), in ns, or in µs (one decimal)
 * for a lateness mode.  Then for every Nexus shape whose baseline ran too:
 * `<mode>.<metric>` (x, median / baseline median) and, with several rounds,
 * `<mode>.<metric>.min` and `.max`, the extremes of the per-round ratios.
 *
 * Samples: `<mode>.median` carries the round medians as its `samples` (the
 * same values as the `.round<k>` metrics, which bench reads), and a ratio
 * its per-round ratios: one sample per round, at most MAX_SAMPLES, what a
 * comparison of two runs (lab/compare.ts) judges noise by.  A round's median
 * is the unit, not each timed iteration: iterations of one round share the
 * moment of the host and are not independent of each other.
 */
export function benchMetrics(results: readonly BenchResult[], spec: BenchSpec): MetricOut[] {
  const out: MetricOut[] = [];
  const late = new Set(spec.lateness ?? []);
  for (const r of results) {
    const [conv, unit] = late.has(r.name) ? [toUs, 'us'] : [(ns: number) => ns, 'ns'];
    const median: MetricOut = { name: `${r.name}.median`, value: conv(r.median_ns), unit };
    if (r.round_medians_ns.length > 0) median.samples = r.round_medians_ns.slice(0, MAX_SAMPLES).map(conv);
    out.push(median);
    out.push({ name: `${r.name}.p99`, value: conv(r.p99_ns), unit });
    r.round_medians_ns.forEach((m, k) => out.push({ name: `${r.name}.round${k + 1}`, value: conv(m), unit }));
  }
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const b of spec.baselines) {
    const m = byName.get(b.mode);
    const base = byName.get(b.baseline);
    if (!m || !base) continue;
    const per = roundRatios(m, base);
    const r: MetricOut = { name: `${b.mode}.${b.metric}`, value: ratio(m.median_ns, base.median_ns), unit: 'x' };
    if (per.length > 0) r.samples = per.slice(0, MAX_SAMPLES);
    out.push(r);
    if (per.length > 1) {
      out.push({ name: `${b.mode}.${b.metric}.min`, value: Math.min(...per), unit: 'x' });
      out.push({ name: `${b.mode}.${b.metric}.max`, value: Math.max(...per), unit: 'x' });
    }
  }
  return out;
}

/** A human table of the results, for the runner log: one row per mode, then one per ratio. */
export function benchTable(results: readonly BenchResult[], spec: BenchSpec): string {
  const late = new Set(spec.lateness ?? []);
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} us`;
  const byName = new Map(results.map((r) => [r.name, r]));
  const rows = results.map((r) => [
    late.has(r.name) ? `${r.name} (late by)` : r.name,
    String(r.iterations),
    us(r.median_ns),
    us(r.p99_ns),
    r.round_medians_ns.map((m) => (m / 1000).toFixed(1)).join(' '),
  ]);
  const header = ['mode', 'n', 'median', 'p99', 'round medians (us)'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const b of spec.baselines) {
    const m = byName.get(b.mode);
    const base = byName.get(b.baseline);
    if (!m || !base) continue;
    const per = roundRatios(m, base);
    const range = per.length > 1 ? ` (rounds ${Math.min(...per)}-${Math.max(...per)})` : '';
    lines.push(`${b.mode} / ${b.baseline}: ${ratio(m.median_ns, base.median_ns)}x${range}`);
  }
  return lines.join('\n');
}

/** The accelerator the guest runs under, as far as the guest can tell. */
export type Accel = 'kvm' | 'tcg' | 'unknown';

/**
 * Tell KVM from TCG inside a QEMU guest: KVM offers the kvm-clock clock
 * source (and its CPUID signature, which the kernel logs as "Hypervisor
 * detected: KVM"); TCG's `-cpu max` is named "QEMU TCG CPU", and any other
 * hypervisor-flagged CPU without kvm-clock is taken for TCG as well (the lab
 * runs only these two).  No hypervisor flag at all: unknown (bare metal).
 */
export function classifyAccel(cpuinfo: string, clocksources: string): Accel {
  if (/\bkvm-clock\b/.test(clocksources)) return 'kvm';
  if (/QEMU TCG CPU/.test(cpuinfo)) return 'tcg';
  if (/^flags\s*:.*\bhypervisor\b/m.test(cpuinfo)) return 'tcg';
  return 'unknown';
}

/**
 * The accelerator as a metric (`accel.tcg`: 1 under TCG, 0 under KVM; none
 * when unknown), so every figure says which kind of run it came from: TCG
 * times are several times native ones, only the ratios carry over.
 */
export function accelMetrics(accel: Accel): MetricOut[] {
  return accel === 'unknown' ? [] : [{ name: 'accel.tcg', value: accel === 'tcg' ? 1 : 0, unit: 'bool' }];
}
