// The pure parts of the races and teams scenarios: nexus-race's output, the
// kernel log records and splat filter, /proc/<pid>/stat states.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
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

test.run();
