import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildModules, countWarnings, firstError, hashSourceTree, inspectSource, loadOrder, parseDkmsConf, type BuiltModule } from '../../lab/build.js';
import type { KernelTree } from '../../lab/kernels.js';
import { ROOT } from '../helpers.js';

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

test.run();
