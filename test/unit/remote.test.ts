import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { generateKeyPair, publicKeyBlob } from '../../lab/remote.js';

test('a fresh ed25519 key per run, as an authorized_keys line', () => {
  const a = generateKeyPair('nexus-lab-r1');
  const b = generateKeyPair('nexus-lab-r1');
  assert.match(a.publicKey, /^ssh-ed25519 [A-Za-z0-9+/=]+ nexus-lab-r1$/);
  assert.match(a.privateKey, /BEGIN OPENSSH PRIVATE KEY/);
  assert.is.not(a.publicKey, b.publicKey);
  // An ed25519 key blob: string "ssh-ed25519" + 32-byte key.
  const blob = publicKeyBlob(a.publicKey);
  assert.is(blob.length, 4 + 11 + 4 + 32);
  assert.is(blob.subarray(4, 15).toString(), 'ssh-ed25519');
});

test('a host key line that is not one is refused', () => {
  assert.throws(() => publicKeyBlob('garbage'), /not an OpenSSH public key/);
});

test.run();
