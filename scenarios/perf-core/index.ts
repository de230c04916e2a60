// perf-core: round-trip latency between two teams, Nexus against the Linux
// baseline in the same guest - ports (64 B and 4 KiB messages) against a pipe
// pair, semaphore ping-pong against a futex-based POSIX semaphore pair.
//
// The tight loops run in C (nexus-bench, scenarios/native/nexus-bench.c);
// this suite runs it, records median and p99 of every mode and the ratio of
// each Nexus median to its baseline as metrics, and checks only that the
// program succeeded and that its numbers are sane.  No timing is pass/fail.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Suite } from '../runner/api.js';
import { MODES, benchMetrics, benchTable, parseBenchOutput, sanityProblems } from './bench.js';

const BENCH = fileURLToPath(new URL('../native/nexus-bench', import.meta.url));

// Sized for TCG, where one round trip costs tens of microseconds: six modes
// of 5500 round trips take about 15 s there, far less under KVM.
const ITERATIONS = 5000;
const WARMUP = 500;
/** nexus-bench's own alarm(); the process deadline below is a little longer. */
const BENCH_DEADLINE_S = 90;

interface Exec {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error?: string;
}

function run(file: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<Exec> {
  return new Promise((resolve) => {
    execFile(file, args, { timeout: timeoutMs, killSignal: 'SIGKILL', signal, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const e = err as (NodeJS.ErrnoException & { code?: number | string; signal?: string; killed?: boolean }) | null;
      const res: Exec = { code: 0, signal: null, stdout, stderr };
      if (e) {
        res.code = typeof e.code === 'number' ? e.code : null;
        res.signal = e.signal ?? null;
        if (typeof e.code === 'string' || e.killed) res.error = e.killed ? `killed after ${timeoutMs} ms` : e.message;
      }
      resolve(res);
    });
  });
}

export const suite: Suite = {
  name: 'perf-core',
  scenarios: [
    {
      name: 'round-trips',
      timeoutMs: (BENCH_DEADLINE_S + 30) * 1000,
      async run(ctx) {
        if (!ctx.check(existsSync(BENCH), `the benchmark program is installed at ${BENCH}`)) return;
        const args = ['--iterations', String(ITERATIONS), '--warmup', String(WARMUP), '--deadline', String(BENCH_DEADLINE_S), ...MODES];
        const t0 = performance.now();
        const res = await run(BENCH, args, (BENCH_DEADLINE_S + 10) * 1000, ctx.signal);
        const wallMs = Math.round(performance.now() - t0);
        if (res.stderr) process.stderr.write(res.stderr);
        const how = res.error ?? (res.signal ? `signal ${res.signal}` : `exit code ${res.code}`);
        const ok = ctx.check(res.code === 0 && !res.error, `nexus-bench ${args.join(' ')} succeeds`, 'exit code 0', `${how}: ${res.stderr.trim()}`);

        let results;
        try {
          results = parseBenchOutput(res.stdout);
        } catch (e) {
          ctx.check(false, (e as Error).message);
          return;
        }
        // Whatever did run is recorded, even when a later mode failed.
        for (const m of benchMetrics(results)) ctx.metric(m.name, m.value, m.unit);
        ctx.metric('wall', wallMs, 'ms');
        if (results.length > 0) {
          process.stderr.write(`perf-core: ${ITERATIONS} round trips per mode after ${WARMUP} of warm-up\n${benchTable(results)}\n`);
        }
        if (ok) ctx.equal(results.map((r) => r.name), [...MODES], 'nexus-bench reports every mode, in order');
        for (const r of results) {
          for (const p of sanityProblems(r, ITERATIONS)) ctx.check(false, p);
        }
      },
    },
  ],
};
