// The pure half of perf-core: what nexus-bench prints, how it is checked, and
// which metrics come out of it.  The timing itself happens in C
// (scenarios/native/nexus-bench.c); nothing here measures anything.

/** One JSON line of nexus-bench: a mode's round-trip latencies in ns. */
export interface BenchResult {
  name: string;
  bytes: number;
  iterations: number;
  warmup: number;
  median_ns: number;
  p99_ns: number;
  mean_ns: number;
  min_ns: number;
  max_ns: number;
}

/** Every mode the suite runs, Nexus first, then the Linux baselines. */
export const MODES = [
  'port-rtt-64',
  'port-rtt-4096',
  'sem-pingpong',
  'pipe-rtt-64',
  'pipe-rtt-4096',
  'posix-sem-pingpong',
] as const;

/** Each Nexus shape against the Linux baseline of the same shape. */
export const BASELINES: readonly { mode: string; baseline: string; metric: string }[] = [
  { mode: 'port-rtt-64', baseline: 'pipe-rtt-64', metric: 'vs-pipe' },
  { mode: 'port-rtt-4096', baseline: 'pipe-rtt-4096', metric: 'vs-pipe' },
  { mode: 'sem-pingpong', baseline: 'posix-sem-pingpong', metric: 'vs-posix-sem' },
];

const NUMBERS = ['bytes', 'iterations', 'warmup', 'median_ns', 'p99_ns', 'mean_ns', 'min_ns', 'max_ns'] as const;

/** Parse nexus-bench's stdout: one JSON object per non-empty line; anything else throws. */
export function parseBenchOutput(stdout: string): BenchResult[] {
  const out: BenchResult[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`nexus-bench printed a line that is not JSON: ${JSON.stringify(line)}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string')
      throw new Error(`nexus-bench printed a line without a mode name: ${line}`);
    for (const k of NUMBERS) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k]))
        throw new Error(`nexus-bench: ${o.name}: "${k}" is not a number: ${line}`);
    }
    out.push(o as unknown as BenchResult);
  }
  return out;
}

/**
 * What is wrong with a result, as messages (empty = sane): the iteration
 * count asked for, positive times, min <= median <= p99 <= max, min <= mean <= max.
 * No thresholds on the values themselves: a slow run is not a failure.
 */
export function sanityProblems(r: BenchResult, iterations: number): string[] {
  const p: string[] = [];
  const n = r.name;
  if (r.iterations !== iterations) p.push(`${n}: ${r.iterations} iterations, asked for ${iterations}`);
  if (!(r.min_ns > 0)) p.push(`${n}: min ${r.min_ns} ns is not positive`);
  if (!(r.median_ns >= r.min_ns)) p.push(`${n}: median ${r.median_ns} ns < min ${r.min_ns} ns`);
  if (!(r.p99_ns >= r.median_ns)) p.push(`${n}: p99 ${r.p99_ns} ns < median ${r.median_ns} ns`);
  if (!(r.max_ns >= r.p99_ns)) p.push(`${n}: max ${r.max_ns} ns < p99 ${r.p99_ns} ns`);
  if (!(r.mean_ns >= r.min_ns && r.mean_ns <= r.max_ns)) p.push(`${n}: mean ${r.mean_ns} ns outside [min, max]`);
  return p;
}

/** Ratio of two medians, rounded to 3 decimals (0 when the baseline is 0). */
export function ratio(value: number, baseline: number): number {
  if (!(baseline > 0)) return 0;
  return Math.round((value / baseline) * 1000) / 1000;
}

export interface MetricOut {
  name: string;
  value: number;
  unit: string;
}

/**
 * The metrics of a run: `<mode>.median` and `<mode>.p99` (ns) for every mode,
 * then `<mode>.vs-<baseline>` (x, Nexus median / baseline median) for every
 * Nexus shape whose baseline ran too.
 */
export function benchMetrics(results: readonly BenchResult[]): MetricOut[] {
  const out: MetricOut[] = [];
  for (const r of results) {
    out.push({ name: `${r.name}.median`, value: r.median_ns, unit: 'ns' });
    out.push({ name: `${r.name}.p99`, value: r.p99_ns, unit: 'ns' });
  }
  const byName = new Map(results.map((r) => [r.name, r]));
  for (const b of BASELINES) {
    const m = byName.get(b.mode);
    const base = byName.get(b.baseline);
    if (m && base) out.push({ name: `${b.mode}.${b.metric}`, value: ratio(m.median_ns, base.median_ns), unit: 'x' });
  }
  return out;
}

/** A human table of the results, for the runner log. */
export function benchTable(results: readonly BenchResult[]): string {
  const us = (ns: number) => `${(ns / 1000).toFixed(1)} us`;
  const byName = new Map(results.map((r) => [r.name, r]));
  const rows = results.map((r) => {
    const b = BASELINES.find((x) => x.mode === r.name);
    const base = b && byName.get(b.baseline);
    return [r.name, String(r.iterations), us(r.median_ns), us(r.p99_ns), base ? `${ratio(r.median_ns, base.median_ns)}x ${b.baseline}` : ''];
  });
  const header = ['mode', 'n', 'median', 'p99', 'median vs baseline'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
}
