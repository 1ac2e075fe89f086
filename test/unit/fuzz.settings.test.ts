import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, test } from 'vitest';
import { UserFacingError } from '../../src-main/common/result';
import { defaultSettings, settingsPatchSchema, settingsSchema, type Settings } from '../../src-main/common/settings';
import { parseSettingsFile } from '../../src-main/core/settings/settingsFile';
import {
  CorruptSettingsError,
  createSettingsService,
  migrateSettings,
  SETTINGS_MIGRATIONS,
  type SettingsStorePort,
} from '../../src-main/core/settings/settingsService';
import { createConfSettingsStore, headlessConfFactory } from '../../src-main/node/system/settingsStore';
import { anyJson, brokenJsonText, mutatedJson } from '../helpers/fuzzJson';

// settings.json is a file anyone (another program, a sync tool, a bad disk) may have written;
// an imported settings file is whatever the user picked. Property: loading always ends with
// valid settings (the file's, or defaults with the file moved aside and the user told), and a
// change or an import is applied whole or refused with field messages: nothing else escapes.

const full = {
  ...defaultSettings(),
  workerName: 'Desk Dreamer 01',
  blacklist: ['cat'],
  maxPixels: 1_048_576,
  schedule: { ...defaultSettings().schedule, windows: [{ days: [1, 2], start: '22:00', end: '08:00' }], maxGpuTempC: 80 },
};

function memoryStore(content: unknown): SettingsStorePort & { quarantined: number; written: Settings[] } {
  let current = content;
  const store = {
    path: '/x/settings.json',
    quarantined: 0,
    written: [] as Settings[],
    read(): Record<string, unknown> {
      // As node/system/settingsStore.ts: anything but an object is a corrupt file.
      if (typeof current !== 'object' || current === null || Array.isArray(current))
        throw new CorruptSettingsError('it does not hold a settings object');
      return current as Record<string, unknown>;
    },
    write(s: Settings) {
      store.written.push(s);
      current = { ...s };
    },
    quarantine() {
      store.quarantined += 1;
      current = {};
      return '/x/settings.json.corrupt-1';
    },
  };
  return store;
}

function checkLoad(content: unknown): void {
  const problems: string[] = [];
  const store = memoryStore(content);
  const service = createSettingsService(
    store,
    (m) => problems.push(m),
    () => {},
  );
  expect(settingsSchema.safeParse(service.get()).success).toBe(true);
  if (store.quarantined > 0) {
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('/x/settings.json.corrupt-1');
    expect(service.get()).toEqual(defaultSettings());
  } else {
    expect(problems).toEqual([]);
  }
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('fuzz: the settings file', () => {
  test('any stored value loads into valid settings, or defaults with the file moved aside and a message', () => {
    fc.assert(fc.property(anyJson, checkLoad), { numRuns: 300, seed: 4001 });
    fc.assert(fc.property(mutatedJson(full), checkLoad), { numRuns: 600, seed: 4002 });
  });

  test('migration of any stored object gives an object or the one "cannot be used" error', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 12 }), anyJson, { maxKeys: 8 }), fc.option(anyJson), (raw, version) => {
        const input = version === null ? raw : { ...raw, schemaVersion: version };
        try {
          expect(typeof migrateSettings(input, SETTINGS_MIGRATIONS)).toBe('object');
        } catch (error) {
          expect(error).toBeInstanceOf(CorruptSettingsError);
        }
      }),
      { numRuns: 300, seed: 4003 },
    );
  });

  test('any change is applied whole or refused with field messages; a refused change leaves everything as it was', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          anyJson,
          mutatedJson({ workerName: 'Desk Dreamer 02', nsfw: true, amount: '3', maxPixels: '', blacklist: ['a'], schedule: full.schedule }),
        ),
        (patch) => {
          const store = memoryStore(full);
          const service = createSettingsService(
            store,
            () => {},
            () => {},
          );
          const before = service.get();
          try {
            const saved = service.update(patch as never);
            expect(settingsSchema.safeParse(saved).success).toBe(true);
            expect(store.written.at(-1)).toEqual(saved);
          } catch (error) {
            expect(error).toBeInstanceOf(UserFacingError);
            const fields = (error as UserFacingError).fields ?? {};
            expect(Object.keys(fields).length).toBeGreaterThan(0);
            // Each message is the page's words, never the validator's.
            for (const message of Object.values(fields))
              expect(message).not.toMatch(/expected|Invalid input|Too big|Too small|Unrecognized/);
            expect(service.get()).toEqual(before);
            expect(store.written).toEqual([]);
          }
        },
      ),
      { numRuns: 500, seed: 4004 },
    );
  });

  test('any imported file is a change the page could have made, or one clear refusal', () => {
    const exported = JSON.stringify(full);
    fc.assert(
      fc.property(
        fc.oneof(
          brokenJsonText,
          mutatedJson(full).map((v) => JSON.stringify(v) ?? ''),
          fc.constant(exported),
        ),
        (content) => {
          try {
            const patch = parseSettingsFile(content);
            expect(settingsPatchSchema.safeParse(patch).success).toBe(true);
          } catch (error) {
            expect(error).toBeInstanceOf(UserFacingError);
            expect((error as UserFacingError).code).toBe('invalid-settings-file');
            expect((error as Error).message).not.toMatch(/expected|Invalid input|Too big|Too small/);
          }
        },
      ),
      { numRuns: 400, seed: 4005 },
    );
  });

  test('any bytes in settings.json on disk: the app starts, and an unusable file is kept aside untouched', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          brokenJsonText,
          mutatedJson(full).map((v) => JSON.stringify(v) ?? ''),
        ),
        (text) => {
          const dir = mkdtempSync(join(tmpdir(), 'hordedesk-fuzz-settings-'));
          dirs.push(dir);
          writeFileSync(join(dir, 'settings.json'), text);
          const problems: string[] = [];
          const service = createSettingsService(
            createConfSettingsStore(headlessConfFactory, dir),
            (m) => problems.push(m),
            () => {},
          );
          expect(settingsSchema.safeParse(service.get()).success).toBe(true);
          const aside = readdirSync(dir).filter((f) => f.startsWith('settings.json.corrupt-'));
          if (problems.length > 0) {
            expect(aside).toHaveLength(1);
            expect(readFileSync(join(dir, aside[0] ?? ''), 'utf8')).toBe(text);
          } else {
            expect(aside).toEqual([]);
          }
        },
      ),
      { numRuns: 60, seed: 4006 },
    );
  });
});
