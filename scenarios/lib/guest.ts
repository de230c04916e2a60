// Guest-side helpers shared by the suites: the Nexus counters in debugfs and
// "holder" processes that open and close /dev/nexus on command.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { abiCounters, abiWaiters } from './abi-counters.js';
import { COUNTERS_PATH, parseCounters } from './counters.js';
import { createInterface } from 'node:readline';
import type { Ctx } from '../runner/api.js';

export const NEXUS_DEVICE = '/dev/nexus';
export { COUNTERS_PATH, parseCounters } from './counters.js';

/**
 * The Nexus counters: our debugfs file when the tree has it, else what the
 * ABI and /proc tell (abi-counters.ts), where reading a count the ABI cannot
 * tell skips the scenario with the reason.
 */
export function readCounters(): Record<string, number> {
  if (!existsSync(COUNTERS_PATH)) return abiCounters(COUNTERS_PATH);
  return parseCounters(readFileSync(COUNTERS_PATH, 'utf8'));
}

/**
 * Whether a counters snapshot tells `key`: ours tells every count, the
 * ABI's (a tree without our file) only some.  A count it cannot tell is
 * said on stderr as not checked - never passed.
 */
export function tells(ctx: Ctx, c: Record<string, number>, key: string): boolean {
  if (key in c) return true;
  process.stderr.write(`${ctx.suite}/${ctx.scenario}: not checked: the ${key} count (this tree has no ${COUNTERS_PATH})\n`);
  return false;
}

/**
 * Where a parameter of the tree's modules is: /sys/module/<m>/parameters/<name>
 * of an out-of-tree module (taint O), whatever the tree names its modules
 * (ours: nexus, nexus_area, nexus_node_monitor).  Undefined when none has it.
 */
export function moduleParamPath(name: string): string | undefined {
  let mods: string[];
  try {
    mods = readdirSync('/sys/module');
  } catch {
    return undefined;
  }
  // Ours first, so a guest with other out-of-tree modules still finds nexus's.
  mods.sort((a, b) => Number(b.startsWith('nexus')) - Number(a.startsWith('nexus')) || a.localeCompare(b));
  for (const m of mods) {
    const path = `/sys/module/${m}/parameters/${name}`;
    if (!existsSync(path)) continue;
    try {
      if (readFileSync(`/sys/module/${m}/taint`, 'utf8').includes('O')) return path;
    } catch {
      // built in: no taint file, not a tree's module
    }
  }
  return undefined;
}

/** The tree has our debugfs counters file. */
export function hasCountersFile(): boolean {
  return existsSync(COUNTERS_PATH);
}

// A holder is a shell (fast to start even under TCG, unlike a second node)
// that opens /dev/nexus on descriptors 3..9 when told to, so each holder is
// one more process - one more team - under the scenario's control.
const HOLDER_SCRIPT = `
echo "ready $$"
while read -r cmd n; do
  case "$cmd" in
    open)
      if command eval "exec $n<>${NEXUS_DEVICE}" 2>/dev/null; then echo "opened $n"; else echo "failed $n"; fi ;;
    close)
      command eval "exec $n>&-" 2>/dev/null; echo "closed $n" ;;
    exit)
      exit 0 ;;
  esac
done
`;

export class Holder {
  private lines: string[] = [];
  private waiters: ((line: string | undefined) => void)[] = [];
  private ended = false;
  private exitCode: Promise<number | null>;

  private constructor(private readonly child: ChildProcess, readonly pid: number) {
    this.exitCode = new Promise((resolve) => child.once('exit', (code) => resolve(code)));
  }

  /** Start a holder; resolves once it runs. */
  static async start(timeoutMs = 10_000): Promise<Holder> {
    const child = spawn('/bin/sh', ['-c', HOLDER_SCRIPT], { stdio: ['pipe', 'pipe', 'inherit'] });
    const h = new Holder(child, child.pid ?? -1);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => h.push(line));
    lines.on('close', () => {
      h.ended = true;
      for (const w of h.waiters.splice(0)) w(undefined);
    });
    const first = await h.next(timeoutMs);
    if (!first?.startsWith('ready ')) {
      await h.kill();
      throw new Error(`holder did not start (got ${JSON.stringify(first)})`);
    }
    return h;
  }

  private push(line: string): void {
    const w = this.waiters.shift();
    if (w) w(line);
    else this.lines.push(line);
  }

  private next(timeoutMs: number): Promise<string | undefined> {
    const queued = this.lines.shift();
    if (queued !== undefined) return Promise.resolve(queued);
    if (this.ended) return Promise.resolve(undefined);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        const i = this.waiters.indexOf(done);
        if (i >= 0) this.waiters.splice(i, 1);
        reject(new Error(`holder ${this.pid} did not answer within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (line: string | undefined) => {
        clearTimeout(timer);
        resolve(line);
      };
      this.waiters.push(done);
    });
  }

  private async ask(command: string, timeoutMs = 10_000): Promise<string> {
    this.child.stdin!.write(`${command}\n`);
    const answer = await this.next(timeoutMs);
    if (answer === undefined) throw new Error(`holder ${this.pid} ended before answering '${command}'`);
    return answer;
  }

  /** Open /dev/nexus on descriptor fd (3..9). */
  async open(fd: number): Promise<void> {
    const a = await this.ask(`open ${fd}`);
    if (a !== `opened ${fd}`) throw new Error(`holder ${this.pid} could not open ${NEXUS_DEVICE} on fd ${fd}: ${a}`);
  }

  async close(fd: number): Promise<void> {
    const a = await this.ask(`close ${fd}`);
    if (a !== `closed ${fd}`) throw new Error(`holder ${this.pid}: unexpected answer to close: ${a}`);
  }

  /** Ask the holder to exit and wait until it has been reaped. */
  async exit(timeoutMs = 10_000): Promise<number | null> {
    this.child.stdin!.write('exit\n');
    let timer: NodeJS.Timeout | undefined;
    const code = await Promise.race([
      this.exitCode,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`holder ${this.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return code;
  }

  /** Kill the holder (if it still runs) and wait until it is reaped. */
  async kill(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    await this.exitCode;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

let timeScale = 1;

/**
 * How much slower this guest is than the deadlines written in the suites
 * assume: the runner sets it from the run parameter lab.time_scale, which
 * the lab gives a kernel that runs slower (a debug kernel's "slowdown").
 */
export function setTimeScale(x: number): void {
  if (!(x >= 1) || !Number.isFinite(x)) throw new Error(`lab.time_scale must be a number of at least 1, not ${x}`);
  timeScale = x;
}

/** A deadline written for a packaged kernel, for this guest. */
export function scaled(ms: number): number {
  return Math.round(ms * timeScale);
}

/**
 * Poll `cond` every `intervalMs` until it holds or `timeoutMs` (scaled)
 * passes.
 * Resolves to whether it held (one last evaluation happens at the deadline).
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  intervalMs = 15,
): Promise<boolean> {
  const deadline = performance.now() + scaled(timeoutMs);
  for (;;) {
    if (await cond()) return true;
    if (performance.now() >= deadline) return false;
    await sleep(intervalMs);
  }
}

/** The `waiters` counter now (0 when the counters file lacks the line). */
export function currentWaiters(): number {
  if (!hasCountersFile()) return abiWaiters();
  return readCounters().waiters ?? 0;
}

/**
 * Wait until exactly `n` threads sleep in Nexus waits (the `waiters`
 * counter), system-wide.  Resolves to whether that happened in time.
 */
export function waitForWaiters(n: number, timeoutMs = 5_000): Promise<boolean> {
  return waitFor(() => currentWaiters() === n, timeoutMs);
}
