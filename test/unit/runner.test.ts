// The job config the lab writes (job.json) read by the real guest runner, on
// the host: a copy of the compiled scenario bundle whose suite registry holds
// one harmless probe suite, so no real suite (nor /dev/nexus) is touched.
// What the runner itself probes finds no Nexus device on the host.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { jobConfig } from '../../lab/job.js';
import { EventFolder } from '../../lab/results.js';
import { parseEvent, type GuestEvent, type RunStart } from '../../scenarios/runner/events.js';
import { ROOT } from '../helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'nexus-runner-'));
const bundle = join(dir, 'scenarios');
cpSync(join(ROOT, 'dist', 'scenarios', 'runner'), join(bundle, 'runner'), { recursive: true });
cpSync(join(ROOT, 'dist', 'scenarios', 'lib'), join(bundle, 'lib'), { recursive: true });
// The runner probes the modules through the binding (on the host there is no /dev/nexus: nothing is found).
cpSync(join(ROOT, 'dist', 'scenarios', 'native'), join(bundle, 'native'), {
  recursive: true,
  filter: (f) => !/nexus-[a-z-]+$/.test(f),
});
writeFileSync(join(dir, 'package.json'), '{"type":"module"}\n');
writeFileSync(
  join(bundle, 'suites.js'),
  "export const SUITES = [{ name: 'probe', description: 'reports what it was given' }];\nexport function suiteNames() { return ['probe']; }\n",
);
mkdirSync(join(bundle, 'probe'));
writeFileSync(
  join(bundle, 'probe', 'index.js'),
  `export const suite = { name: 'probe', scenarios: [{ name: 'params', run(ctx) {
    ctx.metric('calls', ctx.param('fuzz.calls', 5), 'calls');
    ctx.metric('teams', ctx.param('stress.teams', 7), 'teams');
    ctx.metric('cpus', ctx.cpus, 'cpus');
  } }] };\n`,
);

function runGuest(params: Record<string, string>): { status: number | null; events: GuestEvent[] } {
  const config = join(dir, 'job.json');
  writeFileSync(config, jobConfig('r1', { id: 'k-quick', suites: ['probe'] }, params));
  const r = spawnSync(process.execPath, [join(bundle, 'runner', 'main.js'), '--config', config], { encoding: 'utf8', timeout: 30_000 });
  const events = r.stdout.split('\n').map(parseEvent).filter((e): e is GuestEvent => e !== undefined);
  return { status: r.status, events };
}

function metrics(events: GuestEvent[]): Record<string, number> {
  return Object.fromEntries(events.flatMap((e) => (e.type === 'metric' ? [[e.name, e.value]] : [])));
}

test('the runner reports the vCPUs it sees and the parameters it was given in run-start', () => {
  const { status, events } = runGuest({ 'fuzz.calls': '1000000' });
  assert.is(status, 0);
  const start = events[0] as RunStart;
  assert.is(start.type, 'run-start');
  assert.is(start.cpus, availableParallelism());
  assert.equal(start.params, { 'fuzz.calls': '1000000' });
  const folder = new EventFolder();
  for (const e of events) folder.add(e);
  assert.is(folder.guest?.cpus, availableParallelism(), 'the lab keeps what the guest saw');
  assert.ok(folder.runEnded);
});

test('scenarios read the run parameters of job.json, and their fallbacks when unset', () => {
  const { events } = runGuest({ 'fuzz.calls': '1000000' });
  assert.equal(metrics(events), { calls: 1_000_000, teams: 7, cpus: availableParallelism() });
  assert.equal(metrics(runGuest({}).events), { calls: 5, teams: 7, cpus: availableParallelism() });
});

test('a parameter that is not a number fails the scenario that reads it, with its name', () => {
  const { status, events } = runGuest({ 'stress.teams': 'many' });
  assert.is(status, 1);
  const end = events.find((e) => e.type === 'scenario-end');
  assert.ok(end && end.type === 'scenario-end');
  if (end?.type === 'scenario-end') {
    assert.is(end.status, 'error');
    assert.match(end.reason ?? '', /stress\.teams=many is not a number/);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
