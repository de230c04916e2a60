// perf-ipc: Nexus thread messages and areas against what Linux programs use
// for the same work, in the same guest, so the ratios mean something even
// under TCG where every absolute time is several times native:
// - round-trips: send_data / receive_data between two threads of one team
//   (spawn_thread + resume_thread) and between two teams (a forked child),
//   64 B and 4 KiB, against an eventfd pair and a pipe pair between two
//   pthreads and between two processes;
// - areas: create_area + clone_area (two mappings of the same pages) + first
//   touch of every page + delete_area of both, 4 KiB, 64 KiB and 1 MiB,
//   against POSIX shm_open + ftruncate + two mmaps + touch + munmaps +
//   shm_unlink and SysV shmget + two shmats + touch + shmdts + IPC_RMID.
//
// The loops run in C (nexus-bench-ipc, scenarios/native/nexus-bench-ipc.c),
// in rounds with the modes interleaved; the suite records median, p99 and
// each round's median of every mode, the ratio of each Nexus median to its
// baseline's (and the range of the per-round ratios), and the accelerator
// (perf-core/run.ts).  It checks only that the program succeeded and that its
// numbers are sane: no timing is pass/fail.
import { fileURLToPath } from 'node:url';
import type { Suite } from '../runner/api.js';
import type { BenchSpec } from '../perf-core/bench.js';
import { benchScenario } from '../perf-core/run.js';

const BENCH = fileURLToPath(new URL('../native/nexus-bench-ipc', import.meta.url));

export const ROUND_TRIPS: BenchSpec = {
  modes: [
    'data-threads-64',
    'data-threads-4096',
    'eventfd-threads',
    'pipe-threads-64',
    'pipe-threads-4096',
    'data-teams-64',
    'data-teams-4096',
    'eventfd-teams',
    'pipe-teams-64',
    'pipe-teams-4096',
  ],
  baselines: [
    { mode: 'data-threads-64', baseline: 'eventfd-threads', metric: 'vs-eventfd' },
    { mode: 'data-threads-64', baseline: 'pipe-threads-64', metric: 'vs-pipe' },
    { mode: 'data-threads-4096', baseline: 'pipe-threads-4096', metric: 'vs-pipe' },
    { mode: 'data-teams-64', baseline: 'eventfd-teams', metric: 'vs-eventfd' },
    { mode: 'data-teams-64', baseline: 'pipe-teams-64', metric: 'vs-pipe' },
    { mode: 'data-teams-4096', baseline: 'pipe-teams-4096', metric: 'vs-pipe' },
  ],
};

const SIZES = ['4k', '64k', '1m'] as const;

export const AREAS: BenchSpec = {
  modes: [...SIZES.map((s) => `area-${s}`), ...SIZES.map((s) => `posix-shm-${s}`), ...SIZES.map((s) => `sysv-shm-${s}`)],
  baselines: SIZES.flatMap((s) => [
    { mode: `area-${s}`, baseline: `posix-shm-${s}`, metric: 'vs-posix-shm' },
    { mode: `area-${s}`, baseline: `sysv-shm-${s}`, metric: 'vs-sysv-shm' },
  ]),
};

export const suite: Suite = {
  name: 'perf-ipc',
  scenarios: [
    // Sized for TCG, where one round trip costs 17-130 us: ten modes of
    // 5 x 1100 round trips took 5 s there (6.12, 1 vCPU).
    benchScenario({
      name: 'round-trips', program: BENCH, spec: ROUND_TRIPS,
      iterations: 1000, warmup: 100, rounds: 5, deadlineS: 90, what: 'round trips',
    }),
    // A 1 MiB cycle faults 256 pages in: 8 ms under TCG.  Nine modes of
    // 5 x 110 cycles took 15-25 s there, depending on the host's load.
    benchScenario({
      name: 'areas', program: BENCH, spec: AREAS,
      iterations: 100, warmup: 10, rounds: 5, deadlineS: 90, what: 'create/map/touch/delete cycles',
    }),
  ],
};
