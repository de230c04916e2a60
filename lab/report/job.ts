// One job's section: what it ran on, its logs, problems, splats in full,
// failing scenarios with expected and actual, benchmarks, metrics, leaks.
import { decidesVerdict, type Splat } from '../console.js';
import type { JobRecord } from '../results.js';
import { fmtMetric } from '../results.js';
import type { ScenarioResult } from '../verdict.js';
import { anchor, esc, secs, shown, table } from './html.js';
import { leakSection } from './leaks-html.js';
import { badge, logLinks } from './matrix.js';
import { perfCharts } from './perf-charts.js';
import { jobFigures } from './perf.js';
import { jobScalingFigures, scalingCharts } from './scaling.js';

function facts(job: JobRecord): string {
  const k = job.kernel;
  const items: [string, string][] = [
    ['kernel', `${k.id}${k.release ? ` (${k.release}${k.version ? `, ${k.version}` : ''})` : ''}`],
    ['profile', `${job.profile}, ${job.cpus} vCPU${job.cpus === 1 ? '' : 's'}`],
    ['suites', job.suites.join(', ')],
  ];
  if (job.guest) items.push(['guest', `${job.guest.cpus} vCPUs seen, kernel ${job.guest.kernel}, node ${job.guest.node}`]);
  if (job.build) {
    const b = job.build;
    items.push(['build', `${b.ok ? 'ok' : 'FAILED'}${b.cached ? ' (cached)' : ''}, ${secs(b.durationMs)}, ${b.warnings} warning${b.warnings === 1 ? '' : 's'}${b.modules.length ? `, ${b.modules.join(' ')}` : ''}${b.error ? `: ${b.error}` : ''}`]);
  }
  if (job.boot) {
    const r = job.boot.rebootsToSshMs?.length ? `, reboots ${job.boot.rebootsToSshMs.map((ms) => secs(ms)).join(', ')}` : '';
    items.push(['boot', `${job.boot.accel}, to SSH ${secs(job.boot.bootToSshMs)}${r}${job.boot.qemuExit ? `; QEMU: ${job.boot.qemuExit}` : ''}`]);
  }
  if (job.release) items.push(['package', `${job.release.package.file} ${job.release.package.version}; installed ${job.release.kernels.installed}${job.release.kernels.upgrade ? `, upgrade ${job.release.kernels.upgrade}` : ''}`]);
  items.push(['wall', `${secs(job.wallMs)}${job.startedAt ? ` from ${job.startedAt}` : ''}`]);
  return `<dl class="facts">${items.map(([t, d]) => `<dt>${esc(t)}</dt><dd>${esc(d)}</dd>`).join('')}</dl>`;
}

export function splatBlock(s: Splat): string {
  // kmemleak's lines are judged by the leak check (see Leaks), not as a splat.
  const verdict = decidesVerdict(s);
  return `<div class="splat"><div class="splat-head"><span class="badge ${verdict ? 'v-kernel-splat' : 'v-skip'}">${esc(s.kind)}</span> ${esc(s.title)} ` +
    `<small>(console line ${s.line}${s.complete ? '' : ', trace cut short'}${verdict ? '' : '; judged by the leak check'})</small></div>\n<pre class="console">${esc(s.text)}</pre></div>`;
}

function failureBlock(f: ScenarioResult['failures'][number]): string {
  const ea = 'expected' in f || 'actual' in f
    ? `<div class="ea"><div><b>expected</b><pre>${esc(shown(f.expected))}</pre></div><div><b>actual</b><pre>${esc(shown(f.actual))}</pre></div></div>`
    : '';
  return `<li><span class="msg">${esc(f.message)}</span>${ea}</li>`;
}

export function scenarioBlock(s: ScenarioResult): string {
  const orphans = s.orphans && s.orphans.found.length > 0 ? `<p>orphans left: ${esc(s.orphans.found.join(', '))}</p>` : '';
  return `<div class="scenario"><h5>${badge(s.status)} ${esc(`${s.suite}/${s.name}`)} <small>${secs(s.durationMs)}</small></h5>` +
    `${s.reason ? `<p class="reason">${esc(s.reason)}</p>` : ''}` +
    `${s.failures.length > 0 ? `<ul class="failures">${s.failures.map(failureBlock).join('')}</ul>` : ''}${orphans}</div>`;
}

function metricsDetails(job: JobRecord): string {
  const rows = job.scenarios.flatMap((s) => s.metrics.map((m) => [esc(`${s.suite}/${s.name}`), esc(m.name), fmtMetric(m.value), esc(m.unit)]));
  if (rows.length === 0) return '';
  return `<details><summary>all ${rows.length} metrics</summary>\n${table(['scenario', 'metric', 'value', 'unit'], rows, 'metrics')}\n</details>`;
}

function skipped(job: JobRecord): string {
  const sk = job.scenarios.filter((s) => s.status === 'skip');
  if (sk.length === 0) return '';
  return `<details><summary>${sk.length} skipped scenario${sk.length === 1 ? '' : 's'}</summary><ul>` +
    `${sk.map((s) => `<li>${esc(`${s.suite}/${s.name}`)}: ${esc(s.reason ?? '')}</li>`).join('')}</ul></details>`;
}

export function jobSection(job: JobRecord, base: string): string {
  const bad = job.scenarios.filter((s) => s.status === 'fail' || s.status === 'error');
  const passed = job.scenarios.filter((s) => s.status === 'pass').length;
  const figures = jobFigures(job);
  const scaling = jobScalingFigures(job);
  const parts = [
    `<section class="job" id="${anchor('job', job.id)}">`,
    `<h3>${esc(job.id)} ${badge(job.verdict ?? job.phase)}</h3>`,
    job.reason ? `<p class="reason">${esc(job.reason)}</p>` : '',
    facts(job),
    `<p>logs: ${logLinks(job, base)}</p>`,
    `<p>${passed} passed, ${bad.length} failed, ${job.scenarios.length - passed - bad.length} skipped of ${job.scenarios.length} scenarios</p>`,
    job.problems.length > 0 ? `<h4>Problems</h4>\n<ul class="problems">${job.problems.map((p) => `<li>${esc(p)}</li>`).join('')}</ul>` : '',
    job.splats.length > 0 ? `<h4>Kernel splats (${job.splats.length})</h4>\n${job.splats.map(splatBlock).join('\n')}` : '',
    bad.length > 0 ? `<h4>Failing scenarios (${bad.length})</h4>\n${bad.map(scenarioBlock).join('\n')}` : '',
    skipped(job),
    figures.length > 0 || scaling.length > 0 ? `<h4>Benchmarks</h4>\n${[perfCharts(figures), scalingCharts(scaling)].filter((c) => c !== '').join('\n')}` : '',
    metricsDetails(job),
    leakSection(job.leaks),
    '</section>',
  ];
  return parts.filter((p) => p !== '').join('\n');
}
