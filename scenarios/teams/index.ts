// teams: a team is a thread group with /dev/nexus open; it dies with its
// process (exit or kill -9) or with its last descriptor, and takes its ports
// and semaphores along.  A descriptor inherited across fork() is refused
// (EPERM); the child gets its own team.  (Reopen semantics: smoke suite.)
// A descriptor that outlives its process keeps nothing alive, a reused pid
// is a new team, and children made without fork() use libnexus as teams of
// their own (./life.ts, with nexus-life).
import { closeSync, openSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import { Holder, NEXUS_DEVICE, readCounters, waitFor, tells } from '../lib/guest.js';
import { lifeScenarios } from './life.js';
import {
  B_BAD_PORT_ID,
  B_BAD_SEM_ID,
  B_BAD_TEAM_ID,
  B_OK,
  B_RELATIVE_TIMEOUT,
  EPERM,
  LONG_US,
  agentCall,
  blocked,
  expectId,
  expectStatus,
  expectWaiters,
  need,
  newPort,
  newSem,
  returned,
  scenario,
  startAgent,
  statusName,
  track,
} from '../lib/nexus.js';

interface Owned {
  ports: number[];
  sems: number[];
}

/** Have the agent create two ports (one holding two messages, 300 bytes) and two semaphores. */
async function populate(ctx: Ctx, a: Agent, tag: string): Promise<Owned> {
  const ports: number[] = [];
  const sems: number[] = [];
  for (const i of [1, 2]) {
    const p = (await a.call(`port_create 4 ${tag}-port-${i}`)).ret as number;
    expectId(ctx, p, `the agent creates port ${i}`);
    if (p > 0) ports.push(p);
    const s = (await a.call(`sem_create ${i} ${tag}-sem-${i}`)).ret as number;
    expectId(ctx, s, `the agent creates semaphore ${i}`);
    if (s > 0) sems.push(s);
  }
  ctx.defer(() => {
    ports.forEach((p) => nx.deletePort(p));
    sems.forEach((s) => nx.deleteSem(s));
  });
  need(ctx, ports.length === 2 && sems.length === 2, 'the agent created its objects');
  expectStatus(ctx, (await a.call(`port_write ${ports[0]} 1 100 1 ${B_RELATIVE_TIMEOUT} 0`)).ret, B_OK, 'the agent queues 100 bytes');
  expectStatus(ctx, (await a.call(`port_write ${ports[0]} 2 200 2 ${B_RELATIVE_TIMEOUT} 0`)).ret, B_OK, 'the agent queues 200 bytes');
  return { ports, sems };
}

function expectPopulated(ctx: Ctx, base: Record<string, number>, teams: number, what: string): void {
  const c = readCounters();
  ctx.equal(c.teams, base.teams + teams, `${what}: teams`);
  ctx.equal(c.ports, base.ports + 2 * teams, `${what}: ports`);
  ctx.equal(c.sems, base.sems + 2 * teams, `${what}: sems`);
  ctx.equal(c.port_messages, base.port_messages + 2 * teams, `${what}: port_messages`);
  if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes + 300 * teams, `${what}: port_bytes`);
}

/** Wait until the counters are back to `base` (a team's teardown is done), then check each. */
async function expectGone(ctx: Ctx, base: Record<string, number>, o: Owned, what: string): Promise<void> {
  const keys = ['teams', 'ports', 'sems', 'port_messages', 'port_bytes'].filter((k) => tells(ctx, base, k));
  await waitFor(() => {
    const c = readCounters();
    return keys.every((k) => c[k] === base[k]);
  });
  const c = readCounters();
  for (const k of keys) ctx.equal(c[k], base[k], `${what}: ${k} back to where it was`);
  for (const p of o.ports) expectStatus(ctx, nx.getPortInfo(p).status, B_BAD_PORT_ID, `${what}: port ${p} is gone`);
  for (const s of o.sems) expectStatus(ctx, nx.getSemCount(s).status, B_BAD_SEM_ID, `${what}: semaphore ${s} is gone`);
}

export const suite: Suite = {
  name: 'teams',
  scenarios: [
    scenario('team-dies-with-exit', async (ctx, base) => {
      const a = await startAgent(ctx);
      const o = await populate(ctx, a, 'exit');
      expectPopulated(ctx, base, 1, 'the agent and its objects');
      const info = nx.getPortInfo(o.ports[0]!);
      ctx.equal(info.info?.team, a.pid, "the team id is the agent's pid");
      ctx.equal((await a.call('team')).pid, a.pid, "the agent's pid");
      await a.exit();
      await expectGone(ctx, base, o, 'after the agent exited');
      expectStatus(ctx, nx.getNextPortInfo(a.pid, 0).status, B_BAD_TEAM_ID, 'the dead team is unknown to get_next_port_info');
      expectStatus(ctx, nx.getNextSemInfo(a.pid, 0).status, B_BAD_TEAM_ID, 'and to get_next_sem_info');
    }),

    scenario('team-dies-with-kill', async (ctx, base) => {
      const a = await startAgent(ctx);
      const o = await populate(ctx, a, 'kill');
      expectPopulated(ctx, base, 1, 'the agent and its objects');
      await a.kill();
      await expectGone(ctx, base, o, 'after kill -9 of the agent');
      const p = newPort(ctx, 1, 'after-kill');
      expectStatus(ctx, nx.setPortOwner(p, a.pid), B_BAD_TEAM_ID, 'set_port_owner to the dead team');
    }),

    scenario('team-dies-with-last-descriptor', async (ctx, base) => {
      // A holder is a shell: it opens and closes /dev/nexus on command and
      // lives on after its team is gone.
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, nx.getNextPortInfo(h.pid, 0).status, B_BAD_TEAM_ID, 'a process without /dev/nexus open is no team');
      await h.open(3);
      await h.open(4);
      ctx.equal(readCounters().teams, base.teams + 1, 'two descriptors, one team');
      expectStatus(ctx, nx.getNextPortInfo(h.pid, 0).status, B_BAD_PORT_ID, 'the new team has no ports');
      const p = newPort(ctx, 2, 'given-to-holder');
      const q = newPort(ctx, 2, 'given-to-holder-empty');
      newSem(ctx, 0, 'not-given');
      expectStatus(ctx, nx.writePortEtc(p, 1, Buffer.from('held'), B_RELATIVE_TIMEOUT, 0), B_OK, 'queue a message');
      expectStatus(ctx, nx.setPortOwner(p, h.pid), B_OK, 'give a port to the holder team');
      expectStatus(ctx, nx.setPortOwner(q, h.pid), B_OK, 'give another port to the holder team');
      ctx.equal(nx.getNextPortInfo(h.pid, 0).info?.port, Math.min(p, q), "the ports are the holder team's");

      // We wait on one of them: the team's end must wake us.
      const reader = track(nx.readPortEtcAsync(q, 16, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 1, "our read blocks on the holder team's empty port");
      await h.close(3);
      ctx.equal(readCounters().teams, base.teams + 1, 'the team lives while one descriptor is open');
      expectStatus(ctx, nx.getPortInfo(p).status, B_OK, 'and so do its ports');
      expectWaiters(ctx, base.waiters + 1, 'our reader still waits');
      await h.close(4);
      expectStatus(ctx, (await returned(ctx, reader, 'our read')).status, B_BAD_PORT_ID,
        "the end of the port's team wakes its reader");
      await waitFor(() => readCounters().teams === base.teams);
      const c = readCounters();
      ctx.equal(c.teams, base.teams, 'the last close ends the team while the process lives on');
      expectStatus(ctx, nx.getPortInfo(p).status, B_BAD_PORT_ID, 'the ports died with the team');
      expectStatus(ctx, nx.getPortInfo(q).status, B_BAD_PORT_ID, 'both of them');
      ctx.equal(c.port_messages, base.port_messages, 'the queued message too');
      ctx.equal(c.sems, base.sems + 1, 'our semaphore is not touched');
      expectStatus(ctx, nx.getNextPortInfo(h.pid, 0).status, B_BAD_TEAM_ID, 'the process is no team any more');
    }),

    scenario('fork-rule', async (ctx, base) => {
      const a = await startAgent(ctx);
      const r = await a.call('fork_check');
      expectStatus(ctx, r.ret, B_OK, 'fork_check');
      ctx.equal(r.inherited_errno, EPERM, "an ioctl on the parent's descriptor in the child fails with EPERM");
      expectId(ctx, r.child_port, "the child creates a port through libnexus (its own descriptor)");
      ctx.check(typeof r.child_pid === 'number' && r.child_pid > 0 && r.child_pid !== a.pid, 'the child is another process',
        `a pid other than ${a.pid}`, r.child_pid);
      ctx.equal(r.child_port_team, r.child_pid, "the child's port belongs to the child's own team");
      // The child has exited: its team and its port are gone, the agent's team is not.
      await waitFor(() => {
        const c = readCounters();
        return c.teams === base.teams + 1 && c.ports === base.ports;
      });
      const c = readCounters();
      ctx.equal(c.teams, base.teams + 1, "the child's team died with it; the parent's lives");
      ctx.equal(c.ports, base.ports, "the child's port died with its team");
      if (typeof r.child_port === 'number' && r.child_port > 0)
        expectStatus(ctx, nx.getPortInfo(r.child_port).status, B_BAD_PORT_ID, "the child's port id is invalid");
      const after = (await a.call('port_create 2 after-fork')).ret as number;
      expectId(ctx, after, "the parent's descriptor still works in the parent");
      if (after > 0) {
        ctx.equal(nx.getPortInfo(after).info?.team, a.pid, "the parent's port belongs to the parent");
        expectStatus(ctx, nx.deletePort(after), B_OK, 'delete it');
      }
    }),

    scenario('raw-ioctl-same-process', (ctx, base) => {
      const raw = nx.rawIoctlPortCreate(nx.fd(), 3, 'raw-create');
      ctx.equal(raw.errno, 0, 'a raw NEXUS_PORT_CREATE on our own descriptor: the ioctl succeeds');
      expectStatus(ctx, raw.ret, B_OK, 'raw NEXUS_PORT_CREATE: ret');
      expectId(ctx, raw.id, 'raw NEXUS_PORT_CREATE: id');
      if (raw.id > 0) {
        const i = nx.getPortInfo(raw.id);
        ctx.check(i.info?.team === process.pid && i.info?.name === 'raw-create' && i.info?.capacity === 3,
          'the raw-created port is ours, with its name and capacity', { team: process.pid, name: 'raw-create', capacity: 3 }, i.info);
        expectStatus(ctx, nx.deletePort(raw.id), B_OK, 'delete it');
      }

      // A second descriptor of the same process: same team.
      const fd = openSync(NEXUS_DEVICE, 'r+');
      let closed = false;
      ctx.defer(() => {
        if (!closed) closeSync(fd);
      });
      ctx.equal(readCounters().teams, base.teams, 'a second open by this process is no new team');
      const r2 = nx.rawIoctlPortCreate(fd, 2, 'second-fd');
      ctx.equal(r2.errno, 0, 'a raw create on the second descriptor');
      expectId(ctx, r2.id, 'raw create on the second descriptor: id');
      if (r2.id > 0) ctx.defer(() => {
        nx.deletePort(r2.id);
      });
      ctx.equal(nx.getPortInfo(r2.id).info?.team, process.pid, 'a port made through the second descriptor is ours');
      closeSync(fd);
      closed = true;
      expectStatus(ctx, nx.getPortInfo(r2.id).status, B_OK, 'closing one of two descriptors keeps the team and its port');
      ctx.equal(readCounters().teams, base.teams, 'the team is still there');
    }),

    scenario('many-teams', async (ctx, base) => {
      const agents = await Promise.all([startAgent(ctx), startAgent(ctx), startAgent(ctx)]);
      const owned: Owned[] = [];
      for (const [i, a] of agents.entries()) owned.push(await populate(ctx, a, `many-${i}`));
      expectPopulated(ctx, base, 3, 'three agents');
      for (const [i, a] of agents.entries()) {
        ctx.equal(nx.getPortInfo(owned[i]!.ports[0]!).info?.team, a.pid, `agent ${i}'s port belongs to its team`);
        ctx.equal(nx.getSemInfo(owned[i]!.sems[0]!).info?.team, a.pid, `agent ${i}'s semaphore belongs to its team`);
      }
      await agents[1]!.kill();
      await waitFor(() => readCounters().teams === base.teams + 2);
      const c = readCounters();
      ctx.equal(c.teams, base.teams + 2, 'killing one agent ends one team');
      ctx.equal(c.ports, base.ports + 4, 'and only its ports');
      ctx.equal(c.sems, base.sems + 4, 'and only its semaphores');
      for (const p of owned[1]!.ports) expectStatus(ctx, nx.getPortInfo(p).status, B_BAD_PORT_ID, `the dead agent's port ${p}`);
      for (const i of [0, 2]) expectStatus(ctx, nx.getPortInfo(owned[i]!.ports[0]!).status, B_OK, `agent ${i}'s port lives`);
      await agents[0]!.exit();
      await agents[2]!.kill();
      await expectGone(ctx, base, { ports: owned.flatMap((o) => o.ports), sems: owned.flatMap((o) => o.sems) }, 'all agents gone');
    }),

    scenario('killed-waiter-leaves-no-trace', async (ctx, base) => {
      const p = newPort(ctx, 1, 'waited-on');
      const s = newSem(ctx, 0, 'waited-on');
      const a = await startAgent(ctx);
      const b = await startAgent(ctx);
      const ra = agentCall(a, `port_read ${p} 64 0 inf`);
      await blocked(ctx, base.waiters + 1, "agent A's read blocks on our port");
      const rb = agentCall(b, `sem_acquire ${s} 4 0 inf`);
      await blocked(ctx, base.waiters + 2, "agent B's acquire blocks on our semaphore");
      ctx.equal(nx.getSemCount(s).count, -4, 'agent B waits for 4');
      await a.kill();
      await b.kill();
      void ra;
      void rb;
      await waitFor(() => readCounters().waiters === base.waiters && readCounters().teams === base.teams);
      const c = readCounters();
      ctx.equal(c.waiters, base.waiters, 'kill -9 ends the waits');
      ctx.equal(c.teams, base.teams, 'both agent teams are gone');
      ctx.equal(c.ports, base.ports + 1, 'our port is untouched');
      ctx.equal(c.sems, base.sems + 1, 'our semaphore is untouched');
      ctx.equal(nx.getSemCount(s).count, 0, "the killed acquirer's units are given back");
      expectStatus(ctx, nx.writePortEtc(p, 9, Buffer.from('still'), B_RELATIVE_TIMEOUT, 0), B_OK, 'our port still works');
      const r = nx.readPortEtc(p, 16, B_RELATIVE_TIMEOUT, 0);
      ctx.check(r.status === 5 && r.code === 9, 'and the killed reader took no message', { status: 5, code: 9 },
        { status: statusName(r.status), code: r.code });
    }),

    scenario('thread-pool-threads-are-the-process-team', async (ctx) => {
      const p = newPort(ctx, 2, 'pool-team');
      const w = track(nx.writePortEtcAsync(p, 1, Buffer.from('from the pool'), B_RELATIVE_TIMEOUT, LONG_US));
      expectStatus(ctx, await returned(ctx, w, 'write from a thread-pool thread'), B_OK, 'write from a thread-pool thread');
      const mi = nx.getPortMessageInfoEtc(p, B_RELATIVE_TIMEOUT, 0);
      ctx.equal(mi.info?.senderTeam, process.pid, "a message from another thread records the process's team (tgid), not the thread");
      const r = track(nx.readPortEtcAsync(p, 64, B_RELATIVE_TIMEOUT, LONG_US));
      ctx.equal((await returned(ctx, r, 'read from a thread-pool thread')).data.toString(), 'from the pool', 'read from another thread');
      ctx.equal(nx.getPortInfo(p).info?.team, process.pid, "the port is the process's");
    }),

    ...lifeScenarios,
  ],
};
