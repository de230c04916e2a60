import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import {
  DEFAULT_CALLS,
  callRate,
  defaultDeadlineS,
  fuzzArgs,
  fuzzOptions,
  ioctlTable,
  parseFuzzSummary,
  summaryProblems,
  unreached,
  untried,
  type FuzzSummary,
} from '../../scenarios/fuzz/model.js';
import { isSplat } from '../../scenarios/lib/kmsg.js';

/** ctx.param as the runner gives it: the run's value, else the fallback. */
function params(set: Record<string, number>) {
  return (name: string, fallback: number) => (name in set ? set[name]! : fallback);
}

test('fuzz options: defaults sized for make test, 2 workers per vCPU, a fresh seed unless one is given', () => {
  const o = fuzzOptions(params({}), 2, () => 77);
  assert.equal(o, { calls: DEFAULT_CALLS, seed: 77, workers: 4, killMs: 40, deadlineS: defaultDeadlineS(DEFAULT_CALLS) });
  assert.is(fuzzOptions(params({ 'fuzz.seed': 5 }), 2, () => 77).seed, 5);
  assert.is(fuzzOptions(params({ 'fuzz.seed': 0 }), 2, () => 77).seed, 0);
  assert.is(fuzzOptions(params({}), 1).workers, 2);
  assert.is(fuzzOptions(params({}), 64).workers, 64, 'capped at what nexus-fuzz takes');
  assert.is(fuzzOptions(params({ 'fuzz.workers': 7 }), 2).workers, 7);
  const big = fuzzOptions(params({ 'fuzz.calls': 20_000_000 }), 2);
  assert.is(big.deadlineS, defaultDeadlineS(20_000_000));
  assert.ok(big.deadlineS > defaultDeadlineS(DEFAULT_CALLS), 'the deadline grows with the calls');
  assert.is(fuzzOptions(params({ 'fuzz.deadline': 30 }), 2).deadlineS, 30);
});

test('fuzz options: a bad parameter is refused with its name', () => {
  assert.throws(() => fuzzOptions(params({ 'fuzz.calls': 0 }), 2), /fuzz\.calls/);
  assert.throws(() => fuzzOptions(params({ 'fuzz.calls': 1.5 }), 2), /fuzz\.calls/);
  assert.throws(() => fuzzOptions(params({ 'fuzz.workers': 65 }), 2), /fuzz\.workers/);
  assert.throws(() => fuzzOptions(params({ 'fuzz.seed': -1 }), 2), /fuzz\.seed/);
  assert.throws(() => fuzzOptions(params({ 'fuzz.kill_ms': 0 }), 2), /fuzz\.kill_ms/);
});

test('nexus-fuzz arguments carry every option', () => {
  assert.equal(fuzzArgs({ calls: 10, seed: 3, workers: 2, killMs: 9, deadlineS: 60 }),
    ['--seed', '3', '--calls', '10', '--workers', '2', '--kill-ms', '9', '--deadline', '60']);
  assert.equal(fuzzArgs({ calls: 10, seed: 3, workers: 2, killMs: 9, deadlineS: 60 }, 77).slice(-2), ['--spare', '77'],
    'the runner is spared: its threads are a team\'s too');
});

function summary(over: Partial<FuzzSummary> = {}): FuzzSummary {
  return {
    seed: 1, workers: 4, target_calls: 1000, calls: 1000, wall_ms: 500, spawned: 10, killed: 8, killed_mid_call: 5,
    exited: 2, stalled: 0, reopens: 3, eperm_checks: 20, violations: 0, deadline_hit: false, violation: '',
    crashed: [], stuck: [], orphans: [],
    ioctls: {
      PORT_CREATE: { calls: 600, ok: 300, efault: 50, enotty: 40, eperm: 10, einval: 0, eintr: 0, other: 0 },
      THREAD_RESUME: { calls: 400, ok: 0, efault: 0, enotty: 390, eperm: 10, einval: 0, eintr: 0, other: 0 },
    },
    ...over,
  };
}

test('the summary is the last line, a JSON object with every field; anything else throws', () => {
  const s = summary();
  assert.equal(parseFuzzSummary(`noise\n${JSON.stringify(s)}\n\n`), s);
  assert.throws(() => parseFuzzSummary(''), /no summary line/);
  assert.throws(() => parseFuzzSummary('nexus-fuzz: /dev/nexus: No such file\n'), /no summary line/);
  const { calls: _calls, ...noCalls } = s;
  assert.throws(() => parseFuzzSummary(JSON.stringify(noCalls)), /calls is not a number/);
  assert.throws(() => parseFuzzSummary(JSON.stringify({ ...s, orphans: 'x' })), /orphans is not a list/);
  assert.throws(() => parseFuzzSummary(JSON.stringify({ ...s, deadline_hit: 0 })), /deadline_hit/);
});

test('problems: broken rules, stalls, crashes, stuck workers and orphans fail; a clean run does not', () => {
  assert.equal(summaryProblems(summary()), []);
  assert.equal(summaryProblems(summary({ deadline_hit: true, calls: 10 })), [], 'a short run is reported, not failed');
  const p = summaryProblems(summary({
    violations: 2, violation: 'PORT_CREATE returned B_OK with id 0', stalled: 1,
    crashed: ['worker 9 ended by signal 11'], stuck: ['worker 12 not reaped: state D'], orphans: ['semaphore 4 owned by dead team 99'],
  }));
  assert.is(p.length, 5);
  assert.match(p[0]!, /2 broken rule\(s\), the first: PORT_CREATE returned B_OK with id 0/);
  assert.match(p.join('\n'), /signal 11/);
  assert.match(p.join('\n'), /state D/);
  assert.match(p.join('\n'), /dead team 99/);
});

test('rates, untried ioctls and the per-ioctl table', () => {
  assert.is(callRate({ calls: 1000, wall_ms: 500 }), 2000);
  assert.is(callRate({ calls: 1000, wall_ms: 0 }), 0);
  assert.equal(untried(summary()), []);
  const s = summary();
  s.ioctls.SEM_DELETE = { calls: 0, ok: 0, efault: 0, enotty: 0, eperm: 0, einval: 0, eintr: 0, other: 0 };
  assert.equal(untried(s), ['SEM_DELETE']);
  const t = ioctlTable(summary()).split('\n');
  assert.match(t[0]!, /^ioctl\s+calls\s+ok\s+efault\s+enotty\s+eperm\s+einval\s+eintr\s+other$/);
  assert.match(t[1]!, /^PORT_CREATE\s+600\s+300\s+50\s+40\s+10\s+0\s+0\s+0$/);
});

test('reach: areas created, cloned and mapped, threads registered and served, once the tree has them', () => {
  const stats = (calls: number, ok: number, enotty = 0) => ({ calls, ok, efault: 0, enotty, eperm: 0, einval: 0, eintr: 0, other: 0 });
  const full = summary({
    calls: 100_000,
    newborns: 50, newborns_registered: 40, newborns_resumed: 30, clone_maps: 12, sigbus: 1,
    ioctls: {
      AREA_CREATE: stats(900, 300), AREA_CLONE: stats(800, 200), AREA_GET_INFO: stats(300, 100), AREA_DELETE: stats(800, 90),
      THREAD_GET_INFO: stats(200, 150), THREAD_WAITFOR: stats(200, 3), THREAD_READ: stats(200, 9),
    },
  });
  assert.equal(unreached(full, { areas: true }), []);
  assert.equal(unreached({ ...full, calls: 500 }, { areas: true }), [], 'too short a run proves nothing');
  const noClone = { ...full, clone_maps: 0, ioctls: { ...full.ioctls, AREA_CLONE: stats(800, 0) } };
  assert.equal(unreached(noClone, { areas: true }), ['AREA_CLONE never answered B_OK', 'no clone was ever mapped']);
  assert.equal(unreached(noClone, { areas: false }), [], 'no /dev/nexus_area: areas are not asked for');
  const noThreads = { ...full, newborns_registered: 0, ioctls: { ...full.ioctls, THREAD_GET_INFO: stats(200, 0, 200), THREAD_READ: stats(200, 0, 200) } };
  assert.equal(unreached(noThreads, { areas: true }), [], 'a tree without threads (all -ENOTTY) is not asked for them');
  const unserved = { ...full, newborns_registered: 0, ioctls: { ...full.ioctls, THREAD_WAITFOR: stats(200, 0) } };
  assert.equal(unreached(unserved, { areas: true }), ['THREAD_WAITFOR never answered B_OK', 'no newborn thread ever registered (SPAWN)']);
});

test('reach: vrefs, caps and watches used and events read, once the guest has the node monitor', () => {
  const stats = (calls: number, ok: number) => ({ calls, ok, efault: 0, enotty: 0, eperm: 0, einval: 0, eintr: 0, other: 0 });
  const names = ['VREF_CREATE', 'VREF_ACQUIRE', 'VREF_RELEASE', 'VREF_OPEN', 'START_WATCHING', 'STOP_WATCHING', 'STOP_NOTIFYING',
    'PORT_WRITE_CAPS', 'PORT_READ_CAPS'];
  const nm = { events: 40, cut: 1, opens_checked: 5, caps_minted: 9, slots_held_max: 12, churn_ops: 900, mounts: 3, umounts: 3, lazy_umounts: 1,
    by_opcode: { created: 20, dropped: 2 } };
  const full = summary({ calls: 100_000, nm, ioctls: Object.fromEntries(names.map((n) => [n, stats(500, 20)])) });
  assert.equal(unreached(full, { areas: false, nodeMonitor: true }), []);
  assert.equal(unreached({ ...full, nm: undefined }, { areas: false, nodeMonitor: false }), [], 'no device: nothing asked');
  const quiet = { ...full, nm: { ...nm, events: 0, caps_minted: 0 }, ioctls: { ...full.ioctls, STOP_WATCHING: stats(500, 0) } };
  assert.equal(unreached(quiet, { areas: false, nodeMonitor: true }),
    ['STOP_WATCHING never answered B_OK', 'no node monitor event was read', 'no READ_CAPS minted a slot']);
});

test('the kernel log lines the suite must fail on are splats', () => {
  for (const line of [
    'BUG: KASAN: slab-use-after-free in nexus_team_pop+0x1c/0x190 [nexus]',
    'WARNING: CPU: 1 PID: 349 at lib/refcount.c:25 refcount_warn_saturate+0x9b/0x110',
    'refcount_t: addition on 0; use-after-free.',
    'refcount_t: underflow; use-after-free.',
    'list_add corruption. prev->next should be next (ffff8881), but was ffff8882.',
    'general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI',
  ]) assert.ok(isSplat(line), line);
  assert.not.ok(isSplat('nexus: loading out-of-tree module taints kernel.'));
  assert.not.ok(isSplat('nexus-fuzz[216]: segfault at 5612cbe5f950 ip 000056108a9d47f4'));
});

// nexus-fuzz on the host: only --list and --dry-run, which never open
// /dev/nexus (nor fork).  `make build` compiles it before the unit tests.
const FUZZ = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-fuzz');

function dryRun(seed: number, calls: number, workers = 2, gens = 1): string {
  return execFileSync(FUZZ, ['--dry-run', String(calls), '--seed', String(seed), '--workers', String(workers), '--gens', String(gens)], {
    encoding: 'utf8', timeout: 30_000, maxBuffer: 64 << 20,
  });
}

test('nexus-fuzz --dry-run: a seed gives the same call sequence every time, per worker and generation', () => {
  assert.ok(existsSync(FUZZ), `${FUZZ} is built (make build)`);
  const a = dryRun(12345, 400, 3, 2);
  assert.is(dryRun(12345, 400, 3, 2), a, 'the same seed, the same sequence');
  assert.is.not(dryRun(12346, 400, 3, 2), a, 'another seed, another sequence');
  const lines = a.trim().split('\n');
  assert.is(lines[0], 'seed 12345 workers 3');
  const of = (w: string) => lines.filter((l) => l.startsWith(`${w} #`)).map((l) => l.replace(/^\S+ #\d+ /, ''));
  assert.is(of('w0.0').length, 400);
  assert.is.not(of('w0.0').join('\n'), of('w1.0').join('\n'), 'each worker has its own sequence');
  assert.is.not(of('w0.0').join('\n'), of('w0.1').join('\n'), 'each generation of a worker too');
  // A worker's sequence does not depend on how many workers there are.
  const alone = dryRun(12345, 400, 1).trim().split('\n').filter((l) => l.startsWith('w0.0 #'));
  assert.equal(alone.map((l) => l.replace(/^\S+ #\d+ /, '')), of('w0.0'));
});

test('nexus-fuzz --dry-run: every description comes up; waits are always bounded', () => {
  const out = dryRun(7, 5000, 4);
  const table = execFileSync(FUZZ, ['--list'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' ')[0]!);
  for (const name of table) assert.ok(out.includes(` ${name} cmd=`), `${name} is called in 20,000 calls`);
  // Flags of calls that may block: a relative or absolute timeout, or both with one <= 0.
  const waits = [...out.matchAll(/=(rel|abs|both)\|0x[0-9a-f]+ \d+=(\S+)/g)];
  assert.ok(waits.length > 1000, 'plenty of waits');
  for (const [, mode, timeout] of waits) {
    if (mode === 'rel') assert.ok(['INT64_MIN', '-1', '0', '1', 'short'].includes(timeout!), `relative ${timeout}`);
    if (mode === 'abs') assert.ok(['INT64_MIN', '-1', '0', 'past', 'now', 'soon'].includes(timeout!), `absolute ${timeout}`);
    if (mode === 'both') assert.ok(['INT64_MIN', '-1', '0'].includes(timeout!), `both ${timeout}`);
  }
  for (const kind of ['NULL', 'unmapped', 'readonly', 'kernel(0xffff800000000000)', 'noncanon', 'edge-', 'misaligned', 'alias'])
    assert.ok(out.includes(`=${kind}`) || out.includes(`@${kind}`), `pointers: ${kind}`);
  for (const v of ['max+1', 'max+2', 'max+3', ':hole', 'INT32_MAX', '4097', '256KiB+1', 'SIZE_MAX', 'no-nul@', 'cmd=size', 'cmd=nr', 'fd=inherited'])
    assert.ok(out.includes(v), `choices: ${v}`);
});

test('nexus-fuzz --dry-run: threads and areas get their own hostile values', () => {
  // 8 workers, 4 generations each: every persona (a creator makes the areas).
  const out = dryRun(11, 1000, 8, 4);
  for (const v of ['=64KiB+1', '=-1 ', '=INT64_MIN', 'thread:own', 'thread:dead', 'thread:parent', 'area:hole', 'area:max+1',
    'fd:memfd ', 'fd:memfd-other-size', 'fd:memfd-readonly', 'fd:memfd-sealed', 'fd:hugetlb', 'fd:closed', 'fd:-1', 'fd:big',
    'fd:not-memfd(dev-null)', 'fd:not-memfd(pipe)', 'fd:not-memfd(eventfd)', 'fd:not-memfd(dev-nexus)', 'fd:not-memfd(shm-file)', 'fd:clone-fd',
    'size:0', 'size:4095', 'size:unaligned', 'size:2MiB', 'size:1TiB', 'size:UINT64_MAX', 'size:-4096',
    'prot:all', 'prot:random', 'lock:bad', 'name:no-nul', 'name:long'])
    assert.ok(out.includes(v), `thread and area choices: ${v}`);
  for (const persona of ['mixed', 'creator', 'destroyer', 'querier', 'waiter'])
    assert.ok(dryRun(1, 1, 64, 4).includes(`persona ${persona}`), `persona ${persona}`);
});

test('nexus-fuzz --list: every ioctl of kernel/include/nexus.h is in the table, on its device', () => {
  const header = readFileSync(join(ROOT, 'kernel', 'include', 'nexus.h'), 'utf8');
  const ioctls = [...header.matchAll(/^#define\s+NEXUS_(\w+)\s+(?:\\\s*)?_IO(?:WR|R|W)?\(/gm)].map((m) => m[1]!);
  assert.ok(ioctls.length >= 37, `found the ioctls (${ioctls.length})`);
  const rows = execFileSync(FUZZ, ['--list'], { encoding: 'utf8' }).trim().split('\n').map((l) => l.split(' '));
  const device = new Map(rows.map(([name, dev]) => [name!, dev!]));
  const nodeMonitor = (n: string) => n.startsWith('VREF_') || /^(START|STOP)_(WATCHING|NOTIFYING)$/.test(n);
  for (const name of ioctls) {
    assert.ok(device.has(name), `${name} is fuzzed`);
    assert.is(device.get(name), name.startsWith('AREA_') ? '/dev/nexus_area' : nodeMonitor(name) ? '/dev/nexus_node_monitor' : '/dev/nexus',
      `${name}'s device`);
  }
  const threads = ioctls.filter((n) => n.startsWith('THREAD_'));
  const areas = ioctls.filter((n) => n.startsWith('AREA_'));
  assert.is(threads.length, 11, 'the 11 thread ioctls');
  assert.is(areas.length, 9, 'the 9 area ioctls');
  assert.is(ioctls.filter(nodeMonitor).length, 7, 'the 4 vref and 3 watch ioctls');
  assert.ok(device.has('PORT_WRITE_CAPS') && device.has('PORT_READ_CAPS'), 'the capability messages');
});

test('nexus-fuzz --dry-run: vrefs, watches and capability messages get their own hostile values', () => {
  const out = dryRun(13, 2000, 8, 4);
  for (const v of ['node:dir', 'node:file-ro', 'node:file-append', 'node:o-path', 'node:mount', 'node:-1', 'node:closed', 'node:big',
    'node:other(pipe)', 'node:other(socket)', 'node:other(dev-nexus-node-monitor)', 'key:own', 'key:foreign', 'key:flipped', 'key:0',
    'key:random', 'mode:valid', 'mode:o-creat', 'mode:accmode-3', 'watch:valid', 'watch:mount', 'watch:0', 'watch:high-bit',
    'token:small', 'node-ref:volume', 'node-ref:file', 'vref:own', 'vref:parent', '=1025', '=SIZE_MAX'])
    assert.ok(out.includes(v), `node monitor choices: ${v}`);
});

test('nexus-fuzz refuses bad usage before doing anything', () => {
  for (const args of [['--workers', '0'], ['--workers', '65'], ['--calls'], ['--bogus', '1'], ['--seed', '-3']]) {
    const r = spawnSync(FUZZ, args, { encoding: 'utf8', timeout: 10_000 });
    assert.is(r.status, 2, `nexus-fuzz ${args.join(' ')} exits 2`);
    assert.match(r.stderr, /usage: nexus-fuzz/);
  }
});

test.run();
