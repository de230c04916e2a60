import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cmdReport, loadRun, renderReport } from '../../lab/report.js';
import { barChart, niceMax } from '../../lab/report/charts.js';
import { esc, fileHref } from '../../lab/report/html.js';
import { suiteCell } from '../../lab/report/matrix.js';
import { scenarioFigures } from '../../lab/report/perf.js';
import type { JobRecord, RunRecord } from '../../lab/results.js';
import { compareRuns } from '../../lab/compare.js';
import { FIXTURES } from '../helpers.js';

const RUN_JSON = join(FIXTURES, 'report', 'run.json');
const BASE_JSON = join(FIXTURES, 'report', 'base-run.json');
const record = (): RunRecord => JSON.parse(readFileSync(RUN_JSON, 'utf8')) as RunRecord;
const html = renderReport(record());

/** The HTML between an element with this id and the end of that table. */
function tableById(id: string): string {
  const start = html.indexOf(`id="${id}"`);
  assert.ok(start >= 0, `no element with id ${id}`);
  return html.slice(start, html.indexOf('</table>', start));
}

/** The cells of the matrix row whose header is `kernel`. */
function row(table: string, kernel: string): string[] {
  const at = table.indexOf(`<th scope="row">${kernel}`);
  assert.ok(at >= 0, `no row for ${kernel}`);
  const tr = table.slice(at, table.indexOf('</tr>', at));
  return tr.split('<td').slice(1);
}

/** The SVG charts of one job's section. */
function charts(jobId: string): string[] {
  const start = html.indexOf(`<section class="job" id="job-${jobId}"`);
  const section = html.slice(start, html.indexOf('</section>', start));
  return section.match(/<svg[\s\S]*?<\/svg>/g) ?? [];
}

test('the verdict matrix has a row per kernel, a column per suite, the verdict as a word and a link to the job', () => {
  const m = tableById('verdicts');
  assert.match(m, /<th>smoke<\/th><th>ports<\/th><th>perf-core<\/th>/);
  const good = row(m, '6.1-cloud');
  const bad = row(m, '6.12-cloud');
  assert.is(good.length, 4);
  assert.match(good[1]!, /class="badge v-pass" href="#job-6.1-cloud-quick"[^>]*>pass<\/a><small>2 passed, 1 skipped<\/small>/);
  assert.match(bad[1]!, /class="badge v-fail" href="#job-6.12-cloud-quick"[^>]*>fail<\/a><small>2 of 3 failed; job: kernel-splat<\/small>/);
  // a suite that passed in a job with a splat says so
  assert.match(bad[0]!, />pass<\/a><small>2 passed; job: kernel-splat</);
  assert.match(bad[3]!, /<span class="badge v-kernel-splat">kernel-splat<\/span>/);
  assert.match(good[3]!, /<span class="badge v-pass">pass<\/span>/);
});

test("each job's logs are relative links to its files; a file that is not relative is not linked", () => {
  for (const id of ['6.1-cloud-quick', '6.12-cloud-quick']) {
    for (const f of ['console.log', 'dmesg.txt', 'events.jsonl', 'runner.log', 'build.log']) {
      assert.ok(html.includes(`href="${id}/${f}"`), `${id}/${f} linked`);
    }
  }
  assert.not.ok(html.includes('evil.example/steal'));
  const out = renderReport(record(), { base: '../runs/r 1' });
  assert.ok(out.includes('href="../runs/r%201/6.1-cloud-quick/console.log"'));
  assert.is(fileHref('', '../../etc/passwd'), undefined);
  assert.is(fileHref('', '/etc/passwd'), undefined);
  assert.is(fileHref('', 'file:///etc/passwd'), undefined);
  assert.is(fileHref('', 'job/a#b.log'), 'job/a%23b.log');
});

test('every splat is there in full, escaped, with its kind and console line', () => {
  const r = record();
  const splats = r.jobs[1]!.splats;
  assert.is(splats.length, 2);
  for (const s of splats) {
    assert.ok(s.text.split('\n').length > 20, 'a real trace');
    assert.ok(html.includes(`<pre class="console">${esc(s.text)}</pre>`), `${s.title} in full`);
    assert.ok(html.includes(`(console line ${s.line})`));
  }
  assert.match(html, />warning<\/span> WARNING: CPU: 0 PID: 166/);
  assert.match(html, />bug<\/span> BUG: kernel NULL pointer dereference/);
});

test('problems and failing scenarios show with their expected and actual values', () => {
  assert.match(html, /<h4>Problems<\/h4>\n<ul class="problems"><li>slab leak in ports: kmalloc-64 grew \+4207, \+4209 objects/);
  assert.ok(html.includes('<b>expected</b><pre>[\n  1,\n  2,\n  3\n]</pre>'));
  assert.ok(html.includes('<b>actual</b><pre>[\n  1,\n  3,\n  2\n]</pre>'));
  assert.ok(html.includes('read_port returns the messages in the order they were written'));
  assert.match(html, />error<\/span> ports\/owner-exit-wakes-readers <small>20.0 s<\/small><\/h5><p class="reason">the scenario did not end in 20000 ms<\/p>/);
  // passing scenarios are not listed as failing
  assert.not.match(html, /<h5>[^\n]*create-delete/);
});

test('guest strings are escaped: a hostile scenario name and failure value stay text', () => {
  assert.not.ok(html.includes('<script'), 'no script element at all');
  assert.not.ok(html.includes('<img'), 'no img element');
  assert.ok(html.includes('ports/&lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; write-read-fifo'));
  assert.ok(html.includes('&lt;img src=x onerror=alert(1)&gt;'));
});

test('perf: a chart of medians with p99 whiskers per benchmark, one bar per mode, and the ratios to the Linux baselines', () => {
  const svgs = charts('6.1-cloud-quick');
  assert.is(svgs.length, 4, 'round trips and timeouts, each a mode chart and a ratio chart');
  const [modes, ratios, timeouts, timeoutRatios] = svgs as [string, string, string, string];
  const bars = (svg: string) => [...svg.matchAll(/<rect class="bar (\w+)"[^>]*><title>([^<]*)<\/title>/g)].map((m) => [m[1], m[2]]);
  const rt = bars(modes);
  assert.is(rt.length, 11, 'one bar per perf-core round-trip mode');
  assert.equal(rt[0], ['nexus', 'port-rtt-64 (Nexus): 71 (p99 149.1) us']);
  assert.equal(rt[3]![0], 'linux');
  assert.match(rt[3]![1]!, /^pipe-rtt-64 \(Linux\)/);
  assert.is((modes.match(/class="whisker"/g) ?? []).length, 11 * 2, 'per bar a whisker from the median to the p99, and its end');
  const rr = bars(ratios);
  assert.is(rr.length, 8, 'one bar per Nexus/baseline pair');
  assert.match(rr[0]![1]!, /^port-rtt-64 \/ pipe-rtt-64: 1\.145x \(rounds [\d.]+-[\d.]+\)$/);
  assert.equal(rr.map((b) => b[0]), ['slower', 'slower', 'slower', 'slower', 'faster', 'faster', 'slower', 'faster']);
  assert.match(ratios, /class="ref"/);
  assert.is(bars(timeouts).length, 3);
  assert.match(timeouts, /us, lower is faster/);
  assert.is(bars(timeoutRatios).length, 2);
  assert.is(charts('6.12-cloud-quick').length, 4);
  // and side by side, kernel against kernel
  const at = html.indexOf('<h2 id="perf">');
  assert.ok(at > 0);
  const overview = html.slice(at, html.indexOf('<h2', at + 1)).match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  assert.is(overview.length, 2, 'round trips and timeouts');
  const labels = [...overview[0]!.matchAll(/<text class="lbl"[^>]*>([^<]*)</g)].map((m) => m[1]);
  assert.is(labels.length, 16, 'eight pairs for each of the two jobs');
  assert.is(labels[0], '6.1-cloud-quick: port-rtt-64 / pipe-rtt-64');
  assert.is(labels[8], '6.12-cloud-quick: port-rtt-64 / pipe-rtt-64');
});

test('a bar is as long as its value on the axis, and the axis ends on a round number', () => {
  assert.equal(niceMax(0.83), { max: 1, ticks: 5 });
  assert.equal(niceMax(176), { max: 200, ticks: 4 });
  assert.equal(niceMax(249.2), { max: 250, ticks: 5 });
  assert.equal(niceMax(1.3), { max: 2, ticks: 4 });
  const svg = barChart({ title: 't', unit: 'u', bars: [{ label: 'a', value: 50, cls: 'nexus', text: '50' }, { label: 'b', value: 100, cls: 'linux', text: '100' }] });
  const widths = [...svg.matchAll(/<rect class="bar \w+" x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.is(widths.length, 2);
  assert.is(widths[1], 440);
  assert.is(widths[0], 220);
});

test('which modes are Nexus and which are Linux baselines comes from the suites, or from the ratios of an unknown suite', () => {
  const f = scenarioFigures('perf-x', 'y', [
    { name: 'foo.median', value: 10, unit: 'ns' }, { name: 'foo.p99', value: 20, unit: 'ns' },
    { name: 'bar.median', value: 8, unit: 'ns' }, { name: 'baz.median', value: 1, unit: 'ns' },
    { name: 'foo.vs-bar', value: 1.25, unit: 'x' }, { name: 'wall', value: 3, unit: 'ms' },
  ]);
  assert.ok(f);
  assert.equal(f!.modes.map((m) => [m.mode, m.role]), [['foo', 'nexus'], ['bar', 'linux'], ['baz', 'other']]);
  assert.equal(f!.ratios, [{ mode: 'foo', metric: 'vs-bar', value: 1.25, baseline: 'bar' }]);
  assert.is(scenarioFigures('fuzz', 'x', [{ name: 'calls', value: 1, unit: 'calls' }]), undefined);
});

test('the evidence matrix, boot and phase times and leak figures are there', () => {
  const ev = tableById('evidence-matrix');
  assert.match(ev, /<th>6\.1-cloud<\/th><th>6\.12-cloud<\/th>/);
  assert.match(row(ev, 'ports')[0]!, /lv-functional">functional<\/span><small>also perf<\/small>/);
  assert.match(row(ev, 'ports')[1]!, /lv-load">load</);
  assert.match(html, /<td>6\.1-cloud-quick<\/td><td>4\.8 s<\/td><td>-<\/td><td>14\.4 s<\/td>/);
  assert.match(html, /<td>kernels<\/td><td>5\.2 s<\/td>/);
  assert.match(html, /<td>ports<\/td><td>3<\/td><td>7716<\/td><td>\+383 \/ \+143 \/ \+263<\/td><td>kmalloc-64 \+4209<\/td><td>0<\/td><td><span class="badge v-fail">LEAK: kmalloc-64<\/span>/);
  assert.match(html, /<td>smoke<\/td><td>3<\/td>[^\n]*no leak/);
});

test('the report loads nothing from anywhere: no network reference, no script', () => {
  assert.not.match(html, /\b(?:src|href|action|poster|xlink:href)\s*=\s*["']?\s*(?:https?:)?\/\//i);
  assert.not.match(html, /url\(/i);
  assert.not.match(html, /@import/i);
  assert.not.match(html, /<(?:script|link|iframe|object|embed)\b/i);
  assert.match(html, /Content-Security-Policy" content="default-src 'none'/);
  // the URL in a failure message is shown as text only
  assert.ok(html.includes('(see https://evil.example/x.js)'));
});

test('the same record gives the same bytes', () => {
  assert.is(renderReport(record()), html);
});

test('a suite that never ran in a job shows the job verdict; a run still going renders', () => {
  const job = { ...record().jobs[0]!, verdict: 'boot-failed', scenarios: [] } as JobRecord;
  assert.equal(suiteCell(job, 'ports'), { word: 'boot-failed', detail: 'no scenario ran' });
  const running = { ...job, verdict: undefined, phase: 'boot' } as JobRecord;
  assert.equal(suiteCell(running, 'ports').word, 'boot');
  const r = record();
  const partial: RunRecord = { ...r, status: 'running', jobs: [running] };
  delete partial.summary;
  delete partial.evidence;
  const out = renderReport(partial);
  assert.match(out, /<title>nexus-lab 20261130-220402-7c1e: running<\/title>/);
  assert.not.match(out, /evidence-matrix/);
});

test('with a baseline the report opens with what changed: regressions first, linked to the jobs, and the metrics that moved', () => {
  const base = JSON.parse(readFileSync(BASE_JSON, 'utf8')) as RunRecord;
  const c = compareRuns(base, record());
  const out = renderReport(record(), { comparison: c });
  const at = out.indexOf('<h2 id="comparison">Compared with 20261129-220401-51aa</h2>');
  assert.ok(at > 0 && at < out.indexOf('id="matrix"'), 'the comparison comes before the matrix');
  const section = out.slice(at, out.indexOf('id="matrix"'));
  // every figure of the round trips, Nexus and Linux alike, is 18 % slower:
  // the machine's doing, shown in the chart, not counted as regressions
  assert.match(section, /<span class="badge v-fail">7 regressions<\/span>/);
  const reg = section.slice(section.indexOf('<h3>Regressions</h3>'), section.indexOf('</table>', section.indexOf('<h3>Regressions</h3>')));
  assert.is((reg.match(/<tr><td>/g) ?? []).length, 7);
  assert.not.match(reg, /<td>metric<\/td>/);
  assert.match(reg, /<td>verdict<\/td><td><a href="#job-6\.12-cloud-quick">6\.12-cloud-quick<\/a><\/td><td>verdict pass -&gt; kernel-splat/);
  assert.match(reg, /<td>splat<\/td>[^\n]*new splat bug: BUG: kernel NULL pointer dereference/);
  assert.match(reg, /scenario ports\/&lt;script&gt;alert\(&quot;pwned&quot;\)&lt;\/script&gt; write-read-fifo: absent -&gt; fail/);
  assert.match(reg, /<td>leak<\/td>[^\n]*rule said &quot;no leak&quot; in base, LEAK now/);
  const chart = section.match(/<svg[\s\S]*?<\/svg>/)?.[0] ?? '';
  const bars = [...chart.matchAll(/<rect class="bar (\w+)"/g)].map((m) => m[1]);
  assert.equal(bars, Array(6).fill('slower'), 'one bar per metric worse beyond noise');
  assert.match(chart, /6\.12-cloud-quick perf-core\/round-trips\/port-rtt-64\.median/);
  assert.is((chart.match(/worse, the machine&#39;s|worse, the machine's/g) ?? []).length, 12, 'six bars, each with its text and its tooltip');
  assert.not.ok(out.includes('<script'));
  // the same run without a baseline has no such section
  assert.not.match(html, /id="comparison"/);
});

/** Run cmdReport with its output captured. */
async function report(argv: string[]): Promise<{ code: number; out: string; err: string }> {
  const saved = [process.stdout.write, process.stderr.write];
  let out = '';
  let err = '';
  process.stdout.write = ((s: string) => ((out += s), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => ((err += s), true)) as typeof process.stderr.write;
  try {
    return { code: await cmdReport(argv), out, err };
  } finally {
    [process.stdout.write, process.stderr.write] = saved as [typeof process.stdout.write, typeof process.stderr.write];
  }
}

test('nexus-lab report RUN writes report.html into the run; --out elsewhere keeps the links working', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  try {
    const runDir = join(dir, 'results', '20261130-220402-7c1e');
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'run.json'), readFileSync(RUN_JSON));
    const r = await report([runDir]);
    assert.is(r.code, 0, r.err);
    assert.match(r.out, /report\.html\n {2}run 20261130-220402-7c1e, 2 jobs, \d+ bytes/);
    assert.is(readFileSync(join(runDir, 'report.html'), 'utf8'), html);
    const out = join(dir, 'site', 'r.html');
    mkdirSync(join(dir, 'site'));
    assert.is((await report([join(runDir, 'run.json'), '--out', out])).code, 0);
    assert.ok(readFileSync(out, 'utf8').includes('href="../results/20261130-220402-7c1e/6.12-cloud-quick/console.log"'));
    assert.equal((await loadRun(join(runDir, 'run.json'))).runId, '20261130-220402-7c1e');
    // results/latest is a symlink to the newest run
    symlinkSync('20261130-220402-7c1e', join(dir, 'results', 'latest'));
    rmSync(join(runDir, 'report.html'));
    assert.is((await report([join(dir, 'results', 'latest')])).code, 0);
    assert.ok(existsSync(join(runDir, 'report.html')));
    const b = await report([runDir, '--baseline', BASE_JSON]);
    assert.is(b.code, 0, b.err);
    assert.match(b.out, /compared with 20261129-220401-51aa/);
    assert.match(readFileSync(join(runDir, 'report.html'), 'utf8'), /Compared with 20261129-220401-51aa/);
    const missing = await report([runDir, '--baseline', join(dir, 'gone')]);
    assert.is(missing.code, 2);
    assert.match(missing.err, /gone: no such run directory or file/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('nexus-lab report: clear usage errors, exit status 2', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  try {
    let r = await report([join(dir, 'nope')]);
    assert.is(r.code, 2);
    assert.match(r.err, /nope: no such run directory or file/);
    r = await report([dir]);
    assert.is(r.code, 2);
    assert.match(r.err, /not a run directory \(it has no run\.json\)/);
    writeFileSync(join(dir, 'run.json'), '{"schema":1,');
    r = await report([dir]);
    assert.is(r.code, 2);
    assert.match(r.err, /run\.json: not valid JSON/);
    writeFileSync(join(dir, 'run.json'), '{"hello":"world"}');
    r = await report([dir]);
    assert.is(r.code, 2);
    assert.match(r.err, /not a nexus-lab run record/);
    assert.not.ok(existsSync(join(dir, 'report.html')));
    r = await report([]);
    assert.is(r.code, 2);
    assert.match(r.err, /which run\?/);
    assert.is((await report(['--bogus', dir])).code, 2);
    r = await report(['--help']);
    assert.is(r.code, 0);
    assert.match(r.out, /^nexus-lab report - /);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
