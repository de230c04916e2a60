// The plan is pure data: the matrix (kernel x profile x suites) as a list of
// jobs.  `plan` prints it, `run` executes it, `--shard K/N` takes a
// deterministic slice of it so CI can spread a matrix over many runners.
//
// A kernel's suites are split by the vCPUs they need: each suite runs in a
// guest with max(--cpus, its own minimum) vCPUs, one job per distinct count.
// Under TCG on a small host a 1-vCPU guest is the cheapest, so suites that
// do not need more keep running on one.
import { createHash } from 'node:crypto';
import type { KernelMatrix, KernelSpec } from './kernels.js';
import { numberParam } from '../scenarios/runner/params.js';
import { SUITES, suiteNames, type SuiteInfo } from '../scenarios/suites.js';

export interface ProfileInfo {
  name: string;
  description: string;
  suites: string[];
  /** The job also installs another kernel of the matrix and boots it (release). */
  upgrades?: boolean;
  /** What the profile's own steps add to its suites' budget (before scaling). */
  stepsBudgetMs?: number;
}

export const PROFILES: readonly ProfileInfo[] = [
  {
    name: 'quick',
    description: 'small Debian guest, modules built on the host, loaded with insmod',
    suites: ['smoke', 'ports', 'sems', 'teams', 'threads', 'areas', 'vrefs', 'node-monitor', 'races', 'hardening', 'fuzz', 'stress'],
  },
  {
    name: 'release',
    description:
      'Debian guest with systemd: apt installs the nexus-dkms .deb, DKMS builds, modules-load.d loads at boot; kernel upgrade; purge',
    suites: ['smoke', 'ports', 'sems', 'teams', 'threads', 'areas', 'vrefs', 'node-monitor'],
    upgrades: true,
    // Two DKMS builds in the guest, a kernel install, four reboots, smoke
    // on the upgraded kernel (all before the TCG factor).
    stepsBudgetMs: 600_000,
  },
];

/** Most vCPUs a guest may be given (--cpus). */
export const MAX_CPUS = 64;
/** A suite's budget when it declares none (SuiteInfo.budgetMs). */
export const DEFAULT_BUDGET_MS = 120_000;

export interface Job {
  id: string;
  kernel: KernelSpec;
  profile: string;
  suites: string[];
  /** Guest vCPUs (QEMU -smp). */
  cpus: number;
  /** Sum of the suites' budgets: the guest runner's deadline before scaling. */
  budgetMs: number;
  /**
   * Release profile: the kernel the job upgrades to (same flavour, the
   * other series), or why there is none.
   */
  upgrade?: { to: KernelSpec } | { none: string };
}

/**
 * The kernel a release job upgrades to: the first kernel of the matrix with
 * the same flavour and another series (6.1 -> 6.12, 6.12 -> 6.1).
 */
export function upgradeFor(matrix: KernelMatrix, k: KernelSpec): { to: KernelSpec } | { none: string } {
  const to = matrix.kernels.find((m) => m.flavour === k.flavour && m.series !== k.series && !m.build);
  return to ? { to } : { none: `the matrix has no other series of flavour ${k.flavour} to upgrade to` };
}

export interface PlanOptions {
  /** Kernel ids, or ['all']; the matrix's defaults when absent. */
  kernels?: readonly string[];
  profile?: string;
  /** Overrides the profile's suites. */
  suites?: readonly string[];
  /** Guest vCPUs for every job; suites that need more get more (default 1). */
  cpus?: number;
}

function suiteInfo(name: string): SuiteInfo {
  const info = SUITES.find((s) => s.name === name);
  if (!info) throw new Error(`unknown suite '${name}' (known: ${suiteNames().join(', ')})`);
  return info;
}

/** The guest runner's budget for these suites (before the accelerator factor and --timeout-scale). */
export function budgetOf(suites: readonly string[]): number {
  return suites.reduce((sum, s) => sum + (suiteInfo(s).budgetMs ?? DEFAULT_BUDGET_MS), 0);
}

/**
 * The wall-clock deadlines the suites keep themselves under these run
 * parameters (SuiteInfo.ownDeadlineS), in milliseconds, summed: fuzz with
 * --param fuzz.deadline=7200 ends by two hours, and the runner must wait
 * that long whatever the accelerator.  A parameter that is no number counts
 * nothing here (the guest's own check refuses it).
 */
export function ownDeadlinesMs(suites: readonly string[], params: Readonly<Record<string, string>>): number {
  const param = (name: string, fallback: number) => numberParam(params, name, fallback);
  return suites.reduce((sum, s) => {
    let own = 0;
    try {
      own = suiteInfo(s).ownDeadlineS?.(param) ?? 0;
    } catch {
      // no number: the guest refuses it
    }
    return sum + (own > 0 ? own * 1000 : 0);
  }, 0);
}

/**
 * Split suites by the vCPUs they run with, max(cpus, the suite's minimum):
 * groups ordered by their first suite, suites kept in their order.
 */
export function groupByCpus(suites: readonly string[], cpus = 1): { cpus: number; suites: string[] }[] {
  const groups = new Map<number, string[]>();
  for (const s of suites) {
    const n = Math.max(cpus, suiteInfo(s).cpus ?? 1);
    groups.set(n, [...(groups.get(n) ?? []), s]);
  }
  return [...groups].map(([n, members]) => ({ cpus: n, suites: members }));
}

/** `<kernel>-<profile>`, with `-<n>cpu` when the guest has more than one vCPU. */
export function jobId(kernel: string, profile: string, cpus: number): string {
  return cpus === 1 ? `${kernel}-${profile}` : `${kernel}-${profile}-${cpus}cpu`;
}

/** Check a --cpus value; throws with the reason. */
export function checkCpus(n: number): number {
  if (!Number.isInteger(n) || n < 1 || n > MAX_CPUS) throw new Error(`--cpus takes an integer from 1 to ${MAX_CPUS}, not '${n}'`);
  return n;
}

/**
 * The kernels named on the command line, in order and each once: ids, group
 * names (`debug`), or `all` for every kernel the lab does not build itself
 * (built kernels take many minutes the first time: they are named or taken
 * by group).  Nothing named: the matrix's defaults.
 */
export function selectKernels(matrix: KernelMatrix, names: readonly string[] | undefined): KernelSpec[] {
  if (names === undefined || names.length === 0) {
    const defaults = matrix.kernels.filter((k) => k.default);
    if (defaults.length === 0) throw new Error('the kernel matrix marks no kernel as default; name kernels with --kernels');
    return defaults;
  }
  const groups = [...new Set(matrix.kernels.flatMap((k) => k.groups ?? []))];
  const out = new Map<string, KernelSpec>();
  for (const name of names) {
    const k = matrix.kernels.find((m) => m.id === name);
    const members = name === 'all' ? matrix.kernels.filter((m) => !m.build) : k ? [k] : matrix.kernels.filter((m) => m.groups?.includes(name));
    if (members.length === 0) {
      throw new Error(`unknown kernel '${name}' (known: ${matrix.kernels.map((m) => m.id).join(', ')}, all${groups.map((g) => `, ${g}`).join('')})`);
    }
    for (const m of members) out.set(m.id, m);
  }
  return [...out.values()];
}

export function plan(matrix: KernelMatrix, opts: PlanOptions = {}): Job[] {
  const profile = PROFILES.find((p) => p.name === (opts.profile ?? 'quick'));
  if (!profile) {
    throw new Error(`unknown profile '${opts.profile}' (known: ${PROFILES.map((p) => p.name).join(', ')})`);
  }
  const kernels = selectKernels(matrix, opts.kernels);
  if (profile.upgrades) {
    const built = kernels.filter((k) => k.build);
    if (built.length > 0) {
      throw new Error(
        `profile ${profile.name} installs Debian's kernel packages; ${built.map((k) => k.id).join(', ')} ${built.length > 1 ? 'are' : 'is'} built by the lab from source (use the quick profile)`,
      );
    }
  }
  const suites = opts.suites && opts.suites.length > 0 ? [...opts.suites] : [...profile.suites];
  const groups = groupByCpus(suites, checkCpus(opts.cpus ?? 1));
  return kernels.flatMap((kernel) =>
    groups.map((g) => ({
      id: jobId(kernel.id, profile.name, g.cpus),
      kernel,
      profile: profile.name,
      suites: g.suites,
      cpus: g.cpus,
      budgetMs: budgetOf(g.suites) + (profile.stepsBudgetMs ?? 0),
      ...(profile.upgrades ? { upgrade: upgradeFor(matrix, kernel) } : {}),
    })),
  );
}

export interface Shard {
  index: number;
  count: number;
}

/** Parse "K/N" (1-based K). */
export function parseShard(text: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(text.trim());
  if (!m) throw new Error(`--shard takes K/N (for example 2/4), not '${text}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index < 1 || index > count) throw new Error(`--shard ${text}: need 1 <= K <= N`);
  return { index, count };
}

/** The K-th of N deterministic slices: jobs in plan order, dealt round-robin. */
export function shard<T>(jobs: readonly T[], s: Shard): T[] {
  return jobs.filter((_, i) => i % s.count === s.index - 1);
}

export function describeSuites(): string {
  const width = Math.max(...SUITES.map((s) => s.name.length));
  return SUITES.map((s) => `  ${s.name.padEnd(width)} ${s.description}`).join('\n');
}

/**
 * What a shard run records so its results can be merged (RunRecord.shard):
 * its place, the ids of every job of the full (unsharded) plan in plan
 * order, and a hash of everything that makes two runs the same plan.
 */
export interface ShardRecord {
  index: number;
  count: number;
  /** sha256 of the full plan's jobs and the run's settings (planHash). */
  plan: string;
  /** Ids of all jobs of the full plan, in plan order. */
  jobs: string[];
}

/** The settings besides the jobs that make two shard runs the same plan. */
export interface PlanSettings {
  /** Hash of the Nexus source tree (SourceTree.hash). */
  sourceHash: string;
  params: Readonly<Record<string, string>>;
  timeoutScale: number;
  memoryMiB: number;
}

/** Plain JSON with object keys sorted, so equal values hash equally. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o).sort().filter((k) => o[k] !== undefined).map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

/** sha256 (hex) of the full plan and its settings: equal exactly when both are. */
export function planHash(fullPlan: readonly Job[], settings: PlanSettings): string {
  return createHash('sha256').update(canonical({ jobs: fullPlan, settings })).digest('hex');
}

/** The shard record of slice `s` of `fullPlan` run with `settings`. */
export function shardRecord(fullPlan: readonly Job[], s: Shard, settings: PlanSettings): ShardRecord {
  return { index: s.index, count: s.count, plan: planHash(fullPlan, settings), jobs: fullPlan.map((j) => j.id) };
}
