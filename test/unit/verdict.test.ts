import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { decideVerdict, type ScenarioResult, type VerdictInput } from '../../lab/verdict.js';
import type { Splat } from '../../lab/console.js';

const sc = (name: string, status: ScenarioResult['status'], reason?: string): ScenarioResult => ({
  suite: 'smoke', name, status, durationMs: 1, failures: [], metrics: [], ...(reason ? { reason } : {}),
});
const splat = (kind: Splat['kind'], title: string): Splat => ({ kind, title, text: title, line: 1, complete: true });
const base: VerdictInput = { splats: [], scenarios: [], problems: [] };

test('every scenario passing is a pass', () => {
  assert.equal(decideVerdict({ ...base, scenarios: [sc('a', 'pass'), sc('b', 'pass')] }), { verdict: 'pass', reason: '2 scenarios passed' });
});

test('a failed or errored scenario is a fail naming it', () => {
  const v = decideVerdict({ ...base, scenarios: [sc('a', 'pass'), sc('b', 'fail', '1 check failed'), sc('c', 'error', 'boom')] });
  assert.is(v.verdict, 'fail');
  assert.is(v.reason, 'smoke/b: 1 check failed (+1 more)');
});

test('job problems (unload, leaks, runner crash) fail a job whose scenarios passed', () => {
  const v = decideVerdict({ ...base, scenarios: [sc('a', 'pass')], problems: ['rmmod nexus failed: exit code 1'] });
  assert.equal(v, { verdict: 'fail', reason: 'rmmod nexus failed: exit code 1' });
});

test('nothing run is not a pass', () => {
  assert.equal(decideVerdict(base), { verdict: 'fail', reason: 'no scenario ran' });
});

test('all skipped is a skip, with the reasons', () => {
  const v = decideVerdict({ ...base, scenarios: [sc('a', 'skip', 'ioctl unsupported')] });
  assert.equal(v, { verdict: 'skip', reason: 'every scenario skipped: ioctl unsupported' });
});

test('a splat outranks failing scenarios, and a panic outranks other splats', () => {
  const v = decideVerdict({
    ...base,
    scenarios: [sc('a', 'error', 'the guest kernel panicked')],
    splats: [splat('warning', 'WARNING: CPU: 0'), splat('panic', 'Kernel panic - not syncing: x')],
  });
  assert.equal(v, { verdict: 'kernel-splat', reason: 'panic: Kernel panic - not syncing: x (+1 more)' });
});

test('a kmemleak line on the console is no kernel splat: the leak check judges it', () => {
  const leak = splat('kmemleak', 'kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  assert.equal(decideVerdict({ ...base, scenarios: [sc('a', 'pass')], splats: [leak] }), { verdict: 'pass', reason: '1 scenario passed' });
  const v = decideVerdict({ ...base, scenarios: [sc('a', 'pass')], splats: [leak, splat('kasan', 'BUG: KASAN: x')] });
  assert.equal(v, { verdict: 'kernel-splat', reason: 'kasan: BUG: KASAN: x' });
});

test('precedence: build-failed > kernel-splat > timeout > boot-failed > infra-error > skip > fail', () => {
  const all: VerdictInput = {
    buildError: 'b', bootError: 'o', timeout: 't', infraError: 'i', skipReason: 's',
    splats: [splat('bug', 'BUG: x')], scenarios: [sc('a', 'fail')], problems: ['p'],
  };
  assert.is(decideVerdict(all).verdict, 'build-failed');
  const { buildError: _b, ...noBuild } = all;
  assert.is(decideVerdict(noBuild).verdict, 'kernel-splat');
  assert.is(decideVerdict({ ...noBuild, splats: [] }).verdict, 'timeout');
  const { timeout: _t, ...noTimeout } = { ...noBuild, splats: [] };
  assert.is(decideVerdict(noTimeout).verdict, 'boot-failed');
  const { bootError: _o, ...noBoot } = noTimeout;
  assert.is(decideVerdict(noBoot).verdict, 'infra-error');
  const { infraError: _i, ...noInfra } = noBoot;
  assert.is(decideVerdict(noInfra).verdict, 'skip');
  const { skipReason: _s, ...rest } = noInfra;
  assert.is(decideVerdict(rest).verdict, 'fail');
});

test.run();
