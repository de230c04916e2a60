// nexus-lab compare without a guest: two runs' records in, what changed out.
// Fixtures (test/fixtures/compare/): run-default.json is a real default run
// (6.1, TCG) trimmed to two jobs; self-ab-samples.json holds the per-round
// medians a real bench of our tree against itself measured on each side
// (real noise, no difference); the splats and slab snapshots are the
// console and leak fixtures captured from guests.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  cmdCompare, compareRuns, comparisonText, DEFAULT_COMPARE_MIN_EFFECT, improvements, loadRun, metricRoles, regressions, sampledMetrics, SEVERITY, splatKey,
  type Comparison,
} from '../../lab/compare.js';
import { detectSplats } from '../../lab/console.js';
import { foldLeaks } from '../../lab/leaks.js';
import { EventFolder, type JobRecord, type RunRecord } from '../../lab/results.js';
import { VERDICTS, type ScenarioResult } from '../../lab/verdict.js';
import { countsOf, keptCache } from '../../scenarios/lib/leaks.js';
import type { SlabSnapshot } from '../../scenarios/runner/events.js';
import { benchMetrics, type BenchResult } from '../../scenarios/perf-core/bench.js';
import { ROUND_TRIPS } from '../../scenarios/perf-core/index.js';
import { modeName, scalingMetrics, type ScaleResult } from '../../scenarios/perf-scaling/scaling.js';
import { PAIRS } from '../../scenarios/perf-scaling/index.js';
import { fixture } from '../helpers.js';

const FAST = { resamples: 2000 };
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const RUN = JSON.parse(fixture('compare', 'run-default.json')) as RunRecord;
const SELF = JSON.parse(fixture('compare', 'self-ab-samples.json')) as { unit: Record<string, string>; a: Record<string, number[]>; b: Record<string, number[]> };

function run(): RunRecord {
  return clone(RUN);
}

function job(r: RunRecord, id: string): JobRecord {
  const j = r.jobs.find((x) => x.id === id);
  if (!j) throw new Error(`no job ${id}`);
  return j;
}

const kinds = (c: Comparison) => regressions(c).map((r) => r.kind);

// ---------------------------------------------------------------- perf fixtures

const med = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};

/** A perf-core round-trips scenario as the suite records it, from per-round medians per mode (ns). */
function perfScenario(rounds: Record<string, number[]>): ScenarioResult {
  const results: BenchResult[] = Object.entries(rounds).map(([name, rm]) => ({
    name, bytes: 64, iterations: 1000 * rm.length, rounds: rm.length, warmup: 100,
    median_ns: med(rm), p99_ns: Math.max(...rm) * 1.5, mean_ns: med(rm), min_ns: Math.min(...rm) * 0.9, max_ns: Math.max(...rm) * 2,
    round_medians_ns: rm,
  }));
  return {
    suite: 'perf-core', name: 'round-trips', status: 'pass', durationMs: 7000, failures: [],
    metrics: [...benchMetrics(results, ROUND_TRIPS), { name: 'wall', value: 7000, unit: 'ms' }],
  };
}

const RT_MODES = ROUND_TRIPS.modes;
const side = (s: 'a' | 'b', scale: Partial<Record<string, number>> = {}) =>
  Object.fromEntries(RT_MODES.map((m) => [m, SELF[s][m]!.map((v) => Math.round(v * (scale[m] ?? 1)))]));

/** Two runs with one perf job each: base from A's samples, next from `next`. */
function perfRuns(next: Record<string, number[]>, base = side('a')): [RunRecord, RunRecord] {
  const mk = (rounds: Record<string, number[]>) => {
    const r = run();
    const j = clone(job(r, '6.1-cloud-quick'));
    j.id = '6.12-cloud-quick';
    j.suites = ['perf-core'];
    j.scenarios = [perfScenario(rounds)];
    j.leaks = undefined;
    r.jobs = [j];
    return r;
  };
  return [mk(base), mk(next)];
}

// ---------------------------------------------------------------- tests

test('identical runs: no change at all, no regression, the text says so', () => {
  const c = compareRuns(run(), run(), FAST);
  assert.equal(c.pairs.map((p) => [p.job, p.matchedBy]), [['6.1-cloud-quick', 'id'], ['6.1-cloud-quick-2cpu', 'id']]);
  assert.equal([c.verdicts, c.splats, c.scenarios, c.metrics, c.leaks, c.onlyInBase, c.onlyInNext], [[], [], [], [], [], [], []]);
  assert.equal(regressions(c), []);
  const t = comparisonText(c);
  assert.match(t, /REGRESSIONS \(0\):\n {2}none/);
  assert.match(t, /\nno regression$/);
});

test('severity: every verdict ranked once, pass best, build-failed worst, fail worse than skip', () => {
  assert.equal([...SEVERITY].sort(), [...VERDICTS].sort());
  assert.is(SEVERITY[0], 'pass');
  assert.is(SEVERITY[SEVERITY.length - 1], 'build-failed');
  assert.ok(SEVERITY.indexOf('fail') > SEVERITY.indexOf('skip'));
  assert.ok(SEVERITY.indexOf('kernel-splat') > SEVERITY.indexOf('timeout'));
});

test('a verdict that got worse is a regression; back again it is an improvement', () => {
  const base = run();
  const next = run();
  const j = job(next, '6.1-cloud-quick');
  j.verdict = 'timeout';
  j.reason = 'runner: no event for 600 s';
  const c = compareRuns(base, next, FAST);
  assert.equal(c.verdicts, [{
    job: '6.1-cloud-quick', base: 'pass', next: 'timeout', direction: 'worse',
    baseReason: '129 scenarios passed', nextReason: 'runner: no event for 600 s',
  }]);
  assert.equal(kinds(c), ['verdict']);
  assert.match(comparisonText(c), /6\.1-cloud-quick\s+verdict pass -> timeout \(runner: no event for 600 s\)/);
  // The other way round: better, not a regression.  The real run's 2-cpu job failed (fuzz); now it passes.
  const fixed = run();
  const f = job(fixed, '6.1-cloud-quick-2cpu');
  assert.is(f.verdict, 'fail');
  f.verdict = 'pass';
  const c2 = compareRuns(run(), fixed, FAST);
  assert.equal(c2.verdicts.map((v) => [v.base, v.next, v.direction]), [['fail', 'pass', 'better']]);
  assert.equal(regressions(c2), []);
});

test('a new splat is a regression, keyed by kind and title: the same one elsewhere in memory is not new', () => {
  const splats = detectSplats(fixture('console', 'splats-6.12.log'));
  assert.ok(splats.length >= 2, 'the fixture has splats');
  const base = run();
  const next = run();
  const j = job(next, '6.1-cloud-quick');
  j.splats = [splats[0]!];
  j.verdict = 'kernel-splat';
  const c = compareRuns(base, next, FAST);
  assert.equal(c.splats.map((s) => [s.change, s.kind, s.title]), [['new', splats[0]!.kind, splats[0]!.title]]);
  assert.equal(kinds(c), ['verdict', 'splat']);

  // Both runs have it, at other addresses, CPUs and PIDs, and a later console line: nothing new.
  const moved = { ...splats[0]!, line: splats[0]!.line + 900, title: splats[0]!.title.replace(/0x[0-9a-f]+/gi, '0xffff').replace(/\b(CPU|PID):? ?\d+/g, '$1: 7') };
  assert.is(splatKey(moved), splatKey(splats[0]!));
  const b2 = run();
  job(b2, '6.1-cloud-quick').splats = [splats[0]!];
  job(b2, '6.1-cloud-quick').verdict = 'kernel-splat';
  const n2 = run();
  job(n2, '6.1-cloud-quick').splats = [moved, moved];
  job(n2, '6.1-cloud-quick').verdict = 'kernel-splat';
  assert.equal(compareRuns(b2, n2, FAST).splats, []);
  // The same splats from another boot, of another kernel (6.1): other build
  // directory, PIDs, offsets, seconds: the same keys.  rcu stalls 6.12 did not print.
  const k612 = new Set(splats.map(splatKey));
  const k61 = new Set(detectSplats(fixture('console', 'splats-6.1.log')).filter((s) => s.kind !== 'rcu-stall').map(splatKey));
  assert.equal([...k61].sort(), [...k612].sort());
  assert.is(k612.size, 5, 'the WARN, the hung task, the soft lockup, the NULL dereference, the BUG()');
  // A splat gone is an improvement.
  const c3 = compareRuns(b2, run(), FAST);
  assert.equal(c3.splats.map((s) => s.change), ['gone']);
  assert.equal(kinds(c3), []);
});

test('a newly failing scenario is a regression (with its failure), a newly passing one is not', () => {
  const base = run();
  const next = run();
  const j = job(next, '6.1-cloud-quick');
  const s = j.scenarios.find((x) => x.suite === 'ports')!;
  s.status = 'fail';
  s.failures = [{ message: 'read_port returns the message written', expected: 64, actual: -2147454964 }];
  j.verdict = 'fail';
  const c = compareRuns(base, next, FAST);
  assert.equal(c.scenarios, [{
    job: '6.1-cloud-quick', suite: 'ports', scenario: s.name, change: 'newly-failing', base: 'pass', next: 'fail',
    reason: 'read_port returns the message written',
  }]);
  assert.equal(kinds(c), ['verdict', 'scenario']);
  // The real run's failing fuzz scenario, passing in the new run: newly passing.
  const fixed = run();
  const fz = job(fixed, '6.1-cloud-quick-2cpu').scenarios.find((x) => x.status === 'fail')!;
  fz.status = 'pass';
  const c2 = compareRuns(run(), fixed, FAST);
  assert.equal(c2.scenarios.map((x) => [x.suite, x.change, x.base, x.next]), [[fz.suite, 'newly-passing', 'fail', 'pass']]);
  assert.equal(regressions(c2), []);
});

test('perf: real noise only (our tree against itself) is no change', () => {
  const [base, next] = perfRuns(side('b'));
  const c = compareRuns(base, next, FAST);
  // 11 medians and 8 ratios to Linux carry samples.
  assert.is(c.metrics.length, 11 + 8);
  assert.equal(c.metrics.filter((m) => m.direction !== 'none').map((m) => m.metric), []);
  assert.equal(regressions(c), []);
  assert.ok(c.method.adjustedLevel > 0.997 && c.method.adjustedLevel < 0.998, `Bonferroni over 19: ${c.method.adjustedLevel}`);
});

test('perf: a port 30 % slower is a regression, in its median and in its ratios to Linux; 2 % slower is not', () => {
  const [base, next] = perfRuns(side('b', { 'port-rtt-64': 1.3 }));
  const c = compareRuns(base, next, FAST);
  const worse = c.metrics.filter((m) => m.direction === 'worse').map((m) => m.metric);
  assert.equal(worse, ['port-rtt-64.median', 'port-rtt-64.vs-pipe', 'port-rtt-64.vs-mq', 'port-rtt-64.vs-sysv-msg']);
  const m = c.metrics.find((x) => x.metric === 'port-rtt-64.median')!;
  assert.ok(m.ratio > 1.25 && m.ratio < 1.35, `ratio ${m.ratio}`);
  assert.is(m.call, 'higher');
  assert.ok(m.ciAdjusted.lo > 1 + DEFAULT_COMPARE_MIN_EFFECT);
  assert.equal(new Set(kinds(c)), new Set(['metric']));
  assert.match(comparisonText(c), /perf-core\/round-trips\/port-rtt-64\.median: 89\.8 us -> 11\d\.\d us \(x1\.3\d\d, 99\.74 % CI 1\.2\d\d-1\.3\d\d, 10\+10 samples\): worse$/m);

  const [b2, n2] = perfRuns(side('a', { 'port-rtt-64': 1.02 }));
  const c2 = compareRuns(b2, n2, FAST);
  assert.equal(regressions(c2), []);
  assert.is(c2.metrics.find((x) => x.metric === 'port-rtt-64.median')!.call, 'within');
});

test('perf: roles from the names: ratios, the Nexus modes that have them, the Linux baselines, the rest', () => {
  const roles = metricRoles(['port-rtt-64.median', 'port-rtt-64.vs-pipe', 'pipe-rtt-64.median', 'pipe-rtt-64.p99', 'wall']);
  assert.equal([...roles], [
    ['port-rtt-64.median', 'nexus'], ['port-rtt-64.vs-pipe', 'ratio'], ['pipe-rtt-64.median', 'linux'], ['pipe-rtt-64.p99', 'linux'], ['wall', 'other'],
  ]);
  // a scenario without ratios has no baselines to tell the machine by
  assert.equal([...metricRoles(['nm-burst-1000.events-per-s', 'wall']).values()], ['other', 'other']);
});

test('perf: a slower machine is not a regression: Linux baselines and the Nexus figures that moved with them are the machine\'s', () => {
  // Everything 30 % slower, as a busy host makes it (measured: timerfd x1.59
  // between two runs of one tree while another run shared the host).
  const all = Object.fromEntries(RT_MODES.map((m) => [m, 1.3]));
  const [base, next] = perfRuns(side('b', all));
  const c = compareRuns(base, next, FAST);
  assert.equal(regressions(c), []);
  assert.equal(improvements(c), []);
  const env = c.metrics.filter((m) => m.environment);
  assert.is(env.length, 11, 'the 11 medians moved; the 8 ratios did not');
  assert.ok(env.filter((m) => m.role === 'linux').every((m) => /a Linux baseline/.test(m.environment!)));
  const port = c.metrics.find((m) => m.metric === 'port-rtt-64.median')!;
  assert.is(port.direction, 'worse');
  assert.match(port.environment!, /the Linux baselines pipe-rtt-64, .* moved the same way: judged by its ratios to them/);
  for (const m of c.metrics.filter((x) => x.role === 'ratio')) assert.is(m.direction, 'none', m.metric);
  assert.match(comparisonText(c), /the machine, not Nexus \(11, not counted\):/);
  assert.match(comparisonText(c), /metrics: 19 judged: 0 worse, 0 better, 11 the machine's/);
  // Nexus slower on the slower machine: its ratios still call it
  const [b2, n2] = perfRuns(side('b', { ...all, 'port-rtt-64': 1.3 * 1.3 }));
  const c2 = compareRuns(b2, n2, FAST);
  assert.equal(regressions(c2).map((r) => r.text.split(':')[0]), [
    'perf-core/round-trips/port-rtt-64.vs-pipe', 'perf-core/round-trips/port-rtt-64.vs-mq', 'perf-core/round-trips/port-rtt-64.vs-sysv-msg',
  ]);
});

test('perf: faster beyond noise is an improvement; a rate (events/s) is better higher', () => {
  const [base, next] = perfRuns(side('b', { 'sem-pingpong': 0.6 }));
  const c = compareRuns(base, next, FAST);
  assert.equal(c.metrics.filter((m) => m.direction === 'better').map((m) => m.metric), ['sem-pingpong.median', 'sem-pingpong.vs-posix-sem', 'sem-pingpong.vs-sysv-sem']);
  assert.equal(regressions(c), []);
  // A rate that fell by half: worse.
  const rate = (vals: number[]): ScenarioResult => ({
    suite: 'perf-node-monitor', name: 'throughput', status: 'pass', durationMs: 1, failures: [],
    metrics: [{ name: 'nm-burst-1000.events-per-s', value: med(vals), unit: 'events/s', samples: vals }],
  });
  const [b3, n3] = perfRuns(side('a'));
  job(b3, '6.12-cloud-quick').scenarios = [rate([20_000, 21_000, 20_500, 19_800, 20_200])];
  job(n3, '6.12-cloud-quick').scenarios = [rate([10_000, 10_500, 10_250, 9_900, 10_100])];
  const c3 = compareRuns(b3, n3, FAST);
  assert.equal(c3.metrics.map((m) => [m.metric, m.call, m.direction]), [['nm-burst-1000.events-per-s', 'lower', 'worse']]);
});

test('perf: metrics without samples are not judged, and say so; old runs judge by their round<k> metrics', () => {
  const [base, next] = perfRuns(side('b', { 'port-rtt-64': 1.3 }));
  const strip = (r: RunRecord) => {
    for (const s of job(r, '6.12-cloud-quick').scenarios) {
      s.metrics = s.metrics.filter((m) => !/\.round\d+$/.test(m.name)).map((m) => ({ name: m.name, value: m.value, unit: m.unit }));
    }
  };
  strip(base);
  strip(next);
  const c = compareRuns(base, next, FAST);
  assert.equal(c.metrics, []);
  assert.equal(regressions(c), [], 'a 30 % slower median without samples is not called');
  const nj = c.notJudged.filter((n) => n.metric === 'port-rtt-64.median');
  assert.equal(nj.map((n) => n.reason), ['no samples']);
  assert.ok(c.notJudged.every((n) => n.reason === 'no samples'));
  assert.match(comparisonText(c), /not judged: no samples: \d+ metrics/);

  // A run from before samples: <mode>.round<k> metrics are the median's samples.
  const [b2, n2] = perfRuns(side('b', { 'port-rtt-64': 1.3 }));
  for (const r of [b2, n2]) for (const s of job(r, '6.12-cloud-quick').scenarios) for (const m of s.metrics) delete m.samples;
  const c2 = compareRuns(b2, n2, FAST);
  assert.equal(c2.metrics.filter((m) => m.direction === 'worse').map((m) => m.metric), ['port-rtt-64.median']);
  assert.is(c2.metrics.find((m) => m.metric === 'port-rtt-64.median')!.samples.base.length, 10);
  // The round<k> metrics are samples, not metrics of their own.
  assert.not.ok(sampledMetrics(job(b2, '6.12-cloud-quick').scenarios[0]!).some((m) => /\.round\d+$/.test(m.name)));
});

test('perf: too few samples, a scenario that failed, or other accelerators are not judged', () => {
  const few = Object.fromEntries(RT_MODES.map((m) => [m, SELF.a[m]!.slice(0, 2)]));
  const c = compareRuns(...perfRuns(few, few), FAST);
  assert.equal(c.metrics, []);
  assert.ok(c.notJudged.some((n) => n.metric === 'port-rtt-64.median' && /too few samples \(2 and 2/.test(n.reason)));

  const [b2, n2] = perfRuns(side('b', { 'port-rtt-64': 1.3 }));
  job(n2, '6.12-cloud-quick').scenarios[0]!.status = 'fail';
  const c2 = compareRuns(b2, n2, FAST);
  assert.equal(c2.metrics, []);
  assert.equal(kinds(c2), ['scenario'], 'the failure counts, not its figures');

  const [b3, n3] = perfRuns(side('b', { 'port-rtt-64': 3 }));
  b3.accel = { used: 'kvm', reason: 'probe booted', probeMs: 900 };
  const c3 = compareRuns(b3, n3, FAST);
  assert.equal(c3.metrics, []);
  assert.match(c3.notes.join('\n'), /accelerators differ \(kvm in base, tcg in new\)/);
});

// ---------------------------------------------------------------- leaks

const MODULES = ['nexus', 'nexus_area', 'nexus_node_monitor'];
const MEM = fixture('leaks', 'meminfo-6.12.txt');
function snap(suite: string, rep: number, repeat: number, slabText: string): SlabSnapshot {
  return {
    type: 'slab', t: rep * 1000, suite, rep, repeat,
    ...countsOf(slabText, MEM, (n) => keptCache(n, MODULES)),
    merged: {}, modules: MODULES, kmemleak: false,
  };
}
const clean = (r: number) => fixture('leaks', `slabinfo-6.12-clean-round${r}.txt`);
const planted = (r: number) => fixture('leaks', `slabinfo-6.12-planted-round${r}.txt`);

test('leaks: a suite the rule said "no leak" of and now "LEAK" is a regression (real planted-leak snapshots)', () => {
  const base = run();
  const next = run();
  job(base, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, clean(r))));
  job(next, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, planted(r))));
  const c = compareRuns(base, next, FAST);
  assert.ok(c.leaks.length >= 1);
  const l = c.leaks.find((x) => x.kind === 'newly-leaking' && x.signal === 'kmalloc-256');
  assert.ok(l, JSON.stringify(c.leaks));
  assert.match(l!.detail, /rule said "no leak" in base, LEAK now/);
  assert.ok(l!.next > 1000, `grew ${l!.next} objects per round`);
  assert.ok(kinds(c).every((k) => k === 'leak'));
  assert.match(comparisonText(c), /leaks in ports: kmalloc-256/);
  // Clean against clean: nothing.
  const same = run();
  job(same, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, clean(r))));
  assert.equal(compareRuns(base, same, FAST).leaks, []);
});

test('leaks: a leak that got bigger is a regression; one round each (the default run) is not compared, its noise is far beyond the floor', () => {
  // Base already leaks 100 objects a round in kmalloc-256; the new tree leaks a port's worth (the planted 4208).
  const small = (r: number) => {
    const s = snap('ports', r, 2, clean(r));
    return { ...s, objects: { ...s.objects, 'kmalloc-256': (s.objects['kmalloc-256'] ?? 0) + 100 * r } };
  };
  const base = run();
  const next = run();
  job(base, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map(small));
  job(next, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, planted(r))));
  assert.equal(job(base, '6.1-cloud-quick').leaks!.suites[0]!.leaking.map((g) => g.signal), ['kmalloc-256']);
  const c = compareRuns(base, next, FAST);
  const grew = c.leaks.filter((l) => l.signal === 'kmalloc-256');
  assert.equal(grew.map((l) => [l.kind, l.base, l.basis]), [['grew', 100, 'per round after round 1 (least)']]);
  assert.ok(grew[0]!.next > 1000);
  assert.ok(kinds(c).includes('leak'));
  // The same leak growing by less than the floor more than before: not a change.
  const alike = run();
  job(alike, '6.1-cloud-quick').leaks = foldLeaks([0, 1, 2].map((r) => {
    const s = small(r);
    return { ...s, objects: { ...s.objects, 'kmalloc-256': s.objects['kmalloc-256']! + 10 * r } };
  }));
  assert.equal(compareRuns(base, alike, FAST).leaks, []);

  // One round each: the real run's 8 suites against the planted leak's round 1: not compared, and said so.
  const one = run();
  job(one, '6.1-cloud-quick').leaks = foldLeaks([0, 1].map((r) => snap('ports', r, 1, clean(r))));
  const oneP = run();
  job(oneP, '6.1-cloud-quick').leaks = foldLeaks([0, 1].map((r) => snap('ports', r, 1, planted(r))));
  const c2 = compareRuns(one, oneP, FAST);
  assert.equal(c2.leaks, []);
  assert.equal(c2.leaksNotJudged.filter((n) => n.job === '6.1-cloud-quick').map((n) => n.suite), ['ports']);
  assert.match(comparisonText(c2), /leaks: growth of 5 suites not compared \(one round, warm-up only/);
  const same = compareRuns(run(), run(), FAST);
  assert.is(same.leaksNotJudged.length, 8 + 4, 'the fixture run\'s suites (8 and 4 in its two jobs) ran one round');
  assert.equal(same.leaks, []);
});

// ---------------------------------------------------------------- jobs

test('jobs only in one run are listed, not regressions; a renamed job is matched by kernel, profile and suites', () => {
  const next = run();
  next.jobs = next.jobs.filter((j) => j.id !== '6.1-cloud-quick-2cpu');
  const c = compareRuns(run(), next, FAST);
  assert.equal(c.onlyInBase.map((j) => [j.job, j.verdict]), [['6.1-cloud-quick-2cpu', 'fail']]);
  assert.equal(regressions(c), []);
  assert.match(comparisonText(c), /only in base: 6\.1-cloud-quick-2cpu \(fail\)/);

  const renamed = run();
  job(renamed, '6.1-cloud-quick').id = '6.1-cloud-quick-shard1';
  const c2 = compareRuns(run(), renamed, FAST);
  assert.equal(c2.pairs.map((p) => [p.job, p.baseJob, p.matchedBy]), [
    ['6.1-cloud-quick-2cpu', '6.1-cloud-quick-2cpu', 'id'],
    ['6.1-cloud-quick-shard1', '6.1-cloud-quick', 'kernel+profile+suites'],
  ]);
  assert.equal(c2.onlyInBase, []);
});

// ---------------------------------------------------------------- the folder keeps samples

test('the event folder keeps a metric\'s samples (at most 64) into run.json', () => {
  const f = new EventFolder();
  f.add({ type: 'scenario-start', t: 0, suite: 'perf-core', scenario: 'round-trips' });
  f.add({ type: 'metric', t: 1, suite: 'perf-core', scenario: 'round-trips', name: 'a.median', value: 3, unit: 'ns', samples: [1, 2, 3, 4, 5] });
  f.add({ type: 'metric', t: 1, suite: 'perf-core', scenario: 'round-trips', name: 'b.median', value: 3, unit: 'ns', samples: Array.from({ length: 70 }, (_, i) => i) });
  f.add({ type: 'metric', t: 1, suite: 'perf-core', scenario: 'round-trips', name: 'wall', value: 3, unit: 'ms' });
  f.add({ type: 'scenario-end', t: 2, suite: 'perf-core', scenario: 'round-trips', status: 'pass', durationMs: 2 });
  const m = f.scenarios[0]!.metrics;
  assert.equal(m[0], { name: 'a.median', value: 3, unit: 'ns', samples: [1, 2, 3, 4, 5] });
  assert.is(m[1]!.samples!.length, 64);
  assert.equal(m[2], { name: 'wall', value: 3, unit: 'ms' });
});

// ---------------------------------------------------------------- the command

async function capture(fn: () => Promise<number>): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const w1 = process.stdout.write.bind(process.stdout);
  const w2 = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    return { code: await fn(), out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = w1;
    process.stderr.write = w2;
  }
}

test('nexus-lab compare: 0 for identical runs, 1 on a regression, 2 on bad usage; run dirs, run.json and results/latest', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'compare-test-'));
  try {
    const put = (name: string, r: unknown) => {
      mkdirSync(join(dir, name));
      writeFileSync(join(dir, name, 'run.json'), JSON.stringify(r));
      return join(dir, name);
    };
    const a = put('20261201-000000-aaaa', run());
    const [pb, pn] = perfRuns(side('b', { 'port-rtt-64': 1.3 }));
    const slowBase = put('20261201-000001-bbbb', pb);
    const slow = put('20261201-000002-cccc', pn);
    symlinkSync('20261201-000002-cccc', join(dir, 'latest'));

    let r = await capture(() => cmdCompare([a, join(a, 'run.json')]));
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /no regression/);

    r = await capture(() => cmdCompare([slowBase, join(dir, 'latest')]));
    assert.is(r.code, 1, r.err);
    assert.match(r.out, /REGRESSIONS \(4\)/);

    r = await capture(() => cmdCompare(['--json', slowBase, slow]));
    assert.is(r.code, 1);
    const parsed = JSON.parse(r.out) as Comparison;
    assert.is(parsed.next.runId, pn.runId);
    assert.is(parsed.metrics.filter((m) => m.direction === 'worse').length, 4);

    writeFileSync(join(dir, 'junk.json'), '{"schema":1,"kind":"bench","runId":"x"}');
    for (const argv of [[a], [a, join(dir, 'nope')], [a, join(dir, 'junk.json')], [a, dir], ['--min-effect', 'x', a, a], ['--bogus', a, a]]) {
      r = await capture(() => cmdCompare(argv));
      assert.is(r.code, 2, `${argv.join(' ')}: ${r.out}`);
      assert.match(r.err, /nexus-lab compare: /);
    }
    r = await capture(() => cmdCompare([a, join(dir, 'nope')]));
    assert.match(r.err, /nope: no such file or directory/);
    r = await capture(() => cmdCompare([a, join(dir, 'junk.json')]));
    assert.match(r.err, /not a run \(a bench\.json/);

    r = await capture(() => cmdCompare(['--help']));
    assert.is(r.code, 0);
    assert.match(r.out, /Exit status: 0 when nothing regressed, 1 on any regression/);
    assert.is((await loadRun(join(dir, 'latest'))).runId, pn.runId);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('perf-scaling: rates and scalings are better higher; Nexus families are those with a scaling ratio to Linux', () => {
  const roles = metricRoles([
    'port.rate-1pair', 'port.scaling', 'port.scaling.vs-pipe', 'port.scaling.vs-pipe.min', 'pipe.rate-2pairs', 'pipe.scaling', 'wall',
  ]);
  assert.equal([...roles], [
    ['port.rate-1pair', 'nexus'], ['port.scaling', 'nexus'], ['port.scaling.vs-pipe', 'ratio'], ['port.scaling.vs-pipe.min', 'ratio'],
    ['pipe.rate-2pairs', 'linux'], ['pipe.scaling', 'linux'], ['wall', 'other'],
  ]);

  /** A scaling scenario from each family's per-round 1-pair and 2-pair round trips (a 1 s window). */
  const scenario = (rt: Record<string, [number[], number[]]>): ScenarioResult => {
    const results: ScaleResult[] = Object.entries(rt).flatMap(([f, [one, many]]) => [1, 2].map((n) => ({
      name: modeName(f, n), kind: f, pairs: n, bytes: 0, pinned: 1, rounds: one.length, warmup: 100, window_ns: 1e9,
      round_trips: (n === 1 ? one : many).map((v) => (n === 1 ? [v] : [v / 2, v / 2])),
      late_ns: one.map(() => Array.from({ length: n }, () => 1000)),
    })));
    return { suite: 'perf-scaling', name: 'pinned', status: 'pass', durationMs: 1, failures: [], metrics: scalingMetrics(results, PAIRS) };
  };
  const noise = [1, 1.02, 0.98, 1.01, 0.99, 1];
  const fam = (one: number, scaling: number, k = 1): [number[], number[]] => [
    noise.map((x) => Math.round(one * k * x)), noise.map((x, i) => Math.round(one * k * scaling * noise[(i + 3) % 6]! * x)),
  ];
  const runs = (base: Record<string, [number[], number[]]>, next: Record<string, [number[], number[]]>) => {
    const [b, n] = perfRuns(side('a'));
    job(b, '6.12-cloud-quick').scenarios = [scenario(base)];
    job(n, '6.12-cloud-quick').scenarios = [scenario(next)];
    return compareRuns(b, n, FAST);
  };
  const healthy = { port: fam(10_000, 1.9), pipe: fam(20_000, 1.9), sem: fam(12_000, 1.9), 'posix-sem': fam(16_000, 1.95), 'sysv-sem': fam(10_000, 1.9) };
  // Ports stop scaling (a global lock): their scaling and its ratio to pipes are worse, one pair's rate is not.
  const locked = { ...healthy, port: fam(10_000, 1.1) };
  const c = runs(healthy, locked);
  assert.equal(regressions(c).map((r) => r.text.split(':')[0]), [
    'perf-scaling/pinned/port.rate-2pairs', 'perf-scaling/pinned/port.scaling', 'perf-scaling/pinned/port.scaling.vs-pipe',
  ]);
  assert.ok(c.metrics.filter((m) => /scaling/.test(m.metric)).every((m) => m.higherIsBetter));
  // Back again: improvements, no regression.
  const back = runs(locked, healthy);
  assert.equal(regressions(back), []);
  assert.ok(improvements(back).some((r) => r.text.startsWith('perf-scaling/pinned/port.scaling.vs-pipe')));
  // A busier machine halves every rate and lowers Linux's scaling as much as
  // Nexus's: the machine's, judged by the ratios, which did not move.
  const busy = Object.fromEntries(Object.entries(healthy).map(([f]) => [f, fam({ port: 10_000, pipe: 20_000, sem: 12_000, 'posix-sem': 16_000, 'sysv-sem': 10_000 }[f]!, f === 'posix-sem' ? 1.95 * 0.7 : 1.9 * 0.7, 0.5)]));
  const m = runs(healthy, busy);
  assert.equal(regressions(m), []);
  assert.ok(m.metrics.find((x) => x.metric === 'port.scaling')!.environment);
  assert.is(m.metrics.find((x) => x.metric === 'port.scaling.vs-pipe')!.direction, 'none');
});

test.run();
