// Image step (quick profile): the job's initramfs over the shared, cached
// rootfs, which the guest sees as a snapshot.
import { join } from 'node:path';
import { buildInitramfs, SSHD_LISTENING } from '../images.js';
import type { JobRun, Step } from '../pipeline.js';

export const quickImageStep: Step = {
  name: 'image',
  run: async (s: JobRun) => {
    const rootfs = s.ctx.rootfs;
    if (!rootfs) throw new Error('the run prepared no quick rootfs');
    const initrd = join(s.work, 'initrd.cpio');
    s.rec.initramfsBytes = await buildInitramfs({
      workDir: s.work,
      output: initrd,
      rootfs,
      initScript: s.ctx.initScript,
      kernel: s.kernel!,
      nexusModules: s.modules,
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
  },
};
