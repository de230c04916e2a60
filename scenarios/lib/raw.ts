// Requests built byte by byte (x86-64 layouts of kernel/include/nexus.h) and
// sent with nx.rawIoctl: what libnexus never sends - bad user pointers inside
// a request, name sizes shorter than the name, struct sizes below the
// kernel's - so a scenario can check the kernel copes with each.
import { nx } from '../native/index.js';

/** An address no process maps (the zero page). */
export const BAD_POINTER = 0x10n;
/** A kernel address: access_ok() refuses it. */
export const KERNEL_POINTER = 0xffff888000000000n;

export interface Field {
  at: number;
  kind: 'ptr' | 'u64' | 's64' | 's32' | 'u32';
}

/** A request struct: its size and its fields' offsets. */
export interface Layout {
  size: number;
  fields: Record<string, Field>;
}

const f = (at: number, kind: Field['kind']): Field => ({ at, kind });

export const LAYOUTS = {
  port_create: { size: 32, fields: { name: f(0, 'ptr'), size: f(8, 'u64'), capacity: f(16, 's32'), id: f(20, 's32'), ret: f(24, 's32') } },
  port_find: { size: 24, fields: { name: f(0, 'ptr'), size: f(8, 'u64'), id: f(16, 's32'), ret: f(20, 's32') } },
  port_io: {
    size: 56,
    fields: { id: f(0, 's32'), code: f(8, 'ptr'), buffer: f(16, 'ptr'), size: f(24, 'u64'), flags: f(32, 'u32'), timeout: f(40, 's64'), ret: f(48, 's32') },
  },
  port_get_info: { size: 24, fields: { id: f(0, 's32'), info: f(8, 'ptr'), ret: f(16, 's32') } },
  port_message_info: {
    size: 48,
    fields: { id: f(0, 's32'), size: f(8, 'u64'), flags: f(16, 'u32'), timeout: f(24, 's64'), info: f(32, 'ptr'), ret: f(40, 's32') },
  },
  sem_create: { size: 24, fields: { name: f(0, 'ptr'), count: f(8, 's32'), id: f(12, 's32'), ret: f(16, 's32') } },
} satisfies Record<string, Layout>;

export type Value = number | bigint | Uint8Array;

/** Build a request; a Uint8Array for a pointer field is pointed at (keep it alive while the call runs). */
export function request(layout: Layout, values: Record<string, Value>): Buffer {
  const b = Buffer.alloc(layout.size);
  for (const [name, v] of Object.entries(values)) {
    const field = layout.fields[name];
    if (!field) throw new Error(`no field ${name}`);
    const n = v instanceof Uint8Array ? nx.addressOf(v) : v;
    switch (field.kind) {
      case 'ptr':
      case 'u64':
        b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(n)), field.at);
        break;
      case 's64':
        b.writeBigInt64LE(BigInt(n), field.at);
        break;
      case 's32':
        b.writeInt32LE(Number(n), field.at);
        break;
      case 'u32':
        b.writeUInt32LE(Number(n), field.at);
        break;
    }
  }
  return b;
}

/** Read a field back after the call. */
export function field(layout: Layout, b: Buffer, name: string): number {
  const fl = layout.fields[name];
  if (!fl) throw new Error(`no field ${name}`);
  switch (fl.kind) {
    case 's32':
      return b.readInt32LE(fl.at);
    case 'u32':
      return b.readUInt32LE(fl.at);
    default:
      return Number(b.readBigInt64LE(fl.at));
  }
}

/** A NUL-terminated C string. */
export const cstring = (s: string): Buffer => Buffer.from(`${s}\0`, 'latin1');

/** ioctl(fd, cmd, request) and the request's ret field, or the errno when the ioctl itself failed. */
export function call(fd: number, cmd: number, layout: Layout, values: Record<string, Value>): { errno: number; ret: number; req: Buffer } {
  const req = request(layout, values);
  const r = nx.rawIoctl(fd, cmd, req);
  return { errno: r.errno, ret: field(layout, req, 'ret'), req };
}
