// The ABI header against the contract: a userspace program compiled against
// kernel/include/nexus.h prints every ioctl number, every request struct's
// sizeof and every status value, and each must equal what the tables of
// NEXUS-ABI.md say.  The document is kept as a fixture (a copy of
// shared/NEXUS-ABI.md, the team's contract), so this test runs on any
// checkout.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fixture, ROOT } from '../helpers.js';

interface IoctlRow {
  name: string;
  dir: 'IO' | 'IOW' | 'IOR' | 'IOWR';
  nr: number;
  struct?: string;
}

const DOC = fixture('abi', 'NEXUS-ABI.md');
const HEADER = join(ROOT, 'kernel', 'include', 'nexus.h');

/** The sections of the document about one device (and heading), by heading. */
function sectionsFor(doc: string, device: string, heading?: string): string[] {
  return doc.split(/^## /m).filter((s) => {
    const title = s.split('\n', 1)[0]!;
    return title.includes(`(\`${device}\``) && (heading === undefined || title.startsWith(heading));
  });
}

/** Every "`name` (N B)" the document states. */
function structSizes(doc: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of doc.matchAll(/`(nexus_\w+)` \((\d+) B\)/g)) out.set(m[1]!, Number(m[2]));
  return out;
}

/** Rows of the ioctl tables: "| NEXUS_A / B | IOWR 20/21 | `struct` ... |". */
function ioctlRows(sections: string[]): IoctlRow[] {
  const rows: IoctlRow[] = [];
  for (const sec of sections) {
    for (const line of sec.split('\n')) {
      const cells = line.split('|').map((c) => c.trim());
      if (cells.length < 4 || !cells[1]!.startsWith('NEXUS_')) continue;
      const m = /^(IOWR|IOW|IOR|IO) ([\d/]+)$/.exec(cells[2]!);
      if (!m) throw new Error(`cannot read the ioctl cell of: ${line}`);
      const names = cells[1]!.split('/').map((n) => n.trim());
      const first = names[0]!;
      const prefix = first.slice(0, first.lastIndexOf('_') + 1);
      const full = names.map((n, i) => (i === 0 ? n : prefix + n));
      const nrs = m[2]!.split('/').map(Number);
      assert.is(nrs.length, full.length, `one number per name in: ${line}`);
      const struct = /`(nexus_\w+)`/.exec(cells[3]!)?.[1];
      full.forEach((name, i) => rows.push({ name, dir: m[1] as IoctlRow['dir'], nr: nrs[i]!, ...(struct ? { struct } : {}) }));
    }
  }
  return rows;
}

/** _IOC() of asm-generic/ioctl.h (x86-64). */
function ioc(dir: IoctlRow['dir'], type: string, nr: number, size: number): number {
  const bits = { IO: 0, IOW: 1, IOR: 2, IOWR: 3 }[dir];
  return ((bits << 30) | ((dir === 'IO' ? 0 : size) << 16) | (type.charCodeAt(0) << 8) | nr) >>> 0;
}

/** "| B_OK | 0 | B_ERROR | -1 |" -> value; "-EINVAL (-22)", "INT32_MIN + 0x2001". */
function statusValues(doc: string): Map<string, number> {
  const out = new Map<string, number>();
  const sec = doc.split(/^## /m).find((s) => s.startsWith('Status values'))!;
  for (const line of sec.split('\n')) {
    const cells = line.split('|').map((c) => c.trim()).filter((_, i, a) => i > 0 && i < a.length - 1);
    for (let i = 0; i + 1 < cells.length; i += 2) {
      if (!/^B_\w+$/.test(cells[i]!)) continue;
      const v = cells[i + 1]!;
      const paren = /\((-?\d+)\)/.exec(v);
      const base = /^INT32_MIN \+ (0x[0-9a-f]+|\d+)$/i.exec(v);
      out.set(cells[i]!, paren ? Number(paren[1]) : base ? -2147483648 + Number(base[1]) : Number(v));
    }
  }
  return out;
}

/** Compile a program against nexus.h that prints "<name> <value>" lines. */
function probe(exprs: [string, string][]): Map<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-abi-'));
  try {
    const body = exprs.map(([label, expr]) => `\tprintf("%s %lld\\n", "${label}", (long long)(${expr}));`).join('\n');
    writeFileSync(join(dir, 'abi.c'), `#include <stdio.h>\n#include <nexus.h>\n\nint main(void)\n{\n${body}\n\treturn 0;\n}\n`);
    execFileSync('gcc', ['-std=c11', '-Wall', '-Wextra', '-Werror', '-pedantic', '-I', join(ROOT, 'kernel', 'include'), '-o', join(dir, 'abi'), join(dir, 'abi.c')], { stdio: 'pipe' });
    const out = execFileSync(join(dir, 'abi'), { encoding: 'utf8' });
    return new Map(out.trim().split('\n').map((l) => l.split(' ') as [string, string]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Each device's tables, with its ioctl magic and how many rows a correct
// parse finds (ports 12 with the capability messages, semaphores 7, threads
// 11; areas 9; vrefs 4 and watches 3, two magics on one device).
const DEVICES: { path: string; heading?: string; magic: string; count: number }[] = [
  { path: '/dev/nexus', magic: 'n', count: 30 },
  { path: '/dev/nexus_area', magic: 'A', count: 9 },
  { path: '/dev/nexus_node_monitor', heading: 'Vrefs', magic: 'V', count: 4 },
  { path: '/dev/nexus_node_monitor', heading: 'Node monitor', magic: 'H', count: 3 },
];
const tables = DEVICES.map((d) => ({ ...d, rows: ioctlRows(sectionsFor(DOC, d.path, d.heading)) }));
const rows = tables.flatMap((t) => t.rows.map((r) => ({ ...r, magic: t.magic })));
const sizes = structSizes(DOC);

test('the document has the ioctl tables of every device this test reads', () => {
  for (const t of tables) assert.is(t.rows.length, t.count, `${t.path}: ${t.rows.map((r) => r.name).join(' ')}`);
  for (const r of rows.filter((r) => r.dir !== 'IO')) assert.ok(sizes.has(r.struct!), `the document gives the size of ${r.struct}`);
});

test('every ioctl number and request struct size matches NEXUS-ABI.md', () => {
  const structs = [...new Set(rows.flatMap((r) => (r.struct ? [r.struct] : [])).concat(['nexus_port_info', 'nexus_port_message_info', 'nexus_sem_info']))];
  const got = probe([
    ...rows.map((r): [string, string] => [r.name, r.name]),
    ...structs.map((s): [string, string] => [`sizeof:${s}`, `sizeof(struct ${s})`]),
  ]);
  for (const r of rows) {
    const expected = ioc(r.dir, r.magic, r.nr, r.struct ? sizes.get(r.struct)! : 0);
    assert.is(Number(got.get(r.name)) >>> 0, expected, `${r.name} = _${r.dir}('${r.magic}', ${r.nr}${r.struct && r.dir !== 'IO' ? `, ${r.struct}` : ''})`);
  }
  for (const s of structs) assert.is(Number(got.get(`sizeof:${s}`)), sizes.get(s), `sizeof(struct ${s})`);
});

test('nexus.h defines no ioctl the document does not list', () => {
  const header = readFileSync(HEADER, 'utf8');
  const defined = [...header.matchAll(/^#define (NEXUS_\w+)\s+(?:\\\s*)?_IO/gm)].map((m) => m[1]!);
  assert.equal(defined.sort(), rows.map((r) => r.name).sort());
});

test('every status value matches NEXUS-ABI.md', () => {
  const values = statusValues(DOC);
  assert.is(values.size, 19);
  const got = probe([...values.keys()].map((k): [string, string] => [k, k]));
  for (const [name, v] of values) assert.is(Number(got.get(name)), v, name);
});

test('libnexus.h compiles Haiku-style code: info types without "struct", the Haiku calls, threads and areas', () => {
  const dir = mkdtempSync(join(tmpdir(), 'nexus-haiku-'));
  try {
    writeFileSync(join(dir, 'app.c'), `#include <libnexus.h>

static status_t worker(void *data)
{
\treturn data ? B_OK : B_ERROR;
}

int main(void)
{
\tport_info pi;
\tsem_info si;
\tport_message_info mi;
\tint32_t cookie = 0, code;
\tchar buf[16];
\tport_id port = create_port(4, "app");
\tsem_id sem = create_sem(1, "app");

\tget_port_info(port, &pi);
\tget_next_port_info(B_CURRENT_TEAM, &cookie, &pi);
\tget_port_message_info_etc(port, &mi, sizeof(mi), B_RELATIVE_TIMEOUT, 0);
\twrite_port_etc(port, 1, "x", 1, B_RELATIVE_TIMEOUT, 0);
\tread_port_etc(port, &code, buf, sizeof(buf), B_RELATIVE_TIMEOUT, 0);
\tacquire_sem_etc(sem, 1, B_RELATIVE_TIMEOUT, 0);
\trelease_sem_etc(sem, 1, B_DO_NOT_RESCHEDULE);
\tget_sem_info(sem, &si);
\treturn delete_sem(sem) == B_OK && delete_port(port) == B_OK ? 0 : 1;
}
`);
    execFileSync('gcc', ['-std=gnu11', '-Wall', '-Wextra', '-Werror', '-fsyntax-only', '-I', join(ROOT, 'kernel', 'include'), '-I', join(ROOT, 'kernel', 'libnexus'), join(dir, 'app.c')], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
