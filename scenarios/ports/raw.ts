// ports: what libnexus never sends, built by hand and sent with a raw
// ioctl - bad user pointers inside requests, name sizes shorter than the
// name, a message-info size below the struct's, a bad struct pointer, an
// unknown command.  The kernel must answer each with the documented status
// and leave nothing behind.
import { nx, NEXUS_PORT_CREATE, NEXUS_PORT_FIND, NEXUS_PORT_INFO, NEXUS_PORT_MESSAGE_INFO, NEXUS_PORT_READ, NEXUS_PORT_WRITE, NEXUS_SEM_ACQUIRE, NEXUS_SEM_CREATE } from '../native/index.js';
import { readCounters, tells } from '../lib/guest.js';
import { B_BAD_ADDRESS, B_BAD_VALUE, B_OK, B_RELATIVE_TIMEOUT, expectStatus, need, newPort, scenario } from '../lib/nexus.js';
import { BAD_POINTER, call, cstring, field, KERNEL_POINTER, LAYOUTS } from '../lib/raw.js';
import type { Scenario } from '../runner/api.js';

const EFAULT = 14;
const ENOTTY = 25;

/** _IOWR(magic, nr, size) */
const iowr = (magic: string, nr: number, size: number) => ((3 << 30) | (size << 16) | (magic.charCodeAt(0) << 8) | nr) >>> 0;

export const rawScenarios: Scenario[] = [
  scenario('bad-user-pointers', (ctx, base) => {
    const fd = nx.fd();
    for (const [what, ptr] of [['an unmapped', BAD_POINTER], ['a kernel', KERNEL_POINTER]] as const) {
      let r = call(fd, NEXUS_PORT_CREATE, LAYOUTS.port_create, { name: ptr, size: 32, capacity: 1 });
      ctx.equal(r.errno, 0, `create_port with ${what} name pointer: the ioctl itself succeeds`);
      expectStatus(ctx, r.ret, B_BAD_ADDRESS, `create_port with ${what} name pointer`);

      r = call(fd, NEXUS_PORT_FIND, LAYOUTS.port_find, { name: ptr, size: 32 });
      expectStatus(ctx, r.ret, B_BAD_ADDRESS, `find_port with ${what} name pointer`);

      r = call(fd, NEXUS_SEM_CREATE, LAYOUTS.sem_create, { name: ptr, count: 1 });
      expectStatus(ctx, r.ret, B_BAD_ADDRESS, `create_sem with ${what} name pointer`);
    }
    const now = readCounters();
    ctx.equal([now.ports, now.sems], [base.ports, base.sems], 'refused creates leave no port or semaphore');

    const port = newPort(ctx, 4, 'raw-pointers');
    const code = Buffer.alloc(4);
    code.writeInt32LE(7);
    const data = Buffer.from('12345678');
    const noWait = { flags: B_RELATIVE_TIMEOUT, timeout: 0 };
    let r = call(fd, NEXUS_PORT_WRITE, LAYOUTS.port_io, { id: port, code, buffer: BAD_POINTER, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'write_port from an unmapped buffer');
    r = call(fd, NEXUS_PORT_WRITE, LAYOUTS.port_io, { id: port, code: BAD_POINTER, buffer: data, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'write_port with an unmapped code pointer');
    r = call(fd, NEXUS_PORT_WRITE, LAYOUTS.port_io, { id: port, code, buffer: 0n, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'write_port with a NULL buffer and a size');
    ctx.equal(readCounters().port_messages, base.port_messages, 'refused writes queue nothing');

    r = call(fd, NEXUS_PORT_WRITE, LAYOUTS.port_io, { id: port, code, buffer: data, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_OK, 'write_port of a good request built by hand');
    r = call(fd, NEXUS_PORT_WRITE, LAYOUTS.port_io, { id: port, code, buffer: data, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_OK, 'a second message');
    ctx.equal(readCounters().port_messages, base.port_messages + 2, 'two messages queued');

    r = call(fd, NEXUS_PORT_INFO, LAYOUTS.port_get_info, { id: port, info: BAD_POINTER });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'get_port_info into an unmapped struct');

    const info = Buffer.alloc(24);
    r = call(fd, NEXUS_PORT_MESSAGE_INFO, LAYOUTS.port_message_info, { id: port, size: 24, info: BAD_POINTER, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'message info into an unmapped struct');
    for (const size of [0, 4, 23]) {
      r = call(fd, NEXUS_PORT_MESSAGE_INFO, LAYOUTS.port_message_info, { id: port, size, info, ...noWait });
      expectStatus(ctx, r.ret, B_BAD_VALUE, `message info with size ${size} (< 24)`);
    }
    r = call(fd, NEXUS_PORT_MESSAGE_INFO, LAYOUTS.port_message_info, { id: port, size: 24, info, ...noWait });
    expectStatus(ctx, r.ret, B_OK, 'message info with the right size');
    ctx.equal(Number(info.readBigUInt64LE(0)), 8, 'message info: size');

    // A read into a bad buffer consumes the message (spec), and says so.
    const out = Buffer.alloc(8);
    r = call(fd, NEXUS_PORT_READ, LAYOUTS.port_io, { id: port, code, buffer: BAD_POINTER, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'read_port into an unmapped buffer');
    ctx.equal(readCounters().port_messages, base.port_messages + 1, 'the message read into a bad buffer is consumed');
    r = call(fd, NEXUS_PORT_READ, LAYOUTS.port_io, { id: port, code: BAD_POINTER, buffer: out, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'read_port with an unmapped code pointer');
    ctx.equal(readCounters().port_messages, base.port_messages, 'and so is the second one');
    if (tells(ctx, base, 'port_bytes')) ctx.equal([readCounters().port_bytes], [base.port_bytes], 'no queued bytes are left');
  }),

  scenario('names-bounded-by-size', (ctx) => {
    const fd = nx.fd();
    // The kernel reads at most min(size, 32) bytes of a name: "abcdef" with
    // size 3 is "abc", and a name without a NUL in its 32 bytes is cut to 31.
    const name = cstring('abcdef');
    for (const [size, kept] of [[3, 'abc'], [1, 'a'], [7, 'abcdef'], [1000, 'abcdef']] as const) {
      const r = call(fd, NEXUS_PORT_CREATE, LAYOUTS.port_create, { name, size, capacity: 1 });
      const id = field(LAYOUTS.port_create, r.req, 'id');
      need(ctx, r.ret === B_OK && id > 0, `create_port("abcdef", size ${size})`, 'an id', r.ret);
      ctx.defer(() => {
        nx.deletePort(id);
      });
      ctx.equal(nx.getPortInfo(id).info?.name, kept, `a name given with size ${size} is kept as ${JSON.stringify(kept)}`);
    }
    const unterminated = Buffer.alloc(64, 'x'.charCodeAt(0));
    const r = call(fd, NEXUS_PORT_CREATE, LAYOUTS.port_create, { name: unterminated, size: 64, capacity: 1 });
    const id = field(LAYOUTS.port_create, r.req, 'id');
    need(ctx, r.ret === B_OK && id > 0, 'create_port with 64 bytes and no NUL', 'an id', r.ret);
    ctx.defer(() => {
      nx.deletePort(id);
    });
    ctx.equal(nx.getPortInfo(id).info?.name, 'x'.repeat(31), 'a name with no NUL in its first 32 bytes is cut to 31 characters');
    const found = call(fd, NEXUS_PORT_FIND, LAYOUTS.port_find, { name, size: 3 });
    ctx.equal(field(LAYOUTS.port_find, found.req, 'ret'), B_OK, 'find_port("abcdef", size 3) reads "abc" and finds it');
  }),

  scenario('ioctl-level-errors', (ctx) => {
    const fd = nx.fd();
    for (const [what, cmd] of [['create_port', NEXUS_PORT_CREATE], ['acquire_sem', NEXUS_SEM_ACQUIRE]] as const) {
      const r = nx.rawIoctl(fd, cmd, BAD_POINTER);
      ctx.equal([r.rc, r.errno], [-1, EFAULT], `${what} with an unmapped request struct: the ioctl fails with EFAULT`);
    }
    for (const [what, cmd] of [
      ["an unknown number of Nexus's magic", iowr('n', 99, 8)],
      ['a known number with the wrong size', iowr('n', 10, 16)],
      ['another magic', iowr('A', 1, 64)],
    ] as const) {
      const r = nx.rawIoctl(fd, cmd, Buffer.alloc(64));
      ctx.equal([r.rc, r.errno], [-1, ENOTTY], `${what}: ENOTTY`);
    }
  }),
];
