// The nexus-agent program and its client, on the host: the real agent (no
// /dev/nexus here, so every Nexus call answers -ENOENT) for the protocol and
// its documented commands, and small shell agents for deadlines and a dying
// agent.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Agent, AGENT_PATH, agentCommand } from '../../scenarios/lib/agent.js';
import { ROOT } from '../helpers.js';

const ENOENT = 2;
const EBADF = 9;
const B_BAD_THREAD_ID = -2147483648 + 0x2003;
const HOST_HAS_NEXUS = existsSync('/dev/nexus');
const dir = mkdtempSync(join(tmpdir(), 'nexus-agent-test-'));

/** A fake agent: a shell script with the given body after the ready line. */
function fake(name: string, body: string): string {
  const path = join(dir, name);
  writeFileSync(path, `#!/bin/sh\necho '{"ready":true,"pid":'$$',"uid":0,"gid":0}'\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** Await a promise that must reject with a message matching re. */
async function rejects(p: Promise<unknown>, re: RegExp, msg?: string): Promise<void> {
  let error: unknown;
  try {
    await p;
  } catch (e) {
    error = e;
  }
  assert.ok(error instanceof Error, msg ?? `rejects with ${re}`);
  assert.match((error as Error).message, re, msg);
}

/** Running, as opposed to gone or a zombie waiting for a reaper. */
function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

test('the agent program sits next to the compiled scenarios', () => {
  assert.ok(AGENT_PATH.endsWith('/dist/scenarios/native/nexus-agent'), AGENT_PATH);
  assert.ok(existsSync(AGENT_PATH), 'built by make build');
});

test('the real agent: ready line, answers, errors, exit code', async () => {
  const a = await Agent.start();
  try {
    assert.ok(a.pid > 0 && a.pid !== process.pid);
    assert.is(a.info?.uid, process.geteuid!());
    if (!HOST_HAS_NEXUS) assert.is(a.info?.fd, -ENOENT);
    assert.equal(await a.call('team'), { ret: 0, pid: a.pid, tid: a.pid });
    if (!HOST_HAS_NEXUS) {
      const e = -ENOENT;
      assert.equal(await a.call('port_create 4 x'), { ret: e });
      assert.equal(await a.call('port_read 1 16 0x8 inf'), { ret: e, size: 0, code: 0, hex: '' });
      assert.equal(await a.call('port_write 1 2 3 255 8 -1'), { ret: e });
      assert.equal(await a.call('port_write_hex 1 2 00ff 0 0'), { ret: e });
      assert.equal(await a.call('port_write_hex 1 2 - 0 0'), { ret: e });
      assert.equal(await a.call('port_info 1'), { ret: e });
      assert.equal(await a.call('sem_count 1'), { ret: e, count: 0 });
      assert.equal(await a.call('sem_acquire 1 1 0 inf'), { ret: e });
      assert.equal(await a.call('fork_check'), { ret: e });
    }
    for (const bad of ['bogus', 'port_create 4', 'port_create x y', 'port_read 1 16 0 forever', 'port_write_hex 1 2 abc 0 0', '']) {
      await rejects(a.call(bad), /nexus-agent \d+: '.*': /, `"${bad}" is refused`);
    }
    // Calls sent together are answered in order.
    const rs = await Promise.all([a.call('team'), a.call('sem_count 3'), a.call('team')]);
    assert.is(rs[0]!.pid, a.pid);
    assert.ok('count' in rs[1]!);
    assert.is(rs[2]!.pid, a.pid);
    assert.is(await a.exit(3), 3);
    assert.not.ok(alive(a.pid));
    await rejects(a.call('team'), /has ended/);
  } finally {
    await a.kill();
  }
});

test('the real agent: the info, bulk and signal commands', async () => {
  const a = await Agent.start();
  try {
    const ids = await a.call('ids');
    assert.equal(ids, {
      ret: 0, pid: a.pid, uid: process.getuid!(), euid: process.geteuid!(), gid: process.getgid!(), egid: process.getegid!(), nspid: ids.nspid,
    });
    assert.is((ids.nspid as number[]).at(-1), a.pid, 'NSpid ends with its own pid');
    if (!HOST_HAS_NEXUS) {
      const e = -ENOENT;
      assert.equal(await a.call('port_msg_info 1 8 0'), { ret: e });
      assert.equal(await a.call('port_next 0 0'), { ret: e, cookie: 0 });
      assert.equal(await a.call('sem_info 1'), { ret: e });
      assert.equal(await a.call('sem_next 0 5'), { ret: e, cookie: 5 });
      assert.equal(await a.call('port_create_many 10 4'), { ret: e, created: 0, first: 0, last: 0 });
      assert.equal(await a.call('sem_create_many 10 0'), { ret: e, created: 0, first: 0, last: 0 });
      assert.equal(await a.call('port_fill 4096 100 0'), { ret: e, written: 0, ports: 0 });
    }
    assert.equal(await a.call('sig_restart usr2 1'), { ret: 0 });
    assert.equal(await a.call('sig_restart usr1 0'), { ret: 0 });
    for (const bad of ['sig_restart usr3 1', 'sig_restart usr1 2', 'port_fill 4096 -1 0', 'port_create_many x 1', 'timed timed team', 'timed bogus']) {
      await rejects(a.call(bad), /nexus-agent \d+: '.*': /, `"${bad}" is refused`);
    }
  } finally {
    await a.kill();
  }
});

test('the real agent: the thread and area commands', async () => {
  const a = await Agent.start();
  try {
    if (!HOST_HAS_NEXUS) {
      const e = -ENOENT;
      const ops = 'receive:64 receive:0:0x8:1000 block send:1:2:00ff send:1:2:-:8:inf wait:5 wait:5:8:10 sleep:10 return:7 exit:3 pthread_exit';
      assert.equal(await a.call(`thread_spawn worker ${ops}`), { ret: e });
      assert.equal(await a.call('thread_spawn worker'), { ret: e }, 'no ops: a thread that returns B_OK');
      assert.equal(await a.call('thread_resume 5'), { ret: e });
      assert.equal(await a.call('thread_has_data 0'), { ret: 0 });
      assert.equal(await a.call('thread_send 1 2 00ff 0 inf'), { ret: e });
      assert.equal(await a.call('thread_send 1 2 - 8 0'), { ret: e });
      assert.equal(await a.call('thread_receive 8 0 inf'), { ret: e, sender: 0, hex: '' });
      assert.equal(await a.call('thread_receive 8 0x8 0'), { ret: e, sender: 0, hex: '' });
      assert.equal(await a.call('thread_wait 1 0 inf'), { ret: e, code: 0 });
      assert.equal(await a.call('thread_info 0'), { ret: e });
      assert.equal(await a.call('area_fd'), { ret: e });
      assert.equal(await a.call('area_create a 4096 0 3'), { ret: e });
      assert.equal(await a.call('area_clone c 1 1'), { ret: e });
      for (const c of ['area_delete 1', 'area_find a', 'area_resize 1 8192', 'area_protect 1 1', 'area_transfer 1 1', 'area_info 1',
        'area_write 1 0 00ff', 'area_mprotect 1 1']) {
        assert.equal(await a.call(c), { ret: e }, c);
      }
      assert.equal(await a.call('area_next 0 4'), { ret: e, cookie: 4 });
      assert.equal(await a.call('area_read 1 0 4'), { ret: e, hex: '' });
      assert.equal(await a.call('area_clone_raw 1 1'), { ret: 0, rc: e, errno: ENOENT, area: 0, fd: 0, size: 0 });
    }
    assert.equal(await a.call('thread_find -'), { ret: a.pid }, 'the agent runs commands on its main thread');
    assert.equal(await a.call(`thread_report ${a.pid}`), { ret: B_BAD_THREAD_ID }, 'no record: not spawned by thread_spawn');
    assert.equal(await a.call('mmap_fd -1 4096 1 shared'), { ret: -EBADF });
    assert.equal(await a.call('mmap_fd -1 4096 1 private 3'), { ret: -EBADF }, 'no mprotect when mmap failed');
    assert.equal(await a.call('close_fd 999'), { ret: -EBADF });
    assert.equal(await a.call(`thread_signal ${a.pid} usr1`), { ret: 0 });
    assert.is((await a.call('timed team')).caught, 0, 'the signal was handled before');
    for (const bad of ['thread_spawn', 'thread_spawn t bogus', 'thread_spawn t receive', 'thread_spawn t send:1:2:abc', 'thread_spawn t send:1:2:00:8',
      'thread_spawn t return:x', 'thread_spawn t block:1', 'thread_send 1 2 zz 0 0', 'thread_signal 1 usr3', 'area_write 1 0 0', 'mmap_fd 0 4096 1 both',
      'mmap_fd 0 4096 1 shared 1 2', 'area_create a -1 0 3']) {
      await rejects(a.call(bad), /nexus-agent \d+: '.*': /, `"${bad}" is refused`);
    }
  } finally {
    await a.kill();
  }
});

test('the real agent: the vref, capability and node monitor commands, raw and typed', async () => {
  const a = await Agent.start();
  try {
    const e = -ENOENT;
    if (!existsSync('/dev/nexus_node_monitor')) {
      assert.equal(await a.call('node_monitor_fd'), { ret: e });
      assert.equal(await a.call('vref_create /etc/hostname'), { ret: e, id: 0, key: '0' });
      assert.equal(await a.call('vref_create /etc/hostname 0x2'), { ret: e, id: 0, key: '0' });
      assert.equal(await a.call('vref_create -1'), { ret: e, id: 0, key: '0' });
      assert.equal(await a.call('vref_acquire 1 18446744073709551615'), { ret: e, key: '0' });
      assert.equal(await a.call('vref_release 1 0x10'), { ret: e });
      assert.equal(await a.call('vref_open 1 2 0'), { ret: e });
      assert.equal(await a.call('vref_open 1 2 2 aabb keep'), { ret: e });
      for (const c of ['watch /tmp 0x1f 3 -1', 'watch_raw /tmp 1 3 1', 'watch_raw -1 16 3 1', 'watch_raw -1 2 3 1 5', 'watch_volume 3 4294967295',
        'stop_watching /tmp 3 1', 'stop_watching_volume 3 1', 'stop_notifying 3 1']) {
        assert.equal(await a.call(c), { ret: e }, c);
      }
      assert.equal(await a.call('watch_ref /tmp 1 3 1'), { ret: e, device: Number(statSync('/tmp').dev), node: Number(statSync('/tmp').ino) });
      // The typed helpers.
      assert.equal(await a.vrefCreate('/etc/hostname', 0), { ret: e, id: 0, key: 0n });
      assert.equal(await a.vrefCreate(-1), { ret: e, id: 0, key: 0n });
      assert.equal(await a.vrefAcquire(1, 2n ** 64n - 1n), { ret: e, key: 0n });
      assert.is(await a.vrefRelease(1, 7n), e);
      assert.equal(await a.vrefOpen(1, 7n, 2, { hex: 'aa', keep: true }), { ret: e });
      assert.is(await a.watch('/tmp', 1, 3, 4), e);
      assert.is(await a.watchRaw(-1, 2, 3, 4, 5), e);
      assert.is(await a.watchVolume(3, 4), e);
      assert.is(await a.stopNotifying(3, 4), e);
    }
    // Port capabilities go to /dev/nexus.
    if (!HOST_HAS_NEXUS) {
      assert.equal(await a.call('write_caps 1 2 aabb 3,4:8,5:0:1'), { ret: e });
      assert.equal(await a.call('write_caps 1 2 - - 8 0'), { ret: e });
      assert.equal(await a.call('read_caps 1 16 4 0 0'), { ret: e, code: 0, size: 0, caps_count: 0, hex: '', caps: [] });
      assert.is(await a.writeCaps(1, 2, '', [3, { vrefId: 4, offset: 8 }], 8, Infinity), e);
      assert.equal(await a.readCaps(1, 16, 4, 8, 0n), { ret: e, code: 0, size: 0, capsCount: 0, hex: '', caps: [] });
    }
    assert.equal(await a.call('vref_create /nonexistent/x'), { ret: e, open_failed: true });
    assert.is((await a.call('watch_raw /nonexistent/x 1 3 1')).ret, e);
    assert.equal(await a.call('open_fd /nonexistent/x 0'), { ret: e });
    const fd = (await a.call('open_fd /etc/hostname 0')).ret as number;
    assert.ok(fd > 2, `open_fd gave ${fd}`);
    assert.equal(await a.call(`close_fd ${fd}`), { ret: 0 });
    assert.equal(await a.call('timed hold 1000').then((r) => r.ret), 0);
    for (const bad of ['vref_create 5 2', 'vref_create x', 'vref_acquire 1 -1', 'vref_open 1 2 2 aabb cc', 'vref_open 1 2 2 zz',
      'write_caps 1 2 - x', 'write_caps 1 2 - 1,', 'write_caps 1 2 - 1:2:3:4', 'write_caps 1 2 - 1 8', 'read_caps 1 16 -1 0 0',
      'watch /tmp 1 3 4294967296', 'watch_raw /tmp 1 3 1 5 6', 'hold forever']) {
      await rejects(a.call(bad), /nexus-agent \d+: '.*': /, `"${bad}" is refused`);
    }
    // hold inf: no answer ever; the agent is killed in the middle.
    a.hold();
    await rejects(a.call('team', 300), /did not answer/);
  } finally {
    await a.kill();
  }
});

test("the agent's header documents every command it has", () => {
  const text = readFileSync(join(ROOT, 'scenarios', 'native', 'nexus-agent.c'), 'utf8');
  const header = text.slice(0, text.indexOf('#define _GNU_SOURCE'));
  const names = [...text.matchAll(/^\t\{ "(\w+)", -?\d+, cmd_\w+ \},$/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 50, names.join(' '));
  for (const n of names) assert.match(header, new RegExp(`\\b${n}\\b`), `${n} is documented`);
});

test('timed: the answer plus its CLOCK_MONOTONIC times and the signals handled meanwhile', async () => {
  const a = await Agent.start();
  try {
    const r = await a.call('timed team');
    assert.is(r.ret, 0);
    assert.is(r.pid, a.pid, "the command's own fields stay");
    assert.ok(r.end_us >= r.start_us && r.elapsed_us === r.end_us - r.start_us, JSON.stringify(r));
    assert.is(r.caught, 0);
    // Signals handled between two commands are not counted for the next one.
    a.signal('SIGUSR1');
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.is((await a.call('timed team')).caught, 0);
    assert.equal(await a.call('team'), { ret: 0, pid: a.pid, tid: a.pid }, 'the agent survived the signal');
  } finally {
    await a.kill();
  }
});

test('agentCommand: setpriv first, then the wrapper, then the program', () => {
  assert.equal(agentCommand({ path: '/a' }), ['/a']);
  assert.equal(agentCommand({ path: '/a', uid: 1000 }), ['setpriv', '--reuid', '1000', '--regid', '1000', '--clear-groups', '/a']);
  assert.equal(agentCommand({ path: '/a', uid: 5, gid: 6, wrap: ['unshare', '--user'] }),
    ['setpriv', '--reuid', '5', '--regid', '6', '--clear-groups', 'unshare', '--user', '/a']);
  assert.equal(agentCommand({ path: '/a', wrap: ['unshare', '--pid', '--fork'] }), ['unshare', '--pid', '--fork', '/a']);
  assert.equal(agentCommand().at(-1), AGENT_PATH);
});

test('a wrapped agent: in a new pid namespace it is pid 1, and kill() ends it', async () => {
  const a = await Agent.start({ wrap: ['unshare', '--pid', '--fork', '--kill-child'] });
  let outer = -1;
  try {
    const ids = await a.call('ids');
    assert.is(ids.pid, 1);
    assert.is((ids.nspid as number[]).length, 2);
    outer = (ids.nspid as number[])[0]!;
    assert.ok(alive(outer));
  } finally {
    await a.kill();
  }
  for (let i = 0; i < 50 && alive(outer); i++) await new Promise((resolve) => setTimeout(resolve, 20));
  assert.not.ok(alive(outer), 'the agent inside died with its wrapper');
});

test('kill() sends SIGKILL and returns once the agent is reaped', async () => {
  const a = await Agent.start();
  const pid = a.pid;
  assert.ok(alive(pid));
  const blocked = a.call('team');
  await a.kill();
  assert.not.ok(alive(pid), 'gone, not a zombie');
  await blocked.then(
    () => {},
    (e: Error) => assert.match(e.message, /ended/),
  );
  await a.kill(); // twice is fine
});

test('a call past its deadline rejects, and its late answer goes to nobody', async () => {
  const path = fake('slow', `while read -r cmd rest; do
  case "$cmd" in
    slow) sleep 0.4; echo '{"ret":"late"}' ;;
    *) echo '{"ret":"'"$cmd"'"}' ;;
  esac
done`);
  const a = await Agent.start({ path });
  try {
    await rejects(a.call('slow', 100), /did not answer 'slow' within 100 ms/);
    assert.equal(await a.call('next'), { ret: 'next' }, 'the late answer was dropped');
    assert.equal(await a.call('again'), { ret: 'again' });
  } finally {
    await a.kill();
  }
});

test('a pending call rejects when the agent dies', async () => {
  const path = fake('dies', 'read -r line; exit 5');
  const a = await Agent.start({ path });
  await rejects(a.call('anything'), /ended \(exit code .*\) before answering 'anything'/);
  assert.is(await a.exit(), 5);
});

test('start fails cleanly: no program, no ready line, garbage', async () => {
  await rejects(Agent.start({ path: join(dir, 'missing') }), /did not start: .*ENOENT/);
  const silent = join(dir, 'silent');
  writeFileSync(silent, '#!/bin/sh\nsleep 30\n');
  chmodSync(silent, 0o755);
  await rejects(Agent.start({ path: silent, startTimeoutMs: 200 }), /no ready line within 200 ms/);
  const garbage = join(dir, 'garbage');
  writeFileSync(garbage, '#!/bin/sh\necho hello\nsleep 30\n');
  chmodSync(garbage, 0o755);
  await rejects(Agent.start({ path: garbage }), /got "hello"/);
});

test('with uid, the agent runs under setpriv as that user', async () => {
  const root = process.geteuid!() === 0;
  let setpriv = false;
  try {
    execFileSync('setpriv', ['--version'], { stdio: 'ignore' });
    setpriv = true;
  } catch {
    /* not installed */
  }
  // make test runs as root (it installs packages) and util-linux gives setpriv.
  assert.ok(root, 'the tests run as root');
  assert.ok(setpriv, 'setpriv is installed (util-linux)');
  // The fake agent reports its real ids; dir is private to root, so copy it somewhere nobody may run it.
  const path = join(tmpdir(), `nexus-agent-ids-${process.pid}`);
  writeFileSync(path, `#!/bin/sh\necho '{"ready":true,"pid":'$$',"uid":'$(id -u)',"gid":'$(id -g)',"groups":"'"$(id -G)"'"}'\nread -r x\n`);
  chmodSync(path, 0o755);
  try {
    const a = await Agent.start({ uid: 65534, gid: 65533, path });
    assert.is(a.info?.uid, 65534);
    assert.is(a.info?.gid, 65533);
    assert.is((a.info as unknown as { groups: string }).groups, '65533', 'supplementary groups cleared');
    await a.kill();
  } finally {
    rmSync(path, { force: true });
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
