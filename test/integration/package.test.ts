// Integration: the nexus-dkms .deb built for real with dpkg-buildpackage
// (debhelper + dh-dkms), no QEMU.  Two builds of the same commit, from two
// checkouts in different directories and seconds apart, must be the same
// bytes; the package must be lintian-clean and hold what DKMS and
// systemd-modules-load need.  A few seconds a build.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { parseDkmsConf } from '../../lab/build.js';
import { buildDeb, dkmsPackageInfo, lintDeb, type DebPackage } from '../../lab/package.js';
import { ROOT } from '../helpers.js';

const scratch = mkdtempSync(join(tmpdir(), 'nexus-pkg-it-'));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

/** A fresh checkout of HEAD in its own directory: the same commit, another place, new file times. */
async function checkout(name: string): Promise<string> {
  const dir = join(scratch, name);
  await execa('git', ['clone', '--quiet', '--shared', ROOT, dir], { timeout: 60_000 });
  return dir;
}

async function build(dir: string, out: string, cacheDir?: string): Promise<DebPackage> {
  const started = Date.now();
  const deb = await buildDeb({
    source: join(dir, 'kernel'),
    packaging: join(dir, 'packaging'),
    outDir: join(scratch, out),
    logPath: join(scratch, `${out}.log`),
    ...(cacheDir ? { cacheDir } : {}),
  });
  console.log(`  ${deb.path}: ${deb.sizeBytes} bytes, ${deb.cached ? 'from the cache' : 'built'} in ${((Date.now() - started) / 1000).toFixed(1)} s, sha256 ${sha256(deb.path)}`);
  return deb;
}

let first: DebPackage | undefined;
let firstCheckout = ROOT;
const version = dkmsPackageInfo(parseDkmsConf(readFileSync(join(ROOT, 'kernel', 'dkms.conf'), 'utf8'))).version;

test('two builds of one commit, in different directories and at different times, are byte-identical', async () => {
  const a = await checkout('checkout-a');
  firstCheckout = a;
  first = await build(a, 'out-a');
  assert.is(first.name, 'nexus-dkms');
  assert.is(first.version, version);
  assert.ok(first.path.endsWith(`/nexus-dkms_${version}_all.deb`));
  assert.not.ok(first.cached);
  await new Promise((r) => setTimeout(r, 2500));
  const b = await checkout('checkout-b');
  const second = await build(b, 'out-b');
  assert.not.ok(second.cached);
  assert.is(sha256(second.path), sha256(first.path), 'same commit, same bytes');
});

test('the cache: a second build of the same inputs is taken from it, with the same bytes', async () => {
  const cacheDir = join(scratch, 'cache');
  const c = await build(ROOT, 'out-c', cacheDir);
  const d = await build(ROOT, 'out-d', cacheDir);
  assert.ok(d.cached, 'the second build is cached');
  assert.is(sha256(d.path), sha256(c.path));
});

test('lintian --fail-on error,warning: 0 errors, 0 warnings', async () => {
  assert.ok(first, 'the first test built a .deb');
  const lint = await lintDeb(first!.path);
  console.log(`  $ ${lint.command}\n${lint.output ? lint.output.replace(/^/gm, '  ') : '  (no tags)'}`);
  const bad = lint.output.split('\n').filter((l) => /^[EW]: /.test(l));
  assert.equal(bad, [], 'no E: or W: tag');
  assert.ok(lint.ok, 'lintian exits 0');
});

test('control: nexus-dkms, all, depends on dkms, recommends kernel headers, DKMS maintainer scripts', async () => {
  const info = (await execa('dpkg-deb', ['-I', first!.path], { timeout: 30_000 })).stdout;
  console.log(info.replace(/^/gm, '  '));
  const field = (name: string) => new RegExp(`^ ${name}: (.*)$`, 'm').exec(info)?.[1];
  assert.is(field('Package'), 'nexus-dkms');
  assert.is(field('Version'), version);
  assert.is(field('Architecture'), 'all');
  assert.match(field('Depends') ?? '', /(^|, )dkms \(>= [^)]+\)/);
  assert.match(field('Recommends') ?? '', /linux-headers-generic\b.*\| linux-headers-amd64\b.*\| linux-headers$/);
  assert.match(info, /postinst/);
  assert.match(info, /prerm/);
  const postinst = (await execa('dpkg-deb', ['-I', first!.path, 'postinst'], { timeout: 30_000 })).stdout;
  assert.match(postinst, /DKMS_NAME=nexus\b/);
  assert.match(postinst, new RegExp(`DKMS_VERSION=${version.replace(/\./g, '\\.')}\\b`));
});

test('contents: dkms.conf and every source under /usr/src/nexus-<version>/, the modules-load.d file, no libnexus', async () => {
  const listing = (await execa('dpkg-deb', ['-c', first!.path], { timeout: 30_000 })).stdout;
  const paths = listing.split('\n').map((l) => l.split(/\s+/).slice(5).join(' ').replace(/^\.\//, ''));
  for (const l of listing.split('\n')) assert.match(l, /^(-rw-r--r--|drwxr-xr-x) root\/root /, `owned by root, 644/755: ${l}`);
  const src = `usr/src/nexus-${version}/`;
  const kernel = (await execa('git', ['-C', firstCheckout, 'ls-files', 'kernel'], { timeout: 30_000 })).stdout.split('\n');
  const expected = kernel
    .map((f) => f.replace(/^kernel\//, ''))
    .filter((f) => !f.startsWith('libnexus/'))
    .map((f) => src + f);
  assert.ok(expected.includes(`${src}dkms.conf`) && expected.includes(`${src}nexus/main.c`));
  for (const f of expected) assert.ok(paths.includes(f), `${f} is in the package`);
  assert.not.ok(paths.some((p) => p.includes('libnexus')), 'no libnexus');
  assert.ok(paths.includes('usr/lib/modules-load.d/nexus.conf'));
  const conf = (await execa('sh', ['-c', `dpkg-deb --fsys-tarfile '${first!.path}' | tar -xOf - ./usr/lib/modules-load.d/nexus.conf`], { timeout: 30_000 })).stdout;
  assert.equal(conf.split('\n').filter((l) => l !== '' && !l.startsWith('#')), ['nexus', 'nexus_area', 'nexus_node_monitor']);
});

test.after(() => rmSync(scratch, { recursive: true, force: true }));

test.run();
