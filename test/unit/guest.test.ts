import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCounters } from '../../scenarios/lib/guest.js';
import { bootHintOf, leaks, timeoutsFor } from '../../lab/job.js';

test('the debugfs counters file parses to numbers', () => {
  assert.equal(parseCounters('teams 2\nports 0\n'), { teams: 2, ports: 0 });
  assert.equal(parseCounters('garbage\nteams -1\n'), { teams: -1 });
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

test('a boot failure is explained by the guest init, else by the last console line', () => {
  const console = '[    3.1] Run /init as init process\n[    3.5] nexus-init: FAILED: no root disk /dev/vda\nnexus-init: FAILED: no root disk /dev/vda\n[    4.6] reboot: Power down\n';
  assert.is(bootHintOf(console), ' (console: nexus-init: FAILED: no root disk /dev/vda)');
  assert.is(bootHintOf('[ 1.0] Linux version 6.1\n[ 2.0] last words\n'), ' (console: [ 2.0] last words)');
  assert.is(bootHintOf(''), ' (the console is empty)');
});

test.run();
