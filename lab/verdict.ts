// Every job ends as exactly one verdict.  The order below is the precedence:
// what explains the most wins (a splat explains failing scenarios; a build
// failure means nothing ran at all).
import { decidesVerdict, type Splat } from './console.js';
import type { ScenarioStatus } from '../scenarios/runner/events.js';

export const VERDICTS = [
  'pass',
  'fail',
  'skip',
  'build-failed',
  'boot-failed',
  'kernel-splat',
  'timeout',
  'infra-error',
] as const;

export type Verdict = (typeof VERDICTS)[number];

export interface ScenarioResult {
  suite: string;
  name: string;
  status: ScenarioStatus;
  durationMs: number;
  reason?: string;
  failures: { message: string; expected?: unknown; actual?: unknown }[];
  /** `samples`: what the figure summarises, when the scenario gave them (perf suites: per-round values). */
  metrics: { name: string; value: number; unit: string; samples?: number[] }[];
  /** The ABI-level orphan scan after it: exited teams scanned, objects of theirs still listed. */
  orphans?: { scanned: number; found: string[] };
}

export interface VerdictInput {
  buildError?: string;
  bootError?: string;
  timeout?: string;
  infraError?: string;
  skipReason?: string;
  /** The console's splats; those of a kind that decides no verdict (lab/splat-kinds.ts EVIDENCE_ONLY) are ignored. */
  splats: readonly Splat[];
  scenarios: readonly ScenarioResult[];
  /** Job-level failures: module load/unload, leaked objects, runner crash. */
  problems: readonly string[];
}

export interface VerdictOutcome {
  verdict: Verdict;
  reason: string;
}

function firstFailure(s: ScenarioResult): string {
  const f = s.failures[0];
  const why = s.reason ?? f?.message ?? s.status;
  return `${s.suite}/${s.name}: ${why}`;
}

export function decideVerdict(i: VerdictInput): VerdictOutcome {
  if (i.buildError !== undefined) return { verdict: 'build-failed', reason: i.buildError };
  // kmemleak's console lines are evidence for the leak check (lab/leaks.ts), not a verdict.
  const splats = i.splats.filter(decidesVerdict);
  if (splats.length > 0) {
    const panic = splats.find((s) => s.kind === 'panic');
    const first = panic ?? splats[0]!;
    const more = splats.length > 1 ? ` (+${splats.length - 1} more)` : '';
    return { verdict: 'kernel-splat', reason: `${first.kind}: ${first.title}${more}` };
  }
  if (i.timeout !== undefined) return { verdict: 'timeout', reason: i.timeout };
  if (i.bootError !== undefined) return { verdict: 'boot-failed', reason: i.bootError };
  if (i.infraError !== undefined) return { verdict: 'infra-error', reason: i.infraError };
  if (i.skipReason !== undefined) return { verdict: 'skip', reason: i.skipReason };

  const bad = i.scenarios.filter((s) => s.status === 'fail' || s.status === 'error');
  if (i.problems.length > 0 || bad.length > 0) {
    const reasons = [...i.problems, ...bad.map(firstFailure)];
    const more = reasons.length > 1 ? ` (+${reasons.length - 1} more)` : '';
    return { verdict: 'fail', reason: `${reasons[0]}${more}` };
  }
  if (i.scenarios.length === 0) return { verdict: 'fail', reason: 'no scenario ran' };
  if (i.scenarios.every((s) => s.status === 'skip')) {
    return { verdict: 'skip', reason: `every scenario skipped: ${i.scenarios.map((s) => s.reason ?? s.name).join('; ')}` };
  }
  const passed = i.scenarios.filter((s) => s.status === 'pass').length;
  return { verdict: 'pass', reason: `${passed} scenario${passed === 1 ? '' : 's'} passed` };
}
