import { defineConfig } from 'vitest/config';
// @ts-expect-error -- a plain ES module without types: the groups are data.
import { groups } from './stryker.config.mjs';
import base from './vitest.config';

// Mutation testing (stryker.config.mjs) runs only the tests of the group in HORDEDESK_MUTATE_GROUP.
// The include list is narrowed here rather than with Stryker's `testFiles`, because with
// `testFiles` Stryker 10 activates module-level ("static") mutants after the module has loaded,
// so they survive whatever the tests do (stryker-js issues #6144 and #6209).
const name = process.env.HORDEDESK_MUTATE_GROUP ?? 'settings';
const group = (groups as Record<string, { testFiles: string[] } | undefined>)[name];
if (!group) throw new Error(`vitest.mutate.config.ts: no mutation group "${name}"`);

export default defineConfig({ ...base, test: { ...base.test, include: group.testFiles } });
