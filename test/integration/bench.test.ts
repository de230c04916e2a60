// Integration: nexus-lab bench, our tree against itself on 6.12 (one guest,
// two short A/B rounds of perf-core), and a Ctrl-C in the middle of a round.
// About 2 minutes under TCG.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { $ } from 'zx';
import type { BenchRecord } from '../../lab/steps/ab-run.js';
import { ROOT } from '../helpers.js';
import { qemuOf, timeEach } from './guests.js';

$.verbose = false;
timeEach(test);

const CLI = join(ROOT, 'dist', 'lab', 'cli.js');
const RESULTS = join(ROOT, 'results', 'integration', `bench-${new Date().toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(RESULTS, { recursive: true });
const KERNEL = join(ROOT, 'kernel');
const ARGS = ['--source', KERNEL, '--against', KERNEL, '--kernels', '6.12-cloud', '--suites', 'perf-core', '--rounds', '2', '--resamples', '2000'];

function start(results: string) {
  return execa('node', [CLI, 'bench', '--results', results, ...ARGS], {
    cwd: ROOT,
    reject: false,
    timeout: 15 * 60_000,
    env: { NEXUS_LAB_CACHE: join(ROOT, '.cache') },
  });
}

function record(results: string): BenchRecord {
  const [runId] = readdirSync(results);
  assert.ok(runId, 'the run has a directory');
  return JSON.parse(readFileSync(join(results, runId!, 'bench.json'), 'utf8')) as BenchRecord;
}

test('our tree against itself: both sides run in one guest, alternating, and no benchmark claims a difference', async () => {
  const results = mkdtempSync(join(RESULTS, 'self-'));
  const r = await start(results);
  const out = String(r.stdout);
  if (r.exitCode !== 0) console.error(out, String(r.stderr));
  assert.is(r.exitCode, 0);
  const rec = record(results);
  assert.is(rec.status, 'done');
  assert.equal(rec.schedule, [['A', 'B'], ['B', 'A']]);
  const k = rec.results[0]!;
  assert.is(k.verdict, 'pass');
  assert.is(k.roundsRun, 2);
  assert.equal(k.runs.map((x) => `${x.round}${x.side}`), ['1A', '1B', '2B', '2A']);
  // perf-core: eleven round-trip modes and three timeouts.
  assert.is(k.counts.benchmarks, 14);
  assert.is(k.counts.differences, 0, out);
  assert.ok(k.benchmarks.every((b) => b.rounds === 2 && b.samples.a.every((s) => s.length === 5)));
  const job = rec.jobs[0]!;
  for (const f of ['build-A', 'build-B', 'console', 'events-r1-A', 'events-r2-B', 'dmesg']) assert.ok(job.files[f], `${f} is recorded`);
  assert.match(out, /14 benchmarks: 0 differences/);
  assert.match(out, /percentile bootstrap/);
  assert.match(String(r.stderr), /6\.12-cloud-ab: r2\/2 A/);
});

test('Ctrl-C during a round: exit 130, the guest is gone, bench.json says interrupted', async () => {
  const results = mkdtempSync(join(RESULTS, 'int-'));
  const child = start(results);
  let stderr = '';
  const inRound = new Promise<void>((resolve) => {
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (/r1\/2 B/.test(stderr)) resolve();
    });
  });
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no round started: ${stderr}`)), 8 * 60_000);
  });
  try {
    await Promise.race([inRound, late]);
  } finally {
    // A pending timer would keep the test process (and a CI job) alive for minutes.
    clearTimeout(timer);
  }
  const rec0 = record(results);
  child.kill('SIGINT');
  const r = await child;
  assert.is(r.exitCode, 130);
  const rec = record(results);
  assert.is(rec.status, 'interrupted');
  assert.is(rec.jobs[0]!.verdict, 'infra-error');
  assert.equal(await qemuOf(rec0.runId), []);
});

test.run();
