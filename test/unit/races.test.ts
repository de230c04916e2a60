// The pure parts of the races and teams scenarios: nexus-race's output, the
// kernel log records and splat filter, /proc/<pid>/stat states.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ROOT } from '../helpers.js';
import { count, driverArgs, parseDriverOutput, rate } from '../../scenarios/races/driver.js';
import { isSplat, parseKmsgRecord, splatLines } from '../../scenarios/lib/kmsg.js';
import { parseStatState } from '../../scenarios/lib/proc.js';

// As nexus-race printed them in a 6.12 guest (old module, then fixed).
const TEARDOWN_OLD = [
  '{"anomaly":"info-without-owner","call":"sem_next_info","id":9564,"team":-1,"victim":228}',
  '{"anomaly":"info-without-owner","call":"port_info","id":16077,"team":-1,"victim":233}',
  '{"done":true,"mode":"teardown","rounds":239,"elapsed_ms":6012,"objects":119500,"walker_calls":337428,"ok":120033,' +
    '"minus_one":10754,"zero":0,"ioctl_errors":0,"first_errno":0,"anomalies":10754,' +
    '"calls":{"sem_next_info":84357,"sem_info":84357,"port_info":84357,"port_next":84357},' +
    '"minus_one_by_call":{"sem_next_info":6660,"sem_info":3075,"port_info":1019,"port_next":0}}',
  '',
].join('\n');

const CREATE_DELETE_NEW =
  '{"done":true,"mode":"create-delete","kind":"sem","target":"next","party":"thread","rounds":166593,' +
  '"elapsed_ms":6004,"deleter_calls":1515628,"deletes":160256,"deleted_ours":160256,"during_create":117439,' +
  '"foreign_deletes":0,"create_failed":0,"ioctl_errors":0,"first_errno":0,"anomalies":0}\n';

test('nexus-race output: anomalies, then the done line with its counts', () => {
  const out = parseDriverOutput(TEARDOWN_OLD);
  assert.is(out.anomalies.length, 2);
  assert.is(out.anomalies[0]!.call, 'sem_next_info');
  assert.is(count(out.done, 'minus_one'), 10754);
  assert.equal(out.done?.minus_one_by_call, { sem_next_info: 6660, sem_info: 3075, port_info: 1019, port_next: 0 });
  assert.equal(out.other, []);
  const ok = parseDriverOutput(CREATE_DELETE_NEW);
  assert.is(count(ok.done, 'anomalies'), 0);
  assert.is(count(ok.done, 'during_create'), 117439);
});

test('nexus-race output cut short (the driver was killed): no done line, counts are NaN so checks on them fail', () => {
  const out = parseDriverOutput('{"anomaly":"deleter-stalled","round":12}\n{"done":tr');
  assert.is(out.done, undefined);
  assert.is(out.anomalies.length, 1);
  assert.equal(out.other, ['{"done":tr']);
  assert.ok(Number.isNaN(count(out.done, 'anomalies')));
  assert.ok(Number.isNaN(count({ rounds: 'many' }, 'rounds')), 'a count that is no number');
  assert.equal(parseDriverOutput(''), { done: undefined, anomalies: [], other: [] });
  assert.equal(parseDriverOutput('[1]\nnull\n').other, ['[1]', 'null']);
});

test('driver arguments are key=value words after the mode', () => {
  assert.equal(driverArgs('create-delete', { kind: 'port', rounds: 5, seconds: 8 }), [
    'create-delete',
    'kind=port',
    'rounds=5',
    'seconds=8',
  ]);
  assert.equal(driverArgs('teardown', {}), ['teardown']);
});

test('rates per second, one decimal', () => {
  assert.is(rate(166593, 6004), 27747);
  assert.is(rate(1, 3000), 0.3);
  assert.is(rate(3, 2000), 1.5);
  assert.is(rate(5, 0), 0);
});

test('/dev/kmsg records: level, sequence number, message without continuation lines', () => {
  assert.equal(parseKmsgRecord('4,1234,14984279,-;list_add corruption. prev->next should be next\n SUBSYSTEM=x\n'), {
    seq: 1234,
    level: 4,
    message: 'list_add corruption. prev->next should be next',
  });
  assert.equal(parseKmsgRecord('12,7,1,c;a;b'), { seq: 7, level: 4, message: 'a;b' }, 'facility bits dropped, ; in the text kept');
  assert.is(parseKmsgRecord('6,8,1,-;tab\\x09here')?.message, 'tab\there');
  assert.is(parseKmsgRecord('no header'), undefined);
  assert.is(parseKmsgRecord('x,1,2,-;text'), undefined);
});

test('splats: what issue 7 saw, and what a healthy guest logs', () => {
  for (const line of [
    'refcount_t: addition on 0; use-after-free.',
    'refcount_t: underflow; use-after-free.',
    'list_add corruption. prev->next should be next (ff2850d9ffe8aad8), but was 0000000000000000.',
    'kernel BUG at lib/list_debug.c:32!',
    'WARNING: CPU: 1 PID: 250 at lib/refcount.c:25 refcount_warn_saturate+0x9c/0x110',
    'general protection fault, probably for non-canonical address 0xdead000000000122: 0000 [#1] PREEMPT SMP NOPTI',
    'Oops: general protection fault, probably for non-canonical address',
    'BUG: kernel NULL pointer dereference, address: 0000000000000008',
    'INFO: task nexus-race:250 blocked for more than 120 seconds.',
    'Call Trace:',
  ])
    assert.ok(isSplat(line), line);
  for (const line of [
    'nexus: loading out-of-tree module taints kernel.',
    'nexus-init: network up on eth0',
    'EXT4-fs (vda): mounted filesystem',
    'Buggy BIOS workaround',
  ])
    assert.not.ok(isSplat(line), line);
  const records = [
    { seq: 1, level: 6, message: 'nexus-init: starting sshd' },
    { seq: 2, level: 4, message: 'kernel BUG at lib/list_debug.c:32!' },
  ];
  assert.equal(splatLines(records), ['2: kernel BUG at lib/list_debug.c:32!']);
});

test('/proc/<pid>/stat: the state follows the last parenthesis, whatever the command name holds', () => {
  assert.is(parseStatState('250 (nexus-race) D 1 250 250 0 -1'), 'D');
  assert.is(parseStatState('251 (a) b) (c) R 1 2 3'), 'R');
  assert.is(parseStatState('252 (node) Z 1'), 'Z');
  assert.is(parseStatState('garbage'), undefined);
  assert.is(parseStatState('1 (x)'), undefined);
});

// As nexus-race printed it in a 6.12 guest: a same-team waiter that came
// 77 us after the thread's end got B_BAD_THREAD_ID (the exit record was not
// there yet).
const THREAD_EXIT_BUG = [
  '{"anomaly":"waiter-status","round":23,"status":-2147475453,"expected":0,"started_after_exit_us":77}',
  '{"done":true,"mode":"thread-exit","party":"thread","rounds":7806,"elapsed_ms":8003,"waiter_woken":5301,"sender_woken":5273,' +
    '"waiter_late":2455,"sender_late":2533,"tight":6767,"bad_id_late":0,"fill_failed":0,"ioctl_errors":0,"anomalies":50}',
].join('\n');

test('nexus-race thread-exit output: the anomaly names the status and how late the waiter came', () => {
  const out = parseDriverOutput(THREAD_EXIT_BUG);
  assert.is(out.anomalies[0]!.anomaly, 'waiter-status');
  assert.is(out.anomalies[0]!.started_after_exit_us, 77);
  assert.is(count(out.done, 'anomalies'), 50);
  assert.is(count(out.done, 'waiter_woken') + count(out.done, 'sender_woken'), 10574);
});

test('nexus-race refuses bad usage and names every mode', () => {
  const RACE = join(ROOT, 'dist', 'scenarios', 'native', 'nexus-race');
  const r = spawnSync(RACE, ['no-such-mode'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(r.status, 2);
  for (const mode of ['create-delete', 'teardown', 'thread-exit', 'area-teardown', 'resize-touch', 'stop-vs-events',
    'port-delete-vs-delivery', 'exit-vs-read-caps', 'vref-release-vs-acquire', 'umount-vs-watch'])
    assert.match(r.stderr, new RegExp(`nexus-race ${mode} `), mode);
  const bad = spawnSync(RACE, ['thread-exit', 'party=both'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(bad.status, 2, 'a bad party');
  const few = spawnSync(RACE, ['area-teardown', 'areas=1'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(few.status, 2, 'areas below 2');
  const how = spawnSync(RACE, ['vref-release-vs-acquire', 'how=open'], { encoding: 'utf8', timeout: 10_000 });
  assert.is(how.status, 2, 'a bad how');
});

test.run();
