// stress: kill storms.  Thousands of teams, a few dozen alive at once, each
// creating ports, semaphores, threads and areas, writing messages, sending
// data, mapping and touching areas and blocking (forever, or with a long
// timeout) on its own and other live teams' objects - receive_data,
// wait_for_thread, send_data into a full mailbox, touching a clone's pages
// while its owner resizes it -, SIGKILLed at random moments: before it has
// created everything, while blocked, at any time, or never (those end by
// themselves).  Issue 9 adds vrefs and watches: teams create vrefs of the
// scratch directory's files and of a tmpfs's, send them in capability
// messages (blocking on full ports; a vref the team holds no slot in must
// be refused), read them back (minting slots), acquire, open and release
// them, try other teams' keys (refused), watch the directory, its files,
// the tmpfs and the volume with their own and other teams' ports, read
// events (blocking) and make them - while a churner process changes the
// directory and mounts a tmpfs in it, churns it, and unmounts it under the
// live watches and vrefs (lazily when a vref keeps it busy), again and
// again.  scenarios/native/nexus-stress.c runs the storm; ./model.ts reads
// what it says.
//
// Passes only when every team was reaped (none stuck, none crashed, none
// that should have ended by itself hanging), teams were killed while
// blocked in each of the thread waits and while touching areas (where the
// guest has them), while reading capability messages and events (where it
// has the node monitor), events were read and each was a well-formed
// KMessage, the tmpfs was mounted and unmounted under the watches, no
// nexus-stress process is left, the Nexus counters (vrefs, slots, watches,
// queued events and caps too) are
// back to their baseline (when the tree has them), unreclaimable slab is
// back within SLAB_TOLERANCE_KB of where it was, and the kernel logged no
// splat.
//
// Parameters: stress.teams (--stress-teams), stress.alive, stress.seed,
// stress.max_life_ms, stress.deadline (seconds).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ctx, Suite } from '../runner/api.js';
import { NEXUS_DEVICE, readCounters } from '../lib/guest.js';
import { KernelLog } from '../lib/kmsg.js';
import { features } from '../runner/probe.js';
import { checkNativeSummary, runNative, type NativeRun } from '../lib/proc.js';
import {
  checkCountersBack,
  checkNoLeftovers,
  countersBaseline,
  kernelSplats,
  settledSlabKb,
  slabBack,
} from '../lib/storm.js';
import {
  SLAB_TOLERANCE_KB,
  parseStressSummary,
  peakObjects,
  stressArgs,
  stressOptions,
  stormUnreached,
  stressProblems,
  teamRate,
  type StressOptions,
  type StressSummary,
} from './model.js';

const STRESS = fileURLToPath(new URL('../native/nexus-stress', import.meta.url));
const AREA_DEVICE = '/dev/nexus_area';
const NM_DEVICE = '/dev/nexus_node_monitor';
const COMM = 'nexus-stress';
/** After its deadline nexus-stress reaps (30 s at most) and reports: room for that. */
const SLACK_MS = 60_000;
const SETTLE_MS = 15_000;
/** As fuzz: the real deadlines are nexus-stress's own (growing with stress.teams) and the lab's. */
const TIMEOUT_MS = 6 * 3600_000;

function options(ctx: Ctx): StressOptions | undefined {
  try {
    return stressOptions((name, fallback) => ctx.param(name, fallback));
  } catch (e) {
    ctx.check(false, (e as Error).message);
    return undefined;
  }
}

function announce(ctx: Ctx, o: StressOptions): void {
  process.stderr.write(`stress: seed ${o.seed} (replay: --param stress.seed=${o.seed}), ${o.teams} teams, ` +
    `${o.alive} alive at once, on ${ctx.cpus} vCPU(s), deadline ${o.deadlineS} s\n`);
  ctx.metric('seed', o.seed, 'seed');
  ctx.metric('vcpus', ctx.cpus, 'cpus');
}

/** nexus-stress ended in time by itself and printed its summary. */
function checkRun(ctx: Ctx, run: NativeRun, o: StressOptions): StressSummary | undefined {
  return checkNativeSummary(ctx, run, {
    name: COMM,
    deadlineS: o.deadlineS,
    slackMs: SLACK_MS,
    codes: [0, 1],
    ran: 'runs to its summary (exit status 0 or 1)',
  }, parseStressSummary);
}

function checkSummary(ctx: Ctx, s: StressSummary, run: NativeRun, o: StressOptions): void {
  const problems = stressProblems(s);
  ctx.check(problems.length === 0, `the storm finds nothing wrong (seed ${s.seed})`, 'nothing', problems.slice(0, 20));
  ctx.check(run.code === 0 || problems.length > 0, 'nexus-stress exits 0 when it reports nothing wrong', 0, run.code);
  ctx.check(s.spawned > 0, 'the storm started teams', '> 0', s.spawned);
  const missed = stormUnreached(s, { threads: treeHasThreads(), areas: existsSync(AREA_DEVICE), nodeMonitor: existsSync(NM_DEVICE) && o.nodeMonitor !== 0 });
  ctx.check(missed.length === 0, 'teams were killed while blocked in receive_data, wait_for_thread, send_data, touching areas, reading caps and events; events flowed, the tmpfs came and went',
    'all of them', missed);
  if (s.deadline_hit)
    process.stderr.write(`stress: the deadline came first: ${s.spawned} of ${s.teams} teams started\n`);
}

/** The tree has threads: the runner's probe says so (outside the runner, its thread counter does). */
function treeHasThreads(): boolean {
  const f = features();
  if (f) return f.primitives.threads.present;
  try {
    return typeof readCounters().threads === 'number';
  } catch {
    return false;
  }
}

function record(ctx: Ctx, s: StressSummary): void {
  ctx.metric('teams', s.spawned, 'teams');
  ctx.metric('teams-per-s', teamRate(s), 'teams/s');
  ctx.metric('storm-wall', s.wall_ms, 'ms');
  ctx.metric('peak-live-objects', peakObjects(s), 'objects');
  if (typeof s.peak.waiters === 'number') ctx.metric('peak-waiters', s.peak.waiters, 'threads');
  ctx.metric('killed-while-blocked', s.killed_in.blocked ?? 0, 'teams');
  ctx.metric('woken-by-death', s.waits.bad_id ?? 0, 'waits');
  process.stderr.write(`stress: ${s.spawned} teams in ${s.wall_ms} ms (${teamRate(s)}/s); fates ${JSON.stringify(s.fates)}; ` +
    `killed in ${JSON.stringify(s.killed_in)}; ${s.exited} ended by themselves; waits ended ${JSON.stringify(s.waits)}; ` +
    `peaks ${JSON.stringify(s.peak)}, ${s.peak_table_objects} published ids; created ${JSON.stringify(s.created ?? {})}; ` +
    `killed while blocked in ${JSON.stringify(s.killed_blocked_in ?? {})}\n`);
  for (const [k, n] of Object.entries(s.killed_blocked_in ?? {})) ctx.metric(`killed-blocked-in-${k}`, n, 'teams');
  if (s.nm) {
    ctx.metric('nm-events-read', s.nm.events, 'messages');
    ctx.metric('caps-sent', s.nm.caps_sent, 'messages');
    ctx.metric('caps-slots-minted', s.nm.slots_minted, 'slots');
    ctx.metric('tmpfs-umounts-under-watches', s.nm.umounts, 'umounts');
    process.stderr.write(`stress: node monitor ${JSON.stringify(s.nm)}\n`);
  }
}

async function checkSlab(ctx: Ctx, baseKb: number | undefined): Promise<void> {
  if (baseKb === undefined) {
    process.stderr.write('stress: /proc/meminfo has no SUnreclaim: slab check skipped\n');
    return;
  }
  const delta = await slabBack(baseKb, SLAB_TOLERANCE_KB, SETTLE_MS);
  ctx.metric('slab-delta', delta, 'kB');
  ctx.check(delta <= SLAB_TOLERANCE_KB, `unreclaimable slab comes back within ${SLAB_TOLERANCE_KB} kB of its value before the storm`,
    `<= ${SLAB_TOLERANCE_KB} kB more`, `${delta} kB more`);
}

function checkKernelLog(ctx: Ctx, log: KernelLog): void {
  const splats = kernelSplats(log.splats());
  ctx.check(splats.length === 0, 'the kernel logs no splat (BUG, WARNING, refcount_t, list corruption, general protection, ...)',
    'none', splats.slice(0, 10));
}

export const suite: Suite = {
  name: 'stress',
  scenarios: [
    {
      name: 'kill-storm',
      timeoutMs: TIMEOUT_MS,
      async run(ctx) {
        if (!existsSync(NEXUS_DEVICE)) ctx.skip(`${NEXUS_DEVICE} is missing: no Nexus module loaded`);
        if (!ctx.check(existsSync(STRESS), `nexus-stress is installed at ${STRESS}`)) return;
        const o = options(ctx);
        if (!o) return;
        announce(ctx, o);
        const base = countersBaseline(ctx);
        const slab = await settledSlabKb();
        const log = KernelLog.mark();
        const run = await runNative(ctx, STRESS, stressArgs(o), o.deadlineS * 1000 + SLACK_MS);
        if (run.code === 3) ctx.skip(`nexus-stress could not open ${NEXUS_DEVICE}`);
        const s = checkRun(ctx, run, o);
        if (s) {
          record(ctx, s);
          checkSummary(ctx, s, run, o);
        }
        await checkNoLeftovers(ctx, COMM, SETTLE_MS);
        await checkCountersBack(ctx, base, SETTLE_MS);
        await checkSlab(ctx, slab);
        checkKernelLog(ctx, log);
      },
    },
  ],
};
