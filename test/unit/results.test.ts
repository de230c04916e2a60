import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventFolder, fmtMetric, junitXml, metricsTable, summarize, summaryTable, writeJsonAtomic, type JobRecord, type RunRecord } from '../../lab/results.js';
import { parseEvent, type GuestEvent } from '../../scenarios/runner/events.js';

function job(id: string, over: Partial<JobRecord> = {}): JobRecord {
  return {
    id, kernel: { id: 'k', release: '6.1.0-56-cloud-amd64' }, profile: 'quick', suites: ['smoke'], cpus: 1, phase: 'done',
    phases: {}, scenarios: [], splats: [], counters: [], problems: [], files: {}, ...over,
  };
}

function run(jobs: JobRecord[]): RunRecord {
  return {
    schema: 1, runId: 'r1', status: 'done', startedAt: '', command: [], params: {}, kernels: [], phases: {}, jobs,
    host: { hostname: 'h', cpus: 2, memMiB: 1, kernel: 'k', os: 'o', node: 'v20' },
  };
}

test('the event stream folds into scenario results with failures and metrics', () => {
  const lines = [
    '{"type":"run-start","t":0,"suites":["smoke"],"node":"v18","kernel":"6.1"}',
    'some stray output',
    '{"type":"scenario-start","t":1,"suite":"smoke","scenario":"a"}',
    '{"type":"metric","t":2,"suite":"smoke","scenario":"a","name":"open","value":3.5,"unit":"us"}',
    '{"type":"scenario-end","t":3,"suite":"smoke","scenario":"a","status":"pass","durationMs":2}',
    '{"type":"scenario-start","t":4,"suite":"smoke","scenario":"b"}',
    '{"type":"assert-fail","t":5,"suite":"smoke","scenario":"b","message":"teams","expected":2,"actual":1}',
    '{"type":"counters","t":5,"suite":"smoke","scenario":"b","label":"both open","values":{"teams":1}}',
    '{"type":"scenario-end","t":6,"suite":"smoke","scenario":"b","status":"fail","durationMs":2,"reason":"1 check failed"}',
    '{"type":"scenario-start","t":7,"suite":"smoke","scenario":"c"}',
  ];
  const f = new EventFolder();
  for (const l of lines) {
    const e = parseEvent(l);
    if (e) f.add(e);
  }
  assert.not.ok(f.runEnded);
  const results = f.finish('the guest kernel panicked');
  assert.equal(results.map((r) => [r.name, r.status]), [['a', 'pass'], ['b', 'fail'], ['c', 'error']]);
  assert.equal(results[0]!.metrics, [{ name: 'open', value: 3.5, unit: 'us' }]);
  assert.equal(results[1]!.failures, [{ message: 'teams', expected: 2, actual: 1 }]);
  assert.is(results[2]!.reason, 'the guest kernel panicked');
  assert.equal(f.counters, [{ label: 'both open', values: { teams: 1 } }]);
  const end: GuestEvent = { type: 'run-end', t: 9, passed: 1, failed: 2, skipped: 0 };
  f.add(end);
  assert.ok(f.runEnded);
});

test('parseEvent ignores what is not an event', () => {
  assert.is(parseEvent('hello'), undefined);
  assert.is(parseEvent('{"type":"nope"}'), undefined);
  assert.is(parseEvent('{"type":'), undefined);
  assert.ok(parseEvent(' {"type":"run-end","t":1,"passed":0,"failed":0,"skipped":0} '));
});

test('junit has a suite per job, scenario cases and a verdict case, escaped', () => {
  const xml = junitXml(run([
    job('6.1-cloud-quick', {
      verdict: 'fail', reason: 'smoke/b: <teams> & "more"', wallMs: 1500,
      scenarios: [
        { suite: 'smoke', name: 'a', status: 'pass', durationMs: 10, failures: [], metrics: [] },
        { suite: 'smoke', name: 'b', status: 'fail', durationMs: 10, failures: [{ message: 'teams', expected: 2, actual: 1 }], metrics: [] },
      ],
    }),
    job('6.12-cloud-quick', { verdict: 'build-failed', reason: 'error: #error "x"' }),
  ]));
  assert.match(xml, /<testsuites name="nexus-lab r1" tests="4" failures="2" errors="1" skipped="0">/);
  assert.match(xml, /<testsuite name="6.1-cloud-quick" tests="3" failures="2" errors="0"/);
  assert.match(xml, /<testcase name="b" classname="6.1-cloud-quick.smoke" time="0.010"><failure message="teams">teams\n  expected: 2\n  actual:   1<\/failure>/);
  assert.match(xml, /message="fail: smoke\/b: &lt;teams&gt; &amp; &quot;more&quot;"/);
  assert.match(xml, /<error type="build-failed" message="build-failed: error: #error &quot;x&quot;">/);
  assert.not.match(xml, /<teams>/);
});

test('the summary table has one row per job with verdict, counts, boot and wall time', () => {
  const t = summaryTable(run([
    job('6.1-cloud-quick', {
      verdict: 'pass', wallMs: 18500, boot: { accel: 'tcg', bootToSshMs: 6900 },
      scenarios: [{ suite: 's', name: 'a', status: 'pass', durationMs: 1, failures: [], metrics: [] }],
    }),
    job('6.12-cloud-quick', { verdict: 'kernel-splat', reason: 'panic: Kernel panic', wallMs: 2000 }),
  ]));
  const rows = t.split('\n');
  assert.is(rows.length, 4);
  assert.match(rows[0]!, /^job\s+kernel\s+verdict\s+passed\s+failed\s+boot\s+wall\s+reason$/);
  assert.match(rows[2]!, /^6\.1-cloud-quick\s+6\.1\.0-56-cloud-amd64\s+pass\s+1\s+0\s+6\.9 s\s+18\.5 s$/);
  assert.match(rows[3]!, /kernel-splat\s+0\s+0\s+-\s+2\.0 s\s+panic: Kernel panic$/);
});

test('metric values print as integers or with at most 3 decimals', () => {
  assert.is(fmtMetric(41230), '41230');
  assert.is(fmtMetric(1.23456), '1.235');
  assert.is(fmtMetric(0.5), '0.5');
  assert.is(fmtMetric(-2), '-2');
  assert.is(fmtMetric(Number.NaN), 'NaN');
});

test('the metrics table has a row per metric with job, scenario, metric, right-aligned value and unit', () => {
  const sc = (name: string, metrics: { name: string; value: number; unit: string }[]) =>
    ({ suite: 'perf-core', name, status: 'pass' as const, durationMs: 1, failures: [], metrics });
  const t = metricsTable(run([
    job('6.1-cloud-quick', {
      scenarios: [sc('round-trips', [
        { name: 'port-rtt-64.median', value: 41230, unit: 'ns' },
        { name: 'port-rtt-64.vs-pipe', value: 1.23456, unit: 'x' },
      ])],
    }),
    job('6.12-cloud-quick', { scenarios: [sc('round-trips', [{ name: 'sem-pingpong.p99', value: 7, unit: 'ns' }]), sc('empty', [])] }),
  ]));
  assert.ok(t !== undefined);
  const rows = t.split('\n');
  assert.is(rows.length, 5);
  assert.match(rows[0]!, /^job\s+scenario\s+metric\s+value\s+unit$/);
  assert.match(rows[1]!, /^-+ {2}-+ {2}-+ {2}-+ {2}-+$/);
  assert.is(rows[2], '6.1-cloud-quick   perf-core/round-trips  port-rtt-64.median   41230  ns');
  assert.is(rows[3], '6.1-cloud-quick   perf-core/round-trips  port-rtt-64.vs-pipe  1.235  x');
  assert.is(rows[4], '6.12-cloud-quick  perf-core/round-trips  sem-pingpong.p99         7  ns');
});

test('there is no metrics table when no job recorded a metric', () => {
  assert.is(metricsTable(run([job('a', { scenarios: [{ suite: 's', name: 'a', status: 'pass', durationMs: 1, failures: [], metrics: [] }] })])), undefined);
  assert.is(metricsTable(run([])), undefined);
});

test('summarize is ok only when every job passed', () => {
  assert.equal(summarize([job('a', { verdict: 'pass' }), job('b', { verdict: 'pass' })]), { total: 2, verdicts: { pass: 2 }, ok: true });
  assert.equal(summarize([job('a', { verdict: 'pass' }), job('b')]), { total: 2, verdicts: { pass: 1, 'infra-error': 1 }, ok: false });
  assert.not.ok(summarize([]).ok);
});

test('run.json is written atomically and leaves no temporary file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-results-'));
  try {
    const path = join(dir, 'run.json');
    await writeJsonAtomic(path, { a: 1 });
    await writeJsonAtomic(path, { a: 2 });
    assert.equal(JSON.parse(readFileSync(path, 'utf8')), { a: 2 });
    assert.equal(readdirSync(dir), ['run.json']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
