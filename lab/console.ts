// Kernel splat detection on the guest's serial console.  The console is fed
// in chunks as the guest runs; each splat keeps its whole text (from the
// trigger line to the end of its trace), and a panic is reported at once so
// the job can end without waiting for anything else.

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
 * Lines an out-of-tree, unsigned module prints on every load: expected, and
 * never a splat whatever they contain.
 */
const EXPECTED = [/loading out-of-tree module taints kernel/, /module verification failed/];

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
}

// Inside an open splat, other trigger lines (the "Oops" after a "BUG:", the
// "Call Trace:" of a warning) belong to it until its trace has ended.
interface Open {
  splat: Splat;
  lines: string[];
  traceEnded: boolean;
}

export class ConsoleWatcher {
  readonly splats: Splat[] = [];
  private partial = '';
  private lineNo = 0;
  private open: Open | undefined;

  constructor(private readonly events: WatcherEvents = {}) {}

  /** Feed console output; complete lines are scanned at once. */
  feed(chunk: string): void {
    this.partial += chunk;
    let nl: number;
    while ((nl = this.partial.indexOf('\n')) >= 0) {
      const line = this.partial.slice(0, nl);
      this.partial = this.partial.slice(nl + 1);
      this.line(line);
    }
  }

  /** End of the console: scan the last partial line and close any open splat. */
  finish(): Splat[] {
    if (this.partial.length > 0) this.line(this.partial);
    this.partial = '';
    this.close(false);
    return this.splats;
  }

  private line(raw: string): void {
    const line = raw.replace(ANSI, '').replace(/\r/g, '');
    this.lineNo++;
    const body = line.replace(TIMESTAMP, '').trim();
    const kind = classifyLine(line);
    const cur = this.open;

    if (cur) {
      if (cur.traceEnded && !AFTER_TRACE.test(body)) {
        this.close(true);
      } else if (kind === 'panic') {
        // A panic always stands alone: it is what ends the job.
        this.close(false);
      } else {
        cur.lines.push(line);
        if (END_MARK.test(body)) this.close(true);
        else if (body === '</TASK>') cur.traceEnded = true;
        else if (cur.lines.length >= MAX_LINES) this.close(false);
        return;
      }
    }

    if (kind === undefined) return;
    const splat: Splat = { kind, title: body, text: line, line: this.lineNo, complete: false };
    this.open = { splat, lines: [line], traceEnded: false };
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
