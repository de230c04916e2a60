// Progress on the terminal: the phase and elapsed time of every job while it
// runs.  On a TTY the job lines are redrawn in place; otherwise (CI logs) one
// line is printed per phase change.

export interface ProgressSink {
  step(message: string): void;
  /** A job entered a phase; `ended` when the phase is its verdict. */
  phase(job: string, phase: string, ended?: boolean): void;
  stop(): void;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

export class Progress implements ProgressSink {
  private readonly started = Date.now();
  private readonly jobs = new Map<string, { phase: string; since: number; began?: number; ended?: number }>();
  private drawn = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly out: NodeJS.WriteStream, jobIds: readonly string[], private readonly live = Boolean(out.isTTY)) {
    for (const id of jobIds) this.jobs.set(id, { phase: 'queued', since: Date.now() });
    if (this.live) {
      this.timer = setInterval(() => this.draw(), 500);
      this.timer.unref();
    }
  }

  private stamp(): string {
    return `[${clock(Date.now() - this.started)}]`;
  }

  private clear(): void {
    if (this.live && this.drawn > 0) this.out.write(`\x1b[${this.drawn}A\x1b[J`);
    this.drawn = 0;
  }

  private draw(): void {
    if (!this.live) return;
    this.clear();
    const width = Math.max(...[...this.jobs.keys()].map((k) => k.length), 3);
    const now = Date.now();
    const lines = [...this.jobs].map(([id, j]) => {
      const total = j.began === undefined ? '' : clock((j.ended ?? now) - j.began);
      const inPhase = j.ended === undefined && j.began !== undefined ? ` (${clock(now - j.since)} in phase)` : '';
      return `  ${id.padEnd(width)}  ${j.phase.padEnd(9)} ${total}${inPhase}`;
    });
    this.out.write(`${lines.join('\n')}\n`);
    this.drawn = lines.length;
  }

  step(message: string): void {
    this.clear();
    this.out.write(`${this.stamp()} ${message}\n`);
    this.draw();
  }

  phase(job: string, phase: string, ended = false): void {
    const j = this.jobs.get(job) ?? { phase, since: Date.now() };
    const now = Date.now();
    j.began ??= now;
    j.phase = phase;
    j.since = now;
    if (ended) j.ended = now;
    this.jobs.set(job, j);
    if (this.live) this.draw();
    else this.out.write(`${this.stamp()} ${job}: ${phase}\n`);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.draw();
    this.drawn = 0;
  }
}
