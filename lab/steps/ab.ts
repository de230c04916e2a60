// The steps of one kernel's A/B job (nexus-lab bench): both trees built on
// the host, one initramfs carrying both module sets, one boot, then rounds
// of load A / run / unload / load B / run / unload (the order alternating
// per round), then the usual collect and poweroff.  The pipeline
// (lab/pipeline.ts) gives every step the job's deadline, Ctrl-C and the
// cleanup that ends QEMU and SSH on every path.
import { copyFile, mkdir } from 'node:fs/promises';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { abTag, schedule, type Side } from '../bench.js';
import { buildModules, type BuiltModule, type SourceTree } from '../build.js';
import { GUEST_MODULES_DIR } from '../images.js';
import { unloadCommand } from '../job.js';
import type { JobRun, Step } from '../pipeline.js';
import type { JobRecord } from '../results.js';
import { describeExec, execOk } from '../remote.js';
import { bootStep } from './boot.js';
import { uploadJobConfig } from './load.js';
import { runSuites } from './suites.js';
import { collectStep, poweroffStep } from './teardown.js';
import { buildRecord } from './build.js';
import { quickMedia } from './image.js';

/** One side's tree, and once built, its modules in load order. */
export interface AbSide {
  source: SourceTree;
  modules: BuiltModule[];
  build?: NonNullable<JobRecord['build']>;
}

/** What the A/B steps of one job share (besides the JobRun). */
export interface AbState {
  sides: Record<Side, AbSide>;
  rounds: number;
  /** The guest runner's deadline for one side's run of the suites. */
  runnerMs: number;
  /** The side whose modules are in the guest now (unloaded on every path). */
  loaded?: Side;
  /** Each side's run, in the order they ran: when it started and how long load, run and unload took. */
  runs: { round: number; side: Side; startedAt: string; loadMs: number; runMs: number; unloadMs: number; hostLoad: number }[];
}

/** The file name of a side's module in the guest (both sets share GUEST_MODULES_DIR). */
export function guestModuleFile(side: Side, name: string): string {
  return `${side}-${name}.ko`;
}

export const abBuildStep = (st: AbState): Step => ({
  name: 'build',
  run: async (s: JobRun) => {
    for (const side of ['A', 'B'] as const) {
      const file = `build-${side}.log`;
      s.rec.files[`build-${side}`] = `${s.job.id}/${file}`;
      const b = await buildModules({
        source: st.sides[side].source,
        kernel: s.kernel!,
        cacheDir: s.ctx.cacheDir,
        logPath: join(s.jobDir, file),
        timeoutMs: s.t.buildMs,
        signal: s.signal,
      });
      st.sides[side].build = buildRecord(b);
      if (side === 'A') s.rec.build = st.sides.A.build!;
      if (!b.ok) {
        if (s.signal.aborted) throw s.signal.reason;
        s.stop('buildError', `tree ${side} (${st.sides[side].source.path}) on ${s.kernel!.release}: ${b.error}`);
        return;
      }
      st.sides[side].modules = b.modules;
    }
  },
});

export const abImageStep = (st: AbState): Step => ({
  name: 'image',
  run: async (s: JobRun) => {
    // Both sets under one directory, told apart by a prefix: the initramfs
    // payload keeps a module's file name.
    const stage = join(s.work, 'ab-modules');
    await mkdir(stage, { recursive: true });
    const staged: BuiltModule[] = [];
    for (const side of ['A', 'B'] as const) {
      for (const m of st.sides[side].modules) {
        const path = join(stage, guestModuleFile(side, m.name));
        await copyFile(m.path, path);
        staged.push({ ...m, path });
      }
    }
    await quickMedia(s, staged);
  },
});

/** insmod a side's modules in load order; false (a problem recorded) when one fails. */
async function loadSide(s: JobRun, st: AbState, side: Side): Promise<boolean> {
  st.loaded = side;
  for (const m of st.sides[side].modules) {
    const res = await s.cmd(`insmod ${GUEST_MODULES_DIR}/${guestModuleFile(side, m.name)}`);
    if (!execOk(res)) {
      s.problems.push(`tree ${side}: insmod ${m.name}.ko failed: ${describeExec(res)}`);
      return false;
    }
  }
  return true;
}

/** rmmod a side's modules, dependents first; false (a problem recorded) when one stays. */
async function unloadSide(s: JobRun, st: AbState, side: Side): Promise<boolean> {
  let ok = true;
  for (const m of [...st.sides[side].modules].reverse()) {
    const res = await s.cmd(unloadCommand(m.name));
    if (!execOk(res)) {
      s.problems.push(`tree ${side}: rmmod ${m.name} failed: ${describeExec(res)}`);
      ok = false;
    }
  }
  if (ok) st.loaded = undefined;
  return ok;
}

export const abRoundsStep = (st: AbState): Step => ({
  name: 'rounds',
  when: (s) => !s.stopped && s.problems.length === 0,
  run: async (s: JobRun) => {
    await uploadJobConfig(s);
    const order = schedule(st.rounds);
    for (const [i, sides] of order.entries()) {
      const round = i + 1;
      for (const side of sides) {
        const label = `r${round}/${st.rounds} ${side}`;
        s.rec.phase = label;
        s.ctx.onPhase(s.job.id, label);
        const startedAt = new Date().toISOString();
        const t0 = Date.now();
        const problems = s.problems.length;
        if (!(await loadSide(s, st, side))) return s.halt();
        const t1 = Date.now();
        await runSuites(s, st.runnerMs, abTag(round, side));
        if (s.signal.aborted) throw s.signal.reason;
        const t2 = Date.now();
        const unloaded = await unloadSide(s, st, side);
        // The host's 1-minute load average after the run: under TCG, other
        // work on the host is what makes a side's figures jump.
        st.runs.push({ round, side, startedAt, loadMs: t1 - t0, runMs: t2 - t1, unloadMs: Date.now() - t2, hostLoad: loadavg()[0]! });
        // A runner that timed out or broke, or modules that stay, leave the
        // guest in no state to measure the other side: stop here.
        if (!unloaded || s.input.timeout !== undefined || s.problems.length > problems) return s.halt();
      }
    }
  },
});

/** Whatever side is still loaded (a failed round, a stopped job) goes, while the guest is there. */
export const abUnloadStep = (st: AbState): Step => ({
  name: 'unload',
  when: (s) => st.loaded !== undefined && s.remote !== undefined && !s.signal.aborted,
  run: async (s: JobRun) => {
    await unloadSide(s, st, st.loaded!);
  },
});

/** One kernel's A/B job: build both, one image, boot, rounds, unload, collect, poweroff. */
export function abSteps(st: AbState): Step[] {
  return [abBuildStep(st), abImageStep(st), bootStep, abRoundsStep(st), abUnloadStep(st), collectStep, poweroffStep];
}
