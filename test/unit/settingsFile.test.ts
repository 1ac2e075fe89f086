import { describe, expect, test } from 'vitest';
import { defaultSettings, type Settings } from '../../src-main/common/settings';
import { UserFacingError } from '../../src-main/common/result';
import { describeSettingsProblems, parseSettingsFile, settingsFieldLabel } from '../../src-main/core/settings/settingsFile';
import { createSettingsService, type SettingsStorePort } from '../../src-main/core/settings/settingsService';

function memoryStore(): SettingsStorePort & { written: Settings[] } {
  let content: Record<string, unknown> = {};
  const store = {
    path: '/x/settings.json',
    written: [] as Settings[],
    read: () => content,
    write(s: Settings) {
      store.written.push(s);
      content = { ...s };
    },
    quarantine: () => '/x/settings.json.corrupt-1',
  };
  return store;
}

/** The file `settings.export` writes: everything but the onboarding state, never the key. */
function exported(settings: Settings): string {
  const { onboarded: _onboarded, ...rest } = settings;
  return `${JSON.stringify(rest, null, 2)}\n`;
}

function refusal(content: string): UserFacingError {
  try {
    parseSettingsFile(content);
  } catch (error) {
    if (error instanceof UserFacingError) return error;
    throw error;
  }
  throw new Error('the file was accepted');
}

describe('settings file import', () => {
  test('an exported file imports on another machine and gives the same settings', () => {
    const from = createSettingsService(
      memoryStore(),
      () => {},
      () => {},
    );
    from.update({
      workerName: 'Desk Dreamer 01',
      nsfw: true,
      blacklist: ['cat', 'dog'],
      amount: 3,
      maxPixels: 1_048_576,
      schedule: { ...defaultSettings().schedule, mode: 'always', maxGpuTempC: 80 },
    });
    const to = createSettingsService(
      memoryStore(),
      () => {},
      () => {},
    );
    const imported = to.update(parseSettingsFile(exported(from.get())));
    expect({ ...imported, onboarded: true }).toEqual({ ...from.get(), onboarded: true });
  });

  test('an empty worker name in the file (exported before one was chosen) keeps the name this machine has', () => {
    const to = createSettingsService(
      memoryStore(),
      () => {},
      () => {},
    );
    to.update({ workerName: 'Desk Dreamer 01' });
    const imported = to.update(parseSettingsFile(exported({ ...defaultSettings(), nsfw: true })));
    expect(imported).toMatchObject({ workerName: 'Desk Dreamer 01', nsfw: true });
  });

  test.each<[string, string, string, Record<string, string>?]>([
    ['not JSON', '{"hordeUrl": ', 'This file is not a HordeDesk settings file (it is not JSON).'],
    ['a JSON list', '[1, 2]', 'This file is not a HordeDesk settings file.'],
    ['JSON null', 'null', 'This file is not a HordeDesk settings file.'],
    ['a newer version', '{"schemaVersion": 7}', 'This settings file is version 7; this HordeDesk reads version 1.'],
    ['a version that is not a number', '{"schemaVersion": "one"}', 'This settings file is version "one"; this HordeDesk reads version 1.'],
    [
      'a remote http horde and a 101-character blacklist word',
      JSON.stringify({ schemaVersion: 1, hordeUrl: 'http://evil.example/api', blacklist: ['ok', 'x'.repeat(101)] }),
      'Nothing was imported. AI Horde URL: Use https:// for the AI Horde: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.) Blacklist word 2 is longer than 100 characters.',
      {
        hordeUrl:
          'AI Horde URL: Use https:// for the AI Horde: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.)',
        blacklist: 'Blacklist word 2 is longer than 100 characters.',
      },
    ],
    [
      'a worker name with a bidi override',
      JSON.stringify({ workerName: 'Desk \u202eDreamer' }),
      'Nothing was imported. Worker name: A worker name cannot contain tabs, line breaks or invisible characters.',
    ],
    [
      'text for max_pixels',
      JSON.stringify({ maxPixels: 'abc' }),
      'Nothing was imported. Largest image (max_pixels): Enter a whole number of pixels from 4096 (64×64) to 9437184 (3072×3072), e.g. 1048576 for 1024×1024, or leave the field empty to use the suggestion.',
    ],
    [
      'a bad hours row',
      JSON.stringify({ schedule: { windows: [{ days: [], start: '08:00', end: '17:00' }] } }),
      'Nothing was imported. Hours, row 1, days: Pick at least one day.',
    ],
    [
      'an API key',
      JSON.stringify({ apiKey: 'abcdefghijklmnopqrstuv' }),
      'Nothing was imported. The API key is never kept in settings: enter it on the API key card.',
    ],
    ['an unknown setting', JSON.stringify({ theme: 'dark' }), 'Nothing was imported. HordeDesk has no setting called "theme".'],
  ])('a file with %s is refused in words, naming each field', (_, content, message, fields) => {
    const error = refusal(content);
    expect(error.code).toBe('invalid-settings-file');
    expect(error.message).toBe(message);
    if (fields) expect(error.fields).toEqual(fields);
  });

  test('a refused file changes nothing, not even its good fields', () => {
    const store = memoryStore();
    const s = createSettingsService(
      store,
      () => {},
      () => {},
    );
    const content = JSON.stringify({ nsfw: true, amount: 5, ratingsUrl: 'http://ratings.example/api/v1' });
    expect(() => s.update(parseSettingsFile(content))).toThrow(/Ratings service URL: Use https:\/\/ for the ratings service/);
    expect(s.get()).toEqual(defaultSettings());
    expect(store.written).toEqual([]);
  });
});

describe('field labels', () => {
  test.each([
    ['hordeUrl', 'AI Horde URL'],
    ['ratingsUrl', 'Ratings service URL'],
    ['modelReferenceUrl', 'Model reference URL'],
    ['clipTokenizerUrl', 'CLIP tokenizer URL'],
    ['loraCacheGb', 'Disk for downloaded LoRAs (GB)'],
    ['civitaiUrl', 'CivitAI URL'],
    ['workerName', 'Worker name'],
    ['maxPixels', 'Largest image (max_pixels)'],
    ['amount', 'Images per pop'],
    ['schedule.idleMinutes', 'Minutes without input'],
    ['schedule.maxGpuTempC', 'GPU temperature limit (°C)'],
    ['schedule.windows', 'Hours'],
    ['schedule.windows.0', 'Hours, row 1'],
    ['schedule.windows.2.start', 'Hours, row 3, from'],
    ['schedule.windows.2.end', 'Hours, row 3, to'],
    ['schedule.windows.0.days.4', 'Hours, row 1, days'],
    ['schedule.somethingNew', 'When to work'],
    ['mystery', 'mystery'],
  ])('%s reads "%s"', (path, label) => {
    expect(settingsFieldLabel(path)).toBe(label);
  });

  test('messages that name themselves are not labelled twice', () => {
    expect(
      describeSettingsProblems({
        blacklist: 'Blacklist word 1 is empty.',
        models: 'Model 2 is empty.',
        '(request)': 'HordeDesk has no setting called "x".',
        amount: 'Enter a whole number.',
      }),
    ).toEqual([
      'Blacklist word 1 is empty.',
      'Model 2 is empty.',
      'HordeDesk has no setting called "x".',
      'Images per pop: Enter a whole number.',
    ]);
  });
});
