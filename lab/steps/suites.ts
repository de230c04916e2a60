// Run step: the guest runner runs the job's suites and streams JSON events
// back; then the module's counters must all be back to 0 (leaks).
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { GUEST_SCENARIOS_DIR } from '../images.js';
import { cpuMismatch, leaks } from '../job.js';
import { foldLeaks, leakProblems } from '../leaks.js'; // leaks:
import type { JobRun, Step } from '../pipeline.js';
import { describeExec, execOk } from '../remote.js';
import { parseEvent } from '../../scenarios/runner/events.js';
import { parseCounters, COUNTERS_PATH } from '../../scenarios/lib/counters.js';

/**
 * Run the guest runner (its config uploaded before) with `runnerMs` as its
 * deadline.  `tag` names the files of a second run in the same job
 * (events-<tag>.jsonl) and prefixes its scenarios' suites (<tag>/<suite>)
 * and its counter labels (<tag>: <label>).
 */
export async function runSuites(s: JobRun, runnerMs: number, tag?: string): Promise<void> {
  const suffix = tag ? `-${tag}` : '';
  s.rec.files[`events${suffix}`] = `${s.job.id}/events${suffix}.jsonl`;
  s.rec.files[`runner${suffix}`] = `${s.job.id}/runner${suffix}.log`;
  const ev = createWriteStream(join(s.jobDir, `events${suffix}.jsonl`));
  const rl = createWriteStream(join(s.jobDir, `runner${suffix}.log`));
  s.streams.push(ev, rl);
  let ended = false;
  s.ranSuites = true;
  const res = await s.checked(
    await s.remote!.exec(`UV_THREADPOOL_SIZE=32 node ${GUEST_SCENARIOS_DIR}/runner/main.js --config /run/nexus/job.json`, {
      timeoutMs: runnerMs,
      signal: s.signal,
      onStdoutLine: (line) => {
        const e = parseEvent(line);
        if (!e) {
          rl.write(`stdout: ${line}\n`);
          return;
        }
        ev.write(`${line}\n`);
        if (e.type === 'run-end') ended = true;
        if (!tag) s.folder.add(e);
        else if (e.type === 'counters') s.folder.add({ ...e, label: `${tag}: ${e.label}` });
        else if ('suite' in e && typeof e.suite === 'string') s.folder.add({ ...e, suite: `${tag}/${e.suite}` } as typeof e);
        else s.folder.add(e);
      },
      onStderrLine: (line) => rl.write(`${line}\n`),
    }),
  );
  if (res.timedOut) {
    s.input.timeout ??= `the scenarios${tag ? ` (${tag})` : ''} did not finish within ${Math.round(runnerMs / 1000)} s`;
  } else if (!ended) {
    s.problems.push(`the runner ended without finishing the run${tag ? ` (${tag})` : ''} (${describeExec(res)})`);
  }
  const cpuProblem = cpuMismatch(s.job.cpus, s.folder.guest?.cpus);
  if (cpuProblem && !s.problems.includes(cpuProblem)) s.problems.push(cpuProblem);
  s.rec.counters = s.folder.counters;
  // leaks: the slab/kmemleak evidence per suite, and the leaks its rule proves (lab/leaks.ts)
  s.rec.leaks = foldLeaks(s.folder.leakEvents);
  for (const p of leakProblems(s.rec.leaks)) if (!s.problems.includes(p)) s.problems.push(p);
  if (s.folder.features) s.rec.features = s.folder.features;
  await s.ctx.save();
}

/** Objects left over once every scenario is over are leaks. */
export async function checkCounters(s: JobRun, label = 'after run'): Promise<void> {
  // A tree without our counters file: its leaks are told by the orphan scans
  // after each scenario, and by slab figures, not by counters it lacks.
  if (s.rec.features && !s.rec.features.counters) return;
  const c = await s.cmd(`cat ${COUNTERS_PATH}`);
  if (execOk(c)) {
    const values = parseCounters(c.stdout);
    s.rec.counters.push({ label, values });
    const leaked = leaks(values);
    if (leaked.length > 0) s.problems.push(`objects left after the run: ${leaked.join(', ')}`);
  } else s.problems.push(`cannot read ${COUNTERS_PATH}: ${describeExec(c)}`);
}

/** Runs only when loading went well. */
const loaded = (s: JobRun) => !s.stopped && s.problems.length === 0;

export const runStep: Step = {
  name: 'run',
  when: loaded,
  run: (s) => runSuites(s, s.t.runnerMs),
};

export const countersStep: Step = {
  name: 'counters',
  when: (s) => !s.stopped && s.ranSuites,
  run: (s) => checkCounters(s),
};
