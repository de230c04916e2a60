// Signals (issue 7, defect 4; NEXUS-ABI.md "Signals"): a blocking call
// stopped and continued, or interrupted by a signal whose handler has
// SA_RESTART, goes on waiting and keeps its original deadline; only a
// handler without SA_RESTART ends it with B_INTERRUPTED.  So Haiku code
// that takes a benaphore with acquire_sem() and does not check the result
// never runs its critical section unlocked.  Issue 8: the thread waits too -
// receive_data, wait_for_thread, send_data into a full mailbox - and
// wait_for_thread() without a timeout survives a stop and a SA_RESTART
// signal.
//
// Times are the agent's (CLOCK_MONOTONIC around its call, the clock of
// nx.systemTime()); the bounds leave hundreds of milliseconds for a slow
// TCG guest and only rest on the order of events.
import type { Ctx, Scenario } from '../runner/api.js';
import { treeHas } from '../runner/probe.js';
import { B_THREAD_RECEIVING, B_THREAD_SUSPENDED, nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import { currentWaiters, sleep, waitFor } from '../lib/guest.js';
import {
  B_INTERRUPTED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  B_TIMED_OUT,
  SETTLE_MS,
  agentCall,
  blocked,
  expectStatus,
  expectWaiters,
  need,
  newPort,
  newSem,
  returned,
  scenario,
  stillBlocked,
  type Tracked,
} from '../lib/nexus.js';
import { agentAs, checkAll, created, expectCall, stateOf } from './common.js';
import { endedPromptly, keptDeadline, type Times } from './model.js';

/** The relative timeout of the waits under test. */
const TIMEOUT_US = 2_000_000;
/** When the scenario stops or signals a blocked call, after it started to wait. */
const INTO_WAIT_MS = 300;
/** How long a stopped agent stays stopped. */
const STOPPED_MS = 700;
/** A SA_RESTART signal comes this late into the wait, so that a restarted timeout would show. */
const SIGNAL_INTO_WAIT_MS = 800;
/** Slack between the original deadline and a timeout restarted when resumed (see keptDeadline). */
const MARGIN_US = 300_000;
/** How soon an interrupted call must return. */
const PROMPT_US = 1_000_000;

/** A blocking call with a relative timeout, on a fresh object nobody will serve. */
interface Wait {
  api: string;
  /** Only where the tree has threads (a threads counter). */
  threads?: boolean;
  /**
   * The agent command that waits `timeoutUs`, on an object created for the
   * scenario (by the runner, or by the agent `a` itself: a thread of its own).
   */
  setup(ctx: Ctx, a: Agent): Promise<string>;
}

const WAITS: Wait[] = [
  {
    api: 'acquire_sem_etc',
    setup: async (ctx) => `sem_acquire ${newSem(ctx, 0, 'hx-signal')} 1 ${B_RELATIVE_TIMEOUT} ${TIMEOUT_US}`,
  },
  {
    api: 'read_port_etc',
    setup: async (ctx) => `port_read ${newPort(ctx, 1, 'hx-signal')} 64 ${B_RELATIVE_TIMEOUT} ${TIMEOUT_US}`,
  },
  {
    // The agent's own (main thread's) empty mailbox.
    api: 'receive_data_etc',
    threads: true,
    setup: async () => `thread_receive 64 ${B_RELATIVE_TIMEOUT} ${TIMEOUT_US}`,
  },
  {
    // A thread of the agent's that only receives (resumed: it never ends).
    api: 'wait_for_thread_etc',
    threads: true,
    setup: async (ctx, a) => {
      const t = await created(ctx, a, 'thread_spawn hx-signal block', 'the agent spawns a thread that only receives');
      await expectCall(ctx, a, `thread_resume ${t}`, B_OK, 'and resumes it');
      await settledIn(ctx, a, t, B_THREAD_RECEIVING, 'the thread waits for a message');
      return `thread_wait ${t} ${B_RELATIVE_TIMEOUT} ${TIMEOUT_US}`;
    },
  },
  {
    // A suspended thread of the agent's never reads: one message fills its mailbox.
    api: 'send_data_etc',
    threads: true,
    setup: async (ctx, a) => {
      const t = await created(ctx, a, 'thread_spawn hx-signal block', 'the agent spawns a thread (left suspended)');
      await settledIn(ctx, a, t, B_THREAD_SUSPENDED, 'the thread is parked until resumed');
      await expectCall(ctx, a, `thread_send ${t} 1 - ${B_RELATIVE_TIMEOUT} 0`, B_OK, "and fills the thread's mailbox");
      return `thread_send ${t} 2 - ${B_RELATIVE_TIMEOUT} ${TIMEOUT_US}`;
    },
  },
];

/**
 * Wait until a thread of the agent's is in `state` (it is then asleep in
 * the kernel, counted among the waiters, or about to be: give it a moment),
 * so that the waiters counter before the call under test is steady.
 */
async function settledIn(ctx: Ctx, a: Agent, tid: number, state: number, what: string): Promise<void> {
  let now: unknown;
  const ok = await waitFor(async () => (now = (await a.call(`thread_info ${tid}`)).state) === state, SETTLE_MS, 20);
  need(ctx, ok, what, state, now);
  await sleep(50);
}

type TimedAnswer = Times & { ret: number; caught: number };

/**
 * A root agent (its pid is the process to signal) blocked in the wait `w`
 * sets up, timed; `idle`: the waiters counter before it blocked (the wait's
 * own set-up may have left a thread of the agent's waiting).
 */
async function blockedAgent(ctx: Ctx, w: Wait, restart: boolean): Promise<{ a: Agent; pid: number; call: Tracked<Record<string, any>>; idle: number }> {
  const { a, hostPid } = await agentAs(ctx, {}, 'a root agent');
  if (restart) await expectCall(ctx, a, 'sig_restart usr2 1', B_OK, 'the agent handles SIGUSR2 with SA_RESTART');
  const line = await w.setup(ctx, a);
  const idle = currentWaiters();
  const call = agentCall(a, `timed ${line}`, 30_000);
  await blocked(ctx, idle + 1, `the agent's ${line.split(' ')[0]} blocks`);
  return { a, pid: hostPid, call, idle };
}

/** A thread wait's scenario is skipped on a tree without threads. */
function needThreads(ctx: Ctx, base: Record<string, number>, w: Wait): void {
  if (w.threads && !treeHas('threads', 'threads' in base)) ctx.skip('the tree has no threads');
}

async function answer(ctx: Ctx, call: Tracked<Record<string, any>>, what: string): Promise<TimedAnswer> {
  return (await returned(ctx, call, what, TIMEOUT_US / 1000 + 10_000)) as TimedAnswer;
}

/** SIGSTOP, check the agent is stopped, wait, SIGCONT; gives when it was continued. */
async function stopAndContinue(ctx: Ctx, pid: number): Promise<number> {
  process.kill(pid, 'SIGSTOP');
  need(ctx, await waitFor(() => stateOf(pid) === 'T', 5_000), 'the agent is stopped (state T)', 'T', stateOf(pid));
  await sleep(STOPPED_MS);
  const resumed = Number(nx.systemTime());
  process.kill(pid, 'SIGCONT');
  return resumed;
}

function stopContinue(w: Wait): Scenario {
  return scenario(`signals-stop-continue-keeps-deadline-${w.api}`, async (ctx, base) => {
    needThreads(ctx, base, w);
    const { pid, call, idle } = await blockedAgent(ctx, w, false);
    await sleep(INTO_WAIT_MS);
    const resumed = await stopAndContinue(ctx, pid);
    const r = await answer(ctx, call, `${w.api} after SIGSTOP and SIGCONT`);
    expectStatus(ctx, r.ret, B_TIMED_OUT, `${w.api}: stopped and continued, the call goes on waiting and times out`);
    checkAll(ctx, keptDeadline(r, TIMEOUT_US, resumed, MARGIN_US), w.api);
    ctx.metric(`${w.api}-elapsed`, r.elapsed_us, 'us');
    expectWaiters(ctx, idle, 'nobody waits in the call any more');
  });
}

function restartHandler(w: Wait): Scenario {
  return scenario(`signals-sa-restart-keeps-deadline-${w.api}`, async (ctx, base) => {
    needThreads(ctx, base, w);
    const { pid, call } = await blockedAgent(ctx, w, true);
    await sleep(SIGNAL_INTO_WAIT_MS);
    const signalled = Number(nx.systemTime());
    process.kill(pid, 'SIGUSR2');
    const r = await answer(ctx, call, `${w.api} after a SA_RESTART signal`);
    expectStatus(ctx, r.ret, B_TIMED_OUT, `${w.api}: after a SA_RESTART handler ran, the call goes on waiting and times out`);
    ctx.equal(r.caught, 1, `${w.api}: the handler ran once during the call`);
    checkAll(ctx, keptDeadline(r, TIMEOUT_US, signalled, MARGIN_US), w.api);
    ctx.metric(`${w.api}-elapsed`, r.elapsed_us, 'us');
  });
}

function plainHandler(w: Wait): Scenario {
  return scenario(`signals-no-sa-restart-interrupts-${w.api}`, async (ctx, base) => {
    needThreads(ctx, base, w);
    const { pid, call } = await blockedAgent(ctx, w, false);
    await sleep(INTO_WAIT_MS);
    const signalled = Number(nx.systemTime());
    process.kill(pid, 'SIGUSR1');
    const r = await answer(ctx, call, `${w.api} after a signal without SA_RESTART`);
    expectStatus(ctx, r.ret, B_INTERRUPTED, `${w.api}: a handler without SA_RESTART ends the call with B_INTERRUPTED`);
    ctx.equal(r.caught, 1, `${w.api}: the handler ran once during the call`);
    checkAll(ctx, endedPromptly(r, TIMEOUT_US, signalled, PROMPT_US), w.api);
    ctx.metric(`${w.api}-interrupted-after`, r.end_us - signalled, 'us');
  });
}

/**
 * acquire_sem() (no timeout) on a benaphore's semaphore: a stop and a
 * SA_RESTART signal leave it waiting; only the release lets it through.
 */
const benaphore = scenario('signals-benaphore-acquire-survives-stop-and-sa-restart', async (ctx, base) => {
  const s = newSem(ctx, 0, 'hx-benaphore');
  const { pid, call } = await blockedAgent(ctx, { api: 'acquire_sem', setup: async () => `sem_acquire ${s} 1 0 0` }, true);
  await sleep(INTO_WAIT_MS);
  await stopAndContinue(ctx, pid);
  await stillBlocked(ctx, call, 'acquire_sem() after SIGSTOP and SIGCONT', 500);
  process.kill(pid, 'SIGUSR2');
  await stillBlocked(ctx, call, 'acquire_sem() after a SA_RESTART signal', 500);
  expectWaiters(ctx, base.waiters! + 1, 'the acquirer still waits');
  ctx.equal(nx.getSemCount(s).count, -1, 'and still asks for its unit');
  expectStatus(ctx, nx.releaseSem(s), B_OK, 'release the benaphore');
  const r = await answer(ctx, call, 'acquire_sem()');
  expectStatus(ctx, r.ret, B_OK, 'acquire_sem() returns B_OK only once the semaphore is released');
  ctx.equal(r.caught, 1, 'the SA_RESTART handler ran during the call');
  ctx.equal(nx.getSemCount(s).count, 0, 'the acquirer holds the unit');
});

/**
 * wait_for_thread() (no timeout) on a thread of the agent's that waits for
 * a message: a stop and a SA_RESTART signal leave the wait waiting; only
 * the thread's end - once root sends it its message - lets it return.
 */
const waitForThread = scenario('signals-wait-for-thread-survives-stop-and-sa-restart', async (ctx, base) => {
  if (!treeHas('threads', 'threads' in base)) ctx.skip('the tree has no threads');
  let tid = 0;
  const w: Wait = {
    api: 'wait_for_thread',
    setup: async (c, a) => {
      // Suspended: the wait resumes it, then it waits for its message.
      tid = await created(c, a, 'thread_spawn hx-waited receive:64 return:7', 'the agent spawns a thread');
      return `thread_wait ${tid} 0 0`;
    },
  };
  const { pid, call, idle } = await blockedAgent(ctx, w, true);
  await sleep(INTO_WAIT_MS);
  await stopAndContinue(ctx, pid);
  await stillBlocked(ctx, call, 'wait_for_thread() after SIGSTOP and SIGCONT', 500);
  process.kill(pid, 'SIGUSR2');
  await stillBlocked(ctx, call, 'wait_for_thread() after a SA_RESTART signal', 500);
  expectWaiters(ctx, idle + 1, 'the waiter still waits (and the thread it waits for, resumed, waits for its message)');
  expectStatus(ctx, nx.sendDataEtc(tid, 1, Buffer.from('go'), B_RELATIVE_TIMEOUT, 1_000_000), B_OK, 'root sends the thread its message');
  const r = await answer(ctx, call, 'wait_for_thread()');
  expectStatus(ctx, r.ret, B_OK, 'wait_for_thread() returns B_OK only once the thread has ended');
  ctx.equal((r as unknown as { code: number }).code, 7, "with the thread's return code");
  ctx.equal(r.caught, 1, 'the SA_RESTART handler ran during the call');
});

export const scenarios: Scenario[] = [
  ...WAITS.map(stopContinue),
  ...WAITS.map(restartHandler),
  ...WAITS.map(plainHandler),
  benaphore,
  waitForThread,
];
