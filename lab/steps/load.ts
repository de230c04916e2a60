// Load step (quick profile): the job config goes up, the host-built modules
// are insmodded in dependency order, /dev/nexus must appear.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GUEST_MODULES_DIR } from '../images.js';
import { guestParams, jobConfig } from '../job.js';
import type { JobRun, Step } from '../pipeline.js';
import { describeExec, execOk } from '../remote.js';

/** Upload the guest runner's config (/run/nexus/job.json). */
export async function uploadJobConfig(s: JobRun, suites: readonly string[] = s.job.suites): Promise<void> {
  const config = join(s.work, 'job.json');
  await writeFile(config, jobConfig(s.ctx.runId, { id: s.job.id, suites: [...suites] }, guestParams(s.job.kernel, s.ctx.params)));
  const up = await s.checked(await s.remote!.upload(s.work, ['job.json'], '/run/nexus', { timeoutMs: s.t.commandMs, signal: s.signal }));
  if (!execOk(up)) throw new Error(`uploading the job config failed: ${describeExec(up)}`);
}

export const loadStep: Step = {
  name: 'load',
  run: async (s: JobRun) => {
    await uploadJobConfig(s);
    for (const m of s.modules) {
      const res = await s.cmd(`insmod ${GUEST_MODULES_DIR}/${m.name}.ko`);
      if (!execOk(res)) {
        s.problems.push(`insmod ${m.name}.ko failed: ${describeExec(res)}`);
        break;
      }
    }
    if (s.problems.length === 0) {
      const dev = await s.cmd('test -c /dev/nexus');
      if (!execOk(dev)) s.problems.push('/dev/nexus did not appear after loading the modules');
    }
  },
};
