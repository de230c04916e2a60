#!/usr/bin/env node
// nexus-lab: build the Nexus modules for many kernels, boot them in QEMU,
// run scenarios inside the guests and report.
import { cpus } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { inspectSource, type SourceTree } from './build.js';
import { PROFILES, describeSuites, parseShard, type Job } from './plan.js';
import { killAll, liveProcesses } from './proc.js';
import { Progress } from './progress.js';
import { metricsTable, summaryTable } from './results.js';
import { planRun, runLab, type RunOptions } from './run.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/lab/cli.js -> repository root two levels up.
const ROOT = resolve(here, '..', '..');
const BUNDLE = resolve(here, '..', 'scenarios');

const HELP = `nexus-lab - build, boot, load, run and report Nexus across kernels

Usage:
  nexus-lab plan [options]     print the jobs a run would execute
  nexus-lab run [options]      run them: build the modules for each kernel, boot a
                               QEMU guest, load the modules, run the suites, report
  nexus-lab help               this text

Selecting jobs (plan and run):
  --kernels LIST       comma-separated kernel ids from the matrix, or "all"
                       (default: the kernels the matrix marks default)
  --profile NAME       the kind of guest and how Nexus gets into it (default quick):
${PROFILES.map((p) => `                         ${p.name.padEnd(7)}${p.description}`).join('\n')}
  --suites LIST        comma-separated suites instead of the profile's
                       (--suite NAME is the same)
  --shard K/N          only the K-th of N deterministic slices of the plan
  --matrix PATH        kernel matrix (default images/kernels.json)
  --json               plan: print the jobs as JSON

Running (run):
  --source PATH        Nexus source tree: a Makefile taking KERNEL_SRC, and a
                       dkms.conf naming the built modules (default: kernel/)
  --results DIR        where runs are written (default results/)
  --cache DIR          kernels, images and builds cache (default .cache/,
                       or $NEXUS_LAB_CACHE)
  --accel MODE         auto (default): KVM if a probe boot works, else TCG;
                       or kvm / tcg to force one
  --jobs N             jobs run in parallel (default: number of CPUs)
  --timeout-scale X    multiply every deadline by X (default 1)
  --memory MIB         guest memory (default 1024)

Suites:
${describeSuites()}

Results: <results>/<run-id>/run.json, junit.xml, metrics.txt (when a suite
records metrics) and per job console.log,
dmesg.txt, events.jsonl, runner.log, build.log; <results>/latest points to
the newest run.

Exit status: 0 when every job passed, 1 when any did not, 2 on bad usage,
130 when interrupted (Ctrl-C or SIGTERM; guests are shut down first).`;

class UsageError extends Error {}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError('an empty list was given');
  return items;
}

function positiveNumber(name: string, v: string | undefined, fallback: number, integer: boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} takes a positive ${integer ? 'integer' : 'number'}, not '${v}'`);
  }
  return n;
}

function parse(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      kernels: { type: 'string' },
      profile: { type: 'string' },
      suites: { type: 'string' },
      suite: { type: 'string' },
      shard: { type: 'string' },
      matrix: { type: 'string' },
      json: { type: 'boolean' },
      source: { type: 'string' },
      results: { type: 'string' },
      cache: { type: 'string' },
      accel: { type: 'string' },
      jobs: { type: 'string' },
      'timeout-scale': { type: 'string' },
      memory: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel takes auto, kvm or tcg, not '${accel}'`);
  const options: RunOptions = {
    matrixPath: resolve(values.matrix ?? join(ROOT, 'images', 'kernels.json')),
    kernels: list(values.kernels),
    profile: values.profile,
    suites: list([values.suites, values.suite].filter((v) => v !== undefined).join(',') || undefined),
    shard: values.shard === undefined ? undefined : parseShard(values.shard),
    sourcePath: resolve(values.source ?? join(ROOT, 'kernel')),
    resultsDir: resolve(values.results ?? join(ROOT, 'results')),
    cacheDir: resolve(values.cache ?? process.env.NEXUS_LAB_CACHE ?? join(ROOT, '.cache')),
    accel,
    parallel: positiveNumber('--jobs', values.jobs, cpus().length, true),
    timeoutScale: positiveNumber('--timeout-scale', values['timeout-scale'], 1, false),
    memoryMiB: positiveNumber('--memory', values.memory, 1024, true),
    command: ['nexus-lab', ...argv],
  };
  return { command: positionals[0] ?? 'help', extra: positionals.slice(1), help: values.help ?? false, json: values.json ?? false, options };
}

function cmdPlan(jobs: readonly Job[], json: boolean): number {
  if (json) {
    process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
    return 0;
  }
  const w = Math.max(3, ...jobs.map((j) => j.id.length));
  process.stdout.write(`${'job'.padEnd(w)}  kernel package                                   suites\n`);
  for (const j of jobs) {
    const pkg = `linux-image-${j.kernel.series}.*-${j.kernel.flavour}-unsigned${j.kernel.version ? ` = ${j.kernel.version}` : ' (newest)'}`;
    process.stdout.write(`${j.id.padEnd(w)}  ${pkg.padEnd(48)} ${j.suites.join(',')}\n`);
  }
  process.stdout.write(`${jobs.length} job${jobs.length === 1 ? '' : 's'}\n`);
  return 0;
}

async function cmdRun(o: RunOptions): Promise<number> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: NodeJS.Signals) => {
    signals++;
    if (signals === 1) {
      process.stderr.write(`\n${sig}: stopping the guests and writing the results (again to force)\n`);
      controller.abort(sig);
      // If winding down hangs, end the processes anyway.
      setTimeout(() => {
        killAll();
        process.exit(130);
      }, 30_000).unref();
    } else {
      killAll();
      process.exit(130);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let jobs: Job[];
  let source: SourceTree;
  try {
    jobs = await planRun(o);
    if (jobs.length === 0) throw new Error('the plan has no job (is the shard empty?)');
    source = await inspectSource(o.sourcePath);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const progress = new Progress(process.stderr, jobs.map((j) => j.id));
  const record = await runLab(o, jobs, source, { root: ROOT, bundle: BUNDLE }, progress, controller.signal);
  process.stdout.write(`\n${summaryTable(record)}\n`);
  const metrics = metricsTable(record);
  if (metrics !== undefined) process.stdout.write(`\nmetrics:\n${metrics}\n`);
  process.stdout.write(`\nresults: ${join(o.resultsDir, record.runId)}\n`);
  if (record.accel) process.stdout.write(`accelerator: ${record.accel.used} (${record.accel.reason})\n`);
  const left = liveProcesses();
  if (left.length > 0) process.stderr.write(`warning: ending ${left.length} leftover process(es)\n`);
  killAll();
  if (controller.signal.aborted) return 130;
  return record.summary?.ok ? 0 : 1;
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (e) {
    process.stderr.write(`nexus-lab: ${(e as Error).message}\n\nRun 'nexus-lab help' for usage.\n`);
    return 2;
  }
  const { command, extra, help, json, options } = parsed;
  if (help || command === 'help') {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (extra.length > 0) {
    process.stderr.write(`nexus-lab: unexpected argument '${extra[0]}'\n`);
    return 2;
  }
  try {
    if (command === 'plan') {
      let jobs: Job[];
      try {
        jobs = await planRun(options);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
      return cmdPlan(jobs, json);
    }
    if (command === 'run') return await cmdRun(options);
  } catch (e) {
    process.stderr.write(`nexus-lab ${command}: ${(e as Error).message}\n`);
    return e instanceof UsageError ? 2 : 1;
  }
  process.stderr.write(`nexus-lab: unknown command '${command}'\n\nRun 'nexus-lab help' for usage.\n`);
  return 2;
}

process.on('exit', () => killAll());
main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
