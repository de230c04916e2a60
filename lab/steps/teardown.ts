// The end of a job: modules unloaded (dependents first), dmesg collected,
// the guest powered off.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { unloadCommand } from '../job.js';
import type { JobRun, Step } from '../pipeline.js';
import { describeExec, execOk } from '../remote.js';
import { shutdownGuest } from './boot.js';

/**
 * A module that will not go is a failure.  Objects hold the module that
 * provides them and a dead team's objects go in the kernel's own time, just
 * after its process: a module still in use gets a few seconds.
 */
export const unloadStep: Step = {
  name: 'unload',
  run: async (s: JobRun) => {
    for (const m of [...s.modules].reverse()) {
      const res = await s.cmd(unloadCommand(m.name));
      if (!execOk(res)) s.problems.push(`rmmod ${m.name} failed: ${describeExec(res)}`);
    }
  },
};

/** The guest's kernel log, as dmesg.txt (dmesg-<tag>.txt for a later boot). */
export async function collectDmesg(s: JobRun, tag?: string): Promise<void> {
  const name = tag ? `dmesg-${tag}.txt` : 'dmesg.txt';
  s.rec.files[tag ? `dmesg-${tag}` : 'dmesg'] = `${s.job.id}/${name}`;
  const d = await s.cmd('dmesg');
  await writeFile(join(s.jobDir, name), execOk(d) ? d.stdout : `dmesg failed: ${describeExec(d)}\n`);
}

export const collectStep: Step = {
  name: 'collect',
  run: (s) => collectDmesg(s),
};

/** Quick guests have no init to shut down: sysrq powers them off at once. */
export const poweroffStep: Step = {
  name: 'poweroff',
  run: (s) => shutdownGuest(s, 'sync; echo o > /proc/sysrq-trigger', 5000),
};
