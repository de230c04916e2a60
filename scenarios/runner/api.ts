// What a suite is made of, and what a scenario can do while it runs.

export interface Scenario {
  name: string;
  /** Per-scenario deadline inside the guest (default 60 s). */
  timeoutMs?: number;
  /**
   * What the scenario needs of the tree (primitive names such as 'areas',
   * or ioctl names such as 'PORT_WRITE_CAPS'): without it, a skip that says so.
   */
  needs?: string[];
  run(ctx: Ctx): Promise<void> | void;
}

export interface Suite {
  name: string;
  scenarios: Scenario[];
}

export interface Ctx {
  readonly suite: string;
  readonly scenario: string;
  /** Aborted when the scenario's deadline passes. */
  readonly signal: AbortSignal;
  /** Record a failure unless `cond` holds; returns `cond`. */
  check(cond: boolean, message: string, expected?: unknown, actual?: unknown): boolean;
  /** Record a failure unless `actual` deep-equals `expected` (JSON equality). */
  equal(actual: unknown, expected: unknown, message: string): boolean;
  /** A figure; `samples`, when given, are the values it summarises (at most MAX_METRIC_SAMPLES kept). */
  metric(name: string, value: number, unit: string, samples?: readonly number[]): void;
  /** Read the Nexus counters and emit them as a snapshot named `label`. */
  counters(label: string): Record<string, number>;
  /** Stop the scenario as skipped. */
  skip(reason: string): never;
  /** Run `fn` when the scenario ends, whatever happened (last registered first). */
  defer(fn: () => void | Promise<void>): void;
  /**
   * A run parameter (`nexus-lab run --param NAME=VALUE`, e.g. fuzz.calls), as
   * a number: `fallback` when the run did not set it.  A value that is not a
   * finite number fails the scenario.
   */
  param(name: string, fallback: number): number;
  /** Virtual CPUs of the guest the scenario runs in. */
  readonly cpus: number;
}

/** Thrown by ctx.skip(). */
export class SkipError extends Error {}
