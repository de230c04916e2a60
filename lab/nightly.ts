// The nightly CI's shard commands, in one place: .github/workflows/nightly.yml
// runs exactly these (test/unit/nightly.test.ts parses the workflow and checks
// it), and the integration test of the default matrix runs the same shards
// and merges them (test/integration/lab.test.ts), so what CI runs at night is
// what 'make test' ran here.  The nightly plan's shards (debugShardLabArgs:
// one debug kernel each) are held to the workflow the same way, but no test
// runs them here: a debug kernel takes 25 minutes and more to build.

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sourcePackage } from './debug-kernel.js';
import { parseMatrix, type KernelMatrix } from './kernels.js';
import { PROFILES, plan, type Job } from './plan.js';

/** How many shards the nightly run splits the default plan into. */
export const NIGHTLY_SHARDS = 2;

/** The options of 'nexus-lab run' for shard K of N (after 'run'). */
export function shardRunArgs(index: number, count: number = NIGHTLY_SHARDS): string[] {
  return ['--shard', `${index}/${count}`];
}

/**
 * LAB_ARGS of the workflow's shard step, `make lab LAB_ARGS="<this>"`
 * (make lab runs 'nexus-lab run $(LAB_ARGS)'): shard K's options and the
 * directory its runs go to, which the shard job uploads.
 */
export function shardLabArgs(index: number, resultsDir: string, count: number = NIGHTLY_SHARDS): string {
  return [...shardRunArgs(index, count), '--results', resultsDir].join(' ');
}

/**
 * A named plan: the options a recurring kind of run always takes, chosen by
 * `--plan NAME` (options given beside it win; parameters merge).
 */
export interface NamedPlan {
  name: string;
  description: string;
  kernels: string[];
  cpus: number;
  suites: string[];
  params: Record<string, string>;
  timeoutScale: number;
}

/**
 * The nightly plan: the debug kernels (KASAN, kmemleak, lockdep, fault
 * injection: lab/debug-kernel.ts), each as one 2-vCPU job of every suite of
 * the quick profile plus `faults`, with the fuzzer and the kill storms at
 * nightly sizes; one job per kernel, so `--shard K/2` is one kernel.  The
 * kernels' own slowdown scales their deadlines; timeoutScale covers the
 * sizes (fuzz.calls and stress.teams are 1/2 and 2x the suites' budgets).
 * The fuzzer's and the storm's own deadlines (which end them early, with the
 * calls or teams made reported) are set here: their defaults assume a
 * distribution kernel's rate, and a debug kernel under TCG on 2 vCPUs makes
 * about 380 fuzz calls/s and starts 2.9 teams/s (6.1-debug: 1M calls in
 * about 44 min, 10,000 teams in 58), against 20,000 and 25 assumed.
 */
export const NIGHTLY_PLAN: NamedPlan = {
  name: 'nightly',
  description: 'debug kernels (group debug), 2 vCPUs, the quick suites plus faults, 1,000,000 fuzz calls and 10,000 stress teams',
  kernels: ['debug'],
  cpus: 2,
  suites: [...PROFILES.find((p) => p.name === 'quick')!.suites, 'faults'],
  params: { 'fuzz.calls': '1000000', 'fuzz.deadline': '7200', 'stress.teams': '10000', 'stress.deadline': '7200' },
  timeoutScale: 2,
};

export const NAMED_PLANS: readonly NamedPlan[] = [NIGHTLY_PLAN];

/** The named plan called `name`; throws naming the known ones. */
export function namedPlan(name: string): NamedPlan {
  const p = NAMED_PLANS.find((x) => x.name === name);
  if (!p) throw new Error(`unknown plan '${name}' (known: ${NAMED_PLANS.map((x) => x.name).join(', ')})`);
  return p;
}

/** A named plan as the options it stands for, for --help. */
export function planOptions(p: NamedPlan): string {
  const params = Object.entries(p.params).map(([k, v]) => `--param ${k}=${v}`);
  return [`--kernels ${p.kernels.join(',')}`, `--cpus ${p.cpus}`, `--suites ${p.suites.join(',')}`, ...params, `--timeout-scale ${p.timeoutScale}`].join(' ');
}

/** The jobs of a named plan on a kernel matrix: what `plan --plan NAME` prints. */
export function namedPlanJobs(matrix: KernelMatrix, p: NamedPlan = NIGHTLY_PLAN): Job[] {
  return plan(matrix, { kernels: p.kernels, cpus: p.cpus, suites: p.suites });
}

/** This checkout's images/kernels.json (dist/lab/nightly.js: the root is two levels up). */
const MATRIX_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'images', 'kernels.json');

/**
 * How many shards the nightly CI runs the nightly plan as: one per job of
 * the plan on the repository's matrix (one job per debug kernel), so each
 * debug kernel gets a runner, and GitHub's 6 hours, of its own.
 */
export function nightlyPlanShards(matrix: KernelMatrix = parseMatrix(readFileSync(MATRIX_PATH, 'utf8'), MATRIX_PATH)): number {
  return namedPlanJobs(matrix, NIGHTLY_PLAN).length;
}

/** The options of 'nexus-lab run' for shard K of N of the nightly plan. */
export function debugShardRunArgs(index: number, count: number = nightlyPlanShards()): string[] {
  return ['--plan', NIGHTLY_PLAN.name, ...shardRunArgs(index, count)];
}

/**
 * LAB_ARGS of the workflow's debug shard step: shard K of the nightly plan
 * and the directory its run goes to.  Not the workflow's kernels input: the
 * nightly plan names its kernels.
 */
export function debugShardLabArgs(index: number, resultsDir: string, count: number = nightlyPlanShards()): string {
  return [...debugShardRunArgs(index, count), '--results', resultsDir].join(' ');
}

/**
 * The kernels of these jobs that the lab builds (the debug kernels), by id,
 * and the Debian source packages they are built from: what a shard's cache
 * of built kernels depends on besides the repository's files (the lab
 * builds the newest version apt offers and keys its entry by it).
 */
export function builtKernelsOf(jobs: readonly Pick<Job, 'kernel'>[]): { ids: string[]; sources: string[] } {
  const built = [...new Map(jobs.filter((j) => j.kernel.build).map((j) => [j.kernel.id, j.kernel])).values()];
  return { ids: built.map((k) => k.id), sources: [...new Set(built.map((k) => sourcePackage(k.series)))] };
}
