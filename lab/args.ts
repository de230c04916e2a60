// The command line of nexus-lab: the help text and the parse of argv into a
// command and RunOptions.  Kept apart from cli.ts (which runs on import) so
// the parse can be tested alone.
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { MAX_CPUS, PROFILES, describeSuites, parseShard } from './plan.js';
import { NAMED_PLANS, namedPlan, planOptions, type NamedPlan } from './nightly.js';
import type { RunOptions } from './run.js';

export const HELP = `nexus-lab - build, boot, load, run and report Nexus across kernels

Usage:
  nexus-lab plan [options]     print the jobs a run would execute
  nexus-lab run [options]      run them: build the modules for each kernel, boot a
                               QEMU guest, load the modules, run the suites, report
  nexus-lab package [options]  build the nexus-dkms .deb from a DKMS tree (see below)
  nexus-lab bench [options]    A/B benchmarks of two trees in one boot per kernel
                               (see below)
  nexus-lab merge DIR...       join the runs of every shard (run --shard K/N) of one
                               plan into one run (see 'nexus-lab merge --help')
  nexus-lab report RUN         write a run's report.html again, optionally compared
                               with a baseline run (see 'nexus-lab report --help')
  nexus-lab compare BASE NEW   what changed between two runs; exit 1 on a regression
                               (see 'nexus-lab compare --help')
  nexus-lab shell --kernels K  a shell in a guest with the modules loaded
  nexus-lab exec --kernels K -- CMD
                               one command in a fresh guest per kernel, with its
                               output and exit status (see 'nexus-lab exec --help')
  nexus-lab help               this text

Selecting jobs (plan and run):
  --plan NAME          a named plan's options; options given beside it win
                       and --param values merge with its parameters:
${NAMED_PLANS.map((p) => `                         ${p.name.padEnd(8)}${p.description}\n                                 (${planOptions(p)})`).join('\n')}
  --kernels LIST       comma-separated kernel ids or groups from the matrix, or
                       "all" (every packaged kernel; default: the kernels the
                       matrix marks default).  The debug kernels (6.1-debug,
                       6.12-debug, group "debug": KASAN, kmemleak, lockdep,
                       UBSAN, KFENCE, fault injection) are built by the lab
                       from Debian's linux-source the first time they are
                       named: about 25 min each on 2 cores, then cached
  --profile NAME       the kind of guest and how Nexus gets into it (default quick):
${PROFILES.map((p) => `                         ${p.name.padEnd(8)}${p.description}\n                                 (${p.suites.join(', ')})`).join('\n')}
  --suites LIST        comma-separated suites instead of the profile's
                       (--suite NAME is the same)
  --cpus N             guest vCPUs, 1 to ${MAX_CPUS} (default 1).  A suite that needs
                       more runs with what it needs (races, hardening, fuzz and
                       stress need 2: races only happen on several CPUs):
                       per kernel, one job per vCPU count, the 1-vCPU one
                       named <kernel>-<profile>, the others
                       <kernel>-<profile>-<n>cpu.  The default is 1 because
                       without KVM (TCG) each vCPU is a busy host thread: on a
                       2-core host, 1-vCPU guests let two jobs run in parallel.
  --shard K/N          only the K-th of N deterministic slices of the plan
  --matrix PATH        kernel matrix (default images/kernels.json)
  --json               plan: print the jobs as JSON

Running (run):
  --source PATH        Nexus source tree, any tree DKMS would take: a
                       dkms.conf at its root or as debian/<package>.dkms
                       (sourced as DKMS sources it; MAKE[0] run with
                       DKMS's variables, modules found by
                       BUILT_MODULE_NAME/LOCATION), or a Makefile taking
                       KERNEL_SRC (default: kernel/)
  --results DIR        where runs are written (default results/)
  --cache DIR          kernels, images and builds cache (default .cache/,
                       or $NEXUS_LAB_CACHE)
  --accel MODE         auto (default): KVM if a probe boot works, else TCG;
                       or kvm / tcg to force one
  --jobs N             jobs run in parallel (default: number of CPUs); the
                       guests running at once never have more vCPUs in all
                       than the host has CPUs (a bigger one runs alone), so
                       a 2-vCPU guest's vCPUs really run at the same time
  --timeout-scale X    multiply every deadline by X (default 1).  The guest
                       runner's deadline is the sum of the job's suites'
                       budgets (120 s each unless the suite says), x4 under
                       TCG, plus fuzz's and stress's own deadlines
                       (fuzz.deadline, stress.deadline, or as their calls
                       and teams ask) as they are
  --memory MIB         guest memory (default 1024)
  --param NAME=VALUE   a run parameter for the suites (repeatable), e.g.
                       fuzz.calls=1000000; NAME is [a-z][a-z0-9_.-]*
  --fuzz-calls N       the same as --param fuzz.calls=N: calls the fuzz suite makes
  --stress-teams N     the same as --param stress.teams=N: teams the stress
                       suite's kill storms start
                       A nightly runs the big sizes and gives them time:
                         --fuzz-calls 20000000 --stress-teams 50000
                         --param races.seconds=60 --timeout-scale 10

Suites:
${describeSuites()}

Results: <results>/<run-id>/run.json, junit.xml, metrics.txt (when a suite
records metrics) and per job console.log,
dmesg.txt, events.jsonl, runner.log, build.log; <results>/latest points to
the newest run.

Exit status: 0 when every job passed, 1 when any did not, 2 on bad usage,
130 when interrupted (Ctrl-C or SIGTERM; guests are shut down first).`;

export class UsageError extends Error {}

function list(v: string | undefined): string[] | undefined {
  if (v === undefined) return undefined;
  const items = v.split(',').map((s) => s.trim()).filter(Boolean);
  if (items.length === 0) throw new UsageError('an empty list was given');
  return items;
}

function positiveNumber(name: string, v: string | undefined, fallback: number, integer: boolean): number {
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) {
    throw new UsageError(`${name} takes a positive ${integer ? 'integer' : 'number'}, not '${v}'`);
  }
  return n;
}

/** --cpus: an integer from 1 to MAX_CPUS, written in decimal. */
export function parseCpus(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = /^\d+$/.test(v.trim()) ? Number(v.trim()) : NaN;
  if (!(n >= 1 && n <= MAX_CPUS)) throw new UsageError(`--cpus takes an integer from 1 to ${MAX_CPUS}, not '${v}'`);
  return n;
}

export const PARAM_NAME = /^[a-z][a-z0-9_.-]*$/;

/** Options that are shorthands for one run parameter, each a positive integer. */
export const PARAM_ALIASES: Readonly<Record<string, string>> = {
  'fuzz-calls': 'fuzz.calls',
  'stress-teams': 'stress.teams',
};

/**
 * The run parameters of --param NAME=VALUE (in order) and the aliases.  A
 * name given twice with different values is an error, not a silent override.
 */
export function parseParams(given: readonly string[], aliases: Readonly<Record<string, string | undefined>> = {}): Record<string, string> {
  const params: Record<string, string> = {};
  const set = (name: string, value: string, as: string) => {
    if (name in params && params[name] !== value) {
      throw new UsageError(`run parameter ${name} is given twice (${params[name]} and ${value}, the second by ${as})`);
    }
    params[name] = value;
  };
  for (const text of given) {
    const eq = text.indexOf('=');
    if (eq < 0) throw new UsageError(`--param takes NAME=VALUE, not '${text}'`);
    const name = text.slice(0, eq);
    if (!PARAM_NAME.test(name)) throw new UsageError(`--param ${text}: the name must match [a-z][a-z0-9_.-]*`);
    set(name, text.slice(eq + 1), `--param ${text}`);
  }
  for (const [option, name] of Object.entries(PARAM_ALIASES)) {
    const v = aliases[option];
    if (v === undefined) continue;
    set(name, String(positiveNumber(`--${option}`, v, 0, true)), `--${option}`);
  }
  return params;
}

export interface Parsed {
  command: string;
  extra: string[];
  help: boolean;
  json: boolean;
  options: RunOptions;
}

/** Where defaults come from: the repository root and the environment. */
export interface ParseContext {
  root: string;
  env?: Readonly<Record<string, string | undefined>>;
}

export function parse(argv: string[], where: ParseContext): Parsed {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        plan: { type: 'string' },
        kernels: { type: 'string' },
        profile: { type: 'string' },
        suites: { type: 'string' },
        suite: { type: 'string' },
        cpus: { type: 'string' },
        shard: { type: 'string' },
        matrix: { type: 'string' },
        json: { type: 'boolean' },
        source: { type: 'string' },
        results: { type: 'string' },
        cache: { type: 'string' },
        accel: { type: 'string' },
        jobs: { type: 'string' },
        'timeout-scale': { type: 'string' },
        memory: { type: 'string' },
        param: { type: 'string', multiple: true },
        'fuzz-calls': { type: 'string' },
        'stress-teams': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  const { root } = where;
  const env = where.env ?? process.env;
  const accel = values.accel ?? 'auto';
  if (accel !== 'auto' && accel !== 'kvm' && accel !== 'tcg') throw new UsageError(`--accel takes auto, kvm or tcg, not '${accel}'`);
  let shard;
  try {
    shard = values.shard === undefined ? undefined : parseShard(values.shard);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  let named: NamedPlan | undefined;
  try {
    named = values.plan === undefined ? undefined : namedPlan(values.plan);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const cpuCount = parseCpus(values.cpus) ?? named?.cpus;
  const suites = list([values.suites, values.suite].filter((v) => v !== undefined).join(',') || undefined) ?? named?.suites;
  const options: RunOptions = {
    matrixPath: resolve(values.matrix ?? join(root, 'images', 'kernels.json')),
    kernels: list(values.kernels) ?? named?.kernels,
    profile: values.profile,
    suites,
    ...(cpuCount !== undefined ? { cpus: cpuCount } : {}),
    shard,
    params: {
      ...named?.params,
      ...parseParams(values.param ?? [], { 'fuzz-calls': values['fuzz-calls'], 'stress-teams': values['stress-teams'] }),
    },
    sourcePath: resolve(values.source ?? join(root, 'kernel')),
    resultsDir: resolve(values.results ?? join(root, 'results')),
    cacheDir: resolve(values.cache ?? env.NEXUS_LAB_CACHE ?? join(root, '.cache')),
    accel,
    parallel: positiveNumber('--jobs', values.jobs, cpus().length, true),
    timeoutScale: positiveNumber('--timeout-scale', values['timeout-scale'], named?.timeoutScale ?? 1, false),
    memoryMiB: positiveNumber('--memory', values.memory, 1024, true),
    command: ['nexus-lab', ...argv],
  };
  return { command: positionals[0] ?? 'help', extra: positionals.slice(1), help: values.help ?? false, json: values.json ?? false, options };
}
