// .github/workflows/nightly.yml, parsed: its job graph, its shard matrices
// and commands against lab/nightly.ts (the default matrix's shards are what
// the integration test runs; the debug shards run the nightly plan), its
// artifact names and the debug kernels' cache, and every lab command it uses
// against the Makefile and the CLI; the merge jobs' scripts and the debug
// cache's save decision run here on made-up shard runs and caches.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { parse as parseArgs } from '../../lab/args.js';
import { debugKernelKey } from '../../lab/debug-kernel.js';
import { parseMatrix, type KernelMatrix, type ResolvedKernel } from '../../lab/kernels.js';
import {
  builtKernelsOf,
  debugShardLabArgs,
  debugShardRunArgs,
  namedPlanJobs,
  NIGHTLY_PLAN,
  NIGHTLY_SHARDS,
  nightlyPlanShards,
  shardLabArgs,
  shardRunArgs,
} from '../../lab/nightly.js';
import { plan, shard } from '../../lab/plan.js';
import { planRun } from '../../lab/run.js';
import { summarize, type RunRecord } from '../../lab/results.js';
import { fixture, ROOT } from '../helpers.js';

interface Step {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, string | number | boolean>;
  env?: Record<string, string>;
}
interface Job {
  needs?: string | string[];
  if?: string;
  'runs-on': string;
  'timeout-minutes'?: number;
  container?: { image: string; options?: string };
  name?: string;
  strategy?: { 'fail-fast'?: boolean; matrix: Record<string, unknown> };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  steps: Step[];
}
interface Workflow {
  on: {
    schedule?: { cron: string }[];
    workflow_dispatch?: { inputs?: Record<string, { type?: string; default?: string | boolean }> };
  };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOW_FILE = 'nightly.yml';
const text = readFileSync(join(ROOT, '.github', 'workflows', WORKFLOW_FILE), 'utf8');
const wf = parseYaml(text) as Workflow;
const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
const MATRIX_FILE = join(ROOT, 'images', 'kernels.json');
const MATRIX = parseMatrix(readFileSync(MATRIX_FILE, 'utf8'), MATRIX_FILE);
const DEBUG_SHARDS_COUNT = nightlyPlanShards(MATRIX);
const upTo = (n: number) => Array.from({ length: n }, (_, i) => i + 1);
const SHARDS = upTo(NIGHTLY_SHARDS);
const DEBUG_SHARDS = upTo(DEBUG_SHARDS_COUNT);

/**
 * The two sharded runs: a shard job, the merge job that joins its runs, and
 * what lab/nightly.ts says the shards run.
 */
interface Sharded {
  shard: string;
  merge: string;
  shards: number[];
  labArgs: (k: number, resultsDir: string) => string;
  runArgs: (k: number) => string[];
  resultsDir: (k: number) => string;
  /** Does the workflow's kernels input reach the shards? */
  kernelsInput: boolean;
}
const RUNS: Sharded[] = [
  { shard: 'shard', merge: 'merge', shards: SHARDS, labArgs: (k, d) => shardLabArgs(k, d), runArgs: (k) => shardRunArgs(k), resultsDir: (k) => `results/shard-${k}`, kernelsInput: true },
  {
    shard: 'debug-shard',
    merge: 'debug-merge',
    shards: DEBUG_SHARDS,
    labArgs: (k, d) => debugShardLabArgs(k, d, DEBUG_SHARDS_COUNT),
    runArgs: (k) => debugShardRunArgs(k, DEBUG_SHARDS_COUNT),
    resultsDir: (k) => `results/debug-shard-${k}`,
    kernelsInput: false,
  },
];
const MERGES = RUNS.map((r) => r.merge);

const needsOf = (job: Job): string[] => (job.needs === undefined ? [] : typeof job.needs === 'string' ? [job.needs] : job.needs);

/** The job's one step that uses `action` (owner/name, any version). */
function usesStep(job: Job, action: string): Step {
  const found = job.steps.filter((s) => s.uses?.split('@')[0] === action);
  assert.is(found.length, 1, `one ${action} step`);
  return found[0]!;
}

/** The job's one step whose script matches `re`. */
function runStep(job: Job, re: RegExp): Step {
  const found = job.steps.filter((s) => s.run !== undefined && re.test(s.run));
  assert.is(found.length, 1, `one step running ${re}`);
  return found[0]!;
}

/** `${{ matrix.shard }}` replaced by k; nothing else of GitHub's left. */
function forShard(template: string, k: number): string {
  const out = template.replaceAll('${{ matrix.shard }}', String(k));
  assert.not.match(out, '${{', `only matrix.shard is expanded in ${template}`);
  return out;
}

/** An artifact name glob (download-artifact's pattern) as a RegExp. */
const globRe = (glob: string) => new RegExp(`^${glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replaceAll('*', '.*').replaceAll('?', '.')}$`);

/** Every target the Makefile defines (rules, not variable assignments). */
function makeTargets(): Set<string> {
  const targets = new Set<string>();
  for (const line of makefile.split('\n')) {
    const m = /^([A-Za-z0-9_.$()/%-][^:=#\t]*?)\s*:(?![=:])/.exec(line);
    if (m) for (const t of m[1]!.trim().split(/\s+/)) targets.add(t);
  }
  return targets;
}

const LAB = /^LAB := (.+)$/m.exec(makefile)?.[1];
const allRuns = Object.entries(wf.jobs).flatMap(([name, job]) => job.steps.filter((s) => s.run !== undefined).map((s) => ({ job: name, run: s.run! })));

/** The run step of a shard job: `[timeout ... ]make lab LAB_ARGS="..."`, one command. */
function labStep(job: Job): { run: string; timeout?: { signal: string; killAfter: string; minutes: number }; make: string } {
  const run = runStep(job, /^(timeout .* )?make lab /m).run!.trim();
  assert.not.match(run, '\n', 'one command');
  const m = /^(?:timeout --signal=(\w+) --kill-after=(\w+) (\d+)m )?(make lab .*)$/.exec(run);
  assert.ok(m, `make lab, maybe under timeout: ${run}`);
  return { run, make: m[4]!, ...(m[1] ? { timeout: { signal: m[1], killAfter: m[2]!, minutes: Number(m[3]) } } : {}) };
}

/** The condition under which the debug kernels run: always on schedule, on demand when asked. */
const DEBUG_IF = "github.event_name != 'workflow_dispatch' || inputs.debug";

test('runs every night on a schedule and on demand, with an optional kernel list and the debug kernels unless declined', () => {
  const schedule = wf.on.schedule ?? [];
  assert.is(schedule.length, 1);
  assert.match(schedule[0]!.cron, /^(\S+ ){4}\S+$/, 'five cron fields');
  const kernels = wf.on.workflow_dispatch?.inputs?.kernels;
  assert.ok(kernels, 'workflow_dispatch with a kernels input');
  assert.is(kernels.type, 'string');
  assert.is(kernels.default, '', 'the default matrix unless asked');
  const debug = wf.on.workflow_dispatch?.inputs?.debug;
  assert.ok(debug, 'workflow_dispatch with a debug input');
  assert.is(debug.type, 'boolean');
  assert.is(debug.default, true, 'on demand as at night unless declined');
  assert.equal(Object.keys(wf.on).sort(), ['schedule', 'workflow_dispatch']);
  // A job's 'if' cannot read env: the jobs spell the condition out, the steps read DEBUG_KERNELS.
  assert.is(wf.env?.DEBUG_KERNELS, `\${{ ${DEBUG_IF} }}`);
});

test('the job graph is plan -> shard -> merge and plan -> debug-shard -> debug-merge, and a merge runs also when a shard failed', () => {
  assert.equal(Object.keys(wf.jobs), ['plan', 'shard', 'debug-shard', 'merge', 'debug-merge']);
  assert.equal(needsOf(wf.jobs.plan!), []);
  for (const r of RUNS) {
    const shardJob = wf.jobs[r.shard]!;
    const merge = wf.jobs[r.merge]!;
    assert.equal(needsOf(shardJob), ['plan']);
    assert.equal(needsOf(merge).sort(), ['plan', r.shard].sort(), `${r.merge} waits for ${r.shard} only`);
    // success() is implied by an 'if' without a status function: a failed
    // shard would skip the merge.
    assert.match(merge.if ?? '', /!cancelled\(\)|always\(\)/);
    assert.match(merge.if ?? '', "needs.plan.result == 'success'");
    assert.is(shardJob.strategy?.['fail-fast'], false, 'one failing shard does not cancel the others');
  }
  for (const job of Object.values(wf.jobs)) for (const n of needsOf(job)) assert.ok(n in wf.jobs, `needs ${n}`);
  // The debug kernels: both of their jobs, and only those, depend on the input.
  assert.is(wf.jobs['debug-shard']!.if, `\${{ ${DEBUG_IF} }}`);
  assert.ok(wf.jobs['debug-merge']!.if!.includes(`&& (${DEBUG_IF})`));
  for (const name of ['plan', 'shard', 'merge']) assert.not.match(wf.jobs[name]!.if ?? '', 'inputs.debug');
  for (const [name, job] of Object.entries(wf.jobs)) {
    assert.type(job['timeout-minutes'], 'number', `${name} has a timeout`);
    assert.ok(job['timeout-minutes']! <= 360, `${name}: GitHub ends a job at 360 minutes`);
  }
});

test('the matrices are exactly shards 1..NIGHTLY_SHARDS and 1..the number of jobs of the nightly plan', () => {
  for (const r of RUNS) {
    const matrix = wf.jobs[r.shard]!.strategy!.matrix;
    assert.equal(Object.keys(matrix), ['shard'], 'no include or exclude');
    assert.equal(matrix.shard, r.shards);
  }
  assert.is(DEBUG_SHARDS_COUNT, namedPlanJobs(MATRIX).length);
  assert.ok(DEBUG_SHARDS_COUNT >= 2, 'both debug kernels');
});

test('each shard runs `make lab` with the options lab/nightly.ts gives, in a Debian bookworm container', async () => {
  for (const r of RUNS) {
    const job = wf.jobs[r.shard]!;
    assert.is(job.container?.image, 'debian:bookworm');
    assert.match(job.container?.options ?? '', /--privileged/);
    const { make } = labStep(job);
    for (const k of r.shards) {
      const line = forShard(make, k);
      const resultsDir = r.resultsDir(k);
      const args = r.labArgs(k, resultsDir);
      // The script's own shell expansion, make replaced by printf.
      const expand = (kernels: string) =>
        execFileSync('bash', ['--norc', '--noprofile', '-c', line.replace(/^make lab /, "printf '%s\\n' ")], { env: { PATH: process.env.PATH, KERNELS: kernels }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
      assert.is(expand(''), `LAB_ARGS=${args}`);
      assert.is(expand('6.1-cloud,6.12-rt'), r.kernelsInput ? `LAB_ARGS=${args} --kernels 6.1-cloud,6.12-rt` : `LAB_ARGS=${args}`, `${r.shard}: the kernels input`);
      assert.ok(args.startsWith(`${r.runArgs(k).join(' ')} `));
      // What make runs with it, and what the CLI makes of that.
      const recipe = execFileSync('make', ['-n', '--no-print-directory', 'lab', `LAB_ARGS=${args}`], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
      const last = recipe.trim().split('\n').at(-1)!;
      assert.is(last, `${LAB} run ${args}`);
      const parsed = parseArgs(last.split(' ').slice(LAB!.split(' ').length), { root: ROOT, env: {} });
      assert.is(parsed.command, 'run');
      assert.equal(parsed.options.shard, { index: k, count: r.shards.length });
      assert.is(relative(process.cwd(), parsed.options.resultsDir), resultsDir);
      if (r.shard === 'debug-shard') {
        // The nightly plan, one debug kernel a shard.
        const jobs = await planRun(parsed.options);
        assert.is(jobs.length, 1, `debug shard ${k}: one job`);
        assert.ok(jobs[0]!.kernel.build, `debug shard ${k}: a kernel the lab builds`);
        assert.equal(parsed.options.params, NIGHTLY_PLAN.params);
      }
    }
  }
});

test("debug shards: the lab's run ends, and writes its results, before GitHub ends the job", () => {
  const job = wf.jobs['debug-shard']!;
  const { timeout } = labStep(job);
  assert.ok(timeout, 'under timeout');
  // SIGTERM: the lab stops its guests and writes the results (README); then KILL.
  assert.is(timeout.signal, 'TERM');
  assert.match(timeout.killAfter, /^\d+m$/);
  const limit = job['timeout-minutes']!;
  assert.is(limit, 360, 'all GitHub gives: a cold debug shard builds a kernel and runs over an hour under TCG');
  // Time for the steps before (packages, checkout, build, restore) and after
  // (kill-after, upload, cache save).
  assert.ok(limit - timeout.minutes - Number.parseInt(timeout.killAfter, 10) >= 30, `${timeout.minutes} min + ${timeout.killAfter} leaves 30 min of ${limit}`);
  assert.ok(timeout.minutes >= 240, 'room for a cold kernel build and the guest under TCG');
  // The default shards end within the lab's own deadlines (see the job's comment).
  assert.not.ok(labStep(wf.jobs.shard!).timeout);
});

test("debug shards: the built kernel is restored from and saved to actions/cache under one key, in the lab's cache directory", () => {
  const job = wf.jobs['debug-shard']!;
  const cacheDir = job.env?.NEXUS_LAB_CACHE;
  assert.ok(cacheDir, 'the lab cache directory is named');
  // The lab's cache directory is the one actions/cache restores into (the
  // workflow's relative path taken from the checkout, where make lab runs).
  const parsed = parseArgs(['run', ...debugShardRunArgs(1, DEBUG_SHARDS_COUNT)], { root: ROOT, env: { NEXUS_LAB_CACHE: cacheDir } });
  assert.is(relative(process.cwd(), parsed.options.cacheDir), cacheDir);

  const restore = usesStep(job, 'actions/cache/restore');
  const save = usesStep(job, 'actions/cache/save');
  assert.not.ok(job.steps.some((s) => s.uses?.split('@')[0] === 'actions/cache'), 'not the action that saves only after a green job');
  const paths = (s: Step) => String(s.with?.path).trim().split('\n').map((l) => l.replaceAll('${{ env.NEXUS_LAB_CACHE }}', cacheDir));
  assert.equal(paths(save), paths(restore), 'the same paths (part of the cache version)');
  assert.equal(paths(restore), [`${cacheDir}/kernels/debug-*`, `!${cacheDir}/kernels/debug-*.log`]);
  // lab/debug-kernel.ts's entries are matched, their build logs are not.
  const base: ResolvedKernel = { id: '6.1-debug', series: '6.1', flavour: 'cloud-amd64', abi: '6.1.0-57', release: '6.1.0-57-cloud-amd64', version: '6.1.192-3', packages: { image: 'i', headers: 'h', common: 'c', kbuild: 'k' } };
  const entry = debugKernelKey(base, ['fragment', 'script', 'config']);
  assert.match(`${cacheDir}/kernels/${entry}`, globRe(paths(restore)[0]!));
  assert.match(`${cacheDir}/kernels/${entry}.log`, globRe(paths(restore)[1]!.slice(1)));
  assert.not.ok(restore.with?.['restore-keys'], 'an entry under another key is one the lab would not use');
  // The compression is part of the cache version: zstd (make lab installs
  // it before the save) must be there for the restore too.
  const before = job.steps.slice(0, job.steps.indexOf(restore)).map((s) => s.run ?? '').join('\n');
  assert.match(before, /apt-get install [^\n]*\bzstd\b/);

  // The key: the shard's kernels as the lab plans them, the files that configure them, apt's versions of their sources.
  const keyStep = job.steps.find((s) => s.id === 'kernel-key')!;
  assert.is(restore.with?.key, '${{ steps.kernel-key.outputs.key }}');
  assert.is(save.with?.key, '${{ steps.restore.outputs.cache-primary-key }}');
  assert.match(keyStep.env?.FILES ?? '', /^\$\{\{ hashFiles\('images\/debug\/\*\*', 'images\/kernels\.json'\) \}\}$/);
  const plan = /node dist\/lab\/cli\.js plan (.*) --json/.exec(keyStep.run!)?.[1];
  assert.ok(plan, 'the shard plan as JSON');
  for (const k of DEBUG_SHARDS) assert.is(forShard(plan, k).replaceAll('"', ''), debugShardRunArgs(k, DEBUG_SHARDS_COUNT).join(' '));
  assert.match(keyStep.run!, /builtKernelsOf/);
  assert.match(keyStep.run!, /apt-cache madison \$sources/);
  assert.match(keyStep.run!, /key=nightly-debug-kernel-\$ids-\$FILES-\$versions-\$where/);
  // Uploads from the cache directory must say hidden files are wanted.
  for (const s of job.steps.filter((x) => x.uses?.split('@')[0] === 'actions/upload-artifact' && String(x.with?.path).includes('NEXUS_LAB_CACHE'))) {
    assert.is(s.with?.['include-hidden-files'], true, s.name);
  }
  // Saved after the run, also when jobs failed, only what tonight built.
  const order = (s: Step | undefined) => job.steps.indexOf(s!);
  const lab = job.steps.find((s) => /make lab/.test(s.run ?? ''));
  assert.ok(order(keyStep) < order(restore) && order(restore) < order(lab) && order(lab) < order(save));
  assert.match(save.if ?? '', /!cancelled\(\)/);
  assert.match(save.if ?? '', "steps.built.outputs.save == 'true'");
});

test("debug shards: builtKernelsOf names the shard's debug kernels and their source packages", () => {
  for (const k of DEBUG_SHARDS) {
    const jobs = shard(namedPlanJobs(MATRIX), { index: k, count: DEBUG_SHARDS_COUNT });
    const built = builtKernelsOf(jobs);
    assert.equal(built.ids, jobs.map((j) => j.kernel.id));
    assert.equal(built.sources, jobs.map((j) => `linux-source-${j.kernel.series}`));
  }
  assert.equal(builtKernelsOf(plan(MATRIX, {})), { ids: [], sources: [] }, 'the default matrix builds none');
  // A kernel with two jobs (here one a vCPU count) is named once.
  assert.equal(builtKernelsOf(plan(MATRIX, { kernels: ['6.1-debug'], suites: ['smoke', 'races'] })), { ids: ['6.1-debug'], sources: ['linux-source-6.1'] });
});

test('nightlyPlanShards: one shard per job of the nightly plan, from the matrix', () => {
  assert.is(nightlyPlanShards(), DEBUG_SHARDS_COUNT, "this checkout's kernels.json by default");
  assert.equal(namedPlanJobs(MATRIX).map((j) => j.kernel.id), MATRIX.kernels.filter((k) => k.groups?.includes('debug')).map((k) => k.id));
  const three: KernelMatrix = { kernels: [...MATRIX.kernels, { ...MATRIX.kernels.find((k) => k.id === '6.1-debug')!, id: '6.6-debug', series: '6.6' }] };
  assert.is(nightlyPlanShards(three), DEBUG_SHARDS_COUNT + 1, 'a third debug kernel is a third shard');
  assert.throws(() => nightlyPlanShards({ kernels: MATRIX.kernels.filter((k) => !k.build) }), /unknown kernel 'debug'/);
});

test("debugShardRunArgs and debugShardLabArgs: the nightly plan, shard K of the plan's jobs, the results directory", () => {
  assert.equal(debugShardRunArgs(2, 2), ['--plan', 'nightly', '--shard', '2/2']);
  assert.equal(debugShardRunArgs(1), ['--plan', 'nightly', '--shard', `1/${DEBUG_SHARDS_COUNT}`]);
  assert.is(debugShardLabArgs(1, 'results/debug-shard-1', 2), '--plan nightly --shard 1/2 --results results/debug-shard-1');
  assert.is(debugShardLabArgs(2, 'r'), `--plan nightly --shard 2/${DEBUG_SHARDS_COUNT} --results r`);
});

test('the artifacts the shards upload are the ones their merge job downloads and merges, and no other', () => {
  const uploadsOf = (job: Job) => job.steps.filter((s) => s.uses?.split('@')[0] === 'actions/upload-artifact');
  const shardNames = (r: Sharded) => {
    const job = wf.jobs[r.shard]!;
    const upload = uploadsOf(job).find((s) => String(s.with?.path).includes('results/'))!;
    return r.shards.map((k) => forShard(String(upload.with?.name), k));
  };
  const otherUploads = RUNS.flatMap((r) => uploadsOf(wf.jobs[r.shard]!).filter((s) => !String(s.with?.path).includes('results/')).flatMap((s) => r.shards.map((k) => forShard(String(s.with?.name), k))));
  const merged = MERGES.map((m) => wf.jobs[m]!.env?.MERGED_ARTIFACT!);
  for (const r of RUNS) {
    const job = wf.jobs[r.shard]!;
    const merge = wf.jobs[r.merge]!;
    const uploads = uploadsOf(job).filter((s) => String(s.with?.path).includes('results/'));
    assert.is(uploads.length, 1, `${r.shard}: one upload of the run`);
    const upload = uploads[0]!;
    assert.match(upload.if ?? '', /!cancelled\(\)|always\(\)/, 'also when the shard had failures');
    const paths = String(upload.with?.path).trim().split('\n');
    // The directory the shard's `--results` names, its 'latest' link left out.
    const dir = r.resultsDir(0).replace(/0$/, '${{ matrix.shard }}');
    assert.equal(paths, [`${dir}/`, `!${dir}/latest`, `!${dir}/latest/**`]);
    assert.ok(labStep(job).make.includes(`--results ${dir}`));

    const download = usesStep(merge, 'actions/download-artifact');
    assert.is(download.with?.pattern, '${{ env.SHARD_ARTIFACTS }}');
    const pattern = merge.env!.SHARD_ARTIFACTS!;
    const into = String(download.with?.path);
    const names = shardNames(r);
    assert.is(new Set(names).size, r.shards.length, 'one artifact per shard');
    for (const n of names) assert.match(n, globRe(pattern), `${n} is downloaded by ${pattern}`);
    // Not the other run's shards, not a merged run, not a build log.
    for (const o of RUNS.filter((x) => x !== r).flatMap(shardNames)) assert.not.match(o, globRe(pattern), `${r.merge} leaves ${o}`);
    for (const o of [...merged, ...otherUploads]) assert.not.match(o, globRe(pattern), `${r.merge} leaves ${o}`);
    // Without merge-multiple each artifact lands in <path>/<name>/: the merge
    // script takes the run directories there, and only the pattern's are there.
    assert.not.ok(download.with?.['merge-multiple']);
    const script = runStep(merge, /cli\.js merge /).run!;
    const glob = new RegExp(`(?:^|\\s|\\()${into}/([^/\\s]+)/\\*/`).exec(script)?.[1];
    assert.ok(glob, `the merge script reads ${into}/<artifact>/<run>/`);
    for (const n of names) assert.match(n, globRe(glob), `${n} is merged`);
  }
});

test('both merge jobs have the same steps; their env names their artifacts and check', () => {
  const [merge, debug] = MERGES.map((m) => wf.jobs[m]!);
  assert.equal(debug!.steps, merge!.steps, 'one set of steps: what differs is in the job env');
  assert.equal(Object.keys(debug!.env!).sort(), Object.keys(merge!.env!).sort());
  for (const key of ['SHARD_ARTIFACTS', 'MERGED_ARTIFACT', 'CHECK_NAME']) assert.is.not(debug!.env![key], merge!.env![key], key);
  assert.equal(debug!.permissions, merge!.permissions);
  assert.is(debug!['timeout-minutes'], merge!['timeout-minutes']);
  assert.is(debug!['runs-on'], merge!['runs-on']);
  // GITHUB_JOB (the job id) is the job's name in the API only if it has no other.
  for (const m of MERGES) assert.is(wf.jobs[m]!.name, undefined, `${m} has no name`);
});

test('the merged run is uploaded under the name the next night downloads as its baseline', () => {
  for (const m of MERGES) {
    const merge = wf.jobs[m]!;
    const uploads = merge.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'));
    assert.is(uploads.length, 1);
    assert.is(uploads[0]!.with?.name, '${{ env.MERGED_ARTIFACT }}');
    assert.match(merge.env?.MERGED_ARTIFACT ?? '', /^nightly-[a-z-]*merged$/);
    const baseline = runStep(merge, /gh run download/).run!;
    assert.match(baseline, /--name "\$MERGED_ARTIFACT"/);
    assert.match(baseline, new RegExp(`--workflow ${WORKFLOW_FILE.replace('.', '\\.')}\\b`));
    // The last night where this very job passed, not the whole run.
    assert.match(baseline, /--event schedule --status completed/);
    assert.match(baseline, /grep -qx "\$GITHUB_JOB success"/);
    assert.is(merge.env?.GH_TOKEN, '${{ github.token }}');
    assert.is(merge.permissions?.actions, 'read');
    // The JUnit file of the merged run as a check.
    const junit = usesStep(merge, 'mikepenz/action-junit-report');
    assert.match(String(junit.with?.report_paths), /\/junit\.xml$/);
    assert.is(junit.with?.check_name, '${{ env.CHECK_NAME }}');
    assert.is(merge.permissions?.checks, 'write');
  }
  assert.is(wf.permissions?.contents, 'read', 'nothing else gets more than read');
});

test('every lab command the workflow runs exists in the Makefile or the CLI, with its options', () => {
  assert.ok(LAB, 'the Makefile names the CLI');
  const targets = makeTargets();
  let made = 0;
  let called = 0;
  for (const { job, run } of allRuns) {
    for (const m of run.matchAll(/^\s*(?:timeout [^\n]*?)?make\s+([a-z][\w./-]*)/gm)) {
      assert.ok(targets.has(m[1]!), `${job}: make ${m[1]} is a Makefile target`);
      made++;
    }
    for (const m of run.matchAll(/\bnode (\S+) ([a-z]+)([^|;&>\n]*)/g)) {
      assert.is(`node ${m[1]}`, LAB, `${job}: the CLI as the Makefile runs it`);
      const command = m[2]!;
      const help = execFileSync('node', [join(ROOT, 'dist', 'lab', 'cli.js'), command, '--help'], { cwd: ROOT, encoding: 'utf8' });
      assert.match(help, `nexus-lab ${command}`, `${job}: nexus-lab ${command} exists`);
      for (const flag of m[3]!.match(/--[a-z][a-z-]*/g) ?? []) assert.match(help, flag, `${job}: nexus-lab ${command} takes ${flag}`);
      called++;
    }
    // What the inline scripts import from the lab exists there.
    for (const m of run.matchAll(/import \{ ([\w, ]+) \} from '\.\/dist\/lab\/([\w-]+)\.js'/g)) {
      const names = m[1]!.split(',').map((n) => n.trim());
      const source = readFileSync(join(ROOT, 'lab', `${m[2]}.ts`), 'utf8');
      for (const n of names) assert.match(source, new RegExp(`export (const|function|async function) ${n}\\b`), `${job}: lab/${m[2]}.ts exports ${n}`);
    }
  }
  assert.ok(made >= 6 && called >= 9, `make ${made} times, the CLI ${called} times`);
  // The flags LAB_ARGS hands to 'nexus-lab run'.
  const runHelp = execFileSync('node', [join(ROOT, 'dist', 'lab', 'cli.js'), 'run', '--help'], { cwd: ROOT, encoding: 'utf8' });
  for (const r of RUNS) {
    const labArgs = /LAB_ARGS="([^"]*)"/.exec(labStep(wf.jobs[r.shard]!).make)![1]!;
    for (const flag of labArgs.match(/--[a-z][a-z-]*/g) ?? []) assert.match(runHelp, flag);
  }
});

test('after the merge, every step of the merge jobs runs also when one before it failed', () => {
  for (const m of MERGES) {
    const steps = wf.jobs[m]!.steps;
    const at = steps.findIndex((s) => s.id === 'merge');
    assert.ok(at >= 0);
    // Without a status function an 'if' means success() && ...: a baseline that
    // could not be fetched would skip the check, the artifact and the verdict.
    for (const s of steps.slice(at + 1)) assert.match(s.if ?? '', /!cancelled\(\)|always\(\)/, s.name ?? s.uses);
  }
  // And in the debug shards, after the lab: the upload, the build log, the cache.
  const steps = wf.jobs['debug-shard']!.steps;
  const lab = steps.findIndex((s) => /make lab/.test(s.run ?? ''));
  for (const s of steps.slice(lab + 1)) assert.match(s.if ?? '', /!cancelled\(\)|always\(\)/, s.name ?? s.uses);
});

test('actions are pinned to a major version', () => {
  for (const job of Object.values(wf.jobs)) {
    for (const s of job.steps) if (s.uses) assert.match(s.uses, /^[\w.-]+\/[\w.-]+(\/[\w.-]+)?@v\d+$/);
  }
});

// The merge jobs' own scripts, run here as the runner runs them (bash -eo
// pipefail, GITHUB_OUTPUT, GITHUB_JOB, each step's 'if' and env with the
// outputs of the steps before), on shard runs laid out as download-artifact
// lays them out, with 'gh' a stub; and the debug shards' decision to save
// their kernel, on made-up caches.  The 'uses' steps are left out: the
// download is the layout made here.

type Outputs = Record<string, Record<string, string>>;

/** `${{ ... }}` of these jobs: steps.<id>.outputs.<name>, github.token, inputs.kernels. */
function expr(e: string, outputs: Outputs): string {
  const m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e.trim());
  if (m) return outputs[m[1]!]?.[m[2]!] ?? '';
  if (e.trim() === 'github.token') return 'a-token';
  if (e.trim() === 'inputs.kernels') return ''; // a scheduled run
  if (e.trim() === DEBUG_IF) return 'true'; // a scheduled run
  throw new Error(`expression not simulated: ${e}`);
}
const substitute = (t: string, outputs: Outputs) => t.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => expr(e, outputs));

/** A step's 'if', in the forms these jobs use: !cancelled() && steps.X.outputs.Y != ''. */
function runs(cond: string | undefined, outputs: Outputs): boolean {
  if (cond === undefined) return true; // success(): no step failed in these runs before one without if
  const body = /^\$\{\{(.*)\}\}$/.exec(cond.trim())?.[1] ?? cond;
  return body.split('&&').every((term) => {
    const t = term.trim();
    if (t === '!cancelled()' || t === 'always()') return true;
    const m = /^(steps\.[\w-]+\.outputs\.[\w-]+) != ''$/.exec(t);
    if (m) return expr(m[1]!, outputs) !== '';
    throw new Error(`condition not simulated: ${t}`);
  });
}

interface JobRun {
  outputs: Outputs;
  /** Exit status of each step that ran, by id or name. */
  status: Record<string, number>;
  log: string;
}

/** Run one step's script as the runner would, in `work`; records its outputs. */
function runScript(jobName: string, step: Step, work: string, bin: string, into: JobRun, extraEnv: Record<string, string> = {}): void {
  const job = wf.jobs[jobName]!;
  const key = step.id ?? step.name ?? '?';
  const out = join(work, `output-${key.replace(/\W/g, '_')}`);
  writeFileSync(out, '');
  const env: Record<string, string> = {
    PATH: `${bin}:${process.env.PATH}`,
    HOME: work,
    GITHUB_OUTPUT: out,
    GITHUB_STEP_SUMMARY: join(work, 'summary.md'),
    GITHUB_REPOSITORY: 'nexus/nexus-lab',
    GITHUB_JOB: jobName,
    ...extraEnv,
  };
  for (const [k, v] of Object.entries({ ...wf.env, ...job.env, ...step.env })) env[k] = substitute(v, into.outputs);
  const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', substitute(step.run!, into.outputs)], { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  into.status[key] = r.status ?? -1;
  into.log += `--- ${key}: ${r.status}\n${r.stdout}${r.stderr}`;
  if (step.id) into.outputs[step.id] = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
}

function runMergeJob(name: string, work: string, bin: string): JobRun {
  const r: JobRun = { outputs: {}, status: {}, log: '' };
  for (const step of wf.jobs[name]!.steps) {
    if (step.run === undefined || step.run.startsWith('make ')) continue; // the build: dist/ is this one
    if (!runs(step.if, r.outputs)) continue;
    runScript(name, step, work, bin, r);
  }
  return r;
}

const REPORT_RUN = JSON.parse(fixture('report', 'run.json')) as RunRecord;

/**
 * The fixture run (6.1 passed, 6.12 a kernel splat) cut as 'run --shard K/N'
 * cuts it for the shards of `r`, written as shard K's artifact (its name
 * from the shard job's upload) where download-artifact puts it.
 */
function layShards(r: Sharded, work: string, which: number[], verdict12?: 'pass'): void {
  const full = JSON.parse(JSON.stringify(REPORT_RUN)) as RunRecord;
  if (verdict12) for (const j of full.jobs) if (j.id.startsWith('6.12')) { j.verdict = verdict12; j.splats = []; }
  const count = r.shards.length;
  const upload = wf.jobs[r.shard]!.steps.find((s) => s.uses?.startsWith('actions/upload-artifact@') && String(s.with?.path).includes('results/'))!;
  const into = String(usesStep(wf.jobs[r.merge]!, 'actions/download-artifact').with?.path);
  for (const index of which) {
    const run = JSON.parse(JSON.stringify(full)) as RunRecord;
    run.runId = `20261201-02${index}000-000${index}`;
    run.jobs = shard(run.jobs, { index, count });
    run.summary = summarize(run.jobs);
    run.shard = { index, count, plan: 'plan-of-tonight', jobs: full.jobs.map((j) => j.id) };
    const dir = join(work, into, forShard(String(upload.with?.name), index), run.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify(run));
  }
}

/** A scheduled night as the API lists it: its id and its jobs' conclusions. */
interface Night {
  id: number;
  jobs: Record<string, string>;
}

/**
 * A scratch checkout: dist/ of this one, and a gh that lists `nights`
 * (newest first), tells each one's jobs as the script's --jq prints them
 * ("name conclusion" lines), and downloads `artifact`.
 */
function scratch(nights: Night[], artifact?: string): { work: string; bin: string } {
  const work = mkdtempSync(join(tmpdir(), 'nightly-'));
  symlinkSync(join(ROOT, 'dist'), join(work, 'dist'));
  const bin = join(work, 'bin');
  mkdirSync(bin);
  const download = artifact
    ? `mkdir -p "$dir" && cp -r '${artifact}'/. "$dir"/`
    : 'echo "no artifact named $name" >&2; exit 1';
  const views = nights.map((n) => `    ${n.id}) printf '%s\\n' ${Object.entries(n.jobs).map(([j, c]) => `'${j} ${c}'`).join(' ')} ;;`).join('\n');
  writeFileSync(join(bin, 'gh'), `#!/bin/bash
echo "gh $*" >> '${join(work, 'gh.log')}'
case "$1 $2" in
  'run list') printf '%s\\n' ${nights.map((n) => n.id).join(' ')} ;;
  'run view')
    case "$3" in
${views}
    *) echo "no run $3" >&2; exit 1 ;;
    esac ;;
  'run download')
    while [ $# -gt 0 ]; do case "$1" in --dir) dir=$2; shift ;; --name) name=$2; shift ;; esac; shift; done
    ${download} ;;
  *) exit 2 ;;
esac
`);
  chmodSync(join(bin, 'gh'), 0o755);
  return { work, bin };
}

test('the baseline lookup asks gh for the nights and their jobs in the form the stub answers', () => {
  const script = runStep(wf.jobs.merge!, /gh run download/).run!;
  assert.match(script, `--limit 30 --json databaseId --jq '.[].databaseId'`);
  assert.match(script, `--json jobs --jq '.jobs[] | "\\(.name) \\(.conclusion)"'`);
});

for (const r of RUNS) {
  const merged = () => wf.jobs[r.merge]!.env!.MERGED_ARTIFACT!;

  test(`${r.merge} job: every shard passed, no earlier night: merged, nothing compared, green`, () => {
    const { work, bin } = scratch([]);
    try {
      layShards(r, work, r.shards, 'pass');
      const j = runMergeJob(r.merge, work, bin);
      assert.is(j.outputs.merge?.code, '0', j.log);
      const run = j.outputs.merge!.run!;
      assert.ok(existsSync(join(run, 'junit.xml')) && existsSync(join(run, 'report.html')), 'the merged run has its JUnit file and report');
      assert.equal((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunRecord).jobs.map((x) => x.verdict), ['pass', 'pass']);
      assert.is(j.status.baseline, 0);
      assert.is(j.outputs.baseline?.dir, undefined, 'no baseline');
      assert.match(readFileSync(join(work, 'gh.log'), 'utf8'), /^gh run list --repo nexus\/nexus-lab --workflow nightly\.yml --event schedule --status completed /);
      assert.match(j.log, `no scheduled night where ${r.merge} passed`);
      assert.not.ok('compare' in j.status, 'compare skipped');
      assert.is(j.status.Verdict, 0, j.log);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test(`${r.merge} job: a splat tonight against the last night where ${r.merge} passed, whatever the other merge did: a regression, red`, () => {
    const base = scratch([]);
    const other = MERGES.find((m) => m !== r.merge)!;
    // Newest first: tonight's job failed the night before, passed the night
    // before that (when the other merge failed), and the night before that.
    const nights: Night[] = [
      { id: 4244, jobs: { plan: 'success', [r.merge]: 'failure', [other]: 'success' } },
      { id: 4243, jobs: { plan: 'success', [r.merge]: 'success', [other]: 'failure' } },
      { id: 4242, jobs: { plan: 'success', [r.merge]: 'success', [other]: 'success' } },
    ];
    const { work, bin } = scratch(nights, join(base.work, 'baseline-artifact'));
    try {
      // That night's merged run, as the upload step uploaded it.
      layShards(r, base.work, r.shards, 'pass');
      const last = runMergeJob(r.merge, base.work, base.bin);
      cpSync(last.outputs.merge!.run!, join(base.work, 'baseline-artifact'), { recursive: true });

      layShards(r, work, r.shards);
      const j = runMergeJob(r.merge, work, bin);
      assert.is(j.outputs.merge?.code, '1', j.log);
      assert.is(j.outputs.baseline?.dir, 'baseline');
      assert.is(j.outputs.baseline?.id, '4243', j.log);
      const gh = readFileSync(join(work, 'gh.log'), 'utf8');
      assert.match(gh, `gh run download 4243 --repo nexus/nexus-lab --name ${merged()} --dir baseline`);
      assert.not.match(gh, 'gh run view 4242', 'the newest such night, no further');
      assert.is(j.outputs.compare?.code, '1', j.log);
      assert.is(j.status.compare, 0, 'a regression is judged by the verdict, not a failed step');
      assert.match(readFileSync(join(work, 'summary.md'), 'utf8'), /compared with nightly run 4243/);
      assert.match(readFileSync(join(j.outputs.merge!.run!, 'report.html'), 'utf8'), /Compared with/);
      assert.is(j.status.Verdict, 1);
      assert.match(j.log, /::error::merged: some jobs did not pass/);
      assert.match(j.log, /::error::regression against the previous night/);
    } finally {
      rmSync(work, { recursive: true, force: true });
      rmSync(base.work, { recursive: true, force: true });
    }
  });

  test(`${r.merge} job: the night where it passed has no ${r.merge === 'merge' ? 'nightly-merged' : 'nightly-debug-merged'} artifact (expired): nothing compared; gh failing: nothing compared`, () => {
    const { work, bin } = scratch([{ id: 17, jobs: { [r.merge]: 'success' } }]);
    try {
      layShards(r, work, r.shards, 'pass');
      const j = runMergeJob(r.merge, work, bin);
      assert.is(j.status.baseline, 0, j.log);
      assert.match(j.log, `run 17 has no ${merged()} artifact`);
      assert.not.ok('compare' in j.status);
      assert.is(j.status.Verdict, 0, j.log);
      writeFileSync(join(bin, 'gh'), '#!/bin/bash\nexit 1\n');
      const broken = runMergeJob(r.merge, work, bin);
      assert.is(broken.status.baseline, 0, broken.log);
      assert.match(broken.log, /::warning::gh run list failed/);
      assert.is(broken.status.Verdict, 0, broken.log);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });

  test(`${r.merge} job: a shard left no run: unmergeable, red; no shard at all: red`, () => {
    const { work, bin } = scratch([]);
    try {
      layShards(r, work, [1]);
      const j = runMergeJob(r.merge, work, bin);
      assert.is(j.outputs.merge?.code, '2', j.log);
      assert.match(j.log, `shard 2/${r.shards.length} is missing`);
      assert.is(j.outputs.merge?.run, undefined);
      assert.not.ok('baseline' in j.status);
      assert.is(j.status.Verdict, 1);
      assert.match(j.log, /::error::the shard runs could not be merged/);

      rmSync(join(work, 'shards'), { recursive: true });
      const none = runMergeJob(r.merge, work, bin);
      assert.is(none.status.merge, 0);
      assert.match(none.log, /::error::no shard left a run/);
      assert.is(none.status.Verdict, 1);
      assert.match(none.log, /::error::no merged run/);
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

/**
 * The debug shard's 'built' step on a made-up cache: `entries` complete
 * debug kernel entries restored (older than the marker the key step
 * touches) and `fresh` ones built tonight, `hit` what the restore said.
 */
function savesKernel(opts: { hit: boolean; restored: number; fresh: number; failedBuild?: boolean; noCache?: boolean }): JobRun {
  const job = wf.jobs['debug-shard']!;
  const step = job.steps.find((s) => s.id === 'built')!;
  const work = mkdtempSync(join(tmpdir(), 'nightly-cache-'));
  try {
    const temp = join(work, 'runner-temp');
    mkdirSync(temp);
    const cache = join(work, job.env!.NEXUS_LAB_CACHE!, 'kernels');
    const hourAgo = new Date(Date.now() - 3_600_000);
    const marker = join(temp, 'debug-cache-restore');
    writeFileSync(marker, '');
    utimesSync(marker, hourAgo, hourAgo);
    if (!opts.noCache) mkdirSync(cache, { recursive: true });
    const entry = (i: number, old: boolean) => {
      const dir = join(cache, `debug-6.${i}_6.${i}.1-1_${old ? 'aaaaaaaaaaaa' : 'bbbbbbbbbbbb'}`);
      mkdirSync(join(dir, 'root'), { recursive: true });
      writeFileSync(join(dir, '.complete'), '{}');
      if (old) {
        const lastWeek = new Date(Date.now() - 7 * 86_400_000);
        utimesSync(join(dir, '.complete'), lastWeek, lastWeek);
      }
      writeFileSync(`${dir}.log`, 'CC kernel/fork.o\n');
    };
    for (let i = 0; i < opts.restored; i++) entry(i, true);
    for (let i = 0; i < opts.fresh; i++) entry(i, false);
    if (opts.failedBuild) {
      // What a failed build leaves: its log, and a scratch dir it removes (say, not yet).
      writeFileSync(join(cache, 'debug-6.1_6.1.2-1_cccccccccccc.log'), 'error\n');
      mkdirSync(join(cache, '.tmp-debug-6.1_6.1.2-1_cccccccccccc-42', 'build'), { recursive: true });
    }
    const r: JobRun = { outputs: { restore: { 'cache-primary-key': 'k', 'cache-hit': opts.hit ? 'true' : '' } }, status: {}, log: '' };
    assert.ok(runs(step.if, r.outputs));
    runScript('debug-shard', step, work, '/nonexistent', r, { RUNNER_TEMP: temp });
    return r;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

test('debug shard: the kernel is saved when tonight built it, not when it came from the cache or no build finished', () => {
  const built = savesKernel({ hit: false, restored: 0, fresh: 1 });
  assert.is(built.status.built, 0, built.log);
  assert.is(built.outputs.built?.save, 'true', built.log);

  const cached = savesKernel({ hit: true, restored: 1, fresh: 0 });
  assert.is(cached.status.built, 0, cached.log);
  assert.is(cached.outputs.built?.save, undefined);
  assert.not.match(cached.log, '::warning::');

  const failed = savesKernel({ hit: false, restored: 0, fresh: 0, failedBuild: true });
  assert.is(failed.status.built, 0, failed.log);
  assert.is(failed.outputs.built?.save, undefined, 'a log and a scratch dir are no kernel');

  const early = savesKernel({ hit: false, restored: 0, fresh: 0, noCache: true });
  assert.is(early.status.built, 0, early.log);
  assert.is(early.outputs.built?.save, undefined);

  // Built although restored: the key has too little in it; the entry cannot be saved under it.
  const stale = savesKernel({ hit: true, restored: 1, fresh: 1 });
  assert.is(stale.status.built, 0, stale.log);
  assert.is(stale.outputs.built?.save, undefined);
  assert.match(stale.log, /::warning::a debug kernel was built although the cache had an entry for this key/);
});

test('debug shard: the save step follows the decision, after the run and its upload', () => {
  const steps = wf.jobs['debug-shard']!.steps;
  const at = (pred: (s: Step) => boolean) => steps.findIndex(pred);
  const built = at((s) => s.id === 'built');
  const save = at((s) => s.uses?.split('@')[0] === 'actions/cache/save');
  const upload = at((s) => s.uses?.split('@')[0] === 'actions/upload-artifact' && String(s.with?.path).includes('results/'));
  assert.ok(upload < built && built < save, 'the results are uploaded before GiBs of kernel');
  assert.match(steps[built]!.if ?? '', "steps.restore.outputs.cache-primary-key != ''");
});

test.run();
