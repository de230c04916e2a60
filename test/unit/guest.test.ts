import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseCounters } from '../../scenarios/lib/guest.js';
import { leaks } from '../../lab/job.js';
import { timeoutsFor } from '../../lab/job.js';

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

test.run();
