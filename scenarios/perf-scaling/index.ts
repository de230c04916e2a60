// perf-scaling: do unrelated Nexus objects contend?  On a guest with two
// vCPUs or more, the throughput of one ping-pong pair (two teams) alone
// against two independent pairs at once, each pair on its own objects:
// - ports: write_port / read_port round trips of 64 bytes, against pipes;
// - semaphores: release_sem / acquire_sem hand-offs, against a pshared
//   POSIX sem_t pair (futex) and a SysV set of two.
// A ping-pong pair keeps about one CPU busy, so on two vCPUs two pairs that
// share nothing reach about twice one pair's throughput.  What Linux's
// pipes and semaphores reach on the same guest is what the machine allows
// (under TCG, the host's cores and load); the answer is Nexus's scaling
// over Linux's (`port.scaling.vs-pipe`, `sem.scaling.vs-posix-sem`, ...):
// 1 scales as Linux does, below 1 means the two pairs meet somewhere in the
// module (a global lock, a shared counter's cache line) or in the way it
// wakes.
//
// Two scenarios: `pinned` puts both teams of pair k on CPU k, so pairs never
// compete for a CPU and only what they share in the kernel can slow two
// down; `unpinned` lets the scheduler place the four processes, as it would
// anyone's (where Nexus's wakeups, which carry no sync hint unlike a pipe's,
// may place them differently).
//
// The loops run in C (nexus-bench-scale, scenarios/native/nexus-bench-scale.c):
// the pairs of every family are set up once; a round is one short window
// of each mode (pair 1 alone, then pairs 1 and 2, the same processes on
// the same objects), the order reversed every other round; the pairs of a
// window start at one instant and count the round trips completed in it.
// Only success and sane numbers are checked (every ping echoed, one figure
// per pair and round): no throughput is pass/fail.
import { existsSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx, Scenario, Suite } from '../runner/api.js';
import { accelMetrics } from '../perf-core/bench.js';
import { guestAccel, runProgram } from '../perf-core/run.js';
import { parseScaleOutput, scaleProblems, scalingMetrics, scalingModes, scalingTable, type ScalingSpec } from './scaling.js';

const BENCH = fileURLToPath(new URL('../native/nexus-bench-scale', import.meta.url));

export const PAIRS: ScalingSpec = {
  families: ['port', 'pipe', 'sem', 'posix-sem', 'sysv-sem'],
  pairs: 2,
  baselines: [
    { family: 'port', baseline: 'pipe', metric: 'vs-pipe' },
    { family: 'sem', baseline: 'posix-sem', metric: 'vs-posix-sem' },
    { family: 'sem', baseline: 'sysv-sem', metric: 'vs-sysv-sem' },
  ],
};

/**
 * Rounds and window (ms) unless --param scaling.rounds / scaling.window_ms
 * say otherwise.  Many short windows rather than a few long ones: a mode
 * and the one it is compared with run a fraction of a second apart, so a
 * busy host's swings (a compile on the host's two cores moved a 0.5 s
 * window's throughput by 4x from one round to the next) hit both alike.
 */
export const DEFAULT_ROUNDS = 20;
export const DEFAULT_WINDOW_MS = 150;
/** Untimed round trips per pair before each window. */
const WARMUP = 100;

/**
 * The driver's deadline for `rounds` rounds of `modes` modes of a window of
 * `windowMs`: 30 s to set the pairs up (forks, teams, warm-up: a few
 * seconds under TCG), each window with a quarter of a second around it
 * (the 20 ms start, the results), and 30 s to spare.
 */
export function deadlineS(rounds: number, modes: number, windowMs: number): number {
  return Math.ceil(rounds * modes * (windowMs / 1000 + 0.25)) + 60;
}

/** The most --param scaling.* may ask for: the scenario's deadline holds this much. */
export const MAX_ROUNDS = 20;
export const MAX_WINDOW_MS = 1000;

export function scalingScenario(name: string, pin: boolean, spec: ScalingSpec = PAIRS): Scenario {
  const modes = scalingModes(spec);
  const most = deadlineS(MAX_ROUNDS, modes.length, MAX_WINDOW_MS);
  return {
    name,
    timeoutMs: (most + 40) * 1000,
    async run(ctx: Ctx) {
      if (ctx.cpus < spec.pairs) ctx.skip(`needs ${spec.pairs} vCPUs (one per pair), the guest has ${ctx.cpus}`);
      const prog = basename(BENCH);
      if (!ctx.check(existsSync(BENCH), `the benchmark program is installed at ${BENCH}`)) return;
      const rounds = ctx.param('scaling.rounds', DEFAULT_ROUNDS);
      const windowMs = ctx.param('scaling.window_ms', DEFAULT_WINDOW_MS);
      if (!ctx.check(Number.isInteger(rounds) && rounds >= 1 && rounds <= MAX_ROUNDS, `scaling.rounds is an integer from 1 to ${MAX_ROUNDS}`, `1..${MAX_ROUNDS}`, rounds)) return;
      if (!ctx.check(Number.isInteger(windowMs) && windowMs >= 1 && windowMs <= MAX_WINDOW_MS, `scaling.window_ms is an integer from 1 to ${MAX_WINDOW_MS}`, `1..${MAX_WINDOW_MS}`, windowMs)) return;
      const accel = guestAccel();
      const deadline = deadlineS(rounds, modes.length, windowMs);
      const args = [
        '--window', String(windowMs), '--warmup', String(WARMUP), '--rounds', String(rounds),
        '--deadline', String(deadline), ...(pin ? ['--pin'] : []), ...modes,
      ];
      const t0 = performance.now();
      const res = await runProgram(BENCH, args, (deadline + 10) * 1000, ctx.signal);
      const wallMs = Math.round(performance.now() - t0);
      if (res.stderr) process.stderr.write(res.stderr);
      const how = res.error ?? (res.signal ? `signal ${res.signal}` : `exit code ${res.code}`);
      const ok = ctx.check(res.code === 0 && !res.error, `${prog} ${args.join(' ')} succeeds`, 'exit code 0', `${how}: ${res.stderr.trim()}`);

      let results;
      try {
        results = parseScaleOutput(res.stdout, prog);
      } catch (e) {
        for (const m of accelMetrics(accel)) ctx.metric(m.name, m.value, m.unit);
        ctx.check(false, (e as Error).message);
        return;
      }
      for (const m of scalingMetrics(results, spec)) ctx.metric(m.name, m.value, m.unit, m.samples);
      ctx.metric('wall', wallMs, 'ms');
      for (const m of accelMetrics(accel)) ctx.metric(m.name, m.value, m.unit);
      if (results.length > 0) {
        process.stderr.write(
          `${ctx.suite}/${name} (${accel}, ${ctx.cpus} vCPUs${pin ? ', pair k on CPU k' : ''}): ${rounds} rounds of a ` +
            `${windowMs} ms window per mode, each after ${WARMUP} round trips of warm-up per pair\n` +
            `${scalingTable(results, spec)}\n`,
        );
      }
      if (ok) ctx.equal(results.map((r) => r.name), modes, `${prog} reports every mode, in order`);
      for (const r of results) {
        const pairs = modes.indexOf(r.name) % 2 === 0 ? 1 : spec.pairs;
        for (const p of scaleProblems(r, rounds, pairs)) ctx.check(false, p);
        ctx.check(r.pinned === (pin ? 1 : 0), `${r.name} ran ${pin ? 'pinned' : 'unpinned'}`);
      }
    },
  };
}

export const suite: Suite = {
  name: 'perf-scaling',
  scenarios: [
    // Window-bound: 20 rounds of 10 windows of 0.15 s (and 20 ms before
    // each), plus the pairs' set-up, per scenario.
    scalingScenario('pinned', true),
    scalingScenario('unpinned', false),
  ],
};
