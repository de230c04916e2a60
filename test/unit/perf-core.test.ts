import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import {
  accelMetrics,
  benchMetrics,
  benchTable,
  classifyAccel,
  parseBenchOutput,
  ratio,
  roundRatios,
  sanityProblems,
  type BenchResult,
  type BenchSpec,
} from '../../scenarios/perf-core/bench.js';
import { ROUND_TRIPS, TIMEOUTS } from '../../scenarios/perf-core/index.js';

function result(name: string, median: number, p99 = median * 2, over: Partial<BenchResult> = {}): BenchResult {
  return {
    name, bytes: 64, iterations: 100, rounds: 1, warmup: 10, median_ns: median, p99_ns: p99,
    mean_ns: median, min_ns: Math.max(1, median - 1), max_ns: p99 + 1, round_medians_ns: [median], ...over,
  };
}

const LINE =
  '{"name":"pipe-rtt-64","bytes":64,"iterations":10,"rounds":2,"warmup":1,"median_ns":5,"p99_ns":9,"mean_ns":6,"min_ns":4,"max_ns":12,"round_medians_ns":[5,6]}';

test('bench output parses line by line; bad lines throw, naming the program', () => {
  const out = parseBenchOutput(`${LINE}\n\n`);
  assert.equal(out.map((r) => [r.name, r.median_ns, r.p99_ns, r.round_medians_ns]), [['pipe-rtt-64', 5, 9, [5, 6]]]);
  assert.equal(parseBenchOutput(''), []);
  assert.throws(() => parseBenchOutput('oops\n'), /nexus-bench printed a line that is not JSON/);
  assert.throws(() => parseBenchOutput('oops\n', 'nexus-bench-ipc'), /nexus-bench-ipc printed/);
  assert.throws(() => parseBenchOutput('{"bytes":1}'), /without a mode name/);
  assert.throws(() => parseBenchOutput('{"name":"x","bytes":1}'), /"iterations" is not a number/);
  assert.throws(() => parseBenchOutput(LINE.replace('"round_medians_ns":[5,6]', '"round_medians_ns":5')), /"round_medians_ns" is not a list/);
  assert.throws(() => parseBenchOutput(LINE.replace(',"rounds":2', '')), /"rounds" is not a number/);
});

test('ratios are Nexus median over baseline median, 3 decimals; per round when both ran the same rounds', () => {
  assert.is(ratio(300, 100), 3);
  assert.is(ratio(1, 3), 0.333);
  assert.is(ratio(2, 3), 0.667);
  assert.is(ratio(5, 0), 0);
  assert.is(ratio(5, -2), 0);
  const a = result('a', 10, 20, { round_medians_ns: [10, 12, 9] });
  assert.equal(roundRatios(a, result('b', 5, 10, { round_medians_ns: [5, 4, 9] })), [2, 3, 1]);
  assert.equal(roundRatios(a, result('b', 5, 10, { round_medians_ns: [5, 4] })), []);
});

const SPEC: BenchSpec = {
  modes: ['port-rtt-64', 'port-rtt-4096', 'sem-pingpong', 'pipe-rtt-64', 'posix-sem-pingpong'],
  baselines: [
    { mode: 'port-rtt-64', baseline: 'pipe-rtt-64', metric: 'vs-pipe' },
    { mode: 'port-rtt-4096', baseline: 'pipe-rtt-4096', metric: 'vs-pipe' },
    { mode: 'sem-pingpong', baseline: 'posix-sem-pingpong', metric: 'vs-posix-sem' },
  ],
};

test('metrics: median, p99 and round medians per mode, then a ratio per Nexus shape whose baseline ran', () => {
  const m = benchMetrics([
    result('port-rtt-64', 400, 900, { rounds: 2, round_medians_ns: [380, 420] }),
    result('port-rtt-4096', 500),
    result('sem-pingpong', 300),
    result('pipe-rtt-64', 200, 400, { rounds: 2, round_medians_ns: [190, 210] }),
    result('posix-sem-pingpong', 100),
  ], SPEC);
  assert.equal(m.slice(0, 4), [
    { name: 'port-rtt-64.median', value: 400, unit: 'ns', samples: [380, 420] },
    { name: 'port-rtt-64.p99', value: 900, unit: 'ns' },
    { name: 'port-rtt-64.round1', value: 380, unit: 'ns' },
    { name: 'port-rtt-64.round2', value: 420, unit: 'ns' },
  ]);
  assert.is(m.filter((x) => x.unit === 'ns').length, 5 * 2 + 2 + 3 + 2);
  // port-rtt-4096 has no baseline here (pipe-rtt-4096 did not run): no ratio.
  // One round: no per-round range.
  assert.equal(m.filter((x) => x.unit === 'x'), [
    { name: 'port-rtt-64.vs-pipe', value: 2, unit: 'x', samples: [2, 2] },
    { name: 'port-rtt-64.vs-pipe.min', value: 2, unit: 'x' },
    { name: 'port-rtt-64.vs-pipe.max', value: 2, unit: 'x' },
    { name: 'sem-pingpong.vs-posix-sem', value: 3, unit: 'x', samples: [3] },
  ]);
  // The samples of a median are its round medians, nothing else carries any but the ratios.
  assert.equal(m.filter((x) => x.samples).map((x) => x.name), [
    'port-rtt-64.median', 'port-rtt-4096.median', 'sem-pingpong.median', 'pipe-rtt-64.median', 'posix-sem-pingpong.median',
    'port-rtt-64.vs-pipe', 'sem-pingpong.vs-posix-sem',
  ]);
});

test('metrics: a lateness is in µs with one decimal, its ratio is still of the medians', () => {
  const m = benchMetrics([
    result('sem-timeout-1ms', 3_987_654, 4_100_000, { rounds: 2, round_medians_ns: [3_900_000, 4_000_049] }),
    result('port-timeout-1ms', 60_000),
    result('timerfd-1ms', 50_000, 90_000, { rounds: 2, round_medians_ns: [39_000, 60_000] }),
  ], TIMEOUTS);
  const by = new Map(m.map((x) => [x.name, x]));
  assert.equal(by.get('sem-timeout-1ms.median'), { name: 'sem-timeout-1ms.median', value: 3987.7, unit: 'us', samples: [3900, 4000] });
  assert.equal(by.get('sem-timeout-1ms.vs-timerfd')?.samples, [100, 66.667]);
  assert.equal(by.get('sem-timeout-1ms.round2'), { name: 'sem-timeout-1ms.round2', value: 4000, unit: 'us' });
  assert.equal(by.get('timerfd-1ms.p99'), { name: 'timerfd-1ms.p99', value: 90, unit: 'us' });
  assert.is(by.get('sem-timeout-1ms.vs-timerfd')?.value, 79.753);
  assert.is(by.get('sem-timeout-1ms.vs-timerfd.min')?.value, 66.667);
  assert.is(by.get('sem-timeout-1ms.vs-timerfd.max')?.value, 100);
  assert.is(by.get('port-timeout-1ms.vs-timerfd')?.value, 1.2);
  assert.not.ok(by.has('port-timeout-1ms.vs-timerfd.min'), 'rounds differ: no per-round range');
});

test('the table: one row per mode with its round medians, one line per ratio', () => {
  const t = benchTable([
    result('port-rtt-64', 4000, 8000, { rounds: 2, round_medians_ns: [3900, 4100] }),
    result('pipe-rtt-64', 2000, 4000, { rounds: 2, round_medians_ns: [2000, 2050] }),
  ], SPEC);
  assert.match(t, /port-rtt-64\s+100\s+4\.0 us\s+8\.0 us\s+3\.9 4\.1/);
  assert.match(t, /port-rtt-64 \/ pipe-rtt-64: 2x \(rounds 1\.95-2\)/);
  assert.match(benchTable([result('timerfd-1ms', 50_000)], TIMEOUTS), /timerfd-1ms \(late by\)\s+100\s+50\.0 us/);
});

test('sanity: rounds x iterations, one median per round, positive times, min <= median <= p99 <= max', () => {
  assert.equal(sanityProblems(result('a', 10), 100, 1), []);
  assert.equal(sanityProblems(result('a', 10), 50, 1), ['a: 100 samples, asked for 1 x 50']);
  assert.equal(sanityProblems(result('a', 10), 50, 2), ['a: 1 rounds, asked for 2']);
  assert.equal(sanityProblems(result('a', 10, 20, { round_medians_ns: [] }), 100, 1), ['a: 0 round medians for 1 rounds']);
  assert.equal(sanityProblems(result('a', 10, 20, { round_medians_ns: [99] }), 100, 1), ['a: round medians 99 ns outside [min, max]']);
  assert.equal(sanityProblems(result('a', 10, 5, { max_ns: 20 }), 100, 1), ['a: p99 5 ns < median 10 ns']);
  assert.equal(sanityProblems(result('a', 10, 20, { min_ns: 0 }), 100, 1), ['a: min 0 ns is not positive']);
  assert.equal(sanityProblems(result('a', 10, 20, { max_ns: 15 }), 100, 1), ['a: max 15 ns < p99 20 ns']);
  assert.equal(sanityProblems(result('a', 10, 20, { mean_ns: 50 }), 100, 1), ['a: mean 50 ns outside [min, max]']);
});

test('sanity of a lateness: 0 is a fine minimum, a timeout that fired early is a problem', () => {
  assert.equal(sanityProblems(result('t', 10, 20, { min_ns: 0 }), 100, 1, true), []);
  assert.equal(sanityProblems(result('t', 10, 20, { min_ns: -1500 }), 100, 1, true), ['t: a timeout fired 1500 ns early']);
});

test('the accelerator: kvm-clock means KVM, QEMU TCG CPU or a bare hypervisor flag means TCG', () => {
  const flags = (f: string) => `processor\t: 0\nmodel name\t: Intel Xeon\nflags\t\t: fpu vme ${f} sse\n`;
  assert.is(classifyAccel(flags('hypervisor'), 'kvm-clock tsc hpet acpi_pm \n'), 'kvm');
  assert.is(classifyAccel('model name\t: QEMU TCG CPU version 2.5+\n', 'tsc hpet acpi_pm\n'), 'tcg');
  assert.is(classifyAccel(flags('hypervisor'), 'hpet acpi_pm\n'), 'tcg');
  assert.is(classifyAccel(flags('pae'), 'tsc hpet\n'), 'unknown');
  assert.is(classifyAccel('', ''), 'unknown');
  assert.equal(accelMetrics('tcg'), [{ name: 'accel.tcg', value: 1, unit: 'bool' }]);
  assert.equal(accelMetrics('kvm'), [{ name: 'accel.tcg', value: 0, unit: 'bool' }]);
  assert.equal(accelMetrics('unknown'), []);
});

test('the suite compares every Nexus round trip with each Linux IPC of its shape', () => {
  assert.equal(
    ROUND_TRIPS.baselines.map((b) => `${b.mode}.${b.metric}`),
    [
      'port-rtt-64.vs-pipe', 'port-rtt-64.vs-mq', 'port-rtt-64.vs-sysv-msg',
      'port-rtt-4096.vs-pipe', 'port-rtt-4096.vs-mq', 'port-rtt-4096.vs-sysv-msg',
      'sem-pingpong.vs-posix-sem', 'sem-pingpong.vs-sysv-sem',
    ],
  );
  for (const spec of [ROUND_TRIPS, TIMEOUTS]) {
    for (const b of spec.baselines) assert.ok(spec.modes.includes(b.mode) && spec.modes.includes(b.baseline), `${b.mode} and ${b.baseline} both run`);
  }
});

// The baselines need no /dev/nexus, so the C program can run on the host too
// (`make build` compiles it before the unit tests run).
const BENCH = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-bench');
const LINUX_MODES = ['pipe-rtt-64', 'pipe-rtt-4096', 'mq-rtt-64', 'mq-rtt-4096', 'sysv-msg-rtt-64', 'sysv-msg-rtt-4096', 'posix-sem-pingpong', 'sysv-sem-pingpong'];

test('nexus-bench runs the Linux baselines on the host and prints sane JSON lines', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const out = execFileSync(BENCH, ['--iterations', '50', '--warmup', '5', '--rounds', '2', '--deadline', '60', ...LINUX_MODES], {
    encoding: 'utf8', timeout: 70_000,
  });
  const results = parseBenchOutput(out);
  assert.equal(results.map((r) => r.name), LINUX_MODES);
  assert.equal(results.map((r) => r.bytes), [64, 4096, 64, 4096, 64, 4096, 0, 0]);
  for (const r of results) assert.equal(sanityProblems(r, 50, 2), []);
});

test('nexus-bench times a 1 ms timerfd as a lateness (never negative)', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const out = execFileSync(BENCH, ['--iterations', '5', '--warmup', '1', '--rounds', '2', 'timerfd-1ms'], { encoding: 'utf8', timeout: 20_000 });
  const [r] = parseBenchOutput(out);
  assert.is(r?.name, 'timerfd-1ms');
  assert.equal(sanityProblems(r!, 5, 2, true), []);
});

test('nexus-bench fails loudly: unknown modes and bad counts exit non-zero with a message', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  for (const args of [['no-such-mode'], ['--iterations', '0', 'pipe-rtt-64'], ['--warmup'], ['--rounds', '21', 'pipe-rtt-64']]) {
    let status: number | null = 0;
    let stderr = '';
    try {
      execFileSync(BENCH, args, { encoding: 'utf8', stdio: 'pipe', timeout: 10_000 });
    } catch (e) {
      status = (e as { status: number | null }).status;
      stderr = String((e as { stderr: string }).stderr);
    }
    assert.is.not(status, 0, `nexus-bench ${args.join(' ')} exits non-zero`);
    assert.match(stderr, /nexus-bench: /);
  }
});

test.run();
