// perf-scaling's figures, read back from a job's scenario metrics
// (scenarios/perf-scaling/scaling.ts scalingMetrics names them), and their
// charts: per family (port, pipe, sem, posix-sem, sysv-sem) the throughput
// of one pair and of N pairs (`<family>.rate-1pair`, `.rate-<N>pairs`, rt/s,
// each round's rate as samples), the scaling (`<family>.scaling`, x), and
// per Nexus family its scaling over a Linux family's
// (`<family>.scaling.vs-<baseline>`).  Unlike the other benchmarks, higher
// is better throughout: more round trips, a scaling nearer N, a ratio to
// Linux at 1 or above.
//
// A scaling and a ratio to Linux are medians of per-round ratios; their
// intervals are percentile bootstraps of that median over the rounds
// (lab/stats.ts bootstrapRounds, 2,000 resamples, seed 1), computed here
// from the metrics' samples: a reading aid (percentile intervals run narrow
// at small n), not a verdict.
import type { JobRecord } from '../results.js';
import { fmtMetric } from '../results.js';
import { bootstrapRounds, median, type Interval } from '../stats.js';
import { PAIRS } from '../../scenarios/perf-scaling/index.js';
import type { ScalingSpec } from '../../scenarios/perf-scaling/scaling.js';
import { barChart, type Bar } from './charts.js';
import type { Role } from './perf.js';

export interface ScalingFamily {
  family: string;
  role: Role;
  /** Pairs of the many-pair mode. */
  pairs: number;
  /** Throughput (rt/s): one pair, N pairs. */
  rate1: number;
  rateN: number;
  /** Each counted round's throughput, when recorded. */
  rates1: number[];
  ratesN: number[];
  scaling: number;
  /** Extremes of the per-round scalings. */
  min?: number;
  max?: number;
  /** 95 % bootstrap interval over the rounds (3 rounds or more). */
  ci?: Interval;
}

export interface ScalingRatio {
  /** The Nexus family and the Linux one it is measured against. */
  family: string;
  baseline: string;
  /** vs-pipe, vs-posix-sem, ... */
  metric: string;
  value: number;
  min?: number;
  max?: number;
  ci?: Interval;
}

export interface ScalingFigures {
  suite: string;
  scenario: string;
  pairs: number;
  families: ScalingFamily[];
  ratios: ScalingRatio[];
}

type Metric = JobRecord['scenarios'][number]['metrics'][number];

const SPECS: readonly ScalingSpec[] = [PAIRS];
const BASELINES = new Map(SPECS.flatMap((s) => s.baselines.map((b) => [`${b.family}\0${b.metric}`, b.baseline] as const)));

export const CI_LEVEL = 0.95;
const BOOT = { resamples: 2000, seed: 1, levels: [CI_LEVEL] };
/** Fewer rounds than this: no interval. */
const MIN_ROUNDS = 3;

/** The interval of the median of per-round values (3 rounds or more). */
function interval(samples: readonly number[] | undefined): Interval | undefined {
  if (!samples || samples.length < MIN_ROUNDS) return undefined;
  const iv = bootstrapRounds(samples.length, (idx) => median(idx.map((i) => samples[i]!)), BOOT).intervals[0]!;
  return Number.isFinite(iv.lo) && Number.isFinite(iv.hi) ? iv : undefined;
}

/** One scenario's scaling figures, or undefined when it recorded no `<family>.scaling`. */
export function scalingFigures(suite: string, scenario: string, metrics: readonly Metric[]): ScalingFigures | undefined {
  const byName = new Map(metrics.map((m) => [m.name, m]));
  const families: ScalingFamily[] = [];
  for (const m of metrics) {
    const hit = /^([^.]+)\.scaling$/.exec(m.name);
    if (!hit || m.unit !== 'x') continue;
    const family = hit[1]!;
    const rates = metrics
      .map((r) => ({ r, k: new RegExp(`^${family.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.rate-(\\d+)pairs?$`).exec(r.name) }))
      .filter((x) => x.k !== null)
      .map((x) => ({ pairs: Number(x.k![1]), m: x.r }))
      .sort((a, b) => a.pairs - b.pairs);
    const one = rates.find((r) => r.pairs === 1);
    const many = rates[rates.length - 1];
    if (!one || !many || many.pairs < 2) continue;
    const min = byName.get(`${m.name}.min`);
    const max = byName.get(`${m.name}.max`);
    const ci = interval(m.samples);
    families.push({
      family, role: 'other', pairs: many.pairs, rate1: one.m.value, rateN: many.m.value,
      rates1: one.m.samples ?? [], ratesN: many.m.samples ?? [], scaling: m.value,
      ...(min ? { min: min.value } : {}),
      ...(max ? { max: max.value } : {}),
      ...(ci ? { ci } : {}),
    });
  }
  if (families.length === 0) return undefined;
  const ratios: ScalingRatio[] = [];
  for (const m of metrics) {
    const hit = /^([^.]+)\.scaling\.(vs-[a-z0-9-]+)$/.exec(m.name);
    if (!hit || m.unit !== 'x') continue;
    const [, family, metric] = hit as unknown as [string, string, string];
    const f = families.find((x) => x.family === family);
    if (!f) continue;
    const baseline = BASELINES.get(`${family}\0${metric}`) ?? metric.slice(3);
    const ci = interval(m.samples);
    const min = byName.get(`${m.name}.min`);
    const max = byName.get(`${m.name}.max`);
    ratios.push({
      family, baseline, metric, value: m.value,
      ...(min ? { min: min.value } : {}),
      ...(max ? { max: max.value } : {}),
      ...(ci ? { ci } : {}),
    });
  }
  for (const f of families) {
    if (ratios.some((r) => r.family === f.family)) f.role = 'nexus';
    else if (ratios.some((r) => r.baseline === f.family)) f.role = 'linux';
  }
  return { suite, scenario, pairs: Math.max(...families.map((f) => f.pairs)), families, ratios };
}

/** Every scaling scenario of a job, in the order they ran. */
export function jobScalingFigures(job: JobRecord): ScalingFigures[] {
  return job.scenarios.flatMap((s) => scalingFigures(s.suite, s.name, s.metrics) ?? []);
}

// ---------------------------------------------------------------- charts

const ROLE: Record<Role, string> = { nexus: 'Nexus', linux: 'Linux', other: '' };
const named = (f: ScalingFamily) => (ROLE[f.role] ? `${f.family} (${ROLE[f.role]})` : f.family);
const rt = (v: number) => `${Math.round(v).toLocaleString('en-US')} rt/s`;
const range = (xs: readonly number[]): [number, number] | undefined => (xs.length > 1 ? [Math.min(...xs), Math.max(...xs)] : undefined);
const ciText = (ci: Interval | undefined) => (ci ? `; ${Math.round(ci.level * 100)} % CI ${fmtMetric(ci.lo)}-${fmtMetric(ci.hi)}` : '');
const pairsWord = (n: number) => (n === 1 ? '1 pair' : `${n} pairs`);

export function throughputChart(f: ScalingFigures): string {
  const bars: Bar[] = f.families.flatMap((x) =>
    ([[1, x.rate1, x.rates1], [x.pairs, x.rateN, x.ratesN]] as const).map(([n, v, xs]) => {
      const w = range(xs);
      return {
        label: `${named(x)}, ${pairsWord(n)}`,
        value: v,
        ...(w ? { whisker: w } : {}),
        cls: x.role,
        text: `${rt(v)}${w ? ` (rounds ${Math.round(w[0]).toLocaleString('en-US')}-${Math.round(w[1]).toLocaleString('en-US')})` : ''}`,
      };
    }),
  );
  return barChart({ title: `${f.suite}/${f.scenario}: throughput, median over the rounds`, bars, unit: 'round trips/s, higher is faster (whisker: per-round range)' });
}

export function scalingChart(f: ScalingFigures): string {
  const bars: Bar[] = f.families.map((x) => ({
    label: named(x),
    value: x.scaling,
    ...(x.min !== undefined && x.max !== undefined ? { whisker: [x.min, x.max] as [number, number] } : {}),
    cls: x.role,
    text: `${fmtMetric(x.scaling)}x${x.min !== undefined && x.max !== undefined ? ` (rounds ${fmtMetric(x.min)}-${fmtMetric(x.max)}${ciText(x.ci)})` : ciText(x.ci)}`,
  }));
  return barChart({
    title: `${f.suite}/${f.scenario}: ${pairsWord(f.pairs)} against 1 pair (throughput ratio)`,
    bars,
    unit: `x (${f.pairs} = the pairs share nothing, 1 = no gain; whisker: per-round range)`,
    reference: { value: f.pairs, label: `${f.pairs} = linear` },
  });
}

function ratioBar(label: string, r: ScalingRatio, withCi = true): Bar {
  const rounds = r.min !== undefined && r.max !== undefined;
  return {
    label,
    value: r.value,
    ...(rounds ? { whisker: [r.min!, r.max!] as [number, number] } : {}),
    // A scaling below Linux's is Nexus doing worse: red, as a slower time is.
    cls: r.value < 1 ? 'slower' : 'faster',
    text: `${fmtMetric(r.value)}x${withCi ? (rounds ? ` (rounds ${fmtMetric(r.min!)}-${fmtMetric(r.max!)}${ciText(r.ci)})` : ciText(r.ci)) : ''}`,
  };
}

const RATIO_UNIT = 'x (below 1: Nexus scales worse than Linux; whisker: per-round range)';

export function scalingRatioChart(f: ScalingFigures): string {
  return barChart({
    title: `${f.suite}/${f.scenario}: Nexus scaling / Linux scaling`,
    bars: f.ratios.map((r) => ratioBar(`${r.family} / ${r.baseline}`, r)),
    unit: RATIO_UNIT,
    reference: { value: 1, label: '1 = as Linux' },
  });
}

/** A job's scaling scenarios: throughput, scaling, and the ratios to Linux when there are some. */
export function scalingCharts(figures: readonly ScalingFigures[]): string {
  return figures
    .map((f) => `<div class="perf">\n${throughputChart(f)}\n${scalingChart(f)}\n${f.ratios.length > 0 ? scalingRatioChart(f) : ''}\n</div>`)
    .join('\n');
}

/**
 * Nexus scaling over Linux scaling of every job side by side, one chart per
 * scaling scenario (kernel against kernel); empty unless two jobs or more
 * have such ratios.
 */
export function scalingOverview(jobs: readonly { id: string; figures: readonly ScalingFigures[] }[]): string {
  const withRatios = jobs.filter((j) => j.figures.some((f) => f.ratios.length > 0));
  if (withRatios.length < 2) return '';
  const keys = [...new Set(withRatios.flatMap((j) => j.figures.filter((f) => f.ratios.length > 0).map((f) => `${f.suite}/${f.scenario}`)))];
  return keys.map((key) => {
    const bars = withRatios.flatMap((j) => {
      const f = j.figures.find((x) => `${x.suite}/${x.scenario}` === key);
      return (f?.ratios ?? []).map((r) => ratioBar(`${j.id}: ${r.family} / ${r.baseline}`, r, false));
    });
    return barChart({ title: `${key}: Nexus scaling / Linux scaling, every job`, bars, unit: RATIO_UNIT, reference: { value: 1, label: '1 = as Linux' } });
  }).join('\n');
}
