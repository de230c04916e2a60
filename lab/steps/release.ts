// The release profile's steps: the nexus-dkms package taken through its
// whole life in a Debian guest booted with systemd, the way a user gets it.
//
//   image     the cached release rootfs (systemd, dkms, gcc, the job
//             kernel's headers; the upgrade kernel's packages staged) and
//             the job's own copy-on-write overlay
//   boot      first boot
//   install   apt installs the .deb: DKMS builds and installs the modules
//   reboot    clean shutdown, new boot: systemd-modules-load loaded them
//   run       the functional suites against the DKMS-built modules
//   upgrade   the other kernel and its headers installed with dpkg: DKMS's
//             kernel hook builds for it; reboot into it, loaded at boot
//             again, smoke passes
//   purge     apt-get purge removes modules, DKMS tree and modules-load.d
//             file; a reboot loads nothing and logs no error about it
import { basename, dirname, join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import type { DkmsConf } from '../build.js';
import type { Timeouts } from '../job.js';
import type { KernelTree } from '../kernels.js';
import { budgetOf } from '../plan.js';
import type { JobRun, Step } from '../pipeline.js';
import { buildReleaseInitramfs, createOverlay, ensureReleaseRootfs, RELEASE_DEBS_DIR, RELEASE_SSH_READY } from '../release-image.js';
import { describeExec, execOk } from '../remote.js';
import { bootGuest, shutdownGuest } from './boot.js';
import { uploadJobConfig } from './load.js';
import { CheckFailed, releaseStep, StepSkipped, type StepLog } from './release-check.js';
import { checkCounters, runSuites } from './suites.js';
import { collectDmesg, unloadStep } from './teardown.js';

const CLEAN_SHUTDOWN = 'systemctl poweroff';

/** Names the checks use: the DKMS package and its modules, from the tree's dkms.conf. */
export function dkmsNames(conf: DkmsConf): { name: string; version: string; modules: string[] } {
  if (!conf.packageName || !conf.packageVersion) throw new Error('the source tree\'s dkms.conf has no PACKAGE_NAME or PACKAGE_VERSION');
  return { name: conf.packageName, version: conf.packageVersion, modules: conf.modules.map((m) => m.name) };
}

/** Modules of `want` missing from a /proc/modules text. */
export function missingModules(procModules: string, want: readonly string[]): string[] {
  const loaded = new Set(procModules.split('\n').map((l) => l.split(' ')[0]));
  return want.filter((m) => !loaded.has(m));
}

/** Modules systemd-modules-load says it inserted ("Inserted module 'nexus'"). */
export function insertedBy(journal: string): string[] {
  return [...journal.matchAll(/Inserted module '([^']+)'/g)].map((m) => m[1]!);
}

/** The first error line of a DKMS make.log. */
export function makeLogError(log: string): string | undefined {
  return log.split('\n').find((l) => /\berror:|\*\*\* |^ERROR:/.test(l))?.trim();
}

/**
 * Where a package operation's time went: the guest's clock before it, then
 * what `timelineProbe` printed after it - the clock, DKMS's build start (its
 * make.log's date line) and end (that file's mtime), the initramfs's mtime
 * ("-" for what is missing), one a line.  Under TCG the DKMS build and the initramfs
 * are most of a release job; this says which.
 */
export function describeTimeline(before: string, after: string): string | undefined {
  const seconds = (l: string) => (/^\d+$/.test(l.trim()) ? Number(l) : NaN);
  const t0 = seconds(before);
  const [now, built, made, initrd] = after.trim().split('\n').map(seconds);
  if (!Number.isFinite(t0) || now === undefined || !Number.isFinite(now)) return undefined;
  // What predates the operation (the image's own initramfs) is not its doing.
  const at = (t: number | undefined) => (t !== undefined && Number.isFinite(t) && t >= t0 ? `+${t - t0} s` : undefined);
  const parts = [`${now - t0} s in all`];
  if (at(built) && at(made)) parts.push(`DKMS built from ${at(built)} to ${at(made)} (${made! - built!} s)`);
  if (at(initrd)) parts.push(`the initramfs written at ${at(initrd)}`);
  return parts.join('; ');
}

/** The guest command whose output describeTimeline reads after a package operation. */
export function timelineProbe(name: string, version: string, release: string): string {
  const log = `/var/lib/dkms/${name}/${version}/${release}/$(uname -m)/log/make.log`;
  return `L=${log}; date +%s; if [ -f "$L" ]; then date -d "$(sed -n 2p "$L")" +%s || echo -; stat -c %Y "$L"; ` +
    `else echo -; echo -; fi; stat -c %Y /boot/initrd.img-${release} 2>/dev/null || echo -`;
}

const guestBuild = (t: Timeouts) => 20 * t.commandMs;

/** Run `command` (a package operation) and note in the step's log where its time went. */
async function timed(s: JobRun, log: StepLog, release: string, command: string) {
  const before = await log.probe('date +%s');
  const r = await log.probe(command, guestBuild(s.t));
  const { name, version } = s.release!.names;
  const after = await log.probe(timelineProbe(name, version, release));
  const line = describeTimeline(before.stdout, after.stdout);
  if (line) await log.note(`# timeline: ${line}`);
  return r;
}

/** The guest initramfs for booting `kernel` from the job's overlay. */
async function bootMediaFor(s: JobRun, kernel: KernelTree): Promise<void> {
  const rootfs = s.release!.rootfs;
  const initrd = join(s.work, `initrd-${kernel.release}.cpio`);
  await buildReleaseInitramfs({
    workDir: s.work,
    output: initrd,
    rootfs,
    initScript: s.ctx.release!.initScript,
    kernel,
    authorizedKey: s.ctx.keys.publicKey,
    bundleDir: s.ctx.bundleDir,
    signal: s.signal,
  });
  s.media = {
    kernel,
    initrd,
    disk: s.release!.overlay,
    diskFormat: 'qcow2',
    snapshot: false,
    hostKey: rootfs.hostKey,
    ready: RELEASE_SSH_READY,
  };
}

export const releaseImageStep: Step = {
  name: 'image',
  // A cold cache downloads two kernels' packages and runs mmdebstrap.
  deadlineMs: (t) => 4 * t.buildMs,
  run: async (s) => {
    const r = s.ctx.release;
    if (!r) throw new Error('the run prepared nothing for a release job');
    if (r.deb instanceof Error) {
      s.stop('buildError', `building the nexus-dkms package failed: ${r.deb.message}`);
      return;
    }
    const resolved = r.resolved;
    const up = s.job.upgrade && 'to' in s.job.upgrade ? r.upgrade : undefined;
    if (up instanceof Error) {
      s.stop('infraError', `the upgrade kernel is unavailable: ${up.message}`);
      return;
    }
    const rootfs = await ensureReleaseRootfs({
      recipePath: r.recipePath,
      overlayDir: r.overlayDir,
      cacheDir: s.ctx.cacheDir,
      installed: resolved,
      staged: up ? [up.resolved] : [],
      signal: s.signal,
      onStep: (step: string) => s.ctx.onPhase(s.job.id, `image: ${step}`),
    });
    const overlay = join(s.work, 'root.qcow2');
    await createOverlay(rootfs.image, overlay, s.signal);
    s.release = { rootfs, overlay, deb: r.deb, names: dkmsNames(s.ctx.source.dkms), ...(up ? { upgrade: up } : {}) };
    s.rec.release = {
      package: { file: basename(r.deb.path), version: r.deb.version, sizeBytes: r.deb.sizeBytes },
      rootfs: { hash: rootfs.hash, sizeBytes: rootfs.sizeBytes, cached: rootfs.cached },
      kernels: { installed: rootfs.installed, ...(up ? { upgrade: up.tree.release } : {}) },
    };
    await bootMediaFor(s, s.kernel!);
  },
};

/** DKMS's state for one kernel: installed, or the make.log that says why not. */
async function dkmsInstalled(s: JobRun, log: StepLog, release: string, file: string): Promise<void> {
  const { name, version, modules } = s.release!.names;
  const status = await log.probe(`dkms status -k ${release} ${name}/${version}`);
  if (/\binstalled\b/.test(status.stdout)) {
    for (const m of modules) {
      await log.run(`${m}.ko installed for ${release}`, `ls /lib/modules/${release}/updates/dkms/${m}.ko*`);
    }
    return;
  }
  // Not installed: a build failure is the tree's, with its make.log.
  const make = await log.probe(`cat /var/lib/dkms/${name}/${version}/build/make.log`);
  if (execOk(make)) {
    s.rec.files[file] = `${s.job.id}/${file}.log`;
    await writeFile(join(s.jobDir, `${file}.log`), make.stdout);
    const why = `DKMS could not build ${name} ${version} for ${release}: ${makeLogError(make.stdout) ?? 'see the make.log'}`;
    s.stop('buildError', why);
    throw new CheckFailed(why);
  }
  throw new CheckFailed(`DKMS did not install ${name} ${version} for ${release}: ${status.stdout.trim() || describeExec(status)}`);
}

/** After a boot: the running kernel is `release` and systemd-modules-load loaded every module. */
async function loadedAtBoot(s: JobRun, log: StepLog, release: string): Promise<void> {
  const uname = await log.run('uname', 'uname -r');
  log.check(uname.stdout.trim() === release, `the guest runs ${uname.stdout.trim()}, not ${release}`);
  const unit = await log.run('systemd-modules-load', 'systemctl show -p Result -p ActiveState systemd-modules-load.service');
  log.check(/ActiveState=active/.test(unit.stdout) && /Result=success/.test(unit.stdout), `systemd-modules-load did not succeed: ${unit.stdout.trim().split('\n').join(', ')}`);
  const mods = await log.run('loaded modules', 'cat /proc/modules');
  const missing = missingModules(mods.stdout, s.release!.names.modules);
  log.check(missing.length === 0, `not loaded at boot: ${missing.join(', ')}`);
  // Loaded by systemd-modules-load from the package's modules-load.d file,
  // not by hand or on demand: its journal names each one (by identifier:
  // it logs before journald runs, so its lines carry no unit).
  const journal = await log.run('systemd-modules-load\'s journal', 'journalctl -b -o cat --no-pager -t systemd-modules-load');
  const notByIt = s.release!.names.modules.filter((m) => !insertedBy(journal.stdout).includes(m));
  log.check(notByIt.length === 0, `systemd-modules-load did not insert: ${notByIt.join(', ')}`);
  for (const m of s.release!.names.modules) {
    const path = await log.run(`where ${m} came from`, `modinfo -n ${m}`);
    log.check(path.stdout.includes('/updates/dkms/'), `${m} was not loaded from DKMS's tree but from ${path.stdout.trim()}`);
  }
  await log.run('the device', 'test -c /dev/nexus');
}

/** Reboot: a clean shutdown and a new boot on the same overlay. */
async function reboot(s: JobRun, log: StepLog): Promise<void> {
  await log.note(`# reboot into ${s.media!.kernel.release}`);
  const started = Date.now();
  await shutdownGuest(s, CLEAN_SHUTDOWN);
  if (!(await bootGuest(s))) throw new CheckFailed(`the guest did not come back after the reboot: ${s.input.bootError ?? ''}`);
  await log.note(`# up again after ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

export const installStep = releaseStep('install', (t) => guestBuild(t) + t.commandMs * 4, async (s, log) => {
  const deb = s.release!.deb;
  const up = await s.checked(await s.remote!.upload(dirname(deb.path), [basename(deb.path)], '/root', { timeoutMs: s.t.commandMs, signal: s.signal }));
  log.check(execOk(up), `uploading ${basename(deb.path)} failed: ${describeExec(up)}`);
  const apt = await timed(s, log, s.kernel!.release, `DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends /root/${basename(deb.path)}`);
  await dkmsInstalled(s, log, s.kernel!.release, 'dkms-make');
  log.check(execOk(apt), `apt-get install failed: ${describeExec(apt)}`);
  for (const m of s.release!.names.modules) {
    await log.run(`${m} in a modules-load.d file`, `grep -lx '${m}' /usr/lib/modules-load.d/*.conf /etc/modules-load.d/*.conf`);
  }
});

export const bootLoadStep = releaseStep('loaded-at-boot', (t) => t.bootMs + t.poweroffMs + 6 * t.commandMs, async (s, log) => {
  await reboot(s, log);
  await loadedAtBoot(s, log, s.kernel!.release);
});

/** The functional suites against the DKMS-built modules, then the leak counters. */
export const releaseRunStep: Step = {
  name: 'run',
  run: async (s) => {
    await uploadJobConfig(s);
    // The job's budget also holds the release steps': the runner gets its suites' share.
    await runSuites(s, Math.round((s.t.runnerMs * budgetOf(s.job.suites)) / s.job.budgetMs));
    await checkCounters(s);
  },
};

export const releaseUnloadStep: Step = {
  ...unloadStep,
  run: async (s) => {
    s.modules = s.release!.names.modules.map((name) => ({ name, path: '', depends: [] }));
    await unloadStep.run(s);
  },
};

export const upgradeStep = releaseStep('kernel-upgrade', (t) => guestBuild(t) + t.bootMs + t.poweroffMs + 12 * t.commandMs, async (s, log) => {
  const up = s.release!.upgrade;
  if (!up) {
    // A matrix with one series of this flavour: the upgrade is a skip that
    // says why, and the purge still runs.
    throw new StepSkipped(s.job.upgrade && 'none' in s.job.upgrade ? s.job.upgrade.none : 'no upgrade kernel');
  }
  const to = up.tree.release;
  // DKMS's kernel hook runs in the kernel package's postinst: its failure
  // fails dpkg too, and is then the tree's (build-failed, with make.log).
  const dpkg = await timed(s, log, to, `DEBIAN_FRONTEND=noninteractive dpkg -i ${RELEASE_DEBS_DIR}/${to}/*.deb`);
  await dkmsInstalled(s, log, to, 'dkms-make-upgrade');
  log.check(execOk(dpkg), `installing ${to} and its headers failed: ${describeExec(dpkg)}`);
  await bootMediaFor(s, up.tree);
  await reboot(s, log);
  await loadedAtBoot(s, log, to);
  await uploadJobConfig(s, ['smoke']);
  const before = s.folder.scenarios.length;
  await runSuites(s, Math.round((s.t.runnerMs * budgetOf(['smoke'])) / s.job.budgetMs), 'upgraded');
  await checkCounters(s, 'after upgraded smoke');
  const smoke = s.folder.scenarios.slice(before);
  log.check(smoke.length > 0, 'smoke ran no scenario on the upgraded kernel');
  const bad = smoke.filter((r) => r.status !== 'pass');
  log.check(bad.length === 0, `smoke on ${to}: ${bad.map((r) => `${r.name} ${r.status}`).join(', ')}`);
  await log.note(`smoke on ${to}: ${smoke.length} scenarios passed`);
});

export const purgeStep = releaseStep('purge', (t) => t.bootMs + t.poweroffMs + 10 * t.commandMs, async (s, log) => {
  const { name, version, modules } = s.release!.names;
  await log.run('apt-get purge', `DEBIAN_FRONTEND=noninteractive apt-get purge -y ${s.release!.deb.name}`, 4 * s.t.commandMs);
  const left = await log.probe(
    `find /lib/modules /usr/lib/modules -path '*/updates/dkms/*' \\( ${modules.map((m) => `-name '${m}.ko*'`).join(' -o ')} \\) 2>/dev/null;` +
      ` ls -d /var/lib/dkms/${name} /usr/src/${name}-${version} 2>/dev/null;` +
      ` grep -lsx ${modules.map((m) => `-e '${m}'`).join(' ')} /etc/modules-load.d/*.conf /usr/lib/modules-load.d/*.conf 2>/dev/null; true`,
  );
  log.check(left.stdout.trim() === '', `the purge left: ${left.stdout.trim().split('\n').join(', ')}`);
  await reboot(s, log);
  const mods = await log.run('loaded modules', 'cat /proc/modules');
  const still = s.release!.names.modules.filter((m) => !missingModules(mods.stdout, [m]).length);
  log.check(still.length === 0, `loaded after the purge: ${still.join(', ')}`);
  const unit = await log.run('systemd-modules-load', 'systemctl show -p Result systemd-modules-load.service');
  log.check(/Result=success/.test(unit.stdout), `systemd-modules-load failed after the purge: ${unit.stdout.trim()}`);
  const journal = await log.run('the boot journal', `journalctl -b -o cat --no-pager -t systemd-modules-load`);
  const errors = journal.stdout.split('\n').filter((l) => /nexus/i.test(l) && /fail|error|not found/i.test(l));
  log.check(errors.length === 0, `the boot logged: ${errors.join(' | ')}`);
});

/** Teardown steps run whenever a guest is up, even after a failed step. */
const guestUp = (s: JobRun) => s.remote !== undefined;

export const releaseCollectStep: Step = {
  name: 'collect',
  when: guestUp,
  run: async (s) => {
    await collectDmesg(s);
    s.rec.files.journal = `${s.job.id}/journal.txt`;
    const j = await s.cmd('journalctl -b -o short-monotonic --no-pager');
    await writeFile(join(s.jobDir, 'journal.txt'), execOk(j) ? j.stdout : `journalctl failed: ${describeExec(j)}\n`);
  },
};

export const releasePoweroffStep: Step = {
  name: 'poweroff',
  when: guestUp,
  run: (s) => shutdownGuest(s, CLEAN_SHUTDOWN),
};
