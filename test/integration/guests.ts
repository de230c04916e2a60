// What the integration tests ask the host about a run's guests.
import type { test } from 'uvu';
import { existsSync, readFileSync } from 'node:fs';
import { $ } from 'zx';

/** QEMU processes that belong to a run (their -name carries the run id). */
export async function qemuOf(runId: string): Promise<string[]> {
  const r = await $`pgrep -af ${`nexus-lab:${runId}/`}`.nothrow();
  return r.stdout
    .split('\n')
    .filter((l) => l.includes('qemu-system'))
    .filter((l) => {
      const pid = l.split(' ')[0]!;
      // A zombie waiting for its reaper is not a running guest.
      return existsSync(`/proc/${pid}/stat`) && !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
    });
}

/**
 * Print each test's wall time to stderr as it ends, so that a cold run's log
 * says where its hour goes (uvu prints only a dot per test).
 */
export function timeEach(t: typeof test): void {
  let started = 0;
  t.before.each(() => {
    started = performance.now();
  });
  t.after.each((ctx) => {
    const name = (ctx as { __test__?: string }).__test__ ?? '?';
    process.stderr.write(`\n  [${((performance.now() - started) / 1000).toFixed(0)} s] ${name}\n`);
  });
}
