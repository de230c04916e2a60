// Results of a run: run.json (written as the run goes, so an interrupted run
// keeps what it had), junit.xml, the per-job files, and the summary table.
import { rename, writeFile } from 'node:fs/promises';
import type { Splat } from './console.js';
import type { ResolvedKernel } from './kernels.js';
import type { ScenarioResult, Verdict } from './verdict.js';
import { MAX_METRIC_SAMPLES, type Features, type GuestEvent, type Primitive } from '../scenarios/runner/events.js';
import type { EvidenceMatrix } from './evidence.js';
import { blamedKmemleak, isLeakEvent, type LeakEvent, type LeakRecord } from './leaks.js';
import type { ShardRecord } from './plan.js';

export interface JobRecord {
  id: string;
  kernel: { id: string; release?: string; version?: string };
  profile: string;
  suites: string[];
  /** vCPUs the job asked QEMU for. */
  cpus: number;
  /** What the guest runner reported at its start (run-start): vCPUs it saw, node, kernel. */
  guest?: { cpus: number; node: string; kernel: string };
  /** The deadlines the job ran under (they follow its suites' budgets). */
  deadlines?: { runnerMs: number; jobMs: number };
  /** Current phase while running; "done" at the end. */
  phase: string;
  verdict?: Verdict;
  reason?: string;
  startedAt?: string;
  endedAt?: string;
  wallMs?: number;
  /** Duration of each phase, in milliseconds, in the order they ran. */
  phases: Record<string, number>;
  build?: { ok: boolean; cached: boolean; warnings: number; durationMs: number; modules: string[]; error?: string };
  /** Size of the job's initramfs (busybox, boot modules, payload). */
  initramfsBytes?: number;
  /** First boot to SSH; each later boot's (a release job's reboots); how the last QEMU ended. */
  boot?: { accel: string; bootToSshMs?: number; rebootsToSshMs?: number[]; qemuExit?: string };
  /** Release profile: the package, the image and the kernels of the job. */
  release?: {
    package: { file: string; version: string; sizeBytes: number };
    rootfs: { hash: string; sizeBytes: number; cached: boolean };
    kernels: { installed: string; upgrade?: string };
  };
  scenarios: ScenarioResult[];
  splats: Splat[];
  counters: { label: string; values: Record<string, number> }[];
  /** What the guest runner probed the loaded modules for: devices, ioctls, primitives. */
  features?: Features;
  /** Slab/meminfo deltas and kmemleak reports per suite, with the leak rule's word (lab/leaks.ts). */
  leaks?: LeakRecord;
  problems: string[];
  /** Files of the job, relative to the run directory. */
  files: Record<string, string>;
}

export interface RunRecord {
  schema: 1;
  runId: string;
  status: 'running' | 'done' | 'interrupted';
  startedAt: string;
  endedAt?: string;
  command: string[];
  /** Run parameters passed to every guest runner (--param NAME=VALUE). */
  params: Record<string, string>;
  host: { hostname: string; cpus: number; memMiB: number; kernel: string; os: string; node: string };
  qemu?: { binary: string; version: string };
  accel?: { used: 'kvm' | 'tcg'; reason: string; probeMs: number };
  source?: {
    path: string;
    hash: string;
    git?: { revision: string; dirty: boolean };
    /** Where its dkms.conf is (dkms.conf, debian/<package>.dkms), when it has one. */
    dkmsConf?: string;
    /** The primitives its sources declare (evidence level "source"). */
    declares?: Primitive[];
  };
  image?: { recipeHash: string; sizeBytes: number; cached: boolean };
  kernels: ResolvedKernel[];
  phases: Record<string, number>;
  jobs: JobRecord[];
  summary?: { total: number; verdicts: Partial<Record<Verdict, number>>; ok: boolean };
  /** Per kernel and primitive, the highest level of evidence reached (lab/evidence.ts). */
  evidence?: EvidenceMatrix;
  /** A run of one shard of a plan (run --shard K/N): what 'nexus-lab merge' checks. */
  shard?: ShardRecord;
  /** A run merged from shard runs (nexus-lab merge): which, and where they differed. */
  merged?: MergedFrom;
  error?: string;
}

export interface MergedFrom {
  /** The plan hash the shards share (ShardRecord.plan). */
  plan: string;
  /** The shard runs, in shard order. */
  shards: { index: number; count: number; runId: string; dir: string }[];
  /** What the shards did not share (accelerator, host, QEMU, image), said in words. */
  notes: string[];
}

/** Write JSON atomically (temp file + rename): readers never see half a file. */
export async function writeJsonAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`);
  await rename(tmp, path);
}

/** Folds the guest's event stream into scenario results. */
/** The scenario name of a suite skipped as a whole (its primitive is missing). */
export const SUITE_SKIPPED = '(whole suite)';

export class EventFolder {
  readonly scenarios: ScenarioResult[] = [];
  readonly counters: { label: string; values: Record<string, number> }[] = [];
  /** Slab snapshots and kmemleak scans, in order, for lab/leaks.ts foldLeaks. */
  readonly leakEvents: LeakEvent[] = [];
  /** From the runner's run-start event. */
  guest: { cpus: number; node: string; kernel: string } | undefined;
  /** What the runner probed the loaded modules for (features event). */
  features: Features | undefined;
  runEnded = false;
  private current = new Map<string, ScenarioResult>();

  add(ev: GuestEvent): void {
    const key = (suite: string, name: string) => `${suite}\0${name}`;
    if (isLeakEvent(ev)) {
      this.leakEvents.push(ev);
      return;
    }
    switch (ev.type) {
      case 'run-start':
        // A runner older than the cpus field reports nothing to check.
        if (typeof ev.cpus === 'number') this.guest = { cpus: ev.cpus, node: ev.node, kernel: ev.kernel };
        break;
      case 'scenario-start': {
        const r: ScenarioResult = { suite: ev.suite, name: ev.scenario, status: 'error', durationMs: 0, failures: [], metrics: [] };
        this.current.set(key(ev.suite, ev.scenario), r);
        break;
      }
      case 'assert-fail': {
        const r = this.current.get(key(ev.suite, ev.scenario));
        const f: ScenarioResult['failures'][number] = { message: ev.message };
        if ('expected' in ev) f.expected = ev.expected;
        if ('actual' in ev) f.actual = ev.actual;
        r?.failures.push(f);
        break;
      }
      case 'metric': {
        const m: ScenarioResult['metrics'][number] = { name: ev.name, value: ev.value, unit: ev.unit };
        if (Array.isArray(ev.samples) && ev.samples.length > 0) m.samples = ev.samples.slice(0, MAX_METRIC_SAMPLES);
        this.current.get(key(ev.suite, ev.scenario))?.metrics.push(m);
        break;
      }
      case 'counters':
        this.counters.push({ label: ev.label, values: ev.values });
        break;
      case 'features':
        this.features = ev.features;
        break;
      case 'suite-skip':
        this.scenarios.push({ suite: ev.suite, name: SUITE_SKIPPED, status: 'skip', durationMs: 0, reason: ev.reason, failures: [], metrics: [] });
        break;
      case 'orphans': {
        const r = this.current.get(key(ev.suite, ev.scenario));
        if (r) r.orphans = { scanned: ev.scanned, found: ev.found };
        break;
      }
      case 'scenario-end': {
        const k = key(ev.suite, ev.scenario);
        const r = this.current.get(k) ?? { suite: ev.suite, name: ev.scenario, status: ev.status, durationMs: 0, failures: [], metrics: [] };
        r.status = ev.status;
        r.durationMs = ev.durationMs;
        if (ev.reason !== undefined) r.reason = ev.reason;
        this.current.delete(k);
        this.scenarios.push(r);
        break;
      }
      case 'run-end':
        this.runEnded = true;
        break;
      default:
        break;
    }
  }

  /** Scenarios that started and never ended become errors with this reason. */
  finish(reason: string): ScenarioResult[] {
    for (const r of this.current.values()) {
      r.status = 'error';
      r.reason = reason;
      this.scenarios.push(r);
    }
    this.current.clear();
    return this.scenarios;
  }
}

function xmlEscape(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    // XML 1.0 cannot carry most control characters, even escaped.
    // eslint-disable-next-line no-control-regex
    .replace(/[\x00-\x08\x0b\x0c\x0e-\x1f]/g, '');
}

function secs(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

function show(v: unknown): string {
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** JUnit XML: one testsuite per job, one testcase per scenario plus one for the job's verdict. */
export function junitXml(run: RunRecord): string {
  const out: string[] = ['<?xml version="1.0" encoding="UTF-8"?>'];
  let tests = 0;
  let failures = 0;
  let errors = 0;
  let skipped = 0;
  const suites: string[] = [];
  for (const job of run.jobs) {
    const cases: string[] = [];
    let jf = 0;
    let je = 0;
    let js = 0;
    for (const s of job.scenarios) {
      const name = `name="${xmlEscape(s.name)}" classname="${xmlEscape(`${job.id}.${s.suite}`)}" time="${secs(s.durationMs)}"`;
      if (s.status === 'pass') cases.push(`    <testcase ${name}/>`);
      else if (s.status === 'skip') {
        js++;
        cases.push(`    <testcase ${name}><skipped message="${xmlEscape(s.reason ?? '')}"/></testcase>`);
      } else {
        const details = s.failures
          .map((f) => `${f.message}${'expected' in f ? `\n  expected: ${show(f.expected)}\n  actual:   ${show(f.actual)}` : ''}`)
          .join('\n');
        const tag = s.status === 'fail' ? 'failure' : 'error';
        if (tag === 'failure') jf++;
        else je++;
        const msg = s.reason ?? s.failures[0]?.message ?? s.status;
        cases.push(`    <testcase ${name}><${tag} message="${xmlEscape(msg)}">${xmlEscape(details)}</${tag}></testcase>`);
      }
    }
    // The job's own verdict, so build, boot and splat failures show up too.
    const v = job.verdict ?? 'infra-error';
    const jname = `name="verdict" classname="${xmlEscape(job.id)}" time="${secs(job.wallMs)}"`;
    const reason = xmlEscape(`${v}: ${job.reason ?? ''}`);
    if (v === 'pass') cases.push(`    <testcase ${jname}/>`);
    else if (v === 'skip') {
      js++;
      cases.push(`    <testcase ${jname}><skipped message="${reason}"/></testcase>`);
    } else {
      const body = [...job.problems, ...job.splats.map((s) => s.text), ...blamedKmemleak(job.leaks)].join('\n\n');
      if (v === 'fail') {
        jf++;
        cases.push(`    <testcase ${jname}><failure message="${reason}">${xmlEscape(body)}</failure></testcase>`);
      } else {
        je++;
        cases.push(`    <testcase ${jname}><error type="${v}" message="${reason}">${xmlEscape(body)}</error></testcase>`);
      }
    }
    const n = job.scenarios.length + 1;
    tests += n;
    failures += jf;
    errors += je;
    skipped += js;
    suites.push(
      `  <testsuite name="${xmlEscape(job.id)}" tests="${n}" failures="${jf}" errors="${je}" skipped="${js}" time="${secs(job.wallMs)}">`,
      '    <properties>',
      `      <property name="kernel" value="${xmlEscape(job.kernel.release ?? job.kernel.id)}"/>`,
      `      <property name="verdict" value="${xmlEscape(v)}"/>`,
      '    </properties>',
      ...cases,
      '  </testsuite>',
    );
  }
  out.push(
    `<testsuites name="nexus-lab ${xmlEscape(run.runId)}" tests="${tests}" failures="${failures}" errors="${errors}" skipped="${skipped}">`,
    ...suites,
    '</testsuites>',
    '',
  );
  return out.join('\n');
}

function fmtSecs(ms: number | undefined): string {
  return ms === undefined ? '-' : `${(ms / 1000).toFixed(1)} s`;
}

/** A plain-text table: a header, a rule, the rows; columns in `right` are right-aligned. */
function textTable(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: string[]) => r.map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ').trimEnd();
  return [fmt(header), fmt(widths.map((w) => '-'.repeat(w))), ...rows.map(fmt)].join('\n');
}

/** The summary table printed at the end of a run. */
export function summaryTable(run: RunRecord): string {
  const header = ['job', 'kernel', 'verdict', 'passed', 'failed', 'boot', 'wall', 'reason'];
  const rows = run.jobs.map((j) => {
    const passed = j.scenarios.filter((s) => s.status === 'pass').length;
    const failed = j.scenarios.filter((s) => s.status === 'fail' || s.status === 'error').length;
    const reason = j.verdict === 'pass' ? '' : (j.reason ?? '');
    return [
      j.id,
      j.kernel.release ?? j.kernel.id,
      j.verdict ?? j.phase,
      String(passed),
      String(failed),
      fmtSecs(j.boot?.bootToSshMs),
      fmtSecs(j.wallMs),
      reason.length > 70 ? `${reason.slice(0, 67)}...` : reason,
    ];
  });
  return textTable(header, rows);
}

/** A metric value as printed: integers as they are, others with at most 3 decimals. */
export function fmtMetric(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

/**
 * The metrics of every job's scenarios, one row each (job, suite/scenario,
 * metric, value, unit), values right-aligned; undefined when no job has any.
 */
export function metricsTable(run: RunRecord): string | undefined {
  const rows: string[][] = [];
  for (const j of run.jobs) {
    for (const s of j.scenarios) {
      for (const m of s.metrics) rows.push([j.id, `${s.suite}/${s.name}`, m.name, fmtMetric(m.value), m.unit]);
    }
  }
  if (rows.length === 0) return undefined;
  return textTable(['job', 'scenario', 'metric', 'value', 'unit'], rows, new Set([3]));
}

export function summarize(jobs: readonly JobRecord[]): NonNullable<RunRecord['summary']> {
  const verdicts: Partial<Record<Verdict, number>> = {};
  for (const j of jobs) {
    const v = j.verdict ?? 'infra-error';
    verdicts[v] = (verdicts[v] ?? 0) + 1;
  }
  return { total: jobs.length, verdicts, ok: jobs.length > 0 && jobs.every((j) => j.verdict === 'pass') };
}
