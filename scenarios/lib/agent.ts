// The client of nexus-agent (scenarios/native/nexus-agent.c): a second team
// under the scenario's control, one command per line in, one JSON object per
// line out, one command at a time.  Answers are matched to calls in order; a
// call that misses its deadline rejects, and its late answer is dropped so
// that later calls still get their own.
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** The agent program, next to the compiled scenarios (dist/scenarios/native, /opt/nexus/scenarios/native in the guest). */
export const AGENT_PATH = fileURLToPath(new URL('../native/nexus-agent', import.meta.url));

export interface AgentOptions {
  /** Run the agent as this uid (setpriv --reuid U --regid G --clear-groups). */
  uid?: number;
  /** With uid: the gid (default: the uid). */
  gid?: number;
  /**
   * A command that runs the agent (after setpriv when uid is given), e.g.
   * ['unshare', '--user', '--map-root-user'].  One that forks (unshare
   * --fork) makes the spawned process the agent's parent: then signal()
   * reaches the wrapper, not the agent; give it --kill-child so that kill()
   * ends the agent too.
   */
  wrap?: string[];
  /** Another agent program (tests). */
  path?: string;
  /** Deadline for the ready line. */
  startTimeoutMs?: number;
}

/** The agent's first line. */
export interface AgentReady {
  ready: true;
  pid: number;
  uid: number;
  gid: number;
  /** Its /dev/nexus descriptor, or -errno of the open. */
  fd?: number;
}

export type AgentAnswer = Record<string, any>;

/** vref_create's answer; key is the agent's slot (0n on error). */
export interface AgentVref {
  ret: number;
  id: number;
  key: bigint;
  /** The agent could not open the path (ret is then the open's -errno). */
  openFailed?: boolean;
}

/** vref_open's answer: ret 0 or -errno; the rest only when the open worked. */
export interface AgentVrefOpen {
  ret: number;
  fd?: number;
  /** fcntl(F_GETFL) of the new descriptor (O_APPEND forced, access mode). */
  flags?: number;
  cloexec?: boolean;
  /** write(2) of the bytes given (none: a 0-byte write, which still needs write access): bytes or -errno. */
  write?: number;
  /** pread(2) of up to 64 bytes at offset 0: bytes or -errno. */
  read?: number;
  /** The bytes read, hex. */
  hex?: string;
}

/** One cap a write_caps names: a vref id, or the id with its offset and kind. */
export type AgentCapIn = number | { vrefId: number; offset?: number; kind?: number };

/** read_caps's answer (size and capsCount: what the message needs on B_BUFFER_OVERFLOW). */
export interface AgentCapsRead {
  ret: number;
  code: number;
  size: number;
  capsCount: number;
  hex: string;
  caps: { kind: number; vrefId: number; offset: number; key: bigint }[];
}

/** A timeout as the agent takes it: microseconds, or "inf". */
function agentTimeout(t: number | bigint): string {
  return t === Infinity || t === 0x7fffffffffffffffn ? 'inf' : String(t);
}

/** A path as one command token (the agent splits commands on white space). */
function agentPath(p: string): string {
  if (p === '' || /\s/.test(p)) throw new Error(`nexus-agent: path ${JSON.stringify(p)} cannot be one token`);
  return p;
}

interface Pending {
  line: string;
  /** Set when the caller gave up (deadline): the answer is dropped. */
  abandoned: boolean;
  settle: (answer: AgentAnswer | Error) => void;
}

/** The command line that starts an agent: [setpriv ...] [wrap ...] path. */
export function agentCommand(opts: AgentOptions = {}): string[] {
  const priv =
    opts.uid === undefined
      ? []
      : ['setpriv', '--reuid', String(opts.uid), '--regid', String(opts.gid ?? opts.uid), '--clear-groups'];
  return [...priv, ...(opts.wrap ?? []), opts.path ?? AGENT_PATH];
}

export class Agent {
  /** Answers expected, in command order. */
  private pending: Pending[] = [];
  private onReady: ((line: string | undefined) => void) | undefined;
  private ended = false;
  private readonly exited: Promise<number | null>;
  private spawnError: Error | undefined;
  /** The ready line. */
  info: AgentReady | undefined;

  private constructor(private readonly child: ChildProcess) {
    this.exited = new Promise((resolve) => {
      child.once('exit', (code) => resolve(code));
      // Spawning failed: there is no process to wait for.
      child.once('error', (err) => {
        this.spawnError = err;
        if (child.pid === undefined) resolve(null);
      });
    });
    // A write to a dead agent must not take the runner down.
    child.stdin!.on('error', () => {});
  }

  /** The agent's pid, which is also its team id. */
  get pid(): number {
    return this.info?.pid ?? this.child.pid ?? -1;
  }

  /** Start an agent; resolves once it printed its ready line. */
  static async start(opts: AgentOptions = {}): Promise<Agent> {
    const [cmd, ...args] = agentCommand(opts);
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'inherit'] });
    const a = new Agent(child);
    const lines = createInterface({ input: child.stdout! });
    lines.on('line', (line) => a.receive(line));
    lines.on('close', () => void a.end());

    const timeoutMs = opts.startTimeoutMs ?? 15_000;
    let timer: NodeJS.Timeout | undefined;
    const first = await new Promise<string | undefined>((resolve) => {
      a.onReady = resolve;
      timer = setTimeout(() => resolve(undefined), timeoutMs);
    });
    clearTimeout(timer);
    a.onReady = undefined;
    let ready: Partial<AgentReady> | undefined;
    try {
      ready = first === undefined ? undefined : (JSON.parse(first) as Partial<AgentReady>);
    } catch {
      ready = undefined;
    }
    if (!ready || ready.ready !== true || typeof ready.pid !== 'number') {
      await a.kill();
      const why = a.spawnError
        ? `${cmd}: ${a.spawnError.message}`
        : first === undefined
          ? `no ready line within ${timeoutMs} ms (exit code ${child.exitCode}, signal ${child.signalCode})`
          : `got ${JSON.stringify(first)}`;
      throw new Error(`nexus-agent did not start: ${why}`);
    }
    a.info = ready as AgentReady;
    return a;
  }

  private receive(line: string): void {
    if (this.onReady) {
      this.onReady(line);
      return;
    }
    const p = this.pending.shift();
    if (!p) {
      process.stderr.write(`nexus-agent ${this.pid}: unexpected line ${JSON.stringify(line)}\n`);
      return;
    }
    if (p.abandoned) return;
    let answer: AgentAnswer;
    try {
      answer = JSON.parse(line) as AgentAnswer;
    } catch {
      p.settle(new Error(`nexus-agent ${this.pid}: '${p.line}': answer is no JSON: ${JSON.stringify(line)}`));
      return;
    }
    if (typeof answer.error === 'string') p.settle(new Error(`nexus-agent ${this.pid}: '${p.line}': ${answer.error}`));
    else p.settle(answer);
  }

  private async end(): Promise<void> {
    this.ended = true;
    this.onReady?.(undefined);
    // Say how it ended: the exit follows the end of its output closely.
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.exited, new Promise((resolve) => (timer = setTimeout(resolve, 1000)))]);
    clearTimeout(timer);
    const how = this.child.signalCode
      ? `killed by ${this.child.signalCode}`
      : `exit code ${this.child.exitCode ?? 'unknown'}`;
    for (const p of this.pending.splice(0)) {
      if (!p.abandoned) p.settle(new Error(`nexus-agent ${this.pid} ended (${how}) before answering '${p.line}'`));
    }
  }

  /**
   * Send a command and await its answer.  Rejects on an {"error":...}
   * answer, when the agent ends first, or after timeoutMs.
   */
  call(line: string, timeoutMs = 20_000): Promise<AgentAnswer> {
    if (this.ended) return Promise.reject(new Error(`nexus-agent ${this.pid} has ended: cannot send '${line}'`));
    const answer = new Promise<AgentAnswer>((resolve, reject) => {
      const p: Pending = {
        line,
        abandoned: false,
        settle: (r) => {
          clearTimeout(timer);
          if (r instanceof Error) reject(r);
          else resolve(r);
        },
      };
      const timer = setTimeout(() => {
        p.abandoned = true;
        reject(new Error(`nexus-agent ${this.pid} did not answer '${line}' within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push(p);
      this.child.stdin!.write(`${line}\n`);
    });
    // A call left pending when the scenario stops (and kills the agent)
    // must not become an unhandled rejection that takes the runner down;
    // whoever awaits the promise still sees the rejection.
    answer.catch(() => {});
    return answer;
  }

  // ---- typed commands: vrefs, port capabilities, the node monitor --------

  /**
   * vref_create: a vref of path (opened by the agent with open(2) flags
   * mode, default O_RDONLY, and closed after) or of one of the agent's
   * descriptors (a number: -1 for a bad one).
   */
  async vrefCreate(target: string | number, mode?: number): Promise<AgentVref> {
    const what = typeof target === 'number' ? String(target) : agentPath(target);
    if (typeof target === 'string' && !/^[/.]/.test(target)) throw new Error(`nexus-agent: vref_create path must start with / or .: ${target}`);
    const a = await this.call(`vref_create ${what}${mode === undefined ? '' : ` ${mode}`}`);
    return { ret: a.ret, id: a.id ?? 0, key: BigInt(a.key ?? 0), ...(a.open_failed ? { openFailed: true } : {}) };
  }

  async vrefAcquire(id: number, key: bigint): Promise<{ ret: number; key: bigint }> {
    const a = await this.call(`vref_acquire ${id} ${key}`);
    return { ret: a.ret, key: BigInt(a.key) };
  }

  async vrefRelease(id: number, key: bigint): Promise<number> {
    return (await this.call(`vref_release ${id} ${key}`)).ret;
  }

  /** vref_open: opens with mode, writes hex (if given), reads at 0, closes unless keep. */
  async vrefOpen(id: number, key: bigint, mode: number, opts: { hex?: string; keep?: boolean } = {}): Promise<AgentVrefOpen> {
    const tail = `${opts.hex !== undefined ? ` ${opts.hex || '-'}` : ''}${opts.keep ? ' keep' : ''}`;
    return (await this.call(`vref_open ${id} ${key} ${mode}${tail}`)) as AgentVrefOpen;
  }

  /** write_caps: the message (hex bytes) with the vrefs named; flags and timeout default 0. */
  async writeCaps(port: number, code: number, hex: string, caps: AgentCapIn[], flags = 0, timeout: number | bigint = 0): Promise<number> {
    const list = caps.length
      ? caps.map((c) => (typeof c === 'number' ? String(c) : [c.vrefId, c.offset ?? 0, c.kind ?? 1].join(':'))).join(',')
      : '-';
    return (await this.call(`write_caps ${port} ${code} ${hex || '-'} ${list} ${flags} ${agentTimeout(timeout)}`)).ret;
  }

  async readCaps(port: number, size: number, capsRoom: number, flags = 0, timeout: number | bigint = 0): Promise<AgentCapsRead> {
    const a = await this.call(`read_caps ${port} ${size} ${capsRoom} ${flags} ${agentTimeout(timeout)}`);
    return {
      ret: a.ret,
      code: a.code,
      size: a.size,
      capsCount: a.caps_count,
      hex: a.hex,
      caps: (a.caps as { kind: number; vref_id: number; offset: number; key: string }[]).map((c) => ({
        kind: c.kind,
        vrefId: c.vref_id,
        offset: c.offset,
        key: BigInt(c.key),
      })),
    };
  }

  /** watch: libnexus's watch_node_path (a Haiku status: B_NOT_ALLOWED for -EACCES/-EPERM). */
  async watch(path: string, flags: number, port: number, token: number): Promise<number> {
    return (await this.call(`watch ${agentPath(path)} ${flags} ${port} ${token}`)).ret;
  }

  /**
   * watch_raw: NEXUS_START_WATCHING itself (0 or -errno): on a path (opened
   * O_RDONLY|O_NONBLOCK for the call), on an agent descriptor (openFd), or
   * on -1: with vrefId the vref's node, alone the volume watch.
   */
  async watchRaw(target: string | number, flags: number, port: number, token: number, vrefId?: number): Promise<number> {
    const what = typeof target === 'number' ? String(target) : agentPath(target);
    return (await this.call(`watch_raw ${what} ${flags} ${port} ${token}${vrefId === undefined ? '' : ` ${vrefId}`}`)).ret;
  }

  /** open_fd: a descriptor of the agent's (open(2) flags mode), or -errno; close it with close_fd. */
  async openFd(path: string, mode: number): Promise<number> {
    return (await this.call(`open_fd ${agentPath(path)} ${mode}`)).ret;
  }

  async watchVolume(port: number, token: number): Promise<number> {
    return (await this.call(`watch_volume ${port} ${token}`)).ret;
  }

  /** stop_notifying: every watch of the agent for port and token (libnexus's stop_watching). */
  async stopNotifying(port: number, token: number): Promise<number> {
    return (await this.call(`stop_notifying ${port} ${token}`)).ret;
  }

  /**
   * hold inf: the agent sleeps for good and answers nothing more; what is
   * left is to kill it (kill(), signal('SIGKILL')), e.g. in the middle of
   * a stream of events to its port.
   */
  hold(): void {
    this.send('hold inf');
  }

  /** Send a command that has no answer (exit). */
  send(line: string): void {
    if (!this.ended) this.child.stdin!.write(`${line}\n`);
  }

  /** Ask the agent to exit with `code` and wait until it has been reaped; gives its exit code. */
  async exit(code = 0, timeoutMs = 10_000): Promise<number | null> {
    this.send(`exit ${code}`);
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`nexus-agent ${this.pid} did not exit within ${timeoutMs} ms`)), timeoutMs);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Send a signal to the spawned process (the agent itself unless a wrapper forks). */
  signal(sig: NodeJS.Signals): void {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill(sig);
    }
  }

  /** SIGKILL the agent (if it still runs) and wait until it has been reaped. */
  async kill(): Promise<void> {
    if (this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGKILL');
    }
    await this.exited;
  }
}
