// The nexus-dkms Debian package, built the Debian way (debhelper + dh-dkms)
// from a Nexus DKMS tree: packaging/debian/ is copied next to the parts of
// the tree DKMS needs into a scratch directory outside the source, with a
// debian/changelog and a modules-load.d file generated from the tree's
// dkms.conf (PACKAGE_VERSION there is the one place the version lives), then
// dpkg-buildpackage runs under a deadline with a pinned environment so two
// builds of the same inputs are byte-identical.  Results are cached by a hash
// of the staged inputs and published by rename, like module builds.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDkmsConf, type DkmsConf } from './build.js';
import { COMPLETE, isComplete, publish } from './cache.js';
import { hashFiles, listFiles } from './files.js';
import { describeEnd, run, runChecked, succeeded } from './proc.js';

/** The binary package's name (debian/control). */
export const DEB_NAME = 'nexus-dkms';

const here = dirname(fileURLToPath(import.meta.url));
/** packaging/ of this repository (dist/lab/package.js -> ../../packaging). */
export const PACKAGING_DIR = resolve(here, '..', '..', 'packaging');

export interface DebPackage {
  path: string;
  name: string;
  version: string;
  sizeBytes: number;
  cached: boolean;
}

export interface BuildDebOptions {
  /** DKMS tree root: has dkms.conf (PACKAGE_NAME, PACKAGE_VERSION, BUILT_MODULE_NAME[i]). */
  source: string;
  /** Where the .deb is written (created if missing). */
  outDir: string;
  /** Cache root: the .deb is kept under <cacheDir>/debs/<key>/. No cache when absent. */
  cacheDir?: string;
  signal?: AbortSignal;
  /** dpkg-buildpackage's output goes here. */
  logPath?: string;
  /** Directory holding debian/ (default: this repository's packaging/). */
  packaging?: string;
  /** Deadline of dpkg-buildpackage (default 5 minutes). */
  timeoutMs?: number;
}

/** What a dkms.conf must give for a package: name, version, modules. */
export interface DkmsPackageInfo {
  name: string;
  version: string;
  modules: string[];
  /** Directories (relative to the tree root) holding the built modules. */
  locations: string[];
}

/** A native Debian version: digits first, then letters, digits, '.', '+', '~' (no '-': no Debian revision). */
const NATIVE_VERSION = /^[0-9][A-Za-z0-9.+~]*$/;
/** A DKMS module name as it may appear in a file name and a modules-load.d line. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.+-]*$/;

/** Check what a packaged tree's dkms.conf says; throw with what is missing or wrong. */
export function dkmsPackageInfo(conf: DkmsConf, where = 'dkms.conf'): DkmsPackageInfo {
  const name = conf.packageName;
  const version = conf.packageVersion;
  if (!name) throw new Error(`${where} has no PACKAGE_NAME`);
  if (!NAME.test(name)) throw new Error(`${where}: PACKAGE_NAME '${name}' is not a plain name`);
  if (!version) throw new Error(`${where} has no PACKAGE_VERSION (the package version comes from it)`);
  if (!NATIVE_VERSION.test(version)) {
    throw new Error(`${where}: PACKAGE_VERSION '${version}' is not a Debian native version (a digit first, then [A-Za-z0-9.+~])`);
  }
  if (conf.modules.length === 0) throw new Error(`${where} names no module (BUILT_MODULE_NAME[i])`);
  for (const m of conf.modules) {
    if (!NAME.test(m.name)) throw new Error(`${where}: BUILT_MODULE_NAME '${m.name}' is not a plain name`);
  }
  const locations = [...new Set(conf.modules.map((m) => m.location))].sort();
  return { name, version, modules: conf.modules.map((m) => m.name), locations };
}

/** The modules-load.d file: the tree's modules, in dkms.conf order (DKMS installs them in that order too). */
export function modulesLoadConf(info: DkmsPackageInfo): string {
  return (
    `# Loads the Nexus modules at boot (systemd-modules-load).  Installed by the\n` +
    `# ${DEB_NAME} package as /usr/lib/modules-load.d/${info.name}.conf; DKMS builds the\n` +
    `# modules for each installed kernel that has its headers.\n` +
    info.modules.map((m) => `${m}\n`).join('')
  );
}

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** RFC 5322 date in UTC, as debian/changelog wants it: "Mon, 30 Nov 2026 18:42:00 +0000". */
export function changelogDate(epochSeconds: number): string {
  const d = new Date(epochSeconds * 1000);
  const p = (n: number) => String(n).padStart(2, '0');
  return (
    `${DAYS[d.getUTCDay()]}, ${p(d.getUTCDate())} ${MONTHS[d.getUTCMonth()]} ${d.getUTCFullYear()} ` +
    `${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`
  );
}

/** The Maintainer field of a debian/control text. */
export function controlMaintainer(control: string): string {
  const m = /^Maintainer:[ \t]*(.+?)[ \t]*$/m.exec(control);
  if (!m) throw new Error('debian/control has no Maintainer field');
  return m[1]!;
}

/** debian/changelog: one entry, the version and date given (nothing in it is kept in git). */
export function changelogText(o: { version: string; maintainer: string; epochSeconds: number; dkmsName: string }): string {
  return (
    `${DEB_NAME} (${o.version}) unstable; urgency=medium\n\n` +
    `  * ${o.dkmsName} ${o.version}: the DKMS tree's dkms.conf PACKAGE_VERSION.\n\n` +
    ` -- ${o.maintainer}  ${changelogDate(o.epochSeconds)}\n`
  );
}

const DEBRIS = /(\.o|\.ko|\.mod|\.mod\.c|\.cmd|\.order|\.symvers|\.a|\.d|~)$|(^|\/)\.tmp_versions(\/|$)/;

/**
 * The files of a tree that go into /usr/src/<name>-<version>/: what a DKMS
 * build reads.  Top-level files (dkms.conf, Makefile, Kbuild, ...), include/
 * (the ABI header) and the directories holding the built modules
 * (BUILT_MODULE_LOCATION); not other directories (kernel/libnexus/ is
 * userspace), not hidden files, not build debris.
 */
export function stagedFiles(files: readonly string[], info: DkmsPackageInfo): string[] {
  const dirs = new Set(['include', ...info.locations.filter((l) => l !== '').map((l) => l.split('/')[0]!)]);
  return files
    .filter((rel) => !rel.split('/').some((part) => part.startsWith('.')) && !DEBRIS.test(rel))
    .filter((rel) => !rel.includes('/') || dirs.has(rel.split('/')[0]!))
    .sort();
}

/**
 * SOURCE_DATE_EPOCH for a build: the environment's when set, else the commit
 * time of HEAD of the git checkout holding the tree, else the newest mtime of
 * the staged files.
 */
export async function sourceDateEpoch(source: string, newestMtime: number, signal?: AbortSignal): Promise<number> {
  const env = process.env.SOURCE_DATE_EPOCH;
  if (env !== undefined && /^\d+$/.test(env.trim())) return Number(env.trim());
  try {
    const out = await runChecked('git', ['-C', source, 'log', '-1', '--format=%ct', 'HEAD'], { timeoutMs: 30_000, signal });
    if (/^\d+$/.test(out.trim())) return Number(out.trim());
  } catch {
    // not a git checkout, or git is missing: use the files' time
  }
  return Math.floor(newestMtime / 1000);
}

/** Versions of the tools that shape the .deb: a new debhelper is a new build. */
async function toolVersions(signal?: AbortSignal): Promise<string> {
  const r = await run('dpkg-query', ['-W', '-f=${Package}=${Version}\n', 'debhelper', 'dh-dkms', 'dpkg-dev'], { timeoutMs: 30_000, signal });
  return r.stdout.trim();
}

function logTail(text: string, lines = 25): string {
  return text.trim().split('\n').slice(-lines).map((l) => `  ${l}`).join('\n');
}

async function copyInto(outDir: string, from: string, name: string): Promise<string> {
  await mkdir(outDir, { recursive: true });
  const dest = join(outDir, name);
  const tmp = join(outDir, `.${name}.${process.pid}-${randomBytes(4).toString('hex')}`);
  await copyFile(from, tmp);
  await chmod(tmp, 0o644);
  await rename(tmp, dest);
  return dest;
}

/**
 * Build nexus-dkms_<version>_all.deb from a DKMS tree, or take it from the
 * cache, and put it in outDir.  Never writes into the source tree.
 */
export async function buildDeb(o: BuildDebOptions): Promise<DebPackage> {
  const source = resolve(o.source);
  const packaging = resolve(o.packaging ?? PACKAGING_DIR);
  const confPath = join(source, 'dkms.conf');
  if (!existsSync(confPath)) {
    throw new Error(`${source} has no dkms.conf: a DKMS tree names its package (PACKAGE_NAME, PACKAGE_VERSION) and modules (BUILT_MODULE_NAME[i]) there`);
  }
  for (const f of ['control', 'rules', 'copyright', join('source', 'format')]) {
    if (!existsSync(join(packaging, 'debian', f))) throw new Error(`${packaging}/debian/${f} is missing`);
  }
  const info = dkmsPackageInfo(parseDkmsConf(await readFile(confPath, 'utf8')), confPath);
  const debFile = `${DEB_NAME}_${info.version}_all.deb`;

  const tmp = await mkdtemp(join(tmpdir(), 'nexus-deb-'));
  try {
    if ((tmp + sep).startsWith(source + sep)) throw new Error(`the scratch directory ${tmp} is inside the source ${source}`);
    // Stage: <tmp>/<deb>-<version>/{debian/, dkms/, modules-load.conf}.
    const top = join(tmp, `${DEB_NAME}-${info.version}`);
    const files = stagedFiles(await listFiles(source, (rel) => !/(^|\/)(\.[^/]*|node_modules)$/.test(rel)), info);
    for (const loc of info.locations.filter((l) => l !== '')) {
      if (!files.some((f) => f.startsWith(`${loc}/`))) throw new Error(`${source}/${loc}/ (a BUILT_MODULE_LOCATION of dkms.conf) has no source file`);
    }
    let newest = 0;
    for (const rel of files) {
      const dest = join(top, 'dkms', rel);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(join(source, rel), dest);
      await chmod(dest, 0o644);
      newest = Math.max(newest, (await stat(join(source, rel))).mtimeMs);
    }
    for (const rel of await listFiles(join(packaging, 'debian'), (r) => !r.split('/').some((p) => p.startsWith('.')))) {
      if (rel === 'changelog') throw new Error(`${packaging}/debian/changelog exists: it is generated from dkms.conf, remove it`);
      const dest = join(top, 'debian', rel);
      await mkdir(dirname(dest), { recursive: true });
      await copyFile(join(packaging, 'debian', rel), dest);
      await chmod(dest, rel === 'rules' ? 0o755 : 0o644);
    }
    const epoch = await sourceDateEpoch(source, newest, o.signal);
    const maintainer = controlMaintainer(await readFile(join(packaging, 'debian', 'control'), 'utf8'));
    await writeFile(join(top, 'debian', 'changelog'), changelogText({ version: info.version, maintainer, epochSeconds: epoch, dkmsName: info.name }));
    await writeFile(join(top, 'modules-load.conf'), modulesLoadConf(info));

    const key = (await hashFiles(top, undefined, `${await toolVersions(o.signal)}\0SOURCE_DATE_EPOCH=${epoch}\0v1`)).slice(0, 24);
    const entry = o.cacheDir ? join(o.cacheDir, 'debs', key) : undefined;
    if (entry && isComplete(entry) && existsSync(join(entry, debFile))) {
      if (o.logPath) {
        const log = await readFile(join(entry, 'build.log'), 'utf8').catch(() => '');
        await writeFile(o.logPath, `# reused from the package cache ${key}\n${log}`);
      }
      const path = await copyInto(o.outDir, join(entry, debFile), debFile);
      return { path, name: DEB_NAME, version: info.version, sizeBytes: (await stat(path)).size, cached: true };
    }

    const log = join(tmp, 'build.log');
    await writeFile(log, `# dpkg-buildpackage -b -us -uc in ${top}\n# SOURCE_DATE_EPOCH=${epoch} LC_ALL=C TZ=UTC umask 022\n`);
    // A pinned environment (env -i): nothing of the caller's DEB_*,
    // DH_*, locale or umask reaches the build.
    const r = await run(
      'env',
      [
        '-i',
        `PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
        `HOME=${tmp}`,
        'LC_ALL=C',
        'TZ=UTC',
        `SOURCE_DATE_EPOCH=${epoch}`,
        'sh',
        '-c',
        'umask 022 && exec dpkg-buildpackage -b -us -uc',
      ],
      { cwd: top, timeoutMs: o.timeoutMs ?? 5 * 60_000, signal: o.signal, logFile: log, buffer: false },
    );
    const logText = await readFile(log, 'utf8');
    if (o.logPath) await writeFile(o.logPath, logText);
    const built = join(tmp, debFile);
    if (!succeeded(r) || !existsSync(built)) {
      const why = succeeded(r) ? `succeeded but made no ${debFile}` : describeEnd(r);
      throw new Error(`dpkg-buildpackage ${why}; the end of its log${o.logPath ? ` (${o.logPath})` : ''}:\n${logTail(logText)}`);
    }
    if (entry) {
      const scratch = join(o.cacheDir!, 'debs', `.tmp-${key}-${process.pid}-${randomBytes(4).toString('hex')}`);
      await mkdir(scratch, { recursive: true });
      try {
        await copyFile(built, join(scratch, debFile));
        await copyFile(log, join(scratch, 'build.log'));
        await writeFile(join(scratch, COMPLETE), new Date().toISOString());
        await publish(scratch, entry);
      } finally {
        await rm(scratch, { recursive: true, force: true });
      }
    }
    const path = await copyInto(o.outDir, built, debFile);
    return { path, name: DEB_NAME, version: info.version, sizeBytes: (await stat(path)).size, cached: false };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** The command that checks a .deb: errors and warnings fail it. */
export const LINTIAN_ARGS = ['--fail-on', 'error,warning'] as const;

export interface LintResult {
  ok: boolean;
  /** lintian's tags, one a line ("E: ...", "W: ..."); empty when clean. */
  output: string;
  command: string;
}

/** Run lintian on a .deb (0 errors and 0 warnings pass; overrides ship in the package). */
export async function lintDeb(deb: string, signal?: AbortSignal): Promise<LintResult> {
  const args = [...LINTIAN_ARGS, deb];
  const r = await run('lintian', args, { timeoutMs: 5 * 60_000, signal, env: { LC_ALL: 'C' } });
  // lintian says "running with root privileges is not recommended!" on stderr as root: not a tag.
  const stderr = r.stderr.split('\n').filter((l) => l.trim() !== '' && !/root privileges/.test(l)).join('\n');
  const output = [r.stdout.trim(), stderr.trim()].filter(Boolean).join('\n');
  if (r.spawnError !== undefined) throw new Error(`lintian ${describeEnd(r)} (is the lintian package installed?)`);
  return { ok: succeeded(r), output, command: ['lintian', ...args].join(' ') };
}

