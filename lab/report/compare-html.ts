// "Compared with <base run>": lab/compare.ts's comparison of this run with
// an earlier one, at the top of the report - regressions first, then what
// got better, then each judged metric's change as a chart (NEW/BASE with
// its noise interval), the jobs only in one run and the method.
import { improvements, regressions, type Comparison, type MetricChange, type Regression, type RunRef } from '../compare.js';
import { barChart, type Bar } from './charts.js';
import { anchor, esc, table } from './html.js';

function runText(r: RunRef): string {
  const rev = r.revision ? `, ${r.revision.slice(0, 12)}${r.dirty ? ' (dirty)' : ''}` : '';
  return `${r.runId} (${r.status}, ${r.jobs} job${r.jobs === 1 ? '' : 's'}${rev}${r.accel ? `, ${r.accel}` : ''})`;
}

function changeTable(items: readonly Regression[], known: ReadonlySet<string>): string {
  const rows = items.map((r) => [
    esc(r.kind),
    known.has(r.job) ? `<a href="#${anchor('job', r.job)}">${esc(r.job)}</a>` : esc(r.job),
    esc(r.text),
  ]);
  return table(['what', 'job', 'change'], rows, 'cmp');
}

/** The metrics that changed beyond noise, as NEW/BASE bars with the adjusted interval as whisker. */
export function metricChart(metrics: readonly MetricChange[]): string {
  const changed = metrics.filter((m) => m.direction !== 'none');
  if (changed.length === 0) return '';
  const bars: Bar[] = changed.map((m) => ({
    label: `${m.job} ${m.suite}/${m.scenario}/${m.metric}`,
    value: m.ratio,
    whisker: [m.ciAdjusted.lo, m.ciAdjusted.hi],
    cls: m.direction === 'worse' ? 'slower' : 'faster',
    text: `x${m.ratio.toFixed(3)} (${m.ciAdjusted.lo.toFixed(3)}-${m.ciAdjusted.hi.toFixed(3)}) ${m.environment ? `${m.direction}, the machine's` : m.direction}`,
  }));
  return barChart({ title: 'metrics changed beyond noise: new / base', bars, unit: 'x (whisker: the interval the call was made on)', reference: { value: 1, label: '1 = unchanged' } });
}

export function comparisonSection(c: Comparison, jobIds: readonly string[]): string {
  const known = new Set(jobIds);
  const reg = regressions(c);
  const imp = improvements(c);
  const only = [
    ...c.onlyInBase.map((j) => `<li>only in base: ${esc(j.job)} (${esc(j.verdict ?? 'no verdict')})</li>`),
    ...c.onlyInNext.map((j) => `<li>only in this run: ${esc(j.job)} (${esc(j.verdict ?? 'no verdict')})</li>`),
    ...c.pairs.filter((p) => p.matchedBy !== 'id').map((p) => `<li>${esc(p.job)} matched with base ${esc(p.baseJob)}</li>`),
    ...c.pairs.filter((p) => p.releases).map((p) => `<li>${esc(p.job)}: kernel ${esc(p.releases!.base)} → ${esc(p.releases!.next)}</li>`),
  ];
  const within = c.metrics.filter((m) => m.direction === 'none').length;
  return [
    `<h2 id="comparison">Compared with ${esc(c.base.runId)}</h2>`,
    `<dl class="facts"><dt>base</dt><dd>${esc(runText(c.base))}</dd><dt>this run</dt><dd>${esc(runText(c.next))}</dd></dl>`,
    `<p class="summary">${reg.length === 0 ? '<span class="badge v-pass">no regression</span>' : `<span class="badge v-fail">${reg.length} regression${reg.length === 1 ? '' : 's'}</span>`} ` +
      `<span class="badge v-skip">${imp.length} improvement${imp.length === 1 ? '' : 's'}</span> ` +
      `${c.metrics.length} metrics judged (${within} without a change beyond noise), ${c.notJudged.length} not judged</p>`,
    c.notes.length > 0 ? `<ul class="problems">${c.notes.map((n) => `<li>${esc(n)}</li>`).join('')}</ul>` : '',
    reg.length > 0 ? `<h3>Regressions</h3>\n${changeTable(reg, known)}` : '',
    imp.length > 0 ? `<h3>Improvements</h3>\n${changeTable(imp, known)}` : '',
    metricChart(c.metrics),
    only.length > 0 ? `<h3>Jobs</h3>\n<ul>${only.join('')}</ul>` : '',
    `<p class="note">Method: ${esc(c.method.description)}</p>`,
  ].filter((p) => p !== '').join('\n');
}
