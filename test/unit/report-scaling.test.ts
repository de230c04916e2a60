// lab/report/scaling.ts: perf-scaling's figures read back from a job's
// metrics, and their charts in the job's section and across jobs.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { jobScalingFigures, scalingCharts, scalingFigures, scalingOverview } from '../../lab/report/scaling.js';
import { jobSection } from '../../lab/report/job.js';
import type { JobRecord } from '../../lab/results.js';
import { modeName, scalingMetrics, type ScaleResult } from '../../scenarios/perf-scaling/scaling.js';
import { PAIRS } from '../../scenarios/perf-scaling/index.js';

const WINDOW = 500_000_000;

function result(name: string, roundTrips: number[][]): ScaleResult {
  return {
    name, kind: name.replace(/-\d+pairs?$/, ''), pairs: roundTrips[0]!.length, bytes: 64, pinned: 1,
    rounds: roundTrips.length, warmup: 100, window_ns: WINDOW, round_trips: roundTrips,
    late_ns: roundTrips.map((row) => row.map(() => 80_000)),
  };
}

/** Nexus ports scale 1.5x, pipes 1.9x, sems 1.2x, POSIX 2x, SysV 1.6x (three rounds). */
function run3(): ScaleResult[] {
  const fam = (f: string, one: number[], many: number[][]) => [result(modeName(f, 1), one.map((x) => [x])), result(modeName(f, 2), many)];
  return [
    ...fam('port', [5000, 5200, 4800], [[3750, 3750], [3900, 3900], [3600, 3600]]),
    ...fam('pipe', [10_000, 10_000, 10_000], [[9500, 9500], [9500, 9500], [9000, 10_000]]),
    ...fam('sem', [6000, 6000, 6000], [[3600, 3600], [3600, 3600], [3600, 3600]]),
    ...fam('posix-sem', [8000, 8000, 8000], [[8000, 8000], [8000, 8000], [8000, 8000]]),
    ...fam('sysv-sem', [5000, 5000, 5000], [[4000, 4000], [4000, 4000], [4000, 4000]]),
  ];
}

function scalingJob(id: string, results = run3()): JobRecord {
  return {
    id, kernel: { id: '6.12-cloud' }, profile: 'quick', suites: ['perf-scaling'], cpus: 2, phase: 'done', verdict: 'pass',
    problems: [], splats: [], wallMs: 1, files: {},
    scenarios: [{ suite: 'perf-scaling', name: 'pinned', status: 'pass', durationMs: 1, failures: [], metrics: scalingMetrics(results, PAIRS) }],
  } as unknown as JobRecord;
}

test('report: figures per family with roles from the ratios, intervals over the rounds, and the ratios to Linux', () => {
  const [f] = jobScalingFigures(scalingJob('j'));
  assert.ok(f);
  assert.is(f!.pairs, 2);
  assert.equal(f!.families.map((x) => [x.family, x.role, x.rate1, x.rateN, x.scaling]), [
    ['port', 'nexus', 10_000, 15_000, 1.5],
    ['pipe', 'linux', 20_000, 38_000, 1.9],
    ['sem', 'nexus', 12_000, 14_400, 1.2],
    ['posix-sem', 'linux', 16_000, 32_000, 2],
    ['sysv-sem', 'linux', 10_000, 16_000, 1.6],
  ]);
  const port = f!.families[0]!;
  assert.ok(port.ci && port.ci.lo <= 1.5 && port.ci.hi >= 1.5, 'the interval holds the figure');
  assert.equal(f!.ratios.map((r) => [r.family, r.baseline, r.value]), [['port', 'pipe', 0.789], ['sem', 'posix-sem', 0.6], ['sem', 'sysv-sem', 0.75]]);
  assert.ok(f!.ratios[0]!.ci, 'three rounds: an interval');
  // Without samples (or with fewer than 3 rounds) there is no interval, and nothing breaks.
  const bare = scalingFigures('s', 'x', scalingMetrics(run3(), PAIRS).map(({ name, value, unit }) => ({ name, value, unit })));
  assert.equal(bare!.families.map((x) => x.ci), [undefined, undefined, undefined, undefined, undefined]);
  assert.is(scalingFigures('s', 'x', [{ name: 'port-rtt-64.median', value: 1, unit: 'ns' }]), undefined);
});

test('report: throughput, scaling (a line at N) and ratio charts in the job, an overview across jobs', () => {
  const html = scalingCharts(jobScalingFigures(scalingJob('j')));
  assert.match(html, /perf-scaling\/pinned: throughput, median over the rounds/);
  assert.match(html, /port \(Nexus\), 2 pairs: 15,000 rt\/s/);
  assert.match(html, /2 = linear/);
  assert.match(html, /port \/ pipe: 0\.789x \(rounds 0\.789-0\.789; 95 % CI 0\.789-0\.789\)/);
  assert.match(html, /<rect class="bar slower"[^>]*><title>port \/ pipe/);
  assert.is((html.match(/<svg /g) ?? []).length, 3);
  const section = jobSection(scalingJob('j'), '');
  assert.match(section, /<h4>Benchmarks<\/h4>/);
  assert.match(section, /Nexus scaling \/ Linux scaling/);
  assert.is(scalingOverview([{ id: 'a', figures: jobScalingFigures(scalingJob('a')) }]), '', 'one job: no overview');
  const both = scalingOverview(['a', 'b'].map((id) => ({ id, figures: jobScalingFigures(scalingJob(id)) })));
  assert.match(both, /perf-scaling\/pinned: Nexus scaling \/ Linux scaling, every job/);
  assert.match(both, /b: sem \/ sysv-sem/);
});

test.run();
