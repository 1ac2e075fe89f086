// `npm run mutate [-- group... [--stryker-option value...]]`: mutation testing, one Stryker run
// per group of stryker.config.mjs (all groups when none is named), then one score line per group.
// Example: `npm run mutate -- settings --concurrency 1`.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { groups } = await import(join(root, 'stryker.config.mjs'));
const args = process.argv.slice(2);
const firstOption = args.findIndex((a) => a.startsWith('-'));
const named = firstOption < 0 ? args : args.slice(0, firstOption);
const passOn = firstOption < 0 ? [] : args.slice(firstOption);
const unknown = named.filter((g) => !(g in groups));
if (unknown.length > 0) {
  console.error(`No mutation group ${unknown.join(', ')}. Groups: ${Object.keys(groups).join(', ')}`);
  process.exit(2);
}
const chosen = named.length > 0 ? named : Object.keys(groups);
const stryker = join(dirname(createRequire(import.meta.url).resolve('@stryker-mutator/core/package.json')), 'bin', 'stryker.js');
// Tests that read ../shared must find it from Stryker's sandbox (.stryker-tmp/sandbox-*/) too.
const shared = process.env.HORDEDESK_SHARED_DATA ?? resolve(root, '..', 'shared', 'data');

/** Score of a finished run from its JSON report: killed + timeout over all valid mutants. */
function score(group) {
  const file = join(root, 'reports', 'mutation', `${group}.json`);
  if (!existsSync(file)) return null;
  const report = JSON.parse(readFileSync(file, 'utf8'));
  const rows = [];
  for (const [path, { mutants }] of Object.entries(report.files)) {
    const count = (s) => mutants.filter((m) => m.status === s).length;
    const detected = count('Killed') + count('Timeout');
    const valid = detected + count('Survived') + count('NoCoverage');
    rows.push({ path, detected, valid, survived: count('Survived'), noCoverage: count('NoCoverage') });
  }
  return rows;
}

const summary = [];
let failed = false;
for (const group of chosen) {
  console.log(`\n=== mutation group "${group}" ===`);
  const run = spawnSync(process.execPath, [stryker, 'run', 'stryker.config.mjs', ...passOn], {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, HORDEDESK_MUTATE_GROUP: group, HORDEDESK_SHARED_DATA: shared },
  });
  if (run.status !== 0) failed = true;
  for (const row of score(group) ?? []) summary.push({ group, ...row });
}

console.log('\nMutation score per module (killed + timed out / valid mutants):');
for (const r of summary) {
  const pct = r.valid === 0 ? 'n/a' : `${((100 * r.detected) / r.valid).toFixed(1)}%`;
  console.log(
    `  ${r.group.padEnd(10)} ${r.path.padEnd(48)} ${pct.padStart(6)}  (${r.detected}/${r.valid}; survived ${r.survived}, no coverage ${r.noCoverage})`,
  );
}
console.log('Reports: reports/mutation/<group>.html');
process.exit(failed ? 1 : 0);
