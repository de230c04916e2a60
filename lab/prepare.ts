// What every kind of run (nexus-lab run, nexus-lab bench) prepares before its
// jobs, and how it keeps its record on disk: the record's saver and phase
// timer, QEMU's version, the kernels (resolved, then fetched), the quick
// rootfs and the accelerator.  Each part reports its failure to the caller,
// which decides which jobs it fails.
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { ensureDebugKernel } from './debug-kernel.js';
import { ensureRootfs, type Rootfs } from './images.js';
import { fetchKernel, resolveKernels, type KernelSpec, type KernelTree, type ResolvedKernel } from './kernels.js';
import type { JobContext } from './job.js';
import type { Job } from './plan.js';
import type { ProgressSink } from './progress.js';
import { writeJsonAtomic, type JobRecord, type RunRecord } from './results.js';
import { generateKeyPair, type KeyPair } from './remote.js';
import { probeAccel, qemuVersion, QEMU, type AccelChoice } from './vm.js';

export interface RecordFile {
  /** Write the record (serialized: the file always holds the latest complete state). */
  save(): Promise<void>;
  /** Run `fn` and keep its wall time as `phases[name]`, then save. */
  timed<T>(name: string, fn: () => Promise<T>): Promise<T>;
}

export function recordFile(path: string, record: { phases: Record<string, number> }): RecordFile {
  let saving: Promise<void> = Promise.resolve();
  const save = () => {
    saving = saving.then(() => writeJsonAtomic(path, record)).catch(() => undefined);
    return saving;
  };
  const timed = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const t = Date.now();
    try {
      return await fn();
    } finally {
      record.phases[name] = Date.now() - t;
      await save();
    }
  };
  return { save, timed };
}

/** A job's record before it starts. */
export function newJobRecord(job: Job): JobRecord {
  return {
    id: job.id,
    kernel: { id: job.kernel.id },
    profile: job.profile,
    suites: job.suites,
    cpus: job.cpus,
    phase: 'queued',
    phases: {},
    scenarios: [],
    splats: [],
    counters: [],
    problems: [],
    files: {},
  };
}

/** QEMU's binary and version, or why it cannot be used. */
export async function probeQemu(): Promise<NonNullable<RunRecord['qemu']> | Error> {
  try {
    return { binary: QEMU, version: await qemuVersion() };
  } catch (e) {
    return new Error(`QEMU is not usable: ${(e as Error).message}`);
  }
}

export interface PreparedKernels {
  /** Per kernel id, its fetched tree or why it could not be had. */
  trees: Map<string, KernelTree | Error>;
  resolved: Map<string, ResolvedKernel>;
}

/**
 * Resolve and fetch these kernels (each once, in parallel), telling progress;
 * `onResolved` runs for each one resolved, before its fetch.
 */
export async function prepareKernels(
  wanted: readonly KernelSpec[],
  cacheDir: string,
  signal: AbortSignal,
  progress: ProgressSink,
  onResolved: (rk: ResolvedKernel, spec: KernelSpec) => void,
): Promise<PreparedKernels> {
  const specs = [...new Map(wanted.map((k) => [k.id, k])).values()];
  const trees = new Map<string, KernelTree | Error>();
  const resolvedById = new Map<string, ResolvedKernel>();
  progress.step(`resolving ${specs.map((s) => s.id).join(', ')}`);
  const resolved = await resolveKernels(specs, signal).catch((e: Error) => new Map(specs.map((s) => [s.id, e])));
  await Promise.all(
    specs.map(async (spec) => {
      try {
        const rk = resolved.get(spec.id) ?? new Error('not resolved');
        if (rk instanceof Error) throw rk;
        const say = (s: string) => progress.step(`kernel ${spec.id}: ${s}`);
        if (!spec.build) {
          resolvedById.set(spec.id, rk);
          onResolved(rk, spec);
        }
        const base = await fetchKernel(rk, cacheDir, signal, say);
        const tree = spec.build ? await buildKernel(spec.build, rk, base, cacheDir, signal, say) : base;
        if (spec.build) {
          // Known by its own release and version once built.
          const built = { ...rk, release: tree.release, version: tree.version };
          resolvedById.set(spec.id, built);
          onResolved(built, spec);
        }
        say(`${tree.release} ${tree.version}${tree.cached ? ' (cached)' : ''}`);
        trees.set(spec.id, tree);
      } catch (e) {
        trees.set(spec.id, e as Error);
        progress.step(`kernel ${spec.id}: FAILED: ${(e as Error).message}`);
      }
    }),
  );
  return { trees, resolved: resolvedById };
}

/** A kernel the lab builds from source on top of its packaged base (lab/debug-kernel.ts). */
function buildKernel(
  build: NonNullable<KernelSpec['build']>,
  base: ResolvedKernel,
  baseTree: KernelTree,
  cacheDir: string,
  signal: AbortSignal,
  say: (s: string) => void,
): Promise<KernelTree> {
  const jobs = availableParallelism();
  return ensureDebugKernel({ base, baseTree, ...build, cacheDir, jobs, signal, onStep: say });
}

/** The quick profile's rootfs (built once per recipe, then cached); throws why not. */
export async function prepareRootfs(root: string, cacheDir: string, signal: AbortSignal, progress: ProgressSink): Promise<Rootfs> {
  const rootfs = await ensureRootfs({
    recipePath: join(root, 'images', 'rootfs.json'),
    overlayDir: join(root, 'images', 'guest', 'rootfs'),
    cacheDir,
    signal,
    onStep: (s) => progress.step(`rootfs: ${s}`),
  });
  progress.step(`rootfs ${rootfs.hash}: ${(rootfs.sizeBytes / (1 << 20)).toFixed(0)} MiB${rootfs.cached ? ' (cached)' : ''}`);
  return rootfs;
}

/** The accelerator, probed with the first kernel that could be had (undefined: none could). */
export async function prepareAccel(
  kernels: Map<string, KernelTree | Error>,
  workDir: string,
  want: 'auto' | 'kvm' | 'tcg',
  signal: AbortSignal,
  progress: ProgressSink,
): Promise<AccelChoice | undefined> {
  const probeKernel = [...kernels.values()].find((k): k is KernelTree => !(k instanceof Error));
  if (!probeKernel) return undefined;
  const accel = await probeAccel(probeKernel.vmlinuz, workDir, want, signal);
  progress.step(`accelerator: ${accel.used} (${accel.reason})`);
  return accel;
}

/**
 * The rootfs (when `rootfsNeeded`) and then the accelerator, each timed as a
 * phase and kept in the record; the first failure is returned, not thrown.
 */
export async function prepareGuests(
  record: Pick<RunRecord, 'image' | 'accel'>,
  file: RecordFile,
  o: { root: string; cacheDir: string; workDir: string; accel: 'auto' | 'kvm' | 'tcg'; rootfsNeeded: boolean },
  kernels: Map<string, KernelTree | Error>,
  signal: AbortSignal,
  progress: ProgressSink,
): Promise<{ rootfs?: Rootfs; error?: Error }> {
  let rootfs: Rootfs | undefined;
  try {
    if (o.rootfsNeeded) {
      rootfs = await file.timed('rootfs', () => prepareRootfs(o.root, o.cacheDir, signal, progress));
      record.image = { recipeHash: rootfs.hash, sizeBytes: rootfs.sizeBytes, cached: rootfs.cached };
    }
    const accel = await file.timed('accel', () => prepareAccel(kernels, o.workDir, o.accel, signal, progress));
    if (accel) record.accel = accel;
    return rootfs ? { rootfs } : {};
  } catch (e) {
    return { ...(rootfs ? { rootfs } : {}), error: e as Error };
  }
}

/** A run that failed as a whole: every job still without a verdict gets the reason. */
export function failUnfinished(record: { error?: string; jobs: JobRecord[] }, e: Error): void {
  record.error = e.message;
  for (const j of record.jobs.filter((x) => x.verdict === undefined)) {
    j.verdict = 'infra-error';
    j.reason = record.error;
    j.phase = 'done';
  }
}

/** What a quick-profile command (bench, shell, exec) has once its guests can boot. */
export interface QuickPrepared {
  /** Why no job can run (QEMU, the rootfs or the accelerator failed, or Ctrl-C). */
  shared?: Error;
  rootfs?: Rootfs;
  kernels: Map<string, KernelTree | Error>;
  keys: KeyPair;
  accel: NonNullable<RunRecord['accel']>;
}

/**
 * Everything before the jobs of a command whose guests are all quick ones:
 * QEMU, the jobs' kernels (each job record learns its kernel's exact
 * release), the rootfs, the accelerator and the run's SSH key.
 */
export async function prepareQuickGuests(
  record: Pick<RunRecord, 'qemu' | 'kernels' | 'image' | 'accel'> & { jobs: JobRecord[] },
  file: RecordFile,
  jobs: readonly Job[],
  o: { root: string; cacheDir: string; workDir: string; accel: 'auto' | 'kvm' | 'tcg'; runId: string },
  signal: AbortSignal,
  progress: ProgressSink,
): Promise<QuickPrepared> {
  let shared: Error | undefined;
  let rootfs: Rootfs | undefined;
  let kernels = new Map<string, KernelTree | Error>();
  const qemu = await probeQemu();
  if (qemu instanceof Error) shared = qemu;
  else record.qemu = qemu;
  await file.timed('kernels', async () => {
    ({ trees: kernels } = await prepareKernels(jobs.map((j) => j.kernel), o.cacheDir, signal, progress, (rk, spec) => {
      record.kernels.push(rk);
      for (const j of record.jobs.filter((x) => x.kernel.id === spec.id)) {
        j.kernel = { id: spec.id, release: rk.release, version: rk.version };
      }
    }));
  });
  if (!shared) {
    const g = await prepareGuests(record, file, { ...o, rootfsNeeded: true }, kernels, signal, progress);
    rootfs = g.rootfs;
    shared = g.error;
  }
  if (signal.aborted) shared ??= new Error(`interrupted (${String(signal.reason)})`);
  const accel = record.accel ?? { used: 'tcg' as const, reason: 'not probed', probeMs: 0 };
  return { ...(shared ? { shared } : {}), ...(rootfs ? { rootfs } : {}), kernels, keys: generateKeyPair(`nexus-lab-${o.runId}`), accel };
}

/** A quick job's context: what prepareQuickGuests made, for this job's kernel, plus what the command sets. */
export function quickJobContext(
  p: QuickPrepared,
  job: Job,
  rest: Omit<JobContext, 'rootfs' | 'accel' | 'kernel' | 'sharedError' | 'keys'>,
): JobContext {
  return {
    ...rest,
    ...(p.rootfs ? { rootfs: p.rootfs } : {}),
    accel: p.accel,
    kernel: p.kernels.get(job.kernel.id) ?? new Error('kernel not prepared'),
    ...(p.shared ? { sharedError: p.shared } : {}),
    keys: p.keys,
  };
}
