// The pure parts of the areas suite: the rights rules, sizes, the
// get_next_area_info walk and the hand-built GET_INFO request.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  AREA_IOCTLS,
  B_CLONEABLE_AREA as C,
  B_EXECUTE_AREA as X,
  B_READ_AREA as R,
  B_WRITE_AREA as W,
  PROT_EXEC,
  PROT_READ,
  PROT_WRITE,
  cloneAllowed,
  createRequest,
  parseCreate,
  getInfoRequest,
  mapAllowed,
  parseGetInfo,
  protectionName,
  validAreaSize,
  walk,
} from '../../scenarios/areas/model.js';

test('validAreaSize: a positive multiple of the page size', () => {
  for (const ok of [4096, 8192, 4096 * 1000]) assert.ok(validAreaSize(ok), String(ok));
  for (const bad of [0, -4096, 100, 4095, 4097, 4096.5, NaN]) assert.not.ok(validAreaSize(bad), String(bad));
  assert.ok(validAreaSize(16384, 16384));
  assert.not.ok(validAreaSize(4096, 16384));
});

test('cloneAllowed: another team needs B_CLONEABLE_AREA', () => {
  assert.not.ok(cloneAllowed(R | W, false, R));
  assert.ok(cloneAllowed(R | W | C, false, R));
  assert.ok(cloneAllowed(R | W, true, R), 'its own team clones without it');
});

test('cloneAllowed: a clone never asks more access than the source grants', () => {
  assert.ok(cloneAllowed(R | C, false, R));
  assert.not.ok(cloneAllowed(R | C, false, R | W));
  assert.not.ok(cloneAllowed(R | C, false, R | X));
  assert.not.ok(cloneAllowed(R | W | C, false, R | W | X));
  assert.ok(cloneAllowed(R | W | X | C, false, R | W | X));
  assert.ok(cloneAllowed(R | W | C, false, R | W | C), 'B_CLONEABLE_AREA is no access: a clone may ask it');
  assert.ok(cloneAllowed(R | W | C, false, R), 'less is fine');
  assert.not.ok(cloneAllowed(R | C, true, R | W), 'its own team: against the most the source may give (by default its protection)');
  assert.ok(cloneAllowed(R, true, R | W, R | W | X), 'its own read-only area, made on read-write memory: up to that');
  assert.not.ok(cloneAllowed(R, true, R | W, R), 'a read-only clone of its own: never more than it got');
  assert.not.ok(cloneAllowed(R | C, false, R | W, R | W | X), 'another team is granted the protection, not the max');
});

test('mapAllowed: shared write needs B_WRITE_AREA, private write is a copy, exec needs B_EXECUTE_AREA', () => {
  assert.ok(mapAllowed(R, PROT_READ, true));
  assert.not.ok(mapAllowed(R, PROT_READ | PROT_WRITE, true));
  assert.ok(mapAllowed(R, PROT_READ | PROT_WRITE, false));
  assert.not.ok(mapAllowed(R, PROT_READ | PROT_EXEC, true));
  assert.not.ok(mapAllowed(R, PROT_READ | PROT_EXEC, false));
  assert.ok(mapAllowed(R | W, PROT_READ | PROT_WRITE, true));
  assert.not.ok(mapAllowed(R | W, PROT_READ | PROT_WRITE | PROT_EXEC, true));
  assert.ok(mapAllowed(R | X, PROT_READ | PROT_EXEC, true));
  assert.ok(mapAllowed(R | W | X | C, PROT_READ | PROT_WRITE | PROT_EXEC, true));
});

test('protectionName', () => {
  assert.is(protectionName(R | W | C), 'R|W|CLONEABLE');
  assert.is(protectionName(0), '0');
  assert.is(protectionName(R | 0x40), 'R|0x40');
});

test('walk: follows cookies to the end status, and stops a walk that never ends', () => {
  const areas = [3, 7, 9];
  const next = (cookie: number) => {
    const a = areas.find((id) => id > cookie);
    return a === undefined ? { status: -2, cookie } : { status: 0, cookie: a, info: { area: a } };
  };
  assert.equal(walk(next), { infos: [{ area: 3 }, { area: 7 }, { area: 9 }], end: -2, cookiesOk: true, endless: false });
  const stuck = walk(() => ({ status: 0, cookie: 5, info: { area: 5 } }), 10);
  assert.ok(stuck.endless);
  assert.is(stuck.infos.length, 2);
  const badCookie = walk((cookie) => (cookie === 0 ? { status: 0, cookie: 4, info: { area: 3 } } : { status: -2, cookie }));
  assert.not.ok(badCookie.cookiesOk);
  assert.equal(walk(() => ({ status: -3, cookie: 0 })), { infos: [], end: -3, cookiesOk: true, endless: false });
});

test('area ioctls: magic A, IOWR, the sizes of NEXUS-ABI.md', () => {
  const sizes = Object.values(AREA_IOCTLS).map((cmd) => (cmd >>> 16) & 0x3fff);
  assert.equal(sizes, [64, 64, 8, 56, 64, 24, 12, 20, 72]);
  for (const [i, cmd] of Object.values(AREA_IOCTLS).entries()) {
    assert.is(cmd >>> 30, 3, 'read-write');
    assert.is((cmd >>> 8) & 0xff, 0x41, "magic 'A'");
    assert.is(cmd & 0xff, i + 1, 'numbered 1..9');
  }
});

test('GET_INFO by hand: the id goes in, the fields come out', () => {
  const b = getInfoRequest(42);
  assert.is(b.length, 64);
  assert.is(b.readInt32LE(0), 42);
  b.write('some-name\0', 4, 'latin1');
  b.writeBigUInt64LE(8192n, 40);
  b.writeUInt32LE(2, 48);
  b.writeUInt32LE(R | W | C, 52);
  b.writeInt32LE(1234, 56);
  b.writeInt32LE(-22, 60);
  assert.equal(parseGetInfo(b), { name: 'some-name', size: 8192, lock: 2, protection: R | W | C, team: 1234, ret: -22 });
  const full = getInfoRequest(1);
  full.fill(0x78, 4, 36);
  assert.is(parseGetInfo(full).name, 'x'.repeat(32), 'a name without NUL is read to its 32 bytes');
});

test('CREATE by hand: fd, name cut to 31 bytes, size, lock, protection; area and ret come back', () => {
  const b = createRequest(7, 'x'.repeat(40), 8192, 2, R | W | C);
  assert.is(b.length, 64);
  assert.is(b.readInt32LE(0), 7);
  assert.is(b.subarray(4, 36).toString('latin1'), `${'x'.repeat(31)}\0`);
  assert.is(b.readBigUInt64LE(40), 8192n);
  assert.equal([b.readUInt32LE(48), b.readUInt32LE(52)], [2, R | W | C]);
  assert.equal(parseCreate(b), { area: 0, ret: 0 });
  b.writeInt32LE(99, 56);
  b.writeInt32LE(-22, 60);
  assert.equal(parseCreate(b), { area: 99, ret: -22 });
});

test.run();
