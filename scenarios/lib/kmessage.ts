// Haiku KMessages as nexus_node_monitor.ko writes them into a listener's port
// (the layout of NEXUS-ABI.md "Node monitor" and kernel/include/nexus.h's
// KMESSAGE_*), decoded without trusting a byte: the kernel under test is the
// thing being checked, so every size and offset is bounds-checked and bad
// bytes are rejected with a KMessageError naming what is wrong and where.
//
// Layout (little-endian, every offset from the message's first byte):
//   header, 28 bytes: int32 magic 'kMsG', int32 size (the whole message),
//     uint32 what, int32 sender, int32 target token, int32 reply port,
//     int32 reply token;
//   fields from 28 on, each at a 4-aligned offset:
//     uint32 type, int32 elementSize (-1: variable), int32 count,
//     int32 fieldSize (header + data), int16 headerSize (18 bytes so far),
//     the name from byte 18, NUL-terminated, padded to
//     headerSize = align4(20 + strlen(name)) as Haiku's KMessage does
//     (align4(sizeof(FieldHeader) + strlen), its struct 20 bytes: the 18, a
//     char name[1] and a byte of padding; = align4(18 + strlen + NUL + 1), so
//     at least 20 for a 1-byte name); then the data: fixed-size elements
//     back to back (count * elementSize bytes), or for variable ones per
//     element an int32 size then the bytes (a string's NUL included), each
//     element padded to 4.  The next field starts at align4(start + fieldSize).
//
// Fields are read by name and a consumer ignores the ones it does not know;
// a type code the decoder does not know is kept as raw bytes.
//
// This module loads no native code (the unit tests run it on the host), so
// the constants it needs are its own; test/unit/kmessage.test.ts checks them
// against nexus.h.

export const KMESSAGE_MAGIC = 0x6b4d7347; // 'kMsG'
export const KMESSAGE_HEADER_SIZE = 28;
/** Bytes of a field header before its name (the name starts at byte 18). */
export const KMESSAGE_FIELD_HEADER_SIZE = 18;

export const B_INT32_TYPE = 0x4c4f4e47; // 'LONG'
export const B_INT64_TYPE = 0x4c4c4e47; // 'LLNG'
export const B_STRING_TYPE = 0x43535452; // 'CSTR'

/** The message code (and KMessage what) of node monitor messages. */
export const B_NODE_MONITOR = 0x4e444d4e; // 'NDMN'
export const B_ENTRY_CREATED = 1;
export const B_ENTRY_REMOVED = 2;
export const B_ENTRY_MOVED = 3;
export const B_STAT_CHANGED = 4;
export const B_ATTR_CHANGED = 5;
export const B_DEVICE_MOUNTED = 6;
export const B_DEVICE_UNMOUNTED = 7;
/** Nexus: events were lost past the listener's backlog ("dropped": how many). */
export const NEXUS_EVENTS_DROPPED = 0x4e584450; // 'NXDP'

/** B_STAT_CHANGED "fields" bits. */
export const B_STAT_MODE = 0x0001;
export const B_STAT_UID = 0x0002;
export const B_STAT_GID = 0x0004;
export const B_STAT_SIZE = 0x0008;
export const B_STAT_ACCESS_TIME = 0x0010;
export const B_STAT_MODIFICATION_TIME = 0x0020;
export const B_STAT_CREATION_TIME = 0x0040;
export const B_STAT_CHANGE_TIME = 0x0080;
export const B_STAT_INTERIM_UPDATE = 0x1000;

/** B_ATTR_CHANGED "cause". */
export const B_ATTR_CREATED = 1;
export const B_ATTR_REMOVED = 2;
export const B_ATTR_CHANGED_CAUSE = 3;

/** The element size each known type must have (-1: variable). */
const KNOWN_TYPES: ReadonlyMap<number, { kind: 'int32' | 'int64' | 'string'; elementSize: number }> = new Map([
  [B_INT32_TYPE, { kind: 'int32', elementSize: 4 }],
  [B_INT64_TYPE, { kind: 'int64', elementSize: 8 }],
  [B_STRING_TYPE, { kind: 'string', elementSize: -1 }],
] as const);

/** Malformed KMessage bytes: what is wrong, and the offset of the bytes that say so. */
export class KMessageError extends Error {
  constructor(
    readonly offset: number,
    readonly problem: string,
  ) {
    super(`KMessage offset ${offset}: ${problem}`);
    this.name = 'KMessageError';
  }
}

interface KFieldBase {
  name: string;
  /** The type code ('LONG' = 0x4c4f4e47...). */
  type: number;
  /** The type code as its 4 characters ('LONG'), or hex when not printable. */
  typeName: string;
  /** -1: variable-size elements. */
  elementSize: number;
  count: number;
  /** Where the field header starts in the message. */
  offset: number;
  /** Each element's bytes (copies; a string's NUL included). */
  elements: Uint8Array[];
}

export type KField =
  | (KFieldBase & { kind: 'int32'; values: number[] })
  | (KFieldBase & { kind: 'int64'; values: bigint[] })
  | (KFieldBase & { kind: 'string'; values: string[] })
  /** A type the decoder does not know: values are the elements' bytes. */
  | (KFieldBase & { kind: 'raw'; values: Uint8Array[] });

export interface KMessageHeader {
  sender: number;
  targetToken: number;
  replyPort: number;
  replyToken: number;
}

export class KMessage implements KMessageHeader {
  constructor(
    readonly what: number,
    readonly sender: number,
    readonly targetToken: number,
    readonly replyPort: number,
    readonly replyToken: number,
    /** The header's size: the message's bytes. */
    readonly size: number,
    readonly fields: KField[],
  ) {}

  get(name: string): KField | undefined {
    return this.fields.find((f) => f.name === name);
  }

  /** The field's first int32; undefined without the field; throws when it has another type or no element. */
  int32(name: string): number | undefined {
    const f = this.typed(name, 'int32');
    return f?.kind === 'int32' ? f.values[0] : undefined;
  }

  /** The field's first int64 (signed, as on the wire). */
  int64(name: string): bigint | undefined {
    const f = this.typed(name, 'int64');
    return f?.kind === 'int64' ? f.values[0] : undefined;
  }

  /** The field's first string (up to its first NUL). */
  string(name: string): string | undefined {
    const f = this.typed(name, 'string');
    return f?.kind === 'string' ? f.values[0] : undefined;
  }

  private typed(name: string, kind: 'int32' | 'int64' | 'string'): KField | undefined {
    const f = this.get(name);
    if (!f) return undefined;
    if (f.kind !== kind) {
      throw new KMessageError(f.offset, `field "${name}" is ${quoteType(f.type)}, not ${kind}`);
    }
    if (f.count === 0) throw new KMessageError(f.offset, `field "${name}" has no elements`);
    return f;
  }
}

export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** 'LONG' for 0x4c4f4e47; 0x... when a byte is not printable. */
export function typeCodeName(type: number): string {
  const bytes = [type >>> 24, (type >>> 16) & 0xff, (type >>> 8) & 0xff, type & 0xff];
  if (bytes.every((b) => b >= 0x20 && b < 0x7f)) return String.fromCharCode(...bytes);
  return `0x${(type >>> 0).toString(16).padStart(8, '0')}`;
}

function quoteType(type: number): string {
  const n = typeCodeName(type);
  return n.startsWith('0x') ? n : `'${n}'`;
}

const hex = (n: number): string => `0x${(n >>> 0).toString(16).padStart(8, '0')}`;
const utf8 = new TextDecoder('utf-8');

export interface DecodeOptions {
  /** Reject bytes past the header's size (by default they are ignored). */
  exact?: boolean;
}

/** Decode one KMessage; throws KMessageError on anything malformed. */
export function decodeKMessage(buf: Uint8Array, options: DecodeOptions = {}): KMessage {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const fail = (offset: number, problem: string): never => {
    throw new KMessageError(offset, problem);
  };

  if (buf.length < KMESSAGE_HEADER_SIZE) {
    fail(0, `${buf.length} bytes, shorter than the ${KMESSAGE_HEADER_SIZE}-byte header`);
  }
  const magic = dv.getUint32(0, true);
  if (magic !== KMESSAGE_MAGIC) fail(0, `bad magic ${hex(magic)} (expected ${hex(KMESSAGE_MAGIC)} 'kMsG')`);
  const size = dv.getInt32(4, true);
  if (size < KMESSAGE_HEADER_SIZE) fail(4, `size ${size} smaller than the ${KMESSAGE_HEADER_SIZE}-byte header`);
  if (size > buf.length) fail(4, `size ${size} larger than the buffer (${buf.length} bytes)`);
  if (options.exact && size !== buf.length) fail(4, `size ${size} but the buffer has ${buf.length} bytes`);

  const fields: KField[] = [];
  const seen = new Map<string, number>();
  let pos = KMESSAGE_HEADER_SIZE;
  while (pos < size) {
    const start = pos;
    const left = size - start;
    // The 18 header bytes, and at least a 1-byte name and its NUL.
    if (left < KMESSAGE_FIELD_HEADER_SIZE + 2) {
      fail(start, `field header past the end: ${KMESSAGE_FIELD_HEADER_SIZE + 2} bytes needed, ${left} left of size ${size}`);
    }
    const type = dv.getUint32(start, true);
    const elementSize = dv.getInt32(start + 4, true);
    const count = dv.getInt32(start + 8, true);
    const fieldSize = dv.getInt32(start + 12, true);
    const headerSize = dv.getInt16(start + 16, true);

    if (elementSize < -1) fail(start + 4, `elementSize ${elementSize} (neither -1, variable, nor >= 0)`);
    const known = KNOWN_TYPES.get(type);
    if (known && elementSize !== known.elementSize) {
      const want = known.elementSize < 0 ? '-1 (variable)' : String(known.elementSize);
      fail(start + 4, `elementSize ${elementSize} of a ${quoteType(type)} field (must be ${want})`);
    }
    if (count < 0) fail(start + 8, `negative count ${count}`);
    const minHeader = align4(KMESSAGE_FIELD_HEADER_SIZE + 2); // 20: align4(20 + strlen) of a 1-byte name
    if (headerSize < minHeader) {
      fail(start + 16, `headerSize ${headerSize} too small (at least ${minHeader}: ${KMESSAGE_FIELD_HEADER_SIZE} + a name and its NUL, 4-aligned)`);
    }
    if (headerSize % 4 !== 0) fail(start + 16, `headerSize ${headerSize} is not a multiple of 4`);
    if (fieldSize < headerSize) fail(start + 12, `fieldSize ${fieldSize} smaller than headerSize ${headerSize}`);
    if (fieldSize > left) {
      fail(start + 12, `fieldSize ${fieldSize} past the message: the field would end at ${start + fieldSize}, the message at ${size}`);
    }

    const nameAt = start + KMESSAGE_FIELD_HEADER_SIZE;
    const nameEnd = buf.subarray(nameAt, start + headerSize).indexOf(0);
    if (nameEnd < 0) fail(nameAt, `name not NUL-terminated within headerSize ${headerSize}`);
    if (nameEnd === 0) fail(nameAt, 'empty name');
    const name = utf8.decode(buf.subarray(nameAt, nameAt + nameEnd));
    const first = seen.get(name);
    if (first !== undefined) fail(nameAt, `duplicate field name "${name}" (first at offset ${first})`);
    seen.set(name, start);

    const dataAt = start + headerSize;
    const fieldEnd = start + fieldSize;
    const room = fieldEnd - dataAt;
    const elements: Uint8Array[] = [];
    const offsets: number[] = [];
    if (elementSize === 0 && count > 0) fail(start + 8, `count ${count} of zero-size elements`);
    if (elementSize >= 0) {
      const bytes = count * elementSize; // both int32: exact enough to compare with room
      if (bytes > room) {
        fail(start + 8, `count ${count} * elementSize ${elementSize} = ${bytes} bytes past the field (${room} data bytes in fieldSize ${fieldSize})`);
      }
      for (let i = 0; i < count; i++) {
        const at = dataAt + i * elementSize;
        offsets.push(at);
        elements.push(new Uint8Array(buf.subarray(at, at + elementSize)));
      }
    } else {
      if (count > room / 4) {
        fail(start + 8, `count ${count} of variable-size elements cannot fit ${room} data bytes (each takes at least 4)`);
      }
      let p = dataAt;
      for (let i = 0; i < count; i++) {
        if (p + 4 > fieldEnd) fail(p, `element ${i} of "${name}": its size past the field's end ${fieldEnd}`);
        const n = dv.getInt32(p, true);
        if (n < 0) fail(p, `element ${i} of "${name}": negative size ${n}`);
        if (n > fieldEnd - (p + 4)) fail(p, `element ${i} of "${name}": ${n} bytes past the field's end ${fieldEnd}`);
        offsets.push(p + 4);
        elements.push(new Uint8Array(buf.subarray(p + 4, p + 4 + n)));
        p = align4(p + 4 + n);
      }
    }

    const base = { name, type, typeName: typeCodeName(type), elementSize, count, offset: start, elements };
    switch (known?.kind) {
      case 'int32':
        fields.push({ ...base, kind: 'int32', values: offsets.map((o) => dv.getInt32(o, true)) });
        break;
      case 'int64':
        fields.push({ ...base, kind: 'int64', values: offsets.map((o) => dv.getBigInt64(o, true)) });
        break;
      case 'string':
        fields.push({
          ...base,
          kind: 'string',
          values: elements.map((e, i) => {
            if (e.length === 0 || e[e.length - 1] !== 0) fail(offsets[i]!, `string element ${i} of "${name}" not NUL-terminated`);
            return utf8.decode(e.subarray(0, e.indexOf(0)));
          }),
        });
        break;
      default:
        fields.push({ ...base, kind: 'raw', values: elements });
    }
    pos = align4(start + fieldSize);
  }

  return new KMessage(
    dv.getUint32(8, true),
    dv.getInt32(12, true),
    dv.getInt32(16, true),
    dv.getInt32(20, true),
    dv.getInt32(24, true),
    size,
    fields,
  );
}

// ---------------------------------------------------------------------------
// Encoding (tests, fixtures): the layout the kernel writes.

export interface KFieldInit {
  name: string;
  type: number;
  /** Default: the type's (LONG 4, LLNG 8, CSTR -1); required for other types (-1: variable). */
  elementSize?: number;
  values: readonly (number | bigint | string | Uint8Array)[];
}

export const kInt32 = (name: string, ...values: number[]): KFieldInit => ({ name, type: B_INT32_TYPE, values });
export const kInt64 = (name: string, ...values: (bigint | number)[]): KFieldInit => ({ name, type: B_INT64_TYPE, values });
export const kString = (name: string, ...values: string[]): KFieldInit => ({ name, type: B_STRING_TYPE, values });
/** A field of any type from raw elements; elementSize -1 for variable-size elements. */
export const kRaw = (name: string, type: number, elementSize: number, ...values: Uint8Array[]): KFieldInit => ({ name, type, elementSize, values });

const enc = new TextEncoder();

function elementBytes(f: KFieldInit, v: number | bigint | string | Uint8Array): Uint8Array {
  switch (f.type) {
    case B_INT32_TYPE: {
      if (typeof v !== 'number' || !Number.isInteger(v) || v < -0x80000000 || v > 0xffffffff) {
        throw new Error(`field "${f.name}": ${String(v)} is not an int32 (or uint32)`);
      }
      const b = new Uint8Array(4);
      new DataView(b.buffer).setInt32(0, v | 0, true);
      return b;
    }
    case B_INT64_TYPE: {
      if (typeof v !== 'bigint' && (typeof v !== 'number' || !Number.isSafeInteger(v))) {
        throw new Error(`field "${f.name}": ${String(v)} is not an int64`);
      }
      const b = new Uint8Array(8);
      new DataView(b.buffer).setBigInt64(0, BigInt.asIntN(64, BigInt(v)), true);
      return b;
    }
    case B_STRING_TYPE: {
      if (typeof v !== 'string') throw new Error(`field "${f.name}": ${String(v)} is not a string`);
      const s = enc.encode(v);
      const b = new Uint8Array(s.length + 1);
      b.set(s);
      return b;
    }
    default:
      if (!(v instanceof Uint8Array)) throw new Error(`field "${f.name}" of type ${quoteType(f.type)}: elements must be bytes`);
      return v;
  }
}

/** A KMessage's bytes; header defaults: sender 0 (the kernel), target token 0, reply port and token -1. */
export function encodeKMessage(what: number, fields: readonly KFieldInit[], header: Partial<KMessageHeader> = {}): Buffer {
  const parts: { at: number; bytes: Uint8Array }[] = [];
  let pos = KMESSAGE_HEADER_SIZE;
  const names = new Set<string>();
  const fieldHeaders: { at: number; type: number; elementSize: number; count: number; fieldSize: number; headerSize: number }[] = [];
  for (const f of fields) {
    const name = enc.encode(f.name);
    if (name.length === 0 || name.includes(0)) throw new Error(`field name ${JSON.stringify(f.name)}: empty or with a NUL`);
    if (names.has(f.name)) throw new Error(`field "${f.name}" twice`);
    names.add(f.name);
    const elementSize = f.elementSize ?? KNOWN_TYPES.get(f.type)?.elementSize;
    if (elementSize === undefined) throw new Error(`field "${f.name}" of type ${quoteType(f.type)} needs an elementSize`);
    const start = align4(pos);
    const headerSize = align4(KMESSAGE_FIELD_HEADER_SIZE + 2 + name.length); // Haiku's align4(20 + strlen)
    if (headerSize > 0x7fff) throw new Error(`field name "${f.name}" too long`);
    parts.push({ at: start + KMESSAGE_FIELD_HEADER_SIZE, bytes: name });
    let p = start + headerSize;
    for (const v of f.values) {
      const b = elementBytes(f, v);
      if (elementSize >= 0) {
        if (b.length !== elementSize) throw new Error(`field "${f.name}": an element of ${b.length} bytes, elementSize ${elementSize}`);
        parts.push({ at: p, bytes: b });
        p += b.length;
      } else {
        const size = new Uint8Array(4);
        new DataView(size.buffer).setInt32(0, b.length, true);
        parts.push({ at: p, bytes: size }, { at: p + 4, bytes: b });
        p = align4(p + 4 + b.length);
      }
    }
    p = align4(p);
    fieldHeaders.push({ at: start, type: f.type, elementSize, count: f.values.length, fieldSize: p - start, headerSize });
    pos = p;
  }

  const out = Buffer.alloc(pos);
  out.writeUInt32LE(KMESSAGE_MAGIC, 0);
  out.writeInt32LE(pos, 4);
  out.writeUInt32LE(what >>> 0, 8);
  out.writeInt32LE(header.sender ?? 0, 12);
  out.writeInt32LE(header.targetToken ?? 0, 16);
  out.writeInt32LE(header.replyPort ?? -1, 20);
  out.writeInt32LE(header.replyToken ?? -1, 24);
  for (const h of fieldHeaders) {
    out.writeUInt32LE(h.type >>> 0, h.at);
    out.writeInt32LE(h.elementSize, h.at + 4);
    out.writeInt32LE(h.count, h.at + 8);
    out.writeInt32LE(h.fieldSize, h.at + 12);
    out.writeInt16LE(h.headerSize, h.at + 16);
  }
  for (const { at, bytes } of parts) out.set(bytes, at);
  return out;
}

// ---------------------------------------------------------------------------
// Node monitor events.

/**
 * A B_NODE_MONITOR message by opcode.  Devices are the kernel's dev_t as
 * stat(2) gives st_dev (the int32 field's bits read unsigned); nodes and
 * directories are inode numbers (the int64 field's bits read unsigned).
 * token is the message's target token: the watch's.
 */
interface EntryFields {
  token: number;
  device: number;
  directory: bigint;
  node: bigint;
  name: string;
}

export type NodeMonitorEvent =
  | ({ kind: 'created'; opcode: typeof B_ENTRY_CREATED } & EntryFields)
  | ({ kind: 'removed'; opcode: typeof B_ENTRY_REMOVED } & EntryFields)
  | {
      kind: 'moved';
      opcode: typeof B_ENTRY_MOVED;
      token: number;
      device: number;
      fromDirectory: bigint;
      toDirectory: bigint;
      nodeDevice: number;
      node: bigint;
      fromName: string;
      name: string;
    }
  | { kind: 'stat'; opcode: typeof B_STAT_CHANGED; token: number; device: number; node: bigint; fields: number }
  | { kind: 'attr'; opcode: typeof B_ATTR_CHANGED; token: number; device: number; node: bigint; attr: string; cause: number }
  | { kind: 'mounted'; opcode: typeof B_DEVICE_MOUNTED; token: number; newDevice: number; device: number; directory: bigint }
  | { kind: 'unmounted'; opcode: typeof B_DEVICE_UNMOUNTED; token: number; device: number }
  | { kind: 'dropped'; opcode: typeof NEXUS_EVENTS_DROPPED; token: number; dropped: number };

export type NodeMonitorEventKind = NodeMonitorEvent['kind'];

/** A node monitor message as its event; a missing field, an unknown opcode or what -> Error. */
export function nodeMonitorEvent(msg: KMessage): NodeMonitorEvent {
  if (msg.what !== B_NODE_MONITOR && msg.what !== NEXUS_EVENTS_DROPPED) {
    throw new Error(`not a node monitor message: what ${hex(msg.what)} (${quoteType(msg.what)})`);
  }
  const need = <T>(name: string, v: T | undefined): T => {
    if (v === undefined) throw new Error(`node monitor message (opcode ${msg.int32('opcode')}) without its "${name}" field`);
    return v;
  };
  const i32 = (name: string): number => need(name, msg.int32(name));
  const dev = (name: string): number => i32(name) >>> 0;
  const ino = (name: string): bigint => BigInt.asUintN(64, need(name, msg.int64(name)));
  const str = (name: string): string => need(name, msg.string(name));
  const opcode = need('opcode', msg.int32('opcode'));
  const token = msg.targetToken;
  if (msg.what === NEXUS_EVENTS_DROPPED && opcode !== NEXUS_EVENTS_DROPPED) {
    throw new Error(`NEXUS_EVENTS_DROPPED message with opcode ${opcode}`);
  }
  const entry = (): EntryFields => ({ token, device: dev('device'), directory: ino('directory'), node: ino('node'), name: str('name') });
  switch (opcode) {
    case B_ENTRY_CREATED:
      return { kind: 'created', opcode, ...entry() };
    case B_ENTRY_REMOVED:
      return { kind: 'removed', opcode, ...entry() };
    case B_ENTRY_MOVED:
      return {
        kind: 'moved',
        opcode,
        token,
        device: dev('device'),
        fromDirectory: ino('from directory'),
        toDirectory: ino('to directory'),
        nodeDevice: dev('node device'),
        node: ino('node'),
        fromName: str('from name'),
        name: str('name'),
      };
    case B_STAT_CHANGED:
      return { kind: 'stat', opcode, token, device: dev('device'), node: ino('node'), fields: i32('fields') };
    case B_ATTR_CHANGED:
      return { kind: 'attr', opcode, token, device: dev('device'), node: ino('node'), attr: str('attr'), cause: i32('cause') };
    case B_DEVICE_MOUNTED:
      return { kind: 'mounted', opcode, token, newDevice: dev('new device'), device: dev('device'), directory: ino('directory') };
    case B_DEVICE_UNMOUNTED:
      return { kind: 'unmounted', opcode, token, device: dev('device') };
    case NEXUS_EVENTS_DROPPED:
      return { kind: 'dropped', opcode, token, dropped: i32('dropped') };
    default:
      throw new Error(`node monitor message with unknown opcode ${opcode}`);
  }
}

/** Decode a port message's bytes straight to its event. */
export function decodeNodeMonitorEvent(buf: Uint8Array): NodeMonitorEvent {
  return nodeMonitorEvent(decodeKMessage(buf));
}

/** The fields of an event, in the ABI table's order. */
export function nodeMonitorFields(ev: NodeMonitorEvent): KFieldInit[] {
  const op = kInt32('opcode', ev.opcode);
  switch (ev.kind) {
    case 'created':
    case 'removed':
      return [op, kInt32('device', ev.device), kInt64('directory', ev.directory), kInt64('node', ev.node), kString('name', ev.name)];
    case 'moved':
      return [
        op,
        kInt32('device', ev.device),
        kInt64('from directory', ev.fromDirectory),
        kInt64('to directory', ev.toDirectory),
        kInt32('node device', ev.nodeDevice),
        kInt64('node', ev.node),
        kString('from name', ev.fromName),
        kString('name', ev.name),
      ];
    case 'stat':
      return [op, kInt32('device', ev.device), kInt64('node', ev.node), kInt32('fields', ev.fields)];
    case 'attr':
      return [op, kInt32('device', ev.device), kInt64('node', ev.node), kString('attr', ev.attr), kInt32('cause', ev.cause)];
    case 'mounted':
      return [op, kInt32('new device', ev.newDevice), kInt32('device', ev.device), kInt64('directory', ev.directory)];
    case 'unmounted':
      return [op, kInt32('device', ev.device)];
    case 'dropped':
      return [op, kInt32('dropped', ev.dropped)];
  }
}

/** An event's message bytes, as the kernel would send it (what B_NODE_MONITOR, target token = ev.token). */
export function encodeNodeMonitorEvent(ev: NodeMonitorEvent, header: Partial<KMessageHeader> = {}): Buffer {
  return encodeKMessage(B_NODE_MONITOR, nodeMonitorFields(ev), { targetToken: ev.token, ...header });
}
