import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  buildModules, changelogVersion, countWarnings, evalDkmsConf, findDkmsConf, firstError, hashSourceTree, inspectSource, loadOrder, parseDkmsConf,
  dkmsVars, type BuiltModule,
} from '../../lab/build.js';
import { execFileSync } from 'node:child_process';
import type { KernelTree } from '../../lab/kernels.js';
import { rejects, ROOT } from '../helpers.js';

test("our dkms.conf names nexus.ko, nexus_area.ko and nexus_node_monitor.ko in nexus/ and a MAKE line taking KERNEL_SRC", () => {
  const conf = parseDkmsConf(readFileSync(join(ROOT, 'kernel', 'dkms.conf'), 'utf8'));
  assert.is(conf.packageName, 'nexus');
  assert.match(conf.make ?? '', /KERNEL_SRC=\$\{kernel_source_dir\}/);
  assert.equal(conf.modules, [
    { name: 'nexus', location: 'nexus' },
    { name: 'nexus_area', location: 'nexus' },
    { name: 'nexus_node_monitor', location: 'nexus' },
  ]);
});

test('dkms.conf: indexed modules, quotes, comments, missing locations', () => {
  const conf = parseDkmsConf(`
# comment
PACKAGE_NAME=other
PACKAGE_VERSION='2.0'
BUILT_MODULE_NAME[1]="nexus_area"
BUILT_MODULE_LOCATION[1]="/area/"
BUILT_MODULE_NAME[0]="nexus"
MAKE[0]="make -C src KERNEL_SRC=\${kernel_source_dir}"
`);
  assert.is(conf.packageName, 'other');
  assert.is(conf.packageVersion, '2.0');
  assert.is(conf.make, 'make -C src KERNEL_SRC=${kernel_source_dir}');
  assert.equal(conf.modules, [{ name: 'nexus', location: '' }, { name: 'nexus_area', location: 'area' }]);
});

test('warnings and the first error are read from a real kbuild log', () => {
  const log = [
    '  CC [M]  /s/src/nexus/main.o',
    '/s/src/nexus/main.c: In function \u2018nexus_ioctl\u2019:',
    '/s/src/nexus/main.c:48:13: warning: unused variable \u2018x\u2019 [-Wunused-variable]',
    'WARNING: modpost: missing MODULE_DESCRIPTION() in /s/src/nexus/nexus.o',
    '/s/src/nexus/main.c:133:2: error: #error "simulated kernel API break on 6.12"',
    'make[3]: *** [scripts/Makefile.build:243: /s/src/nexus/main.o] Error 1',
    'Skipping BTF generation for /s/src/nexus/nexus.ko due to unavailability of vmlinux',
  ].join('\n');
  assert.is(countWarnings(log), 2);
  assert.is(firstError(log, '/s/src'), 'nexus/main.c:133:2: error: #error "simulated kernel API break on 6.12"');
  assert.is(firstError('all good', '/s'), undefined);
});

test('modules load after the modules they depend on', () => {
  const m = (name: string, depends: string[] = []): BuiltModule => ({ name, path: `/${name}.ko`, depends });
  const order = loadOrder([m('nexus_node_monitor', ['nexus']), m('nexus_area', ['nexus']), m('nexus')]).map((x) => x.name);
  assert.equal(order, ['nexus', 'nexus_area', 'nexus_node_monitor']);
  assert.throws(() => loadOrder([m('a', ['b']), m('b', ['a'])]), /cycle/);
});

test('the source hash follows sources, not build debris', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-src-'));
  try {
    mkdirSync(join(dir, 'nexus'));
    writeFileSync(join(dir, 'Makefile'), 'all:\n');
    writeFileSync(join(dir, 'nexus', 'main.c'), 'int x;\n');
    const h1 = await hashSourceTree(dir);
    writeFileSync(join(dir, 'nexus', 'main.o'), 'object');
    writeFileSync(join(dir, 'nexus', '.main.o.cmd'), 'cmd');
    writeFileSync(join(dir, 'nexus', 'nexus.ko'), 'module');
    assert.is(await hashSourceTree(dir), h1, 'objects do not change the hash');
    writeFileSync(join(dir, 'nexus', 'main.c'), 'int y;\n');
    assert.is.not(await hashSourceTree(dir), h1, 'an edit does');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A tree whose "build" is a script counting its runs and making fake.ko, a
 * real ELF object with a .modinfo section (what modinfo reads), or failing.
 */
async function fakeTree(dir: string, fail: boolean) {
  const src = join(dir, 'src');
  mkdirSync(src);
  writeFileSync(join(src, 'Makefile'), 'all:\n');
  writeFileSync(join(src, 'dkms.conf'), 'PACKAGE_NAME=fake\nBUILT_MODULE_NAME[0]=fake\nMAKE[0]="sh build.sh"\n');
  writeFileSync(join(src, 'fake.c'), 'const char m[] __attribute__((section(".modinfo"), used)) = "depends=";\n');
  writeFileSync(
    join(src, 'build.sh'),
    `echo run >> ${join(dir, 'runs')}\n${fail ? 'echo "fake.c:1:1: error: simulated"; exit 1' : 'gcc -c -o fake.ko fake.c'}\n`,
  );
  return inspectSource(src);
}

function fakeKernel(dir: string, release: string): KernelTree {
  return { release, version: '1', root: dir, vmlinuz: '', config: '', headers: dir, modules: dir, cached: true };
}

const runs = (dir: string) => readFileSync(join(dir, 'runs'), 'utf8').split('\n').filter(Boolean).length;

test('the jobs of one kernel build it once: the second waits and takes it from the cache', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-build-'));
  try {
    const source = await fakeTree(dir, false);
    const req = (release: string, log: string) =>
      ({ source, kernel: fakeKernel(dir, release), cacheDir: join(dir, 'cache'), logPath: join(dir, log), timeoutMs: 60_000 });
    const [a, b] = await Promise.all([buildModules(req('6.1-test', 'a.log')), buildModules(req('6.1-test', 'b.log'))]);
    assert.is(runs(dir), 1, 'built once');
    assert.ok(a.ok && b.ok, `${a.error} ${b.error}`);
    assert.equal([a.cached, b.cached], [false, true]);
    assert.equal(b.modules.map((m) => m.path), a.modules.map((m) => m.path));
    assert.match(readFileSync(join(dir, 'b.log'), 'utf8'), /reused from build cache/);
    await buildModules(req('6.12-test', 'c.log'));
    assert.is(runs(dir), 2, 'another kernel is another build');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a failed build is the failure of every job of that kernel, with the log, built once', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-build-'));
  try {
    const source = await fakeTree(dir, true);
    const req = (log: string) =>
      ({ source, kernel: fakeKernel(dir, '6.1-test'), cacheDir: join(dir, 'cache'), logPath: join(dir, log), timeoutMs: 60_000 });
    const [a, b] = await Promise.all([buildModules(req('a.log')), buildModules(req('b.log'))]);
    assert.is(runs(dir), 1);
    assert.equal([a.ok, b.ok], [false, false]);
    assert.match(a.error ?? '', /error: simulated/);
    assert.is(b.error, a.error);
    assert.match(readFileSync(join(dir, 'b.log'), 'utf8'), /which failed\n[^]*error: simulated/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a tree shaped like the other Nexus tree: debian/<package>.dkms, sources in src/, other module names, no top-level Makefile', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-theirs-'));
  try {
    const tree = join(dir, 'theirs');
    execFileSync('node', [join(ROOT, 'tools', 'theirs-tree.mjs'), tree]);
    const src = await inspectSource(tree);
    assert.is(src.confPath, 'debian/haiku-ipc-modules.dkms');
    assert.is(src.dkms.packageName, 'haiku-ipc');
    assert.is(src.dkms.packageVersion, '0.9.2', '#MODULE_VERSION# is debian/changelog\'s upstream version, as dh_dkms makes it');
    assert.equal(src.dkms.modules, [
      { name: 'haiku_ipc', location: 'src' },
      { name: 'area', location: 'src' },
      { name: 'nodemon', location: 'src' },
    ]);
    // DKMS's variables are expanded when dkms.conf is sourced, as DKMS does.
    const conf = await evalDkmsConf(tree, src.confPath!, dkmsVars({ release: '6.12.9-test', headers: '/k/6.12.9' }, '/d', '/s'));
    assert.match(conf.make ?? '', /^make -j\d+ -C \/k\/6\.12\.9 M=\/d\/haiku-ipc\/0\.9\.2\/build\/src NEXUS_DEBUGFS=n modules$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('--source errors: a path that does not exist, a file, a directory that is no tree, several .dkms, a dkms.conf naming no module', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-src-'));
  try {
    await rejects(inspectSource(join(dir, 'nope')), /--source .*nope: no such file or directory/);
    writeFileSync(join(dir, 'file'), 'x');
    await rejects(inspectSource(join(dir, 'file')), /is not a directory/);
    mkdirSync(join(dir, 'empty'));
    await rejects(inspectSource(join(dir, 'empty')), /not a Nexus source tree: it has no dkms\.conf, no debian\/\*\.dkms and no Makefile/);
    mkdirSync(join(dir, 'two', 'debian'), { recursive: true });
    writeFileSync(join(dir, 'two', 'debian', 'a.dkms'), 'BUILT_MODULE_NAME[0]=a\n');
    writeFileSync(join(dir, 'two', 'debian', 'b.dkms'), 'BUILT_MODULE_NAME[0]=b\n');
    await rejects(findDkmsConf(join(dir, 'two')), /several DKMS configurations \(debian\/a\.dkms, debian\/b\.dkms\)/);
    mkdirSync(join(dir, 'none'));
    writeFileSync(join(dir, 'none', 'dkms.conf'), 'PACKAGE_NAME=x\nMAKE[0]=make\n');
    await rejects(inspectSource(join(dir, 'none')), /names no module: DKMS needs BUILT_MODULE_NAME\[0\]/);
    mkdirSync(join(dir, 'broken'));
    writeFileSync(join(dir, 'broken', 'dkms.conf'), 'BUILT_MODULE_NAME[0]=x\nif then fi (\n');
    await rejects(inspectSource(join(dir, 'broken')), /cannot be sourced by bash as DKMS sources it/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('debian/changelog versions: epoch and Debian revision dropped', () => {
  assert.is(changelogVersion('pkg (1:2.3.4-1ubuntu2) unstable; urgency=low\n'), '2.3.4');
  assert.is(changelogVersion('pkg (0.9) unstable; urgency=low\n'), '0.9');
  assert.is(changelogVersion('garbage\n'), undefined);
});

test('without MAKE[0], DKMS\'s own make runs kbuild on the build directory', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-build-'));
  try {
    const src = join(dir, 'src');
    mkdirSync(src);
    writeFileSync(join(src, 'Kbuild'), 'obj-m := fake.o\n');
    writeFileSync(join(src, 'fake.c'), 'const char m[] __attribute__((section(".modinfo"), used)) = "depends=";\n');
    writeFileSync(join(src, 'dkms.conf'), 'PACKAGE_NAME=fake\nPACKAGE_VERSION=1.0\nBUILT_MODULE_NAME[0]=fake\n');
    const source = await inspectSource(src);
    // The "kernel tree" is a Makefile that records how it was called and makes fake.ko.
    const kdir = join(dir, 'kernel');
    mkdirSync(kdir);
    writeFileSync(join(kdir, 'Makefile'), 'all:\n\techo "M=$(M) KERNELRELEASE=$(KERNELRELEASE)" > $(M)/../../../../called\n\tgcc -c -o $(M)/fake.ko $(M)/fake.c\n');
    const r = await buildModules({ source, kernel: fakeKernel(kdir, '6.1-fake'), cacheDir: join(dir, 'cache'), logPath: join(dir, 'log'), timeoutMs: 60_000 });
    assert.ok(r.ok, r.error);
    const log = readFileSync(join(dir, 'log'), 'utf8');
    assert.match(log, new RegExp(`# make -j\\d+ KERNELRELEASE=6\\.1-fake -C ${kdir} M=\\S+/dkms/fake/1\\.0/build\\n`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
