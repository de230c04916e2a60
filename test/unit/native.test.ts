// The node binding on the host: it loads, its constants (compiled from
// nexus.h) and those of scenarios/native/index.ts equal the #defines of
// kernel/include/nexus.h, without /dev/nexus (never on the host) every
// call returns the failed open's -errno instead of crashing, and wrong
// arguments (thread programs included) throw before anything is called.
import { existsSync, openSync, closeSync, readFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ROOT } from '../helpers.js';
import * as native from '../../scenarios/native/index.js';

const { nx, nativeConstants } = native;
const exported = native as unknown as Record<string, unknown>;
const ENOENT = 2;
const EBADF = 9;
const EACCES = 13;
const HOST_HAS_NEXUS = existsSync('/dev/nexus');

/** Every object-like #define of nexus.h with a numeric value, evaluated (bigint). */
function headerDefines(): Map<string, bigint> {
  const text = readFileSync(join(ROOT, 'kernel', 'include', 'nexus.h'), 'utf8').replace(/\\\n/g, ' ');
  const out = new Map<string, bigint>();
  for (const m of text.matchAll(/^#define[ \t]+(\w+)[ \t]+(.+)$/gm)) {
    const [, name, raw] = m as unknown as [string, string, string];
    const expr = raw.replace(/\/\*.*?\*\//g, '').trim();
    // Macros with arguments (_IOWR...) and strings are not plain numbers.
    if (expr === '' || /["']|_IO/.test(expr)) continue;
    const js = expr
      .replace(/\b(0x[0-9a-fA-F]+|\d+)(?:[uU]?[lL]{0,2}|[lL]{1,2}[uU]?)\b/g, '$1n')
      .replace(/\b([A-Za-z_]\w*)\b/g, (id) => {
        const v = out.get(id);
        if (v === undefined) throw new Error(`${name}: unknown name ${id} in ${expr}`);
        return `(${v}n)`;
      });
    if (!/^[\s\d()+\-*xa-fA-Fn]+$/.test(js)) throw new Error(`${name}: cannot evaluate ${expr}`);
    out.set(name, Function(`return (${js});`)() as bigint);
  }
  return out;
}

const defines = headerDefines();

test('nexus.h parses to the values NEXUS-ABI.md gives', () => {
  assert.is(defines.get('B_BAD_PORT_ID'), -2147483648n + 0x2008n);
  assert.is(defines.get('B_INFINITE_TIMEOUT'), 0x7fffffffffffffffn);
  assert.is(defines.get('NEXUS_PORT_MAX_MESSAGE_SIZE'), 262144n);
  assert.ok(defines.size > 30, `${defines.size} defines`);
});

test("the binding's constants and index.ts's equal nexus.h's #defines", () => {
  const skip = new Set(['_UAPI_NEXUS_H', '__user']);
  for (const [name, value] of defines) {
    if (skip.has(name)) continue;
    const want = name === 'B_INFINITE_TIMEOUT' ? value : Number(value);
    assert.is(nativeConstants[name], want, `nexus.node constants.${name}`);
    assert.is(exported[name], want, `index.ts ${name}`);
  }
  assert.is(native.B_INFINITE_TIMEOUT, 0x7fffffffffffffffn);
  assert.is(native.PORT_MAX_CAPACITY, 4096);
  assert.is(native.PORT_MAX_MESSAGE_SIZE, 262144);
  assert.is(native.B_OS_NAME_LENGTH, 32);
  assert.is(nativeConstants.NEXUS_DEVICE_PATH, native.NEXUS_DEVICE_PATH);
});

test("libnexus's constants (priorities, address specs), mman's PROT_* and fcntl's O_* agree with index.ts", () => {
  const names = Object.keys(nativeConstants).filter((n) => /_PRIORITY$|_ADDRESS$|^PROT_|^O_|^B_PAGE_SIZE$/.test(n));
  assert.ok(names.length >= 35, names.join(' '));
  for (const n of names) assert.is(exported[n], nativeConstants[n], n);
  assert.is(native.B_NORMAL_PRIORITY, 10);
  assert.is(native.B_ANY_ADDRESS, 0);
});

test("index.ts's ioctl numbers equal the binding's (compiled from nexus.h's _IO* macros)", () => {
  const names = Object.keys(nativeConstants).filter(
    (n) => /^NEXUS_(PORT|GET|SET|SEM|THREAD|AREA|VREF|START|STOP|WATCH)_/.test(n) && !/_MAX_|_FLAGS$/.test(n),
  );
  assert.ok(names.length >= 47, names.join(' '));
  for (const n of names) assert.is(exported[n], nativeConstants[n], n);
  assert.is(native.NEXUS_PORT_CREATE, 0xc0206e0a);
  assert.is(native.NEXUS_THREAD_GET_INFO, 0xc0306e18);
  // Areas have their own device and magic, 'A'.
  assert.is(native.NEXUS_AREA_IOCTL_MAGIC, 0x41);
  assert.is(native.NEXUS_IOCTL_MAGIC, 0x6e);
  assert.is(native.NEXUS_AREA_CREATE, 0xc0404101);
  assert.is(native.NEXUS_AREA_GET_NEXT, 0xc0484109);
  assert.is(nativeConstants.NEXUS_AREA_DEVICE_PATH, native.NEXUS_AREA_DEVICE_PATH);
  // Vrefs ('V') and watches ('H') on /dev/nexus_node_monitor; the watch requests are _IOW.
  assert.is(native.NEXUS_VREF_CREATE, 0xc0105606);
  assert.is(native.NEXUS_VREF_OPEN, 0xc0185609);
  assert.is(native.NEXUS_START_WATCHING, 0x40184801);
  assert.is(native.NEXUS_STOP_NOTIFYING, 0x40084803);
  assert.is(nativeConstants.NEXUS_NODE_MONITOR_DEVICE_PATH, native.NEXUS_NODE_MONITOR_DEVICE_PATH);
});

test('without /dev/nexus every call returns the failed open: -ENOENT', async () => {
  // Nexus modules are loaded only in guests, never on the machine that runs the tests.
  assert.not.ok(HOST_HAS_NEXUS, 'this host has no /dev/nexus');
  const e = -ENOENT;
  assert.is(nx.fd(), e);
  assert.is(nx.createPort(4, 'p'), e);
  assert.is(nx.createPort(4, null), e);
  assert.is(nx.findPort('p'), e);
  assert.is(nx.closePort(1), e);
  assert.is(nx.deletePort(1), e);
  assert.is(nx.writePort(1, 7, Buffer.from('x')), e);
  assert.is(nx.writePortEtc(1, 7, new Uint8Array(0), native.B_RELATIVE_TIMEOUT, 0), e);
  assert.equal(nx.readPort(1, 16), { status: e, code: 0, data: Buffer.alloc(0) });
  assert.equal(nx.readPortEtc(1, 0, native.B_RELATIVE_TIMEOUT, 10n), { status: e, code: 0, data: Buffer.alloc(0) });
  assert.is(nx.portBufferSize(1), e);
  assert.is(nx.portBufferSizeEtc(1, native.B_ABSOLUTE_TIMEOUT, Infinity), e);
  assert.is(nx.portCount(1), e);
  assert.equal(nx.getPortInfo(1), { status: e });
  assert.equal(nx.getNextPortInfo(0, 5), { status: e, cookie: 5 });
  assert.is(nx.setPortOwner(1, 1), e);
  assert.equal(nx.getPortMessageInfoEtc(1, 0, 0), { status: e });
  assert.is(nx.createSem(0, 's'), e);
  assert.is(nx.deleteSem(1), e);
  assert.is(nx.acquireSem(1), e);
  assert.is(nx.acquireSemEtc(1, 2, native.B_RELATIVE_TIMEOUT, native.B_INFINITE_TIMEOUT), e);
  assert.is(nx.releaseSem(1), e);
  assert.is(nx.releaseSemEtc(1, 1, native.B_RELEASE_ALL), e);
  assert.equal(nx.getSemCount(1), { status: e, count: 0 });
  assert.equal(nx.getSemInfo(1), { status: e });
  assert.equal(nx.getNextSemInfo(0, 0), { status: e, cookie: 0 });
  // The async variants settle with the same results.
  assert.is(await nx.writePortEtcAsync(1, 7, Buffer.from('abc'), 0, Infinity), e);
  assert.equal(await nx.readPortEtcAsync(1, 8, 0, 0), { status: e, code: 0, data: Buffer.alloc(0) });
  assert.is(await nx.portBufferSizeEtcAsync(1, 0, 0), e);
  assert.equal(await nx.getPortMessageInfoEtcAsync(1, 0, 0), { status: e });
  assert.is(await nx.acquireSemEtcAsync(1, 1, 0, -1), e);
});

test('without /dev/nexus the thread and area calls return -ENOENT too', async () => {
  assert.not.ok(HOST_HAS_NEXUS, 'this host has no /dev/nexus');
  const e = -ENOENT;
  const none = { status: e, sender: 0, data: Buffer.alloc(0) };
  assert.is(nx.spawnThread('t', [{ op: 'return', code: 7 }]), e);
  assert.is(nx.spawnThread(null, []), e);
  assert.is(nx.resumeThread(1), e);
  assert.equal(nx.waitForThread(1), { status: e, code: 0 });
  assert.equal(nx.waitForThreadEtc(1, native.B_RELATIVE_TIMEOUT, 0), { status: e, code: 0 });
  assert.is(nx.sendData(1, 2, Buffer.from('x')), e);
  assert.is(nx.sendDataEtc(1, 2, new Uint8Array(0), native.B_RELATIVE_TIMEOUT, 0n), e);
  assert.equal(nx.receiveData(16), none);
  assert.equal(nx.receiveDataEtc(0, native.B_RELATIVE_TIMEOUT, 0), none);
  assert.is(nx.hasData(1), false);
  assert.equal(nx.getThreadInfo(0), { status: e });
  assert.is(nx.threadReport(1), null, 'no record: 1 was never spawned here');
  assert.is(nx.findThread(null), process.pid, 'null: the calling (main) thread');
  assert.is(nx.areaFd(), e);
  assert.is(nx.createArea('a', 4096, native.B_NO_LOCK, native.B_READ_AREA | native.B_WRITE_AREA), e);
  assert.is(nx.cloneArea('c', 1, native.B_READ_AREA), e);
  assert.is(nx.deleteArea(1), e);
  assert.is(nx.findArea('a'), e);
  assert.is(nx.resizeArea(1, 8192), e);
  assert.is(nx.setAreaProtection(1, native.B_READ_AREA), e);
  assert.is(nx.transferArea(1, 1), e);
  assert.equal(nx.getAreaInfo(1), { status: e });
  assert.equal(nx.getNextAreaInfo(0, 3), { status: e, cookie: 3 });
  assert.equal(nx.areaRead(1, 0, 16), { status: e, data: Buffer.alloc(0) });
  assert.is(nx.areaWrite(1, 0, Buffer.from('x')), e);
  assert.is(nx.areaMprotect(1, native.PROT_READ), e);
  assert.equal(nx.rawAreaClone(1, 'c', native.B_READ_AREA), { rc: e, errno: ENOENT, ret: 0, area: 0, fd: 0, size: 0 });
  assert.equal(await nx.waitForThreadEtcAsync(1, 0, 0), { status: e, code: 0 });
  assert.is(await nx.sendDataEtcAsync(1, 2, Buffer.from('abc'), 0, Infinity), e);
});

test('without /dev/nexus_node_monitor the vref, caps and watch calls return -ENOENT too', async () => {
  assert.not.ok(existsSync('/dev/nexus_node_monitor'), 'this host has no /dev/nexus_node_monitor');
  const e = -ENOENT;
  const noRead = { status: e, code: 0, data: Buffer.alloc(0), size: 0, capsCount: 0, caps: [] };
  assert.is(nx.nodeMonitorFd(), e);
  assert.equal(nx.vrefCreate(0), { status: e, id: 0, key: 0n });
  assert.equal(nx.vrefAcquire(1, 2n ** 64n - 1n), { status: e, key: 0n });
  assert.is(nx.vrefRelease(1, 5n), e);
  assert.equal(nx.vrefOpen(1, 5n, native.O_RDONLY | native.O_CLOEXEC), { status: e, fd: -1 });
  assert.is(nx.writePortCaps(1, 2, Buffer.from('ab'), [{ vrefId: 3 }, { vrefId: 4, offset: 1, kind: 9 }]), e);
  assert.is(nx.writePortCaps(1, 2, new Uint8Array(0), [], native.B_RELATIVE_TIMEOUT, 0n), e);
  assert.equal(nx.readPortCaps(1, 16, 2), noRead);
  assert.equal(nx.readPortCaps(1, 0, 0, native.B_RELATIVE_TIMEOUT, 0), noRead);
  assert.equal(await nx.readPortCapsAsync(1, 16, 4, native.B_RELATIVE_TIMEOUT, Infinity), noRead);
  assert.is(nx.startWatching(0, native.B_WATCH_NAME, 1, 7), e);
  assert.is(nx.startWatching(-1, native.B_WATCH_MOUNT, 1, 0xffffffff, 0), e);
  assert.is(nx.startWatching(-1, native.B_WATCH_STAT, 1, -1, 5), e);
  assert.is(nx.stopWatching(-1, 2n ** 64n - 1n, 1, 7), e);
  assert.is(nx.stopWatching(2049, 12, 1, 7), e);
  assert.is(nx.stopNotifying(1, 7), e);
  // Wrong types throw before anything is called.
  assert.throws(() => nx.vrefAcquire(1, 5 as unknown as bigint), TypeError);
  assert.throws(() => nx.vrefOpen(1, 5n, -1), TypeError);
  assert.throws(() => nx.writePortCaps(1, 2, Buffer.alloc(0), [{ offset: 1 } as native.PortCapIn]), TypeError);
  assert.throws(() => nx.writePortCaps(1, 2, Buffer.alloc(0), [3 as unknown as native.PortCapIn]), TypeError);
  assert.throws(() => nx.writePortCaps(1, 2, Buffer.alloc(0), {} as native.PortCapIn[]), TypeError);
  assert.throws(() => nx.readPortCaps(1, 16, -1), TypeError);
  assert.throws(() => nx.startWatching(0, 1, 1, 2 ** 32), TypeError);
  assert.throws(() => nx.stopWatching(-2, 0, 1, 1), TypeError);
});

test('thread programs are checked before anything is spawned', () => {
  const program: native.ThreadOp[] = [
    { op: 'receive', bufSize: 64 },
    { op: 'receive', bufSize: 0, flags: native.B_RELATIVE_TIMEOUT, timeout: 1000 },
    { op: 'send', target: 1, code: -5, hex: '00ff', flags: 0 },
    { op: 'send', target: 1, code: 2, hex: '', timeout: native.B_INFINITE_TIMEOUT },
    { op: 'wait', target: 1 },
    { op: 'wait', target: 1, flags: native.B_ABSOLUTE_TIMEOUT, timeout: 5n },
    { op: 'sleep', us: 10 },
    { op: 'return', code: 3 },
    { op: 'exit', code: 4 },
    { op: 'pthread_exit' },
  ];
  assert.is(nx.spawnThread('ok', program), -ENOENT, 'a good program gets as far as spawn_thread');
  const bad: unknown[] = [
    'not an array',
    [{ op: 'jump' }],
    [{ bufSize: 1 }],
    [null],
    [{ op: 'receive' }],
    [{ op: 'receive', bufSize: -1 }],
    [{ op: 'receive', bufSize: 8, flags: -1 }],
    [{ op: 'receive', bufSize: 8, timeout: NaN }],
    [{ op: 'send', target: 1, code: 1, hex: 'abc' }],
    [{ op: 'send', target: 1, code: 1, hex: 'zz' }],
    [{ op: 'send', target: 1, code: 1 }],
    [{ op: 'send', code: 1, hex: '' }],
    [{ op: 'wait' }],
    [{ op: 'sleep', us: 1.5 }],
    [{ op: 'return' }],
    [{ op: 'exit', code: 2 ** 31 }],
    Array.from({ length: 257 }, () => ({ op: 'sleep', us: 0 })),
  ];
  for (const p of bad) assert.throws(() => nx.spawnThread('bad', p as native.ThreadOp[]), TypeError, JSON.stringify(p));
  assert.throws(() => nx.spawnThread(5 as unknown as string, []), TypeError);
  assert.throws(() => nx.receiveData(-1), TypeError);
  assert.throws(() => nx.waitForThreadEtc(1, 0, 'x' as unknown as number), TypeError);
  assert.throws(() => nx.sendDataEtcAsync(1, 1, 'x' as unknown as Uint8Array, 0, 0), TypeError);
  assert.throws(() => nx.createArea('a', -4096, 0, 0), TypeError);
  assert.throws(() => nx.areaRead(1, 0, 2 ** 40), TypeError);
  assert.throws(() => nx.mmapFd(0, 4096, native.PROT_READ, 1 as unknown as boolean), TypeError);
});

test('mmapFd reports what mmap and mprotect refuse; closeFd closes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-native-'));
  const path = join(dir, 'page');
  writeFileSync(path, Buffer.alloc(4096));
  const fd = openSync(path, 'r');
  try {
    const { PROT_READ, PROT_WRITE } = native;
    assert.equal(nx.mmapFd(fd, 4096, PROT_READ, true), { errno: 0 });
    assert.equal(nx.mmapFd(fd, 4096, PROT_READ | PROT_WRITE, true), { errno: EACCES }, 'shared writable needs a writable fd');
    assert.equal(nx.mmapFd(fd, 4096, PROT_READ | PROT_WRITE, false), { errno: 0 }, 'private copy-on-write is fine');
    assert.equal(nx.mmapFd(fd, 4096, PROT_READ, true, PROT_READ | PROT_WRITE), { errno: 0, mprotectErrno: EACCES });
    assert.equal(nx.mmapFd(fd, 4096, PROT_READ, true, PROT_READ), { errno: 0, mprotectErrno: 0 });
    assert.equal(nx.mmapFd(-1, 4096, PROT_READ, true, PROT_READ), { errno: EBADF }, 'no mprotect when mmap failed');
    assert.is(nx.closeFd(fd), 0);
    assert.is(nx.closeFd(fd), -EBADF);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('many async calls at once all settle', async () => {
  assert.not.ok(HOST_HAS_NEXUS, 'this host has no /dev/nexus');
  const rs = await Promise.all(Array.from({ length: 64 }, (_, i) => nx.acquireSemEtcAsync(i + 1, 1, 0, 0)));
  assert.ok(rs.every((r) => r === -ENOENT));
});

test('wrong argument types throw TypeError; timeouts take numbers and bigints', () => {
  assert.throws(() => nx.createPort('4' as unknown as number, 'p'), TypeError);
  assert.throws(() => nx.createPort(1.5, 'p'), TypeError);
  assert.throws(() => nx.createPort(2 ** 31, 'p'), TypeError);
  assert.throws(() => nx.createPort(4, 5 as unknown as string), TypeError);
  assert.throws(() => nx.writePort(1, 1, 'text' as unknown as Uint8Array), TypeError);
  assert.throws(() => nx.readPortEtc(1, -1, 0, 0), TypeError);
  assert.throws(() => nx.readPortEtc(1, 1, 0, NaN), TypeError);
  assert.throws(() => nx.readPortEtc(1, 1, -1, 0), TypeError);
  assert.throws(() => (nx.closePort as () => number)(), TypeError);
  assert.throws(() => nx.writePortEtcAsync(1, 1, Buffer.alloc(1), 0, 'x' as unknown as number), TypeError);
  for (const t of [0, -1, 1.5, 1e30, -1e30, Infinity, -Infinity, 0n, -5n, 2n ** 70n, -(2n ** 70n), native.B_INFINITE_TIMEOUT]) {
    nx.acquireSemEtc(1, 1, native.B_RELATIVE_TIMEOUT, t);
  }
  // Any typed array, DataView or ArrayBuffer is bytes.
  for (const d of [new Uint16Array(3), new DataView(new ArrayBuffer(4)), new ArrayBuffer(2), Buffer.from('z')]) {
    nx.writePort(1, 0, d);
  }
});

test('systemTime is CLOCK_MONOTONIC in microseconds; gettid is the main thread', () => {
  const a = nx.systemTime();
  const hr = process.hrtime.bigint() / 1000n;
  const b = nx.systemTime();
  assert.is(typeof a, 'bigint');
  assert.ok(b >= a);
  assert.ok(hr >= a - 1000n && hr <= b + 1000n, `${a} <= ${hr} <= ${b}`);
  assert.is(nx.gettid(), process.pid);
});

test('rawIoctlPortCreate reports the errno of the ioctl', () => {
  assert.equal(nx.rawIoctlPortCreate(-1, 1, 'x'), { errno: 9, ret: 0, id: 0 }); // EBADF
  const fd = openSync('/dev/null', 'r');
  try {
    assert.is(nx.rawIoctlPortCreate(fd, 1, null).errno, 25); // ENOTTY
  } finally {
    closeSync(fd);
  }
});

test.run();
