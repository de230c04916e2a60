// The pure half of perf-scaling: what nexus-bench-scale prints, how it is
// checked, and which metrics come out of it.  The timing happens in C
// (scenarios/native/nexus-bench-scale.c, whose header describes the output);
// nothing here measures anything.
//
// A family (port, pipe, sem, posix-sem, sysv-sem) runs as one ping-pong pair
// alone (`<family>-1pair`) and as N independent pairs at once
// (`<family>-<N>pairs`, each pair on its own objects); a round's throughput
// is the round trips every pair completed in the common window, per second.
// The figure that matters is the SCALING, N pairs' throughput over one
// pair's: about N when the pairs share nothing (each keeps about one CPU
// busy), less when they contend somewhere.  Linux's own scaling on the same
// guest says what the machine allows; a Nexus family's scaling over its
// Linux baseline's is the answer (1: scales as Linux does).
import { MAX_SAMPLES, ratio, type MetricOut } from '../perf-core/bench.js';

/** One JSON line of nexus-bench-scale: a mode's rounds. */
export interface ScaleResult {
  name: string;
  kind: string;
  pairs: number;
  bytes: number;
  /** 1 when each pair was pinned to a CPU of its own. */
  pinned: number;
  rounds: number;
  warmup: number;
  window_ns: number;
  /** Per round, per pair: round trips completed inside the window. */
  round_trips: number[][];
  /** Per round, per pair: how long after the window opened it started. */
  late_ns: number[][];
}

/** A Nexus family's scaling against a Linux family's: `<family>.scaling.<metric>`. */
export interface ScalingBaseline {
  family: string;
  baseline: string;
  metric: string;
}

/** What one scenario runs and how its results are read. */
export interface ScalingSpec {
  /** Families, in the order the driver is asked for them. */
  families: readonly string[];
  /** Pairs of the many-pair mode. */
  pairs: number;
  baselines: readonly ScalingBaseline[];
}

/** The driver's name of a family's mode with `pairs` pairs. */
export function modeName(family: string, pairs: number): string {
  return pairs === 1 ? `${family}-1pair` : `${family}-${pairs}pairs`;
}

/** Every mode of a spec, in the driver's order: each family alone, then N pairs. */
export function scalingModes(spec: ScalingSpec): string[] {
  return spec.families.flatMap((f) => [modeName(f, 1), modeName(f, spec.pairs)]);
}

const NUMBERS = ['pairs', 'bytes', 'pinned', 'rounds', 'warmup', 'window_ns'] as const;

function isMatrix(v: unknown): v is number[][] {
  return Array.isArray(v) && v.every((row) => Array.isArray(row) && row.every((x) => typeof x === 'number' && Number.isFinite(x)));
}

/** Parse the driver's stdout: one JSON object per non-empty line; anything else throws. */
export function parseScaleOutput(stdout: string, program = 'nexus-bench-scale'): ScaleResult[] {
  const out: ScaleResult[] = [];
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    let v: unknown;
    try {
      v = JSON.parse(line);
    } catch {
      throw new Error(`${program} printed a line that is not JSON: ${JSON.stringify(line)}`);
    }
    const o = v as Record<string, unknown>;
    if (typeof o !== 'object' || o === null || typeof o.name !== 'string' || typeof o.kind !== 'string')
      throw new Error(`${program} printed a line without a mode name and kind: ${line}`);
    for (const k of NUMBERS) {
      if (typeof o[k] !== 'number' || !Number.isFinite(o[k])) throw new Error(`${program}: ${o.name}: "${k}" is not a number: ${line}`);
    }
    for (const k of ['round_trips', 'late_ns'] as const) {
      if (!isMatrix(o[k])) throw new Error(`${program}: ${o.name}: "${k}" is not a list of lists of numbers: ${line}`);
    }
    out.push(o as unknown as ScaleResult);
  }
  return out;
}

/**
 * What is wrong with a result, as messages (empty = sane): the rounds asked
 * for, one count and one start per pair in every round, no pair started
 * before its window opened.  No thresholds on the throughput itself: a slow
 * run is not a failure, nor is a pair the host starved (one that made no
 * round trip in a window, or started after it closed: counted by
 * countedRounds).  That every ping was echoed the driver checks itself.
 */
export function scaleProblems(r: ScaleResult, rounds: number, pairs: number): string[] {
  const p: string[] = [];
  const n = r.name;
  if (r.rounds !== rounds) p.push(`${n}: ${r.rounds} rounds, asked for ${rounds}`);
  if (r.pairs !== pairs) p.push(`${n}: ${r.pairs} pairs, expected ${pairs}`);
  if (!(r.window_ns > 0)) p.push(`${n}: a window of ${r.window_ns} ns`);
  for (const [key, rows] of [['round_trips', r.round_trips], ['late_ns', r.late_ns]] as const) {
    if (rows.length !== r.rounds) p.push(`${n}: ${rows.length} rounds of ${key} for ${r.rounds} rounds`);
    rows.forEach((row, k) => {
      if (row.length !== r.pairs) p.push(`${n}: round ${k + 1}: ${row.length} pairs in ${key}, expected ${r.pairs}`);
    });
  }
  r.round_trips.forEach((row, k) => {
    row.forEach((c, j) => {
      if (c < 0 || !Number.isInteger(c)) p.push(`${n}: round ${k + 1}: pair ${j + 1} completed ${c} round trips`);
    });
  });
  r.late_ns.forEach((row, k) => {
    row.forEach((l, j) => {
      if (l < 0) p.push(`${n}: round ${k + 1}: pair ${j + 1} started ${-l} ns before its window`);
    });
  });
  return p;
}

/**
 * How late a pair may start, as a share of the window, for the window to
 * count: a pair the host ran late (or not at all) leaves the window to the
 * others, and its figure says nothing about the pairs meeting.  Measured on
 * a host loaded by two kernel compiles: pairs started up to 130 ms late.
 */
export const MAX_LATE = 0.1;

/** Whether each round's window counts: every pair started within MAX_LATE of it and made round trips. */
export function countedRounds(r: ScaleResult): boolean[] {
  return r.round_trips.map((row, k) => {
    const late = r.late_ns[k] ?? [];
    return row.length > 0 && row.every((c) => c > 0) && late.length === row.length && late.every((l) => l <= MAX_LATE * r.window_ns);
  });
}

/** Windows left out (countedRounds): a figure of how busy the host was, not a failure. */
export function leftOutWindows(results: readonly ScaleResult[]): number {
  return results.reduce((n, r) => n + countedRounds(r).filter((ok) => !ok).length, 0);
}

/** The median (mean of the middle two for an even count); 0 for none. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const h = s.length >> 1;
  return s.length % 2 === 1 ? s[h]! : (s[h - 1]! + s[h]!) / 2;
}

/** Each round's throughput: every pair's round trips in the window, per second (whole numbers). */
export function roundRates(r: ScaleResult): number[] {
  return r.round_trips.map((row) => Math.round((row.reduce((a, b) => a + b, 0) * 1e9) / r.window_ns));
}

/** Each round's balance between the pairs: the fewest round trips of a pair over the most (1: even). */
export function roundBalance(r: ScaleResult): number[] {
  return r.round_trips.map((row) => (row.length === 0 || !(Math.max(...row) > 0) ? 0 : ratio(Math.min(...row), Math.max(...row))));
}

/** A family's figures over the rounds in which both its windows counted. */
export interface FamilyFigures {
  family: string;
  /** The rounds counted (0-based). */
  rounds: number[];
  /** Their throughput: one pair, N pairs (rt/s). */
  rates1: number[];
  ratesN: number[];
  /** Each counted round's N-pair rate over its 1-pair rate (3 decimals). */
  perRound: number[];
  /** The median of perRound (0 when no round counted). */
  scaling: number;
  /** The N-pair windows' balance, per counted round. */
  balance: number[];
}

export function familyFigures(results: readonly ScaleResult[], family: string, pairs: number): FamilyFigures | undefined {
  const one = results.find((r) => r.name === modeName(family, 1));
  const many = results.find((r) => r.name === modeName(family, pairs));
  if (!one || !many) return undefined;
  const ok1 = countedRounds(one);
  const okN = countedRounds(many);
  const rounds = ok1.flatMap((ok, k) => (ok && okN[k] ? [k] : []));
  const all1 = roundRates(one);
  const allN = roundRates(many);
  const bal = roundBalance(many);
  const rates1 = rounds.map((k) => all1[k]!);
  const ratesN = rounds.map((k) => allN[k]!);
  const perRound = rounds.map((k) => ratio(allN[k]!, all1[k]!));
  return { family, rounds, rates1, ratesN, perRound, scaling: ratio(median(perRound), 1), balance: rounds.map((k) => bal[k]!) };
}

/** One family's scaling over another's, in each round both counted, and the median of those. */
export function scalingRatio(f: FamilyFigures, base: FamilyFigures): { value: number; perRound: number[] } {
  const perRound = f.rounds.flatMap((k, i) => {
    const j = base.rounds.indexOf(k);
    return j < 0 ? [] : [ratio(f.perRound[i]!, base.perRound[j]!)];
  });
  return { value: ratio(median(perRound), 1), perRound };
}

const us1 = (ns: number) => Math.round(ns / 100) / 10;

/**
 * The metrics of a run, per family (N = spec.pairs):
 * - `<family>.rate-1pair`, `<family>.rate-<N>pairs`: round trips per second
 *   (unit rt/s, higher is faster), the median over the counted rounds (those
 *   where both windows of the family counted: countedRounds), each round's
 *   rate as the samples;
 * - `<family>.scaling`: each round's N-pair rate over its 1-pair rate (the
 *   two windows ran back to back: the pairing cancels the host's drift),
 *   their median (x; about N when the pairs share nothing), the per-round
 *   ratios as the samples, and with several rounds `.min` and `.max`;
 * - `<family>.balance-<N>pairs`: the median over the rounds of the fewest
 *   round trips of a pair over the most (1: the pairs got even shares);
 * then per baseline `<family>.scaling.<metric>` (x): in each round both
 * families counted, the family's scaling over the baseline's, their median
 * (1: scales as Linux does, below: worse), the per-round values as the
 * samples, and `.min`/`.max`; then `start-late.max` (us), the latest any
 * pair started after its window opened, and `windows.left-out`, the
 * windows that did not count (a host too busy to run a pair in time).
 * A family without a counted round has no figures.
 */
export function scalingMetrics(results: readonly ScaleResult[], spec: ScalingSpec): MetricOut[] {
  const out: MetricOut[] = [];
  const fams = new Map<string, FamilyFigures>();
  const sampled = (name: string, value: number, unit: string, samples: number[]): MetricOut =>
    samples.length > 0 ? { name, value, unit, samples: samples.slice(0, MAX_SAMPLES) } : { name, value, unit };
  const range = (name: string, per: number[]) => {
    if (per.length < 2) return;
    out.push({ name: `${name}.min`, value: Math.min(...per), unit: 'x' }, { name: `${name}.max`, value: Math.max(...per), unit: 'x' });
  };
  for (const family of spec.families) {
    const f = familyFigures(results, family, spec.pairs);
    if (!f || f.rounds.length === 0) continue;
    fams.set(family, f);
    out.push(sampled(`${family}.rate-1pair`, Math.round(median(f.rates1)), 'rt/s', f.rates1));
    out.push(sampled(`${family}.rate-${spec.pairs}pairs`, Math.round(median(f.ratesN)), 'rt/s', f.ratesN));
    out.push(sampled(`${family}.scaling`, f.scaling, 'x', f.perRound));
    range(`${family}.scaling`, f.perRound);
    out.push({ name: `${family}.balance-${spec.pairs}pairs`, value: ratio(median(f.balance), 1), unit: 'x' });
  }
  for (const b of spec.baselines) {
    const f = fams.get(b.family);
    const base = fams.get(b.baseline);
    if (!f || !base) continue;
    const r = scalingRatio(f, base);
    if (r.perRound.length === 0) continue;
    out.push(sampled(`${b.family}.scaling.${b.metric}`, r.value, 'x', r.perRound));
    range(`${b.family}.scaling.${b.metric}`, r.perRound);
  }
  const late = results.flatMap((r) => r.late_ns.flat());
  if (late.length > 0) out.push({ name: 'start-late.max', value: us1(Math.max(...late)), unit: 'us' });
  if (results.length > 0) out.push({ name: 'windows.left-out', value: leftOutWindows(results), unit: 'count' });
  return out;
}

const thousands = (n: number) => Math.round(n).toLocaleString('en-US');

/** A human table for the runner log: a row per family (n: rounds counted), then a line per baseline. */
export function scalingTable(results: readonly ScaleResult[], spec: ScalingSpec): string {
  const n = spec.pairs;
  const fams = spec.families.map((f) => familyFigures(results, f, n)).filter((f): f is FamilyFigures => f !== undefined);
  const rows = fams.map((f) => [
    f.family,
    String(f.rounds.length),
    thousands(median(f.rates1)),
    thousands(median(f.ratesN)),
    `${f.scaling}x`,
    f.perRound.length > 1 ? `${Math.min(...f.perRound)}-${Math.max(...f.perRound)}` : '',
    String(ratio(median(f.balance), 1)),
  ]);
  const header = ['family', 'n', '1 pair (rt/s)', `${n} pairs (rt/s)`, 'scaling', 'rounds', 'balance'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const lines = [header, ...rows].map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  for (const b of spec.baselines) {
    const f = fams.find((x) => x.family === b.family);
    const base = fams.find((x) => x.family === b.baseline);
    if (!f || !base) continue;
    const r = scalingRatio(f, base);
    const rg = r.perRound.length > 1 ? ` (rounds ${Math.min(...r.perRound)}-${Math.max(...r.perRound)})` : '';
    lines.push(`${b.family} scaling / ${b.baseline} scaling: ${r.value}x${rg}, ${r.perRound.length} rounds`);
  }
  const out = leftOutWindows(results);
  if (out > 0) lines.push(`${out} windows left out: a pair started more than ${MAX_LATE * 100} % of the window late, or made no round trip`);
  return lines.join('\n');
}
