// vrefs: kernel-held file references with per-team secret keys
// (nexus_node_monitor.ko, issue 9) and the port messages that carry them
// (NEXUS_PORT_WRITE_CAPS / READ_CAPS on /dev/nexus).  Create, acquire,
// release and open as NEXUS-ABI.md says; keys from the kernel's CSPRNG,
// never derived from ids; only a team holding a slot acquires, releases its
// own or opens, never with more access than the creating descriptor; team
// exit drops the team's slots; the vref dies with its last slot.  A message
// can only carry what its writer holds (an id alone is no capability), the
// reader gets fresh slots all or nothing, an overflow leaves the message
// queued, and every way a message is dropped releases its references.
// Every scenario leaves every Nexus counter (vrefs, vref_slots and port_caps
// included) as it found it.
import { closeSync, fstatSync, openSync, readSync, statSync, unlinkSync, writeFileSync, writeSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Suite } from '../runner/api.js';
import { nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import {
  B_BAD_VALUE,
  B_BUFFER_OVERFLOW,
  B_NO_MEMORY,
  B_NOT_ALLOWED,
  B_OK,
  B_RELATIVE_TIMEOUT,
  expectBytes,
  expectStatus,
  need,
  newPort,
  pattern,
  startAgent,
  statusName,
} from '../lib/nexus.js';
import { moduleParam, setModuleParam, USER } from '../hardening/common.js';
import { tells } from '../lib/guest.js';
import {
  EBADF,
  EINVAL,
  ENOTDIR,
  EPERM,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_NONBLOCK,
  O_PATH,
  O_RDONLY,
  O_RDWR,
  O_TRUNC,
  O_WRONLY,
  agentReadCaps,
  agentVrefAcquire,
  agentVrefCreate,
  agentVrefOpen,
  agentVrefRelease,
  agentWriteCaps,
  closeLater,
  errnoName,
  expectDelta,
  expectErrno,
  nmDelta,
  fdFlags,
  modeName,
  plain,
  scenario,
  scratchDir,
  settleDelta,
  vx,
  type CapIn,
} from './common.js';

const NEXUS_PORT_CAP_VREF = 1;
const NEXUS_PORT_MAX_CAPS = 1024;
const U64 = (1n << 64n) - 1n;
const CONTENT = 'what the vref refers to\n';

/** A file with CONTENT in a fresh directory; its path. */
function newFile(ctx: Ctx, tag: string, content = CONTENT): string {
  const path = join(scratchDir(ctx, tag), 'file');
  writeFileSync(path, content, { mode: 0o644 });
  return path;
}

/** open(2) a path with numeric flags; closed at the end of the scenario. */
function openFd(ctx: Ctx, path: string, flags: number): number {
  return closeLater(ctx, openSync(path, flags));
}

interface Vref {
  id: number;
  key: bigint;
}

/** vref_create on fd, or the scenario stops; the slot is released at the end (if still held). */
function newVref(ctx: Ctx, fd: number, what: string): Vref {
  const r = vx.vrefCreate(fd);
  need(ctx, r.status === 0 && r.id > 0, `${what}: vref_create succeeds`, '0 and an id > 0', `${errnoName(r.status)}, id ${r.id}`);
  ctx.check(r.key !== 0n, `${what}: the key is not 0`, 'a non-zero key', String(r.key));
  ctx.defer(() => void vx.vrefRelease(r.id, r.key));
  return { id: r.id, key: r.key };
}

/** vref_acquire, or the scenario stops; released at the end. */
function acquire(ctx: Ctx, v: Vref, what: string): bigint {
  const r = vx.vrefAcquire(v.id, v.key);
  need(ctx, r.status === 0, `${what}: vref_acquire succeeds`, '0', errnoName(r.status));
  ctx.defer(() => void vx.vrefRelease(v.id, r.key));
  return r.key;
}

/** vref_open, expecting a descriptor; closed at the end.  -1 when it failed (recorded). */
function openVref(ctx: Ctx, v: Vref, mode: number, what: string): number {
  const r = vx.vrefOpen(v.id, v.key, mode);
  if (!ctx.check(r.status === 0 && r.fd >= 0, `${what}: vref_open(${modeName(mode)}) gives a descriptor`, '0 and an fd', plain(r))) return -1;
  return closeLater(ctx, r.fd);
}

function expectOpenRefused(ctx: Ctx, v: Vref, mode: number, errno: number, what: string): void {
  const r = vx.vrefOpen(v.id, v.key, mode);
  if (r.status === 0 && r.fd >= 0) closeSync(r.fd);
  expectErrno(ctx, r.status, -errno, `${what}: vref_open(${modeName(mode)})`);
}

/** Read a whole small file through a descriptor (from offset 0). */
function readAll(fd: number): string {
  const buf = Buffer.alloc(4096);
  const n = readSync(fd, buf, 0, buf.length, 0);
  return buf.subarray(0, n).toString('latin1');
}

/** Which of the 64 bit positions are the same in every key. */
function constantBits(keys: bigint[]): number[] {
  const out: number[] = [];
  for (let b = 0n; b < 64n; b++) {
    const set = keys.filter((k) => ((k >> b) & 1n) === 1n).length;
    if (set === 0 || set === keys.length) out.push(Number(b));
  }
  return out;
}

const popcount = (k: bigint): number => k.toString(2).split('').filter((c) => c === '1').length;

/** A nexus-agent port (capacity 8), the agent's: it dies with the agent. */
async function agentPort(ctx: Ctx, a: Agent, name: string): Promise<number> {
  const r = await a.call(`port_create 8 ${name}`);
  need(ctx, typeof r.ret === 'number' && r.ret > 0, `the agent creates port ${name}`, 'an id > 0', statusName(r.ret));
  return r.ret as number;
}

/** An agent's vref of `path`, or the scenario stops. */
async function agentVref(ctx: Ctx, a: Agent, path: string, mode: number, what: string): Promise<Vref> {
  const r = await agentVrefCreate(a, path, mode);
  need(ctx, r.status === 0 && r.id > 0 && r.key > 0n, `${what}: the agent's vref_create succeeds`, '0, an id and a key', plain(r));
  return { id: r.id, key: r.key };
}

const queued = (port: number) => nx.getPortInfo(port).info?.queueCount ?? -1;

export const suite: Suite = {
  name: 'vrefs',
  scenarios: [
    scenario('create-acquire-release-open', (ctx, base) => {
      const path = newFile(ctx, 'vref-basic');
      const ino = statSync(path).ino;
      const fd = openSync(path, O_RDWR);
      const v = newVref(ctx, fd, 'a read-write descriptor');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'after vref_create');

      const k2 = acquire(ctx, v, 'the creator');
      ctx.check(k2 !== 0n && k2 !== v.key, 'vref_acquire gives a new key', `not 0, not ${v.key}`, String(k2));
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 2 }, 'after vref_acquire');

      // The kernel holds the file: the descriptor closed and the name gone, it lives on.
      closeSync(fd);
      unlinkSync(path);
      const second = { id: v.id, key: k2 };
      const ro = openVref(ctx, second, O_RDONLY, 'with the acquired key, the file closed and unlinked');
      if (ro >= 0) {
        ctx.equal(readAll(ro), CONTENT, 'the descriptor reads the file the vref was made from');
        const st = fstatSync(ro);
        ctx.equal([st.ino, st.nlink], [ino, 0], 'the same inode, now without a name');
        ctx.equal(modeName(fdFlags(ro) & O_ACCMODE), 'O_RDONLY', 'opened read-only, as asked');
      }
      const rw = openVref(ctx, v, O_RDWR, 'with the creation key');
      if (rw >= 0 && ro >= 0) {
        writeSync(rw, 'WHAT', 0, 'latin1');
        ctx.equal(readAll(ro).slice(0, 4), 'WHAT', 'both descriptors are the same file');
      }

      expectErrno(ctx, vx.vrefRelease(v.id, v.key), 0, 'vref_release of the creation slot');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'one slot left');
      expectErrno(ctx, vx.vrefRelease(v.id, v.key), -EPERM, 'a released key is no slot any more: vref_release again');
      expectOpenRefused(ctx, v, O_RDONLY, EPERM, 'the released key');
      expectErrno(ctx, vx.vrefAcquire(v.id, v.key).status, -EPERM, 'the released key: vref_acquire');
      const back = openVref(ctx, second, O_RDONLY, 'the remaining slot still opens');
      if (back >= 0) ctx.equal(fstatSync(back).ino, ino, 'the same file');

      expectErrno(ctx, vx.vrefRelease(v.id, k2), 0, 'vref_release of the last slot');
      expectDelta(ctx, base, {}, 'the last slot gone, the vref is gone');
      expectErrno(ctx, vx.vrefOpen(v.id, k2, O_RDONLY).status, -EBADF, 'the dead vref: vref_open');
      expectErrno(ctx, vx.vrefAcquire(v.id, k2).status, -EBADF, 'the dead vref: vref_acquire');
      expectErrno(ctx, vx.vrefRelease(v.id, k2), -EBADF, 'the dead vref: vref_release');
      if (ro >= 0) ctx.equal(readAll(ro).slice(4), CONTENT.slice(4), 'descriptors opened through it are ordinary files: they outlive it');
    }),

    scenario('keys-are-random-not-derived-from-ids', (ctx, base) => {
      const path = newFile(ctx, 'vref-keys');
      const fd = openFd(ctx, path, O_RDONLY);
      const N = 64;
      const vrefs: Vref[] = [];
      for (let i = 0; i < N; i++) vrefs.push(newVref(ctx, fd, `vref ${i} of one descriptor`));
      expectDelta(ctx, base, { vrefs: N, vref_slots: N }, `${N} vrefs`);
      const ids = vrefs.map((v) => v.id);
      const keys = vrefs.map((v) => v.key);
      ctx.equal(new Set(ids).size, N, `${N} vrefs of one descriptor have ${N} ids`);
      ctx.equal(new Set(keys).size, N, `and ${N} different keys`);
      ctx.equal(keys.filter((k) => k === 0n).length, 0, 'no key is 0');
      const idLike = vrefs.filter((v) => v.key === BigInt(v.id) || (v.key & 0xffffffffn) === BigInt(v.id) || v.key >> 32n === BigInt(v.id));
      ctx.equal(idLike.map((v) => v.id), [], 'no key holds its id (whole, low or high half)');
      const steps = new Set(keys.slice(1).map((k, i) => (k - keys[i]!) & U64));
      ctx.check(steps.size > N / 2, 'consecutive keys are not a counter (their differences vary)', `> ${N / 2} distinct steps`, steps.size);
      ctx.equal(constantBits(keys), [], `every one of the 64 bit positions varies across ${N} keys (nothing fixed like an address's high bits)`);
      const mean = keys.reduce((s, k) => s + popcount(k), 0) / N;
      ctx.check(mean >= 26 && mean <= 38, `about half the bits are set on average (random keys: 32)`, '26..38', mean);

      // Slots of one vref: each its own key.
      const more = Array.from({ length: N }, (_, i) => acquire(ctx, vrefs[0]!, `slot ${i} of one vref`));
      ctx.equal(new Set([...keys, ...more]).size, 2 * N, `${N} slots of one vref have ${N} new keys, none seen before`);
      ctx.equal(constantBits(more), [], 'their bits vary too');

      // A vref made again after the last one died: never an old key.
      for (const v of vrefs) vx.vrefRelease(v.id, v.key);
      for (const k of more) vx.vrefRelease(vrefs[0]!.id, k);
      expectDelta(ctx, base, {}, 'all released');
      const again = newVref(ctx, fd, 'a vref made after the others died');
      ctx.check(!keys.includes(again.key) && !more.includes(again.key), 'its key is new', 'not an earlier key', String(again.key));
    }),

    scenario('forged-keys-and-unknown-ids-are-refused', (ctx, base) => {
      const path = newFile(ctx, 'vref-forged');
      const v = newVref(ctx, openFd(ctx, path, O_RDWR), 'a vref');
      const forged: [bigint, string][] = [
        [0n, 'key 0'],
        [v.key ^ 1n, 'the key with its lowest bit flipped'],
        [(v.key + 1n) & U64, 'the key + 1'],
        [v.key ^ (1n << 63n), 'the key with its highest bit flipped'],
        [~v.key & U64, 'the key inverted'],
        [BigInt(v.id), 'the id as key'],
        [U64, 'all ones'],
      ];
      for (const [key, what] of forged) {
        const f = { id: v.id, key };
        expectErrno(ctx, vx.vrefAcquire(v.id, key).status, -EPERM, `${what}: vref_acquire`);
        expectOpenRefused(ctx, f, O_RDONLY, EPERM, what);
        expectErrno(ctx, vx.vrefRelease(v.id, key), -EPERM, `${what}: vref_release`);
      }
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'the forgeries changed nothing');
      for (const id of [0, -1, v.id + 100_000, 0x7fffffff]) {
        expectErrno(ctx, vx.vrefAcquire(id, v.key).status, -EBADF, `vref ${id} (no such vref), with a real key: vref_acquire`);
        expectErrno(ctx, vx.vrefOpen(id, v.key, O_RDONLY).status, -EBADF, `vref ${id}: vref_open`);
        expectErrno(ctx, vx.vrefRelease(id, v.key), -EBADF, `vref ${id}: vref_release`);
      }
      const ok = openVref(ctx, v, O_RDONLY, 'the real key still works');
      if (ok >= 0) ctx.equal(readAll(ok), CONTENT, 'it reads the file');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'at the end');
    }),

    scenario('another-teams-key-is-refused', async (ctx, base) => {
      const path = newFile(ctx, 'vref-theirs');
      const mine = newVref(ctx, openFd(ctx, path, O_RDWR), 'our vref');
      const a = await startAgent(ctx);
      const theirs = await agentVref(ctx, a, path, O_RDWR, 'the agent');
      ctx.check(theirs.id !== mine.id, 'the agent\'s vref of the same file is another vref', `not ${mine.id}`, theirs.id);
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2 }, 'a vref each');

      expectErrno(ctx, vx.vrefAcquire(theirs.id, theirs.key).status, -EPERM, "vref_acquire with the other team's key");
      expectOpenRefused(ctx, theirs, O_RDONLY, EPERM, "the other team's key");
      expectErrno(ctx, vx.vrefRelease(theirs.id, theirs.key), -EPERM, "vref_release of the other team's slot");
      expectErrno(ctx, (await agentVrefAcquire(a, mine.id, mine.key)).status, -EPERM, "the agent's vref_acquire with our key");
      const o = await agentVrefOpen(a, mine.id, mine.key, O_RDONLY);
      expectErrno(ctx, o.status, -EPERM, "the agent's vref_open with our key");
      expectErrno(ctx, await agentVrefRelease(a, mine.id, mine.key), -EPERM, "the agent's vref_release of our slot");
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2 }, 'the refusals changed nothing');

      const own = await agentVrefOpen(a, theirs.id, theirs.key, O_RDONLY);
      if (ctx.check(own.status === 0 && own.fd >= 0, "the agent opens its own vref", '0 and an fd', plain(own)))
        ctx.equal([own.read, own.data.toString()], [CONTENT.length, CONTENT], "the agent's descriptor reads the file");
      const ours = openVref(ctx, mine, O_RDONLY, 'we open ours');
      if (ours >= 0) ctx.equal(readAll(ours), CONTENT, 'it reads the file');
      expectErrno(ctx, await agentVrefRelease(a, theirs.id, theirs.key), 0, 'the agent releases its slot');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'its vref is gone, ours stays');
    }),

    scenario('open-never-grants-more-than-the-creator', (ctx, base) => {
      const path = newFile(ctx, 'vref-modes');
      const ro = newVref(ctx, openFd(ctx, path, O_RDONLY), 'a read-only descriptor');
      const r1 = openVref(ctx, ro, O_RDONLY, 'read-only creator');
      if (r1 >= 0) ctx.equal(readAll(r1), CONTENT, 'read-only creator, read-only open: it reads');
      expectOpenRefused(ctx, ro, O_RDWR, EPERM, 'read-only creator');
      expectOpenRefused(ctx, ro, O_WRONLY, EPERM, 'read-only creator');
      expectOpenRefused(ctx, ro, O_WRONLY | O_CLOEXEC, EPERM, 'read-only creator');

      const wo = newVref(ctx, openFd(ctx, path, O_WRONLY), 'a write-only descriptor');
      const w1 = openVref(ctx, wo, O_WRONLY, 'write-only creator');
      if (w1 >= 0) ctx.equal(modeName(fdFlags(w1) & O_ACCMODE), 'O_WRONLY', 'write-only creator: a write-only descriptor');
      expectOpenRefused(ctx, wo, O_RDONLY, EPERM, 'write-only creator');
      expectOpenRefused(ctx, wo, O_RDWR, EPERM, 'write-only creator');

      const rw = newVref(ctx, openFd(ctx, path, O_RDWR), 'a read-write descriptor');
      for (const mode of [O_RDONLY, O_WRONLY, O_RDWR]) {
        const fd = openVref(ctx, rw, mode, 'read-write creator');
        if (fd >= 0) ctx.equal(fdFlags(fd) & O_ACCMODE, mode, `read-write creator: ${modeName(mode)} as asked`);
      }
      const extra = openVref(ctx, rw, O_RDONLY | O_CLOEXEC | O_NONBLOCK, 'O_CLOEXEC and O_NONBLOCK');
      if (extra >= 0)
        ctx.equal(modeName(fdFlags(extra) & (O_ACCMODE | O_CLOEXEC | O_NONBLOCK)), modeName(O_RDONLY | O_CLOEXEC | O_NONBLOCK), 'the descriptor has them');

      for (const [bad, what] of [[O_CREAT, 'O_CREAT'], [O_TRUNC, 'O_TRUNC'], [O_APPEND, 'O_APPEND'], [0o40000, 'O_DIRECT'], [0x80000000, 'bit 31']] as const)
        expectOpenRefused(ctx, rw, (O_RDWR | bad) >>> 0, EINVAL, `a mode with ${what} (not an allowed bit)`);
      expectOpenRefused(ctx, rw, O_ACCMODE, EINVAL, 'O_ACCMODE itself (no access mode)');
      expectOpenRefused(ctx, rw, O_RDONLY | O_DIRECTORY, ENOTDIR, 'O_DIRECTORY on a file');
      ctx.equal(readFileSync(path, 'latin1'), CONTENT, 'no refused open truncated or changed the file');

      // O_APPEND sticks: the creator appended, so does every descriptor opened from it.
      const app = newVref(ctx, openFd(ctx, path, O_WRONLY | O_APPEND), 'an O_APPEND descriptor');
      const a1 = openVref(ctx, app, O_WRONLY, 'O_APPEND creator, plain write-only open');
      if (a1 >= 0) {
        ctx.check((fdFlags(a1) & O_APPEND) !== 0, 'the descriptor is O_APPEND although not asked', modeName(O_WRONLY | O_APPEND), modeName(fdFlags(a1)));
        writeSync(a1, 'TAIL', 0, 'latin1');
        ctx.equal(readFileSync(path, 'latin1'), `${CONTENT}TAIL`, 'a write at offset 0 lands at the end');
      }
      expectDelta(ctx, base, { vrefs: 4, vref_slots: 4 }, 'four vrefs, each one slot');
    }),

    scenario('directories', (ctx, base) => {
      const dir = scratchDir(ctx, 'vref-dir');
      const dino = statSync(dir).ino;
      const d = newVref(ctx, openFd(ctx, dir, O_RDONLY | O_DIRECTORY), 'a directory descriptor');
      const dfd = openVref(ctx, d, O_RDONLY | O_DIRECTORY, 'a directory');
      if (dfd >= 0) {
        const st = fstatSync(dfd);
        ctx.equal([st.isDirectory(), st.ino], [true, dino], 'the directory');
      }
      const plainOpen = openVref(ctx, d, O_RDONLY, 'a directory, without O_DIRECTORY');
      if (plainOpen >= 0) ctx.equal(fstatSync(plainOpen).ino, dino, 'the directory');
      expectOpenRefused(ctx, d, O_WRONLY, EPERM, 'a directory opened read-only (not writable)');
      expectOpenRefused(ctx, d, O_RDWR, EPERM, 'a directory opened read-only');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'one vref');
    }),

    scenario('o-path-creator', (ctx, base) => {
      // An O_PATH descriptor names a node without opening it, as Haiku's
      // node_ref does: a vref of it may be opened O_PATH, never to read or write.
      const path = newFile(ctx, 'vref-opath');
      const ino = statSync(path).ino;
      const p = openFd(ctx, path, O_PATH);
      need(ctx, (fdFlags(p) & O_PATH) !== 0, 'an O_PATH descriptor', modeName(O_PATH), modeName(fdFlags(p)));
      const v = newVref(ctx, p, 'an O_PATH descriptor');
      expectOpenRefused(ctx, v, O_RDONLY, EPERM, 'O_PATH creator (not readable)');
      expectOpenRefused(ctx, v, O_WRONLY, EPERM, 'O_PATH creator (not writable)');
      expectOpenRefused(ctx, v, O_RDWR, EPERM, 'O_PATH creator');
      const pp = openVref(ctx, v, O_PATH, 'O_PATH creator, O_PATH open');
      if (pp >= 0) {
        ctx.check((fdFlags(pp) & O_PATH) !== 0, 'an O_PATH descriptor', modeName(O_PATH), modeName(fdFlags(pp)));
        ctx.equal(fstatSync(pp).ino, ino, 'of the same file');
      }
      const dir = scratchDir(ctx, 'vref-opath-dir');
      const dino = statSync(dir).ino;
      const dp = newVref(ctx, openFd(ctx, dir, O_PATH | O_DIRECTORY), 'an O_PATH directory descriptor');
      const dpp = openVref(ctx, dp, O_PATH | O_DIRECTORY, 'O_PATH directory creator, O_PATH open');
      if (dpp >= 0) ctx.equal(fstatSync(dpp).ino, dino, 'the directory');
      expectOpenRefused(ctx, dp, O_RDONLY | O_DIRECTORY, EPERM, 'O_PATH directory creator (not readable)');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2 }, 'two vrefs');
    }),

    scenario('the-last-release-kills-the-vref', (ctx, base) => {
      const path = newFile(ctx, 'vref-last');
      const v = newVref(ctx, openFd(ctx, path, O_RDONLY), 'a vref');
      const keys = [v.key, acquire(ctx, v, 'slot 2'), acquire(ctx, v, 'slot 3'), acquire(ctx, v, 'slot 4')];
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 4 }, 'four slots');
      // Released out of order: the creation slot is not special.
      for (const [i, k] of [[0, keys[0]!], [2, keys[2]!], [3, keys[3]!]] as const) {
        expectErrno(ctx, vx.vrefRelease(v.id, k), 0, `release slot ${i + 1}`);
        const o = vx.vrefOpen(v.id, keys[1]!, O_RDONLY);
        if (o.fd >= 0) closeSync(o.fd);
        expectErrno(ctx, o.status, 0, `after releasing slot ${i + 1} the vref still opens`);
      }
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'one slot left');
      expectErrno(ctx, vx.vrefRelease(v.id, keys[1]!), 0, 'release the last slot');
      expectDelta(ctx, base, {}, 'the vref is gone');
      for (const k of keys) {
        expectErrno(ctx, vx.vrefOpen(v.id, k, O_RDONLY).status, -EBADF, 'its id is unknown now: vref_open');
        expectErrno(ctx, vx.vrefAcquire(v.id, k).status, -EBADF, 'vref_acquire');
        expectErrno(ctx, vx.vrefRelease(v.id, k), -EBADF, 'vref_release');
      }
    }),

    scenario('team-exit-drops-its-slots', async (ctx, base) => {
      const path = newFile(ctx, 'vref-exit');
      const port = newPort(ctx, 4, 'vref-exit');
      const a = await startAgent(ctx);
      const theirs = await agentVref(ctx, a, path, O_RDONLY, 'the agent');
      for (const i of [2, 3]) expectErrno(ctx, (await agentVrefAcquire(a, theirs.id, theirs.key)).status, 0, `the agent acquires slot ${i}`);
      expectStatus(ctx, await agentWriteCaps(a, port, 1, Buffer.from('yours'), [{ vrefId: theirs.id }]), B_OK, 'the agent sends us the vref');
      const got = vx.readPortCaps(port, 64, 1, B_RELATIVE_TIMEOUT, 0);
      need(ctx, got.status === B_OK && got.caps.length === 1, 'we read the message with its cap', 'B_OK, one cap', plain(got));
      const ours = { id: theirs.id, key: got.caps[0]!.key };
      ctx.defer(() => void vx.vrefRelease(ours.id, ours.key));
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 4 }, 'three slots of the agent, one of ours');

      const b = await startAgent(ctx);
      const other = await agentVref(ctx, b, path, O_RDWR, 'a second agent');
      expectErrno(ctx, (await agentVrefAcquire(b, other.id, other.key)).status, 0, 'the second agent acquires a second slot');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 6 }, 'and two of the second agent');

      await a.kill();
      ctx.check(await settleDelta(base, { vrefs: 2, vref_slots: 3 }), 'kill -9 of the agent drops its three slots', { vrefs: 2, vref_slots: 3 }, nmDelta(base));
      const fd = openVref(ctx, ours, O_RDONLY, 'our slot outlives the agent');
      if (fd >= 0) ctx.equal(readAll(fd), CONTENT, 'and reads the file');
      await b.kill();
      ctx.check(await settleDelta(base, { vrefs: 1, vref_slots: 1 }), "kill -9 of the second agent: its vref dies with its last slot", { vrefs: 1, vref_slots: 1 },
        nmDelta(base));
      expectErrno(ctx, vx.vrefOpen(other.id, other.key, O_RDONLY).status, -EBADF, "the second agent's vref is gone");
      expectErrno(ctx, vx.vrefRelease(ours.id, ours.key), 0, 'we release ours');
    }),

    scenario('caps-give-the-reader-a-working-slot', async (ctx, base) => {
      const path = newFile(ctx, 'vref-caps');
      const v = newVref(ctx, openFd(ctx, path, O_RDWR), 'our vref');
      const a = await startAgent(ctx);
      const ap = await agentPort(ctx, a, 'vref-caps-agent');
      const data = Buffer.from('a message with a vref');
      expectStatus(ctx, vx.writePortCaps(ap, 77, data, [{ vrefId: v.id, offset: 6 }], B_RELATIVE_TIMEOUT, 0), B_OK,
        "write_port_caps of our vref to the agent's port");
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1, port_caps: 1 }, 'queued: one cap, no new slot');
      const r = await agentReadCaps(a, ap, 64, 4);
      expectStatus(ctx, r.status, B_OK, 'the agent reads it with read_port_caps');
      ctx.equal([r.code, r.size, r.capsCount, r.data.toString()], [77, data.length, 1, data.toString()], 'code, size, cap count and bytes');
      const cap = r.caps[0];
      need(ctx, cap !== undefined, 'one cap out', 1, r.caps.length);
      ctx.equal([cap.kind, cap.vrefId, cap.offset], [NEXUS_PORT_CAP_VREF, v.id, 6], 'the cap: kind, vref id, the offset passed through');
      ctx.check(cap.key !== 0n && cap.key !== v.key, 'a key of its own', `not 0, not ${v.key}`, String(cap.key));
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 2 }, 'read: a slot for the agent, the message gone');

      const o = await agentVrefOpen(a, v.id, cap.key, O_RDONLY);
      if (ctx.check(o.status === 0 && o.fd >= 0, 'the agent opens the file with its new key', '0 and an fd', plain(o)))
        ctx.equal([o.read, o.data.toString(), o.flags & O_ACCMODE, o.write], [CONTENT.length, CONTENT, O_RDONLY, -EBADF],
          "the agent's descriptor reads our file, read-only (a write fails)");
      const w = await agentVrefOpen(a, v.id, cap.key, O_RDWR);
      ctx.equal([w.status, w.flags & O_ACCMODE, w.write], [0, O_RDWR, 0], 'read-write too, as our descriptor was');
      ctx.equal((await agentVrefAcquire(a, v.id, cap.key)).status, 0, 'the agent may acquire more slots with it');
      // The writer keeps its own slot (a copy, not a move).
      const mineStill = openVref(ctx, v, O_RDONLY, 'the writer keeps its slot');
      if (mineStill >= 0) ctx.equal(readAll(mineStill), CONTENT, 'and reads the file');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 3 }, 'our slot and the agent\'s two');

      // The other way: two caps of the agent's vref (the same vref twice) to our port.
      const port = newPort(ctx, 4, 'vref-caps-ours');
      const theirs = await agentVref(ctx, a, path, O_RDONLY, 'the agent');
      const body = pattern(40, 3);
      expectStatus(ctx, await agentWriteCaps(a, port, 78, body, [{ vrefId: theirs.id, offset: 0 }, { vrefId: theirs.id, offset: 8 }]), B_OK,
        'the agent sends us its vref twice in one message');
      const mine = vx.readPortCaps(port, 64, 2, B_RELATIVE_TIMEOUT, 0);
      expectStatus(ctx, mine.status, B_OK, 'we read it');
      expectBytes(ctx, mine.data, body, 'the bytes');
      ctx.equal(mine.caps.map((c) => [c.kind, c.vrefId, c.offset]), [[1, theirs.id, 0], [1, theirs.id, 8]], 'two caps, in order');
      const keys = mine.caps.map((c) => c.key);
      for (const k of keys) ctx.defer(() => void vx.vrefRelease(theirs.id, k));
      ctx.equal(new Set([...keys, theirs.key]).size, 3, 'each cap is a slot of its own, with its own key');
      for (const k of keys) {
        const fd = openVref(ctx, { id: theirs.id, key: k }, O_RDONLY, 'our new slot');
        if (fd >= 0) ctx.equal(readAll(fd), CONTENT, 'reads the file');
        expectOpenRefused(ctx, { id: theirs.id, key: k }, O_RDWR, EPERM, 'no more than the agent\'s read-only descriptor');
      }
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 6 }, 'two vrefs; 3 + 3 slots');
    }),

    scenario('caps-are-minted-all-or-nothing', async (ctx, base) => {
      // uid 1000 (no CAP_SYS_RESOURCE) may hold one slot: a message with two
      // caps cannot be minted, and must leave nothing minted and stay queued.
      const SHARE = 1;
      const before = moduleParam('user_max_vref_slots');
      need(ctx, before !== undefined, 'nexus.ko has a user_max_vref_slots parameter');
      const dir = scratchDir(ctx, 'vref-aon');
      const path = join(dir, 'file');
      writeFileSync(path, CONTENT, { mode: 0o644 });
      const v1 = newVref(ctx, openFd(ctx, path, O_RDONLY), 'vref 1');
      const v2 = newVref(ctx, openFd(ctx, path, O_RDONLY), 'vref 2');
      const a = await startAgent(ctx, { uid: USER, gid: USER });
      const ap = await agentPort(ctx, a, 'vref-aon');
      setModuleParam(ctx, 'user_max_vref_slots', SHARE);
      expectStatus(ctx, vx.writePortCaps(ap, 9, Buffer.from('two'), [{ vrefId: v1.id }, { vrefId: v2.id }], B_RELATIVE_TIMEOUT, 0), B_OK,
        "root writes two caps to uid 1000's port");
      const r = await agentReadCaps(a, ap, 64, 4);
      expectStatus(ctx, r.status, B_NO_MEMORY, `uid 1000 (a share of ${SHARE} slot) cannot take two caps: B_NO_MEMORY`);
      ctx.equal(r.caps.length, 0, 'no cap is handed out');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2, port_caps: 2 }, 'nothing minted (not even the first), the message still holds both');
      ctx.equal(queued(ap), 1, 'the message is still queued');

      setModuleParam(ctx, 'user_max_vref_slots', 2);
      const again = await agentReadCaps(a, ap, 64, 4);
      expectStatus(ctx, again.status, B_OK, 'with a share of 2 the same read succeeds');
      ctx.equal(again.caps.map((c) => c.vrefId), [v1.id, v2.id], 'both caps, in order');
      ctx.equal(again.data.toString(), 'two', 'and the bytes');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 4 }, 'two slots minted for uid 1000');
      const o = await agentVrefOpen(a, v2.id, again.caps[1]?.key ?? 0n, O_RDONLY);
      ctx.equal([o.status, o.data.toString()], [0, CONTENT], 'uid 1000 opens the file with its slot and reads it');
    }),

    scenario('caps-overflow-leaves-the-message-queued', (ctx, base) => {
      const path = newFile(ctx, 'vref-overflow');
      const fd = openFd(ctx, path, O_RDONLY);
      const vs = [newVref(ctx, fd, 'vref 1'), newVref(ctx, fd, 'vref 2'), newVref(ctx, fd, 'vref 3')];
      const port = newPort(ctx, 4, 'vref-overflow');
      const data = pattern(100, 5);
      const caps: CapIn[] = vs.map((v, i) => ({ vrefId: v.id, offset: i * 10 }));
      expectStatus(ctx, vx.writePortCaps(port, 33, data, caps, B_RELATIVE_TIMEOUT, 0), B_OK, 'a message of 100 bytes and 3 caps');
      for (const [size, room, what] of [[99, 3, 'one byte short'], [100, 2, 'one cap short'], [0, 0, 'no room at all'], [10, 1, 'both short']] as const) {
        const r = vx.readPortCaps(port, size, room, B_RELATIVE_TIMEOUT, 0);
        expectStatus(ctx, r.status, B_BUFFER_OVERFLOW, `read_port_caps with ${size} bytes and ${room} caps of room (${what})`);
        ctx.equal([r.size, r.capsCount], [100, 3], `${what}: the sizes needed are reported`);
        ctx.equal(r.caps.length, 0, `${what}: no cap handed out`);
        ctx.equal(queued(port), 1, `${what}: the message stays queued`);
      }
      expectDelta(ctx, base, { vrefs: 3, vref_slots: 3, port_caps: 3 }, 'the overflows minted nothing');
      const r = vx.readPortCaps(port, 100, 3, B_RELATIVE_TIMEOUT, 0);
      expectStatus(ctx, r.status, B_OK, 'with exactly enough room the read succeeds');
      ctx.equal([r.code, r.size, r.capsCount], [33, 100, 3], 'code and sizes');
      expectBytes(ctx, r.data, data, 'the bytes');
      ctx.equal(r.caps.map((c) => [c.vrefId, c.offset]), vs.map((v, i) => [v.id, i * 10]), 'the caps in order, offsets passed through');
      for (const c of r.caps) ctx.defer(() => void vx.vrefRelease(c.vrefId, c.key));
      expectDelta(ctx, base, { vrefs: 3, vref_slots: 6 }, 'three new slots, the message gone');
      ctx.equal(queued(port), 0, 'the queue is empty');
    }),

    scenario('a-guessed-vref-id-is-no-capability', async (ctx, base) => {
      const path = newFile(ctx, 'vref-guess');
      const v = newVref(ctx, openFd(ctx, path, O_RDWR), 'our vref');
      const port = newPort(ctx, 8, 'vref-guess');
      const a = await startAgent(ctx);
      expectStatus(ctx, await agentWriteCaps(a, port, 1, Buffer.from('stolen'), [{ vrefId: v.id }]), B_NOT_ALLOWED,
        'a team without a slot sends our vref id');
      ctx.equal(queued(port), 0, 'nothing is queued');
      expectStatus(ctx, await agentWriteCaps(a, port, 1, Buffer.from('made up'), [{ vrefId: v.id + 100_000 }]), B_NOT_ALLOWED,
        'an id no vref has');
      const theirs = await agentVref(ctx, a, path, O_RDONLY, 'the agent');
      expectStatus(ctx, await agentWriteCaps(a, port, 1, Buffer.from('mixed'), [{ vrefId: theirs.id }, { vrefId: v.id }]), B_NOT_ALLOWED,
        'its own vref together with ours');
      ctx.equal(queued(port), 0, 'still nothing queued');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2 }, 'no reference taken, no slot made');
      expectStatus(ctx, await agentWriteCaps(a, port, 2, Buffer.from('own'), [{ vrefId: theirs.id }]), B_OK, 'its own vref alone is fine');
      expectDelta(ctx, base, { vrefs: 2, vref_slots: 2, port_caps: 1 }, 'queued with its one cap');
      const r = nx.readPortEtc(port, 64, B_RELATIVE_TIMEOUT, 0);
      ctx.equal([r.status, r.code], [3, 2], 'read (plainly)');

      // Once our slot is gone we cannot send the vref either, though it lives on in the agent's slot.
      const given = await agentReadCapsFromUs(ctx, a, v);
      expectErrno(ctx, vx.vrefRelease(v.id, v.key), 0, 'we release our slot');
      expectStatus(ctx, vx.writePortCaps(port, 3, Buffer.from('gone'), [{ vrefId: v.id }], B_RELATIVE_TIMEOUT, 0), B_NOT_ALLOWED,
        'we no longer hold it: our write is refused');
      ctx.equal(queued(port), 0, 'nothing queued');
      ctx.check(given.status === 0, 'the vref lives in the agent', '0', errnoName(given.status));

      // Our own malformed writes.
      const w = newVref(ctx, openFd(ctx, path, O_RDONLY), 'another vref of ours');
      expectStatus(ctx, vx.writePortCaps(port, 4, Buffer.alloc(0), [{ vrefId: w.id, kind: 2 }], B_RELATIVE_TIMEOUT, 0), B_BAD_VALUE, 'an unknown cap kind');
      expectStatus(ctx, vx.writePortCaps(port, 4, Buffer.alloc(0), [{ vrefId: w.id, kind: 0 }], B_RELATIVE_TIMEOUT, 0), B_BAD_VALUE, 'cap kind 0');
      const many = Array.from({ length: NEXUS_PORT_MAX_CAPS + 1 }, () => ({ vrefId: w.id }));
      expectStatus(ctx, vx.writePortCaps(port, 4, Buffer.alloc(0), many, B_RELATIVE_TIMEOUT, 0), B_BAD_VALUE, `${NEXUS_PORT_MAX_CAPS + 1} caps`);
      ctx.equal(queued(port), 0, 'none of them queued');
      expectStatus(ctx, vx.writePortCaps(port, 4, Buffer.alloc(0), many.slice(1), B_RELATIVE_TIMEOUT, 0), B_OK, `${NEXUS_PORT_MAX_CAPS} caps are fine`);
      if (tells(ctx, base, 'port_caps')) ctx.equal(nmDelta(base).port_caps, NEXUS_PORT_MAX_CAPS, `${NEXUS_PORT_MAX_CAPS} caps queued`);
      const plainRead = nx.readPortEtc(port, 16, B_RELATIVE_TIMEOUT, 0);
      ctx.equal([plainRead.status, plainRead.code], [0, 4], 'read plainly');
      if (tells(ctx, base, 'port_caps')) ctx.equal(nmDelta(base).port_caps, 0, 'its caps released');
    }),

    scenario('dropped-messages-release-their-references', async (ctx, base) => {
      const path = newFile(ctx, 'vref-drop');
      const fd = openFd(ctx, path, O_RDONLY);

      // Read plainly: the reader gets no slot, the message's references go.
      const p1 = newPort(ctx, 4, 'vref-drop-read');
      const v1 = newVref(ctx, fd, 'vref 1');
      expectStatus(ctx, vx.writePortCaps(p1, 1, Buffer.from('plain'), [{ vrefId: v1.id }], B_RELATIVE_TIMEOUT, 0), B_OK, 'a message with vref 1');
      const kept = openVref(ctx, v1, O_RDONLY, 'the writer keeps its slot after the write');
      if (kept >= 0) ctx.equal(readAll(kept), CONTENT, 'it reads the file');
      expectErrno(ctx, vx.vrefRelease(v1.id, v1.key), 0, 'the writer releases its slot');
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 0, port_caps: 1 }, 'the queued message alone keeps vref 1 alive');
      const r = nx.readPortEtc(p1, 64, B_RELATIVE_TIMEOUT, 0);
      ctx.equal([r.status, r.code, r.data.toString()], [5, 1, 'plain'], 'a plain read_port of it');
      expectDelta(ctx, base, {}, 'read plainly: the reference is released, vref 1 is gone');
      expectErrno(ctx, vx.vrefOpen(v1.id, v1.key, O_RDONLY).status, -EBADF, 'vref 1 is gone');

      // Port deleted with the message queued.
      const p2 = nx.createPort(4, 'vref-drop-delete');
      need(ctx, p2 > 0, 'create_port', 'an id', statusName(p2));
      ctx.defer(() => void nx.deletePort(p2));
      const v2 = newVref(ctx, fd, 'vref 2');
      expectStatus(ctx, vx.writePortCaps(p2, 1, Buffer.alloc(0), [{ vrefId: v2.id }, { vrefId: v2.id }], B_RELATIVE_TIMEOUT, 0), B_OK, 'a message with vref 2 twice');
      vx.vrefRelease(v2.id, v2.key);
      expectDelta(ctx, base, { vrefs: 1, port_caps: 2 }, 'the message keeps vref 2 alive');
      expectStatus(ctx, nx.deletePort(p2), B_OK, 'delete_port');
      expectDelta(ctx, base, {}, 'deleted: both references released, vref 2 is gone');

      // Port closed: its messages stay readable (and keep their references) until read or deleted.
      const p3 = newPort(ctx, 4, 'vref-drop-close');
      const v3 = newVref(ctx, fd, 'vref 3');
      expectStatus(ctx, vx.writePortCaps(p3, 1, Buffer.alloc(0), [{ vrefId: v3.id }], B_RELATIVE_TIMEOUT, 0), B_OK, 'a message with vref 3');
      vx.vrefRelease(v3.id, v3.key);
      expectStatus(ctx, nx.closePort(p3), B_OK, 'close_port');
      expectDelta(ctx, base, { vrefs: 1, port_caps: 1 }, 'closed: the message is still queued and holds vref 3');
      const late = vx.readPortCaps(p3, 16, 1, B_RELATIVE_TIMEOUT, 0);
      expectStatus(ctx, late.status, B_OK, 'read_port_caps of a closed port still gets the message');
      const lateKey = late.caps[0]?.key ?? 0n;
      expectDelta(ctx, base, { vrefs: 1, vref_slots: 1 }, 'and a slot in vref 3');
      expectErrno(ctx, vx.vrefRelease(v3.id, lateKey), 0, 'released');
      expectDelta(ctx, base, {}, 'vref 3 is gone');

      // The port's owner dies with the message queued.
      const a = await startAgent(ctx);
      const ap = await agentPort(ctx, a, 'vref-drop-owner');
      const v4 = newVref(ctx, fd, 'vref 4');
      expectStatus(ctx, vx.writePortCaps(ap, 1, Buffer.alloc(0), [{ vrefId: v4.id }], B_RELATIVE_TIMEOUT, 0), B_OK, "a message with vref 4 in the agent's port");
      vx.vrefRelease(v4.id, v4.key);
      expectDelta(ctx, base, { vrefs: 1, port_caps: 1 }, 'the message keeps vref 4 alive');
      await a.kill();
      ctx.check(await settleDelta(base, {}), "kill -9 of the port's owner: the message and its reference go, vref 4 is gone", {}, nmDelta(base));
    }),

    scenario('bad-descriptors', (ctx, base) => {
      expectErrno(ctx, vx.vrefCreate(-1).status, -EBADF, 'vref_create of descriptor -1');
      expectErrno(ctx, vx.vrefCreate(999_999).status, -EBADF, 'vref_create of a descriptor that is not open');
      const path = newFile(ctx, 'vref-badfd');
      const fd = openSync(path, O_RDONLY);
      closeSync(fd);
      expectErrno(ctx, vx.vrefCreate(fd).status, -EBADF, 'vref_create of a closed descriptor');
      expectDelta(ctx, base, {}, 'nothing made');
    }),
  ],
};

/** We send our vref to the agent, which reads it: its slot.  {status of the agent's open}. */
async function agentReadCapsFromUs(ctx: Ctx, a: Agent, v: Vref): Promise<{ status: number }> {
  const ap = await agentPort(ctx, a, `vref-gift-${v.id}`);
  expectStatus(ctx, vx.writePortCaps(ap, 5, Buffer.alloc(0), [{ vrefId: v.id }], B_RELATIVE_TIMEOUT, 0), B_OK, 'we send our vref to the agent');
  const r = await agentReadCaps(a, ap, 16, 1);
  expectStatus(ctx, r.status, B_OK, 'the agent reads it');
  const o = await agentVrefOpen(a, v.id, r.caps[0]?.key ?? 0n, O_RDONLY);
  return { status: o.status };
}
