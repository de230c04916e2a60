// The ABI-level orphan scan, for any Nexus tree: after a scenario, no port,
// semaphore or area of a team that has exited may still be listed by the
// info and iteration ioctls.  A dead team's objects cannot be listed by its
// id (the team is gone), so the scan goes by object:
//   - semaphores: SEM_NEXT_INFO of every team lists them all, with owners;
//   - ports and areas: the ids handed out while the scenario ran lie between
//     a probe object made before it and one made after it (ids grow, as
//     Haiku's do), and PORT_INFO / AREA_GET_INFO tell each one's owner.
// An owner whose process is gone (or a zombie) has exited.
import { existsSync, readFileSync } from 'node:fs';
import { listAll } from '../lib/abi-counters.js';
import { sleep } from '../lib/guest.js';
import { parseStatState } from '../lib/proc.js';
import { B_OK, B_READ_AREA, B_WRITE_AREA, nx } from '../native/index.js';

/** Most ids of one kind one scan looks at (the newest ones). */
export const MAX_IDS = 50_000;
const PAGE = 4096;

export interface IdMarks {
  port?: number;
  area?: number;
}

function hasDevice(path: string): boolean {
  return existsSync(path);
}

/** Make and delete one port and one area: their ids mark where the ids stand now. */
export function markIds(): IdMarks {
  const marks: IdMarks = {};
  if (!hasDevice('/dev/nexus')) return marks;
  const port = nx.createPort(1, 'orphan-scan mark');
  if (port > 0) {
    marks.port = port;
    nx.deletePort(port);
  }
  if (hasDevice('/dev/nexus_area')) {
    const area = nx.createArea('orphan-scan mark', PAGE, 0, B_READ_AREA | B_WRITE_AREA);
    if (area > 0) {
      marks.area = area;
      nx.deleteArea(area);
    }
  }
  return marks;
}

/** The ids strictly between two marks, the newest MAX_IDS of them. */
export function idsBetween(from: number | undefined, to: number | undefined): number[] {
  if (from === undefined || to === undefined || to <= from + 1) return [];
  const first = Math.max(from + 1, to - MAX_IDS);
  return Array.from({ length: to - first }, (_, i) => first + i);
}

/** A team has exited: its process is gone, or a zombie. */
export function exited(team: number): boolean {
  try {
    return parseStatState(readFileSync(`/proc/${team}/stat`, 'utf8')) === 'Z';
  } catch {
    return true;
  }
}

function find(before: IdMarks, after: IdMarks): { scanned: number; found: string[] } {
  const found: string[] = [];
  let scanned = 0;
  for (const s of listAll((c) => nx.getNextSemInfo(0, c))) {
    scanned++;
    if (exited(s.team)) found.push(`semaphore ${s.sem} of team ${s.team}`);
  }
  for (const id of idsBetween(before.port, after.port)) {
    scanned++;
    const r = nx.getPortInfo(id);
    if (r.status === B_OK && r.info && exited(r.info.team)) found.push(`port ${id} of team ${r.info.team}`);
  }
  for (const id of idsBetween(before.area, after.area)) {
    scanned++;
    const r = nx.getAreaInfo(id);
    if (r.status === B_OK && r.info && exited(r.info.team)) found.push(`area ${id} of team ${r.info.team}`);
  }
  return { scanned, found };
}

/**
 * Scan for objects of exited teams made since `before`.  What is found is
 * looked at again for up to `settleMs` (a team's teardown may finish just
 * after its process is reaped): only what stays listed is reported.
 */
export async function scanOrphans(before: IdMarks, settleMs = 2_000): Promise<{ scanned: number; found: string[] }> {
  if (!hasDevice('/dev/nexus')) return { scanned: 0, found: [] };
  const after = markIds();
  let r = find(before, after);
  const until = performance.now() + settleMs;
  while (r.found.length > 0 && performance.now() < until) {
    await sleep(100);
    r = { scanned: r.scanned, found: find(before, after).found };
  }
  return r;
}
