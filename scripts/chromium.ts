import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// Which Chromium the browser tests (playwright.config.ts) and the rater bench launch: tooling for both,
// so it lives here rather than among the test helpers, which nothing outside test/ may import.

/** The Chromium the browser tests and the rater bench launch, and the flags it needs. */
export interface ChromiumChoice {
  executablePath: string;
  args: string[];
  /** Where it came from, for the line the test run prints. */
  source: 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium';
}

/** Flags every Chromium gets: no sandbox (CI runs as root), nothing that phones home or updates. */
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/*
 * @sparticuz/chromium's own flags (`chromium.args`) are for AWS Lambda and are not used: its
 * build starts here with the flags above (checked with Playwright 1.65 on Linux x64 without a system Chromium), and some
 * of its flags (`--disable-web-security`, `--allow-running-insecure-content`, no site isolation)
 * would switch off exactly the origin checks the tests exercise; `--single-process` makes a
 * crash in one page take the whole browser down. Playwright adds headless mode itself.
 */

/** Debian and Ubuntu put their Chromium here. */
const SYSTEM_CHROMIUM = ['/usr/bin/chromium', '/usr/bin/chromium-browser'];

// This file is scripts/chromium.ts: the repository root is one folder up.
const root = join(dirname(fileURLToPath(import.meta.url)), '..');

function isFile(path: string): boolean {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * Unpacks @sparticuz/chromium's build once into node_modules/.cache. The package unpacks into
 * the system temp folder and takes any file already there as finished, so two test runs starting
 * together could launch a half-written binary: here each run unpacks into its own folder (the
 * package honours TMPDIR) and renames it into place, which only one run can win.
 */
async function unpackSparticuz(): Promise<string> {
  const { default: sparticuz } = await import('@sparticuz/chromium');
  const version = (
    JSON.parse(readFileSync(join(root, 'node_modules', '@sparticuz', 'chromium', 'package.json'), 'utf8')) as { version: string }
  ).version;
  const cache = join(root, 'node_modules', '.cache');
  const target = join(cache, `sparticuz-chromium-${version}`);
  const binary = join(target, 'chromium');
  if (isFile(join(target, '.complete')) && isFile(binary)) return binary;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, `sparticuz-chromium-${version}-unpacking-`));
  const tmp = process.env.TMPDIR;
  process.env.TMPDIR = staging;
  try {
    const unpacked = await sparticuz.executablePath();
    if (unpacked !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${unpacked}, not into ${staging}`);
  } finally {
    if (tmp === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = tmp;
  }
  writeFileSync(join(staging, '.complete'), `${version}\n`);
  try {
    renameSync(staging, target);
  } catch (error) {
    // Another run finished first: use its copy.
    rmSync(staging, { recursive: true, force: true });
    if (!isFile(join(target, '.complete'))) throw error;
  }
  return binary;
}

/**
 * Which Chromium to use: `CHROMIUM_PATH` when set; otherwise the system's (Debian's
 * /usr/bin/chromium) unless `HORDEDESK_NO_SYSTEM_CHROMIUM=1`; otherwise the build inside the
 * @sparticuz/chromium npm package (Linux x64), so `npm install && npm test` needs no apt step.
 */
export async function resolveChromium(env: NodeJS.ProcessEnv = process.env): Promise<ChromiumChoice> {
  const chosen = env.CHROMIUM_PATH;
  if (chosen !== undefined && chosen !== '') {
    if (!existsSync(chosen)) throw new Error(`CHROMIUM_PATH is ${chosen}, but there is no file there.`);
    return { executablePath: chosen, args: COMMON_ARGS, source: 'CHROMIUM_PATH' };
  }
  if (env.HORDEDESK_NO_SYSTEM_CHROMIUM !== '1') {
    const system = SYSTEM_CHROMIUM.find(isFile);
    if (system !== undefined) return { executablePath: system, args: COMMON_ARGS, source: 'system' };
  }
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(
      'No Chromium found: install one (e.g. `apt-get install chromium`) or set CHROMIUM_PATH. The bundled @sparticuz/chromium build runs on Linux x64 only.',
    );
  }
  return { executablePath: await unpackSparticuz(), args: COMMON_ARGS, source: '@sparticuz/chromium' };
}
