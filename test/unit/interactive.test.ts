// nexus-lab shell / exec without guests: the command lines, the guest
// command, exit statuses, the "~." escape, the pty request, deadlines, and
// what a kernel's result says when its session never ran.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../../lab/args.js';
import { endOf, EXEC_HELP, SHELL_HELP } from '../../lab/interactive.js';
import {
  checkUploads, combinedStatus, DEFAULT_EXEC_TIMEOUT_S, DEFAULT_SHELL_TIMEOUT_S, describeCommandEnd, EXIT, exitStatusOf, GUEST_UPLOAD_DIR,
  guestCommand, linePrefix, parseExecArgs, parseShellArgs,
} from '../../lab/interactive/options.js';
import { planSessions, sessionTimeouts } from '../../lab/interactive/session.js';
import { EscapeScanner, ptyOf } from '../../lab/interactive/terminal.js';
import { newJobRecord } from '../../lab/prepare.js';
import { ROOT } from '../helpers.js';

const where = { root: '/repo', env: {} };
const tmp = mkdtempSync(join(tmpdir(), 'nexus-interactive-'));
const script = join(tmp, 'repro.sh');
writeFileSync(script, '#!/bin/sh\necho hi\n');
chmodSync(script, 0o755);

function usage(fn: () => unknown, re: RegExp): void {
  try {
    fn();
  } catch (e) {
    assert.instance(e, UsageError);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a UsageError matching ${re}`);
}

function exec(argv: string[]) {
  const p = parseExecArgs(argv, where);
  if (p.help) throw new Error('help');
  return p.options;
}

function shell(argv: string[]) {
  const p = parseShellArgs(argv, where);
  if (p.help) throw new Error('help');
  return p.options;
}

test('exec: options before --, the command after it, defaults from the repository', () => {
  const o = exec(['--kernels', '6.1-cloud,6.12-cloud', '--upload', script, '--timeout', '30', '--', 'sh', 'repro.sh', '--kernels', 'x']);
  assert.equal(o.kernels, ['6.1-cloud', '6.12-cloud']);
  assert.equal(o.words, ['sh', 'repro.sh', '--kernels', 'x'], 'what follows -- is the command, even when it looks like an option');
  assert.equal(o.uploads, [script]);
  assert.is(o.timeoutMs, 30_000);
  assert.is(o.sourcePath, '/repo/kernel');
  assert.is(o.cacheDir, '/repo/.cache');
  assert.is(o.resultsDir, '/repo/results');
  assert.is(o.cpus, 1);
  assert.is(o.accel, 'auto');
  assert.is(exec(['--kernels', '6.1-cloud', '--', 'true']).timeoutMs, DEFAULT_EXEC_TIMEOUT_S * 1000);
  assert.is(parseExecArgs(['--kernels', '6.1-cloud', '--cache', '/c', '--', 'true'], { root: '/repo', env: { NEXUS_LAB_CACHE: '/env' } }).help, false);
  assert.is(exec(['--kernels', '6.1-cloud', '--', 'true']).cacheDir, '/repo/.cache');
  const e = parseExecArgs(['--kernels', '6.1-cloud', '--', 'true'], { root: '/repo', env: { NEXUS_LAB_CACHE: '/env' } });
  assert.is(!e.help && e.options.cacheDir, '/env');
  assert.equal(parseExecArgs(['--help'], where), { help: true });
});

test('exec: clear errors for bad input', () => {
  usage(() => exec(['--kernels', '6.1-cloud']), /no command after --/);
  usage(() => exec(['--kernels', '6.1-cloud', '--']), /no command after --/);
  usage(() => exec(['--kernels', '6.1-cloud', '--', '  ']), /no command after --/);
  usage(() => exec(['--kernels', '6.1-cloud', 'uname']), /unexpected argument 'uname': the command goes after --/);
  usage(() => exec(['--', 'true']), /--kernels is required/);
  usage(() => exec(['--kernels', ',', '--', 'true']), /empty list/);
  usage(() => exec(['--kernels', '6.1-cloud', '--upload', join(tmp, 'missing.sh'), '--', 'true']), /--upload .*missing\.sh: no such file or directory/);
  usage(() => exec(['--kernels', '6.1-cloud', '--timeout', '0', '--', 'true']), /--timeout takes a positive number/);
  usage(() => exec(['--kernels', '6.1-cloud', '--timeout', 'soon', '--', 'true']), /--timeout takes a positive number, not 'soon'/);
  usage(() => exec(['--kernels', '6.1-cloud', '--accel', 'xen', '--', 'true']), /--accel takes auto, kvm or tcg/);
  usage(() => exec(['--kernels', '6.1-cloud', '--cpus', '0', '--', 'true']), /--cpus takes an integer/);
  usage(() => exec(['--kernels', '6.1-cloud', '--frobnicate', '--', 'true']), /frobnicate/);
});

test('exec: two uploads with one base name would overwrite each other in the guest', () => {
  const other = join(tmp, 'other');
  mkdirSync(other, { recursive: true });
  writeFileSync(join(other, 'repro.sh'), 'echo other\n');
  usage(() => checkUploads([script, join(other, 'repro.sh')]), new RegExp(`both be ${GUEST_UPLOAD_DIR}/repro\\.sh`));
  // A directory is copied with its contents.
  checkUploads([script, other]);
});

test('shell: one kernel, no command, its own deadline', () => {
  const o = shell(['--kernels', '6.12-cloud', '--source', '/t', '--cpus', '2']);
  assert.is(o.kernel, '6.12-cloud');
  assert.is(o.sourcePath, '/t');
  assert.is(o.cpus, 2);
  assert.is(o.timeoutMs, DEFAULT_SHELL_TIMEOUT_S * 1000);
  usage(() => shell(['--kernels', '6.1-cloud,6.12-cloud']), /shell boots one guest: give one kernel to --kernels, not '6\.1-cloud,6\.12-cloud'/);
  usage(() => shell(['--kernels', 'all']), /one kernel/);
  usage(() => shell([]), /--kernels is required/);
  usage(() => shell(['--kernels', '6.1-cloud', 'ls']), /shell takes no command \('ls'\): use 'nexus-lab exec/);
  usage(() => shell(['--kernels', '6.1-cloud', '--', 'ls']), /shell takes no command/);
  usage(() => shell(['--kernels', '6.1-cloud', '--upload', script]), /--upload is an option of exec/);
  assert.equal(parseShellArgs(['-h'], where), { help: true });
});

test('kernels are checked against the matrix: unknown ids name the known ones; one job per kernel', async () => {
  const matrix = join(ROOT, 'images', 'kernels.json');
  const jobs = await planSessions('exec', { matrixPath: matrix, kernels: ['6.1-cloud', '6.12-cloud'], cpus: 2 });
  assert.equal(jobs.map((j) => [j.id, j.kernel.id, j.profile, j.suites, j.cpus]), [
    ['6.1-cloud-exec', '6.1-cloud', 'exec', [], 2],
    ['6.12-cloud-exec', '6.12-cloud', 'exec', [], 2],
  ]);
  const [sh] = await planSessions('shell', { matrixPath: matrix, kernels: ['6.12-cloud'], cpus: 1 });
  assert.is(sh!.id, '6.12-cloud-shell');
  let error = '';
  await planSessions('exec', { matrixPath: matrix, kernels: ['6.13-cloud'], cpus: 1 }).catch((e: Error) => (error = e.message));
  assert.match(error, /unknown kernel '6\.13-cloud' \(known: 6\.1-cloud, 6\.12-cloud/);
});

test('the guest command: the words joined, run by /bin/sh -c in the upload directory', () => {
  const cmd = guestCommand(['echo', "\"it's\"", '$((1+2));', 'pwd']);
  assert.is(cmd, `cd ${GUEST_UPLOAD_DIR} && exec /bin/sh -c 'echo "it'\\''s" $((1+2)); pwd'`);
  // What a shell (sshd runs the command with one) makes of it.
  const r = spawnSync('sh', ['-c', cmd], { encoding: 'utf8' });
  assert.is(r.stdout, `it's 3\n${GUEST_UPLOAD_DIR}\n`);
  assert.is(spawnSync('sh', ['-c', guestCommand(['exit', '3'])]).status, 3);
});

test('exit statuses: the command\'s own, 128+N for a signal, 124 deadline, 125 the lab, 130 interrupted', () => {
  assert.is(exitStatusOf({ kind: 'exit', code: 3 }), 3);
  assert.is(exitStatusOf({ kind: 'exit', code: 0 }), 0);
  assert.is(exitStatusOf({ kind: 'signal', signal: 'KILL' }), 137);
  assert.is(exitStatusOf({ kind: 'signal', signal: 'SIGSEGV' }), 139);
  assert.is(exitStatusOf({ kind: 'signal', signal: 'NOSUCH' }), EXIT.lab);
  assert.is(exitStatusOf({ kind: 'timeout', afterMs: 5000 }), 124);
  assert.is(exitStatusOf({ kind: 'lab', reason: 'boot failed' }), 125);
  assert.is(exitStatusOf({ kind: 'interrupted', reason: 'SIGINT' }), 130);
  assert.is(describeCommandEnd({ kind: 'exit', code: 3 }), 'exit status 3');
  assert.is(describeCommandEnd({ kind: 'signal', signal: 'KILL' }), 'killed by SIGKILL (status 137)');
  assert.is(describeCommandEnd({ kind: 'timeout', afterMs: 30_000 }), 'passed its deadline of 30 s and was killed (status 124)');
  assert.is(describeCommandEnd({ kind: 'lab', reason: 'insmod nexus.ko failed' }), 'not run to its end: insmod nexus.ko failed (status 125)');
});

test('several kernels: 0 only when all are 0, else the first non-zero in --kernels order; an interruption wins', () => {
  assert.is(combinedStatus([0, 0]), 0);
  assert.is(combinedStatus([0, 3, 1]), 3);
  assert.is(combinedStatus([124, 3]), 124);
  assert.is(combinedStatus([3, 130]), 130);
  assert.is(combinedStatus([]), 0);
  assert.is(linePrefix('6.1-cloud', 1), '');
  assert.is(linePrefix('6.1-cloud', 2), '[6.1-cloud] ');
});

test('"~." at the start of a line ends the session; elsewhere, or "~~", the tilde goes through', () => {
  const s = new EscapeScanner();
  const feed = (text: string) => {
    const r = s.feed(Buffer.from(text));
    return [r.data.toString(), r.quit] as const;
  };
  assert.equal(feed('ls ~/x\r'), ['ls ~/x\r', false]);
  assert.equal(feed('~~'), ['~', false]);
  assert.equal(feed('a~.\r'), ['a~.\r', false]);
  assert.equal(feed('~x\r'), ['~x\r', false]);
  // Held across chunks: a "~" alone is sent with the byte after it.
  assert.equal(feed('~'), ['', false]);
  assert.equal(feed('y'), ['~y', false]);
  assert.equal(feed('\n~.'), ['\n', true]);
  // At the very start of the session too.
  assert.equal(new EscapeScanner().feed(Buffer.from('~.')).quit, true);
});

test('the pty is the terminal\'s size and type, 80x24 xterm when unknown', () => {
  assert.equal(ptyOf({ columns: 132, rows: 50 }, 'screen-256color'), { term: 'screen-256color', cols: 132, rows: 50, width: 0, height: 0 });
  assert.equal(ptyOf({}, undefined), { term: 'xterm', cols: 80, rows: 24, width: 0, height: 0 });
});

test('deadlines: the command\'s own unscaled, build and boot as a run\'s, the job their sum', () => {
  const t = sessionTimeouts('tcg', 1, 30_000);
  assert.is(t.runnerMs, 30_000);
  assert.is(t.bootMs, 180_000);
  assert.is(t.jobMs, t.buildMs + t.bootMs + 30_000 + 4 * 135_000);
  const k = sessionTimeouts('kvm', 2, 4 * 3600_000);
  assert.is(k.runnerMs, 4 * 3600_000);
  assert.is(k.jobMs, k.buildMs + k.bootMs + 4 * 3600_000 + 2 * 135_000);
});

test('a kernel whose session never ran: the job\'s problems or verdict, or the interruption', () => {
  const job = { id: '6.1-cloud-exec', kernel: { id: '6.1-cloud', series: '6.1', flavour: 'cloud-amd64' }, profile: 'exec', suites: [], cpus: 1, budgetMs: 0 };
  const rec = newJobRecord(job);
  const live = new AbortController().signal;
  assert.equal(endOf({ timeoutMs: 1, end: { kind: 'exit', code: 3 } }, rec, live), { kind: 'exit', code: 3 });
  rec.verdict = 'build-failed';
  rec.reason = '6.1.0-57-cloud-amd64: make exited 2';
  assert.equal(endOf({ timeoutMs: 1 }, rec, live), { kind: 'lab', reason: 'build-failed: 6.1.0-57-cloud-amd64: make exited 2' });
  rec.problems.push('insmod nexus.ko failed: exit code 1: Invalid module format');
  assert.equal(endOf({ timeoutMs: 1 }, rec, live), { kind: 'lab', reason: 'insmod nexus.ko failed: exit code 1: Invalid module format' });
  const ctl = new AbortController();
  ctl.abort('SIGINT');
  assert.equal(endOf({ timeoutMs: 1 }, rec, ctl.signal), { kind: 'interrupted', reason: 'SIGINT' });
});

test('the help texts state the rules a user relies on', () => {
  assert.match(EXEC_HELP, /\/bin\/sh -c/);
  assert.match(EXEC_HELP, new RegExp(`${GUEST_UPLOAD_DIR}/ of the guest`));
  assert.match(EXEC_HELP, /0 when every kernel's status\s+is 0, else the first non-zero status in --kernels order/);
  assert.match(EXEC_HELP, /124 when it passed its deadline/);
  assert.match(SHELL_HELP, /Without a terminal on stdin, no pty/);
  assert.match(SHELL_HELP, /"~\." at the start of a line/);
  assert.match(SHELL_HELP, /SIGHUP/);
});

test.run();
