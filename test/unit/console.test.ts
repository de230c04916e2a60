import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConsoleWatcher, classifyLine, detectSplats, type Splat } from '../../lab/console.js';
import { fixture } from '../helpers.js';

// Real serial consoles of lab guests (Debian cloud kernels under TCG).
const clean = { '6.1': fixture('console', 'clean-6.1.log'), '6.12': fixture('console', 'clean-6.12.log') };
const panic = { '6.1': fixture('console', 'panic-6.1.log'), '6.12': fixture('console', 'panic-6.12.log') };
// WARN(), a hung task, a CPU spinning with preemption off (RCU stall and soft
// lockup), a NULL dereference and BUG(), made by a throwaway module.
const splats = { '6.1': fixture('console', 'splats-6.1.log'), '6.12': fixture('console', 'splats-6.12.log') };

const kinds = (s: Splat[]) => s.map((x) => x.kind);

for (const v of ['6.1', '6.12'] as const) {
  test(`a clean boot with our module loaded is not a splat (${v})`, () => {
    assert.ok(clean[v].includes('loading out-of-tree module taints kernel'), 'the fixture has the taint notice');
    assert.ok(clean[v].includes('module verification failed'), 'the fixture has the signature notice');
    assert.equal(detectSplats(clean[v]), []);
  });

  test(`a sysrq crash is one panic splat with its whole trace (${v})`, () => {
    const found = detectSplats(panic[v]);
    assert.equal(kinds(found), ['panic']);
    const p = found[0]!;
    assert.is(p.title, 'Kernel panic - not syncing: sysrq triggered crash');
    assert.match(p.text, /Call Trace:/);
    assert.match(p.text, /sysrq_handle_crash/);
    assert.match(p.text, /<\/TASK>/);
    assert.ok(p.complete, 'the trace end was seen');
    assert.ok(p.line > 300, 'line number points into the console');
  });
}

test('real splats of 6.1 are each found once, with the right kind', () => {
  const found = detectSplats(splats['6.1']);
  assert.equal(kinds(found), [
    'warning', 'hung-task', 'hung-task', 'hung-task', 'rcu-stall', 'lockup', 'rcu-stall', 'hung-task', 'bug', 'bug',
  ]);
  assert.match(found[0]!.title, /^WARNING: CPU: 0 PID: \d+ at .*nexus_splat\.c/);
  assert.match(found[0]!.text, /---\[ end trace/);
  assert.match(found[1]!.title, /INFO: task splat_hung:\d+ blocked for more than 5 seconds/);
  // The RCU stall dumps two stacks: both belong to the one splat.
  assert.is((found[4]!.text.match(/Call Trace:/g) ?? []).length, 2);
  assert.match(found[5]!.title, /watchdog: BUG: soft lockup - CPU#0 stuck/);
  assert.match(found[8]!.title, /BUG: kernel NULL pointer dereference/);
  assert.match(found[8]!.text, /Oops: /, 'the Oops line belongs to the BUG splat');
  assert.match(found[9]!.title, /^kernel BUG at .*nexus_splat\.c/);
  assert.ok(found.every((s) => s.complete));
});

test('real splats of 6.12 are each found once, with the right kind', () => {
  const found = detectSplats(splats['6.12']);
  assert.equal(kinds(found), ['warning', 'hung-task', 'hung-task', 'hung-task', 'lockup', 'hung-task', 'bug', 'bug']);
  assert.match(found[6]!.text, /Oops: /);
});

test('feeding the console in small chunks finds the same splats, and reports the panic as it happens', () => {
  const text = panic['6.12'];
  let panics = 0;
  let panicLineSeenAt = -1;
  let fed = 0;
  const w = new ConsoleWatcher({
    onPanic: () => {
      panics++;
      panicLineSeenAt = fed;
    },
  });
  for (let i = 0; i < text.length; i += 97) {
    fed = i + 97;
    w.feed(text.slice(i, i + 97));
  }
  const found = w.finish();
  assert.is(panics, 1);
  assert.ok(panicLineSeenAt < text.length, 'the panic is reported before the console ends');
  assert.equal(found.map((s) => s.text), detectSplats(text).map((s) => s.text));
});

test('each trigger of the issue is recognised on a kernel line', () => {
  const cases: [string, string][] = [
    ['[    1.0] BUG: unable to handle page fault for address: ffff', 'bug'],
    ['[    1.0] WARNING: CPU: 0 PID: 1 at kernel/foo.c:1 bar+0x1/0x2', 'warning'],
    ['[    1.0] Oops: 0002 [#1] PREEMPT SMP NOPTI', 'oops'],
    ['[    1.0] general protection fault, probably for non-canonical address 0xdead: 0000 [#1]', 'gpf'],
    ['[    1.0] kernel BUG at mm/slub.c:1!', 'bug'],
    ['[    1.0] Kernel panic - not syncing: Fatal exception', 'panic'],
    ['[    1.0] BUG: KASAN: slab-out-of-bounds in foo+0x1/0x2', 'kasan'],
    ['[    1.0] UBSAN: shift-out-of-bounds in lib/foo.c:1:2', 'ubsan'],
    ['[    1.0] watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [x:1]', 'lockup'],
    ['[    1.0] Watchdog detected hard LOCKUP on cpu 1', 'lockup'],
    ['[    1.0] INFO: task kworker/0:1:12 blocked for more than 120 seconds.', 'hung-task'],
    ['[    1.0] rcu: INFO: rcu_sched self-detected stall on CPU', 'rcu-stall'],
    ['[    1.0] Call Trace:', 'call-trace'],
  ];
  for (const [line, kind] of cases) assert.is(classifyLine(line), kind, line);
  assert.is(classifyLine('[    1.0] nexus: loading out-of-tree module taints kernel.'), undefined);
  assert.is(classifyLine('[    1.0] ---[ end Kernel panic - not syncing: Fatal exception ]---'), undefined);
  assert.is(classifyLine('[    0.1] ACPI: Early table checksum verification disabled'), undefined);
});

test("a user process's own fault is not a kernel splat; the kernel's is", () => {
  // As a 6.12 guest printed it when the fuzz suite's program crashed in userspace.
  const user = '[  100.384596] traps: nexus-fuzz[612] general protection fault ip:7f93ad70ae5b sp:7ffe4ed9ff40 error:0 in ld-linux-x86-64.so.2[8e5b,7f93ad703000+26000]';
  assert.is(classifyLine(user), undefined);
  assert.is(classifyLine('[    3.2] traps: a.out[77] trap invalid opcode ip:401136 sp:7ffd error:0 in a.out[401000+1000]'), undefined);
  assert.equal(detectSplats(`${user}\n[  121.4] sysrq: Power Off\n`), []);
  assert.is(classifyLine('[    1.0] general protection fault, probably for non-canonical address 0xdead0000: 0000 [#1] PREEMPT SMP NOPTI'), 'gpf');
  assert.is(classifyLine('[    1.0] general protection fault: 0000 [#1] SMP'), 'gpf');
});

test('a splat still open at the end of the console is kept, marked incomplete', () => {
  const found = detectSplats('[ 1.0] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1\n[ 1.0] Modules linked in: nexus(OE)\n');
  assert.is(found.length, 1);
  assert.not.ok(found[0]!.complete);
  assert.match(found[0]!.text, /Modules linked in/);
});

test.run();
