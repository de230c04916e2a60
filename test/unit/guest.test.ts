import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCounters } from '../../scenarios/lib/counters.js';
import { bootHintOf, cpuMismatch, guestParams, jobConfig, leaks, timeoutsFor, unloadCommand } from '../../lab/job.js';
import { scaled, setTimeScale } from '../../scenarios/lib/guest.js';
import { DEFAULT_BUDGET_MS } from '../../lab/plan.js';

test('the debugfs counters file parses to numbers', () => {
  assert.equal(parseCounters('teams 2\nports 0\n'), { teams: 2, ports: 0 });
  assert.equal(parseCounters('garbage\nteams -1\n'), { teams: -1 });
});

test('unloading retries a module still in use, then fails with rmmod\'s own error', () => {
  const c = unloadCommand('nexus_area');
  assert.ok(c.startsWith("if grep -q '^nexus_area ' /proc/modules; then"), c);
  assert.match(c, /for i in \$\(seq 50\); do rmmod 'nexus_area' 2>\/dev\/null && exit 0; sleep 0\.1; done; rmmod 'nexus_area'; fi$/);
});

test('non-zero counters after a run are reported as leaks', () => {
  assert.equal(leaks({ teams: 0, ports: 0 }), []);
  assert.equal(leaks({ teams: 1, ports: 0, sems: 2 }), ['teams=1', 'sems=2']);
});

test('deadlines grow under TCG and with --timeout-scale, and the job deadline bounds the others', () => {
  const kvm = timeoutsFor('kvm');
  const tcg = timeoutsFor('tcg');
  assert.ok(tcg.bootMs > kvm.bootMs && tcg.runnerMs > kvm.runnerMs);
  assert.is(timeoutsFor('tcg', 2).bootMs, tcg.bootMs * 2);
  for (const t of [kvm, tcg]) assert.ok(t.jobMs > t.buildMs + t.bootMs + t.runnerMs, 'the phases fit in the job');
});

test('the runner deadline is the suites\' budget times the accelerator factor and --timeout-scale', () => {
  assert.is(timeoutsFor('kvm').runnerMs, DEFAULT_BUDGET_MS, 'one default budget without a job');
  assert.is(timeoutsFor('kvm', 1, 300_000).runnerMs, 300_000);
  assert.is(timeoutsFor('tcg', 1, 300_000).runnerMs, 1_200_000, 'x4 under TCG');
  assert.is(timeoutsFor('tcg', 10, 480_000).runnerMs, 19_200_000, 'a nightly --timeout-scale 10');
  assert.is(timeoutsFor('kvm', 0.5, 60_000).runnerMs, 30_000);
  assert.is(timeoutsFor('tcg', 2, 30_000, 7_200_000).runnerMs, 7_440_000, 'the suites\' own deadlines added, not scaled');
  for (const [accel, scale, budget] of [['kvm', 1, 0], ['tcg', 1, 480_000], ['tcg', 10, 4_000_000], ['kvm', 0.5, 120_000]] as const) {
    const t = timeoutsFor(accel, scale, budget);
    assert.ok(t.jobMs > t.buildMs + t.bootMs + t.runnerMs + t.poweroffMs + 4 * t.commandMs, `${accel} x${scale}, ${budget} ms: the phases fit in the job`);
  }
  const small = timeoutsFor('tcg', 1, 120_000);
  const big = timeoutsFor('tcg', 1, 480_000);
  assert.is(big.jobMs - small.jobMs, big.runnerMs - small.runnerMs, 'a bigger budget moves the job deadline by as much');
});

test('job.json names the job and its suites and carries the run parameters as strings', () => {
  const config = JSON.parse(jobConfig('r1', { id: '6.1-cloud-quick-2cpu', suites: ['fuzz', 'stress'] }, { 'fuzz.calls': '1000000', 'stress.teams': '10000' }));
  assert.equal(config, {
    runId: 'r1',
    job: '6.1-cloud-quick-2cpu',
    suites: ['fuzz', 'stress'],
    params: { 'fuzz.calls': '1000000', 'stress.teams': '10000' },
  });
  assert.equal(JSON.parse(jobConfig('r1', { id: 'j', suites: ['smoke'] }, {})).params, {});
});

test('a slower kernel stretches the suites\' own deadlines (lab.time_scale), unless the run sets it', () => {
  assert.equal(guestParams({}, { a: '1' }), { a: '1' }, 'a packaged kernel adds nothing');
  assert.equal(guestParams({ slowdown: 3 }, { a: '1' }), { 'lab.time_scale': '3', a: '1' });
  assert.equal(guestParams({ slowdown: 3 }, { 'lab.time_scale': '5' }), { 'lab.time_scale': '5' });
});

test('the guest side: deadlines scale by lab.time_scale, which must be at least 1', () => {
  assert.is(scaled(1000), 1000);
  setTimeScale(3);
  assert.is(scaled(1000), 3000);
  assert.throws(() => setTimeScale(0.5), /lab\.time_scale must be a number of at least 1/);
  setTimeScale(1);
});

test('a guest that does not see the vCPUs the job asked for is a problem', () => {
  assert.is(cpuMismatch(2, 2), undefined);
  assert.is(cpuMismatch(2, undefined), undefined, 'nothing reported, nothing to say');
  assert.is(cpuMismatch(2, 1), 'the guest saw 1 vCPU, the job asked for 2');
  assert.is(cpuMismatch(1, 4), 'the guest saw 4 vCPUs, the job asked for 1');
});

test('a boot failure is explained by the guest init, else by the last console line', () => {
  const console = '[    3.1] Run /init as init process\n[    3.5] nexus-init: FAILED: no root disk /dev/vda\nnexus-init: FAILED: no root disk /dev/vda\n[    4.6] reboot: Power down\n';
  assert.is(bootHintOf(console), ' (console: nexus-init: FAILED: no root disk /dev/vda)');
  assert.is(bootHintOf('[ 1.0] Linux version 6.1\n[ 2.0] last words\n'), ' (console: [ 2.0] last words)');
  assert.is(bootHintOf(''), ' (the console is empty)');
});

test.run();
