// A job's leak figures: per suite run, rounds, SUnreclaim and the cache that
// grew most after the warm-up round, kmemleak reports, and the rule's word.
import type { LeakRecord, SuiteLeaks } from '../leaks.js';
import { esc, table } from './html.js';

/** The rule's word for a suite: figures only (it could not decide), no leak, or LEAK with the signals. */
export function leakWord(s: SuiteLeaks): { word: string; cls: string } {
  if (!s.conclusive) return { word: 'figures only', cls: 'v-skip' };
  if (s.leaking.length > 0) return { word: `LEAK: ${s.leaking.map((g) => g.signal).join(', ')}`, cls: 'v-fail' };
  return { word: 'no leak', cls: 'v-pass' };
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

function row(s: SuiteLeaks): string[] {
  const w = leakWord(s);
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
  return `<h4>Leaks</h4>\n${table(header, rec.suites.map(row), 'leaks')}\n` +
    (leaking.length > 0 ? `<ul class="problems">${leaking.join('')}</ul>\n` : '') +
    `<p class="note">Rule: a signal leaks when it grows in every round after the first by more than ${rec.rule.minObjects} objects ` +
    `(a cache) or ${rec.rule.minSunreclaimKiB} kB (SUnreclaim); one round is warm-up only. kmemleak ${rec.kmemleak ? 'on' : 'not in this kernel'}; ` +
    `modules: ${esc(rec.modules.join(', ') || '-')}.</p>`;
}
