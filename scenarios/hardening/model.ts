// The pure parts of the hardening suite: what a timed call's times must
// satisfy, how much memory a fill may pin, /proc parsing.  No Nexus, no
// processes: test/unit/hardening.test.ts runs them on the host.

/** A timed agent call's times (the agent's CLOCK_MONOTONIC, microseconds: nx.systemTime()'s clock). */
export interface Times {
  start_us: number;
  end_us: number;
  elapsed_us: number;
}

/** One named condition, ready for ctx.check. */
export interface Check {
  ok: boolean;
  message: string;
  expected: string;
  actual: string;
}

const ms = (us: number): string => `${Math.round(us / 1000)} ms`;

/**
 * How early a timed-out wait may seem to end: the agent reads the clock
 * before its ioctl and the kernel's timer never fires before the deadline,
 * so only clock granularity is allowed for.
 */
export const EARLY_US = 20_000;

/**
 * A wait with a relative timeout was interrupted by a signal (or a stop) and
 * `resumedUs` is when the scenario resumed it (SIGCONT) or signalled it: it
 * must time out at its original deadline, start + timeout.  Had it started
 * over when resumed, it would end at resumedUs + timeout or later, so it must
 * end `marginUs` before that: the room left for a slow guest's latency is
 * (resumedUs - start) - marginUs.
 */
export function keptDeadline(t: Times, timeoutUs: number, resumedUs: number, marginUs: number): Check[] {
  const restartedAt = resumedUs + timeoutUs;
  return [
    {
      ok: t.elapsed_us >= timeoutUs - EARLY_US,
      message: 'the wait lasts its whole timeout',
      expected: `>= ${ms(timeoutUs - EARLY_US)}`,
      actual: ms(t.elapsed_us),
    },
    {
      ok: t.end_us > resumedUs,
      message: 'the call returns after it was resumed',
      expected: `after ${ms(resumedUs - t.start_us)} from its start`,
      actual: `${ms(t.end_us - t.start_us)} from its start`,
    },
    {
      ok: t.end_us < restartedAt - marginUs,
      message: 'the timeout keeps its original deadline (does not start over when resumed)',
      expected: `ends before ${ms(restartedAt - marginUs - t.start_us)} from its start (a restarted timeout ends at ${ms(restartedAt - t.start_us)} or later)`,
      actual: `${ms(t.end_us - t.start_us)} from its start`,
    },
  ];
}

/**
 * A wait interrupted at `signalUs` by a signal whose handler has no
 * SA_RESTART: it must return within `promptUs` of the signal and well before
 * its own timeout.
 */
export function endedPromptly(t: Times, timeoutUs: number, signalUs: number, promptUs: number): Check[] {
  return [
    {
      ok: t.end_us >= signalUs && t.end_us - signalUs <= promptUs,
      message: 'the call returns promptly after the signal',
      expected: `within ${ms(promptUs)} of the signal`,
      actual: `${ms(t.end_us - signalUs)} after it`,
    },
    {
      ok: t.elapsed_us < timeoutUs,
      message: 'the call returns before its timeout',
      expected: `< ${ms(timeoutUs)}`,
      actual: ms(t.elapsed_us),
    },
  ];
}

/** The fields of /proc/meminfo, in bytes ("SUnreclaim: 1234 kB" -> 1234 * 1024). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]) * (line.trimEnd().endsWith('kB') ? 1024 : 1);
  }
  return out;
}

/** The state letter of /proc/PID/stat (R, S, D, T, t, Z, ...); '' when unreadable. */
export function procState(stat: string): string {
  const close = stat.lastIndexOf(')');
  if (close < 0) return '';
  return stat.slice(close + 1).trim().charAt(0);
}

/**
 * The smallest kernel cost of a queued zero-byte message the suite assumes
 * (its header, rounded up to the smallest kmalloc cache that holds it on
 * x86-64): a module that charges what messages really cost stops a
 * zero-byte fill after at most limit / this many messages.
 */
export const MIN_MESSAGE_COST = 64;

/**
 * How many zero-byte messages a fill may write before it has proved that
 * nothing bounds their count: twice what `limitBytes` of port space holds at
 * the smallest plausible cost.  Bounds the run on a module that charges
 * payload only, which never says B_NO_MEMORY.
 */
export function fillBound(limitBytes: number): number {
  return 2 * Math.ceil(limitBytes / MIN_MESSAGE_COST);
}

/**
 * How much unreclaimable slab a fill may pin for `limitBytes` of port
 * space.  The module charges each message what the allocator gives it, so
 * the messages themselves take at most the limit; per port (one in 4096
 * messages) a few hundred bytes more; a partly filled slab page or per-CPU
 * cache at the end a few pages.  Twice the limit leaves the other half for
 * what the guest allocates meanwhile (ssh, the runner), and is still far
 * below what the same count of messages pins when they are charged their
 * payload only (nothing) - there the fill is cut off by fillBound().
 */
export const PINNED_FACTOR = 2;

export function pinnedBound(limitBytes: number): number {
  return PINNED_FACTOR * limitBytes;
}

/** Whole MiB, for messages. */
export const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(1)} MiB`;
