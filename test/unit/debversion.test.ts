import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareDebVersions as cmp } from '../../lab/debversion.js';

const sign = (n: number) => Math.sign(n);

test('orders Debian kernel versions as dpkg does', () => {
  assert.is(sign(cmp('6.1.192-2', '6.1.192-1')), 1);
  assert.is(sign(cmp('6.1.192-1', '6.1.190-1')), 1);
  assert.is(sign(cmp('6.1.176-1', '6.1.192-2')), -1);
  assert.is(sign(cmp('6.12.117-1~deb12u1', '6.12.115-2~deb12u1')), 1);
  assert.is(sign(cmp('6.12.117-1~deb12u1', '6.12.117-1')), -1, '~ sorts before the end');
  assert.is(sign(cmp('6.12.117-1~deb12u1', '6.12.117-1~deb12u1')), 0);
});

test('numeric runs compare as numbers, not strings', () => {
  assert.is(sign(cmp('6.12.9-1', '6.12.10-1')), -1);
  assert.is(sign(cmp('1.010', '1.10')), 0, 'leading zeros do not count');
});

test('tilde, letters and epochs', () => {
  assert.is(sign(cmp('1.0~rc1', '1.0')), -1);
  assert.is(sign(cmp('1.0~rc1', '1.0~rc2')), -1);
  assert.is(sign(cmp('1.0a', '1.0+')), -1, 'letters sort before other characters');
  assert.is(sign(cmp('1:0.1', '2.0')), 1, 'the epoch wins');
  assert.is(sign(cmp('1.0-1', '1.0')), 1, 'a revision sorts after none');
});

test('rejects what is not a version', () => {
  assert.throws(() => cmp('', '1.0'), /empty/);
  assert.throws(() => cmp('x:1.0', '1.0'), /epoch/);
});

test.run();
