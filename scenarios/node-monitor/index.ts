// node-monitor: Haiku's node monitor on fsnotify (nexus_node_monitor.ko,
// issue 9).  Every opcode with every field checked against stat(2) (device
// = st_dev, node = st_ino): entries created, removed, moved within and
// across directories (both told), renamed over an existing entry, hard
// links; stat changes with the right "fields" for chmod, chown, truncate,
// write + close, utimes, and interim updates only for B_WATCH_INTERIM_STAT;
// xattrs set and removed with their cause; a tmpfs and a loop-mounted ext4
// image mounted and unmounted.  Who is told follows NEXUS-ABI.md's table
// (directory and node watchers, B_WATCH_NAME, B_WATCH_CHILDREN, flags OR-ed
// on a second watch); watches end with STOP_WATCHING, STOP_NOTIFYING, the
// port, the team (kill -9 mid-stream) and the watched node's deletion.  A
// flooded listener never blocks the file system and marks its loss with
// NEXUS_EVENTS_DROPPED; 1,000 watches come and go; a user cannot watch what
// it may not read.  Every read of events has a deadline, and every scenario
// leaves every Nexus counter (watches and node_events included) as it
// found it.
import { execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  closeSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmdirSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import type { Ctx, Suite } from '../runner/api.js';
import {
  B_ATTR_CHANGED_CAUSE,
  B_ATTR_CREATED,
  B_ATTR_REMOVED,
  B_STAT_ACCESS_TIME,
  B_STAT_CHANGE_TIME,
  B_STAT_GID,
  B_STAT_INTERIM_UPDATE,
  B_STAT_MODE,
  B_STAT_MODIFICATION_TIME,
  B_STAT_SIZE,
  B_STAT_UID,
  B_WATCH_ATTR,
  B_WATCH_CHILDREN,
  B_WATCH_DIRECTORY,
  B_WATCH_INTERIM_STAT,
  B_WATCH_MOUNT,
  B_WATCH_NAME,
  B_WATCH_STAT,
  B_NODE_MONITOR,
  NEXUS_EVENTS_DROPPED,
  nx,
} from '../native/index.js';
import { moduleParamPath, readCounters, scaled, sleep, tells, waitFor } from '../lib/guest.js';
import { B_OK, B_RELATIVE_TIMEOUT, SETTLE_MS, expectStatus, need, startAgent, statusName } from '../lib/nexus.js';
import { USER } from '../hardening/common.js';
import {
  EACCES,
  EBADF,
  EINVAL,
  ENOENT,
  EPERM,
  O_DIRECTORY,
  O_PATH,
  O_RDONLY,
  O_WRONLY,
  agentReadCaps,
  agentVrefCreate,
  agentWatch,
  agentWatchVref,
  agentWriteCaps,
  expectDelta,
  expectErrno,
  nmDelta,
  plain,
  scenario,
  scratchDir,
  settleDelta,
  vx,
} from '../vrefs/common.js';
import {
  QUIET_MS,
  ev,
  expectEvents,
  expectNoEvents,
  listener,
  nextMessage,
  node,
  removeXattr,
  run,
  setXattr,
  tick,
  tool,
  tryWatch,
  watch,
} from './events.js';

const MODE_CHANGED = B_STAT_MODE | B_STAT_CHANGE_TIME;
const CONTENT_CHANGED = B_STAT_SIZE | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME;
const ATTR = 'user.nexus';

/** A scratch directory (ext4, /var/tmp) and a listener port. */
function fixture(ctx: Ctx, tag: string, capacity = 64): { dir: string; port: number } {
  return { dir: scratchDir(ctx, `nm-${tag}`), port: listener(ctx, `nm-${tag}`, capacity) };
}

/** Make a file (before any watch, so that it makes no event). */
function file(path: string, content = 'node monitor\n', mode = 0o644): string {
  writeFileSync(path, content, { mode });
  chmodSync(path, mode);
  return path;
}

/** Wait until the watches counter is baseline + n; check it. */
async function expectWatches(ctx: Ctx, base: Record<string, number>, n: number, what: string): Promise<void> {
  if (!tells(ctx, base, 'watches')) return;
  await waitFor(() => (readCounters().watches ?? 0) - (base.watches ?? 0) === n, SETTLE_MS, 10);
  ctx.equal((readCounters().watches ?? 0) - (base.watches ?? 0), n, `${what}: watches counter (change since the scenario began)`);
}

/** A shell script run in its own process, with a deadline: exit code (null when killed), how long it ran. */
function shell(script: string, timeoutMs: number): Promise<{ code: number | null; ms: number; timedOut: boolean }> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn('/bin/sh', ['-c', script], { stdio: 'ignore' });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, scaled(timeoutMs));
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, ms: performance.now() - t0, timedOut });
    });
  });
}

/** A shell loop creating `n` empty files f0..f(n-1) in `dir`. */
const createLoop = (dir: string, n: number) => `cd '${dir}' && i=0; while [ $i -lt ${n} ]; do : > f$i; i=$((i + 1)); done`;

/** Whether a path is a mount point now. */
function mounted(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === path);
}

/** Unmount at the end of the scenario if still mounted (a clean-up: failures are only said on stderr). */
function unmountLater(ctx: Ctx, path: string): void {
  ctx.defer(async () => {
    for (let i = 0; i < 20 && mounted(path); i++) {
      try {
        execFileSync(tool('umount') ?? 'umount', [path], { stdio: 'ignore', timeout: 10_000 });
      } catch (e) {
        if (i === 19) process.stderr.write(`${ctx.suite}/${ctx.scenario}: cannot unmount ${path}: ${String(e)}\n`);
        await sleep(100);
      }
    }
  });
}

/** Every message a port gives until it stays quiet for QUIET_MS (at most `most`): their events. */
async function drain(ctx: Ctx, port: number, most: number): Promise<Record<string, string | number>[]> {
  const out: Record<string, string | number>[] = [];
  while (out.length < most) {
    const m = await nextMessage(ctx, port, QUIET_MS);
    if (!m) break;
    ctx.equal(m.code, B_NODE_MONITOR, 'the port message code is B_NODE_MONITOR');
    if (m.ev === undefined) {
      ctx.check(false, 'a node monitor KMessage', 'valid', `${m.error}: ${m.bytes.toString('hex')}`);
      break;
    }
    out.push(m.ev);
  }
  return out;
}

/** The node monitor module's backlog parameter (events a listener may have waiting for room). */
function backlogParam(): number | undefined {
  const p = moduleParamPath('backlog') ?? moduleParamPath('node_monitor_backlog');
  if (!p) return undefined;
  const v = Number(readFileSync(p, 'utf8').trim());
  return Number.isInteger(v) ? v : undefined;
}

export const suite: Suite = {
  name: 'node-monitor',
  scenarios: [
    scenario('kmessage-layout', async (ctx) => {
      const { dir, port } = fixture(ctx, 'layout');
      const token = 0xfedcba98;
      watch(ctx, dir, B_WATCH_DIRECTORY, port, token, 'a directory, a token with bit 31 set');
      file(join(dir, 'entry'));
      const info = await nx.getPortMessageInfoEtcAsync(port, B_RELATIVE_TIMEOUT, SETTLE_MS * 1000);
      need(ctx, info.status === B_OK && info.info !== undefined, 'a message comes', 'B_OK', statusName(info.status));
      ctx.equal([info.info.sender, info.info.senderTeam], [0, 0], 'the port message is from uid 0, team 0 (the kernel)');
      const m = await nextMessage(ctx, port, SETTLE_MS);
      need(ctx, m !== undefined, 'creating an entry sends a message', 'a message', 'none');
      ctx.equal(m.code, B_NODE_MONITOR, 'the port message code is B_NODE_MONITOR');
      need(ctx, m.msg !== undefined, 'it is a valid KMessage', 'a KMessage', `${m.error}: ${m.bytes.toString('hex')}`);
      const msg = m.msg;
      ctx.equal(m.bytes.readUInt32LE(0), 0x6b4d7347, "it starts with the magic 'kMsG'");
      ctx.equal(
        { what: msg.what, size: msg.size, targetToken: msg.targetToken >>> 0, replyPort: msg.replyPort, replyToken: msg.replyToken },
        { what: 0x4e444d4e, size: m.bytes.length, targetToken: token, replyPort: -1, replyToken: -1 },
        'header: what B_NODE_MONITOR, size = the port message, the watch\'s token, no reply port or token',
      );
      ctx.equal(msg.fields.map((f) => [f.name, f.typeName, f.elementSize, f.count]), [
        ['opcode', 'LONG', 4, 1],
        ['device', 'LONG', 4, 1],
        ['directory', 'LLNG', 8, 1],
        ['node', 'LLNG', 8, 1],
        ['name', 'CSTR', -1, 1],
      ], "B_ENTRY_CREATED's fields, names, types and counts, in the ABI table's order");
      ctx.check(msg.fields.every((f) => f.offset % 4 === 0), 'every field starts 4-aligned', true, msg.fields.map((f) => f.offset));
      // Haiku's field header: 18 bytes, then the name and its NUL, padded to align4(20 + strlen(name)).
      ctx.equal(msg.fields.map((f) => [f.name, m.bytes.readInt16LE(f.offset + 16), m.bytes.toString('latin1', f.offset + 18, f.offset + 18 + f.name.length)]),
        msg.fields.map((f) => [f.name, (20 + f.name.length + 3) & ~3, f.name]), "each field's header size and where its name is, as Haiku's KMessage writes them");
      const nameField = msg.get('name');
      if (nameField) {
        const at = nameField.offset + m.bytes.readInt16LE(nameField.offset + 16);
        ctx.equal([m.bytes.readInt32LE(at), m.bytes.toString('latin1', at + 4, at + 10)], [6, 'entry\0'], 'a string element: int32 size (its NUL included), then its bytes');
      }
      ctx.equal(msg.size % 4, 0, 'size counts the padding: a multiple of 4');
      const d = node(dir);
      const n = node(join(dir, 'entry'));
      ctx.equal(m.ev, ev.created(token, d.dev, d.ino, n.ino, 'entry'), 'its values: st_dev, the directory\'s and the entry\'s st_ino, the name');
      ctx.equal(msg.sender, 0, 'the KMessage sender: the kernel (0)');
      ctx.equal(info.info.size, m.bytes.length, "message info's size is the KMessage's");
      await expectNoEvents(ctx, port, 'one entry, one message');
    }),

    scenario('entry-created', async (ctx) => {
      const { dir, port } = fixture(ctx, 'created');
      const other = scratchDir(ctx, 'nm-created-other');
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 1, 'B_WATCH_DIRECTORY');
      watch(ctx, dir, B_WATCH_NAME | B_WATCH_ATTR, port, 2, 'the directory as a node (no B_WATCH_DIRECTORY)');
      watch(ctx, other, B_WATCH_DIRECTORY, port, 3, 'another directory');
      const d = node(dir);
      file(join(dir, 'a-file'));
      mkdirSync(join(dir, 'a-dir'));
      symlinkSync('a-file', join(dir, 'a-link'));
      const fd = openSync(join(dir, 'opened'), 'wx');
      closeSync(fd);
      await expectEvents(ctx, port, [
        ev.created(1, d.dev, d.ino, node(join(dir, 'a-file')).ino, 'a-file'),
        ev.created(1, d.dev, d.ino, node(join(dir, 'a-dir')).ino, 'a-dir'),
        ev.created(1, d.dev, d.ino, node(join(dir, 'a-link')).ino, 'a-link'),
        ev.created(1, d.dev, d.ino, node(join(dir, 'opened')).ino, 'opened'),
      ], 'a file, a directory, a symbolic link (its own inode), an open(O_CREAT): only the B_WATCH_DIRECTORY watcher, in order');
    }),

    scenario('entry-removed-ends-the-nodes-watches', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'removed');
      const a = file(join(dir, 'a'));
      const sub = join(dir, 'sub');
      mkdirSync(sub);
      const d = node(dir);
      const na = node(a);
      const ns = node(sub);
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 1, 'the directory');
      watch(ctx, a, B_WATCH_NAME, port, 2, 'the file, B_WATCH_NAME');
      watch(ctx, a, B_WATCH_STAT, port, 3, 'the file, B_WATCH_STAT');
      watch(ctx, sub, B_WATCH_NAME, port, 4, 'the subdirectory, B_WATCH_NAME');
      watch(ctx, sub, B_WATCH_DIRECTORY, port, 5, 'the subdirectory, B_WATCH_DIRECTORY');
      await expectWatches(ctx, base, 5, 'five watches');
      unlinkSync(a);
      await expectEvents(ctx, port, [ev.removed(1, d.dev, d.ino, na.ino, 'a'), ev.removed(2, d.dev, d.ino, na.ino, 'a')],
        "unlink: the directory's B_WATCH_DIRECTORY watcher and the node's B_WATCH_NAME watcher (not its B_WATCH_STAT one)");
      await expectWatches(ctx, base, 3, 'the deleted file\'s two watches are gone');
      expectErrno(ctx, vx.stopWatching(na.dev, na.ino, port, 2), -ENOENT, "stop_watching a deleted node's watch: it is gone already");
      expectErrno(ctx, vx.stopWatching(na.dev, na.ino, port, 3), -ENOENT, 'its other watch too');
      rmdirSync(sub);
      await expectEvents(ctx, port, [ev.removed(1, d.dev, d.ino, ns.ino, 'sub'), ev.removed(4, d.dev, d.ino, ns.ino, 'sub')],
        'rmdir: the parent\'s watcher and the directory\'s B_WATCH_NAME watcher (its own B_WATCH_DIRECTORY watcher is no watcher of the parent)');
      await expectWatches(ctx, base, 1, 'the removed directory\'s watches are gone; the parent\'s stays');
    }),

    scenario('moved-within-a-directory', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'moved-within');
      const a = file(join(dir, 'a'));
      const s = join(dir, 's');
      mkdirSync(s);
      const d = node(dir);
      const na = node(a);
      const ns = node(s);
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 1, 'the directory');
      watch(ctx, a, B_WATCH_NAME, port, 2, 'the file, B_WATCH_NAME');
      watch(ctx, a, B_WATCH_ATTR, port, 3, 'the file, B_WATCH_ATTR');
      watch(ctx, s, B_WATCH_NAME, port, 4, 'the subdirectory, B_WATCH_NAME');
      renameSync(a, join(dir, 'b'));
      await expectEvents(ctx, port, [ev.moved(1, d.dev, d.ino, d.ino, d.dev, na.ino, 'a', 'b'), ev.moved(2, d.dev, d.ino, d.ino, d.dev, na.ino, 'a', 'b')],
        'a file renamed in its directory: one B_ENTRY_MOVED to the directory watcher and one to the B_WATCH_NAME watcher');
      renameSync(s, join(dir, 't'));
      await expectEvents(ctx, port, [ev.moved(1, d.dev, d.ino, d.ino, d.dev, ns.ino, 's', 't'), ev.moved(4, d.dev, d.ino, d.ino, d.dev, ns.ino, 's', 't')],
        'a directory renamed in its directory');
      await expectWatches(ctx, base, 4, 'moves end no watch');
    }),

    scenario('moved-across-directories', async (ctx) => {
      const { dir: root, port } = fixture(ctx, 'moved-across');
      const d1 = join(root, 'd1');
      const d2 = join(root, 'd2');
      const d3 = join(root, 'd3');
      for (const d of [d1, d2, d3]) mkdirSync(d);
      const a = file(join(d1, 'a'));
      const s = join(d1, 's');
      mkdirSync(s);
      const [n1, n2, na, ns] = [node(d1), node(d2), node(a), node(s)];
      watch(ctx, d1, B_WATCH_DIRECTORY, port, 1, 'the source directory');
      watch(ctx, d2, B_WATCH_DIRECTORY, port, 2, 'the target directory');
      watch(ctx, a, B_WATCH_NAME, port, 3, 'the file, B_WATCH_NAME');
      watch(ctx, d3, B_WATCH_DIRECTORY, port, 4, 'an unrelated directory');
      watch(ctx, root, B_WATCH_DIRECTORY, port, 5, "the directories' parent");
      watch(ctx, s, B_WATCH_NAME, port, 6, 'the subdirectory, B_WATCH_NAME');
      renameSync(a, join(d2, 'b'));
      const moved = (t: number) => ev.moved(t, n1.dev, n1.ino, n2.ino, na.dev, na.ino, 'a', 'b');
      await expectEvents(ctx, port, [moved(1), moved(2), moved(3)],
        'd1/a -> d2/b: both directories and the node are told, one message each; the parent and an unrelated directory are not');
      renameSync(s, join(d2, 's'));
      const movedDir = (t: number) => ev.moved(t, n1.dev, n1.ino, n2.ino, ns.dev, ns.ino, 's', 's');
      await expectEvents(ctx, port, [movedDir(1), movedDir(2), movedDir(6)], 'a directory moved across, keeping its name');
      renameSync(join(d2, 'b'), join(d1, 'back'));
      const back = (t: number) => ev.moved(t, n2.dev, n2.ino, n1.ino, na.dev, na.ino, 'b', 'back');
      await expectEvents(ctx, port, [back(1), back(2), back(3)], 'and back: from and to directories the other way round');
    }),

    scenario('rename-over-an-existing-entry', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'clobber');
      const a = file(join(dir, 'a'), 'the mover\n');
      const b = file(join(dir, 'b'), 'the victim\n');
      const [d, na, nb] = [node(dir), node(a), node(b)];
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 1, 'the directory');
      watch(ctx, b, B_WATCH_NAME, port, 2, 'the victim, B_WATCH_NAME');
      watch(ctx, a, B_WATCH_NAME, port, 3, 'the mover, B_WATCH_NAME');
      renameSync(a, b);
      ctx.equal(readFileSync(b, 'utf8'), 'the mover\n', 'b is the mover now');
      await expectEvents(ctx, port, [
        ev.moved(1, d.dev, d.ino, d.ino, d.dev, na.ino, 'a', 'b'),
        ev.removed(1, d.dev, d.ino, nb.ino, 'b'),
        ev.removed(2, d.dev, d.ino, nb.ino, 'b'),
        ev.moved(3, d.dev, d.ino, d.ino, d.dev, na.ino, 'a', 'b'),
      ], 'a -> b over an existing b: a\'s move, then (NEXUS-ABI.md) the removal of the b it replaced, to the directory and b\'s B_WATCH_NAME watcher');
      await expectWatches(ctx, base, 2, 'the replaced node had its last link: its watch is gone');
    }),

    scenario('hard-links', async (ctx, base) => {
      const { dir: root, port } = fixture(ctx, 'links');
      const d1 = join(root, 'd1');
      const d2 = join(root, 'd2');
      mkdirSync(d1);
      mkdirSync(d2);
      const f = file(join(d1, 'f'));
      const [n1, n2, nf] = [node(d1), node(d2), node(f)];
      watch(ctx, d1, B_WATCH_DIRECTORY, port, 1, 'directory 1');
      watch(ctx, d2, B_WATCH_DIRECTORY, port, 2, 'directory 2');
      watch(ctx, f, B_WATCH_NAME, port, 3, 'the node, B_WATCH_NAME');
      linkSync(f, join(d1, 'g'));
      await expectEvents(ctx, port, [ev.created(1, n1.dev, n1.ino, nf.ino, 'g')], 'a second link in the same directory: created, the same node (its B_WATCH_NAME watcher is not told of new links)');
      linkSync(f, join(d2, 'h'));
      await expectEvents(ctx, port, [ev.created(2, n2.dev, n2.ino, nf.ino, 'h')], 'a third link in another directory');
      unlinkSync(f);
      await expectEvents(ctx, port, [ev.removed(1, n1.dev, n1.ino, nf.ino, 'f'), ev.removed(3, n1.dev, n1.ino, nf.ino, 'f')],
        'removing one link: its directory and the node\'s B_WATCH_NAME watcher');
      await expectWatches(ctx, base, 3, 'the node has links left: its watch stays');
      unlinkSync(join(d2, 'h'));
      await expectEvents(ctx, port, [ev.removed(2, n2.dev, n2.ino, nf.ino, 'h'), ev.removed(3, n2.dev, n2.ino, nf.ino, 'h')], 'removing the link in directory 2');
      await expectWatches(ctx, base, 3, 'one link left: the watch stays');
      unlinkSync(join(d1, 'g'));
      await expectEvents(ctx, port, [ev.removed(1, n1.dev, n1.ino, nf.ino, 'g'), ev.removed(3, n1.dev, n1.ino, nf.ino, 'g')], 'removing the last link');
      await expectWatches(ctx, base, 2, 'the last link gone: the node\'s watch is gone');
    }),

    scenario('stat-changed-fields', async (ctx) => {
      const { dir, port } = fixture(ctx, 'stat');
      const f = file(join(dir, 'f'), 'abc');
      const nf = node(f);
      watch(ctx, f, B_WATCH_STAT, port, 1, 'B_WATCH_STAT');
      watch(ctx, f, B_WATCH_ATTR | B_WATCH_NAME, port, 2, 'B_WATCH_ATTR | B_WATCH_NAME (no stat)');
      watch(ctx, dir, B_WATCH_STAT, port, 3, 'the directory, B_WATCH_STAT without B_WATCH_CHILDREN');
      const step = async (what: string, op: () => void, fields: number) => {
        await tick();
        op();
        await expectEvents(ctx, port, [ev.stat(1, nf.dev, nf.ino, fields)], what);
      };
      await step('chmod 0600: B_STAT_MODE | B_STAT_CHANGE_TIME', () => chmodSync(f, 0o600), MODE_CHANGED);
      await step('chown 1000:0 (the owner only): B_STAT_UID | B_STAT_CHANGE_TIME', () => chownSync(f, 1000, 0), B_STAT_UID | B_STAT_CHANGE_TIME);
      await step('chown 1000:1000 (the group only): B_STAT_GID | B_STAT_CHANGE_TIME', () => chownSync(f, 1000, 1000), B_STAT_GID | B_STAT_CHANGE_TIME);
      await step('chown 0:0 (both): B_STAT_UID | B_STAT_GID | B_STAT_CHANGE_TIME', () => chownSync(f, 0, 0), B_STAT_UID | B_STAT_GID | B_STAT_CHANGE_TIME);
      await step('truncate to 10 bytes: B_STAT_SIZE | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME, once', () => truncateSync(f, 10), CONTENT_CHANGED);

      // A write is told at the close, not before.
      await tick();
      const fd = openSync(f, 'a');
      writeSync(fd, 'more');
      await expectNoEvents(ctx, port, 'a write with the file still open: no final update yet (no watcher asked for interim ones)');
      closeSync(fd);
      await expectEvents(ctx, port, [ev.stat(1, nf.dev, nf.ino, CONTENT_CHANGED)], 'its close: B_STAT_SIZE | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME');
      await step('a write of the same size, then close: B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME', () => {
        const w = openSync(f, 'r+');
        writeSync(w, 'Z', 0);
        closeSync(w);
      }, B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME);
      await step('utimes (both times): B_STAT_ACCESS_TIME | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME', () => utimesSync(f, 1_000_000, 2_000_000),
        B_STAT_ACCESS_TIME | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME);
      await step('utimes changing only the access time: B_STAT_ACCESS_TIME | B_STAT_CHANGE_TIME', () => utimesSync(f, 1_000_500, 2_000_000),
        B_STAT_ACCESS_TIME | B_STAT_CHANGE_TIME);
      await step('utimes changing only the modification time: B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME', () => utimesSync(f, 1_000_500, 2_000_600),
        B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME);
      ctx.equal(readFileSync(f, 'latin1'), 'Zbc\0\0\0\0\0\0\0more', 'the file went through all that');
    }),

    scenario('interim-stat-only-with-b-watch-interim-stat', async (ctx) => {
      const { dir, port } = fixture(ctx, 'interim');
      const f = file(join(dir, 'f'), '');
      const nf = node(f);
      watch(ctx, f, B_WATCH_STAT, port, 1, 'B_WATCH_STAT');
      watch(ctx, f, B_WATCH_STAT | B_WATCH_INTERIM_STAT, port, 2, 'B_WATCH_STAT | B_WATCH_INTERIM_STAT');
      const fd = openSync(f, 'a');
      let open = true;
      ctx.defer(() => {
        if (open) closeSync(fd);
      });
      for (const i of [1, 2, 3]) {
        await tick();
        writeSync(fd, `write ${i}\n`);
        await expectEvents(ctx, port, [ev.stat(2, nf.dev, nf.ino, CONTENT_CHANGED | B_STAT_INTERIM_UPDATE)],
          `write ${i}: an interim update (B_STAT_INTERIM_UPDATE) to the B_WATCH_INTERIM_STAT watcher only`);
      }
      closeSync(fd);
      open = false;
      await expectEvents(ctx, port, [ev.stat(1, nf.dev, nf.ino, CONTENT_CHANGED), ev.stat(2, nf.dev, nf.ino, CONTENT_CHANGED)],
        'the close: the final update (no B_STAT_INTERIM_UPDATE) to both');
    }),

    scenario('b-watch-children', async (ctx) => {
      const { dir, port } = fixture(ctx, 'children');
      const own = listener(ctx, 'nm-children-own');
      const c = file(join(dir, 'c'));
      const e = file(join(dir, 'e'));
      const w = file(join(dir, 'w'));
      const sub = join(dir, 'sub');
      mkdirSync(sub);
      const g = file(join(sub, 'g'));
      const [d, nc, ne, nw, ns] = [node(dir), node(c), node(e), node(w), node(sub)];
      watch(ctx, dir, B_WATCH_STAT | B_WATCH_CHILDREN, port, 1, 'the directory, B_WATCH_STAT | B_WATCH_CHILDREN');
      watch(ctx, dir, B_WATCH_STAT | B_WATCH_ATTR, port, 2, 'the directory without B_WATCH_CHILDREN');
      watch(ctx, dir, B_WATCH_DIRECTORY | B_WATCH_CHILDREN, port, 3, 'B_WATCH_CHILDREN without B_WATCH_STAT');
      watch(ctx, dir, B_WATCH_ATTR | B_WATCH_CHILDREN, port, 4, 'B_WATCH_ATTR | B_WATCH_CHILDREN');
      watch(ctx, w, B_WATCH_STAT, own, 5, 'entry w watched itself (on another port)');

      // An entry watched itself has a stat snapshot: its exact fields reach the directory's watcher too.
      await tick();
      chmodSync(w, 0o600);
      await expectEvents(ctx, port, [ev.stat(1, nw.dev, nw.ino, MODE_CHANGED)], "a watched entry's chmod: the B_WATCH_STAT | B_WATCH_CHILDREN watcher, exact fields");
      await expectEvents(ctx, own, [ev.stat(5, nw.dev, nw.ino, MODE_CHANGED)], 'and the entry\'s own watcher');

      // An entry nobody watches has no snapshot: NEXUS-ABI.md says its fields
      // are all an attribute change may have changed (every time and identity bit but SIZE).
      const UNSNAPPED_ATTRIB = B_STAT_MODE | B_STAT_UID | B_STAT_GID | B_STAT_ACCESS_TIME | B_STAT_MODIFICATION_TIME | B_STAT_CHANGE_TIME;
      await tick();
      chmodSync(c, 0o600);
      await expectEvents(ctx, port, [ev.stat(1, nc.dev, nc.ino, UNSNAPPED_ATTRIB)], "an unwatched entry's chmod: the B_WATCH_STAT | B_WATCH_CHILDREN watcher only");
      await tick();
      chmodSync(sub, 0o700);
      await expectEvents(ctx, port, [ev.stat(1, ns.dev, ns.ino, UNSNAPPED_ATTRIB)], 'a subdirectory is an entry too');
      // NEXUS-ABI.md: entries seen through B_WATCH_CHILDREN report no attribute changes.
      setXattr(ctx, e, ATTR, 'child');
      await expectEvents(ctx, port, [ev.stat(1, ne.dev, ne.ino, UNSNAPPED_ATTRIB)],
        "an unwatched entry's new xattr: no B_ATTR_CHANGED through B_WATCH_CHILDREN, an attribute change to the stat watcher");
      await tick();
      chmodSync(g, 0o600);
      await expectNoEvents(ctx, port, "an entry's entry is not the directory's child: nobody is told");
      await tick();
      chmodSync(dir, 0o700);
      await expectEvents(ctx, port, [ev.stat(1, d.dev, d.ino, MODE_CHANGED), ev.stat(2, d.dev, d.ino, MODE_CHANGED)],
        'the directory itself: its B_WATCH_STAT watchers, with or without B_WATCH_CHILDREN');
    }),

    scenario('attr-changed', async (ctx) => {
      const { dir, port } = fixture(ctx, 'attr');
      const f = file(join(dir, 'f'));
      const [d, nf] = [node(dir), node(f)];
      watch(ctx, f, B_WATCH_ATTR, port, 1, 'the file, B_WATCH_ATTR');
      watch(ctx, f, B_WATCH_NAME, port, 2, 'the file, B_WATCH_NAME only');
      watch(ctx, dir, B_WATCH_ATTR, port, 3, 'the directory, B_WATCH_ATTR');
      // NEXUS-ABI.md: an xattr change moves st_ctime alone, and is told as B_ATTR_CHANGED, not as a stat change.
      watch(ctx, f, B_WATCH_STAT, port, 4, 'the file, B_WATCH_STAT (told nothing of xattrs)');
      setXattr(ctx, f, ATTR, 'one');
      await expectEvents(ctx, port, [ev.attr(1, nf.dev, nf.ino, ATTR, B_ATTR_CREATED)], 'setxattr of a new attribute: cause B_ATTR_CREATED');
      setXattr(ctx, f, ATTR, 'two');
      await expectEvents(ctx, port, [ev.attr(1, nf.dev, nf.ino, ATTR, B_ATTR_CHANGED_CAUSE)], 'setxattr of an existing one: cause B_ATTR_CHANGED');
      setXattr(ctx, f, 'user.second', 'x');
      await expectEvents(ctx, port, [ev.attr(1, nf.dev, nf.ino, 'user.second', B_ATTR_CREATED)], 'another attribute: its own name');
      removeXattr(ctx, f, ATTR);
      await expectEvents(ctx, port, [ev.attr(1, nf.dev, nf.ino, ATTR, B_ATTR_REMOVED)], 'removexattr: cause B_ATTR_REMOVED');
      setXattr(ctx, dir, 'user.on-dir', 'y');
      await expectEvents(ctx, port, [ev.attr(3, d.dev, d.ino, 'user.on-dir', B_ATTR_CREATED)], 'on a directory');
    }),

    scenario('flags-are-ored-on-a-second-watch', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'ored');
      const f = file(join(dir, 'f'));
      const [d, nf] = [node(dir), node(f)];
      watch(ctx, f, B_WATCH_STAT, port, 1, 'B_WATCH_STAT');
      watch(ctx, f, B_WATCH_ATTR, port, 1, 'the same node, port and token: B_WATCH_ATTR');
      await expectWatches(ctx, base, 1, 'one watch');
      await tick();
      chmodSync(f, 0o640);
      await expectEvents(ctx, port, [ev.stat(1, nf.dev, nf.ino, MODE_CHANGED)], 'the first flags still hold');
      setXattr(ctx, f, ATTR, 'v');
      await expectEvents(ctx, port, [ev.attr(1, nf.dev, nf.ino, ATTR, B_ATTR_CREATED)], 'and the second');
      watch(ctx, f, B_WATCH_NAME, port, 1, 'and B_WATCH_NAME');
      await expectWatches(ctx, base, 1, 'still one watch');
      renameSync(f, join(dir, 'g'));
      await expectEvents(ctx, port, [ev.moved(1, d.dev, d.ino, d.ino, d.dev, nf.ino, 'f', 'g')], 'the third');
      watch(ctx, join(dir, 'g'), B_WATCH_STAT, port, 2, 'the same node with another token');
      await expectWatches(ctx, base, 2, 'another token is another watch');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 1), 0, 'stop_watching the OR-ed watch');
      await expectWatches(ctx, base, 1, 'it is gone whole');
      await tick();
      chmodSync(join(dir, 'g'), 0o600);
      setXattr(ctx, join(dir, 'g'), ATTR, 'w');
      await expectEvents(ctx, port, [ev.stat(2, nf.dev, nf.ino, MODE_CHANGED)], 'only the other token\'s watch is told');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 1), -ENOENT, 'stop_watching it again');
    }),

    scenario('stop-watching-and-stop-notifying', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'stop');
      const other = listener(ctx, 'nm-stop-other');
      const f = file(join(dir, 'f'));
      const nf = node(f);
      watch(ctx, f, B_WATCH_STAT, port, 1, 'token 1: the file');
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 1, 'token 1: the directory');
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_MOUNT, port, 1), 0, 'token 1: the volume watch');
      watch(ctx, f, B_WATCH_STAT, port, 2, 'token 2: the file');
      watch(ctx, f, B_WATCH_STAT, other, 1, 'token 1 on another port: the file');
      await expectWatches(ctx, base, 5, 'five watches (the volume watch included)');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 3), -ENOENT, 'stop_watching with a token no watch has');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino + 1, port, 2), -ENOENT, 'stop_watching a node not watched');
      expectErrno(ctx, vx.stopWatching(nf.dev + 1, nf.ino, port, 2), -ENOENT, 'stop_watching with another device');
      await expectWatches(ctx, base, 5, 'the misses changed nothing');
      expectErrno(ctx, vx.stopNotifying(port, 1), 0, 'stop_notifying(port, token 1)');
      await expectWatches(ctx, base, 2, "it ended token 1's three watches on that port (node, directory and volume), no other");
      expectErrno(ctx, vx.stopNotifying(port, 1), -ENOENT, 'stop_notifying again: none left');
      expectErrno(ctx, vx.stopWatching(-1, -1, port, 1), -ENOENT, 'the volume watch is gone too');
      await tick();
      chmodSync(f, 0o600);
      file(join(dir, 'new'));
      await expectEvents(ctx, port, [ev.stat(2, nf.dev, nf.ino, MODE_CHANGED)], 'only token 2 is told on that port');
      await expectEvents(ctx, other, [ev.stat(1, nf.dev, nf.ino, MODE_CHANGED)], 'the other port\'s token 1 is still told');

      // STOP_NOTIFYING ends only the caller's team's watches.
      const a = await startAgent(ctx);
      expectErrno(ctx, await agentWatch(a, f, B_WATCH_STAT, port, 7), 0, 'another team watches the file on our port, token 7');
      await expectWatches(ctx, base, 3, 'its watch');
      expectErrno(ctx, vx.stopNotifying(port, 7), -ENOENT, "our stop_notifying(port, 7): none of ours; the other team's is left alone");
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 7), -ENOENT, "nor can we stop_watching it");
      await tick();
      chmodSync(f, 0o644);
      await expectEvents(ctx, port, [ev.stat(2, nf.dev, nf.ino, MODE_CHANGED), ev.stat(7, nf.dev, nf.ino, MODE_CHANGED)], "the other team's watch still tells our port");
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 2), 0, 'stop_watching token 2');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, other, 1), 0, 'stop_watching the other port\'s');
      await expectWatches(ctx, base, 1, "the agent's is left");
      await a.kill();
      await expectWatches(ctx, base, 0, "kill -9 of the agent ends its watch");
    }),

    scenario('watches-end-with-their-port', async (ctx, base) => {
      const dir = scratchDir(ctx, 'nm-port');
      const f = file(join(dir, 'f'));
      const deleted = nx.createPort(8, 'nm-port-deleted');
      need(ctx, deleted > 0, 'create_port', 'an id', statusName(deleted));
      ctx.defer(() => void nx.deletePort(deleted));
      const closed = listener(ctx, 'nm-port-closed');
      watch(ctx, f, B_WATCH_STAT, deleted, 1, 'a listener port to be deleted');
      watch(ctx, dir, B_WATCH_DIRECTORY, deleted, 2, 'a second watch on it');
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_MOUNT, deleted, 3), 0, 'and a volume watch');
      watch(ctx, f, B_WATCH_STAT, closed, 1, 'a listener port to be closed');
      await expectWatches(ctx, base, 4, 'four watches');
      expectStatus(ctx, nx.deletePort(deleted), B_OK, 'delete_port');
      await expectWatches(ctx, base, 1, 'the deleted port\'s three watches are gone');
      expectStatus(ctx, nx.closePort(closed), B_OK, 'close_port');
      await expectWatches(ctx, base, 0, 'the closed port\'s watch is gone');
      await tick();
      chmodSync(f, 0o600);
      ctx.equal(nx.getPortInfo(closed).info?.queueCount, 0, 'a closed port gets no event');
      expectErrno(ctx, tryWatch(f, B_WATCH_STAT, deleted, 1), -EINVAL, 'start_watching to a deleted port');
      expectErrno(ctx, tryWatch(f, B_WATCH_STAT, closed, 1), -EINVAL, 'start_watching to a closed port');
      expectDelta(ctx, base, {}, 'nothing left');
    }),

    scenario('watch-arguments', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'args');
      const f = file(join(dir, 'f'));
      const nf = node(f);
      for (const [flags, what] of [[0, '0'], [0x80, '0x80 (unknown)'], [0x7f | 0x80, 'all flags and 0x80'], [0x100, '0x100']] as const)
        expectErrno(ctx, tryWatch(f, flags, port, 1), -EINVAL, `flags ${what}`);
      for (const [p, what] of [[0, 'port 0'], [-1, 'port -1'], [0x7ffffff0, 'a port id nobody has']] as const)
        expectErrno(ctx, tryWatch(f, B_WATCH_STAT, p, 1), -EINVAL, what);
      expectErrno(ctx, vx.startWatching(999_999, B_WATCH_STAT, port, 1), -EBADF, 'a descriptor that is not open');
      for (const [flags, what] of [[B_WATCH_STAT, 'B_WATCH_STAT'], [B_WATCH_MOUNT | B_WATCH_NAME, 'B_WATCH_MOUNT | B_WATCH_NAME'], [B_WATCH_DIRECTORY, 'B_WATCH_DIRECTORY']] as const)
        expectErrno(ctx, vx.startWatching(-1, flags, port, 1), -EINVAL, `a volume watch (fd -1, no vref) with ${what}: only B_WATCH_MOUNT`);
      expectErrno(ctx, vx.stopWatching(-1, -1, port, 1), -ENOENT, 'stop_watching a volume watch never made');
      expectErrno(ctx, vx.stopNotifying(port, 1), -ENOENT, 'stop_notifying with no watch');
      expectDelta(ctx, base, {}, 'the refused requests made no watch');

      // The watch holds the node, not the descriptor; an O_PATH descriptor
      // (what libnexus keeps for its node_refs) names the node as well.
      const p = openSync(f, O_PATH);
      expectErrno(ctx, vx.startWatching(p, B_WATCH_STAT, port, 5), 0, 'an O_PATH descriptor of the file');
      closeSync(p);
      const dfd = openSync(dir, O_RDONLY | O_DIRECTORY);
      expectErrno(ctx, vx.startWatching(dfd, B_WATCH_DIRECTORY, port, 6), 0, 'a directory descriptor');
      closeSync(dfd);
      await expectWatches(ctx, base, 2, 'two watches');
      await tick();
      chmodSync(f, 0o600);
      file(join(dir, 'g'));
      await expectEvents(ctx, port, [ev.stat(5, nf.dev, nf.ino, MODE_CHANGED), ev.created(6, nf.dev, node(dir).ino, node(join(dir, 'g')).ino, 'g')],
        'both work after their descriptors were closed');
      expectErrno(ctx, vx.stopNotifying(port, 5), 0, 'stop_notifying token 5');
      expectErrno(ctx, vx.stopNotifying(port, 6), 0, 'stop_notifying token 6');
    }),

    scenario('watch-through-a-vref', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'vref');
      const f = file(join(dir, 'f'));
      const nf = node(f);
      const a = await startAgent(ctx);
      const theirs = await agentVrefCreate(a, f, O_RDONLY);
      need(ctx, theirs.status === 0, "the agent's vref of the file", 0, plain(theirs));
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_STAT, port, 1, theirs.id), -EPERM, 'watching a vref we hold no slot in');
      const ap = await a.call('port_create 4 nm-vref');
      const agentPort = ap.ret as number;
      need(ctx, agentPort > 0, 'the agent creates a port', 'an id', ap);
      expectStatus(ctx, await agentWriteCaps(a, port, 1, Buffer.alloc(0), [{ vrefId: theirs.id }]), B_OK, 'the agent sends us the vref');
      const got = vx.readPortCaps(port, 16, 1, B_RELATIVE_TIMEOUT, 0);
      need(ctx, got.status === B_OK && got.caps.length === 1, 'we read it', 'B_OK and one cap', plain(got));
      ctx.defer(() => void vx.vrefRelease(theirs.id, got.caps[0]!.key));
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_STAT | B_WATCH_NAME, port, 1, theirs.id), 0, 'with a slot, watching the vref\'s node');
      ctx.defer(() => void vx.stopNotifying(port, 1));
      await tick();
      chmodSync(f, 0o600);
      await expectEvents(ctx, port, [ev.stat(1, nf.dev, nf.ino, MODE_CHANGED)], 'the vref\'s node is watched');
      expectErrno(ctx, await agentWatchVref(a, theirs.id, B_WATCH_STAT, agentPort, 2), 0, 'the agent (holding its slot) watches it too');
      await expectWatches(ctx, base, 2, 'two watches');
      expectErrno(ctx, vx.stopWatching(nf.dev, nf.ino, port, 1), 0, 'a vref watch stops like any other, by st_dev and st_ino');
    }),

    scenario('mount-and-unmount-tmpfs', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'mount-tmpfs');
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      const before = node(mnt);
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_MOUNT, port, 1), 0, 'a volume watch');
      ctx.defer(() => void vx.stopWatching(-1, -1, port, 1));
      watch(ctx, dir, B_WATCH_MOUNT | B_WATCH_NAME, port, 2, 'a node watch with B_WATCH_MOUNT (which adds a volume watch)');
      ctx.defer(() => void vx.stopWatching(-1, -1, port, 2));
      watch(ctx, dir, B_WATCH_DIRECTORY | B_WATCH_STAT, port, 3, 'a node watch without it');
      await expectWatches(ctx, base, 4, 'four watches: a volume watch, a node watch and its volume watch, a node watch');
      unmountLater(ctx, mnt);
      run(ctx, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', 'nexus-lab-nm', mnt], 'mount a tmpfs');
      const after = node(mnt);
      ctx.check(after.dev !== before.dev, 'the mount point is another device now', `not ${before.dev}`, after.dev);
      await expectEvents(ctx, port, [ev.mounted(1, after.dev, before.dev, before.ino), ev.mounted(2, after.dev, before.dev, before.ino)],
        'B_DEVICE_MOUNTED: new device = the tmpfs\'s st_dev, device and directory = the covered directory\'s; to both B_WATCH_MOUNT watchers');
      run(ctx, 'umount', [mnt], 'unmount it');
      await expectEvents(ctx, port, [ev.unmounted(1, after.dev), ev.unmounted(2, after.dev)], 'B_DEVICE_UNMOUNTED with the tmpfs\'s device');
      expectErrno(ctx, vx.stopWatching(-1, -1, port, 1), 0, 'stop the volume watch (device = node = ~0)');
      expectErrno(ctx, vx.stopWatching(~0n, ~0n, port, 1), -ENOENT, 'stopped already');
      const d = node(dir);
      expectErrno(ctx, vx.stopWatching(d.dev, d.ino, port, 2), 0, 'stop the node watch that had B_WATCH_MOUNT');
      await expectWatches(ctx, base, 2, 'its volume watch stays (a volume watch of its own)');
      expectErrno(ctx, vx.stopWatching(-1, -1, port, 2), 0, 'stop that volume watch (device = node = ~0, token 2)');
      await expectWatches(ctx, base, 1, 'the node watch without B_WATCH_MOUNT is left');
      unmountLater(ctx, mnt);
      run(ctx, 'mount', ['-t', 'tmpfs', '-o', 'size=1m', 'nexus-lab-nm', mnt], 'mount it again');
      run(ctx, 'umount', [mnt], 'and unmount it');
      await expectNoEvents(ctx, port, 'the volume watches are stopped: nobody is told');
    }),

    scenario('mount-and-unmount-loop-ext4', async (ctx, base) => {
      const { dir, port } = fixture(ctx, 'mount-ext4');
      need(ctx, tool('mkfs.ext4') !== undefined, 'the guest image has mkfs.ext4 (e2fsprogs)', 'mkfs.ext4', 'missing');
      const img = join(dir, 'ext4.img');
      const mnt = join(dir, 'mnt');
      mkdirSync(mnt);
      writeFileSync(img, '');
      truncateSync(img, 16 << 20);
      run(ctx, 'mkfs.ext4', ['-q', '-F', '-E', 'lazy_itable_init=0,lazy_journal_init=0', img], 'make an ext4 image');
      const before = node(mnt);
      expectErrno(ctx, vx.startWatching(-1, B_WATCH_MOUNT, port, 1), 0, 'a volume watch');
      ctx.defer(() => void vx.stopWatching(-1, -1, port, 1));
      watch(ctx, dir, B_WATCH_MOUNT, port, 2, 'a node watch with B_WATCH_MOUNT');
      unmountLater(ctx, mnt);
      run(ctx, 'mount', ['-o', 'loop', img, mnt], 'mount the image on a loop device');
      const after = node(mnt);
      ctx.equal(after.dev >> 8, 7, 'the mounted root is on a loop device (major 7)');
      await expectEvents(ctx, port, [ev.mounted(1, after.dev, before.dev, before.ino), ev.mounted(2, after.dev, before.dev, before.ino)],
        'B_DEVICE_MOUNTED for the loop device');

      // A watch inside the mounted file system, alive at the unmount.
      watch(ctx, mnt, B_WATCH_DIRECTORY, port, 3, 'the ext4 root, B_WATCH_DIRECTORY');
      const inside = file(join(mnt, 'inside'));
      await expectEvents(ctx, port, [ev.created(3, after.dev, after.ino, node(inside).ino, 'inside')], "events inside carry the ext4's device");
      await expectWatches(ctx, base, 3, 'three watches');
      run(ctx, 'umount', [mnt], 'unmount with a live watch inside (no EBUSY)');
      await expectEvents(ctx, port, [ev.unmounted(1, after.dev), ev.unmounted(2, after.dev)],
        'B_DEVICE_UNMOUNTED to the B_WATCH_MOUNT watchers; nothing to the watch inside');
      await expectWatches(ctx, base, 2, 'the watch inside the unmounted file system is gone');
      ctx.check(!mounted(mnt), 'unmounted', 'not a mount point', 'still mounted');
    }, { timeoutMs: 120_000 }),

    scenario('listener-killed-mid-stream', async (ctx, base) => {
      const dir = scratchDir(ctx, 'nm-killed');
      const a = await startAgent(ctx);
      const ap = await a.call('port_create 2 nm-killed');
      const port = ap.ret as number;
      need(ctx, port > 0, 'the agent creates a small port', 'an id', ap);
      expectErrno(ctx, await agentWatch(a, dir, B_WATCH_DIRECTORY, port, 1), 0, 'the agent watches the directory');
      await expectWatches(ctx, base, 1, "the agent's watch");
      const N = 3000;
      const loop = shell(createLoop(dir, N), 60_000);
      const mid = await waitFor(() => (readCounters().node_events ?? 0) > (base.node_events ?? 0), 10_000, 5);
      ctx.check(mid, 'events queue up for the agent (which never reads)', 'node_events > 0', nmDelta(base));
      await a.kill();
      const r = await loop;
      ctx.equal([r.code, r.timedOut], [0, false], `the ${N} creates finish (the file system never waited for the dead listener)`);
      ctx.metric('creates-ms', Math.round(r.ms), 'ms');
      ctx.check(await settleDelta(base, {}), 'kill -9 of the listener: its watch and its queued events are gone', {}, nmDelta(base));
      const t0 = performance.now();
      file(join(dir, 'after'));
      ctx.check(performance.now() - t0 < 2000, 'the directory works on', '< 2 s', performance.now() - t0);
    }),

    scenario('flooded-listener-never-blocks-and-counts-its-losses', async (ctx, base) => {
      const CAPACITY = 4;
      const { dir, port } = fixture(ctx, 'flood', CAPACITY);
      const backlog = backlogParam();
      ctx.check(backlog !== undefined, 'nexus_node_monitor has a backlog parameter', 'a number', backlog);
      const B = backlog ?? 256;
      const N = CAPACITY + B + 300;
      watch(ctx, dir, B_WATCH_DIRECTORY, port, 9, 'the directory, on a 4-message port nobody reads yet');
      const r = await shell(createLoop(dir, N), 60_000);
      ctx.equal([r.code, r.timedOut], [0, false], `${N} creates finish while the listener reads nothing`);
      ctx.metric('flood-creates-ms', Math.round(r.ms), 'ms');
      const queuedBacklog = (readCounters().node_events ?? 0) - (base.node_events ?? 0);
      ctx.check(queuedBacklog >= B && queuedBacklog <= B + 1, `the listener's backlog is full: node_events holds its ${B} events (and the loss mark)`,
        `${B}..${B + 1}`, queuedBacklog);
      ctx.equal(nx.getPortInfo(port).info?.queueCount, CAPACITY, 'the port itself is full');

      const got = await drain(ctx, port, N + 8);
      const created = got.filter((e) => e.kind === 'created');
      const marks = got.filter((e) => e.opcode === NEXUS_EVENTS_DROPPED);
      const d = node(dir);
      ctx.equal(got.length, created.length + marks.length, 'only creations and loss marks');
      ctx.check(created.length >= B && created.length <= CAPACITY + B, `the backlog's ${B} events and what the port took are delivered`,
        `${B}..${CAPACITY + B}`, created.length);
      ctx.equal(created.filter((e) => e.token !== 9 || e.directory !== d.ino || e.device !== d.dev).length, 0, 'each with its token, directory and device');
      ctx.check(marks.length >= 1, 'NEXUS_EVENTS_DROPPED marks the loss', '>= 1 mark', marks.length);
      ctx.equal(marks.filter((m) => m.token !== 9).length, 0, 'each loss mark carries the target token of the events it stands for');
      // Walk the stream: creations in order, each gap exactly where a mark says how many went missing.
      let next = 0;
      const wrong: string[] = [];
      for (const e of got) {
        if (e.kind === 'created') {
          if (e.name !== `f${next}`) wrong.push(`${e.name} where f${next} was due`);
          next = Number(String(e.name).slice(1)) + 1;
        } else if (e.opcode === NEXUS_EVENTS_DROPPED) {
          next += Number(e.dropped);
        }
      }
      ctx.equal(wrong, [], 'every event is in order, and every gap is at a loss mark that counts it exactly');
      ctx.equal(next, N, 'delivered + dropped = every event');
      const lost = marks.reduce((n, m) => n + Number(m.dropped), 0);
      ctx.equal(created.length + lost, N, `${created.length} delivered + the marks' counts = ${N}`);
      ctx.metric('flood-delivered', created.length, 'events');
      ctx.metric('flood-dropped', lost, 'events');
      ctx.metric('flood-loss-marks', marks.length, 'marks');
      ctx.equal((readCounters().node_events ?? 0) - (base.node_events ?? 0), 0, 'node_events is back once the port is drained');

      file(join(dir, 'later'));
      await expectEvents(ctx, port, [ev.created(9, d.dev, d.ino, node(join(dir, 'later')).ino, 'later')], 'the stream goes on normally after the loss');
    }, { timeoutMs: 120_000 }),

    scenario('a-thousand-watches', async (ctx, base) => {
      const N = 1000;
      const { dir, port } = fixture(ctx, 'thousand');
      const r = await shell(createLoop(dir, N), 60_000);
      need(ctx, r.code === 0, `${N} files`, 0, r.code);
      const paths = Array.from({ length: N }, (_, i) => join(dir, `f${i}`));
      const nodes = paths.map(node);
      const t0 = performance.now();
      let failed = 0;
      for (const p of paths) if (tryWatch(p, B_WATCH_STAT, port, 1) !== 0) failed++;
      ctx.metric('watch-1000-ms', Math.round(performance.now() - t0), 'ms');
      ctx.equal(failed, 0, `${N} watches set`);
      ctx.defer(() => void vx.stopNotifying(port, 1));
      await expectWatches(ctx, base, N, `${N} watches`);
      await tick();
      chmodSync(paths[0]!, 0o600);
      chmodSync(paths[N - 1]!, 0o600);
      await expectEvents(ctx, port, [ev.stat(1, nodes[0]!.dev, nodes[0]!.ino, MODE_CHANGED), ev.stat(1, nodes[N - 1]!.dev, nodes[N - 1]!.ino, MODE_CHANGED)],
        'the first and the last are live');
      const t1 = performance.now();
      expectErrno(ctx, vx.stopNotifying(port, 1), 0, `stop_notifying drops all ${N}`);
      ctx.metric('stop-notifying-1000-ms', Math.round(performance.now() - t1), 'ms');
      await expectWatches(ctx, base, 0, 'none left');

      for (const [i, p] of paths.entries()) if (tryWatch(p, B_WATCH_STAT, port, 1000 + i) !== 0) failed++;
      ctx.equal(failed, 0, `${N} watches again, each with its own token`);
      ctx.defer(() => nodes.forEach((_, i) => vx.stopNotifying(port, 1000 + i)));
      await expectWatches(ctx, base, N, `${N} watches again`);
      let bad = 0;
      for (const [i, n] of nodes.entries()) if (vx.stopWatching(n.dev, n.ino, port, 1000 + i) !== 0) bad++;
      ctx.equal(bad, 0, 'each stopped by stop_watching');
      await expectWatches(ctx, base, 0, 'none left');
      await tick();
      chmodSync(paths[500]!, 0o600);
      await expectNoEvents(ctx, port, 'no watch left to tell');
    }, { timeoutMs: 120_000 }),

    scenario('a-user-cannot-watch-what-it-may-not-read', async (ctx) => {
      const root = scratchDir(ctx, 'nm-rights');
      const mk = (name: string, mode: number) => {
        const p = join(root, name);
        mkdirSync(p);
        chmodSync(p, mode);
        return p;
      };
      const secret = mk('secret', 0o700);
      const nolist = mk('nolist', 0o711);
      const open = mk('open', 0o755);
      const later = mk('later', 0o755);
      const pub = file(join(root, 'public'), 'p\n', 0o644);
      const writeOnly = file(join(root, 'write-only'), 'w\n', 0o602);
      const a = await startAgent(ctx, { uid: USER, gid: USER });
      const ap = await a.call('port_create 16 nm-rights');
      const port = ap.ret as number;
      need(ctx, port > 0, 'uid 1000 creates a port', 'an id', ap);
      expectErrno(ctx, await agentWatch(a, pub, B_WATCH_STAT, port, 1), 0, 'uid 1000 watches a file it may read');
      expectErrno(ctx, await agentWatch(a, open, B_WATCH_DIRECTORY, port, 2), 0, 'and a directory it may list');

      // Descriptors uid 1000 could open without the right to read the node: the kernel must check the node.
      const wfd = await a.openFd(writeOnly, O_WRONLY);
      need(ctx, wfd >= 0, 'uid 1000 opens a 0602 file write-only', 'a descriptor', wfd);
      expectErrno(ctx, await agentWatch(a, wfd, B_WATCH_STAT, port, 3), -EACCES, 'watching a file it may write but not read, through that descriptor: -EACCES');
      const lfd = await a.openFd(later, O_RDONLY | O_DIRECTORY);
      need(ctx, lfd >= 0, 'uid 1000 opens a 0755 directory', 'a descriptor', lfd);
      chmodSync(later, 0o700);
      expectErrno(ctx, await agentWatch(a, lfd, B_WATCH_DIRECTORY, port, 3), -EACCES,
        'the directory made 0700 after uid 1000 opened it: its old descriptor gives no right to watch (-EACCES)');

      // Through vrefs root sends it: a slot gives no right to watch either.
      const vrefOf = (path: string) => {
        const fd = openSync(path, O_RDONLY | O_DIRECTORY);
        const v = vx.vrefCreate(fd);
        closeSync(fd);
        need(ctx, v.status === 0, `root's vref of ${path}`, 0, plain(v));
        ctx.defer(() => void vx.vrefRelease(v.id, v.key));
        return v;
      };
      const [vs, vn, vo] = [vrefOf(secret), vrefOf(nolist), vrefOf(open)];
      expectStatus(ctx, vx.writePortCaps(port, 1, Buffer.alloc(0), [{ vrefId: vs.id }, { vrefId: vn.id }, { vrefId: vo.id }], B_RELATIVE_TIMEOUT, 0), B_OK,
        "root sends three directory vrefs to uid 1000's port");
      const got = await agentReadCaps(a, port, 16, 3);
      expectStatus(ctx, got.status, B_OK, 'uid 1000 reads them: a slot in each');
      expectErrno(ctx, await agentWatchVref(a, vs.id, B_WATCH_DIRECTORY, port, 4), -EACCES, 'a 0700 directory of root, through its vref: -EACCES');
      expectErrno(ctx, await agentWatchVref(a, vs.id, B_WATCH_STAT, port, 4), -EACCES, 'even for its stat only');
      expectErrno(ctx, await agentWatchVref(a, vn.id, B_WATCH_DIRECTORY, port, 4), -EACCES, 'a 0711 directory (search but no read), through its vref: -EACCES');
      expectErrno(ctx, await agentWatchVref(a, vo.id, B_WATCH_DIRECTORY, port, 5), 0, 'a 0755 directory through its vref: fine');

      file(join(secret, 'hidden'));
      file(join(later, 'hidden'));
      const created = file(join(open, 'visible'));
      const on = node(open);
      await expectEvents(ctx, port, [ev.created(2, on.dev, on.ino, node(created).ino, 'visible'), ev.created(5, on.dev, on.ino, node(created).ino, 'visible')],
        "uid 1000's port learns of the open directory's entry only");
      expectErrno(ctx, tryWatch(secret, B_WATCH_DIRECTORY, listener(ctx, 'nm-rights-root'), 1), 0, 'root may watch the 0700 directory');
    }),
  ],
};

