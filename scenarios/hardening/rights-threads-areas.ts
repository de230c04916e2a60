// Rights across users for threads and areas (issue 8 item 7; NEXUS-ABI.md
// "Users, namespaces and limits"): a thread is its team's - resuming it,
// sending it data, waiting for it and reading its info need the owner's
// euid or CAP_IPC_OWNER, else B_NOT_ALLOWED and the thread untouched (still
// suspended, its mailbox empty); another user's area cannot be cloned (even
// with B_CLONEABLE_AREA), resized, re-protected, transferred, deleted or
// described (B_NOT_ALLOWED), nor found or listed (it is invisible); an area
// is only transferred to a team of its own user.  Inside one user, Haiku's
// semantics: any team may clone, describe and message, but only the owner
// team changes or deletes an area.
//
// Every owner and intruder is an agent (a team of its own); they are killed
// before the scenario checks the thread and area counters are back.
import type { Ctx, Scenario } from '../runner/api.js';
import {
  B_ENTRY_NOT_FOUND,
  B_NAME_NOT_FOUND,
  B_NOT_ALLOWED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  expectStatus,
} from '../lib/nexus.js';
import { B_CLONEABLE_AREA, B_READ_AREA, B_THREAD_SUSPENDED, B_WRITE_AREA } from '../native/index.js';
import { created, expectCall, NOBODY, teamScenario, USER, type Started, type StartAgent } from './common.js';

const ROOT = 0;
/** The owner's areas: readable, writable, and cloneable by anyone allowed at all. */
const SHARED = B_READ_AREA | B_WRITE_AREA | B_CLONEABLE_AREA;
const AREA_SIZE = 8192;
const HELLO = '6869'; // "hi"

interface Party extends Started {
  label: string;
}

async function party(start: StartAgent, uid: number, label: string): Promise<Party> {
  return { ...(await start(uid === ROOT ? {} : { uid }, label)), label };
}

let serial = 0;

// ---------------------------------------------------------------------------
// Threads

/** A thread of the owner's, suspended (a newborn), that will receive a message and return 7 once resumed. */
async function ownerThread(ctx: Ctx, o: Party): Promise<number> {
  return created(ctx, o.a, `thread_spawn hx-t${++serial} receive:64 return:7`, `${o.label} spawns a thread`);
}

/** What the owner sees of its thread after a refused request: still suspended, nothing in its mailbox. */
async function expectThreadUntouched(ctx: Ctx, o: Party, tid: number, what: string): Promise<void> {
  const info = await expectCall(ctx, o.a, `thread_info ${tid}`, B_OK, `${what}: the owner still sees its thread`);
  ctx.equal(info.state, B_THREAD_SUSPENDED, `${what}: the thread is still suspended`);
  ctx.equal((await o.a.call(`thread_has_data ${tid}`)).ret, 0, `${what}: its mailbox is still empty`);
}

/**
 * Each request on another user's thread (a suspended newborn, and the
 * owner's main thread): B_NOT_ALLOWED, and the newborn untouched.
 */
async function expectThreadsRefused(ctx: Ctx, o: Party, intruder: Party): Promise<void> {
  const at = (what: string) => `${what} by ${intruder.label} on ${o.label}'s thread`;
  const tid = await ownerThread(ctx, o);
  const lines: [string, string][] = [
    ['resume_thread', `thread_resume ${tid}`],
    ['send_data', `thread_send ${tid} 5 ${HELLO} ${B_RELATIVE_TIMEOUT} 0`],
    ['wait_for_thread (which would resume it)', `thread_wait ${tid} ${B_RELATIVE_TIMEOUT} 0`],
    ['get_thread_info', `thread_info ${tid}`],
  ];
  for (const [what, line] of lines) {
    await expectCall(ctx, intruder.a, line, B_NOT_ALLOWED, `${at(what)} is refused`);
    await expectThreadUntouched(ctx, o, tid, `after ${at(what)}`);
  }
  // The owner's main thread (its tid is its pid): the same.
  const main = o.hostPid;
  await expectCall(ctx, intruder.a, `thread_send ${main} 5 ${HELLO} ${B_RELATIVE_TIMEOUT} 0`, B_NOT_ALLOWED, at('send_data to the main thread'));
  await expectCall(ctx, intruder.a, `thread_wait ${main} ${B_RELATIVE_TIMEOUT} 0`, B_NOT_ALLOWED, at('wait_for_thread on the main thread'));
  await expectCall(ctx, intruder.a, `thread_info ${main}`, B_NOT_ALLOWED, at('get_thread_info of the main thread'));
  await expectCall(ctx, intruder.a, `thread_resume ${main}`, B_NOT_ALLOWED, at('resume_thread of the main thread'));
  const r = await o.a.call(`thread_receive 64 ${B_RELATIVE_TIMEOUT} 0`);
  ctx.check(r.ret < 0 && r.sender === 0, `${o.label}'s own mailbox received nothing from ${intruder.label}`, 'nothing', r);
}

/**
 * The same requests by a team allowed to make them: they go through.  The
 * wait resumes the newborn itself (Haiku's wait_for_thread does): a resume
 * before it could let the thread end before the wait began, and another
 * team's dead thread is B_BAD_THREAD_ID.
 */
async function expectThreadsAllowed(ctx: Ctx, o: Party, other: Party): Promise<void> {
  const at = (what: string) => `${what} by ${other.label} on ${o.label}'s thread`;
  const tid = await ownerThread(ctx, o);
  const info = await expectCall(ctx, other.a, `thread_info ${tid}`, B_OK, at('get_thread_info'));
  ctx.equal(info.team, o.hostPid, `${at('get_thread_info')}: the owner's team`);
  await expectCall(ctx, other.a, `thread_send ${tid} 5 ${HELLO} ${B_RELATIVE_TIMEOUT} 0`, B_OK, at('send_data'));
  ctx.equal((await o.a.call(`thread_has_data ${tid}`)).ret, 1, `${at('send_data')}: the message waits in its mailbox`);
  const w = await expectCall(ctx, other.a, `thread_wait ${tid} ${B_RELATIVE_TIMEOUT} 10000000`, B_OK, at('wait_for_thread'));
  ctx.equal(w.code, 7, `${at('wait_for_thread')}: the thread was resumed, received the message and returned 7`);
  const parked = await created(ctx, o.a, `thread_spawn hx-t${++serial} block`, `${o.label} spawns a thread that only receives`);
  await expectCall(ctx, other.a, `thread_resume ${parked}`, B_OK, at('resume_thread'));
}

// ---------------------------------------------------------------------------
// Areas

interface Area {
  id: number;
  name: string;
}

/** An area of the owner's (readable, writable, cloneable) holding "hi". */
async function ownerArea(ctx: Ctx, o: Party): Promise<Area> {
  const name = `hx-a${++serial}`;
  const id = await created(ctx, o.a, `area_create ${name} ${AREA_SIZE} 0 ${SHARED}`, `${o.label} creates an area`);
  await expectCall(ctx, o.a, `area_write ${id} 0 ${HELLO}`, B_OK, `${o.label} writes to its area`);
  return { id, name };
}

/** What the owner sees of its area after a refused request: alive, its, unchanged. */
async function expectAreaUntouched(ctx: Ctx, o: Party, area: Area, what: string): Promise<void> {
  const info = await expectCall(ctx, o.a, `area_info ${area.id}`, B_OK, `${what}: the area is alive`);
  ctx.equal(info.team, o.hostPid, `${what}: the area is still ${o.label}'s`);
  ctx.equal(info.size, AREA_SIZE, `${what}: its size is unchanged`);
  ctx.equal(info.protection, SHARED, `${what}: its protection is unchanged`);
  ctx.equal((await o.a.call(`area_read ${area.id} 0 2`)).hex, HELLO, `${what}: its bytes are unchanged`);
}

async function expectAreasRefused(ctx: Ctx, o: Party, intruder: Party): Promise<void> {
  const at = (what: string) => `${what} by ${intruder.label} of ${o.label}'s area`;
  const area = await ownerArea(ctx, o);
  const lines: [string, string][] = [
    ['clone_area (of a B_CLONEABLE_AREA area)', `area_clone hx-steal ${area.id} ${B_READ_AREA}`],
    ['resize_area', `area_resize ${area.id} 4096`],
    ['set_area_protection', `area_protect ${area.id} ${B_READ_AREA}`],
    ['transfer_area (to itself)', `area_transfer ${area.id} ${intruder.hostPid}`],
    ['delete_area', `area_delete ${area.id}`],
    ['get_area_info', `area_info ${area.id}`],
  ];
  for (const [what, line] of lines) {
    await expectCall(ctx, intruder.a, line, B_NOT_ALLOWED, `${at(what)} is refused`);
    await expectAreaUntouched(ctx, o, area, `after ${at(what)}`);
  }
  const raw = await intruder.a.call(`area_clone_raw ${area.id} ${B_READ_AREA}`);
  expectStatus(ctx, raw.ret, B_NOT_ALLOWED, `${at('NEXUS_AREA_CLONE (raw)')}: ret`);
  ctx.check(raw.fd === undefined || raw.fd < 0 || raw.ret !== B_OK, `${at('NEXUS_AREA_CLONE (raw)')}: no descriptor`, 'none', raw.fd);
  await expectCall(ctx, intruder.a, `area_find ${area.name}`, B_NAME_NOT_FOUND, `${at('find_area')}: it is invisible`);
  await expectCall(ctx, intruder.a, `area_next ${o.hostPid} 0`, B_ENTRY_NOT_FOUND,
    `get_next_area_info(${o.label}'s team) by ${intruder.label}: its areas are invisible`);
}

/** A team allowed to use the owner's area: clone, find, list, describe; still only the owner changes it. */
async function expectAreasShared(ctx: Ctx, o: Party, other: Party): Promise<void> {
  const at = (what: string) => `${what} by ${other.label} of ${o.label}'s area`;
  const area = await ownerArea(ctx, o);
  const clone = await created(ctx, other.a, `area_clone hx-share ${area.id} ${B_READ_AREA | B_WRITE_AREA}`, at('clone_area'));
  ctx.equal((await other.a.call(`area_read ${clone} 0 2`)).hex, HELLO, `${at('clone_area')}: the clone shares the pages`);
  ctx.equal((await other.a.call(`area_find ${area.name}`)).ret, area.id, `${at('find_area')} finds it`);
  const next = await expectCall(ctx, other.a, `area_next ${o.hostPid} ${area.id - 1}`, B_OK, at('get_next_area_info(owner)'));
  ctx.equal(next.area, area.id, `${at('get_next_area_info(owner)')}: the area`);
  const info = await expectCall(ctx, other.a, `area_info ${area.id}`, B_OK, at('get_area_info'));
  ctx.equal(info.team, o.hostPid, `${at('get_area_info')}: the owner's team`);
  for (const [what, line] of [
    ['resize_area', `area_resize ${area.id} 4096`],
    ['set_area_protection', `area_protect ${area.id} ${B_READ_AREA}`],
    ['transfer_area', `area_transfer ${area.id} ${other.hostPid}`],
    ['delete_area', `area_delete ${area.id}`],
  ] as const)
    await expectCall(ctx, other.a, line, B_NOT_ALLOWED, `${at(what)}: only the owner team changes it`);
  await expectAreaUntouched(ctx, o, area, `after ${other.label}'s attempts`);
}

export const scenarios: Scenario[] = [
  teamScenario('rights-threads-refused-to-other-user', { threads: true }, async (ctx, _base, start) => {
    const u = await party(start, USER, 'uid 1000');
    const r = await party(start, ROOT, 'root');
    const n = await party(start, NOBODY, 'uid 65534');
    await expectThreadsRefused(ctx, u, n);
    await expectThreadsRefused(ctx, r, n);
  }),

  teamScenario('rights-threads-same-user-and-root-allowed', { threads: true }, async (ctx, _base, start) => {
    const u = await party(start, USER, 'uid 1000');
    const u2 = await party(start, USER, 'another uid 1000 process');
    const r = await party(start, ROOT, 'root (CAP_IPC_OWNER)');
    await expectThreadsAllowed(ctx, u, u2);
    await expectThreadsAllowed(ctx, u, r);
  }),

  teamScenario('rights-areas-refused-to-other-user', { areas: true }, async (ctx, _base, start) => {
    const u = await party(start, USER, 'uid 1000');
    const r = await party(start, ROOT, 'root');
    const n = await party(start, NOBODY, 'uid 65534');
    await expectAreasRefused(ctx, u, n);
    await expectAreasRefused(ctx, r, n);
  }),

  teamScenario('rights-areas-same-user-and-root-share-owner-changes', { areas: true }, async (ctx, _base, start) => {
    const u = await party(start, USER, 'uid 1000');
    const u2 = await party(start, USER, 'another uid 1000 process');
    const r = await party(start, ROOT, 'root (CAP_IPC_OWNER)');
    await expectAreasShared(ctx, u, u2);
    await expectAreasShared(ctx, u, r);
  }),

  teamScenario('rights-area-transfer-stays-within-a-user', { areas: true }, async (ctx, _base, start) => {
    const u = await party(start, USER, 'uid 1000');
    const u2 = await party(start, USER, 'another uid 1000 process');
    const r = await party(start, ROOT, 'root');
    const n = await party(start, NOBODY, 'uid 65534');
    const area = await ownerArea(ctx, u);
    for (const to of [n, r] as Party[]) {
      await expectCall(ctx, u.a, `area_transfer ${area.id} ${to.hostPid}`, B_NOT_ALLOWED, `uid 1000 cannot give its area to ${to.label}'s team`);
      await expectAreaUntouched(ctx, u, area, `after giving it to ${to.label}`);
    }
    await expectCall(ctx, r.a, `area_transfer ${area.id} ${r.hostPid}`, B_NOT_ALLOWED, "root cannot take uid 1000's area either (owner only)");
    ctx.equal((await u.a.call(`area_transfer ${area.id} ${u2.hostPid}`)).ret, area.id, 'uid 1000 gives its area to another uid 1000 team (same id)');
    ctx.equal((await u2.a.call(`area_info ${area.id}`)).team, u2.hostPid, 'the area belongs to the other uid 1000 team');
    await expectCall(ctx, u.a, `area_delete ${area.id}`, B_NOT_ALLOWED, 'the giver can no longer delete it');
    await expectCall(ctx, u2.a, `area_delete ${area.id}`, B_OK, 'its new owner can');
  }),
];
