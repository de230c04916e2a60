// nexus-lab merge without a guest: a full run built from real run fixtures
// (test/fixtures/report/run.json and compare/run-default.json, four jobs of
// the default matrix), cut into shards as 'run --shard K/N' cuts the plan,
// merged back; and the shard sets that must be refused, each with its reason.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { evidenceMatrix } from '../../lab/evidence.js';
import { cmdMerge } from '../../lab/merge-cmd.js';
import { renderReport } from '../../lab/report.js';
import { mergeProblems, mergeRuns, MergeError, type ShardRun } from '../../lab/merge.js';
import { planHash, shard, type Job } from '../../lab/plan.js';
import { junitXml, summarize, type JobRecord, type RunRecord } from '../../lab/results.js';
import { fixture } from '../helpers.js';

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;
const REPORT = JSON.parse(fixture('report', 'run.json')) as RunRecord;
const DEFAULT = JSON.parse(fixture('compare', 'run-default.json')) as RunRecord;

/** The default matrix's four jobs, in plan order: 6.1 1-vCPU and 2-vCPU, then 6.12's. */
function fullRun(): RunRecord {
  const j = (r: RunRecord, id: string) => clone(r.jobs.find((x) => x.id === id)!);
  const two12: JobRecord = { ...j(DEFAULT, '6.1-cloud-quick-2cpu'), id: '6.12-cloud-quick-2cpu', kernel: j(REPORT, '6.12-cloud-quick').kernel };
  two12.files = Object.fromEntries(Object.entries(two12.files).map(([k, v]) => [k, v.replace('6.1-cloud-quick-2cpu', two12.id)]));
  const jobs = [j(REPORT, '6.1-cloud-quick'), j(DEFAULT, '6.1-cloud-quick-2cpu'), j(REPORT, '6.12-cloud-quick'), two12];
  const run = clone(REPORT);
  run.jobs = jobs;
  run.summary = summarize(jobs);
  run.evidence = evidenceMatrix(jobs, run.source?.declares ?? []);
  return run;
}

const IDS = ['6.1-cloud-quick', '6.1-cloud-quick-2cpu', '6.12-cloud-quick', '6.12-cloud-quick-2cpu'];

/** The N shard runs of `full`, as 'run --shard K/N' would have written them. */
function shardsOf(full: RunRecord, count: number, plan = 'plan-a'): ShardRun[] {
  const out: ShardRun[] = [];
  for (let index = 1; index <= count; index++) {
    const r = clone(full);
    r.runId = `shard-${index}-of-${count}`;
    r.startedAt = `2026-12-01T03:0${index}:00.000Z`;
    r.endedAt = `2026-12-01T03:1${index}:00.000Z`;
    r.jobs = shard(clone(full.jobs), { index, count });
    r.summary = summarize(r.jobs);
    r.evidence = evidenceMatrix(r.jobs, r.source?.declares ?? []);
    r.phases = { kernels: 1000 * index, jobs: 10_000 * index };
    r.shard = { index, count, plan, jobs: full.jobs.map((x) => x.id) };
    out.push({ record: r, dir: `/results/shard${index}` });
  }
  return out;
}

const OPTS = { runId: 'merged-1', command: ['nexus-lab', 'merge', 'a', 'b'] };

for (const n of [2, 3]) {
  test(`${n} shards merge into what the unsharded run has: jobs in plan order, summary, evidence, JUnit`, () => {
    const full = fullRun();
    const shards = shardsOf(full, n);
    assert.equal(mergeProblems(shards), []);
    // Given in any order, merged in plan order.
    const m = mergeRuns([...shards].reverse(), OPTS);
    assert.equal(m.jobs.map((j) => j.id), IDS);
    assert.equal(m.jobs, full.jobs);
    assert.equal(m.summary, full.summary);
    assert.equal(m.summary, { total: 4, verdicts: { pass: 1, 'kernel-splat': 1, fail: 2 }, ok: false });
    assert.equal(m.evidence, full.evidence);
    assert.is(junitXml(m), junitXml({ ...full, runId: m.runId }));
    assert.is(m.runId, 'merged-1');
    assert.is(m.status, 'done');
    assert.equal(m.command, OPTS.command);
    assert.is(m.startedAt, '2026-12-01T03:01:00.000Z', 'the earliest shard start');
    assert.is(m.endedAt, `2026-12-01T03:1${n}:00.000Z`, 'the latest shard end');
    const total = (n * (n + 1)) / 2;
    assert.equal(m.phases, { kernels: 1000 * total, jobs: 10_000 * total }, 'phase times summed');
    assert.equal(m.merged?.shards.map((s) => `${s.index}/${s.count} ${s.runId} ${s.dir}`), shards.map((s) => `${s.record.shard!.index}/${n} ${s.record.runId} ${s.dir}`));
    assert.is(m.merged?.plan, 'plan-a');
    assert.equal(m.merged?.notes, [], 'shards of one host and accelerator: nothing to note');
    assert.is(m.shard, undefined, 'the merged run is no shard');
    assert.equal(m.kernels, full.kernels);
  });
}

test('a merged run with every job passing is ok', () => {
  const full = fullRun();
  for (const j of full.jobs) j.verdict = 'pass';
  assert.equal(mergeRuns(shardsOf(full, 2), OPTS).summary, { total: 4, verdicts: { pass: 4 }, ok: true });
});

test('shards of different plans are refused, saying what differs', () => {
  const a = shardsOf(fullRun(), 2, 'plan-a');
  const b = shardsOf(fullRun(), 2, 'plan-b');
  b[1]!.record.params = { 'fuzz.calls': '7' };
  const problems = mergeProblems([a[0]!, b[1]!]);
  assert.is(problems.length, 1);
  assert.match(problems[0]!, /\/results\/shard1 \(run shard-1-of-2, shard 1\/2\) and \/results\/shard2 \(run shard-2-of-2, shard 2\/2\) are shards of different plans/);
  assert.ok(problems[0]!.includes(`other --param values (${JSON.stringify(a[0]!.record.params)} vs {"fuzz.calls":"7"})`), problems[0]);
  assert.match(problems[0]!, /run every shard with the same options on the same tree/);
  const c = shardsOf(fullRun(), 2, 'plan-c');
  c[1]!.record.source!.hash = 'f'.repeat(64);
  assert.match(mergeProblems([a[0]!, c[1]!])[0]!, /other source trees \(hash \w{12} vs ffffffffffff\)/);
  const d = shardsOf(fullRun(), 2, 'plan-d');
  d[1]!.record.shard!.jobs = IDS.slice(0, 2);
  assert.match(mergeProblems([a[0]!, d[1]!])[0]!, /other jobs/);
  assert.throws(() => mergeRuns([a[0]!, b[1]!], OPTS), (e: unknown) => e instanceof MergeError && /different plans/.test(e.message));
});

test('shards of different splits are refused', () => {
  const p = mergeProblems([shardsOf(fullRun(), 2)[0]!, shardsOf(fullRun(), 3)[1]!, shardsOf(fullRun(), 3)[2]!]);
  assert.match(p[0]!, /split their plans into 2 and 3 shards: give the shards of one split/);
});

test('a missing shard is named with its jobs and the command that makes it', () => {
  const s = shardsOf(fullRun(), 3);
  const p = mergeProblems([s[0]!, s[2]!]);
  assert.equal(p, [
    "shard 2/3 is missing (given: 1/3, 3/3; it has jobs 6.1-cloud-quick-2cpu): run 'nexus-lab run' with the same options and --shard 2/3, and merge its run too",
  ]);
  assert.throws(() => mergeRuns([s[0]!, s[2]!], OPTS), /shard 2\/3 is missing/);
});

test('a shard with no job of the plan never makes a run and is not asked for', () => {
  // Four jobs in five shards: shard 5/5 is empty ('run' refuses an empty shard).
  const s = shardsOf(fullRun(), 5).slice(0, 4);
  assert.equal(mergeProblems(s), []);
  assert.equal(mergeRuns(s, OPTS).jobs.map((j) => j.id), IDS);
});

test('a duplicate shard is refused, naming both runs', () => {
  const s = shardsOf(fullRun(), 2);
  const again: ShardRun = { record: { ...clone(s[0]!.record), runId: 'shard-1-again' }, dir: '/elsewhere' };
  assert.equal(mergeProblems([s[0]!, s[1]!, again]), [
    'shard 1/2 is given twice: /results/shard1 (run shard-1-of-2, shard 1/2) and /elsewhere (run shard-1-again, shard 1/2); give each shard once',
  ]);
});

test('a run without --shard is refused as not a shard run', () => {
  const s = shardsOf(fullRun(), 2);
  const plain: ShardRun = { record: fullRun(), dir: '/results/plain' };
  const p = mergeProblems([s[0]!, plain]);
  assert.match(p[0]!, /^\/results\/plain \(run 20261130-220402-7c1e\) is not a shard run: it ran without --shard K\/N/);
  assert.is(p.length, 2, 'and then shard 2/2 is missing');
  assert.match(p[1]!, /shard 2\/2 is missing/);
  assert.match(mergeProblems([plain])[0]!, /is not a shard run/);
  assert.match(mergeProblems([])[0]!, /no shard run given/);
});

test('an interrupted or unfinished shard is refused: run it again', () => {
  const s = shardsOf(fullRun(), 2);
  s[1]!.record.status = 'interrupted';
  assert.equal(mergeProblems(s), ['/results/shard2 (run shard-2-of-2, shard 2/2) was interrupted: its jobs did not all run; run shard 2/2 again']);
  s[1]!.record.status = 'running';
  assert.match(mergeProblems(s)[0]!, /is unfinished \(status 'running': still going, or its lab was killed\): wait for it to end, or run shard 2\/2 again/);
});

test('a shard whose jobs are not its slice of the plan is refused', () => {
  const s = shardsOf(fullRun(), 2);
  s[0]!.record.jobs = s[0]!.record.jobs.slice(0, 1);
  assert.match(mergeProblems(s)[0]!, /has jobs 6\.1-cloud-quick where its plan deals shard 1\/2 the jobs 6\.1-cloud-quick, 6\.12-cloud-quick/);
});

test('what the shards did not share becomes notes; different accelerators record tcg', () => {
  const s = shardsOf(fullRun(), 2);
  s[0]!.record.accel = { used: 'kvm', reason: 'the probe booted', probeMs: 900 };
  s[1]!.record.host = { ...s[1]!.record.host, hostname: 'runner-2' };
  const kernel = (id: string, version: string) => ({ id, series: id.split('-')[0]!, flavour: 'cloud', abi: '', release: '', version, packages: {} }) as unknown as RunRecord['kernels'][number];
  s[0]!.record.kernels = [kernel('6.1-cloud', '6.1.158-1'), kernel('6.12-cloud', '6.12.57-1')];
  s[1]!.record.kernels = [kernel('6.1-cloud', '6.1.158-1'), kernel('6.12-cloud', '6.12.57-1+other')];
  s[1]!.record.error = 'something broke';
  const m = mergeRuns(s, OPTS);
  assert.is(m.accel?.used, 'tcg');
  assert.match(m.merged!.notes[0]!, /^the shards ran under different accelerators: 1\/2 kvm \(the probe booted\), 2\/2 tcg \(KVM probe failed/);
  assert.match(m.merged!.notes[1]!, /^the shards ran on different hosts: 1\/2 \S+ \(\d+ CPUs.*, 2\/2 runner-2 /);
  assert.match(m.merged!.notes[2]!, /^kernel 6\.12-cloud resolved to different package versions in the shards: \S+, \S+\+other$/);
  assert.is(m.merged!.notes.length, 3);
  assert.is(m.kernels.length, 3, 'both 6.12 versions kept');
  assert.is(m.error, 'shard 2/2: something broke');
});

test('planHash: equal for the same plan and settings whatever the key order, different when a setting differs', () => {
  const job: Job = { id: '6.1-cloud-quick', kernel: { id: '6.1-cloud', series: '6.1', flavour: 'cloud' } as Job['kernel'], profile: 'quick', suites: ['smoke'], cpus: 1, budgetMs: 120_000 };
  const settings = { sourceHash: 'abc', params: { a: '1', b: '2' }, timeoutScale: 1, memoryMiB: 1024 };
  const h = planHash([job], settings);
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.is(planHash([{ ...job }], { memoryMiB: 1024, timeoutScale: 1, params: { b: '2', a: '1' }, sourceHash: 'abc' }), h);
  assert.is.not(planHash([job], { ...settings, params: { a: '1' } }), h);
  assert.is.not(planHash([job], { ...settings, sourceHash: 'abd' }), h);
  assert.is.not(planHash([job], { ...settings, timeoutScale: 2 }), h);
  assert.is.not(planHash([{ ...job, cpus: 2 }], settings), h);
  assert.is.not(planHash([job, { ...job, id: 'x' }], settings), h);
});

test("the report of a merged run names its shards and the notes; a shard's report says it is one", () => {
  const s = shardsOf(fullRun(), 2);
  s[0]!.record.accel = { used: 'kvm', reason: 'the probe booted', probeMs: 900 };
  const html = renderReport(mergeRuns(s, OPTS));
  assert.match(html, /<dt>merged from<\/dt><dd>shard 1\/2 run shard-1-of-2, shard 2\/2 run shard-2-of-2<\/dd>/);
  assert.match(html, /<dt>note<\/dt><dd>the shards ran under different accelerators: 1\/2 kvm/);
  assert.match(renderReport(s[1]!.record), /<dt>shard<\/dt><dd>2\/2 of a plan of 4 jobs \(plan plan-a\)<\/dd>/);
});

/** Shard runs on disk as 'run' writes them: run.json and each job's files under <results>/<run-id>/. */
function writeShards(root: string, shards: ShardRun[]): string[] {
  return shards.map((s, i) => {
    const results = join(root, `shard${i + 1}`);
    const dir = join(results, s.record.runId);
    for (const job of s.record.jobs) {
      for (const f of Object.values(job.files).filter((f) => !f.includes(':'))) {
        mkdirSync(dirname(join(dir, f)), { recursive: true });
        writeFileSync(join(dir, f), `${f} of ${s.record.runId}\n`);
      }
    }
    writeFileSync(join(dir, 'run.json'), JSON.stringify(s.record));
    return i === 0 ? dir : join(dir, 'run.json');
  });
}

async function quietly<T>(f: () => Promise<T>): Promise<{ value: T; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const [o, e] = [process.stdout.write, process.stderr.write];
  process.stdout.write = ((c: string) => (out.push(String(c)), true)) as typeof process.stdout.write;
  process.stderr.write = ((c: string) => (err.push(String(c)), true)) as typeof process.stderr.write;
  try {
    return { value: await f(), out: out.join(''), err: err.join('') };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}

test('nexus-lab merge on disk: writes run.json, junit.xml and report.html, copies the job logs the report links, points latest at it; exit 1 on failed jobs', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'merge-'));
  try {
    const full = fullRun();
    const args = writeShards(tmp, shardsOf(full, 3));
    const results = join(tmp, 'merged');
    const { value: code, out } = await quietly(() => cmdMerge([...args, '--results', results, '-q'], { root: tmp }));
    assert.is(code, 1, 'the fixture jobs include a failure and a splat');
    const runId = readlinkSync(join(results, 'latest'));
    const dir = join(results, runId);
    assert.is(out, `${dir}\n`);
    const m = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as RunRecord;
    assert.equal(m.jobs.map((j) => j.id), IDS);
    assert.equal(m.summary, full.summary);
    assert.is(readFileSync(join(dir, 'junit.xml'), 'utf8'), junitXml({ ...full, runId }));
    const html = readFileSync(join(dir, 'report.html'), 'utf8');
    const links = [...new Set([...html.matchAll(/class="log" href="([^"]+)"/g)].map((x) => x[1]!))];
    assert.is(links.length, 20, 'five logs for each of four jobs (the fixture\'s URL is not linked)');
    for (const l of links) assert.match(readFileSync(join(dir, l), 'utf8'), /^\S+ of shard-\d-of-3\n$/, `${l} copied`);
    assert.is(readFileSync(join(dir, '6.1-cloud-quick-2cpu', 'console.log'), 'utf8'), '6.1-cloud-quick-2cpu/console.log of shard-2-of-3\n');
    assert.ok(existsSync(join(dir, 'evidence.txt')));
    assert.equal(readdirSync(results).sort(), [runId, 'latest'].sort());
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test('nexus-lab merge refuses unmergeable shards with exit 2, the reasons, and writes nothing', async () => {
  const tmp = mkdtempSync(join(tmpdir(), 'merge-'));
  try {
    const s = shardsOf(fullRun(), 3);
    const args = writeShards(tmp, [s[0]!, s[2]!]);
    const results = join(tmp, 'merged');
    const r = await quietly(() => cmdMerge([...args, '--results', results], { root: tmp }));
    assert.is(r.value, 2);
    assert.match(r.err, /^nexus-lab merge: cannot merge these runs:\n {2}- shard 2\/3 is missing/);
    assert.not.ok(existsSync(results));
    assert.is((await quietly(() => cmdMerge([], { root: tmp }))).value, 2, 'no run given');
    assert.is((await quietly(() => cmdMerge([join(tmp, 'nothing')], { root: tmp }))).value, 2, 'no such run');
    // A results directory is taken for its latest run.
    const one = shardsOf(fullRun(), 1);
    const [dir] = writeShards(join(tmp, 'single'), one);
    const results1 = dirname(dir!);
    symlinkSync(one[0]!.record.runId, join(results1, 'latest'));
    const ok = await quietly(() => cmdMerge([results1, '--results', join(tmp, 'm1'), '-q'], { root: tmp }));
    assert.is(ok.value, 1, 'merged (1 shard of 1), with the fixture failures');
    const help = await quietly(() => cmdMerge(['--help'], { root: tmp }));
    assert.is(help.value, 0);
    assert.match(help.out, /Usage:\n {2}nexus-lab merge DIR\.\.\. \[--results DIR\] \[-q\]/);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
});

test.run();
