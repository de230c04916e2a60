// Rights across users (issue 7, defect 2; NEXUS-ABI.md "Users, namespaces
// and limits"): anyone may write to a port, find ports and read ports' and
// semaphores' info; reading a port's messages, closing, deleting or
// re-owning a port, acquiring, releasing or deleting a semaphore needs the
// owner's euid or CAP_IPC_OWNER (else B_NOT_ALLOWED, the object untouched);
// a port is only given to a team of its own user.  Inside one user, Haiku's
// semantics: any team may do anything.
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import {
  B_BAD_PORT_ID,
  B_BAD_SEM_ID,
  B_NOT_ALLOWED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  expectFields,
  expectStatus,
  newPort,
  newSem,
  scenario,
} from '../lib/nexus.js';
import { agentAs, created, expectCall, NOBODY, USER } from './common.js';

/** Whoever creates the objects under test, and the team that owns them. */
interface Owner {
  label: string;
  team: number;
  port(name: string): Promise<number>;
  sem(name: string): Promise<number>;
  /** Queue a 6-byte message (code 7) without blocking. */
  write(port: number): Promise<number>;
}

/** A port holding two messages and a semaphore of count 3, fresh for each operation under test. */
interface Fixture {
  port: number;
  sem: number;
  name: string;
}

const QUEUED = Buffer.from('queued');

function runnerOwner(ctx: Ctx): Owner {
  return {
    label: 'root (the runner)',
    team: process.pid,
    port: async (name) => newPort(ctx, 8, name),
    sem: async (name) => newSem(ctx, 3, name),
    write: async (port) => nx.writePortEtc(port, 7, QUEUED, B_RELATIVE_TIMEOUT, 0),
  };
}

/** Objects of an agent's team; they die with the agent at the end of the scenario. */
function agentOwner(ctx: Ctx, a: Agent, team: number, label: string): Owner {
  return {
    label,
    team,
    port: (name) => created(ctx, a, `port_create 8 ${name}`, `${label} creates a port`),
    sem: (name) => created(ctx, a, `sem_create 3 ${name}`, `${label} creates a semaphore`),
    write: async (port) => (await a.call(`port_write_hex ${port} 7 ${QUEUED.toString('hex')} ${B_RELATIVE_TIMEOUT} 0`)).ret,
  };
}

let serial = 0;

async function fixture(ctx: Ctx, o: Owner, tag: string): Promise<Fixture> {
  const name = `hx-${tag}-${++serial}`;
  const port = await o.port(name);
  for (const i of [1, 2]) expectStatus(ctx, await o.write(port), B_OK, `${o.label} queues message ${i}`);
  const sem = await o.sem(name);
  return { port, sem, name };
}

/** What root (the runner) sees of a fixture after a refused operation: nothing changed. */
function expectUntouched(ctx: Ctx, f: Fixture, o: Owner, what: string): void {
  const pi = nx.getPortInfo(f.port);
  if (expectStatus(ctx, pi.status, B_OK, `${what}: the port is alive`)) {
    ctx.equal(pi.info?.team, o.team, `${what}: the port still belongs to ${o.label}`);
    ctx.equal(pi.info?.queueCount, 2, `${what}: both messages are still queued`);
  }
  expectStatus(ctx, nx.writePortEtc(f.port, 9, Buffer.alloc(0), B_RELATIVE_TIMEOUT, 0), B_OK,
    `${what}: the port still takes messages (not closed)`);
  const sc = nx.getSemCount(f.sem);
  if (expectStatus(ctx, sc.status, B_OK, `${what}: the semaphore is alive`))
    ctx.equal(sc.count, 3, `${what}: the semaphore's count is unchanged`);
}

// ---------------------------------------------------------------------------
// The operations that need the owner's rights, as an agent's command and as
// the runner's call.  `team`: the team SET_PORT_OWNER gives the port to.

type Op = 'PORT_MESSAGE_INFO' | 'PORT_READ' | 'SEM_ACQUIRE' | 'SEM_RELEASE' | 'SET_PORT_OWNER' | 'PORT_CLOSE' | 'PORT_DELETE' | 'SEM_DELETE';

const AGENT_LINES: Record<Op, (f: Fixture, team: number) => string> = {
  PORT_MESSAGE_INFO: (f) => `port_msg_info ${f.port} ${B_RELATIVE_TIMEOUT} 0`,
  PORT_READ: (f) => `port_read ${f.port} 64 ${B_RELATIVE_TIMEOUT} 0`,
  SEM_ACQUIRE: (f) => `sem_acquire ${f.sem} 1 ${B_RELATIVE_TIMEOUT} 0`,
  SEM_RELEASE: (f) => `sem_release ${f.sem} 1 0`,
  SET_PORT_OWNER: (f, team) => `port_set_owner ${f.port} ${team}`,
  PORT_CLOSE: (f) => `port_close ${f.port}`,
  PORT_DELETE: (f) => `port_delete ${f.port}`,
  SEM_DELETE: (f) => `sem_delete ${f.sem}`,
};

const RUNNER_CALLS: Record<Op, (f: Fixture, team: number) => number> = {
  PORT_MESSAGE_INFO: (f) => nx.getPortMessageInfoEtc(f.port, B_RELATIVE_TIMEOUT, 0).status,
  PORT_READ: (f) => Math.min(nx.readPortEtc(f.port, 64, B_RELATIVE_TIMEOUT, 0).status, B_OK),
  SEM_ACQUIRE: (f) => nx.acquireSemEtc(f.sem, 1, B_RELATIVE_TIMEOUT, 0),
  SEM_RELEASE: (f) => nx.releaseSemEtc(f.sem, 1, 0),
  SET_PORT_OWNER: (f, team) => nx.setPortOwner(f.port, team),
  PORT_CLOSE: (f) => nx.closePort(f.port),
  PORT_DELETE: (f) => nx.deletePort(f.port),
  SEM_DELETE: (f) => nx.deleteSem(f.sem),
};

/** Does an operation and gives its status (B_OK for a read that copied bytes). */
type Actor = (op: Op, f: Fixture, team: number) => Promise<number>;

const agentActor =
  (a: Agent): Actor =>
  async (op, f, team) =>
    (await a.call(AGENT_LINES[op](f, team))).ret;

const runnerActor: Actor = async (op, f, team) => RUNNER_CALLS[op](f, team);

/** Each operation that needs the owner's rights, on a fresh fixture: refused, nothing changed. */
async function expectRefused(ctx: Ctx, o: Owner, intruder: Agent, intruderTeam: number, who: string): Promise<void> {
  for (const op of Object.keys(AGENT_LINES) as Op[]) {
    const f = await fixture(ctx, o, op.toLowerCase());
    const what = `${op}${op === 'SET_PORT_OWNER' ? ' (taking the port)' : ''} by ${who} on ${o.label}'s object`;
    expectStatus(ctx, await agentActor(intruder)(op, f, intruderTeam), B_NOT_ALLOWED, `${what} is refused`);
    expectUntouched(ctx, f, o, `after ${what}`);
  }
}

/** Every operation, in an order that leaves each one something to act on; all allowed. */
async function expectAllowed(ctx: Ctx, act: Actor, f: Fixture, sameUserTeam: number, who: string): Promise<void> {
  for (const op of ['PORT_MESSAGE_INFO', 'PORT_READ', 'SEM_ACQUIRE', 'SEM_RELEASE'] as Op[])
    expectStatus(ctx, await act(op, f, sameUserTeam), B_OK, `${op} by ${who}`);
  ctx.equal(nx.getSemCount(f.sem).count, 3, `${who}: acquire 1 and release 1 leave the count at 3`);
  expectStatus(ctx, await act('SET_PORT_OWNER', f, sameUserTeam), B_OK, `SET_PORT_OWNER by ${who} to a team of the port's user`);
  ctx.equal(nx.getPortInfo(f.port).info?.team, sameUserTeam, `${who}: the port changed hands`);
  expectStatus(ctx, await act('PORT_CLOSE', f, sameUserTeam), B_OK, `PORT_CLOSE by ${who}`);
  expectStatus(ctx, nx.writePortEtc(f.port, 1, Buffer.alloc(0), B_RELATIVE_TIMEOUT, 0), B_BAD_PORT_ID, `${who}: the port is closed`);
  expectStatus(ctx, await act('PORT_DELETE', f, sameUserTeam), B_OK, `PORT_DELETE by ${who}`);
  expectStatus(ctx, nx.getPortInfo(f.port).status, B_BAD_PORT_ID, `${who}: the port is gone`);
  expectStatus(ctx, await act('SEM_DELETE', f, sameUserTeam), B_OK, `SEM_DELETE by ${who}`);
  expectStatus(ctx, nx.getSemCount(f.sem).status, B_BAD_SEM_ID, `${who}: the semaphore is gone`);
}

/** What another user may still do to an owner's objects: write, find, info, next info, count. */
async function expectOpen(ctx: Ctx, o: Owner, other: Agent, otherUid: number, who: string): Promise<void> {
  const f = await fixture(ctx, o, 'open');
  const at = `${who} on ${o.label}'s objects`;
  await expectCall(ctx, other, `port_write_hex ${f.port} 5 6869 ${B_RELATIVE_TIMEOUT} 0`, B_OK, `PORT_WRITE by ${at}`);
  ctx.equal(nx.portCount(f.port), 3, `${at}: the message is queued behind the owner's two`);
  ctx.equal((await other.call(`port_find ${f.name}`)).ret, f.port, `PORT_FIND by ${at} finds the port`);
  const pi = await expectCall(ctx, other, `port_info ${f.port}`, B_OK, `PORT_INFO by ${at}`);
  expectFields(ctx, pi, { port: f.port, team: o.team, queue_count: 3 }, `PORT_INFO by ${at}`);
  const pn = await expectCall(ctx, other, `port_next ${o.team} ${f.port - 1}`, B_OK, `GET_NEXT_PORT_FOR_TEAM(owner) by ${at}`);
  expectFields(ctx, pn, { port: f.port, team: o.team }, `GET_NEXT_PORT_FOR_TEAM(owner) by ${at}`);
  const si = await expectCall(ctx, other, `sem_info ${f.sem}`, B_OK, `SEM_INFO by ${at}`);
  expectFields(ctx, si, { sem: f.sem, team: o.team, count: 3 }, `SEM_INFO by ${at}`);
  const sn = await expectCall(ctx, other, `sem_next ${o.team} ${f.sem - 1}`, B_OK, `SEM_NEXT_INFO(owner) by ${at}`);
  expectFields(ctx, sn, { sem: f.sem, team: o.team }, `SEM_NEXT_INFO(owner) by ${at}`);
  const sc = await expectCall(ctx, other, `sem_count ${f.sem}`, B_OK, `SEM_COUNT by ${at}`);
  ctx.equal(sc.count, 3, `SEM_COUNT by ${at}: the count`);
  // Root drains the owner's two messages; the third one names its writer.
  for (const i of [1, 2]) ctx.equal(nx.readPortEtc(f.port, 64, B_RELATIVE_TIMEOUT, 0).status, QUEUED.length, `root reads message ${i}`);
  const mi = nx.getPortMessageInfoEtc(f.port, B_RELATIVE_TIMEOUT, 0);
  expectFields(ctx, mi.info, { size: 2, sender: otherUid, senderGroup: otherUid }, `the message ${who} wrote records its sender`);
}

export const scenarios: Scenario[] = [
  scenario('rights-root-objects-refused-to-other-user', async (ctx) => {
    const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
    await expectRefused(ctx, runnerOwner(ctx), n.a, n.hostPid, 'uid 65534');
  }),

  scenario('rights-user-objects-refused-to-other-user', async (ctx) => {
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
    await expectRefused(ctx, agentOwner(ctx, u.a, u.hostPid, 'uid 1000'), n.a, n.hostPid, 'uid 65534');
  }),

  scenario('rights-open-operations-across-users', async (ctx) => {
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
    await expectOpen(ctx, runnerOwner(ctx), n.a, NOBODY, 'uid 65534');
    await expectOpen(ctx, agentOwner(ctx, u.a, u.hostPid, 'uid 1000'), n.a, NOBODY, 'uid 65534');
  }),

  scenario('rights-set-port-owner-stays-within-a-user', async (ctx) => {
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const u2 = await agentAs(ctx, { uid: USER }, 'a second uid 1000 process');
    const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
    const p = await created(ctx, u.a, 'port_create 4 hx-give', 'uid 1000 creates a port');
    ctx.defer(() => void nx.deletePort(p));
    for (const [team, whose] of [[process.pid, "root's (the runner's)"], [n.hostPid, "uid 65534's"]] as const) {
      await expectCall(ctx, u.a, `port_set_owner ${p} ${team}`, B_NOT_ALLOWED, `uid 1000 cannot give its port to ${whose} team`);
      ctx.equal(nx.getPortInfo(p).info?.team, u.hostPid, `after giving it to ${whose} team: the port is still uid 1000's`);
    }
    await expectCall(ctx, u.a, `port_set_owner ${p} ${u2.hostPid}`, B_OK, 'uid 1000 gives its port to another uid 1000 team');
    ctx.equal(nx.getPortInfo(p).info?.team, u2.hostPid, 'the port belongs to the other uid 1000 team');
  }),

  scenario('rights-root-may-do-everything-to-user-objects', async (ctx) => {
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const u2 = await agentAs(ctx, { uid: USER }, 'a second uid 1000 process');
    const f = await fixture(ctx, agentOwner(ctx, u.a, u.hostPid, 'uid 1000'), 'root-all');
    const mi = nx.getPortMessageInfoEtc(f.port, B_RELATIVE_TIMEOUT, 0);
    expectFields(ctx, mi.info, { size: QUEUED.length, sender: USER, senderGroup: USER, senderTeam: u.hostPid }, "root peeks at uid 1000's message");
    await expectAllowed(ctx, runnerActor, f, u2.hostPid, 'root (CAP_IPC_OWNER)');
  }),

  scenario('rights-same-user-other-process-may-do-everything', async (ctx) => {
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const u2 = await agentAs(ctx, { uid: USER }, 'a second uid 1000 process');
    const f = await fixture(ctx, agentOwner(ctx, u.a, u.hostPid, 'uid 1000'), 'same-user');
    await expectAllowed(ctx, agentActor(u2.a), f, u2.hostPid, 'another uid 1000 process');
  }),
];
