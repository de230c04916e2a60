// The report as one HTML string: pure data in, text out.  Self-contained:
// one inline style sheet, inline SVG, no script, nothing fetched; links only
// to the run's own files, relative to where the report is written.
import type { Comparison } from '../compare.js';
import type { RunRecord } from '../results.js';
import { comparisonSection } from './compare-html.js';
import { anchor, esc, secs } from './html.js';
import { jobSection } from './job.js';
import { badge, evidenceMatrix, verdictMatrix } from './matrix.js';
import { perfOverview } from './perf-charts.js';
import { jobFigures } from './perf.js';
import { jobScalingFigures, scalingOverview } from './scaling.js';
import { CSS } from './style.js';
import { timesSection } from './times.js';

export interface ReportOptions {
  /** The run directory as seen from the report's directory ('' when the report is in it). */
  base?: string;
  /** A comparison of this run with an earlier one (lab/compare.ts compareRuns), shown first. */
  comparison?: Comparison;
}

function header(run: RunRecord): string {
  const s = run.summary;
  const counts = s ? Object.entries(s.verdicts).map(([v, n]) => `${badge(v)} ${n}`).join(' ') : '';
  const src = run.source;
  const lines: [string, string][] = [
    ['status', run.status],
    ['started', `${run.startedAt}${run.endedAt ? `, ended ${run.endedAt}` : ''}`],
    ['command', run.command.join(' ')],
    ['host', `${run.host.hostname}: ${run.host.cpus} CPUs, ${run.host.memMiB} MiB, ${run.host.os}, kernel ${run.host.kernel}, node ${run.host.node}`],
  ];
  if (run.accel) lines.push(['accelerator', `${run.accel.used} (${run.accel.reason})`]);
  if (run.qemu) lines.push(['QEMU', `${run.qemu.version} (${run.qemu.binary})`]);
  if (src) lines.push(['source', `${src.path}${src.git ? ` at ${src.git.revision}${src.git.dirty ? ' (dirty)' : ''}` : ''}, hash ${src.hash.slice(0, 16)}`]);
  if (Object.keys(run.params).length > 0) lines.push(['parameters', Object.entries(run.params).map(([k, v]) => `${k}=${v}`).join(' ')]);
  if (run.shard) lines.push(['shard', `${run.shard.index}/${run.shard.count} of a plan of ${run.shard.jobs.length} jobs (plan ${run.shard.plan.slice(0, 12)})`]);
  if (run.merged) {
    lines.push(['merged from', run.merged.shards.map((m) => `shard ${m.index}/${m.count} run ${m.runId}`).join(', ')]);
    for (const n of run.merged.notes) lines.push(['note', n]);
  }
  return `<h1>nexus-lab run ${esc(run.runId)}</h1>\n` +
    `<p class="summary">${s ? `${s.ok ? badge('pass') : badge('fail')} ${s.total} job${s.total === 1 ? '' : 's'}: ${counts}` : ''}</p>\n` +
    (run.error ? `<p class="problems">run error: ${esc(run.error)}</p>\n` : '') +
    `<dl class="facts">${lines.map(([t, d]) => `<dt>${esc(t)}</dt><dd>${esc(d)}</dd>`).join('')}</dl>`;
}

function toc(run: RunRecord): string {
  return `<p class="toc">Jobs: ${run.jobs.map((j) => `<a href="#${anchor('job', j.id)}">${esc(j.id)}</a> (${esc(j.verdict ?? j.phase)}, ${secs(j.wallMs)})`).join(' · ')}</p>`;
}

export function renderReport(run: RunRecord, opts: ReportOptions = {}): string {
  const base = opts.base ?? '';
  const evidence = run.evidence ? evidenceMatrix(run.evidence) : '';
  const overview = [
    perfOverview(run.jobs.map((j) => ({ id: j.id, figures: jobFigures(j) }))),
    scalingOverview(run.jobs.map((j) => ({ id: j.id, figures: jobScalingFigures(j) }))),
  ].filter((o) => o !== '').join('\n');
  const body = [
    header(run),
    opts.comparison ? comparisonSection(opts.comparison, run.jobs.map((j) => j.id)) : '',
    '<h2 id="matrix">Verdicts: kernel × suite</h2>',
    verdictMatrix(run, base),
    toc(run),
    evidence ? `<h2 id="evidence">Evidence: how far each primitive was proven</h2>\n${evidence}` : '',
    overview ? `<h2 id="perf">Benchmarks: Nexus against the Linux baselines, every job</h2>\n${overview}` : '',
    '<h2 id="times">Boot and phase times</h2>',
    timesSection(run),
    '<h2 id="jobs">Jobs</h2>',
    '<p class="legend">Benchmark colours:<span style="background:#4c78a8"></span>Nexus<span style="background:#f2a541"></span>Linux baseline' +
      '<span style="background:#54a24b"></span>Nexus better than Linux (a time ratio below 1, a scaling ratio at 1 or above)' +
      '<span style="background:#e45756"></span>Nexus worse (a time ratio above 1, a scaling ratio below 1). ' +
      'Labels say the same in words.</p>',
    ...run.jobs.map((j) => jobSection(j, base)),
  ].filter((p) => p !== '');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // Nothing may be loaded from anywhere, even if markup slipped through.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">`,
    `<title>nexus-lab ${esc(run.runId)}: ${run.summary ? (run.summary.ok ? 'pass' : 'FAIL') : esc(run.status)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
