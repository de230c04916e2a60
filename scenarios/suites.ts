// The suites the guest runner knows, shared by the host (plan validation,
// --help) and the guest (loading).  Each lives in scenarios/<name>/index.ts.
import { fuzzDeadlineS, type Param } from './fuzz/model.js';
import type { Primitive } from './runner/events.js';
import { stressDeadlineS } from './stress/model.js';

export interface SuiteInfo {
  name: string;
  description: string;
  /**
   * The primitives the suite tests (the evidence matrix's rows): a tree
   * lacking all of them skips the suite as a whole.  None: it tests the
   * modules as a whole (races, fuzz, ...) and skips per scenario.
   */
  primitives?: Primitive[];
  /** Takes the guest down on purpose: never part of a profile. */
  destructive?: boolean;
  /**
   * Virtual CPUs the suite needs to mean anything (races need two): the plan
   * runs it in a guest with at least this many.  Default 1.
   */
  cpus?: number;
  /**
   * How long the suite may take under KVM, with room to spare, in
   * milliseconds (default 120 s).  The lab gives the guest runner the sum of
   * a job's suites' budgets, times the accelerator's factor (4 under TCG)
   * and --timeout-scale.
   */
  budgetMs?: number;
  /**
   * The suite's own wall-clock deadline in seconds, from the run
   * parameters (fuzz.calls or fuzz.deadline, ...): the lab adds it to the
   * runner's deadline as it is, beside the scaled budget (which then holds
   * the suite's fixed work: set-up, reaping, checks).
   */
  ownDeadlineS?: (param: Param) => number;
}

export const SUITES: readonly SuiteInfo[] = [
  { name: 'smoke', primitives: ['teams'], description: '/dev/nexus is there; teams come and go with the processes that open it' },
  { name: 'ports', primitives: ['ports'], description: 'every port ioctl: limits, blocking and timeouts, FIFO, close/delete/owner-exit wakeups, info' },
  { name: 'sems', primitives: ['sems'], description: 'every semaphore ioctl: negative counts, release flags, FIFO, timeouts, delete/owner-exit wakeups' },
  {
    name: 'teams',
    primitives: ['teams'],
    description: 'teams die with their process and take their ports and semaphores along; the fork rule; a reused pid or a clone/vfork child is a new team',
  },
  {
    name: 'threads',
    primitives: ['threads'],
    description: 'spawn_thread runs nothing until resumed; the mailbox (blocking, FIFO senders, truncation, every timeout, signals); exit codes; every death wakes its waiters and senders; across teams',
    // 7.4-7.9 s under TCG on 1 vCPU (6.1 and 6.12), mostly fixed waits
    // (timeouts of 100-300 ms, a 1 s sleeper), so KVM is not much faster;
    // a kernel that forgets a wakeup leaves calls to their 5-20 s deadlines.
    budgetMs: 20_000,
  },
  {
    name: 'areas',
    primitives: ['areas'],
    description: 'shared pages across teams, clone rights that never grow (mmap and mprotect refused), owner-only changes, resize seen by clones, transfer, owner exit with mappings alive',
    // 1.6 s under TCG on 1 vCPU: no waits but the agents' start.
    budgetMs: 10_000,
  },
  {
    name: 'vrefs',
    primitives: ['vrefs'],
    description: 'vrefs: create, acquire, release and open with secret per-team keys (forged and foreign keys refused), open never grants more than the creator, team exit drops slots; messages carrying vrefs: only held vrefs travel, all-or-nothing minting, overflow keeps the message, every drop releases its references',
    // 3.5-4 s under TCG on 1 vCPU (6.1 and 6.12): no waits but the agents'
    // start and the counters settling.
    budgetMs: 15_000,
  },
  {
    name: 'node-monitor',
    primitives: ['node-monitor'],
    description: 'every node monitor opcode and field against stat(2), who is told (directory, node, B_WATCH_NAME, B_WATCH_CHILDREN, OR-ed flags, interim stat), moves, renames over entries, hard links, xattrs, tmpfs and loop ext4 mounts; watches end with stop, port, team and node; a flooded listener never blocks and counts its losses; 1,000 watches; rights across users',
    // 32-34 s under TCG on 1 vCPU (6.1 and 6.12), mostly fixed waits: each
    // step listens 300 ms for events that must not come (about 80 steps), so
    // KVM is not much faster; a kernel that loses events leaves steps to
    // their 5 s deadlines.
    budgetMs: 45_000,
  },
  {
    name: 'races',
    description: 'create, find and info against delete and team teardown; thread exit against send and wait; area clone, transfer and resize against teardown and touching pages; watch stops, port deletion, team exit and unmounts against events and slots being delivered; vref release against acquire - from two CPUs at once',
    cpus: 2,
    // Time-bound, not speed-bound: eighteen drivers of races.seconds (8 s)
    // each, 150 s under TCG on 2 vCPUs (6.12), about the same under KVM. A
    // module that corrupts itself leaves each driver hanging to its deadline
    // (+20 s). A longer races.seconds needs --timeout-scale.
    budgetMs: 120_000,
  },
  {
    name: 'hardening',
    description: 'rights across users, per-user limits, signal restarts, pid, user and mount namespaces, sealed memfds - for every primitive (vref keys, caps, watches and queued events too)',
    cpus: 2,
    // About 45 s under TCG on 2 vCPUs with the fixed module, 55 s with the
    // node monitor's nine scenarios: mostly fixed 2 s waits of the signal
    // scenarios, so KVM is not much faster.
    budgetMs: 40_000,
  },
  {
    name: 'fuzz',
    description: 'every /dev/nexus, /dev/nexus_area and /dev/nexus_node_monitor ioctl with hostile arguments from several processes, some SIGKILLed mid-call, while a churner makes events in the watched directory',
    cpus: 2,
    // Two million calls: 19-60 s under TCG on 2 vCPUs with the fixed module
    // (34,000-107,000 calls/s with threads and areas, by host load).  fuzz.calls scales
    // it, and nexus-fuzz's own deadline (ownDeadlineS) is the runner's too.
    budgetMs: 30_000,
    ownDeadlineS: fuzzDeadlineS,
  },
  {
    name: 'stress',
    description: 'kill storms: many teams blocking on each other\'s ports, semaphores, mailboxes and thread exits, touching areas, sending vrefs and reading events while a tmpfs is unmounted under their watches, SIGKILLed at random',
    cpus: 2,
    // 5,000 teams: 26-51 s under TCG on 2 vCPUs with threads and areas
    // (97-194 teams/s), 40-125 s with vrefs, watches and the churner's tmpfs
    // too (40-127 teams/s, by host load; 6.1 and 6.12), the slab and counter
    // checks included; stress.teams scales it, and the storm's own
    // deadline (ownDeadlineS) is the runner's too.
    budgetMs: 75_000,
    ownDeadlineS: stressDeadlineS,
  },
  {
    name: 'faults',
    description: 'allocation failures (failslab, fail_page_alloc) injected into every ioctl of every module and the opens, scoped to the calling task and to the modules\' code: each allocation in turn (fail-nth), then probability and interval swept, over all modules and one at a time; every call returns B_NO_MEMORY or succeeds, what it made works, what it failed to make is gone, nothing leaks, no splat (debug kernels only: elsewhere a skip)',
    // Thread, area and node monitor calls are made from threads and
    // processes of their own (a first call makes a record): 2 vCPUs.
    cpus: 2,
    // 6.12-debug under TCG on 2 vCPUs, the host busy with three other
    // guests: every-allocation 95-143 s (260 calls), sweep-all-modules
    // 116 s, sweep-each-module 321 s (6 settings each) - about 9 minutes,
    // within this budget times TCG's 4 and the debug kernels' slowdown 3.
    budgetMs: 150_000,
  },
  {
    name: 'perf-core',
    primitives: ['ports', 'sems'],
    description: 'benchmark: port and semaphore round trips between two teams against pipes, POSIX and SysV message queues and semaphores; 1 ms timeout lateness against a timerfd',
  },
  {
    name: 'perf-ipc',
    primitives: ['threads', 'areas'],
    description: 'benchmark: send_data round trips between threads and between teams against eventfd and pipes; area create/clone/touch/delete against POSIX and SysV shared memory',
  },
  {
    name: 'perf-node-monitor',
    primitives: ['node-monitor'],
    description: 'benchmark: node monitor event latency (create, chmod, rename to message read) and burst throughput (events/s) against inotify on the same directory',
    // 15 s under TCG on 1 vCPU (6.12): the latencies take 1 s, the
    // bursts (100,000 creates and unlinks with their events) the rest.
    budgetMs: 60_000,
  },
  {
    name: 'perf-scaling',
    primitives: ['ports', 'sems'],
    description: 'benchmark: throughput of two independent port (semaphore) ping-pong pairs against one pair, pinned to a CPU each and unpinned, against pipes (POSIX and SysV semaphores) on the same guest: do unrelated objects contend?',
    // A pair keeps about one CPU busy: one pair against two needs two.
    cpus: 2,
    // Window-bound, not speed-bound: two scenarios of 20 rounds of 10
    // windows of 0.15 s plus set-up, 37-40 s each under TCG on 2 vCPUs (6.1
    // and 6.12, the host loaded by kernel compiles), about as long under
    // KVM; scaling.rounds and scaling.window_ms size it.
    budgetMs: 120_000,
  },
  {
    name: 'panic',
    description: 'crashes the guest kernel on purpose (sysrq c): checks the lab reports kernel-splat',
    destructive: true,
  },
];

export function suiteNames(): string[] {
  return SUITES.map((s) => s.name);
}
