// The nightly CI's shard commands, in one place: .github/workflows/nightly.yml
// runs exactly these (test/unit/nightly.test.ts parses the workflow and checks
// it), and the integration test of the default matrix runs the same shards
// and merges them (test/integration/lab.test.ts), so what CI runs at night is
// what 'make test' ran here.

/** How many shards the nightly run splits the default plan into. */
export const NIGHTLY_SHARDS = 2;

/** The options of 'nexus-lab run' for shard K of N (after 'run'). */
export function shardRunArgs(index: number, count: number = NIGHTLY_SHARDS): string[] {
  return ['--shard', `${index}/${count}`];
}

/**
 * LAB_ARGS of the workflow's shard step, `make lab LAB_ARGS="<this>"`
 * (make lab runs 'nexus-lab run $(LAB_ARGS)'): shard K's options and the
 * directory its runs go to, which the shard job uploads.
 */
export function shardLabArgs(index: number, resultsDir: string, count: number = NIGHTLY_SHARDS): string {
  return [...shardRunArgs(index, count), '--results', resultsDir].join(' ');
}
