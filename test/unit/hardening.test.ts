// The pure parts of the hardening suite: the timing verdicts of the signal
// scenarios, the bounds of the zero-byte fill, /proc parsing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  EARLY_US,
  endedPromptly,
  fillBound,
  keptDeadline,
  MIN_MESSAGE_COST,
  parseMeminfo,
  parseNsTids,
  pinnedBound,
  allocatorDebug,
  NO_ALLOCATOR_DEBUG,
  procState,
  sealProblems,
  type Check,
} from '../../scenarios/hardening/model.js';

const T = 2_000_000;
const MARGIN = 300_000;
const times = (start: number, end: number) => ({ start_us: start, end_us: end, elapsed_us: end - start });
const failed = (cs: Check[]) => cs.filter((c) => !c.ok).map((c) => c.message);

test('keptDeadline: a wait that times out at its original deadline passes', () => {
  // Started at 10 s, resumed 1 s later, timed out 2.1 s after its start.
  assert.equal(failed(keptDeadline(times(10e6, 12.1e6), T, 11e6, MARGIN)), []);
  // Right at the deadline, and with up to (resumed - start) - margin of latency.
  assert.equal(failed(keptDeadline(times(10e6, 12e6), T, 11e6, MARGIN)), []);
  assert.equal(failed(keptDeadline(times(10e6, 12.69e6), T, 11e6, MARGIN)), []);
});

test('keptDeadline: a timeout that started over when resumed fails', () => {
  assert.equal(failed(keptDeadline(times(10e6, 13e6), T, 11e6, MARGIN)), [
    'the timeout keeps its original deadline (does not start over when resumed)',
  ]);
  // Latency eating the whole margin is taken for a restart too: the bound is one-sided on purpose.
  assert.equal(failed(keptDeadline(times(10e6, 12.71e6), T, 11e6, MARGIN)).length, 1);
});

test('keptDeadline: a wait that ended early or before it was resumed fails', () => {
  // B_INTERRUPTED-like: ended at once, before the resume.
  assert.equal(failed(keptDeadline(times(10e6, 10.3e6), T, 11e6, MARGIN)), [
    'the wait lasts its whole timeout',
    'the call returns after it was resumed',
  ]);
  // A hair early is clock granularity; more is not.
  assert.equal(failed(keptDeadline(times(10e6, 12e6 - EARLY_US), T, 11e6, MARGIN)), []);
  assert.equal(failed(keptDeadline(times(10e6, 12e6 - EARLY_US - 1), T, 11e6, MARGIN)), ['the wait lasts its whole timeout']);
});

test('keptDeadline: the messages say what was expected and what happened, in ms', () => {
  const c = keptDeadline(times(10e6, 13e6), T, 11e6, MARGIN)[2]!;
  assert.is(c.actual, '3000 ms from its start');
  assert.match(c.expected, /before 2700 ms .* 3000 ms or later/);
});

test('endedPromptly: interrupted soon after the signal, before the timeout', () => {
  assert.equal(failed(endedPromptly(times(10e6, 10.35e6), T, 10.3e6, 1e6)), []);
  assert.equal(failed(endedPromptly(times(10e6, 11.5e6), T, 10.3e6, 1e6)), ['the call returns promptly after the signal']);
  assert.equal(failed(endedPromptly(times(10e6, 10.2e6), T, 10.3e6, 1e6)), ['the call returns promptly after the signal'],
    'returned before the signal was sent: not because of it');
  assert.equal(failed(endedPromptly(times(10e6, 12e6), T, 11.5e6, 1e6)), ['the call returns before its timeout']);
});

test('fillBound and pinnedBound', () => {
  assert.is(MIN_MESSAGE_COST, 64);
  assert.is(fillBound(4 << 20), 2 * 65536);
  assert.is(fillBound(32 << 20), 1 << 20);
  assert.is(fillBound(100), 4, 'rounds up');
  assert.is(pinnedBound(4 << 20), 8 << 20);
});

test('parseMeminfo: kB lines in bytes, counts as they are', () => {
  const m = parseMeminfo('MemTotal:        1004464 kB\nSUnreclaim:        23456 kB\nHugePages_Total:       0\nDirectMap4k:      114560 kB\nbogus line\n');
  assert.is(m.MemTotal, 1004464 * 1024);
  assert.is(m.SUnreclaim, 23456 * 1024);
  assert.is(m.HugePages_Total, 0);
  assert.is(m.bogus, undefined);
});

test('procState: the letter after the command, whatever the command holds', () => {
  assert.is(procState('123 (nexus-agent) S 1 123 123 0 -1'), 'S');
  assert.is(procState('123 (a) b) T 1 123'), 'T');
  assert.is(procState('garbage'), '');
});

test('parseNsTids: a task\'s tid in each pid namespace, outermost first', () => {
  assert.equal(parseNsTids('Name:\tnexus-agent\nTgid:\t250\nNSpid:\t252\t2\nPPid:\t1\n'), [252, 2]);
  assert.equal(parseNsTids('NSpid:\t77\n'), [77]);
  assert.equal(parseNsTids('Name:\tx\n'), []);
});

// As nexus-hx prints them.
const SEALED_OK = { ret: 0, create: 0, clone_rw: 0, map_rw_errno: 1, clone_ro: 0, map_ro_errno: 0, direct_rw_errno: 1, content: 'original' };

test('sealProblems: a write-sealed memfd that keeps its bytes is fine; any way around the seal is not', () => {
  assert.equal(sealProblems('seal-write', SEALED_OK), []);
  assert.equal(sealProblems('seal-write', { ...SEALED_OK, create: -2147483632, clone_rw: -1, map_rw_errno: -1, clone_ro: -1, map_ro_errno: -1 }), [],
    'refusing the area outright is fine too');
  const p = sealProblems('seal-write', { ...SEALED_OK, map_rw_errno: 0, direct_rw_errno: 0, content: 'DIRECTWR' });
  assert.is(p.length, 3);
  assert.match(p.join('\n'), /clone of a write-sealed memfd was mapped shared and writable/);
  assert.match(p.join('\n'), /memfd itself was mapped/);
  assert.match(p.join('\n'), /bytes changed: "DIRECTWR"/);
  assert.equal(sealProblems('seal-write', { ret: 0 }), ['nexus-hx said nothing of content']);
});

test('sealProblems: a seal under a writable clone mapping is refused (EBUSY), or that mapping writes no more', () => {
  const base = { ret: 0, create: 0, clone_rw: 0, map_rw_errno: 0, content: 'original' };
  assert.equal(sealProblems('seal-after-map', { ...base, seal_errno: 16, content: 'AFTERSL\u0000' }), [], 'refused: the write after is legitimate');
  assert.equal(sealProblems('seal-after-map', { ...base, seal_errno: 0 }), [], 'sealed, and nothing got through');
  assert.match(sealProblems('seal-after-map', { ...base, seal_errno: 0, content: 'AFTERSLl' })[0]!, /still wrote/);
  assert.match(sealProblems('seal-after-map', { ...base, seal_errno: 22 })[0]!, /expected EBUSY/);
  assert.match(sealProblems('seal-after-map', { ...base, map_rw_errno: 13, seal_errno: 0 })[0]!, /nothing was tried/);
});

test('sealProblems: reopened clone descriptors and memfds grown behind their area', () => {
  assert.equal(sealProblems('reopen-clone', { ret: 0, clone: 0, open_ro_errno: 6, open_rw_errno: 6, map_rw_errno: -1, content: 'original' }), []);
  assert.match(sealProblems('reopen-clone', { ret: 0, clone: 0, open_ro_errno: 0, open_rw_errno: 0, map_rw_errno: 0, content: 'REOPENWl' }).join('\n'),
    /mapped shared and writable/);
  const grow = { ret: 0, create: 0, grow_errno: 0, info_size: 4096, clone: 0, clone_size: 4096, map_errno: 0, touched_far: true, content: 'original' };
  assert.match(sealProblems('memfd-grow', { ...grow, area_space_delta: 4096 })[0]!, /grew to 64 MiB/);
  assert.equal(sealProblems('memfd-grow', { ...grow, area_space_delta: 64 << 20 }), [], 'charged for it: fine');
  assert.equal(sealProblems('memfd-grow', { ...grow, grow_errno: 1, area_space_delta: 4096 }), [], 'the grow refused: fine');
  assert.equal(sealProblems('memfd-grow', { ...grow, touched_far: false, area_space_delta: 4096 }), [], 'the clone cannot reach it: fine');
  assert.match(sealProblems('memfd-grow', { ...grow, map_errno: 22, mremap_errno: 0, area_space_delta: 4096 })[0]!, /through mremap/);
});

test.run();

test('allocatorDebug: none on a distribution kernel, red zones and kmemleak on a debug one', () => {
  const files = (m: Record<string, string>) => (p: string) => m[p];
  const has = (m: Record<string, string>) => '/sys/kernel/debug/kmemleak' in m;
  const cloud = { '/sys/kernel/slab/kmalloc-64/slab_size': '64\n', '/sys/kernel/slab/kmalloc-64/object_size': '64\n' };
  assert.equal(allocatorDebug(files(cloud), has(cloud)), NO_ALLOCATOR_DEBUG);
  assert.equal(allocatorDebug(files({}), has({})), NO_ALLOCATOR_DEBUG);
  const debug = {
    '/sys/kernel/slab/kmalloc-64/slab_size': '128\n',
    '/sys/kernel/slab/kmalloc-64/object_size': '64\n',
    '/sys/kernel/slab/kmemleak_object/slab_size': '368\n',
    '/sys/kernel/debug/kmemleak': '',
  };
  assert.equal(allocatorDebug(files(debug), has(debug)), { inflation: 2, perObject: 368 });
  // kmemleak's cache without kmemleak running (kmemleak=off) adds nothing per object
  const { ['/sys/kernel/debug/kmemleak']: _, ...off } = debug;
  assert.equal(allocatorDebug(files(off), has(off)), { inflation: 2, perObject: 0 });
  // 4 MiB of port space, 65,536 zero-byte messages: twice (8 MiB + 65,536 x 368)
  assert.is(pinnedBound(4 << 20, { inflation: 2, perObject: 368 }, 65536), 2 * (8 << 20) + 2 * 65536 * 368);
  assert.is(pinnedBound(4 << 20, NO_ALLOCATOR_DEBUG, 65536), 8 << 20);
});
