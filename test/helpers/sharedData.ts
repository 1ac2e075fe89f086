// Test data that must not live in the repository (licences, size) sits in ../shared/data next to the checkout.
// Tests that need it call sharedData(): in CI (CI=true, where the folder is provided) a missing file fails the
// test file with a loud error; elsewhere the tests are skipped and a loud warning names the missing path, so a
// fresh clone never passes by silently testing less.
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root (this file is test/helpers/sharedData.ts). */
export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));

/** Where shared data is looked for: `$HORDEDESK_SHARED_DATA`, else `../shared/data` beside the repository. */
export function sharedDataRoot(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.HORDEDESK_SHARED_DATA ?? join(REPO_ROOT, '..', 'shared', 'data'));
}

/** A located piece of shared data: `path` is absolute; `skip` is true when it is missing outside CI. */
export interface SharedData {
  readonly path: string;
  readonly skip: boolean;
}

/**
 * Locates `relative` (e.g. `clip/bpe_simple_vocab_16e6.txt.gz`) under the shared data folder for the tests named
 * `who`. Missing: throws under CI=true (so the test file fails), else warns loudly and returns `skip: true` (use
 * it with `describe.skipIf`).
 */
export function sharedData(
  relative: string,
  who: string,
  env: NodeJS.ProcessEnv = process.env,
  warn: (message: string) => void = console.warn,
): SharedData {
  const path = join(sharedDataRoot(env), relative);
  if (existsSync(path)) return { path, skip: false };
  const what = `${who} needs ${path}, which is missing (shared test data lives in ../shared/data beside the repository, or in $HORDEDESK_SHARED_DATA).`;
  if (env.CI === 'true') throw new Error(`SHARED TEST DATA MISSING IN CI: ${what}`);
  warn(
    `\n${'!'.repeat(100)}\n!! SKIPPED: ${what}\n!! These tests did NOT run. CI runs them; run them here by providing the folder.\n${'!'.repeat(100)}\n`,
  );
  return { path, skip: true };
}
