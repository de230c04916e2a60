// The command lines of `nexus-lab shell` and `nexus-lab exec` and the pure
// rules around them (the guest command, exit statuses), apart from the code
// that boots guests so that they can be tested alone.
import { existsSync, statSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { parseCpus, UsageError } from '../args.js';

/** Where uploaded files go in the guest; also the command's working directory. */
export const GUEST_UPLOAD_DIR = '/root';
/** exec: the command's default deadline. */
export const DEFAULT_EXEC_TIMEOUT_S = 600;
/** shell: the session's default deadline (the guest is stopped then). */
export const DEFAULT_SHELL_TIMEOUT_S = 4 * 3600;

/** Exit statuses of exec and shell that are not the guest command's own. */
export const EXIT = {
  usage: 2,
  /** The command passed its --timeout (as timeout(1) says it). */
  timeout: 124,
  /** The lab could not run the command: build, boot, load or upload failed, the guest was lost. */
  lab: 125,
  interrupted: 130,
} as const;

export interface GuestOptions {
  kernels: string[];
  sourcePath: string;
  matrixPath: string;
  resultsDir: string;
  cacheDir: string;
  accel: 'auto' | 'kvm' | 'tcg';
  cpus: number;
  timeoutScale: number;
  memoryMiB: number;
  /** The command's (exec) or the session's (shell) deadline. */
  timeoutMs: number;
  quiet: boolean;
  command: string[];
}

export interface ShellOptions extends GuestOptions {
  kernel: string;
}

export interface ExecOptions extends GuestOptions {
  /** Local paths, absolute, each uploaded to GUEST_UPLOAD_DIR under its base name. */
  uploads: string[];
  /** The words after `--`. */
  words: string[];
}

export interface ParseContext {
  root: string;
  env?: Readonly<Record<string, string | undefined>>;
}

const COMMON = {
  kernels: { type: 'string' },
  source: { type: 'string' },
  matrix: { type: 'string' },
  results: { type: 'string' },
  cache: { type: 'string' },
  accel: { type: 'string' },
  cpus: { type: 'string' },
  timeout: { type: 'string' },
  'timeout-scale': { type: 'string' },
  memory: { type: 'string' },
  quiet: { type: 'boolean', short: 'q' },
  help: { type: 'boolean', short: 'h' },
} as const;

function positive(name: string, v: string | undefined, fallback: number, integer: boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} takes a positive ${integer ? 'integer' : 'number'}, not '${v}'`);
  }
  return n;
}

type CommonValues = { [K in keyof typeof COMMON]?: (typeof COMMON)[K]['type'] extends 'boolean' ? boolean : string };

function common(values: CommonValues, where: ParseContext, defaultTimeoutS: number, command: string[]): GuestOptions {
  const env = where.env ?? process.env;
  if (values.kernels === undefined) throw new UsageError('--kernels is required (a kernel id of the matrix, e.g. 6.12-cloud)');
  const kernels = values.kernels.split(',').map((s) => s.trim()).filter(Boolean);
  if (kernels.length === 0) throw new UsageError('--kernels was given an empty list');
  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel takes auto, kvm or tcg, not '${accel}'`);
  return {
    kernels: [...new Set(kernels)],
    sourcePath: resolve(values.source ?? join(where.root, 'kernel')),
    matrixPath: resolve(values.matrix ?? join(where.root, 'images', 'kernels.json')),
    resultsDir: resolve(values.results ?? join(where.root, 'results')),
    cacheDir: resolve(values.cache ?? env.NEXUS_LAB_CACHE ?? join(where.root, '.cache')),
    accel,
    cpus: parseCpus(values.cpus) ?? 1,
    timeoutScale: positive('--timeout-scale', values['timeout-scale'], 1, false),
    memoryMiB: positive('--memory', values.memory, 1024, true),
    timeoutMs: Math.round(positive('--timeout', values.timeout, defaultTimeoutS, false) * 1000),
    quiet: values.quiet ?? false,
    command,
  };
}

function parseOptions(argv: string[]) {
  try {
    return parseArgs({ args: argv, allowPositionals: true, strict: true, options: { ...COMMON, upload: { type: 'string', multiple: true } } });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** `nexus-lab shell ...` (argv after "shell"); throws UsageError. */
export function parseShellArgs(argv: string[], where: ParseContext): { help: true } | { help: false; options: ShellOptions } {
  const { values, positionals } = parseOptions(argv);
  if (values.help) return { help: true };
  if (values.upload) throw new UsageError('--upload is an option of exec, not of shell');
  if (positionals.length > 0) {
    throw new UsageError(`shell takes no command ('${positionals[0]}'): use 'nexus-lab exec --kernels K -- CMD' to run one`);
  }
  const o = common(values as CommonValues, where, DEFAULT_SHELL_TIMEOUT_S, ['nexus-lab', 'shell', ...argv]);
  if (o.kernels.length !== 1 || o.kernels[0] === 'all') {
    throw new UsageError(`shell boots one guest: give one kernel to --kernels, not '${o.kernels.join(',')}'`);
  }
  return { help: false, options: { ...o, kernel: o.kernels[0]! } };
}

/** `nexus-lab exec ... -- CMD...` (argv after "exec"); throws UsageError. */
export function parseExecArgs(argv: string[], where: ParseContext): { help: true } | { help: false; options: ExecOptions } {
  const dash = argv.indexOf('--');
  const own = dash < 0 ? argv : argv.slice(0, dash);
  const words = dash < 0 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseOptions(own);
  if (values.help) return { help: true };
  if (positionals.length > 0) {
    throw new UsageError(`unexpected argument '${positionals[0]}': the command goes after --, e.g. nexus-lab exec --kernels 6.12-cloud -- uname -r`);
  }
  if (words.length === 0 || words.every((w) => w.trim() === '')) {
    throw new UsageError(`no command after --: e.g. nexus-lab exec --kernels 6.12-cloud -- uname -r`);
  }
  const o = common(values as CommonValues, where, DEFAULT_EXEC_TIMEOUT_S, ['nexus-lab', 'exec', ...argv]);
  const uploads = (values.upload ?? []).map((p) => resolve(p));
  checkUploads(uploads);
  return { help: false, options: { ...o, uploads, words } };
}

/** Every upload exists, and no two share a base name (they land in one directory). */
export function checkUploads(paths: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const p of paths) {
    if (!existsSync(p)) throw new UsageError(`--upload ${p}: no such file or directory`);
    const st = statSync(p);
    if (!st.isFile() && !st.isDirectory()) throw new UsageError(`--upload ${p}: not a regular file or a directory`);
    const name = basename(p);
    const other = seen.get(name);
    if (other !== undefined) throw new UsageError(`--upload ${other} and ${p} would both be ${GUEST_UPLOAD_DIR}/${name} in the guest`);
    seen.set(name, p);
  }
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, "'\\''")}'`;
}

/**
 * What exec runs in the guest: the words joined with spaces, given to
 * /bin/sh -c (as ssh does with its command words), in GUEST_UPLOAD_DIR.
 */
export function guestCommand(words: readonly string[]): string {
  return `cd ${GUEST_UPLOAD_DIR} && exec /bin/sh -c ${shellQuote(words.join(' '))}`;
}

/** How a guest command ended, as data. */
export type CommandEnd =
  | { kind: 'exit'; code: number }
  | { kind: 'signal'; signal: string }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'lab'; reason: string }
  | { kind: 'interrupted'; reason: string };

/** The exit status the lab gives for a command's end (a shell's status follows ssh's convention too). */
export function exitStatusOf(end: CommandEnd): number {
  switch (end.kind) {
    case 'exit':
      return end.code;
    case 'signal': {
      const name = end.signal.startsWith('SIG') ? end.signal : `SIG${end.signal}`;
      const n = (constants.signals as Record<string, number | undefined>)[name];
      return n === undefined ? EXIT.lab : 128 + n;
    }
    case 'timeout':
      return EXIT.timeout;
    case 'lab':
      return EXIT.lab;
    case 'interrupted':
      return EXIT.interrupted;
  }
}

/** One line telling how a kernel's command ended. */
export function describeCommandEnd(end: CommandEnd): string {
  switch (end.kind) {
    case 'exit':
      return `exit status ${end.code}`;
    case 'signal':
      return `killed by ${end.signal.startsWith('SIG') ? end.signal : `SIG${end.signal}`} (status ${exitStatusOf(end)})`;
    case 'timeout':
      return `passed its deadline of ${Math.round(end.afterMs / 1000)} s and was killed (status ${EXIT.timeout})`;
    case 'lab':
      return `not run to its end: ${end.reason} (status ${EXIT.lab})`;
    case 'interrupted':
      return `interrupted: ${end.reason} (status ${EXIT.interrupted})`;
  }
}

/**
 * exec over several kernels: 130 when interrupted, else 0 when every
 * kernel's status is 0, else the first non-zero status in --kernels order.
 */
export function combinedStatus(statuses: readonly number[]): number {
  if (statuses.includes(EXIT.interrupted)) return EXIT.interrupted;
  return statuses.find((s) => s !== 0) ?? 0;
}

/** The prefix of a kernel's output lines: none for one kernel, "[<kernel>] " for several. */
export function linePrefix(kernel: string, kernels: number): string {
  return kernels > 1 ? `[${kernel}] ` : '';
}
