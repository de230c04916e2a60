// What the run ran on: host facts and the source tree's git revision.
import { readFile } from 'node:fs/promises';
import { cpus, hostname, release, totalmem } from 'node:os';
import { run, succeeded } from './proc.js';
import type { RunRecord } from './results.js';

export async function hostInfo(): Promise<RunRecord['host']> {
  const osRelease = await readFile('/etc/os-release', 'utf8').catch(() => '');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?/m.exec(osRelease)?.[1] ?? 'unknown';
  return {
    hostname: hostname(),
    cpus: cpus().length,
    memMiB: Math.round(totalmem() / (1 << 20)),
    kernel: release(),
    os: pretty,
    node: process.version,
  };
}

/** Git revision of the tree holding `path`, if it is in a git work tree. */
export async function gitInfo(path: string): Promise<{ revision: string; dirty: boolean } | undefined> {
  const rev = await run('git', ['-C', path, 'rev-parse', 'HEAD'], { timeoutMs: 10_000 });
  if (!succeeded(rev)) return undefined;
  const status = await run('git', ['-C', path, 'status', '--porcelain', '--', '.'], { timeoutMs: 10_000 });
  return { revision: rev.stdout.trim(), dirty: !succeeded(status) || status.stdout.trim() !== '' };
}
