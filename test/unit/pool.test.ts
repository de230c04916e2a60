// The job pool: at most N jobs and at most the host's CPUs in guest vCPUs at once.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { pool } from '../../lab/run.js';

interface Item {
  id: string;
  cpus: number;
}

/** Runs the items through the pool; each ends when the test says, and the log says what ran together. */
async function simulate(items: Item[], limit: number, capacity: number, order: string[]): Promise<string[]> {
  const log: string[] = [];
  const running = new Map<string, () => void>();
  const done = pool(items, limit, (item) => new Promise<void>((resolve) => {
    log.push(`start ${item.id} with ${[...running.keys()].sort().join(',') || 'nothing'}`);
    running.set(item.id, () => {
      running.delete(item.id);
      resolve();
    });
  }), { capacity, weight: (i) => i.cpus });
  for (const id of order) {
    await new Promise((r) => setImmediate(r));
    const end = running.get(id);
    assert.ok(end, `${id} is running when the test ends it (log: ${log.join('; ')})`);
    end!();
  }
  await done;
  return log;
}

const MATRIX: Item[] = [
  { id: '6.1', cpus: 1 },
  { id: '6.1-2cpu', cpus: 2 },
  { id: '6.12', cpus: 1 },
  { id: '6.12-2cpu', cpus: 2 },
];

test('on 2 host CPUs the 1-vCPU jobs run side by side and each 2-vCPU job runs alone', async () => {
  const log = await simulate(MATRIX, 2, 2, ['6.1', '6.12', '6.1-2cpu', '6.12-2cpu']);
  assert.equal(log, ['start 6.1 with nothing', 'start 6.12 with 6.1', 'start 6.1-2cpu with nothing', 'start 6.12-2cpu with nothing']);
});

test('with room for both, jobs start in plan order up to the job limit', async () => {
  const log = await simulate(MATRIX, 2, 8, ['6.1', '6.1-2cpu', '6.12', '6.12-2cpu']);
  assert.equal(log, ['start 6.1 with nothing', 'start 6.1-2cpu with 6.1', 'start 6.12 with 6.1-2cpu', 'start 6.12-2cpu with 6.12']);
});

test('a job heavier than the host runs alone rather than never', async () => {
  const log = await simulate([{ id: 'big', cpus: 4 }, { id: 'small', cpus: 1 }], 2, 2, ['big', 'small']);
  assert.equal(log, ['start big with nothing', 'start small with nothing']);
});

test('an empty list ends at once; a failing job fails the pool', async () => {
  await pool([], 2, async () => {});
  let failed = false;
  await pool([1], 2, async () => {
    throw new Error('boom');
  }).catch(() => (failed = true));
  assert.ok(failed);
});

test.run();
