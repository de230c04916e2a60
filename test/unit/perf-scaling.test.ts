import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import {
  familyFigures,
  median,
  modeName,
  parseScaleOutput,
  roundBalance,
  roundRates,
  scaleProblems,
  scalingMetrics,
  scalingModes,
  scalingTable,
  countedRounds,
  leftOutWindows,
  type ScaleResult,
} from '../../scenarios/perf-scaling/scaling.js';
import { deadlineS, PAIRS } from '../../scenarios/perf-scaling/index.js';

const WINDOW = 500_000_000;

/** A mode's result: per round, per pair, round trips in a 0.5 s window. */
function result(name: string, roundTrips: number[][], over: Partial<ScaleResult> = {}): ScaleResult {
  return {
    name, kind: name.replace(/-\d+pairs?$/, ''), pairs: roundTrips[0]!.length, bytes: 64, pinned: 1,
    rounds: roundTrips.length, warmup: 100, window_ns: WINDOW, round_trips: roundTrips,
    late_ns: roundTrips.map((row) => row.map(() => 80_000)), ...over,
  };
}

const LINE =
  '{"name":"pipe-2pairs","kind":"pipe","pairs":2,"bytes":64,"pinned":0,"rounds":2,"warmup":100,"window_ns":500000000,' +
  '"round_trips":[[100,90],[80,85]],"late_ns":[[1000,2000],[3000,4000]]}';

test('driver output parses line by line; bad lines throw, naming the program', () => {
  const [r] = parseScaleOutput(`${LINE}\n\n`);
  assert.equal([r!.name, r!.pairs, r!.round_trips, r!.late_ns], ['pipe-2pairs', 2, [[100, 90], [80, 85]], [[1000, 2000], [3000, 4000]]]);
  assert.equal(parseScaleOutput(''), []);
  assert.throws(() => parseScaleOutput('oops'), /nexus-bench-scale printed a line that is not JSON/);
  assert.throws(() => parseScaleOutput('{"name":"x"}'), /without a mode name and kind/);
  assert.throws(() => parseScaleOutput(LINE.replace('"window_ns":500000000', '"window_ns":"x"')), /"window_ns" is not a number/);
  assert.throws(() => parseScaleOutput(LINE.replace('[[100,90],[80,85]]', '[100,90]')), /"round_trips" is not a list of lists/);
});

test('modes: each family alone, then N pairs, in the order of the families', () => {
  assert.is(modeName('port', 1), 'port-1pair');
  assert.is(modeName('port', 2), 'port-2pairs');
  assert.equal(scalingModes(PAIRS), [
    'port-1pair', 'port-2pairs', 'pipe-1pair', 'pipe-2pairs', 'sem-1pair', 'sem-2pairs',
    'posix-sem-1pair', 'posix-sem-2pairs', 'sysv-sem-1pair', 'sysv-sem-2pairs',
  ]);
  for (const b of PAIRS.baselines) assert.ok(PAIRS.families.includes(b.family) && PAIRS.families.includes(b.baseline), `${b.family} and ${b.baseline} both run`);
  assert.equal(PAIRS.baselines.map((b) => `${b.family}.scaling.${b.metric}`), ['port.scaling.vs-pipe', 'sem.scaling.vs-posix-sem', 'sem.scaling.vs-sysv-sem']);
  // 20 rounds of 10 windows of 0.15 s: 80 s with their margins, 60 s more.
  assert.is(deadlineS(20, 10, 150), 140);
});

test('sanity: rounds and pairs as asked, one figure per pair, no start before the window; starved pairs are counted, not failed', () => {
  assert.equal(scaleProblems(result('port-2pairs', [[10, 12], [11, 9]]), 2, 2), []);
  assert.equal(scaleProblems(result('port-2pairs', [[10, 12]]), 2, 2), ['port-2pairs: 1 rounds, asked for 2']);
  assert.equal(scaleProblems(result('port-1pair', [[10]]), 1, 2), ['port-1pair: 1 pairs, expected 2']);
  assert.equal(scaleProblems(result('port-2pairs', [[10, 12], [3]]), 2, 2), [
    'port-2pairs: round 2: 1 pairs in round_trips, expected 2',
    'port-2pairs: round 2: 1 pairs in late_ns, expected 2',
  ]);
  assert.equal(scaleProblems(result('port-1pair', [[-1]]), 1, 1), ['port-1pair: round 1: pair 1 completed -1 round trips']);
  assert.equal(scaleProblems(result('port-1pair', [[10]], { late_ns: [[-5]] }), 1, 1), ['port-1pair: round 1: pair 1 started 5 ns before its window']);
  assert.equal(scaleProblems(result('port-1pair', [[10]], { late_ns: [] }), 1, 1), ['port-1pair: 0 rounds of late_ns for 1 rounds']);
  // A pair the host never ran in a window, or ran late: sane, and the window left out.
  const late = result('pipe-1pair', [[5], [5], [5]], { late_ns: [[WINDOW * 2], [WINDOW * 0.1], [WINDOW * 0.1 + 1]] });
  const starved = [result('port-2pairs', [[10, 0], [0, 0], [3, 3]]), late];
  for (const r of starved) assert.equal(scaleProblems(r, 3, r.pairs), []);
  assert.equal(countedRounds(starved[0]!), [false, false, true]);
  assert.equal(countedRounds(late), [false, true, false]);
  assert.is(leftOutWindows(starved), 4);
});

test('rates are every pair\'s round trips over the window, per second; balance is the fewest over the most', () => {
  const r = result('pipe-2pairs', [[5000, 5000], [6000, 3000]]);
  assert.equal(roundRates(r), [20_000, 18_000]);
  assert.equal(roundBalance(r), [1, 0.5]);
  assert.is(median([3, 1, 2]), 2);
  assert.is(median([4, 1, 2, 3]), 2.5);
  assert.is(median([]), 0);
});

/** A whole run: Nexus ports scale 1.5x, pipes 1.9x, sems 1.2x, POSIX 2x, SysV 1.6x. */
function run3(): ScaleResult[] {
  const fam = (f: string, one: number[], many: number[][]) => [result(modeName(f, 1), one.map((x) => [x])), result(modeName(f, 2), many)];
  return [
    ...fam('port', [5000, 5200, 4800], [[3750, 3750], [3900, 3900], [3600, 3600]]),
    ...fam('pipe', [10_000, 10_000, 10_000], [[9500, 9500], [9500, 9500], [9000, 10_000]]),
    ...fam('sem', [6000, 6000, 6000], [[3600, 3600], [3600, 3600], [3600, 3600]]),
    ...fam('posix-sem', [8000, 8000, 8000], [[8000, 8000], [8000, 8000], [8000, 8000]]),
    ...fam('sysv-sem', [5000, 5000, 5000], [[4000, 4000], [4000, 4000], [4000, 4000]]),
  ];
}

test('metrics: rates (rt/s) with per-round samples, the scaling and its range, balance, and Nexus scaling over Linux scaling', () => {
  const ms = scalingMetrics(run3(), PAIRS);
  const by = new Map(ms.map((m) => [m.name, m]));
  assert.equal(by.get('port.rate-1pair'), { name: 'port.rate-1pair', value: 10_000, unit: 'rt/s', samples: [10_000, 10_400, 9600] });
  assert.equal(by.get('port.rate-2pairs'), { name: 'port.rate-2pairs', value: 15_000, unit: 'rt/s', samples: [15_000, 15_600, 14_400] });
  assert.equal(by.get('port.scaling'), { name: 'port.scaling', value: 1.5, unit: 'x', samples: [1.5, 1.5, 1.5] });
  assert.equal([by.get('port.scaling.min')?.value, by.get('port.scaling.max')?.value], [1.5, 1.5]);
  assert.is(by.get('pipe.scaling')!.value, 1.9);
  assert.is(by.get('pipe.balance-2pairs')!.value, 1);
  assert.equal(by.get('port.scaling.vs-pipe'), { name: 'port.scaling.vs-pipe', value: 0.789, unit: 'x', samples: [0.789, 0.789, 0.789] });
  assert.is(by.get('sem.scaling.vs-posix-sem')!.value, 0.6);
  assert.is(by.get('sem.scaling.vs-sysv-sem')!.value, 0.75);
  assert.equal(by.get('start-late.max'), { name: 'start-late.max', value: 80, unit: 'us' });
  assert.equal(by.get('windows.left-out'), { name: 'windows.left-out', value: 0, unit: 'count' });
  // Every name is <family>.<figure>: compare tells Nexus from Linux by the family.
  for (const m of ms) assert.match(m.name, /^(port|pipe|sem|posix-sem|sysv-sem|start-late|windows)\./);
  // Uneven pairs show in the balance.
  const uneven = run3();
  uneven[3] = result('pipe-2pairs', [[12_000, 7000], [9500, 9500], [9000, 10_000]]);
  assert.is(new Map(scalingMetrics(uneven, PAIRS).map((m) => [m.name, m])).get('pipe.balance-2pairs')!.value, 0.9);
  // A window a pair started late in is left out, with its round's other
  // window: the family's figures and its ratio come from the rounds left.
  const late = run3();
  late[0] = { ...late[0]!, late_ns: [[80_000], [WINDOW], [80_000]] };
  const lm = new Map(scalingMetrics(late, PAIRS).map((m) => [m.name, m]));
  assert.equal(lm.get('port.rate-1pair')!.samples, [10_000, 9600]);
  assert.equal(lm.get('port.rate-2pairs')!.samples, [15_000, 14_400]);
  assert.equal(lm.get('port.scaling.vs-pipe')!.samples, [0.789, 0.789]);
  assert.equal(lm.get('pipe.rate-1pair')!.samples, [20_000, 20_000, 20_000], 'other families keep every round');
  assert.is(lm.get('windows.left-out')!.value, 1);
  assert.match(scalingTable(late, PAIRS), /^1 windows left out: a pair started more than 10 % of the window late, or made no round trip$/m);
  // A family whose other mode is missing gives nothing, nor its ratios.
  const partial = scalingMetrics(run3().filter((r) => r.name !== 'pipe-1pair'), PAIRS).map((m) => m.name);
  assert.not.ok(partial.some((n) => n.startsWith('pipe.') || n.startsWith('port.scaling.vs-')));
  assert.ok(partial.includes('port.scaling'));
});

test('the runner log table: a row per family and a line per baseline', () => {
  const t = scalingTable(run3(), PAIRS);
  assert.match(t, /^family\s+n\s+1 pair \(rt\/s\)\s+2 pairs \(rt\/s\)\s+scaling\s+rounds\s+balance$/m);
  assert.match(t, /^port\s+3\s+10,000\s+15,000\s+1\.5x\s+1\.5-1\.5\s+1$/m);
  assert.match(t, /^port scaling \/ pipe scaling: 0\.789x \(rounds 0\.789-0\.789\), 3 rounds$/m);
  assert.not.match(t, /left out/);
  assert.match(t, /^sem scaling \/ sysv-sem scaling: 0\.75x/m);
  assert.is(familyFigures(run3(), 'nope', 2), undefined);
});

// ---------------------------------------------------------------- the driver on the host

// The Linux modes need no /dev/nexus: the program runs on the host too
// (`make build` compiles it before the unit tests run).
const BENCH = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-bench-scale');
const LINUX = ['pipe-1pair', 'pipe-2pairs', 'posix-sem-1pair', 'posix-sem-2pairs', 'sysv-sem-1pair', 'sysv-sem-2pairs'];

test('nexus-bench-scale runs the Linux pairs on the host, unpinned and pinned, and prints sane JSON lines', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const pins = availableParallelism() >= 2 ? [false, true] : [false];
  for (const pin of pins) {
    const out = execFileSync(BENCH, ['--window', '30', '--warmup', '10', '--rounds', '2', '--deadline', '60', ...(pin ? ['--pin'] : []), ...LINUX], {
      encoding: 'utf8', timeout: 70_000,
    });
    const results = parseScaleOutput(out);
    assert.equal(results.map((r) => r.name), LINUX);
    assert.equal(results.map((r) => [r.kind, r.pairs, r.bytes, r.pinned]), LINUX.map((m) => [
      m.replace(/-\d+pairs?$/, ''), m.endsWith('2pairs') ? 2 : 1, m.startsWith('pipe') ? 64 : 0, pin ? 1 : 0,
    ]));
    for (const r of results) assert.equal(scaleProblems(r, 2, r.pairs), [], `${r.name}${pin ? ' pinned' : ''}`);
  }
});

test('nexus-bench-scale fails loudly: unknown modes, bad counts, --pin without a CPU per pair', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const cases: [string, string[]][] = [
    [BENCH, ['no-such-mode']],
    [BENCH, ['--window', '0', 'pipe-1pair']],
    [BENCH, ['--rounds', '21', 'pipe-1pair']],
    [BENCH, ['--warmup']],
  ];
  // One CPU allowed, two pairs pinned: refused before anything runs.
  if (existsSync('/usr/bin/taskset')) cases.push(['/usr/bin/taskset', ['-c', '0', BENCH, '--pin', 'pipe-2pairs']]);
  for (const [file, args] of cases) {
    const r = spawnSync(file, args, { encoding: 'utf8', timeout: 10_000 });
    assert.is.not(r.status, 0, `${args.join(' ')} exits non-zero`);
    assert.match(r.stderr, /nexus-bench-scale: /);
  }
  if (existsSync('/usr/bin/taskset')) {
    const r = spawnSync('/usr/bin/taskset', ['-c', '0', BENCH, '--pin', 'pipe-2pairs'], { encoding: 'utf8', timeout: 10_000 });
    assert.match(r.stderr, /--pin: pair 2 needs a CPU of its own, but this program may use only 1/);
  }
});

test.run();
