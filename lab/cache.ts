// The lab's cache (kernels, images, builds) is keyed by content.  Entries are
// assembled in a scratch directory and published with one rename, so a
// reader sees either nothing or a complete entry, and two runs building the
// same entry at once both end up using one of them.
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Name of the file that marks a cache entry complete. */
export const COMPLETE = '.complete';

export function isComplete(entry: string): boolean {
  return existsSync(join(entry, COMPLETE));
}

/** Move a finished scratch directory (holding COMPLETE) to its cache entry. */
export async function publish(scratch: string, entry: string): Promise<void> {
  if (!existsSync(join(scratch, COMPLETE))) throw new Error(`refusing to publish ${scratch}: it has no ${COMPLETE} marker`);
  await mkdir(dirname(entry), { recursive: true });
  // An entry without its marker is debris of an older lab: replace it.
  if (existsSync(entry) && !isComplete(entry)) await rm(entry, { recursive: true, force: true });
  try {
    await rename(scratch, entry);
  } catch (e) {
    // Another run published the same entry first: use theirs.
    if (!isComplete(entry)) throw e;
  }
}
