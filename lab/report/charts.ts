// Horizontal bar charts as plain SVG, written here: no library to inline or
// load, the same record gives the same bytes, and every figure is also
// printed as text beside its bar (a reader without colour, or with the SVG
// copied into a ticket, loses nothing).
import { esc } from './html.js';

export interface Bar {
  label: string;
  value: number;
  /** A whisker from lo to hi (p99 above a median, a range of per-round ratios). */
  whisker?: [number, number];
  /** CSS class of the bar: its colour (nexus, linux, other, ...). */
  cls: string;
  /** The figure printed after the bar. */
  text: string;
}

export interface Chart {
  title: string;
  bars: readonly Bar[];
  /** The axis' unit, printed under it. */
  unit: string;
  /** A vertical line at this value (1 for ratios), with its label. */
  reference?: { value: number; label: string };
}

/** The plot's width; the label and figure columns take what their longest text needs. */
const PLOT_W = 440;
/** Width of one character of the chart's 12 px monospace font, with room to spare. */
const CHAR_W = 7.4;
const ROW = 22;
const TOP = 26;
const AXIS = 34;

/** A round axis end at or above `v`: 1, 2, 2.5 or 5 times a power of ten. */
export function niceMax(v: number): { max: number; ticks: number } {
  if (!(v > 0) || !Number.isFinite(v)) return { max: 1, ticks: 4 };
  const p = 10 ** Math.floor(Math.log10(v));
  // Steps of 0.2, 0.5, 0.5, 1 and 2 times the power of ten.
  for (const [m, ticks] of [[1, 5], [2, 4], [2.5, 5], [5, 5], [10, 5]] as const) {
    if (m * p >= v * 0.999999) return { max: m * p, ticks };
  }
  return { max: 10 * p, ticks: 5 };
}

const r1 = (n: number) => Math.round(n * 10) / 10;

/** Tick labels without float noise (0.30000000000000004). */
function tickText(v: number): string {
  return String(Math.round(v * 1000) / 1000);
}

/** The chart as an <svg> element: one <rect class="bar ..."> per bar, in order. */
export function barChart(c: Chart): string {
  const LABEL_W = Math.round(12 + CHAR_W * Math.max(8, ...c.bars.map((b) => b.label.length)));
  const TEXT_W = Math.round(16 + CHAR_W * Math.max(8, ...c.bars.map((b) => b.text.length)));
  const plotW = PLOT_W;
  const W = LABEL_W + plotW + TEXT_W;
  const top = Math.max(0, ...c.bars.map((b) => Math.max(b.value, b.whisker?.[1] ?? 0)), c.reference?.value ?? 0);
  const { max, ticks } = niceMax(top);
  const x = (v: number) => r1(LABEL_W + (Math.max(0, Math.min(v, max)) / max) * plotW);
  const h = TOP + c.bars.length * ROW + AXIS;
  const out: string[] = [
    `<svg class="chart" width="${W}" height="${h}" viewBox="0 0 ${W} ${h}" role="img" aria-label="${esc(c.title)}">`,
    `<title>${esc(c.title)}</title>`,
    `<text class="ct" x="0" y="16">${esc(c.title)}</text>`,
  ];
  const y0 = TOP;
  const y1 = TOP + c.bars.length * ROW;
  for (let i = 0; i <= ticks; i++) {
    const v = (max * i) / ticks;
    out.push(
      `<line class="grid" x1="${x(v)}" y1="${y0}" x2="${x(v)}" y2="${y1}"/>`,
      `<text class="tick" x="${x(v)}" y="${y1 + 14}" text-anchor="middle">${tickText(v)}</text>`,
    );
  }
  out.push(`<text class="tick" x="${r1(LABEL_W + plotW / 2)}" y="${y1 + 29}" text-anchor="middle">${esc(c.unit)}</text>`);
  c.bars.forEach((b, i) => {
    const y = TOP + i * ROW;
    const mid = y + ROW / 2;
    out.push(
      `<text class="lbl" x="${LABEL_W - 6}" y="${mid + 4}" text-anchor="end">${esc(b.label)}</text>`,
      `<rect class="bar ${esc(b.cls)}" x="${LABEL_W}" y="${y + 4}" width="${r1(x(b.value) - LABEL_W)}" height="${ROW - 8}"><title>${esc(`${b.label}: ${b.text}`)}</title></rect>`,
    );
    if (b.whisker) {
      const [lo, hi] = b.whisker;
      out.push(
        `<line class="whisker" x1="${x(lo)}" y1="${mid}" x2="${x(hi)}" y2="${mid}"/>`,
        `<line class="whisker" x1="${x(hi)}" y1="${mid - 5}" x2="${x(hi)}" y2="${mid + 5}"/>`,
      );
      if (lo !== b.value) out.push(`<line class="whisker" x1="${x(lo)}" y1="${mid - 5}" x2="${x(lo)}" y2="${mid + 5}"/>`);
    }
    out.push(`<text class="val" x="${LABEL_W + plotW + 8}" y="${mid + 4}">${esc(b.text)}</text>`);
  });
  if (c.reference) {
    const rx = x(c.reference.value);
    out.push(
      `<line class="ref" x1="${rx}" y1="${y0 - 4}" x2="${rx}" y2="${y1}"/>`,
      `<text class="tick" x="${rx + 4}" y="${y0 - 6}">${esc(c.reference.label)}</text>`,
    );
  }
  out.push('</svg>');
  return out.join('\n');
}
