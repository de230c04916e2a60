// areas: Haiku's areas on nexus_area.ko (issue 8) - named shared memory on
// memfd, shared across teams; rights never grow (B_CLONEABLE_AREA, a clone
// asks no more than its source grants, and its descriptor and mapping cannot
// be raised past it); only the owner deletes, resizes, re-protects or
// transfers; resize is seen by every clone; the owner's exit deletes its
// areas while the pages live on in the other teams' mappings.  Every
// scenario leaves all the Nexus counters (areas and area_space included) as
// it found them.
import { closeSync, constants, ftruncateSync, openSync, readdirSync, statfsSync, unlinkSync, writeSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { nx } from '../native/index.js';
import type { Agent } from '../lib/agent.js';
import { Holder, readCounters, tells, waitFor } from '../lib/guest.js';
import {
  B_BAD_TEAM_ID,
  B_BAD_VALUE,
  B_BAD_ADDRESS,
  B_ENTRY_NOT_FOUND,
  B_NAME_NOT_FOUND,
  B_NOT_ALLOWED,
  B_OK,
  ascending,
  expectBytes,
  expectFields,
  need,
  pattern,
  startAgent,
} from '../lib/nexus.js';
import { BAD_POINTER, KERNEL_POINTER } from '../lib/raw.js';
import { tx } from '../threads/api.js';
import {
  B_CLONEABLE_AREA,
  B_EXECUTE_AREA,
  B_FULL_LOCK,
  B_LAZY_LOCK,
  B_NO_LOCK,
  B_READ_AREA,
  B_WRITE_AREA,
  EACCES,
  EFAULT,
  NO_SUCH_TEAM,
  PAGE,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  expectStatus,
  plain,
  scenario,
  statusName,
} from '../threads/common.js';
import { AREA_IOCTLS, cloneAllowed, createRequest, getInfoRequest, parseCreate, mapAllowed, parseGetInfo, protectionName, walk } from './model.js';

const R = B_READ_AREA;
const W = B_WRITE_AREA;
const X = B_EXECUTE_AREA;
const C = B_CLONEABLE_AREA;
const RW = R | W;
const EINVAL = 22;
const NO_SUCH_AREA = 0x7ffffff0;
const TMPFS_MAGIC = 0x01021994;
const LONG_NAME = 'area-name-of-forty-characters-0123456789';

/** How many descriptors this process has open. */
const openFds = () => readdirSync('/proc/self/fd').length;

const hexOf = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** create_area; the scenario deletes it at its end (unless it is gone or given away by then). */
function newArea(ctx: Ctx, name: string, size: number, protection: number, lock = B_NO_LOCK): number {
  const id = tx.createArea(name, size, lock, protection);
  need(ctx, id > 0, `create_area(${name}, ${size}, ${protectionName(protection)}) returns an id`, 'an id > 0', statusName(id));
  ctx.defer(() => {
    tx.deleteArea(id);
  });
  return id;
}

/** clone_area; deleted at the scenario's end. */
function newClone(ctx: Ctx, name: string, source: number, protection: number): number {
  const id = tx.cloneArea(name, source, protection);
  need(ctx, id > 0, `clone_area(${name}, ${source}, ${protectionName(protection)}) returns an id`, 'an id > 0', statusName(id));
  ctx.defer(() => {
    tx.deleteArea(id);
  });
  return id;
}

function info(ctx: Ctx, id: number, what: string) {
  const r = tx.getAreaInfo(id);
  need(ctx, r.status === B_OK && r.info !== undefined, `${what}: get_area_info succeeds`, 'B_OK', statusName(r.status));
  return r.info!;
}

/** Bytes read through this process's mapping. */
function read(ctx: Ctx, id: number, offset: number, length: number, what: string): Buffer {
  const r = tx.areaRead(id, offset, length);
  expectStatus(ctx, r.status, B_OK, `${what}: read through our mapping`);
  return r.data;
}

function write(ctx: Ctx, id: number, offset: number, data: Uint8Array, what: string): void {
  expectStatus(ctx, tx.areaWrite(id, offset, data), B_OK, `${what}: write through our mapping`);
}

/** An id from an agent's area command, or the scenario stops. */
async function agentId(ctx: Ctx, a: Agent, line: string, what: string): Promise<number> {
  const r = await a.call(line);
  need(ctx, typeof r.ret === 'number' && r.ret > 0, `${what} returns an id`, 'an id > 0', statusName(r.ret));
  return r.ret as number;
}

/** The agent reads its mapping of an area: the bytes. */
async function agentRead(ctx: Ctx, a: Agent, id: number, offset: number, length: number, what: string): Promise<Buffer> {
  const r = await a.call(`area_read ${id} ${offset} ${length}`);
  expectStatus(ctx, r.ret, B_OK, `${what}: the agent reads through its mapping`);
  return Buffer.from(typeof r.hex === 'string' && r.hex !== '-' ? r.hex : '', 'hex');
}

async function agentWrite(ctx: Ctx, a: Agent, id: number, offset: number, data: Uint8Array, what: string): Promise<void> {
  expectStatus(ctx, (await a.call(`area_write ${id} ${offset} ${hexOf(data)}`)).ret, B_OK, `${what}: the agent writes through its mapping`);
}

export const suite: Suite = {
  name: 'areas',
  scenarios: [
    scenario('create-info-find-delete', (ctx, base) => {
      need(ctx, tx.areaFd() >= 0, 'this process opens /dev/nexus_area', 'a descriptor', tx.areaFd());
      ctx.equal(readCounters().teams, base.teams, '/dev/nexus_area joins the team /dev/nexus made: no new team');
      const id = newArea(ctx, 'area-info', 4 * PAGE, RW);
      const i = info(ctx, id, 'a new area');
      expectFields(ctx, i, { area: id, name: 'area-info', size: 4 * PAGE, lock: B_NO_LOCK, protection: RW, team: process.pid }, 'a new area');
      ctx.check(i.address !== 0n, 'it is mapped here', 'an address', String(i.address));
      let c = readCounters();
      ctx.equal(c.areas, base.areas + 1, 'the areas counter counts it');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 4 * PAGE, 'area_space counts its 16 KiB');

      const data = pattern(3 * PAGE, 2);
      write(ctx, id, 100, data, 'a new area');
      expectBytes(ctx, read(ctx, id, 100, data.length, 'a new area'), data, 'what was written is read back');
      expectBytes(ctx, read(ctx, id, 0, 100, 'a new area'), Buffer.alloc(100), 'a new area is zero-filled');
      expectStatus(ctx, tx.areaRead(id, 4 * PAGE - 8, 16).status, B_BAD_VALUE, 'a read past its end (the binding checks)');

      ctx.equal(tx.findArea('area-info'), id, 'find_area finds it by name');
      expectStatus(ctx, tx.findArea('nexus-lab-no-such-area'), B_NAME_NOT_FOUND, 'find_area of a name no area has');
      for (const [lock, what] of [[B_LAZY_LOCK, 'B_LAZY_LOCK'], [B_FULL_LOCK, 'B_FULL_LOCK']] as const)
        ctx.equal(info(ctx, newArea(ctx, `lock-${lock}`, PAGE, RW, lock), what).lock, lock, `the lock kind ${what} is recorded`);

      ctx.equal(LONG_NAME.length, 40, 'the long name has 40 characters');
      const long = newArea(ctx, LONG_NAME, PAGE, R);
      ctx.equal(info(ctx, long, 'long name').name, LONG_NAME.slice(0, 31), 'a 40-character name is truncated to 31');
      ctx.equal(tx.findArea(LONG_NAME.slice(0, 31)), long, 'find_area with the 31-character name');
      ctx.equal(info(ctx, long, 'read-only').protection, R, 'a read-only area');
      expectStatus(ctx, tx.areaWrite(long, 0, Buffer.of(1)), B_BAD_ADDRESS, 'our own read-only mapping takes no write');

      const tmp = tx.createArea('short-lived', 2 * PAGE, B_NO_LOCK, RW);
      need(ctx, tmp > 0, 'create_area', 'an id', statusName(tmp));
      if (tells(ctx, base, 'area_space')) ctx.equal(readCounters().area_space, base.area_space + 9 * PAGE, 'area_space: 4 + 1 + 1 + 1 + 2 pages');
      expectStatus(ctx, tx.deleteArea(tmp), B_OK, 'delete_area');
      expectStatus(ctx, tx.deleteArea(tmp), B_BAD_VALUE, 'delete_area of a deleted area');
      expectStatus(ctx, tx.getAreaInfo(tmp).status, B_BAD_VALUE, 'get_area_info of a deleted area');
      expectStatus(ctx, tx.findArea('short-lived'), B_NAME_NOT_FOUND, 'find_area of a deleted area');
      c = readCounters();
      ctx.equal(c.areas, base.areas + 4, 'delete frees the area and its memory');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 7 * PAGE, 'delete frees the area and its memory');
      const again = tx.createArea('short-lived', PAGE, B_NO_LOCK, RW);
      ctx.check(again > 0 && again !== tmp, 'a deleted id is not reused right away', `not ${tmp}`, again);
      if (again > 0) expectStatus(ctx, tx.deleteArea(again), B_OK, 'delete it');
    }),

    scenario('create-checks-the-memory', (ctx, base) => {
      // What libnexus never sends: CREATE on descriptors of our choosing.  A
      // memfd is a shmem file, and so is a file of a tmpfs (/dev/shm).
      const afd = tx.areaFd();
      need(ctx, afd >= 0, '/dev/nexus_area is open', 'a descriptor', afd);
      need(ctx, statfsSync('/dev/shm').type === TMPFS_MAGIC, '/dev/shm is a tmpfs', TMPFS_MAGIC, statfsSync('/dev/shm').type);
      const files: [string, number][] = [];
      const open = (path: string, flags: string, size?: number) => {
        const fd = openSync(path, flags);
        files.push([path, fd]);
        if (size !== undefined) ftruncateSync(fd, size);
        return fd;
      };
      ctx.defer(() => {
        for (const [path, fd] of files.splice(0)) {
          try { closeSync(fd); } catch { /* closed already */ }
          try { unlinkSync(path); } catch { /* gone already */ }
        }
      });
      const create = (fd: number, size: number, protection: number, name = 'raw-create') => {
        const req = createRequest(fd, name, size, B_NO_LOCK, protection);
        const r = nx.rawIoctl(afd, AREA_IOCTLS.NEXUS_AREA_CREATE, req);
        const out = parseCreate(req);
        if (out.ret === B_OK && out.area > 0) ctx.defer(() => void tx.deleteArea(out.area));
        return { ...out, rc: r.rc, errno: r.errno };
      };

      const shm = `/dev/shm/nexus-lab-area-${process.pid}`;
      const rw = open(shm, 'w+', 2 * PAGE);
      writeSync(rw, pattern(100, 14), 0, 100, 0);
      for (const size of [PAGE, 3 * PAGE])
        expectStatus(ctx, create(rw, size, RW).ret, B_BAD_VALUE, `CREATE of ${size} bytes on 2 pages of memory`);
      expectStatus(ctx, create(-1, PAGE, RW).ret, B_BAD_VALUE, 'CREATE on descriptor -1');
      const disk = `/var/tmp/nexus-lab-area-${process.pid}`;
      const plain = open(disk, 'w+', 2 * PAGE);
      ctx.check(statfsSync('/var/tmp').type !== TMPFS_MAGIC, '/var/tmp is no tmpfs', 'not tmpfs', statfsSync('/var/tmp').type);
      expectStatus(ctx, create(plain, 2 * PAGE, RW).ret, B_BAD_VALUE, 'CREATE on a file that is not shmem');
      const wo = openSync(shm, constants.O_WRONLY);
      files.push([shm, wo]);
      expectStatus(ctx, create(wo, 2 * PAGE, R).ret, B_BAD_VALUE, 'CREATE on a write-only descriptor (it must be readable)');
      const ro = openSync(shm, 'r');
      files.push([shm, ro]);
      expectStatus(ctx, create(ro, 2 * PAGE, RW).ret, B_NOT_ALLOWED, 'CREATE read-write on a read-only descriptor');
      let c = readCounters();
      ctx.equal(c.areas, base.areas, 'refused creates leave nothing');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space, 'refused creates leave nothing');

      const good = create(rw, 2 * PAGE, RW | C, 'raw-created');
      ctx.equal([good.rc, good.errno, good.ret], [0, 0, B_OK], 'CREATE on a shmem file of the right size');
      need(ctx, good.area > 0, 'it gives an id', 'an id', good.area);
      expectFields(ctx, info(ctx, good.area, 'the raw-created area'), { name: 'raw-created', size: 2 * PAGE, protection: RW | C, team: process.pid },
        'the raw-created area');
      const readOnly = create(ro, 2 * PAGE, R, 'raw-read-only');
      expectStatus(ctx, readOnly.ret, B_OK, 'CREATE read-only on a read-only descriptor');
      if (readOnly.area > 0)
        expectStatus(ctx, tx.cloneArea('up', readOnly.area, RW), B_NOT_ALLOWED,
          'even its own team cannot clone it read-write: the descriptor it was made from could not write');
      c = readCounters();
      ctx.equal(c.areas, base.areas + 2, 'two areas, each charged its memory');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 4 * PAGE, 'two areas, each charged its memory');

      // The kernel keeps the file: closed and unlinked here, it lives on.
      for (const [path, fd] of files.splice(0)) {
        closeSync(fd);
        try { unlinkSync(path); } catch { /* the same path twice */ }
      }
      const clone = newClone(ctx, 'raw-created-clone', good.area, R);
      expectBytes(ctx, read(ctx, clone, 0, 100, 'a clone of it'), pattern(100, 14), 'what was written into the file before CREATE');
    }),

    scenario('bad-sizes-protections-and-ids', async (ctx, base) => {
      for (const size of [0, 100, PAGE + 1, PAGE - 1])
        expectStatus(ctx, tx.createArea('bad-size', size, B_NO_LOCK, RW), B_BAD_VALUE, `create_area of ${size} bytes`);
      expectStatus(ctx, tx.createArea('bad-protection', PAGE, B_NO_LOCK, RW | 0x8), B_BAD_VALUE, 'create_area with an unknown protection bit');
      let c = readCounters();
      ctx.equal(c.areas, base.areas, 'refused creates leave nothing');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space, 'refused creates leave nothing');

      const id = newArea(ctx, 'resize-me', 2 * PAGE, RW | C);
      for (const size of [0, 1000, PAGE + 1])
        expectStatus(ctx, tx.resizeArea(id, size), B_BAD_VALUE, `resize_area to ${size} bytes`);
      ctx.equal(info(ctx, id, 'after bad resizes').size, 2 * PAGE, 'bad resizes change nothing');
      expectStatus(ctx, tx.setAreaProtection(id, RW | 0x10), B_BAD_VALUE, 'set_area_protection with an unknown bit');
      expectStatus(ctx, tx.cloneArea('bad-clone', id, R | 0x40), B_BAD_VALUE, 'clone_area with an unknown protection bit');

      const dead = tx.createArea('dead', PAGE, B_NO_LOCK, RW);
      need(ctx, dead > 0, 'create_area', 'an id', statusName(dead));
      expectStatus(ctx, tx.deleteArea(dead), B_OK, 'delete_area');
      for (const bad of [0, -1, NO_SUCH_AREA, dead]) {
        const w = `area ${bad}`;
        expectStatus(ctx, tx.getAreaInfo(bad).status, B_BAD_VALUE, `${w}: get_area_info`);
        expectStatus(ctx, tx.deleteArea(bad), B_BAD_VALUE, `${w}: delete_area`);
        expectStatus(ctx, tx.resizeArea(bad, PAGE), B_BAD_VALUE, `${w}: resize_area`);
        expectStatus(ctx, tx.setAreaProtection(bad, R), B_BAD_VALUE, `${w}: set_area_protection`);
        expectStatus(ctx, tx.transferArea(bad, process.pid), B_BAD_VALUE, `${w}: transfer_area`);
        expectStatus(ctx, tx.cloneArea('of-nothing', bad, R), B_BAD_VALUE, `${w}: clone_area`);
      }
      c = readCounters();
      ctx.equal(c.areas, base.areas + 1, 'only the good area is left');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 2 * PAGE, 'only the good area is left');
    }),

    scenario('shared-pages-across-teams', async (ctx, base) => {
      const a = await startAgent(ctx);
      const mine = newArea(ctx, 'shared-by-node', 2 * PAGE, RW | C);
      const first = pattern(PAGE, 3);
      write(ctx, mine, 0, first, 'our area');
      const theirClone = await agentId(ctx, a, `area_clone clone-of-node ${mine} ${RW}`, 'the agent clones our area');
      ctx.check(theirClone !== mine, 'the clone is a new area', `not ${mine}`, theirClone);
      expectFields(ctx, info(ctx, theirClone, "the agent's clone"), { team: a.pid, size: 2 * PAGE, protection: RW, name: 'clone-of-node' },
        "the agent's clone: its team, our area's size, the protection it asked");
      expectBytes(ctx, await agentRead(ctx, a, theirClone, 0, PAGE, 'the clone'), first, 'what we wrote, the other team reads');
      const second = pattern(PAGE, 4);
      await agentWrite(ctx, a, theirClone, PAGE, second, 'the clone');
      expectBytes(ctx, read(ctx, mine, PAGE, PAGE, 'our area'), second, 'what the other team wrote, we read');

      const theirs = await agentId(ctx, a, `area_create shared-by-agent ${PAGE} 0 ${RW | C}`, 'the agent creates an area');
      expectFields(ctx, info(ctx, theirs, "the agent's area"), { team: a.pid, size: PAGE, protection: RW | C }, "the agent's area");
      await agentWrite(ctx, a, theirs, 0, pattern(64, 5), "the agent's area");
      const ours = newClone(ctx, 'clone-of-agent', theirs, R);
      expectBytes(ctx, read(ctx, ours, 0, 64, 'our clone'), pattern(64, 5), "our clone shows the agent's bytes");
      await agentWrite(ctx, a, theirs, 0, pattern(64, 6), "the agent's area, again");
      expectBytes(ctx, read(ctx, ours, 0, 64, 'our clone'), pattern(64, 6), 'the same pages, not a copy: later writes show too');
      const c = readCounters();
      ctx.equal(c.areas, base.areas + 4, 'four areas: ours, its clone, theirs, our clone');
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 3 * PAGE, 'area_space counts the memory once, not per clone');
      ctx.equal((await a.call(`area_delete ${theirClone}`)).ret, B_OK, 'the agent deletes its clone');
      expectBytes(ctx, read(ctx, mine, PAGE, PAGE, 'our area'), second, 'our area keeps its pages');
    }),

    scenario('clone-needs-cloneable', async (ctx, base) => {
      const a = await startAgent(ctx);
      const priv = await agentId(ctx, a, `area_create agent-private ${PAGE} 0 ${RW}`, 'the agent creates an area that is not B_CLONEABLE_AREA');
      expectStatus(ctx, tx.cloneArea('denied', priv, R), B_NOT_ALLOWED, "clone_area of another team's area without B_CLONEABLE_AREA");
      const fds = openFds();
      const raw = tx.rawAreaClone(priv, 'denied-raw', R);
      expectStatus(ctx, raw.ret, B_NOT_ALLOWED, 'the same request built by hand');
      ctx.equal(openFds(), fds, 'a refused clone installs no descriptor');
      ctx.equal(readCounters().areas, base.areas + 1, 'refused clones leave no area');

      // Its own team may clone it, the agent's own clone the same.
      await agentId(ctx, a, `area_clone own-clone ${priv} ${RW}`, 'the owner team clones its own area without B_CLONEABLE_AREA');
      const mine = newArea(ctx, 'node-private', PAGE, RW);
      const own = newClone(ctx, 'own-clone', mine, RW);
      ctx.equal(info(ctx, own, 'our clone').team, process.pid, 'so do we ours');
      expectStatus(ctx, (await a.call(`area_clone denied ${mine} ${R}`)).ret, B_NOT_ALLOWED, 'the agent cannot clone our area that is not cloneable');

      // B_CLONEABLE_AREA given later by set_area_protection lets it.
      expectStatus(ctx, (await a.call(`area_protect ${priv} ${RW | C}`)).ret, B_OK, 'the agent makes its area cloneable');
      const later = newClone(ctx, 'allowed-now', priv, R);
      ctx.equal(info(ctx, later, 'our clone').protection, R, 'then our clone is allowed');
    }),

    scenario('clone-rights-never-grow', async (ctx) => {
      const a = await startAgent(ctx);
      // Another team's sources of every access, all cloneable: what may a clone ask?
      const sources: [number, number][] = [];
      for (const p of [R, RW, R | X, RW | X]) {
        sources.push([await agentId(ctx, a, `area_create src-${p} ${PAGE} 0 ${p | C}`, `the agent creates a ${protectionName(p | C)} area`), p | C]);
      }
      for (const [src, prot] of sources) {
        for (const asked of [R, RW, R | X, RW | X, RW | C]) {
          const id = tx.cloneArea('ask', src, asked);
          const ok = cloneAllowed(prot, false, asked);
          ctx.check(ok ? id > 0 : id === B_NOT_ALLOWED,
            `a clone asking ${protectionName(asked)} of another team's ${protectionName(prot)} area`,
            ok ? 'an id' : statusName(B_NOT_ALLOWED), statusName(id));
          if (id > 0) {
            ctx.equal(info(ctx, id, 'the clone').protection, asked, `${protectionName(asked)} of ${protectionName(prot)}: the clone has what it asked`);
            tx.deleteArea(id);
          }
        }
      }

      // set_area_protection: what later clones get; a clone cannot raise itself past what it got.
      const [rwSrc] = sources[1]!;
      const ro = newClone(ctx, 'ro-clone', rwSrc, R);
      expectStatus(ctx, tx.setAreaProtection(ro, RW), B_NOT_ALLOWED, 'a read-only clone cannot be set_area_protection-ed to write');
      expectStatus(ctx, tx.setAreaProtection(ro, R | X), B_NOT_ALLOWED, 'nor to execute');
      expectStatus(ctx, tx.setAreaProtection(ro, R | C), B_OK, 'B_CLONEABLE_AREA is no access: it may be set');
      expectStatus(ctx, (await a.call(`area_clone from-ro-clone ${ro} ${RW}`)).ret, B_NOT_ALLOWED, 'a clone of the read-only clone cannot ask write');
      const rw = newClone(ctx, 'rw-clone', rwSrc, RW);
      expectStatus(ctx, (await a.call(`area_protect ${rwSrc} ${R | C}`)).ret, B_OK, 'the owner makes its area read-only (for later clones)');
      expectStatus(ctx, tx.cloneArea('after-protect', rwSrc, RW), B_NOT_ALLOWED, 'a later clone asking write is refused');
      write(ctx, rw, 0, pattern(32, 7), 'a clone made before: mappings keep their protection');
      expectBytes(ctx, await agentRead(ctx, a, rwSrc, 0, 32, "the agent's area"), pattern(32, 7), 'and the write reached the shared pages');

      // Our own area: our team may clone it up to what its memory allows (the memfd is ours, read-write).
      const own = newArea(ctx, 'own-ro', PAGE, R);
      const up = newClone(ctx, 'own-rw', own, RW);
      ctx.equal(info(ctx, up, 'our clone of our read-only area').protection, RW,
        'the owner team may clone its own read-only area up to the memory it registered (read-write)');
      const roClone = newClone(ctx, 'own-ro-clone', own, R);
      expectStatus(ctx, tx.cloneArea('own-clone-up', roClone, RW), B_NOT_ALLOWED, 'but a read-only clone of ours cannot be cloned read-write: its max is what it got');
    }),

    scenario('read-only-clone-cannot-escalate', async (ctx) => {
      const a = await startAgent(ctx);
      const size = 2 * PAGE;
      const src = await agentId(ctx, a, `area_create ro-source ${size} 0 ${RW | C}`, 'the agent creates an area');
      await agentWrite(ctx, a, src, 0, pattern(64, 8), 'the source');
      expectStatus(ctx, (await a.call(`area_protect ${src} ${R | C}`)).ret, B_OK, 'the agent grants read only from now on');

      const raw = tx.rawAreaClone(src, 'ro-raw', R);
      need(ctx, raw.ret === B_OK && raw.fd >= 0 && raw.area > 0, 'a read-only clone built by hand: a descriptor', 'B_OK and an fd', raw);
      ctx.defer(() => {
        tx.closeFd(raw.fd);
        tx.deleteArea(raw.area);
      });
      ctx.equal(raw.size, size, "the clone's size comes back with it");
      for (const shared of [true, false]) {
        for (const prot of [PROT_READ, PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC]) {
          const want = mapAllowed(R, prot, shared) ? 0 : EACCES;
          const kind = `${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'} ${prot & PROT_WRITE ? 'read-write' : prot & PROT_EXEC ? 'read-exec' : 'read'}`;
          ctx.equal(tx.mmapFd(raw.fd, size, prot, shared).errno, want, `mmap of a read-only clone's descriptor, ${kind}: ${want ? 'EACCES' : 'allowed'}`);
        }
        for (const up of [PROT_READ | PROT_WRITE, PROT_READ | PROT_EXEC]) {
          const want = mapAllowed(R, up, shared) ? 0 : EACCES;
          const r = tx.mmapFd(raw.fd, size, PROT_READ, shared, up);
          ctx.equal([r.errno, r.mprotectErrno], [0, want],
            `${shared ? 'MAP_SHARED' : 'MAP_PRIVATE'} read mapping, mprotect up to ${up & PROT_WRITE ? 'write' : 'exec'}: ${want ? 'EACCES' : 'allowed'}`);
        }
      }

      // A private read-write mapping of the read-only clone takes writes, in
      // its own copy: the shared pages never see them.
      const cow = tx.mmapFd(raw.fd, size, PROT_READ | PROT_WRITE, false, undefined, 0x5a);
      ctx.equal([cow.errno, cow.readBack], [0, 0x5a], 'a MAP_PRIVATE read-write mapping of the read-only clone takes a write (copy on write)');
      expectBytes(ctx, await agentRead(ctx, a, src, 0, 64, 'the source'), pattern(64, 8), 'the private write never reached the shared pages');

      // The same through libnexus's mapping of a read-only clone.
      const ro = newClone(ctx, 'ro-mapped', src, R);
      expectBytes(ctx, read(ctx, ro, 0, 64, 'the read-only clone'), pattern(64, 8), 'it reads the shared pages');
      expectStatus(ctx, tx.areaWrite(ro, 0, Buffer.of(1)), B_BAD_ADDRESS, 'it takes no write');
      ctx.equal(tx.areaMprotect(ro, PROT_READ | PROT_WRITE), -EACCES, 'its mapping cannot be mprotect-ed to write');
      ctx.equal(tx.areaMprotect(ro, PROT_READ | PROT_EXEC), -EACCES, 'nor to execute');
      expectBytes(ctx, await agentRead(ctx, a, src, 0, 64, 'the source'), pattern(64, 8), 'the shared pages are untouched');

      // Write without execute: a read-write clone cannot map or become executable.
      const noexec = await agentId(ctx, a, `area_create rw-source ${PAGE} 0 ${RW | C}`, 'the agent creates a read-write area');
      const rw = tx.rawAreaClone(noexec, 'rw-raw', RW);
      need(ctx, rw.ret === B_OK && rw.fd >= 0, 'a read-write clone built by hand', 'B_OK and an fd', rw);
      ctx.defer(() => {
        tx.closeFd(rw.fd);
        tx.deleteArea(rw.area);
      });
      ctx.equal(tx.mmapFd(rw.fd, PAGE, PROT_READ | PROT_WRITE, true).errno, 0, 'a read-write clone maps MAP_SHARED read-write (the control)');
      ctx.equal(tx.mmapFd(rw.fd, PAGE, PROT_READ | PROT_EXEC, true).errno, EACCES, 'but not executable');
      ctx.equal(tx.mmapFd(rw.fd, PAGE, PROT_READ | PROT_WRITE, true, PROT_READ | PROT_WRITE | PROT_EXEC).mprotectErrno, EACCES,
        'nor can its mapping be mprotect-ed to execute');
      const rwMapped = newClone(ctx, 'rw-mapped', noexec, RW);
      ctx.equal(tx.areaMprotect(rwMapped, PROT_READ | PROT_EXEC), -EACCES, "libnexus's mapping of it cannot become executable either");
      ctx.equal(tx.areaMprotect(rwMapped, PROT_READ), 0, 'it may drop write');
      ctx.equal(tx.areaMprotect(rwMapped, PROT_READ | PROT_WRITE), 0, 'and take it back (it was granted)');
    }),

    scenario('only-the-owner-changes-an-area', async (ctx) => {
      const a = await startAgent(ctx);
      const theirs = await agentId(ctx, a, `area_create agents-own ${2 * PAGE} 0 ${RW | C}`, 'the agent creates an area');
      const before = info(ctx, theirs, "the agent's area");
      expectStatus(ctx, tx.deleteArea(theirs), B_NOT_ALLOWED, "delete_area of another team's area");
      expectStatus(ctx, tx.resizeArea(theirs, 4 * PAGE), B_NOT_ALLOWED, "resize_area of another team's area");
      expectStatus(ctx, tx.setAreaProtection(theirs, R), B_NOT_ALLOWED, "set_area_protection of another team's area");
      expectStatus(ctx, tx.transferArea(theirs, process.pid), B_NOT_ALLOWED, "transfer_area of another team's area (to ourselves)");
      expectFields(ctx, info(ctx, theirs, 'after the refusals'), { team: before.team, size: before.size, protection: before.protection, name: before.name },
        'the refusals changed nothing');
      // Our clone of it is ours: deleting it is fine and leaves the source.
      const clone = tx.cloneArea('ours-of-theirs', theirs, RW);
      need(ctx, clone > 0, 'clone_area', 'an id', statusName(clone));
      expectStatus(ctx, tx.deleteArea(clone), B_OK, 'we delete our clone');
      expectStatus(ctx, tx.getAreaInfo(theirs).status, B_OK, 'the source lives on');

      const mine = newArea(ctx, 'node-own', PAGE, RW | C);
      for (const [cmd, what] of [
        [`area_delete ${mine}`, 'delete_area'],
        [`area_resize ${mine} ${2 * PAGE}`, 'resize_area'],
        [`area_protect ${mine} ${R}`, 'set_area_protection'],
        [`area_transfer ${mine} ${a.pid}`, 'transfer_area'],
      ])
        expectStatus(ctx, (await a.call(cmd)).ret, B_NOT_ALLOWED, `the agent's ${what} of our area`);
      expectFields(ctx, info(ctx, mine, 'our area'), { team: process.pid, size: PAGE, protection: RW | C }, 'our area is unchanged');
      expectStatus(ctx, (await a.call(`area_resize ${theirs} ${PAGE}`)).ret, B_OK, 'the owner resizes its own area');
      expectStatus(ctx, (await a.call(`area_delete ${theirs}`)).ret, B_OK, 'and deletes it');
    }),

    scenario('resize-seen-by-clones', async (ctx, base) => {
      // libnexus grows a mapping in place (an area does not move), so the
      // area starts big and shrinks first: the room it gives back lets it
      // grow again wherever the kernel first put it.
      const a = await startAgent(ctx);
      const id = newArea(ctx, 'resizable', 8 * PAGE, RW | C);
      write(ctx, id, 0, pattern(PAGE, 9), 'the area');
      write(ctx, id, 6 * PAGE, pattern(64, 10), 'the area, page 6');
      const ours = newClone(ctx, 'resizable-ours', id, RW);
      const theirs = await agentId(ctx, a, `area_clone resizable-theirs ${id} ${RW}`, 'the agent clones it');
      const sizes = async () => [info(ctx, id, 'source').size, info(ctx, ours, 'our clone').size, (await a.call(`area_info ${theirs}`)).size];
      ctx.equal(await sizes(), [8 * PAGE, 8 * PAGE, 8 * PAGE], 'the clones have the source\'s size');

      expectStatus(ctx, tx.resizeArea(id, 2 * PAGE), B_OK, 'resize_area to 2 pages');
      ctx.equal(await sizes(), [2 * PAGE, 2 * PAGE, 2 * PAGE], 'the source and every clone, in both teams, have the new size');
      if (tells(ctx, base, 'area_space')) ctx.equal(readCounters().area_space, base.area_space + 2 * PAGE, 'area_space follows the memory');
      expectBytes(ctx, await agentRead(ctx, a, theirs, 0, 64, "the agent's clone"), pattern(64, 9), 'the pages kept keep their bytes');

      expectStatus(ctx, tx.resizeArea(id, 8 * PAGE), B_OK, 'resize_area back to 8 pages');
      ctx.equal(await sizes(), [8 * PAGE, 8 * PAGE, 8 * PAGE], 'growing is seen by every clone too');
      if (tells(ctx, base, 'area_space')) ctx.equal(readCounters().area_space, base.area_space + 8 * PAGE, 'area_space after growing');
      expectBytes(ctx, read(ctx, ours, 6 * PAGE, 64, 'our clone, grown in place'), Buffer.alloc(64), 'what the shrink cut off is gone: the grown part is zeros');
      write(ctx, id, 6 * PAGE, pattern(64, 11), 'the grown area');
      expectBytes(ctx, read(ctx, ours, 6 * PAGE, 64, 'our clone'), pattern(64, 11), 'our clone shares the grown part');
      expectBytes(ctx, read(ctx, ours, 0, PAGE, 'our clone'), pattern(PAGE, 9), 'and the first page is kept');

      // A clone is an area of its own: its owner may resize it, which resizes the shared memory.
      expectStatus(ctx, tx.resizeArea(ours, 3 * PAGE), B_OK, 'resize_area of our clone');
      ctx.equal(await sizes(), [3 * PAGE, 3 * PAGE, 3 * PAGE], 'resizing a clone resizes the memory every area shares');
      expectStatus(ctx, (await a.call(`area_resize ${id} ${PAGE}`)).ret, B_NOT_ALLOWED, 'the agent cannot resize our source');
      ctx.equal(info(ctx, id, 'source').size, 3 * PAGE, 'its refused resize changed nothing');
    }),

    scenario('transfer', async (ctx, base) => {
      const a = await startAgent(ctx);
      const id = newArea(ctx, 'gift', 2 * PAGE, RW | C);
      write(ctx, id, 0, pattern(128, 11), 'the gift');
      expectStatus(ctx, tx.transferArea(id, NO_SUCH_TEAM), B_BAD_TEAM_ID, 'transfer_area to a team id no process has');
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, tx.transferArea(id, h.pid), B_BAD_TEAM_ID, 'transfer_area to a process that is no team');
      const other = await startAgent(ctx, { uid: 1000, gid: 1000 });
      expectStatus(ctx, tx.transferArea(id, other.pid), B_NOT_ALLOWED, "transfer_area to another user's team");
      ctx.equal(info(ctx, id, 'after the refused transfers').team, process.pid, 'the refused transfers left it ours');

      ctx.equal(tx.transferArea(id, a.pid), id, 'transfer_area to the agent keeps the id');
      expectFields(ctx, info(ctx, id, 'the given area'), { area: id, team: a.pid, size: 2 * PAGE, name: 'gift' }, 'the area is the agent\'s now');
      ctx.equal(readCounters().areas, base.areas + 1, 'still one area');
      expectStatus(ctx, tx.deleteArea(id), B_NOT_ALLOWED, 'the giver can no longer delete it');
      expectStatus(ctx, tx.resizeArea(id, PAGE), B_NOT_ALLOWED, 'nor resize it');
      expectStatus(ctx, tx.setAreaProtection(id, R), B_NOT_ALLOWED, 'nor re-protect it');
      expectStatus(ctx, tx.transferArea(id, process.pid), B_NOT_ALLOWED, 'nor take it back');
      expectStatus(ctx, tx.areaRead(id, 0, 16).status, B_BAD_VALUE, 'and it no longer maps it');

      const mapped = await agentId(ctx, a, `area_clone gift-mapped ${id} ${RW}`, 'the target maps it by cloning its own area');
      expectBytes(ctx, await agentRead(ctx, a, mapped, 0, 128, 'the target'), pattern(128, 11), 'the target reads what the giver wrote');
      expectStatus(ctx, (await a.call(`area_resize ${id} ${3 * PAGE}`)).ret, B_OK, 'the target may resize it');
      expectStatus(ctx, (await a.call(`area_delete ${id}`)).ret, B_OK, 'and delete it');
      expectStatus(ctx, tx.getAreaInfo(id).status, B_BAD_VALUE, 'then the id is gone');
    }),

    scenario('owner-exit-keeps-mappings', async (ctx, base) => {
      const owner = await startAgent(ctx);
      const keeper = await startAgent(ctx);
      const id = await agentId(ctx, owner, `area_create doomed ${2 * PAGE} 0 ${RW | C}`, 'the owner creates an area');
      const data = pattern(2 * PAGE, 12);
      await agentWrite(ctx, owner, id, 0, data, 'the owner');
      const ours = newClone(ctx, 'survivor-node', id, RW);
      const theirs = await agentId(ctx, keeper, `area_clone survivor-agent ${id} ${R}`, 'another team clones it');
      ctx.equal(readCounters().areas, base.areas + 3, 'three areas');
      if (tells(ctx, base, 'area_space')) ctx.equal(readCounters().area_space, base.area_space + 2 * PAGE, 'one memory');

      await owner.kill();
      await waitFor(() => readCounters().areas === base.areas + 2);
      const c = readCounters();
      ctx.equal(c.areas, base.areas + 2, "kill -9 of the owner deletes its area, and only it");
      if (tells(ctx, base, 'area_space')) ctx.equal(c.area_space, base.area_space + 2 * PAGE, 'the memory lives on while clones use it');
      expectStatus(ctx, tx.getAreaInfo(id).status, B_BAD_VALUE, "the dead owner's area id is gone");
      expectStatus(ctx, tx.findArea('doomed'), B_NAME_NOT_FOUND, 'and its name');
      expectBytes(ctx, read(ctx, ours, 0, 2 * PAGE, 'our clone'), data, 'the pages live on in our mapping');
      expectBytes(ctx, await agentRead(ctx, keeper, theirs, 0, 2 * PAGE, 'the other clone'), data, "and in the other team's");
      write(ctx, ours, 0, pattern(64, 13), 'our clone');
      expectBytes(ctx, await agentRead(ctx, keeper, theirs, 0, 64, 'the other clone'), pattern(64, 13), 'still shared between the survivors');
      expectFields(ctx, info(ctx, ours, 'our clone'), { size: 2 * PAGE, team: process.pid }, 'our clone is intact');

      ctx.equal(await keeper.exit(0), 0, 'the other team exits');
      await waitFor(() => readCounters().areas === base.areas + 1);
      ctx.equal(readCounters().areas, base.areas + 1, 'its clone goes with it');
      expectBytes(ctx, read(ctx, ours, 0, 64, 'our clone'), pattern(64, 13), 'ours is still there');
    }),

    scenario('get-next-area-info', async (ctx) => {
      const mine = [newArea(ctx, 'next-a', PAGE, RW), newArea(ctx, 'next-b', 2 * PAGE, R), newArea(ctx, 'next-c', PAGE, RW | C)];
      const a = await startAgent(ctx);
      expectStatus(ctx, tx.getNextAreaInfo(a.pid, 0).status, B_ENTRY_NOT_FOUND, 'a team without areas: B_ENTRY_NOT_FOUND at once');
      const theirs = [
        await agentId(ctx, a, `area_create agent-x ${PAGE} 0 ${RW}`, 'the agent creates agent-x'),
        await agentId(ctx, a, `area_create agent-y ${3 * PAGE} 0 ${R | C}`, 'the agent creates agent-y'),
      ];
      for (const team of [0, process.pid]) {
        const w = walk((cookie) => tx.getNextAreaInfo(team, cookie));
        expectStatus(ctx, w.end, B_ENTRY_NOT_FOUND, `team ${team}: the walk ends with B_ENTRY_NOT_FOUND`);
        ctx.check(!w.endless && w.cookiesOk, `team ${team}: each cookie is the id returned`, true, plain(w));
        ctx.equal(w.infos.map((i) => i.area), mine, `team ${team}: exactly our areas, in id order`);
        ctx.equal(w.infos.map((i) => [i.name, i.size, i.protection, i.team]),
          [['next-a', PAGE, RW, process.pid], ['next-b', 2 * PAGE, R, process.pid], ['next-c', PAGE, RW | C, process.pid]], `team ${team}: their info`);
      }
      const w = walk((cookie) => tx.getNextAreaInfo(a.pid, cookie));
      ctx.equal(w.infos.map((i) => i.area), theirs, "the agent's walk: exactly its areas");
      ctx.check(ascending(theirs), 'ids grow', 'ascending', theirs);
      expectStatus(ctx, w.end, B_ENTRY_NOT_FOUND, "the agent's walk ends with B_ENTRY_NOT_FOUND");
      ctx.equal(tx.getNextAreaInfo(a.pid, theirs[0]!).info?.area, theirs[1], 'a cookie resumes after that id');
      const seen = await a.call('area_next 0 0');
      ctx.equal([seen.ret, seen.area], [B_OK, theirs[0]], "the agent's own walk (team 0) starts at its first area");

      ctx.equal(tx.findArea('agent-y'), theirs[1], "find_area finds another team's area (same user)");
      expectStatus(ctx, tx.getNextAreaInfo(NO_SUCH_TEAM, 0).status, B_BAD_TEAM_ID, 'a team id no process has');
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, tx.getNextAreaInfo(h.pid, 0).status, B_BAD_TEAM_ID, 'a live process that never opened a Nexus device');
    }),

    scenario('raw-requests', (ctx) => {
      const fd = tx.areaFd();
      need(ctx, fd >= 0, '/dev/nexus_area is open', 'a descriptor', fd);
      for (const [what, cmd] of Object.entries(AREA_IOCTLS)) {
        for (const [where, ptr] of [['an unmapped', BAD_POINTER], ['a kernel', KERNEL_POINTER]] as const) {
          const r = nx.rawIoctl(fd, cmd, ptr);
          ctx.equal([r.rc, r.errno], [-1, EFAULT], `${what} with ${where} request struct: EFAULT`);
        }
      }
      const id = newArea(ctx, 'raw-info', 2 * PAGE, RW | C);
      const req = getInfoRequest(id);
      const r = nx.rawIoctl(fd, AREA_IOCTLS.NEXUS_AREA_GET_INFO, req);
      ctx.equal([r.rc, r.errno], [0, 0], 'GET_INFO built by hand: the ioctl returns B_OK');
      expectFields(ctx, parseGetInfo(req), { name: 'raw-info', size: 2 * PAGE, protection: RW | C, team: process.pid, ret: B_OK },
        'GET_INFO built by hand');
      const bad = getInfoRequest(NO_SUCH_AREA);
      const rb = nx.rawIoctl(fd, AREA_IOCTLS.NEXUS_AREA_GET_INFO, bad);
      ctx.equal([rb.rc, rb.errno, parseGetInfo(bad).ret], [-1, EINVAL, B_BAD_VALUE],
        'an unknown id: the status is both the ioctl return value (-EINVAL) and ret (B_BAD_VALUE)');
      const nexusOnly = nx.rawIoctl(nx.fd(), AREA_IOCTLS.NEXUS_AREA_GET_INFO, getInfoRequest(id));
      ctx.equal([nexusOnly.rc, nexusOnly.errno], [-1, 25], "an area request on /dev/nexus: ENOTTY (not nexus.ko's magic)");
    }),
  ],
};
