// SSH to a guest with ssh2: a fresh ed25519 key per run (no passwords), the
// guest's host key checked against the image's, connection retried until the
// boot deadline, commands with streamed output, exit status and a deadline,
// and uploads as a tar stream.
import { create as tarCreate } from 'tar';
import { lineSplitter } from './lines.js';
import ssh2, { type ClientChannel } from 'ssh2';

// ssh2 is CommonJS: its named exports are reached through the default one.
const { Client, utils } = ssh2;
type Client = InstanceType<typeof Client>;

export interface KeyPair {
  privateKey: string;
  /** OpenSSH authorized_keys line. */
  publicKey: string;
}

export function generateKeyPair(comment: string): KeyPair {
  const k = utils.generateKeyPairSync('ed25519', { comment });
  return { privateKey: k.private, publicKey: k.public.trim() };
}

/** The key blob of an OpenSSH public key line ("ssh-ed25519 AAAA... comment"). */
export function publicKeyBlob(line: string): Buffer {
  const parts = line.trim().split(/\s+/);
  if (parts.length < 2 || !/^[A-Za-z0-9+/=]+$/.test(parts[1]!)) throw new Error(`not an OpenSSH public key: '${line.slice(0, 40)}'`);
  return Buffer.from(parts[1]!, 'base64');
}

export interface ConnectOptions {
  host: string;
  port: number;
  username: string;
  privateKey: string;
  /** Expected host public key line; the connection is refused on mismatch. */
  hostKey?: string;
  /** Give up at this time (ms since epoch). */
  deadline: number;
  /** Limit of one attempt's handshake. */
  attemptTimeoutMs?: number;
  signal?: AbortSignal;
  /** Stop retrying when this says the guest is gone (QEMU exited, panic). */
  shouldStop?: () => string | undefined;
}

export interface ExecOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  onStdoutLine?: (line: string) => void;
  onStderrLine?: (line: string) => void;
  /** Written to the command's stdin, which is then closed. */
  stdin?: string | NodeJS.ReadableStream;
}

export interface ExecResult {
  command: string;
  /** null when the command did not report one (connection lost, timeout). */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  cancelled: boolean;
  /** The connection went away before the command ended. */
  lost: boolean;
  durationMs: number;
}

export function execOk(r: ExecResult): boolean {
  return r.code === 0 && !r.timedOut && !r.cancelled && !r.lost;
}

export function describeExec(r: ExecResult): string {
  if (r.timedOut) return `timed out after ${(r.durationMs / 1000).toFixed(1)} s`;
  if (r.cancelled) return 'cancelled';
  if (r.lost) return 'connection to the guest lost';
  if (r.signal) return `killed by ${r.signal}`;
  const err = r.stderr.trim().split('\n').slice(-2).join(' | ');
  return `exit code ${r.code}${err ? `: ${err}` : ''}`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}

export class Remote {
  private lostReason: string | undefined;

  private constructor(private readonly conn: Client, readonly attempts: number) {
    conn.on('close', () => {
      this.lostReason ??= 'connection closed';
    });
    conn.on('error', (e) => {
      this.lostReason ??= e.message;
    });
  }

  /** Connect, retrying until the deadline. Throws with the last error. */
  static async connect(o: ConnectOptions): Promise<Remote> {
    const expected = o.hostKey ? publicKeyBlob(o.hostKey) : undefined;
    let attempts = 0;
    let last = 'no attempt made';
    while (Date.now() < o.deadline) {
      if (o.signal?.aborted) throw new Error('cancelled while connecting');
      const stop = o.shouldStop?.();
      if (stop) throw new Error(`${stop} (last SSH error: ${last})`);
      attempts++;
      const left = o.deadline - Date.now();
      try {
        const conn = await Remote.attempt(o, Math.max(1000, Math.min(o.attemptTimeoutMs ?? 15_000, left)), expected);
        return new Remote(conn, attempts);
      } catch (e) {
        last = (e as Error).message;
        if (/host key mismatch/.test(last)) throw e;
      }
      await sleep(Math.min(250, Math.max(0, o.deadline - Date.now())), o.signal);
    }
    throw new Error(`no SSH connection after ${attempts} attempts: ${last}`);
  }

  private static attempt(o: ConnectOptions, timeoutMs: number, expected: Buffer | undefined): Promise<Client> {
    return new Promise((resolve, reject) => {
      const conn = new Client();
      let mismatch = false;
      const onAbort = () => {
        conn.destroy();
        reject(new Error('cancelled while connecting'));
      };
      o.signal?.addEventListener('abort', onAbort, { once: true });
      conn.once('ready', () => {
        o.signal?.removeEventListener('abort', onAbort);
        resolve(conn);
      });
      // ssh2 may report several errors for one failed attempt: keep listening.
      conn.on('error', (e) => {
        o.signal?.removeEventListener('abort', onAbort);
        conn.destroy();
        reject(mismatch ? new Error('SSH host key mismatch: the guest is not the image the lab built') : e);
      });
      conn.connect({
        host: o.host,
        port: o.port,
        username: o.username,
        privateKey: o.privateKey,
        readyTimeout: timeoutMs,
        keepaliveInterval: 5000,
        keepaliveCountMax: 6,
        hostVerifier: (key: Buffer) => {
          if (!expected) return true;
          mismatch = !key.equals(expected);
          return !mismatch;
        },
      });
    });
  }

  /** Run a command; never rejects: failures are in the result. */
  exec(command: string, o: ExecOptions): Promise<ExecResult> {
    const started = Date.now();
    return new Promise((resolve) => {
      let stdout = '';
      let stderr = '';
      let timedOut = false;
      let cancelled = false;
      let settled = false;
      let channel: ClientChannel | undefined;
      const outLines = o.onStdoutLine ? lineSplitter(o.onStdoutLine) : undefined;
      const errLines = o.onStderrLine ? lineSplitter(o.onStderrLine) : undefined;
      const finish = (code: number | null, signal: string | null, lost: boolean) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        o.signal?.removeEventListener('abort', onAbort);
        this.conn.removeListener('close', onClose);
        outLines?.flush();
        errLines?.flush();
        resolve({ command, code, signal, stdout, stderr, timedOut, cancelled, lost, durationMs: Date.now() - started });
      };
      const kill = () => {
        try {
          channel?.signal('KILL');
        } catch {
          // the server may not support signals
        }
        channel?.close();
        setTimeout(() => finish(null, null, false), 1000).unref();
      };
      const timer = setTimeout(() => {
        timedOut = true;
        kill();
      }, o.timeoutMs);
      const onAbort = () => {
        cancelled = true;
        kill();
      };
      const onClose = () => finish(null, null, true);
      if (o.signal?.aborted) {
        cancelled = true;
        finish(null, null, false);
        return;
      }
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.conn.once('close', onClose);
      if (this.lostReason) return finish(null, null, true);
      this.conn.exec(command, (err, ch) => {
        if (err) {
          stderr = err.message;
          return finish(null, null, /No response|Not connected|closed/i.test(err.message));
        }
        channel = ch;
        ch.setEncoding('utf8');
        ch.stderr.setEncoding('utf8');
        ch.on('data', (d: string) => {
          stdout += d;
          outLines?.push(d);
        });
        ch.stderr.on('data', (d: string) => {
          stderr += d;
          errLines?.push(d);
        });
        ch.on('close', (code: number | null | undefined, signal?: string) => {
          finish(code ?? null, signal ?? null, code === undefined && signal === undefined && !timedOut && !cancelled);
        });
        if (typeof o.stdin === 'string') ch.end(o.stdin);
        else if (o.stdin) o.stdin.pipe(ch);
        else ch.end();
      });
    });
  }

  /**
   * Upload files (paths relative to localDir) into remoteDir, as one tar
   * stream into `tar -x` on the guest.
   */
  upload(localDir: string, paths: readonly string[], remoteDir: string, o: Omit<ExecOptions, 'stdin'>): Promise<ExecResult> {
    const pack = tarCreate({ cwd: localDir, portable: true }, [...paths]);
    const q = remoteDir.replace(/'/g, "'\\''");
    return this.exec(`mkdir -p '${q}' && tar -x -f - -C '${q}'`, { ...o, stdin: pack as unknown as NodeJS.ReadableStream });
  }

  close(): void {
    this.conn.end();
    this.conn.destroy();
  }
}
