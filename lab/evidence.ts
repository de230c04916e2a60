// The evidence matrix: per primitive x kernel, how far the run proved it.
// Levels, lowest first:
//   source      the tree declares it (its sources name the primitive's ioctls)
//   build       the tree built for that kernel
//   load        the modules loaded and the runner's probe found it
//   functional  its functional suites ran there and none of their scenarios
//               failed (skips allowed: they say why), in a job that ended
//               without a splat, a timeout or an infrastructure error
//   stress      races/hardening/fuzz/stress ran there and all passed
//   perf        its benchmark suite ran there and passed
// A level counts only when every level below it does: a release manager
// reads the highest one as "proven this far", and `reached` lists them all.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { listFiles } from './files.js';
import type { JobRecord } from './results.js';
import { SUITE_SKIPPED } from './results.js';
import { SUITES } from '../scenarios/suites.js';
import type { Primitive } from '../scenarios/runner/events.js';

export const LEVELS = ['source', 'build', 'load', 'functional', 'stress', 'perf'] as const;
export type Level = (typeof LEVELS)[number];

export const PRIMITIVES: readonly Primitive[] = ['teams', 'ports', 'sems', 'threads', 'areas', 'vrefs', 'node-monitor'];

/** The suites that prove a primitive under load, whatever it is. */
export const STRESS_SUITES = ['races', 'hardening', 'fuzz', 'stress'];

export interface EvidenceCell {
  /** The highest level reached with every level below it; 'none' when not even declared. */
  level: Level | 'none';
  /** Every level reached, in order (a higher one may be reached above a gap). */
  reached: Level[];
}

/** kernel id -> primitive -> cell. */
export type EvidenceMatrix = Record<string, Record<Primitive, EvidenceCell>>;

/** What a source file must name for the tree to declare each primitive. */
const DECLARES: Record<Primitive, RegExp> = {
  teams: /\bteams?\b|TEAM\b/,
  ports: /PORT_CREATE\b|\bcreate_port\b/,
  sems: /SEM_CREATE\b|\bcreate_sem\b/,
  threads: /THREAD_SPAWN\b|\bspawn_thread\b|THREAD_WRITE\b/,
  areas: /AREA_CREATE\b|\bcreate_area\b/,
  vrefs: /VREF_CREATE\b/,
  'node-monitor': /START_WATCHING\b|\bwatch_node\b/,
};

/** The primitives a tree's C sources and headers declare. */
export async function declaredPrimitives(tree: string): Promise<Primitive[]> {
  const files = (await listFiles(tree)).filter((f) => /\.[ch]$/.test(f) && !f.split('/').includes('.git'));
  const found = new Set<Primitive>();
  for (const f of files) {
    const text = await readFile(join(tree, f), 'utf8');
    for (const p of PRIMITIVES) if (!found.has(p) && DECLARES[p].test(text)) found.add(p);
    if (found.size === PRIMITIVES.length) break;
  }
  return PRIMITIVES.filter((p) => found.has(p));
}

const COUNTS = new Set(['pass', 'fail', 'skip']);

function suitesFor(p: Primitive, perf: boolean): string[] {
  return SUITES.filter((s) => (s.primitives ?? []).includes(p) && s.name.startsWith('perf-') === perf).map((s) => s.name);
}

/** Whether `suites` all ran in the jobs and none failed (a whole-suite skip is no run). */
function passed(jobs: readonly JobRecord[], suites: readonly string[], any = false): boolean {
  const ran = suites.map((suite) => {
    const sc = jobs.flatMap((j) => j.scenarios.filter((s) => s.suite === suite));
    if (sc.length === 0 || sc.some((s) => s.name === SUITE_SKIPPED)) return 'absent';
    return sc.every((s) => s.status === 'pass' || s.status === 'skip') && sc.some((s) => s.status === 'pass') ? 'pass' : 'fail';
  });
  if (ran.includes('fail')) return false;
  return any ? ran.includes('pass') : ran.length > 0 && ran.every((r) => r === 'pass');
}

/** The evidence matrix of a run's jobs (quick and release profiles alike). */
export function evidenceMatrix(jobs: readonly JobRecord[], declared: readonly Primitive[]): EvidenceMatrix {
  const out: EvidenceMatrix = {};
  for (const kernel of [...new Set(jobs.map((j) => j.kernel.id))]) {
    const mine = jobs.filter((j) => j.kernel.id === kernel);
    // Jobs whose suites count: those that ended with a verdict about the tree.
    const judged = mine.filter((j) => j.verdict !== undefined && COUNTS.has(j.verdict));
    const row = {} as Record<Primitive, EvidenceCell>;
    for (const p of PRIMITIVES) {
      const has: Record<Level, boolean> = {
        source: declared.includes(p),
        build: mine.some((j) => j.build?.ok === true) || mine.some((j) => j.release !== undefined && j.features !== undefined),
        load: mine.some((j) => j.features?.primitives[p]?.present === true),
        functional: passed(judged, suitesFor(p, false)),
        stress: passed(judged, STRESS_SUITES.filter((s) => judged.some((j) => j.suites.includes(s))), false) &&
          STRESS_SUITES.some((s) => judged.some((j) => j.suites.includes(s))),
        perf: passed(judged, suitesFor(p, true), true),
      };
      const reached = LEVELS.filter((l) => has[l]);
      let level: Level | 'none' = 'none';
      for (const l of LEVELS) {
        if (!has[l]) break;
        level = l;
      }
      row[p] = { level, reached };
    }
    out[kernel] = row;
  }
  return out;
}

/** The matrix as text: a row per primitive, a column per kernel. */
export function evidenceTable(m: EvidenceMatrix): string {
  const kernels = Object.keys(m);
  const w = Math.max(9, ...PRIMITIVES.map((p) => p.length));
  const cols = kernels.map((k) => Math.max(k.length, 10));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(w) : c.padEnd(cols[i - 1]!))).join('  ').trimEnd();
  const rows = [line(['primitive', ...kernels])];
  for (const p of PRIMITIVES) {
    rows.push(line([p, ...kernels.map((k) => {
      const c = m[k]![p];
      const above = c.reached.filter((l) => LEVELS.indexOf(l) > LEVELS.indexOf(c.level as Level));
      return above.length > 0 ? `${c.level} (+${above.join(',')})` : c.level;
    })]));
  }
  return rows.join('\n');
}
