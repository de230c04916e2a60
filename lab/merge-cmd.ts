// nexus-lab merge DIR...: read shard runs, merge them (lab/merge.ts) and write
// the merged run as a run writes its own: run.json, junit.xml, report.html,
// metrics.txt, evidence.txt, the jobs' files, <results>/latest.
import { cp, mkdir, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, normalize, resolve, sep } from 'node:path';
import { parseArgs } from 'node:util';
import { evidenceTable, LEVELS } from './evidence.js';
import { mergeRuns, MergeError, type ShardRun } from './merge.js';
import { loadRun, runJsonOf, writeReport } from './report.js';
import { junitXml, metricsTable, summaryTable, writeJsonAtomic, type RunRecord } from './results.js';
import { newRunId } from './run.js';

export const MERGE_HELP = `nexus-lab merge - join the shard runs of one plan into one run

Usage:
  nexus-lab merge DIR... [--results DIR] [-q]

Each DIR is the run of one shard ('nexus-lab run --shard K/N'): its run
directory, its run.json, or a results directory whose 'latest' points to
it.  Give all N shards of the plan, in any order.  They are merged only
when they are shards of one plan: the same jobs, source tree (by hash),
--param values, --timeout-scale and --memory, split the same way (every
shard run records these in its run.json); each shard once, none missing,
each finished (not 'running' or 'interrupted').  Otherwise nothing is
written and the message names the shard at fault and what to do.

The merged run gets a new run id and is written as a run writes itself:
<results>/<run-id>/run.json (jobs in the full plan's order, summary and
evidence matrix recomputed from the jobs, 'merged' naming the shard runs),
junit.xml, report.html, metrics.txt and evidence.txt, and each job's
files copied from its shard so the report's log links work;
<results>/latest then points to it.  What the shards did not share (the
accelerator, the host, QEMU, the guest image, the kernel package versions)
is printed and kept as notes in run.json; with different accelerators the
run records tcg.  Phase times are the sums over the shards.

Options:
  --results DIR   where the merged run is written (default results/)
  -q, --quiet     print only the merged run's directory

Exit status: 0 when every job of the merged run passed, 1 when any did not
(as 'nexus-lab run'), 2 on bad usage or shards that cannot be merged.`;

class MergeUsage extends Error {}

/** The run.json of DIR: a run directory, its run.json, or a results dir's latest. */
async function shardJson(arg: string): Promise<string> {
  const st = await stat(arg).catch(() => undefined);
  if (st?.isDirectory() && !(await stat(join(arg, 'run.json')).catch(() => undefined)) && (await stat(join(arg, 'latest')).catch(() => undefined))?.isDirectory()) {
    return join(await realpath(join(arg, 'latest')), 'run.json');
  }
  try {
    return await runJsonOf(arg);
  } catch (e) {
    throw new MergeUsage(`${(e as Error).message}${st?.isDirectory() ? " and no 'latest'" : ''}`);
  }
}

/** A job file path that stays inside the run directory (no URL, no '..', not absolute). */
function insideRun(path: string): boolean {
  if (isAbsolute(path) || /^[a-z][a-z0-9+.-]*:/i.test(path)) return false;
  const n = normalize(path);
  return n !== '..' && !n.startsWith(`..${sep}`);
}

/** Copy each job's directory and listed files from its shard's run into `to`; returns what was missing. */
async function copyJobFiles(runs: readonly ShardRun[], merged: RunRecord, to: string): Promise<string[]> {
  const missing: string[] = [];
  for (const r of runs) {
    for (const job of r.record.jobs.filter((j) => merged.jobs.includes(j))) {
      const paths = [job.id, ...Object.values(job.files)].filter(insideRun);
      for (const p of new Set(paths)) {
        const src = join(r.dir, p);
        if (!(await stat(src).catch(() => undefined))) {
          if (p !== job.id) missing.push(`${job.id}: ${src}`);
          continue;
        }
        await mkdir(dirname(join(to, p)), { recursive: true });
        await cp(src, join(to, p), { recursive: true, force: true });
      }
    }
  }
  return missing;
}

export async function cmdMerge(argv: string[], where: { root: string }): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { results: { type: 'string' }, quiet: { type: 'boolean', short: 'q' }, help: { type: 'boolean', short: 'h' } },
    }));
    if (!values.help && positionals.length === 0) throw new Error('which shard runs? (give the run directory or run.json of every shard)');
  } catch (e) {
    process.stderr.write(`nexus-lab merge: ${(e as Error).message}\n\nRun 'nexus-lab merge --help' for usage.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${MERGE_HELP}\n`);
    return 0;
  }
  const resultsDir = resolve(values.results ?? join(where.root, 'results'));
  let runs: ShardRun[];
  let merged: RunRecord;
  try {
    runs = [];
    for (const arg of positionals) {
      const file = await shardJson(arg);
      runs.push({ record: await loadRun(file), dir: await realpath(dirname(resolve(file))) });
    }
    merged = mergeRuns(runs, { runId: newRunId(), command: ['nexus-lab', 'merge', ...argv] });
  } catch (e) {
    const msg = e instanceof MergeError ? `cannot merge these runs:\n${e.problems.map((p) => `  - ${p}`).join('\n')}` : (e as Error).message;
    process.stderr.write(`nexus-lab merge: ${msg}\n`);
    return 2;
  }
  try {
    const runDir = join(resultsDir, merged.runId);
    await mkdir(runDir, { recursive: true });
    const missing = await copyJobFiles(runs, merged, runDir);
    await writeJsonAtomic(join(runDir, 'run.json'), merged);
    await writeFile(join(runDir, 'junit.xml'), junitXml(merged));
    await writeReport(join(runDir, 'report.html'), merged);
    const metrics = metricsTable(merged);
    if (metrics !== undefined) await writeFile(join(runDir, 'metrics.txt'), `${metrics}\n`);
    if (merged.evidence) await writeFile(join(runDir, 'evidence.txt'), `${evidenceTable(merged.evidence)}\n`);
    const latest = join(resultsDir, 'latest');
    await rm(latest, { force: true });
    await symlink(merged.runId, latest).catch(() => undefined);
    for (const m of missing) process.stderr.write(`warning: a job file of the shard run is missing: ${m}\n`);
    if (values.quiet) {
      process.stdout.write(`${runDir}\n`);
    } else {
      const shards = merged.merged!.shards.map((s) => `${s.index}/${s.count} ${s.runId}`).join(', ');
      process.stdout.write(`merged ${merged.merged!.shards.length} shards (${shards}): ${merged.jobs.length} jobs\n\n${summaryTable(merged)}\n`);
      if (merged.evidence && Object.keys(merged.evidence).length > 0) {
        process.stdout.write(`\nevidence (highest level proven per primitive and kernel; ${LEVELS.join(' < ')}):\n${evidenceTable(merged.evidence)}\n`);
      }
      for (const n of merged.merged!.notes) process.stdout.write(`\nnote: ${n}\n`);
      process.stdout.write(`\nresults: ${runDir}\n`);
    }
    return merged.summary?.ok ? 0 : 1;
  } catch (e) {
    process.stderr.write(`nexus-lab merge: ${(e as Error).message}\n`);
    return 1;
  }
}
