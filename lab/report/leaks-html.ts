// A job's leak figures: per suite run, rounds, SUnreclaim and the cache that
// grew most after the warm-up round, kmemleak reports (their text too), and
// the word: the rule's, and kmemleak's about the tree's modules.
import { blames, KMEMLEAK_SHOWN, kmemleakText, whenScanned, type LeakRecord, type SuiteLeaks } from '../leaks.js';
import { esc, table } from './html.js';

/** kmemleak reports of the suite whose backtrace is in the tree's modules. */
function oursInKmemleak(s: SuiteLeaks, modules: readonly string[]): number {
  return s.kmemleak.reduce((n, k) => n + k.reports.filter((r) => blames(r, modules) !== undefined).length, 0);
}

/**
 * The word for a suite: LEAK with the signals the rule found and kmemleak
 * when it reported objects of the tree's modules; otherwise figures only
 * (the rule could not decide) or no leak.
 */
export function leakWord(s: SuiteLeaks, modules: readonly string[] = []): { word: string; cls: string } {
  const signals = [...s.leaking.map((g) => g.signal), ...(oursInKmemleak(s, modules) > 0 ? ['kmemleak'] : [])];
  if (signals.length > 0) return { word: `LEAK: ${signals.join(', ')}`, cls: 'v-fail' };
  if (!s.conclusive) return { word: 'figures only', cls: 'v-skip' };
  return { word: 'no leak', cls: 'v-pass' };
}

/**
 * The job's kmemleak reports, by suite and scan, as kmemleak printed them
 * (the first KMEMLEAK_SHOWN of a scan, the tree's first); the tree's are marked.
 */
function kmemleakReports(rec: LeakRecord): string {
  let total = 0;
  const items = rec.suites.flatMap((s) =>
    s.kmemleak.flatMap((k) => {
      total += k.reports.length;
      const blamed = k.reports.map((r) => ({ r, ours: blames(r, rec.modules) }));
      const shown = [...blamed.filter((b) => b.ours), ...blamed.filter((b) => !b.ours)].slice(0, KMEMLEAK_SHOWN);
      const when = whenScanned(s.suite, k.round);
      const li = shown.map(({ r, ours }) => {
        const head = `${ours ? `<span class="badge v-fail">${esc(ours)}</span> ` : ''}${esc(`${when}: size ${r.size}, comm ${r.comm}`)}`;
        return `<li>${head}<pre class="console">${esc(kmemleakText(r))}</pre></li>`;
      });
      const more = k.reports.length - shown.length;
      return more > 0 ? [...li, `<li>${esc(`${when}: ${more} more in run.json`)}</li>`] : li;
    }),
  );
  if (total === 0) return '';
  return `<details><summary>${total} kmemleak report${total === 1 ? '' : 's'}</summary><ul class="kmemleak">${items.join('')}</ul></details>\n`;
}

/** The cache that gained most in one of the rounds after the first, or undefined. */
function topCache(s: SuiteLeaks): string | undefined {
  let top: [string, number] | undefined;
  for (const d of s.deltas.slice(1)) {
    for (const [k, v] of Object.entries(d.objects)) if (v > 0 && (!top || v > top[1])) top = [k, v];
  }
  return top ? `${top[0]} +${top[1]}` : undefined;
}

const signed = (n: number) => (n > 0 ? `+${n}` : String(n));

function row(s: SuiteLeaks, modules: readonly string[]): string[] {
  const w = leakWord(s, modules);
  const reports = s.kmemleak.reduce((n, k) => n + k.reports.length, 0);
  return [
    esc(s.suite),
    String(s.rounds),
    s.baseSunreclaimKiB >= 0 ? `${s.baseSunreclaimKiB}` : '-',
    esc(s.deltas.map((d) => signed(d.sunreclaimKiB)).join(' / ') || '-'),
    esc(topCache(s) ?? (s.deltas.length > 1 ? 'none grew' : '-')),
    String(reports),
    `<span class="badge ${w.cls}">${esc(w.word)}</span>${s.errors.length > 0 ? `<br><small>${esc(s.errors.join('; '))}</small>` : ''}`,
  ];
}

export function leakSection(rec: LeakRecord | undefined): string {
  if (!rec || rec.suites.length === 0) return '';
  const header = ['suite', 'rounds', 'SUnreclaim before (kB)', 'SUnreclaim per round (kB)', 'top cache after round 1 (objects)', 'kmemleak reports', "rule's word"];
  const leaking = rec.suites.flatMap((s) => s.leaking.map((g) => `<li>${esc(s.suite)}: ${esc(g.signal)} grew ${esc(g.perRound.map(signed).join(', '))} ${esc(g.unit)} in the rounds after the first</li>`));
  return `<h4>Leaks</h4>\n${table(header, rec.suites.map((s) => row(s, rec.modules)), 'leaks')}\n` +
    (leaking.length > 0 ? `<ul class="problems">${leaking.join('')}</ul>\n` : '') +
    kmemleakReports(rec) +
    `<p class="note">Rule: a signal leaks when it grows in every round after the first by more than ${rec.rule.minObjects} objects ` +
    `(a cache) or ${rec.rule.minSunreclaimKiB} kB (SUnreclaim); one round is warm-up only. kmemleak ${rec.kmemleak ? 'on' : 'not in this kernel'}; ` +
    `modules: ${esc(rec.modules.join(', ') || '-')}.</p>`;
}
