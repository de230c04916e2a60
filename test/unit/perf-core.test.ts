import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import {
  benchMetrics,
  benchTable,
  parseBenchOutput,
  ratio,
  sanityProblems,
  type BenchResult,
} from '../../scenarios/perf-core/bench.js';

function result(name: string, median: number, p99 = median * 2, over: Partial<BenchResult> = {}): BenchResult {
  return {
    name, bytes: 64, iterations: 100, warmup: 10, median_ns: median, p99_ns: p99,
    mean_ns: median, min_ns: Math.max(1, median - 1), max_ns: p99 + 1, ...over,
  };
}

test('nexus-bench output parses line by line; bad lines throw', () => {
  const out = parseBenchOutput(
    '{"name":"pipe-rtt-64","bytes":64,"iterations":10,"warmup":1,"median_ns":5,"p99_ns":9,"mean_ns":6,"min_ns":4,"max_ns":12}\n\n',
  );
  assert.equal(out.map((r) => [r.name, r.median_ns, r.p99_ns]), [['pipe-rtt-64', 5, 9]]);
  assert.equal(parseBenchOutput(''), []);
  assert.throws(() => parseBenchOutput('oops\n'), /not JSON/);
  assert.throws(() => parseBenchOutput('{"bytes":1}'), /without a mode name/);
  assert.throws(() => parseBenchOutput('{"name":"x","bytes":1}'), /"iterations" is not a number/);
});

test('ratios are Nexus median over baseline median, 3 decimals', () => {
  assert.is(ratio(300, 100), 3);
  assert.is(ratio(1, 3), 0.333);
  assert.is(ratio(2, 3), 0.667);
  assert.is(ratio(5, 0), 0);
});

test('metrics: median and p99 per mode, then a ratio per Nexus shape whose baseline ran', () => {
  const m = benchMetrics([
    result('port-rtt-64', 400, 900),
    result('port-rtt-4096', 500),
    result('sem-pingpong', 300),
    result('pipe-rtt-64', 200),
    result('posix-sem-pingpong', 100),
  ]);
  assert.equal(m.slice(0, 2), [
    { name: 'port-rtt-64.median', value: 400, unit: 'ns' },
    { name: 'port-rtt-64.p99', value: 900, unit: 'ns' },
  ]);
  assert.is(m.filter((x) => x.unit === 'ns').length, 10);
  // port-rtt-4096 has no baseline here (pipe-rtt-4096 did not run): no ratio.
  assert.equal(m.filter((x) => x.unit === 'x'), [
    { name: 'port-rtt-64.vs-pipe', value: 2, unit: 'x' },
    { name: 'sem-pingpong.vs-posix-sem', value: 3, unit: 'x' },
  ]);
  assert.match(benchTable([result('port-rtt-64', 4000), result('pipe-rtt-64', 2000)]), /port-rtt-64\s+100\s+4\.0 us\s+8\.0 us\s+2x pipe-rtt-64/);
});

test('sanity: iteration count, positive times, min <= median <= p99 <= max', () => {
  assert.equal(sanityProblems(result('a', 10), 100), []);
  assert.equal(sanityProblems(result('a', 10), 50), ['a: 100 iterations, asked for 50']);
  assert.equal(sanityProblems(result('a', 10, 5, { max_ns: 20 }), 100), ['a: p99 5 ns < median 10 ns']);
  assert.equal(sanityProblems(result('a', 10, 20, { min_ns: 0 }), 100), ['a: min 0 ns is not positive']);
  assert.equal(sanityProblems(result('a', 10, 20, { max_ns: 15 }), 100), ['a: max 15 ns < p99 20 ns']);
  assert.equal(sanityProblems(result('a', 10, 20, { mean_ns: 50 }), 100), ['a: mean 50 ns outside [min, max]']);
});

// The baselines need no /dev/nexus, so the C program can run on the host too
// (`make build` compiles it before the unit tests run).
const BENCH = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-bench');

test('nexus-bench runs the Linux baselines on the host and prints sane JSON lines', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  const out = execFileSync(BENCH, ['--iterations', '200', '--warmup', '20', '--deadline', '60', 'pipe-rtt-64', 'pipe-rtt-4096', 'posix-sem-pingpong'], {
    encoding: 'utf8', timeout: 70_000,
  });
  const results = parseBenchOutput(out);
  assert.equal(results.map((r) => [r.name, r.bytes]), [['pipe-rtt-64', 64], ['pipe-rtt-4096', 4096], ['posix-sem-pingpong', 0]]);
  for (const r of results) assert.equal(sanityProblems(r, 200), []);
});

test('nexus-bench fails loudly: unknown modes and bad counts exit non-zero with a message', () => {
  assert.ok(existsSync(BENCH), `${BENCH} is built (make build)`);
  for (const args of [['no-such-mode'], ['--iterations', '0', 'pipe-rtt-64'], ['--warmup']]) {
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
