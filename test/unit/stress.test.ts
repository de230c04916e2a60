import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import {
  DEFAULT_ALIVE,
  DEFAULT_MAX_LIFE_MS,
  DEFAULT_TEAMS,
  defaultDeadlineS,
  parseStressSummary,
  peakObjects,
  stressArgs,
  stressOptions,
  stormUnreached,
  stressProblems,
  teamRate,
  type StressSummary,
} from '../../scenarios/stress/model.js';

function params(set: Record<string, number>) {
  return (name: string, fallback: number) => (name in set ? set[name]! : fallback);
}

test('stress options: defaults sized for make test; the deadline grows with the teams', () => {
  assert.equal(stressOptions(params({}), () => 9), {
    teams: DEFAULT_TEAMS, alive: DEFAULT_ALIVE, seed: 9, maxLifeMs: DEFAULT_MAX_LIFE_MS, deadlineS: defaultDeadlineS(DEFAULT_TEAMS),
    nodeMonitor: 1,
  });
  assert.throws(() => stressOptions(params({ 'stress.node_monitor': 2 })), /stress\.node_monitor/);
  assert.equal(stressArgs({ teams: 10, alive: 4, seed: 2, maxLifeMs: 50, deadlineS: 60, nodeMonitor: 0 }).slice(-2), ['--node-monitor', '0'],
    'without the node monitor, to compare');
  const nightly = stressOptions(params({ 'stress.teams': 100_000, 'stress.seed': 4 }));
  assert.is(nightly.seed, 4);
  assert.ok(nightly.deadlineS > defaultDeadlineS(DEFAULT_TEAMS));
  assert.throws(() => stressOptions(params({ 'stress.alive': 1 })), /stress\.alive/);
  assert.throws(() => stressOptions(params({ 'stress.alive': 257 })), /stress\.alive/);
  assert.throws(() => stressOptions(params({ 'stress.teams': 0 })), /stress\.teams/);
  assert.equal(stressArgs({ teams: 10, alive: 4, seed: 2, maxLifeMs: 50, deadlineS: 60 }),
    ['--teams', '10', '--alive', '4', '--seed', '2', '--max-life-ms', '50', '--deadline', '60']);
});

function summary(over: Partial<StressSummary> = {}): StressSummary {
  return {
    seed: 1, teams: 100, alive: 8, spawned: 100, wall_ms: 2000, exited: 10, overdue: 0, violations: 0,
    deadline_hit: false, peak_table_objects: 40, violation: '',
    fates: { early: 20, blocked: 40, random: 30, exit: 10 },
    killed_in: { start: 5, creating: 3, running: 2, blocked: 80, done: 0 },
    waits: { ok: 50, bad_id: 60, timed_out: 5, would_block: 0, interrupted: 0, no_memory: 0, other: 0 },
    peak: { teams: 8, ports: 20, sems: 18, port_messages: 7, port_bytes: 1000, waiters: 7 },
    stuck: [], crashed: [],
    ...over,
  };
}

test('the summary parses; a line without it or a field throws', () => {
  const s = summary();
  assert.equal(parseStressSummary(`nexus-stress: 10.0 s\n${JSON.stringify(s)}\n`), s);
  assert.throws(() => parseStressSummary('x'), /no summary line/);
  assert.throws(() => parseStressSummary(JSON.stringify({ ...s, waits: null })), /waits is missing/);
  assert.throws(() => parseStressSummary(JSON.stringify({ ...s, stuck: {} })), /stuck is not a list/);
});

test('problems, rates and peaks', () => {
  assert.equal(stressProblems(summary()), []);
  assert.equal(stressProblems(summary({ deadline_hit: true })), [], 'a storm cut short is reported, not failed');
  const p = stressProblems(summary({ violations: 1, violation: 'team 5 should have ended by itself', stuck: ['team 7 not reaped: state D'], crashed: ['team 8 ended by signal 11'] }));
  assert.is(p.length, 3);
  assert.match(p.join('\n'), /should have ended by itself/);
  assert.match(p.join('\n'), /state D/);
  assert.match(p.join('\n'), /signal 11/);
  assert.is(teamRate({ spawned: 100, wall_ms: 2000 }), 50);
  assert.is(teamRate({ spawned: 1, wall_ms: 3000 }), 0.3);
  assert.is(peakObjects(summary()), 38, 'ports + sems from the counters');
  assert.is(peakObjects(summary({ peak: {} })), 40, 'without counters: the ids the teams published');
});

test('peaks count threads and areas where the tree has them', () => {
  assert.is(peakObjects(summary({ peak: { ports: 20, sems: 18, threads: 30, areas: 12 } })), 80);
});

test('reach: teams killed while blocked in each thread wait and while touching areas, once those work', () => {
  const killed = { port_read: 9, port_msg_info: 9, port_write: 9, sem_acquire: 9, thread_wait: 3, thread_send: 2, thread_receive: 4, area_touch: 5 };
  const full = summary({ spawned: 5000, created: { port: 9000, sem: 9000, thread: 8000, area: 7000 }, killed_blocked_in: killed });
  const all = { threads: true, areas: true };
  assert.equal(stormUnreached(full, all), []);
  assert.equal(stormUnreached({ ...full, spawned: 999 }, all), [], 'a small storm proves nothing');
  assert.equal(stormUnreached(summary({ spawned: 5000 }), all), [], 'an older driver says nothing about it');
  assert.equal(stormUnreached({ ...full, killed_blocked_in: { ...killed, thread_send: 0, area_touch: 0 } }, all),
    ['no team was killed while blocked in thread_send', 'no team was killed while blocked in area_touch']);
  assert.equal(stormUnreached({ ...full, created: { port: 1, sem: 1, thread: 0, area: 0 } }, all),
    ['no thread was ever created', 'no area was ever created']);
  assert.equal(stormUnreached({ ...full, created: { port: 1, sem: 1, thread: 0, area: 0 } }, { threads: false, areas: false }), [],
    'a guest without threads or areas is not asked for them');
});

test('reach: caps and events read while killed, events flowed, the tmpfs came and went, once the guest has the node monitor', () => {
  const killed = { port_read: 9, port_msg_info: 9, port_write: 9, sem_acquire: 9, thread_wait: 3, thread_send: 2, thread_receive: 4,
    area_touch: 5, caps_write: 1, caps_read: 4, event_read: 6 };
  const nm = { events: 300, caps_sent: 40, caps_refused: 30, slots_minted: 25, forged_refused: 50, churn_ops: 4000, mounts: 90, umounts: 90,
    lazy_umounts: 20, watches: { ok: 500, node_gone: 40, port_gone: 3, other: 0 }, by_opcode: { created: 100 } };
  const full = summary({ spawned: 5000, created: { port: 9, sem: 9, thread: 8, area: 7, vref: 6, watch: 5 }, killed_blocked_in: killed, nm });
  const all = { threads: true, areas: true, nodeMonitor: true };
  assert.equal(stormUnreached(full, all), []);
  assert.equal(stormUnreached({ ...full, nm: undefined }, { threads: true, areas: true }), [], 'no node monitor: not asked for');
  assert.equal(stormUnreached({ ...full, killed_blocked_in: { ...killed, event_read: 0 }, nm: { ...nm, events: 0, umounts: 0 } }, all),
    ['no team was killed while blocked in event_read', 'no node monitor event was read', 'the tmpfs was never mounted and unmounted under the watches']);
  assert.is(peakObjects(summary({ peak: { ports: 20, sems: 18, vrefs: 7, watches: 5 } })), 50, 'vrefs and watches are live objects too');
});

test('nexus-stress refuses bad usage before it opens anything', () => {
  const STRESS = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-stress');
  for (const args of [['--alive', '1'], ['--alive', '300'], ['--teams'], ['--nope', '2']]) {
    const r = spawnSync(STRESS, args, { encoding: 'utf8', timeout: 10_000 });
    assert.is(r.status, 2, `nexus-stress ${args.join(' ')} exits 2`);
    assert.match(r.stderr, /usage: nexus-stress/);
  }
});

test.run();
