// The guest's kernel log, read from /dev/kmsg by the scenarios themselves: a
// scenario marks where the log is before it provokes the kernel and asks for
// the splats printed since, so a warning is pinned on the scenario that
// caused it (the lab's console watcher only sees the whole job).
import { closeSync, constants, openSync, readSync } from 'node:fs';

export const KMSG_PATH = '/dev/kmsg';

export interface KmsgRecord {
  /** The record's sequence number (grows by one per record). */
  seq: number;
  /** Syslog level, 0 (emerg) .. 7 (debug). */
  level: number;
  /** The message, without the continuation lines (SUBSYSTEM=..., DEVICE=...). */
  message: string;
}

/** One /dev/kmsg record: "PRIO,SEQ,USEC,FLAGS[,...];MESSAGE\n[ KEY=VALUE\n...]". */
export function parseKmsgRecord(text: string): KmsgRecord | undefined {
  const semi = text.indexOf(';');
  if (semi < 0) return undefined;
  const [prio, seq] = text.slice(0, semi).split(',');
  if (!/^\d+$/.test(prio ?? '') || !/^\d+$/.test(seq ?? '')) return undefined;
  const message = text.slice(semi + 1).split('\n')[0]!;
  return { seq: Number(seq), level: Number(prio) & 7, message: unescapeKmsg(message) };
}

/** /dev/kmsg escapes non-printable bytes as \xNN. */
function unescapeKmsg(s: string): string {
  return s.replace(/\\x([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(parseInt(h, 16)));
}

/** What the kernel prints when it finds itself (or a module) broken. */
const SPLATS: readonly RegExp[] = [
  /\bBUG: /,
  /kernel BUG at /,
  /\bWARNING: /,
  /\brefcount_t: /,
  /list_(add|del) corruption/,
  /general protection fault/,
  /\bOops\b/,
  /Unable to handle kernel/,
  /\bKASAN: /,
  /\bUBSAN: /,
  /blocked for more than \d+ seconds/,
  /soft lockup|hard LOCKUP/,
  /rcu.*detected (expedited )?stalls?/i,
  /Kernel panic/,
  /\bCall Trace:/,
];

/** Whether a kernel message is (the start of) a splat. */
export function isSplat(message: string): boolean {
  return SPLATS.some((re) => re.test(message));
}

/** The splat lines among records, as "seq: message". */
export function splatLines(records: readonly KmsgRecord[]): string[] {
  return records.filter((r) => isSplat(r.message)).map((r) => `${r.seq}: ${r.message}`);
}

/** Every record still in the kernel's log buffer (a lost record, EPIPE, is skipped). */
export function readKmsg(): KmsgRecord[] {
  const fd = openSync(KMSG_PATH, constants.O_RDONLY | constants.O_NONBLOCK);
  const buf = Buffer.alloc(16 * 1024);
  const out: KmsgRecord[] = [];
  try {
    for (;;) {
      let n: number;
      try {
        n = readSync(fd, buf, 0, buf.length, null);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code === 'EPIPE') continue;
        if (code === 'EAGAIN') break;
        throw e;
      }
      if (n === 0) break;
      const r = parseKmsgRecord(buf.toString('utf8', 0, n));
      if (r) out.push(r);
    }
  } finally {
    closeSync(fd);
  }
  return out;
}

/** A place in the kernel log: what has been logged since it was marked. */
export class KernelLog {
  private constructor(private readonly lastSeq: number) {}

  static mark(): KernelLog {
    const records = readKmsg();
    return new KernelLog(records.length > 0 ? records[records.length - 1]!.seq : -1);
  }

  since(): KmsgRecord[] {
    return readKmsg().filter((r) => r.seq > this.lastSeq);
  }

  /** The splat lines logged since the mark. */
  splats(): string[] {
    return splatLines(this.since());
  }
}
