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

export function pinnedBound(limitBytes: number, debug: AllocatorDebug = NO_ALLOCATOR_DEBUG, objects = 0): number {
  return Math.ceil(PINNED_FACTOR * (limitBytes * debug.inflation + objects * debug.perObject));
}

/**
 * What a debug kernel's allocator adds to every object, which no module can
 * charge: SLUB's red zones and KASAN's metadata (a cache's slab_size over its
 * object_size) and kmemleak's record of each allocation (an object of its
 * own cache).  None on a distribution kernel.
 */
export interface AllocatorDebug {
  /** slab_size / object_size of the smallest kmalloc cache (1: none). */
  inflation: number;
  /** Bytes allocated beside each object (kmemleak's record; 0: none). */
  perObject: number;
}

export const NO_ALLOCATOR_DEBUG: AllocatorDebug = { inflation: 1, perObject: 0 };

/**
 * The allocator debugging of a guest from /sys/kernel/slab: `read(path)`
 * returns a file's text or undefined; `kmemleakOn`: kmemleak runs.
 * kmalloc-64 is the cache a zero-byte message's header falls in
 * (MIN_MESSAGE_COST); kmemleak_object's
 * slab_size is what kmemleak adds per allocation while it runs.
 */
export function allocatorDebug(read: (path: string) => string | undefined, kmemleakOn: boolean): AllocatorDebug {
  const size = (cache: string, field: string): number | undefined => {
    const v = Number.parseInt(read(`/sys/kernel/slab/${cache}/${field}`) ?? '', 10);
    return Number.isFinite(v) && v > 0 ? v : undefined;
  };
  const slab = size(`kmalloc-${MIN_MESSAGE_COST}`, 'slab_size');
  const object = size(`kmalloc-${MIN_MESSAGE_COST}`, 'object_size');
  const inflation = slab !== undefined && object !== undefined && slab > object ? slab / object : 1;
  const perObject = kmemleakOn ? size('kmemleak_object', 'slab_size') ?? 0 : 0;
  return { inflation, perObject };
}

/** Whole MiB, for messages. */
export const mib = (bytes: number): string => `${(bytes / (1 << 20)).toFixed(1)} MiB`;

/** The NSpid line of /proc/<pid>/task/<tid>/status: the tid in each pid namespace, outermost first ([] without it). */
export function parseNsTids(status: string): number[] {
  const m = /^NSpid:\s+(.*)$/m.exec(status);
  return m ? m[1]!.trim().split(/\s+/).map(Number).filter((n) => Number.isInteger(n)) : [];
}

/** The checks of nexus-hx (scenarios/native/nexus-hx.c). */
export type SealCheck = 'seal-write' | 'seal-future-write' | 'seal-after-map' | 'reopen-clone' | 'memfd-grow';

const EBUSY = 16;
/** What a memfd holds until something writes to it (nexus-hx writes it first). */
const ORIGINAL = 'original';
const GROWN = 64 * 1024 * 1024;

/**
 * What a nexus-hx answer shows to be wrong (empty: nothing).  A mapping
 * errno of 0 means it was made (and written to, when writable); -1 that it
 * was never tried.
 */
export function sealProblems(check: SealCheck, a: Record<string, unknown>): string[] {
  const p: string[] = [];
  const n = (k: string) => (typeof a[k] === 'number' ? (a[k] as number) : Number.NaN);
  const content = a.content;
  for (const k of ['ret', 'content']) if (!(k in a)) p.push(`nexus-hx said nothing of ${k}`);
  if (p.length > 0) return p;
  switch (check) {
    case 'seal-write':
    case 'seal-future-write':
      if (n('map_rw_errno') === 0) p.push(`a writable clone of a write-sealed memfd was mapped shared and writable (clone ${n('clone_rw')})`);
      if (n('direct_rw_errno') === 0) p.push('the write-sealed memfd itself was mapped shared and writable (with a read-only clone mapped)');
      if (content !== ORIGINAL) p.push(`the write-sealed memfd's bytes changed: "${String(content)}"`);
      break;
    case 'seal-after-map':
      if (n('map_rw_errno') !== 0) p.push(`the writable clone could not be mapped (errno ${n('map_rw_errno')}): nothing was tried`);
      else if (n('seal_errno') === 0 && content !== ORIGINAL)
        p.push(`F_SEAL_WRITE was added under a clone's writable mapping, which then still wrote: "${String(content)}"`);
      else if (n('seal_errno') !== 0 && n('seal_errno') !== EBUSY) p.push(`F_SEAL_WRITE failed with errno ${n('seal_errno')}, expected EBUSY (${EBUSY})`);
      break;
    case 'reopen-clone':
      if (n('clone') !== 0) p.push(`the read-only clone could not be made (status ${n('clone')}): nothing was tried`);
      if (n('map_rw_errno') === 0) p.push('a reopened read-only clone descriptor was mapped shared and writable');
      if (content !== ORIGINAL) p.push(`the area's bytes changed through a reopened read-only clone descriptor: "${String(content)}"`);
      break;
    case 'memfd-grow':
      if (n('create') !== 0) p.push(`the area could not be made (status ${n('create')}): nothing was tried`);
      else if (n('grow_errno') === 0 && a.touched_far === true && n('area_space_delta') < GROWN)
        p.push(`the memfd grew to 64 MiB behind its one-page area and a clone wrote at 32 MiB${n('map_errno') !== 0 ? ` (its 64 MiB mmap refused, errno ${n('map_errno')}: through mremap of its one-page mapping)` : ''}, while area_space grew by ${n('area_space_delta')} bytes (info size ${n('info_size')})`);
      break;
  }
  return p;
}
