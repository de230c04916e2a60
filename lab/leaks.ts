// Slab and kmemleak leak evidence, host side: the guest runner's `slab`
// snapshots (scenarios/lib/leaks.ts) become per-suite, per-round growth
// figures in the job record, and the leak rule below decides which growth is
// a leak.  Pure: tested on fixtures without a guest.
//
// THE LEAK RULE.  A suite that ran R rounds (run parameter leaks.repeat=R)
// has R+1 snapshots, so R deltas: delta k = snapshot k - snapshot k-1.
// Round 1 pays for warm-up (caches, per-CPU lists, lazily created objects),
// so it never counts.  A signal - the active objects of one kept cache, or
// /proc/meminfo SUnreclaim - LEAKS when it grew in EVERY round after the
// first (k = 2..R) by more than its threshold:
//   cache:      delta_k > minObjects          objects per round (16)
//   SUnreclaim: delta_k > minSunreclaimKiB    kB per round (256)
// The rule is conclusive only with R >= 2 and every snapshot readable; then a
// leaking signal is a job problem (a `fail` verdict).  With R = 1 the figures
// are recorded and nothing is decided.  Growth in every round, not a sum,
// is what tells a leak (a fixed cost per round) from noise, which comes and
// goes; more rounds make a false alarm less likely.
//
// kmemleak reports (kernels with CONFIG_DEBUG_KMEMLEAK) are a problem on
// their own, in any round, when a frame of the backtrace is in a module of
// the tree under test ("... [nexus]"): kmemleak's reports about the rest of
// the kernel are recorded, not blamed on the tree.  The guest scans before
// each suite's first round (round 0) and after each round, so a report is
// the suite's, or the round 0 scan's: what was left before the suite ran.
import type { KmemleakEvent, KmemleakReport, SlabSnapshot } from '../scenarios/runner/events.js';

export interface LeakRule {
  /** A cache leaks when it gains more than this many objects in every round after the first. */
  minObjects: number;
  /** SUnreclaim leaks when it grows by more than this many kB in every round after the first. */
  minSunreclaimKiB: number;
}

/**
 * The thresholds, from the noise floor measured on clean runs (smoke, ports,
 * sems, teams, threads, areas, vrefs, node-monitor, 3 rounds, 6.1 and 6.12
 * under TCG): in rounds 2..3 no kept cache moved by more than 2 objects and
 * SUnreclaim by more than 36 kB either way.  16 objects and 256 kB are 8 and
 * 7 times that; the planted leak (one kmalloc per port) gives 4208.
 */
export const DEFAULT_RULE: LeakRule = { minObjects: 16, minSunreclaimKiB: 256 };

/** The SUnreclaim signal's name among the caches' in `Growth`. */
export const SUNRECLAIM = 'SUnreclaim';

export interface Growth {
  /** A cache name, or SUnreclaim. */
  signal: string;
  unit: 'objects' | 'kB';
  /** Its growth in rounds 2..R. */
  perRound: number[];
}

export interface RoundDelta {
  /** The round (1..R): snapshot `round` minus snapshot `round - 1`. */
  round: number;
  /** Caches whose active objects changed: name -> objects gained (negative: freed). */
  objects: Record<string, number>;
  sunreclaimKiB: number;
}

export interface SuiteLeaks {
  suite: string;
  /** Rounds the suite ran with a snapshot after them. */
  rounds: number;
  /** The rule could decide: 2 rounds or more, every snapshot readable. */
  conclusive: boolean;
  /** SUnreclaim before the first round, kB. */
  baseSunreclaimKiB: number;
  deltas: RoundDelta[];
  /** Signals the rule found leaking (empty unless conclusive). */
  leaking: Growth[];
  /** Module caches SLUB merged into another: their growth is the other's. */
  merged: Record<string, string>;
  /** kmemleak reports after each round, and before the first (round 0), when the kernel has kmemleak and it found some. */
  kmemleak: { round: number; reports: KmemleakReport[] }[];
  /** Snapshots or scans that failed. */
  errors: string[];
}

export interface LeakRecord {
  rule: LeakRule;
  /** The guest kernel has kmemleak. */
  kmemleak: boolean;
  /** The modules of the tree under test (taint O) the guest saw loaded. */
  modules: string[];
  suites: SuiteLeaks[];
}

export type LeakEvent = SlabSnapshot | KmemleakEvent;

/**
 * The rounds each suite runs for these run parameters (leaks.repeat, as the
 * guest reads it): the factor the runner's deadline needs, since a suite run
 * N times takes N times as long.
 */
export function leakRepeat(params: Readonly<Record<string, string>>): number {
  const text = params['leaks.repeat'];
  const n = text === undefined || text.trim() === '' ? 1 : Number(text);
  return Number.isFinite(n) ? Math.max(1, Math.floor(n)) : 1;
}

/** Is this event leak evidence (what the folder keeps for foldLeaks)? */
export function isLeakEvent(ev: { type: string }): ev is LeakEvent {
  return ev.type === 'slab' || ev.type === 'kmemleak';
}

function delta(prev: SlabSnapshot, next: SlabSnapshot, round: number): RoundDelta {
  const objects: Record<string, number> = {};
  for (const name of new Set([...Object.keys(prev.objects), ...Object.keys(next.objects)])) {
    const d = (next.objects[name] ?? 0) - (prev.objects[name] ?? 0);
    if (d !== 0) objects[name] = d;
  }
  return { round, objects, sunreclaimKiB: next.sunreclaimKiB - prev.sunreclaimKiB };
}

/** Apply the rule to one suite's deltas (rounds 1..R in order). */
export function leakingSignals(deltas: readonly RoundDelta[], rule: LeakRule = DEFAULT_RULE): Growth[] {
  const later = deltas.slice(1);
  if (later.length === 0) return [];
  const out: Growth[] = [];
  const caches = new Set(later.flatMap((d) => Object.keys(d.objects)));
  for (const name of [...caches].sort()) {
    const perRound = later.map((d) => d.objects[name] ?? 0);
    if (perRound.every((v) => v > rule.minObjects)) out.push({ signal: name, unit: 'objects', perRound });
  }
  const mem = later.map((d) => d.sunreclaimKiB);
  if (mem.every((v) => v > rule.minSunreclaimKiB)) out.push({ signal: SUNRECLAIM, unit: 'kB', perRound: mem });
  return out;
}

function suiteLeaks(suite: string, snaps: SlabSnapshot[], scans: KmemleakEvent[], rule: LeakRule): SuiteLeaks {
  const errors = [
    ...snaps.filter((s) => s.error !== undefined).map((s) => `round ${s.rep} snapshot: ${s.error}`),
    ...scans.filter((s) => s.error !== undefined).map((s) => `round ${s.rep} kmemleak: ${s.error}`),
  ];
  const good = snaps.filter((s) => s.error === undefined && s.sunreclaimKiB >= 0);
  const deltas: RoundDelta[] = [];
  for (let i = 1; i < good.length; i++) {
    // Only consecutive rounds make a delta: a missing snapshot breaks the chain.
    if (good[i]!.rep === good[i - 1]!.rep + 1) deltas.push(delta(good[i - 1]!, good[i]!, good[i]!.rep));
  }
  const rounds = snaps.reduce((m, s) => Math.max(m, s.rep), 0);
  const complete = deltas.length === rounds && good[0]?.rep === 0;
  const conclusive = complete && rounds >= 2 && errors.length === 0;
  const merged: Record<string, string> = {};
  for (const s of snaps) Object.assign(merged, s.merged);
  return {
    suite,
    rounds,
    conclusive,
    baseSunreclaimKiB: good[0]?.rep === 0 ? good[0].sunreclaimKiB : -1,
    deltas,
    leaking: conclusive ? leakingSignals(deltas, rule) : [],
    merged,
    kmemleak: scans.filter((s) => s.reports.length > 0).map((s) => ({ round: s.rep, reports: s.reports })),
    errors,
  };
}

/**
 * Fold a job's leak events, in the order they came, into its record: one
 * entry per suite run (a snapshot of round 0 starts a new one); undefined
 * when there were none (a runner without snapshots, or leaks.slab=0).
 */
export function foldLeaks(events: readonly LeakEvent[], rule: LeakRule = DEFAULT_RULE): LeakRecord | undefined {
  const groups: { suite: string; snaps: SlabSnapshot[]; scans: KmemleakEvent[] }[] = [];
  let kmemleak = false;
  const modules = new Set<string>();
  for (const ev of events) {
    let g = [...groups].reverse().find((x) => x.suite === ev.suite);
    // Round 0 (a snapshot, a kmemleak scan: either may come first) starts a
    // new suite run, unless this one has only seen round 0 and not this kind yet.
    const mine = (x: NonNullable<typeof g>) => (ev.type === 'slab' ? x.snaps : x.scans);
    const starting = g !== undefined && [...g.snaps, ...g.scans].every((e) => e.rep === 0) && mine(g).length === 0;
    if ((ev.rep === 0 && !starting) || (!g && ev.type === 'slab')) {
      g = { suite: ev.suite, snaps: [], scans: [] };
      groups.push(g);
    }
    if (!g) continue;
    if (ev.type === 'slab') {
      if (ev.kmemleak) kmemleak = true;
      for (const m of ev.modules) modules.add(m);
      g.snaps.push(ev);
    } else g.scans.push(ev);
  }
  // A run that ended before its first snapshot leaves a group of scans only: nothing to fold.
  const folded = groups.filter((g) => g.snaps.length > 0);
  if (folded.length === 0) return undefined;
  return { rule, kmemleak, modules: [...modules].sort(), suites: folded.map((g) => suiteLeaks(g.suite, g.snaps, g.scans, rule)) };
}

/** Does a kmemleak report's backtrace pass through one of these modules? */
export function blames(report: KmemleakReport, modules: readonly string[]): string | undefined {
  for (const frame of report.backtrace) {
    const m = /\[([A-Za-z0-9_-]+)\]\s*$/.exec(frame);
    if (m && modules.includes(m[1]!)) return m[1];
  }
  return undefined;
}

/** When a kmemleak scan ran: after one of the suite's rounds, or before its first (round 0). */
export function whenScanned(suite: string, round: number): string {
  return round === 0 ? `before ${suite} (left by boot, module load or an earlier suite)` : `after ${suite} round ${round}`;
}

function fmtGrowth(g: Growth): string {
  return `${g.signal} grew ${g.perRound.map((v) => `+${v}`).join(', ')} ${g.unit}`;
}

/**
 * The job problems the evidence proves: leaking signals of conclusive suites
 * (see the rule at the top), and kmemleak reports in the tree's modules.
 */
export function leakProblems(rec: LeakRecord | undefined): string[] {
  if (!rec) return [];
  const out: string[] = [];
  for (const s of rec.suites) {
    if (s.leaking.length > 0) {
      const rounds = s.rounds === 2 ? 'round 2' : `rounds 2..${s.rounds}`;
      out.push(
        `slab leak in ${s.suite}: ${s.leaking.map(fmtGrowth).join('; ')} in ${rounds} ` +
          `(rule: more than ${rec.rule.minObjects} objects or ${rec.rule.minSunreclaimKiB} kB in every round after the first)`,
      );
    }
    for (const k of s.kmemleak) {
      const ours = k.reports.filter((r) => blames(r, rec.modules) !== undefined);
      if (ours.length === 0) continue;
      const first = ours[0]!;
      const frame = first.backtrace.find((f) => blames({ ...first, backtrace: [f] }, rec.modules)) ?? '';
      out.push(
        `kmemleak ${whenScanned(s.suite, k.round)}: ${ours.length} unreferenced object${ours.length === 1 ? '' : 's'} ` +
          `allocated in ${blames(first, rec.modules)} (first: size ${first.size}, ${frame})`,
      );
    }
  }
  return out;
}

/** A kmemleak report as kmemleak printed it, or rebuilt from its fields when the runner kept no text (past the first of a scan). */
export function kmemleakText(r: KmemleakReport): string {
  return r.text ?? [`unreferenced object ${r.address} (size ${r.size}):`, `  comm "${r.comm}", pid ${r.pid}`, '  backtrace:', ...r.backtrace.map((f) => `    ${f}`)].join('\n');
}

/**
 * How many reports of one scan a reader is shown in full (JUnit, the HTML
 * report); run.json keeps them all.  A leak in a loop makes thousands.
 */
export const KMEMLEAK_SHOWN = 10;

/**
 * The text of the kmemleak reports blamed on the tree, headed by when they
 * were scanned, the first KMEMLEAK_SHOWN of each scan (for JUnit).
 */
export function blamedKmemleak(rec: LeakRecord | undefined): string[] {
  if (!rec) return [];
  return rec.suites.flatMap((s) =>
    s.kmemleak.flatMap((k) => {
      const ours = k.reports.filter((r) => blames(r, rec.modules) !== undefined);
      const shown = ours.slice(0, KMEMLEAK_SHOWN).map((r) => `kmemleak ${whenScanned(s.suite, k.round)}:\n${kmemleakText(r)}`);
      const more = ours.length - shown.length;
      return more > 0 ? [...shown, `kmemleak ${whenScanned(s.suite, k.round)}: ${more} more of the tree's reports in run.json`] : shown;
    }),
  );
}

/** One line per suite for the summary: rounds, the largest growth after warm-up, the rule's word. */
export function leakSummary(rec: LeakRecord | undefined): string[] {
  if (!rec) return [];
  return rec.suites.map((s) => {
    const later = s.deltas.slice(1);
    const mem = later.map((d) => d.sunreclaimKiB);
    let top = '';
    let topV = -Infinity;
    for (const d of later) {
      for (const [k, v] of Object.entries(d.objects)) if (v > topV) [top, topV] = [k, v];
    }
    const word = !s.conclusive ? 'figures only' : s.leaking.length > 0 ? `LEAK: ${s.leaking.map((g) => g.signal).join(', ')}` : 'no leak';
    const cache = topV > 0 ? `top cache ${top} +${topV}` : 'no cache grew';
    const growth = later.length > 0 ? `; after round 1: SUnreclaim ${mem.join('/')} kB, ${cache}` : '';
    return `${s.suite}: ${s.rounds} round${s.rounds === 1 ? '' : 's'}${growth} -> ${word}`;
  });
}
