// Merging shard runs (nexus-lab run --shard K/N) into one run: pure data in,
// data out.  mergeProblems says why shards cannot be merged (each problem a
// sentence naming the shard and what to do); mergeRuns joins them: jobs in
// the full plan's order, summary and evidence recomputed by the functions a
// run uses, and what the shards did not share written down as notes.
import { evidenceMatrix } from './evidence.js';
import type { ResolvedKernel } from './kernels.js';
import { shard } from './plan.js';
import { summarize, type JobRecord, type RunRecord } from './results.js';

/** A shard's run record and where it was read from (its run directory). */
export interface ShardRun {
  record: RunRecord;
  dir: string;
}

export class MergeError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('\n'));
  }
}

function who(r: ShardRun): string {
  const s = r.record.shard;
  return `${r.dir} (run ${r.record.runId}${s ? `, shard ${s.index}/${s.count}` : ''})`;
}

/** Why two shard records are not of one plan, as precisely as the records tell. */
function planDifference(a: RunRecord, b: RunRecord): string {
  const ja = a.shard!.jobs.join(',');
  const jb = b.shard!.jobs.join(',');
  if (ja !== jb) return `their full plans have other jobs (${a.shard!.jobs.join(', ')} vs ${b.shard!.jobs.join(', ')})`;
  if (a.source?.hash !== b.source?.hash) return `they ran other source trees (hash ${a.source?.hash?.slice(0, 12) ?? '?'} vs ${b.source?.hash?.slice(0, 12) ?? '?'})`;
  if (JSON.stringify(a.params) !== JSON.stringify(b.params)) return `they ran with other --param values (${JSON.stringify(a.params)} vs ${JSON.stringify(b.params)})`;
  return 'the same job ids, but other kernels, suites, vCPUs, --timeout-scale or --memory';
}

/**
 * Every reason these runs cannot be merged into one run of their plan;
 * empty when they can.  Checks: each is a shard run, finished; all split
 * the same plan the same way; each shard once; none missing (a shard whose
 * slice of the plan is empty never makes a run and is not asked for); each
 * holds exactly the jobs its slice deals it.
 */
export function mergeProblems(runs: readonly ShardRun[]): string[] {
  if (runs.length === 0) return ['no shard run given: name the run directories (or run.json files) of every shard'];
  const problems: string[] = [];
  const shards = runs.filter((r) => {
    if (r.record.shard) return true;
    problems.push(`${who(r)} is not a shard run: it ran without --shard K/N (or by a lab too old to record its shard); merge takes the runs of 'nexus-lab run --shard K/N', all N of them`);
    return false;
  });
  for (const r of shards) {
    const s = r.record.shard!;
    if (r.record.status === 'running') {
      problems.push(`${who(r)} is unfinished (status 'running': still going, or its lab was killed): wait for it to end, or run shard ${s.index}/${s.count} again`);
    } else if (r.record.status === 'interrupted') {
      problems.push(`${who(r)} was interrupted: its jobs did not all run; run shard ${s.index}/${s.count} again`);
    }
  }
  if (shards.length === 0) return problems;
  const first = shards[0]!;
  const plan = first.record.shard!;
  let samePlan = true;
  for (const r of shards.slice(1)) {
    const s = r.record.shard!;
    if (s.count !== plan.count) {
      problems.push(`${who(first)} and ${who(r)} split their plans into ${plan.count} and ${s.count} shards: give the shards of one split`);
      samePlan = false;
    } else if (s.plan !== plan.plan) {
      problems.push(`${who(first)} and ${who(r)} are shards of different plans: ${planDifference(first.record, r.record)}; run every shard with the same options on the same tree`);
      samePlan = false;
    }
  }
  // Shards of several plans: which one is missing means nothing.
  if (!samePlan) return problems;
  const byIndex = new Map<number, ShardRun>();
  for (const r of shards) {
    const s = r.record.shard!;
    const other = byIndex.get(s.index);
    if (other) problems.push(`shard ${s.index}/${s.count} is given twice: ${who(other)} and ${who(r)}; give each shard once`);
    else byIndex.set(s.index, r);
  }
  const have = [...byIndex.keys()].sort((a, b) => a - b).map((i) => `${i}/${plan.count}`);
  for (let i = 1; i <= plan.count; i++) {
    const expected = shard(plan.jobs, { index: i, count: plan.count });
    const r = byIndex.get(i);
    if (!r) {
      if (expected.length > 0) {
        problems.push(`shard ${i}/${plan.count} is missing (given: ${have.join(', ')}; it has jobs ${expected.join(', ')}): run 'nexus-lab run' with the same options and --shard ${i}/${plan.count}, and merge its run too`);
      }
      continue;
    }
    const got = r.record.jobs.map((j) => j.id);
    if (got.join(',') !== expected.join(',')) {
      problems.push(`${who(r)} has jobs ${got.join(', ') || '(none)'} where its plan deals shard ${i}/${plan.count} the jobs ${expected.join(', ')}: its run.json was edited or is damaged`);
    }
  }
  return problems;
}

function differing<T>(runs: readonly ShardRun[], key: (r: RunRecord) => T | undefined, show: (v: T) => string): string | undefined {
  const shown = runs.map((r) => {
    const v = key(r.record);
    return v === undefined ? 'none' : show(v);
  });
  if (new Set(shown).size <= 1) return undefined;
  return runs.map((r, i) => `${r.record.shard!.index}/${r.record.shard!.count} ${shown[i]}`).join(', ');
}

/** Kernels of every shard, once per id and version, in the order first seen. */
function joinKernels(runs: readonly ShardRun[]): ResolvedKernel[] {
  const seen = new Map<string, ResolvedKernel>();
  for (const r of runs) for (const k of r.record.kernels) if (!seen.has(`${k.id}\0${k.version}`)) seen.set(`${k.id}\0${k.version}`, k);
  return [...seen.values()];
}

export interface MergeOptions {
  runId: string;
  command: string[];
}

/**
 * One run of the full plan from its shard runs.  Throws MergeError with
 * mergeProblems' sentences when they cannot be merged.  Phase times are the
 * sums over the shards (the time spent in all of them); startedAt is the
 * earliest shard's start, endedAt the latest shard's end.
 */
export function mergeRuns(runs: readonly ShardRun[], o: MergeOptions): RunRecord {
  const problems = mergeProblems(runs);
  if (problems.length > 0) throw new MergeError(problems);
  const sorted = [...runs].sort((a, b) => a.record.shard!.index - b.record.shard!.index);
  const first = sorted[0]!.record;
  const plan = first.shard!;
  const byId = new Map<string, JobRecord>(sorted.flatMap((r) => r.record.jobs.map((j) => [j.id, j] as const)));
  const jobs = plan.jobs.flatMap((id) => (byId.has(id) ? [byId.get(id)!] : []));

  const notes: string[] = [];
  const note = (what: string, d: string | undefined) => {
    if (d !== undefined) notes.push(`${what}: ${d}`);
  };
  note('the shards ran under different accelerators', differing(sorted, (r) => r.accel, (a) => `${a.used} (${a.reason})`));
  note('the shards ran on different hosts', differing(sorted, (r) => r.host, (h) => `${h.hostname} (${h.cpus} CPUs, ${h.memMiB} MiB, ${h.os}, node ${h.node})`));
  note('the shards ran other QEMUs', differing(sorted, (r) => r.qemu, (q) => `${q.binary} ${q.version}`));
  note('the shards booted other guest images', differing(sorted, (r) => r.image, (i) => `recipe ${i.recipeHash.slice(0, 12)}`));
  note('the shards ran other source revisions (same tree hash)', differing(sorted, (r) => r.source?.git, (g) => `${g.revision.slice(0, 12)}${g.dirty ? '+dirty' : ''}`));
  const kernels = joinKernels(sorted);
  for (const id of new Set(kernels.map((k) => k.id))) {
    const versions = kernels.filter((k) => k.id === id).map((k) => k.version);
    if (versions.length > 1) notes.push(`kernel ${id} resolved to different package versions in the shards: ${versions.join(', ')}`);
  }

  const phases: Record<string, number> = {};
  for (const r of sorted) for (const [name, ms] of Object.entries(r.record.phases)) phases[name] = (phases[name] ?? 0) + ms;
  const accels = sorted.map((r) => r.record.accel).filter((a) => a !== undefined);
  // Different accelerators: the record says TCG (the slower), the note says which shard had which.
  const accel = accels.find((a) => a.used === 'tcg') ?? accels[0];
  const ended = sorted.map((r) => r.record.endedAt).filter((e): e is string => e !== undefined).sort();
  const errors = sorted.filter((r) => r.record.error).map((r) => `shard ${r.record.shard!.index}/${plan.count}: ${r.record.error}`);

  const merged: RunRecord = {
    schema: 1,
    runId: o.runId,
    status: 'done',
    startedAt: sorted.map((r) => r.record.startedAt).sort()[0]!,
    ...(ended.length > 0 ? { endedAt: ended.at(-1)! } : {}),
    command: o.command,
    params: first.params,
    host: first.host,
    ...(first.qemu ? { qemu: first.qemu } : {}),
    ...(accel ? { accel } : {}),
    ...(first.source ? { source: first.source } : {}),
    ...(first.image ? { image: first.image } : {}),
    kernels,
    phases,
    jobs,
    summary: summarize(jobs),
    evidence: evidenceMatrix(jobs, first.source?.declares ?? []),
    merged: {
      plan: plan.plan,
      shards: sorted.map((r) => ({ index: r.record.shard!.index, count: plan.count, runId: r.record.runId, dir: r.dir })),
      notes,
    },
    ...(errors.length > 0 ? { error: errors.join('; ') } : {}),
  };
  return merged;
}
