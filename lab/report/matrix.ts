// The two matrices at the top of the report: verdicts (kernel x suite, each
// cell linking to its job) and evidence (primitive x kernel).
import type { JobRecord, RunRecord } from '../results.js';
import { SUITE_SKIPPED } from '../results.js';
import { LEVELS, PRIMITIVES, type EvidenceMatrix } from '../evidence.js';
import { anchor, esc, fileHref } from './html.js';

export interface Cell {
  /** The word a reader sees, also the colour's class (v-<word>). */
  word: string;
  detail: string;
}

/** What the job's verdict says beyond its scenarios (a splat, a timeout, ...). */
const JOB_LEVEL = new Set(['build-failed', 'boot-failed', 'kernel-splat', 'timeout', 'infra-error']);

/** A suite's cell in a job: its scenarios' outcome, or the job's verdict when none ran. */
export function suiteCell(job: JobRecord, suite: string): Cell {
  const sc = job.scenarios.filter((s) => s.suite === suite);
  const verdict = job.verdict ?? job.phase;
  if (sc.length === 0) return { word: JOB_LEVEL.has(verdict) || job.verdict === undefined ? verdict : 'not-run', detail: 'no scenario ran' };
  const whole = sc.find((s) => s.name === SUITE_SKIPPED);
  if (whole) return { word: 'skip', detail: whole.reason ?? 'skipped' };
  const bad = sc.filter((s) => s.status === 'fail' || s.status === 'error').length;
  const passed = sc.filter((s) => s.status === 'pass').length;
  const skipped = sc.filter((s) => s.status === 'skip').length;
  const also = JOB_LEVEL.has(verdict) ? `; job: ${verdict}` : '';
  if (bad > 0) return { word: 'fail', detail: `${bad} of ${sc.length} failed${also}` };
  if (passed === 0) return { word: 'skip', detail: `${skipped} skipped${also}` };
  return { word: 'pass', detail: `${passed} passed${skipped > 0 ? `, ${skipped} skipped` : ''}${also}` };
}

/** A verdict word as a badge: colour from its class, the word itself as text. */
export function badge(word: string): string {
  return `<span class="badge v-${esc(word)}">${esc(word)}</span>`;
}

/** Links to a job's files (console, dmesg, events, ...), relative to the report. */
export function logLinks(job: JobRecord, base: string): string {
  const links = Object.entries(job.files).flatMap(([name, path]) => {
    const href = fileHref(base, path);
    return href === undefined ? [] : [`<a class="log" href="${esc(href)}">${esc(name)}</a>`];
  });
  return links.length > 0 ? links.join(' ') : '<span class="muted">no files</span>';
}

function kernelLabel(jobs: readonly JobRecord[]): string {
  const k = jobs[0]!.kernel;
  return `<th scope="row">${esc(k.id)}${k.release ? `<br><small>${esc(k.release)}</small>` : ''}</th>`;
}

/** Kernel rows, suite columns (in the order the jobs list them), and each kernel's jobs with their logs. */
export function verdictMatrix(run: RunRecord, base: string): string {
  const suites = [...new Set(run.jobs.flatMap((j) => j.suites))];
  const kernels = [...new Set(run.jobs.map((j) => j.kernel.id))];
  const rows = kernels.map((k) => {
    const jobs = run.jobs.filter((j) => j.kernel.id === k);
    const cells = suites.map((suite) => {
      const entries = jobs.filter((j) => j.suites.includes(suite)).map((j) => {
        const c = suiteCell(j, suite);
        return `<a class="badge v-${esc(c.word)}" href="#${anchor('job', j.id)}" title="${esc(j.id)}">${esc(c.word)}</a><small>${esc(c.detail)}</small>`;
      });
      return `<td class="cell">${entries.length > 0 ? entries.join('<br>') : '<span class="muted">-</span>'}</td>`;
    });
    const jobCell = jobs
      .map((j) => `<div><a href="#${anchor('job', j.id)}">${esc(j.id)}</a> ${badge(j.verdict ?? j.phase)}<br><small>logs: ${logLinks(j, base)}</small></div>`)
      .join('');
    return `<tr>${kernelLabel(jobs)}${cells.join('')}<td class="jobs">${jobCell}</td></tr>`;
  });
  const head = `<tr><th>kernel</th>${suites.map((s) => `<th>${esc(s)}</th>`).join('')}<th>jobs (verdict, logs)</th></tr>`;
  return `<table class="matrix" id="verdicts">\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
}

/** Primitive rows, kernel columns: the highest level proven, and levels reached above a gap. */
export function evidenceMatrix(m: EvidenceMatrix): string {
  const kernels = Object.keys(m);
  if (kernels.length === 0) return '';
  const rows = PRIMITIVES.map((p) => {
    const cells = kernels.map((k) => {
      const c = m[k]?.[p];
      if (!c) return '<td class="muted">-</td>';
      const above = c.reached.filter((l) => c.level === 'none' || LEVELS.indexOf(l) > LEVELS.indexOf(c.level));
      const extra = above.length > 0 ? `<small>also ${esc(above.join(', '))}</small>` : '';
      return `<td class="cell"><span class="badge lv-${esc(c.level)}">${esc(c.level)}</span>${extra}</td>`;
    });
    return `<tr><th scope="row">${esc(p)}</th>${cells.join('')}</tr>`;
  });
  const head = `<tr><th>primitive</th>${kernels.map((k) => `<th>${esc(k)}</th>`).join('')}</tr>`;
  return `<table class="matrix" id="evidence-matrix">\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>\n` +
    `<p class="note">Levels, lowest first: ${LEVELS.join(' &lt; ')}. A level counts only when every level below it does.</p>`;
}
