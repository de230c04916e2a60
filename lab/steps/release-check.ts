// A release step is a scenario the host judges: it has its own verdict
// (suite "release"), deadline and log (<job>/release-<name>.log).  Each
// guest command it runs goes in the log with its output; the first that
// fails ends the scenario as a failure that says what and why.
import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JobRun, Step } from '../pipeline.js';
import { describeExec, execOk, type ExecResult } from '../remote.js';

/** A check that did not hold: the scenario fails with this message. */
export class CheckFailed extends Error {}

/** The step cannot apply here (why in the message): the scenario is a skip, the job goes on. */
export class StepSkipped extends Error {}

export interface StepLog {
  /** A line in the scenario's log. */
  note: (line: string) => Promise<void>;
  /** Run a guest command, log it and its output; throws CheckFailed when it fails. */
  run: (what: string, command: string, timeoutMs?: number) => Promise<ExecResult>;
  /** Run a guest command, log it; its failure is data, not an error. */
  probe: (command: string, timeoutMs?: number) => Promise<ExecResult>;
  /** Fail the scenario unless `ok`. */
  check: (ok: boolean, message: string) => void;
}

function tail(text: string, lines = 12): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

export function stepLog(s: JobRun, name: string): StepLog {
  const file = join(s.jobDir, `release-${name}.log`);
  s.rec.files[`release-${name}`] = `${s.job.id}/release-${name}.log`;
  const note = (line: string) => appendFile(file, `${line}\n`);
  const probe = async (command: string, timeoutMs?: number) => {
    await note(`$ ${command}`);
    const started = Date.now();
    const r = await s.cmd(command, timeoutMs);
    const out = [r.stdout.trimEnd(), r.stderr.trimEnd()].filter(Boolean).join('\n');
    await note(`${out ? `${out}\n` : ''}[${describeExec(r)}, ${((Date.now() - started) / 1000).toFixed(1)} s]`);
    return r;
  };
  return {
    note,
    probe,
    run: async (what, command, timeoutMs) => {
      const r = await probe(command, timeoutMs);
      if (!execOk(r)) {
        const out = tail(`${r.stdout}\n${r.stderr}`.trim(), 4);
        throw new CheckFailed(`${what}: ${describeExec(r)}${out ? `: ${out.split('\n').join(' | ')}` : ''}`);
      }
      return r;
    },
    check: (ok, message) => {
      if (!ok) throw new CheckFailed(message);
    },
  };
}

/**
 * A release step as a host-judged scenario.  A failed check fails the
 * scenario and ends the job there (what follows would only fail for the
 * same reason); the guest is still shut down and its logs collected.
 */
export function releaseStep(name: string, deadlineMs: Step['deadlineMs'], body: (s: JobRun, log: StepLog) => Promise<void>): Step {
  return {
    name,
    deadlineMs,
    run: async (s) => {
      const started = Date.now();
      const log = stepLog(s, name);
      await writeFile(join(s.jobDir, `release-${name}.log`), `# release step ${name}, ${new Date(started).toISOString()}\n`);
      let reason: string | undefined;
      try {
        await body(s, log);
      } catch (e) {
        if (e instanceof StepSkipped && !s.signal.aborted) {
          await log.note(`skipped: ${e.message}`);
          s.hostScenario({ suite: 'release', name, status: 'skip', durationMs: Date.now() - started, reason: e.message, failures: [], metrics: [] });
          return;
        }
        if (s.signal.aborted || !(e instanceof CheckFailed)) {
          s.hostScenario({ suite: 'release', name, status: 'error', durationMs: Date.now() - started, reason: String((e as Error).message ?? e), failures: [], metrics: [] });
          throw e;
        }
        reason = e.message;
      }
      await log.note(`${reason ? `FAILED: ${reason}` : 'passed'} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      s.hostScenario({
        suite: 'release',
        name,
        status: reason ? 'fail' : 'pass',
        durationMs: Date.now() - started,
        ...(reason ? { reason } : {}),
        failures: reason ? [{ message: reason }] : [],
        metrics: [],
      });
      if (reason) s.halt();
    },
  };
}
