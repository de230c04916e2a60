// Walking a directory tree.
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { join, relative } from 'node:path';

/**
 * Files below `root` (paths relative to it, sorted).  `keep` sees every
 * relative path, directories included: returning false prunes it.
 */
export async function listFiles(root: string, keep: (rel: string) => boolean = () => true): Promise<string[]> {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const e of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, e.name);
      const rel = relative(root, full);
      if (!keep(rel)) continue;
      if (e.isDirectory()) await walk(full);
      else if (e.isFile() || e.isSymbolicLink()) out.push(rel);
    }
  };
  await walk(root);
  return out.sort();
}
