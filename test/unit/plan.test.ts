import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadMatrix } from '../../lab/kernels.js';
import { parseShard, plan, shard } from '../../lab/plan.js';
import { ROOT } from '../helpers.js';

const matrix = await loadMatrix(join(ROOT, 'images', 'kernels.json'));

test('the default plan is Linux 6.1 and 6.12 cloud, quick profile, the core suites', () => {
  const jobs = plan(matrix);
  assert.equal(jobs.map((j) => [j.id, j.kernel.series, j.kernel.flavour, j.profile, j.suites]), [
    ['6.1-cloud-quick', '6.1', 'cloud-amd64', 'quick', ['smoke', 'ports', 'sems', 'teams']],
    ['6.12-cloud-quick', '6.12', 'cloud-amd64', 'quick', ['smoke', 'ports', 'sems', 'teams']],
  ]);
});

test('kernels and suites can be chosen, and bad names are refused with the known ones', () => {
  assert.is(plan(matrix, { kernels: ['all'] }).length, matrix.kernels.length);
  assert.equal(plan(matrix, { kernels: ['6.12-cloud'], suites: ['panic'] }).map((j) => [j.id, j.suites]), [['6.12-cloud-quick', ['panic']]]);
  assert.throws(() => plan(matrix, { kernels: ['7.0'] }), /unknown kernel '7\.0' \(known: 6\.1-cloud/);
  assert.throws(() => plan(matrix, { suites: ['nope'] }), /unknown suite 'nope' \(known: smoke, ports, sems, teams, perf-core, panic/);
  assert.throws(() => plan(matrix, { profile: 'slow' }), /unknown profile 'slow'/);
  assert.is(plan(matrix, { kernels: ['6.1-cloud', '6.1-cloud'] }).length, 1, 'a kernel named twice runs once');
});

test('shards are disjoint, cover the plan and keep its order', () => {
  const jobs = plan(matrix, { kernels: ['all'] });
  for (const n of [1, 2, 3, 4, 7]) {
    const parts = Array.from({ length: n }, (_, i) => shard(jobs, { index: i + 1, count: n }));
    const ids = parts.flat().map((j) => j.id);
    assert.is(ids.length, jobs.length, `${n} shards cover every job once`);
    assert.equal([...ids].sort(), jobs.map((j) => j.id).sort());
    for (const p of parts) {
      const order = p.map((j) => jobs.indexOf(j));
      assert.equal(order, [...order].sort((a, b) => a - b));
    }
  }
  assert.equal(shard(jobs, { index: 2, count: 2 }), shard(jobs, { index: 2, count: 2 }), 'deterministic');
});

test('--shard is K/N with 1 <= K <= N', () => {
  assert.equal(parseShard('2/4'), { index: 2, count: 4 });
  assert.throws(() => parseShard('0/4'), /1 <= K <= N/);
  assert.throws(() => parseShard('5/4'), /1 <= K <= N/);
  assert.throws(() => parseShard('a/b'), /takes K\/N/);
});

test.run();
