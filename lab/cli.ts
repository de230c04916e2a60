#!/usr/bin/env node
// nexus-lab: build the Nexus modules for many kernels, boot them in QEMU,
// run scenarios inside the guests and report.
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { HELP, parse, UsageError } from './args.js';
import { inspectSource, type SourceTree } from './build.js';
import { evidenceTable, LEVELS } from './evidence.js';
import { BENCH_HELP } from './bench.js';
import { buildDeb, lintDeb } from './package.js';
import type { Job } from './plan.js';
import { interruptible, killAll, liveProcesses } from './proc.js';
import { Progress } from './progress.js';
import { leakSummary } from './leaks.js';
import { metricsTable, summaryTable } from './results.js';
import { planRun, runLab, type RunOptions } from './run.js';
import { cmdBench } from './steps/ab-run.js';
import { cmdExec, cmdShell } from './interactive.js';
import { cmdReport } from './report.js';
import { cmdCompare } from './compare.js';
import { cmdMerge } from './merge-cmd.js';

const here = dirname(fileURLToPath(import.meta.url));
// dist/lab/cli.js -> repository root two levels up.
const ROOT = resolve(here, '..', '..');
const BUNDLE = resolve(here, '..', 'scenarios');

function cmdPlan(jobs: readonly Job[], json: boolean): number {
  // `nexus-lab plan | head`: a reader that stops early is not an error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  if (json) {
    process.stdout.write(`${JSON.stringify(jobs, null, 2)}\n`);
    return 0;
  }
  const w = Math.max(3, ...jobs.map((j) => j.id.length));
  process.stdout.write(`${'job'.padEnd(w)}  kernel package                                   cpus  suites\n`);
  for (const j of jobs) {
    const version = j.kernel.version ? ` = ${j.kernel.version}` : ' (newest)';
    const pkg = j.kernel.build
      ? `linux-source-${j.kernel.series}${version} + ${basename(j.kernel.build.fragment)}`
      : `linux-image-${j.kernel.series}.*-${j.kernel.flavour}-unsigned${version}`;
    const up = j.upgrade ? ('to' in j.upgrade ? `  (then upgrades to ${j.upgrade.to.id})` : `  (no upgrade: ${j.upgrade.none})`) : '';
    process.stdout.write(`${j.id.padEnd(w)}  ${pkg.padEnd(48)} ${String(j.cpus).padStart(4)}  ${j.suites.join(',')}${up}\n`);
  }
  process.stdout.write(`${jobs.length} job${jobs.length === 1 ? '' : 's'}\n`);
  return 0;
}

async function cmdRun(o: RunOptions): Promise<number> {
  const controller = interruptible('stopping the guests and writing the results');

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
  if (record.evidence && Object.keys(record.evidence).length > 0) {
    process.stdout.write(`\nevidence (highest level proven per primitive and kernel; ${LEVELS.join(' < ')}):\n${evidenceTable(record.evidence)}\n`);
  }
  const metrics = metricsTable(record);
  if (metrics !== undefined) process.stdout.write(`\nmetrics:\n${metrics}\n`);
  // One round tells nothing (it is the warm-up): the lines only when a suite ran twice or more.
  const repeated = record.jobs.filter((j) => j.leaks?.suites.some((x) => x.rounds > 1));
  const leakLines = repeated.flatMap((j) => leakSummary(j.leaks).map((l) => `${j.id}  ${l}`));
  if (leakLines.length > 0) process.stdout.write(`\nslab and memory per suite (round 1 is warm-up):\n${leakLines.join('\n')}\n`);
  process.stdout.write(`\nresults: ${join(o.resultsDir, record.runId)}\n`);
  if (record.accel) process.stdout.write(`accelerator: ${record.accel.used} (${record.accel.reason})\n`);
  const left = liveProcesses();
  if (left.length > 0) process.stderr.write(`warning: ending ${left.length} leftover process(es)\n`);
  killAll();
  if (controller.signal.aborted) return 130;
  return record.summary?.ok ? 0 : 1;
}

const PACKAGE_HELP = `nexus-lab package - build the nexus-dkms Debian package

Usage:
  nexus-lab package [--source PATH] [--out DIR] [--cache DIR] [--lint]

Builds nexus-dkms_<version>_all.deb with dpkg-buildpackage (debhelper and
dh-dkms, from Debian's own packages): packaging/debian/ plus the parts of the
DKMS tree a DKMS build reads (its top-level files, include/ and the
directories of its BUILT_MODULE_LOCATIONs) staged as
/usr/src/<PACKAGE_NAME>-<PACKAGE_VERSION>/, and
/usr/lib/modules-load.d/<PACKAGE_NAME>.conf loading every BUILT_MODULE_NAME.
The version is the tree's dkms.conf PACKAGE_VERSION; debian/changelog is
generated from it, dated SOURCE_DATE_EPOCH (the environment's, else the
commit time of HEAD, else the newest source file).  The build runs in a
scratch directory, never in the source tree; the same inputs give the same
bytes, so the result is cached by their hash.

Options:
  --source PATH   the DKMS tree (default: kernel/)
  --out DIR       where the .deb is written (default: dist/)
  --cache DIR     package cache (default .cache/, or $NEXUS_LAB_CACHE)
  --lint          then run lintian --fail-on error,warning on it and fail
                  on any error or warning

Prints the .deb's path, size and version.  Exit status: 0 when built (and
lintian-clean with --lint), 1 when the build or lintian failed, 2 on bad
usage, 130 when interrupted.`;

async function cmdPackage(argv: string[]): Promise<number> {
  let values;
  try {
    const parsed = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        source: { type: 'string' },
        out: { type: 'string' },
        cache: { type: 'string' },
        lint: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    values = parsed.values;
  } catch (e) {
    process.stderr.write(`nexus-lab package: ${(e as Error).message}\n\nRun 'nexus-lab package --help' for usage.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${PACKAGE_HELP}\n`);
    return 0;
  }
  const controller = new AbortController();
  const onSignal = (sig: NodeJS.Signals) => {
    process.stderr.write(`\n${sig}: stopping the package build\n`);
    controller.abort(sig);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const started = Date.now();
  try {
    const deb = await buildDeb({
      source: resolve(values.source ?? join(ROOT, 'kernel')),
      outDir: resolve(values.out ?? join(ROOT, 'dist')),
      cacheDir: resolve(values.cache ?? process.env.NEXUS_LAB_CACHE ?? join(ROOT, '.cache')),
      signal: controller.signal,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `${deb.path}\n  ${deb.name} ${deb.version}, ${deb.sizeBytes} bytes` +
        `${deb.cached ? ', from the package cache' : `, built in ${seconds} s`}\n`,
    );
    if (values.lint) {
      const lint = await lintDeb(deb.path, controller.signal);
      process.stdout.write(`${lint.command}\n${lint.output ? `${lint.output}\n` : ''}lintian: ${lint.ok ? 'clean (0 errors, 0 warnings)' : 'FAILED'}\n`);
      if (!lint.ok) return 1;
    }
    return 0;
  } catch (e) {
    process.stderr.write(`nexus-lab package: ${(e as Error).message}\n`);
    return controller.signal.aborted ? 130 : 1;
  }
}

async function main(argv: string[]): Promise<number> {
  // package has options of its own (--out, --lint): parsed apart from plan/run's.
  if (argv[0] === 'package') return cmdPackage(argv.slice(1));
  // bench has options of its own (--against, --rounds, ...): lab/bench.ts.
  if (argv[0] === 'bench') return cmdBench(argv.slice(1), { root: ROOT, bundle: BUNDLE });
  if (argv[0] === 'shell') return cmdShell(argv.slice(1), { root: ROOT, bundle: BUNDLE });
  if (argv[0] === 'exec') return cmdExec(argv.slice(1), { root: ROOT, bundle: BUNDLE });
  if (argv[0] === 'report') return cmdReport(argv.slice(1));
  if (argv[0] === 'compare') return cmdCompare(argv.slice(1));
  if (argv[0] === 'merge') return cmdMerge(argv.slice(1), { root: ROOT });
  let parsed;
  try {
    parsed = parse(argv, { root: ROOT });
  } catch (e) {
    process.stderr.write(`nexus-lab: ${(e as Error).message}\n\nRun 'nexus-lab help' for usage.\n`);
    return 2;
  }
  const { command, extra, help, json, options } = parsed;
  if (help || command === 'help') {
    process.stdout.write(`${HELP}\n\n${PACKAGE_HELP}\n\n${BENCH_HELP}\n`);
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
