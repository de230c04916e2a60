// The pure half of the areas suite: the rights rules (what a clone may ask,
// what its descriptor may map), valid sizes, the get_next_area_info walk
// and the area ioctl numbers.  No addon, no guest: test/unit/areas.test.ts
// runs it on the host.

export const B_READ_AREA = 0x01;
export const B_WRITE_AREA = 0x02;
export const B_EXECUTE_AREA = 0x04;
export const B_CLONEABLE_AREA = 0x100;
const ACCESS = B_READ_AREA | B_WRITE_AREA | B_EXECUTE_AREA;

export const PROT_READ = 1;
export const PROT_WRITE = 2;
export const PROT_EXEC = 4;

export const PAGE_SIZE = 4096;

/** An area's size is a multiple of the page size, and not 0. */
export function validAreaSize(size: number, page = PAGE_SIZE): boolean {
  return Number.isSafeInteger(size) && size > 0 && size % page === 0;
}

/**
 * Whether a clone asking `asked` of a source whose protection is `source`
 * is allowed: another team's source must be B_CLONEABLE_AREA, and the clone
 * never gets read, write or execute access the source grants it not (rights
 * never grow).  Another team is granted the source's protection; the
 * source's own team is granted the most the source may ever give (`max`:
 * for a created area all its memory allows, for a clone what it got), so
 * it can clone its own read-only area read-write, never more than that.
 * B_CLONEABLE_AREA itself is no access.
 */
export function cloneAllowed(source: number, sameTeam: boolean, asked: number, max = source): boolean {
  if (!sameTeam && (source & B_CLONEABLE_AREA) === 0) return false;
  const granted = sameTeam ? max : source;
  return (asked & ACCESS & ~(granted & ACCESS)) === 0;
}

/**
 * Whether a descriptor of a clone with protection `area` may be mapped
 * (or a mapping of it mprotect()ed) with `prot` (PROT_*): a shared mapping
 * writes the area's pages, so it needs B_WRITE_AREA; a private one only
 * copies them (copy-on-write), so it may be writable whatever the area
 * grants; executing needs B_EXECUTE_AREA either way.
 */
export function mapAllowed(area: number, prot: number, shared: boolean): boolean {
  if (prot & PROT_EXEC && !(area & B_EXECUTE_AREA)) return false;
  if (prot & PROT_WRITE && shared && !(area & B_WRITE_AREA)) return false;
  return true;
}

/** A protection as text: "R|W|CLONEABLE". */
export function protectionName(p: number): string {
  const bits: [number, string][] = [[B_READ_AREA, 'R'], [B_WRITE_AREA, 'W'], [B_EXECUTE_AREA, 'X'], [B_CLONEABLE_AREA, 'CLONEABLE']];
  const names = bits.filter(([b]) => p & b).map(([, n]) => n);
  const rest = p & ~bits.reduce((m, [b]) => m | b, 0);
  if (rest) names.push(`0x${rest.toString(16)}`);
  return names.length ? names.join('|') : '0';
}

export interface WalkStep<T> {
  status: number;
  cookie: number;
  info?: T;
}

export interface Walk<T> {
  infos: T[];
  /** The status that ended the walk (the first that was not B_OK). */
  end: number;
  /** Every step's cookie was the id it returned. */
  cookiesOk: boolean;
  /** The walk did not end within `max` steps. */
  endless: boolean;
}

/** Walk get_next_area_info from cookie 0 until it fails (at most `max` steps). */
export function walk<T extends { area: number }>(next: (cookie: number) => WalkStep<T>, max = 100_000): Walk<T> {
  const infos: T[] = [];
  let cookie = 0;
  let cookiesOk = true;
  for (let i = 0; i < max; i++) {
    const r = next(cookie);
    if (r.status !== 0) return { infos, end: r.status, cookiesOk, endless: false };
    if (!r.info) return { infos, end: r.status, cookiesOk: false, endless: false };
    infos.push(r.info);
    if (r.cookie !== r.info.area) cookiesOk = false;
    if (r.cookie === cookie) return { infos, end: 0, cookiesOk: false, endless: true };
    cookie = r.cookie;
  }
  return { infos, end: 0, cookiesOk, endless: true };
}

// ---------------------------------------------------------------------------
// The area ioctls (magic 'A'), with their request sizes (NEXUS-ABI.md)

const iowr = (nr: number, size: number) => ((3 << 30) | (size << 16) | (0x41 << 8) | nr) >>> 0;
export const AREA_IOCTLS = {
  NEXUS_AREA_CREATE: iowr(1, 64),
  NEXUS_AREA_CLONE: iowr(2, 64),
  NEXUS_AREA_DELETE: iowr(3, 8),
  NEXUS_AREA_FIND: iowr(4, 56),
  NEXUS_AREA_GET_INFO: iowr(5, 64),
  NEXUS_AREA_RESIZE: iowr(6, 24),
  NEXUS_AREA_SET_PROTECTION: iowr(7, 12),
  NEXUS_AREA_TRANSFER: iowr(8, 20),
  NEXUS_AREA_GET_NEXT: iowr(9, 72),
};

/** nexus_area_create: fd at 0, name[32] at 4, size at 40, lock 48, protection 52, area 56, ret 60. */
export const CREATE_LAYOUT = { size: 64, fd: 0, name: 4, sizeField: 40, lock: 48, protection: 52, area: 56, ret: 60 };

/** A hand-built NEXUS_AREA_CREATE request (the name cut to 31 bytes). */
export function createRequest(fd: number, name: string, size: number, lock: number, protection: number): Buffer {
  const L = CREATE_LAYOUT;
  const b = Buffer.alloc(L.size);
  b.writeInt32LE(fd, L.fd);
  Buffer.from(name, 'latin1').subarray(0, 31).copy(b, L.name);
  b.writeBigUInt64LE(BigInt(size), L.sizeField);
  b.writeUInt32LE(lock, L.lock);
  b.writeUInt32LE(protection, L.protection);
  return b;
}

/** What the kernel wrote back into a CREATE request. */
export const parseCreate = (b: Buffer) => ({ area: b.readInt32LE(CREATE_LAYOUT.area), ret: b.readInt32LE(CREATE_LAYOUT.ret) });

/** nexus_area_get_info: area at 0, name[32] at 4, size at 40, lock 48, protection 52, team 56, ret 60. */
export const GET_INFO_LAYOUT = { size: 64, area: 0, name: 4, sizeField: 40, lock: 48, protection: 52, team: 56, ret: 60 };

/** A hand-built NEXUS_AREA_GET_INFO request for `area`. */
export function getInfoRequest(area: number): Buffer {
  const b = Buffer.alloc(GET_INFO_LAYOUT.size);
  b.writeInt32LE(area, GET_INFO_LAYOUT.area);
  return b;
}

/** What the kernel wrote back into a GET_INFO request. */
export function parseGetInfo(b: Buffer) {
  const L = GET_INFO_LAYOUT;
  const raw = b.subarray(L.name, L.name + 32);
  const nul = raw.indexOf(0);
  return {
    name: raw.subarray(0, nul < 0 ? 32 : nul).toString('latin1'),
    size: Number(b.readBigUInt64LE(L.sizeField)),
    lock: b.readUInt32LE(L.lock),
    protection: b.readUInt32LE(L.protection),
    team: b.readInt32LE(L.team),
    ret: b.readInt32LE(L.ret),
  };
}
