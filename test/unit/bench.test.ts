// nexus-lab bench without a guest: the command line, the round schedule,
// metric events into per-round samples, the analysis and its calls, the
// table, the job's deadlines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { UsageError } from '../../lab/args.js';
import {
  abTag, analyze, BENCH_HELP, benchTable, collectSamples, countCalls, DEFAULT_ROUNDS, parseAbSuite, parseBenchArgs, schedule,
  type Method,
} from '../../lab/bench.js';
import { guestModuleFile, type AbState } from '../../lab/steps/ab.js';
import { benchTimeouts, kernelReport, planBench, resultOf } from '../../lab/steps/ab-run.js';
import type { JobRecord } from '../../lab/results.js';
import type { ScenarioResult } from '../../lab/verdict.js';
import { ROOT } from '../helpers.js';

const at = { root: ROOT, env: {} };
const METHOD: Method = { resamples: 2000, seed: 1, confidence: 0.95, minEffect: 0.05 };

function refused(argv: string[], message: RegExp): void {
  try {
    parseBenchArgs(argv, at);
  } catch (e) {
    assert.instance(e, UsageError, argv.join(' '));
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`${argv.join(' ')} was accepted`);
}

test('command line: defaults, --against required, paths resolved', () => {
  const { help, options: o } = parseBenchArgs(['--against', 'kernel'], at);
  assert.is(help, false);
  assert.is(o.sourcePath, join(ROOT, 'kernel'));
  assert.is(o.againstPath, join(process.cwd(), 'kernel'));
  assert.is(o.rounds, DEFAULT_ROUNDS);
  assert.equal(o.suites, ['perf-core', 'perf-ipc']);
  assert.equal(o.method, { resamples: 10_000, seed: 1, confidence: 0.95, minEffect: 0.05 });
  assert.is(o.kernels, undefined);
  assert.equal(o.command, ['nexus-lab', 'bench', '--against', 'kernel']);
  assert.is(parseBenchArgs(['--help'], at).help, true);
  refused([], /--against PATH \(tree B\) is required/);
});

test('command line: options and refusals', () => {
  const o = parseBenchArgs(
    ['--against', '/b', '--source', '/a', '--kernels', '6.1-cloud,6.12-cloud', '--rounds', '4', '--suites', 'perf-core',
      '--resamples', '500', '--seed', '0', '--confidence', '0.9', '--min-effect', '2.5', '--param', 'x=1'],
    at,
  ).options;
  assert.is(o.sourcePath, '/a');
  assert.is(o.againstPath, '/b');
  assert.equal(o.kernels, ['6.1-cloud', '6.12-cloud']);
  assert.is(o.rounds, 4);
  assert.equal(o.suites, ['perf-core']);
  assert.equal(o.method, { resamples: 500, seed: 0, confidence: 0.9, minEffect: 0.025 });
  assert.equal(o.params, { 'leaks.slab': '0', x: '1' });
  assert.equal(parseBenchArgs(['--against', 'b', '--param', 'leaks.slab=1'], at).options.params, { 'leaks.slab': '1' });
  refused(['--against', 'b', '--rounds', '1'], /at least 2/);
  refused(['--against', 'b', '--rounds', 'x'], /--rounds takes a positive integer/);
  refused(['--against', 'b', '--seed', '-1'], /--seed/);
  refused(['--against', 'b', '--confidence', '1'], /--confidence/);
  refused(['--against', 'b', '--min-effect', '-3'], /--min-effect/);
  refused(['--against', 'b', '--accel', 'fast'], /--accel/);
  refused(['--against', 'b', '--nope'], /nope/);
  refused(['--against', 'b', 'extra'], /extra|positional/i);
});

test('--help says which method it is', () => {
  assert.match(BENCH_HELP, /percentile bootstrap/);
  assert.match(BENCH_HELP, /Bonferroni/);
  assert.match(BENCH_HELP, /ratio of medians B\/A/);
  assert.match(BENCH_HELP, /Exit status: 0/);
});

test('schedule alternates the order per round; tags round-trip', () => {
  assert.equal(schedule(4), [['A', 'B'], ['B', 'A'], ['A', 'B'], ['B', 'A']]);
  assert.is(abTag(3, 'B'), 'r3-B');
  assert.equal(parseAbSuite('r3-B/perf-core'), { round: 3, side: 'B', suite: 'perf-core' });
  assert.equal(parseAbSuite('r12-A/perf-node-monitor'), { round: 12, side: 'A', suite: 'perf-node-monitor' });
  assert.is(parseAbSuite('perf-core'), undefined);
  assert.is(parseAbSuite('r1-C/perf-core'), undefined);
  assert.is(guestModuleFile('B', 'nexus_area'), 'B-nexus_area.ko');
});

/** A tagged scenario result with a mode's median and inner-round medians. */
function sc(round: number, side: 'A' | 'B', modes: Record<string, number[]>, status: ScenarioResult['status'] = 'pass'): ScenarioResult {
  const metrics: ScenarioResult['metrics'] = [];
  for (const [mode, rounds] of Object.entries(modes)) {
    const sorted = [...rounds].sort((a, b) => a - b);
    metrics.push({ name: `${mode}.median`, value: sorted[Math.floor(sorted.length / 2)]!, unit: 'ns' });
    metrics.push({ name: `${mode}.p99`, value: Math.max(...rounds) * 1.5, unit: 'ns' });
    // Out of order on purpose: the samples follow k.
    rounds.map((v, k) => ({ name: `${mode}.round${k + 1}`, value: v, unit: 'ns' })).reverse().forEach((m) => metrics.push(m));
  }
  metrics.push({ name: 'port-rtt-64.vs-pipe', value: 1.2, unit: 'x' }, { name: 'wall', value: 7000, unit: 'ms' });
  return { suite: `${abTag(round, side)}/perf-core`, name: 'round-trips', status, durationMs: 1, failures: [], metrics };
}

test('collectSamples: medians name the benchmarks, inner rounds are the samples, failed scenarios and untagged suites do not count', () => {
  const scenarios = [
    sc(1, 'A', { 'port-rtt-64': [100, 101, 99] }),
    sc(1, 'B', { 'port-rtt-64': [102, 100, 98] }),
    sc(2, 'B', { 'port-rtt-64': [90, 91, 92] }, 'fail'),
    sc(2, 'A', { 'port-rtt-64': [97, 98, 99] }),
    { suite: 'perf-core', name: 'round-trips', status: 'pass', durationMs: 1, failures: [], metrics: [{ name: 'port-rtt-64.median', value: 5, unit: 'ns' }] },
    {
      suite: 'r1-A/perf-node-monitor', name: 'throughput', status: 'pass', durationMs: 1, failures: [],
      metrics: [{ name: 'nm-burst-1000.median', value: 5000, unit: 'ns' }],
    },
  ] satisfies ScenarioResult[];
  const s = collectSamples(scenarios, 2);
  assert.equal(s.map((x) => x.key), ['perf-core/round-trips/port-rtt-64', 'perf-node-monitor/throughput/nm-burst-1000']);
  assert.equal(s[0]!.a, [[100, 101, 99], [97, 98, 99]]);
  assert.equal(s[0]!.b, [[102, 100, 98], []]);
  assert.is(s[0]!.unit, 'ns');
  assert.equal(s[1]!.a, [[5000], []]);
  assert.equal(s[1]!.b, [[], []]);
});

/** Deterministic noise: per-round level and inner spread. */
function noisy(seed: number) {
  let x = seed;
  return () => {
    x = (x * 1103515245 + 12345) % 2147483648;
    return x / 2147483648 - 0.5;
  };
}

function job(rounds: number, shiftB: (mode: string) => number, modes = ['port-rtt-64', 'pipe-rtt-64', 'sem-pingpong']): ScenarioResult[] {
  const r = noisy(17);
  const out: ScenarioResult[] = [];
  for (const [i, order] of schedule(rounds).entries()) {
    for (const side of order) {
      const m: Record<string, number[]> = {};
      for (const mode of modes) {
        const level = 1000 * (1 + 0.04 * r()) * (side === 'B' ? shiftB(mode) : 1);
        m[mode] = Array.from({ length: 5 }, () => level * (1 + 0.02 * r()));
      }
      out.push(sc(i + 1, side, m));
    }
  }
  return out;
}

test('analyze: the same tree twice is no difference; a 20 % slower mode is', () => {
  const same = analyze(collectSamples(job(6, () => 1), 6), METHOD);
  assert.is(same.length, 3);
  assert.ok(same.every((r) => !r.difference), JSON.stringify(same.map((r) => [r.key, r.ci, r.ciAdjusted])));
  assert.ok(same.every((r) => r.rounds === 6 && r.ratio > 0.95 && r.ratio < 1.05));
  // The adjusted interval is the wider one.
  assert.ok(same.every((r) => r.ciAdjusted.lo <= r.ci.lo && r.ci.hi <= r.ciAdjusted.hi));
  assert.ok(same.every((r) => Math.abs(r.ciAdjusted.level - (1 - 0.05 / 3)) < 1e-12));

  const slower = analyze(collectSamples(job(6, (m) => (m === 'port-rtt-64' ? 1.2 : 1)), 6), METHOD);
  const byKey = new Map(slower.map((r) => [r.mode, r]));
  assert.is(byKey.get('port-rtt-64')!.call, 'higher');
  assert.ok(byKey.get('port-rtt-64')!.difference);
  assert.not.ok(byKey.get('pipe-rtt-64')!.difference);
  assert.equal(countCalls(slower).differences, 1);

  const faster = analyze(collectSamples(job(6, (m) => (m === 'sem-pingpong' ? 0.7 : 1)), 6), METHOD);
  assert.is(faster.find((r) => r.mode === 'sem-pingpong')!.call, 'lower');
});

test('analyze is deterministic for a seed', () => {
  const data = collectSamples(job(4, () => 1.03), 4);
  assert.equal(analyze(data, METHOD), analyze(data, METHOD));
});

test('a benchmark with no round on both sides is left out', () => {
  const only = [sc(1, 'A', { 'port-rtt-64': [1, 2, 3] }), sc(2, 'B', { 'port-rtt-64': [1, 2, 3] })];
  assert.equal(analyze(collectSamples(only, 2), METHOD), []);
});

test('the table: a row per benchmark, counts, the method', () => {
  const rows = analyze(collectSamples(job(6, (m) => (m === 'port-rtt-64' ? 1.2 : 1)), 6), METHOD);
  const t = benchTable(rows, METHOD);
  assert.match(t, /perf-core\/round-trips\/port-rtt-64 .* HIGHER \(difference\)/);
  assert.match(t, /3 benchmarks: 1 difference \(1 higher, 0 lower\)/);
  assert.match(t, /percentile bootstrap \(2000 resamples, seed 1, paired by A\/B round/);
  assert.match(t, /98\.33 % \(Bonferroni, 3 benchmarks\)/);
});

test('resultOf and the kernel report: rounds run, counts, wall time', () => {
  const rec: JobRecord = {
    id: '6.1-cloud-ab', kernel: { id: '6.1-cloud', release: '6.1.0-57-cloud-amd64' }, profile: 'bench', suites: ['perf-core'], cpus: 1,
    phase: 'done', phases: {}, scenarios: job(2, () => 1), splats: [], counters: [], problems: [], files: {},
    verdict: 'pass', reason: 'ok', wallMs: 123_400,
  };
  const st = {
    rounds: 2,
    runs: [
      { round: 1, side: 'A', startedAt: '', loadMs: 1, runMs: 1, unloadMs: 1, hostLoad: 0 },
      { round: 1, side: 'B', startedAt: '', loadMs: 1, runMs: 1, unloadMs: 1, hostLoad: 0 },
      { round: 2, side: 'B', startedAt: '', loadMs: 1, runMs: 1, unloadMs: 1, hostLoad: 0 },
    ],
    sides: { A: { modules: [] }, B: { modules: [] } },
  } as unknown as AbState;
  const r = resultOf(rec, st, 2, METHOD);
  assert.is(r.roundsRun, 1);
  assert.is(r.counts.benchmarks, 3);
  assert.is(r.counts.differences, 0);
  assert.match(r.method, /Bonferroni, 3 benchmarks/);
  const text = kernelReport(r, METHOD);
  assert.match(text, /^6\.1-cloud \(6\.1\.0-57-cloud-amd64\): job pass, 1 A\/B rounds, wall 123 s/);
});

test('deadlines: each side gets the suites budget, the job all the rounds', () => {
  const t = benchTimeouts('tcg', 1, ['perf-core', 'perf-ipc'], 6);
  assert.is(t.runnerMs, 240_000 * 4);
  assert.ok(t.jobMs > 12 * t.runnerMs);
  const k = benchTimeouts('kvm', 1, ['perf-core'], 2);
  assert.is(k.runnerMs, 120_000);
  assert.is(benchTimeouts('kvm', 1, ['perf-core'], 2, 3).runnerMs, 360_000);
});

test('planBench: one job per kernel, named <kernel>-ab, on the vCPUs the suites need', async () => {
  const jobs = await planBench({ matrixPath: join(ROOT, 'images', 'kernels.json'), kernels: ['6.1-cloud', '6.12-cloud'], suites: ['perf-core', 'perf-ipc'] });
  assert.equal(jobs.map((j) => [j.id, j.cpus, j.profile, j.suites]), [
    ['6.1-cloud-ab', 1, 'bench', ['perf-core', 'perf-ipc']],
    ['6.12-cloud-ab', 1, 'bench', ['perf-core', 'perf-ipc']],
  ]);
  try {
    await planBench({ matrixPath: join(ROOT, 'images', 'kernels.json'), suites: ['nope'] });
    assert.unreachable('an unknown suite was accepted');
  } catch (e) {
    assert.match((e as Error).message, /unknown suite 'nope'/);
  }
});

test.run();
