// perf-node-monitor: the node monitor against inotify doing the same watch,
// in the same guest, on the same directory (a tmpfs under /tmp), so that
// the ratios mean something even under TCG:
// - latency: one file operation, then the one message that tells of it
//   read by the watcher - a create (B_ENTRY_CREATED / IN_CREATE), a chmod
//   (B_STAT_CHANGED / IN_ATTRIB), a rename (B_ENTRY_MOVED / IN_MOVED_FROM
//   + IN_MOVED_TO);
// - throughput: a burst of 1,000 creates while the watcher reads on another
//   thread, from the first create to the last event read: ns per event,
//   and events/s.
//
// The loops run in C (nexus-bench-nm, scenarios/native/nexus-bench-nm.c),
// in rounds with the modes interleaved; the suite records median, p99 and
// each round's median of every mode, the ratio of each node monitor median
// to inotify's (and the range of the per-round ratios), events/s for the
// bursts, and the accelerator (perf-core/run.ts).  Only success and sane
// numbers are checked: no timing is pass/fail.
import { fileURLToPath } from 'node:url';
import type { Ctx, Scenario, Suite } from '../runner/api.js';
import type { BenchSpec } from '../perf-core/bench.js';
import { benchScenario } from '../perf-core/run.js';

const BENCH = fileURLToPath(new URL('../native/nexus-bench-nm', import.meta.url));

export const LATENCY: BenchSpec = {
  modes: ['nm-create', 'inotify-create', 'nm-chmod', 'inotify-chmod', 'nm-rename', 'inotify-rename'],
  baselines: ['create', 'chmod', 'rename'].map((op) => ({ mode: `nm-${op}`, baseline: `inotify-${op}`, metric: 'vs-inotify' })),
};

export const THROUGHPUT: BenchSpec = {
  modes: ['nm-burst-1000', 'inotify-burst-1000'],
  baselines: [{ mode: 'nm-burst-1000', baseline: 'inotify-burst-1000', metric: 'vs-inotify' }],
};

/** Events per second from a burst's ns per event (0 for none). */
export function eventsPerSecond(nsPerEvent: number): number {
  return nsPerEvent > 0 ? Math.round(1e9 / nsPerEvent) : 0;
}

/**
 * A benchmark scenario whose burst modes' medians (and p99s) are also
 * given as events per second: `<mode>.events-per-s` (and `.p99-events-per-s`,
 * the rate of the slowest 1%), with the median's per-round samples as rates.
 */
export function withRates(sc: Scenario): Scenario {
  return {
    ...sc,
    async run(ctx: Ctx) {
      const metric = ctx.metric.bind(ctx);
      const rated: Ctx = {
        ...ctx,
        metric(name, value, unit, samples) {
          if (samples) metric(name, value, unit, samples);
          else metric(name, value, unit);
          const m = /^(.*-burst-\d+)\.(median|p99)$/.exec(name);
          if (m && unit === 'ns') {
            const rate = `${m[1]}.${m[2] === 'median' ? '' : 'p99-'}events-per-s`;
            // The median's per-round samples, as rates (each round's events/s).
            if (samples) metric(rate, eventsPerSecond(value), 'events/s', samples.map(eventsPerSecond));
            else metric(rate, eventsPerSecond(value), 'events/s');
          }
        },
      };
      await sc.run(rated);
    },
  };
}

export const suite: Suite = {
  name: 'perf-node-monitor',
  scenarios: [
    // Sized for TCG, where a create and its event cost 30-100 us (median;
    // p99 up to 0.5 ms): six modes of 5 x 220 samples took 1 s there.
    benchScenario({
      name: 'latency', program: BENCH, spec: LATENCY,
      iterations: 200, warmup: 20, rounds: 5, deadlineS: 120, what: 'operations, each until its event was read',
    }),
    // A burst is 1,000 creates and 1,000 unlinks with their events: two
    // modes of 5 x 11 bursts took 14 s under TCG.
    withRates(benchScenario({
      name: 'throughput', program: BENCH, spec: THROUGHPUT,
      iterations: 10, warmup: 1, rounds: 5, deadlineS: 240, what: 'bursts of 1,000 creates (ns per event)',
    })),
  ],
};
