import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { benchMetrics, parseBenchOutput, sanityProblems, type BenchResult } from '../../scenarios/perf-core/bench.js';
import { AREAS, ROUND_TRIPS, suite } from '../../scenarios/perf-ipc/index.js';

function result(name: string, median: number, rounds: number[]): BenchResult {
  return {
    name, bytes: 64, iterations: 100 * rounds.length, rounds: rounds.length, warmup: 10, median_ns: median,
    p99_ns: median * 2, mean_ns: median, min_ns: 1, max_ns: median * 3, round_medians_ns: rounds,
  };
}

test('perf-ipc: two scenarios, each with its own modes', () => {
  assert.equal(suite.name, 'perf-ipc');
  assert.equal(suite.scenarios.map((s) => s.name), ['round-trips', 'areas']);
  for (const s of suite.scenarios) assert.ok((s.timeoutMs ?? 0) > 60_000, `${s.name} has room under TCG`);
});

test('every Nexus round trip has an eventfd or pipe baseline of its shape, threads with threads, teams with teams', () => {
  assert.equal(
    ROUND_TRIPS.baselines.map((b) => `${b.mode}.${b.metric} = ${b.baseline}`),
    [
      'data-threads-64.vs-eventfd = eventfd-threads',
      'data-threads-64.vs-pipe = pipe-threads-64',
      'data-threads-4096.vs-pipe = pipe-threads-4096',
      'data-teams-64.vs-eventfd = eventfd-teams',
      'data-teams-64.vs-pipe = pipe-teams-64',
      'data-teams-4096.vs-pipe = pipe-teams-4096',
    ],
  );
  for (const spec of [ROUND_TRIPS, AREAS]) {
    for (const b of spec.baselines) {
      assert.ok(spec.modes.includes(b.mode) && spec.modes.includes(b.baseline), `${b.mode} and ${b.baseline} both run`);
      // Threads with threads, teams with teams; the same size (an eventfd carries no payload).
      assert.is(/threads|teams/.exec(b.mode)?.[0], /threads|teams/.exec(b.baseline)?.[0], `${b.mode} and ${b.baseline}: same kind of peers`);
      if (!b.baseline.startsWith('eventfd-')) assert.is(b.mode.split('-').pop(), b.baseline.split('-').pop(), `${b.mode} and ${b.baseline}: same size`);
    }
  }
});

test('every area size is compared with POSIX and SysV shared memory of the same size', () => {
  assert.equal(AREAS.modes, ['area-4k', 'area-64k', 'area-1m', 'posix-shm-4k', 'posix-shm-64k', 'posix-shm-1m', 'sysv-shm-4k', 'sysv-shm-64k', 'sysv-shm-1m']);
  assert.equal(AREAS.baselines.filter((b) => b.mode === 'area-1m').map((b) => b.baseline), ['posix-shm-1m', 'sysv-shm-1m']);
});

test('metrics of an areas run: ns figures per mode and round, ratios with their per-round range', () => {
  const m = benchMetrics([
    result('area-64k', 300_000, [290_000, 310_000, 330_000]),
    result('posix-shm-64k', 200_000, [200_000, 200_000, 220_000]),
    result('sysv-shm-64k', 150_000, [150_000, 155_000, 165_000]),
  ], AREAS);
  const by = new Map(m.map((x) => [x.name, x]));
  assert.equal(by.get('area-64k.round3'), { name: 'area-64k.round3', value: 330_000, unit: 'ns' });
  // The ratio's samples: each round's ratio of the two modes' round medians.
  assert.equal(by.get('area-64k.vs-posix-shm'), { name: 'area-64k.vs-posix-shm', value: 1.5, unit: 'x', samples: [1.45, 1.55, 1.5] });
  assert.equal([by.get('area-64k.vs-posix-shm.min')?.value, by.get('area-64k.vs-posix-shm.max')?.value], [1.45, 1.55]);
  assert.is(by.get('area-64k.vs-sysv-shm')?.value, 2);
  assert.not.ok([...by.keys()].some((k) => k.startsWith('area-1m')), 'modes that did not run have no metrics');
});

// The Linux baselines need no Nexus module: the driver runs them on the host
// too (`make build` compiles it before the unit tests run).
const BENCH = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-bench-ipc');

test('nexus-bench-ipc runs the eventfd and pipe round trips on the host, between threads and between processes', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const modes = ROUND_TRIPS.modes.filter((m) => !m.startsWith('data-'));
  const out = execFileSync(BENCH, ['--iterations', '50', '--warmup', '5', '--rounds', '2', '--deadline', '60', ...modes], {
    encoding: 'utf8', timeout: 70_000,
  });
  const results = parseBenchOutput(out, 'nexus-bench-ipc');
  assert.equal(results.map((r) => r.name), modes);
  assert.equal(results.map((r) => r.bytes), [8, 64, 4096, 8, 64, 4096]);
  for (const r of results) assert.equal(sanityProblems(r, 50, 2), []);
});

test('nexus-bench-ipc runs the POSIX and SysV shared memory cycles on the host', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const modes = AREAS.modes.filter((m) => !m.startsWith('area-'));
  const out = execFileSync(BENCH, ['--iterations', '5', '--warmup', '1', '--rounds', '2', '--deadline', '60', ...modes], {
    encoding: 'utf8', timeout: 70_000,
  });
  const results = parseBenchOutput(out, 'nexus-bench-ipc');
  assert.equal(results.map((r) => [r.name, r.bytes]), modes.map((m) => [m, { '4k': 4096, '64k': 65536, '1m': 1048576 }[m.replace(/^.*-/, '')]]));
  for (const r of results) assert.equal(sanityProblems(r, 5, 2), []);
});

test('nexus-bench-ipc fails loudly: unknown modes and bad counts exit non-zero with a message', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  for (const args of [['port-rtt-64'], ['--iterations', '-1', 'pipe-threads-64'], ['--deadline']]) {
    let status: number | null = 0;
    let stderr = '';
    try {
      execFileSync(BENCH, args, { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
    } catch (e) {
      status = (e as { status: number | null }).status;
      stderr = String((e as { stderr: string }).stderr);
    }
    assert.is.not(status, 0, `nexus-bench-ipc ${args.join(' ')} exits non-zero`);
    assert.match(stderr, /nexus-bench-ipc: /);
  }
});

test.run();
