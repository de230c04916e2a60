// The plan is pure data: the matrix (kernel x profile x suites) as a list of
// jobs.  `plan` prints it, `run` executes it, `--shard K/N` takes a
// deterministic slice of it so CI can spread a matrix over many runners.
import type { KernelMatrix, KernelSpec } from './kernels.js';
import { SUITES, suiteNames } from '../scenarios/suites.js';

export interface ProfileInfo {
  name: string;
  description: string;
  suites: string[];
}

export const PROFILES: readonly ProfileInfo[] = [
  {
    name: 'quick',
    description: 'small Debian guest, modules built on the host, loaded with insmod',
    suites: ['smoke', 'ports', 'sems', 'teams'],
  },
];

export interface Job {
  id: string;
  kernel: KernelSpec;
  profile: string;
  suites: string[];
}

export interface PlanOptions {
  /** Kernel ids, or ['all']; the matrix's defaults when absent. */
  kernels?: readonly string[];
  profile?: string;
  /** Overrides the profile's suites. */
  suites?: readonly string[];
}

export function plan(matrix: KernelMatrix, opts: PlanOptions = {}): Job[] {
  const profile = PROFILES.find((p) => p.name === (opts.profile ?? 'quick'));
  if (!profile) {
    throw new Error(`unknown profile '${opts.profile}' (known: ${PROFILES.map((p) => p.name).join(', ')})`);
  }
  let kernels: KernelSpec[];
  if (opts.kernels === undefined || opts.kernels.length === 0) {
    kernels = matrix.kernels.filter((k) => k.default);
    if (kernels.length === 0) throw new Error('the kernel matrix marks no kernel as default; name kernels with --kernels');
  } else if (opts.kernels.length === 1 && opts.kernels[0] === 'all') {
    kernels = [...matrix.kernels];
  } else {
    kernels = opts.kernels.map((id) => {
      const k = matrix.kernels.find((m) => m.id === id);
      if (!k) throw new Error(`unknown kernel '${id}' (known: ${matrix.kernels.map((m) => m.id).join(', ')}, all)`);
      return k;
    });
  }
  const suites = opts.suites && opts.suites.length > 0 ? [...opts.suites] : [...profile.suites];
  const known = suiteNames();
  for (const s of suites) {
    if (!known.includes(s)) throw new Error(`unknown suite '${s}' (known: ${known.join(', ')})`);
  }
  const seen = new Set<string>();
  return kernels
    .filter((k) => (seen.has(k.id) ? false : (seen.add(k.id), true)))
    .map((kernel) => ({ id: `${kernel.id}-${profile.name}`, kernel, profile: profile.name, suites }));
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
export function shard(jobs: readonly Job[], s: Shard): Job[] {
  return jobs.filter((_, i) => i % s.count === s.index - 1);
}

export function describeSuites(): string {
  return SUITES.map((s) => `  ${s.name.padEnd(10)} ${s.description}`).join('\n');
}
