// sems: every semaphore ioctl against the Haiku model of the issue 3
// "Semantics decisions": negative counts, FIFO without overtaking, each
// release flag, every kind of timeout (a waiter that gives up gives its
// units back), signals, delete and owner-death wakeups, info and iteration.
// Every scenario leaves the Nexus counters as it found them.
import { existsSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { nx } from '../native/index.js';
import { Holder, readCounters, waitFor } from '../lib/guest.js';
import {
  B_ABSOLUTE_TIMEOUT,
  B_BAD_SEM_ID,
  B_BAD_TEAM_ID,
  B_BAD_VALUE,
  B_DO_NOT_RESCHEDULE,
  B_INFINITE_TIMEOUT,
  B_INTERRUPTED,
  B_NO_MORE_SEMS,
  B_OK,
  B_RELATIVE_TIMEOUT,
  B_RELEASE_ALL,
  B_RELEASE_IF_WAITING_ONLY,
  B_TIMED_OUT,
  B_WOULD_BLOCK,
  LONG_US,
  agentCall,
  ascending,
  blocked,
  elapsedUs,
  expectFields,
  expectId,
  exhaust,
  expectStatus,
  expectWaiters,
  need,
  newSem,
  returned,
  scenario,
  startAgent,
  statusName,
  stillBlocked,
  track,
  type Tracked,
} from '../lib/nexus.js';

const LONG_NAME = 'semaphore-name-with-40-characters-012345';
const NO_SUCH_TEAM = 0x3ffffff0;
const NO_SUCH_SEM = 0x7ffffff0;
/** Semaphores that may exist at once, system-wide (issue 3 limits). */
const MAX_SEMS = 65536;

function count(ctx: Ctx, id: number, what: string): number {
  const r = nx.getSemCount(id);
  expectStatus(ctx, r.status, B_OK, `${what}: get_sem_count`);
  return r.count;
}

function expectCount(ctx: Ctx, id: number, expected: number, what: string): void {
  ctx.equal(count(ctx, id, what), expected, `${what}: count`);
}

function semInfo(ctx: Ctx, id: number, what: string) {
  const r = nx.getSemInfo(id);
  need(ctx, r.status === B_OK && r.info !== undefined, `${what}: get_sem_info succeeds`, 'B_OK', statusName(r.status));
  return r.info!;
}

/** Start an acquire of `n` on the thread pool and wait until it sleeps (the waiters counter reaches `waiters`). */
async function acquirer(ctx: Ctx, id: number, n: number, waiters: number, what: string, timeout: number | bigint = LONG_US) {
  const t = track(nx.acquireSemEtcAsync(id, n, B_RELATIVE_TIMEOUT, timeout));
  await blocked(ctx, waiters, `${what} blocks`);
  return t;
}

/** Which of the tracked calls have returned, as a list of booleans. */
const doneList = (ts: Tracked<unknown>[]) => ts.map((t) => t.done);

/** All the semaphores get_next_sem_info returns for `team`, and the status that ended the walk. */
function semsOfTeam(team: number) {
  const ids: number[] = [];
  const teams: number[] = [];
  const infos: Record<number, { name: string; count: number }> = {};
  let cookie = 0;
  let cookiesOk = true;
  for (let i = 0; i < 70_000; i++) {
    const r = nx.getNextSemInfo(team, cookie);
    if (r.status !== B_OK) return { ids, teams, infos, end: r.status, cookiesOk };
    ids.push(r.info!.sem);
    teams.push(r.info!.team);
    infos[r.info!.sem] = { name: r.info!.name, count: r.info!.count };
    if (r.cookie !== r.info!.sem) cookiesOk = false;
    cookie = r.cookie;
  }
  return { ids, teams, infos, end: B_OK, cookiesOk };
}

export const suite: Suite = {
  name: 'sems',
  scenarios: [
    scenario('create-and-info', (ctx, base) => {
      expectStatus(ctx, nx.createSem(-1, 'negative'), B_BAD_VALUE, 'create_sem with count -1');
      ctx.equal(readCounters().sems, base.sems, 'a rejected create leaves no semaphore');
      const s = newSem(ctx, 3, 'sem-info');
      expectFields(ctx, semInfo(ctx, s, 'new sem'),
        { sem: s, team: process.pid, name: 'sem-info', count: 3, latestHolder: -1 }, 'a new semaphore');
      expectFields(ctx, nx.getSemCount(s), { status: B_OK, count: 3 }, 'get_sem_count');
      ctx.equal(readCounters().sems, base.sems + 1, 'the sems counter counts live semaphores');

      const zero = newSem(ctx, 0, LONG_NAME);
      ctx.equal(LONG_NAME.length, 40, 'the long name has 40 characters');
      expectFields(ctx, semInfo(ctx, zero, 'long name'), { count: 0, name: LONG_NAME.slice(0, 31) },
        'count 0 is fine; a 40-character name is truncated to 31');
      const unnamed = newSem(ctx, 1, null);
      ctx.equal(semInfo(ctx, unnamed, 'no name').name, 'unnamed semaphore', 'a NULL name becomes "unnamed semaphore"');

      const tmp = nx.createSem(1, 'short-lived');
      expectId(ctx, tmp, 'create_sem');
      expectStatus(ctx, nx.deleteSem(tmp), B_OK, 'delete_sem');
      expectStatus(ctx, nx.deleteSem(tmp), B_BAD_SEM_ID, 'delete_sem of a deleted semaphore');
      const again = nx.createSem(1, 'short-lived');
      expectId(ctx, again, 'create_sem after a delete');
      ctx.check(again !== tmp, 'a deleted id is not reused right away', `not ${tmp}`, again);
      expectStatus(ctx, nx.deleteSem(again), B_OK, 'delete_sem');
    }),

    scenario('acquire-release-basics', async (ctx, base) => {
      const s = newSem(ctx, 3, 'basics');
      expectStatus(ctx, nx.acquireSemEtc(s, 2, B_RELATIVE_TIMEOUT, 0), B_OK, 'acquire 2 of 3');
      expectCount(ctx, s, 1, 'after acquiring 2 of 3');
      ctx.equal(semInfo(ctx, s, 'acquired').latestHolder, nx.gettid(), 'latest_holder is the thread that acquired');
      expectStatus(ctx, nx.acquireSem(s), B_OK, 'acquire_sem of the last unit');
      expectCount(ctx, s, 0, 'after acquire_sem');

      for (const n of [0, -1])
        expectStatus(ctx, nx.acquireSemEtc(s, n, B_RELATIVE_TIMEOUT, 0), B_BAD_VALUE, `acquire ${n}`);
      for (const n of [0, -3]) expectStatus(ctx, nx.releaseSemEtc(s, n, 0), B_BAD_VALUE, `release ${n}`);
      expectCount(ctx, s, 0, 'bad acquires and releases change nothing');

      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release_sem');
      expectCount(ctx, s, 1, 'after release_sem');
      expectStatus(ctx, nx.releaseSemEtc(s, 5, 0), B_OK, 'release 5');
      expectCount(ctx, s, 6, 'after releasing 5');

      // From a thread-pool thread: latest_holder is that thread.
      const t = track(nx.acquireSemEtcAsync(s, 6, B_RELATIVE_TIMEOUT, 0));
      expectStatus(ctx, await returned(ctx, t, 'acquire from a thread-pool thread'), B_OK, 'acquire 6 from another thread');
      const holder = semInfo(ctx, s, 'acquired by another thread').latestHolder;
      ctx.check(holder > 0 && holder !== nx.gettid() && existsSync(`/proc/self/task/${holder}`),
        'latest_holder is the thread-pool thread (a thread of this process)', 'a tid of this process', holder);
      expectCount(ctx, s, 0, 'all acquired');
      ctx.equal(readCounters().waiters, base.waiters, 'nobody waited');
    }),

    scenario('negative-count', async (ctx, base) => {
      const s = newSem(ctx, 0, 'negative-count');
      const a = await acquirer(ctx, s, 3, base.waiters + 1, 'acquire 3 on 0');
      expectCount(ctx, s, -3, 'one waiter for 3');
      const b = await acquirer(ctx, s, 2, base.waiters + 2, 'acquire 2 behind it');
      expectCount(ctx, s, -5, 'waiters for 3 and 2');
      expectStatus(ctx, nx.releaseSemEtc(s, 3, 0), B_OK, 'release 3');
      expectStatus(ctx, await returned(ctx, a, 'the first acquirer'), B_OK, 'release 3 wakes the acquirer of 3');
      expectCount(ctx, s, -2, 'the second still waits for 2');
      expectWaiters(ctx, base.waiters + 1, 'the second acquirer still waits');
      expectStatus(ctx, nx.releaseSemEtc(s, 2, 0), B_OK, 'release 2');
      expectStatus(ctx, await returned(ctx, b, 'the second acquirer'), B_OK, 'release 2 wakes the acquirer of 2');
      expectCount(ctx, s, 0, 'no one waits');
    }),

    scenario('fifo-order', async (ctx, base) => {
      const s = newSem(ctx, 0, 'fifo');
      const ts: Tracked<number>[] = [];
      for (let i = 0; i < 3; i++) ts.push(await acquirer(ctx, s, 1, base.waiters + i + 1, `acquirer ${i}`));
      for (let i = 0; i < 3; i++) {
        expectStatus(ctx, nx.releaseSem(s), B_OK, `release ${i}`);
        await blocked(ctx, base.waiters + 2 - i, `release ${i} wakes one acquirer`);
        await waitFor(() => ts[i]!.done, 2_000);
        ctx.equal(doneList(ts), ts.map((_, j) => j <= i), `release ${i} wakes acquirer ${i} (FIFO)`);
        expectStatus(ctx, await returned(ctx, ts[i]!, `acquirer ${i}`), B_OK, `acquirer ${i}`);
      }
      expectCount(ctx, s, 0, 'all served');
    }),

    scenario('no-overtaking', async (ctx, base) => {
      const s = newSem(ctx, 0, 'no-overtaking');
      const big = await acquirer(ctx, s, 5, base.waiters + 1, 'acquire 5');
      const small = await acquirer(ctx, s, 1, base.waiters + 2, 'acquire 1 behind it');
      expectCount(ctx, s, -6, 'two waiters');
      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release 1');
      expectWaiters(ctx, base.waiters + 2, 'release 1 wakes nobody');
      expectCount(ctx, s, -5, 'one unit is there but the head wants 5');
      await stillBlocked(ctx, small, 'the small request behind the big one', 300);
      ctx.check(!big.done, 'the big request still waits');
      expectStatus(ctx, nx.releaseSemEtc(s, 4, 0), B_OK, 'release 4');
      expectStatus(ctx, await returned(ctx, big, 'acquire 5'), B_OK, 'with 5 available the head is served');
      expectCount(ctx, s, -1, 'the small request still waits');
      expectWaiters(ctx, base.waiters + 1, 'the small request still waits');
      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release 1');
      expectStatus(ctx, await returned(ctx, small, 'acquire 1'), B_OK, 'then the small request is served');
      expectCount(ctx, s, 0, 'no one waits');

      // One big release serves the head and what fits behind it, and keeps the rest.
      const c = await acquirer(ctx, s, 5, base.waiters + 1, 'acquire 5');
      const d = await acquirer(ctx, s, 1, base.waiters + 2, 'acquire 1');
      expectStatus(ctx, nx.releaseSemEtc(s, 10, 0), B_OK, 'release 10');
      expectStatus(ctx, await returned(ctx, c, 'acquire 5'), B_OK, 'release 10 serves the 5');
      expectStatus(ctx, await returned(ctx, d, 'acquire 1'), B_OK, 'and the 1');
      expectCount(ctx, s, 4, 'and leaves 4');
    }),

    scenario('release-all', async (ctx, base) => {
      const s = newSem(ctx, 0, 'release-all');
      const ts: Tracked<number>[] = [];
      for (const [i, n] of [1, 2, 5].entries()) ts.push(await acquirer(ctx, s, n, base.waiters + i + 1, `acquire ${n}`));
      expectCount(ctx, s, -8, 'three waiters for 8 units');
      expectStatus(ctx, nx.releaseSemEtc(s, 0, B_RELEASE_ALL), B_OK, 'release with B_RELEASE_ALL (count 0)');
      for (const [i, t] of ts.entries()) expectStatus(ctx, await returned(ctx, t, `acquirer ${i}`), B_OK, `B_RELEASE_ALL wakes acquirer ${i}`);
      expectCount(ctx, s, 0, 'B_RELEASE_ALL ends at 0');

      expectStatus(ctx, nx.releaseSemEtc(s, 2, 0), B_OK, 'release 2');
      expectStatus(ctx, nx.releaseSemEtc(s, 0, B_RELEASE_ALL), B_OK, 'B_RELEASE_ALL without waiters');
      expectCount(ctx, s, 2, 'B_RELEASE_ALL without waiters changes nothing');
      expectStatus(ctx, nx.releaseSemEtc(s, 3, B_RELEASE_ALL), B_OK, 'B_RELEASE_ALL with count 3, without waiters');
      expectCount(ctx, s, 2, 'B_RELEASE_ALL without waiters changes nothing, whatever the count');
    }),

    scenario('release-if-waiting-only', async (ctx, base) => {
      const s = newSem(ctx, 1, 'if-waiting-only');
      expectStatus(ctx, nx.releaseSemEtc(s, 5, B_RELEASE_IF_WAITING_ONLY), B_OK, 'B_RELEASE_IF_WAITING_ONLY without waiters');
      expectCount(ctx, s, 1, 'without waiters it changes nothing');

      const a = await acquirer(ctx, s, 3, base.waiters + 1, 'acquire 3 on 1');
      expectCount(ctx, s, -2, 'one waiter');
      expectStatus(ctx, nx.releaseSemEtc(s, 5, B_RELEASE_IF_WAITING_ONLY), B_OK, 'release 5 B_RELEASE_IF_WAITING_ONLY');
      expectStatus(ctx, await returned(ctx, a, 'acquire 3'), B_OK, 'the waiter is served');
      expectCount(ctx, s, 0, 'the surplus is dropped');

      const b = await acquirer(ctx, s, 2, base.waiters + 1, 'acquire 2');
      const c = await acquirer(ctx, s, 4, base.waiters + 2, 'acquire 4 behind it');
      expectCount(ctx, s, -6, 'two waiters');
      expectStatus(ctx, nx.releaseSemEtc(s, 3, B_RELEASE_IF_WAITING_ONLY), B_OK, 'release 3 B_RELEASE_IF_WAITING_ONLY');
      expectStatus(ctx, await returned(ctx, b, 'acquire 2'), B_OK, 'the head is served');
      expectCount(ctx, s, -3, 'with a waiter left nothing is dropped (1 unit kept toward the 4)');
      expectWaiters(ctx, base.waiters + 1, 'the acquirer of 4 still waits');
      expectStatus(ctx, nx.releaseSemEtc(s, 10, B_RELEASE_IF_WAITING_ONLY), B_OK, 'release 10 B_RELEASE_IF_WAITING_ONLY');
      expectStatus(ctx, await returned(ctx, c, 'acquire 4'), B_OK, 'the acquirer of 4 is served');
      expectCount(ctx, s, 0, 'the surplus is dropped, the count never goes above 0');
    }),

    scenario('do-not-reschedule', async (ctx, base) => {
      const s = newSem(ctx, 0, 'do-not-reschedule');
      expectStatus(ctx, nx.releaseSemEtc(s, 2, B_DO_NOT_RESCHEDULE), B_OK, 'release 2 B_DO_NOT_RESCHEDULE');
      expectCount(ctx, s, 2, 'B_DO_NOT_RESCHEDULE still releases');
      const a = await acquirer(ctx, s, 3, base.waiters + 1, 'acquire 3 on 2');
      expectCount(ctx, s, -1, 'one waiter');
      expectStatus(ctx, nx.releaseSemEtc(s, 1, B_DO_NOT_RESCHEDULE), B_OK, 'release 1 B_DO_NOT_RESCHEDULE');
      expectStatus(ctx, await returned(ctx, a, 'acquire 3'), B_OK, 'B_DO_NOT_RESCHEDULE still wakes the waiter');
      expectCount(ctx, s, 0, 'all served');
    }),

    scenario('acquire-timeouts', async (ctx, base) => {
      const s = newSem(ctx, 0, 'timeouts');
      for (const t of [0, -1, -1_000_000])
        expectStatus(ctx, nx.acquireSemEtc(s, 1, B_RELATIVE_TIMEOUT, t), B_WOULD_BLOCK, `acquire with relative timeout ${t}`);
      expectStatus(ctx, nx.acquireSemEtc(s, 1, B_ABSOLUTE_TIMEOUT, -1), B_WOULD_BLOCK, 'acquire with a negative absolute timeout');
      expectCount(ctx, s, 0, 'B_WOULD_BLOCK changes nothing');
      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release 1');
      expectStatus(ctx, nx.acquireSemEtc(s, 2, B_RELATIVE_TIMEOUT, 0), B_WOULD_BLOCK, 'acquire 2 of 1, timeout 0');
      expectCount(ctx, s, 1, 'the count stays 1 (not -1)');
      expectStatus(ctx, nx.acquireSemEtc(s, 1, B_RELATIVE_TIMEOUT, 0), B_OK, 'acquire 1 of 1 with timeout 0 need not block');

      let t0 = nx.systemTime();
      expectStatus(ctx, nx.acquireSemEtc(s, 2, B_RELATIVE_TIMEOUT, 100_000), B_TIMED_OUT, 'acquire with a 100 ms relative timeout');
      const el = elapsedUs(t0);
      ctx.check(el >= 100_000, 'the relative timeout waited at least 100 ms', '>= 100000 µs', el);
      ctx.metric('acquire-relative-100ms', el, 'us');
      expectCount(ctx, s, 0, 'the timed-out acquirer gave its 2 units back');

      const deadline = nx.systemTime() + 150_000n;
      expectStatus(ctx, nx.acquireSemEtc(s, 1, B_ABSOLUTE_TIMEOUT, deadline), B_TIMED_OUT, 'acquire with an absolute deadline 150 ms ahead');
      const now = nx.systemTime();
      ctx.check(now >= deadline, 'the absolute timeout returned at the deadline or later', `>= ${deadline}`, String(now));
      t0 = nx.systemTime();
      expectStatus(ctx, nx.acquireSemEtc(s, 1, B_ABSOLUTE_TIMEOUT, nx.systemTime() - 1_000_000n), B_TIMED_OUT,
        'acquire with an absolute deadline in the past');
      const pastEl = elapsedUs(t0);
      ctx.check(pastEl < 2_000_000, 'a deadline in the past does not wait', '< 2 s', pastEl);
      expectCount(ctx, s, 0, 'timed-out acquires change nothing');
      ctx.equal(readCounters().waiters, base.waiters, 'timed-out acquirers do not stay waiters');

      const inf = track(nx.acquireSemEtcAsync(s, 1, B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 1, 'an acquire with B_INFINITE_TIMEOUT blocks');
      const noflag = track(nx.acquireSemEtcAsync(s, 1, 0, 0));
      await blocked(ctx, base.waiters + 2, 'an acquire without timeout flag (timeout 0) blocks');
      await stillBlocked(ctx, inf, 'the infinite acquire', 300);
      ctx.check(!noflag.done, 'the acquire without timeout flag is still blocked');
      expectCount(ctx, s, -2, 'two waiters for 1 each');
      expectStatus(ctx, nx.releaseSemEtc(s, 2, 0), B_OK, 'release 2');
      expectStatus(ctx, await returned(ctx, inf, 'the infinite acquire'), B_OK, 'the infinite acquire is served');
      expectStatus(ctx, await returned(ctx, noflag, 'the acquire without timeout flag'), B_OK, 'the acquire without flag is served');
      expectCount(ctx, s, 0, 'all served');
    }),

    scenario('timed-out-waiter-gives-units-back', async (ctx, base) => {
      const s = newSem(ctx, 0, 'give-back');
      const TIMEOUT = 2_000_000;
      const t0 = nx.systemTime();
      const big = await acquirer(ctx, s, 5, base.waiters + 1, 'acquire 5 with a 2 s timeout', TIMEOUT);
      const small = await acquirer(ctx, s, 1, base.waiters + 2, 'acquire 1 behind it');
      need(ctx, !big.done, 'the acquire of 5 has not timed out yet');
      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release 1');
      if (elapsedUs(t0) < TIMEOUT - 300_000) {
        expectCount(ctx, s, -5, 'the head still wants 5');
        expectWaiters(ctx, base.waiters + 2, 'the small request does not overtake the big one');
      }
      expectStatus(ctx, await returned(ctx, big, 'acquire 5', 10_000), B_TIMED_OUT, 'the acquire of 5 times out');
      ctx.check(elapsedUs(t0) >= TIMEOUT, 'it waited at least its timeout', `>= ${TIMEOUT} µs`, elapsedUs(t0));
      expectStatus(ctx, await returned(ctx, small, 'acquire 1'), B_OK,
        'giving back the 5 units serves the waiter behind with the unit released meanwhile');
      expectCount(ctx, s, 0, 'the count is 0');
    }),

    scenario('delete-wakes-blocked', async (ctx, base) => {
      const a = await startAgent(ctx);
      const s = newSem(ctx, 0, 'deleted-under-waiters');
      const ts = [await acquirer(ctx, s, 1, base.waiters + 1, 'acquirer 0'), await acquirer(ctx, s, 7, base.waiters + 2, 'acquirer 1')];
      const ag = agentCall(a, `sem_acquire ${s} 2 0 inf`);
      await blocked(ctx, base.waiters + 3, "the agent's acquire blocks");
      expectCount(ctx, s, -10, 'three waiters');
      expectStatus(ctx, nx.deleteSem(s), B_OK, 'delete_sem');
      for (const [i, t] of ts.entries()) expectStatus(ctx, await returned(ctx, t, `acquirer ${i}`), B_BAD_SEM_ID, `delete wakes acquirer ${i}`);
      expectStatus(ctx, (await returned(ctx, ag, "the agent's acquire")).ret, B_BAD_SEM_ID, 'delete wakes a waiter of another team');
      const c = readCounters();
      ctx.equal(c.sems, base.sems, 'the semaphore is gone');
      ctx.equal(c.waiters, base.waiters, 'nobody waits');
      expectStatus(ctx, nx.getSemCount(s).status, B_BAD_SEM_ID, 'get_sem_count of a deleted semaphore');

      // Another team may delete our semaphore.
      const s2 = newSem(ctx, 0, 'deleted-by-agent');
      const t = await acquirer(ctx, s2, 1, base.waiters + 1, 'acquire');
      expectStatus(ctx, (await a.call(`sem_delete ${s2}`)).ret, B_OK, 'the agent deletes our semaphore');
      expectStatus(ctx, await returned(ctx, t, 'acquire'), B_BAD_SEM_ID, "the agent's delete wakes our acquirer");
    }),

    scenario('owner-kill-wakes-blocked', async (ctx, base) => {
      const a = await startAgent(ctx);
      const s = (await a.call('sem_create 0 agents-sem')).ret as number;
      expectId(ctx, s, "the agent's semaphore");
      ctx.defer(() => {
        nx.deleteSem(s);
      });
      ctx.equal(semInfo(ctx, s, "agent's sem").team, a.pid, "the agent's semaphore belongs to the agent's team");
      const ts = [await acquirer(ctx, s, 1, base.waiters + 1, 'acquirer 0'), await acquirer(ctx, s, 3, base.waiters + 2, 'acquirer 1')];
      ctx.equal(readCounters().sems, base.sems + 1, 'one more semaphore');
      await a.kill();
      for (const [i, t] of ts.entries())
        expectStatus(ctx, await returned(ctx, t, `acquirer ${i}`), B_BAD_SEM_ID, `kill -9 of the owner wakes acquirer ${i}`);
      await waitFor(() => readCounters().teams === base.teams);
      const c = readCounters();
      ctx.equal(c.teams, base.teams, "the agent's team is gone");
      ctx.equal(c.sems, base.sems, "the agent's semaphore is gone");
      ctx.equal(c.waiters, base.waiters, 'nobody waits');
      expectStatus(ctx, nx.getSemInfo(s).status, B_BAD_SEM_ID, 'the id is invalid after its owner died');
    }),

    scenario('interrupted-by-signal', async (ctx, base) => {
      const a = await startAgent(ctx);
      const s = newSem(ctx, 0, 'interrupted');
      const ag = agentCall(a, `sem_acquire ${s} 2 0 inf`);
      await blocked(ctx, base.waiters + 1, "the agent's acquire blocks");
      expectCount(ctx, s, -2, 'the agent waits for 2');
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, ag, "the agent's acquire")).ret, B_INTERRUPTED, 'a signal interrupts a blocked acquire');
      expectCount(ctx, s, 0, 'the interrupted acquirer gave its units back');

      // The units given back serve the waiter behind.
      const head = agentCall(a, `sem_acquire ${s} 3 ${B_RELATIVE_TIMEOUT} inf`);
      await blocked(ctx, base.waiters + 1, "the agent's acquire of 3 blocks");
      const mine = await acquirer(ctx, s, 1, base.waiters + 2, 'our acquire of 1 behind it');
      expectStatus(ctx, nx.releaseSem(s), B_OK, 'release 1');
      expectWaiters(ctx, base.waiters + 2, 'release 1 wakes neither the head (3) nor us behind it');
      await stillBlocked(ctx, mine, 'our acquire behind the agent', 200);
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, head, "the agent's acquire of 3")).ret, B_INTERRUPTED, 'the head is interrupted');
      expectStatus(ctx, await returned(ctx, mine, 'our acquire'), B_OK, 'and the waiter behind it gets the released unit');
      expectCount(ctx, s, 0, 'count 0');
      ctx.equal((await a.call('team')).ret, 0, 'the agent survived the signals');
    }),

    scenario('cross-team-acquire-release', async (ctx, base) => {
      const a = await startAgent(ctx);
      const team = await a.call('team');
      const s = newSem(ctx, 0, 'ours');
      const ag = agentCall(a, `sem_acquire ${s} 2 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await blocked(ctx, base.waiters + 1, "the agent's acquire blocks on our semaphore");
      expectStatus(ctx, nx.releaseSemEtc(s, 2, 0), B_OK, 'release 2');
      expectStatus(ctx, (await returned(ctx, ag, "the agent's acquire")).ret, B_OK, 'our release serves the agent');
      ctx.equal(semInfo(ctx, s, 'acquired by the agent').latestHolder, team.tid, "latest_holder is the agent's thread");

      const theirs = (await a.call('sem_create 0 theirs')).ret as number;
      expectId(ctx, theirs, "the agent's semaphore");
      ctx.defer(() => {
        nx.deleteSem(theirs);
      });
      const mine = await acquirer(ctx, theirs, 1, base.waiters + 1, "our acquire on the agent's semaphore");
      expectFields(ctx, await a.call(`sem_count ${theirs}`), { ret: B_OK, count: -1 }, 'the agent sees our wait in its count');
      expectStatus(ctx, (await a.call(`sem_release ${theirs} 1 0`)).ret, B_OK, "the agent's release");
      expectStatus(ctx, await returned(ctx, mine, 'our acquire'), B_OK, "the agent's release serves us");
    }),

    scenario('get-next-sem-info', async (ctx) => {
      const mine = [newSem(ctx, 1, 'next-a'), newSem(ctx, 2, 'next-b'), newSem(ctx, 3, 'next-c')];
      const a = await startAgent(ctx);
      expectStatus(ctx, nx.getNextSemInfo(a.pid, 0).status, B_BAD_SEM_ID, 'a team without semaphores: B_BAD_SEM_ID at once');
      const theirs: number[] = [];
      for (const [i, n] of ['agent-x', 'agent-y'].entries()) {
        const id = (await a.call(`sem_create ${i + 4} ${n}`)).ret as number;
        expectId(ctx, id, `the agent creates ${n}`);
        theirs.push(id);
      }
      ctx.defer(() => theirs.forEach((id) => nx.deleteSem(id)));

      const all = semsOfTeam(0);
      expectStatus(ctx, all.end, B_BAD_SEM_ID, 'the walk of all teams ends with B_BAD_SEM_ID');
      ctx.check(ascending(all.ids), 'all teams: semaphores come in id order', 'ascending', all.ids);
      ctx.check([...mine, ...theirs].every((id) => all.ids.includes(id)), 'team 0 walks every team (ours and the agent\'s)',
        [...mine, ...theirs], all.ids);
      ctx.check(all.cookiesOk, 'the cookie is the last id returned');
      ctx.equal(mine.map((id) => all.infos[id]), [
        { name: 'next-a', count: 1 },
        { name: 'next-b', count: 2 },
        { name: 'next-c', count: 3 },
      ], 'names and counts of our semaphores in the walk');

      const ours = semsOfTeam(process.pid);
      expectStatus(ctx, ours.end, B_BAD_SEM_ID, 'our walk ends with B_BAD_SEM_ID');
      ctx.check(mine.every((id) => ours.ids.includes(id)), 'our walk has our semaphores', mine, ours.ids);
      ctx.check(ours.teams.every((t) => t === process.pid), 'our walk has only ours', process.pid, ours.teams);
      const agent = semsOfTeam(a.pid);
      ctx.equal(agent.ids, theirs, "the agent's walk gives exactly its semaphores in id order");
      expectStatus(ctx, agent.end, B_BAD_SEM_ID, "the agent's walk ends with B_BAD_SEM_ID");
      ctx.equal(theirs.map((id) => agent.infos[id]), [
        { name: 'agent-x', count: 4 },
        { name: 'agent-y', count: 5 },
      ], "names and counts of the agent's semaphores");
      const resumed = nx.getNextSemInfo(a.pid, theirs[0]!);
      ctx.equal(resumed.info?.sem, theirs[1], 'a cookie resumes after that id');

      expectStatus(ctx, nx.getNextSemInfo(NO_SUCH_TEAM, 0).status, B_BAD_TEAM_ID, 'a team id no process has');
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, nx.getNextSemInfo(h.pid, 0).status, B_BAD_TEAM_ID, 'a live process that never opened /dev/nexus');
    }),

    scenario(
      'no-more-sems',
      (ctx, base) => exhaust(ctx, base, { counter: 'sems', max: MAX_SEMS, noun: 'semaphore', plural: 'semaphores', create: (n) => nx.createSem(0, n), remove: (id) => nx.deleteSem(id), noMore: B_NO_MORE_SEMS }),
      { timeoutMs: 120_000 },
    ),

    scenario('bad-sem-ids', (ctx) => {
      const dead = nx.createSem(1, 'dead');
      expectId(ctx, dead, 'create_sem');
      expectStatus(ctx, nx.deleteSem(dead), B_OK, 'delete_sem');
      for (const id of [0, -1, NO_SUCH_SEM, dead]) {
        const w = `semaphore ${id}`;
        expectStatus(ctx, nx.acquireSemEtc(id, 1, B_RELATIVE_TIMEOUT, 100_000), B_BAD_SEM_ID, `${w}: acquire`);
        expectStatus(ctx, nx.releaseSemEtc(id, 1, 0), B_BAD_SEM_ID, `${w}: release`);
        expectStatus(ctx, nx.getSemCount(id).status, B_BAD_SEM_ID, `${w}: get_sem_count`);
        expectStatus(ctx, nx.getSemInfo(id).status, B_BAD_SEM_ID, `${w}: get_sem_info`);
        expectStatus(ctx, nx.deleteSem(id), B_BAD_SEM_ID, `${w}: delete_sem`);
      }
    }),
  ],
};
