// Areas on memfds the caller keeps (issue 8 item 7): a memfd is a file its
// holders share, and sealing it is a promise to all of them - Nexus must
// not become the way around a seal, nor around the area memory limit.
// scenarios/native/nexus-hx.c does what libnexus never would (seal the
// memfd, keep and grow it, reopen a clone's descriptor through /proc) and
// says what happened; ./model.ts's sealProblems() judges it.
//
//  - a memfd sealed with F_SEAL_WRITE (or F_SEAL_FUTURE_WRITE) keeps its
//    bytes, whatever is cloned and mapped from it (no writable shared
//    mapping through a clone, nor directly while a clone's mapping exists);
//  - F_SEAL_WRITE cannot be added while a clone's writable shared mapping
//    exists (EBUSY), or if it is, that mapping cannot write;
//  - a clone's descriptor reopened through /proc/self/fd gives no mapping
//    its clone was not granted;
//  - a memfd grown behind its area's back (ftruncate) gives a clone no
//    memory the area was not charged for, neither by mmap() nor by
//    mremap() of a mapping it was given.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Ctx, Scenario } from '../runner/api.js';
import { need, scenario } from '../lib/nexus.js';
import { checkNativeRun, runNative } from '../lib/proc.js';
import { AREA_DEVICE } from './common.js';
import { sealProblems, type SealCheck } from './model.js';

export const HX_PATH = fileURLToPath(new URL('../native/nexus-hx', import.meta.url));
const DEADLINE_MS = 30_000;

async function runCheck(ctx: Ctx, check: SealCheck): Promise<Record<string, unknown>> {
  if (!existsSync(AREA_DEVICE)) ctx.skip(`${AREA_DEVICE} is missing: no nexus_area module loaded`);
  need(ctx, existsSync(HX_PATH), `nexus-hx is installed at ${HX_PATH}`);
  const run = await runNative(ctx, HX_PATH, [check], DEADLINE_MS);
  checkNativeRun(ctx, run, { name: `nexus-hx ${check}`, deadlineS: DEADLINE_MS / 1000, slackMs: 0, codes: [0], ran: 'runs its check' });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  let answer: Record<string, unknown> = {};
  try {
    answer = JSON.parse(line) as Record<string, unknown>;
  } catch {
    need(ctx, false, `nexus-hx ${check} says what happened`, 'a JSON line', line);
  }
  process.stderr.write(`hardening/${ctx.scenario}: nexus-hx ${check}: ${line}\n`);
  return answer;
}

function sealScenario(name: string, check: SealCheck, what: string): Scenario {
  return scenario(name, async (ctx) => {
    const answer = await runCheck(ctx, check);
    const problems = sealProblems(check, answer);
    ctx.check(problems.length === 0, what, 'nothing wrong', problems);
  });
}

export const scenarios: Scenario[] = [
  sealScenario('seals-write-sealed-memfd-keeps-its-bytes-through-clones', 'seal-write',
    'a memfd sealed with F_SEAL_WRITE: no clone maps it writable, no clone mapping lets the memfd itself be, its bytes never change'),
  sealScenario('seals-future-write-sealed-memfd-keeps-its-bytes-through-clones', 'seal-future-write',
    'a memfd sealed with F_SEAL_FUTURE_WRITE: no clone maps it writable, its bytes never change'),
  sealScenario('seals-no-write-seal-under-a-clone-writable-mapping', 'seal-after-map',
    "F_SEAL_WRITE is refused while a clone's writable shared mapping exists, or that mapping writes no more"),
  sealScenario('seals-reopened-clone-descriptor-grants-nothing-more', 'reopen-clone',
    "a read-only clone's descriptor reopened through /proc/self/fd maps nothing writable"),
  sealScenario('limits-area-space-holds-when-the-memfd-grows-behind-the-area', 'memfd-grow',
    'a memfd grown with ftruncate behind its area gives a clone no memory beyond what the area was charged for'),
];
