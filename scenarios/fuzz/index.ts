// fuzz: every /dev/nexus, /dev/nexus_area and /dev/nexus_node_monitor ioctl
// (ports, semaphores, threads, areas, capability messages, vrefs, watches)
// with hostile arguments - ids live, dead and predicted,
// other processes' threads and threads being born and dying, boundary
// values, NULL, unmapped, read-only and kernel-half pointers, names without
// a NUL, descriptors that are no memfd (hugetlb, read-only, sealed, closed,
// a pipe, the devices), huge and negative sizes, wrong ioctl numbers, short
// timeouts; vref keys of the caller's, of other teams', flipped and random,
// open modes that ask for more than the vref was made with, watch flags
// outside the ABI's, nodes that are no file (pipes, sockets, the devices
// themselves), caps naming vrefs the writer holds no slot in, 1025 and
// SIZE_MAX caps - from several processes (teams) at once, some SIGKILLed
// mid-call and replaced, while a churner process creates, renames, unlinks,
// chmods, truncates and sets xattrs in the watched directory and mounts and
// unmounts a tmpfs in it, so that events flow into listener ports (some of
// capacity 1, never read: the backlog fills and drops)
// (scenarios/native/nexus-fuzz.c does the calling; ./model.ts reads what it
// says).
//
// Passes only when nexus-fuzz found nothing wrong (no broken rule - a clone
// mapped beyond its protection, an area request whose return value and ret
// disagree, a vref key that is no slot of the caller's accepted, a vref
// opened with more access than it was made with, an OPEN that left a
// descriptor behind when it failed, a watch with flags outside the ABI
// accepted, a node monitor message that is no well-formed KMessage with its
// opcode's fields, ... -, no worker crashed or unkillable, no object left to
// a dead team), the run reached past the argument checks (areas created,
// cloned and mapped; threads registered, waited for, received from; vrefs
// created, acquired, opened, released, sent and received in messages,
// watches started and stopped, events read), no nexus-fuzz
// process is left (none in D state), the Nexus counters are back to their
// baseline (when the tree has them) and the kernel logged no splat.
//
// Parameters: fuzz.calls (--fuzz-calls), fuzz.seed (printed at the start of
// every run: the same seed replays the same call sequence per worker; when
// the kills land is timing and is not replayed), fuzz.workers (default 2 per
// vCPU), fuzz.kill_ms, fuzz.deadline (seconds).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ctx, Suite } from '../runner/api.js';
import { NEXUS_DEVICE } from '../lib/guest.js';
import { KernelLog } from '../lib/kmsg.js';
import { checkNativeSummary, runNative, type NativeRun } from '../lib/proc.js';
import { checkCountersBack, checkNoLeftovers, countersBaseline, kernelSplats } from '../lib/storm.js';
import {
  callRate,
  fuzzArgs,
  fuzzOptions,
  ioctlTable,
  parseFuzzSummary,
  summaryProblems,
  unreached,
  untried,
  type FuzzOptions,
  type FuzzSummary,
} from './model.js';

const FUZZ = fileURLToPath(new URL('../native/nexus-fuzz', import.meta.url));
const AREA_DEVICE = '/dev/nexus_area';
const NM_DEVICE = '/dev/nexus_node_monitor';
const COMM = 'nexus-fuzz';
/** After its deadline nexus-fuzz reaps (30 s at most), scans and reports: room for that. */
const SLACK_MS = 60_000;
/** How long the workers get to disappear, the counters to settle. */
const SETTLE_MS = 15_000;
/**
 * The runner's deadline for the scenario.  The real ones are inside:
 * nexus-fuzz's own (fuzz.deadline, which grows with fuzz.calls) plus
 * SLACK_MS, and the lab's runner deadline (the suite's budgetMs, scaled).
 */
const TIMEOUT_MS = 6 * 3600_000;

function options(ctx: Ctx): FuzzOptions | undefined {
  try {
    return fuzzOptions((name, fallback) => ctx.param(name, fallback), ctx.cpus);
  } catch (e) {
    ctx.check(false, (e as Error).message);
    return undefined;
  }
}

function announce(ctx: Ctx, o: FuzzOptions): void {
  process.stderr.write(`fuzz: seed ${o.seed} (replay: --param fuzz.seed=${o.seed}), ${o.calls} calls, ` +
    `${o.workers} workers on ${ctx.cpus} vCPU(s), a kill every 1..${o.killMs} ms, deadline ${o.deadlineS} s\n`);
  if (ctx.cpus < 2) process.stderr.write('fuzz: one vCPU: the workers take turns, so create/delete races cannot happen here\n');
  ctx.metric('seed', o.seed, 'seed');
  ctx.metric('workers', o.workers, 'processes');
  ctx.metric('vcpus', ctx.cpus, 'cpus');
}

/** nexus-fuzz ended in time by itself and printed its summary. */
function checkRun(ctx: Ctx, run: NativeRun, o: FuzzOptions): FuzzSummary | undefined {
  return checkNativeSummary(ctx, run, {
    name: COMM,
    deadlineS: o.deadlineS,
    slackMs: SLACK_MS,
    codes: [0, 1],
    ran: 'runs to its summary (exit status 0 or 1)',
  }, parseFuzzSummary);
}

function checkSummary(ctx: Ctx, s: FuzzSummary, run: NativeRun): void {
  const problems = summaryProblems(s);
  ctx.check(problems.length === 0, `nexus-fuzz finds nothing wrong (seed ${s.seed})`, 'nothing', problems.slice(0, 20));
  ctx.check(run.code === 0 || problems.length > 0, 'nexus-fuzz exits 0 when it reports nothing wrong', 0, run.code);
  ctx.check(s.spawned > 0 && s.calls > 0, 'the workers made calls', '> 0', { spawned: s.spawned, calls: s.calls });
  const never = untried(s);
  if (s.calls >= 100 * Object.keys(s.ioctls).length)
    ctx.check(never.length === 0, 'every ioctl of the table was called', 'none untried', never);
  const areas = existsSync(AREA_DEVICE);
  if (!areas) process.stderr.write(`fuzz: ${AREA_DEVICE} is missing: the area ioctls were only tallied (ENODEV)\n`);
  const nodeMonitor = existsSync(NM_DEVICE);
  if (!nodeMonitor) process.stderr.write(`fuzz: ${NM_DEVICE} is missing: the vref and watch ioctls were only tallied (ENODEV)\n`);
  const missed = unreached(s, { areas, nodeMonitor });
  ctx.check(missed.length === 0, 'the calls reached past the argument checks (areas created, cloned, mapped; threads registered, waited for, received from; vrefs, caps and watches used, events read)',
    'all reached', missed);
  if (s.deadline_hit)
    process.stderr.write(`fuzz: the deadline came first: ${s.calls} of ${s.target_calls} calls made\n`);
}

function record(ctx: Ctx, s: FuzzSummary): void {
  ctx.metric('calls', s.calls, 'calls');
  ctx.metric('calls-per-s', callRate(s), 'calls/s');
  ctx.metric('fuzz-wall', s.wall_ms, 'ms');
  ctx.metric('teams-spawned', s.spawned, 'teams');
  ctx.metric('killed', s.killed, 'processes');
  ctx.metric('killed-mid-call', s.killed_mid_call, 'processes');
  if (s.newborns !== undefined) ctx.metric('newborn-threads', s.newborns, 'threads');
  if (s.clone_maps !== undefined) ctx.metric('clones-mapped', s.clone_maps, 'mappings');
  if (s.nm) {
    ctx.metric('nm-events-read', s.nm.events, 'messages');
    ctx.metric('nm-dropped-markers', s.nm.by_opcode.dropped ?? 0, 'messages');
    ctx.metric('caps-minted', s.nm.caps_minted, 'slots');
    ctx.metric('churn-ops', s.nm.churn_ops, 'operations');
    ctx.metric('churn-mounts', s.nm.mounts, 'mounts');
  }
  process.stderr.write(`fuzz: ${s.calls} calls in ${s.wall_ms} ms (${callRate(s)}/s), ${s.spawned} workers started, ` +
    `${s.killed} killed (${s.killed_mid_call} mid-call), ${s.reopens} reopens, ${s.eperm_checks} calls on an inherited descriptor; ` +
    `newborn threads ${s.newborns ?? '-'} (${s.newborns_registered ?? '-'} registered, ${s.newborns_resumed ?? '-'} resumed by their spawner); ` +
    `clones mapped ${s.clone_maps ?? '-'} (${s.sigbus ?? '-'} touches met SIGBUS); ` +
    `node monitor ${s.nm ? JSON.stringify(s.nm) : '-'}\n` +
    `${ioctlTable(s)}\n`);
}

function checkKernelLog(ctx: Ctx, log: KernelLog): void {
  const splats = kernelSplats(log.splats());
  ctx.check(splats.length === 0, 'the kernel logs no splat (BUG, WARNING, refcount_t, list corruption, general protection, ...)',
    'none', splats.slice(0, 10));
}

export const suite: Suite = {
  name: 'fuzz',
  scenarios: [
    {
      name: 'hostile-ioctls',
      timeoutMs: TIMEOUT_MS,
      async run(ctx) {
        if (!existsSync(NEXUS_DEVICE)) ctx.skip(`${NEXUS_DEVICE} is missing: no Nexus module loaded`);
        if (!ctx.check(existsSync(FUZZ), `nexus-fuzz is installed at ${FUZZ}`)) return;
        const o = options(ctx);
        if (!o) return;
        announce(ctx, o);
        const base = countersBaseline(ctx);
        const log = KernelLog.mark();
        const run = await runNative(ctx, FUZZ, fuzzArgs(o, process.pid), o.deadlineS * 1000 + SLACK_MS);
        if (run.code === 3) ctx.skip(`nexus-fuzz could not open ${NEXUS_DEVICE}`);
        const s = checkRun(ctx, run, o);
        if (s) {
          record(ctx, s);
          checkSummary(ctx, s, run);
        }
        await checkNoLeftovers(ctx, COMM, SETTLE_MS);
        await checkCountersBack(ctx, base, SETTLE_MS);
        checkKernelLog(ctx, log);
      },
    },
  ],
};
