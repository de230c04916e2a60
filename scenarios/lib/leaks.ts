// Leak evidence any tree gives, whatever its counters: the kernel's slab
// object counts and unreclaimable slab memory before and after each suite,
// and kmemleak's reports where the kernel has it.  The runner calls
// leakHooks() once and walks each suite's scenarios through rounds(), which
// runs them `leaks.repeat` times with a snapshot before the first round and
// after every round; the host (lab/leaks.ts) turns the snapshots into
// per-repetition growth and applies the leak rule.
//
// Noise, and what the settle step does about it:
// - SLUB counts the objects of per-CPU slabs as in use, so /proc/slabinfo's
//   active_objs moves by up to a slab per CPU with no allocation at all.
//   Writing 1 to /sys/kernel/slab/<cache>/shrink flushes the per-CPU slabs
//   and frees empty ones first, so the count read after it is the objects
//   really allocated.
// - Objects freed with kfree_rcu() or from a workqueue stay allocated until a
//   grace period or the work runs.  drop_caches=2 runs every shrinker, which
//   includes kfree_rcu's batch drain and frees unused dentries and inodes
//   (whose external names live in kmalloc caches); a short sleep lets the
//   grace periods and deferred work end.  The page cache (drop_caches=1) is
//   not slab, so it is left alone: dropping it only makes the next suite slower.
// - SLUB merges caches of the same size and flags (slab_nomerge is a boot
//   option, not a runtime one), so a module's kmem_cache may not be listed in
//   /proc/slabinfo under its own name: it is then reported under the cache
//   it was merged into (`merged`), which other users share, so its deltas are
//   noisier.
import { existsSync, readdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { GuestEvent, KmemleakReport, KmemleakEvent, SlabSnapshot } from '../runner/events.js';

export const SLABINFO = '/proc/slabinfo';
export const MEMINFO = '/proc/meminfo';
export const KMEMLEAK = '/sys/kernel/debug/kmemleak';
const SYS_SLAB = '/sys/kernel/slab';
/** kmemleak's MSECS_MIN_AGE: younger objects are not reported yet. */
const KMEMLEAK_MIN_AGE_MS = 5_000;
const DROP_CACHES = '/proc/sys/vm/drop_caches';

export interface SlabCache {
  /** active_objs: objects in use (all of a per-CPU slab's unless shrunk first). */
  active: number;
  /** num_objs: objects the cache's slabs hold. */
  total: number;
  /** Bytes per object. */
  objsize: number;
}

/** Parse /proc/slabinfo (version 2.x): cache name -> counts; header and malformed lines are skipped. */
export function parseSlabinfo(text: string): Map<string, SlabCache> {
  const out = new Map<string, SlabCache>();
  for (const line of text.split('\n')) {
    if (line.startsWith('slabinfo') || line.startsWith('#')) continue;
    const m = /^(\S+)\s+(\d+)\s+(\d+)\s+(\d+)\s/.exec(line);
    if (m) out.set(m[1]!, { active: Number(m[2]), total: Number(m[3]), objsize: Number(m[4]) });
  }
  return out;
}

/** Parse /proc/meminfo: field -> value in kB (or a plain count for the fields without a unit). */
export function parseMeminfo(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line);
    if (m) out[m[1]!] = Number(m[2]);
  }
  return out;
}

/**
 * Is this a cache of the tree: its name says nexus, or starts with a loaded
 * module's name (kernel caches are named after their owner: nexus_port).
 * Only a prefix: a module named "area" must not claim vm_area_struct.
 */
export function moduleCache(name: string, modules: readonly string[]): boolean {
  const n = name.toLowerCase();
  return n.includes('nexus') || modules.some((m) => m.length > 0 && n.startsWith(m.toLowerCase()));
}

/** The caches a snapshot keeps: the tree's own and the kmalloc ones (kmalloc-N, kmalloc-cg-N, kmalloc-rcl-N). */
export function keptCache(name: string, modules: readonly string[]): boolean {
  return /^kmalloc-/.test(name) || moduleCache(name, modules);
}

/** The first this many reports of a scan keep their text (hex dump and all); a leak in a loop makes thousands. */
export const KMEMLEAK_TEXT_REPORTS = 20;

/**
 * Parse kmemleak's report:
 *   unreferenced object 0xffff888003f5a000 (size 64):
 *     comm "insmod", pid 123, jiffies 4294894556 (age 13.320s)
 *     hex dump (first 32 bytes): ...
 *     backtrace:            (6.8+: "backtrace (crc 1f2e3d4c):")
 *       [<00000000c4e3ab4d>] kmalloc_trace+0x26/0x60    (newer kernels drop the [<...>])
 * The first KMEMLEAK_TEXT_REPORTS reports keep their lines as printed (`text`).
 */
export function parseKmemleak(text: string): KmemleakReport[] {
  const out: KmemleakReport[] = [];
  let cur: KmemleakReport | undefined;
  let inTrace = false;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    const head = /^unreferenced object (0x[0-9a-f]+) \(size (\d+)\):/.exec(line);
    if (head) {
      cur = { address: head[1]!, size: Number(head[2]), comm: '', pid: -1, backtrace: [] };
      if (out.length < KMEMLEAK_TEXT_REPORTS) cur.text = line;
      out.push(cur);
      inTrace = false;
      continue;
    }
    if (!cur) continue;
    if (cur.text !== undefined && line !== '') cur.text += `\n${line}`;
    const comm = /^\s+comm "(.*)", pid (\d+), jiffies (\d+)(?: \(age ([\d.]+)s\))?/.exec(line);
    if (comm) {
      cur.comm = comm[1]!;
      cur.pid = Number(comm[2]);
      if (comm[4] !== undefined) cur.ageSecs = Number(comm[4]);
      continue;
    }
    if (/^\s+backtrace( \(crc [0-9a-f]+\))?:/.test(line)) {
      inTrace = true;
      continue;
    }
    if (/^\s+hex dump/.test(line)) {
      inTrace = false;
      continue;
    }
    if (inTrace && line.trim() !== '') cur.backtrace.push(line.trim().replace(/^\[<[0-9a-f]+>\]\s*/, ''));
  }
  return out;
}

/** Loaded modules the kernel marks out of tree (taint O): the tree under test, whatever it names them. */
export function outOfTreeModules(): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/modules', 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '')
    .filter((name) => {
      if (!name) return false;
      try {
        return readFileSync(`/sys/module/${name}/taint`, 'utf8').includes('O');
      } catch {
        return false;
      }
    });
}

function tryWrite(path: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch {
    // not there or not allowed: the snapshot is noisier, not wrong
  }
}

function realpathOr(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * The module caches /sys/kernel/slab knows but /proc/slabinfo does not list
 * (merged): alias -> the listed cache it is an alias of.
 */
function mergedCaches(listed: ReadonlyMap<string, SlabCache>, modules: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  let names: string[];
  try {
    names = readdirSync(SYS_SLAB);
  } catch {
    return out;
  }
  const aliases = names.filter((n) => moduleCache(n, modules) && !listed.has(n));
  if (aliases.length === 0) return out;
  const byTarget = new Map<string, string>();
  for (const name of listed.keys()) {
    const target = realpathOr(`${SYS_SLAB}/${name}`);
    if (target && !byTarget.has(target)) byTarget.set(target, name);
  }
  for (const a of aliases) {
    const root = byTarget.get(realpathOr(`${SYS_SLAB}/${a}`) ?? '');
    if (root) out[a] = root;
  }
  return out;
}

/** The counts a snapshot records, from the two files' text: the caches `keep` says, SUnreclaim and Slab. */
export function countsOf(
  slabText: string,
  memText: string,
  keep: (cache: string) => boolean,
): Pick<SlabSnapshot, 'objects' | 'objsize' | 'sunreclaimKiB' | 'slabKiB'> {
  const objects: Record<string, number> = {};
  const objsize: Record<string, number> = {};
  for (const [n, c] of parseSlabinfo(slabText)) {
    if (!keep(n)) continue;
    objects[n] = c.active;
    objsize[n] = c.objsize;
  }
  const mem = parseMeminfo(memText);
  return { objects, objsize, sunreclaimKiB: mem.SUnreclaim ?? -1, slabKiB: mem.Slab ?? -1 };
}

/** Let deferred frees happen and per-CPU slabs empty, so the counts are the objects really held. */
async function settle(settleMs: number, caches: Iterable<string>): Promise<void> {
  tryWrite(DROP_CACHES, '2');
  await sleep(settleMs);
  for (const c of caches) tryWrite(`${SYS_SLAB}/${c}/shrink`, '1');
}

/** Settle, then read the kept caches and unreclaimable slab memory; `dump` copies the raw files to stderr (the runner log). */
export async function slabSnapshot(
  suite: string,
  rep: number,
  repeat: number,
  settleMs: number,
  modules: readonly string[],
  dump = false,
): Promise<Omit<SlabSnapshot, 't'>> {
  const base = { type: 'slab' as const, suite, rep, repeat, modules: [...modules], kmemleak: existsSync(KMEMLEAK) };
  try {
    const first = parseSlabinfo(readFileSync(SLABINFO, 'utf8'));
    const merged = mergedCaches(first, modules);
    const kept = [...first.keys()].filter((n) => keptCache(n, modules) || Object.values(merged).includes(n));
    await settle(settleMs, kept);
    const slabText = readFileSync(SLABINFO, 'utf8');
    const memText = readFileSync(MEMINFO, 'utf8');
    if (dump) process.stderr.write(`leaks: ${suite} round ${rep}: ${SLABINFO}\n${slabText}\nleaks: ${MEMINFO}\n${memText}\n`);
    return { ...base, ...countsOf(slabText, memText, (n) => kept.includes(n)), merged };
  } catch (e) {
    return { ...base, objects: {}, objsize: {}, merged: {}, sunreclaimKiB: -1, slabKiB: -1, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * kmemleak after a round: scan twice, read what it found, clear, so the next
 * round reports only its own.  Twice, because a scan does not report an
 * object whose contents changed since the scan before (its checksum), and
 * an object allocated since then has: the first scan checksums what the
 * round allocated, the second reports it.  With one scan a leak of the
 * round was reported at the next scan, the next suite's.
 */
export function kmemleakScan(suite: string, rep: number): Omit<KmemleakEvent, 't'> {
  try {
    writeFileSync(KMEMLEAK, 'scan');
    writeFileSync(KMEMLEAK, 'scan');
    const reports = parseKmemleak(readFileSync(KMEMLEAK, 'utf8'));
    writeFileSync(KMEMLEAK, 'clear');
    return { type: 'kmemleak', suite, rep, reports };
  } catch (e) {
    return { type: 'kmemleak', suite, rep, reports: [], error: e instanceof Error ? e.message : String(e) };
  }
}

export interface LeakHooks {
  /** How many times each suite runs (leaks.repeat, default 1). */
  readonly repeat: number;
  /** The suite's scenarios `repeat` times over, with a snapshot before the first and after each round. */
  rounds<T>(suite: string, scenarios: readonly T[]): AsyncGenerator<T>;
}

/**
 * The runner's hooks, from its run parameters: leaks.repeat (rounds per
 * suite, default 1), leaks.settle-ms (the settle sleep, default 1000),
 * leaks.slab (0 turns the snapshots off, e.g. for perf runs that want warm
 * caches), leaks.dump (1 copies the raw /proc files to the runner log).
 */
export function leakHooks(param: (name: string, fallback: number) => number, emit: (ev: GuestEvent) => void, now: () => number): LeakHooks {
  const repeat = Math.max(1, Math.floor(param('leaks.repeat', 1)));
  const settleMs = Math.max(0, param('leaks.settle-ms', 1000));
  const on = param('leaks.slab', 1) !== 0;
  const dump = param('leaks.dump', 0) !== 0;
  const kmemleak = on && existsSync(KMEMLEAK);
  const snap = async (suite: string, rep: number) => {
    if (!on) return;
    // kmemleak reports only objects older than 5 s: after the last round, let the last ones age.
    if (kmemleak && rep === repeat) await sleep(KMEMLEAK_MIN_AGE_MS);
    // Round 0 scans too: what was unreferenced before the suite (boot, module
    // load, an earlier suite) is reported and cleared there, as round 0, and
    // not in the suite's first round.  'clear' alone forgets only what a scan
    // has reported.
    if (kmemleak) emit({ ...kmemleakScan(suite, rep), t: now() });
    emit({ ...(await slabSnapshot(suite, rep, repeat, settleMs, outOfTreeModules(), dump)), t: now() });
  };
  return {
    repeat,
    async *rounds<T>(suite: string, scenarios: readonly T[]) {
      await snap(suite, 0);
      for (let rep = 1; rep <= repeat; rep++) {
        for (const sc of scenarios) yield sc;
        await snap(suite, rep);
      }
    },
  };
}
