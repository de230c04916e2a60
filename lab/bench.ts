// nexus-lab bench: A/B of two Nexus trees in one boot.  This file is the
// pure half: the command line, the round schedule, how the guest's metric
// events become per-round samples, the analysis (lab/stats.ts) and the
// table.  The guest half is lab/steps/ab.ts (the steps of one kernel's job)
// and lab/steps/ab-run.ts (the run: kernels, rootfs, accelerator, jobs,
// bench.json).
//
// Statistical method (also in BENCH_HELP and bench.json's "method"):
// - a benchmark is one `<mode>.median` metric of the perf suites (a mode's
//   median over its samples, e.g. perf-core/round-trips/port-rtt-64); the
//   samples of a side in one A/B round are that mode's per-inner-round
//   medians (`<mode>.round<k>`), or the median alone when it has none;
// - the figure is the ratio of medians B/A over all rounds' samples;
// - its interval is a percentile bootstrap (seeded PRNG, 10,000 resamples
//   by default), two-stage and paired by A/B round (lab/stats.ts
//   bootstrapRatio);
// - a benchmark differs only when its Bonferroni-adjusted interval (level
//   1 - 0.05/m for m benchmarks) lies wholly outside [1/1.05, 1.05]
//   (--min-effect 5).  Why both: with ~50 benchmarks, plain 95 % intervals
//   would call 2-3 differences between identical trees by chance alone;
//   Bonferroni keeps the chance of any false call at or below 5 % for the
//   whole table without assuming the benchmarks independent (they are not:
//   one guest, one host).  The band is there because the bootstrap's
//   interval from a handful of rounds is known to be somewhat too narrow
//   (percentile intervals undercover at small n), because two loads of the
//   same module still differ a little (where its pages land, TCG's
//   translation cache), and because under TCG a change below 5 % is not
//   one we would act on.  The plain 95 % interval is reported alongside.
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseParams, UsageError } from './args.js';
import { bonferroniLevel, bootstrapRatio, isDifference, judge, median, type Call } from './stats.js';
import type { ScenarioResult } from './verdict.js';

export type Side = 'A' | 'B';

export const DEFAULT_SUITES = ['perf-core', 'perf-ipc'] as const;
/**
 * Six rounds: an even count gives A first and B first equally often, and
 * 6 x (A + B) of perf-core and perf-ipc took 473 s per kernel job under TCG
 * (35-48 s a side, the host shared), under the 10 minutes we allow one.
 * With it our tree against itself called no difference on 6.1 or 6.12 and
 * showed 12 and 15 of 33 benchmarks within +-5 %; two rounds leave most
 * intervals too wide to say anything.
 */
export const DEFAULT_ROUNDS = 6;
export const DEFAULT_RESAMPLES = 10_000;
export const DEFAULT_SEED = 1;
export const DEFAULT_CONFIDENCE = 0.95;
/** 5 %: the smallest ratio change that counts as a difference. */
export const DEFAULT_MIN_EFFECT = 0.05;

/** Run parameters a bench passes unless --param says otherwise. */
export const BENCH_PARAMS: Readonly<Record<string, string>> = { 'leaks.slab': '0' };

export interface Method {
  resamples: number;
  seed: number;
  /** Family-wise confidence (0.95). */
  confidence: number;
  /** The smallest effect that counts, as a fraction (0.05). */
  minEffect: number;
}

export interface BenchOptions {
  sourcePath: string;
  againstPath: string;
  matrixPath: string;
  kernels?: string[];
  suites: string[];
  rounds: number;
  method: Method;
  params: Record<string, string>;
  resultsDir: string;
  cacheDir: string;
  accel: 'auto' | 'kvm' | 'tcg';
  timeoutScale: number;
  memoryMiB: number;
  command: string[];
}

export const BENCH_HELP = `nexus-lab bench - A/B of two Nexus trees in one boot per kernel

Usage:
  nexus-lab bench --against PATH [--source PATH] [--kernels LIST] [--rounds N]
                  [--suites LIST] [options]

For each kernel: builds tree A (--source) and tree B (--against) on the
host, boots ONE quick-profile guest whose initramfs carries both module
sets, and in it runs N rounds of: load A (insmod in the build's load
order), run the suites with the guest runner, unload (rmmod in reverse),
load B, run, unload.  The order alternates per round (A then B, B then A,
...) so that a drift of the host or guest over the run cancels out.
Kernels run one after the other: a benchmark wants the host to itself.

Then, per benchmark (each "<mode>.median" metric the suites emit, e.g.
perf-core/round-trips/port-rtt-64), the ratio of medians B/A with:
  - a 95 % interval and a Bonferroni-adjusted one (level 1 - 0.05/m for m
    benchmarks), both percentile bootstrap intervals: a seeded PRNG,
    --resamples resamples, each drawing the A/B rounds with replacement
    (A and B of a round together: paired) and then each side's samples
    inside a drawn round (the mode's per-inner-round medians);
  - a call: "higher" or "lower" (B's figure against A's: a DIFFERENCE)
    only when the whole adjusted interval lies beyond +-min-effect
    (ratio above 1+e or below 1/(1+e)); "within" when it lies wholly
    inside that band; "unclear" otherwise (more rounds would tell).
    The adjusted interval keeps the chance that a tree compared with
    itself shows any difference at all at 5 % or less (Bonferroni); the
    band covers what intervals from a few rounds miss (they run narrow)
    and changes too small to act on under TCG.
For times (ns, us) higher is slower.

Options:
  --source PATH        tree A (default: kernel/)
  --against PATH       tree B (required); may be the same path as A
  --kernels LIST       comma-separated kernel ids of the matrix, or "all"
                       (default: the matrix's default kernels)
  --rounds N           A/B rounds per kernel, at least 2 (default ${DEFAULT_ROUNDS})
  --suites LIST        suites to run each time (default ${DEFAULT_SUITES.join(',')});
                       (any suite emitting <mode>.median metrics counts,
                       e.g. perf-node-monitor)
  --resamples N        bootstrap resamples (default ${DEFAULT_RESAMPLES})
  --seed N             bootstrap PRNG seed (default ${DEFAULT_SEED}): same data and
                       seed, same intervals
  --confidence X       family-wise confidence (default ${DEFAULT_CONFIDENCE})
  --min-effect PCT     smallest change that counts, in percent (default ${DEFAULT_MIN_EFFECT * 100})
  --param NAME=VALUE   a run parameter for the suites (repeatable); bench
                       passes leaks.slab=0 (no slab snapshots around the
                       suites: they sleep and disturb the caches) unless
                       given another value
  --matrix PATH        kernel matrix (default images/kernels.json)
  --results DIR        where runs are written (default results/)
  --cache DIR          cache (default .cache/, or $NEXUS_LAB_CACHE)
  --accel MODE         auto (default), kvm or tcg
  --timeout-scale X    multiply every deadline by X (default 1)
  --memory MIB         guest memory (default 1024)

Progress goes to stderr; the table of every kernel to stdout.  Results:
<results>/<run-id>/bench.json (the method, every sample, every ratio,
interval and call, and each kernel's job: verdict, phases, wall time) and
per kernel <kernel>-ab/: build-A.log, build-B.log, console.log,
events-r<k>-<side>.jsonl, runner-r<k>-<side>.log, dmesg.txt.

Exit status: 0 when every kernel's A/B ran (whatever the calls), 1 when a
job failed (build, boot, load, a suite), 2 on bad usage, 130 when
interrupted (Ctrl-C or SIGTERM; the guests are shut down first).`;

function positive(name: string, v: string | undefined, fallback: number, integer: boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} takes a positive ${integer ? 'integer' : 'number'}, not '${v}'`);
  }
  return n;
}

function list(name: string, v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError(`${name} was given an empty list`);
  return items;
}

export interface BenchParsed {
  help: boolean;
  options: BenchOptions;
}

/** The bench command line (after "bench"); throws UsageError on bad usage. */
export function parseBenchArgs(argv: string[], where: { root: string; env?: Readonly<Record<string, string | undefined>> }): BenchParsed {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: false,
      strict: true,
      options: {
        source: { type: 'string' },
        against: { type: 'string' },
        kernels: { type: 'string' },
        rounds: { type: 'string' },
        suites: { type: 'string' },
        resamples: { type: 'string' },
        seed: { type: 'string' },
        confidence: { type: 'string' },
        'min-effect': { type: 'string' },
        param: { type: 'string', multiple: true },
        matrix: { type: 'string' },
        results: { type: 'string' },
        cache: { type: 'string' },
        accel: { type: 'string' },
        'timeout-scale': { type: 'string' },
        memory: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { root } = where;
  const env = where.env ?? process.env;
  const help = values.help ?? false;
  if (!help && values.against === undefined) throw new UsageError('--against PATH (tree B) is required');
  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel takes auto, kvm or tcg, not '${accel}'`);
  const rounds = positive('--rounds', values.rounds, DEFAULT_ROUNDS, true);
  if (rounds < 2) throw new UsageError('--rounds must be at least 2: one round cannot tell noise from a difference');
  const seedText = values.seed;
  const seed = seedText === undefined ? DEFAULT_SEED : /^\d+$/.test(seedText) ? Number(seedText) : NaN;
  if (!Number.isSafeInteger(seed)) throw new UsageError(`--seed takes a non-negative integer, not '${seedText}'`);
  const confidence = positive('--confidence', values.confidence, DEFAULT_CONFIDENCE, false);
  if (!(confidence < 1)) throw new UsageError(`--confidence takes a number between 0 and 1, not '${values.confidence}'`);
  const effectText = values['min-effect'];
  const minEffectPct = effectText === undefined ? DEFAULT_MIN_EFFECT * 100 : Number(effectText);
  if (effectText !== undefined && (effectText.trim() === '' || !Number.isFinite(minEffectPct) || minEffectPct < 0 || minEffectPct >= 100)) {
    throw new UsageError(`--min-effect takes a percentage from 0 to 100, not '${effectText}'`);
  }
  const options: BenchOptions = {
    sourcePath: resolve(values.source ?? join(root, 'kernel')),
    againstPath: resolve(values.against ?? join(root, 'kernel')),
    matrixPath: resolve(values.matrix ?? join(root, 'images', 'kernels.json')),
    ...(values.kernels !== undefined ? { kernels: list('--kernels', values.kernels)! } : {}),
    suites: list('--suites', values.suites) ?? [...DEFAULT_SUITES],
    rounds,
    method: {
      resamples: positive('--resamples', values.resamples, DEFAULT_RESAMPLES, true),
      seed,
      confidence,
      minEffect: minEffectPct / 100,
    },
    // The runner's slab snapshots around each suite (leak evidence) sleep
    // and disturb the caches a benchmark wants warm: off unless asked for.
    params: { ...BENCH_PARAMS, ...parseParams(values.param ?? []) },
    resultsDir: resolve(values.results ?? join(root, 'results')),
    cacheDir: resolve(values.cache ?? env.NEXUS_LAB_CACHE ?? join(root, '.cache')),
    accel,
    timeoutScale: positive('--timeout-scale', values['timeout-scale'], 1, false),
    memoryMiB: positive('--memory', values.memory, 1024, true),
    command: ['nexus-lab', 'bench', ...argv],
  };
  return { help, options };
}

/** The sides in each round (1-based index = position + 1): AB, BA, AB, ... */
export function schedule(rounds: number): Side[][] {
  return Array.from({ length: rounds }, (_, i) => (i % 2 === 0 ? ['A', 'B'] : ['B', 'A']));
}

/** The tag of one side's run in one round: names its files and prefixes its suites (r3-B/perf-core). */
export function abTag(round: number, side: Side): string {
  return `r${round}-${side}`;
}

/** A tagged suite name back into round, side and suite; undefined when it is not one. */
export function parseAbSuite(suite: string): { round: number; side: Side; suite: string } | undefined {
  const m = /^r(\d+)-([AB])\/(.+)$/.exec(suite);
  if (!m) return undefined;
  return { round: Number(m[1]), side: m[2] as Side, suite: m[3]! };
}

/** One benchmark's samples: per round (index 0 = round 1), per side. */
export interface BenchSamples {
  /** suite/scenario/mode */
  key: string;
  suite: string;
  scenario: string;
  mode: string;
  unit: string;
  a: number[][];
  b: number[][];
}

/**
 * The samples of every benchmark from a job's scenario results (suites
 * tagged r<k>-<side>/): `<mode>.median` names a benchmark, its
 * `<mode>.round<k>` metrics are the samples (in inner-round order), or the
 * median alone when there are none.  Only scenarios that passed count: a
 * failed one's figures may be half a run.  Ordered by first appearance.
 */
export function collectSamples(scenarios: readonly ScenarioResult[], rounds: number): BenchSamples[] {
  const out = new Map<string, BenchSamples>();
  for (const s of scenarios) {
    const tag = parseAbSuite(s.suite);
    if (!tag || s.status !== 'pass' || tag.round < 1 || tag.round > rounds) continue;
    const inner = new Map<string, { k: number; v: number }[]>();
    for (const m of s.metrics) {
      const r = /^(.+)\.round(\d+)$/.exec(m.name);
      if (r) inner.set(r[1]!, [...(inner.get(r[1]!) ?? []), { k: Number(r[2]), v: m.value }]);
    }
    for (const m of s.metrics) {
      const mm = /^(.+)\.median$/.exec(m.name);
      if (!mm || !Number.isFinite(m.value)) continue;
      const mode = mm[1]!;
      const key = `${tag.suite}/${s.name}/${mode}`;
      let b = out.get(key);
      if (!b) {
        b = {
          key, suite: tag.suite, scenario: s.name, mode, unit: m.unit,
          a: Array.from({ length: rounds }, () => []),
          b: Array.from({ length: rounds }, () => []),
        };
        out.set(key, b);
      }
      const samples = (inner.get(mode) ?? []).sort((x, y) => x.k - y.k).map((x) => x.v);
      (tag.side === 'A' ? b.a : b.b)[tag.round - 1] = samples.length > 0 ? samples : [m.value];
    }
  }
  return [...out.values()];
}

export interface Analysis {
  key: string;
  suite: string;
  scenario: string;
  mode: string;
  unit: string;
  /** Rounds with samples on both sides (the others are left out). */
  rounds: number;
  medianA: number;
  medianB: number;
  /** Median of B's samples over A's. */
  ratio: number;
  /** Plain 95 % (method.confidence) percentile bootstrap interval. */
  ci: { level: number; lo: number; hi: number };
  /** Bonferroni-adjusted interval: what the call is made on. */
  ciAdjusted: { level: number; lo: number; hi: number };
  call: Call;
  difference: boolean;
  samples: { a: number[][]; b: number[][] };
}

/** Each benchmark's ratio, intervals and call.  Benchmarks without a round on both sides are left out. */
export function analyze(all: readonly BenchSamples[], m: Method): Analysis[] {
  const usable = all.filter((s) => s.a.some((x, i) => x.length > 0 && (s.b[i]?.length ?? 0) > 0));
  const adjusted = bonferroniLevel(m.confidence, usable.length);
  return usable.map((s, i) => {
    // A seed per benchmark (deterministic): their resamples are not the same draws.
    const r = bootstrapRatio(s, { resamples: m.resamples, seed: (m.seed + i * 7919) >>> 0, levels: [m.confidence, adjusted] });
    const used = s.a.map((x, k) => (x.length > 0 && (s.b[k]?.length ?? 0) > 0 ? k : -1)).filter((k) => k >= 0);
    const [ci, ciAdjusted] = r.intervals as [typeof r.intervals[0], typeof r.intervals[0]];
    const call = judge(ciAdjusted, m.minEffect);
    return {
      key: s.key, suite: s.suite, scenario: s.scenario, mode: s.mode, unit: s.unit,
      rounds: r.rounds,
      medianA: median(used.flatMap((k) => s.a[k]!)),
      medianB: median(used.flatMap((k) => s.b[k]!)),
      ratio: r.ratio,
      ci, ciAdjusted, call,
      difference: isDifference(call),
      samples: { a: s.a, b: s.b },
    };
  });
}

export interface CallCounts {
  benchmarks: number;
  differences: number;
  higher: number;
  lower: number;
  within: number;
  unclear: number;
}

export function countCalls(rows: readonly Analysis[]): CallCounts {
  const n = (c: Call) => rows.filter((r) => r.call === c).length;
  return {
    benchmarks: rows.length,
    differences: rows.filter((r) => r.difference).length,
    higher: n('higher'),
    lower: n('lower'),
    within: n('within'),
    unclear: n('unclear'),
  };
}

/** How the method is described in bench.json and under the table. */
export function describeMethod(m: Method, benchmarks?: number): string {
  const adjusted = benchmarks === undefined
    ? `1 - ${Number((1 - m.confidence).toPrecision(4))}/m (Bonferroni over a kernel's m benchmarks)`
    : `${pct(bonferroniLevel(m.confidence, benchmarks))} (Bonferroni, ${benchmarks} benchmarks)`;
  return (
    `ratio of medians B/A; percentile bootstrap (${m.resamples} resamples, seed ${m.seed}, ` +
    `paired by A/B round, two-stage: rounds then samples); intervals at ${pct(m.confidence)} and ` +
    `${adjusted}; a difference only when the adjusted interval ` +
    `lies wholly beyond +-${pct(m.minEffect)} (above ${(1 + m.minEffect).toFixed(3)} or below ${(1 / (1 + m.minEffect)).toFixed(3)})`
  );
}

function pct(x: number): string {
  const p = x * 100;
  return `${Number.isInteger(p) ? p : Number(p.toPrecision(4))} %`;
}

function fmtValue(v: number, unit: string): string {
  if (unit === 'ns') return v >= 1e6 ? `${(v / 1e6).toFixed(2)} ms` : `${(v / 1000).toFixed(1)} us`;
  if (unit === 'us') return `${v.toFixed(1)} us`;
  return `${Number(v.toPrecision(4))} ${unit}`;
}

const f3 = (x: number) => x.toFixed(3);

/** The readable table of one kernel's A/B: a row per benchmark, then the counts and the method. */
export function benchTable(rows: readonly Analysis[], m: Method): string {
  const header = ['benchmark', 'A median', 'B median', 'B/A', `${pct(m.confidence)} CI`, 'adjusted CI', 'call'];
  const body = rows.map((r) => [
    r.key,
    fmtValue(r.medianA, r.unit),
    fmtValue(r.medianB, r.unit),
    f3(r.ratio),
    `${f3(r.ci.lo)}-${f3(r.ci.hi)}`,
    `${f3(r.ciAdjusted.lo)}-${f3(r.ciAdjusted.hi)}`,
    r.difference ? `${r.call.toUpperCase()} (difference)` : r.call,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i >= 1 && i <= 3 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  const c = countCalls(rows);
  return [
    line(header),
    line(widths.map((w) => '-'.repeat(w))),
    ...body.map(line),
    '',
    `${c.benchmarks} benchmarks: ${c.differences} difference${c.differences === 1 ? '' : 's'} ` +
      `(${c.higher} higher, ${c.lower} lower), ${c.within} within +-${pct(m.minEffect)}, ${c.unclear} unclear`,
    `method: ${describeMethod(m, rows.length)}`,
  ].join('\n');
}
