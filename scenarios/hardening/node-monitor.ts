// The node monitor and vrefs held to issue 9 item 8 (NEXUS-ABI.md "Users,
// namespaces and limits", "Vrefs", "Port capabilities", "Node monitor"):
//
// - rights across users: a vref key is a slot of one team, useless to any
//   other (another user's, another team of the same user, root's own); a
//   team can only send a vref it holds a slot in (B_NOT_ALLOWED, nothing
//   queued); a slot received across users opens no wider than the vref was
//   made; a watch needs read permission on the node (a directory: read and
//   search) whatever the way to it - an O_PATH descriptor, a vref received
//   in a message - so that a user never learns of changes in a directory it
//   cannot list; STOP_NOTIFYING of another team's port and token stops
//   nothing;
// - limits per user (nexus.ko's user_max_vrefs, user_max_vref_slots,
//   user_max_watches, user_max_node_events, lowered for the scenario):
//   -ENOSPC past the share, a slot minted by READ_CAPS too (the message
//   stays queued), root exempt, other users unaffected; queued events never
//   more than the share, and every event accounted for: each listener gets
//   the events or a NEXUS_EVENTS_DROPPED saying how many it lost;
// - namespaces: mounts are told only to volume watchers of the same mount
//   namespace; root in a user namespace gets no read permission it lacks
//   outside, and its watches count against its real uid's share.
//
// Owners and intruders are agents (teams of their own, as uid 1000 or
// 65534); the directories are made here, as root, for each scenario.
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Scenario } from '../runner/api.js';
import type { Agent } from '../lib/agent.js';
import { readCounters, sleep } from '../lib/guest.js';
import { decodeNodeMonitorEvent, type NodeMonitorEvent } from '../lib/kmessage.js';
import { B_NOT_ALLOWED, B_OK, B_RELATIVE_TIMEOUT, expectStatus, need } from '../lib/nexus.js';
import {
  B_WATCH_DIRECTORY,
  B_WATCH_MOUNT,
  B_WATCH_NAME,
  B_WATCH_STAT,
  nx,
  O_DIRECTORY,
  O_PATH,
  O_RDONLY,
  O_RDWR,
} from '../native/index.js';
import { NOBODY, setModuleParam, teamScenario, USER, type StartAgent } from './common.js';

const NM_DEVICE = '/dev/nexus_node_monitor';
const EPERM = -1;
/** -ENOENT, and B_ENTRY_NOT_FOUND (the same value) from libnexus. */
const ENOENT = -2;
const EACCES = -13;
const ENOSPC = -28;

function needNodeMonitor(ctx: Ctx): void {
  if (!existsSync(NM_DEVICE)) ctx.skip(`${NM_DEVICE} is missing: no nexus_node_monitor module loaded`);
}

/** Undo something of this process's own (a vref, a watch) before the counters are checked. */
type Later = (fn: () => unknown) => void;

/**
 * A node monitor scenario: agents killed, this process's vrefs and watches
 * dropped (`later`), then every counter (vrefs, slots, watches, queued
 * events, caps) must be back.
 */
function nmScenario(name: string, run: (ctx: Ctx, start: StartAgent, later: Later) => Promise<void>, timeoutMs?: number): Scenario {
  return teamScenario(name, {}, async (ctx, _base, start) => {
    needNodeMonitor(ctx);
    const undo: (() => unknown)[] = [];
    try {
      await run(ctx, start, (fn) => void undo.push(fn));
    } finally {
      for (const fn of undo.reverse()) {
        try {
          fn();
        } catch (e) {
          process.stderr.write(`hardening/${name}: clean-up failed: ${String(e)}\n`);
        }
      }
    }
  }, timeoutMs === undefined ? {} : { timeoutMs });
}

/**
 * A tree owned by uid 1000 for the scenario (removed at its end):
 *   private/ 0700 with f 0644;  shared/ 0755 with secret 0600 and open 0644;
 *   xonly/ 0711 (search, no read);  dir/ 0755 (to watch, events made by root).
 */
function userTree(ctx: Ctx): Record<'root' | 'private' | 'privateFile' | 'shared' | 'secret' | 'open' | 'xonly' | 'dir', string> {
  const root = mkdtempSync('/var/tmp/nexus-hx-nm-');
  ctx.defer(() => rmSync(root, { recursive: true, force: true }));
  chmodSync(root, 0o755);
  const t = {
    root,
    private: join(root, 'private'),
    privateFile: join(root, 'private', 'f'),
    shared: join(root, 'shared'),
    secret: join(root, 'shared', 'secret'),
    open: join(root, 'shared', 'open'),
    xonly: join(root, 'xonly'),
    dir: join(root, 'dir'),
  };
  for (const [d, mode] of [[t.private, 0o700], [t.shared, 0o755], [t.xonly, 0o711], [t.dir, 0o777]] as const) {
    mkdirSync(d);
    chmodSync(d, mode);
    chownSync(d, USER, USER);
  }
  for (const [f, mode] of [[t.privateFile, 0o644], [t.secret, 0o600], [t.open, 0o644]] as const) {
    writeFileSync(f, 'hello');
    chmodSync(f, mode);
    chownSync(f, USER, USER);
  }
  return t;
}

async function portOf(ctx: Ctx, a: Agent, what: string, capacity = 64): Promise<number> {
  const r = await a.call(`port_create ${capacity} hx-nm`);
  need(ctx, typeof r.ret === 'number' && r.ret > 0, `${what} creates a port`, 'an id > 0', r.ret);
  return r.ret;
}

/** Every message waiting in an agent's port, as events (undecodable ones fail a check). */
async function drain(ctx: Ctx, a: Agent, port: number, what: string): Promise<NodeMonitorEvent[]> {
  const out: NodeMonitorEvent[] = [];
  for (;;) {
    const r = await a.call(`port_read ${port} 4096 ${B_RELATIVE_TIMEOUT} 0`);
    if (r.ret !== B_OK) return out;
    try {
      out.push(decodeNodeMonitorEvent(Buffer.from(r.hex as string, 'hex')));
    } catch (e) {
      ctx.check(false, `${what}: a message in the port is a node monitor event`, 'a KMessage', (e as Error).message);
    }
  }
}

/** Every message waiting in one of this process's ports, as events. */
function drainOwn(ctx: Ctx, port: number, what: string): NodeMonitorEvent[] {
  const out: NodeMonitorEvent[] = [];
  for (;;) {
    const r = nx.readPortEtc(port, 4096, B_RELATIVE_TIMEOUT, 0);
    if (r.status < 0) return out;
    try {
      out.push(decodeNodeMonitorEvent(r.data));
    } catch (e) {
      ctx.check(false, `${what}: a message in the port is a node monitor event`, 'a KMessage', (e as Error).message);
    }
  }
}

// ---------------------------------------------------------------------------
// Rights across users

const vrefKeysAcrossUsers = nmScenario('vref-keys-are-per-team', async (ctx, start) => {
  const t = userTree(ctx);
  const owner = await start({ uid: USER }, 'uid 1000 (the owner)');
  const sibling = await start({ uid: USER }, 'a second uid 1000 team');
  const other = await start({ uid: NOBODY }, 'uid 65534');
  const v = await owner.a.vrefCreate(t.secret, O_RDWR);
  need(ctx, v.ret === 0 && v.id > 0 && v.key !== 0n, 'the owner makes a vref of its 0600 file', 'a vref', v);
  for (const [who, a] of [['uid 65534', other.a], ['another team of uid 1000', sibling.a]] as const) {
    ctx.equal((await a.vrefAcquire(v.id, v.key)).ret, EPERM, `${who}: VREF_ACQUIRE with the owner's key is -EPERM`);
    ctx.equal((await a.vrefOpen(v.id, v.key, O_RDONLY)).ret, EPERM, `${who}: VREF_OPEN with the owner's key is -EPERM`);
    ctx.equal(await a.vrefRelease(v.id, v.key), EPERM, `${who}: VREF_RELEASE of the owner's slot is -EPERM`);
  }
  // Root's own team: CAP_IPC_OWNER does not make another team's key a slot of root's.
  ctx.equal(nx.vrefAcquire(v.id, v.key).status, EPERM, "root: VREF_ACQUIRE with the owner's key is -EPERM");
  ctx.equal(nx.vrefOpen(v.id, v.key, O_RDONLY).status, EPERM, "root: VREF_OPEN with the owner's key is -EPERM");
  ctx.equal(nx.vrefRelease(v.id, v.key), EPERM, "root: VREF_RELEASE of the owner's slot is -EPERM");
  // Keys guessed near the real one, and the id alone.
  for (const k of [v.key ^ 1n, v.key + 1n, 0n, (1n << 64n) - 1n])
    ctx.equal((await other.a.vrefAcquire(v.id, k)).ret, EPERM, `uid 65534: VREF_ACQUIRE with key ${k} is -EPERM`);
  // The owner's slot still works after all of that.
  const o = await owner.a.vrefOpen(v.id, v.key, O_RDONLY);
  ctx.equal(o.ret, 0, "after the intruders' tries, the owner's slot still opens its file");
  ctx.equal(o.hex, Buffer.from('hello').toString('hex'), 'and reads it');
  // An id alone is no capability: a message naming it is refused whole, nothing queued.
  const port = await portOf(ctx, other.a, 'uid 65534');
  for (const [who, a] of [['uid 65534', other.a], ['another team of uid 1000', sibling.a]] as const) {
    expectStatus(ctx, await a.writeCaps(port, 7, '6869', [v.id]), B_NOT_ALLOWED,
      `${who}: PORT_WRITE_CAPS naming the owner's vref (no slot in it) is B_NOT_ALLOWED`);
  }
  expectStatus(ctx, nx.writePortCaps(port, 7, Buffer.from('hi'), [{ vrefId: v.id }]), B_NOT_ALLOWED,
    "root: PORT_WRITE_CAPS naming the owner's vref (root's team holds no slot) is B_NOT_ALLOWED");
  const mine = await other.a.vrefCreate(t.open, O_RDONLY);
  need(ctx, mine.ret === 0, 'uid 65534 makes a vref of a 0644 file');
  expectStatus(ctx, await other.a.writeCaps(port, 7, '6869', [mine.id, v.id]), B_NOT_ALLOWED,
    "uid 65534: a message naming its own vref and the owner's is refused whole");
  ctx.equal((await other.a.call(`port_info ${port}`)).queue_count, 0, 'nothing was queued by the refused writes');
  expectStatus(ctx, await other.a.writeCaps(port, 7, '6869', [mine.id]), B_OK, 'uid 65534: a message naming only its own vref goes');
  ctx.equal((await other.a.call(`port_info ${port}`)).queue_count, 1, 'and is queued');
});

const receivedSlotsAcrossUsers = nmScenario('vref-received-across-users', async (ctx, start) => {
  const t = userTree(ctx);
  const owner = await start({ uid: USER }, 'uid 1000 (the owner)');
  const other = await start({ uid: NOBODY }, 'uid 65534');
  const file = await owner.a.vrefCreate(t.secret, O_RDONLY);
  const dir = await owner.a.vrefCreate(t.private, O_RDONLY | O_DIRECTORY);
  need(ctx, file.ret === 0 && dir.ret === 0, "the owner makes vrefs of its 0600 file (read-only) and 0700 directory", 'both', { file, dir });
  const port = await portOf(ctx, other.a, 'uid 65534');
  expectStatus(ctx, await owner.a.writeCaps(port, 9, '', [file.id, dir.id]), B_OK, "the owner sends both to uid 65534's port");
  const got = await other.a.readCaps(port, 64, 4);
  need(ctx, got.ret === B_OK && got.caps.length === 2, 'uid 65534 reads the message and gets a slot in each', '2 caps', got);
  const [f, d] = got.caps;
  ctx.check(f!.key !== file.key && d!.key !== dir.key, "the reader's keys are its own, not the owner's");
  // A slot opens no wider than the vref was made: read-only.
  ctx.equal((await other.a.vrefOpen(f!.vrefId, f!.key, O_RDWR)).ret, EPERM, "uid 65534: the received slot does not open the file read-write");
  ctx.equal((await other.a.vrefOpen(f!.vrefId, f!.key, 1 /* O_WRONLY */)).ret, EPERM, 'nor write-only');
  // A watch needs read permission on the node, whatever the way to it.
  const lp = await portOf(ctx, other.a, 'uid 65534 (a listener)');
  ctx.equal(await other.a.watchRaw(-1, B_WATCH_DIRECTORY, lp, 1, d!.vrefId), EACCES,
    "uid 65534: START_WATCHING the owner's 0700 directory by its received vref is -EACCES");
  ctx.equal(await other.a.watchRaw(-1, B_WATCH_STAT, lp, 2, f!.vrefId), EACCES,
    "uid 65534: START_WATCHING the owner's 0600 file by its received vref is -EACCES");
  ctx.equal(await owner.a.watchRaw(-1, B_WATCH_DIRECTORY, await portOf(ctx, owner.a, 'the owner'), 3, dir.id), 0,
    'the owner itself watches its directory by its vref');
});

const watchRightsAcrossUsers = nmScenario('watch-needs-read-permission', async (ctx, start) => {
  const t = userTree(ctx);
  const owner = await start({ uid: USER }, 'uid 1000 (the owner)');
  const other = await start({ uid: NOBODY }, 'uid 65534');
  const port = await portOf(ctx, other.a, 'uid 65534');
  const cases: [string, string, number, number][] = [
    ["the owner's 0700 directory", t.private, B_WATCH_DIRECTORY, EACCES],
    ["the owner's 0711 directory (search, no read)", t.xonly, B_WATCH_DIRECTORY, EACCES],
    ["the owner's 0600 file", t.secret, B_WATCH_STAT | B_WATCH_NAME, EACCES],
    ["the owner's 0755 directory", t.shared, B_WATCH_DIRECTORY, 0],
    ["the owner's 0644 file", t.open, B_WATCH_STAT | B_WATCH_NAME, 0],
  ];
  let token = 10;
  for (const [what, path, flags, expected] of cases) {
    // O_PATH needs no permission on the node itself: the ioctl must check it.
    const fd = await other.a.openFd(path, O_PATH);
    need(ctx, fd >= 0, `uid 65534 opens ${what} O_PATH`, 'a descriptor', fd);
    ctx.equal(await other.a.watchRaw(fd, flags, port, ++token), expected,
      `uid 65534: START_WATCHING ${what} through an O_PATH descriptor is ${expected === 0 ? '0' : '-EACCES'}`);
    await other.a.call(`close_fd ${fd}`);
  }
  // A refused watch tells nothing: changes in the 0700 directory reach no port of the intruder's.
  writeFileSync(join(t.private, 'new'), 'x');
  await sleep(200);
  const seen = (await drain(ctx, other.a, port, 'uid 65534')).filter((e) => e.kind !== 'stat');
  ctx.equal(seen.filter((e) => 'name' in e && e.name === 'new'), [], "uid 65534 hears nothing of the file made in the 0700 directory");
  // STOP_NOTIFYING of another team's port and token stops nothing of it.
  const op = await portOf(ctx, owner.a, 'the owner');
  ctx.equal(await owner.a.watchRaw(t.dir, B_WATCH_DIRECTORY, op, 77), 0, 'the owner watches its directory');
  ctx.equal((await other.a.call(`stop_notifying ${op} 77`)).ret, ENOENT,
    "uid 65534: STOP_NOTIFYING of the owner's port and token finds no watch of its own (B_ENTRY_NOT_FOUND)");
  writeFileSync(join(t.dir, 'after'), 'x');
  await sleep(200);
  const heard = (await drain(ctx, owner.a, op, 'the owner')).filter((e) => e.kind === 'created' && e.name === 'after');
  ctx.equal(heard.length, 1, "the owner's watch still tells it of a file made in its directory");
});

// ---------------------------------------------------------------------------
// Limits per user

/** A vref of this process's team (exempt root): released at the scenario's end. */
function rootVref(later: Later, path: string): { id: number; key: bigint; status: number } {
  const fd = openSync(path, 'r');
  const v = nx.vrefCreate(fd);
  closeSync(fd);
  if (v.status === 0) later(() => nx.vrefRelease(v.id, v.key));
  return v;
}

const vrefLimit = nmScenario('per-user-vref-limit', async (ctx, start, later) => {
  const t = userTree(ctx);
  const share = 12;
  setModuleParam(ctx, 'user_max_vrefs', share);
  const a = await start({ uid: USER }, 'uid 1000');
  const b = await start({ uid: USER }, 'a second uid 1000 team');
  const first = await a.a.vrefCreate(t.open);
  let made = first.ret === 0 ? 1 : 0;
  for (let i = 1; i < share / 2; i++) made += (await a.a.vrefCreate(t.open)).ret === 0 ? 1 : 0;
  for (let i = 0; i < share / 2; i++) made += (await b.a.vrefCreate(t.open)).ret === 0 ? 1 : 0;
  ctx.equal(made, share, `two uid 1000 teams make ${share} vrefs between them`);
  ctx.equal((await b.a.vrefCreate(t.open)).ret, ENOSPC, `vref ${share + 1} of uid 1000 is -ENOSPC`);
  ctx.equal(rootVref(later, t.open).status, 0, 'root (CAP_SYS_RESOURCE, exempt) still makes one');
  const n = await start({ uid: NOBODY }, 'uid 65534');
  ctx.equal((await n.a.vrefCreate(t.open)).ret, 0, 'uid 65534 still makes one');
  ctx.equal(await a.a.vrefRelease(first.id, first.key), 0, 'uid 1000 releases one (its last slot: the vref dies)');
  ctx.equal((await b.a.vrefCreate(t.open)).ret, 0, 'then uid 1000 has room for one more');
});

const slotLimit = nmScenario('per-user-slot-limit', async (ctx, start, later) => {
  const t = userTree(ctx);
  const share = 10;
  setModuleParam(ctx, 'user_max_vref_slots', share);
  const a = await start({ uid: USER }, 'uid 1000');
  const v = await a.a.vrefCreate(t.open);
  need(ctx, v.ret === 0, 'uid 1000 makes a vref (its first slot)', 0, v.ret);
  const keys: bigint[] = [v.key];
  for (let i = 1; i < share; i++) {
    const r = await a.a.vrefAcquire(v.id, v.key);
    if (r.ret === 0) keys.push(r.key);
  }
  ctx.equal(keys.length, share, `uid 1000 holds ${share} slots`);
  ctx.equal((await a.a.vrefAcquire(v.id, v.key)).ret, ENOSPC, `slot ${share + 1} is -ENOSPC`);
  ctx.equal((await a.a.vrefCreate(t.open)).ret, ENOSPC, 'and so is a new vref (its first slot)');
  // A message carrying a vref mints a slot for the reader: past the share the read fails whole and the message stays.
  const port = await portOf(ctx, a.a, 'uid 1000');
  const mine = rootVref(later, t.open);
  need(ctx, mine.status === 0, 'root makes a vref to send');
  expectStatus(ctx, nx.writePortCaps(port, 5, Buffer.from('x'), [{ vrefId: mine.id }]), B_OK, "root sends it to uid 1000's port");
  const before = readCounters().vref_slots;
  const r = await a.a.readCaps(port, 64, 4);
  ctx.check(r.ret !== B_OK, 'uid 1000 cannot read it: no room for the slot it would mint', 'an error status', r.ret);
  ctx.equal((await a.a.call(`port_info ${port}`)).queue_count, 1, 'the message stays queued');
  ctx.equal(readCounters().vref_slots, before, 'and no slot was minted');
  ctx.equal(await a.a.vrefRelease(v.id, keys.pop()!), 0, 'uid 1000 releases one slot');
  const again = await a.a.readCaps(port, 64, 4);
  ctx.equal(again.ret, B_OK, 'then the message is read, its slot minted');
  ctx.equal(again.caps.length, 1, 'with its one cap');
});

const watchLimit = nmScenario('per-user-watch-limit', async (ctx, start, later) => {
  const t = userTree(ctx);
  const share = 8;
  setModuleParam(ctx, 'user_max_watches', share);
  const a = await start({ uid: USER }, 'uid 1000');
  const b = await start({ uid: USER }, 'a second uid 1000 team');
  const pa = await portOf(ctx, a.a, 'uid 1000');
  const pb = await portOf(ctx, b.a, 'the second uid 1000 team');
  let ok = 0;
  for (let i = 0; i < share / 2; i++) ok += (await a.a.watchRaw(t.dir, B_WATCH_DIRECTORY, pa, i)) === 0 ? 1 : 0;
  for (let i = 0; i < share / 2; i++) ok += (await b.a.watchRaw(t.shared, B_WATCH_DIRECTORY, pb, i)) === 0 ? 1 : 0;
  ctx.equal(ok, share, `two uid 1000 teams start ${share} watches between them`);
  ctx.equal(await b.a.watchRaw(t.open, B_WATCH_STAT, pb, 99), ENOSPC, `watch ${share + 1} of uid 1000 is -ENOSPC`);
  ctx.equal(await a.a.watchRaw(t.dir, B_WATCH_DIRECTORY | B_WATCH_STAT, pa, 0), 0,
    'the same node, port and token again is no new watch: its flags are OR-ed');
  const rootPort = nx.createPort(8, 'hx-nm-root');
  later(() => nx.deletePort(rootPort));
  const fd = openSync(t.dir, 'r');
  ctx.equal(nx.startWatching(fd, B_WATCH_DIRECTORY, rootPort, 1), 0, 'root (exempt) still watches');
  closeSync(fd);
  later(() => nx.stopNotifying(rootPort, 1));
  const n = await start({ uid: NOBODY }, 'uid 65534');
  ctx.equal(await n.a.watchRaw(t.dir, B_WATCH_DIRECTORY, await portOf(ctx, n.a, 'uid 65534'), 1), 0, 'uid 65534 still watches');
  ctx.equal((await a.a.call(`stop_notifying ${pa} 0`)).ret, B_OK, 'uid 1000 stops one');
  ctx.equal(await b.a.watchRaw(t.open, B_WATCH_STAT, pb, 99), 0, 'then it has room for one more');
});

/**
 * Queued events: three uid 1000 listeners (ports of capacity 1, not read
 * while the files are made) share user_max_node_events.  The node_events
 * counter never goes past the share, and each listener, read at last, has
 * every event it was due or a NEXUS_EVENTS_DROPPED saying how many it lost.
 * The events are charged to the listener's user whoever makes them: once
 * by an unprivileged process (uid 65534), once by root - whose
 * CAP_SYS_RESOURCE is root's, not the listener's.
 */
const eventLimit = nmScenario('per-user-queued-events', async (ctx, start) => {
  const t = userTree(ctx);
  const share = 48;
  const files = 120;
  setModuleParam(ctx, 'user_max_node_events', share);
  const a = await start({ uid: USER }, 'uid 1000 (the listeners)');
  const maker = await start({ uid: NOBODY }, 'uid 65534 (makes files)');
  const ports: number[] = [];
  for (let i = 0; i < 3; i++) {
    const p = await portOf(ctx, a.a, `uid 1000 listener ${i}`, 1);
    ctx.equal(await a.a.watchRaw(t.dir, B_WATCH_DIRECTORY, p, i), 0, `uid 1000 listener ${i} watches the directory`);
    ports.push(p);
  }
  const base = readCounters().node_events ?? 0;
  for (const who of ['uid 65534', 'root'] as const) {
    let peak = 0;
    for (let i = 0; i < files; i++) {
      const path = join(t.dir, `${who === 'root' ? 'r' : 'n'}${i}`);
      if (who === 'root') writeFileSync(path, '');
      else {
        const fd = await maker.a.openFd(path, 0o1 | 0o100 /* O_WRONLY | O_CREAT */);
        if (fd >= 0) await maker.a.call(`close_fd ${fd}`);
      }
      if (i % 10 === 9) peak = Math.max(peak, (readCounters().node_events ?? 0) - base);
    }
    await sleep(300);
    peak = Math.max(peak, (readCounters().node_events ?? 0) - base);
    ctx.metric(`queued-events-peak-${who === 'root' ? 'root' : 'user'}-made`, peak, 'events');
    ctx.check(peak <= share, `files made by ${who}: queued events of uid 1000 stay within its share of ${share}`, `<= ${share}`, peak);
    ctx.check(peak > 0, `files made by ${who}: events did queue (the ports were full)`, '> 0', peak);
    for (let i = 0; i < 3; i++) {
      // Read everything: as room appears, the backlog moves on into the port.
      const events: NodeMonitorEvent[] = [];
      for (let round = 0; round < 50; round++) {
        const got = await drain(ctx, a.a, ports[i]!, `listener ${i}`);
        events.push(...got);
        if (got.length === 0 && round > 2) break;
        await sleep(20);
      }
      const created = events.filter((e) => e.kind === 'created').length;
      const dropped = events.reduce((n, e) => n + (e.kind === 'dropped' ? e.dropped : 0), 0);
      ctx.equal(created + dropped, files, `files made by ${who}, listener ${i}: events read + events said dropped = the ${files} files made`);
      ctx.check(dropped > 0, `files made by ${who}, listener ${i}: a NEXUS_EVENTS_DROPPED marks where events were lost`, '> 0', dropped);
    }
    ctx.equal((readCounters().node_events ?? 0) - base, 0, `files made by ${who}: once read, no event is left queued`);
  }
});

// ---------------------------------------------------------------------------
// Namespaces

/** The st_dev of a tmpfs mounted and unmounted by a process in a private mount namespace of its own. */
function mountInPrivateNamespace(dir: string): number {
  const out = execFileSync('unshare', ['--mount', '--propagation', 'private', 'sh', '-c',
    `mount -t tmpfs hx-private "${dir}" && stat -c %d "${dir}" && umount "${dir}"`], { encoding: 'utf8', timeout: 20_000 });
  return Number(out.trim());
}

const mountNamespaces = nmScenario('mounts-stay-in-their-namespace', async (ctx, start, later) => {
  const t = userTree(ctx);
  const point = join(t.root, 'mnt');
  mkdirSync(point);
  const port = nx.createPort(64, 'hx-nm-volume');
  later(() => nx.deletePort(port));
  ctx.equal(nx.startWatching(-1, B_WATCH_MOUNT, port, 5), 0, 'root watches the volume (its mount namespace)');
  later(() => nx.stopNotifying(port, 5));
  // A watcher in a private mount namespace of its own.
  const inner = await start({ wrap: ['unshare', '--mount', '--propagation', 'private'] }, 'an agent in a private mount namespace');
  const ip = await portOf(ctx, inner.a, 'the agent in its mount namespace');
  ctx.equal(await inner.a.watchVolume(ip, 6), B_OK, 'it watches its volume too');
  const privateDev = mountInPrivateNamespace(point);
  ctx.check(privateDev > 0, 'a process in a private mount namespace mounted and unmounted a tmpfs', 'its st_dev', privateDev);
  await sleep(300);
  const outer = drainOwn(ctx, port, 'root');
  ctx.equal(outer.filter((e) => e.kind === 'mounted' || e.kind === 'unmounted'), [],
    "root hears nothing of a mount and unmount in another mount namespace");
  execFileSync('mount', ['-t', 'tmpfs', 'hx-outer', point]);
  let mounted = true;
  ctx.defer(() => {
    if (mounted) execFileSync('umount', ['-l', point]);
  });
  const dev = statSync(point).dev;
  await sleep(300);
  const seen = drainOwn(ctx, port, 'root').filter((e) => e.kind === 'mounted');
  ctx.equal(seen.map((e) => (e.kind === 'mounted' ? e.newDevice : 0)), [dev], "root hears of its own namespace's mount (new device = its st_dev)");
  const heardInside = (await drain(ctx, inner.a, ip, 'the agent')).filter((e) => e.kind === 'mounted' || e.kind === 'unmounted');
  ctx.equal(heardInside, [], 'the agent in its private namespace hears nothing of that mount (it does not see it)');
  execFileSync('umount', [point]);
  mounted = false;
  await sleep(300);
  ctx.equal(drainOwn(ctx, port, 'root').filter((e) => e.kind === 'unmounted').length, 1, 'root hears of the unmount');
});

const USER_NS = ['unshare', '--user', '--map-root-user'];

const userNamespaces = nmScenario('user-namespace-root-gains-nothing', async (ctx, start) => {
  const t = userTree(ctx);
  const rootOnly = join(t.root, 'root-only');
  mkdirSync(rootOnly);
  chmodSync(rootOnly, 0o700);
  writeFileSync(join(rootOnly, 'f'), 'x');
  const share = 4;
  setModuleParam(ctx, 'user_max_watches', share);
  const a = await start({ uid: USER, wrap: USER_NS }, 'uid 1000 as root of its own user namespace');
  const ids = await a.a.call('ids');
  ctx.equal(ids.euid, 0, 'the agent is root in its user namespace');
  const port = await portOf(ctx, a.a, 'the namespaced agent');
  const fd = await a.a.openFd(rootOnly, O_PATH);
  need(ctx, fd >= 0, 'it opens the real root\'s 0700 directory O_PATH', 'a descriptor', fd);
  ctx.equal(await a.a.watchRaw(fd, B_WATCH_DIRECTORY, port, 1), EACCES,
    "START_WATCHING the real root's 0700 directory is -EACCES (its capabilities are its namespace's)");
  await a.a.call(`close_fd ${fd}`);
  let ok = 0;
  for (let i = 0; i < share; i++) ok += (await a.a.watchRaw(t.dir, B_WATCH_DIRECTORY, port, 10 + i)) === 0 ? 1 : 0;
  ctx.equal(ok, share, `it starts uid 1000's ${share} watches`);
  ctx.equal(await a.a.watchRaw(t.shared, B_WATCH_DIRECTORY, port, 99), ENOSPC,
    'and no more: its CAP_SYS_RESOURCE in its own namespace does not exempt uid 1000 from its share');
});

export const scenarios: Scenario[] = [
  vrefKeysAcrossUsers, receivedSlotsAcrossUsers, watchRightsAcrossUsers,
  vrefLimit, slotLimit, watchLimit, eventLimit,
  mountNamespaces, userNamespaces,
];
