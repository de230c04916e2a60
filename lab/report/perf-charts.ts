// A job's benchmarks as charts: per scenario, each mode's median with its
// p99 as a whisker (Nexus and Linux coloured apart and named in the label),
// then each Nexus mode's ratio to its Linux baseline with the range of the
// per-round ratios; a line at 1 is "as fast as Linux".
import { fmtMetric } from '../results.js';
import { barChart, type Bar } from './charts.js';
import type { BenchFigures, ModeFigure } from './perf.js';

const ROLE: Record<ModeFigure['role'], string> = { nexus: 'Nexus', linux: 'Linux', other: '' };

/** ns read better as us once they are in the thousands. */
export function displayUnit(modes: readonly ModeFigure[]): { unit: string; scale: number } {
  const unit = modes[0]?.unit ?? '';
  const big = Math.max(0, ...modes.map((m) => m.p99 ?? m.median));
  if (unit === 'ns' && big >= 10_000) return { unit: 'us', scale: 1 / 1000 };
  return { unit, scale: 1 };
}

const fmt = (v: number) => fmtMetric(Math.round(v * 10) / 10);

export function modeChart(f: BenchFigures): string {
  const { unit, scale } = displayUnit(f.modes);
  const bars: Bar[] = f.modes.map((m) => ({
    label: ROLE[m.role] ? `${m.mode} (${ROLE[m.role]})` : m.mode,
    value: m.median * scale,
    ...(m.p99 !== undefined ? { whisker: [m.median * scale, m.p99 * scale] as [number, number] } : {}),
    cls: m.role,
    text: `${fmt(m.median * scale)}${m.p99 !== undefined ? ` (p99 ${fmt(m.p99 * scale)})` : ''} ${unit}`,
  }));
  return barChart({ title: `${f.suite}/${f.scenario}: median, whisker to p99`, bars, unit: `${unit}, lower is faster` });
}

export function ratioChart(f: BenchFigures): string {
  const bars: Bar[] = f.ratios.map((r) => ({
    label: `${r.mode} / ${r.baseline}`,
    value: r.value,
    ...(r.min !== undefined && r.max !== undefined ? { whisker: [r.min, r.max] as [number, number] } : {}),
    cls: r.value > 1 ? 'slower' : 'faster',
    text: `${fmtMetric(r.value)}x${r.min !== undefined && r.max !== undefined ? ` (rounds ${fmtMetric(r.min)}-${fmtMetric(r.max)})` : ''}`,
  }));
  return barChart({
    title: `${f.suite}/${f.scenario}: Nexus median / Linux baseline median`,
    bars,
    unit: 'x (below 1: Nexus faster; whisker: per-round range)',
    reference: { value: 1, label: '1 = Linux' },
  });
}

/** Every benchmark of a job: a mode chart each, and a ratio chart when it has baselines. */
export function perfCharts(figures: readonly BenchFigures[]): string {
  return figures
    .map((f) => `<div class="perf">\n${modeChart(f)}\n${f.ratios.length > 0 ? ratioChart(f) : ''}\n</div>`)
    .join('\n');
}

/**
 * The ratios of every job side by side, one chart per benchmark scenario
 * (kernel against kernel: where does Nexus lose ground to Linux?); empty
 * unless two jobs or more have ratios.
 */
export function perfOverview(jobs: readonly { id: string; figures: readonly BenchFigures[] }[]): string {
  const withRatios = jobs.filter((j) => j.figures.some((f) => f.ratios.length > 0));
  if (withRatios.length < 2) return '';
  const keys = [...new Set(withRatios.flatMap((j) => j.figures.filter((f) => f.ratios.length > 0).map((f) => `${f.suite}/${f.scenario}`)))];
  return keys.map((key) => {
    const bars: Bar[] = withRatios.flatMap((j) => {
      const f = j.figures.find((x) => `${x.suite}/${x.scenario}` === key);
      return (f?.ratios ?? []).map((r) => ({
        label: `${j.id}: ${r.mode} / ${r.baseline}`,
        value: r.value,
        ...(r.min !== undefined && r.max !== undefined ? { whisker: [r.min, r.max] as [number, number] } : {}),
        cls: r.value > 1 ? 'slower' : 'faster',
        text: `${fmtMetric(r.value)}x`,
      }));
    });
    return barChart({ title: `${key}: Nexus / Linux baseline, every job`, bars, unit: 'x (below 1: Nexus faster; whisker: per-round range)', reference: { value: 1, label: '1 = Linux' } });
  }).join('\n');
}
