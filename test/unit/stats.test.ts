// lab/stats.ts: the PRNG, quantiles, the paired two-stage bootstrap of a
// ratio of medians, the bootstrap of any statistic over rounds, Bonferroni
// and the difference rule.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  bonferroniLevel, bootstrapRatio, bootstrapRounds, isDifference, judge, median, mulberry32, quantileSorted, ratioOfMedians, type Paired,
} from '../../lab/stats.js';

const near = (a: number, b: number, eps = 1e-9) => Math.abs(a - b) <= eps;

test('mulberry32: deterministic per seed, in [0, 1), seeds differ', () => {
  const a = mulberry32(42);
  const b = mulberry32(42);
  const c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, () => a());
  const ys = Array.from({ length: 1000 }, () => b());
  const zs = Array.from({ length: 1000 }, () => c());
  assert.equal(xs, ys);
  assert.not.equal(xs, zs);
  assert.ok(xs.every((x) => x >= 0 && x < 1));
  // Roughly uniform: the mean of 1000 draws is near 0.5.
  const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
  assert.ok(Math.abs(mean - 0.5) < 0.05, String(mean));
});

test('median and quantiles (type 7)', () => {
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 3, 2]), 2.5);
  assert.is(median([7]), 7);
  assert.throws(() => median([]));
  const s = [10, 20, 30, 40, 50];
  assert.is(quantileSorted(s, 0), 10);
  assert.is(quantileSorted(s, 1), 50);
  assert.is(quantileSorted(s, 0.25), 20);
  assert.is(quantileSorted(s, 0.1), 14);
  assert.throws(() => quantileSorted(s, 1.5));
});

test('ratioOfMedians pools each side over its rounds', () => {
  const p: Paired = { a: [[100, 102], [98]], b: [[110], [112, 108]] };
  assert.is(ratioOfMedians(p), 110 / 100);
});

/** Known data: A's rounds around 100, B's around 120 (B 20 % higher), a little spread. */
const SHIFTED: Paired = {
  a: [[99, 100, 101], [100, 101, 102], [98, 99, 100], [101, 100, 99], [100, 102, 98], [99, 101, 100]],
  b: [[119, 120, 121], [120, 121, 122], [118, 119, 120], [121, 120, 119], [120, 122, 118], [119, 121, 120]],
};

test('bootstrap of known data: the ratio, intervals around it, nested by level, inside the data range', () => {
  const r = bootstrapRatio(SHIFTED, { resamples: 10_000, seed: 1, levels: [0.95, 0.999] });
  assert.is(r.ratio, 1.2);
  assert.is(r.rounds, 6);
  const [i95, i999] = r.intervals;
  assert.ok(i95!.lo <= 1.2 && 1.2 <= i95!.hi, JSON.stringify(i95));
  assert.ok(i999!.lo <= i95!.lo && i95!.hi <= i999!.hi, 'the wider level gives the wider interval');
  // The most extreme ratio the data can give: B's smallest over A's largest and back.
  assert.ok(i999!.lo >= 118 / 102 && i999!.hi <= 122 / 98, JSON.stringify(i999));
  // Tight data: the 95 % interval is within 1.5 % of the ratio.
  assert.ok(i95!.hi - i95!.lo < 0.03, JSON.stringify(i95));
  assert.is(judge(i999!, 0.05), 'higher');
  assert.ok(isDifference(judge(i999!, 0.05)));
});

test('bootstrap of a hand-checkable case: one sample per round, every round the same ratio', () => {
  // Each resample draws the same index for A and B... but of different
  // values per round; with a constant per-round ratio only that ratio can
  // come out when A's and B's medians fall on the same round, and the
  // interval must still contain it.
  const p: Paired = { a: [[10], [20], [30]], b: [[15], [30], [45]] };
  const r = bootstrapRatio(p, { resamples: 5000, seed: 3, levels: [0.95] });
  assert.is(r.ratio, 1.5);
  // Paired resampling of rounds: the median of A and of B come from the same
  // drawn multiset of rounds, so every resampled ratio is exactly 1.5.
  assert.ok(near(r.intervals[0]!.lo, 1.5) && near(r.intervals[0]!.hi, 1.5), JSON.stringify(r.intervals));
});

test('identical samples on both sides: ratio 1 and no difference', () => {
  const a = SHIFTED.a;
  const r = bootstrapRatio({ a, b: a }, { resamples: 10_000, seed: 7, levels: [0.95] });
  assert.is(r.ratio, 1);
  const iv = r.intervals[0]!;
  assert.ok(iv.lo <= 1 && iv.hi >= 1, JSON.stringify(iv));
  assert.is(judge(iv, 0.05), 'within');
  assert.not.ok(isDifference(judge(iv, 0.05)));
});

test('same distribution, different draws: no difference once adjusted for many metrics', () => {
  // 40 metrics, both sides drawn from the same noisy distribution (3 %
  // spread between rounds, 1 % inside): none may be called a difference.
  const rng = mulberry32(2024);
  const gauss = () => {
    const u = Math.max(rng(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng());
  };
  const side = () =>
    Array.from({ length: 6 }, () => {
      const level = 1000 * (1 + 0.03 * gauss());
      return Array.from({ length: 5 }, () => level * (1 + 0.01 * gauss()));
    });
  const level = bonferroniLevel(0.95, 40);
  for (let m = 0; m < 40; m++) {
    const r = bootstrapRatio({ a: side(), b: side() }, { resamples: 2000, seed: m, levels: [level] });
    assert.not.ok(isDifference(judge(r.intervals[0]!, 0.05)), `metric ${m}: ${JSON.stringify(r)}`);
  }
});

test('clearly shifted samples are a difference, both ways', () => {
  const up = bootstrapRatio(SHIFTED, { resamples: 10_000, seed: 1, levels: [bonferroniLevel(0.95, 40)] });
  assert.is(judge(up.intervals[0]!, 0.05), 'higher');
  const down = bootstrapRatio({ a: SHIFTED.b, b: SHIFTED.a }, { resamples: 10_000, seed: 1, levels: [bonferroniLevel(0.95, 40)] });
  assert.ok(near(down.ratio, 1 / 1.2));
  assert.is(judge(down.intervals[0]!, 0.05), 'lower');
});

test('deterministic with a seed; another seed moves the interval only a little', () => {
  const o = { resamples: 10_000, seed: 99, levels: [0.95] };
  const noisy: Paired = { a: [[100, 90], [110, 95], [105, 99], [97, 103]], b: [[101, 94], [108, 92], [100, 104], [99, 107]] };
  assert.equal(bootstrapRatio(noisy, o), bootstrapRatio(noisy, o));
  const other = bootstrapRatio(noisy, { ...o, seed: 100 });
  const base = bootstrapRatio(noisy, o);
  assert.ok(Math.abs(other.intervals[0]!.lo - base.intervals[0]!.lo) < 0.02);
});

test('rounds missing a side are left out; no usable round is an error', () => {
  const r = bootstrapRatio({ a: [[100], [], [100]], b: [[110], [500], [110]] }, { resamples: 100, seed: 1, levels: [0.9] });
  assert.is(r.rounds, 2);
  assert.ok(near(r.ratio, 1.1));
  assert.throws(() => bootstrapRatio({ a: [[]], b: [[1]] }, { resamples: 10, seed: 1, levels: [0.9] }), /no round/);
  assert.throws(() => bootstrapRatio(SHIFTED, { resamples: 0, seed: 1, levels: [0.9] }), /resamples/);
  assert.throws(() => bootstrapRatio(SHIFTED, { resamples: 10, seed: 1, levels: [1] }), /level/);
});

test('bonferroniLevel', () => {
  assert.ok(near(bonferroniLevel(0.95, 1), 0.95));
  assert.ok(near(bonferroniLevel(0.95, 40), 1 - 0.05 / 40));
  assert.ok(near(bonferroniLevel(0.95, 0), 0.95));
});

test('judge: the whole interval must clear the band to be a difference', () => {
  assert.is(judge({ lo: 1.06, hi: 1.2 }, 0.05), 'higher');
  assert.is(judge({ lo: 0.8, hi: 0.94 }, 0.05), 'lower');
  assert.is(judge({ lo: 0.97, hi: 1.03 }, 0.05), 'within');
  assert.is(judge({ lo: 1.01, hi: 1.2 }, 0.05), 'unclear');
  assert.is(judge({ lo: 0.9, hi: 1.1 }, 0.05), 'unclear');
  // Symmetric in ratio terms: 1/1.05 is the lower edge.
  assert.is(judge({ lo: 0.9, hi: 1 / 1.05 - 1e-6 }, 0.05), 'lower');
  assert.is(judge({ lo: 1 / 1.05, hi: 1.05 }, 0.05), 'within');
  // Without a band, any interval that excludes 1 is a difference.
  assert.is(judge({ lo: 1.001, hi: 1.002 }, 0), 'higher');
});

test('bootstrapRounds: the statistic on every round, an interval over resampled rounds that keep their figures together', () => {
  // Two figures per round that move together: their ratio is 2 in every round.
  const a = [10, 20, 30, 40, 50, 60];
  const b = a.map((x) => 2 * x);
  const ofRounds = (xs: number[], idx: readonly number[]) => median(idx.map((i) => xs[i]!));
  const o = { resamples: 2000, seed: 1, levels: [0.95, 0.5] };
  const r = bootstrapRounds(6, (idx) => ofRounds(b, idx) / ofRounds(a, idx), o);
  assert.is(r.value, 2);
  assert.equal(r.intervals.map((iv) => [iv.level, iv.lo, iv.hi]), [[0.95, 2, 2], [0.5, 2, 2]], 'paired: no spread at all');
  // Noisy ratios: the interval holds the value, nested by level, and is deterministic per seed.
  const c = [1.8, 2.1, 1.9, 2.3, 2.0, 1.7];
  const s = bootstrapRounds(6, (idx) => ofRounds(c, idx), o);
  const wide = s.intervals[0]!;
  const narrow = s.intervals[1]!;
  assert.ok(wide.lo <= narrow.lo && narrow.lo <= s.value && s.value <= narrow.hi && narrow.hi <= wide.hi);
  assert.ok(wide.lo >= 1.7 && wide.hi <= 2.3, 'inside the data');
  assert.equal(bootstrapRounds(6, (idx) => ofRounds(c, idx), o), s);
  // A statistic that is never finite gives no interval; bad arguments throw.
  assert.ok(Number.isNaN(bootstrapRounds(3, () => Number.NaN, o).intervals[0]!.lo));
  assert.throws(() => bootstrapRounds(0, () => 1, o), /rounds must be a positive integer/);
  assert.throws(() => bootstrapRounds(3, () => 1, { ...o, levels: [1] }), /not in \(0, 1\)/);
});

test.run();
