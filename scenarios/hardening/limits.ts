// Per-user limits and what messages really cost (issue 7, defect 3): each
// user gets at most its share of the ports, semaphores and port space (by
// default half of each system-wide limit; root, with CAP_SYS_RESOURCE, is
// exempt), and a queued message is charged what it costs in kernel memory,
// so zero-byte messages are bounded too.  Limits come from the module's
// parameters when the tree has them, else from NEXUS-ABI.md's defaults.
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import { readCounters } from '../lib/guest.js';
import {
  B_NO_MEMORY,
  B_NO_MORE_PORTS,
  B_NO_MORE_SEMS,
  B_OK,
  B_RELATIVE_TIMEOUT,
  expectId,
  expectStatus,
  need,
  newPort,
  scenario,
  statusName,
} from '../lib/nexus.js';
import { agentAs, created, expectCall, moduleParam, NOBODY, setModuleParam, slabUnreclaimable, USER } from './common.js';
import { fillBound, mib, pinnedBound } from './model.js';

/** One kind of limited object, with NEXUS-ABI.md's defaults. */
interface Kind {
  noun: string;
  counter: 'ports' | 'sems';
  systemParam: string;
  userParam: string;
  systemDefault: number;
  createMany: string;
  createOne: string;
  deleteOne: string;
  noMore: number;
  /** Root's own create and delete. */
  rootCreate: () => number;
  rootDelete: (id: number) => number;
}

const PORTS: Kind = {
  noun: 'port',
  counter: 'ports',
  systemParam: 'max_ports',
  userParam: 'user_max_ports',
  systemDefault: 4096,
  createMany: 'port_create_many',
  createOne: 'port_create 1',
  deleteOne: 'port_delete',
  noMore: B_NO_MORE_PORTS,
  rootCreate: () => nx.createPort(1, 'hx-root'),
  rootDelete: (id) => nx.deletePort(id),
};

// The default share, 32768 semaphores, takes about a second to create under
// TCG: the scenario runs with it, as it runs with the ports' 2048.
const SEMS: Kind = {
  noun: 'semaphore',
  counter: 'sems',
  systemParam: 'max_sems',
  userParam: 'user_max_sems',
  systemDefault: 65536,
  createMany: 'sem_create_many',
  createOne: 'sem_create 0',
  deleteOne: 'sem_delete',
  noMore: B_NO_MORE_SEMS,
  rootCreate: () => nx.createSem(0, 'hx-root'),
  rootDelete: (id) => nx.deleteSem(id),
};

/** The per-user share: the module's parameter, else half the system-wide limit. */
function userShare(ctx: Ctx, k: Kind): number {
  const share = moduleParam(k.userParam);
  if (share === undefined) return Math.floor((moduleParam(k.systemParam) ?? k.systemDefault) / 2);
  ctx.metric(k.userParam, share, k.counter);
  return share;
}

/**
 * Two uid 1000 processes create objects: together they stop at the user's
 * share with the kind's "no more" status; root and another user still
 * create theirs, and a delete makes room for one more.
 */
async function perUserShare(ctx: Ctx, base: Record<string, number>, k: Kind): Promise<void> {
  const share = userShare(ctx, k);
  const system = moduleParam(k.systemParam) ?? k.systemDefault;
  need(ctx, base[k.counter]! + share + 2 <= system, `room system-wide to go past the per-user share of ${k.noun}s`,
    `<= ${system - share - 2} live`, base[k.counter]);
  const a = await agentAs(ctx, { uid: USER }, 'uid 1000');
  const b = await agentAs(ctx, { uid: USER }, 'a second uid 1000 process');
  const half = Math.floor(share / 2);
  const ra = await a.a.call(`${k.createMany} ${half} 1`, 120_000);
  ctx.equal(ra.created, half, `the first uid 1000 process creates ${half} ${k.noun}s`);
  const started = performance.now();
  const rb = await b.a.call(`${k.createMany} ${share - half + 1} 1`, 120_000);
  ctx.metric(`${k.counter}-created-per-second`, Math.round((rb.created as number) / ((performance.now() - started) / 1000)), `${k.counter}/s`);
  ctx.equal(rb.created, share - half, `the second stops at the user's share of ${share} ${k.noun}s`);
  expectStatus(ctx, rb.ret, k.noMore, `${k.noun} ${share + 1} of uid 1000`);
  ctx.equal(readCounters()[k.counter], base[k.counter]! + (ra.created as number) + (rb.created as number), `the ${k.counter} counter`);
  const mine = k.rootCreate();
  if (mine > 0) ctx.defer(() => void k.rootDelete(mine));
  expectId(ctx, mine, `root (exempt from the per-user share) still creates a ${k.noun}`);
  const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
  expectId(ctx, (await n.a.call(`${k.createOne} hx-other`)).ret, `uid 65534 still creates a ${k.noun}`);
  await expectCall(ctx, b.a, `${k.deleteOne} ${rb.last}`, B_OK, `uid 1000 deletes one ${k.noun}`);
  expectId(ctx, (await a.a.call(`${k.createOne} hx-again`)).ret, `then uid 1000 has room for one more ${k.noun}`);
}

// The port space a uid 1000 fill runs against when the tree lets us lower it:
// 4 MiB is 65536 zero-byte messages at 64 bytes, in 16 ports.
const FILL_SHARE = 4 << 20;
const DEFAULT_SYSTEM_PORT_SPACE = 64 << 20;

function portSpaceShare(ctx: Ctx): number {
  const share = moduleParam('user_max_port_space');
  if (share === undefined) return DEFAULT_SYSTEM_PORT_SPACE / 2;
  ctx.metric('user_max_port_space', share, 'bytes');
  setModuleParam(ctx, 'user_max_port_space', FILL_SHARE);
  return FILL_SHARE;
}

/** Root and another user can still queue a zero-byte message. */
async function othersStillWrite(ctx: Ctx): Promise<void> {
  const mine = newPort(ctx, 1, 'hx-root-fill');
  expectStatus(ctx, nx.writePortEtc(mine, 0, Buffer.alloc(0), B_RELATIVE_TIMEOUT, 0), B_OK, 'root still queues a zero-byte message');
  const n = await agentAs(ctx, { uid: NOBODY }, 'uid 65534');
  const p = await created(ctx, n.a, 'port_create 1 hx-other-fill', 'uid 65534 creates a port');
  await expectCall(ctx, n.a, `port_write_hex ${p} 0 - ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'uid 65534 still queues a zero-byte message');
}

/**
 * The counters while the fill is queued: port_messages holds it all; where
 * the tree counts port_space (bytes charged), each message was charged
 * something and the user's share was kept.
 */
function portSpaceCharged(ctx: Ctx, base: Record<string, number>, share: number, written: number): void {
  const c = readCounters();
  ctx.equal(c.port_messages, base.port_messages! + written, 'the port_messages counter holds them all');
  if (c.port_space === undefined || base.port_space === undefined) return;
  const charged = c.port_space - base.port_space;
  if (written > 0) ctx.metric('port-space-per-zero-byte-message', Math.round(charged / written), 'bytes');
  ctx.check(charged >= written && charged <= share, 'port_space: each zero-byte message is charged, within the share',
    `${written} to ${share} bytes`, charged);
}

export const scenarios: Scenario[] = [
  scenario('limits-ports-per-user', (ctx, base) => perUserShare(ctx, base, PORTS), { timeoutMs: 180_000 }),
  scenario('limits-sems-per-user', (ctx, base) => perUserShare(ctx, base, SEMS), { timeoutMs: 180_000 }),

  scenario('limits-zero-byte-messages-cost-port-space', async (ctx, base) => {
    const share = portSpaceShare(ctx);
    const bound = fillBound(share);
    const u = await agentAs(ctx, { uid: USER }, 'uid 1000');
    const before = slabUnreclaimable();
    const started = performance.now();
    const r = await u.a.call(`port_fill 4096 ${bound} 0`, 240_000);
    const seconds = (performance.now() - started) / 1000;
    const pinned = slabUnreclaimable() - before;
    const written = r.written as number;
    ctx.metric('zero-byte-messages', written, 'messages');
    ctx.metric('zero-byte-fill-rate', Math.round(written / seconds), 'messages/s');
    ctx.metric('slab-pinned', pinned, 'bytes');
    if (written > 0) ctx.metric('slab-per-zero-byte-message', Math.round(pinned / written), 'bytes');
    portSpaceCharged(ctx, base, share, written);
    expectStatus(ctx, r.ret, B_NO_MEMORY,
      `uid 1000's zero-byte messages end with B_NO_MEMORY within ${bound} (twice what ${mib(share)} holds at 64 bytes each; got ${written} in ${r.ports} ports, ${statusName(r.ret)})`);
    ctx.check(pinned <= pinnedBound(share), `the kernel memory they pin stays within ${mib(pinnedBound(share))} (${mib(share)} of port space)`,
      `<= ${pinnedBound(share)} bytes`, `${pinned} bytes (${mib(pinned)}) for ${written} messages`);
    await othersStillWrite(ctx);
  }, { timeoutMs: 300_000 }),
];
