import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { killAll, liveProcesses, run, spawnOwned, succeeded } from '../../lab/proc.js';

/** Running, as opposed to gone or a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

test('output comes back whole and line by line', async () => {
  const lines: string[] = [];
  const r = await run('sh', ['-c', 'echo one; echo two >&2; printf three'], { timeoutMs: 10_000, onStdoutLine: (l) => lines.push(l) });
  assert.ok(succeeded(r));
  assert.is(r.stdout, 'one\nthree');
  assert.is(r.stderr, 'two\n');
  assert.equal(lines, ['one', 'three']);
});

test('the deadline ends the whole process group, children included', async () => {
  const r = await run('sh', ['-c', 'sleep 60 & echo $!; wait'], { timeoutMs: 500, killGraceMs: 500 });
  assert.ok(r.timedOut);
  assert.not.ok(succeeded(r));
  const child = Number(r.stdout.trim());
  assert.ok(child > 0);
  await new Promise((res) => setTimeout(res, 200));
  assert.not.ok(alive(child), 'the background sleep died with its group');
  assert.equal(liveProcesses(), []);
});

test('a process that ignores SIGTERM is killed after the grace period', async () => {
  const started = Date.now();
  const r = await run('sh', ['-c', "trap '' TERM; sleep 60"], { timeoutMs: 300, killGraceMs: 300 });
  assert.ok(r.timedOut);
  assert.is(r.signal, 'SIGKILL');
  assert.ok(Date.now() - started < 5000);
});

test('cancelling through the signal ends the process', async () => {
  const ac = new AbortController();
  const p = run('sleep', ['60'], { timeoutMs: 60_000, signal: ac.signal });
  setTimeout(() => ac.abort(), 100);
  const r = await p;
  assert.ok(r.cancelled);
  assert.not.ok(r.timedOut);
});

test('killAll ends every live process (what Ctrl-C does)', async () => {
  const a = spawnOwned('sleep', ['60'], { timeoutMs: 60_000 });
  const b = spawnOwned('sleep', ['60'], { timeoutMs: 60_000 });
  assert.is(liveProcesses().length, 2);
  killAll();
  const [ra, rb] = await Promise.all([a.done, b.done]);
  assert.is(ra.signal, 'SIGTERM');
  assert.is(rb.signal, 'SIGTERM');
  assert.equal(liveProcesses(), []);
});

test('a missing program is reported, not thrown', async () => {
  const r = await run('/nonexistent/nexus-tool', [], { timeoutMs: 1000 });
  assert.not.ok(succeeded(r));
  assert.match(r.spawnError ?? '', /ENOENT/);
});

test.run();
