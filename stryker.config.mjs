// @ts-check
// Mutation testing (StrykerJS + its vitest runner) of the modules that guard the user. Run through
// `npm run mutate [-- group...]` (scripts/mutate.mjs), which runs one Stryker per group with
// HORDEDESK_MUTATE_GROUP set; each group mutates its modules and runs only its own tests
// (vitest.mutate.config.ts).
import { readFileSync } from 'node:fs';

/**
 * The lines of one function in a file (from its `export function name` line to the first line
 * that is only `}`), so a group can mutate one function of a bigger module without naming line
 * numbers that go stale with every edit.
 */
function functionLines(file, name) {
  const lines = readFileSync(file, 'utf8').split('\n');
  const start = lines.findIndex((l) => l.startsWith(`export function ${name}(`));
  if (start < 0) throw new Error(`stryker.config.mjs: ${file} has no exported function ${name}`);
  const end = lines.findIndex((l, i) => i > start && l === '}');
  return `${file}:${start + 1}-${end + 1}`;
}

/** Each group: what is mutated, and the tests that must kill the mutants. */
export const groups = {
  /** Static serving, the token and origin checks, the WebSocket transport. */
  server: {
    mutate: ['src-main/headless/server.ts', 'src-main/headless/wsTransport.ts', 'src-main/headless/access.ts'],
    testFiles: ['test/integration/headless.test.ts', 'test/integration/headlessServer.test.ts', 'test/integration/bridgeReconnect.test.ts'],
  },
  /** The restricted unpickler and its limits, the ZIP reader, the streamed safetensors reader, their one error class. */
  readers: {
    mutate: [
      'src-main/inference/convert/ckpt/**/*.ts',
      'src-main/inference/convert/safetensors.ts',
      'src-main/inference/convert/formatError.ts',
    ],
    // Not ckptFuzz.test.ts: it only asserts "no crash", which these tests check case by case, and its 12 s would run
    // for every surviving mutant.
    testFiles: [
      'test/unit/ckptUnpickle.test.ts',
      'test/unit/ckptUnpickleOps.test.ts',
      'test/unit/ckptAllowList.test.ts',
      'test/unit/ckptZip.test.ts',
      'test/unit/ckptReader.test.ts',
      'test/unit/safetensors.test.ts',
      'test/unit/convert.test.ts',
    ],
  },
  /** The ldm → diffusers key mapping, checked against the original code's outputs. */
  ldmKeys: {
    mutate: ['src-main/inference/convert/ldmKeys.ts'],
    // ldmKeysReference.test.ts holds the mapping to the original checkpoint's keys and shapes, and converts it in the
    // test's thread against the original outputs. convertReference.test.ts checks the same outputs through the
    // installer, whose worker thread never has a mutant switched on, so it cannot kill any here.
    testFiles: ['test/unit/convert.test.ts', 'test/integration/ldmKeysReference.test.ts'],
  },
  /** The API key kept out of every log line and error text. */
  redaction: {
    mutate: ['src-main/core/log.ts', functionLines('src-main/core/horde/serviceErrors.ts', 'redactSecret')],
    testFiles: ['test/unit/redaction.test.ts', 'test/integration/logRedaction.test.ts'],
  },
  /** Resumable downloads: size, sha256, refusal of what cannot be verified. */
  downloads: {
    mutate: ['src-main/node/models/modelDownloads.ts'],
    testFiles: [
      'test/integration/models.download.test.ts',
      'test/integration/models.downloadLimits.test.ts',
      'test/integration/models.downloadAnswers.test.ts',
      'test/integration/models.verify.app.test.ts',
    ],
  },
  /** The settings schema and the one rule for service URLs. */
  /** The CPU job's memory plan: what stays open and how the VAE splits an image to keep within the budget. */
  memoryPlan: {
    mutate: ['src-main/inference/pipeline/memoryPlan.ts'],
    testFiles: ['test/unit/memoryPlan.test.ts'],
  },
  settings: {
    mutate: ['src-main/common/settings.ts', 'src-main/common/serviceUrl.ts'],
    testFiles: ['test/unit/settings*.test.ts', 'test/unit/fuzz.settings.test.ts'],
  },
  /** CSV export's formula guard and quoting. */
  export: {
    mutate: ['src-main/core/rating/export.ts'],
    testFiles: ['test/unit/ratingExport.test.ts'],
  },
};

const name = process.env.HORDEDESK_MUTATE_GROUP ?? 'settings';
const group = groups[name];
if (!group) throw new Error(`stryker.config.mjs: no group "${name}" (groups: ${Object.keys(groups).join(', ')})`);

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'vitest',
  // The group's tests only (vitest.mutate.config.ts narrows `include`; see there why not `testFiles`).
  vitest: { configFile: 'vitest.mutate.config.ts', related: false, pool: 'forks' },
  mutate: group.mutate,
  coverageAnalysis: 'perTest',
  // Zod schemas are built when a module loads: ignoring static mutants would skip most of them.
  ignoreStatic: false,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: `reports/mutation/${name}.html` },
  jsonReporter: { fileName: `reports/mutation/${name}.json` },
  thresholds: { high: 90, low: 80, break: null },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  // The sandbox needs the sources, the tests and their fixtures, not build output or run data.
  // `.stryker-tmp*`: other runs' sandboxes (a run started with another --tempDirName), which come and go mid-copy.
  ignorePatterns: [
    'out',
    'dist',
    '.demo',
    'test-results',
    'bench-results',
    'playwright-report',
    'reports',
    '.tmp',
    '.stryker-tmp*',
    '*.log',
  ],
  // A busy machine (other work beside the run) needs more than the default 5 s before a mutant counts as a timeout.
  timeoutMS: 15_000,
};

export default config;
