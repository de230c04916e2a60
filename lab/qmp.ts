// A small QMP (QEMU Machine Protocol) client: JSON over a unix socket, used
// for a clean quit of the guest's QEMU.  Every call has a deadline.
import { createConnection, type Socket } from 'node:net';

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Qmp {
  private buf = '';
  private pending: Pending[] = [];
  private closed = false;

  private constructor(private readonly sock: Socket) {
    sock.setEncoding('utf8');
    sock.on('data', (chunk: string) => this.onData(chunk));
    sock.on('close', () => this.fail(new Error('QMP connection closed')));
    sock.on('error', (e) => this.fail(e));
  }

  /** Connect, read the greeting and negotiate capabilities. */
  static async connect(path: string, timeoutMs: number): Promise<Qmp> {
    const sock = await new Promise<Socket>((resolve, reject) => {
      const s = createConnection(path);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new Error(`QMP: no connection to ${path} within ${timeoutMs} ms`));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    const qmp = new Qmp(sock);
    // The greeting arrives first and is answered like a command.
    await qmp.expect(timeoutMs);
    await qmp.command('qmp_capabilities', undefined, timeoutMs);
    return qmp;
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.indexOf('\n')) >= 0) {
      const line = this.buf.slice(0, nl).trim();
      this.buf = this.buf.slice(nl + 1);
      if (!line) continue;
      let msg: Record<string, unknown>;
      try {
        msg = JSON.parse(line) as Record<string, unknown>;
      } catch {
        continue;
      }
      if ('event' in msg) continue;
      const p = this.pending.shift();
      if (!p) continue;
      clearTimeout(p.timer);
      if ('error' in msg) {
        const err = msg.error as { class?: string; desc?: string };
        p.reject(new Error(`QMP error ${err.class ?? ''}: ${err.desc ?? line}`));
      } else p.resolve(msg.return ?? msg.QMP ?? msg);
    }
  }

  private fail(e: Error): void {
    this.closed = true;
    for (const p of this.pending.splice(0)) {
      clearTimeout(p.timer);
      p.reject(e);
    }
  }

  private expect(timeoutMs: number): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (this.closed) return reject(new Error('QMP connection closed'));
      const timer = setTimeout(() => {
        const i = this.pending.findIndex((p) => p.timer === timer);
        if (i >= 0) this.pending.splice(i, 1);
        reject(new Error(`QMP: no answer within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.push({ resolve, reject, timer });
    });
  }

  command(name: string, args: Record<string, unknown> | undefined, timeoutMs: number): Promise<unknown> {
    const answer = this.expect(timeoutMs);
    this.sock.write(`${JSON.stringify(args ? { execute: name, arguments: args } : { execute: name })}\n`);
    return answer;
  }

  close(): void {
    this.closed = true;
    this.sock.destroy();
  }
}
