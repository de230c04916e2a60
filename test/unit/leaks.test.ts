// Slab and kmemleak leak evidence: the guest's parsers on /proc text
// captured from 6.1 and 6.12 guests (test/fixtures/leaks/), the host's fold
// of snapshots into per-round growth, and the leak rule - growth in every
// round after the first beyond the threshold, decided only with two rounds
// or more - on the clean runs' real snapshots and on the same snapshots with
// a leak added, plus kmemleak's report format on a hand-written report.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture } from '../helpers.js';
import {
  countsOf,
  keptCache,
  leakHooks,
  moduleCache,
  parseKmemleak,
  parseMeminfo,
  parseSlabinfo,
} from '../../scenarios/lib/leaks.js';
import { leakSection, leakWord } from '../../lab/report/leaks-html.js';
import { parseEvent, type GuestEvent, type KmemleakEvent, type SlabSnapshot } from '../../scenarios/runner/events.js';
import {
  DEFAULT_RULE,
  SUNRECLAIM,
  blamedKmemleak,
  blames,
  foldLeaks,
  isLeakEvent,
  kmemleakText,
  leakRepeat,
  leakProblems,
  leakSummary,
  leakingSignals,
  type RoundDelta,
} from '../../lab/leaks.js';
import { EventFolder } from '../../lab/results.js';

const MODULES = ['nexus', 'nexus_area', 'nexus_node_monitor'];
const slab = (kernel: string, round: number) => fixture('leaks', `slabinfo-${kernel}-clean-round${round}.txt`);
const MEM = fixture('leaks', 'meminfo-6.12.txt');

/** A snapshot as the guest makes it, from captured text. */
function snap(suite: string, rep: number, repeat: number, slabText: string, extra: Partial<SlabSnapshot> = {}): SlabSnapshot {
  return {
    type: 'slab',
    t: rep * 1000,
    suite,
    rep,
    repeat,
    ...countsOf(slabText, MEM, (n) => keptCache(n, MODULES)),
    merged: {},
    modules: MODULES,
    kmemleak: false,
    ...extra,
  };
}

/** The same snapshot with `by` more objects in `cache` and `kib` more SUnreclaim. */
function grown(s: SlabSnapshot, cache: string, by: number, kib = 0): SlabSnapshot {
  return { ...s, objects: { ...s.objects, [cache]: (s.objects[cache] ?? 0) + by }, sunreclaimKiB: s.sunreclaimKiB + kib };
}

test('parseSlabinfo reads every cache of a 6.12 and a 6.1 guest, skipping the two header lines', () => {
  const s612 = parseSlabinfo(slab('6.12', 0));
  assert.is(s612.size, slab('6.12', 0).trim().split('\n').length - 2);
  assert.equal(s612.get('kmalloc-96'), { active: 2375, total: 2394, objsize: 96 });
  assert.equal(s612.get('kmalloc-cg-256'), { active: 15, total: 16, objsize: 256 });
  assert.not.ok(s612.has('slabinfo'));
  assert.not.ok(s612.has('#'));
  const s61 = parseSlabinfo(slab('6.1', 0));
  assert.is(s61.size, 155);
  assert.equal(s61.get('kmalloc-256'), { active: 461, total: 464, objsize: 256 });
  assert.is(parseSlabinfo('garbage\nkmalloc-8 x y z\n').size, 0);
});

test('parseMeminfo reads kB fields and unit-less counts', () => {
  const m = parseMeminfo(MEM);
  assert.is(m.SUnreclaim, 8516);
  assert.is(m.Slab, 10876);
  assert.is(m.MemTotal, 990336);
  assert.is(m.HugePages_Total, 0);
  assert.is(m['Not-there'], undefined);
});

test('the kept caches: kmalloc, kmalloc-cg, kmalloc-rcl and the tree\'s own, nothing else', () => {
  for (const n of ['kmalloc-8', 'kmalloc-cg-256', 'kmalloc-rcl-64', 'kmalloc-8k', 'nexus_port', 'NEXUS-msg']) assert.ok(keptCache(n, []), n);
  for (const n of ['dentry', 'dma-kmalloc-64', 'inode_cache', 'task_struct']) assert.not.ok(keptCache(n, MODULES), n);
  // Another tree's module names count too (theirs builds area.ko).
  assert.ok(moduleCache('area_struct_cache', ['area']));
  assert.not.ok(moduleCache('area_struct_cache', ['port']));
  // ... by prefix only: their "area" module does not own the kernel's vm_area_struct or vmap_area.
  assert.not.ok(moduleCache('vm_area_struct', ['area']));
  assert.not.ok(keptCache('vmap_area', ['area', 'port']));
  assert.not.ok(moduleCache('dentry', ['']));
  const counts = countsOf(slab('6.12', 0), MEM, (n) => keptCache(n, MODULES));
  // 13 sizes x (kmalloc, kmalloc-cg, kmalloc-rcl); no nexus cache (ours only kmallocs).
  assert.is(Object.keys(counts.objects).length, 39);
  assert.ok(Object.keys(counts.objects).every((n) => n.startsWith('kmalloc-')));
  assert.is(counts.objsize['kmalloc-cg-8k'], 8192);
  assert.is(counts.sunreclaimKiB, 8516);
});

test('a clean 6.12 ports run repeated 3 times: round 1 warms up, rounds 2 and 3 leave the caches as they were: no leak', () => {
  const snaps = [0, 1, 2].map((r) => snap('ports', r, 3, slab('6.12', r)));
  // The fixtures stop at round 2: round 3 is round 2 again (what the run measured).
  snaps.push({ ...snaps[2]!, rep: 3 });
  const rec = foldLeaks(snaps)!;
  assert.is(rec.suites.length, 1);
  const s = rec.suites[0]!;
  assert.is(s.rounds, 3);
  assert.ok(s.conclusive);
  assert.is(s.baseSunreclaimKiB, 8516);
  assert.equal(s.deltas.map((d) => d.round), [1, 2, 3]);
  // Warm-up: the first round moves a few kmalloc objects, the later ones none.
  assert.ok(Object.keys(s.deltas[0]!.objects).length > 0);
  assert.equal(s.deltas[1]!.objects, {});
  assert.equal(s.leaking, []);
  assert.equal(leakProblems(rec), []);
  assert.is(leakSummary(rec)[0], 'ports: 3 rounds; after round 1: SUnreclaim 0/0 kB, no cache grew -> no leak');
});

test('the same snapshots with 300 kmalloc-256 objects more after every round: a leak, and a job problem', () => {
  const base = [0, 1, 2].map((r) => snap('ports', r, 3, slab('6.12', r)));
  const snaps = [base[0]!, grown(base[1]!, 'kmalloc-256', 300), grown(base[2]!, 'kmalloc-256', 600), grown({ ...base[2]!, rep: 3 }, 'kmalloc-256', 900)];
  const rec = foldLeaks(snaps)!;
  const s = rec.suites[0]!;
  assert.equal(s.leaking, [{ signal: 'kmalloc-256', unit: 'objects', perRound: [300, 300] }]);
  const problems = leakProblems(rec);
  assert.is(problems.length, 1);
  assert.match(problems[0]!, /^slab leak in ports: kmalloc-256 grew \+300, \+300 objects in rounds 2\.\.3/);
  assert.is(leakSummary(rec)[0], 'ports: 3 rounds; after round 1: SUnreclaim 0/0 kB, top cache kmalloc-256 +300 -> LEAK: kmalloc-256');
});

test('the planted leak, captured from a 6.12 guest (tools/plant-leak.sh, ports, 2 rounds): kmalloc-256 +4208 per round, a leak', () => {
  const planted = (r: number) => fixture('leaks', `slabinfo-6.12-planted-round${r}.txt`);
  const rec = foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, planted(r))))!;
  const s = rec.suites[0]!;
  assert.ok(s.conclusive);
  assert.is(s.deltas[0]!.objects['kmalloc-256'], 4208);
  assert.equal(s.deltas[1]!.objects, { 'kmalloc-256': 4208 });
  assert.equal(s.leaking, [{ signal: 'kmalloc-256', unit: 'objects', perRound: [4208] }]);
  assert.match(leakProblems(rec)[0]!, /^slab leak in ports: kmalloc-256 grew \+4208 objects in round 2 \(rule: more than 16 objects/);
  // The clean tree's snapshots of the same suite: nothing.
  assert.equal(foldLeaks([0, 1, 2].map((r) => snap('ports', r, 2, slab('6.12', r))))!.suites[0]!.leaking, []);
});

test('one round only records the figures: no verdict however large the growth', () => {
  const rec = foldLeaks([snap('ports', 0, 1, slab('6.12', 0)), grown(snap('ports', 1, 1, slab('6.12', 1)), 'kmalloc-256', 5000, 4096)])!;
  const s = rec.suites[0]!;
  assert.is(s.rounds, 1);
  assert.not.ok(s.conclusive);
  assert.is(s.deltas[0]!.objects['kmalloc-256'], 5000 + (parseSlabinfo(slab('6.12', 1)).get('kmalloc-256')!.active - 434));
  assert.equal(s.leaking, []);
  assert.equal(leakProblems(rec), []);
  assert.match(leakSummary(rec)[0]!, /figures only$/);
});

const d = (round: number, objects: Record<string, number>, sunreclaimKiB = 0): RoundDelta => ({ round, objects, sunreclaimKiB });

test('the rule: growth beyond the threshold in every round after the first, not in some, not at the threshold', () => {
  const t = DEFAULT_RULE.minObjects;
  // Round 1 alone growing is warm-up.
  assert.equal(leakingSignals([d(1, { a: 10_000 }), d(2, {}), d(3, {})]), []);
  // Growing in round 2 but not 3 is noise.
  assert.equal(leakingSignals([d(1, {}), d(2, { a: 1000 }), d(3, { a: 0 })]), []);
  // Exactly the threshold is not beyond it; one more is.
  assert.equal(leakingSignals([d(1, {}), d(2, { a: t }), d(3, { a: t })]), []);
  assert.equal(leakingSignals([d(1, {}), d(2, { a: t + 1 }), d(3, { a: t + 1 })]), [{ signal: 'a', unit: 'objects', perRound: [t + 1, t + 1] }]);
  // Shrinking is not a leak.
  assert.equal(leakingSignals([d(1, {}), d(2, { a: -500 }), d(3, { a: -500 })]), []);
  // SUnreclaim by its own threshold, in kB.
  const k = DEFAULT_RULE.minSunreclaimKiB;
  assert.equal(leakingSignals([d(1, {}, 9999), d(2, {}, k + 4), d(3, {}, k + 100)]), [{ signal: SUNRECLAIM, unit: 'kB', perRound: [k + 4, k + 100] }]);
  assert.equal(leakingSignals([d(1, {}), d(2, {}, k + 4), d(3, {}, k)]), []);
  // A custom rule.
  assert.equal(leakingSignals([d(1, {}), d(2, { a: 5 })], { minObjects: 4, minSunreclaimKiB: 1 }).map((g) => g.signal), ['a']);
  // A single round decides nothing.
  assert.equal(leakingSignals([d(1, { a: 10_000 }, 10_000)]), []);
});

test('a failed or missing snapshot makes the suite inconclusive, never a leak', () => {
  const good = [0, 1, 2].map((r) => grown(snap('ports', r, 2, slab('6.12', Math.min(r, 1))), 'kmalloc-64', r * 1000));
  const failed = foldLeaks([good[0]!, good[1]!, { ...good[2]!, error: 'EACCES', objects: {}, sunreclaimKiB: -1 }])!.suites[0]!;
  assert.not.ok(failed.conclusive);
  assert.equal(failed.errors, ['round 2 snapshot: EACCES']);
  assert.equal(failed.leaking, []);
  const gap = foldLeaks([good[0]!, good[2]!])!.suites[0]!;
  assert.not.ok(gap.conclusive);
  assert.is(gap.deltas.length, 0);
  // Control: the three good ones do find the growth.
  assert.equal(foldLeaks(good)!.suites[0]!.leaking.map((g) => g.signal), ['kmalloc-64']);
});

test('fold: one entry per suite run, in order; a suite run twice is two entries', () => {
  const s0 = snap('ports', 0, 2, slab('6.12', 0));
  const evs = [s0, { ...s0, rep: 1 }, { ...s0, rep: 2 }, { ...s0, suite: 'sems' }, { ...s0, suite: 'sems', rep: 1 }, s0, { ...s0, rep: 1 }];
  const rec = foldLeaks(evs)!;
  assert.equal(rec.suites.map((s) => `${s.suite}:${s.rounds}`), ['ports:2', 'sems:1', 'ports:1']);
  assert.equal(rec.modules, [...MODULES].sort());
  assert.is(foldLeaks([]), undefined);
});

const KMEMLEAK = fixture('leaks', 'kmemleak-handwritten.txt');

test('parseKmemleak: every report, the old [<addr>] and the newer crc format, hex dumps only in the text', () => {
  const r = parseKmemleak(KMEMLEAK);
  assert.is(r.length, 3);
  const { text, ...fields } = r[0]!;
  assert.is(text, KMEMLEAK.split('\n').slice(0, 12).join('\n'), 'the report as printed, hex dump and all');
  assert.equal(fields, {
    address: '0xffff888003f5a000',
    size: 256,
    comm: 'node',
    pid: 412,
    ageSecs: 13.32,
    backtrace: [
      'kmalloc_trace+0x26/0x60',
      'nexus_port_create+0x2c/0x90 [nexus]',
      'nexus_ioctl+0x1f0/0x4a0 [nexus]',
      '__x64_sys_ioctl+0x8d/0xc0',
      'do_syscall_64+0x38/0x90',
      'entry_SYSCALL_64_after_hwframe+0x6e/0xd8',
    ],
  });
  assert.is(r[1]!.comm, 'kworker/0:1');
  assert.is(r[1]!.backtrace.length, 3);
  assert.is(r[2]!.ageSecs, undefined);
  assert.equal(r[2]!.backtrace, ['__kmalloc_cache_noprof+0x2b1/0x340', 'nexus_area_create+0x51/0x210 [nexus_area]', 'nexus_area_ioctl+0x9c/0x1d0 [nexus_area]']);
  assert.equal(parseKmemleak(''), []);
});

test('parseKmemleak on a real report (6.12-debug, tools/splat-module\'s lost kmalloc): blamed on the module it names', () => {
  const text = fixture('leaks', 'kmemleak-6.12-debug.txt');
  const [r, ...more] = parseKmemleak(text);
  assert.equal(more, []);
  assert.is(r!.size, 256);
  assert.is(r!.comm, 'trigger.sh');
  assert.is(r!.backtrace[0], '__kmalloc_cache_noprof+0x31e/0x430');
  assert.is(r!.backtrace[1], 'splat_lose+0x36/0x70 [splat_trigger]');
  assert.is(r!.text, text.trimEnd(), 'the report as kmemleak printed it');
  assert.is(blames(r!, ['nexus', 'splat_trigger']), 'splat_trigger');
  assert.is(blames(r!, ['nexus']), undefined);
});

test('kmemleak reports are blamed on the tree only through its modules\' frames', () => {
  const [port, net, area] = parseKmemleak(KMEMLEAK);
  assert.is(blames(port!, MODULES), 'nexus');
  assert.is(blames(net!, MODULES), undefined);
  assert.is(blames(area!, MODULES), 'nexus_area');
  assert.is(blames(area!, ['nexus']), undefined);
  const s0 = snap('ports', 0, 1, slab('6.12', 0), { kmemleak: true });
  const scan: KmemleakEvent = { type: 'kmemleak', t: 5, suite: 'ports', rep: 1, reports: [port!, net!] };
  const rec = foldLeaks([s0, scan, { ...s0, rep: 1 }])!;
  assert.ok(rec.kmemleak);
  assert.equal(rec.suites[0]!.kmemleak, [{ round: 1, reports: [port!, net!] }]);
  assert.equal(leakProblems(rec), [
    'kmemleak after ports round 1: 1 unreferenced object allocated in nexus (first: size 256, nexus_port_create+0x2c/0x90 [nexus])',
  ]);
  const quiet = foldLeaks([s0, { ...scan, reports: [net!] }, { ...s0, rep: 1 }])!;
  assert.equal(leakProblems(quiet), []);
});

test('kmemleak before a suite (round 0) is said so; blamed reports keep their text for JUnit and the report', () => {
  const [port, net] = parseKmemleak(KMEMLEAK);
  const s0 = snap('ports', 0, 1, slab('6.12', 0), { kmemleak: true });
  const before: KmemleakEvent = { type: 'kmemleak', t: 1, suite: 'ports', rep: 0, reports: [port!] };
  const after: KmemleakEvent = { type: 'kmemleak', t: 5, suite: 'ports', rep: 1, reports: [net!] };
  const rec = foldLeaks([before, s0, after, { ...s0, rep: 1 }])!;
  assert.equal(rec.suites[0]!.kmemleak.map((k) => k.round), [0, 1]);
  assert.equal(leakProblems(rec), [
    'kmemleak before ports (left by boot, module load or an earlier suite): 1 unreferenced object allocated in nexus ' +
      '(first: size 256, nexus_port_create+0x2c/0x90 [nexus])',
  ]);
  const texts = blamedKmemleak(rec);
  assert.is(texts.length, 1, 'only the tree\'s report');
  assert.match(texts[0]!, /^kmemleak before ports \(.*\):\nunreferenced object 0xffff888003f5a000 \(size 256\):\n  comm "node"/);
  assert.match(texts[0]!, /hex dump/);
  const { text: _t, ...bare } = port!;
  assert.match(kmemleakText(bare), /^unreferenced object 0xffff888003f5a000 \(size 256\):\n  comm "node", pid 412\n  backtrace:\n    kmalloc_trace/);
});

test('a leak in a loop: JUnit and the HTML report show the first reports of a scan, run.json keeps them all', () => {
  const [port] = parseKmemleak(KMEMLEAK);
  const reports = Array.from({ length: 25 }, (_, i) => ({ ...port!, address: `0xffff8880000${i + 10}` }));
  const s0 = snap('ports', 0, 1, slab('6.12', 0), { kmemleak: true });
  const rec = foldLeaks([s0, { type: 'kmemleak', t: 5, suite: 'ports', rep: 1, reports }, { ...s0, rep: 1 }])!;
  assert.is(rec.suites[0]!.kmemleak[0]!.reports.length, 25);
  const texts = blamedKmemleak(rec);
  assert.is(texts.length, 11);
  assert.is(texts[10], 'kmemleak after ports round 1: 15 more of the tree\'s reports in run.json');
  const html = leakSection(rec);
  assert.match(html, /<summary>25 kmemleak reports<\/summary>/);
  assert.is((html.match(/<pre class="console">/g) ?? []).length, 10);
  assert.match(html, /<li>after ports round 1: 15 more in run.json<\/li>/);
});

test('the report\'s word for a suite says LEAK when kmemleak blamed the tree, and lists its reports, the tree\'s marked', () => {
  const [port, net] = parseKmemleak(KMEMLEAK);
  const s0 = snap('ports', 0, 1, slab('6.12', 0), { kmemleak: true });
  const rec = foldLeaks([s0, { type: 'kmemleak', t: 5, suite: 'ports', rep: 1, reports: [port!, net!] }, { ...s0, rep: 1 }])!;
  assert.equal(leakWord(rec.suites[0]!, rec.modules), { word: 'LEAK: kmemleak', cls: 'v-fail' });
  assert.equal(leakWord(rec.suites[0]!, []), { word: 'figures only', cls: 'v-skip' });
  const html = leakSection(rec);
  assert.match(html, /<summary>2 kmemleak reports<\/summary>/);
  assert.match(html, /<span class="badge v-fail">nexus<\/span> after ports round 1: size 256, comm node<pre class="console">unreferenced object 0xffff888003f5a000/);
});

test('the leak events are events: parseEvent takes them, the folder keeps them apart from scenarios', () => {
  const s = snap('ports', 0, 1, slab('6.1', 0));
  const parsed = parseEvent(JSON.stringify(s));
  assert.ok(parsed && isLeakEvent(parsed));
  assert.ok(parseEvent(JSON.stringify({ type: 'kmemleak', t: 1, suite: 'ports', rep: 1, reports: [] })));
  assert.not.ok(isLeakEvent({ type: 'counters' }));
  const folder = new EventFolder();
  folder.add({ type: 'scenario-start', t: 0, suite: 'ports', scenario: 'a' });
  folder.add(s);
  folder.add({ type: 'scenario-end', t: 1, suite: 'ports', scenario: 'a', status: 'pass', durationMs: 1 });
  folder.add({ ...s, rep: 1 });
  assert.is(folder.leakEvents.length, 2);
  assert.is(folder.scenarios.length, 1);
});

test('leakHooks: leaks.repeat rounds of the suite\'s scenarios; leaks.slab=0 emits nothing; a bad repeat is refused', async () => {
  const params: Record<string, number> = { 'leaks.repeat': 3, 'leaks.slab': 0 };
  const param = (name: string, fallback: number) => params[name] ?? fallback;
  const events: GuestEvent[] = [];
  const hooks = leakHooks(param, (e) => events.push(e), () => 0);
  assert.is(hooks.repeat, 3);
  const seen: string[] = [];
  for await (const sc of hooks.rounds('ports', ['a', 'b'])) seen.push(sc);
  assert.equal(seen, ['a', 'b', 'a', 'b', 'a', 'b']);
  assert.equal(events, []);
  assert.is(leakHooks((n, f) => (n === 'leaks.repeat' ? 0 : f), () => {}, () => 0).repeat, 1);
  assert.throws(() =>
    leakHooks(
      (n, f) => {
        if (n === 'leaks.repeat') throw new Error('run parameter leaks.repeat=x is not a number');
        return f;
      },
      () => {},
      () => 0,
    ),
  /leaks.repeat/);
});

test('leakRepeat: the rounds the guest will run, for the runner deadline', () => {
  assert.is(leakRepeat({}), 1);
  assert.is(leakRepeat({ 'leaks.repeat': '3' }), 3);
  assert.is(leakRepeat({ 'leaks.repeat': '2.7' }), 2);
  assert.is(leakRepeat({ 'leaks.repeat': '0' }), 1);
  assert.is(leakRepeat({ 'leaks.repeat': 'x' }), 1);
});

test.run();
