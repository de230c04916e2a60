// One benchmark scenario: run a C driver (nexus-bench, nexus-bench-ipc) with
// some modes, record every figure it printed as metrics, check only that it
// succeeded and that its numbers are sane.  No timing is pass/fail.  Shared
// by perf-core and perf-ipc.
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import type { Ctx, Scenario } from '../runner/api.js';
import { accelMetrics, benchMetrics, benchTable, classifyAccel, parseBenchOutput, sanityProblems, type Accel, type BenchSpec } from './bench.js';

export interface Exec {
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  error?: string;
}

/** Run a program to its end (or its timeout, SIGKILL), its output collected. */
export function runProgram(file: string, args: string[], timeoutMs: number, signal: AbortSignal): Promise<Exec> {
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

function readOr(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** The guest's accelerator, from /proc/cpuinfo and the clock sources it offers. */
export function guestAccel(): Accel {
  return classifyAccel(
    readOr('/proc/cpuinfo'),
    readOr('/sys/devices/system/clocksource/clocksource0/available_clocksource'),
  );
}

export interface BenchScenario {
  name: string;
  /** The driver's path. */
  program: string;
  spec: BenchSpec;
  /** Timed iterations per round, untimed ones per round, rounds. */
  iterations: number;
  warmup: number;
  rounds: number;
  /** The driver's own alarm(); the scenario's deadline is 30 s longer, the process's 10 s. */
  deadlineS: number;
  /** What one iteration is, for the log ("round trips", "timeouts", ...). */
  what: string;
}

/** A scenario that runs the driver once with every mode of the spec, interleaved over the rounds. */
export function benchScenario(b: BenchScenario): Scenario {
  return {
    name: b.name,
    timeoutMs: (b.deadlineS + 30) * 1000,
    async run(ctx: Ctx) {
      const prog = basename(b.program);
      if (!ctx.check(existsSync(b.program), `the benchmark program is installed at ${b.program}`)) return;
      const accel = guestAccel();
      const args = [
        '--iterations', String(b.iterations), '--warmup', String(b.warmup), '--rounds', String(b.rounds),
        '--deadline', String(b.deadlineS), ...b.spec.modes,
      ];
      const t0 = performance.now();
      const res = await runProgram(b.program, args, (b.deadlineS + 10) * 1000, ctx.signal);
      const wallMs = Math.round(performance.now() - t0);
      if (res.stderr) process.stderr.write(res.stderr);
      const how = res.error ?? (res.signal ? `signal ${res.signal}` : `exit code ${res.code}`);
      const ok = ctx.check(res.code === 0 && !res.error, `${prog} ${args.join(' ')} succeeds`, 'exit code 0', `${how}: ${res.stderr.trim()}`);

      let results;
      try {
        results = parseBenchOutput(res.stdout, prog);
      } catch (e) {
        for (const m of accelMetrics(accel)) ctx.metric(m.name, m.value, m.unit);
        ctx.check(false, (e as Error).message);
        return;
      }
      // Whatever did run is recorded, even when a later mode failed; the
      // figures first (the lab's metrics table leads with a mode's median).
      for (const m of benchMetrics(results, b.spec)) ctx.metric(m.name, m.value, m.unit, m.samples);
      ctx.metric('wall', wallMs, 'ms');
      for (const m of accelMetrics(accel)) ctx.metric(m.name, m.value, m.unit);
      if (results.length > 0) {
        process.stderr.write(
          `${ctx.suite}/${b.name} (${accel}): ${b.rounds} rounds of ${b.iterations} ${b.what} per mode, ` +
            `each after ${b.warmup} of warm-up\n${benchTable(results, b.spec)}\n`,
        );
      }
      if (ok) ctx.equal(results.map((r) => r.name), [...b.spec.modes], `${prog} reports every mode, in order`);
      const late = new Set(b.spec.lateness ?? []);
      for (const r of results) {
        for (const p of sanityProblems(r, b.iterations, b.rounds, late.has(r.name))) ctx.check(false, p);
      }
    },
  };
}
