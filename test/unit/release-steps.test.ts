import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseDkmsConf } from '../../lab/build.js';
import { RELEASE_STEPS, QUICK_STEPS, stepsOf } from '../../lab/profiles.js';
import { describeTimeline, dkmsNames, insertedBy, makeLogError, missingModules, timelineProbe } from '../../lab/steps/release.js';
import { fixture } from '../helpers.js';

test('quick and release are two lists of the same parts', () => {
  assert.equal(QUICK_STEPS.map((s) => s.name), ['build', 'image', 'boot', 'load', 'run', 'counters', 'unload', 'collect', 'poweroff']);
  assert.equal(RELEASE_STEPS.map((s) => s.name), [
    'image', 'boot', 'install', 'loaded-at-boot', 'run', 'unload', 'kernel-upgrade', 'purge', 'collect', 'poweroff',
  ]);
  const shared = RELEASE_STEPS.filter((s) => QUICK_STEPS.includes(s)).map((s) => s.name);
  assert.equal(shared, ['boot'], 'the boot step is the very same');
  assert.is(stepsOf('quick'), QUICK_STEPS);
  assert.throws(() => stepsOf('nightly'), /no steps for profile 'nightly'/);
});

test('the names the release checks use come from the tree\'s dkms.conf', () => {
  const conf = parseDkmsConf(fixture('..', '..', 'kernel', 'dkms.conf'));
  assert.equal(dkmsNames(conf), { name: 'nexus', version: conf.packageVersion, modules: ['nexus', 'nexus_area', 'nexus_node_monitor'] });
  assert.throws(() => dkmsNames(parseDkmsConf('BUILT_MODULE_NAME[0]="x"\n')), /no PACKAGE_NAME or PACKAGE_VERSION/);
});

test('modules missing from /proc/modules', () => {
  const proc = 'nexus_area 24576 0 - Live 0x0000000000000000 (OE)\nnexus 94208 1 nexus_area, Live 0x0000000000000000 (OE)\nloop 32768 0 - Live\n';
  assert.equal(missingModules(proc, ['nexus', 'nexus_area', 'nexus_node_monitor']), ['nexus_node_monitor']);
  assert.equal(missingModules(proc, ['nexus', 'nexus_area']), []);
  assert.equal(missingModules('nexus_areas 1 0 - Live\n', ['nexus_area']), ['nexus_area'], 'a longer name is another module');
});

test('the first error of a DKMS make.log', () => {
  const log = [
    'DKMS make.log for nexus-0.1.0 for kernel 6.12.117+deb12-cloud-amd64 (x86_64)',
    "make -C /lib/modules/6.12.117+deb12-cloud-amd64/build M=/var/lib/dkms/nexus/0.1.0/build modules",
    "/var/lib/dkms/nexus/0.1.0/build/nexus/main.c:180:2: error: #error \"simulated kernel API break on 6.12\"",
    'make[2]: *** [scripts/Makefile.build:229: nexus/main.o] Error 1',
  ].join('\n');
  assert.is(makeLogError(log), '/var/lib/dkms/nexus/0.1.0/build/nexus/main.c:180:2: error: #error "simulated kernel API break on 6.12"');
  assert.is(makeLogError('all good\n'), undefined);
});


test('what systemd-modules-load says it inserted', () => {
  const journal = "Inserted module 'nexus'\nInserted module 'nexus_area'\nFailed to find module 'nexus_node_monitor'\n";
  assert.equal(insertedBy(journal), ['nexus', 'nexus_area']);
});


test('describeTimeline: where a dpkg -i went, from the guest clock, make.log and the initramfs', () => {
  assert.is(describeTimeline('1000\n', '1700\n1010\n1290\n1650\n'),
    '700 s in all; DKMS built from +10 s to +290 s (280 s); the initramfs written at +650 s');
  // The install step: no initramfs of its own (the image's predates it).
  assert.is(describeTimeline('1000', '1300\n1010\n1290\n900'), '300 s in all; DKMS built from +10 s to +290 s (280 s)');
  // DKMS never wrote its make.log (a failed dpkg before the hook).
  assert.is(describeTimeline('1000', '1030\n-\n-\n-'), '30 s in all');
  assert.is(describeTimeline('', '1030\n-\n-\n-'), undefined);
  assert.is(describeTimeline('1000', 'date: invalid'), undefined);
});

test('timelineProbe: the make.log DKMS keeps per kernel and arch, the kernel\'s initramfs, "-" for each missing', () => {
  const p = timelineProbe('nexus', '0.1.0', '6.12.117+deb12-cloud-amd64');
  assert.match(p, /^L=\/var\/lib\/dkms\/nexus\/0\.1\.0\/6\.12\.117\+deb12-cloud-amd64\/\$\(uname -m\)\/log\/make\.log; date \+%s;/);
  assert.match(p, /else echo -; echo -; fi; stat -c %Y \/boot\/initrd\.img-6\.12\.117\+deb12-cloud-amd64 2>\/dev\/null \|\| echo -$/);
});
test.run();
