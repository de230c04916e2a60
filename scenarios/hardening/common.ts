// Guest-side helpers of the hardening suite: agents as other users or in
// other namespaces, module parameters changed for one scenario, memory and
// process state from /proc.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import type { Ctx, Scenario } from '../runner/api.js';
import { treeHas } from '../runner/probe.js';
import { Agent, type AgentAnswer, type AgentOptions } from '../lib/agent.js';
import { B_NAME_NOT_FOUND, expectStatus, need, scenario, statusName } from '../lib/nexus.js';
import { checkNewCounters } from '../lib/storm.js';
import { KMEMLEAK } from '../lib/leaks.js';
import { moduleParamPath } from '../lib/guest.js';
import { allocatorDebug, parseMeminfo, parseNsTids, procState, type AllocatorDebug, type Check } from './model.js';

export const NOBODY = 65534;
export const USER = 1000;

/**
 * Start an agent the scenario kills at its end, and check it can use
 * /dev/nexus (so its team exists).  Its `ids` answer comes along: the pid
 * as the agent sees it and its pid in the guest's namespace (nspid[0]).
 */
export async function agentAs(ctx: Ctx, opts: AgentOptions, what: string): Promise<{ a: Agent; ids: AgentAnswer; hostPid: number }> {
  const a = await Agent.start(opts);
  ctx.defer(() => a.kill());
  const r = await a.call('port_find nexus-lab-no-such-port');
  need(ctx, r.ret === B_NAME_NOT_FOUND, `${what}: the agent can use /dev/nexus`, statusName(B_NAME_NOT_FOUND), statusName(r.ret));
  const ids = await a.call('ids');
  const nspid = ids.nspid as number[];
  need(ctx, Array.isArray(nspid) && nspid.length > 0, `${what}: the agent knows its pid`, 'an NSpid line', ids);
  return { a, ids, hostPid: nspid[0]! };
}

export interface Started {
  a: Agent;
  ids: AgentAnswer;
  hostPid: number;
}

/** Starts agents (agentAs) that the scenario ends before its counters are checked. */
export type StartAgent = (opts: AgentOptions, what: string) => Promise<Started>;

export const AREA_DEVICE = '/dev/nexus_area';

/**
 * A scenario whose agents own threads and areas: its body starts them with
 * `start`; once it is done they are killed (their teams end, taking their
 * thread records and areas along) and the thread and area counters must be
 * back where they were, as scenario() checks the older ones.  `needs`:
 * skipped when the tree has no thread records (no threads counter) or the
 * guest no /dev/nexus_area.
 */
export function teamScenario(
  name: string,
  needs: { threads?: boolean; areas?: boolean },
  run: (ctx: Ctx, base: Record<string, number>, start: StartAgent) => Promise<void>,
  opts: { timeoutMs?: number } = {},
): Scenario {
  return scenario(name, async (ctx, base) => {
    if (needs.threads && !treeHas('threads', 'threads' in base)) ctx.skip('the tree has no threads');
    if (needs.areas && !existsSync(AREA_DEVICE)) ctx.skip(`${AREA_DEVICE} is missing: no nexus_area module loaded`);
    const started: Agent[] = [];
    const start: StartAgent = async (o, what) => {
      const s = await agentAs(ctx, o, what);
      started.push(s.a);
      return s;
    };
    try {
      await run(ctx, base, start);
    } finally {
      await Promise.all(started.map((a) => a.kill()));
    }
    await checkNewCounters(ctx, base);
  }, opts);
}

/**
 * The tid in the guest's pid namespace of a thread of process `hostPid`
 * whose tid is `inner` in the innermost namespace (from each task's NSpid
 * line), or undefined.
 */
export function outerTid(hostPid: number, inner: number): number | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${hostPid}/task`);
  } catch {
    return undefined;
  }
  for (const tid of tids) {
    try {
      const ns = parseNsTids(readFileSync(`/proc/${hostPid}/task/${tid}/status`, 'utf8'));
      if (ns.length > 1 && ns[ns.length - 1] === inner) return ns[0];
    } catch {
      // gone meanwhile
    }
  }
  return undefined;
}

/** Send a command; the answer's ret must be `expected`. */
export async function expectCall(ctx: Ctx, a: Agent, line: string, expected: number, message: string): Promise<AgentAnswer> {
  const r = await a.call(line);
  expectStatus(ctx, r.ret, expected, message);
  return r;
}

/** An id from an agent's create command, or the scenario stops. */
export async function created(ctx: Ctx, a: Agent, line: string, what: string): Promise<number> {
  const r = await a.call(line);
  need(ctx, typeof r.ret === 'number' && r.ret > 0, `${what} returns an id`, 'an id > 0', statusName(r.ret));
  return r.ret;
}

/** Report a list of checks. */
export function checkAll(ctx: Ctx, checks: Check[], what: string): boolean {
  let ok = true;
  for (const c of checks) ok = ctx.check(c.ok, `${what}: ${c.message}`, c.expected, c.actual) && ok;
  return ok;
}

// ---------------------------------------------------------------------------
// Module parameters

/** A parameter of the tree's modules (nexus.ko's in ours), or undefined when it has none by that name. */
export function moduleParam(name: string): number | undefined {
  const path = moduleParamPath(name);
  if (!path) return undefined;
  const v = Number(readFileSync(path, 'utf8').trim());
  return Number.isFinite(v) ? v : undefined;
}

/** Set a parameter for the rest of the scenario: its value is put back at the end. */
export function setModuleParam(ctx: Ctx, name: string, value: number): void {
  const before = moduleParam(name);
  const path = moduleParamPath(name);
  if (before === undefined || !path) ctx.skip(`the tree's modules have no ${name} parameter`);
  ctx.defer(() => writeFileSync(path, `${before}\n`));
  writeFileSync(path, `${value}\n`);
  ctx.equal(moduleParam(name), value, `${name} is set to ${value} for this scenario`);
}

// ---------------------------------------------------------------------------
// /proc

/** Bytes of unreclaimable slab right now. */
export function slabUnreclaimable(): number {
  const v = parseMeminfo(readFileSync('/proc/meminfo', 'utf8')).SUnreclaim;
  if (v === undefined) throw new Error('/proc/meminfo has no SUnreclaim line');
  return v;
}

/** What this guest's allocator adds to each object (model.ts: allocatorDebug). */
export function guestAllocatorDebug(): AllocatorDebug {
  return allocatorDebug((path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch {
      return undefined;
    }
  }, existsSync(KMEMLEAK));
}

/** A process's state letter ('' once it is gone). */
export function stateOf(pid: number): string {
  try {
    return procState(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return '';
  }
}

/** Set a sysctl for the rest of the scenario (when it exists and differs). */
export function setSysctl(ctx: Ctx, path: string, value: string): void {
  if (!existsSync(path)) return;
  const before = readFileSync(path, 'utf8').trim();
  if (before === value) return;
  ctx.defer(() => writeFileSync(path, `${before}\n`));
  writeFileSync(path, `${value}\n`);
}
