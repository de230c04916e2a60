// Shared by the tests: where the repository and the fixtures are.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// Compiled to dist/test/: the repository is two levels up.
export const ROOT = resolve(here, '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures');

export function fixture(...parts: string[]): string {
  return readFileSync(join(FIXTURES, ...parts), 'utf8');
}

/** Assert that a promise rejects with a message matching `re`. */
export async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  if (error === undefined) throw new Error(`expected a rejection matching ${re}, it resolved`);
  const message = error instanceof Error ? error.message : String(error);
  if (!re.test(message)) throw new Error(`expected a rejection matching ${re}, got: ${message}`);
}
