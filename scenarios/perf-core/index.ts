// perf-core: Nexus ports and semaphores against Linux's IPC family, in the
// same guest, so the ratios mean something even under TCG where every
// absolute time is several times native:
// - round-trips: between two teams (two processes), ports (64 B and 4 KiB
//   messages) against a pipe pair, a POSIX message queue pair and a SysV
//   message queue pair; semaphore ping-pong against a futex-based POSIX
//   semaphore pair and a SysV semaphore set;
// - timeouts: how late a 1 ms acquire_sem_etc and a 1 ms read_port_etc fire
//   (B_RELATIVE_TIMEOUT, nobody releases or writes), against a 1 ms
//   CLOCK_MONOTONIC timerfd.
//
// The tight loops run in C (nexus-bench, scenarios/native/nexus-bench.c), in
// rounds with the modes interleaved; this suite records median, p99 and each
// round's median of every mode, the ratio of each Nexus median to its
// baseline's (and the range of the per-round ratios), and the accelerator.
// It checks only that the program succeeded and that its numbers are sane.
import { fileURLToPath } from 'node:url';
import type { Suite } from '../runner/api.js';
import type { BenchSpec } from './bench.js';
import { benchScenario } from './run.js';

const BENCH = fileURLToPath(new URL('../native/nexus-bench', import.meta.url));

export const ROUND_TRIPS: BenchSpec = {
  modes: [
    'port-rtt-64',
    'port-rtt-4096',
    'sem-pingpong',
    'pipe-rtt-64',
    'pipe-rtt-4096',
    'mq-rtt-64',
    'mq-rtt-4096',
    'sysv-msg-rtt-64',
    'sysv-msg-rtt-4096',
    'posix-sem-pingpong',
    'sysv-sem-pingpong',
  ],
  baselines: [
    { mode: 'port-rtt-64', baseline: 'pipe-rtt-64', metric: 'vs-pipe' },
    { mode: 'port-rtt-64', baseline: 'mq-rtt-64', metric: 'vs-mq' },
    { mode: 'port-rtt-64', baseline: 'sysv-msg-rtt-64', metric: 'vs-sysv-msg' },
    { mode: 'port-rtt-4096', baseline: 'pipe-rtt-4096', metric: 'vs-pipe' },
    { mode: 'port-rtt-4096', baseline: 'mq-rtt-4096', metric: 'vs-mq' },
    { mode: 'port-rtt-4096', baseline: 'sysv-msg-rtt-4096', metric: 'vs-sysv-msg' },
    { mode: 'sem-pingpong', baseline: 'posix-sem-pingpong', metric: 'vs-posix-sem' },
    { mode: 'sem-pingpong', baseline: 'sysv-sem-pingpong', metric: 'vs-sysv-sem' },
  ],
};

export const TIMEOUTS: BenchSpec = {
  modes: ['sem-timeout-1ms', 'port-timeout-1ms', 'timerfd-1ms'],
  baselines: [
    { mode: 'sem-timeout-1ms', baseline: 'timerfd-1ms', metric: 'vs-timerfd' },
    { mode: 'port-timeout-1ms', baseline: 'timerfd-1ms', metric: 'vs-timerfd' },
  ],
  lateness: ['sem-timeout-1ms', 'port-timeout-1ms', 'timerfd-1ms'],
};

export const suite: Suite = {
  name: 'perf-core',
  scenarios: [
    // Sized for TCG, where one round trip costs 60-125 us: eleven modes of
    // 5 x 1100 round trips took 7 s there (6.12, 1 vCPU), far less under KVM.
    benchScenario({
      name: 'round-trips', program: BENCH, spec: ROUND_TRIPS,
      iterations: 1000, warmup: 100, rounds: 5, deadlineS: 90, what: 'round trips',
    }),
    // 3 modes x 5 x 110 timeouts of 1 ms (plus 0.1-0.2 ms late): 2 s under TCG.
    benchScenario({
      name: 'timeouts', program: BENCH, spec: TIMEOUTS,
      iterations: 100, warmup: 10, rounds: 5, deadlineS: 40, what: '1 ms timeouts',
    }),
  ],
};
