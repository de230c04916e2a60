// Boot: start a guest from the job's boot media, wait for sshd's console
// line, connect.  QEMU follows the run's cancellation, not the job's, so
// that a panicking guest can finish printing before it is collected.  A
// reboot is a clean shutdown of the running guest and a new boot.
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { bootHintOf } from '../job.js';
import { waitUntil, type JobRun, type Step } from '../pipeline.js';
import { Remote } from '../remote.js';
import { freePort, guestAppend, Vm } from '../vm.js';

/** Start the guest and connect; false (and the job stopped with a boot error) when it does not come up. */
export async function bootGuest(s: JobRun): Promise<boolean> {
  const media = s.media;
  if (!media) throw new Error('nothing to boot: no image step ran');
  s.boots++;
  const consoleName = s.boots === 1 ? 'console.log' : `console-${s.boots}.log`;
  s.rec.files[s.boots === 1 ? 'console' : `console-${s.boots}`] = `${s.job.id}/${consoleName}`;
  const consolePath = join(s.jobDir, consoleName);
  const sshPort = await freePort();
  s.expectReady(media.ready);
  const vm = Vm.start(
    {
      name: `${s.ctx.runId}/${s.job.id}`,
      accel: s.ctx.accel.used,
      kernel: media.kernel.vmlinuz,
      initrd: media.initrd,
      append: guestAppend(s.job.kernel.append),
      disk: media.disk,
      diskFormat: media.diskFormat,
      snapshot: media.snapshot,
      memoryMiB: s.ctx.memoryMiB,
      cpus: s.job.cpus,
      consolePath,
      qmpSocket: join(tmpdir(), `nexus-lab-${s.ctx.runId}-${s.job.id}.qmp`),
      sshPort,
    },
    { signal: s.ctx.signal, lifetimeMs: s.t.jobMs, onConsole: (c) => s.watcher.feed(c) },
  );
  s.vm = vm;
  s.rec.boot ??= { accel: s.ctx.accel.used };
  const deadline = Date.now() + s.t.bootMs;
  // Connect once sshd listens: before that, user-mode networking accepts
  // the connection and holds it until the attempt times out.
  await waitUntil(() => s.ready || vm.exited(), deadline, s.signal);
  if (s.signal.aborted) throw s.signal.reason;
  const remote = await (s.ready
    ? Remote.connect({
        host: '127.0.0.1',
        port: sshPort,
        username: 'root',
        privateKey: s.ctx.keys.privateKey,
        hostKey: media.hostKey,
        deadline,
        signal: s.signal,
        shouldStop: () => (vm.exited() ? 'QEMU exited before SSH was ready' : undefined),
      })
    : Promise.reject(new Error(vm.exited() ? 'QEMU exited before sshd started' : `sshd did not start within ${Math.round(s.t.bootMs / 1000)} s`))
  ).catch(async (e: Error) => {
    if (s.signal.aborted) throw s.signal.reason;
    await vm.stop();
    const hint = bootHintOf(await readFile(consolePath, 'latin1').catch(() => ''));
    s.stop('bootError', `${s.boots > 1 ? `boot ${s.boots}: ` : ''}${e.message}${hint}`);
    return undefined;
  });
  if (!remote) return false;
  s.remote = remote;
  const ms = Date.now() - vm.startedAt;
  if (s.boots === 1) s.rec.boot.bootToSshMs = ms;
  else s.rec.boot.rebootsToSshMs = [...(s.rec.boot.rebootsToSshMs ?? []), ms];
  return true;
}

/**
 * Shut the guest down cleanly (the guest's own poweroff) and wait for QEMU
 * to exit by itself; a guest that does not go down in time is a problem.
 */
export async function shutdownGuest(s: JobRun, command: string, commandMs = 15_000): Promise<void> {
  const vm = s.vm;
  const r = s.remote;
  if (!vm || !r) return;
  // The guest powers off in the middle of this command: its end is not an error.
  await r.exec(command, { timeoutMs: commandMs, signal: s.signal });
  if (s.signal.aborted) throw s.signal.reason;
  r.close();
  s.remote = undefined;
  if (!(await vm.waitExit(s.t.poweroffMs))) s.problems.push('the guest did not power off in time');
  // Stopped now (QEMU's exit recorded); the record keeps the last guest's.
  s.rec.boot = { ...(s.rec.boot ?? { accel: s.ctx.accel.used }), qemuExit: await vm.stop() };
}

export const bootStep: Step = {
  name: 'boot',
  deadlineMs: (t) => t.bootMs + 30_000,
  run: async (s) => {
    await bootGuest(s);
  },
};
