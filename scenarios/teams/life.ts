// Teams live exactly as long as their process (issue 7, defects 6 and 7):
// a descriptor left to a child keeps no dead team alive, a reused pid is a
// new team and the only one with that id, and a child made without fork()
// (raw clone, clone(), vfork) uses libnexus as a team of its own.
// nexus-life (scenarios/native/nexus-life.c) makes the processes: the
// supervisor is no team, so the counters show exactly the teams it makes.
import { fileURLToPath } from 'node:url';
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import { Agent, type AgentAnswer } from '../lib/agent.js';
import { readCounters, waitFor } from '../lib/guest.js';
import { isRunning, killPid, runNative } from '../lib/proc.js';
import {
  B_BAD_PORT_ID,
  B_BAD_SEM_ID,
  B_BAD_TEAM_ID,
  B_OK,
  EPERM,
  expectId,
  expectStatus,
  need,
  scenario,
  statusName,
} from '../lib/nexus.js';

export const LIFE_PATH = fileURLToPath(new URL('../native/nexus-life', import.meta.url));

type Counts = Record<'teams' | 'ports' | 'sems', number>;
const KEYS = ['teams', 'ports', 'sems'] as const;
const NONE: Counts = { teams: 0, ports: 0, sems: 0 };
const ONE_TEAM: Counts = { teams: 1, ports: 1, sems: 1 };

async function startLife(ctx: Ctx): Promise<Agent> {
  const life = await Agent.start({ path: LIFE_PATH });
  ctx.defer(() => life.kill());
  return life;
}

interface Orphan {
  parent: number;
  child: number;
  port: number;
  sem: number;
}

/** A parent makes a port and a semaphore through its own descriptor, forks a child that keeps it, and exits. */
async function orphan(ctx: Ctx, life: Agent): Promise<Orphan> {
  const o = await life.call('orphan');
  if (typeof o.child === 'number') ctx.defer(() => killPid(o.child));
  need(ctx, o.ret === B_OK && o.child > 0, 'the parent creates a port and a semaphore through its own descriptor, and forks',
    'B_OK and a child', o);
  ctx.equal(o.parent_status, 0, 'the parent has exited (wait status 0)');
  ctx.check(isRunning(o.child), 'the child that keeps the descriptor lives on', 'running', 'gone');
  return o as unknown as Orphan;
}

/** Wait until teams, ports and sems are `base` plus `more` (a teardown may lag its exit), then check each. */
async function expectCounts(ctx: Ctx, base: Record<string, number>, more: Counts, what: string): Promise<void> {
  const want = (k: keyof Counts) => base[k]! + more[k];
  await waitFor(() => {
    const c = readCounters();
    return KEYS.every((k) => c[k] === want(k));
  });
  const c = readCounters();
  for (const k of KEYS) ctx.equal(c[k], want(k), `${what}: the ${k} counter`);
}

function expectOrphanGone(ctx: Ctx, o: Orphan, what: string): void {
  expectStatus(ctx, nx.getPortInfo(o.port).status, B_BAD_PORT_ID, `${what}: the dead parent's port is gone`);
  expectStatus(ctx, nx.getSemCount(o.sem).status, B_BAD_SEM_ID, `${what}: the dead parent's semaphore is gone`);
}

/** Every request the child sends through the descriptor it inherited is refused with EPERM. */
async function expectRefused(ctx: Ctx, life: Agent, what: string): Promise<void> {
  const p = await life.call('probe');
  need(ctx, p.ret === B_OK, 'the child answers', 'B_OK', p);
  for (const k of ['port_info', 'port_create', 'sem_create', 'sem_count'])
    ctx.equal(p[k], EPERM, `${what}: ${k} through the inherited descriptor fails with EPERM`);
}

/** The ids a team's objects are listed under (GET_NEXT_PORT_FOR_TEAM, SEM_NEXT_INFO), at most 16. */
function listed(next: (cookie: number) => { status: number; cookie: number }): number[] {
  const ids: number[] = [];
  for (let cookie = 0; ids.length < 16; ) {
    const r = next(cookie);
    if (r.status !== B_OK) break;
    ids.push(r.cookie);
    cookie = r.cookie;
  }
  return ids;
}

const keptDescriptor = scenario('descriptor-kept-by-child-after-parent-exits', async (ctx, base) => {
  const life = await startLife(ctx);
  const o = await orphan(ctx, life);
  await expectCounts(ctx, base, NONE, "the parent has exited, its child keeps the parent's descriptor");
  expectOrphanGone(ctx, o, 'after the parent exited');
  expectStatus(ctx, nx.getNextPortInfo(o.parent, 0).status, B_BAD_TEAM_ID, "the parent's team is unknown");
  ctx.check(isRunning(o.child), 'the child still lives', 'running', 'gone');
  await expectRefused(ctx, life, 'the child');
  const r = await life.call('release');
  ctx.equal(r.close, 0, 'the child closes the inherited descriptor without error');
  await expectCounts(ctx, base, NONE, 'after that close');
  expectStatus(ctx, (await life.call('end')).ret, B_OK, 'the child is killed and reaped');
});

const reusedPid = scenario('reused-pid-is-a-new-team', async (ctx, base) => {
  const life = await startLife(ctx);
  const o = await orphan(ctx, life);
  const n = await life.call('reuse', 60_000);
  if (typeof n.pid === 'number' && n.pid > 0) ctx.defer(() => killPid(n.pid));
  if (n.ret !== B_OK && /ns_last_pid|permission|denied|not permitted|no such file/i.test(String(n.why)))
    ctx.skip(`cannot choose the next pid (${String(n.why)}): needs root and CONFIG_CHECKPOINT_RESTORE`);
  need(ctx, n.ret === B_OK && n.pid === o.parent, "a new process gets the dead parent's pid and makes a port and a semaphore",
    `pid ${o.parent}, B_OK`, n);
  ctx.metric('fork-attempts', n.attempts as number, 'forks');
  ctx.check(isRunning(o.child), "the old team's descriptor is still held by the child", 'running', 'gone');
  await expectCounts(ctx, base, ONE_TEAM, 'one team for the pid: the new one');
  expectOrphanGone(ctx, o, 'with the pid reused');
  ctx.equal(listed((c) => nx.getNextPortInfo(o.parent, c)), [n.port], `get_next_port_info(${o.parent}) lists the new team's port only`);
  ctx.equal(listed((c) => nx.getNextSemInfo(o.parent, c)), [n.sem], `get_next_sem_info(${o.parent}) lists the new team's semaphore only`);
  const info = nx.getPortInfo(n.port as number);
  ctx.equal(info.info?.team, o.parent, "the new port's team is the reused pid");
  await expectRefused(ctx, life, 'the child of the old team');
  expectStatus(ctx, (await life.call('end')).ret, B_OK, 'the child and the new process are killed and reaped');
  await expectCounts(ctx, base, NONE, 'all gone');
});

/** The checks on one child made without fork(). */
function expectCloneChild(ctx: Ctx, kind: string, c: AgentAnswer | undefined, parent: number): void {
  need(ctx, c !== undefined, `nexus-life reports its ${kind} child`);
  ctx.equal(c.exit_status, 0, `${kind}: the child exited with status 0`);
  const inherited = c.port === -EPERM ? " (-EPERM: libnexus kept using the parent's descriptor)" : '';
  if (!ctx.check(c.port > 0, `${kind}: the child creates a port through libnexus`, 'an id > 0', `${statusName(c.port)}${inherited}`))
    return;
  expectStatus(ctx, c.write, B_OK, `${kind}: write_port`);
  ctx.check(c.read === 5 && c.code === 7 && c.data_ok === true, `${kind}: read_port reads the message back`,
    { read: 5, code: 7, data_ok: true }, { read: statusName(c.read), code: c.code, data_ok: c.data_ok });
  ctx.equal(c.team, c.pid, `${kind}: the port belongs to the child's own team`);
  expectStatus(ctx, c.port_after_exit, B_BAD_PORT_ID, `${kind}: the child's port died with it`);
  expectId(ctx, c.parent_port, `${kind}: afterwards the parent still creates ports through libnexus`);
  ctx.equal(c.parent_port_team, parent, `${kind}: in its own team`);
}

const cloneChildren = scenario('children-without-fork-use-libnexus', async (ctx, base) => {
  const run = await runNative(ctx, LIFE_PATH, ['clone'], 30_000);
  need(ctx, !run.timedOut && run.code === 0, 'nexus-life clone ends with status 0 within 30 s', 0,
    { code: run.code, signal: run.signal, threads: run.threads });
  let out: AgentAnswer | undefined;
  try {
    out = JSON.parse(run.stdout) as AgentAnswer;
  } catch {
    out = undefined;
  }
  need(ctx, out?.ret === B_OK, 'nexus-life clone reports', 'ret 0', run.stdout.slice(0, 500));
  for (const kind of ['raw_clone', 'clone', 'vfork']) expectCloneChild(ctx, kind, out[kind], out.parent);
  await expectCounts(ctx, base, NONE, 'every child and the parent exited');
});

export const lifeScenarios: Scenario[] = [keptDescriptor, reusedPid, cloneChildren];
