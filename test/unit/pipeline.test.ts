import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobContext } from '../../lab/job.js';
import type { KernelTree } from '../../lab/kernels.js';
import { runPipeline, type JobRun, type Step } from '../../lab/pipeline.js';
import type { Job } from '../../lab/plan.js';
import type { JobRecord } from '../../lab/results.js';
import { releaseStep, StepSkipped } from '../../lab/steps/release-check.js';

const job: Job = { id: 'k-quick', kernel: { id: 'k', series: '6.1', flavour: 'x' }, profile: 'quick', suites: ['smoke'], cpus: 1, budgetMs: 1000 };

function setup(opts: { jobMs?: number; signal?: AbortSignal } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'pipeline-test-'));
  const phases: string[] = [];
  const rec: JobRecord = {
    id: job.id, kernel: { id: 'k' }, profile: 'quick', suites: ['smoke'], cpus: 1, phase: 'queued',
    phases: {}, scenarios: [], splats: [], counters: [], problems: [], files: {},
  };
  const ctx = {
    runId: 'r', runDir: join(dir, 'run'), workDir: join(dir, 'work'), cacheDir: join(dir, 'cache'),
    accel: { used: 'tcg', reason: 'test', probeMs: 0 },
    kernel: { release: '6.1.0-1-x' } as KernelTree,
    timeouts: { buildMs: 1000, bootMs: 1000, commandMs: 1000, runnerMs: 1000, poweroffMs: 1000, jobMs: opts.jobMs ?? 5000 },
    params: {},
    signal: opts.signal ?? new AbortController().signal,
    save: async () => undefined,
    onPhase: (_: string, p: string) => phases.push(p),
  } as unknown as JobContext;
  return { rec, ctx, phases };
}

/** A step that waits for the job's abort (a ref'd timer keeps the test process up: the pipeline's are unref'd). */
const hang = (s: JobRun) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, 5000);
    s.signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

const step = (name: string, run: (s: JobRun) => Promise<void> | void = () => undefined, more: Partial<Step> = {}): Step => ({
  name,
  run: async (s) => run(s),
  ...more,
});

test('steps run in order, each timed as a phase; a scenario passed and nothing failing is a pass', async () => {
  const { rec, ctx, phases } = setup();
  const seen: string[] = [];
  const passed = { suite: 'release', name: 'install', status: 'pass' as const, durationMs: 1, failures: [], metrics: [] };
  await runPipeline(job, rec, ctx, ['build', 'image', 'boot'].map((n) => step(n, (s) => {
    seen.push(n);
    if (n === 'boot') s.hostScenario(passed);
  })));
  assert.equal(seen, ['build', 'image', 'boot']);
  assert.equal(phases, ['build', 'image', 'boot', 'pass']);
  assert.equal(Object.keys(rec.phases), ['build', 'image', 'boot']);
  assert.is(rec.verdict, 'pass');
  assert.is(rec.phase, 'done');
});

test('a step that stops the job: the following steps are skipped unless their `when` says so, and the verdict says why', async () => {
  const { rec, ctx } = setup();
  const seen: string[] = [];
  await runPipeline(job, rec, ctx, [
    step('build', (s) => s.stop('buildError', 'gcc said no')),
    step('boot', () => void seen.push('boot')),
    step('cleanup', () => void seen.push('cleanup'), { when: () => true }),
  ]);
  assert.equal(seen, ['cleanup']);
  assert.equal([rec.verdict, rec.reason], ['build-failed', 'gcc said no']);
});

test('a step past its own deadline ends the job as a timeout naming the step', async () => {
  const { rec, ctx } = setup();
  await runPipeline(job, rec, ctx, [
    step('install', hang, { deadlineMs: () => 50 }),
    step('after'),
  ]);
  assert.is(rec.verdict, 'timeout');
  assert.match(rec.reason ?? '', /step install passed its deadline of 0 s/);
  assert.not.ok('after' in rec.phases);
});

test('the job deadline bounds every step', async () => {
  const { rec, ctx } = setup({ jobMs: 50 });
  await runPipeline(job, rec, ctx, [step('run', hang)]);
  assert.is(rec.verdict, 'timeout');
  assert.match(rec.reason ?? '', /the job passed its deadline of 0 s during run/);
});

test('a step that throws is an infra error of its phase; Ctrl-C is an interruption', async () => {
  const a = setup();
  await runPipeline(job, a.rec, a.ctx, [step('image', () => { throw new Error('disk full'); })]);
  assert.equal([a.rec.verdict, a.rec.reason], ['infra-error', 'image: disk full']);

  const ctl = new AbortController();
  const b = setup({ signal: ctl.signal });
  await runPipeline(job, b.rec, b.ctx, [step('run', () => { ctl.abort('SIGINT'); return new Promise<void>((r) => setTimeout(r, 10)); }), step('after')]);
  assert.equal([b.rec.verdict, b.rec.reason], ['infra-error', 'interrupted (SIGINT)']);
});

test('host-judged scenarios become the job\'s scenarios; a failed one fails the job', async () => {
  const { rec, ctx } = setup();
  await runPipeline(job, rec, ctx, [
    step('install', (s) => s.hostScenario({ suite: 'release', name: 'install', status: 'pass', durationMs: 1, failures: [], metrics: [] })),
    step('purge', (s) => {
      s.hostScenario({ suite: 'release', name: 'purge', status: 'fail', durationMs: 1, reason: 'nexus.ko left', failures: [{ message: 'nexus.ko left' }], metrics: [] });
      s.halt();
    }),
    step('never'),
  ]);
  assert.equal(rec.scenarios.map((r) => [r.name, r.status]), [['install', 'pass'], ['purge', 'fail']]);
  assert.equal([rec.verdict, rec.reason], ['fail', 'release/purge: nexus.ko left']);
  assert.not.ok('never' in rec.phases);
});

test('a release step is a scenario: a failed check fails it and halts the job, a step that cannot apply is a skip and the job goes on', async () => {
  const a = setup();
  await runPipeline(job, a.rec, a.ctx, [
    releaseStep('kernel-upgrade', undefined, async () => {
      throw new StepSkipped('the matrix has no other series of flavour x to upgrade to');
    }),
    releaseStep('purge', undefined, async (_s, log) => {
      await log.note('purged');
    }),
  ]);
  assert.equal(a.rec.scenarios.map((r) => [r.suite, r.name, r.status, r.reason]), [
    ['release', 'kernel-upgrade', 'skip', 'the matrix has no other series of flavour x to upgrade to'],
    ['release', 'purge', 'pass', undefined],
  ]);
  assert.is(a.rec.verdict, 'pass');
  const dir = join(a.ctx.runDir, job.id);
  assert.match(readFileSync(join(dir, 'release-kernel-upgrade.log'), 'utf8'), /skipped: the matrix has no other series/);
  assert.match(readFileSync(join(dir, 'release-purge.log'), 'utf8'), /purged\npassed \(\d+\.\d s\)/);

  const b = setup();
  const ran: string[] = [];
  await runPipeline(job, b.rec, b.ctx, [
    releaseStep('install', undefined, async (_s, log) => log.check(false, 'nexus.ko is not under updates/dkms')),
    releaseStep('purge', undefined, async () => void ran.push('purge')),
    step('poweroff', () => void ran.push('poweroff'), { when: () => true }),
  ]);
  assert.equal(ran, ['poweroff']);
  assert.equal([b.rec.verdict, b.rec.reason], ['fail', 'release/install: nexus.ko is not under updates/dkms']);
});

test.run();
