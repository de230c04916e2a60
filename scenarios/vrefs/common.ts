// Guest-side helpers of the vrefs and node-monitor suites (issue 9): the
// binding's vref, capability and watch calls, a scenario wrapper that also
// brings the vrefs, vref_slots, watches, node_events and port_caps counters
// back to their baseline, scratch files and directories removed at the end,
// descriptors closed at the end, and what /proc says of a descriptor.
import { closeSync, existsSync, mkdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Scenario } from '../runner/api.js';
import { nx, type PortCapIn } from '../native/index.js';
import { hasCountersFile, readCounters, tells, waitFor } from '../lib/guest.js';
import type { Agent } from '../lib/agent.js';
import { B_RELATIVE_TIMEOUT, SETTLE_MS, need } from '../lib/nexus.js';
import { plain, scenario as threadScenario, statusName as baseStatusName } from '../threads/common.js';

// ---------------------------------------------------------------------------
// The binding (scenarios/native/index.ts)

export const vx = nx;
export type { PortCapIn as CapIn, PortCapOut as CapOut, ReadCapsResult } from '../native/index.js';

// open(2) flags, from the binding's copy of <fcntl.h>.
export {
  O_RDONLY, O_WRONLY, O_RDWR, O_ACCMODE, O_CREAT, O_TRUNC, O_APPEND, O_NONBLOCK, O_DIRECTORY, O_NOFOLLOW, O_CLOEXEC, O_PATH,
} from '../native/index.js';
import { O_ACCMODE, O_APPEND, O_CLOEXEC, O_CREAT, O_DIRECTORY, O_NONBLOCK, O_PATH, O_RDONLY, O_TRUNC } from '../native/index.js';

export const EPERM = 1;
export const ENOENT = 2;
export const EBADF = 9;
export const EACCES = 13;
export const ENOTDIR = 20;
export const EINVAL = 22;
export const ENOSPC = 28;

const ERRNO_NAMES: Record<number, string> = {
  [-EPERM]: '-EPERM',
  [-ENOENT]: '-ENOENT',
  [-EBADF]: '-EBADF',
  [-EACCES]: '-EACCES',
  [-ENOTDIR]: '-ENOTDIR',
  [-EINVAL]: '-EINVAL',
  [-ENOSPC]: '-ENOSPC',
};

/**
 * Vref and watch calls return 0 or -errno: name those (-EPERM...), the rest
 * as Haiku statuses.  -ENOENT is B_ENTRY_NOT_FOUND and -EINVAL B_BAD_VALUE
 * by value; the errno name is what these calls mean.
 */
export function errnoName(v: unknown): string {
  return typeof v === 'number' && ERRNO_NAMES[v] ? `${ERRNO_NAMES[v]} (${v})` : baseStatusName(v);
}

export function expectErrno(ctx: Ctx, actual: unknown, expected: number, message: string): boolean {
  return ctx.check(actual === expected, message, errnoName(expected), errnoName(actual));
}

// ---------------------------------------------------------------------------
// Counters

/** The counters issue 9 adds; every scenario of both suites brings them back. */
export const NM_COUNTERS = ['vrefs', 'vref_slots', 'watches', 'node_events', 'port_caps'];

/** The issue-9 counters now, as {name: value}. */
export function nmCounters(): Record<string, number> {
  const c = readCounters();
  return Object.fromEntries(NM_COUNTERS.filter((k) => k in c).map((k) => [k, c[k] ?? -1]));
}

/** The issue-9 counters relative to a baseline ({vrefs: +1, ...}), for readable checks. */
export function nmDelta(base: Record<string, number>): Record<string, number> {
  const c = readCounters();
  return Object.fromEntries(NM_COUNTERS.filter((k) => k in c).map((k) => [k, (c[k] ?? 0) - (base[k] ?? 0)]));
}

/** Check some counters against the baseline plus `delta` (0 for the ones not named). */
export function expectDelta(ctx: Ctx, base: Record<string, number>, delta: Partial<Record<string, number>>, what: string): boolean {
  // On a tree without our counters file these counts are not checked (said on stderr).
  const want = Object.fromEntries(NM_COUNTERS.filter((k) => tells(ctx, base, k)).map((k) => [k, delta[k] ?? 0]));
  return ctx.equal(nmDelta(base), want, `${what}: counters (change since the scenario began)`);
}

/** Wait until the issue-9 counters are baseline + delta; whether they got there. */
export function settleDelta(base: Record<string, number>, delta: Partial<Record<string, number>>, ms = SETTLE_MS): Promise<boolean> {
  const keys = NM_COUNTERS.filter((k) => k in base);
  return waitFor(() => keys.every((k) => (readCounters()[k] ?? 0) - (base[k] ?? 0) === (delta[k] ?? 0)), ms, 10);
}

/**
 * threads/common's scenario (teams, ports, sems, port messages and space,
 * waiters, threads, thread messages, areas and area space back to the
 * baseline, clean-ups on every path), plus the issue-9 counters: vrefs,
 * vref_slots, watches, node_events and port_caps.  Needs the node monitor's
 * device: without /dev/nexus_node_monitor the scenario fails at once.
 */
export function scenario(
  name: string,
  run: (ctx: Ctx, base: Record<string, number>) => Promise<void> | void,
  opts: { timeoutMs?: number } = {},
): Scenario {
  let base: Record<string, number> | undefined;
  const inner = threadScenario(
    name,
    async (ctx, b) => {
      base = b;
      if (hasCountersFile()) for (const k of NM_COUNTERS) need(ctx, typeof b[k] === 'number', `the counters file has a ${k} line`, k, Object.keys(b));
      need(ctx, existsSync(NODE_MONITOR_DEVICE), `${NODE_MONITOR_DEVICE} exists (nexus_node_monitor.ko is loaded)`);
      await run(ctx, b);
    },
    opts,
  );
  return {
    ...inner,
    async run(ctx) {
      base = undefined;
      await inner.run(ctx);
      if (!base) return;
      const b = base;
      const keys = NM_COUNTERS.filter((k) => k in b);
      await waitFor(() => keys.every((k) => readCounters()[k] === b[k]), SETTLE_MS, 20);
      const after = readCounters();
      for (const k of keys) ctx.equal(after[k], b[k], `counter ${k} is back to its value before the scenario`);
    },
  };
}

export const NODE_MONITOR_DEVICE = '/dev/nexus_node_monitor';

// ---------------------------------------------------------------------------
// Files, directories and descriptors

let serial = 0;

/**
 * A fresh directory under `parent` (default /var/tmp: ext4, the guest's root
 * disk, which has user xattrs; /tmp is a tmpfs), removed with everything in
 * it at the end of the scenario.
 */
export function scratchDir(ctx: Ctx, tag: string, parent = '/var/tmp'): string {
  const dir = join(parent, `nexus-lab-${tag}-${process.pid}-${++serial}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { mode: 0o755 });
  ctx.defer(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** Close `fd` at the end of the scenario (unless it was closed already). */
export function closeLater(ctx: Ctx, fd: number): number {
  ctx.defer(() => {
    try {
      closeSync(fd);
    } catch {
      // closed already
    }
  });
  return fd;
}

/** The flags /proc/self/fdinfo gives for a descriptor of this process (octal there), or -1. */
export function fdFlags(fd: number): number {
  try {
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8'));
    return m ? parseInt(m[1]!, 8) : -1;
  } catch {
    return -1;
  }
}

/** The file a descriptor of this process refers to (its /proc/self/fd link), or '' when it is not open. */
export function fdTarget(fd: number): string {
  try {
    return readlinkSync(`/proc/self/fd/${fd}`);
  } catch {
    return '';
  }
}

/** An access mode's name (O_RDONLY, O_WRONLY, O_RDWR), with the other flags that matter here. */
export function modeName(flags: number): string {
  const acc = ['O_RDONLY', 'O_WRONLY', 'O_RDWR', 'O_ACCMODE'][flags & O_ACCMODE]!;
  const more: [number, string][] = [
    [O_PATH, 'O_PATH'],
    [O_DIRECTORY, 'O_DIRECTORY'],
    [O_APPEND, 'O_APPEND'],
    [O_NONBLOCK, 'O_NONBLOCK'],
    [O_CLOEXEC, 'O_CLOEXEC'],
    [O_CREAT, 'O_CREAT'],
    [O_TRUNC, 'O_TRUNC'],
  ];
  return [acc, ...more.filter(([b]) => (flags & b) !== 0).map(([, n]) => n)].join('|');
}

export { plain };

// ---------------------------------------------------------------------------
// A second team (nexus-agent, scenarios/lib/agent.ts's typed commands), in
// the binding's terms (status rather than ret, data as bytes)

export interface AgentVref {
  status: number;
  id: number;
  key: bigint;
}

/** vref_create PATH MODE: the agent opens PATH with MODE (open(2) flags) and makes a vref of it. */
export async function agentVrefCreate(a: Agent, path: string, mode = O_RDONLY): Promise<AgentVref> {
  const r = await a.vrefCreate(path, mode);
  return { status: r.ret, id: r.id, key: r.key };
}

export async function agentVrefAcquire(a: Agent, id: number, key: bigint): Promise<{ status: number; key: bigint }> {
  const r = await a.vrefAcquire(id, key);
  return { status: r.ret, key: r.key };
}

export async function agentVrefRelease(a: Agent, id: number, key: bigint): Promise<number> {
  return a.vrefRelease(id, key);
}

export interface AgentOpen {
  /** 0 or -errno. */
  status: number;
  /** The descriptor the agent got (closed again unless kept). */
  fd: number;
  /** Its F_GETFL flags. */
  flags: number;
  /** A 0-byte write (or HEX's bytes): bytes or -errno. */
  write: number;
  /** pread of 64 bytes at 0: bytes or -errno. */
  read: number;
  /** What the pread got. */
  data: Buffer;
}

/** vref_open: the agent opens, writes (nothing, or hex), preads 64 bytes at 0. */
export async function agentVrefOpen(a: Agent, id: number, key: bigint, mode: number, opts: { hex?: string; keep?: boolean } = {}): Promise<AgentOpen> {
  const r = await a.vrefOpen(id, key, mode, opts);
  return {
    status: r.ret,
    fd: r.fd ?? -1,
    flags: r.flags ?? -1,
    write: r.write ?? -1,
    read: r.read ?? -1,
    data: Buffer.from(r.hex ?? '', 'hex'),
  };
}

/** write_caps with a relative timeout of 0 (never blocks). */
export async function agentWriteCaps(a: Agent, port: number, code: number, data: Uint8Array, caps: PortCapIn[]): Promise<number> {
  return a.writeCaps(port, code, Buffer.from(data).toString('hex'), caps, B_RELATIVE_TIMEOUT, 0);
}

export interface AgentReadCaps {
  status: number;
  code: number;
  size: number;
  capsCount: number;
  data: Buffer;
  caps: { kind: number; vrefId: number; offset: number; key: bigint }[];
}

/** read_caps with a relative timeout (µs, default 0: never blocks). */
export async function agentReadCaps(a: Agent, port: number, size: number, capsRoom: number, timeoutUs = 0): Promise<AgentReadCaps> {
  const r = await a.readCaps(port, size, capsRoom, B_RELATIVE_TIMEOUT, timeoutUs);
  return { status: r.ret, code: r.code, size: r.size, capsCount: r.capsCount, data: Buffer.from(r.hex ?? '', 'hex'), caps: r.caps };
}

/**
 * watch_raw PATH|FD FLAGS PORT TOKEN: NEXUS_START_WATCHING itself, 0 or
 * -errno (a path is opened O_RDONLY for the call: -EACCES may come from
 * that open; an open_fd descriptor puts the kernel's own check to the test).
 */
export async function agentWatch(a: Agent, target: string | number, flags: number, port: number, token: number): Promise<number> {
  return a.watchRaw(target, flags, port, token >>> 0);
}

/** watch_raw -1 FLAGS PORT TOKEN VREF: START_WATCHING on a vref's node: 0 or -errno. */
export async function agentWatchVref(a: Agent, vrefId: number, flags: number, port: number, token: number): Promise<number> {
  return a.watchRaw(-1, flags, port, token >>> 0, vrefId);
}

/** What /proc says of an agent's descriptor: the file and the open flags. */
export function agentFd(pid: number, fd: number): { target: string; flags: number } {
  let target = '';
  let flags = -1;
  try {
    target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    const m = /^flags:\s+([0-7]+)$/m.exec(readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'));
    if (m) flags = parseInt(m[1]!, 8);
  } catch {
    // not open
  }
  return { target, flags };
}
