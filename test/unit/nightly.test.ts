// .github/workflows/nightly.yml, parsed: its job graph, its shard matrix and
// commands against lab/nightly.ts (what the integration test runs), its
// artifact names, and every lab command it uses against the Makefile and
// the CLI.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse as parseYaml } from 'yaml';
import { parse as parseArgs } from '../../lab/args.js';
import { NIGHTLY_SHARDS, shardLabArgs, shardRunArgs } from '../../lab/nightly.js';
import { shard } from '../../lab/plan.js';
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
    workflow_dispatch?: { inputs?: Record<string, { type?: string; default?: string }> };
  };
  permissions?: Record<string, string>;
  env?: Record<string, string>;
  jobs: Record<string, Job>;
}

const WORKFLOW_FILE = 'nightly.yml';
const text = readFileSync(join(ROOT, '.github', 'workflows', WORKFLOW_FILE), 'utf8');
const wf = parseYaml(text) as Workflow;
const makefile = readFileSync(join(ROOT, 'Makefile'), 'utf8');
const SHARDS = Array.from({ length: NIGHTLY_SHARDS }, (_, i) => i + 1);

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

test('runs every night on a schedule and on demand, with an optional kernel list', () => {
  const schedule = wf.on.schedule ?? [];
  assert.is(schedule.length, 1);
  assert.match(schedule[0]!.cron, /^(\S+ ){4}\S+$/, 'five cron fields');
  const kernels = wf.on.workflow_dispatch?.inputs?.kernels;
  assert.ok(kernels, 'workflow_dispatch with a kernels input');
  assert.is(kernels.type, 'string');
  assert.is(kernels.default, '', 'the default matrix unless asked');
  assert.equal(Object.keys(wf.on).sort(), ['schedule', 'workflow_dispatch']);
});

test('the job graph is plan -> shard -> merge, and merge runs also when a shard failed', () => {
  assert.equal(Object.keys(wf.jobs), ['plan', 'shard', 'merge']);
  const { plan, shard, merge } = wf.jobs as Record<'plan' | 'shard' | 'merge', Job>;
  assert.equal(needsOf(plan), []);
  assert.equal(needsOf(shard), ['plan']);
  assert.equal(needsOf(merge).sort(), ['plan', 'shard']);
  for (const job of Object.values(wf.jobs)) for (const n of needsOf(job)) assert.ok(n in wf.jobs, `needs ${n}`);
  // success() is implied by an 'if' without a status function: a failed shard
  // would skip the merge.
  assert.match(merge.if ?? '', /!cancelled\(\)|always\(\)/);
  assert.is(shard.strategy?.['fail-fast'], false, 'one failing shard does not cancel the others');
  for (const [name, job] of Object.entries(wf.jobs)) {
    assert.type(job['timeout-minutes'], 'number', `${name} has a timeout`);
  }
});

test('the matrix is exactly shards 1..NIGHTLY_SHARDS', () => {
  const matrix = wf.jobs.shard!.strategy!.matrix;
  assert.equal(Object.keys(matrix), ['shard'], 'no include or exclude');
  assert.equal(matrix.shard, SHARDS);
});

test('each shard runs `make lab` with the options lab/nightly.ts gives, in a Debian bookworm container', () => {
  const shard = wf.jobs.shard!;
  assert.is(shard.container?.image, 'debian:bookworm');
  assert.match(shard.container?.options ?? '', /--privileged/);
  const run = runStep(shard, /^make lab /m).run!.trim();
  assert.not.match(run, '\n', 'one command');
  for (const k of SHARDS) {
    const line = forShard(run, k);
    const resultsDir = `results/shard-${k}`;
    // The script's own shell expansion, make replaced by printf.
    const expand = (kernels: string) =>
      execFileSync('bash', ['--norc', '--noprofile', '-c', line.replace(/^make lab /, "printf '%s\\n' ")], { env: { PATH: process.env.PATH, KERNELS: kernels }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
    assert.is(expand(''), `LAB_ARGS=${shardLabArgs(k, resultsDir)}`);
    assert.is(expand('6.1-cloud,6.12-rt'), `LAB_ARGS=${shardLabArgs(k, resultsDir)} --kernels 6.1-cloud,6.12-rt`);
    assert.ok(shardLabArgs(k, resultsDir).startsWith(`${shardRunArgs(k).join(' ')} `));
    // What make runs with it, and what the CLI makes of that.
    const recipe = execFileSync('make', ['-n', '--no-print-directory', 'lab', `LAB_ARGS=${shardLabArgs(k, resultsDir)}`], { cwd: ROOT, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: process.env.HOME } });
    const last = recipe.trim().split('\n').at(-1)!;
    assert.is(last, `${LAB} run ${shardLabArgs(k, resultsDir)}`);
    const parsed = parseArgs(last.split(' ').slice(LAB!.split(' ').length), { root: ROOT, env: {} });
    assert.is(parsed.command, 'run');
    assert.equal(parsed.options.shard, { index: k, count: NIGHTLY_SHARDS });
    assert.is(relative(process.cwd(), parsed.options.resultsDir), resultsDir);
  }
});

test('the artifacts the shards upload are the ones the merge job downloads and merges', () => {
  const shard = wf.jobs.shard!;
  const merge = wf.jobs.merge!;
  const upload = usesStep(shard, 'actions/upload-artifact');
  assert.match(upload.if ?? '', /!cancelled\(\)|always\(\)/, 'also when the shard had failures');
  const name = String(upload.with?.name);
  const paths = String(upload.with?.path).trim().split('\n');
  // The directory the shard's `--results` names, its 'latest' link left out.
  assert.equal(paths, ['results/shard-${{ matrix.shard }}/', '!results/shard-${{ matrix.shard }}/latest', '!results/shard-${{ matrix.shard }}/latest/**']);
  const run = runStep(shard, /^make lab /m).run!;
  assert.ok(run.includes(`--results ${paths[0]!.replace(/\/$/, '')}`));

  const download = usesStep(merge, 'actions/download-artifact');
  assert.is(download.with?.pattern, '${{ env.SHARD_ARTIFACTS }}');
  const pattern = merge.env!.SHARD_ARTIFACTS!;
  const dir = String(download.with?.path);
  const names = SHARDS.map((k) => forShard(name, k));
  assert.is(new Set(names).size, SHARDS.length, 'one artifact per shard');
  for (const n of names) assert.match(n, globRe(pattern), `${n} is downloaded by ${pattern}`);
  assert.not.match(merge.env!.MERGED_ARTIFACT!, globRe(pattern), 'the merged run is not taken for a shard');
  // Without merge-multiple each artifact lands in <path>/<name>/: the merge
  // script takes the run directories there.
  assert.not.ok(download.with?.['merge-multiple']);
  const script = runStep(merge, /cli\.js merge /).run!;
  const glob = new RegExp(`(?:^|\\s|\\()${dir}/([^/\\s]+)/\\*/`).exec(script)?.[1];
  assert.ok(glob, `the merge script reads ${dir}/<artifact>/<run>/`);
  for (const n of names) assert.match(n, globRe(glob), `${n} is merged`);
});

test('the merged run is uploaded under the name the next night downloads as its baseline', () => {
  const merge = wf.jobs.merge!;
  const uploads = merge.steps.filter((s) => s.uses?.startsWith('actions/upload-artifact@'));
  assert.is(uploads.length, 1);
  assert.is(uploads[0]!.with?.name, '${{ env.MERGED_ARTIFACT }}');
  assert.is(merge.env?.MERGED_ARTIFACT, 'nightly-merged');
  const baseline = runStep(merge, /gh run download/).run!;
  assert.match(baseline, /--name "\$MERGED_ARTIFACT"/);
  assert.match(baseline, new RegExp(`--workflow ${WORKFLOW_FILE.replace('.', '\\.')}\\b`));
  // The last night where this very job passed, not the whole run.
  assert.match(baseline, /--event schedule --status completed/);
  assert.match(baseline, /grep -qx "\$GITHUB_JOB success"/);
  // GITHUB_JOB (the job id) is the job's name in the API only if it has no other.
  assert.is(merge.name, undefined);
  assert.is(merge.env?.GH_TOKEN, '${{ github.token }}');
  assert.is(merge.permissions?.actions, 'read');
  // The JUnit file of the merged run as a check.
  const junit = usesStep(merge, 'mikepenz/action-junit-report');
  assert.match(String(junit.with?.report_paths), /\/junit\.xml$/);
  assert.is(junit.with?.check_name, '${{ env.CHECK_NAME }}');
  assert.is(merge.permissions?.checks, 'write');
  assert.is(wf.permissions?.contents, 'read', 'nothing else gets more than read');
});

test('every lab command the workflow runs exists in the Makefile or the CLI, with its options', () => {
  assert.ok(LAB, 'the Makefile names the CLI');
  const targets = makeTargets();
  let made = 0;
  let called = 0;
  for (const { job, run } of allRuns) {
    for (const m of run.matchAll(/^\s*make\s+([a-z][\w./-]*)/gm)) {
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
  }
  assert.ok(made >= 3 && called >= 4, `make ${made} times, the CLI ${called} times`);
  // The flags LAB_ARGS hands to 'nexus-lab run'.
  const runHelp = execFileSync('node', [join(ROOT, 'dist', 'lab', 'cli.js'), 'run', '--help'], { cwd: ROOT, encoding: 'utf8' });
  const labArgs = /LAB_ARGS="([^"]*)"/.exec(runStep(wf.jobs.shard!, /^make lab /m).run!)![1]!;
  for (const flag of labArgs.match(/--[a-z][a-z-]*/g) ?? []) assert.match(runHelp, flag);
});

test('after the merge, every step of the merge job runs also when one before it failed', () => {
  const steps = wf.jobs.merge!.steps;
  const at = steps.findIndex((s) => s.id === 'merge');
  assert.ok(at >= 0);
  // Without a status function an 'if' means success() && ...: a baseline that
  // could not be fetched would skip the check, the artifact and the verdict.
  for (const s of steps.slice(at + 1)) assert.match(s.if ?? '', /!cancelled\(\)|always\(\)/, s.name ?? s.uses);
});

test('actions are pinned to a major version', () => {
  for (const job of Object.values(wf.jobs)) {
    for (const s of job.steps) if (s.uses) assert.match(s.uses, /^[\w.-]+\/[\w.-]+@v\d+$/);
  }
});

// The merge job's own scripts, run here as the runner runs them (bash -eo
// pipefail, GITHUB_OUTPUT, each step's 'if' and env with the outputs of the
// steps before), on shard runs laid out as download-artifact lays them out,
// with 'gh' a stub.  The 'uses' steps are left out: the download is the
// layout made here.

type Outputs = Record<string, Record<string, string>>;

/** `${{ ... }}` of the merge job: steps.<id>.outputs.<name>, github.token, inputs.kernels. */
function expr(e: string, outputs: Outputs): string {
  const m = /^steps\.([\w-]+)\.outputs\.([\w-]+)$/.exec(e.trim());
  if (m) return outputs[m[1]!]?.[m[2]!] ?? '';
  if (e.trim() === 'github.token') return 'a-token';
  if (e.trim() === 'inputs.kernels') return ''; // a scheduled run
  throw new Error(`expression not simulated: ${e}`);
}
const substitute = (t: string, outputs: Outputs) => t.replace(/\$\{\{(.*?)\}\}/g, (_, e: string) => expr(e, outputs));

/** A step's 'if', in the forms the merge job uses: !cancelled() && steps.X.outputs.Y != ''. */
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

function runMergeJob(work: string, bin: string): JobRun {
  const job = wf.jobs.merge!;
  const outputs: Outputs = {};
  const status: Record<string, number> = {};
  let log = '';
  for (const step of job.steps) {
    if (step.run === undefined || step.run.startsWith('make ')) continue; // the build: dist/ is this one
    if (!runs(step.if, outputs)) continue;
    const key = step.id ?? step.name ?? '?';
    const out = join(work, `output-${key.replace(/\W/g, '_')}`);
    writeFileSync(out, '');
    const env: Record<string, string> = {
      PATH: `${bin}:${process.env.PATH}`,
      HOME: work,
      GITHUB_OUTPUT: out,
      GITHUB_STEP_SUMMARY: join(work, 'summary.md'),
      GITHUB_REPOSITORY: 'nexus/nexus-lab',
      GITHUB_JOB: 'merge',
    };
    for (const [k, v] of Object.entries({ ...wf.env, ...job.env, ...step.env })) env[k] = substitute(v, outputs);
    const r = spawnSync('bash', ['--noprofile', '--norc', '-eo', 'pipefail', '-c', substitute(step.run, outputs)], { cwd: work, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    status[key] = r.status ?? -1;
    log += `--- ${key}: ${r.status}\n${r.stdout}${r.stderr}`;
    if (step.id) outputs[step.id] = Object.fromEntries(readFileSync(out, 'utf8').split('\n').filter(Boolean).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]));
  }
  return { outputs, status, log };
}

const REPORT_RUN = JSON.parse(fixture('report', 'run.json')) as RunRecord;

/** The fixture run (6.1 passed, 6.12 a kernel splat) cut as 'run --shard K/2' cuts it, written as shard K's artifact. */
function layShards(work: string, which: number[], verdict12?: 'pass'): void {
  const full = JSON.parse(JSON.stringify(REPORT_RUN)) as RunRecord;
  if (verdict12) for (const j of full.jobs) if (j.id.startsWith('6.12')) { j.verdict = verdict12; j.splats = []; }
  const count = NIGHTLY_SHARDS;
  for (const index of which) {
    const r = JSON.parse(JSON.stringify(full)) as RunRecord;
    r.runId = `20261201-02${index}000-000${index}`;
    r.jobs = shard(r.jobs, { index, count });
    r.summary = summarize(r.jobs);
    r.shard = { index, count, plan: 'plan-of-tonight', jobs: full.jobs.map((j) => j.id) };
    const dir = join(work, 'shards', `nightly-shard-${index}`, r.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify(r));
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

test('merge job: every shard passed, no earlier night: merged, nothing compared, green', () => {
  const { work, bin } = scratch([]);
  try {
    layShards(work, SHARDS, 'pass');
    const r = runMergeJob(work, bin);
    assert.is(r.outputs.merge?.code, '0', r.log);
    const run = r.outputs.merge!.run!;
    assert.ok(existsSync(join(run, 'junit.xml')) && existsSync(join(run, 'report.html')), 'the merged run has its JUnit file and report');
    assert.equal((JSON.parse(readFileSync(join(run, 'run.json'), 'utf8')) as RunRecord).jobs.map((j) => j.verdict), ['pass', 'pass']);
    assert.is(r.status.baseline, 0);
    assert.is(r.outputs.baseline?.dir, undefined, 'no baseline');
    assert.match(readFileSync(join(work, 'gh.log'), 'utf8'), /^gh run list --repo nexus\/nexus-lab --workflow nightly\.yml --event schedule --status completed /);
    assert.match(r.log, 'no scheduled night where merge passed');
    assert.not.ok('compare' in r.status, 'compare skipped');
    assert.is(r.status.Verdict, 0, r.log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('merge job: a splat tonight against the last night where merge passed, whatever other jobs did: a regression, red', () => {
  const base = scratch([]);
  // Newest first: merge failed the night before, passed the night before
  // that (when another job failed), and the night before that.
  const nights: Night[] = [
    { id: 4244, jobs: { plan: 'success', shard: 'success', merge: 'failure' } },
    { id: 4243, jobs: { plan: 'success', shard: 'failure', merge: 'success' } },
    { id: 4242, jobs: { plan: 'success', shard: 'success', merge: 'success' } },
  ];
  const { work, bin } = scratch(nights, join(base.work, 'baseline-artifact'));
  try {
    // Last night's merged run, as the upload step uploaded it.
    layShards(base.work, SHARDS, 'pass');
    const last = runMergeJob(base.work, base.bin);
    cpSync(last.outputs.merge!.run!, join(base.work, 'baseline-artifact'), { recursive: true });

    layShards(work, SHARDS);
    const r = runMergeJob(work, bin);
    assert.is(r.outputs.merge?.code, '1', r.log);
    assert.is(r.outputs.baseline?.dir, 'baseline');
    assert.is(r.outputs.baseline?.id, '4243', r.log);
    const gh = readFileSync(join(work, 'gh.log'), 'utf8');
    assert.match(gh, /gh run download 4243 --repo nexus\/nexus-lab --name nightly-merged --dir baseline/);
    assert.not.match(gh, 'gh run view 4242', 'the newest such night, no further');
    assert.is(r.outputs.compare?.code, '1', r.log);
    assert.is(r.status.compare, 0, 'a regression is judged by the verdict, not a failed step');
    assert.match(readFileSync(join(work, 'summary.md'), 'utf8'), /compared with nightly run 4243/);
    assert.match(readFileSync(join(r.outputs.merge!.run!, 'report.html'), 'utf8'), /Compared with/);
    assert.is(r.status.Verdict, 1);
    assert.match(r.log, /::error::merged: some jobs did not pass/);
    assert.match(r.log, /::error::regression against the previous night/);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(base.work, { recursive: true, force: true });
  }
});

test('merge job: the night where it passed has no nightly-merged artifact (expired): nothing compared; gh failing: nothing compared', () => {
  const { work, bin } = scratch([{ id: 17, jobs: { merge: 'success' } }]);
  try {
    layShards(work, SHARDS, 'pass');
    const r = runMergeJob(work, bin);
    assert.is(r.status.baseline, 0, r.log);
    assert.match(r.log, 'run 17 has no nightly-merged artifact');
    assert.not.ok('compare' in r.status);
    assert.is(r.status.Verdict, 0, r.log);
    writeFileSync(join(bin, 'gh'), '#!/bin/bash\nexit 1\n');
    const broken = runMergeJob(work, bin);
    assert.is(broken.status.baseline, 0, broken.log);
    assert.match(broken.log, /::warning::gh run list failed/);
    assert.is(broken.status.Verdict, 0, broken.log);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('merge job: a shard left no run: unmergeable, red; no shard at all: red', () => {
  const { work, bin } = scratch([]);
  try {
    layShards(work, [1]);
    const r = runMergeJob(work, bin);
    assert.is(r.outputs.merge?.code, '2', r.log);
    assert.match(r.log, /shard 2\/2 is missing/);
    assert.is(r.outputs.merge?.run, undefined);
    assert.not.ok('baseline' in r.status);
    assert.is(r.status.Verdict, 1);
    assert.match(r.log, /::error::the shard runs could not be merged/);

    rmSync(join(work, 'shards'), { recursive: true });
    const none = runMergeJob(work, bin);
    assert.is(none.status.merge, 0);
    assert.match(none.log, /::error::no shard left a run/);
    assert.is(none.status.Verdict, 1);
    assert.match(none.log, /::error::no merged run/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test.run();
