import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConsoleWatcher, classifyLine, decidesVerdict, detectSplats, type Splat } from '../../lab/console.js';
import { fixture } from '../helpers.js';

// Real serial consoles of lab guests (Debian cloud kernels under TCG).
const clean = { '6.1': fixture('console', 'clean-6.1.log'), '6.12': fixture('console', 'clean-6.12.log') };
const panic = { '6.1': fixture('console', 'panic-6.1.log'), '6.12': fixture('console', 'panic-6.12.log') };
// WARN(), a hung task, a CPU spinning with preemption off (RCU stall and soft
// lockup), a NULL dereference and BUG(), made by a throwaway module.
const splats = { '6.1': fixture('console', 'splats-6.1.log'), '6.12': fixture('console', 'splats-6.12.log') };

const kinds = (s: Splat[]) => s.map((x) => x.kind);

// Real consoles of 6.1-debug and 6.12-debug guests (images/debug/debug.config,
// TCG) with our modules loaded: a clean boot (tools/splat-module loaded too
// on 6.1), and the reports tools/splat-module makes, one guest per set since
// KASAN reports once a boot and lockdep turns itself off after its first
// report (or after a KASAN report taints the kernel):
//   1: ubsan-shift, ubsan-bounds, debugobjects, kmemleak (then a scan), kasan-uaf
//   2: atomic-sleep, lockdep-circular, kfence, kasan-oob
//   3: lockdep-inconsistent
//   4: lockdep-irq-order, atomic-schedule (msleep under a spinlock: the
//      scheduler's report, then what the raised preempt count breaks after)
const debugSets = (v: '6.1' | '6.12') => ({
  clean: fixture('console', `debug-clean-${v}.log`),
  1: fixture('console', `debug-splats-1-${v}.log`),
  2: fixture('console', `debug-splats-2-${v}.log`),
  3: fixture('console', `debug-splats-3-${v}.log`),
  4: fixture('console', `debug-splats-4-${v}.log`),
});
const debug = { '6.1': debugSets('6.1'), '6.12': debugSets('6.12') };
// What the two kernels print differently in the same report.
const debugDiffers = {
  '6.1': {
    // UBSAN's report is ruled like KASAN's, with 80 "="s.
    ubsanEnds: [/^={80}$/, /^={80}$/],
    // No "object: <address>" before the object type.
    odebug: /^ODEBUG: free active \(active state 0\) object type: timer_list hint: splat_never_fn\+/,
    // KASAN's bug type has no "slab-" before use-after-free.
    kasanUaf: /^BUG: KASAN: use-after-free in splat_kasan_uaf\+0x[0-9a-f]+\/0x[0-9a-f]+ \[splat_trigger\]$/,
    // The out-of-line part of the function (an unlikely() branch) made the bad read.
    kfence: /^BUG: KFENCE: out-of-bounds read in splat_kfence\.cold\+/,
    kasanOob: /^BUG: KASAN: slab-out-of-bounds in splat_kasan_oob\.cold\+/,
    // What the raised preempt count breaks on the way back to user space.
    brokenAfter: /^WARNING: CPU: 0 PID: \d+ at arch\/x86\/include\/asm\/uaccess\.h:\d+ __rseq_handle_notify_resume\+/,
  },
  '6.12': {
    // UBSAN's report opens with "cut here" and ends like a WARN.
    ubsanEnds: [/^-{12}\[ cut here \]-{12}$/, /^---\[ end trace \]---$/],
    odebug: /^ODEBUG: free active \(active state 0\) object: [0-9a-f]+ object type: timer_list hint: splat_never_fn\+/,
    kasanUaf: /^BUG: KASAN: slab-use-after-free in splat_kasan_uaf\+0x[0-9a-f]+\/0x[0-9a-f]+ \[splat_trigger\]$/,
    kfence: /^BUG: KFENCE: out-of-bounds read in splat_kfence\+/,
    kasanOob: /^BUG: KASAN: slab-out-of-bounds in splat_kasan_oob\+/,
    brokenAfter: /^WARNING: CPU: 0 PID: \d+ at kernel\/softirq\.c:\d+ __local_bh_disable_ip\+/,
  },
} as const;
/** A splat's text as lines, carriage returns and timestamps gone. */
const bodyLines = (sp: Splat) => sp.text.split('\n').map((l) => l.replace(/\r$/, '').replace(/^\[\s*\d+\.\d+\] ?/, ''));

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

test('the debug kernels\' reports are recognised, each as its own kind', () => {
  const cases: [string, string][] = [
    ['[    1.0] BUG: KASAN: slab-use-after-free in splat_kasan_uaf+0x6e/0xb0 [splat_trigger]', 'kasan'],
    // 6.1 names a use-after-free without "slab-" and an ODEBUG object without its address.
    ['[    1.0] BUG: KASAN: use-after-free in splat_kasan_uaf+0x131/0x140 [splat_trigger]', 'kasan'],
    ['[    1.0] ODEBUG: free active (active state 0) object type: timer_list hint: splat_never_fn+0x0/0x11 [splat_trigger]', 'debugobjects'],
    ['[    1.0] KASAN: null-ptr-deref in range [0x0000000000000000-0x0000000000000007]', 'kasan'],
    ['[    1.0] BUG: KFENCE: out-of-bounds read in splat_kfence+0x8c/0x150 [splat_trigger]', 'kfence'],
    ['[    1.0] BUG: KFENCE: invalid free in kfree+0x1/0x2', 'kfence'],
    ['[    1.0] UBSAN: array-index-out-of-bounds in splat_trigger.c:120:2', 'ubsan'],
    ['[    1.0] WARNING: possible circular locking dependency detected', 'lockdep'],
    ['[    1.0] WARNING: inconsistent lock state', 'lockdep'],
    ['[    1.0] WARNING: possible recursive locking detected', 'lockdep'],
    ['[    1.0] WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected', 'lockdep'],
    ['[    1.0] WARNING: bad unlock balance detected!', 'lockdep'],
    ['[    1.0] WARNING: suspicious RCU usage', 'lockdep'],
    ['[    1.0] WARNING: node/123 still has locks held!', 'lockdep'],
    ['[    1.0] [ BUG: Invalid wait context ]', 'lockdep'],
    ['[    1.0] INFO: trying to register non-static key.', 'lockdep'],
    ['[    1.0] DEBUG_LOCKS_WARN_ON(lock->magic != lock)', 'lockdep'],
    ['[    1.0] BUG: MAX_LOCKDEP_KEYS too low!', 'lockdep'],
    ['[    1.0] BUG: sleeping function called from invalid context at kernel/time/sleep_timeout.c:267', 'atomic-sleep'],
    ['[    1.0] BUG: scheduling while atomic: sh/123/0x00000002', 'atomic-sleep'],
    ['[    1.0] ODEBUG: free active (active state 0) object: 00000000a1b2c3d4 object type: timer_list hint: f+0x0/0x10', 'debugobjects'],
    ['[    1.0] ODEBUG: init active (active state 0) object type: work_struct hint: g+0x0/0x10', 'debugobjects'],
    ['[    1.0] ODEBUG: object 00000000a1b2c3d4 is on stack 00000000e5f6a7b8, but NOT annotated.', 'debugobjects'],
    ['[    1.0] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)', 'kmemleak'],
    ['[    1.0] kmemleak: unreferenced object 0xffff888003f5a000 (size 256):', 'kmemleak'],
    ['[    1.0] kmemleak: Freeing unknown object at 0xffff888003f5a000', 'warning'],
  ];
  for (const [line, kind] of cases) assert.is(classifyLine(line), kind, line);
});

test('the debug options\' boot chatter is not a report', () => {
  const benign = [
    '[    0.0] kasan: KernelAddressSanitizer initialized (generic)',
    '[    0.1] kfence: initialized - using 2097152 bytes for 255 objects at 0x(____ptrval____)-0x(____ptrval____)',
    '[    0.2] kmemleak: Kernel memory leak detector initialized (mem pool available: 15679)',
    '[    0.2] kmemleak: Automatic memory scanning thread started',
    '[    0.0] Lock dependency validator: Copyright (c) 2006 Red Hat, Inc., Ingo Molnar',
    '[    0.0] ... MAX_LOCKDEP_SUBCLASSES:  8',
    '[    0.0] ... MAX_LOCKDEP_KEYS:        8192',
    '[    0.0]  memory used by lock dependency info: 6365 kB',
    '[    0.3] ODEBUG: selftest passed',
    '[    0.3] ODEBUG: Out of memory. ODEBUG disabled',
    '[    5.0] INFO: lockdep is turned off.',
  ];
  for (const line of benign) assert.is(classifyLine(line), undefined, line);
  assert.equal(detectSplats(benign.join('\n')), []);
});

test('a ruled report is kept from its first rule to its last, past the end of its first trace', () => {
  const log = [
    '[   10.000000] splat_trigger: kasan-uaf',
    '[   10.100000] ==================================================================',
    '[   10.100001] BUG: KASAN: slab-use-after-free in f+0x1/0x2 [m]',
    '[   10.100002] Call Trace:',
    '[   10.100003]  <TASK>',
    '[   10.100004]  f+0x1/0x2 [m]',
    '[   10.100005]  </TASK>',
    '[   10.100006] ',
    // printed late (a slow console): still the same report, up to its closing rule
    '[   11.500000] Allocated by task 1:',
    '[   11.500001]  kmalloc+0x1/0x2',
    '[   11.500002] Memory state around the buggy address:',
    '[   11.500003] ==================================================================',
    '[   11.600000] sh: next line',
  ].join('\n');
  const found = detectSplats(log);
  assert.equal(kinds(found), ['kasan']);
  const lines = found[0]!.text.split('\n');
  assert.match(lines[0]!, /^\[   10\.100000\] =+$/, 'from the opening rule');
  assert.match(lines.at(-1)!, /^\[   11\.500003\] =+$/, 'to the closing rule');
  assert.is(found[0]!.title, 'BUG: KASAN: slab-use-after-free in f+0x1/0x2 [m]');
  assert.is(found[0]!.line, 3, 'the line number is the trigger\'s');
  assert.ok(found[0]!.complete);
});

test('a WARN keeps its "cut here" and message lines; a message that is a report names the kind', () => {
  const log = [
    '[    5.000000] ------------[ cut here ]------------',
    '[    5.000001] ODEBUG: free active (active state 0) object: 0000 object type: timer_list hint: f+0x0/0x10',
    '[    5.000002] WARNING: CPU: 0 PID: 1 at lib/debugobjects.c:514 debug_print_object+0xd4/0x120',
    '[    5.000003] Call Trace:',
    '[    5.000004]  <TASK>',
    '[    5.000005]  </TASK>',
    '[    5.000006] ---[ end trace 0000000000000000 ]---',
    '[    6.000000] ------------[ cut here ]------------',
    '[    6.000001] a message',
    '[    6.000002] WARNING: CPU: 0 PID: 1 at x.c:1 g+0x0/0x1',
    '[    6.000003] ---[ end trace 0000000000000000 ]---',
    '[    7.000000] ------------[ cut here ]------------',
    '[    9.000000] not the end of a begin marker: too late',
  ].join('\n');
  const found = detectSplats(log);
  assert.equal(kinds(found), ['debugobjects', 'warning']);
  assert.match(found[0]!.text, /^\[    5\.000000\] -+\[ cut here \]-+\n.*ODEBUG: free active/);
  assert.match(found[0]!.text, /WARNING: CPU: 0.*\n/, 'the WARNING belongs to the ODEBUG report');
  assert.match(found[1]!.text, /cut here.*\n.*a message\n.*WARNING:/);
});

test('kmemleak lines are a splat of their own that ends where they do', () => {
  const log = [
    '[   20.000000] kmemleak: unreferenced object 0xffff888003f5a000 (size 200):',
    '[   20.000001] kmemleak:   comm "sh", pid 200, jiffies 4294901234',
    '[   20.000002] kmemleak:   backtrace (crc 0):',
    '[   20.000003] kmemleak:     splat_lose+0x1/0x2 [splat_trigger]',
    '[   20.000004] kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
    '[   20.500000] random: crng reseeded',
    '[   30.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)',
    '[   30.000001] WARNING: CPU: 0 PID: 1 at x.c:1 g+0x0/0x1',
  ].join('\n');
  const found = detectSplats(log);
  assert.equal(kinds(found), ['kmemleak', 'kmemleak', 'warning']);
  assert.is(found[0]!.text.split('\n').length, 5);
  assert.ok(found[0]!.complete && found[1]!.complete);
  assert.is(found[1]!.text, '[   30.000000] kmemleak: 2 new suspected memory leaks (see /sys/kernel/debug/kmemleak)');
  assert.not.ok(decidesVerdict(found[0]!), 'kmemleak is judged by the leak check');
  assert.ok(decidesVerdict(found[2]!));
});

for (const v of ['6.1', '6.12'] as const) {
  const sets = debug[v];
  const differs = debugDiffers[v];

  test(`a debug kernel's clean boot is not a splat: KASAN, KFENCE, lockdep and kmemleak only announce themselves (${v})`, () => {
    for (const line of [
      `Linux version ${v}.`,
      'kasan: KernelAddressSanitizer initialized',
      'kfence: initialized - using',
      'Lock dependency validator: Copyright',
      '... MAX_LOCKDEP_KEYS:',
      'kmemleak: Kernel memory leak detector initialized',
      'loading out-of-tree module taints kernel',
    ]) {
      assert.ok(sets.clean.includes(line), `the fixture has "${line}"`);
    }
    assert.equal(detectSplats(sets.clean), []);
  });

  test(`${v}-debug, set 1: UBSAN twice, DEBUG_OBJECTS, KASAN use-after-free and kmemleak's line, each whole`, () => {
    assert.ok(sets[1].includes(`Linux version ${v}.`));
    const found = detectSplats(sets[1]);
    assert.equal(kinds(found), ['ubsan', 'ubsan', 'debugobjects', 'kasan', 'kmemleak']);
    assert.ok(found.every((s) => s.complete));
    const [shift, bounds, odebug, kasan, leak] = found.map(bodyLines) as string[][];
    assert.match(found[0]!.title, /^UBSAN: shift-out-of-bounds in .*splat_trigger\.c:\d+:\d+$/);
    assert.match(shift![0]!, differs.ubsanEnds[0]);
    assert.match(shift!.at(-1)!, differs.ubsanEnds[1]);
    assert.ok(shift!.includes("shift exponent 40 is too large for 32-bit type 'int'"));
    assert.is(shift!.at(-2), ' </TASK>', 'the report ends right after its trace');
    assert.match(found[1]!.title, /^UBSAN: array-index-out-of-bounds in /);
    assert.ok(bounds!.includes("index 4 is out of range for type 'int [4]'"));
    assert.match(bounds![0]!, differs.ubsanEnds[0]);
    assert.match(bounds!.at(-1)!, differs.ubsanEnds[1]);
    // The ODEBUG line is the message of the WARNING that follows it: one splat.
    assert.match(found[2]!.title, differs.odebug);
    assert.is(odebug![0], '------------[ cut here ]------------');
    assert.match(odebug![2]!, /^WARNING: CPU: 0 PID: \d+ at lib\/debugobjects\.c:\d+ debug_print_object/);
    assert.match(odebug!.at(-1)!, /^---\[ end trace [0-9a-f]+ \]---$/);
    // KASAN: from its rule to its rule, the allocation and free stacks after the trace included.
    assert.match(found[3]!.title, differs.kasanUaf);
    assert.match(kasan![0]!, /^={66}$/);
    assert.match(kasan!.at(-1)!, /^={66}$/);
    for (const part of ['Allocated by task', 'Freed by task', 'The buggy address belongs to the object', 'Memory state around the buggy address:']) {
      assert.ok(kasan!.some((l) => l.startsWith(part)), part);
    }
    assert.equal(leak, ['kmemleak: 1 new suspected memory leaks (see /sys/kernel/debug/kmemleak)']);
    assert.not.ok(decidesVerdict(found[4]!));
  });

  test(`${v}-debug, set 2: might_sleep under a spinlock, lockdep's circular dependency, KFENCE and KASAN out-of-bounds`, () => {
    const found = detectSplats(sets[2]);
    assert.equal(kinds(found), ['atomic-sleep', 'lockdep', 'kfence', 'kasan']);
    assert.ok(found.every((s) => s.complete));
    const [sleep, circular, kfence, kasan] = found.map(bodyLines) as string[][];
    assert.match(found[0]!.title, /^BUG: sleeping function called from invalid context at /);
    assert.ok(sleep!.some((l) => /\(splat_atomic_lock\)/.test(l)), 'the held locks are part of it');
    assert.is(sleep!.at(-1), ' </TASK>');
    assert.is(found[1]!.title, 'WARNING: possible circular locking dependency detected');
    assert.match(circular![0]!, /^=+$/);
    for (const part of ['the existing dependency chain (in reverse order) is:', ' *** DEADLOCK ***', 'stack backtrace:']) {
      assert.ok(circular!.includes(part), part);
    }
    assert.is(circular!.at(-1), ' </TASK>');
    assert.match(found[2]!.title, differs.kfence);
    assert.match(kfence![0]!, /^={66}$/);
    assert.match(kfence!.at(-1)!, /^={66}$/);
    assert.ok(kfence!.some((l) => /^kfence-#\d+: .*size=32, cache=kmalloc-32$/.test(l)));
    assert.match(found[3]!.title, differs.kasanOob);
    assert.match(kasan![0]!, /^={66}$/);
    assert.match(kasan!.at(-1)!, /^={66}$/);
  });

  test(`${v}-debug, set 3: lockdep's inconsistent lock state, whole`, () => {
    const found = detectSplats(sets[3]);
    assert.equal(kinds(found), ['lockdep']);
    assert.is(found[0]!.title, 'WARNING: inconsistent lock state');
    const lines = bodyLines(found[0]!);
    assert.match(lines[0]!, /^=+$/);
    assert.ok(lines.includes('inconsistent {SOFTIRQ-ON-W} -> {IN-SOFTIRQ-W} usage.'));
    assert.ok(lines.includes(' *** DEADLOCK ***'));
    assert.is(lines.at(-1), ' </TASK>');
    assert.ok(found[0]!.complete);
  });

  test(`${v}-debug, set 4: a softirq-safe -> unsafe order, then sleeping under a spinlock and what it breaks next`, () => {
    const found = detectSplats(sets[4]);
    assert.equal(kinds(found), ['lockdep', 'atomic-sleep', 'atomic-sleep', 'warning', 'atomic-sleep']);
    assert.is(found[0]!.title, 'WARNING: SOFTIRQ-safe -> SOFTIRQ-unsafe lock order detected');
    assert.match(found[1]!.title, /^BUG: scheduling while atomic: trigger\.sh\/\d+\/0x00000002$/);
    assert.match(found[2]!.title, /^BUG: sleeping function called from invalid context at kernel\/rseq\.c/);
    assert.match(found[3]!.title, differs.brokenAfter);
    assert.match(found[4]!.title, /^BUG: scheduling while atomic: trigger\.sh\/\d+\/0x00000000$/);
    assert.ok(found.every((s) => s.complete));
  });

  test(`every kind the debug kernels add was seen on a real ${v}-debug console`, () => {
    const seen = new Set(([1, 2, 3, 4] as const).flatMap((n) => kinds(detectSplats(sets[n]))));
    for (const k of ['kasan', 'kfence', 'ubsan', 'lockdep', 'atomic-sleep', 'debugobjects', 'kmemleak'] as const) assert.ok(seen.has(k), k);
  });

  test(`${v}-debug: the reports' text is all there is: outside them, only our own lines and the boot's`, () => {
    // Every console line from our modules' load on that no splat kept is
    // splat_trigger's own, the trigger's echo, lockdep's goodbye after KASAN,
    // or the power-off.
    for (const n of [1, 2, 3, 4] as const) {
      const text = sets[n];
      const kept = new Set(detectSplats(text).flatMap((s) => s.text.split('\n')));
      const all = text.split('\n').map((l) => l.replace(/\r$/, ''));
      const from = all.findIndex((l) => l.includes('nexus: loading out-of-tree module'));
      assert.ok(from > 0, `set ${n}: our modules were loaded`);
      const left = all
        .slice(from)
        .filter((l) => !kept.has(l))
        .map((l) => l.replace(/^\[\s*\d+\.\d+\] ?/, ''))
        .filter((l) => !/^(?:|nexus: .*|splat_trigger: .*|Disabling lock debugging due to kernel taint|sysrq: Power Off|ACPI: PM: Preparing to enter system sleep state S5|reboot: Power down)$/.test(l));
      assert.equal(left, [], `set ${n}`);
    }
  });
}

test('a splat still open at the end of the console is kept, marked incomplete', () => {
  const found = detectSplats('[ 1.0] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1\n[ 1.0] Modules linked in: nexus(OE)\n');
  assert.is(found.length, 1);
  assert.not.ok(found[0]!.complete);
  assert.match(found[0]!.text, /Modules linked in/);
});

test.run();
