// races: requests that race deletes and team teardowns from two CPUs at once
// (issue 7: create vs delete, find vs delete, info during teardown; issue 8:
// thread exit vs send_data and wait_for_thread, team teardown vs area clone,
// transfer and resize, resize vs touching a mapping; issue 9: STOP_NOTIFYING
// and STOP_WATCHING vs events being delivered, port deletion vs delivery,
// team exit vs READ_CAPS minting slots, vref RELEASE vs ACQUIRE and RELEASE
// of the same slot, unmount vs watches being stopped, started and killed
// with their team).  The racing parties
// are C (nexus-race: a node loop is far too slow to hit a window of a few
// hundred instructions); each scenario gives the driver a deadline, then
// checks what it found, that the race did happen, that no task is stuck in
// D state, the kernel log since the scenario began, and the counters
// (scenario(), and the thread, area and node monitor counters here).
//
// Parameters: races.seconds (each driver's run, default 8), races.rounds
// (its rounds at most, default unbounded: the time decides),
// races.teardown.sems and races.teardown.ports (each victim team's objects),
// races.areas (each area victim's areas), races.pages (the resized area's).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ctx, Suite } from '../runner/api.js';
import { treeHas } from '../runner/probe.js';
import { KernelLog } from '../lib/kmsg.js';
import { checkNativeRun, runNative } from '../lib/proc.js';
import { hasCountersFile, scaled } from '../lib/guest.js';
import { need, scenario } from '../lib/nexus.js';
import { checkNewCounters } from '../lib/storm.js';
import { count, driverArgs, parseDriverOutput, rate, type Json } from './driver.js';

export const RACE_PATH = fileURLToPath(new URL('../native/nexus-race', import.meta.url));

const DEFAULT_SECONDS = 8;
const DEFAULT_ROUNDS = 100_000_000;
/** races.seconds at most: the scenario's own deadline must hold the driver's. */
const MAX_SECONDS = 480;
/**
 * A create-delete run goes on up to this many times its seconds until its
 * race has happened (nexus-race.c's RACE_EXTEND): two TCG vCPUs on a loaded
 * host may seldom run at the same moment.
 */
const RACE_EXTEND = 3;
/** Room beyond the driver's time limit for its start and its last round. */
const SLACK_MS = 20_000;
/** The runner's deadline for one scenario: the longest driver run, its slack and the clean-up. */
const TIMEOUT_MS = MAX_SECONDS * RACE_EXTEND * 1000 + 3 * SLACK_MS;

interface Limits {
  seconds: number;
  rounds: number;
}

function limits(ctx: Ctx): Limits {
  const seconds = ctx.param('races.seconds', DEFAULT_SECONDS);
  const rounds = ctx.param('races.rounds', DEFAULT_ROUNDS);
  need(ctx, Number.isInteger(seconds) && seconds >= 1 && seconds <= MAX_SECONDS,
    `races.seconds is a whole number of seconds from 1 to ${MAX_SECONDS}`, `1..${MAX_SECONDS}`, seconds);
  need(ctx, Number.isInteger(rounds) && rounds >= 1, 'races.rounds is a whole number above 0', '>= 1', rounds);
  // A slower kernel (lab.time_scale) gets as much more time to make its races
  // happen: in 8 s on 6.12-debug, loaded, team-exit-vs-read-caps' readers died
  // before they had minted one slot.
  return { seconds: Math.round(scaled(seconds * 1000) / 1000), rounds };
}

/** A race needs two CPUs to mean much: say how many it had. */
function noteCpus(ctx: Ctx): void {
  ctx.metric('vcpus', ctx.cpus, 'cpus');
  if (ctx.cpus < 2)
    process.stderr.write(`${ctx.suite}/${ctx.scenario}: only ${ctx.cpus} vCPU: the parties take turns, so a pass proves little (run with --cpus 2)\n`);
}

/**
 * Run nexus-race and check it ended in time, by itself, with its counts and
 * no anomaly; gives its counts (undefined when it printed none).
 */
async function runDriver(ctx: Ctx, args: string[], seconds: number): Promise<Json | undefined> {
  const run = await runNative(ctx, RACE_PATH, args, seconds * 1000 + SLACK_MS);
  ctx.metric('driver-wall', run.ms, 'ms');
  checkNativeRun(ctx, run, {
    name: `nexus-race ${args[0]}`,
    deadlineS: seconds,
    slackMs: SLACK_MS,
    codes: [0],
    ran: 'exits with status 0',
  });
  const out = parseDriverOutput(run.stdout);
  ctx.check(out.done !== undefined, 'nexus-race reports its counts', 'a done line', run.stdout.slice(-500));
  const n = count(out.done, 'anomalies');
  ctx.check(n === 0, 'nexus-race finds no anomaly', 0, { count: n, first: out.anomalies.slice(0, 5) });
  ctx.equal(count(out.done, 'ioctl_errors'), 0, 'no ioctl itself fails');
  return out.done;
}

/**
 * Run `fn` between a mark in the kernel log and a check that nothing was
 * logged since that looks like a splat, whatever `fn` found or threw.
 */
async function watchingKernelLog(ctx: Ctx, fn: () => Promise<void>): Promise<void> {
  const log = KernelLog.mark();
  try {
    await fn();
  } finally {
    const splats = log.splats();
    ctx.check(splats.length === 0, 'the kernel logs no splat (BUG, WARNING, refcount_t, list corruption, Oops, ...)',
      'none', splats.slice(0, 10));
  }
}

interface CreateDelete {
  kind: 'port' | 'sem';
  target: 'next' | 'find';
  party: 'thread' | 'process';
}

function createDelete(name: string, race: CreateDelete) {
  return scenario(name, async (ctx) => {
    const { seconds, rounds } = limits(ctx);
    noteCpus(ctx);
    await watchingKernelLog(ctx, async () => {
      const done = await runDriver(ctx, driverArgs('create-delete', { ...race, rounds, seconds }), seconds * RACE_EXTEND);
      if (done) createDeleteCounts(ctx, done);
    });
  }, { timeoutMs: TIMEOUT_MS });
}

function createDeleteCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'rounds') > 0, 'the creator ran rounds', '> 0', count(done, 'rounds'));
  ctx.equal(count(done, 'create_failed'), 0, 'every create returns an id');
  ctx.equal(count(done, 'foreign_deletes'), 0, "the deleter never deletes an id other than the creator's");
  // Without these the checks above held for want of a race.
  ctx.check(count(done, 'deleted_ours') > 0, "the deleter deleted some of the creator's objects", '> 0',
    count(done, 'deleted_ours'));
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'during_create') > 0, 'some of those deletes ran while the create was still in the kernel',
      '> 0', count(done, 'during_create'));
  ctx.metric('rounds', count(done, 'rounds'), 'rounds');
  ctx.metric('rounds-rate', rate(count(done, 'rounds'), count(done, 'elapsed_ms')), 'rounds/s');
  ctx.metric('deleter-calls', count(done, 'deleter_calls'), 'calls');
  ctx.metric('deleted-by-racer', count(done, 'deleted_ours'), 'objects');
  ctx.metric('deleted-during-create', count(done, 'during_create'), 'objects');
}

const infoDuringTeardown = scenario('info-during-teardown', async (ctx) => {
  const { seconds, rounds } = limits(ctx);
  const sems = ctx.param('races.teardown.sems', 400);
  const ports = ctx.param('races.teardown.ports', 100);
  noteCpus(ctx);
  await watchingKernelLog(ctx, async () => {
    const done = await runDriver(ctx, driverArgs('teardown', { rounds, seconds, sems, ports }), seconds);
    if (done) teardownCounts(ctx, done);
  });
}, { timeoutMs: TIMEOUT_MS });

function teardownCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'rounds') > 0, 'victim teams were killed', '> 0', count(done, 'rounds'));
  ctx.check(count(done, 'minus_one') === 0, 'no info request answers B_OK with team -1 for an object being torn down',
    0, done.minus_one_by_call);
  ctx.equal(count(done, 'zero'), 0, 'nor with team 0 (the victims are in our pid namespace)');
  ctx.check(count(done, 'ok') > 0, "the walker saw the victims' objects while they were killed", '> 0', count(done, 'ok'));
  ctx.metric('teams-killed', count(done, 'rounds'), 'teams');
  ctx.metric('objects-torn-down', count(done, 'objects'), 'objects');
  ctx.metric('info-calls', count(done, 'walker_calls'), 'calls');
  ctx.metric('info-rate', rate(count(done, 'walker_calls'), count(done, 'elapsed_ms')), 'calls/s');
}

// ---------------------------------------------------------------------------
// Threads and areas (issue 8)

const AREA_DEVICE = '/dev/nexus_area';

function needThreads(ctx: Ctx, base: Record<string, number>): void {
  if (!treeHas('threads', 'threads' in base)) ctx.skip('the tree has no threads: nothing to race');
}

function needAreas(ctx: Ctx): void {
  if (!existsSync(AREA_DEVICE)) ctx.skip(`${AREA_DEVICE} is missing: no nexus_area module loaded`);
}

function threadExit(name: string, party: 'thread' | 'process') {
  return scenario(name, async (ctx, base) => {
    needThreads(ctx, base);
    const { seconds, rounds } = limits(ctx);
    noteCpus(ctx);
    await watchingKernelLog(ctx, async () => {
      const done = await runDriver(ctx, driverArgs('thread-exit', { party, rounds, seconds }), seconds * RACE_EXTEND);
      if (done) threadExitCounts(ctx, done);
    });
    await checkNewCounters(ctx, base);
  }, { timeoutMs: TIMEOUT_MS });
}

function threadExitCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'rounds') > 0, 'target threads were born and ended', '> 0', count(done, 'rounds'));
  ctx.equal(count(done, 'fill_failed'), 0, "every target's mailbox was filled (so the sender had to block)");
  // Without these the checks held for want of a race.
  ctx.check(count(done, 'waiter_woken') > 0, 'some wait_for_thread calls were blocked when the thread ended, and woke',
    '> 0', count(done, 'waiter_woken'));
  ctx.check(count(done, 'sender_woken') > 0, 'some send_data calls were blocked in the full mailbox when the thread ended, and woke',
    '> 0', count(done, 'sender_woken'));
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'waiter_late') + count(done, 'sender_late') > 0, 'some of them came only after the thread had ended',
      '> 0', { waiter: count(done, 'waiter_late'), sender: count(done, 'sender_late') });
  ctx.metric('rounds', count(done, 'rounds'), 'rounds');
  ctx.metric('rounds-rate', rate(count(done, 'rounds'), count(done, 'elapsed_ms')), 'rounds/s');
  ctx.metric('woken-by-exit', count(done, 'waiter_woken') + count(done, 'sender_woken'), 'calls');
  ctx.metric('after-exit', count(done, 'waiter_late') + count(done, 'sender_late'), 'calls');
  ctx.metric('within-50us-of-exit', count(done, 'tight'), 'calls');
}

const areaTeardown = scenario('area-teardown-vs-clone-transfer-resize', async (ctx, base) => {
  needAreas(ctx);
  const { seconds, rounds } = limits(ctx);
  const areas = ctx.param('races.areas', 16);
  noteCpus(ctx);
  await watchingKernelLog(ctx, async () => {
    const done = await runDriver(ctx, driverArgs('area-teardown', { rounds, seconds, areas }), seconds * RACE_EXTEND);
    if (done) areaTeardownCounts(ctx, done);
  });
  await checkNewCounters(ctx, base);
}, { timeoutMs: TIMEOUT_MS });

function areaTeardownCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'rounds') > 0, 'victim teams were killed', '> 0', count(done, 'rounds'));
  ctx.check(count(done, 'pages_checked') > 0, "a clone mapped before the kill read its owner's pages after it", '> 0',
    count(done, 'pages_checked'));
  ctx.check(count(done, 'clone_ok_killing') > 0, 'clones made while the victim was being killed succeeded', '> 0',
    count(done, 'clone_ok_killing'));
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'clone_gone_killing') > 0, 'and others, made meanwhile, found the area gone', '> 0',
      count(done, 'clone_gone_killing'));
  ctx.check(count(done, 'transferred') > 0, 'victims transferred areas to the driver before they died', '> 0',
    count(done, 'transferred'));
  ctx.metric('teams-killed', count(done, 'rounds'), 'teams');
  ctx.metric('areas-torn-down', count(done, 'areas'), 'areas');
  ctx.metric('clones-during-kill', count(done, 'clone_ok_killing'), 'clones');
  ctx.metric('walker-rate', rate(count(done, 'walker_calls'), count(done, 'elapsed_ms')), 'calls/s');
}

function resizeTouch(name: string, party: 'thread' | 'process') {
  return scenario(name, async (ctx, base) => {
    needAreas(ctx);
    const { seconds } = limits(ctx);
    const pages = ctx.param('races.pages', 16);
    noteCpus(ctx);
    await watchingKernelLog(ctx, async () => {
      const done = await runDriver(ctx, driverArgs('resize-touch', { party, seconds, pages }), seconds * RACE_EXTEND);
      if (done) resizeTouchCounts(ctx, done);
    });
    await checkNewCounters(ctx, base);
  }, { timeoutMs: TIMEOUT_MS });
}

function resizeTouchCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'resizes') > 0, 'the owner resized the area', '> 0', count(done, 'resizes'));
  ctx.equal(count(done, 'torn'), 0, 'every read gave the byte just written, or 0 (truncated and grown back meanwhile)');
  ctx.equal(count(done, 'info_bad'), 0, "the clone's info gave a size the owner set");
  ctx.check(count(done, 'ok_high') > 0 && count(done, 'sigbus') > 0,
    'touches past the first page both succeeded and met SIGBUS (the size changed under them)', 'both > 0',
    { ok: count(done, 'ok_high'), sigbus: count(done, 'sigbus') });
  ctx.metric('resizes', count(done, 'resizes'), 'resizes');
  ctx.metric('resize-rate', rate(count(done, 'resizes'), count(done, 'elapsed_ms')), 'resizes/s');
  ctx.metric('touches', count(done, 'touches'), 'touches');
  ctx.metric('sigbus', count(done, 'sigbus'), 'touches');
}

// ---------------------------------------------------------------------------
// The node monitor (issue 9)

const NM_DEVICE = '/dev/nexus_node_monitor';

function needNodeMonitor(ctx: Ctx): void {
  if (!existsSync(NM_DEVICE)) ctx.skip(`${NM_DEVICE} is missing: no nexus_node_monitor module loaded`);
}

/** A node monitor race: the driver's mode and options, and what its counts must show. */
function nmRace(name: string, mode: string, opts: Record<string, string>, counts: (ctx: Ctx, done: Json) => void) {
  return scenario(name, async (ctx, base) => {
    needNodeMonitor(ctx);
    const { seconds, rounds } = limits(ctx);
    noteCpus(ctx);
    await watchingKernelLog(ctx, async () => {
      const done = await runDriver(ctx, driverArgs(mode, { ...opts, rounds, seconds }), seconds * RACE_EXTEND);
      if (done) {
        ctx.check(count(done, 'rounds') > 0, 'the driver ran rounds', '> 0', count(done, 'rounds'));
        counts(ctx, done);
        ctx.metric('rounds', count(done, 'rounds'), 'rounds');
        ctx.metric('rounds-rate', rate(count(done, 'rounds'), count(done, 'elapsed_ms')), 'rounds/s');
      }
    });
    await checkNewCounters(ctx, base);
  }, { timeoutMs: TIMEOUT_MS });
}

function stopVsEventsCounts(ctx: Ctx, done: Json): void {
  ctx.equal(count(done, 'after_stop'), 0, 'no event of a watch is about a file made after its stop returned');
  ctx.equal(count(done, 'stop_failed'), 0, 'every STOP_NOTIFYING and STOP_WATCHING of a live watch answers 0');
  ctx.equal(count(done, 'malformed'), 0, 'every event read is a well-formed KMessage');
  ctx.check(count(done, 'events') > 0, 'events were delivered while the watches lived', '> 0', count(done, 'events'));
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'late') > 0, 'some events were in flight across their watch\'s stop (read after it returned)', '> 0', count(done, 'late'));
  ctx.metric('events', count(done, 'events'), 'events');
  ctx.metric('events-across-stop', count(done, 'late'), 'events');
  ctx.metric('dropped', count(done, 'dropped'), 'events');
}

function portDeleteCounts(ctx: Ctx, done: Json): void {
  ctx.equal(count(done, 'malformed'), 0, 'every event read from a closed port is a well-formed KMessage');
  // The driver sees a backlog through our node_events counter: another tree's cannot be seen.
  if (hasCountersFile()) {
    ctx.check(count(done, 'with_backlog') > 0, 'ports were deleted while events waited in their backlog', '> 0', count(done, 'with_backlog'));
  } else process.stderr.write(`${ctx.suite}/${ctx.scenario}: not checked: ports deleted with a backlog (this tree has no node_events counter)\n`);
  ctx.metric('deleted-with-backlog', count(done, 'with_backlog'), 'ports');
  ctx.metric('events-read-after-close', count(done, 'events_read'), 'events');
}

function exitVsReadCapsCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'minted_rounds') > 0, 'the reader teams minted slots before they died', '> 0', count(done, 'minted_rounds'));
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'killed_in_read') > 0, 'some readers were killed inside READ_CAPS', '> 0', count(done, 'killed_in_read'));
  ctx.metric('caps-messages', count(done, 'written'), 'messages');
  ctx.metric('slots-minted', count(done, 'minted'), 'slots');
  ctx.metric('killed-in-read-caps', count(done, 'killed_in_read'), 'teams');
}

function releaseCounts(ctx: Ctx, done: Json): void {
  ctx.equal(count(done, 'bad'), 0, 'every answer is one the ABI allows, and every slot left works');
  if (ctx.cpus >= 2)
    ctx.check(count(done, 'second_won') > 0 && count(done, 'second_lost') > 0, 'the second party both won and lost the race', 'both > 0',
      { won: count(done, 'second_won'), lost: count(done, 'second_lost') });
  ctx.metric('second-won', count(done, 'second_won'), 'rounds');
  ctx.metric('second-lost', count(done, 'second_lost'), 'rounds');
}

function umountCounts(process: boolean) {
  return (ctx: Ctx, done: Json): void => {
    ctx.check(count(done, 'watched') > 0, 'the tmpfs was watched before each unmount', '> 0', count(done, 'watched'));
    ctx.check(count(done, 'umount_plain') > 0, 'plain unmounts went through under the watches (a watch pins nothing)', '> 0',
      count(done, 'umount_plain'));
    if (!process && ctx.cpus >= 2)
      ctx.check(count(done, 'starts_during_umount') > 0, 'START_WATCHING ran while the unmount was going on', '> 0',
        count(done, 'starts_during_umount'));
    ctx.metric('umounts', count(done, 'umount_plain'), 'umounts');
    ctx.metric('lazy-umounts', count(done, 'umount_lazy'), 'umounts');
    ctx.metric('unmounted-events', count(done, 'unmounted_events'), 'events');
  };
}

function attrCheckCounts(ctx: Ctx, done: Json): void {
  ctx.check(count(done, 'xattr_sets') > 0, 'xattrs of watched files were set right before their tmpfs was unmounted', '> 0', count(done, 'xattr_sets'));
  ctx.check(count(done, 'umount_plain') > 0, 'plain unmounts went through with attribute checks queued', '> 0', count(done, 'umount_plain'));
  ctx.metric('umounts', count(done, 'umount_plain') + count(done, 'umount_lazy'), 'umounts');
  ctx.metric('events', count(done, 'events'), 'events');
}

export const suite: Suite = {
  name: 'races',
  scenarios: [
    createDelete('create-vs-delete-next-port', { kind: 'port', target: 'next', party: 'thread' }),
    createDelete('create-vs-delete-next-sem', { kind: 'sem', target: 'next', party: 'thread' }),
    createDelete('create-vs-delete-across-teams', { kind: 'sem', target: 'next', party: 'process' }),
    createDelete('find-vs-delete', { kind: 'port', target: 'find', party: 'thread' }),
    infoDuringTeardown,
    threadExit('thread-exit-vs-send-and-wait', 'thread'),
    threadExit('thread-exit-vs-send-and-wait-across-teams', 'process'),
    areaTeardown,
    resizeTouch('resize-vs-touch', 'thread'),
    resizeTouch('resize-vs-touch-across-teams', 'process'),
    nmRace('stop-notifying-vs-events', 'stop-vs-events', {}, stopVsEventsCounts),
    nmRace('port-delete-vs-delivery', 'port-delete-vs-delivery', {}, portDeleteCounts),
    nmRace('team-exit-vs-read-caps', 'exit-vs-read-caps', {}, exitVsReadCapsCounts),
    nmRace('vref-release-vs-acquire', 'vref-release-vs-acquire', { how: 'acquire' }, releaseCounts),
    nmRace('vref-release-vs-release', 'vref-release-vs-acquire', { how: 'release' }, releaseCounts),
    nmRace('umount-vs-watch', 'umount-vs-watch', { party: 'thread' }, umountCounts(false)),
    nmRace('umount-vs-watcher-exit', 'umount-vs-watch', { party: 'process' }, umountCounts(true)),
    nmRace('umount-vs-attr-check', 'umount-vs-attr-check', {}, attrCheckCounts),
  ],
};
