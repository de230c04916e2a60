import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PROFILES } from '../../lab/plan.js';
import { SUITES } from '../../scenarios/suites.js';
import {
  SWEEPS,
  TIMES,
  attrWrites,
  driverArgs,
  faultsOptions,
  isTextSection,
  moduleTextRange,
  moduleTextSymbols,
  opsTable,
  parseAddress,
  parseDriverOutput,
  parseProcModules,
  quietWrites,
  skipped,
  spanOf,
  summaryProblems,
  totalSites,
  type FaultsSummary,
  type ModuleLayout,
  type OpStats,
} from '../../scenarios/faults/model.js';

function params(set: Record<string, number>) {
  return (name: string, fallback: number) => (name in set ? set[name]! : fallback);
}

test('/proc/modules: size, text base and the out-of-tree taint of each module', () => {
  const text = [
    'nexus_node_monitor 90112 0 - Live 0xffffffffc0c3a000 (O)',
    'nexus_area 40960 0 - Live 0xffffffffc0c20000 (OE)',
    'nexus 118784 2 nexus_node_monitor,nexus_area, Live 0xffffffffc0bf0000 (O)',
    'virtio_net 69632 0 - Live 0xffffffffc0b00000',
    'hidden 4096 0 - Live 0x0000000000000000 (O)',
    '',
  ].join('\n');
  const m = parseProcModules(text);
  assert.equal(m.map((x) => x.name), ['nexus_node_monitor', 'nexus_area', 'nexus', 'virtio_net', 'hidden']);
  assert.equal(m[2], { name: 'nexus', size: 118784, base: 0xffffffffc0bf0000n, outOfTree: true });
  assert.is(m[1]!.outOfTree, true, 'O among other taints');
  assert.is(m[3]!.outOfTree, false);
  assert.is(m[4]!.base, undefined, 'an address hidden by kptr_restrict is no address');
});

test('addresses of sections and debugfs numbers; text symbols of one module from kallsyms', () => {
  assert.is(parseAddress('0xffffffffc0bf1000\n'), 0xffffffffc0bf1000n);
  assert.is(parseAddress('12345\n'), 12345n);
  assert.is(parseAddress('(null)'), undefined);
  const kallsyms = [
    'ffffffffc0bf1000 t nexus_port_create\t[nexus]',
    'ffffffffc0bf2400 T nexus_team_get\t[nexus]',
    'ffffffffc0c05000 d nexus_ports\t[nexus]',
    'ffffffffc0c21000 t nexus_area_create\t[nexus_area]',
    'ffffffff81000000 T _stext',
    '0000000000000000 t hidden\t[nexus]',
  ].join('\n');
  assert.equal(moduleTextSymbols(kallsyms, 'nexus'), [0xffffffffc0bf1000n, 0xffffffffc0bf2400n]);
  assert.equal(moduleTextSymbols(kallsyms, 'nexus_area'), [0xffffffffc0c21000n]);
  assert.equal(moduleTextSymbols(kallsyms, 'nexus_node_monitor'), []);
  assert.ok(isTextSection('.text') && isTextSection('.text.unlikely') && isTextSection('.exit.text') && isTextSection('.noinstr.text'));
  assert.ok(!isTextSection('.init.text') && !isTextSection('.rodata') && !isTextSection('__ksymtab_gpl'));
});

test('a module\'s text: 6.1 lays rodata right after it - the range ends there', () => {
  const nexus: ModuleLayout = {
    name: 'nexus',
    sections: { '.text': 0xc000_1000n, '.text.unlikely': 0xc000_0000n, '.rodata': 0xc000_9000n, '.data': 0xc000_b000n },
    symbols: [0xc000_1000n, 0xc000_8ff0n],
    base: 0xc000_0000n,
    size: 0x10000,
  };
  assert.equal(moduleTextRange(nexus, [nexus]), { start: 0xc000_0000n, end: 0xc000_9000n });
});

test('a module\'s text: 6.12 allocates it alone - base + size, or another module, ends it first', () => {
  const nexus: ModuleLayout = {
    name: 'nexus',
    sections: { '.text': 0xc010_0000n, '.rodata': 0xc000_0000n, '.data': 0xc005_0000n },
    symbols: [0xc010_0000n, 0xc010_7f00n],
    base: 0xc010_0000n,
    size: 0x30000,
  };
  assert.equal(moduleTextRange(nexus, [nexus]), { start: 0xc010_0000n, end: 0xc013_0000n }, 'base + size');
  const next: ModuleLayout = { name: 'nexus_area', sections: { '.text': 0xc010_9000n }, symbols: [], base: 0xc010_9000n, size: 0x8000 };
  assert.equal(moduleTextRange(nexus, [nexus, next]), { start: 0xc010_0000n, end: 0xc010_9000n }, 'the next module');
  const before: ModuleLayout = { name: 'virtio', sections: { '.text': 0xc00f_0000n }, symbols: [], base: 0xc00f_0000n, size: 0x100000 };
  assert.is(moduleTextRange(nexus, [before, nexus])?.end, 0xc013_0000n, 'what lies below the module does not end it');
});

test('a module\'s text without sizes: 64 KiB past its last symbol; nothing known: undefined', () => {
  const bare: ModuleLayout = { name: 'x', sections: {}, symbols: [0xc000_2000n, 0xc000_1000n] };
  assert.equal(moduleTextRange(bare, [bare]), { start: 0xc000_1000n, end: 0xc001_2000n });
  assert.is(moduleTextRange({ name: 'x', sections: { '.data': 0xc000_0000n }, symbols: [] }, []), undefined);
  assert.equal(spanOf([{ start: 5n, end: 9n }, { start: 2n, end: 4n }, { start: 7n, end: 12n }]), { start: 2n, end: 12n });
});

test('debugfs for a run: scoped to the range, task filter, sleeping allocations too, silent; nth fails only by fail-nth', () => {
  const range = { start: 0xffffffffc0bf0000n, end: 0xffffffffc0c4a000n };
  const slab = Object.fromEntries(attrWrites('failslab', range, { probability: 50, interval: 3 }));
  assert.equal(slab, {
    probability: '50',
    interval: '3',
    times: String(TIMES),
    space: '0',
    verbose: '0',
    'task-filter': 'Y',
    'ignore-gfp-wait': 'N',
    'stacktrace-depth': '32',
    'require-start': range.start.toString(),
    'require-end': range.end.toString(),
    'reject-start': '0',
    'reject-end': '0',
    'cache-filter': 'N',
  });
  const page = Object.fromEntries(attrWrites('fail_page_alloc', range, 'nth'));
  assert.is(page.probability, '0');
  assert.is(page.interval, '1');
  assert.is(page['ignore-gfp-highmem'], 'Y', 'user pages (highmem) are not failed');
  assert.is(page['min-order'], '0');
  assert.is(page['cache-filter'], undefined);
  const unscoped = Object.fromEntries(attrWrites('failslab', undefined, { probability: 100, interval: 1 }));
  assert.is(unscoped['task-filter'], 'Y', 'without a stack filter (6.1): the task alone');
  assert.is(unscoped['require-start'], undefined);
  assert.is(unscoped['stacktrace-depth'], undefined);
  assert.equal(Object.fromEntries(quietWrites()), { probability: '0', 'require-start': '0', 'require-end': '0' });
  assert.equal(SWEEPS.map((s) => s.probability), [100, 50, 10, 100, 100, 100]);
  assert.equal(SWEEPS.map((s) => s.interval), [1, 1, 1, 2, 3, 7]);
});

test('faults options: defaults, and a bad parameter named', () => {
  assert.equal(faultsOptions(params({})), { rounds: 1, nthRounds: 2, maxNth: 64, sweeps: 6, callTimeoutS: 60 });
  assert.throws(() => faultsOptions(params({ 'faults.nth_rounds': 0 })), /faults\.nth_rounds/);
  assert.is(faultsOptions(params({ 'faults.rounds': 3 })).rounds, 3);
  assert.throws(() => faultsOptions(params({ 'faults.rounds': 0 })), /faults\.rounds/);
  assert.throws(() => faultsOptions(params({ 'faults.sweeps': 7 })), /faults\.sweeps/);
  assert.throws(() => faultsOptions(params({ 'faults.max_nth': 1.5 })), /faults\.max_nth/);
  const o = faultsOptions(params({}));
  assert.equal(driverArgs(o, { mode: 'nth' }, '/var/tmp/x', 900),
    ['--mode', 'nth', '--rounds', '2', '--max-nth', '64', '--call-timeout', '60', '--deadline', '900', '--dir', '/var/tmp/x']);
  assert.equal(driverArgs(o, { mode: 'sweep', injection: SWEEPS[1]! }, '/d', 9).slice(0, 4), ['--mode', 'sweep', '--rounds', '1']);
});

function op(over: Partial<OpStats> = {}): OpStats {
  return { module: 'nexus', calls: 3, ok: 1, nomem: 2, bad: 0, injected: 2, problems: 0, sites: 2, capped: false, skip: '', ...over };
}

function summary(over: Partial<FaultsSummary> = {}): FaultsSummary {
  return {
    mode: 'nth', calls: 6, ok: 2, nomem: 4, bad: 0, injected: 4, problems: 0, wall_ms: 120, deadline_hit: false,
    first_problems: [], ops: { 'port-create': op(), 'area-clone': op({ module: 'nexus_area', sites: 5 }) }, ...over,
  };
}

test('nexus-faults output: the summary line, or the call that hung; anything else throws', () => {
  const s = summary();
  assert.equal(parseDriverOutput(`nexus-faults: ...\n${JSON.stringify(s)}\n`), { summary: s });
  assert.equal(parseDriverOutput('{"hang":"watch-mount (allocation 3 failed)"}\n'), { hang: 'watch-mount (allocation 3 failed)' });
  assert.throws(() => parseDriverOutput(''), /no summary line/);
  const { calls: _calls, ...noCalls } = s;
  assert.throws(() => parseDriverOutput(JSON.stringify(noCalls)), /calls is not a number/);
});

test('problems: what nexus-faults found, and calls that never stopped allocating; skips are listed apart', () => {
  assert.equal(summaryProblems(summary()), []);
  const bad = summary({ problems: 3, first_problems: ['port-create (allocation 1 failed): status -2', 'b', 'c'] });
  assert.equal(summaryProblems(bad), ['3 problem(s) found, the first 3:', 'port-create (allocation 1 failed): status -2', 'b', 'c']);
  assert.equal(summaryProblems(summary({ ops: { x: op({ capped: true, sites: 64 }) } })),
    ['x: still allocating after 64 allocations failed one by one (faults.max_nth)']);
  assert.equal(skipped(summary({ ops: { 'watch-attr': op({ skip: 'no user xattrs' }), y: op() } })), ['watch-attr: no user xattrs']);
  assert.is(totalSites(summary()), 7);
  const table = opsTable(summary()).split('\n');
  assert.is(table.length, 3);
  assert.match(table[0]!, /^operation\s+module\s+calls\s+ok\s+nomem\s+bad\s+injected\s+sites\s+problems$/);
  assert.match(table[2]!, /^area-clone\s+nexus_area\s+3\s+1\s+2\s+0\s+2\s+5\s+0$/);
});

test('faults is registered for 2 vCPUs with a budget, and in no profile by default', () => {
  const info = SUITES.find((s) => s.name === 'faults');
  assert.ok(info, 'scenarios/suites.ts has faults');
  assert.is(info!.cpus, 2);
  assert.ok((info!.budgetMs ?? 0) > 0);
  assert.ok(!info!.destructive);
  for (const p of PROFILES) assert.not.ok(p.suites.includes('faults'), `profile ${p.name} runs faults only when asked`);
});

test.run();
