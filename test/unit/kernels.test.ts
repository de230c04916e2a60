import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  chooseKernel,
  kernelCacheKey,
  loadMatrix,
  matchImagePackages,
  parseHeaderDepends,
  parseMadison,
  parseMatrix,
  relocateHeadersMakefile,
  splitStanzas,
  type KernelSpec,
} from '../../lab/kernels.js';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fixture, ROOT } from '../helpers.js';

const names = fixture('apt', 'pkgnames-linux-image.txt').split('\n');
const madison = parseMadison(fixture('apt', 'madison-cloud.txt'));
const cloud61: KernelSpec = { id: '6.1-cloud', series: '6.1', flavour: 'cloud-amd64' };
const cloud612: KernelSpec = { id: '6.12-cloud', series: '6.12', flavour: 'cloud-amd64' };

test('matches only the unsigned image packages of the series and flavour', () => {
  const m61 = matchImagePackages(cloud61, names);
  assert.ok(m61.length >= 2);
  for (const m of m61) {
    assert.match(m.name, /^linux-image-6\.1\.0-\d+-cloud-amd64-unsigned$/);
    assert.match(m.abi, /^6\.1\.0-\d+$/);
  }
  const m612 = matchImagePackages(cloud612, names);
  assert.ok(m612.length >= 2);
  for (const m of m612) assert.match(m.abi, /^6\.12\.\d+\+deb12$/);
  const generic = matchImagePackages({ id: 'g', series: '6.1', flavour: 'amd64' }, names);
  assert.ok(generic.length > 0);
  assert.not.ok(generic.some((g) => g.name.includes('cloud') || g.name.includes('-rt-')), 'amd64 is not cloud-amd64 nor rt-amd64');
});

test('resolves the newest version from a real package list', () => {
  const k61 = chooseKernel(cloud61, matchImagePackages(cloud61, names), madison);
  assert.equal(k61, { image: 'linux-image-6.1.0-56-cloud-amd64-unsigned', abi: '6.1.0-56', version: '6.1.192-2' });
  const k612 = chooseKernel(cloud612, matchImagePackages(cloud612, names), madison);
  assert.equal(k612, {
    image: 'linux-image-6.12.117+deb12-cloud-amd64-unsigned',
    abi: '6.12.117+deb12',
    version: '6.12.117-1~deb12u1',
  });
});

test('honours an exact version pin, and names the known versions when it is missing', () => {
  const pinned = chooseKernel({ ...cloud61, version: '6.1.187-1' }, matchImagePackages(cloud61, names), madison);
  assert.is(pinned.abi, '6.1.0-53');
  assert.throws(
    () => chooseKernel({ ...cloud61, version: '6.1.1-1' }, matchImagePackages(cloud61, names), madison),
    /pinned version 6\.1\.1-1 is not available \(known: .*6\.1\.192-2/,
  );
});

test('a series apt does not know is a clear error', () => {
  const none: KernelSpec = { id: 'x', series: '5.10', flavour: 'cloud-amd64' };
  assert.throws(() => chooseKernel(none, matchImagePackages(none, names), madison), /apt-get update/);
});

test('finds the -common and kbuild packages in real headers metadata', () => {
  assert.equal(parseHeaderDepends(fixture('apt', 'show-headers-6.1.txt')), {
    common: 'linux-headers-6.1.0-56-common',
    kbuild: 'linux-kbuild-6.1',
  });
  assert.equal(parseHeaderDepends(fixture('apt', 'show-headers-6.12.txt')), {
    common: 'linux-headers-6.12.117+deb12-common',
    kbuild: 'linux-kbuild-6.12.117+deb12',
  });
  assert.throws(() => parseHeaderDepends('Package: x\n'), /no Depends/);
});

test('one apt-cache show of several packages splits into their stanzas', () => {
  const both = `${fixture('apt', 'show-headers-6.1.txt').trimEnd()}\n\n${fixture('apt', 'show-headers-6.12.txt')}`;
  const stanzas = splitStanzas(both);
  assert.equal(stanzas.map((st) => [st.package, st.version]), [
    ['linux-headers-6.1.0-56-cloud-amd64', '6.1.192-2'],
    ['linux-headers-6.12.117+deb12-cloud-amd64', '6.12.117-1~deb12u1'],
  ]);
  assert.is(parseHeaderDepends(stanzas[1]!.text).kbuild, 'linux-kbuild-6.12.117+deb12');
});

test('points the headers Makefile into the cache', () => {
  const text = 'include /usr/src/linux-headers-6.1.0-56-common/Makefile\n';
  assert.is(
    relocateHeadersMakefile(text, '/c/kernels/k'),
    'include /c/kernels/k/usr/src/linux-headers-6.1.0-56-common/Makefile\n',
  );
  assert.is(relocateHeadersMakefile('obj-m += x.o\n', '/c'), 'obj-m += x.o\n');
});

test('cache keys carry the exact version and are safe as file names', () => {
  const key = kernelCacheKey({
    id: 'a', series: '6.12', flavour: 'cloud-amd64', abi: '6.12.117+deb12', release: '6.12.117+deb12-cloud-amd64',
    version: '6.12.117-1~deb12u1', packages: { image: '', headers: '', common: '', kbuild: '' },
  });
  assert.is(key, '6.12.117+deb12-cloud-amd64_6.12.117-1_deb12u1');
});

test('the matrix file is validated with messages that name the entry', () => {
  assert.throws(() => parseMatrix('{', 'm.json'), /m\.json: not valid JSON/);
  assert.throws(() => parseMatrix('{"kernels": []}'), /non-empty array/);
  assert.throws(() => parseMatrix('{"kernels": [{"id": "a", "series": "6.1"}]}'), /kernels\[0\]: "flavour"/);
  assert.throws(() => parseMatrix('{"kernels": [{"id": "a", "series": "six", "flavour": "amd64"}]}'), /series 'six'/);
  assert.throws(
    () => parseMatrix('{"kernels": [{"id": "a", "series": "6.1", "flavour": "amd64"}, {"id": "a", "series": "6.12", "flavour": "amd64"}]}'),
    /duplicate id 'a'/,
  );
  const m = parseMatrix('{"kernels": [{"id": "a", "series": "6.1", "flavour": "amd64", "version": "6.1.1-1", "default": true}]}');
  assert.equal(m.kernels[0], { id: 'a', series: '6.1', flavour: 'amd64', version: '6.1.1-1', default: true });
});

test('built kernels: groups, a build of fragment and script, a slowdown; bad ones are refused', () => {
  const one = (extra: string) => parseMatrix(`{"kernels": [{"id": "d", "series": "6.1", "flavour": "cloud-amd64"${extra}}]}`);
  const m = one(', "groups": ["debug"], "build": {"fragment": "debug/x.config", "script": "debug/b.sh"}, "slowdown": 3');
  assert.equal(m.kernels[0], {
    id: 'd', series: '6.1', flavour: 'cloud-amd64', groups: ['debug'], build: { fragment: 'debug/x.config', script: 'debug/b.sh' }, slowdown: 3,
  });
  assert.throws(() => one(', "groups": "debug"'), /"groups" must be an array of names/);
  assert.throws(() => one(', "groups": ["a b"]'), /"groups" must be an array of names/);
  assert.throws(() => one(', "build": {"fragment": "x"}'), /"build" must be \{ "fragment": PATH, "script": PATH \}/);
  assert.throws(() => one(', "slowdown": 0.5'), /"slowdown" must be a number of at least 1/);
  assert.equal(one(', "append": ["no5lvl", "kfence.sample_interval=10"]').kernels[0]!.append, ['no5lvl', 'kfence.sample_interval=10']);
  assert.throws(() => one(', "append": ["a b"]'), /"append" must be an array of kernel parameters/);
  assert.throws(() => one(', "append": "no5lvl"'), /"append" must be an array of kernel parameters/);
  assert.throws(() => one(', "groups": ["d"]'), /group 'd' is also a kernel id/);
  assert.throws(() => one(', "groups": ["all"]'), /group 'all' is also a kernel id/);
  assert.throws(() => parseMatrix('{"kernels": [{"id": "all", "series": "6.1", "flavour": "amd64"}]}'), /'all' names every kernel/);
});

test('the real matrix names its debug kernels\' build files relative to itself, and they exist', async () => {
  const matrix = await loadMatrix(join(ROOT, 'images', 'kernels.json'));
  for (const k of matrix.kernels.filter((x) => x.build)) {
    assert.is(k.build!.fragment, join(ROOT, 'images', 'debug', 'debug.config'));
    assert.is(k.build!.script, join(ROOT, 'images', 'debug', 'build-kernel.sh'));
    assert.ok(existsSync(k.build!.fragment) && existsSync(k.build!.script));
    assert.ok((k.slowdown ?? 1) > 1, `${k.id} gives its slower guests more time`);
  }
});

test.run();
