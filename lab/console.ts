// Kernel splat detection on the guest's serial console.  The console is fed
// in chunks as the guest runs; each splat keeps its whole text (from the
// trigger line to the end of its trace), and a panic is reported at once so
// the job can end without waiting for anything else.
import { lineSplitter } from './lines.js';

export type SplatKind =
  | 'panic'
  | 'bug'
  | 'oops'
  | 'gpf'
  | 'warning'
  | 'kasan'
  | 'ubsan'
  | 'lockup'
  | 'hung-task'
  | 'rcu-stall'
  | 'call-trace';

export interface Splat {
  kind: SplatKind;
  /** The trigger line, without its timestamp. */
  title: string;
  /** Every console line of the splat, as printed. */
  text: string;
  /** 1-based console line number of the trigger. */
  line: number;
  /** True when the splat's end was seen (end marker or end of trace). */
  complete: boolean;
}

// Order matters: the first match names the kind ("BUG: KASAN: ..." is kasan).
const TRIGGERS: { kind: SplatKind; re: RegExp }[] = [
  { kind: 'panic', re: /Kernel panic - not syncing/ },
  { kind: 'kasan', re: /\bKASAN:/ },
  { kind: 'ubsan', re: /\bUBSAN:/ },
  { kind: 'lockup', re: /soft lockup|hard LOCKUP/ },
  { kind: 'hung-task', re: /blocked for more than \d+ seconds/ },
  { kind: 'rcu-stall', re: /rcu.*detected (expedited )?stall|RCU stall/i },
  { kind: 'bug', re: /kernel BUG at / },
  { kind: 'gpf', re: /general protection fault/ },
  { kind: 'oops', re: /\bOops\b/ },
  { kind: 'bug', re: /\bBUG: / },
  { kind: 'warning', re: /\bWARNING: / },
  { kind: 'call-trace', re: /Call Trace:/ },
];

/**
 * Lines that are never a splat whatever they contain: what an out-of-tree,
 * unsigned module prints on every load, and the kernel's report of a user
 * process's own fault ("traps: prog[pid] general protection fault ip:...
 * in libc.so.6"): the process gets its signal, the kernel is fine; whether
 * that process crashing is a failure is for its scenario to say.
 */
const EXPECTED = [/loading out-of-tree module taints kernel/, /module verification failed/, /^traps: \S+\[\d+\] /];

const TIMESTAMP = /^\[\s*\d+\.\d+\]\s?/;
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b(\[[0-9;?]*[A-Za-z]|[()][A-Za-z0-9]|[=>])/g;
const END_MARK = /---\[ end /;
const AFTER_TRACE = /^(Kernel Offset:|---\[ end |Rebooting in|Shutting down cpus)/;
const MAX_LINES = 400;

export function classifyLine(line: string): SplatKind | undefined {
  const body = line.replace(TIMESTAMP, '');
  if (END_MARK.test(body) || EXPECTED.some((re) => re.test(body))) return undefined;
  return TRIGGERS.find((t) => t.re.test(body))?.kind;
}

export interface WatcherEvents {
  onSplat?: (s: Splat) => void;
  onPanic?: (s: Splat) => void;
  /** Every console line, cleaned of escape sequences. */
  onLine?: (line: string) => void;
}

// Inside an open splat, other trigger lines (the "Oops" after a "BUG:", the
// "Call Trace:" of a warning) belong to it until its trace has ended.
interface Open {
  splat: Splat;
  lines: string[];
  /** A trace of this splat has ended: from now on only lines printed right after continue it. */
  traceEnded: boolean;
  /** Kernel timestamp of the splat's last line, in seconds. */
  lastTs: number | undefined;
}

/**
 * After a trace ends ("</TASK>"), lines printed right after it (within this
 * many seconds of kernel time) still belong to the splat: an RCU stall
 * dumps several stacks in a row.
 */
const SAME_SPLAT_S = 0.25;

function timestampOf(line: string): number | undefined {
  const m = /^\[\s*(\d+\.\d+)\]/.exec(line);
  return m ? Number(m[1]) : undefined;
}

export class ConsoleWatcher {
  readonly splats: Splat[] = [];
  private readonly lines = lineSplitter((l) => this.line(l));
  private lineNo = 0;
  private open: Open | undefined;

  constructor(private readonly events: WatcherEvents = {}) {}

  /** Feed console output; complete lines are scanned at once. */
  feed(chunk: string): void {
    this.lines.push(chunk);
  }

  /** End of the console: scan the last partial line and close any open splat. */
  finish(): Splat[] {
    this.lines.flush();
    this.close(this.open?.traceEnded ?? false);
    return this.splats;
  }

  private line(raw: string): void {
    const line = raw.replace(ANSI, '').replace(/\r/g, '');
    this.lineNo++;
    this.events.onLine?.(line);
    const body = line.replace(TIMESTAMP, '').trim();
    const kind = classifyLine(line);
    const ts = timestampOf(line);
    const cur = this.open;

    if (cur) {
      const soon = ts !== undefined && cur.lastTs !== undefined && ts - cur.lastTs <= SAME_SPLAT_S;
      if (cur.traceEnded && !AFTER_TRACE.test(body) && !(soon && (kind === undefined || kind === 'call-trace'))) {
        this.close(true);
      } else if (kind === 'panic') {
        // A panic always stands alone: it is what ends the job.
        this.close(false);
      } else {
        cur.lines.push(line);
        if (ts !== undefined) cur.lastTs = ts;
        if (body === '</TASK>') cur.traceEnded = true;
        if (END_MARK.test(body)) this.close(true);
        else if (cur.lines.length >= MAX_LINES) this.close(false);
        return;
      }
    }

    if (kind === undefined) return;
    const splat: Splat = { kind, title: body, text: line, line: this.lineNo, complete: false };
    this.open = { splat, lines: [line], traceEnded: false, lastTs: ts };
    if (kind === 'panic') this.events.onPanic?.(splat);
  }

  private close(complete: boolean): void {
    const cur = this.open;
    if (!cur) return;
    this.open = undefined;
    cur.splat.text = cur.lines.join('\n');
    cur.splat.complete = complete;
    this.splats.push(cur.splat);
    this.events.onSplat?.(cur.splat);
  }
}

/** All splats of a whole console log. */
export function detectSplats(text: string): Splat[] {
  const w = new ConsoleWatcher();
  w.feed(text);
  return w.finish();
}
