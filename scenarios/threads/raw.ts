// threads: requests libnexus never sends, built by hand (x86-64 layouts of
// kernel/include/nexus.h) and sent with a raw ioctl: request structs at an
// unmapped address, message buffers and names that point nowhere.  The
// kernel must answer each with -EFAULT or B_BAD_ADDRESS, queue nothing and
// rename nothing.
import { nx } from '../native/index.js';
import { readCounters, tells } from '../lib/guest.js';
import { B_BAD_ADDRESS, B_OK, B_RELATIVE_TIMEOUT, need } from '../lib/nexus.js';
import { BAD_POINTER, KERNEL_POINTER, call, cstring, field, request } from '../lib/raw.js';
import type { Scenario } from '../runner/api.js';
import { tx } from './api.js';
import { EFAULT, expectStatus, scenario, statusName } from './common.js';
import { THREAD_IOCTLS, THREAD_LAYOUTS } from './model.js';

export const rawScenarios: Scenario[] = [
  scenario('bad-user-pointers', (ctx, base) => {
    const fd = nx.fd();
    const me = nx.gettid();
    const I = THREAD_IOCTLS;
    for (const [what, cmd] of Object.entries(I)) {
      const r = nx.rawIoctl(fd, cmd, BAD_POINTER);
      ctx.equal([r.rc, r.errno], [-1, EFAULT], `${what} with an unmapped request struct: the ioctl fails with EFAULT`);
    }

    const L = THREAD_LAYOUTS.thread_rw;
    const noWait = { flags: B_RELATIVE_TIMEOUT, timeout: 0 };
    for (const [what, ptr] of [['an unmapped', BAD_POINTER], ['a kernel', KERNEL_POINTER]] as const) {
      const r = call(fd, I.NEXUS_THREAD_WRITE, L, { receiver: me, buffer: ptr, size: 8, return_code: 1, ...noWait });
      ctx.equal(r.errno, 0, `send_data from ${what} buffer: the ioctl itself succeeds`);
      expectStatus(ctx, r.ret, B_BAD_ADDRESS, `send_data from ${what} buffer`);
    }
    ctx.check(!tx.hasData(me), 'refused sends queue nothing', false, true);
    if (tells(ctx, base, 'thread_messages')) ctx.equal(readCounters().thread_messages, base.thread_messages, 'thread_messages after the refused sends');

    const data = Buffer.from('12345678');
    let r = call(fd, I.NEXUS_THREAD_WRITE, L, { receiver: me, buffer: data, size: 8, return_code: 77, ...noWait });
    expectStatus(ctx, r.ret, B_OK, 'send_data of a good request built by hand (to ourselves)');
    need(ctx, tx.hasData(me), 'the message is in our mailbox');
    r = call(fd, I.NEXUS_THREAD_READ, L, { buffer: BAD_POINTER, size: 8, ...noWait });
    expectStatus(ctx, r.ret, B_BAD_ADDRESS, 'receive_data into an unmapped buffer');
    // Whether the message was consumed is not specified (ports: consumed);
    // the scenario's end drains the mailbox either way.
    const out = Buffer.alloc(8);
    if (tx.hasData(me)) {
      r = call(fd, I.NEXUS_THREAD_READ, L, { buffer: out, size: 8, ...noWait });
      ctx.equal([field(L, r.req, 'ret'), field(L, r.req, 'return_code'), out.toString()], [B_OK, 77, '12345678'],
        'a message left by a refused receive is intact');
    }

    const info = Buffer.alloc(THREAD_LAYOUTS.thread_info.size);
    info.writeInt32LE(me, 0);
    const ri = nx.rawIoctl(fd, I.NEXUS_THREAD_GET_INFO, info);
    ctx.equal(ri.errno, 0, 'get_thread_info built by hand');
    expectStatus(ctx, field(THREAD_LAYOUTS.thread_info, info, 'ret'), B_OK, 'get_thread_info built by hand: ret');
    const nameBefore = info.subarray(8, 40).toString('latin1').replace(/\0.*$/s, '');

    for (const [what, ptr] of [['an unmapped', BAD_POINTER], ['a kernel', KERNEL_POINTER]] as const) {
      const req = request(THREAD_LAYOUTS.thread_set_name, { name: ptr, size: 32 });
      const rr = nx.rawIoctl(fd, I.NEXUS_THREAD_SET_NAME, req);
      // SET_NAME (IOW) has no ret field: the status is the ioctl's result.
      ctx.check(rr.rc < 0 || rr.rc === B_BAD_ADDRESS, `rename_thread from ${what} name pointer fails`,
        '-1/EFAULT or B_BAD_ADDRESS', `rc ${statusName(rr.rc)}, errno ${rr.errno}`);
    }
    const again = Buffer.alloc(THREAD_LAYOUTS.thread_info.size);
    again.writeInt32LE(me, 0);
    nx.rawIoctl(fd, I.NEXUS_THREAD_GET_INFO, again);
    ctx.equal(again.subarray(8, 40).toString('latin1').replace(/\0.*$/s, ''), nameBefore, 'a refused rename changes no name');

    // A name with a size shorter than the string: at most size bytes are read.
    const name = cstring('abcdefgh');
    const rr = nx.rawIoctl(fd, I.NEXUS_THREAD_SET_NAME, request(THREAD_LAYOUTS.thread_set_name, { name, size: 3 }));
    ctx.check(rr.rc >= 0, 'rename_thread("abcdefgh", size 3) succeeds', '>= 0', `rc ${statusName(rr.rc)}, errno ${rr.errno}`);
    ctx.defer(() => {
      const back = cstring(nameBefore);
      nx.rawIoctl(fd, I.NEXUS_THREAD_SET_NAME, request(THREAD_LAYOUTS.thread_set_name, { name: back, size: back.length }));
    });
    ctx.equal(tx.getThreadInfo(me).info?.name, 'abc', 'a name given with size 3 is kept as "abc"');
  }),
];
