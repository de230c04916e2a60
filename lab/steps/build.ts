// Build step: the modules for the job's kernel, on the host (quick profile).
import { join } from 'node:path';
import { buildModules, type BuildResult } from '../build.js';
import type { JobRun, Step } from '../pipeline.js';
import type { JobRecord } from '../results.js';

/** What a job's record keeps of a build. */
export function buildRecord(b: BuildResult): NonNullable<JobRecord['build']> {
  return {
    ok: b.ok,
    cached: b.cached,
    warnings: b.warnings,
    durationMs: b.durationMs,
    modules: b.modules.map((m) => m.name),
    ...(b.error ? { error: b.error } : {}),
  };
}

export const buildStep: Step = {
  name: 'build',
  run: async (s: JobRun) => {
    const kernel = s.kernel!;
    s.rec.files.build = `${s.job.id}/build.log`;
    const b = await buildModules({
      source: s.ctx.source,
      kernel,
      cacheDir: s.ctx.cacheDir,
      logPath: join(s.jobDir, 'build.log'),
      timeoutMs: s.t.buildMs,
      signal: s.signal,
    });
    s.rec.build = buildRecord(b);
    if (!b.ok) {
      if (s.signal.aborted) throw s.signal.reason;
      s.stop('buildError', `${kernel.release}: ${b.error}`);
      return;
    }
    s.modules = b.modules;
  },
};
