// The pure half of the faults suite: where the Nexus modules' code is in
// the kernel, how the kernel's fault injection is set for each run, the runs
// the suite makes, and what nexus-faults's summary says.  The injecting and
// the calling happen in C (scenarios/native/nexus-faults.c); ./index.ts
// reads and writes /proc, /sys and debugfs.
//
// Fault injection (Documentation/fault-injection/fault-injection.rst):
// debugfs failslab/ and fail_page_alloc/ fail slab and page allocations.
// The suite scopes both to the calls under test three ways: task-filter
// (only tasks whose make-it-fail is 1: nexus-faults sets it around each
// call, in the thread that calls), a stack filter (require-start and
// require-end: only allocations with a return address in the Nexus
// modules' text on their stack - CONFIG_FAULT_INJECTION_STACKTRACE_FILTER),
// and ignore-gfp-wait N (sleeping allocations fail too: failslab's default
// would spare every GFP_KERNEL one).  /proc/thread-self/fail-nth fails the
// N-th such allocation of a thread exactly; the stack filter still applies.
import { parseSummaryLine } from '../lib/storm.js';

/** Our tree's modules; another tree's are found by their out-of-tree taint. */
export const OUR_MODULES = ['nexus', 'nexus_area', 'nexus_node_monitor'] as const;

/** The fault attributes the suite drives; others it finds are kept from failing (quietWrites). */
export const FAIL_ATTRS = ['failslab', 'fail_page_alloc'] as const;
export type FailAttr = (typeof FAIL_ATTRS)[number];

/** [start, end) of kernel addresses. */
export interface TextRange {
  start: bigint;
  end: bigint;
}

export function hex(v: bigint): string {
  return `0x${v.toString(16)}`;
}

export function rangeText(r: TextRange): string {
  return `${hex(r.start)}-${hex(r.end)} (${(r.end - r.start) / 1024n} KiB)`;
}

/** A /proc/modules line: name, size, users..., state, base address, taints. */
export interface ProcModule {
  name: string;
  size: number;
  base: bigint | undefined;
  /** Out-of-tree (taint O): a tree's module, not the kernel's. */
  outOfTree: boolean;
}

/** /proc/modules ("nexus 81920 2 nexus_area,nexus_node_monitor, Live 0xffffffffc0a00000 (O)"). */
export function parseProcModules(text: string): ProcModule[] {
  const out: ProcModule[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 2 || !/^\d+$/.test(f[1]!)) continue;
    const addr = f.find((w) => /^0x[0-9a-f]+$/i.test(w));
    const taints = /\(([A-Z]+)\)\s*$/.exec(line.trim())?.[1] ?? '';
    const base = addr !== undefined ? BigInt(addr) : undefined;
    out.push({ name: f[0]!, size: Number(f[1]), base: base === 0n ? undefined : base, outOfTree: taints.includes('O') });
  }
  return out;
}

/** The value of a /sys/module/<m>/sections/<section> file, or of a debugfs number. */
export function parseAddress(text: string): bigint | undefined {
  const t = text.trim();
  if (!/^(0x[0-9a-f]+|\d+)$/i.test(t)) return undefined;
  return BigInt(t);
}

/** The text symbols (t, T) kallsyms lists for a module ("ffffffffc0a01010 t nexus_port_create\t[nexus]"). */
export function moduleTextSymbols(kallsyms: string, module: string): bigint[] {
  const out: bigint[] = [];
  const tag = `[${module}]`;
  for (const line of kallsyms.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 4 || f[3] !== tag || !/^[tT]$/.test(f[1]!)) continue;
    const v = BigInt(`0x${f[0]}`);
    if (v !== 0n) out.push(v);
  }
  return out;
}

/** Sections of code that stays: .text, .text.unlikely, .exit.text, .noinstr.text... (not .init.text, freed after load). */
export function isTextSection(name: string): boolean {
  return /(^|\.)text(\.|$)/.test(name) && !name.startsWith('.init');
}

/** What is known of a module's place in memory. */
export interface ModuleLayout {
  name: string;
  /** /sys/module/<name>/sections: section name -> address. */
  sections: Record<string, bigint>;
  /** Its text symbols in kallsyms. */
  symbols: bigint[];
  /** /proc/modules: the base of its text and its size (all of its memory). */
  base?: bigint;
  size?: number;
}

/**
 * Where a module's code is.  It starts at its lowest text section (or text
 * symbol, or /proc/modules' base).  It ends at the first of: base + size
 * (/proc/modules), the next thing in memory that is not its code (another
 * of its sections past its last text symbol - 6.1 lays rodata right after
 * text -, or anything of another module) - whichever comes first past its
 * last text symbol; without any of those, 64 KiB past its last symbol.
 * Undefined when nothing says where it is.
 */
export function moduleTextRange(m: ModuleLayout, others: readonly ModuleLayout[]): TextRange | undefined {
  const texts = Object.entries(m.sections).filter(([n]) => isTextSection(n)).map(([, v]) => v);
  const code = [...texts, ...m.symbols, ...(m.base !== undefined ? [m.base] : [])].filter((v) => v > 0n);
  if (code.length === 0) return undefined;
  const start = code.reduce((a, b) => (b < a ? b : a));
  const last = code.reduce((a, b) => (b > a ? b : a));
  const bounds: bigint[] = [];
  if (m.base !== undefined && m.size !== undefined && m.base === start) bounds.push(m.base + BigInt(m.size));
  for (const [name, v] of Object.entries(m.sections)) if (!isTextSection(name)) bounds.push(v);
  for (const o of others) {
    if (o.name === m.name) continue;
    bounds.push(...Object.values(o.sections), ...o.symbols, ...(o.base !== undefined ? [o.base] : []));
  }
  const past = bounds.filter((b) => b > last);
  const end = past.length > 0 ? past.reduce((a, b) => (b < a ? b : a)) : last + 0x10000n;
  return { start, end };
}

/** The span from the lowest start to the highest end. */
export function spanOf(ranges: readonly TextRange[]): TextRange {
  return {
    start: ranges.map((r) => r.start).reduce((a, b) => (b < a ? b : a)),
    end: ranges.map((r) => r.end).reduce((a, b) => (b > a ? b : a)),
  };
}

// ---------------------------------------------------------------------------
// debugfs

/** How often allocations fail in a sweep: a percentage, and every interval-th eligible one. */
export interface Injection {
  probability: number;
  interval: number;
}

/**
 * The sweep: every allocation (100 %, interval 1: a call fails at its
 * first), half and a tenth of them at random, and every 2nd, 3rd and 7th
 * (deterministic offsets, so that later allocation sites of a call get
 * their turn after the earlier ones succeeded).
 */
export const SWEEPS: readonly Injection[] = [
  { probability: 100, interval: 1 },
  { probability: 50, interval: 1 },
  { probability: 10, interval: 1 },
  { probability: 100, interval: 2 },
  { probability: 100, interval: 3 },
  { probability: 100, interval: 7 },
];

/** `times`: a failure budget large enough never to run out; what is left says how many were injected. */
export const TIMES = 1_000_000_000;

/** A write to a fault attribute's file: [file within the attribute's directory, value]. */
export type Write = readonly [string, string];

/**
 * The files of a fault attribute for a run: failures only in tasks with
 * make-it-fail, only under the Nexus modules' text (when the kernel has
 * the stack filter: 6.1 has none on x86_64, and then every allocation of
 * the call may fail - its whole path, the VFS's too), sleeping allocations
 * too, silently (verbose 0: no stack in the kernel log per failure).  nth
 * runs set probability 0: only fail-nth fails anything.
 */
export function attrWrites(attr: FailAttr, range: TextRange | undefined, inj: Injection | 'nth'): Write[] {
  const w: Write[] = [
    ['probability', String(inj === 'nth' ? 0 : inj.probability)],
    ['interval', String(inj === 'nth' ? 1 : inj.interval)],
    ['times', String(TIMES)],
    ['space', '0'],
    ['verbose', '0'],
    ['task-filter', 'Y'],
    ['ignore-gfp-wait', 'N'],
  ];
  if (range) {
    w.push(
      ['stacktrace-depth', '32'],
      ['require-start', range.start.toString()],
      ['require-end', range.end.toString()],
      ['reject-start', '0'],
      ['reject-end', '0'],
    );
  }
  if (attr === 'failslab') w.push(['cache-filter', 'N']);
  else w.push(['ignore-gfp-highmem', 'Y'], ['min-order', '0']);
  return w;
}

/**
 * Another fault attribute (fail_usercopy, fail_futex, ...): never fails,
 * and an empty required range keeps it from counting a thread's fail-nth
 * (a copy_from_user would take the allocation's turn).
 */
export function quietWrites(): Write[] {
  return [['probability', '0'], ['require-start', '0'], ['require-end', '0']];
}

// ---------------------------------------------------------------------------
// Parameters and runs

type Param = (name: string, fallback: number) => number;

export interface FaultsOptions {
  /** Sweep rounds per setting (each operation made that many times). */
  rounds: number;
  /**
   * nth rounds: each allocation of each call failed in turn, that many
   * times over (a call's allocation count jitters by the sanitizers' own
   * allocations, so one round may step over a site: nexus-faults run_nth()).
   */
  nthRounds: number;
  /** nth: the most allocations of one call failed one by one. */
  maxNth: number;
  /** How many of SWEEPS each sweep scenario makes (from the first). */
  sweeps: number;
  /** A call not back after this many seconds is a hang. */
  callTimeoutS: number;
}

export function faultsOptions(param: Param): FaultsOptions {
  const o: FaultsOptions = {
    rounds: param('faults.rounds', 1),
    nthRounds: param('faults.nth_rounds', 2),
    maxNth: param('faults.max_nth', 64),
    sweeps: param('faults.sweeps', SWEEPS.length),
    callTimeoutS: param('faults.call_timeout', 60),
  };
  const whole = (name: string, v: number, min: number, max: number) => {
    if (!Number.isInteger(v) || v < min || v > max) throw new Error(`faults.${name} must be a whole number from ${min} to ${max}, not ${v}`);
  };
  whole('rounds', o.rounds, 1, 1000);
  whole('nth_rounds', o.nthRounds, 1, 100);
  whole('max_nth', o.maxNth, 1, 10000);
  whole('sweeps', o.sweeps, 1, SWEEPS.length);
  whole('call_timeout', o.callTimeoutS, 1, 3600);
  return o;
}

export interface DriverRun {
  mode: 'nth' | 'sweep';
  injection?: Injection;
}

/** nexus-faults's command line for a run. */
export function driverArgs(o: FaultsOptions, run: DriverRun, dir: string, deadlineS: number): string[] {
  return [
    '--mode', run.mode,
    ...(run.mode === 'sweep' ? ['--rounds', String(o.rounds)] : ['--rounds', String(o.nthRounds), '--max-nth', String(o.maxNth)]),
    '--call-timeout', String(o.callTimeoutS),
    '--deadline', String(deadlineS),
    '--dir', dir,
  ];
}

export function injectionText(inj: Injection | 'nth'): string {
  return inj === 'nth' ? 'each allocation in turn (fail-nth)' : `probability ${inj.probability} %, interval ${inj.interval}`;
}

// ---------------------------------------------------------------------------
// nexus-faults's summary

export interface OpStats {
  module: string;
  calls: number;
  ok: number;
  nomem: number;
  bad: number;
  injected: number;
  problems: number;
  sites: number;
  capped: boolean;
  skip: string;
}

export interface FaultsSummary {
  mode: string;
  calls: number;
  ok: number;
  nomem: number;
  bad: number;
  /** nth: calls whose nth allocation was reached and failed. */
  injected: number;
  problems: number;
  wall_ms: number;
  deadline_hit: boolean;
  first_problems: string[];
  ops: Record<string, OpStats>;
}

const FIELDS = {
  numbers: ['calls', 'ok', 'nomem', 'bad', 'injected', 'problems', 'wall_ms'],
  records: ['ops'],
  lists: ['first_problems'],
} as const;

/** What nexus-faults said last: its summary, or the call that never came back. */
export type DriverOutcome = { summary: FaultsSummary } | { hang: string };

export function parseDriverOutput(stdout: string): DriverOutcome {
  const line = stdout.trim().split('\n').pop() ?? '';
  try {
    const v = JSON.parse(line) as { hang?: unknown };
    if (typeof v === 'object' && v !== null && typeof v.hang === 'string') return { hang: v.hang };
  } catch {
    // parseSummaryLine says what is wrong
  }
  return { summary: parseSummaryLine('nexus-faults', stdout, FIELDS) as unknown as FaultsSummary };
}

/** What in a summary fails the suite, as messages (empty: nothing). */
export function summaryProblems(s: FaultsSummary): string[] {
  const p: string[] = [];
  if (s.problems > 0) {
    p.push(`${s.problems} problem(s) found, the first ${Math.min(s.problems, s.first_problems.length)}:`);
    p.push(...s.first_problems);
  }
  for (const [name, op] of Object.entries(s.ops)) {
    if (op.capped) p.push(`${name}: still allocating after ${op.sites} allocations failed one by one (faults.max_nth)`);
  }
  return p;
}

/** The operations a run skipped, with why. */
export function skipped(s: FaultsSummary): string[] {
  return Object.entries(s.ops).filter(([, op]) => op.skip).map(([name, op]) => `${name}: ${op.skip}`);
}

/** The per-operation tally as a text table, for the runner log. */
export function opsTable(s: FaultsSummary): string {
  const cols = ['calls', 'ok', 'nomem', 'bad', 'injected', 'sites', 'problems'] as const;
  const rows = Object.entries(s.ops).map(([name, op]) => [name, op.module, ...cols.map((c) => String(op[c]))]);
  const header = ['operation', 'module', ...cols];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  return [header, ...rows]
    .map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

/** Allocation sites failed one by one, over all operations (nth). */
export function totalSites(s: FaultsSummary): number {
  return Object.values(s.ops).reduce((n, op) => n + op.sites, 0);
}
