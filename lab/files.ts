// Walking a directory tree.
import { existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
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

/**
 * Content hash of the files below `root` that `keep` keeps: paths,
 * executable bits and contents, after `seed` (when given).
 */
export async function hashFiles(root: string, keep?: (rel: string) => boolean, seed?: string): Promise<string> {
  const h = createHash('sha256');
  if (seed !== undefined) h.update(`${seed}\0`);
  for (const rel of await listFiles(root, keep)) {
    const full = join(root, rel);
    const st = await stat(full);
    h.update(`${rel}\0${st.mode & 0o111 ? 'x' : '-'}\0`);
    h.update(await readFile(full));
    h.update('\0');
  }
  return h.digest('hex');
}
