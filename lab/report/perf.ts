// The benchmark figures of a job, read back from its scenarios' metrics
// (scenarios/perf-core/bench.ts benchMetrics names them): per mode
// `<mode>.median` and `<mode>.p99` (ns, or us for a timeout's lateness), and
// per Nexus mode with a baseline `<mode>.<vs-x>` (median / baseline median,
// unit x) with `.min`/`.max` over the rounds.  Which modes are Nexus and
// which are the Linux baselines comes from the suites' own specs, so the
// report never guesses from a name.
import type { JobRecord } from '../results.js';
import type { BenchSpec } from '../../scenarios/perf-core/bench.js';
import { ROUND_TRIPS as CORE_ROUND_TRIPS, TIMEOUTS } from '../../scenarios/perf-core/index.js';
import { AREAS, ROUND_TRIPS as IPC_ROUND_TRIPS } from '../../scenarios/perf-ipc/index.js';
import { LATENCY, THROUGHPUT } from '../../scenarios/perf-node-monitor/index.js';

export type Role = 'nexus' | 'linux' | 'other';

export interface ModeFigure {
  mode: string;
  role: Role;
  median: number;
  p99?: number;
  unit: string;
}

export interface RatioFigure {
  /** The Nexus mode. */
  mode: string;
  /** The Linux mode it is measured against (from the spec; the metric's name when unknown). */
  baseline: string;
  /** The metric's name after the mode: vs-pipe, vs-inotify, ... */
  metric: string;
  value: number;
  /** The extremes of the per-round ratios, when there were several rounds. */
  min?: number;
  max?: number;
}

export interface BenchFigures {
  suite: string;
  scenario: string;
  modes: ModeFigure[];
  ratios: RatioFigure[];
}

const SPECS: readonly BenchSpec[] = [CORE_ROUND_TRIPS, TIMEOUTS, IPC_ROUND_TRIPS, AREAS, LATENCY, THROUGHPUT];

/** Which modes are Nexus and which are baselines, and each (mode, metric)'s baseline mode. */
export function rolesFrom(specs: readonly BenchSpec[]): { role: (mode: string) => Role; baselineOf: (mode: string, metric: string) => string | undefined } {
  const nexus = new Set(specs.flatMap((s) => s.baselines.map((b) => b.mode)));
  const linux = new Set(specs.flatMap((s) => s.baselines.map((b) => b.baseline)));
  const pairs = new Map(specs.flatMap((s) => s.baselines.map((b) => [`${b.mode}\0${b.metric}`, b.baseline] as const)));
  return {
    role: (m) => (nexus.has(m) ? 'nexus' : linux.has(m) ? 'linux' : 'other'),
    baselineOf: (m, metric) => pairs.get(`${m}\0${metric}`),
  };
}

const KNOWN = rolesFrom(SPECS);

type Metric = JobRecord['scenarios'][number]['metrics'][number];

/** One scenario's figures, or undefined when it recorded no `<mode>.median`. */
export function scenarioFigures(suite: string, scenario: string, metrics: readonly Metric[], known = KNOWN): BenchFigures | undefined {
  const byName = new Map(metrics.map((m) => [m.name, m]));
  const modes: ModeFigure[] = [];
  for (const m of metrics) {
    const hit = /^(.+)\.median$/.exec(m.name);
    if (!hit) continue;
    const mode = hit[1]!;
    const p99 = byName.get(`${mode}.p99`);
    modes.push({ mode, role: known.role(mode), median: m.value, ...(p99 ? { p99: p99.value } : {}), unit: m.unit });
  }
  if (modes.length === 0) return undefined;
  const names = new Set(modes.map((m) => m.mode));
  const ratios: RatioFigure[] = [];
  for (const m of metrics) {
    const hit = /^(.+)\.(vs-[a-z0-9-]+)$/.exec(m.name);
    if (!hit || m.unit !== 'x' || !names.has(hit[1]!) || /\.(min|max)$/.test(m.name)) continue;
    const [, mode, metric] = hit as unknown as [string, string, string];
    const min = byName.get(`${m.name}.min`);
    const max = byName.get(`${m.name}.max`);
    ratios.push({
      mode, metric, value: m.value,
      baseline: known.baselineOf(mode, metric) ?? metric.slice(3),
      ...(min ? { min: min.value } : {}),
      ...(max ? { max: max.value } : {}),
    });
  }
  // A mode with a ratio of its own is Nexus, even in a suite this lab does not know.
  for (const f of modes) if (f.role === 'other' && ratios.some((r) => r.mode === f.mode)) f.role = 'nexus';
  for (const r of ratios) {
    const b = modes.find((f) => f.mode === r.baseline);
    if (b && b.role === 'other') b.role = 'linux';
  }
  return { suite, scenario, modes, ratios };
}

/** Every benchmark scenario of a job, in the order they ran. */
export function jobFigures(job: JobRecord): BenchFigures[] {
  return job.scenarios.flatMap((s) => scenarioFigures(s.suite, s.name, s.metrics) ?? []);
}
