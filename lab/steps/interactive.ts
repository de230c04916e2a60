// Steps of `nexus-lab shell` and `nexus-lab exec`: a quick job's own steps
// up to and including load (build, image, boot, load), then the session
// (a shell on the terminal, or uploads and one command), then dmesg and the
// guest's poweroff.  The pipeline ends QEMU and the SSH session on every
// path, as for any job.
import { dirname, basename } from 'node:path';
import type { JobRun, Step } from '../pipeline.js';
import { describeExec, execOk } from '../remote.js';
import { bootStep, shutdownGuest } from './boot.js';
import { buildStep } from './build.js';
import { quickImageStep } from './image.js';
import { loadStep } from './load.js';
import { collectDmesg } from './teardown.js';
import { describeCommandEnd, guestCommand, GUEST_UPLOAD_DIR, type CommandEnd } from '../interactive/options.js';
import { runTerminal } from '../interactive/terminal.js';

/** A quick job's steps up to a guest with the modules loaded. */
export const UP_TO_LOAD: readonly Step[] = [buildStep, quickImageStep, bootStep, loadStep];

/** What the session steps share with the command that runs them. */
export interface SessionState {
  /** The command's (exec) or session's (shell) deadline. */
  timeoutMs: number;
  /** How the command or shell ended; unset when it never ran. */
  end?: CommandEnd;
}

/** The modules must have loaded: otherwise the job stops with what failed. */
export const loadedStep: Step = {
  name: 'loaded',
  run: async (s: JobRun) => {
    if (s.problems.length > 0) s.halt();
  },
};

/** dmesg.txt and the guest's poweroff, whenever a guest is up (also after a failed load). */
export const sessionTeardown: readonly Step[] = [
  { name: 'collect', when: (s) => s.remote !== undefined && !s.signal.aborted, run: (s) => collectDmesg(s) },
  {
    name: 'poweroff',
    when: (s) => s.remote !== undefined && !s.signal.aborted,
    run: (s) => shutdownGuest(s, 'sync; echo o > /proc/sysrq-trigger', 5000),
  },
];

/** How a session ended when the job, not the command, stopped it. */
export function jobEnd(s: JobRun): CommandEnd {
  if (s.panic) return { kind: 'lab', reason: `the guest kernel panicked: ${s.panic.title}` };
  if (s.timeoutReason) return { kind: 'lab', reason: s.timeoutReason };
  if (s.ctx.signal.aborted) return { kind: 'interrupted', reason: String(s.ctx.signal.reason ?? 'signal') };
  return { kind: 'lab', reason: 'the connection to the guest was lost' };
}

/**
 * The session as the job's one scenario: exec's passes when its command
 * exits 0; a shell's when it ended by itself, whatever the status the user
 * left it with.
 */
function record(s: JobRun, name: string, end: CommandEnd, started: number, anyExit: boolean): void {
  const ok = end.kind === 'exit' ? anyExit || end.code === 0 : anyExit && end.kind === 'signal';
  const reason = ok ? undefined : end.kind === 'exit' ? `exit status ${end.code}` : describeCommandEnd(end);
  s.hostScenario({
    suite: 'interactive',
    name,
    status: ok ? 'pass' : 'fail',
    durationMs: Date.now() - started,
    ...(reason ? { reason } : {}),
    failures: reason ? [{ message: reason }] : [],
    metrics: [],
  });
}

export interface ShellHooks {
  /** Before the session opens: the caller silences its progress lines and says where the logs are. */
  before: (s: JobRun) => void;
  after: (s: JobRun) => void;
}

/** The shell on the terminal, until it exits, "~." or the deadline. */
export function shellStep(st: SessionState, hooks: ShellHooks): Step {
  return {
    name: 'shell',
    run: async (s) => {
      const port = s.vm?.spec.sshPort;
      if (port === undefined || !s.media) throw new Error('no guest to open a shell on');
      const started = Date.now();
      hooks.before(s);
      try {
        st.end = await runTerminal({
          port,
          privateKey: s.ctx.keys.privateKey,
          hostKey: s.media.hostKey,
          timeoutMs: st.timeoutMs,
          signal: s.signal,
          stdin: process.stdin,
          stdout: process.stdout,
          stderr: process.stderr,
        });
      } finally {
        hooks.after(s);
      }
      if (s.signal.aborted) st.end = jobEnd(s);
      record(s, 'shell', st.end, started, true);
    },
  };
}

export interface ExecIo {
  stdoutLine: (line: string) => void;
  stderrLine: (line: string) => void;
}

/** The files, each into GUEST_UPLOAD_DIR under its base name, modes kept (tar, extracted as root). */
export function uploadStep(uploads: readonly string[]): Step {
  return {
    name: 'upload',
    when: (s) => !s.stopped && uploads.length > 0,
    run: async (s) => {
      const byDir = new Map<string, string[]>();
      for (const p of uploads) byDir.set(dirname(p), [...(byDir.get(dirname(p)) ?? []), basename(p)]);
      for (const [dir, names] of byDir) {
        const up = await s.checked(await s.remote!.upload(dir, names, GUEST_UPLOAD_DIR, { timeoutMs: s.t.commandMs * 4, signal: s.signal }));
        if (!execOk(up)) {
          s.problems.push(`uploading ${names.join(', ')} failed: ${describeExec(up)}`);
          s.halt();
          return;
        }
      }
    },
  };
}

/** The command, its output streamed line by line, under its deadline. */
export function execStep(st: SessionState, words: readonly string[], io: ExecIo): Step {
  return {
    name: 'exec',
    run: async (s) => {
      const started = Date.now();
      const r = await s.remote!.exec(guestCommand(words), {
        timeoutMs: st.timeoutMs,
        signal: s.signal,
        onStdoutLine: io.stdoutLine,
        onStderrLine: io.stderrLine,
      });
      if (s.signal.aborted) st.end = jobEnd(s);
      else if (r.timedOut) st.end = { kind: 'timeout', afterMs: st.timeoutMs };
      else if (r.lost) {
        // A panic takes the connection down: let QEMU finish printing it.
        await s.vm?.waitExit(5000);
        st.end = s.panic ? jobEnd(s) : { kind: 'lab', reason: 'the connection to the guest was lost during the command' };
      } else if (r.signal) st.end = { kind: 'signal', signal: r.signal };
      else if (r.code !== null) st.end = { kind: 'exit', code: r.code };
      else st.end = { kind: 'lab', reason: `the command ended without an exit status (${describeExec(r)})` };
      record(s, words.join(' ').slice(0, 80), st.end, started, false);
      if (r.lost) s.halt();
    },
  };
}
