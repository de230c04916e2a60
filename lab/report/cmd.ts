// nexus-lab report RUN: (re)write a run's report.html from its run.json.
import { readFile, stat, writeFile, rename } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { compareRuns } from '../compare.js';
import type { RunRecord } from '../results.js';
import { renderReport, type ReportOptions } from './render.js';

export const REPORT_HELP = `nexus-lab report - write a run's HTML report again

Usage:
  nexus-lab report RUN [--baseline BASE] [--out FILE]

RUN is a run directory (results/<run-id>, or results/latest) or its
run.json.  Writes one self-contained HTML file (inline style and SVG, no
script, nothing fetched: it opens from disk and in an air-gapped CI
artifact viewer): the verdict matrix (kernel x suite, colour and word, each
cell linking to its job), each job's logs, problems, kernel splats in full
and failing scenarios with expected and actual, the evidence matrix, boot
and phase times, benchmark charts (medians with p99 whiskers, ratios to the
Linux baselines) and leak figures.  Every run writes it by itself as
results/<run-id>/report.html; this command is for a run.json from
elsewhere (a CI artifact, a merged run) or after an upgrade of the lab.

Options:
  --baseline BASE an earlier run (directory or run.json) to compare RUN
                  with: the report then opens with "Compared with <base
                  run id>" - regressions (worse verdicts, new splats,
                  newly failing scenarios, metrics worse beyond noise,
                  leak growth), improvements, and the changed metrics as a
                  chart; judged as 'nexus-lab compare BASE RUN' judges
  --out FILE      where to write it (default: report.html in the run
                  directory); links to the job logs stay relative to it

Exit status: 0 when written, 1 when it could not be written, 2 on bad usage
(no such run or baseline, a directory without run.json, a run.json that is
not a run).  A regression against the baseline is shown, not an error: gate
on 'nexus-lab compare' for that.`;

export class ReportUsageError extends Error {}

/** The run.json of RUN: the file itself, or the one in the directory. */
export async function runJsonOf(run: string): Promise<string> {
  const st = await stat(run).catch(() => undefined);
  if (!st) throw new ReportUsageError(`${run}: no such run directory or file`);
  if (st.isFile()) return run;
  const file = join(run, 'run.json');
  if (!(await stat(file).catch(() => undefined))?.isFile()) throw new ReportUsageError(`${run}: not a run directory (it has no run.json)`);
  return file;
}

/** Read and check a run.json enough to render it. */
export async function loadRun(file: string): Promise<RunRecord> {
  let v: unknown;
  try {
    v = JSON.parse(await readFile(file, 'utf8'));
  } catch (e) {
    throw new ReportUsageError(`${file}: not valid JSON (${(e as Error).message})`);
  }
  const r = v as Partial<RunRecord> | null;
  if (typeof r !== 'object' || r === null || r.schema !== 1 || typeof r.runId !== 'string' || !Array.isArray(r.jobs)) {
    throw new ReportUsageError(`${file}: not a nexus-lab run record (schema 1 with a runId and jobs)`);
  }
  return r as RunRecord;
}

/** Write the report atomically; links are relative from `out`'s directory to `runDir`. */
export async function writeReport(out: string, record: RunRecord, runDir = dirname(out), opts: Omit<ReportOptions, 'base'> = {}): Promise<void> {
  const base = relative(dirname(resolve(out)), resolve(runDir)).split('\\').join('/');
  const html = renderReport(record, { ...opts, base });
  const tmp = `${out}.tmp-${process.pid}`;
  await writeFile(tmp, html);
  await rename(tmp, out);
}

export async function cmdReport(argv: string[]): Promise<number> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { out: { type: 'string' }, baseline: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    }));
    if (!values.help && positionals.length !== 1) throw new Error(positionals.length === 0 ? 'which run? (give a run directory or its run.json)' : `one run at a time, not ${positionals.length}`);
  } catch (e) {
    process.stderr.write(`nexus-lab report: ${(e as Error).message}\n\nRun 'nexus-lab report --help' for usage.\n`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(`${REPORT_HELP}\n`);
    return 0;
  }
  try {
    const file = await runJsonOf(positionals[0]!);
    const record = await loadRun(file);
    const runDir = dirname(file);
    const out = values.out ?? join(runDir, 'report.html');
    const base = values.baseline === undefined ? undefined : await loadRun(await runJsonOf(values.baseline));
    await writeReport(out, record, runDir, base ? { comparison: compareRuns(base, record) } : {});
    const size = (await stat(out)).size;
    const vs = base ? `, compared with ${base.runId}` : '';
    process.stdout.write(`${out}\n  run ${record.runId}, ${record.jobs.length} job${record.jobs.length === 1 ? '' : 's'}${vs}, ${size} bytes${basename(file) === 'run.json' ? '' : ` (from ${file})`}\n`);
    return 0;
  } catch (e) {
    process.stderr.write(`nexus-lab report: ${(e as Error).message}\n`);
    return e instanceof ReportUsageError ? 2 : 1;
  }
}
