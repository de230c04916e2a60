// Our debugfs counters file and its format, shared by the guest and the host
// (which reads it after a run).  Other trees have no such file: see
// abi-counters.ts for what stands in for it.
export const COUNTERS_PATH = '/sys/kernel/debug/nexus/counters';

/** Parse the counters file: one "<name> <value>" per line. */
export function parseCounters(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-z_][a-z0-9_]*)\s+(-?\d+)$/.exec(line.trim());
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}
