// QEMU guests: accelerator probe (KVM, else TCG), boot with the serial
// console in a file that is followed as it grows, a QMP socket for a clean
// quit, user-mode networking with restrict=on and SSH forwarded on
// 127.0.0.1 only.  A guest is always ended: QMP quit, then SIGTERM, then
// SIGKILL, and QEMU dies with the lab (PR_SET_PDEATHSIG via setpriv).
import { access, constants, open, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { runChecked, spawnOwned, describeEnd, type OwnedProcess, type ProcResult } from './proc.js';
import { Qmp } from './qmp.js';

export const QEMU = 'qemu-system-x86_64';

export type Accel = 'kvm' | 'tcg';

export interface AccelChoice {
  used: Accel;
  reason: string;
  probeMs: number;
}

export interface VmSpec {
  name: string;
  accel: Accel;
  kernel: string;
  initrd?: string;
  append: string;
  /** The root disk.  By default raw with snapshot=on: the guest never changes it. */
  disk?: string;
  /** Format of `disk` (default raw); a release job's qcow2 overlay is written to. */
  diskFormat?: 'raw' | 'qcow2';
  /** Discard the guest's writes (default true). */
  snapshot?: boolean;
  memoryMiB: number;
  cpus: number;
  consolePath: string;
  qmpSocket?: string;
  /** Host port forwarded (127.0.0.1 only) to the guest's port 22. */
  sshPort?: number;
}

/** The QEMU command line of a guest. */
export function qemuArgs(spec: VmSpec): string[] {
  const args = [
    '-name', `nexus-lab:${spec.name}`,
    '-nodefaults', '-no-user-config',
    '-machine', 'pc',
    '-accel', spec.accel,
    '-cpu', spec.accel === 'kvm' ? 'host' : 'max',
    '-m', String(spec.memoryMiB),
    '-smp', String(spec.cpus),
    '-display', 'none',
    '-no-reboot',
    '-serial', `file:${spec.consolePath}`,
    '-kernel', spec.kernel,
    '-append', spec.append,
  ];
  if (spec.initrd) args.push('-initrd', spec.initrd);
  if (spec.disk) {
    const snapshot = (spec.snapshot ?? true) ? 'on' : 'off';
    args.push('-drive', `file=${spec.disk},if=virtio,format=${spec.diskFormat ?? 'raw'},snapshot=${snapshot}`);
  }
  if (spec.sshPort !== undefined) {
    args.push(
      '-netdev', `user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:${spec.sshPort}-:22`,
      '-device', 'virtio-net-pci,netdev=net0',
    );
  }
  if (spec.qmpSocket) args.push('-qmp', `unix:${spec.qmpSocket},server=on,wait=off`);
  return args;
}

/** Kernel command line of a lab guest. */
export function guestAppend(extra: readonly string[] = []): string {
  // panic=-1: reboot at once on panic, which -no-reboot turns into QEMU's exit.
  // tsc=reliable: under TCG a loaded host skews the TSC against the HPET,
  // the clocksource watchdog marks it unstable after a minute or two, and
  // sched_clock's static key is then re-patched live - which crashed a
  // 2-vCPU TCG guest (Oops: int3 in sched_clock_cpu, 6.12).  The guest's TSC
  // is QEMU's, monotonic: no watchdog is needed.
  // no_timer_check: the IO-APIC timer check counts ticks against a busy
  // loop; a TCG guest on a loaded host misses them and panics at boot ("IO-APIC
  // + timer doesn't work!", 6.12, 2 vCPUs, host load 10).  QEMU's timer works.
  return ['console=ttyS0,115200', 'panic=-1', 'random.trust_cpu=on', 'printk.time=1', 'tsc=reliable', 'no_timer_check', ...extra].join(' ');
}

export async function qemuVersion(): Promise<string> {
  const out = await runChecked(QEMU, ['--version'], { timeoutMs: 10_000 });
  return /version\s+(\S+)/.exec(out)?.[1] ?? out.split('\n')[0]!.trim();
}

/** A free TCP port on 127.0.0.1 (QEMU binds it a moment later). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function wrapped(args: string[]): { file: string; args: string[] } {
  // setpriv makes the kernel kill QEMU if the lab dies without cleaning up.
  return { file: 'setpriv', args: ['--pdeathsig', 'SIGKILL', '--', QEMU, ...args] };
}

/** Judge a KVM probe boot: the kernel must have run to its end and QEMU exited by itself. */
export function judgeProbe(r: Pick<ProcResult, 'exitCode' | 'timedOut' | 'stderr'>, console: string): string | undefined {
  const internal = /KVM internal error[^\n]*/.exec(r.stderr);
  if (internal) return internal[0];
  const failedInit = /failed to initialize kvm[^\n]*|Could not access KVM kernel module[^\n]*/i.exec(r.stderr);
  if (failedInit) return failedInit[0];
  if (console.trim() === '') return 'the probe kernel printed nothing';
  if (r.timedOut) return 'the probe kernel started but did not finish booting in time';
  if (!/Kernel panic - not syncing/.test(console)) return `the probe kernel did not reach init (QEMU exit ${r.exitCode})`;
  return undefined;
}

/**
 * What QEMU itself said on stderr, for a reason a user can act on: its
 * lines without the program name, without "terminating on signal" (the
 * probe's own SIGTERM), warnings only when nothing else was said, at most
 * `max` lines of at most 200 characters.
 */
export function qemuSaid(stderr: string, max = 3): string[] {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim().replace(/^qemu(-system-[\w-]+)?: /, ''))
    .filter((l) => l !== '' && !/^terminating on signal/.test(l))
    .map((l) => (l.length > 200 ? `${l.slice(0, 197)}...` : l));
  const unique = [...new Set(lines)];
  const errors = unique.filter((l) => !/^warning:/i.test(l));
  return (errors.length > 0 ? errors : unique).slice(0, max);
}

/** Why KVM is not used: the lab's finding, then what QEMU printed that the finding does not already say. */
export function kvmReason(problem: string, stderr: string): string {
  const said = qemuSaid(stderr).filter((l) => !problem.includes(l));
  return said.length > 0 ? `${problem} (QEMU: ${said.join(' | ')})` : problem;
}

/** A short boot of `kernel` under KVM (no root: it must panic, and QEMU then exits). */
async function probeBoot(kernel: string, workDir: string, signal?: AbortSignal): Promise<{ r: ProcResult; console: string }> {
  const consolePath = join(workDir, 'kvm-probe.console.log');
  await rm(consolePath, { force: true });
  const spec: VmSpec = {
    name: 'kvm-probe', accel: 'kvm', kernel, append: 'console=ttyS0 panic=-1', memoryMiB: 256, cpus: 1, consolePath,
  };
  const { file, args } = wrapped(qemuArgs(spec));
  // A failing KVM often hangs, with "KVM internal error" or silently: stop
  // at once on the error, and when the kernel prints nothing within 5 s
  // (it prints within a second under KVM).
  const probe = spawnOwned(file, args, {
    timeoutMs: 20_000,
    signal,
    killGraceMs: 1000,
    onStderrLine: (line) => {
      if (/KVM internal error|failed to initialize kvm/i.test(line)) probe.terminate();
    },
  });
  const silent = setTimeout(() => {
    void stat(consolePath)
      .then((st) => st.size === 0)
      .catch(() => true)
      .then((empty) => {
        if (empty) probe.terminate();
      });
  }, 5000);
  const r = await probe.done;
  clearTimeout(silent);
  return { r, console: await readFile(consolePath, 'utf8').catch(() => '') };
}

/**
 * Pick the accelerator: KVM when /dev/kvm is usable and a short probe boot of
 * `kernel` (no root: it must panic and reboot) works, TCG otherwise.  The
 * reason for TCG carries what QEMU printed when it tried KVM.
 */
export async function probeAccel(kernel: string, workDir: string, want: 'auto' | Accel, signal?: AbortSignal): Promise<AccelChoice> {
  const started = Date.now();
  if (want === 'tcg') return { used: 'tcg', reason: 'requested with --accel tcg', probeMs: 0 };
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch (e) {
    // QEMU says it better ("Could not access KVM kernel module: ..."): it fails at once without /dev/kvm.
    const { r } = await probeBoot(kernel, workDir, signal);
    const problem = kvmReason(`/dev/kvm is not usable (${(e as NodeJS.ErrnoException).code ?? 'error'})`, r.stderr);
    if (want === 'kvm') throw new Error(`--accel kvm: ${problem}`);
    return { used: 'tcg', reason: problem, probeMs: Date.now() - started };
  }
  const { r, console } = await probeBoot(kernel, workDir, signal);
  const judged = r.spawnError ? `QEMU did not start: ${r.spawnError}` : judgeProbe(r, console);
  const probeMs = Date.now() - started;
  if (judged === undefined) return { used: 'kvm', reason: 'KVM probe boot succeeded', probeMs };
  const problem = kvmReason(judged, r.stderr);
  if (want === 'kvm') throw new Error(`--accel kvm: the KVM probe failed: ${problem}`);
  return { used: 'tcg', reason: `KVM probe failed: ${problem}`, probeMs };
}

/** Follows the console file as QEMU writes it. */
class ConsoleFollower {
  private offset = 0;
  private timer: NodeJS.Timeout | undefined;
  private reading: Promise<void> = Promise.resolve();

  constructor(private readonly path: string, private readonly onChunk: (chunk: string) => void) {}

  start(intervalMs = 200): void {
    this.timer = setInterval(() => {
      this.reading = this.reading.then(() => this.readNew());
    }, intervalMs);
    this.timer.unref();
  }

  private async readNew(): Promise<void> {
    let fh;
    try {
      fh = await open(this.path, 'r');
    } catch {
      return;
    }
    try {
      for (;;) {
        const buf = Buffer.alloc(64 * 1024);
        const { bytesRead } = await fh.read(buf, 0, buf.length, this.offset);
        if (bytesRead === 0) break;
        this.offset += bytesRead;
        this.onChunk(buf.subarray(0, bytesRead).toString('latin1'));
      }
    } finally {
      await fh.close();
    }
  }

  /** Stop following after reading whatever is left. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.reading;
    await this.readNew();
  }
}

export interface VmOptions {
  signal?: AbortSignal;
  /** Hard limit of the guest's whole life. */
  lifetimeMs: number;
  onConsole?: (chunk: string) => void;
}

export class Vm {
  readonly startedAt = Date.now();
  private readonly follower: ConsoleFollower;
  private stopping: Promise<string> | undefined;

  private constructor(readonly spec: VmSpec, readonly proc: OwnedProcess, onConsole: (chunk: string) => void) {
    this.follower = new ConsoleFollower(spec.consolePath, onConsole);
    this.follower.start();
  }

  static start(spec: VmSpec, opts: VmOptions): Vm {
    const { file, args } = wrapped(qemuArgs(spec));
    const proc = spawnOwned(file, args, {
      timeoutMs: opts.lifetimeMs,
      signal: opts.signal,
      killGraceMs: 2000,
      buffer: false,
    });
    return new Vm(spec, proc, opts.onConsole ?? (() => undefined));
  }

  exited(): boolean {
    return this.proc.exited();
  }

  /** Wait up to `ms` for QEMU to exit by itself; true if it did. */
  async waitExit(ms: number): Promise<boolean> {
    if (this.proc.exited()) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), ms);
    });
    const ended = await Promise.race([this.proc.done.then(() => true as const), timeout]);
    clearTimeout(timer);
    return ended;
  }

  /**
   * End the guest: if it is still running, QMP quit, then SIGTERM/SIGKILL.
   * Returns how QEMU ended.  Safe to call more than once.
   */
  stop(): Promise<string> {
    this.stopping ??= (async () => {
      if (!this.proc.exited() && this.spec.qmpSocket) {
        try {
          const qmp = await Qmp.connect(this.spec.qmpSocket, 2000);
          await qmp.command('quit', undefined, 2000).catch(() => undefined);
          qmp.close();
        } catch {
          // fall through to signals
        }
        await this.waitExit(3000);
      }
      if (!this.proc.exited()) this.proc.terminate();
      const r = await this.proc.done;
      await this.follower.stop();
      if (this.spec.qmpSocket) await rm(this.spec.qmpSocket, { force: true });
      return describeEnd(r) + (r.stderr.trim() ? `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}` : '');
    })();
    return this.stopping;
  }
}
