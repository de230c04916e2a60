// Image step (quick profile): the job's initramfs over the shared, cached
// rootfs, which the guest sees as a snapshot.
import { join } from 'node:path';
import { buildInitramfs, SSHD_LISTENING } from '../images.js';
import type { BuiltModule } from '../build.js';
import type { JobRun, Step } from '../pipeline.js';

/** Build the job's initramfs with these modules over the shared rootfs, and boot from it. */
export async function quickMedia(s: JobRun, modules: readonly BuiltModule[]): Promise<void> {
  const rootfs = s.ctx.rootfs;
  if (!rootfs) throw new Error('the run prepared no quick rootfs');
  const initrd = join(s.work, 'initrd.cpio');
  s.rec.initramfsBytes = await buildInitramfs({
    workDir: s.work,
    output: initrd,
    rootfs,
    initScript: s.ctx.initScript,
    kernel: s.kernel!,
    nexusModules: [...modules],
    bundleDir: s.ctx.bundleDir,
    authorizedKey: s.ctx.keys.publicKey,
    signal: s.signal,
  });
  s.media = {
    kernel: s.kernel!,
    initrd,
    disk: rootfs.image,
    diskFormat: 'raw',
    snapshot: true,
    hostKey: rootfs.hostKey,
    ready: SSHD_LISTENING,
  };
}

export const quickImageStep: Step = {
  name: 'image',
  run: (s: JobRun) => quickMedia(s, s.modules),
};
