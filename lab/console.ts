// Kernel splat detection on the guest's serial console.  The console is fed
// in chunks as the guest runs; each splat keeps its whole text (from its
// begin marker or trigger line to its end marker or the end of its trace),
// and a panic is reported at once so the job can end without waiting for
// anything else.  What each kind looks like is in lab/splat-kinds.ts.
import { lineSplitter } from './lines.js';
import { BEGIN_MARK, CONTINUED, EXPECTED, MAX_PRELUDE, RULE, RULED, TRIGGERS, type SplatKind } from './splat-kinds.js';

export { decidesVerdict, type SplatKind } from './splat-kinds.js';

export interface Splat {
  kind: SplatKind;
  /** The trigger line, without its timestamp. */
  title: string;
  /** Every console line of the splat, as printed, from its begin marker ("=====", "cut here") when it had one. */
  text: string;
  /** 1-based console line number of the trigger. */
  line: number;
  /** True when the splat's end was seen (end marker or end of trace). */
  complete: boolean;
}

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
  /** The splat ends at this line only (a ruled report: KASAN, KFENCE, UBSAN), whatever traces it prints before. */
  until?: RegExp;
  /** The splat goes on while lines match this, and ends at the first that does not (kmemleak). */
  continued?: RegExp;
}

/** Lines seen since a begin marker, waiting for a trigger to start a splat with them. */
interface Prelude {
  lines: string[];
  ts: number | undefined;
}

/**
 * After a trace ends ("</TASK>"), lines printed right after it (within this
 * many seconds of kernel time) still belong to the splat: an RCU stall
 * dumps several stacks in a row.  A begin marker's lines wait this long for
 * their trigger too.
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
  private prelude: Prelude | undefined;

  constructor(private readonly events: WatcherEvents = {}) {}

  /** Feed console output; complete lines are scanned at once. */
  feed(chunk: string): void {
    this.lines.push(chunk);
  }

  /** End of the console: scan the last partial line and close any open splat. */
  finish(): Splat[] {
    this.lines.flush();
    const cur = this.open;
    this.close(cur !== undefined && (cur.traceEnded || cur.continued !== undefined));
    return this.splats;
  }

  private line(raw: string): void {
    const line = raw.replace(ANSI, '').replace(/\r/g, '');
    this.lineNo++;
    this.events.onLine?.(line);
    const body = line.replace(TIMESTAMP, '').trim();
    const kind = classifyLine(line);
    const ts = timestampOf(line);
    if (this.open && this.continues(this.open, line, body, kind, ts)) return;
    if (kind === undefined) {
      this.waitForTrigger(line, body, ts);
      return;
    }
    const prelude = this.prelude?.lines ?? [];
    this.prelude = undefined;
    const splat: Splat = { kind, title: body, text: line, line: this.lineNo, complete: false };
    const open: Open = { splat, lines: [...prelude, line], traceEnded: false, lastTs: ts };
    const first = prelude[0]?.replace(TIMESTAMP, '').trim();
    if (RULED.has(kind) && first !== undefined && RULE.test(first)) open.until = RULE;
    const continued = CONTINUED[kind];
    if (continued) open.continued = continued;
    this.open = open;
    if (kind === 'panic') this.events.onPanic?.(splat);
  }

  /** Does this line belong to the open splat?  If so it is added; if not, the splat is closed. */
  private continues(cur: Open, line: string, body: string, kind: ReturnType<typeof classifyLine>, ts: number | undefined): boolean {
    if (cur.continued) {
      if (cur.continued.test(body)) {
        this.add(cur, line, ts);
        return true;
      }
      this.close(true);
      return false;
    }
    if (!cur.until && cur.traceEnded) {
      const soon = ts !== undefined && cur.lastTs !== undefined && ts - cur.lastTs <= SAME_SPLAT_S;
      const after = AFTER_TRACE.test(body) || (soon && !BEGIN_MARK.test(body) && (kind === undefined || kind === 'call-trace'));
      if (!after) {
        this.close(true);
        return false;
      }
    }
    if (kind === 'panic') {
      // A panic always stands alone: it is what ends the job.
      this.close(false);
      return false;
    }
    this.add(cur, line, ts);
    if (body === '</TASK>') cur.traceEnded = true;
    if (END_MARK.test(body) || (cur.until?.test(body) ?? false)) this.close(true);
    else if (cur.lines.length >= MAX_LINES) this.close(false);
    return true;
  }

  private add(cur: Open, line: string, ts: number | undefined): void {
    cur.lines.push(line);
    if (ts !== undefined) cur.lastTs = ts;
  }

  /** Outside a splat: a begin marker starts a prelude, which keeps a few lines (a WARN's message) for the trigger. */
  private waitForTrigger(line: string, body: string, ts: number | undefined): void {
    if (BEGIN_MARK.test(body)) {
      this.prelude = { lines: [line], ts };
      return;
    }
    const p = this.prelude;
    if (!p) return;
    const late = ts !== undefined && p.ts !== undefined && ts - p.ts > SAME_SPLAT_S;
    if (late || p.lines.length >= MAX_PRELUDE) this.prelude = undefined;
    else p.lines.push(line);
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
