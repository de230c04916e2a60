// What nexus-race (scenarios/native/nexus-race.c) prints: some
// {"anomaly":...} lines as it finds them, then one {"done":true,...} line
// with its counts.  Pure, so the unit tests read real outputs.

export type Json = Record<string, unknown>;

export interface DriverOutput {
  /** The final line, when the driver got that far. */
  done: Json | undefined;
  anomalies: Json[];
  /** Lines that are not JSON objects (none expected). */
  other: string[];
}

export function parseDriverOutput(stdout: string): DriverOutput {
  const out: DriverOutput = { done: undefined, anomalies: [], other: [] };
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue;
    const obj = parseObject(line);
    if (obj?.done === true) out.done = obj;
    else if (obj && typeof obj.anomaly === 'string') out.anomalies.push(obj);
    else out.other.push(line);
  }
  return out;
}

function parseObject(line: string): Json | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : undefined;
  } catch {
    return undefined;
  }
}

/** A count from the done line (NaN when missing: a check on it fails). */
export function count(done: Json | undefined, key: string): number {
  const v = done?.[key];
  return typeof v === 'number' ? v : Number.NaN;
}

/** The driver's arguments: key=value words after the mode. */
export function driverArgs(mode: string, opts: Record<string, string | number>): string[] {
  return [mode, ...Object.entries(opts).map(([k, v]) => `${k}=${v}`)];
}

/** Per second, rounded to one decimal; 0 for an empty time. */
export function rate(n: number, ms: number): number {
  return ms > 0 ? Math.round((n * 10_000) / ms) / 10 : 0;
}
