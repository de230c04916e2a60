// The node-monitor suite's tools: listener ports, watches that end with the
// scenario, node monitor messages read with a deadline and decoded by
// scenarios/lib/kmessage.ts, events in a flat comparable form, and the
// file-system operations the suite provokes (setfattr, mount).
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, openSync, statSync } from 'node:fs';
import type { Ctx } from '../runner/api.js';
import { B_NODE_MONITOR, B_RELATIVE_TIMEOUT, B_TIMED_OUT, B_WOULD_BLOCK, nx } from '../native/index.js';
import { sleep } from '../lib/guest.js';
import { SETTLE_MS, need, newPort } from '../lib/nexus.js';
import { decodeKMessage, nodeMonitorEvent, type KMessage, type NodeMonitorEvent } from '../lib/kmessage.js';
import { O_DIRECTORY, O_RDONLY, errnoName, vx } from '../vrefs/common.js';

/** Room for any node monitor message (a KMessage with two names of up to 255 bytes is well under 1 KiB). */
const READ_SIZE = 4096;
/** How long a scenario listens for events it does not expect, after the ones it does. */
export const QUIET_MS = 300;

/**
 * An event as plain data: the kind, the opcode, the watch's token (unsigned)
 * and the fields by name (devices as st_dev, inodes as numbers), keys in one
 * order, so that two events compare with JSON equality.
 */
export type Ev = Record<string, string | number>;

function canon(o: Record<string, string | number>): Ev {
  return Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** An event from the decoder, flattened (bigints as numbers: inode numbers fit). */
export function flat(ev: NodeMonitorEvent): Ev {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(ev)) out[k] = typeof v === 'bigint' ? Number(v) : (v as string | number);
  out.token = (out.token as number) >>> 0;
  return canon(out);
}

const ino = (n: number | bigint): number => Number(n);

export const ev = {
  created: (token: number, device: number, directory: number | bigint, node: number | bigint, name: string): Ev =>
    canon({ kind: 'created', opcode: 1, token: token >>> 0, device, directory: ino(directory), node: ino(node), name }),
  removed: (token: number, device: number, directory: number | bigint, node: number | bigint, name: string): Ev =>
    canon({ kind: 'removed', opcode: 2, token: token >>> 0, device, directory: ino(directory), node: ino(node), name }),
  moved: (token: number, device: number, fromDirectory: number | bigint, toDirectory: number | bigint, nodeDevice: number,
    node: number | bigint, fromName: string, name: string): Ev =>
    canon({
      kind: 'moved', opcode: 3, token: token >>> 0, device, fromDirectory: ino(fromDirectory), toDirectory: ino(toDirectory), nodeDevice,
      node: ino(node), fromName, name,
    }),
  stat: (token: number, device: number, node: number | bigint, fields: number): Ev =>
    canon({ kind: 'stat', opcode: 4, token: token >>> 0, device, node: ino(node), fields }),
  attr: (token: number, device: number, node: number | bigint, attr: string, cause: number): Ev =>
    canon({ kind: 'attr', opcode: 5, token: token >>> 0, device, node: ino(node), attr, cause }),
  mounted: (token: number, newDevice: number, device: number, directory: number | bigint): Ev =>
    canon({ kind: 'mounted', opcode: 6, token: token >>> 0, newDevice, device, directory: ino(directory) }),
  unmounted: (token: number, device: number): Ev => canon({ kind: 'unmounted', opcode: 7, token: token >>> 0, device }),
};

/** st_dev and st_ino of a path (not following a last symbolic link). */
export function node(path: string): { dev: number; ino: number } {
  const st = lstatSync(path, { bigint: true });
  return { dev: Number(st.dev), ino: Number(st.ino) };
}

/** One message read off a listener port. */
export interface Received {
  code: number;
  bytes: Buffer;
  msg?: KMessage;
  ev?: Ev;
  /** Why it could not be decoded. */
  error?: string;
}

function decode(code: number, bytes: Buffer): Received {
  try {
    const msg = decodeKMessage(bytes, { exact: true });
    return { code, bytes, msg, ev: flat(nodeMonitorEvent(msg)) };
  } catch (e) {
    return { code, bytes, error: e instanceof Error ? e.message : String(e) };
  }
}

/**
 * The next message of a port within `ms` (0: only one already queued);
 * undefined when none came.  A port error other than a timeout fails the
 * scenario (the port is gone).
 */
export async function nextMessage(ctx: Ctx, port: number, ms: number): Promise<Received | undefined> {
  let r = nx.readPortEtc(port, READ_SIZE, B_RELATIVE_TIMEOUT, 0);
  if (r.status === B_WOULD_BLOCK && ms > 0) r = await nx.readPortEtcAsync(port, READ_SIZE, B_RELATIVE_TIMEOUT, Math.round(ms * 1000));
  if (r.status === B_WOULD_BLOCK || r.status === B_TIMED_OUT) return undefined;
  need(ctx, r.status >= 0, `read_port of listener port ${port}`, 'a message or a timeout', errnoName(r.status));
  return decode(r.code, r.data.subarray(0, r.status));
}

/** Check a message is a well-formed node monitor message; its event. */
function checked(ctx: Ctx, m: Received, what: string): Ev | undefined {
  ctx.equal(m.code, B_NODE_MONITOR, `${what}: the port message's code is B_NODE_MONITOR`);
  if (!ctx.check(m.ev !== undefined, `${what}: the message decodes as a node monitor KMessage`, 'a valid KMessage', `${m.error}: ${m.bytes.toString('hex')}`))
    return undefined;
  return m.ev;
}

/**
 * Read `n` events (each within SETTLE_MS), then listen QUIET_MS more for
 * any that should not come.  Every message must be a valid node monitor
 * KMessage.  The events in arrival order (the unexpected ones included).
 */
export async function collect(ctx: Ctx, port: number, n: number, what: string, quietMs = QUIET_MS): Promise<Ev[]> {
  const out: Ev[] = [];
  for (let i = 0; i < n; i++) {
    const m = await nextMessage(ctx, port, SETTLE_MS);
    if (!m) {
      ctx.check(false, `${what}: event ${i + 1} of ${n} arrives within ${SETTLE_MS} ms`, `${n} events`, out);
      return out;
    }
    const e = checked(ctx, m, what);
    if (e) out.push(e);
  }
  for (;;) {
    const m = await nextMessage(ctx, port, quietMs);
    if (!m) break;
    const e = checked(ctx, m, what);
    out.push(e ?? { kind: 'undecodable' });
    if (out.length > n + 64) break;
  }
  return out;
}

/** Group events by token, each group in arrival order: {token: [ev, ...]}. */
function byToken(evs: Ev[]): Record<string, Ev[]> {
  const out: Record<string, Ev[]> = {};
  for (const e of [...evs].sort((a, b) => Number(a.token ?? 0) - Number(b.token ?? 0))) (out[String(e.token)] ??= []).push(e);
  return out;
}

const sortEvs = (evs: Ev[]): Ev[] => [...evs].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

/**
 * Read exactly the expected events (and no others): per watch (token) in
 * the order given; `unordered` compares each watch's events as a set.
 */
export async function expectEvents(ctx: Ctx, port: number, expected: Ev[], what: string, opts: { unordered?: boolean; quietMs?: number } = {}): Promise<Ev[]> {
  const got = await collect(ctx, port, expected.length, what, opts.quietMs);
  const norm = (evs: Ev[]) => {
    const g = byToken(evs);
    return opts.unordered ? Object.fromEntries(Object.entries(g).map(([k, v]) => [k, sortEvs(v)])) : g;
  };
  ctx.equal(norm(got), norm(expected), `${what}: exactly these events, per watch`);
  return got;
}

/** Check no event arrives within `ms`. */
export async function expectNoEvents(ctx: Ctx, port: number, what: string, ms = QUIET_MS): Promise<void> {
  await expectEvents(ctx, port, [], what, { quietMs: ms });
}

/** A listener port (deleted at the end of the scenario, which also ends its watches). */
export function listener(ctx: Ctx, name: string, capacity = 64): number {
  return newPort(ctx, capacity, name);
}

/** open(2) a path for watching: directories O_DIRECTORY. */
function openForWatch(path: string): number {
  const dir = statSync(path).isDirectory();
  return openSync(path, O_RDONLY | (dir ? O_DIRECTORY : 0));
}

/** START_WATCHING of a path (through a descriptor closed right after); the watch is stopped at the end. */
export function watch(ctx: Ctx, path: string, flags: number, port: number, token: number, what: string): void {
  const fd = openForWatch(path);
  let r: number;
  try {
    r = vx.startWatching(fd, flags, port, token);
  } finally {
    closeSync(fd);
  }
  need(ctx, r === 0, `${what}: start watching ${path} (flags 0x${flags.toString(16)}, token ${token >>> 0})`, 0, errnoName(r));
  ctx.defer(() => void vx.stopNotifying(port, token));
}

/** START_WATCHING of a path: its result (0 or -errno), nothing stopped at the end (the port's deletion does). */
export function tryWatch(path: string, flags: number, port: number, token: number): number {
  const fd = openForWatch(path);
  try {
    return vx.startWatching(fd, flags, port, token);
  } finally {
    closeSync(fd);
  }
}

/** Let the coarse file timestamps move on (a jiffy is 4 ms at HZ=250), so that each change shows in them. */
export const tick = () => sleep(30);

// ---------------------------------------------------------------------------
// Tools in the guest image

const SEARCH = ['/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A program's path in the guest, or undefined. */
export function tool(name: string): string | undefined {
  return SEARCH.map((d) => `${d}/${name}`).find((p) => existsSync(p));
}

/** Run a tool (found in the image, or the scenario stops), with a deadline; its stdout. */
export function run(ctx: Ctx, name: string, args: string[], what: string): string {
  const path = tool(name);
  need(ctx, path !== undefined, `the guest image has ${name} (${what})`, name, 'missing');
  try {
    return execFileSync(path, args, { encoding: 'utf8', timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (e) {
    const err = e as { stderr?: string; status?: number; message: string };
    need(ctx, false, `${what}: ${name} ${args.join(' ')}`, 'exit status 0', `${err.status ?? ''} ${String(err.stderr ?? err.message).trim()}`);
  }
}

/** setfattr -n NAME -v VALUE PATH. */
export function setXattr(ctx: Ctx, path: string, name: string, value: string): void {
  run(ctx, 'setfattr', ['-n', name, '-v', value, path], `set ${name} on ${path}`);
}

/** setfattr -x NAME PATH. */
export function removeXattr(ctx: Ctx, path: string, name: string): void {
  run(ctx, 'setfattr', ['-x', name, path], `remove ${name} from ${path}`);
}
