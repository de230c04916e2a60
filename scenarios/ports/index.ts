// ports: every port ioctl against the rules of NEXUS-ABI.md and the issue 3
// "Semantics decisions": limits and their edges, truncating reads, codes and
// sender identity, FIFO among blocked readers and writers, wakeups by write,
// read, close, delete and owner death, every kind of timeout, signals, info
// and iteration.  Every scenario leaves the Nexus counters as it found them.
import { readFileSync } from 'node:fs';
import type { Ctx, Suite } from '../runner/api.js';
import { nx, type ReadResult } from '../native/index.js';
import { Holder, moduleParamPath, readCounters, waitFor, tells } from '../lib/guest.js';
import { rawScenarios } from './raw.js';
import {
  B_ABSOLUTE_TIMEOUT,
  B_BAD_PORT_ID,
  B_BAD_TEAM_ID,
  B_BAD_VALUE,
  B_INFINITE_TIMEOUT,
  B_INTERRUPTED,
  B_NAME_NOT_FOUND,
  B_NO_MEMORY,
  B_NO_MORE_PORTS,
  B_OK,
  B_RELATIVE_TIMEOUT,
  B_TIMED_OUT,
  B_WOULD_BLOCK,
  LONG_US,
  MAX_PORTS,
  PORT_MAX_CAPACITY,
  PORT_MAX_MESSAGE_SIZE,
  SETTLE_MS,
  agentCall,
  ascending,
  blocked,
  elapsedUs,
  expectBytes,
  expectFields,
  expectId,
  exhaust,
  expectStatus,
  need,
  newPort,
  pattern,
  returned,
  scenario,
  startAgent,
  statusName,
  stillBlocked,
  track,
  type Tracked,
} from '../lib/nexus.js';

const text = (s: string) => Buffer.from(s, 'latin1');
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** A 40-character name, and what the kernel keeps of it (31 characters). */
const LONG_NAME = 'port-name-of-forty-characters-0123456789';
const LONG_NAME_KEPT = LONG_NAME.slice(0, 31);

/** A team id no process has (pid_max is at most 2^22). */
const NO_SUCH_TEAM = 0x3ffffff0;
/** A port id no port has. */
const NO_SUCH_PORT = 0x7ffffff0;

/** A parameter of the tree's modules (nexus.ko's in ours), or undefined on a tree without it. */
function moduleParam(name: string): number | undefined {
  const path = moduleParamPath(name);
  return path ? Number(readFileSync(path, 'utf8').trim()) : undefined;
}

/** Write without ever blocking (relative timeout 0). */
function writeNow(id: number, code: number, data: Uint8Array): number {
  return nx.writePortEtc(id, code, data, B_RELATIVE_TIMEOUT, 0);
}

/** Read without ever blocking (relative timeout 0). */
function readNow(id: number, size: number) {
  return nx.readPortEtc(id, size, B_RELATIVE_TIMEOUT, 0);
}

/** Read expecting a message (code, bytes). */
function expectRead(ctx: Ctx, id: number, size: number, code: number, data: Uint8Array, what: string): void {
  const r = readNow(id, size);
  if (!ctx.check(r.status === data.length, `${what}: read returns the bytes copied`, data.length, statusName(r.status))) return;
  ctx.equal(r.code, code, `${what}: code`);
  expectBytes(ctx, r.data, data, `${what}: data`);
}

function portInfo(ctx: Ctx, id: number, what: string) {
  const r = nx.getPortInfo(id);
  need(ctx, r.status === B_OK && r.info !== undefined, `${what}: get_port_info succeeds`, 'B_OK', statusName(r.status));
  return r.info!;
}

/** Check an agent's port_read answer: {"ret":B_OK,"size":n,"code":c,"hex":...}. */
function expectAgentRead(ctx: Ctx, r: Record<string, any>, code: number, data: Uint8Array, what: string): void {
  ctx.check(typeof r.ret === 'number' && r.ret >= 0, `${what}: the read succeeds`, 'B_OK', statusName(r.ret));
  ctx.equal(r.size, data.length, `${what}: bytes copied`);
  ctx.equal(r.code, code, `${what}: code`);
  ctx.equal(r.hex, hex(data), `${what}: data`);
}

/** All the port ids get_next_port_info returns for `team`, and the status that ended the walk. */
function portsOfTeam(team: number): { ids: number[]; end: number; teams: number[]; cookiesOk: boolean } {
  const ids: number[] = [];
  const teams: number[] = [];
  let cookie = 0;
  let cookiesOk = true;
  for (let i = 0; i <= MAX_PORTS + 1; i++) {
    const r = nx.getNextPortInfo(team, cookie);
    if (r.status !== B_OK) return { ids, end: r.status, teams, cookiesOk };
    ids.push(r.info!.port);
    teams.push(r.info!.team);
    if (r.cookie !== r.info!.port) cookiesOk = false;
    cookie = r.cookie;
  }
  return { ids, end: B_OK, teams, cookiesOk };
}

export const suite: Suite = {
  name: 'ports',
  scenarios: [
    scenario('create-capacity-limits', (ctx, base) => {
      for (const cap of [0, -1, PORT_MAX_CAPACITY + 1, 1 << 20])
        expectStatus(ctx, nx.createPort(cap, 'bad-capacity'), B_BAD_VALUE, `create_port with capacity ${cap}`);
      ctx.equal(readCounters().ports, base.ports, 'rejected creates leave no port behind');

      const one = newPort(ctx, 1, 'capacity-1');
      const max = newPort(ctx, PORT_MAX_CAPACITY, 'capacity-4096');
      ctx.check(one !== max, 'two ports have two ids', 'different ids', [one, max]);
      ctx.equal(readCounters().ports, base.ports + 2, 'the ports counter counts live ports');
      ctx.equal(portInfo(ctx, one, 'capacity 1').capacity, 1, 'capacity 1 is kept');
      ctx.equal(portInfo(ctx, max, 'capacity 4096').capacity, PORT_MAX_CAPACITY, 'capacity 4096 is kept');

      // Delete, and ids are not reused right away.
      const tmp = nx.createPort(1, 'short-lived');
      expectId(ctx, tmp, 'create_port(1)');
      expectStatus(ctx, nx.deletePort(tmp), B_OK, 'delete_port');
      expectStatus(ctx, nx.deletePort(tmp), B_BAD_PORT_ID, 'delete_port of a deleted port');
      const again = nx.createPort(1, 'short-lived');
      expectId(ctx, again, 'create_port after a delete');
      ctx.check(again !== tmp, 'a deleted id is not reused right away', `not ${tmp}`, again);
      expectStatus(ctx, nx.deletePort(again), B_OK, 'delete_port');
    }),

    scenario('capacity-1-and-4096', (ctx, base) => {
      const one = newPort(ctx, 1, 'capacity-1');
      expectStatus(ctx, writeNow(one, 1, text('a')), B_OK, 'first write to a capacity-1 port');
      expectStatus(ctx, writeNow(one, 2, text('b')), B_WOULD_BLOCK, 'second write to a full capacity-1 port (timeout 0)');
      ctx.equal(nx.portCount(one), 1, 'the full port holds one message');
      expectRead(ctx, one, 8, 1, text('a'), 'capacity-1 port');
      expectStatus(ctx, writeNow(one, 3, text('c')), B_OK, 'a read makes room again');
      expectRead(ctx, one, 8, 3, text('c'), 'capacity-1 port, second message');

      const max = newPort(ctx, PORT_MAX_CAPACITY, 'capacity-4096');
      let failed = 0;
      let first = B_OK;
      for (let i = 0; i < PORT_MAX_CAPACITY; i++) {
        const st = writeNow(max, i, Uint8Array.of(i & 0xff));
        if (st !== B_OK && failed++ === 0) first = st;
      }
      ctx.check(failed === 0, '4096 writes to a capacity-4096 port succeed', 'all B_OK', `${failed} failed, first ${statusName(first)}`);
      expectStatus(ctx, writeNow(max, -1, text('x')), B_WOULD_BLOCK, 'write number 4097 (timeout 0)');
      ctx.equal(nx.portCount(max), PORT_MAX_CAPACITY, 'port_count of the full port');
      const c = readCounters();
      ctx.equal(c.port_messages, base.port_messages + PORT_MAX_CAPACITY, 'port_messages counts the queued messages');
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes + PORT_MAX_CAPACITY, 'port_bytes counts the queued bytes');
      let wrong = -1;
      for (let i = 0; i < PORT_MAX_CAPACITY; i++) {
        const r = readNow(max, 4);
        if (wrong < 0 && (r.status !== 1 || r.code !== i || r.data[0] !== (i & 0xff))) wrong = i;
      }
      ctx.check(wrong < 0, '4096 messages come back in order', 'codes 0..4095', `first wrong at ${wrong}`);
      ctx.equal(nx.portCount(max), 0, 'the port is empty after 4096 reads');
      ctx.equal(portInfo(ctx, max, 'after 4096 reads').totalCount, PORT_MAX_CAPACITY, 'total_count counts the reads');
    }),

    scenario('names-truncated-and-found', (ctx) => {
      ctx.equal(LONG_NAME.length, 40, 'the long name has 40 characters');
      const id = newPort(ctx, 4, LONG_NAME);
      ctx.equal(portInfo(ctx, id, 'long name').name, LONG_NAME_KEPT, 'a 40-character name is truncated to 31 characters');
      ctx.equal(nx.findPort(LONG_NAME_KEPT), id, 'find_port with the 31-character name finds the port');
      ctx.equal(nx.findPort(LONG_NAME), id, 'find_port truncates the name it looks for the same way');

      const exact = 'exactly-thirty-one-characters!!';
      ctx.equal(exact.length, 31, 'the exact name has 31 characters');
      const e = newPort(ctx, 4, exact);
      ctx.equal(portInfo(ctx, e, 'exact name').name, exact, 'a 31-character name is kept whole');

      const unnamed = newPort(ctx, 4, null);
      ctx.equal(portInfo(ctx, unnamed, 'no name').name, 'unnamed port', 'a NULL name becomes "unnamed port"');

      expectStatus(ctx, nx.findPort('nexus-lab-no-such-port'), B_NAME_NOT_FOUND, 'find_port of a name nobody uses');
    }),

    scenario('find-lowest-id', (ctx) => {
      const name = 'same-name-thrice';
      const ids = [newPort(ctx, 2, name), newPort(ctx, 2, name), newPort(ctx, 2, name)];
      const lowest = Math.min(...ids);
      ctx.equal(nx.findPort(name), lowest, 'find_port returns the lowest id of the ports with that name');
      expectStatus(ctx, nx.closePort(lowest), B_OK, 'close_port');
      ctx.equal(nx.findPort(name), lowest, 'find_port still finds a closed port');
      expectStatus(ctx, nx.deletePort(lowest), B_OK, 'delete_port');
      const rest = ids.filter((i) => i !== lowest);
      ctx.equal(nx.findPort(name), Math.min(...rest), 'after the delete, find_port returns the next lowest id');
    }),

    scenario('message-size-limit', (ctx, base) => {
      const id = newPort(ctx, 2, 'big-messages');
      const big = pattern(PORT_MAX_MESSAGE_SIZE, 3);
      expectStatus(ctx, writeNow(id, 77, big), B_OK, 'a 262144-byte message is accepted');
      let c = readCounters();
      ctx.equal(c.port_messages, base.port_messages + 1, 'port_messages after the big write');
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes + PORT_MAX_MESSAGE_SIZE, 'port_bytes after the big write');
      ctx.equal(nx.portBufferSize(id), PORT_MAX_MESSAGE_SIZE, 'port_buffer_size of the big message');
      expectStatus(ctx, writeNow(id, 78, pattern(PORT_MAX_MESSAGE_SIZE + 1, 4)), B_BAD_VALUE, 'a 262145-byte message');
      ctx.equal(nx.portCount(id), 1, 'the rejected message was not queued');
      if (tells(ctx, base, 'port_bytes')) ctx.equal(readCounters().port_bytes, base.port_bytes + PORT_MAX_MESSAGE_SIZE, 'port_bytes after the rejected write');

      // The size is checked before the queue: a full port still says B_BAD_VALUE.
      expectStatus(ctx, writeNow(id, 79, text('fill')), B_OK, 'second message fills the port');
      expectStatus(ctx, writeNow(id, 80, pattern(PORT_MAX_MESSAGE_SIZE + 1, 5)), B_BAD_VALUE,
        'a 262145-byte message to a full port (Haiku checks the size first)');

      const r = nx.readPortEtc(id, PORT_MAX_MESSAGE_SIZE + 4096, B_RELATIVE_TIMEOUT, 0);
      ctx.equal(r.status, PORT_MAX_MESSAGE_SIZE, 'a larger buffer gets the whole 262144-byte message');
      ctx.equal(r.code, 77, 'code of the big message');
      expectBytes(ctx, r.data, big, 'the big message is read back intact');
      expectRead(ctx, id, 16, 79, text('fill'), 'the message behind the big one');
      c = readCounters();
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes, 'port_bytes after reading everything');
    }),

    scenario('zero-length-messages-and-codes', (ctx, base) => {
      const id = newPort(ctx, 8, 'codes');
      expectStatus(ctx, nx.writePort(id, 5, new Uint8Array(0)), B_OK, 'write_port of a zero-length message');
      const c = readCounters();
      ctx.equal(c.port_messages, base.port_messages + 1, 'a zero-length message is queued');
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes, 'a zero-length message has no bytes');
      ctx.equal(nx.portBufferSize(id), 0, 'port_buffer_size of a zero-length message');
      const r = readNow(id, 16);
      ctx.equal(r.status, 0, 'reading a zero-length message copies 0 bytes');
      ctx.equal(r.code, 5, 'code of the zero-length message');
      ctx.equal(nx.portCount(id), 0, 'the zero-length message was consumed');

      const codes = [-2147483648, -1, 0, 1, 2147483647, 0x4e444d4e];
      codes.forEach((code, i) =>
        expectStatus(ctx, nx.writePort(id, code, Uint8Array.of(i)), B_OK, `write_port with code ${code}`),
      );
      ctx.equal(nx.portCount(id), codes.length, 'port_count counts the queued messages');
      codes.forEach((code, i) => expectRead(ctx, id, 4, code, Uint8Array.of(i), `message with code ${code}`));
    }),

    scenario('truncating-read', (ctx, base) => {
      const id = newPort(ctx, 4, 'truncating');
      expectStatus(ctx, writeNow(id, 1, text('hello, world')), B_OK, 'write 12 bytes');
      expectStatus(ctx, writeNow(id, 2, text('second')), B_OK, 'write 6 bytes');
      expectStatus(ctx, writeNow(id, 3, text('third')), B_OK, 'write 5 bytes');

      expectRead(ctx, id, 5, 1, text('hello'), 'a 5-byte buffer gets the prefix');
      ctx.equal(nx.portCount(id), 2, 'the truncated message was consumed');
      if (tells(ctx, base, 'port_bytes')) ctx.equal(readCounters().port_bytes, base.port_bytes + 11, 'the dropped rest no longer counts in port_bytes');

      const r = readNow(id, 0);
      ctx.equal(r.status, 0, 'a 0-byte buffer copies nothing');
      ctx.equal(r.code, 2, 'but gets the code of the next message');
      ctx.equal(nx.portCount(id), 1, 'and consumes it');

      expectRead(ctx, id, 64, 3, text('third'), 'the next read gets the next message');
      ctx.equal(portInfo(ctx, id, 'after three reads').totalCount, 3, 'total_count counts truncated reads too');
    }),

    scenario('sender-identity', async (ctx) => {
      const id = newPort(ctx, 4, 'sender-identity');
      const a = await startAgent(ctx, { uid: 1000, gid: 1000 });
      need(ctx, a.info?.uid === 1000 && a.info?.gid === 1000, 'the agent runs as uid 1000, gid 1000', { uid: 1000, gid: 1000 },
        { uid: a.info?.uid, gid: a.info?.gid });
      const w = await a.call(`port_write_hex ${id} 42 6e657875 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      expectStatus(ctx, w.ret, B_OK, 'the agent (uid 1000, gid 1000) writes to our port');

      const mi = nx.getPortMessageInfoEtc(id, B_RELATIVE_TIMEOUT, 0);
      expectStatus(ctx, mi.status, B_OK, 'get_port_message_info_etc');
      expectFields(ctx, mi.info, { size: 4, sender: 1000, senderGroup: 1000, senderTeam: a.pid }, "the agent's message");
      ctx.equal(nx.portCount(id), 1, 'message info does not consume the message');

      expectStatus(ctx, writeNow(id, 43, text('abc')), B_OK, 'we write a message too');
      expectRead(ctx, id, 16, 42, text('nexu'), "the agent's message");
      const mine = nx.getPortMessageInfoEtc(id, B_RELATIVE_TIMEOUT, 0);
      expectStatus(ctx, mine.status, B_OK, 'get_port_message_info_etc of our message');
      expectFields(ctx, mine.info,
        { size: 3, sender: process.geteuid!(), senderGroup: process.getegid!(), senderTeam: process.pid }, 'our message');
      expectRead(ctx, id, 16, 43, text('abc'), 'our message');

      // And the other way round: the agent reads what we write to its own
      // port (another user's port takes writes, not reads: hardening suite).
      const own = (await a.call('port_create 4 sender-identity-agent')).ret as number;
      expectId(ctx, own, 'the agent creates a port');
      const data = pattern(10, 9);
      expectStatus(ctx, writeNow(own, 44, data), B_OK, "write to the agent's port");
      const r = await a.call(`port_read ${own} 64 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      expectAgentRead(ctx, r, 44, data, 'the agent reads our message');
    }),

    scenario('fifo-blocked-readers', async (ctx, base) => {
      const id = newPort(ctx, 8, 'fifo-readers');
      const readers: Tracked<ReadResult>[] = [];
      for (let i = 0; i < 3; i++) {
        readers.push(track(nx.readPortEtcAsync(id, 64, B_RELATIVE_TIMEOUT, LONG_US)));
        await blocked(ctx, base.waiters + i + 1, `reader ${i} blocks on the empty port`);
      }
      for (let i = 0; i < 3; i++) expectStatus(ctx, writeNow(id, 100 + i, text(`message ${i}`)), B_OK, `write ${i}`);
      for (let i = 0; i < 3; i++) {
        const r = await returned(ctx, readers[i]!, `reader ${i}`);
        ctx.equal(r.status, 9, `reader ${i} gets 9 bytes`);
        ctx.equal(r.code, 100 + i, `reader ${i} gets message ${i} (FIFO among blocked readers)`);
        ctx.equal(r.data.toString('latin1'), `message ${i}`, `reader ${i}: data`);
      }
      ctx.equal(readCounters().waiters, base.waiters, 'no reader is left waiting');
    }),

    scenario('fifo-blocked-writers', async (ctx, base) => {
      const id = newPort(ctx, 1, 'fifo-writers');
      expectStatus(ctx, writeNow(id, 0, text('message 0')), B_OK, 'fill the capacity-1 port');
      const writers: Tracked<number>[] = [];
      for (let i = 1; i <= 3; i++) {
        writers.push(track(nx.writePortEtcAsync(id, i, text(`message ${i}`), B_RELATIVE_TIMEOUT, LONG_US)));
        await blocked(ctx, base.waiters + i, `writer ${i} blocks on the full port`);
      }
      expectRead(ctx, id, 64, 0, text('message 0'), 'first read');
      await blocked(ctx, base.waiters + 2, 'one read wakes one writer');
      ctx.check(await waitFor(() => writers[0]!.done), 'the read wakes the first blocked writer');
      ctx.check(!writers[1]!.done && !writers[2]!.done, 'the other writers still wait', 'pending', [writers[1]!.done, writers[2]!.done]);
      for (let i = 1; i <= 3; i++) {
        const r = nx.readPortEtc(id, 64, B_RELATIVE_TIMEOUT, SETTLE_MS * 1000);
        ctx.equal(r.code, i, `read ${i} gets writer ${i}'s message (FIFO among blocked writers)`);
        ctx.equal(r.data.toString('latin1'), `message ${i}`, `read ${i}: data`);
      }
      for (let i = 0; i < 3; i++) expectStatus(ctx, await returned(ctx, writers[i]!, `writer ${i + 1}`), B_OK, `writer ${i + 1}`);
    }),

    scenario('cross-team-wakeups', async (ctx, base) => {
      const id = newPort(ctx, 1, 'cross-team');
      const a = await startAgent(ctx);

      // The agent blocks reading; our write wakes it.
      const ar = agentCall(a, `port_read ${id} 64 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await blocked(ctx, base.waiters + 1, "the agent's read blocks");
      expectStatus(ctx, writeNow(id, 7, text('ping')), B_OK, 'our write');
      expectAgentRead(ctx, await returned(ctx, ar, "the agent's read"), 7, text('ping'), 'a write wakes a reader of another team');

      // We block reading; the agent's write wakes us.
      const mr = track(nx.readPortEtcAsync(id, 64, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 1, 'our read blocks');
      expectStatus(ctx, (await a.call(`port_write_hex ${id} 8 706f6e67 ${B_RELATIVE_TIMEOUT} ${LONG_US}`)).ret, B_OK, "the agent's write");
      const r = await returned(ctx, mr, 'our read');
      expectFields(ctx, { status: r.status, code: r.code, data: r.data.toString('latin1') }, { status: 4, code: 8, data: 'pong' },
        "the agent's write wakes our read");

      // The agent blocks writing to the full port; our read wakes it.
      expectStatus(ctx, writeNow(id, 1, text('x')), B_OK, 'fill the port');
      const aw = agentCall(a, `port_write ${id} 9 3 65 ${B_RELATIVE_TIMEOUT} ${LONG_US}`);
      await blocked(ctx, base.waiters + 1, "the agent's write blocks on the full port");
      expectRead(ctx, id, 8, 1, text('x'), 'our read of the full port');
      expectStatus(ctx, (await returned(ctx, aw, "the agent's write")).ret, B_OK, 'a read wakes a writer of another team');
      expectRead(ctx, id, 8, 9, text('AAA'), "the agent's message");
    }),

    scenario('close-semantics', async (ctx, base) => {
      const name = 'closing-port';
      const id = newPort(ctx, 4, name);
      expectStatus(ctx, writeNow(id, 1, text('one')), B_OK, 'write 1');
      expectStatus(ctx, writeNow(id, 2, text('second')), B_OK, 'write 2');
      expectStatus(ctx, nx.closePort(id), B_OK, 'close_port');
      expectStatus(ctx, nx.closePort(id), B_BAD_PORT_ID, 'close_port of a closed port');
      expectStatus(ctx, writeNow(id, 3, text('late')), B_BAD_PORT_ID, 'write to a closed port');
      expectStatus(ctx, nx.writePortEtc(id, 3, text('late'), B_RELATIVE_TIMEOUT, 100_000), B_BAD_PORT_ID,
        'write to a closed port with a timeout');

      const info = portInfo(ctx, id, 'closed port');
      expectFields(ctx, info, { port: id, queueCount: 2, name }, 'a closed port still has its info');
      ctx.equal(nx.findPort(name), id, 'find_port sees a closed port');
      ctx.check(portsOfTeam(0).ids.includes(id), 'get_next_port_info sees a closed port');
      ctx.equal(nx.portBufferSizeEtc(id, B_RELATIVE_TIMEOUT, 0), 3, 'port_buffer_size of the first queued message');
      ctx.equal(readCounters().ports, base.ports + 1, 'a closed port still counts as a port');

      expectRead(ctx, id, 16, 1, text('one'), 'queued message 1 is readable after close');
      expectRead(ctx, id, 16, 2, text('second'), 'queued message 2 is readable after close');
      const t0 = nx.systemTime();
      const r = nx.readPortEtc(id, 16, B_RELATIVE_TIMEOUT, 5_000_000);
      expectStatus(ctx, r.status, B_BAD_PORT_ID, 'read of a closed, empty port');
      const el = elapsedUs(t0);
      ctx.check(el < 4_000_000, 'the read of a closed, empty port does not wait for its 5 s timeout', '< 4 s', `${el} µs`);
      expectStatus(ctx, nx.portBufferSizeEtc(id, B_RELATIVE_TIMEOUT, 100_000), B_BAD_PORT_ID,
        'port_buffer_size of a closed, empty port');

      expectStatus(ctx, nx.deletePort(id), B_OK, 'delete_port of a closed port');
      expectStatus(ctx, nx.getPortInfo(id).status, B_BAD_PORT_ID, 'get_port_info after delete');
      expectStatus(ctx, nx.findPort(name), B_NAME_NOT_FOUND, 'find_port after delete');
    }),

    scenario('close-wakes-blocked', async (ctx, base) => {
      const a = await startAgent(ctx);
      const empty = newPort(ctx, 2, 'close-wakes-readers');
      const full = newPort(ctx, 1, 'close-wakes-writers');
      expectStatus(ctx, writeNow(full, 5, text('queued')), B_OK, 'fill the capacity-1 port');

      const readers = [
        track(nx.readPortEtcAsync(empty, 64, B_RELATIVE_TIMEOUT, LONG_US)),
        track(nx.readPortEtcAsync(empty, 64, 0, 0)),
      ];
      await blocked(ctx, base.waiters + 2, 'two readers block on the empty port');
      const info = track(nx.getPortMessageInfoEtcAsync(empty, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 3, 'a message-info call blocks on the empty port');
      const writers = [
        track(nx.writePortEtcAsync(full, 6, text('w1'), B_RELATIVE_TIMEOUT, LONG_US)),
        track(nx.writePortEtcAsync(full, 7, text('w2'), 0, 0)),
      ];
      await blocked(ctx, base.waiters + 5, 'two writers block on the full port');

      // Another team closes the port: any team may.
      expectStatus(ctx, (await a.call(`port_close ${empty}`)).ret, B_OK, 'the agent closes our empty port');
      for (const [i, r] of readers.entries())
        expectStatus(ctx, (await returned(ctx, r, `reader ${i}`)).status, B_BAD_PORT_ID, `close wakes blocked reader ${i}`);
      expectStatus(ctx, (await returned(ctx, info, 'message info')).status, B_BAD_PORT_ID, 'close wakes a blocked message-info call');
      await blocked(ctx, base.waiters + 2, 'only the writers still wait');
      ctx.check(!writers[0]!.done && !writers[1]!.done, 'the writers of the other port still wait');

      expectStatus(ctx, nx.closePort(full), B_OK, 'close the full port');
      for (const [i, w] of writers.entries())
        expectStatus(ctx, await returned(ctx, w, `writer ${i}`), B_BAD_PORT_ID, `close wakes blocked writer ${i}`);
      ctx.equal(nx.portCount(full), 1, 'the woken writers queued nothing');
      expectRead(ctx, full, 16, 5, text('queued'), 'the message queued before the close');
      expectStatus(ctx, readNow(full, 16).status, B_BAD_PORT_ID, 'then the closed port is empty for good');
      ctx.equal(readCounters().ports, base.ports + 2, 'closed ports live on until deleted');
    }),

    scenario('delete-wakes-blocked-and-frees-queue', async (ctx, base) => {
      const empty = newPort(ctx, 2, 'delete-wakes-readers');
      const full = newPort(ctx, 2, 'delete-wakes-writers');
      expectStatus(ctx, writeNow(full, 5, pattern(1000, 1)), B_OK, 'queue message 1');
      expectStatus(ctx, writeNow(full, 6, pattern(24, 2)), B_OK, 'queue message 2 (port full)');
      let c = readCounters();
      ctx.equal(c.port_messages, base.port_messages + 2, 'port_messages with two queued');
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes + 1024, 'port_bytes with two queued');

      const readers = [
        track(nx.readPortEtcAsync(empty, 64, B_RELATIVE_TIMEOUT, LONG_US)),
        track(nx.readPortEtcAsync(empty, 64, B_RELATIVE_TIMEOUT, LONG_US)),
      ];
      await blocked(ctx, base.waiters + 2, 'two readers block');
      const info = track(nx.portBufferSizeEtcAsync(empty, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 3, 'port_buffer_size_etc blocks');
      const writer = track(nx.writePortEtcAsync(full, 7, text('w'), B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 4, 'a writer blocks');

      expectStatus(ctx, nx.deletePort(empty), B_OK, 'delete the empty port');
      for (const [i, r] of readers.entries())
        expectStatus(ctx, (await returned(ctx, r, `reader ${i}`)).status, B_BAD_PORT_ID, `delete wakes blocked reader ${i}`);
      expectStatus(ctx, await returned(ctx, info, 'port_buffer_size_etc'), B_BAD_PORT_ID, 'delete wakes a blocked port_buffer_size_etc');
      expectStatus(ctx, nx.deletePort(full), B_OK, 'delete the full port');
      expectStatus(ctx, await returned(ctx, writer, 'writer'), B_BAD_PORT_ID, 'delete wakes a blocked writer');
      c = readCounters();
      ctx.equal(c.port_messages, base.port_messages, 'delete frees the queued messages');
      if (tells(ctx, c, 'port_bytes')) ctx.equal(c.port_bytes, base.port_bytes, 'delete frees the queued bytes');
      ctx.equal(c.ports, base.ports, 'both ports are gone');
      ctx.equal(c.waiters, base.waiters, 'nobody waits any more');

      for (const id of [empty, full]) {
        expectStatus(ctx, nx.getPortInfo(id).status, B_BAD_PORT_ID, 'get_port_info of a deleted port');
        expectStatus(ctx, writeNow(id, 1, text('x')), B_BAD_PORT_ID, 'write to a deleted port');
        expectStatus(ctx, readNow(id, 8).status, B_BAD_PORT_ID, 'read of a deleted port');
        expectStatus(ctx, nx.closePort(id), B_BAD_PORT_ID, 'close_port of a deleted port');
        expectStatus(ctx, nx.deletePort(id), B_BAD_PORT_ID, 'delete_port of a deleted port');
      }
    }),

    scenario('owner-kill-wakes-blocked', async (ctx, base) => {
      const a = await startAgent(ctx);
      const pr = (await a.call('port_create 2 owned-by-agent-r')).ret as number;
      const pw = (await a.call('port_create 1 owned-by-agent-w')).ret as number;
      expectId(ctx, pr, "the agent's first port");
      expectId(ctx, pw, "the agent's second port");
      ctx.defer(() => {
        nx.deletePort(pr);
        nx.deletePort(pw);
      });
      ctx.equal(portInfo(ctx, pr, "agent's port").team, a.pid, "the agent's port belongs to the agent's team");
      expectStatus(ctx, writeNow(pw, 1, pattern(100)), B_OK, "fill the agent's capacity-1 port");

      const reader = track(nx.readPortEtcAsync(pr, 64, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 1, "we block reading the agent's port");
      const info = track(nx.getPortMessageInfoEtcAsync(pr, 0, 0));
      await blocked(ctx, base.waiters + 2, "we block in message info on the agent's port");
      const writer = track(nx.writePortEtcAsync(pw, 2, text('w'), 0, 0));
      await blocked(ctx, base.waiters + 3, "we block writing to the agent's full port");
      const c = readCounters();
      ctx.equal(c.teams, base.teams + 1, 'the agent is one more team');
      ctx.equal(c.ports, base.ports + 2, "the agent's ports");

      await a.kill();
      expectStatus(ctx, (await returned(ctx, reader, 'reader')).status, B_BAD_PORT_ID, "kill -9 of the owner wakes a blocked reader");
      expectStatus(ctx, (await returned(ctx, info, 'message info')).status, B_BAD_PORT_ID, 'and a blocked message-info call');
      expectStatus(ctx, await returned(ctx, writer, 'writer'), B_BAD_PORT_ID, 'and a blocked writer');
      await waitFor(() => readCounters().teams === base.teams);
      const after = readCounters();
      ctx.equal(after.teams, base.teams, "the agent's team is gone");
      ctx.equal(after.ports, base.ports, "the agent's ports are gone");
      ctx.equal(after.port_messages, base.port_messages, "the agent's queued messages are gone");
      ctx.equal(after.waiters, base.waiters, 'nobody waits any more');
      expectStatus(ctx, nx.getPortInfo(pr).status, B_BAD_PORT_ID, 'the port id is invalid after its owner died');
    }),

    scenario('read-timeouts', async (ctx, base) => {
      const id = newPort(ctx, 4, 'read-timeouts');
      for (const t of [0, -1, -1_000_000]) {
        expectStatus(ctx, nx.readPortEtc(id, 16, B_RELATIVE_TIMEOUT, t).status, B_WOULD_BLOCK, `read with relative timeout ${t}`);
      }
      expectStatus(ctx, nx.readPortEtc(id, 16, B_ABSOLUTE_TIMEOUT, -1).status, B_WOULD_BLOCK, 'read with a negative absolute timeout');

      let t0 = nx.systemTime();
      expectStatus(ctx, nx.readPortEtc(id, 16, B_RELATIVE_TIMEOUT, 100_000).status, B_TIMED_OUT, 'read with a 100 ms relative timeout');
      let el = elapsedUs(t0);
      ctx.check(el >= 100_000, 'the relative timeout waited at least 100 ms', '>= 100000 µs', el);
      ctx.metric('read-relative-100ms', el, 'us');

      const deadline = nx.systemTime() + 150_000n;
      expectStatus(ctx, nx.readPortEtc(id, 16, B_ABSOLUTE_TIMEOUT, deadline).status, B_TIMED_OUT, 'read with an absolute deadline 150 ms ahead');
      const now = nx.systemTime();
      ctx.check(now >= deadline, 'the absolute timeout returned at the deadline or later', `>= ${deadline}`, String(now));

      for (const past of [nx.systemTime() - 1_000_000n, 0n]) {
        t0 = nx.systemTime();
        expectStatus(ctx, nx.readPortEtc(id, 16, B_ABSOLUTE_TIMEOUT, past).status, B_TIMED_OUT, `read with an absolute deadline in the past (${past})`);
        el = elapsedUs(t0);
        ctx.check(el < 2_000_000, 'a deadline in the past does not wait', '< 2 s', el);
      }

      const info = portInfo(ctx, id, 'after the timeouts');
      expectFields(ctx, info, { queueCount: 0, totalCount: 0 }, 'timed-out reads change nothing');
      ctx.equal(readCounters().waiters, base.waiters, 'timed-out readers do not stay waiters');

      // A message there: no timeout matters.
      expectStatus(ctx, writeNow(id, 1, text('here')), B_OK, 'write');
      expectStatus(ctx, writeNow(id, 2, text('here')), B_OK, 'write');
      ctx.equal(nx.readPortEtc(id, 16, B_RELATIVE_TIMEOUT, 0).status, 4, 'a read that need not block succeeds with timeout 0');
      ctx.equal(nx.readPortEtc(id, 16, B_ABSOLUTE_TIMEOUT, 0n).status, 4, 'a read that need not block succeeds with a past deadline');

      // Infinite: B_INFINITE_TIMEOUT, or no timeout flag at all.
      const inf = track(nx.readPortEtcAsync(id, 16, B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 1, 'a read with B_INFINITE_TIMEOUT blocks');
      const noflag = track(nx.readPortEtcAsync(id, 16, 0, 0));
      await blocked(ctx, base.waiters + 2, 'a read without timeout flag (timeout 0) blocks');
      await stillBlocked(ctx, inf, 'the infinite read', 300);
      ctx.check(!noflag.done, 'the read without a timeout flag is still blocked');
      expectStatus(ctx, writeNow(id, 3, text('wake')), B_OK, 'write');
      expectStatus(ctx, writeNow(id, 4, text('wake')), B_OK, 'write');
      const r1 = await returned(ctx, inf, 'the infinite read');
      const r2 = await returned(ctx, noflag, 'the read without timeout flag');
      expectFields(ctx, r1, { status: 4, code: 3 }, 'the infinite read gets the first message');
      expectFields(ctx, r2, { status: 4, code: 4 }, 'the read without timeout flag gets the second');
    }),

    scenario('write-timeouts', async (ctx, base) => {
      const id = newPort(ctx, 1, 'write-timeouts');
      expectStatus(ctx, writeNow(id, 1, text('full')), B_OK, 'fill the capacity-1 port');
      for (const t of [0, -1, -1_000_000])
        expectStatus(ctx, nx.writePortEtc(id, 9, text('no'), B_RELATIVE_TIMEOUT, t), B_WOULD_BLOCK, `write with relative timeout ${t}`);
      expectStatus(ctx, nx.writePortEtc(id, 9, text('no'), B_ABSOLUTE_TIMEOUT, -1), B_WOULD_BLOCK, 'write with a negative absolute timeout');

      const t0 = nx.systemTime();
      expectStatus(ctx, nx.writePortEtc(id, 9, text('no'), B_RELATIVE_TIMEOUT, 120_000), B_TIMED_OUT, 'write with a 120 ms relative timeout');
      const el = elapsedUs(t0);
      ctx.check(el >= 120_000, 'the relative timeout waited at least 120 ms', '>= 120000 µs', el);

      const deadline = nx.systemTime() + 150_000n;
      expectStatus(ctx, nx.writePortEtc(id, 9, text('no'), B_ABSOLUTE_TIMEOUT, deadline), B_TIMED_OUT, 'write with an absolute deadline 150 ms ahead');
      const now = nx.systemTime();
      ctx.check(now >= deadline, 'the absolute timeout returned at the deadline or later', `>= ${deadline}`, String(now));
      expectStatus(ctx, nx.writePortEtc(id, 9, text('no'), B_ABSOLUTE_TIMEOUT, nx.systemTime() - 1_000_000n), B_TIMED_OUT,
        'write with an absolute deadline in the past');

      ctx.equal(nx.portCount(id), 1, 'timed-out writes queued nothing');
      const c = readCounters();
      ctx.equal(c.port_messages, base.port_messages + 1, 'port_messages after timed-out writes');
      ctx.equal(c.waiters, base.waiters, 'timed-out writers do not stay waiters');

      const inf = track(nx.writePortEtcAsync(id, 2, text('inf'), B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 1, 'a write with B_INFINITE_TIMEOUT blocks');
      const noflag = track(nx.writePortEtcAsync(id, 3, text('noflag'), 0, 0));
      await blocked(ctx, base.waiters + 2, 'a write without timeout flag blocks');
      await stillBlocked(ctx, inf, 'the infinite write', 300);
      expectRead(ctx, id, 16, 1, text('full'), 'the first message');
      expectStatus(ctx, await returned(ctx, inf, 'the infinite write'), B_OK, 'the read wakes the infinite write');
      expectRead(ctx, id, 16, 2, text('inf'), 'the infinite write');
      expectStatus(ctx, await returned(ctx, noflag, 'the write without timeout flag'), B_OK, 'the next read wakes the other write');
      expectRead(ctx, id, 16, 3, text('noflag'), 'the write without timeout flag');
    }),

    scenario('message-info-timeouts', async (ctx, base) => {
      const id = newPort(ctx, 4, 'info-timeouts');
      expectStatus(ctx, nx.getPortMessageInfoEtc(id, B_RELATIVE_TIMEOUT, 0).status, B_WOULD_BLOCK, 'message info, relative timeout 0');
      expectStatus(ctx, nx.portBufferSizeEtc(id, B_RELATIVE_TIMEOUT, -5), B_WOULD_BLOCK, 'port_buffer_size_etc, relative timeout -5');
      const t0 = nx.systemTime();
      expectStatus(ctx, nx.getPortMessageInfoEtc(id, B_RELATIVE_TIMEOUT, 100_000).status, B_TIMED_OUT, 'message info, 100 ms');
      const el = elapsedUs(t0);
      ctx.check(el >= 100_000, 'message info waited at least 100 ms', '>= 100000 µs', el);
      const deadline = nx.systemTime() + 100_000n;
      expectStatus(ctx, nx.portBufferSizeEtc(id, B_ABSOLUTE_TIMEOUT, deadline), B_TIMED_OUT, 'port_buffer_size_etc, absolute deadline ahead');
      ctx.check(nx.systemTime() >= deadline, 'the absolute deadline passed');
      expectStatus(ctx, nx.portBufferSizeEtc(id, B_ABSOLUTE_TIMEOUT, 1n), B_TIMED_OUT, 'port_buffer_size_etc, deadline in the past');

      const waiting = track(nx.getPortMessageInfoEtcAsync(id, B_RELATIVE_TIMEOUT, B_INFINITE_TIMEOUT));
      await blocked(ctx, base.waiters + 1, 'message info with an infinite timeout blocks');
      await stillBlocked(ctx, waiting, 'the infinite message info', 200);
      expectStatus(ctx, writeNow(id, 5, pattern(33)), B_OK, 'write');
      const r = await returned(ctx, waiting, 'message info');
      expectStatus(ctx, r.status, B_OK, 'a write wakes a blocked message-info call');
      expectFields(ctx, r.info, { size: 33, senderTeam: process.pid }, 'message info of the new message');
      ctx.equal(nx.portCount(id), 1, 'message info consumed nothing');
      ctx.equal(nx.portBufferSizeEtc(id, B_RELATIVE_TIMEOUT, 0), 33, 'port_buffer_size_etc with a message there');
    }),

    scenario('message-info-then-reader', async (ctx, base) => {
      // A blocked message-info call ahead of a blocked reader: one write
      // tells the first and gives the message to the second.
      const id = newPort(ctx, 2, 'peek-then-read');
      const peek = track(nx.getPortMessageInfoEtcAsync(id, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 1, 'message info blocks');
      const reader = track(nx.readPortEtcAsync(id, 64, B_RELATIVE_TIMEOUT, LONG_US));
      await blocked(ctx, base.waiters + 2, 'a reader blocks behind it');
      expectStatus(ctx, writeNow(id, 11, text('seen and read')), B_OK, 'write');
      const mi = await returned(ctx, peek, 'message info');
      expectStatus(ctx, mi.status, B_OK, 'the write wakes the message-info call');
      expectFields(ctx, mi.info, { size: 13, senderTeam: process.pid }, 'it describes the message');
      const r = await returned(ctx, reader, 'reader');
      expectFields(ctx, { status: r.status, code: r.code, data: r.data.toString('latin1') },
        { status: 13, code: 11, data: 'seen and read' }, 'the reader behind it gets the message');
      expectFields(ctx, portInfo(ctx, id, 'after'), { queueCount: 0, totalCount: 1 }, 'one message, read once');
    }),

    scenario('interrupted-by-signal', async (ctx, base) => {
      const a = await startAgent(ctx);
      const id = newPort(ctx, 1, 'interrupted');

      const rd = agentCall(a, `port_read ${id} 64 0 inf`);
      await blocked(ctx, base.waiters + 1, "the agent's read blocks");
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, rd, "the agent's read")).ret, B_INTERRUPTED, 'a signal interrupts a blocked read');
      ctx.equal(readCounters().waiters, base.waiters, 'the interrupted reader no longer waits');

      expectStatus(ctx, writeNow(id, 1, text('mine')), B_OK, 'fill the port');
      const wr = agentCall(a, `port_write ${id} 3 4 66 ${B_RELATIVE_TIMEOUT} inf`);
      await blocked(ctx, base.waiters + 1, "the agent's write blocks");
      process.kill(a.pid, 'SIGUSR1');
      expectStatus(ctx, (await returned(ctx, wr, "the agent's write")).ret, B_INTERRUPTED, 'a signal interrupts a blocked write');
      ctx.equal(nx.portCount(id), 1, 'the interrupted write queued nothing');
      expectRead(ctx, id, 16, 1, text('mine'), 'the message queued before');
      expectStatus(ctx, readNow(id, 16).status, B_WOULD_BLOCK, 'and nothing else');
      ctx.equal((await a.call('team')).ret, 0, 'the agent survived the signals');
    }),

    scenario('port-info-fields', async (ctx) => {
      const name = 'info-fields';
      const id = newPort(ctx, 3, name);
      expectFields(ctx, portInfo(ctx, id, 'new port'),
        { port: id, team: process.pid, name, capacity: 3, queueCount: 0, totalCount: 0 }, 'a new port');
      for (let i = 0; i < 3; i++) expectStatus(ctx, writeNow(id, i, i === 2 ? new Uint8Array(0) : pattern(5, i)), B_OK, `write ${i}`);
      expectFields(ctx, portInfo(ctx, id, 'three queued'), { queueCount: 3, totalCount: 0 }, 'three queued');
      ctx.equal(nx.portCount(id), 3, 'port_count');
      readNow(id, 16);
      readNow(id, 2);
      expectFields(ctx, portInfo(ctx, id, 'two read'), { queueCount: 1, totalCount: 2 }, 'two read');
      readNow(id, 16);
      expectFields(ctx, portInfo(ctx, id, 'all read'), { queueCount: 0, totalCount: 3 }, 'all read (the last one empty)');

      const a = await startAgent(ctx);
      const theirs = (await a.call('port_create 7 agents-port')).ret as number;
      expectId(ctx, theirs, "the agent's port");
      ctx.defer(() => {
        nx.deletePort(theirs);
      });
      expectFields(ctx, portInfo(ctx, theirs, "agent's port"),
        { port: theirs, team: a.pid, name: 'agents-port', capacity: 7, queueCount: 0, totalCount: 0 }, "the agent's port");
      const seen = await a.call(`port_info ${id}`);
      expectFields(ctx, seen, { ret: B_OK, port: id, team: process.pid, name, capacity: 3, queue_count: 0, total_count: 3 },
        'the agent sees our port the same');
    }),

    scenario('get-next-port-info', async (ctx) => {
      const mine = [newPort(ctx, 1, 'next-a'), newPort(ctx, 1, 'next-b'), newPort(ctx, 1, 'next-c')];
      for (const team of [0, process.pid]) {
        const w = portsOfTeam(team);
        expectStatus(ctx, w.end, B_BAD_PORT_ID, `the walk of team ${team} ends with B_BAD_PORT_ID`);
        ctx.check(ascending(w.ids), `team ${team}: ports come in id order`, 'ascending', w.ids);
        ctx.check(mine.every((id) => w.ids.includes(id)), `team ${team}: every port of ours is seen`, mine, w.ids);
        ctx.check(w.teams.every((t) => t === process.pid), `team ${team}: every port seen is ours`, process.pid, w.teams);
        ctx.check(w.cookiesOk, `team ${team}: the cookie is the last id returned`);
      }
      const second = nx.getNextPortInfo(0, mine[0]!);
      expectStatus(ctx, second.status, B_OK, 'get_next_port_info from the first id');
      ctx.equal(second.info?.port, mine[1], 'a cookie resumes after that id');

      const a = await startAgent(ctx);
      expectStatus(ctx, nx.getNextPortInfo(a.pid, 0).status, B_BAD_PORT_ID, 'a team without ports: B_BAD_PORT_ID at once');
      const theirs: number[] = [];
      for (const n of ['agent-x', 'agent-y']) {
        const id = (await a.call(`port_create 2 ${n}`)).ret as number;
        expectId(ctx, id, `the agent creates ${n}`);
        theirs.push(id);
      }
      ctx.defer(() => theirs.forEach((id) => nx.deletePort(id)));
      const w = portsOfTeam(a.pid);
      ctx.equal(w.ids, theirs, "the agent's team walk gives exactly its ports in id order");
      expectStatus(ctx, w.end, B_BAD_PORT_ID, "the agent's walk ends with B_BAD_PORT_ID");
      const first = nx.getNextPortInfo(a.pid, 0);
      expectFields(ctx, first.info, { port: theirs[0], team: a.pid, name: 'agent-x', capacity: 2 }, "the agent's first port info");
      ctx.check(!portsOfTeam(0).ids.some((id) => theirs.includes(id)), "our walk does not show the agent's ports");

      expectStatus(ctx, nx.getNextPortInfo(NO_SUCH_TEAM, 0).status, B_BAD_TEAM_ID, 'a team id no process has');
      const h = await Holder.start();
      ctx.defer(() => h.kill());
      expectStatus(ctx, nx.getNextPortInfo(h.pid, 0).status, B_BAD_TEAM_ID, 'a live process that never opened /dev/nexus');
    }),

    scenario('set-port-owner', async (ctx, base) => {
      const a = await startAgent(ctx);
      const given = newPort(ctx, 2, 'given-away');
      expectStatus(ctx, writeNow(given, 1, pattern(64)), B_OK, 'queue a message on the port to give away');
      expectStatus(ctx, nx.setPortOwner(given, NO_SUCH_TEAM), B_BAD_TEAM_ID, 'set_port_owner to an unknown team');
      expectStatus(ctx, nx.setPortOwner(NO_SUCH_PORT, a.pid), B_BAD_PORT_ID, 'set_port_owner of an unknown port');
      ctx.equal(portInfo(ctx, given, 'after failed set_port_owner').team, process.pid, 'failed calls change no owner');

      expectStatus(ctx, nx.setPortOwner(given, a.pid), B_OK, 'set_port_owner to the agent');
      ctx.equal(portInfo(ctx, given, 'given').team, a.pid, 'the port now belongs to the agent');
      ctx.check(portsOfTeam(a.pid).ids.includes(given), "the agent's walk shows the port");
      ctx.check(!portsOfTeam(0).ids.includes(given), 'our walk no longer shows it');

      // And the other way round: we take one of the agent's ports.
      const taken = (await a.call('port_create 2 taken-over')).ret as number;
      expectId(ctx, taken, "the agent's port");
      ctx.defer(() => {
        nx.deletePort(taken);
      });
      expectStatus(ctx, nx.setPortOwner(taken, process.pid), B_OK, "set_port_owner of the agent's port to us");
      ctx.equal(portInfo(ctx, taken, 'taken').team, process.pid, 'the port now belongs to us');

      await a.kill();
      await waitFor(() => readCounters().teams === base.teams);
      expectStatus(ctx, nx.getPortInfo(given).status, B_BAD_PORT_ID, 'the given port died with its new owner');
      expectStatus(ctx, nx.getPortInfo(taken).status, B_OK, 'the taken port survived its creator');
      const c = readCounters();
      ctx.equal(c.ports, base.ports + 1, 'only the taken port is left');
      ctx.equal(c.port_messages, base.port_messages, "the given port's message went with it");
    }),

    scenario('bad-port-ids', (ctx) => {
      const dead = nx.createPort(1, 'dead');
      expectId(ctx, dead, 'create_port');
      expectStatus(ctx, nx.deletePort(dead), B_OK, 'delete_port');
      for (const id of [0, -1, NO_SUCH_PORT, dead]) {
        const w = `port ${id}`;
        expectStatus(ctx, nx.writePortEtc(id, 1, text('x'), B_RELATIVE_TIMEOUT, 100_000), B_BAD_PORT_ID, `${w}: write`);
        expectStatus(ctx, nx.readPortEtc(id, 8, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_PORT_ID, `${w}: read`);
        expectStatus(ctx, nx.getPortMessageInfoEtc(id, B_RELATIVE_TIMEOUT, 100_000).status, B_BAD_PORT_ID, `${w}: message info`);
        expectStatus(ctx, nx.portBufferSizeEtc(id, B_RELATIVE_TIMEOUT, 100_000), B_BAD_PORT_ID, `${w}: port_buffer_size_etc`);
        expectStatus(ctx, nx.portCount(id), B_BAD_PORT_ID, `${w}: port_count`);
        expectStatus(ctx, nx.getPortInfo(id).status, B_BAD_PORT_ID, `${w}: get_port_info`);
        expectStatus(ctx, nx.closePort(id), B_BAD_PORT_ID, `${w}: close_port`);
        expectStatus(ctx, nx.deletePort(id), B_BAD_PORT_ID, `${w}: delete_port`);
        expectStatus(ctx, nx.setPortOwner(id, process.pid), B_BAD_PORT_ID, `${w}: set_port_owner`);
      }
    }),

    scenario(
      'no-more-ports',
      (ctx, base) => exhaust(ctx, base, { counter: 'ports', max: MAX_PORTS, noun: 'port', plural: 'ports', create: (n) => nx.createPort(1, n), remove: (id) => nx.deletePort(id), noMore: B_NO_MORE_PORTS }),
      { timeoutMs: 120_000 },
    ),
    scenario('port-space-limit', (ctx, base) => {
      // Queued messages may take so much kernel memory system-wide
      // (Haiku's total port space; 64 MiB unless the module says otherwise),
      // each charged what it costs: its payload and a header, so that even
      // zero-length messages run out.  Root is exempt from the per-user
      // share, not from this.
      need(ctx, base.port_bytes === 0, 'no message is queued anywhere', 0, base.port_bytes);
      const limit = moduleParam('max_port_space') ?? 64 * 1024 * 1024;
      const big = pattern(PORT_MAX_MESSAGE_SIZE, 3);
      const a = newPort(ctx, PORT_MAX_CAPACITY, 'space-a');
      const most = Math.floor(limit / PORT_MAX_MESSAGE_SIZE);
      let written = 0;
      let st = B_OK;
      while (written <= most && (st = writeNow(a, written, big)) === B_OK) written++;
      ctx.check(written <= most, `the 256 KiB messages stay within the ${limit}-byte space`, `<= ${most}`, written);
      // A header costs far less than a page.
      const least = Math.floor(limit / (PORT_MAX_MESSAGE_SIZE + 4096));
      ctx.check(written >= least, 'the space takes as many 256 KiB messages as their cost allows', `>= ${least}`, written);
      expectStatus(ctx, st, B_NO_MEMORY, 'the next 256 KiB write');
      ctx.equal(readCounters().port_bytes, written * PORT_MAX_MESSAGE_SIZE, 'port_bytes counts the queued payload');

      const b = newPort(ctx, PORT_MAX_CAPACITY, 'space-b');
      let empties = 0;
      while (empties < PORT_MAX_CAPACITY && (st = writeNow(b, 0, new Uint8Array(0))) === B_OK) empties++;
      expectStatus(ctx, st, B_NO_MEMORY, 'zero-length messages are charged too: the space runs out');
      ctx.check(empties >= 1, 'what is left of the space takes some zero-length messages', '>= 1', empties);
      const space = readCounters().port_space;
      if (space !== undefined) {
        ctx.check(space <= limit, 'port_space (what the queued messages cost) stays within the limit', `<= ${limit}`, space);
        ctx.check(space >= written * PORT_MAX_MESSAGE_SIZE + (written + empties) * 16,
          'port_space charges each message more than its payload', `> payload`, space);
      }

      expectStatus(ctx, nx.readPortEtc(a, 16, B_RELATIVE_TIMEOUT, 0).status, 16, 'read one message (truncated to 16 bytes)');
      expectStatus(ctx, writeNow(a, 999, big), B_OK, 'the space it freed takes a new 256 KiB message');
      expectStatus(ctx, nx.deletePort(a), B_OK, 'delete the full port');
      ctx.equal(readCounters().port_bytes, base.port_bytes, 'delete frees the queued bytes');
      expectStatus(ctx, nx.readPortEtc(b, 16, B_RELATIVE_TIMEOUT, 0).status, 0, 'read a zero-length message');
      expectStatus(ctx, writeNow(b, 1, big), B_OK, 'after the delete a 256 KiB write fits again');
    }),

    ...rawScenarios,
  ],
};
