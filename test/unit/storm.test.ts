import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { counterDrift, kernelSplats, parseMeminfo, parseProcStat } from '../../scenarios/lib/storm.js';

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

test.run();
