// Pure statistics for A/B benchmarks (nexus-lab bench): a seeded PRNG, the
// median and quantiles, a two-stage percentile bootstrap of the ratio of two
// medians over paired rounds, and the rule that says whether a ratio is a
// difference.  Nothing here reads a file or a clock: same input and seed,
// same output.

/** A generator of uniform numbers in [0, 1). */
export type Rng = () => number;

/**
 * mulberry32: a small, fast 32-bit PRNG, plenty for resampling indices, and
 * deterministic for a seed (Math.random cannot be seeded).
 */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The p-quantile (0 <= p <= 1) of sorted numbers, linearly interpolated
 * between order statistics (Hyndman and Fan's type 7, R's default).
 */
export function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) throw new Error('quantile of no numbers');
  if (!(p >= 0 && p <= 1)) throw new Error(`quantile ${p} is not in [0, 1]`);
  const h = (n - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(n - 1, lo + 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

/** The median (the mean of the two middle values for an even count). */
export function median(xs: ArrayLike<number>): number {
  if (xs.length === 0) throw new Error('median of no numbers');
  const s = Float64Array.from(xs).sort();
  return quantileSorted(s, 0.5);
}

/**
 * Samples of one benchmark on two sides, by round: `a[i]` and `b[i]` are
 * what A and B gave in round i (a round loads A and B in turn, in the same
 * guest, a few seconds apart).  Inside a round a side may have several
 * samples (the benchmark's own inner rounds); they are not independent of
 * each other (same load of the module, same moment of the host), which is
 * why the bootstrap resamples rounds first.
 */
export interface Paired {
  a: readonly (readonly number[])[];
  b: readonly (readonly number[])[];
}

/** The statistic: median of all of B's samples over median of all of A's. */
export function ratioOfMedians(p: Paired): number {
  return median(p.b.flat()) / median(p.a.flat());
}

export interface BootstrapOptions {
  /** Number of bootstrap resamples (e.g. 10,000). */
  resamples: number;
  seed: number;
  /** Confidence levels of the intervals wanted, e.g. [0.95, 0.99875]. */
  levels: readonly number[];
}

export interface Interval {
  level: number;
  lo: number;
  hi: number;
}

export interface BootstrapResult {
  /** The statistic on the data itself. */
  ratio: number;
  /** One percentile interval per level asked for, in that order. */
  intervals: Interval[];
  /** Rounds used (those where both sides have samples). */
  rounds: number;
}

/**
 * Percentile bootstrap interval of the ratio of medians B/A.
 *
 * Two stages, paired by round: each resample draws the rounds with
 * replacement (the same round index for A and B, so that a round's A and B,
 * measured back to back, stay together and the drift of the host between
 * rounds cancels as it does in the data), then, inside each drawn round,
 * each side's samples with replacement.  Resampling the rounds is what
 * carries the variation between loads of a module and moments of the host;
 * resampling inside them carries the variation of the benchmark itself.
 * Treating every inner sample as independent instead would make the
 * interval too narrow.  Rounds where a side has no sample are left out.
 *
 * The interval at level L is the (1-L)/2 and (1+L)/2 quantiles of the
 * resampled ratios.
 */
export function bootstrapRatio(p: Paired, o: BootstrapOptions): BootstrapResult {
  if (!(Number.isInteger(o.resamples) && o.resamples >= 1)) throw new Error(`resamples must be a positive integer, not ${o.resamples}`);
  for (const l of o.levels) if (!(l > 0 && l < 1)) throw new Error(`confidence level ${l} is not in (0, 1)`);
  const rounds: { a: readonly number[]; b: readonly number[] }[] = [];
  for (let i = 0; i < Math.min(p.a.length, p.b.length); i++) {
    const a = p.a[i]!;
    const b = p.b[i]!;
    if (a.length > 0 && b.length > 0) rounds.push({ a, b });
  }
  if (rounds.length === 0) throw new Error('no round has samples on both sides');
  const ratio = ratioOfMedians({ a: rounds.map((r) => r.a), b: rounds.map((r) => r.b) });
  const rng = mulberry32(o.seed);
  const pick = (n: number) => Math.min(n - 1, Math.floor(rng() * n));
  // Sizes vary from resample to resample when rounds have different counts:
  // buffers big enough for the largest round drawn every time.
  const bufA = new Float64Array(Math.max(...rounds.map((r) => r.a.length)) * rounds.length);
  const bufB = new Float64Array(Math.max(...rounds.map((r) => r.b.length)) * rounds.length);
  const stats = new Float64Array(o.resamples);
  for (let k = 0; k < o.resamples; k++) {
    let na = 0;
    let nb = 0;
    for (let j = 0; j < rounds.length; j++) {
      const r = rounds[pick(rounds.length)]!;
      for (let m = 0; m < r.a.length; m++) bufA[na++] = r.a[pick(r.a.length)]!;
      for (let m = 0; m < r.b.length; m++) bufB[nb++] = r.b[pick(r.b.length)]!;
    }
    stats[k] = medianInPlace(bufB.subarray(0, nb)) / medianInPlace(bufA.subarray(0, na));
  }
  stats.sort();
  return {
    ratio,
    intervals: o.levels.map((level) => ({
      level,
      lo: quantileSorted(stats, (1 - level) / 2),
      hi: quantileSorted(stats, (1 + level) / 2),
    })),
    rounds: rounds.length,
  };
}

/**
 * Percentile bootstrap interval of any statistic of `n` rounds, each round
 * one observation of several figures measured together (perf-scaling: one
 * pair's and two pairs' throughput, Nexus and Linux, in the same round):
 * each resample draws n round indices with replacement and hands them to
 * `stat`, so that the figures of a round stay together.  Returns the
 * statistic on the rounds themselves (0..n-1) and one interval per level.
 * Resamples where `stat` is not finite (a zero denominator) are left out.
 */
export function bootstrapRounds(
  n: number,
  stat: (rounds: readonly number[]) => number,
  o: BootstrapOptions,
): { value: number; intervals: Interval[] } {
  if (!(Number.isInteger(n) && n >= 1)) throw new Error(`rounds must be a positive integer, not ${n}`);
  if (!(Number.isInteger(o.resamples) && o.resamples >= 1)) throw new Error(`resamples must be a positive integer, not ${o.resamples}`);
  for (const l of o.levels) if (!(l > 0 && l < 1)) throw new Error(`confidence level ${l} is not in (0, 1)`);
  const rng = mulberry32(o.seed);
  const picks = new Array<number>(n);
  const stats: number[] = [];
  for (let k = 0; k < o.resamples; k++) {
    for (let j = 0; j < n; j++) picks[j] = Math.min(n - 1, Math.floor(rng() * n));
    const v = stat(picks);
    if (Number.isFinite(v)) stats.push(v);
  }
  const value = stat(Array.from({ length: n }, (_, i) => i));
  if (stats.length === 0) return { value, intervals: o.levels.map((level) => ({ level, lo: Number.NaN, hi: Number.NaN })) };
  const sorted = Float64Array.from(stats).sort();
  return {
    value,
    intervals: o.levels.map((level) => ({
      level,
      lo: quantileSorted(sorted, (1 - level) / 2),
      hi: quantileSorted(sorted, (1 + level) / 2),
    })),
  };
}

/** Median of a scratch buffer (sorts it). */
function medianInPlace(xs: Float64Array): number {
  xs.sort();
  return quantileSorted(xs, 0.5);
}

/**
 * The confidence level that keeps the family-wise error rate at 1 - level
 * over m comparisons (Bonferroni: each interval at 1 - (1-level)/m).  It
 * assumes nothing about how the comparisons depend on each other; ours are
 * correlated (one guest, one host), which makes it conservative.
 */
export function bonferroniLevel(level: number, m: number): number {
  if (!(level > 0 && level < 1)) throw new Error(`confidence level ${level} is not in (0, 1)`);
  return 1 - (1 - level) / Math.max(1, m);
}

/**
 * What an interval of B/A says, given the smallest effect that counts
 * (minEffect 0.05: 5 %, symmetric in ratio terms, 1.05 and 1/1.05):
 * - `higher` / `lower`: the whole interval lies beyond the band: a
 *   difference (B's figure is higher / lower than A's);
 * - `within`: the whole interval lies inside the band: any difference is
 *   smaller than minEffect;
 * - `unclear`: the interval straddles an edge of the band: not a
 *   difference, but not shown to be small either (more rounds would tell).
 */
export type Call = 'higher' | 'lower' | 'within' | 'unclear';

export function judge(iv: Pick<Interval, 'lo' | 'hi'>, minEffect: number): Call {
  if (!(minEffect >= 0)) throw new Error(`minimum effect ${minEffect} is negative`);
  const up = 1 + minEffect;
  const down = 1 / up;
  if (iv.lo > up) return 'higher';
  if (iv.hi < down) return 'lower';
  if (iv.lo >= down && iv.hi <= up) return 'within';
  return 'unclear';
}

/** Whether a call claims a difference. */
export function isDifference(c: Call): boolean {
  return c === 'higher' || c === 'lower';
}
