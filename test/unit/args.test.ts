// The command line: options into RunOptions, bad usage refused with a reason
// (exit status 2 from the real CLI), and the parse feeding the plan.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { HELP, parse, parseParams, UsageError } from '../../lab/args.js';
import { planRun } from '../../lab/run.js';
import { ROOT } from '../helpers.js';

const at = { root: ROOT, env: {} };
const opts = (...argv: string[]) => parse(argv, at).options;

function refused(argv: string[], message: RegExp): void {
  try {
    parse(argv, at);
  } catch (e) {
    assert.instance(e, UsageError, `${argv.join(' ')}: a usage error`);
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`${argv.join(' ')} was accepted`);
}

test('defaults: help, no vCPU count (the plan uses 1), no parameters, paths under the root', () => {
  const p = parse([], at);
  assert.is(p.command, 'help');
  assert.is(p.options.cpus, undefined);
  assert.equal(p.options.params, {});
  assert.is(p.options.sourcePath, join(ROOT, 'kernel'));
  assert.is(p.options.cacheDir, join(ROOT, '.cache'));
  assert.is(parse(['run'], { root: ROOT, env: { NEXUS_LAB_CACHE: '/tmp/c' } }).options.cacheDir, '/tmp/c');
});

test('--cpus takes an integer from 1 to 64', () => {
  assert.is(opts('plan', '--cpus', '2').cpus, 2);
  assert.is(opts('run', '--cpus=64').cpus, 64);
  for (const bad of ['0', '65', '1.5', 'two', '', '0x2', '2e1', '=-1']) {
    refused(['plan', bad.startsWith('=') ? `--cpus${bad}` : '--cpus', ...(bad.startsWith('=') ? [] : [bad])], /--cpus takes an integer from 1 to 64, not/);
  }
  refused(['plan', '--cpus'], /--cpus/);
});

test('--param NAME=VALUE, repeatable; the value is everything after the first =', () => {
  assert.equal(opts('run', '--param', 'fuzz.calls=1000', '--param', 'stress.seed=a=b', '--param', 'x_y-z.1=').params, {
    'fuzz.calls': '1000',
    'stress.seed': 'a=b',
    'x_y-z.1': '',
  });
  refused(['run', '--param', 'fuzz.calls'], /--param takes NAME=VALUE, not 'fuzz\.calls'/);
  for (const name of ['Fuzz.calls', '1calls', '', '.x', 'fuzz calls', 'fuzz/calls']) {
    refused(['run', '--param', `${name}=1`], /the name must match \[a-z\]\[a-z0-9_\.-\]\*/);
  }
  refused(['run', '--param', 'a=1', '--param', 'a=2'], /run parameter a is given twice \(1 and 2/);
  assert.equal(opts('run', '--param', 'a=1', '--param', 'a=1').params, { a: '1' }, 'the same value twice is no conflict');
});

test('--fuzz-calls and --stress-teams are --param fuzz.calls and stress.teams, positive integers', () => {
  assert.equal(opts('run', '--fuzz-calls', '1000000', '--stress-teams', '10000', '--timeout-scale', '10').params, {
    'fuzz.calls': '1000000',
    'stress.teams': '10000',
  });
  assert.equal(opts('run', '--fuzz-calls', '50', '--param', 'fuzz.calls=50').params, { 'fuzz.calls': '50' });
  refused(['run', '--fuzz-calls', '10', '--param', 'fuzz.calls=20'], /run parameter fuzz\.calls is given twice \(20 and 10, the second by --fuzz-calls\)/);
  refused(['run', '--fuzz-calls', '0'], /--fuzz-calls takes a positive integer, not '0'/);
  refused(['run', '--stress-teams', '1.5'], /--stress-teams takes a positive integer/);
  refused(['run', '--stress-teams', ''], /--stress-teams takes a positive integer/);
  assert.equal(parseParams([], { 'fuzz-calls': '3' }), { 'fuzz.calls': '3' });
});

test('unknown options and bad values of the other options are usage errors too', () => {
  refused(['run', '--cpu', '2'], /Unknown option '--cpu'/);
  refused(['run', '--shard', '3/2'], /1 <= K <= N/);
  refused(['run', '--accel', 'hvf'], /--accel takes auto, kvm or tcg/);
  refused(['run', '--jobs', '0'], /--jobs takes a positive integer/);
});

test('the parse feeds the plan: --suites races is one 2-vCPU job, --cpus 2 one job of every suite', async () => {
  const races = await planRun(opts('plan', '--kernels', '6.12-cloud', '--suites', 'races'));
  assert.equal(races.map((j) => [j.id, j.cpus, j.suites]), [['6.12-cloud-quick-2cpu', 2, ['races']]]);
  const smoke = await planRun(opts('plan', '--kernels', '6.12-cloud', '--suite', 'smoke'));
  assert.equal(smoke.map((j) => [j.id, j.cpus]), [['6.12-cloud-quick', 1]]);
  const all = await planRun(opts('plan', '--cpus', '2'));
  assert.equal(all.map((j) => [j.id, j.cpus, j.suites.length]), [
    ['6.1-cloud-quick-2cpu', 2, 12],
    ['6.12-cloud-quick-2cpu', 2, 12],
  ]);
  const second = await planRun(opts('plan', '--shard', '2/2'));
  assert.equal(second.map((j) => j.id), ['6.1-cloud-quick-2cpu', '6.12-cloud-quick-2cpu']);
});

test('--plan nightly: the debug kernels, one 2-vCPU job each of the quick suites and faults, nightly sizes; given options win', async () => {
  const o = opts('plan', '--plan', 'nightly');
  assert.equal(o.kernels, ['debug']);
  assert.is(o.cpus, 2);
  assert.equal(o.params, { 'fuzz.calls': '1000000', 'fuzz.deadline': '7200', 'stress.teams': '10000', 'stress.deadline': '7200' });
  assert.is(o.timeoutScale, 2);
  const jobs = await planRun(o);
  assert.equal(jobs.map((j) => [j.id, j.cpus]), [['6.1-debug-quick-2cpu', 2], ['6.12-debug-quick-2cpu', 2]]);
  for (const j of jobs) {
    assert.ok(['smoke', 'node-monitor', 'races', 'fuzz', 'stress', 'faults'].every((s) => j.suites.includes(s)), j.suites.join());
  }
  assert.equal((await planRun(opts('plan', '--plan', 'nightly', '--shard', '2/2'))).map((j) => j.id), ['6.12-debug-quick-2cpu'], 'one shard per kernel');
  const mine = opts('plan', '--plan', 'nightly', '--kernels', '6.12-debug', '--fuzz-calls', '5', '--param', 'x.y=1', '--timeout-scale', '3');
  assert.equal(mine.kernels, ['6.12-debug']);
  assert.equal(mine.params, { 'fuzz.calls': '5', 'fuzz.deadline': '7200', 'stress.teams': '10000', 'stress.deadline': '7200', 'x.y': '1' });
  assert.is(mine.timeoutScale, 3);
  refused(['plan', '--plan', 'weekly'], /unknown plan 'weekly' \(known: nightly\)/);
  assert.match(HELP, /--plan NAME[\s\S]*nightly\s+debug kernels/);
});

test('the help says why one vCPU is the default, that races need two, and how a nightly sizes fuzz and stress', () => {
  assert.match(HELP, /--cpus N/);
  assert.match(HELP, /races, hardening, fuzz and\s+stress need 2/);
  assert.match(HELP, /2-core host, 1-vCPU guests let two jobs run in parallel/);
  assert.match(HELP, /--fuzz-calls 20000000 --stress-teams 50000\s+--param races.seconds=60 --timeout-scale 10/);
  assert.match(HELP, /--param NAME=VALUE/);
});

test('the real CLI: plan shows the vCPUs of each job, and bad usage exits 2 with the reason', () => {
  const cli = (...argv: string[]) => spawnSync(process.execPath, [join(ROOT, 'dist', 'lab', 'cli.js'), ...argv], { encoding: 'utf8', timeout: 30_000 });
  const p = cli('plan');
  assert.is(p.status, 0, p.stderr);
  assert.match(p.stdout, /^job\s+kernel package\s+cpus\s+suites$/m);
  assert.match(p.stdout, /^6\.1-cloud-quick\s+linux-image-6\.1\.\*-cloud-amd64-unsigned \(newest\)\s+1\s+smoke,ports,sems,teams,threads,areas,vrefs,node-monitor$/m);
  assert.match(p.stdout, /^6\.12-cloud-quick-2cpu\s+\S+ \(newest\)\s+2\s+races,hardening,fuzz,stress$/m);
  assert.match(p.stdout, /^4 jobs$/m);
  const json = JSON.parse(cli('plan', '--json', '--kernels', '6.1-cloud', '--cpus', '3').stdout) as { id: string; cpus: number }[];
  assert.equal(json.map((j) => [j.id, j.cpus]), [['6.1-cloud-quick-3cpu', 3]]);
  const bad = cli('plan', '--cpus', '0');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /nexus-lab: --cpus takes an integer from 1 to 64, not '0'/);
  const badParam = cli('run', '--param', 'nope');
  assert.is(badParam.status, 2);
  assert.match(badParam.stderr, /--param takes NAME=VALUE, not 'nope'/);
});

test.run();
