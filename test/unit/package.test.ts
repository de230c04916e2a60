// The pure parts of the nexus-dkms package build (lab/package.ts): what
// dkms.conf gives, the generated changelog and modules-load.d file, what is
// staged.  The real dpkg-buildpackage runs are in test/integration.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseDkmsConf } from '../../lab/build.js';
import { listFiles } from '../../lab/files.js';
import {
  buildDeb,
  changelogDate,
  changelogText,
  controlMaintainer,
  dkmsPackageInfo,
  modulesLoadConf,
  PACKAGING_DIR,
  stagedFiles,
} from '../../lab/package.js';
import { ROOT } from '../helpers.js';

const ours = () => dkmsPackageInfo(parseDkmsConf(readFileSync(join(ROOT, 'kernel', 'dkms.conf'), 'utf8')));

test('our dkms.conf gives the package name, the version and the three modules', () => {
  const info = ours();
  assert.is(info.name, 'nexus');
  assert.match(info.version, /^[0-9][A-Za-z0-9.+~]*$/);
  assert.equal(info.modules, ['nexus', 'nexus_area', 'nexus_node_monitor']);
  assert.equal(info.locations, ['nexus']);
});

test('dkms.conf without a name, a version or modules, or with a version Debian cannot take, is refused clearly', () => {
  const mods = 'BUILT_MODULE_NAME[0]="a"\n';
  assert.throws(() => dkmsPackageInfo(parseDkmsConf(`PACKAGE_VERSION="1.0"\n${mods}`), 'x/dkms.conf'), /x\/dkms.conf has no PACKAGE_NAME/);
  assert.throws(() => dkmsPackageInfo(parseDkmsConf(`PACKAGE_NAME="n"\n${mods}`)), /no PACKAGE_VERSION/);
  assert.throws(() => dkmsPackageInfo(parseDkmsConf('PACKAGE_NAME="n"\nPACKAGE_VERSION="1.0"\n')), /names no module/);
  assert.throws(() => dkmsPackageInfo(parseDkmsConf(`PACKAGE_NAME="n"\nPACKAGE_VERSION="1.0-2"\n${mods}`)), /not a Debian native version/);
  assert.throws(() => dkmsPackageInfo(parseDkmsConf(`PACKAGE_NAME="n"\nPACKAGE_VERSION="v1"\n${mods}`)), /not a Debian native version/);
  assert.throws(() => dkmsPackageInfo(parseDkmsConf(`PACKAGE_NAME="n m"\nPACKAGE_VERSION="1"\n${mods}`)), /not a plain name/);
});

test("another tree's modules-load.d list is its BUILT_MODULE_NAMEs, in index order", () => {
  const info = dkmsPackageInfo(
    parseDkmsConf(`PACKAGE_NAME='other'\nPACKAGE_VERSION=2.0~rc1\nBUILT_MODULE_NAME[1]="second"\nBUILT_MODULE_LOCATION[1]="src/b/"\nBUILT_MODULE_NAME[0]=first\n`),
  );
  assert.is(info.version, '2.0~rc1');
  const text = modulesLoadConf(info);
  assert.equal(text.split('\n').filter((l) => l !== '' && !l.startsWith('#')), ['first', 'second']);
  assert.match(text, /\/usr\/lib\/modules-load\.d\/other\.conf/);
});

test('packaging/nexus.conf is what the build generates from kernel/dkms.conf (the list has one source: dkms.conf)', () => {
  assert.is(readFileSync(join(ROOT, 'packaging', 'nexus.conf'), 'utf8'), modulesLoadConf(ours()));
});

test('changelog dates are RFC 5322 in UTC', () => {
  assert.is(changelogDate(0), 'Thu, 01 Jan 1970 00:00:00 +0000');
  assert.is(changelogDate(1796063400), 'Mon, 30 Nov 2026 18:30:00 +0000');
  assert.is(changelogDate(951782400), 'Tue, 29 Feb 2000 00:00:00 +0000');
});

test('the changelog is one entry: package, version, date, the maintainer of debian/control', () => {
  const maintainer = controlMaintainer(readFileSync(join(PACKAGING_DIR, 'debian', 'control'), 'utf8'));
  assert.match(maintainer, /^.+ <[^@\s]+@[^@\s]+>$/);
  const text = changelogText({ version: '0.1.0', maintainer: 'A B <a@b.example>', epochSeconds: 1796063400, dkmsName: 'nexus' });
  assert.is(
    text,
    'nexus-dkms (0.1.0) unstable; urgency=medium\n\n' +
      "  * nexus 0.1.0: the DKMS tree's dkms.conf PACKAGE_VERSION.\n\n" +
      ' -- A B <a@b.example>  Mon, 30 Nov 2026 18:30:00 +0000\n',
  );
  assert.throws(() => controlMaintainer('Source: x\n'), /no Maintainer/);
});

test('staged: top-level files, include/ and the module directories; not libnexus, hidden files or build debris', async () => {
  const files = await listFiles(join(ROOT, 'kernel'));
  const staged = stagedFiles(files, ours());
  for (const want of ['dkms.conf', 'Makefile', 'Kbuild', 'include/nexus.h', 'nexus/Kbuild', 'nexus/main.c', 'nexus/nexus_compat.h']) {
    assert.ok(staged.includes(want), `${want} is staged`);
  }
  assert.ok(files.some((f) => f.startsWith('libnexus/')));
  assert.not.ok(staged.some((f) => f.startsWith('libnexus/')), 'libnexus (userspace) is not staged');
  const synthetic = stagedFiles(
    ['.gitignore', 'Makefile', 'dkms.conf', 'nexus/a.c', 'nexus/a.o', 'nexus/.a.o.cmd', 'nexus/a.ko', 'nexus/a.mod.c', 'tools/x.c', 'include/n.h', 'nexus/sub/b.c'],
    dkmsPackageInfo(parseDkmsConf('PACKAGE_NAME=n\nPACKAGE_VERSION=1\nBUILT_MODULE_NAME[0]=a\nBUILT_MODULE_LOCATION[0]=nexus/\n')),
  );
  assert.equal(synthetic, ['Makefile', 'dkms.conf', 'include/n.h', 'nexus/a.c', 'nexus/sub/b.c']);
});

test('no second copy of the sources: packaging/ holds no C file, no header and no changelog', async () => {
  const files = await listFiles(join(ROOT, 'packaging'));
  assert.ok(files.includes('debian/control') && files.includes('debian/rules'));
  assert.equal(files.filter((f) => /\.(c|h)$|(^|\/)(Kbuild|Makefile|dkms\.conf)$/.test(f)), []);
  assert.not.ok(files.includes('debian/changelog'), 'debian/changelog is generated from dkms.conf');
});

test('buildDeb: a tree without dkms.conf, or without a version, fails before any build, naming what is missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-pkg-unit-'));
  try {
    const out = join(dir, 'out');
    let err: Error | undefined;
    try {
      await buildDeb({ source: dir, outDir: out });
    } catch (e) {
      err = e as Error;
    }
    assert.match(err?.message ?? '', /has no dkms\.conf.*PACKAGE_VERSION/);
    mkdirSync(join(dir, 'nexus'));
    writeFileSync(join(dir, 'dkms.conf'), 'PACKAGE_NAME="nexus"\nBUILT_MODULE_NAME[0]="nexus"\n');
    err = undefined;
    try {
      await buildDeb({ source: dir, outDir: out });
    } catch (e) {
      err = e as Error;
    }
    assert.match(err?.message ?? '', /dkms\.conf has no PACKAGE_VERSION/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
