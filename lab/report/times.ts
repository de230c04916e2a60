// Where the time went: the run's phases, then per job the boot to SSH and
// each phase, in the order the jobs ran them.
import type { RunRecord } from '../results.js';
import { esc, secs, table } from './html.js';

export function timesSection(run: RunRecord): string {
  const runRows = Object.entries(run.phases).map(([name, ms]) => [esc(name), secs(ms)]);
  const phases = [...new Set(run.jobs.flatMap((j) => Object.keys(j.phases)))];
  const jobRows = run.jobs.map((j) => [
    esc(j.id),
    secs(j.boot?.bootToSshMs),
    esc(j.boot?.rebootsToSshMs?.map((ms) => secs(ms)).join(', ') || '-'),
    ...phases.map((p) => secs(j.phases[p])),
    secs(j.wallMs),
  ]);
  return [
    runRows.length > 0 ? `<h3>Run phases</h3>\n${table(['phase', 'time'], runRows, 'times')}` : '',
    `<h3>Jobs: boot and phases</h3>\n${table(['job', 'boot to SSH', 'reboots to SSH', ...phases, 'wall'], jobRows, 'times')}`,
  ].filter(Boolean).join('\n');
}
