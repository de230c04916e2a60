import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { guestAppend, judgeProbe, kvmReason, qemuArgs, qemuSaid, type VmSpec } from '../../lab/vm.js';

const spec: VmSpec = {
  name: 'r/j', accel: 'tcg', kernel: '/k/vmlinuz', initrd: '/w/initrd.cpio', append: guestAppend(), disk: '/c/root.img',
  memoryMiB: 1024, cpus: 1, consolePath: '/r/console.log', qmpSocket: '/tmp/q.qmp', sshPort: 40022,
};

function arg(args: string[], flag: string): string[] {
  return args.flatMap((a, i) => (a === flag ? [args[i + 1]!] : []));
}

test('guests are isolated: restricted user networking, SSH on 127.0.0.1 only', () => {
  const args = qemuArgs(spec);
  assert.equal(arg(args, '-netdev'), ['user,id=net0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22']);
  assert.ok(args.includes('-nodefaults'));
});

test('a guest never reboots, logs its console to a file and has a QMP socket', () => {
  const args = qemuArgs(spec);
  assert.ok(args.includes('-no-reboot'));
  assert.equal(arg(args, '-serial'), ['file:/r/console.log']);
  assert.equal(arg(args, '-qmp'), ['unix:/tmp/q.qmp,server=on,wait=off']);
  assert.match(arg(args, '-append')[0]!, /(^| )panic=-1( |$)/);
  assert.match(arg(args, '-append')[0]!, /console=ttyS0/);
});

test('a guest trusts its TSC: no clocksource watchdog re-patching sched_clock under TCG', () => {
  assert.match(arg(qemuArgs(spec), '-append')[0]!, /(^| )tsc=reliable( |$)/);
  assert.match(arg(qemuArgs(spec), '-append')[0]!, /(^| )no_timer_check( |$)/, 'a loaded host must not fail the IO-APIC timer check');
});

test('the cached root disk is attached as a snapshot', () => {
  assert.equal(arg(qemuArgs(spec), '-drive'), ['file=/c/root.img,if=virtio,format=raw,snapshot=on']);
});

test('the accelerator decides the CPU model', () => {
  assert.equal([arg(qemuArgs(spec), '-accel'), arg(qemuArgs(spec), '-cpu')], [['tcg'], ['max']]);
  const kvm = qemuArgs({ ...spec, accel: 'kvm' });
  assert.equal([arg(kvm, '-accel'), arg(kvm, '-cpu')], [['kvm'], ['host']]);
});

test('KVM probe: failures seen on these machines fall back, a finished boot does not', () => {
  const ok = { exitCode: 0, timedOut: false, stderr: '' };
  const panicked = '[    1.6] Kernel panic - not syncing: VFS: Unable to mount root fs on unknown-block(0,0)\n';
  assert.is(judgeProbe(ok, `[    0.0] Linux version 6.1.0\n${panicked}`), undefined);
  // Seen with 6.12 on a nested-virtualisation host.
  assert.is(
    judgeProbe({ exitCode: null, timedOut: false, stderr: 'KVM internal error. Suberror: 1\nextra data[0]: 0x1\n' }, ''),
    'KVM internal error. Suberror: 1',
  );
  // Seen with 6.1 there: nothing at all on the console.
  assert.is(judgeProbe({ exitCode: null, timedOut: false, stderr: '' }, ''), 'the probe kernel printed nothing');
  assert.match(judgeProbe({ exitCode: 1, timedOut: false, stderr: 'qemu-system-x86_64: failed to initialize kvm: Permission denied' }, '') ?? '', /failed to initialize kvm/);
  assert.match(judgeProbe({ exitCode: null, timedOut: true, stderr: '' }, '[ 0.0] Linux version\n') ?? '', /did not finish booting/);
});

// QEMU's stderr as captured on this host (qemu-system-x86_64 8.x, Debian 12):
// without /dev/kvm (a private /dev), as an unprivileged user, the probe boot
// here (nested KVM that cannot set an MSR), and a TCG boot's warnings.
const NO_KVM_MODULE = 'Could not access KVM kernel module: No such file or directory\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: No such file or directory\n';
const NO_PERMISSION = 'Could not access KVM kernel module: Permission denied\nqemu-system-x86_64: -accel kvm: failed to initialize kvm: Permission denied\n';
const MSR = "qemu-system-x86_64: error: failed to set MSR 0x10a to 0x69\nqemu-system-x86_64: ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.\n";
const WARNINGS = "qemu-system-x86_64: warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]\n";

test("KVM reason: QEMU's own lines, without its program name, the probe's SIGTERM, or warnings next to errors", () => {
  assert.equal(qemuSaid(NO_KVM_MODULE), [
    'Could not access KVM kernel module: No such file or directory',
    '-accel kvm: failed to initialize kvm: No such file or directory',
  ]);
  assert.equal(qemuSaid(`${WARNINGS}${MSR}qemu-system-x86_64: terminating on signal 15 from pid 42 (setpriv)\n`), [
    'error: failed to set MSR 0x10a to 0x69',
    "../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.",
  ]);
  // Warnings alone are still what QEMU said.
  assert.equal(qemuSaid(WARNINGS), ["warning: host doesn't support requested feature: CPUID.01H:ECX.pni [bit 0]"]);
  assert.equal(qemuSaid(''), []);
  assert.is(qemuSaid(`x${'y'.repeat(300)}\n`)[0]!.length, 200);
  assert.is(qemuSaid('a\nb\nc\nd\ne\n').length, 3);
});

test('KVM reason: the finding, then what QEMU printed that it does not already say', () => {
  // No /dev/kvm: the lab's finding, QEMU's words after it.
  assert.is(
    kvmReason('/dev/kvm is not usable (ENOENT)', NO_KVM_MODULE),
    '/dev/kvm is not usable (ENOENT) (QEMU: Could not access KVM kernel module: No such file or directory | -accel kvm: failed to initialize kvm: No such file or directory)',
  );
  // The probe boot's judge already quotes QEMU's first line: not twice.
  const judged = judgeProbe({ exitCode: 1, timedOut: false, stderr: NO_PERMISSION }, '')!;
  assert.is(judged, 'Could not access KVM kernel module: Permission denied');
  assert.is(kvmReason(judged, NO_PERMISSION), 'Could not access KVM kernel module: Permission denied (QEMU: -accel kvm: failed to initialize kvm: Permission denied)');
  // Seen on this host: the kernel printed nothing because QEMU died on an MSR.
  const silent = judgeProbe({ exitCode: 134, timedOut: false, stderr: MSR }, '')!;
  assert.is(kvmReason(silent, MSR), "the probe kernel printed nothing (QEMU: error: failed to set MSR 0x10a to 0x69 | ../../target/i386/kvm/kvm.c:3183: kvm_buf_set_msrs: Assertion `ret == cpu->kvm_msr_buf->nmsrs' failed.)");
  // QEMU said nothing: the finding alone.
  assert.is(kvmReason('the probe kernel printed nothing', ''), 'the probe kernel printed nothing');
});

test.run();
