import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { failUnfinished, newJobRecord, recordFile } from '../../lab/prepare.js';
import type { Job } from '../../lab/plan.js';

const job = (id: string): Job => ({ id, kernel: { id: '6.12-cloud' }, profile: 'quick', suites: ['smoke'], cpus: 1, budgetMs: 1000 }) as unknown as Job;

test('recordFile: timed keeps the phase even when it throws, and the file holds the latest record', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'prepare-'));
  try {
    const record = { phases: {} as Record<string, number>, n: 0 };
    const f = recordFile(join(dir, 'run.json'), record);
    const v = await f.timed('a', async () => {
      await new Promise((r) => setTimeout(r, 20));
      record.n = 1;
      return 7;
    });
    assert.is(v, 7);
    await f.timed('b', async () => {
      record.n = 2;
      throw new Error('boom');
    }).then(() => assert.unreachable('the error reaches the caller'), (e: Error) => assert.is(e.message, 'boom'));
    const onDisk = JSON.parse(readFileSync(join(dir, 'run.json'), 'utf8')) as typeof record;
    assert.is(onDisk.n, 2);
    assert.ok(onDisk.phases.a! >= 15, `phase a took ${onDisk.phases.a} ms`);
    assert.type(onDisk.phases.b, 'number');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('failUnfinished: jobs without a verdict get the run error, the others keep theirs', () => {
  const a = { ...newJobRecord(job('a')), verdict: 'pass' as const };
  const b = newJobRecord(job('b'));
  const record = { jobs: [a, b] } as { error?: string; jobs: (typeof a | typeof b)[] };
  failUnfinished(record, new Error('no kernel'));
  assert.is(record.error, 'no kernel');
  assert.is(a.verdict, 'pass');
  assert.is(b.verdict, 'infra-error');
  assert.is(b.reason, 'no kernel');
  assert.is(b.phase, 'done');
});

test.run();
