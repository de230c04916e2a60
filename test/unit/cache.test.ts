import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMPLETE, isComplete, publish } from '../../lab/cache.js';

function scratch(root: string, name: string, content: string, complete = true): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'data'), content);
  if (complete) writeFileSync(join(dir, COMPLETE), '');
  return dir;
}

test('publishing moves a complete entry into place; a second publisher keeps the first', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  try {
    const entry = join(root, 'kernels', 'k');
    await publish(scratch(root, 'a', 'first'), entry);
    assert.ok(isComplete(entry));
    await publish(scratch(root, 'b', 'second'), entry);
    assert.is(readFileSync(join(entry, 'data'), 'utf8'), 'first');
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('an incomplete entry is replaced, an incomplete scratch is refused', async () => {
  const root = mkdtempSync(join(tmpdir(), 'nexus-cache-'));
  try {
    const entry = scratch(root, 'entry', 'stale', false);
    await publish(scratch(root, 'fresh', 'new'), entry);
    assert.is(readFileSync(join(entry, 'data'), 'utf8'), 'new');
    const half = scratch(root, 'half', 'x', false);
    await publish(half, join(root, 'other')).then(
      () => assert.unreachable('published a scratch without its marker'),
      (e: Error) => assert.match(e.message, /no \.complete marker/),
    );
    assert.not.ok(existsSync(join(root, 'other')));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
