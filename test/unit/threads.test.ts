// The pure parts of the threads suite: the agent's op words, its report
// parsing, and the verdicts the scenarios draw from times and reports.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  DEATH_WAKE_BOUND_US,
  agentOp,
  agentSpawnLine,
  asReceived,
  cstr,
  keptName,
  parseAgentReport,
  ranNothingBeforeResume,
  servedOrder,
  truncated,
  wokeWithin,
  THREAD_IOCTLS,
  THREAD_LAYOUTS,
  type ThreadReport,
} from '../../scenarios/threads/model.js';

test('agentOp: each op as nexus-agent reads it', () => {
  assert.is(agentOp({ op: 'receive', bufSize: 64 }), 'receive:64');
  assert.is(agentOp({ op: 'receive', bufSize: 64, flags: 8, timeout: 1_000_000 }), 'receive:64:8:1000000');
  assert.is(agentOp({ op: 'receive', bufSize: 8, flags: 8, timeout: Infinity }), 'receive:8:8:inf');
  assert.is(agentOp({ op: 'receive', bufSize: 8, flags: 8, timeout: 0x7fffffffffffffffn }), 'receive:8:8:inf');
  assert.is(agentOp({ op: 'receive', bufSize: 8, flags: 0, timeout: 0 }), 'receive:8:0:0');
  assert.is(agentOp({ op: 'send', target: 123, code: -4, hex: '6869' }), 'send:123:-4:6869');
  assert.is(agentOp({ op: 'send', target: 123, code: 1, hex: '' }), 'send:123:1:-');
  assert.is(agentOp({ op: 'send', target: 5, code: 1, hex: 'ff', flags: 8, timeout: 0 }), 'send:5:1:ff:8:0');
  assert.is(agentOp({ op: 'wait', target: 77 }), 'wait:77');
  assert.is(agentOp({ op: 'wait', target: 77, flags: 16, timeout: 5n }), 'wait:77:16:5');
  assert.is(agentOp({ op: 'sleep', us: 250 }), 'sleep:250');
  assert.is(agentOp({ op: 'return', code: 7 }), 'return:7');
  assert.is(agentOp({ op: 'exit', code: -2147483648 }), 'exit:-2147483648');
  assert.is(agentOp({ op: 'pthread_exit' }), 'pthread_exit');
  assert.throws(() => agentOp({ op: 'send', target: 1, code: 1, hex: 'hi' }), /hex/);
  assert.throws(() => agentOp({ op: 'send', target: 1, code: 1, hex: 'abc' }), /hex/);
});

test('agentSpawnLine: a name without spaces and at least one op', () => {
  assert.is(agentSpawnLine('rx', [{ op: 'receive', bufSize: 8 }, { op: 'return', code: 2 }]), 'thread_spawn rx receive:8 return:2');
  assert.throws(() => agentSpawnLine('two words', [{ op: 'return', code: 0 }]), /spaces/);
  assert.throws(() => agentSpawnLine('x', []), /at least one op/);
});

test('parseAgentReport: started, done and each result', () => {
  assert.equal(parseAgentReport({ ret: 0, started: false, done: false, results: [] }), { startedUs: null, done: false, results: [] });
  const r = parseAgentReport({
    ret: 0, started: true, started_us: 1500, done: true,
    results: [
      { op: 'receive', ret: 5, sender: 42, hex: '6869', start_us: 1600, end_us: 1700 },
      { op: 'wait', status: 0, code: 9, start_us: '1800', end_us: '1900' },
      { op: 'receive', ret: 1, sender: 42, hex: '-', start_us: 2000, end_us: 2001 },
    ],
  });
  assert.equal(r, {
    startedUs: 1500n, done: true,
    results: [
      { op: 'receive', status: 5, sender: 42, hex: '6869', startUs: 1600n, endUs: 1700n },
      { op: 'wait', status: 0, code: 9, startUs: 1800n, endUs: 1900n },
      { op: 'receive', status: 1, sender: 42, hex: '', startUs: 2000n, endUs: 2001n },
    ],
  });
  // Started without a time: known to have begun, time unknown (0).
  assert.is(parseAgentReport({ ret: 0, started: true, done: false, results: [] })?.startedUs, 0n);
  assert.is(parseAgentReport({ ret: -1, done: false, results: [] }), undefined);
  assert.is(parseAgentReport({ ret: 0, done: false }), undefined);
  assert.is(parseAgentReport({ ret: 0, done: true, results: [{ op: 'send' }] }), undefined);
});

const rep = (startedUs: bigint | null, starts: bigint[] = [], done = false): ThreadReport => ({
  startedUs,
  done,
  results: starts.map((s) => ({ op: 'send', status: 0, startUs: s, endUs: s + 1n })),
});
const failed = (vs: { ok: boolean; message: string }[]) => vs.filter((v) => !v.ok).map((v) => v.message);

test('ranNothingBeforeResume: a thread that began after the resume passes', () => {
  assert.equal(failed(ranNothingBeforeResume(rep(null), rep(1000n, [1001n], true), 1000n)), []);
  assert.equal(failed(ranNothingBeforeResume(rep(null), rep(5000n), 1000n)), []);
});

test('ranNothingBeforeResume: any sign of life before the resume fails', () => {
  assert.equal(failed(ranNothingBeforeResume(rep(900n), rep(900n), 1000n)), [
    'before resume_thread the thread has not begun its body',
    'its body began after resume_thread was called',
  ]);
  assert.equal(failed(ranNothingBeforeResume(rep(null, [950n]), rep(1000n, [950n]), 1000n)), [
    'before resume_thread the thread has not begun its body',
    'none of its ops ran before resume_thread was called',
  ]);
  assert.equal(failed(ranNothingBeforeResume(null, rep(1000n), 1000n)), ['before resume_thread the thread has not begun its body']);
  assert.equal(failed(ranNothingBeforeResume(rep(null), rep(null), 1000n)), ['its body began after resume_thread was called']);
  assert.equal(failed(ranNothingBeforeResume(rep(null), null, 1000n)), ['its body began after resume_thread was called']);
});

test('wokeWithin: bounded, and never before the event', () => {
  assert.ok(wokeWithin(1_000n, 1_000n).ok);
  assert.ok(wokeWithin(1_000n, 1_000n + BigInt(DEATH_WAKE_BOUND_US)).ok);
  assert.not.ok(wokeWithin(1_000n, 1_001n + BigInt(DEATH_WAKE_BOUND_US)).ok);
  assert.not.ok(wokeWithin(1_000n, 999n).ok, 'returned before the death: not woken by it');
  assert.is(wokeWithin(0n, 250n, 100).actual, '250 µs');
});

test('truncated, keptName, servedOrder', () => {
  const data = Buffer.from('hello, world');
  assert.is(truncated(data, 4).toString(), 'hell');
  assert.is(truncated(data, 0).length, 0);
  assert.is(truncated(data, 100).toString(), 'hello, world');
  assert.is(truncated(data, -3).length, 0);
  assert.is(keptName('x'.repeat(40)), 'x'.repeat(31));
  assert.is(keptName('short'), 'short');
  assert.equal(servedOrder([100, 101, 102], 100, 3), [0, 1, 2]);
  assert.equal(servedOrder([100, 102, 101, 7], 100, 3), [0, 2, 1, -1]);
});

test('asReceived: the buffer a receive fills, zeros after the message; cstr reads it as text', () => {
  assert.equal([...asReceived(Buffer.from('hi'), 4)], [0x68, 0x69, 0, 0]);
  assert.is(asReceived(Buffer.from('hello'), 3).toString(), 'hel');
  assert.is(asReceived(Buffer.from('hello'), 0).length, 0);
  assert.is(cstr(asReceived(Buffer.from('message 1'), 64)), 'message 1');
  assert.is(cstr(Buffer.from('no nul')), 'no nul');
});

test('raw layouts: each struct fits the size its ioctl number encodes', () => {
  const size = (cmd: number) => (cmd >>> 16) & 0x3fff;
  assert.is(THREAD_LAYOUTS.thread_rw.size, size(THREAD_IOCTLS.NEXUS_THREAD_READ));
  assert.is(THREAD_LAYOUTS.thread_rw.size, size(THREAD_IOCTLS.NEXUS_THREAD_WRITE));
  assert.is(THREAD_LAYOUTS.thread_rw.size, size(THREAD_IOCTLS.NEXUS_THREAD_HAS_DATA));
  assert.is(THREAD_LAYOUTS.thread_waitfor.size, size(THREAD_IOCTLS.NEXUS_THREAD_WAITFOR));
  assert.is(THREAD_LAYOUTS.thread_set_name.size, size(THREAD_IOCTLS.NEXUS_THREAD_SET_NAME));
  assert.is(THREAD_LAYOUTS.thread_info.size, size(THREAD_IOCTLS.NEXUS_THREAD_GET_INFO));
  for (const [name, l] of Object.entries(THREAD_LAYOUTS)) {
    for (const [f, { at, kind }] of Object.entries(l.fields)) {
      const width = kind === 's32' || kind === 'u32' ? 4 : 8;
      assert.ok(at % width === 0 && at + width <= l.size, `${name}.${f} is aligned and inside the struct`);
    }
  }
});

test.run();
