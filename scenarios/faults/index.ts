// faults: allocation failures injected into every ioctl path of every
// module (and into the opens that make a team).  The kernel's fault
// injection (failslab, fail_page_alloc: debugfs) is scoped to the calls
// under test - only the nexus-faults task that makes a call, while it makes
// it (make-it-fail or fail-nth), and only allocations whose call stack runs
// through the Nexus modules' code (require-start/-end, from where kallsyms,
// /sys/module/<m>/sections and /proc/modules put the modules) - so neither
// the runner (node) nor the rest of the kernel sees a failure.
//
//   every-allocation   each allocation of each call fails in turn (fail-nth
//                      1, 2, 3, ... until the call makes no more), scoped to
//                      the span of all the tree's modules: every allocation
//                      site every path reaches is failed once
//   sweep-all-modules  make-it-fail with probability and interval swept
//                      (model.ts SWEEPS: 100 %, 50 %, 10 %; every 2nd, 3rd,
//                      7th), same scope: several failures in one call
//   sweep-each-module  the same sweep, scoped to one module's code at a time
//
// nexus-faults (scenarios/native/nexus-faults.c) makes the calls, with valid
// arguments, and checks after each with injection off: it returned its
// success status or B_NO_MEMORY and nothing else; what it made works, what
// it failed to make does not exist; the Nexus counters, the caller's
// descriptors and the file systems it used are back as before.  Around each
// run the suite checks that no call hung, no nexus-faults process is left,
// the counters are back to their baseline and the kernel logged no splat;
// the runner's kmemleak scan after the suite (debug kernels) finds what no
// counter sees.  debugfs is put back as it was after each scenario.
//
// Needs a kernel with CONFIG_FAILSLAB, CONFIG_FAIL_PAGE_ALLOC and
// CONFIG_FAULT_INJECTION_DEBUG_FS (the lab's debug kernels,
// images/debug/debug.config); elsewhere every scenario is a skip that says
// so.  Without CONFIG_FAULT_INJECTION_STACKTRACE_FILTER (6.1 offers none on
// x86_64) failures are scoped to the calling task alone - every allocation
// of the call's path may fail, the VFS's too - and sweep-each-module skips.
//
// Parameters: faults.nth_rounds (every-allocation's rounds, 2: a call's
// allocation count jitters with the sanitizers' own allocations, so a round
// may step over a site), faults.rounds (sweep rounds per setting, 1),
// faults.sweeps (how many of the six settings, 6), faults.max_nth (64),
// faults.call_timeout (seconds, 60).
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ctx, Suite } from '../runner/api.js';
import { NEXUS_DEVICE } from '../lib/guest.js';
import { KernelLog } from '../lib/kmsg.js';
import { outOfTreeModules } from '../lib/leaks.js';
import { checkNativeRun, runNative } from '../lib/proc.js';
import { checkCountersBack, checkNoLeftovers, countersBaseline, kernelSplats } from '../lib/storm.js';
import {
  FAIL_ATTRS,
  SWEEPS,
  attrWrites,
  driverArgs,
  faultsOptions,
  injectionText,
  moduleTextRange,
  moduleTextSymbols,
  opsTable,
  parseAddress,
  parseDriverOutput,
  parseProcModules,
  quietWrites,
  rangeText,
  skipped,
  spanOf,
  summaryProblems,
  totalSites,
  type DriverRun,
  type FaultsOptions,
  type FaultsSummary,
  type Injection,
  type ModuleLayout,
  type TextRange,
  type Write,
} from './model.js';

const DRIVER = fileURLToPath(new URL('../native/nexus-faults', import.meta.url));
const DEBUGFS = '/sys/kernel/debug';
const COMM = 'nexus-faults';
/** nexus-faults's own deadline per run, and the room the scenario gives it beyond. */
const RUN_DEADLINE_S = 1800;
const SLACK_MS = 60_000;
const SETTLE_MS = 15_000;
/** The runner's deadline for a scenario; the real ones are the driver's and the lab's. */
const TIMEOUT_MS = 6 * 3600_000;

/** Why fault injection cannot be used here, or undefined. */
function unavailable(): string | undefined {
  const debug = 'only the debug kernels (6.1-debug, 6.12-debug) have it';
  if (!existsSync(join(DEBUGFS, 'failslab')))
    return `this kernel has no fault injection (no ${DEBUGFS}/failslab: CONFIG_FAILSLAB, CONFIG_FAULT_INJECTION_DEBUG_FS); ${debug}`;
  if (!existsSync(join(DEBUGFS, 'fail_page_alloc'))) return `this kernel has no ${DEBUGFS}/fail_page_alloc (CONFIG_FAIL_PAGE_ALLOC); ${debug}`;
  if (!existsSync('/proc/self/fail-nth')) return `this kernel has no /proc/<pid>/fail-nth; ${debug}`;
  return undefined;
}

/**
 * The stack filter (CONFIG_FAULT_INJECTION_STACKTRACE_FILTER, which 6.1
 * does not offer on x86_64): without it failures are scoped by task alone.
 */
function hasStackFilter(): boolean {
  return FAIL_ATTRS.every((a) => existsSync(join(DEBUGFS, a, 'require-start')));
}

const NO_FILTER = 'this kernel has no stack trace filter for fault injection (6.1 offers none on x86_64): failures are scoped to the calling task alone';

function read(path: string): string {
  return readFileSync(path, 'utf8');
}

function sectionsOf(name: string): Record<string, bigint> {
  const dir = `/sys/module/${name}/sections`;
  const out: Record<string, bigint> = {};
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const s of names) {
    try {
      const v = parseAddress(read(join(dir, s)));
      if (v !== undefined && v !== 0n) out[s] = v;
    } catch {
      // unreadable: not ours to know
    }
  }
  return out;
}

/** Where the tree's modules' code is, each and all together; no span: the kernel cannot filter by it. */
interface Scope {
  modules: { name: string; range: TextRange }[];
  span: TextRange | undefined;
}

function findScope(ctx: Ctx): Scope {
  const tree = outOfTreeModules();
  if (tree.length === 0) ctx.skip('no out-of-tree module is loaded: no Nexus tree to inject into');
  const procModules = parseProcModules(read('/proc/modules'));
  let kallsyms = '';
  try {
    kallsyms = read('/proc/kallsyms');
  } catch {
    // without it, sections and /proc/modules still say enough
  }
  const layouts: ModuleLayout[] = procModules.map((m) => ({
    name: m.name,
    sections: sectionsOf(m.name),
    symbols: tree.includes(m.name) ? moduleTextSymbols(kallsyms, m.name) : [],
    base: m.base,
    size: m.size,
  }));
  const modules: Scope['modules'] = [];
  for (const name of tree) {
    const layout = layouts.find((l) => l.name === name);
    const range = layout && moduleTextRange(layout, layouts);
    if (!range) ctx.skip(`where module ${name}'s code is cannot be told (no sections, symbols or address: kptr_restrict?)`);
    modules.push({ name, range });
  }
  const span = spanOf(modules.map((m) => m.range));
  for (const m of modules) process.stderr.write(`faults: ${m.name} text ${rangeText(m.range)}\n`);
  process.stderr.write(`faults: all modules ${rangeText(span)}\n`);
  if (!hasStackFilter()) {
    process.stderr.write(`faults: ${NO_FILTER}\n`);
    return { modules, span: undefined };
  }
  return { modules, span };
}

/** Every fault attribute in debugfs: ours and the others (kept from failing). */
function faultAttrs(): string[] {
  return readdirSync(DEBUGFS).filter((d) => /^fail/.test(d) && existsSync(join(DEBUGFS, d, 'probability')));
}

/**
 * Write a run's settings, keeping what each file held first (once per
 * scenario) so that the scenario's end puts it back.
 */
class Debugfs {
  private readonly saved = new Map<string, string>();

  constructor(ctx: Ctx) {
    ctx.defer(() => this.restore());
  }

  write(attr: string, writes: readonly Write[]): void {
    for (const [file, value] of writes) {
      const path = join(DEBUGFS, attr, file);
      if (!existsSync(path)) continue;
      if (!this.saved.has(path)) this.saved.set(path, read(path).trim());
      writeFileSync(path, value);
    }
  }

  /** Probability 0 first: nothing fails while the rest goes back. */
  restore(): void {
    const entries = [...this.saved].sort(([a], [b]) => Number(b.endsWith('/probability')) - Number(a.endsWith('/probability')));
    for (const [path, value] of entries) {
      try {
        writeFileSync(path, value);
      } catch (e) {
        process.stderr.write(`faults: cannot restore ${path}: ${(e as Error).message}\n`);
      }
    }
  }
}

function timesLeft(): number {
  return FAIL_ATTRS.reduce((n, a) => n + Number(read(join(DEBUGFS, a, 'times')).trim()), 0);
}

/** Set every fault attribute for a run scoped to `range` (undefined: the task alone). */
function configure(fs: Debugfs, range: TextRange | undefined, inj: Injection | 'nth'): void {
  for (const attr of faultAttrs()) {
    if ((FAIL_ATTRS as readonly string[]).includes(attr)) fs.write(attr, attrWrites(attr as (typeof FAIL_ATTRS)[number], range, inj));
    else fs.write(attr, quietWrites());
  }
}

function scratch(ctx: Ctx): string {
  const dir = `/var/tmp/nexus-faults-${process.pid}-${ctx.scenario}`;
  const cleanup = () => {
    for (const m of ['mnt', 'mnt-new']) spawnSync('umount', ['-l', join(dir, m)], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  };
  cleanup();
  mkdirSync(dir, { recursive: true });
  ctx.defer(cleanup);
  return dir;
}

interface Tally {
  runs: number;
  calls: number;
  nomem: number;
  injected: number;
  sites: number;
  ms: number;
}

/**
 * One nexus-faults run: it must end by itself with its summary, find
 * nothing wrong, have failed allocations at all, and leave no process, no
 * counter moved and no splat behind.
 */
async function driverRun(ctx: Ctx, o: FaultsOptions, run: DriverRun, label: string, dir: string, tally: Tally): Promise<FaultsSummary | undefined> {
  const log = KernelLog.mark();
  const before = timesLeft();
  const started = performance.now();
  const res = await runNative(ctx, DRIVER, driverArgs(o, run, dir, RUN_DEADLINE_S), RUN_DEADLINE_S * 1000 + SLACK_MS);
  const injected = before - timesLeft();
  let summary: FaultsSummary | undefined;
  try {
    const out = parseDriverOutput(res.stdout);
    if ('hang' in out) ctx.check(false, `${label}: every call returns (within faults.call_timeout s)`, 'returned', `${out.hang} did not`);
    else summary = out.summary;
  } catch (e) {
    ctx.check(false, `${label}: ${(e as Error).message}`);
  }
  if (res.code === 4) ctx.skip('nexus-faults found no /proc/thread-self/fail-nth');
  if (res.code === 3) ctx.skip(`nexus-faults could not open ${NEXUS_DEVICE}`);
  checkNativeRun(ctx, res, {
    name: `${COMM} (${label})`,
    deadlineS: RUN_DEADLINE_S,
    slackMs: SLACK_MS,
    codes: [0, 1, 5],
    ran: 'runs to its summary',
  });
  if (summary) {
    const problems = summaryProblems(summary);
    ctx.check(problems.length === 0,
      `${label}: every call returned its status or B_NO_MEMORY, what it made works, what it failed to make is not there, nothing it used is left`,
      'nothing wrong', problems.slice(0, 30));
    ctx.check(!summary.deadline_hit, `${label}: nexus-faults made every call before its deadline of ${RUN_DEADLINE_S} s`);
    ctx.check(summary.calls > 0, `${label}: calls were made`, '> 0', summary.calls);
    // At random (probability under 100 %) a small module may get no failure in a run: the scenario's total is checked then.
    if ((run.injection?.probability ?? 100) === 100)
      ctx.check(injected > 0, `${label}: allocations were failed`, '> 0', injected);
    const skips = skipped(summary);
    if (skips.length > 0) process.stderr.write(`faults: ${label}: skipped: ${skips.join('; ')}\n`);
    process.stderr.write(`faults: ${label}: ${summary.calls} calls, ${summary.nomem} B_NO_MEMORY, ${injected} allocations failed, ` +
      `${summary.wall_ms} ms\n${opsTable(summary)}\n`);
    tally.calls += summary.calls;
    tally.nomem += summary.nomem;
    tally.sites += run.mode === 'nth' ? totalSites(summary) : 0;
  }
  tally.runs++;
  tally.injected += injected;
  tally.ms += performance.now() - started;
  await checkNoLeftovers(ctx, COMM, SETTLE_MS);
  const splats = kernelSplats(log.splats());
  ctx.check(splats.length === 0, `${label}: the kernel logs no splat`, 'none', splats.slice(0, 10));
  return summary;
}

function record(ctx: Ctx, t: Tally): void {
  ctx.check(t.injected > 0, "allocations were failed under the Nexus modules (the stack filter's range holds their code)", '> 0', t.injected);
  ctx.metric('calls', t.calls, 'calls');
  ctx.metric('b-no-memory', t.nomem, 'calls');
  ctx.metric('allocations-failed', t.injected, 'allocations');
  if (t.sites > 0) ctx.metric('allocation-sites', t.sites, 'sites');
  ctx.metric('faults-wall', Math.round(t.ms), 'ms');
  process.stderr.write(`faults: ${ctx.scenario}: ${t.runs} run(s), ${t.calls} calls, ${t.nomem} B_NO_MEMORY, ` +
    `${t.injected} allocations failed${t.sites ? `, ${t.sites} allocation sites` : ''}, ${Math.round(t.ms)} ms\n`);
}

function scopeText(scope: Scope): string {
  return scope.span ? 'all modules' : 'the calling task alone';
}

/** What every scenario starts with: the skip when there is nothing to inject with, the scope, the options. */
function prepare(ctx: Ctx): { o: FaultsOptions; scope: Scope; fs: Debugfs; dir: string } {
  const why = unavailable();
  if (why) ctx.skip(why);
  if (!existsSync(NEXUS_DEVICE)) ctx.skip(`${NEXUS_DEVICE} is missing: no Nexus module loaded`);
  if (!existsSync(DRIVER)) ctx.skip(`nexus-faults is not installed at ${DRIVER}`);
  let o: FaultsOptions;
  try {
    o = faultsOptions((name, fallback) => ctx.param(name, fallback));
  } catch (e) {
    ctx.check(false, (e as Error).message);
    ctx.skip('bad parameters');
  }
  const scope = findScope(ctx);
  const fs = new Debugfs(ctx);
  return { o, scope, fs, dir: scratch(ctx) };
}

export const suite: Suite = {
  name: 'faults',
  scenarios: [
    {
      name: 'every-allocation',
      timeoutMs: TIMEOUT_MS,
      async run(ctx) {
        const { o, scope, fs, dir } = prepare(ctx);
        const base = countersBaseline(ctx);
        const tally: Tally = { runs: 0, calls: 0, nomem: 0, injected: 0, sites: 0, ms: 0 };
        configure(fs, scope.span, 'nth');
        await driverRun(ctx, o, { mode: 'nth' }, `fail-nth, ${scopeText(scope)}`, dir, tally);
        await checkCountersBack(ctx, base, SETTLE_MS);
        record(ctx, tally);
      },
    },
    {
      name: 'sweep-all-modules',
      timeoutMs: TIMEOUT_MS,
      async run(ctx) {
        const { o, scope, fs, dir } = prepare(ctx);
        const base = countersBaseline(ctx);
        const tally: Tally = { runs: 0, calls: 0, nomem: 0, injected: 0, sites: 0, ms: 0 };
        for (const inj of SWEEPS.slice(0, o.sweeps)) {
          configure(fs, scope.span, inj);
          await driverRun(ctx, o, { mode: 'sweep', injection: inj }, `${injectionText(inj)}, ${scopeText(scope)}`, dir, tally);
        }
        await checkCountersBack(ctx, base, SETTLE_MS);
        record(ctx, tally);
      },
    },
    {
      name: 'sweep-each-module',
      timeoutMs: TIMEOUT_MS,
      async run(ctx) {
        const { o, scope, fs, dir } = prepare(ctx);
        if (!scope.span) ctx.skip(`${NO_FILTER}, not to one module's code`);
        const base = countersBaseline(ctx);
        const tally: Tally = { runs: 0, calls: 0, nomem: 0, injected: 0, sites: 0, ms: 0 };
        for (const m of scope.modules) {
          for (const inj of SWEEPS.slice(0, o.sweeps)) {
            configure(fs, m.range, inj);
            await driverRun(ctx, o, { mode: 'sweep', injection: inj }, `${injectionText(inj)}, ${m.name} only`, dir, tally);
          }
        }
        await checkCountersBack(ctx, base, SETTLE_MS);
        record(ctx, tally);
      },
    },
  ],
};
