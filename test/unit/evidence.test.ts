import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { declaredPrimitives, evidenceMatrix, evidenceTable, PRIMITIVES } from '../../lab/evidence.js';
import { EventFolder, SUITE_SKIPPED, type JobRecord } from '../../lab/results.js';
import type { ScenarioResult } from '../../lab/verdict.js';
import type { Features, Primitive } from '../../scenarios/runner/events.js';
import { lacking, summarize } from '../../scenarios/runner/probe.js';
import { idsBetween, MAX_IDS } from '../../scenarios/runner/orphans.js';
import { listAll, parseSyscall } from '../../scenarios/lib/abi-counters.js';
import { ROOT } from '../helpers.js';

const sc = (suite: string, name: string, status: ScenarioResult['status'], reason?: string): ScenarioResult =>
  ({ suite, name, status, durationMs: 1, failures: [], metrics: [], ...(reason ? { reason } : {}) });

function features(absent: Primitive[] = []): Features {
  const primitives = Object.fromEntries(PRIMITIVES.map((p) => [p, { present: !absent.includes(p), missing: absent.includes(p) ? ['X'] : [] }]));
  return { devices: {}, ioctls: {}, primitives: primitives as Features['primitives'], counters: false };
}

function job(id: string, kernel: string, over: Partial<JobRecord>): JobRecord {
  return {
    id, kernel: { id: kernel }, profile: 'quick', suites: [], cpus: 1, phase: 'done', phases: {}, scenarios: [], splats: [],
    counters: [], problems: [], files: {}, verdict: 'pass', build: { ok: true, cached: false, warnings: 0, durationMs: 1, modules: [] }, ...over,
  };
}

test('evidence: each primitive reaches the highest level whose lower levels all hold, per kernel', () => {
  const core = job('a-quick', '6.1', {
    suites: ['smoke', 'ports', 'sems', 'areas'],
    features: features(['vrefs', 'node-monitor']),
    scenarios: [sc('smoke', 'x', 'pass'), sc('ports', 'x', 'pass'), sc('ports', 'y', 'skip', 'no port_bytes'), sc('sems', 'x', 'fail'), sc('areas', 'x', 'pass')],
  });
  const storm = job('a-quick-2cpu', '6.1', { suites: ['fuzz', 'stress'], features: features(['vrefs', 'node-monitor']), scenarios: [sc('fuzz', 'x', 'pass'), sc('stress', 'x', 'pass')] });
  const perf = job('a-perf', '6.1', { suites: ['perf-core'], features: features(['vrefs', 'node-monitor']), scenarios: [sc('perf-core', 'x', 'pass')] });
  const broken = job('b-quick', '6.12', { verdict: 'build-failed', build: { ok: false, cached: false, warnings: 0, durationMs: 1, modules: [] } });
  const m = evidenceMatrix([core, storm, perf, broken], ['teams', 'ports', 'sems', 'areas', 'vrefs']);
  assert.equal(m['6.1']!.ports, { level: 'perf', reached: ['source', 'build', 'load', 'functional', 'stress', 'perf'] });
  assert.equal(m['6.1']!.sems.level, 'load', 'a failed scenario stops sems at load, even with perf above it');
  assert.equal(m['6.1']!.sems.reached, ['source', 'build', 'load', 'stress', 'perf']);
  assert.equal(m['6.1']!.areas.level, 'stress', 'no perf-ipc run: areas stop at stress');
  assert.equal(m['6.1']!.teams.level, 'load', 'the teams suite did not run: smoke alone is not all of teams');
  assert.equal(m['6.1']!.vrefs.level, 'build', 'declared and built, but the probe did not find it');
  assert.equal(m['6.1']!.threads.level, 'none', 'not declared');
  assert.equal(m['6.12']!.ports.level, 'source');
  const text = evidenceTable(m);
  assert.match(text, /^primitive\s+6\.1\s+6\.12$/m);
  assert.match(text, /^sems\s+load \(\+stress,perf\)\s+source$/m);
});

test('evidence: a job that ended in a splat proves nothing above load; a suite skipped whole is not run', () => {
  const splat = job('k', '6.1', { verdict: 'kernel-splat', suites: ['ports'], features: features(), scenarios: [sc('ports', 'x', 'pass')] });
  assert.is(evidenceMatrix([splat], ['ports']).k?.ports.level ?? evidenceMatrix([splat], ['ports'])['6.1']!.ports.level, 'load');
  const skipped = job('k', '6.1', { suites: ['areas'], features: features(['areas']), scenarios: [sc('areas', SUITE_SKIPPED, 'skip', 'this tree lacks areas')] });
  assert.is(evidenceMatrix([skipped], ['areas'])['6.1']!.areas.level, 'build');
});

test('a tree declares the primitives its sources name; ours declares them all', async () => {
  assert.equal(await declaredPrimitives(join(ROOT, 'kernel')), [...PRIMITIVES]);
  const dir = mkdtempSync(join(tmpdir(), 'nexus-decl-'));
  try {
    mkdirSync(join(dir, 'src'));
    writeFileSync(join(dir, 'src', 'ipc.c'), 'case NEXUS_PORT_CREATE: /* team */\ncase NEXUS_SEM_CREATE:\n');
    assert.equal(await declaredPrimitives(dir), ['teams', 'ports', 'sems']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('feature probing: a primitive is present when its devices exist and one of its ioctls answers', () => {
  const devices = { '/dev/nexus': true, '/dev/nexus_area': false, '/dev/nexus_node_monitor': true };
  const ioctls = {
    PORT_CREATE: 'present', PORT_WRITE_CAPS: 'enotty', SEM_CREATE: 'enotty', SEM_INFO: 'enotty', THREAD_GET_INFO: 'present',
    AREA_CREATE: 'no-device', START_WATCHING: 'present', VREF_CREATE: 'enotty',
  } as const;
  const p = summarize(devices, ioctls);
  assert.ok(p.teams.present);
  assert.ok(p.ports.present, 'some port ioctls answer');
  assert.ok(p.ports.missing.includes('PORT_FIND'), 'the ones that do not are named');
  assert.not.ok(p.sems.present, 'every sem ioctl answers ENOTTY');
  assert.not.ok(p.areas.present);
  assert.ok(p.areas.missing.includes('/dev/nexus_area'));
  assert.not.ok(p.vrefs.present);
  assert.ok(p['node-monitor'].present);
  const f: Features = { devices, ioctls: { ...ioctls }, primitives: p, counters: false };
  assert.is(lacking(f, ['ports', 'node-monitor']), undefined);
  assert.match(lacking(f, ['sems'])!, /^this tree lacks sems \(missing: SEM_CREATE, /);
  assert.is(lacking(f, ['PORT_WRITE_CAPS']), 'this tree lacks PORT_WRITE_CAPS (answers ENOTTY)');
  assert.is(lacking(f, ['AREA_CREATE']), 'this tree lacks AREA_CREATE (its device is missing)');
});

test('a suite skipped whole folds into one skipped result with the reason; orphan scans land on their scenario', () => {
  const f = new EventFolder();
  f.add({ type: 'features', t: 0, features: features(['areas']) });
  f.add({ type: 'suite-skip', t: 1, suite: 'areas', reason: 'this tree lacks areas (missing: /dev/nexus_area)' });
  f.add({ type: 'scenario-start', t: 2, suite: 'ports', scenario: 'p' });
  f.add({ type: 'orphans', t: 3, suite: 'ports', scenario: 'p', scanned: 12, found: ['port 7 of team 99'] });
  f.add({ type: 'scenario-end', t: 4, suite: 'ports', scenario: 'p', status: 'fail', durationMs: 2 });
  assert.equal(f.features?.primitives.areas.present, false);
  assert.equal(f.scenarios[0], { ...sc('areas', SUITE_SKIPPED, 'skip', 'this tree lacks areas (missing: /dev/nexus_area)'), durationMs: 0 });
  assert.equal(f.scenarios[1]!.orphans, { scanned: 12, found: ['port 7 of team 99'] });
});

test('orphan scan ids: strictly between the marks, the newest MAX_IDS', () => {
  assert.equal(idsBetween(10, 14), [11, 12, 13]);
  assert.equal(idsBetween(10, 11), []);
  assert.equal(idsBetween(undefined, 11), []);
  const many = idsBetween(1, 1 + MAX_IDS * 2);
  assert.is(many.length, MAX_IDS);
  assert.is(many[many.length - 1], MAX_IDS * 2);
});

test('ABI counts: /proc syscall lines and iteration to the end', () => {
  assert.equal(parseSyscall('16 0x3 0xc0386e1f 0x7ffd0 0x0 0x0 0x0 0x7ffc 0x7f00\n'), { nr: 16, arg0: 3 });
  assert.is(parseSyscall('running\n'), undefined);
  assert.is(parseSyscall('-1 0x7ffc 0x7f00\n'), undefined);
  const items = [5, 9, 12];
  const next = (cookie: number) => {
    const i = items.findIndex((x) => x > cookie);
    return i < 0 ? { status: -1, cookie } : { status: 0, cookie: items[i]!, info: items[i]! };
  };
  assert.equal(listAll(next), [5, 9, 12]);
});

test.run();
