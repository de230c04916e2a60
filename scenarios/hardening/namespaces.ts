// Namespaces (issue 7, defect 5; NEXUS-ABI.md "Namespaces"): team and
// thread ids are those of the caller's pid namespace, out and in (a team id
// argument is looked up there; an owner not visible from it is team 0);
// message senders' uids and gids are those of the reader's user namespace
// (65534 when unmapped).  Issue 8: thread ids (GET_INFO, the tids that
// send_data, wait_for_thread and resume_thread take) and areas' teams
// (GET_INFO, TRANSFER's and GET_NEXT's team) too.
import { execFileSync } from 'node:child_process';
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import {
  B_BAD_TEAM_ID,
  B_NOT_ALLOWED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  expectFields,
  expectStatus,
  need,
  newPort,
  newSem,
  scenario,
} from '../lib/nexus.js';
import { agentAs, created, expectCall, outerTid, setSysctl, teamScenario, USER } from './common.js';
import { B_BAD_THREAD_ID, B_READ_AREA, B_WRITE_AREA, B_CLONEABLE_AREA } from '../native/index.js';

const PID_NS = ['unshare', '--pid', '--fork', '--kill-child'];
const USER_NS = ['unshare', '--user', '--map-root-user'];
const OVERFLOW_ID = 65534;
const HELLO = '68656c6c6f'; // "hello"

/** Write a message to a port and look at it from the agent's side (not consumed). */
async function senderSeenBy(ctx: Ctx, a: Agent, port: number, what: string): Promise<Record<string, any>> {
  return expectCall(ctx, a, `port_msg_info ${port} ${B_RELATIVE_TIMEOUT} 0`, B_OK, `${what}: PORT_MESSAGE_INFO`);
}

/** What the agent in the pid namespace sees of its own objects: its own pid. */
async function ownIdsInside(ctx: Ctx, a: Agent, inner: number, port: number, sem: number): Promise<void> {
  const pi = await expectCall(ctx, a, `port_info ${port}`, B_OK, 'PORT_INFO of its own port, inside');
  ctx.equal(pi.team, inner, "inside: its own port's team is its getpid()");
  const pn = await expectCall(ctx, a, `port_next ${inner} 0`, B_OK, 'GET_NEXT_PORT_FOR_TEAM(getpid()) inside');
  expectFields(ctx, pn, { port, team: inner }, 'GET_NEXT_PORT_FOR_TEAM(getpid()) inside');
  await expectCall(ctx, a, `port_write_hex ${port} 1 ${HELLO} ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'it writes to its own port');
  ctx.equal((await senderSeenBy(ctx, a, port, 'its own message')).sender_team, inner, "inside: its own message's sender_team is its getpid()");
  await expectCall(ctx, a, `sem_acquire ${sem} 1 ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'it acquires its own semaphore');
  const si = await expectCall(ctx, a, `sem_info ${sem}`, B_OK, 'SEM_INFO of its own semaphore, inside');
  expectFields(ctx, si, { team: inner, latest_holder: inner }, 'inside: its semaphore (team, latest holder: its own ids)');
  const sn = await expectCall(ctx, a, `sem_next ${inner} 0`, B_OK, 'SEM_NEXT_INFO(getpid()) inside');
  ctx.equal(sn.sem, sem, 'SEM_NEXT_INFO(getpid()) inside finds its semaphore');
}

/** The same objects from the guest's namespace: the agent's pid there. */
function ownIdsOutside(ctx: Ctx, outer: number, port: number, sem: number): void {
  ctx.equal(nx.getPortInfo(port).info?.team, outer, "outside: the port's team is the agent's pid in the guest's namespace");
  ctx.equal(nx.getNextPortInfo(outer, 0).info?.port, port, 'outside: GET_NEXT_PORT_FOR_TEAM(its outer pid) finds the port');
  ctx.equal(nx.getPortMessageInfoEtc(port, B_RELATIVE_TIMEOUT, 0).info?.senderTeam, outer, "outside: the message's sender_team is the outer pid");
  expectFields(ctx, nx.getSemInfo(sem).info, { team: outer, latestHolder: outer }, 'outside: the semaphore (team, latest holder)');
}

/** Host objects seen from inside: owner invisible (team 0); host team ids reach nothing. */
async function hostFromInside(ctx: Ctx, a: Agent, port: number): Promise<void> {
  const hp = newPort(ctx, 2, 'hx-ns-host');
  const hs = newSem(ctx, 1, 'hx-ns-host');
  ctx.equal((await expectCall(ctx, a, `port_info ${hp}`, B_OK, "PORT_INFO of the runner's port, inside")).team, 0,
    "inside: the runner's port reports team 0 (its owner is invisible)");
  ctx.equal((await expectCall(ctx, a, `sem_info ${hs}`, B_OK, "SEM_INFO of the runner's semaphore, inside")).team, 0,
    "inside: the runner's semaphore reports team 0");
  const me = process.pid;
  await expectCall(ctx, a, `port_next ${me} 0`, B_BAD_TEAM_ID, `GET_NEXT_PORT_FOR_TEAM(${me}, the runner's outer pid) inside finds no team`);
  await expectCall(ctx, a, `sem_next ${me} 0`, B_BAD_TEAM_ID, `SEM_NEXT_INFO(${me}) inside finds no team`);
  await expectCall(ctx, a, `port_set_owner ${port} ${me}`, B_BAD_TEAM_ID, `SET_PORT_OWNER(its port, ${me}) inside finds no team`);
  ctx.check(nx.getPortInfo(port).info?.team !== me, "the agent's port did not go to the runner");
  await expectCall(ctx, a, `port_read ${port} 64 ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'it reads its own message');
  expectStatus(ctx, nx.writePortEtc(port, 2, Buffer.from('host'), B_RELATIVE_TIMEOUT, 0), B_OK, "the runner writes to the agent's port");
  ctx.equal((await senderSeenBy(ctx, a, port, "the runner's message")).sender_team, 0, "inside: the runner's message has sender_team 0");
}

/** Whether uid 1000 can make a user namespace here; why not otherwise. */
function userNamespaceProblem(): string | undefined {
  try {
    execFileSync('setpriv', ['--reuid', String(USER), '--regid', String(USER), '--clear-groups', ...USER_NS, 'true'], { stdio: 'pipe', timeout: 10_000 });
    return undefined;
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    return (err.stderr?.toString().trim() || err.message).split('\n')[0];
  }
}

/**
 * Threads inside: their own tids; from outside (`o`, a root agent in the
 * guest's namespace): the guest's; and no tid of outside reaches in.
 */
async function threadIds(ctx: Ctx, a: Agent, inner: number, hostPid: number, o: Agent, oPid: number): Promise<void> {
  const self = await expectCall(ctx, a, 'thread_info 0', B_OK, 'GET_INFO(0) of its main thread, inside');
  expectFields(ctx, self, { thread: inner, team: inner }, 'inside: its main thread is its getpid(), in its own team');
  const tin = await created(ctx, a, 'thread_spawn hx-ns-thread block', 'the agent spawns a thread');
  const ti = await expectCall(ctx, a, `thread_info ${tin}`, B_OK, 'GET_INFO of its thread, inside');
  expectFields(ctx, ti, { thread: tin, team: inner }, "inside: its thread's own tid, in its getpid()'s team");
  const tout = outerTid(hostPid, tin);
  need(ctx, tout !== undefined, "the thread's tid outside is found (/proc/<pid>/task/*/status NSpid)", 'a tid', tout);
  ctx.check(tout !== tin, 'the thread has another tid outside', `not ${tin}`, tout);
  const to = await expectCall(ctx, o, `thread_info ${tout}`, B_OK, 'GET_INFO of the thread from outside, by its outer tid');
  expectFields(ctx, to, { thread: tout, team: hostPid }, "outside: the thread's outer tid, in the agent's outer team");
  // The outside agent's main thread has a tid outside only.
  await expectCall(ctx, a, `thread_send ${oPid} 1 - ${B_RELATIVE_TIMEOUT} 0`, B_BAD_THREAD_ID,
    `send_data(${oPid}, an outer tid) inside reaches no thread`);
  await expectCall(ctx, a, `thread_wait ${oPid} ${B_RELATIVE_TIMEOUT} 0`, B_BAD_THREAD_ID, `wait_for_thread(${oPid}) inside reaches no thread`);
  await expectCall(ctx, a, `thread_resume ${oPid}`, B_BAD_THREAD_ID, `resume_thread(${oPid}) inside reaches no thread`);
  await expectCall(ctx, a, `thread_info ${oPid}`, B_BAD_THREAD_ID, `get_thread_info(${oPid}) inside reaches no thread`);
  await expectCall(ctx, o, `thread_send ${tout} 2 - ${B_RELATIVE_TIMEOUT} 0`, B_OK, "outside, root sends to the agent's thread by its outer tid");
  ctx.equal((await a.call(`thread_has_data ${tin}`)).ret, 1, 'inside, the message waits in the mailbox of the inner tid');
  const r = await a.call(`thread_receive 64 ${B_RELATIVE_TIMEOUT} 0`);
  ctx.equal(r.sender, 0, 'and not in the main thread\'s (inner tid ' + inner + ')');
}

const SHARED = B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA;

/** Areas inside: their team is the agent's inner pid; outside (`o`), its outer one; outside teams are not found inside. */
async function areaIds(ctx: Ctx, a: Agent, inner: number, hostPid: number, o: Agent, oPid: number): Promise<void> {
  const area = await created(ctx, a, `area_create hx-ns-area 4096 0 ${SHARED}`, 'the agent creates an area');
  ctx.equal((await expectCall(ctx, a, `area_info ${area}`, B_OK, 'GET_INFO of its area, inside')).team, inner,
    "inside: its area's team is its getpid()");
  ctx.equal((await expectCall(ctx, a, `area_next ${inner} 0`, B_OK, 'GET_NEXT(getpid()) inside')).area, area,
    'inside: GET_NEXT of its getpid() finds the area');
  ctx.equal((await expectCall(ctx, o, `area_info ${area}`, B_OK, 'GET_INFO of the area, outside')).team, hostPid,
    "outside: the area's team is the agent's outer pid");
  ctx.equal((await expectCall(ctx, o, `area_next ${hostPid} 0`, B_OK, 'GET_NEXT(the outer pid) outside')).area, area,
    'outside: GET_NEXT of the outer pid finds it');
  await expectCall(ctx, a, `area_transfer ${area} ${oPid}`, B_BAD_TEAM_ID, `TRANSFER(its area, ${oPid}, an outer pid) inside finds no team`);
  ctx.equal((await o.call(`area_info ${area}`)).team, hostPid, 'the area did not go to the outside team');
  await expectCall(ctx, a, `area_next ${oPid} 0`, B_BAD_TEAM_ID, `GET_NEXT(${oPid}) inside finds no team`);
  const host = await created(ctx, o, `area_create hx-ns-host 4096 0 ${SHARED}`, 'the outside agent creates an area');
  ctx.equal((await expectCall(ctx, a, `area_info ${host}`, B_OK, "GET_INFO of the outside agent's area, inside")).team, 0,
    "inside: the outside agent's area reports team 0 (its owner is invisible)");
}

export const scenarios: Scenario[] = [
  scenario('namespaces-pid-namespace-team-sees-its-own-ids', async (ctx) => {
    const { a, ids, hostPid } = await agentAs(ctx, { wrap: PID_NS }, 'an agent in a new pid namespace');
    const inner = ids.pid as number;
    need(ctx, (ids.nspid as number[]).length >= 2 && inner !== hostPid, 'the agent runs in a pid namespace of its own',
      'NSpid with two levels', ids.nspid);
    ctx.check(inner !== process.pid, "the runner's pid is no pid inside");
    const port = await created(ctx, a, 'port_create 4 hx-ns-own', 'the agent creates a port');
    const sem = await created(ctx, a, 'sem_create 1 hx-ns-own', 'the agent creates a semaphore');
    // Should SET_PORT_OWNER below give the port away, it would outlive the agent.
    ctx.defer(() => void nx.deletePort(port));
    ctx.defer(() => void nx.deleteSem(sem));
    await ownIdsInside(ctx, a, inner, port, sem);
    ownIdsOutside(ctx, hostPid, port, sem);
    await hostFromInside(ctx, a, port);
  }),

  teamScenario('namespaces-pid-namespace-thread-and-area-ids', { threads: true, areas: true }, async (ctx, _base, start) => {
    const { a, ids, hostPid } = await start({ wrap: PID_NS }, 'an agent in a new pid namespace');
    const inner = ids.pid as number;
    need(ctx, (ids.nspid as number[]).length >= 2 && inner !== hostPid, 'the agent runs in a pid namespace of its own',
      'NSpid with two levels', ids.nspid);
    const o = await start({}, 'a root agent outside');
    await threadIds(ctx, a, inner, hostPid, o.a, o.hostPid);
    await areaIds(ctx, a, inner, hostPid, o.a, o.hostPid);
  }),

  scenario('namespaces-user-namespace-sees-its-own-uids', async (ctx) => {
    setSysctl(ctx, '/proc/sys/kernel/unprivileged_userns_clone', '1');
    const problem = userNamespaceProblem();
    if (problem) ctx.skip(`uid ${USER} cannot create a user namespace in this guest: ${problem}`);
    const { a, ids } = await agentAs(ctx, { uid: USER, wrap: USER_NS }, 'uid 1000 as root of its own user namespace');
    need(ctx, ids.euid === 0 && ids.egid === 0, 'the agent is uid 0 in its user namespace', { euid: 0, egid: 0 }, ids);
    const port = await created(ctx, a, 'port_create 4 hx-userns', 'the agent creates a port');
    await expectCall(ctx, a, `port_write_hex ${port} 1 ${HELLO} ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'it writes to its own port');
    expectFields(ctx, await senderSeenBy(ctx, a, port, 'its own message'), { sender: 0, sender_group: 0 },
      'inside: its own message comes from uid 0, gid 0');
    expectFields(ctx, nx.getPortMessageInfoEtc(port, B_RELATIVE_TIMEOUT, 0).info, { sender: USER, senderGroup: USER },
      'outside: the same message comes from uid 1000, gid 1000');
    await expectCall(ctx, a, `port_read ${port} 64 ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'it reads its own message');
    expectStatus(ctx, nx.writePortEtc(port, 2, Buffer.from('root'), B_RELATIVE_TIMEOUT, 0), B_OK, "root writes to the agent's port");
    expectFields(ctx, await senderSeenBy(ctx, a, port, "root's message"), { sender: OVERFLOW_ID, sender_group: OVERFLOW_ID },
      "inside: root's message comes from the overflow ids (root is unmapped there)");
    const hp = newPort(ctx, 2, 'hx-userns-host');
    expectStatus(ctx, nx.writePortEtc(hp, 3, Buffer.from('mine'), B_RELATIVE_TIMEOUT, 0), B_OK, 'root queues a message on its own port');
    await expectCall(ctx, a, `port_read ${hp} 64 ${B_RELATIVE_TIMEOUT} 0`, B_NOT_ALLOWED,
      "uid 0 of a user namespace is not root: reading root's port is refused");
    ctx.equal(nx.portCount(hp), 1, "root's message is still queued");
  }),
];
