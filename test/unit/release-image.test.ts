import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResolvedKernel } from '../../lab/kernels.js';
import {
  kernelSetKey, parseReleaseRecipe, releaseHash, releaseImageSizeMiB, releaseMmdebstrapArgs, RELEASE_SSH_READY,
} from '../../lab/release-image.js';
import { ROOT } from '../helpers.js';

const recipeText = readFileSync(join(ROOT, 'images', 'release.json'), 'utf8');

const k = (release: string, version: string): ResolvedKernel => ({
  id: release, series: '', flavour: 'cloud-amd64', abi: '', release, version,
  packages: { image: '', headers: '', common: '', kbuild: '' },
});

test('the release recipe: systemd as init, dkms and a compiler, apt to install with, units masked', () => {
  const r = parseReleaseRecipe(recipeText);
  assert.is(r.variant, 'apt');
  for (const p of ['systemd', 'systemd-sysv', 'dkms', 'gcc', 'make', 'openssh-server', 'nodejs', 'busybox-static']) {
    assert.ok(r.include.includes(p), `${p} is in the image`);
  }
  assert.ok(r.mask.includes('apt-daily.timer'));
  assert.throws(() => parseReleaseRecipe(recipeText.replace('"apt-daily.timer"', '"../../etc/passwd"')), /"mask" must be an array of systemd unit names/);
});

test('the kernel set: installed and staged kernels by exact package version, staged order does not matter', () => {
  const a = k('6.1.0-57-cloud-amd64', '6.1.192-3');
  const b = k('6.12.117+deb12-cloud-amd64', '6.12.117-1~deb12u1');
  const c = k('6.12.118+deb12-cloud-amd64', '6.12.118-1~deb12u1');
  assert.is(kernelSetKey(a, [b]), 'installed:6.1.0-57-cloud-amd64=6.1.192-3 staged:6.12.117+deb12-cloud-amd64=6.12.117-1~deb12u1');
  assert.is(kernelSetKey(a, [b, c]), kernelSetKey(a, [c, b]));
  assert.is.not(kernelSetKey(a, [b]), kernelSetKey(b, [a]), 'which kernel is installed matters');
});

test('the image hash follows the recipe, the overlay files and the kernel set', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'release-overlay-'));
  writeFileSync(join(dir, 'f'), 'one');
  const h = await releaseHash(recipeText, dir, 'set-a');
  assert.match(h, /^[0-9a-f]{16}$/);
  assert.is(await releaseHash(recipeText, dir, 'set-a'), h);
  assert.is.not(await releaseHash(recipeText, dir, 'set-b'), h);
  assert.is.not(await releaseHash(`${recipeText} `, dir, 'set-a'), h);
  writeFileSync(join(dir, 'f'), 'two');
  assert.is.not(await releaseHash(recipeText, dir, 'set-a'), h);
});

test('mmdebstrap installs the kernel packages with apt inside the new system, before the positional arguments', () => {
  const args = releaseMmdebstrapArgs(parseReleaseRecipe(recipeText), '/t/tree', ['/c/a.deb', '/c/b.deb']);
  assert.equal(args.slice(-3), ['bookworm', '/t/tree', 'http://deb.debian.org/debian']);
  const hooks = args.filter((a) => a.startsWith('--customize-hook='));
  assert.is(hooks[1], '--customize-hook=copy-in /c/a.deb /c/b.deb /tmp/nexus-kernel');
  assert.match(hooks[2]!, /chroot "\$1" sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \/tmp\/nexus-kernel\/\*\.deb'/);
  assert.ok(args.indexOf(hooks[0]!) < args.length - 3);
});

test('room for a second kernel and DKMS builds; the ssh line systemd prints', () => {
  assert.is(releaseImageSizeMiB(1 << 30), Math.ceil(1.1 * 1024) + 1536);
  assert.ok(RELEASE_SSH_READY.test('[  OK  ] Started ssh.service - OpenBSD Secure Shell server.'));
  assert.not.ok(RELEASE_SSH_READY.test('         Starting ssh.service - OpenBSD Secure Shell server...'));
});

test.run();
