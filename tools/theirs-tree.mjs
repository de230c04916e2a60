#!/usr/bin/env node
// Writes a Nexus tree laid out the way the other Nexus tree (the modules
// VitruvianOS builds) is laid out, made from our own sources, so the lab can
// be shown to judge any tree DKMS would take, not only ours:
//
//   - no top-level Makefile or Kbuild: DKMS's MAKE[0] builds in src/;
//   - dkms.conf is debian/<package>.dkms (the Debian packaging layout, what
//     dh_dkms installs as dkms.conf), its version the #MODULE_VERSION#
//     placeholder dh_dkms fills from debian/changelog;
//   - other module names: haiku_ipc.ko, area.ko, nodemon.ko;
//   - no debugfs counters (built with NEXUS_DEBUGFS=n).
//
// Usage: node tools/theirs-tree.mjs OUT    (OUT must not exist)
import { cpSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Our module -> theirs: [name, objects]. */
export const RENAMES = { nexus: 'haiku_ipc', nexus_area: 'area', nexus_node_monitor: 'nodemon' };

export function writeTheirsTree(out) {
  if (existsSync(out)) throw new Error(`${out} exists: give a path that does not`);
  const src = join(out, 'src');
  mkdirSync(join(out, 'debian'), { recursive: true });
  cpSync(join(ROOT, 'kernel', 'include'), join(out, 'include'), { recursive: true });
  cpSync(join(ROOT, 'kernel', 'nexus'), src, { recursive: true, filter: (f) => !/\.(o|ko|mod|mod\.c|cmd|order|symvers)$/.test(f) });
  // Rename the modules in Kbuild: `obj-m += a.o` and `a-y := ...` lines.
  let kbuild = readFileSync(join(src, 'Kbuild'), 'utf8');
  const ours = readFileSync(join(ROOT, 'kernel', 'nexus', 'Kbuild'), 'utf8');
  if (!/^obj-m \+= nexus\.o nexus_area\.o nexus_node_monitor\.o$/m.test(ours)) {
    throw new Error('kernel/nexus/Kbuild changed its obj-m line: update tools/theirs-tree.mjs');
  }
  kbuild = kbuild
    .replace(/^obj-m \+= .*$/m, 'obj-m += haiku_ipc.o area.o nodemon.o')
    .replace(/^nexus-y :=/m, 'haiku_ipc-y :=')
    // area.ko is area.c alone: a single-object module needs no -y line.
    .replace(/^nexus_area-y := area\.o\n/m, '')
    .replace(/^nexus_node_monitor-y :=/m, 'nodemon-y :=');
  writeFileSync(join(src, 'Kbuild'), kbuild);
  writeFileSync(
    join(out, 'debian', 'haiku-ipc-modules.dkms'),
    [
      'PACKAGE_NAME="haiku-ipc"',
      'PACKAGE_VERSION="#MODULE_VERSION#"',
      'MAKE[0]="make -j$parallel_jobs -C $kernel_source_dir M=$dkms_tree/$module/$module_version/build/src NEXUS_DEBUGFS=n modules"',
      'CLEAN="make -C $kernel_source_dir M=$dkms_tree/$module/$module_version/build/src clean"',
      ...Object.values(RENAMES).flatMap((name, i) => [
        `BUILT_MODULE_NAME[${i}]="${name}"`,
        `BUILT_MODULE_LOCATION[${i}]="src/"`,
        `DEST_MODULE_LOCATION[${i}]="/updates/dkms"`,
      ]),
      'AUTOINSTALL="yes"',
      '',
    ].join('\n'),
  );
  writeFileSync(
    join(out, 'debian', 'changelog'),
    'haiku-ipc-modules (0.9.2-1) unstable; urgency=medium\n\n  * Test tree made by nexus-lab tools/theirs-tree.mjs.\n\n' +
      ' -- nexus-lab <nexus-lab@localhost>  Mon, 30 Nov 2026 00:00:00 +0000\n',
  );
  return out;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = process.argv[2];
  if (!out || process.argv.length > 3) {
    process.stderr.write('usage: node tools/theirs-tree.mjs OUT\n');
    process.exit(2);
  }
  try {
    process.stdout.write(`${writeTheirsTree(resolve(out))}\n`);
  } catch (e) {
    process.stderr.write(`theirs-tree: ${e.message}\n`);
    process.exit(1);
  }
}
