#!/usr/bin/env node
// After a failed integration run: print, last, what failed in the newest
// results/integration run (jobs that did not pass, their reasons and failed
// scenarios), so a CI log that keeps only its tail still says why.  The
// tests that expect a failure (a broken tree, a panic) are listed too.
import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const root = process.argv[2] ?? 'results/integration';
if (!existsSync(root)) process.exit(0);
const newest = readdirSync(root)
  .map((d) => join(root, d))
  .filter((d) => statSync(d).isDirectory())
  .sort()
  .at(-1);
if (!newest) process.exit(0);

const runs = [];
const walk = (dir, depth) => {
  if (existsSync(join(dir, 'run.json'))) runs.push(join(dir, 'run.json'));
  if (depth === 0) return;
  for (const d of readdirSync(dir)) {
    const p = join(dir, d);
    if (lstatSync(p).isDirectory()) walk(p, depth - 1); // not the "latest" links
  }
};
walk(newest, 3);
console.log(`\n== what failed in ${newest} ==`);
for (const file of runs.sort()) {
  let run;
  try {
    run = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    continue;
  }
  for (const j of run.jobs ?? []) {
    if (j.verdict === 'pass') continue;
    console.log(`${file}: ${j.id}: ${j.verdict}: ${j.reason ?? ''}`);
    for (const s of j.scenarios ?? []) {
      if (s.status === 'fail' || s.status === 'error') console.log(`  ${s.suite}/${s.name}: ${s.status}: ${(s.reason ?? '').slice(0, 400)}`);
    }
    for (const p of j.problems ?? []) console.log(`  problem: ${p}`);
  }
}
