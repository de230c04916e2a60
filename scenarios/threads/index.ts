// threads: Haiku's threads on nexus.ko (issue 8) - spawn_thread runs nothing
// until resume_thread, the one-message mailbox (blocking, FIFO of senders,
// truncation, every timeout kind, signals), wait_for_thread's exit codes,
// every way a thread or its team dies waking whoever waits on it, names and
// info, across teams with nexus-agent.  Every scenario leaves all the Nexus
// counters (threads and thread_messages included) as it found them.
import { existsSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { nx } from '../native/index.js';
import { Holder, readCounters, sleep, tells, waitFor } from '../lib/guest.js';
import {
  B_ABSOLUTE_TIMEOUT,
  B_BAD_THREAD_ID,
  B_BAD_VALUE,
  B_ERROR,
  B_INFINITE_TIMEOUT,
  B_INTERRUPTED,
  B_NAME_NOT_FOUND,
  B_NO_MEMORY,
  B_NOT_ALLOWED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  B_TIMED_OUT,
  B_WOULD_BLOCK,
  LONG_US,
  SETTLE_MS,
  agentCall,
  blocked,
  elapsedUs,
  expectBytes,
  expectFields,
  need,
  pattern,
  returned,
  startAgent,
  stillBlocked,
  track,
  type Tracked,
} from '../lib/nexus.js';
import { tx, type ReceiveResult, type WaitResult } from './api.js';
import {
  B_BAD_THREAD_STATE,
  B_THREAD_RECEIVING,
  B_THREAD_RUNNING,
  B_THREAD_SUSPENDED,
  B_THREAD_WAITING,
  NO_SUCH_THREAD,
  agentFinished,
  agentReport,
  agentSpawn,
  expectGoneThread,
  expectStatus,
  finished,
  inState,
  opDone,
  scenario,
  spawn,
  start,
  stateName,
  statusName,
} from './common.js';
import {
  NAME_KEPT,
  THREAD_IOCTLS,
  THREAD_LAYOUTS,
  THREAD_MAX_MESSAGE_SIZE,
  hex,
  keptName,
  ranNothingBeforeResume,
  servedOrder,
  asReceived,
  cstr,
  wokeWithin,
  type ThreadOp,
  type Verdict,
} from './model.js';
import { rawScenarios } from './raw.js';
import { call } from '../lib/raw.js';

const text = (s: string) => Buffer.from(s, 'latin1');
const LONG_NAME = 'thread-name-of-forty-characters-01234567';

function verdicts(ctx: Ctx, vs: Verdict[], what: string): void {
  for (const v of vs) ctx.check(v.ok, `${what}: ${v.message}`, v.expected, v.actual);
}

/** A receive by the main thread that does not block. */
const receiveNow = (bufSize: number) => tx.receiveDataEtc(bufSize, B_RELATIVE_TIMEOUT, 0);

/** Receive by the main thread, waiting at most SETTLE_MS for a message already on its way. */
const receiveSoon = (bufSize: number) => tx.receiveDataEtc(bufSize, B_RELATIVE_TIMEOUT, SETTLE_MS * 1000);

/**
 * Check a receive's result: code, sender, and the buffer of `bufSize` bytes
 * (receive_data says nothing of how many bytes it copied: the binding zeroes
 * the buffer first, so it holds the message's first bytes, then zeros).
 */
function expectReceived(
  ctx: Ctx,
  r: { status: number; sender?: number; data?: Buffer; hex?: string },
  code: number,
  sender: number,
  data: Uint8Array,
  bufSize: number,
  what: string,
): void {
  ctx.check(r.status === code, `${what}: receive_data returns the code`, code, statusName(r.status));
  ctx.equal(r.sender, sender, `${what}: the sender's thread id`);
  const got = r.data ?? Buffer.from(r.hex ?? '', 'hex');
  expectBytes(ctx, got, asReceived(data, bufSize), `${what}: the ${bufSize}-byte buffer`);
}

/** An agent's receive answer ({"ret":code,"sender":..,"hex":..}) in expectReceived's terms. */
const fromAgent = (r: Record<string, any>) => ({ status: r.ret as number, sender: r.sender as number, hex: r.hex === '-' ? '' : (r.hex as string) });

/** A call's result together with when it returned (CLOCK_MONOTONIC µs). */
function timed<T>(p: Promise<T>): Tracked<{ v: T; endUs: bigint }> {
  return track(p.then((v) => ({ v, endUs: nx.systemTime() })));
}

/** Fill `tid`'s mailbox (a message that does not block to send). */
function fill(ctx: Ctx, tid: number, code: number, what: string): void {
  expectStatus(ctx, tx.sendDataEtc(tid, code, text(`fill ${code}`), B_RELATIVE_TIMEOUT, 0), B_OK, `${what}: the first message goes in at once`);
}

/** Check (without stopping the scenario) that a thread's state is `state` now. */
function expectState(ctx: Ctx, tid: number, state: number, what: string): void {
  const r = tx.getThreadInfo(tid);
  ctx.check(r.status === B_OK && r.info?.state === state, `${what}: get_thread_info state`, stateName(state),
    r.status === B_OK ? stateName(r.info?.state) : statusName(r.status));
}

/** Whether a tid is a thread of this process right now. */
const ourThread = (tid: number) => existsSync(`/proc/self/task/${tid}`);

export const suite: Suite = {
  name: 'threads',
  scenarios: [
    scenario('spawn-suspended-until-resumed', async (ctx, base) => {
      const me = nx.gettid();
      const tid = spawn(ctx, 'suspended', [{ op: 'send', target: me, code: 11, hex: hex(text('hi')) }, { op: 'return', code: 5 }]);
      ctx.check(ourThread(tid), 'spawn_thread returns the tid of a thread of this process', 'in /proc/self/task', tid);
      const info = tx.getThreadInfo(tid);
      expectStatus(ctx, info.status, B_OK, 'get_thread_info of the newborn');
      expectFields(ctx, info.info, { thread: tid, team: process.pid, name: 'suspended', state: B_THREAD_SUSPENDED }, 'the newborn');
      if (tells(ctx, base, 'threads')) ctx.check(readCounters().threads > base.threads, 'the newborn has a thread record', `> ${base.threads}`, readCounters().threads);

      await sleep(300);
      const before = tx.threadReport(tid);
      ctx.check(!tx.hasData(me), 'after 300 ms the suspended thread has sent nothing', false, true);
      ctx.equal(tx.getThreadInfo(tid).info?.state, B_THREAD_SUSPENDED, 'it is still suspended');
      const resumeUs = nx.systemTime();
      expectStatus(ctx, tx.resumeThread(tid), B_OK, 'resume_thread');
      const w = await returned(ctx, track(tx.waitForThreadEtcAsync(tid, B_RELATIVE_TIMEOUT, LONG_US)), 'wait_for_thread');
      expectFields(ctx, w, { status: B_OK, code: 5 }, 'wait_for_thread: the function returned 5');
      verdicts(ctx, ranNothingBeforeResume(before, tx.threadReport(tid), resumeUs), 'spawn_thread');
      expectReceived(ctx, receiveNow(16), 11, tid, text('hi'), 16, 'its message, sent once resumed');

      expectStatus(ctx, tx.resumeThread(tid), B_BAD_THREAD_ID, 'resume_thread of a thread that ended');
      expectGoneThread(ctx, tid, 'the ended thread');
      ctx.check(!ourThread(tid), 'the thread is gone from the process', 'not in /proc/self/task', tid);
    }),

    scenario('resume-states', async (ctx) => {
      for (const id of [NO_SUCH_THREAD, 0, -1])
        expectStatus(ctx, tx.resumeThread(id), B_BAD_THREAD_ID, `resume_thread(${id})`);
      const me = nx.gettid();
      expectStatus(ctx, tx.resumeThread(me), B_BAD_THREAD_STATE, 'resume_thread of the running main thread');

      const rx = start(ctx, 'resume-receiver', [{ op: 'receive', bufSize: 16, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 1 }]);
      await inState(ctx, rx, B_THREAD_RECEIVING, 'the resumed thread blocks in receive_data');
      expectStatus(ctx, tx.resumeThread(rx), B_BAD_THREAD_STATE, 'resume_thread of a thread blocked in receive_data');
      ctx.equal(tx.threadReport(rx)?.results.length, 0, 'the second resume did not wake its receive');

      // Twice in a row: the second finds the thread no longer suspended.
      const twice = spawn(ctx, 'resumed-twice', [{ op: 'sleep', us: 500_000 }, { op: 'return', code: 2 }]);
      expectStatus(ctx, tx.resumeThread(twice), B_OK, 'the first resume_thread');
      expectStatus(ctx, tx.resumeThread(twice), B_BAD_THREAD_STATE, 'a second resume_thread right after');
      await inState(ctx, twice, B_THREAD_RUNNING, 'the thread sleeping outside Nexus');
      const w = await returned(ctx, track(tx.waitForThreadEtcAsync(twice, B_RELATIVE_TIMEOUT, LONG_US)), 'wait_for_thread');
      expectFields(ctx, w, { status: B_OK, code: 2 }, 'resumed once, it ran once');

      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, tx.resumeThread(h.pid), B_BAD_THREAD_ID, 'resume_thread of a process that is no team');
      expectStatus(ctx, tx.sendData(rx, 0, new Uint8Array(0)), B_OK, 'end the receiver');
      expectFields(ctx, await returned(ctx, track(tx.waitForThreadEtcAsync(rx, B_RELATIVE_TIMEOUT, LONG_US)), 'wait'),
        { status: B_OK, code: 1 }, 'the receiver ends');
    }),

    scenario('wait-for-suspended-resumes-it', async (ctx) => {
      const tid = spawn(ctx, 'waited-newborn', [{ op: 'return', code: 9 }]);
      ctx.equal(tx.getThreadInfo(tid).info?.state, B_THREAD_SUSPENDED, 'the newborn is suspended');
      const t0 = nx.systemTime();
      const w = await returned(ctx, track(tx.waitForThreadEtcAsync(tid, B_RELATIVE_TIMEOUT, LONG_US)), 'wait_for_thread of a suspended thread');
      expectFields(ctx, w, { status: B_OK, code: 9 }, 'wait_for_thread resumes a suspended thread first (Haiku)');
      const rep = tx.threadReport(tid);
      ctx.check(rep?.startedUs != null && rep.startedUs >= t0, 'it ran once the wait began', `>= ${t0}`, String(rep?.startedUs));
    }),

    scenario('exit-codes', async (ctx) => {
      const cases: [string, ThreadOp[], number][] = [
        ['exit_thread(3)', [{ op: 'exit', code: 3 }, { op: 'return', code: 99 }], 3],
        ['return 7', [{ op: 'return', code: 7 }], 7],
        ['return -5', [{ op: 'return', code: -5 }], -5],
        ['return 0', [{ op: 'return', code: 0 }], 0],
        ['exit_thread(INT32_MIN)', [{ op: 'exit', code: -2147483648 }], -2147483648],
        ['pthread_exit without a code', [{ op: 'pthread_exit' }, { op: 'return', code: 98 }], B_ERROR],
      ];
      for (const [what, program, code] of cases) {
        const tid = start(ctx, 'exit-codes', program);
        const w = await returned(ctx, track(tx.waitForThreadEtcAsync(tid, B_RELATIVE_TIMEOUT, LONG_US)), `wait for ${what}`);
        expectFields(ctx, w, { status: B_OK, code }, `a thread that ends with ${what}`);
        expectStatus(ctx, tx.waitForThread(tid).status, B_BAD_THREAD_ID, `${what}: a second wait_for_thread`);
      }

      // A thread of our team that already ended can still be waited for, once.
      const early = start(ctx, 'ended-early', [{ op: 'return', code: 4 }]);
      await finished(ctx, early, 'the thread');
      need(ctx, await waitFor(() => !ourThread(early), SETTLE_MS), 'the thread has left the process');
      expectFields(ctx, tx.waitForThread(early), { status: B_OK, code: 4 }, 'wait_for_thread of a thread that already ended (its exit record)');
      expectStatus(ctx, tx.waitForThread(early).status, B_BAD_THREAD_ID, 'its exit record is consumed by the first wait');
    }),

    scenario('wait-errors', async (ctx) => {
      const me = nx.gettid();
      for (const id of [me, 0])
        expectStatus(ctx, tx.waitForThreadEtc(id, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_THREAD_ID, `wait_for_thread(${id === me ? 'oneself' : id})`);
      for (const id of [NO_SUCH_THREAD, -1])
        expectStatus(ctx, tx.waitForThreadEtc(id, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_THREAD_ID, `wait_for_thread(${id})`);
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, tx.waitForThreadEtc(h.pid, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_THREAD_ID, 'wait_for_thread of a process that is no team');

      // Another team's thread that ended: its exit record is its team's.
      const a = await startAgent(ctx);
      const theirs = await agentSpawn(ctx, a, 'agent-ended', [{ op: 'return', code: 6 }]);
      expectStatus(ctx, (await a.call(`thread_resume ${theirs}`)).ret, B_OK, 'the agent resumes its thread');
      await agentFinished(ctx, a, theirs, "the agent's thread");
      need(ctx, await waitFor(() => !existsSync(`/proc/${a.pid}/task/${theirs}`), SETTLE_MS), "the agent's thread has left its process");
      expectStatus(ctx, tx.waitForThreadEtc(theirs, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_THREAD_ID,
        "wait_for_thread of another team's thread that ended");
      expectStatus(ctx, (await a.call(`thread_wait ${a.pid} ${B_RELATIVE_TIMEOUT} 100000`)).ret, B_BAD_THREAD_ID,
        'the agent waits for itself (its main thread)');
    }),

    scenario('info-names-and-states', async (ctx, base) => {
      const me = nx.gettid();
      const mine = tx.getThreadInfo(0);
      expectStatus(ctx, mine.status, B_OK, 'get_thread_info(0)');
      expectFields(ctx, mine.info, { thread: me, team: process.pid, state: B_THREAD_RUNNING }, 'get_thread_info(0) is the caller');
      ctx.equal(tx.findThread(null), me, 'find_thread(NULL) is the caller');
      expectStatus(ctx, tx.getThreadInfo(NO_SUCH_THREAD).status, B_BAD_THREAD_ID, 'get_thread_info of an unknown thread');
      expectStatus(ctx, tx.getThreadInfo(-1).status, B_BAD_VALUE, 'get_thread_info(-1): a negative id is a bad value (Haiku)');

      const named = spawn(ctx, LONG_NAME, [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 0 }]);
      ctx.equal(LONG_NAME.length, 40, 'the long name has 40 characters');
      ctx.equal(tx.getThreadInfo(named).info?.name, keptName(LONG_NAME), 'a 40-character name is truncated to 31');
      ctx.equal(tx.findThread(keptName(LONG_NAME)), named, 'find_thread finds it by its 31-character name');
      expectStatus(ctx, tx.findThread('nexus-lab-no-such-thread'), B_NAME_NOT_FOUND, 'find_thread of a name nobody has');

      // Renaming oneself (the kernel's SET_NAME): bounded and truncated like port names.
      const original = tx.getThreadInfo(me).info?.name ?? 'node';
      ctx.defer(() => void tx.renameThread(me, original));
      const exact = 'exactly-thirty-one-characters!!';
      ctx.equal(exact.length, NAME_KEPT, 'the exact name has 31 characters');
      expectStatus(ctx, tx.renameThread(me, exact), B_OK, 'rename_thread of oneself to 31 characters');
      ctx.equal(tx.getThreadInfo(me).info?.name, exact, 'a 31-character name is kept whole');
      expectStatus(ctx, tx.renameThread(me, `${LONG_NAME}-and-more`), B_OK, 'rename_thread of oneself to 49 characters');
      ctx.equal(tx.getThreadInfo(me).info?.name, keptName(`${LONG_NAME}-and-more`), 'a 49-character name is truncated to 31');
      ctx.equal(tx.findThread(keptName(`${LONG_NAME}-and-more`)), me, 'find_thread finds the new name');
      expectStatus(ctx, tx.renameThread(me, original), B_OK, 'rename_thread back');

      // Renaming another thread of our team (Haiku allows it): get_thread_info sees it.
      expectStatus(ctx, tx.renameThread(named, 'renamed'), B_OK, 'rename_thread of another thread of our team');
      ctx.equal(tx.getThreadInfo(named).info?.name, 'renamed', "get_thread_info sees the other thread's new name");
      ctx.equal(tx.findThread('renamed'), named, 'find_thread finds it by its new name');
      expectStatus(ctx, tx.renameThread(NO_SUCH_THREAD, 'x'), B_BAD_THREAD_ID, 'rename_thread of an unknown thread');

      // States: suspended, receiving, waiting (send, wait), running.
      ctx.equal(stateName(tx.getThreadInfo(named).info?.state), stateName(B_THREAD_SUSPENDED), 'a newborn is B_THREAD_SUSPENDED');
      expectStatus(ctx, tx.resumeThread(named), B_OK, 'resume it');
      await inState(ctx, named, B_THREAD_RECEIVING, 'in receive_data');
      const filler = start(ctx, 'sender', [{ op: 'send', target: me, code: 1, hex: '00', flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'send', target: me, code: 2, hex: '00', flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 0 }]);
      await blocked(ctx, base.waiters + 2, 'the sender blocks on our full mailbox (and the receiver waits)');
      expectState(ctx, filler, B_THREAD_WAITING, 'a thread blocked in send_data');
      const waiter = start(ctx, 'waiter', [{ op: 'wait', target: named, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 0 }]);
      await blocked(ctx, base.waiters + 3, 'the waiter blocks');
      expectState(ctx, waiter, B_THREAD_WAITING, 'a thread blocked in wait_for_thread');
      expectState(ctx, named, B_THREAD_RECEIVING, 'the thread it waits for: still in receive_data');
      const sleeper = start(ctx, 'sleeper', [{ op: 'sleep', us: 1_000_000 }, { op: 'return', code: 0 }]);
      await inState(ctx, sleeper, B_THREAD_RUNNING, 'sleeping outside Nexus');
      ctx.equal(tx.getThreadInfo(sleeper).info?.team, process.pid, "a spawned thread's team is this process");

      expectStatus(ctx, tx.sendData(named, 3, text('bye')), B_OK, 'end the receiver');
      const w = await returned(ctx, track(tx.waitForThreadEtcAsync(waiter, B_RELATIVE_TIMEOUT, LONG_US)), 'the waiter');
      expectStatus(ctx, w.status, B_OK, 'the waiter ends');
      const wr = tx.threadReport(waiter)?.results[0];
      expectFields(ctx, wr, { status: B_OK, code: 0 }, 'the waiter saw the receiver end with 0');
      expectReceived(ctx, receiveNow(4), 1, filler, Buffer.of(0), 4, 'the sender: first message');
      expectReceived(ctx, receiveSoon(4), 2, filler, Buffer.of(0), 4, 'the sender: second message');

      // Another team may not rename our threads.
      const a = await startAgent(ctx);
      const target = start(ctx, 'not-yours', [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 0 }]);
      await inState(ctx, target, B_THREAD_RECEIVING, 'a thread of ours the agent looks at');
      const before = tx.getThreadInfo(target).info?.name;
      expectStatus(ctx, (await a.call(`thread_rename ${target} stolen`)).ret, B_NOT_ALLOWED, 'another team renames one of our threads');
      ctx.equal(tx.getThreadInfo(target).info?.name, before, 'the name is unchanged');
      const seen = await a.call(`thread_info ${target}`);
      expectFields(ctx, seen, { ret: B_OK, thread: target, team: process.pid, name: before, state: B_THREAD_RECEIVING }, 'the agent sees our thread the same');
    }),

    scenario('send-receive-basics', async (ctx, base) => {
      const me = nx.gettid();
      const rx = start(ctx, 'basic-receiver', [
        { op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'receive', bufSize: THREAD_MAX_MESSAGE_SIZE + 16, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'return', code: 0 },
      ]);
      await inState(ctx, rx, B_THREAD_RECEIVING, 'the receiver');
      expectStatus(ctx, tx.sendData(rx, 42, text('hello')), B_OK, 'send_data to a receiving thread');
      expectReceived(ctx, await opDone(ctx, rx, 0, 'its first receive'), 42, me, text('hello'), 64, 'code, sender and data');
      expectStatus(ctx, tx.sendData(rx, -7, new Uint8Array(0)), B_OK, 'send_data of no bytes with a negative code');
      expectReceived(ctx, await opDone(ctx, rx, 1, 'its second receive'), -7, me, new Uint8Array(0), 64, 'an empty message');
      const big = pattern(THREAD_MAX_MESSAGE_SIZE, 5);
      expectStatus(ctx, tx.sendDataEtc(rx, 8, big, B_RELATIVE_TIMEOUT, LONG_US), B_OK, 'send_data of 65536 bytes');
      expectReceived(ctx, await opDone(ctx, rx, 2, 'its third receive'), 8, me, big, THREAD_MAX_MESSAGE_SIZE + 16, 'the 65536-byte message');

      // Our own mailbox: a message from a thread-pool thread, then one to ourselves.
      ctx.check(!tx.hasData(me), 'our mailbox is empty', false, true);
      expectStatus(ctx, await returned(ctx, track(tx.sendDataEtcAsync(me, 31, text('from the pool'), B_RELATIVE_TIMEOUT, LONG_US)), 'send from the pool'),
        B_OK, 'a thread-pool thread sends to our main thread');
      ctx.check(tx.hasData(me), 'has_data sees the message', true, false);
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages + 1, 'thread_messages counts the message in the mailbox');
      const r = receiveNow(64);
      ctx.equal([r.status, cstr(r.data)], [31, 'from the pool'], 'receive_data gets it');
      ctx.check(r.sender !== me && ourThread(r.sender), 'the sender is the thread-pool thread (a thread of this process)', 'a tid of ours', r.sender);
      ctx.check(!tx.hasData(me), 'the mailbox is empty again', false, true);
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages, 'thread_messages after the receive');
      expectStatus(ctx, tx.sendDataEtc(me, 32, text('self'), B_RELATIVE_TIMEOUT, 0), B_OK, 'send_data to oneself (an empty mailbox)');
      expectReceived(ctx, receiveNow(64), 32, me, text('self'), 64, 'a message to oneself');

      // Too big, and bad ids.
      expectStatus(ctx, tx.sendDataEtc(me, 1, pattern(THREAD_MAX_MESSAGE_SIZE + 1), B_RELATIVE_TIMEOUT, 0), B_NO_MEMORY, 'send_data of 65537 bytes (Haiku: B_NO_MEMORY)');
      ctx.check(!tx.hasData(me), 'the refused message was not queued', false, true);
      for (const id of [NO_SUCH_THREAD, 0, -1])
        expectStatus(ctx, tx.sendDataEtc(id, 1, text('x'), B_RELATIVE_TIMEOUT, 100_000), B_BAD_THREAD_ID, `send_data to thread ${id}`);
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages, 'nothing is left queued');
    }),

    scenario('has-data', async (ctx) => {
      const me = nx.gettid();
      const rx = start(ctx, 'has-data', [{ op: 'sleep', us: 1_000_000 }, { op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 0 }]);
      ctx.check(!tx.hasData(rx), 'has_data of a thread with an empty mailbox', false, true);
      expectStatus(ctx, tx.sendDataEtc(rx, 5, text('x'), B_RELATIVE_TIMEOUT, 0), B_OK, 'send while it sleeps');
      ctx.check(tx.hasData(rx), 'has_data of a thread whose mailbox holds a message', true, false);
      // Under has_data's bool, the kernel's answer (raw NEXUS_THREAD_HAS_DATA).
      const rawHas = (receiver: number) => call(nx.fd(), THREAD_IOCTLS.NEXUS_THREAD_HAS_DATA, THREAD_LAYOUTS.thread_rw, { receiver }).ret;
      expectStatus(ctx, rawHas(rx), 1, 'NEXUS_THREAD_HAS_DATA of the full mailbox: 1');
      expectStatus(ctx, rawHas(0), 0, 'NEXUS_THREAD_HAS_DATA of our own empty mailbox (receiver 0): 0');
      expectReceived(ctx, await opDone(ctx, rx, 1, 'its receive'), 5, me, text('x'), 8, 'it receives the message');
      ctx.check(!tx.hasData(rx), 'has_data once it was received', false, true);
      ctx.check(!tx.hasData(NO_SUCH_THREAD), 'has_data of an unknown thread is false', false, true);
      expectStatus(ctx, rawHas(NO_SUCH_THREAD), B_BAD_THREAD_ID, 'NEXUS_THREAD_HAS_DATA of an unknown thread: B_BAD_THREAD_ID');
      await finished(ctx, rx, 'the receiver');
      await waitFor(() => !ourThread(rx), SETTLE_MS);
      expectStatus(ctx, rawHas(rx), B_BAD_THREAD_ID, 'NEXUS_THREAD_HAS_DATA of a thread that ended: B_BAD_THREAD_ID');
      const a = await startAgent(ctx);
      expectStatus(ctx, (await a.call(`thread_has_data ${me}`)).ret, 0, "the agent: our main thread's mailbox is empty");
      expectStatus(ctx, (await a.call(`thread_send ${me} 4 6869 ${B_RELATIVE_TIMEOUT} 0`)).ret, B_OK, 'the agent sends to our main thread');
      expectStatus(ctx, (await a.call(`thread_has_data ${me}`)).ret, 1, 'the agent: now it holds a message');
      ctx.check(tx.hasData(me), 'so says our has_data', true, false);
      expectReceived(ctx, receiveNow(8), 4, a.pid, text('hi'), 8, "the agent's message");
    }),

    scenario('truncation', async (ctx, base) => {
      const me = nx.gettid();
      const rx = start(ctx, 'truncating', [
        { op: 'receive', bufSize: 4, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'receive', bufSize: 0, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'return', code: 0 },
      ]);
      const msg = text('hello, world');
      expectStatus(ctx, tx.sendDataEtc(rx, 1, msg, B_RELATIVE_TIMEOUT, LONG_US), B_OK, 'send 12 bytes');
      expectReceived(ctx, await opDone(ctx, rx, 0, 'a 4-byte receive'), 1, me, msg, 4, 'a 4-byte buffer gets the first 4 bytes');
      expectStatus(ctx, tx.sendDataEtc(rx, 2, text('second'), B_RELATIVE_TIMEOUT, LONG_US), B_OK, 'send 6 bytes');
      expectReceived(ctx, await opDone(ctx, rx, 1, 'a 0-byte receive'), 2, me, text('second'), 0, 'a 0-byte buffer gets the code only');
      expectStatus(ctx, tx.sendDataEtc(rx, 3, text('third'), B_RELATIVE_TIMEOUT, LONG_US), B_OK, 'send 5 bytes');
      expectReceived(ctx, await opDone(ctx, rx, 2, 'the next receive'), 3, me, text('third'), 64, 'the rest of a truncated message is dropped: the next receive gets the next message');

      expectStatus(ctx, tx.sendDataEtc(me, 9, msg, B_RELATIVE_TIMEOUT, 0), B_OK, 'a 12-byte message to ourselves');
      expectReceived(ctx, receiveNow(5), 9, me, msg, 5, 'our 5-byte receive');
      ctx.check(!tx.hasData(me), 'the rest is gone from the mailbox', false, true);
      expectStatus(ctx, receiveNow(64).status, B_WOULD_BLOCK, 'nothing is left to receive');
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages, 'thread_messages: the dropped rest is freed');
    }),

    scenario('mailbox-blocks-senders-fifo', async (ctx, base) => {
      const me = nx.gettid();
      fill(ctx, me, 100, 'our mailbox');
      expectStatus(ctx, tx.sendDataEtc(me, 0, text('no'), B_RELATIVE_TIMEOUT, 0), B_WOULD_BLOCK, 'a second send to the full mailbox (timeout 0)');
      const senders: Tracked<number>[] = [];
      for (let i = 1; i <= 3; i++) {
        senders.push(track(tx.sendDataEtcAsync(me, 100 + i, text(`message ${i}`), B_RELATIVE_TIMEOUT, LONG_US)));
        await blocked(ctx, base.waiters + i, `sender ${i} blocks on the full mailbox`);
      }
      const a = await startAgent(ctx);
      const ag = agentCall(a, `thread_send ${me} 104 ${hex(text('message 4'))} ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await blocked(ctx, base.waiters + 4, "the agent's send blocks behind them");
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages + 5,
        'thread_messages counts every message the kernel holds: the one in the mailbox and the four the blocked senders carry');
      ctx.check(senders.every((s) => !s.done) && !ag.done, 'all four senders still wait');

      const codes: number[] = [];
      const first = receiveNow(64);
      codes.push(first.status);
      await blocked(ctx, base.waiters + 3, 'one receive lets one sender in');
      ctx.check(await waitFor(() => senders[0]!.done), 'the receive wakes the first blocked sender');
      ctx.equal(senders.map((s) => s.done), [true, false, false], 'and only it');
      const rest: ReceiveResult[] = [];
      for (let i = 1; i <= 4; i++) {
        const r = receiveSoon(64);
        codes.push(r.status);
        rest.push(r);
      }
      ctx.equal(servedOrder(codes, 100, 5), [0, 1, 2, 3, 4], 'the blocked senders are served in the order they blocked (FIFO)');
      ctx.equal(rest.map((r) => cstr(r.data)), ['message 1', 'message 2', 'message 3', 'message 4'], 'their data');
      ctx.equal(rest[3]!.sender, a.pid, "the last message is the agent's (its main thread)");
      for (const [i, s] of senders.entries()) expectStatus(ctx, await returned(ctx, s, `sender ${i + 1}`), B_OK, `sender ${i + 1} returns B_OK`);
      expectStatus(ctx, (await returned(ctx, ag, "the agent's send")).ret, B_OK, "the agent's send returns B_OK");
      ctx.equal(readCounters().waiters, base.waiters, 'nobody waits');
    }),

    scenario('send-timeouts', async (ctx, base) => {
      const me = nx.gettid();
      fill(ctx, me, 1, 'our mailbox');
      for (const t of [0, -1, -1_000_000])
        expectStatus(ctx, tx.sendDataEtc(me, 2, text('no'), B_RELATIVE_TIMEOUT, t), B_WOULD_BLOCK, `send with relative timeout ${t}`);
      expectStatus(ctx, tx.sendDataEtc(me, 2, text('no'), B_ABSOLUTE_TIMEOUT, -1), B_WOULD_BLOCK, 'send with a negative absolute timeout');

      // From another thread, since the main thread is the receiver.
      let t0 = nx.systemTime();
      const rel = await returned(ctx, timed(tx.sendDataEtcAsync(me, 2, text('no'), B_RELATIVE_TIMEOUT, 120_000)), 'a send with a 120 ms timeout');
      expectStatus(ctx, rel.v, B_TIMED_OUT, 'send with a 120 ms relative timeout');
      ctx.check(rel.endUs - t0 >= 120_000n, 'it waited at least 120 ms', '>= 120000 µs', String(rel.endUs - t0));
      const deadline = nx.systemTime() + 150_000n;
      const abs = await returned(ctx, timed(tx.sendDataEtcAsync(me, 2, text('no'), B_ABSOLUTE_TIMEOUT, deadline)), 'a send with an absolute deadline');
      expectStatus(ctx, abs.v, B_TIMED_OUT, 'send with an absolute deadline 150 ms ahead');
      ctx.check(abs.endUs >= deadline, 'it returned at the deadline or later', `>= ${deadline}`, String(abs.endUs));
      t0 = nx.systemTime();
      expectStatus(ctx, tx.sendDataEtc(me, 2, text('no'), B_ABSOLUTE_TIMEOUT, nx.systemTime() - 1_000_000n), B_TIMED_OUT, 'send with an absolute deadline in the past');
      ctx.check(elapsedUs(t0) < 2_000_000, 'a deadline in the past does not wait', '< 2 s', elapsedUs(t0));
      ctx.equal(readCounters().waiters, base.waiters, 'timed-out senders do not stay waiters');

      const inf = track(tx.sendDataEtcAsync(me, 3, text('inf'), B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 1, 'a send with B_INFINITE_TIMEOUT blocks');
      const noflag = track(tx.sendDataEtcAsync(me, 4, text('noflag'), 0, 0));
      await blocked(ctx, base.waiters + 2, 'a send without timeout flag (timeout 0) blocks');
      await stillBlocked(ctx, inf, 'the infinite send', 300);
      ctx.check(!noflag.done, 'the send without a timeout flag is still blocked');
      const codes = [receiveNow(16).status, receiveSoon(16).status, receiveSoon(16).status];
      ctx.equal(codes, [1, 3, 4], 'the timed-out sends left nothing; the infinite ones get in, in order');
      expectStatus(ctx, await returned(ctx, inf, 'the infinite send'), B_OK, 'the infinite send');
      expectStatus(ctx, await returned(ctx, noflag, 'the send without flag'), B_OK, 'the send without timeout flag');
    }),

    scenario('receive-timeouts', async (ctx, base) => {
      for (const t of [0, -1, -1_000_000])
        expectStatus(ctx, tx.receiveDataEtc(16, B_RELATIVE_TIMEOUT, t).status, B_WOULD_BLOCK, `receive with relative timeout ${t}`);
      expectStatus(ctx, tx.receiveDataEtc(16, B_ABSOLUTE_TIMEOUT, -1).status, B_WOULD_BLOCK, 'receive with a negative absolute timeout');
      let t0 = nx.systemTime();
      expectStatus(ctx, tx.receiveDataEtc(16, B_RELATIVE_TIMEOUT, 100_000).status, B_TIMED_OUT, 'receive with a 100 ms relative timeout');
      const el = elapsedUs(t0);
      ctx.check(el >= 100_000, 'it waited at least 100 ms', '>= 100000 µs', el);
      ctx.metric('receive-relative-100ms', el, 'us');
      const deadline = nx.systemTime() + 150_000n;
      expectStatus(ctx, tx.receiveDataEtc(16, B_ABSOLUTE_TIMEOUT, deadline).status, B_TIMED_OUT, 'receive with an absolute deadline 150 ms ahead');
      ctx.check(nx.systemTime() >= deadline, 'it returned at the deadline or later', `>= ${deadline}`, String(nx.systemTime()));
      for (const past of [nx.systemTime() - 1_000_000n, 0n]) {
        t0 = nx.systemTime();
        expectStatus(ctx, tx.receiveDataEtc(16, B_ABSOLUTE_TIMEOUT, past).status, B_TIMED_OUT, `receive with an absolute deadline in the past (${past})`);
        ctx.check(elapsedUs(t0) < 2_000_000, 'a deadline in the past does not wait', '< 2 s', elapsedUs(t0));
      }
      ctx.equal(readCounters().waiters, base.waiters, 'timed-out receivers do not stay waiters');

      // A message there: no timeout matters.
      const me = nx.gettid();
      fill(ctx, me, 5, 'our mailbox');
      ctx.equal(tx.receiveDataEtc(16, B_RELATIVE_TIMEOUT, 0).status, 5, 'a receive that need not block succeeds with timeout 0');
      fill(ctx, me, 6, 'our mailbox');
      ctx.equal(tx.receiveDataEtc(16, B_ABSOLUTE_TIMEOUT, 0n).status, 6, 'and with a deadline in the past');

      // Infinite: B_INFINITE_TIMEOUT, or no timeout flag at all (threads of ours).
      const inf = start(ctx, 'receive-infinite', [{ op: 'receive', bufSize: 16, flags: B_RELATIVE_TIMEOUT, timeout: B_INFINITE_TIMEOUT }, { op: 'return', code: 0 }]);
      const noflag = start(ctx, 'receive-noflag', [{ op: 'receive', bufSize: 16, flags: 0, timeout: 0 }, { op: 'return', code: 0 }]);
      await inState(ctx, inf, B_THREAD_RECEIVING, 'a receive with B_INFINITE_TIMEOUT');
      await inState(ctx, noflag, B_THREAD_RECEIVING, 'a receive without timeout flag');
      await sleep(300);
      ctx.equal([tx.threadReport(inf)?.results.length, tx.threadReport(noflag)?.results.length], [0, 0], 'both still wait after 300 ms');
      expectStatus(ctx, tx.sendData(inf, 7, text('a')), B_OK, 'send to the infinite receiver');
      expectStatus(ctx, tx.sendData(noflag, 8, text('b')), B_OK, 'send to the receiver without flag');
      expectReceived(ctx, await opDone(ctx, inf, 0, 'the infinite receive'), 7, me, text('a'), 16, 'the infinite receive');
      expectReceived(ctx, await opDone(ctx, noflag, 0, 'the receive without flag'), 8, me, text('b'), 16, 'the receive without flag');
    }),

    scenario('wait-timeouts', async (ctx, base) => {
      const rx = start(ctx, 'waited-on', [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 12 }]);
      await inState(ctx, rx, B_THREAD_RECEIVING, 'the thread waited on');
      for (const t of [0, -1])
        expectStatus(ctx, tx.waitForThreadEtc(rx, B_RELATIVE_TIMEOUT, t).status, B_WOULD_BLOCK, `wait_for_thread with relative timeout ${t}`);
      let t0 = nx.systemTime();
      expectStatus(ctx, tx.waitForThreadEtc(rx, B_RELATIVE_TIMEOUT, 100_000).status, B_TIMED_OUT, 'wait_for_thread with a 100 ms timeout');
      ctx.check(elapsedUs(t0) >= 100_000, 'it waited at least 100 ms', '>= 100000 µs', elapsedUs(t0));
      const deadline = nx.systemTime() + 150_000n;
      expectStatus(ctx, tx.waitForThreadEtc(rx, B_ABSOLUTE_TIMEOUT, deadline).status, B_TIMED_OUT, 'wait_for_thread with an absolute deadline 150 ms ahead');
      ctx.check(nx.systemTime() >= deadline, 'it returned at the deadline or later', `>= ${deadline}`, String(nx.systemTime()));
      t0 = nx.systemTime();
      expectStatus(ctx, tx.waitForThreadEtc(rx, B_ABSOLUTE_TIMEOUT, nx.systemTime() - 1_000_000n).status, B_TIMED_OUT, 'wait_for_thread with a deadline in the past');
      ctx.check(elapsedUs(t0) < 2_000_000, 'a deadline in the past does not wait', '< 2 s', elapsedUs(t0));
      ctx.equal(readCounters().waiters, base.waiters + 1, 'timed-out waits do not stay waiters (only the receiver waits)');
      ctx.equal(tx.threadReport(rx)?.results.length, 0, 'the timed-out waits did not disturb the thread');

      const inf = track(tx.waitForThreadEtcAsync(rx, B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 2, 'a wait with B_INFINITE_TIMEOUT blocks (and the receiver)');
      const noflag = track(tx.waitForThreadEtcAsync(rx, 0, 0));
      await blocked(ctx, base.waiters + 3, 'a wait without timeout flag blocks');
      await stillBlocked(ctx, inf, 'the infinite wait', 300);
      expectStatus(ctx, tx.sendData(rx, 1, text('end')), B_OK, 'let the thread end');
      const results: WaitResult[] = [await returned(ctx, inf, 'the infinite wait'), await returned(ctx, noflag, 'the wait without flag')];
      ctx.equal(results, [{ status: B_OK, code: 12 }, { status: B_OK, code: 12 }], 'every waiter gets the exit code');
    }),

    scenario('interrupted-by-signal', async (ctx, base) => {
      const me = nx.gettid();
      const a = await startAgent(ctx);
      const rd = agentCall(a, 'thread_receive 64 0 inf');
      await blocked(ctx, base.waiters + 1, "the agent's receive_data blocks");
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, rd, "the agent's receive")).ret, B_INTERRUPTED, 'a signal interrupts a blocked receive_data');
      ctx.equal(readCounters().waiters, base.waiters, 'the interrupted receiver no longer waits');

      fill(ctx, me, 1, 'our mailbox');
      const wr = agentCall(a, `thread_send ${me} 2 6262 ${B_RELATIVE_TIMEOUT} inf`);
      await blocked(ctx, base.waiters + 1, "the agent's send_data blocks on our full mailbox");
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, wr, "the agent's send")).ret, B_INTERRUPTED, 'a signal interrupts a blocked send_data');
      expectReceived(ctx, receiveNow(16), 1, me, text('fill 1'), 16, 'the message queued before');
      expectStatus(ctx, receiveNow(16).status, B_WOULD_BLOCK, 'the interrupted send queued nothing');

      const rx = start(ctx, 'waited-by-agent', [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 13 }]);
      await inState(ctx, rx, B_THREAD_RECEIVING, 'our thread');
      const wt = agentCall(a, `thread_wait ${rx} 0 inf`);
      await blocked(ctx, base.waiters + 2, "the agent's wait_for_thread blocks on our thread");
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, wt, "the agent's wait")).ret, B_INTERRUPTED, 'a signal interrupts a blocked wait_for_thread');
      expectStatus(ctx, tx.sendData(rx, 0, text('end')), B_OK, 'let our thread end');
      expectFields(ctx, await returned(ctx, track(tx.waitForThreadEtcAsync(rx, B_RELATIVE_TIMEOUT, LONG_US)), 'our wait'),
        { status: B_OK, code: 13 }, 'the interrupted wait did not take the exit code away');
      ctx.equal((await a.call('team')).ret, 0, 'the agent survived the signals');
    }),

    scenario('cross-team-send-receive-wait', async (ctx, base) => {
      const me = nx.gettid();
      const a = await startAgent(ctx);

      // Their thread, resumed by us; our message; our wait.
      const theirs = await agentSpawn(ctx, a, 'agent-receiver', [{ op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 21 }]);
      const rep0 = await agentReport(ctx, a, theirs, "the agent's newborn");
      ctx.equal([rep0.startedUs === null, rep0.results.length], [true, 0], "the agent's newborn has not begun");
      const info = tx.getThreadInfo(theirs);
      expectFields(ctx, info.info, { thread: theirs, team: a.pid, name: 'agent-receiver', state: B_THREAD_SUSPENDED }, "we see the agent's suspended thread");
      const resumeUs = nx.systemTime();
      expectStatus(ctx, tx.resumeThread(theirs), B_OK, "we resume the agent's thread (same user)");
      await inState(ctx, theirs, B_THREAD_RECEIVING, "the agent's thread");
      // Wait first: once it ends, another team's thread is gone for us (no exit record).
      const waiting = track(tx.waitForThreadEtcAsync(theirs, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 2, "our wait for the agent's thread blocks (and it receives)");
      expectStatus(ctx, tx.sendDataEtc(theirs, 5, text('across'), B_RELATIVE_TIMEOUT, LONG_US), B_OK, "send_data to the agent's thread");
      const w = await returned(ctx, waiting, "our wait for the agent's thread");
      expectFields(ctx, w, { status: B_OK, code: 21 }, "wait_for_thread of another team's thread gets its code");
      const rep = await agentReport(ctx, a, theirs, "the agent's thread");
      expectReceived(ctx, rep.results[0] ?? { status: NaN }, 5, me, text('across'), 64, "the agent's thread received our message");
      ctx.check(rep.startedUs !== null, "the agent's thread began once we resumed it", `after ${resumeUs}`, String(rep.startedUs));

      // Our thread: their message, their wait.
      // (The agent runs one command at a time: it sends, then waits while our thread waits for a second message.)
      const ours = start(ctx, 'ours-for-agent', [
        { op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'receive', bufSize: 64, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US },
        { op: 'return', code: 22 },
      ]);
      await inState(ctx, ours, B_THREAD_RECEIVING, 'our thread');
      expectStatus(ctx, (await a.call(`thread_send ${ours} 6 ${hex(text('back'))} ${B_RELATIVE_TIMEOUT} ${LONG_US}`)).ret, B_OK,
        'the agent sends to our thread');
      expectReceived(ctx, await opDone(ctx, ours, 0, 'our thread'), 6, a.pid, text('back'), 64, "our thread received the agent's message");
      const aw = agentCall(a, `thread_wait ${ours} ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await blocked(ctx, base.waiters + 2, "the agent's wait_for_thread blocks on our thread (which receives again)");
      expectStatus(ctx, tx.sendData(ours, 7, text('end')), B_OK, 'we let our thread end');
      expectFields(ctx, await returned(ctx, aw, "the agent's wait"), { ret: B_OK, code: 22 }, "the agent's wait_for_thread gets our thread's code");

      // Main thread to main thread.
      const ar = agentCall(a, `thread_receive 64 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await inState(ctx, a.pid, B_THREAD_RECEIVING, "the agent's main thread");
      expectStatus(ctx, tx.sendData(a.pid, 8, text('main')), B_OK, "send_data to the agent's main thread");
      const r = fromAgent(await returned(ctx, ar, "the agent's receive"));
      expectReceived(ctx, r, 8, me, text('main'), 64, "the agent's main thread receives it");
    }),

    scenario('own-thread-exit-wakes-senders', async (ctx, base) => {
      const tid = start(ctx, 'ends-unread', [{ op: 'sleep', us: 2_000_000 }, { op: 'return', code: 3 }]);
      fill(ctx, tid, 1, 'its mailbox');
      const senders = [timed(tx.sendDataEtcAsync(tid, 2, text('s2'), B_RELATIVE_TIMEOUT, LONG_US)), timed(tx.sendDataEtcAsync(tid, 3, text('s3'), B_RELATIVE_TIMEOUT, LONG_US))];
      const waiter = timed(tx.waitForThreadEtcAsync(tid, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 3, 'two senders and a waiter block');
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages + 3, 'the unread message and the two the blocked senders carry');
      const rep = await finished(ctx, tid, 'the thread', 10_000);
      // Its last op's end: the thread ends right after it.
      const doneUs = rep.results[rep.results.length - 1]?.endUs ?? nx.systemTime();
      for (const [i, s] of senders.entries()) {
        const r = await returned(ctx, s, `sender ${i}`);
        expectStatus(ctx, r.v, B_BAD_THREAD_ID, `the receiver's end wakes blocked sender ${i} with B_BAD_THREAD_ID`);
        verdicts(ctx, [wokeWithin(doneUs, r.endUs)], `sender ${i}`);
      }
      expectFields(ctx, (await returned(ctx, waiter, 'the waiter')).v, { status: B_OK, code: 3 }, 'the waiter gets the code');
      await waitFor(() => !('thread_messages' in base) || readCounters().thread_messages === base.thread_messages);
      if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages, 'the unread message and the refused ones are freed');
    }),

    scenario('team-kill-wakes-other-teams', async (ctx, base) => {
      const a = await startAgent(ctx);
      const blockedRx = await agentSpawn(ctx, a, 'blocked-rx', [{ op: 'receive', bufSize: 8 }]);
      const deaf = await agentSpawn(ctx, a, 'deaf', [{ op: 'sleep', us: 60_000_000 }]);
      for (const t of [blockedRx, deaf]) expectStatus(ctx, (await a.call(`thread_resume ${t}`)).ret, B_OK, `the agent resumes ${t}`);
      await inState(ctx, blockedRx, B_THREAD_RECEIVING, "the agent's receiver");
      fill(ctx, deaf, 1, "the agent's deaf thread");
      const ours = start(ctx, 'waited-by-killed', [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: LONG_US }, { op: 'return', code: 17 }]);
      await inState(ctx, ours, B_THREAD_RECEIVING, 'our thread');
      const w0 = base.waiters + 2; // the two receivers

      const parties = {
        sender1: timed(tx.sendDataEtcAsync(deaf, 2, text('s1'), B_RELATIVE_TIMEOUT, LONG_US)),
        sender2: timed(tx.sendDataEtcAsync(deaf, 3, text('s2'), 0, 0)),
        waitRx: timed(tx.waitForThreadEtcAsync(blockedRx, B_RELATIVE_TIMEOUT, LONG_US)),
        waitDeaf: timed(tx.waitForThreadEtcAsync(deaf, 0, 0)),
        waitMain: timed(tx.waitForThreadEtcAsync(a.pid, B_RELATIVE_TIMEOUT, LONG_US)),
      };
      await blocked(ctx, w0 + 5, 'two senders and three waiters of ours block on the agent\'s threads');
      const theirWait = agentCall(a, `thread_wait ${ours} 0 inf`);
      await blocked(ctx, w0 + 6, "the agent's main thread waits for our thread");
      if (tells(ctx, base, 'threads')) ctx.check(readCounters().threads >= base.threads + 4, "the agent's threads and ours have records", `>= ${base.threads + 4}`, readCounters().threads);

      const killUs = nx.systemTime();
      process.kill(a.pid, 'SIGKILL');
      for (const k of ['sender1', 'sender2'] as const) {
        const r = await returned(ctx, parties[k], k, 10_000);
        expectStatus(ctx, r.v, B_BAD_THREAD_ID, `kill -9 of the team wakes ${k}, blocked on a full mailbox, with B_BAD_THREAD_ID`);
        verdicts(ctx, [wokeWithin(killUs, r.endUs)], k);
      }
      for (const k of ['waitRx', 'waitDeaf', 'waitMain'] as const) {
        const r = await returned(ctx, parties[k], k, 10_000);
        expectFields(ctx, r.v, { status: B_OK, code: B_ERROR }, `kill -9 of the team wakes ${k}: B_OK, exit code B_ERROR (none was set)`);
        verdicts(ctx, [wokeWithin(killUs, r.endUs)], k);
      }
      ctx.metric('kill-wakes-all-us', Number(Object.values(parties).reduce((m, p) => (p.value && p.value.endUs > m ? p.value.endUs : m), killUs) - killUs), 'us');
      void theirWait;
      await a.kill();
      for (const t of [blockedRx, deaf, a.pid]) {
        expectGoneThread(ctx, t, `the killed team's thread ${t}`);
        expectStatus(ctx, tx.waitForThreadEtc(t, B_RELATIVE_TIMEOUT, 0).status, B_BAD_THREAD_ID, `wait_for_thread of the killed team's thread ${t}`);
      }
      // The killed waiter took nothing away: our thread still ends into our own wait.
      await waitFor(() => readCounters().waiters === base.waiters + 1);
      ctx.equal(readCounters().waiters, base.waiters + 1, 'only our receiver still waits');
      expectStatus(ctx, tx.sendData(ours, 0, text('end')), B_OK, 'end our thread');
      expectFields(ctx, await returned(ctx, track(tx.waitForThreadEtcAsync(ours, B_RELATIVE_TIMEOUT, LONG_US)), 'our wait'),
        { status: B_OK, code: 17 }, "our thread's exit code is still ours to wait for");
      await waitFor(() => !('threads' in base) || (readCounters().threads === base.threads && readCounters().thread_messages === base.thread_messages));
      const c = readCounters();
      ctx.equal([c.threads, c.thread_messages], [base.threads, base.thread_messages], "the killed team's thread records and message are freed");
    }),

    scenario('team-exit-wakes-blocked-senders', async (ctx, base) => {
      const a = await startAgent(ctx);
      const rx1 = await agentSpawn(ctx, a, 'in-receive-1', [{ op: 'receive', bufSize: 8 }]);
      const rx2 = await agentSpawn(ctx, a, 'in-receive-2', [{ op: 'receive', bufSize: 8, flags: B_RELATIVE_TIMEOUT, timeout: 60_000_000 }]);
      const deaf = await agentSpawn(ctx, a, 'deaf', [{ op: 'sleep', us: 60_000_000 }]);
      const newborn = await agentSpawn(ctx, a, 'never-resumed', [{ op: 'return', code: 1 }]);
      for (const t of [rx1, rx2, deaf]) expectStatus(ctx, (await a.call(`thread_resume ${t}`)).ret, B_OK, `the agent resumes ${t}`);
      await inState(ctx, rx1, B_THREAD_RECEIVING, 'receiver 1');
      await inState(ctx, rx2, B_THREAD_RECEIVING, 'receiver 2');
      fill(ctx, deaf, 1, "the deaf thread's mailbox");
      const senders = [
        timed(tx.sendDataEtcAsync(deaf, 2, text('a'), B_RELATIVE_TIMEOUT, LONG_US)),
        timed(tx.sendDataEtcAsync(deaf, 3, text('b'), B_RELATIVE_TIMEOUT, LONG_US)),
        timed(tx.sendDataEtcAsync(deaf, 4, text('c'), 0, 0)),
      ];
      const waiters = [timed(tx.waitForThreadEtcAsync(rx1, B_RELATIVE_TIMEOUT, LONG_US)), timed(tx.waitForThreadEtcAsync(rx2, 0, 0))];
      await blocked(ctx, base.waiters + 3 + 5, "three senders and two waiters block on the agent's threads (two receive, one is suspended)");
      ctx.equal(tx.getThreadInfo(newborn).info?.state, B_THREAD_SUSPENDED, "the agent's newborn is suspended");

      const exitUs = nx.systemTime();
      ctx.equal(await a.exit(0), 0, 'the agent exits (code 0) with threads blocked in receive_data');
      for (const [i, s] of senders.entries()) {
        const r = await returned(ctx, s, `sender ${i}`, 10_000);
        expectStatus(ctx, r.v, B_BAD_THREAD_ID, `the team's exit wakes blocked sender ${i} with B_BAD_THREAD_ID`);
        verdicts(ctx, [wokeWithin(exitUs, r.endUs)], `sender ${i}`);
      }
      for (const [i, w] of waiters.entries()) {
        const r = await returned(ctx, w, `waiter ${i}`, 10_000);
        expectFields(ctx, r.v, { status: B_OK, code: B_ERROR }, `the team's exit wakes waiter ${i}: B_OK, B_ERROR`);
        verdicts(ctx, [wokeWithin(exitUs, r.endUs)], `waiter ${i}`);
      }
      await waitFor(() => !('threads' in base) || (readCounters().threads === base.threads && readCounters().thread_messages === base.thread_messages));
      const c = readCounters();
      ctx.equal([c.threads, c.thread_messages, c.waiters], [base.threads, base.thread_messages, base.waiters],
        "the team's thread records and its unread message are gone, nobody waits");
      for (const t of [rx1, rx2, deaf]) expectStatus(ctx, tx.sendDataEtc(t, 1, text('late'), B_RELATIVE_TIMEOUT, 0), B_BAD_THREAD_ID, `send_data to the dead thread ${t}`);
      expectStatus(ctx, tx.resumeThread(newborn), B_BAD_THREAD_ID, 'the suspended newborn died with its team, never having run');
    }),

    ...rawScenarios,
  ],
};
