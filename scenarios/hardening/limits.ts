// Per-user limits and what messages really cost (issue 7, defect 3): each
// user gets at most its share of the ports, semaphores and port space (by
// default half of each system-wide limit; root, with CAP_SYS_RESOURCE, is
// exempt), and a queued message is charged what it costs in kernel memory,
// so zero-byte messages are bounded too.  Limits come from the module's
// parameters when the tree has them, else from NEXUS-ABI.md's defaults.
//
// Issue 8 adds thread records, areas and area memory (the share lowered for
// the scenario: user_max_threads, user_max_areas, user_max_area_space), and
// thread messages waiting in mailboxes, charged to their sender's port
// space.
import type { Ctx, Scenario } from '../runner/api.js';
import { nx } from '../native/index.js';
import { readCounters } from '../lib/guest.js';
import type { Agent } from '../lib/agent.js';
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
import { agentAs, created, expectCall, guestAllocatorDebug, moduleParam, NOBODY, setModuleParam, slabUnreclaimable, teamScenario, USER } from './common.js';
import { fillBound, mib, pinnedBound } from './model.js';
import { B_CLONEABLE_AREA, B_READ_AREA, B_WRITE_AREA, NEXUS_THREAD_MAX_MESSAGE_SIZE } from '../native/index.js';

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

// ---------------------------------------------------------------------------
// Threads and areas (issue 8)

const PAGE = 4096;
const RW = B_READ_AREA | B_WRITE_AREA;

/** Lower a per-user share for the scenario, checking the system-wide limit leaves room past it. */
function lowerShare(ctx: Ctx, base: Record<string, number>, param: string, system: string, counter: string, share: number): void {
  const max = moduleParam(system);
  need(ctx, max !== undefined, `the module has a ${system} parameter`);
  need(ctx, (base[counter] ?? 0) + 2 * share + 8 <= max, `room system-wide (${system} ${max}) to go past the per-user share`,
    `<= ${max - 2 * share - 8} ${counter}`, base[counter]);
  setModuleParam(ctx, param, share);
}

/** Send create commands until one fails: the ids made and the failure's status. */
async function fill(a: Agent, lines: (i: number) => string, most: number): Promise<{ ids: number[]; last: number }> {
  const ids: number[] = [];
  for (let i = 0; i < most; i++) {
    const r = (await a.call(lines(i))).ret as number;
    if (r <= 0) return { ids, last: r };
    ids.push(r);
  }
  return { ids, last: B_OK };
}

const THREAD_SHARE = 16;

const threadRecords = teamScenario('limits-thread-records-per-user', { threads: true }, async (ctx, base, start) => {
  lowerShare(ctx, base, 'user_max_threads', 'max_threads', 'threads', THREAD_SHARE);
  const u = await start({ uid: USER }, 'uid 1000');
  // The first one ends by itself once told to: its record can be given back.
  const first = await created(ctx, u.a, 'thread_spawn hx-first receive:64 return:3', 'uid 1000 spawns a thread');
  const f = await fill(u.a, (i) => `thread_spawn hx-l${i} block`, 2 * THREAD_SHARE);
  expectStatus(ctx, f.last, B_NO_MEMORY, `uid 1000's thread records stop at its share of ${THREAD_SHARE}`);
  ctx.equal(readCounters().threads! - base.threads!, THREAD_SHARE,
    `the threads counter: uid 1000 holds exactly its share (${f.ids.length + 1} spawned threads and its main thread)`);
  const u2 = await start({ uid: USER }, 'a second uid 1000 process');
  await expectCall(ctx, u2.a, 'thread_info 0', B_NO_MEMORY, "a second uid 1000 process's own thread gets no record either");
  const r = await start({}, 'root');
  expectId(ctx, (await r.a.call('thread_spawn hx-root block')).ret, 'root (exempt from the per-user share) still spawns a thread');
  const n = await start({ uid: NOBODY }, 'uid 65534');
  expectId(ctx, (await n.a.call('thread_spawn hx-other block')).ret, 'uid 65534 still spawns a thread');
  await expectCall(ctx, u.a, `thread_send ${first} 1 - ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'uid 1000 sends its first thread its message');
  const w = await expectCall(ctx, u.a, `thread_wait ${first} ${B_RELATIVE_TIMEOUT} 10000000`, B_OK, 'which ends, waited for');
  ctx.equal(w.code, 3, 'with its code');
  expectId(ctx, (await u.a.call('thread_spawn hx-again block')).ret, 'a thread that ended and was waited for gives its record back: room for one more');
}, { timeoutMs: 120_000 });

const AREA_SHARE = 8;

const areasPerUser = teamScenario('limits-areas-per-user', { areas: true }, async (ctx, base, start) => {
  lowerShare(ctx, base, 'user_max_areas', 'max_areas', 'areas', AREA_SHARE);
  const u = await start({ uid: USER }, 'uid 1000');
  const f = await fill(u.a, (i) => `area_create hx-l${i} ${PAGE} 0 ${RW}`, 2 * AREA_SHARE);
  ctx.equal(f.ids.length, AREA_SHARE, `uid 1000 creates its share of ${AREA_SHARE} areas`);
  expectStatus(ctx, f.last, B_NO_MEMORY, `area ${AREA_SHARE + 1} of uid 1000`);
  ctx.equal(readCounters().areas! - base.areas!, AREA_SHARE, 'the areas counter');
  await expectCall(ctx, u.a, `area_clone hx-clone ${f.ids[0]} ${RW}`, B_NO_MEMORY, 'a clone is an area of its maker: refused past the share too');
  const u2 = await start({ uid: USER }, 'a second uid 1000 process');
  await expectCall(ctx, u2.a, `area_create hx-u2 ${PAGE} 0 ${RW}`, B_NO_MEMORY, 'a second uid 1000 process creates none either');
  const r = await start({}, 'root');
  expectId(ctx, (await r.a.call(`area_create hx-root ${PAGE} 0 ${RW}`)).ret, 'root (exempt) still creates an area');
  const n = await start({ uid: NOBODY }, 'uid 65534');
  expectId(ctx, (await n.a.call(`area_create hx-other ${PAGE} 0 ${RW}`)).ret, 'uid 65534 still creates an area');
  await expectCall(ctx, u.a, `area_delete ${f.ids[0]}`, B_OK, 'uid 1000 deletes one area');
  expectId(ctx, (await u.a.call(`area_create hx-again ${PAGE} 0 ${RW}`)).ret, 'then uid 1000 has room for one more');
}, { timeoutMs: 120_000 });

const SPACE_SHARE = 1 << 20;
const HALF = SPACE_SHARE / 2;

const areaSpacePerUser = teamScenario('limits-area-space-per-user', { areas: true }, async (ctx, base, start) => {
  lowerShare(ctx, base, 'user_max_area_space', 'max_area_space', 'area_space', SPACE_SHARE);
  const u = await start({ uid: USER }, 'uid 1000');
  const a1 = await created(ctx, u.a, `area_create hx-s1 ${HALF} 0 ${RW}`, 'uid 1000 creates 512 KiB');
  const a2 = await created(ctx, u.a, `area_create hx-s2 ${HALF} 0 ${RW | B_CLONEABLE_AREA}`, 'and 512 KiB more (cloneable): its whole share of 1 MiB');
  ctx.equal(readCounters().area_space! - base.area_space!, SPACE_SHARE, 'the area_space counter holds them');
  await expectCall(ctx, u.a, `area_create hx-s3 ${PAGE} 0 ${RW}`, B_NO_MEMORY, 'one more page is refused');
  await expectCall(ctx, u.a, `area_resize ${a1} ${SPACE_SHARE}`, B_NO_MEMORY, 'growing an area past the share is refused');
  ctx.equal((await u.a.call(`area_info ${a1}`)).size, HALF, 'and leaves its size as it was');
  const u2 = await start({ uid: USER }, 'a second uid 1000 process');
  expectId(ctx, (await u2.a.call(`area_clone hx-s2c ${a2} ${B_READ_AREA}`)).ret, 'a clone shares the memory: it is not charged again');
  ctx.equal(readCounters().area_space! - base.area_space!, SPACE_SHARE, 'the area_space counter after the clone');
  await expectCall(ctx, u.a, `area_resize ${a1} ${HALF / 2}`, B_OK, 'shrinking an area gives memory back');
  expectId(ctx, (await u.a.call(`area_create hx-s4 ${HALF / 2} 0 ${RW}`)).ret, 'room for 256 KiB again');
  const r = await start({}, 'root');
  expectId(ctx, (await r.a.call(`area_create hx-root ${2 * SPACE_SHARE} 0 ${RW}`)).ret, 'root (exempt) still creates 2 MiB');
  const n = await start({ uid: NOBODY }, 'uid 65534');
  expectId(ctx, (await n.a.call(`area_create hx-other ${HALF} 0 ${RW}`)).ret, 'uid 65534 still creates 512 KiB');
}, { timeoutMs: 120_000 });

const MESSAGE_SPACE = 1 << 20;
const BIG_HEX = 'ab'.repeat(NEXUS_THREAD_MAX_MESSAGE_SIZE);

/**
 * Thread messages waiting in mailboxes pin kernel memory: they are charged
 * to their sender's port space.  uid 1000 fills one suspended thread after
 * another (a newborn never reads) with a 64 KiB message until a send fails.
 */
const threadMessages = teamScenario('limits-thread-messages-cost-port-space', { threads: true }, async (ctx, base, start) => {
  const before = moduleParam('user_max_port_space');
  need(ctx, before !== undefined, 'the module has a user_max_port_space parameter');
  setModuleParam(ctx, 'user_max_port_space', MESSAGE_SPACE);
  const most = MESSAGE_SPACE / NEXUS_THREAD_MAX_MESSAGE_SIZE;
  const u = await start({ uid: USER }, 'uid 1000');
  let sent = 0;
  let last = B_OK;
  for (let i = 0; i <= most + 1; i++) {
    const t = await created(ctx, u.a, `thread_spawn hx-m${i} block`, `uid 1000 spawns thread ${i + 1}`);
    last = (await u.a.call(`thread_send ${t} 1 ${BIG_HEX} ${B_RELATIVE_TIMEOUT} 0`, 60_000)).ret;
    if (last !== B_OK) break;
    sent++;
  }
  ctx.metric('64k-thread-messages-in-1mib', sent, 'messages');
  expectStatus(ctx, last, B_NO_MEMORY, `uid 1000's 64 KiB thread messages end with B_NO_MEMORY within ${mib(MESSAGE_SPACE)} of port space (${sent} went)`);
  ctx.check(sent >= 1 && sent <= most, `at most ${most} of them fit`, `1..${most}`, sent);
  if (typeof base.port_space === 'number') {
    const charged = readCounters().port_space! - base.port_space;
    ctx.check(charged >= sent * NEXUS_THREAD_MAX_MESSAGE_SIZE && charged <= MESSAGE_SPACE,
      'port_space: each waiting thread message is charged at least its size, within the share',
      `${sent * NEXUS_THREAD_MAX_MESSAGE_SIZE} to ${MESSAGE_SPACE} bytes`, charged);
  }
  const n = await start({ uid: NOBODY }, 'uid 65534');
  const t = await created(ctx, n.a, 'thread_spawn hx-n block', 'uid 65534 spawns a thread');
  await expectCall(ctx, n.a, `thread_send ${t} 1 ${BIG_HEX} ${B_RELATIVE_TIMEOUT} 0`, B_OK, 'uid 65534 still sends a 64 KiB message', );
}, { timeoutMs: 180_000 });

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
    const debug = guestAllocatorDebug();
    const most = pinnedBound(share, debug, written);
    const allowance = debug.inflation > 1 || debug.perObject > 0
      ? `; the debug allocator's ${debug.inflation.toFixed(2)}x red zones and ${debug.perObject} bytes of kmemleak per object allowed`
      : '';
    ctx.check(pinned <= most, `the kernel memory they pin stays within ${mib(most)} (${mib(share)} of port space${allowance})`,
      `<= ${most} bytes`, `${pinned} bytes (${mib(pinned)}) for ${written} messages`);
    await othersStillWrite(ctx);
  }, { timeoutMs: 300_000 }),

  threadRecords,
  areasPerUser,
  areaSpacePerUser,
  threadMessages,
];
