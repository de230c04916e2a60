// What the integration tests ask the host about a run's guests.
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
