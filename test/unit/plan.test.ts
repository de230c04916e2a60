import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { loadMatrix } from '../../lab/kernels.js';
import { budgetOf, checkCpus, DEFAULT_BUDGET_MS, groupByCpus, ownDeadlinesMs, parseShard, plan, selectKernels, shard, upgradeFor, type Job } from '../../lab/plan.js';
import { SUITES } from '../../scenarios/suites.js';
import { ROOT } from '../helpers.js';

const matrix = await loadMatrix(join(ROOT, 'images', 'kernels.json'));

const CORE = ['smoke', 'ports', 'sems', 'teams', 'threads', 'areas', 'vrefs', 'node-monitor'];
const TWO_CPU = ['races', 'hardening', 'fuzz', 'stress'];
const shape = (jobs: Job[]) => jobs.map((j) => [j.id, j.cpus, j.suites]);

test('the default plan: per kernel (6.1 and 6.12 cloud), a 1-vCPU job of the core suites and a 2-vCPU job of the others', () => {
  const jobs = plan(matrix);
  assert.equal(shape(jobs), [
    ['6.1-cloud-quick', 1, CORE],
    ['6.1-cloud-quick-2cpu', 2, TWO_CPU],
    ['6.12-cloud-quick', 1, CORE],
    ['6.12-cloud-quick-2cpu', 2, TWO_CPU],
  ]);
  assert.equal(jobs.map((j) => [j.kernel.series, j.kernel.flavour, j.profile]), [
    ['6.1', 'cloud-amd64', 'quick'],
    ['6.1', 'cloud-amd64', 'quick'],
    ['6.12', 'cloud-amd64', 'quick'],
    ['6.12', 'cloud-amd64', 'quick'],
  ]);
});

test('--cpus 2 gives every suite 2 vCPUs: one job per kernel, all the suites, named -2cpu', () => {
  assert.equal(shape(plan(matrix, { cpus: 2 })), [
    ['6.1-cloud-quick-2cpu', 2, [...CORE, ...TWO_CPU]],
    ['6.12-cloud-quick-2cpu', 2, [...CORE, ...TWO_CPU]],
  ]);
  assert.equal(shape(plan(matrix, { kernels: ['6.1-cloud'], cpus: 4 })), [['6.1-cloud-quick-4cpu', 4, [...CORE, ...TWO_CPU]]]);
  assert.equal(shape(plan(matrix, { kernels: ['6.1-cloud'], cpus: 1 })), shape(plan(matrix, { kernels: ['6.1-cloud'] })), '--cpus 1 is the default');
});

test('a suite runs with at least the vCPUs it declares: smoke alone is 1, races alone is 2', () => {
  assert.equal(shape(plan(matrix, { kernels: ['6.12-cloud'], suites: ['smoke'] })), [['6.12-cloud-quick', 1, ['smoke']]]);
  assert.equal(shape(plan(matrix, { kernels: ['6.12-cloud'], suites: ['races'] })), [['6.12-cloud-quick-2cpu', 2, ['races']]]);
  for (const s of SUITES.filter((x) => x.cpus !== undefined)) {
    const [j] = plan(matrix, { kernels: ['6.1-cloud'], suites: [s.name] });
    assert.is(j!.cpus, s.cpus, `${s.name} gets its ${s.cpus} vCPUs`);
  }
});

test('groups keep the order the suites were given in, by their first suite', () => {
  assert.equal(groupByCpus(['races', 'smoke', 'fuzz', 'ports']), [
    { cpus: 2, suites: ['races', 'fuzz'] },
    { cpus: 1, suites: ['smoke', 'ports'] },
  ]);
  assert.equal(groupByCpus(['races', 'smoke'], 3), [{ cpus: 3, suites: ['races', 'smoke'] }]);
  assert.equal(shape(plan(matrix, { kernels: ['6.1-cloud'], suites: ['stress', 'teams'] })), [
    ['6.1-cloud-quick-2cpu', 2, ['stress']],
    ['6.1-cloud-quick', 1, ['teams']],
  ]);
});

const packaged = matrix.kernels.filter((k) => !k.build);

test('kernels and suites can be chosen, and bad names are refused with the known ones', () => {
  assert.is(plan(matrix, { kernels: ['all'], suites: ['smoke'] }).length, packaged.length);
  assert.is(plan(matrix, { kernels: ['all'] }).length, 2 * packaged.length);
  assert.equal(plan(matrix, { kernels: ['6.12-cloud'], suites: ['panic'] }).map((j) => [j.id, j.suites]), [['6.12-cloud-quick', ['panic']]]);
  assert.throws(() => plan(matrix, { kernels: ['7.0'] }), /unknown kernel '7\.0' \(known: 6\.1-cloud/);
  assert.throws(
    () => plan(matrix, { suites: ['nope'] }),
    /unknown suite 'nope' \(known: smoke, ports, sems, teams, threads, areas, vrefs, node-monitor, races, hardening, fuzz, stress, faults, perf-core, perf-ipc, perf-node-monitor, perf-scaling, panic/,
  );
  assert.throws(() => plan(matrix, { profile: 'slow' }), /unknown profile 'slow'/);
  assert.is(plan(matrix, { kernels: ['6.1-cloud', '6.1-cloud'] }).length, 2, 'a kernel named twice runs once');
});

test('debug kernels are opt-in: named, or by their group; never in the default run or in "all"', () => {
  const debug = matrix.kernels.filter((k) => k.build).map((k) => k.id);
  assert.equal(debug, ['6.1-debug', '6.12-debug']);
  assert.ok(packaged.length >= 6);
  for (const jobs of [plan(matrix), plan(matrix, { kernels: ['all'] })]) {
    assert.not.ok(jobs.some((j) => j.kernel.build), 'no built kernel unless asked');
  }
  assert.equal(selectKernels(matrix, ['debug']).map((k) => k.id), debug);
  assert.equal(selectKernels(matrix, ['6.12-debug', 'debug', '6.1-cloud']).map((k) => k.id), ['6.12-debug', '6.1-debug', '6.1-cloud'], 'each once, in the order named');
  assert.equal(shape(plan(matrix, { kernels: ['6.12-debug'], suites: ['smoke', 'fuzz'] })), [
    ['6.12-debug-quick', 1, ['smoke']],
    ['6.12-debug-quick-2cpu', 2, ['fuzz']],
  ]);
  assert.throws(() => selectKernels(matrix, ['debugs']), /unknown kernel 'debugs' \(known: .*6\.12-debug, all, debug\)/);
  assert.throws(() => plan(matrix, { kernels: ['6.1-debug'], profile: 'release' }), /installs Debian's kernel packages; 6\.1-debug is built by the lab from source/);
  for (const k of matrix.kernels.filter((m) => !m.build)) {
    const up = upgradeFor(matrix, k);
    assert.ok(!('to' in up) || !up.to.build, `${k.id} never upgrades to a built kernel`);
  }
});

test('vCPU counts outside 1..64 are refused', () => {
  for (const bad of [0, -1, 1.5, 65, Number.NaN]) {
    assert.throws(() => plan(matrix, { cpus: bad }), /--cpus takes an integer from 1 to 64/, String(bad));
  }
  assert.is(checkCpus(64), 64);
});

test('a job carries the budget of its suites: each suite its own, 120 s when it declares none', () => {
  const budget = (name: string) => SUITES.find((s) => s.name === name)!.budgetMs ?? DEFAULT_BUDGET_MS;
  assert.is(DEFAULT_BUDGET_MS, 120_000);
  for (const j of plan(matrix, { kernels: ['all'] })) {
    assert.is(j.budgetMs, j.suites.reduce((sum, s) => sum + budget(s), 0), j.id);
  }
  assert.is(budgetOf(['smoke', 'smoke']), 2 * budget('smoke'));
  assert.is(budgetOf([]), 0);
});

test('ownDeadlinesMs: fuzz and stress keep deadlines of their own, from their parameters, which the runner waits for as they are', () => {
  // The defaults: 60 s + 50 us a call (2M calls), 60 s + 40 ms a team (5,000 teams).
  assert.is(ownDeadlinesMs(['fuzz'], {}), 160_000);
  assert.is(ownDeadlinesMs(['stress'], {}), 260_000);
  assert.is(ownDeadlinesMs(['smoke', 'races', 'fuzz', 'stress'], {}), 420_000, 'suites without one add nothing');
  assert.is(ownDeadlinesMs(['fuzz'], { 'fuzz.calls': '20000000' }), 1_060_000, 'more calls, a later deadline');
  assert.is(ownDeadlinesMs(['fuzz', 'stress'], { 'fuzz.deadline': '7200', 'stress.deadline': '7200' }), 14_400_000, 'the nightly\'s');
  assert.is(ownDeadlinesMs(['fuzz'], { 'fuzz.deadline': 'soon' }), 0, 'no number: the guest refuses it, the runner adds nothing');
  assert.is(ownDeadlinesMs(['smoke'], { 'fuzz.deadline': '7200' }), 0, 'a parameter of a suite the job does not run');
});

test('shards are disjoint, cover the grouped plan and keep its order', () => {
  const jobs = plan(matrix, { kernels: ['all'] });
  assert.ok(jobs.some((j) => j.cpus === 1) && jobs.some((j) => j.cpus === 2));
  for (const n of [1, 2, 3, 4, 7]) {
    const parts = Array.from({ length: n }, (_, i) => shard(jobs, { index: i + 1, count: n }));
    const ids = parts.flat().map((j) => j.id);
    assert.is(ids.length, jobs.length, `${n} shards cover every job once`);
    assert.equal([...ids].sort(), jobs.map((j) => j.id).sort());
    assert.is(new Set(ids).size, ids.length, 'job ids are unique');
    for (const p of parts) {
      const order = p.map((j) => jobs.indexOf(j));
      assert.equal(order, [...order].sort((a, b) => a - b));
    }
  }
  assert.equal(
    shard(plan(matrix), { index: 2, count: 2 }).map((j) => j.id),
    ['6.1-cloud-quick-2cpu', '6.12-cloud-quick-2cpu'],
    'round-robin over the grouped jobs',
  );
  assert.equal(shard(plan(matrix), { index: 2, count: 3 }), shard(plan(matrix), { index: 2, count: 3 }), 'deterministic');
});

test('--shard is K/N with 1 <= K <= N', () => {
  assert.equal(parseShard('2/4'), { index: 2, count: 4 });
  assert.throws(() => parseShard('0/4'), /1 <= K <= N/);
  assert.throws(() => parseShard('5/4'), /1 <= K <= N/);
  assert.throws(() => parseShard('a/b'), /takes K\/N/);
});


test('the release profile: one 1-vCPU job per kernel with the core suites, each upgrading to the other series of its flavour', () => {
  const jobs = plan(matrix, { profile: 'release' });
  assert.equal(shape(jobs), [
    ['6.1-cloud-release', 1, CORE],
    ['6.12-cloud-release', 1, CORE],
  ]);
  assert.equal(jobs.map((j) => (j.upgrade && 'to' in j.upgrade ? j.upgrade.to.id : j.upgrade)), ['6.12-cloud', '6.1-cloud']);
  assert.ok(jobs[0]!.budgetMs > budgetOf(CORE), 'the release steps add to the suites\' budget');
  const all = plan(matrix, { profile: 'release', kernels: ['all'] });
  assert.equal(all.map((j) => [j.id, j.upgrade && 'to' in j.upgrade ? j.upgrade.to.id : undefined]), [
    ['6.1-cloud-release', '6.12-cloud'],
    ['6.12-cloud-release', '6.1-cloud'],
    ['6.1-generic-release', '6.12-generic'],
    ['6.12-generic-release', '6.1-generic'],
    ['6.1-rt-release', '6.12-rt'],
    ['6.12-rt-release', '6.1-rt'],
  ]);
  assert.not.ok(plan(matrix)[0]!.upgrade, 'quick jobs upgrade nothing');
});

test('a release job with no other series of its flavour says why it cannot upgrade', () => {
  const lonely = { kernels: [{ id: 'a', series: '6.1', flavour: 'x', default: true }, { id: 'b', series: '6.12', flavour: 'y' }] };
  assert.equal(upgradeFor(lonely, lonely.kernels[0]!), { none: 'the matrix has no other series of flavour x to upgrade to' });
  assert.equal(plan(lonely, { profile: 'release' })[0]!.upgrade, { none: 'the matrix has no other series of flavour x to upgrade to' });
});

test.run();
