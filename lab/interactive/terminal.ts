// The interactive half of `nexus-lab shell`: an SSH session (ssh2, its own
// connection to the guest with the run's key, the guest's host key checked)
// on the lab's terminal.  With a terminal on stdin: a pty sized like it, the
// local tty in raw mode, window changes forwarded, and "~." at the start of
// a line ends the session from the host (as with ssh), which a hung guest
// needs.  Without one: no pty, stdin is the guest shell's input, as with
// `ssh host < script`.  Every path (the shell exits, the connection drops,
// the deadline, the lab's signal) restores the tty and closes the
// connection.
import ssh2, { type ClientChannel } from 'ssh2';
import { publicKeyBlob } from '../remote.js';
import type { CommandEnd } from './options.js';

const { Client } = ssh2;

const TILDE = 0x7e;
const DOT = 0x2e;

/**
 * Finds the "~." escape in what the user types: a "~" at the start of a
 * line is held back until the next byte; "." then ends the session, "~"
 * sends one "~", anything else sends both.
 */
export class EscapeScanner {
  private atLineStart = true;
  private held = false;

  feed(chunk: Uint8Array): { data: Buffer; quit: boolean } {
    const out: number[] = [];
    for (const b of chunk) {
      if (this.held) {
        this.held = false;
        if (b === DOT) return { data: Buffer.from(out), quit: true };
        out.push(TILDE);
        if (b === TILDE) {
          this.atLineStart = false;
          continue;
        }
      } else if (this.atLineStart && b === TILDE) {
        this.held = true;
        continue;
      }
      out.push(b);
      this.atLineStart = b === 0x0d || b === 0x0a;
    }
    return { data: Buffer.from(out), quit: false };
  }
}

export interface TerminalOptions {
  port: number;
  privateKey: string;
  /** The guest's host key (OpenSSH public key line). */
  hostKey: string;
  /** The session's deadline. */
  timeoutMs: number;
  signal: AbortSignal;
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  /** Told once the session is open (the shell prompt is coming). */
  onOpen?: (pty: boolean) => void;
}

/** The pty request for a terminal of this size. */
export function ptyOf(out: { columns?: number; rows?: number }, term: string | undefined): { term: string; cols: number; rows: number; width: 0; height: 0 } {
  return { term: term || 'xterm', cols: out.columns || 80, rows: out.rows || 24, width: 0, height: 0 };
}

/** Run one shell session on the guest; resolves with how it ended, never rejects. */
export function runTerminal(o: TerminalOptions): Promise<CommandEnd> {
  const pty = Boolean(o.stdin.isTTY);
  return new Promise((resolve) => {
    const conn = new Client();
    let channel: ClientChannel | undefined;
    let exit: CommandEnd | undefined;
    let settled = false;
    let raw = false;
    const scanner = new EscapeScanner();
    const ignore = () => undefined;

    const onInput = (d: Buffer) => {
      if (!channel) return;
      if (!pty) {
        channel.write(d);
        return;
      }
      const r = scanner.feed(d);
      if (r.data.length > 0) channel.write(r.data);
      if (r.quit) finish({ kind: 'lab', reason: 'ended from the host with ~.' });
    };
    const onInputEnd = () => channel?.end();
    const onResize = () => channel?.setWindow(o.stdout.rows || 24, o.stdout.columns || 80, 0, 0);
    const onAbort = () => finish({ kind: 'interrupted', reason: String(o.signal.reason ?? 'signal') });
    const timer = setTimeout(() => finish({ kind: 'timeout', afterMs: o.timeoutMs }), o.timeoutMs);

    function finish(end: CommandEnd): void {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      o.signal.removeEventListener('abort', onAbort);
      o.stdin.off('data', onInput);
      o.stdin.off('end', onInputEnd);
      o.stdout.off('resize', onResize);
      if (raw) o.stdin.setRawMode(false);
      o.stdin.pause();
      try {
        channel?.close();
      } catch {
        // already closed
      }
      conn.end();
      conn.destroy();
      o.stdout.off('error', ignore);
      o.stderr.off('error', ignore);
      if (pty) o.stdout.write('\r\n');
      resolve(end);
    }

    if (o.signal.aborted) return onAbort();
    o.signal.addEventListener('abort', onAbort, { once: true });
    // A terminal that hangs up (SIGHUP) makes writes fail: the session ends by the signal, not a crash.
    o.stdout.on('error', ignore);
    o.stderr.on('error', ignore);
    const expected = publicKeyBlob(o.hostKey);
    conn.on('error', (e) => finish(exit ?? { kind: 'lab', reason: `the SSH connection failed: ${e.message}` }));
    conn.on('close', () => finish(exit ?? { kind: 'lab', reason: 'the connection to the guest was lost' }));
    conn.once('ready', () => {
      const onChannel = (err: Error | undefined, ch: ClientChannel) => {
        if (err) return finish({ kind: 'lab', reason: `the guest refused a shell: ${err.message}` });
        if (settled) return ch.close();
        channel = ch;
        ch.on('data', (d: Buffer) => o.stdout.write(d));
        ch.stderr.on('data', (d: Buffer) => o.stderr.write(d));
        ch.on('exit', (code: number | null, signal?: string) => {
          exit = signal ? { kind: 'signal', signal } : { kind: 'exit', code: code ?? 0 };
        });
        ch.on('close', () => finish(exit ?? { kind: 'lab', reason: 'the shell ended without an exit status' }));
        o.onOpen?.(pty);
        if (pty) {
          o.stdin.setRawMode(true);
          raw = true;
          o.stdout.on('resize', onResize);
        }
        o.stdin.on('data', onInput);
        o.stdin.on('end', onInputEnd);
        o.stdin.resume();
      };
      if (pty) conn.shell(ptyOf(o.stdout, process.env.TERM), onChannel);
      else conn.shell(false, onChannel);
    });
    conn.connect({
      host: '127.0.0.1',
      port: o.port,
      username: 'root',
      privateKey: o.privateKey,
      readyTimeout: 20_000,
      keepaliveInterval: 5000,
      keepaliveCountMax: 6,
      hostVerifier: (key: Buffer) => key.equals(expected),
    });
  });
}
