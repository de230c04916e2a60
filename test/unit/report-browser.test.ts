// The report as a reader gets it: rendered from the fixture, opened from
// disk in headless Chromium (Debian's chromium package: make deps), its DOM
// read back and a screenshot taken and decoded.  The screenshot is kept at
// results/report-test/report.png (results/ is not in git) to look at.
// Chromium runs through the lab's own owned-process runner (lab/proc.ts):
// a deadline each, and its whole process group is ended on every path.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { inflateSync } from 'node:zlib';
import { describeEnd, killAll, run, succeeded } from '../../lab/proc.js';
import { renderReport } from '../../lab/report.js';
import type { RunRecord } from '../../lab/results.js';
import { FIXTURES, ROOT } from '../helpers.js';

const OUT = join(ROOT, 'results', 'report-test');
const PAGE = join(OUT, 'report.html');
const PNG = join(OUT, 'report.png');
const WIDTH = 1280;
const HEIGHT = 8400;
const DEADLINE_MS = 90_000;

const profile = mkdtempSync(join(tmpdir(), 'report-chromium-'));

async function chromium(...args: string[]): Promise<string> {
  const r = await run('chromium', [
    '--headless', '--disable-gpu', '--no-sandbox', '--no-first-run', '--disable-dev-shm-usage',
    '--hide-scrollbars', '--force-device-scale-factor=1', `--user-data-dir=${profile}`, ...args,
    pathToFileURL(PAGE).href,
  ], { timeoutMs: DEADLINE_MS, killGraceMs: 2000 });
  if (r.spawnError) throw new Error(`chromium could not start (${r.spawnError}): install Debian's chromium package ('make deps')`);
  if (!succeeded(r)) throw new Error(`chromium ${args[0]}: ${describeEnd(r)}\n${r.stderr.slice(-2000)}`);
  return r.stdout;
}

/** A PNG's pixels as RGB triples: 8-bit RGB or RGBA, not interlaced (what Chromium writes). */
function decodePng(buf: Buffer): { width: number; height: number; rgb: (x: number, y: number) => [number, number, number] } {
  assert.equal([...buf.subarray(0, 8)], [137, 80, 78, 71, 13, 10, 26, 10], 'a PNG signature');
  let width = 0;
  let height = 0;
  let bpp = 0;
  const idat: Buffer[] = [];
  for (let at = 8; at < buf.length; ) {
    const len = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const data = buf.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      assert.is(data[8], 8, '8 bits per channel');
      assert.is(data[12], 0, 'not interlaced');
      bpp = data[9] === 6 ? 4 : data[9] === 2 ? 3 : 0;
      assert.ok(bpp > 0, `colour type ${data[9]} is RGB or RGBA`);
    } else if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * bpp;
  const px = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i++) {
      const a = i >= bpp ? px[y * stride + i - bpp]! : 0;
      const b = y > 0 ? px[(y - 1) * stride + i]! : 0;
      const c = i >= bpp && y > 0 ? px[(y - 1) * stride + i - bpp]! : 0;
      const p = a + b - c;
      const paeth = Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c) ? a : Math.abs(p - b) <= Math.abs(p - c) ? b : c;
      const pred = [0, a, b, (a + b) >> 1, paeth][filter]!;
      px[y * stride + i] = (line[i]! + pred) & 0xff;
    }
  }
  return { width, height, rgb: (x, y) => [px[y * stride + x * bpp]!, px[y * stride + x * bpp + 1]!, px[y * stride + x * bpp + 2]!] };
}

/** Pixels of the screenshot close to a colour of the style sheet. */
function count(img: ReturnType<typeof decodePng>, hex: string): number {
  const want = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let y = 0; y < img.height; y += 2) {
    for (let x = 0; x < img.width; x += 2) {
      const got = img.rgb(x, y);
      if (got.every((v, i) => Math.abs(v - want[i]!) <= 6)) n++;
    }
  }
  return n;
}

/** Text content of the DOM (tags dropped, entities of the page's text decoded). */
function text(html: string): string {
  return html.replace(/<[^>]*>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');
}

const record = JSON.parse(readFileSync(join(FIXTURES, 'report', 'run.json'), 'utf8')) as RunRecord;
mkdirSync(OUT, { recursive: true });
writeFileSync(PAGE, renderReport(record));

test.after(() => {
  killAll();
  rmSync(profile, { recursive: true, force: true });
});

test('Chromium reads the matrix, the charts with their bars and the splats, and runs nothing from the record', async () => {
  const dom = await chromium('--dump-dom');
  // What the parser built, not what the lab wrote: no script element came out of a scenario name.
  assert.not.match(dom, /<script/i);
  assert.not.match(dom, /<img/i);
  const matrix = dom.slice(dom.indexOf('id="verdicts"'), dom.indexOf('</table>', dom.indexOf('id="verdicts"')));
  const rows = matrix.split('<tr>').slice(2).map(text);
  assert.is(rows.length, 2);
  assert.match(rows[0]!, /^6\.1-cloud6\.1\.0-57-cloud-amd64pass2 passedpass2 passed, 1 skippedpass2 passed6\.1-cloud-quick pass/);
  assert.match(rows[1]!, /^6\.12-cloud.*fail2 of 3 failed; job: kernel-splat.*6\.12-cloud-quick kernel-splat/);
  assert.is((dom.match(/<svg/g) ?? []).length, 10, 'two overview charts, four per job');
  const svgs = dom.slice(dom.indexOf('id="jobs"')).match(/<svg[\s\S]*?<\/svg>/g) ?? [];
  assert.is(svgs.length, 8, 'four charts per job');
  assert.is((svgs[0]!.match(/<rect class="bar nexus"/g) ?? []).length, 3);
  assert.is((svgs[0]!.match(/<rect class="bar linux"/g) ?? []).length, 8);
  const page = text(dom);
  for (const s of record.jobs[1]!.splats) assert.ok(page.includes(s.text), `splat "${s.title}" readable in full`);
  assert.ok(page.includes('ports/<script>alert("pwned")</script> write-read-fifo'), 'the hostile name shows as text');
});

test('the screenshot shows the colours the words stand for', async () => {
  rmSync(PNG, { force: true });
  await chromium(`--screenshot=${PNG}`, `--window-size=${WIDTH},${HEIGHT}`);
  const img = decodePng(readFileSync(PNG));
  assert.equal([img.width, img.height], [WIDTH, HEIGHT]);
  assert.ok(count(img, '#aceebb') > 50, 'green pass badges');
  assert.ok(count(img, '#7a1f5c') > 50, 'the kernel-splat badges');
  assert.ok(count(img, '#4c78a8') > 1000, 'Nexus bars');
  assert.ok(count(img, '#f2a541') > 1000, 'Linux baseline bars');
  assert.ok(count(img, '#1e1e1e') > 10_000, 'the splat consoles');
  assert.ok(count(img, '#ffffff') < (WIDTH * HEIGHT) / 4 * 0.97, 'not a blank page');
});

test.run();
