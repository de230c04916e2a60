// The guest-side runner: runs the named suites and streams JSON-lines events
// (./events.ts) on stdout.  Free-text diagnostics go to stderr.
//
//   node runner/main.js --suites smoke[,other]
//   node runner/main.js --config /run/nexus/job.json   ({"suites": [...]})
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism, release } from 'node:os';
import { parseArgs } from 'node:util';
import { numberParam } from './params.js';
import { SUITES, suiteNames } from '../suites.js';
import { COUNTERS_PATH, readCounters, scaled, setTimeScale } from '../lib/guest.js';
import { features, lacking, probeFeatures, setFeatures } from './probe.js';
import { markIds, scanOrphans } from './orphans.js';
import { SkipError, type Ctx, type Scenario, type Suite } from './api.js';
import { MAX_METRIC_SAMPLES, type GuestEvent, type Metric, type ScenarioStatus } from './events.js';
import { leakHooks } from '../lib/leaks.js'; // leaks:

const t0 = performance.now();
const now = () => Math.round(performance.now() - t0);

function emit(ev: GuestEvent): void {
  process.stdout.write(`${JSON.stringify(ev)}\n`);
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** Run parameters from the job config (`--param NAME=VALUE` on the host). */
let params: Record<string, string> = {};

function param(name: string, fallback: number): number {
  return numberParam(params, name, fallback);
}

async function runScenario(suite: string, sc: Scenario): Promise<ScenarioStatus> {
  const started = performance.now();
  emit({ type: 'scenario-start', t: now(), suite, scenario: sc.name });
  const ac = new AbortController();
  const cleanups: (() => void | Promise<void>)[] = [];
  let failures = 0;
  const ctx: Ctx = {
    suite,
    scenario: sc.name,
    signal: ac.signal,
    check(cond, message, expected, actual) {
      if (!cond) {
        failures++;
        const ev: GuestEvent = { type: 'assert-fail', t: now(), suite, scenario: sc.name, message };
        if (expected !== undefined || actual !== undefined) Object.assign(ev, { expected, actual });
        emit(ev);
      }
      return cond;
    },
    equal(actual, expected, message) {
      return ctx.check(same(actual, expected), message, expected, actual);
    },
    metric(name, value, unit, samples) {
      const ev: Metric = { type: 'metric', t: now(), suite, scenario: sc.name, name, value, unit };
      if (samples && samples.length > 0) ev.samples = samples.slice(0, MAX_METRIC_SAMPLES);
      emit(ev);
    },
    counters(label) {
      const values = readCounters();
      emit({ type: 'counters', t: now(), suite, scenario: sc.name, label, values });
      return values;
    },
    skip(reason) {
      throw new SkipError(reason);
    },
    defer(fn) {
      cleanups.push(fn);
    },
    param,
    cpus: availableParallelism(),
  };

  const limit = scaled(sc.timeoutMs ?? 60_000);
  let timer: NodeJS.Timeout | undefined;
  let status: ScenarioStatus;
  let reason: string | undefined;
  const idsBefore = markIds();
  try {
    const missing = sc.needs && features() ? lacking(features()!, sc.needs) : undefined;
    if (missing) throw new SkipError(missing);
    await Promise.race([
      Promise.resolve().then(() => sc.run(ctx)),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          ac.abort();
          reject(new Error(`scenario deadline of ${limit} ms passed`));
        }, limit);
      }),
    ]);
    status = failures > 0 ? 'fail' : 'pass';
    if (failures > 0) reason = `${failures} check${failures === 1 ? '' : 's'} failed`;
  } catch (e) {
    if (e instanceof SkipError && failures > 0) {
      // A check failed before the scenario found it could not go on: a failure.
      status = 'fail';
      reason = `${failures} check${failures === 1 ? '' : 's'} failed (then skipped: ${e.message})`;
    } else if (e instanceof SkipError) {
      status = 'skip';
      reason = e.message;
    } else {
      status = 'error';
      reason = e instanceof Error ? e.message : String(e);
      process.stderr.write(`${suite}/${sc.name}: ${e instanceof Error ? e.stack : String(e)}\n`);
    }
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  for (const fn of cleanups.reverse()) {
    try {
      await fn();
    } catch (e) {
      process.stderr.write(`${suite}/${sc.name}: cleanup failed: ${String(e)}\n`);
    }
  }
  // Any tree: no object of a team that exited during the scenario is left.
  const orphans = await scanOrphans(idsBefore);
  emit({ type: 'orphans', t: now(), suite, scenario: sc.name, ...orphans });
  if (orphans.found.length > 0) {
    emit({ type: 'assert-fail', t: now(), suite, scenario: sc.name, message: 'no object of an exited team is left (ABI orphan scan)', expected: [], actual: orphans.found.slice(0, 20) });
    if (status === 'pass' || status === 'skip') {
      status = 'fail';
      reason = `${orphans.found.length} object(s) of exited teams left: ${orphans.found.slice(0, 3).join(', ')}`;
    }
  }
  const end: GuestEvent = {
    type: 'scenario-end',
    t: now(),
    suite,
    scenario: sc.name,
    status,
    durationMs: Math.round(performance.now() - started),
  };
  if (reason !== undefined) end.reason = reason;
  emit(end);
  return status;
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: { suites: { type: 'string' }, config: { type: 'string' } } });
  let names = (values.suites ?? '').split(',').filter(Boolean);
  if (values.config) {
    const config = JSON.parse(readFileSync(values.config, 'utf8')) as { suites?: unknown; params?: unknown };
    if (Array.isArray(config.suites)) names = names.concat(config.suites.map(String));
    if (config.params && typeof config.params === 'object') {
      params = Object.fromEntries(Object.entries(config.params as Record<string, unknown>).map(([k, v]) => [k, String(v)]));
    }
  }
  const known = suiteNames();
  const unknown = names.filter((n) => !known.includes(n));
  if (names.length === 0 || unknown.length > 0) {
    process.stderr.write(`usage: main.js --suites a,b | --config job.json (known: ${known.join(', ')}; unknown: ${unknown.join(', ')})\n`);
    return 2;
  }
  setTimeScale(param('lab.time_scale', 1));
  emit({ type: 'run-start', t: now(), suites: names, node: process.version, kernel: release(), cpus: availableParallelism(), params });
  // The runner is a team (libnexus keeps /dev/nexus open), and a lookup of
  // any thread of a team gives it a record: libuv starts its thread pool at
  // first use, so start it now, before a fuzzer reads which threads to spare.
  await stat('/');
  const probed = probeFeatures(COUNTERS_PATH);
  setFeatures(probed);
  emit({ type: 'features', t: now(), features: probed });
  const total = { passed: 0, failed: 0, skipped: 0 };
  const leakHook = leakHooks(param, emit, now); // leaks: leaks.repeat rounds per suite, slab snapshots around them
  for (const name of names) {
    const mod = (await import(`../${name}/index.js`)) as { suite: Suite };
    const suite = mod.suite;
    emit({ type: 'suite-start', t: now(), suite: name, scenarios: suite.scenarios.map((s) => s.name) });
    const needs = SUITES.find((s) => s.name === name)?.primitives ?? [];
    const absent = needs.filter((p) => !probed.primitives[p].present);
    if (needs.length > 0 && absent.length === needs.length) {
      // The tree lacks what the suite tests: one skipped suite, not a failure per scenario.
      const reason = lacking(probed, needs)!;
      emit({ type: 'suite-skip', t: now(), suite: name, reason });
      emit({ type: 'suite-end', t: now(), suite: name, passed: 0, failed: 0, skipped: 1 });
      total.skipped++;
      continue;
    }
    const counts = { passed: 0, failed: 0, skipped: 0 };
    for await (const sc of leakHook.rounds(name, suite.scenarios)) { // leaks:
      const st = await runScenario(name, sc);
      if (st === 'pass') counts.passed++;
      else if (st === 'skip') counts.skipped++;
      else counts.failed++;
    }
    emit({ type: 'suite-end', t: now(), suite: name, ...counts });
    total.passed += counts.passed;
    total.failed += counts.failed;
    total.skipped += counts.skipped;
  }
  emit({ type: 'run-end', t: now(), ...total });
  return total.failed > 0 ? 1 : 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (e: unknown) => {
    process.stderr.write(`runner failed: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 3;
  },
);
