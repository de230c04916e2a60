// What the Nexus counters say, told from the ABI and /proc alone, for a tree
// without our debugfs counters file: any Nexus tree has teams (processes with
// a /dev/nexus* descriptor open), lists ports, semaphores and areas through
// its iteration ioctls, and its waiters are threads asleep in an ioctl on a
// Nexus device.  Counts the ABI cannot tell (port_bytes, thread records,
// vrefs, ...) are not made up: reading one ends the scenario as a skip that
// names it.
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { SkipError } from '../runner/api.js';
import { B_BAD_TEAM_ID, nx } from '../native/index.js';
import { parseStatState } from './proc.js';

/** x86-64 syscall number of ioctl(2) (the lab's guests are x86-64). */
const SYS_IOCTL = 16;
const B_OK = 0;

function numericEntries(dir: string): number[] {
  try {
    return readdirSync(dir).filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return [];
  }
}

function nexusFd(pid: number, fd: number | string): boolean {
  try {
    return readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith('/dev/nexus');
  } catch {
    return false;
  }
}

/**
 * The teams any tree has: the processes its iteration ioctl knows as teams
 * (GET_NEXT_PORT_FOR_TEAM answers B_BAD_TEAM_ID for any other pid).  A child
 * holding its parent's descriptor is no team (the fork rule), so a
 * descriptor scan would not do.
 */
export function teamPids(): number[] {
  if (!existsSync('/dev/nexus')) return [];
  return numericEntries('/proc').filter((pid) => nx.getNextPortInfo(pid, 0).status !== B_BAD_TEAM_ID);
}

/**
 * Parse /proc/<pid>/task/<tid>/syscall: the syscall number and first
 * argument of a thread blocked in a syscall ("16 0x3 0xc0186e1f ..."), or
 * undefined ("running", "-1 ...").
 */
export function parseSyscall(text: string): { nr: number; arg0: number } | undefined {
  const parts = text.trim().split(/\s+/);
  if (parts.length < 2 || !/^\d+$/.test(parts[0]!)) return undefined;
  return { nr: Number(parts[0]), arg0: Number.parseInt(parts[1]!, 16) };
}

/** Threads asleep in an ioctl on a Nexus device, system-wide. */
export function abiWaiters(): number {
  let n = 0;
  for (const pid of numericEntries('/proc')) {
    for (const tid of numericEntries(`/proc/${pid}/task`)) {
      const base = `/proc/${pid}/task/${tid}`;
      try {
        const call = parseSyscall(readFileSync(`${base}/syscall`, 'utf8'));
        if (!call || call.nr !== SYS_IOCTL) continue;
        const state = parseStatState(readFileSync(`${base}/stat`, 'utf8'));
        if ((state === 'S' || state === 'D') && nexusFd(pid, call.arg0)) n++;
      } catch {
        // the thread ended while we looked
      }
    }
  }
  return n;
}

/** Every item an iteration ioctl lists, cookie after cookie (bounded). */
export function listAll<T>(next: (cookie: number) => { status: number; cookie: number; info?: T }, limit = 1_000_000): T[] {
  const out: T[] = [];
  let cookie = 0;
  for (let i = 0; i < limit; i++) {
    const r = next(cookie);
    if (r.status !== B_OK || !r.info) break;
    out.push(r.info);
    if (r.cookie === cookie) break;
    cookie = r.cookie;
  }
  return out;
}

function hasAreaDevice(): boolean {
  return existsSync('/dev/nexus_area');
}

/** The counts the ABI can tell. */
export const ABI_COUNTERS = ['teams', 'waiters', 'ports', 'port_messages', 'sems', 'areas'];

/** The counts the ABI can tell, now. */
export function abiCounts(): Record<string, number> {
  const teams = teamPids();
  const areas = hasAreaDevice();
  let ports = 0;
  let messages = 0;
  let areaCount = 0;
  for (const t of teams) {
    for (const p of listAll((c) => nx.getNextPortInfo(t, c))) {
      ports++;
      messages += p.queueCount;
    }
    if (areas) areaCount += listAll((c) => nx.getNextAreaInfo(t, c)).length;
  }
  return {
    teams: teams.length,
    waiters: abiWaiters(),
    ports,
    port_messages: messages,
    sems: listAll((c) => nx.getNextSemInfo(0, c)).length,
    areas: areaCount,
  };
}

/**
 * A counters snapshot told by the ABI (abiCounts, taken now).  Reading a
 * count the ABI cannot tell throws a SkipError naming it, so a check of it
 * is never passed unmade.
 */
export function abiCounters(missingFile: string): Record<string, number> {
  const values = abiCounts();
  return new Proxy(values, {
    get(target, key) {
      if (typeof key !== 'string' || key in target || key === 'then' || key === 'toJSON') return Reflect.get(target, key);
      throw new SkipError(`this tree has no counters file (${missingFile}) and the ABI cannot tell the '${key}' count the scenario checks`);
    },
  });
}
