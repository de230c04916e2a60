import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Ctx } from '../../scenarios/runner/api.js';
import { checkNativeRun, checkNativeSummary, type NativeRun } from '../../scenarios/lib/proc.js';
import { counterDrift, kernelSplats, parseMeminfo, parseProcStat, parseSummaryLine } from '../../scenarios/lib/storm.js';

test('/proc/<pid>/stat: pid, command (spaces and parentheses too), state, parent', () => {
  assert.equal(parseProcStat('216 (nexus-fuzz) S 1 216 216 0 -1 4194560 120 0 0 0'),
    { pid: 216, comm: 'nexus-fuzz', state: 'S', ppid: 1 });
  assert.equal(parseProcStat('31 (a (b) c) D 7 31 31 0 -1'), { pid: 31, comm: 'a (b) c', state: 'D', ppid: 7 });
  assert.is(parseProcStat(''), undefined);
  assert.is(parseProcStat('12 nexus S 1'), undefined);
  assert.is(parseProcStat('12 (x)'), undefined);
});

test('/proc/meminfo: fields in kB, including the ones with parentheses', () => {
  const m = parseMeminfo('MemTotal:        1004356 kB\nSUnreclaim:        23412 kB\nActive(anon):      1234 kB\nHugePages_Total:       0\n');
  assert.equal(m, { MemTotal: 1004356, SUnreclaim: 23412, 'Active(anon)': 1234, HugePages_Total: 0 });
});

test('counter drift: only the Nexus counters the baseline has, and only when they differ', () => {
  const base = { teams: 1, ports: 0, sems: 0, port_messages: 0, port_bytes: 0, waiters: 0 };
  assert.equal(counterDrift(base, { ...base }), {});
  assert.equal(counterDrift(base, { ...base, ports: 3, waiters: 1, other: 9 }), { ports: [0, 3], waiters: [0, 1] });
  assert.equal(counterDrift({ teams: 1 }, { teams: 1, ports: 5 }), {}, 'a counter the tree does not have is not compared');
  assert.equal(counterDrift(base, { teams: 1 }), { ports: [0, undefined], sems: [0, undefined], port_messages: [0, undefined], port_bytes: [0, undefined], waiters: [0, undefined] });
});

test('kernel splats: a process\'s trap is not one of them', () => {
  const lines = [
    '370: traps: nexus-fuzz[561] general protection fault ip:7fba39b31e5b sp:7fffd6afe3c0 error:0 in ld-linux-x86-64.so.2',
    '380: refcount_t: addition on 0; use-after-free.',
    '381: general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI',
  ];
  assert.equal(kernelSplats(lines), lines.slice(1));
  assert.equal(kernelSplats([]), []);
});

test('a summary line: the last one, with every field of its type; anything else throws naming the program', () => {
  const fields = { numbers: ['calls'], records: ['tally'], lists: ['stuck'] };
  const v = { calls: 3, tally: {}, stuck: [], deadline_hit: false };
  assert.equal(parseSummaryLine('nexus-x', `noise\n${JSON.stringify(v)}\n`, fields), v);
  assert.throws(() => parseSummaryLine('nexus-x', '', fields), /^nexus-x printed no summary line/);
  assert.throws(() => parseSummaryLine('nexus-x', '5', fields), /nexus-x: the summary is not an object/);
  assert.throws(() => parseSummaryLine('nexus-x', JSON.stringify({ ...v, calls: '3' }), fields), /nexus-x: summary field calls is not a number/);
  assert.throws(() => parseSummaryLine('nexus-x', JSON.stringify({ ...v, tally: null }), fields), /tally is missing/);
  assert.throws(() => parseSummaryLine('nexus-x', JSON.stringify({ ...v, stuck: {} }), fields), /stuck is not a list/);
  assert.throws(() => parseSummaryLine('nexus-x', JSON.stringify({ ...v, deadline_hit: 1 }), fields), /deadline_hit/);
});

/** A Ctx that only records its checks. */
function checks(): { ctx: Ctx; seen: { ok: boolean; message: string; expected: unknown }[] } {
  const seen: { ok: boolean; message: string; expected: unknown }[] = [];
  const ctx = {
    check(ok: boolean, message: string, expected?: unknown) {
      seen.push({ ok, message, expected });
      return ok;
    },
  } as unknown as Ctx;
  return { ctx, seen };
}

const RUN: NativeRun = { code: 0, signal: null, stdout: '', timedOut: false, threads: [], stuck: [], unkillable: false, ms: 5 };
const EXPECT = { name: 'nexus-x', deadlineS: 10, slackMs: 20_000, codes: [0, 1], ran: 'runs to its summary' };

test('a native run: ended in time, died when killed, an exit status of its own; the checks name the program', () => {
  let c = checks();
  assert.ok(checkNativeRun(c.ctx, RUN, EXPECT));
  assert.equal(c.seen.map((s) => s.message),
    ['nexus-x ends within 10 s + 20 s', 'nexus-x dies when killed', 'nexus-x runs to its summary']);
  assert.is(c.seen[2]!.expected, '0 or 1');
  c = checks();
  assert.not.ok(checkNativeRun(c.ctx, { ...RUN, code: 2 }, EXPECT));
  assert.equal(c.seen.map((s) => s.ok), [true, true, false]);
  c = checks();
  assert.not.ok(checkNativeRun(c.ctx, { ...RUN, code: null, signal: 'SIGKILL', timedOut: true, unkillable: true }, { ...EXPECT, codes: [0] }));
  assert.equal(c.seen.map((s) => s.ok), [false, false, false]);
  assert.is(c.seen[2]!.expected, 0);
});

test('a native run\'s summary: parsed when it can be, a failed check with the parser\'s message when not', () => {
  let c = checks();
  assert.equal(checkNativeSummary(c.ctx, { ...RUN, stdout: '{"a":1}\n' }, EXPECT, (s) => JSON.parse(s) as unknown), { a: 1 });
  assert.is(c.seen.length, 3);
  c = checks();
  const bad = () => {
    throw new Error('nexus-x printed no summary line');
  };
  assert.is(checkNativeSummary(c.ctx, RUN, EXPECT, bad), undefined);
  assert.equal(c.seen[3], { ok: false, message: 'nexus-x printed no summary line', expected: undefined });
});

test.run();
