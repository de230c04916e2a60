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
  pinnedBound,
  procState,
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

test.run();
