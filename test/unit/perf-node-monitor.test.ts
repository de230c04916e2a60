import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { parseBenchOutput, sanityProblems } from '../../scenarios/perf-core/bench.js';
import { eventsPerSecond, LATENCY, suite, THROUGHPUT, withRates } from '../../scenarios/perf-node-monitor/index.js';
import type { Ctx, Scenario } from '../../scenarios/runner/api.js';

test('perf-node-monitor: latency and throughput, each node monitor mode against inotify doing the same', () => {
  assert.equal(suite.name, 'perf-node-monitor');
  assert.equal(suite.scenarios.map((s) => s.name), ['latency', 'throughput']);
  for (const s of suite.scenarios) assert.ok((s.timeoutMs ?? 0) > 120_000, `${s.name} has room under TCG`);
  for (const spec of [LATENCY, THROUGHPUT]) {
    for (const b of spec.baselines) {
      assert.ok(spec.modes.includes(b.mode) && spec.modes.includes(b.baseline), `${b.mode} and ${b.baseline} both run`);
      assert.is(b.mode.replace(/^nm-/, ''), b.baseline.replace(/^inotify-/, ''), `${b.mode} against inotify doing the same`);
      assert.is(b.metric, 'vs-inotify');
    }
    assert.is(spec.baselines.length * 2, spec.modes.length, 'every mode is in one comparison');
  }
});

test('burst medians also come as events per second', async () => {
  assert.is(eventsPerSecond(50_000), 20_000);
  assert.is(eventsPerSecond(0), 0);
  const seen: [string, number, string, number[]?][] = [];
  const fake: Scenario = {
    name: 'x',
    async run(ctx) {
      ctx.metric('nm-burst-1000.median', 40_000, 'ns', [40_000, 50_000]);
      ctx.metric('nm-burst-1000.p99', 80_000, 'ns');
      ctx.metric('nm-create.median', 40_000, 'ns');
      ctx.metric('nm-burst-1000.vs-inotify', 2, 'x');
    },
  };
  const ctx = {
    metric: (n: string, v: number, u: string, s?: readonly number[]) => void seen.push(s ? [n, v, u, [...s]] : [n, v, u]),
  } as unknown as Ctx;
  await withRates(fake).run(ctx);
  assert.equal(seen.map((s) => s.slice(0, 3)), [
    ['nm-burst-1000.median', 40_000, 'ns'],
    ['nm-burst-1000.events-per-s', 25_000, 'events/s'],
    ['nm-burst-1000.p99', 80_000, 'ns'],
    ['nm-burst-1000.p99-events-per-s', 12_500, 'events/s'],
    ['nm-create.median', 40_000, 'ns'],
    ['nm-burst-1000.vs-inotify', 2, 'x'],
  ]);
  // The median's samples pass through, and the rate gets them as rates; the rest has none.
  assert.equal(seen.filter((s) => s[3]).map((s) => [s[0], s[3]]), [
    ['nm-burst-1000.median', [40_000, 50_000]],
    ['nm-burst-1000.events-per-s', [25_000, 20_000]],
  ]);
});

// inotify needs no Nexus module: the driver runs its modes on the host too.
const BENCH = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-bench-nm');

test('nexus-bench-nm runs the inotify modes on the host: latency of create, chmod, rename, and a burst', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const lat = LATENCY.modes.filter((m) => m.startsWith('inotify-'));
  const out = execFileSync(BENCH, ['--iterations', '30', '--warmup', '3', '--rounds', '2', '--deadline', '60', ...lat], {
    encoding: 'utf8', timeout: 70_000,
  });
  const results = parseBenchOutput(out, 'nexus-bench-nm');
  assert.equal(results.map((r) => r.name), lat);
  for (const r of results) assert.equal(sanityProblems(r, 30, 2), []);
  const burst = parseBenchOutput(execFileSync(BENCH, ['--iterations', '2', '--warmup', '0', '--rounds', '1', 'inotify-burst-1000'], {
    encoding: 'utf8', timeout: 70_000,
  }), 'nexus-bench-nm');
  assert.equal(burst.map((r) => [r.name, r.bytes]), [['inotify-burst-1000', 1000]]);
  assert.equal(sanityProblems(burst[0]!, 2, 1), []);
});

test('nexus-bench-nm fails loudly: unknown modes exit non-zero with a message', () => {
  let status: number | null = 0;
  let stderr = '';
  try {
    execFileSync(BENCH, ['port-rtt-64'], { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
  } catch (e) {
    status = (e as { status: number | null }).status;
    stderr = String((e as { stderr: string }).stderr);
  }
  assert.is.not(status, 0);
  assert.match(stderr, /nexus-bench-nm: /);
});

test.run();
