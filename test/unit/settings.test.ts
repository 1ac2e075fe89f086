import { describe, expect, test } from 'vitest';
import { defaultSettings, type Settings } from '../../src-main/common/settings';
import { UserFacingError } from '../../src-main/common/result';
import {
  CorruptSettingsError,
  createSettingsService,
  migrateSettings,
  type SettingsStorePort,
} from '../../src-main/core/settings/settingsService';

function memoryStore(initial: Record<string, unknown> | 'corrupt'): SettingsStorePort & { written: Settings[]; quarantined: number } {
  let content = initial;
  const store = {
    path: '/x/settings.json',
    written: [] as Settings[],
    quarantined: 0,
    read() {
      if (content === 'corrupt') throw new CorruptSettingsError('it is not valid JSON');
      return content;
    },
    write(s: Settings) {
      store.written.push(s);
      content = { ...s };
    },
    quarantine() {
      store.quarantined += 1;
      content = {};
      return '/x/settings.json.corrupt-1';
    },
  };
  return store;
}

describe('settings', () => {
  test('a fresh install gets the public horde and ratings URLs', () => {
    const s = createSettingsService(
      memoryStore({}),
      () => {},
      () => {},
    );
    expect(s.get()).toEqual(defaultSettings());
    expect(s.get().hordeUrl).toBe('https://aihorde.net/api');
    expect(s.get().ratingsUrl).toBe('https://ratings.aihorde.net/api/v1');
  });

  test('a corrupt file is moved aside with a message that says where', () => {
    const problems: string[] = [];
    const store = memoryStore('corrupt');
    const s = createSettingsService(
      store,
      (m) => problems.push(m),
      () => {},
    );
    expect(store.quarantined).toBe(1);
    expect(store.written).toEqual([]);
    expect(s.get()).toEqual(defaultSettings());
    expect(problems[0]).toContain('/x/settings.json.corrupt-1');
  });

  test('values the app cannot use are moved aside too, naming the field', () => {
    const problems: string[] = [];
    const store = memoryStore({ schemaVersion: 1, hordeUrl: 'ftp://nope', ratingsUrl: 'https://r/api/v1', workerName: '' });
    createSettingsService(
      store,
      (m) => problems.push(m),
      () => {},
    );
    expect(store.quarantined).toBe(1);
    expect(problems[0]).toContain('AI Horde URL: The address must start with https://');
  });

  test.each([
    [
      'a tab in the worker name',
      { workerName: 'Desk\tDreamer' },
      'Worker name: A worker name cannot contain tabs, line breaks or invisible characters.',
    ],
    ['plain http to a remote horde', { hordeUrl: 'http://aihorde.example/api' }, 'AI Horde URL: Use https:// for the AI Horde'],
    ['a long blacklist word', { blacklist: ['a', 'b'.repeat(101)] }, 'Blacklist word 2 is longer than 100 characters.'],
    ['text for max_pixels', { maxPixels: 'abc' }, 'Largest image (max_pixels): Enter a whole number of pixels'],
    [
      'a bad hours row',
      { schedule: { windows: [{ days: [1], start: '8', end: '17:00' }] } },
      'Hours, row 1, from: Use 24-hour time, e.g. 18:30.',
    ],
  ])('a stored file with %s is moved aside and the message uses the page’s words', (_, values, words) => {
    const problems: string[] = [];
    const store = memoryStore({ schemaVersion: 1, ...values });
    const s = createSettingsService(
      store,
      (m) => problems.push(m),
      () => {},
    );
    expect(store.quarantined).toBe(1);
    expect(store.written).toEqual([]);
    expect(s.get()).toEqual(defaultSettings());
    expect(problems[0]).toContain(words);
    expect(problems[0]).not.toMatch(/expected|Invalid input|Too big/);
  });

  test('a change with one bad field saves nothing, and the message names each bad field in the page’s words', () => {
    const store = memoryStore({});
    const s = createSettingsService(
      store,
      () => {},
      () => {},
    );
    s.update({ workerName: 'Desk Dreamer 01', nsfw: false });
    const before = s.get();
    const error = (() => {
      try {
        s.update({ nsfw: true, amount: 4, workerName: 'Desk\u202eDreamer', maxPixels: 'abc' });
      } catch (e) {
        return e;
      }
    })() as UserFacingError;
    expect(error).toBeInstanceOf(UserFacingError);
    expect(error.fields).toEqual({
      workerName: expect.stringContaining('invisible') as unknown,
      maxPixels: expect.stringContaining('pixels') as unknown,
    });
    expect(error.message).toMatch(
      /^Not saved\. Worker name: A worker name cannot contain .* Largest image \(max_pixels\): Enter a whole number of pixels/,
    );
    // Nothing half-saved: the good fields of the refused change were not applied either.
    expect(s.get()).toEqual(before);
    expect(store.written).toHaveLength(1);
  });

  test('an empty worker name is allowed only until one is chosen: a fresh install starts empty, no change can empty it again', () => {
    const store = memoryStore({});
    const s = createSettingsService(
      store,
      () => {},
      () => {},
    );
    expect(s.get().workerName).toBe('');
    s.update({ onboarded: true });
    expect(s.get()).toMatchObject({ workerName: '', onboarded: true });
    s.update({ workerName: 'Desk Dreamer 01' });
    expect(() => s.update({ workerName: '' })).toThrow(UserFacingError);
    expect(() => s.update({ workerName: '   ' })).toThrow(UserFacingError);
    expect(s.get().workerName).toBe('Desk Dreamer 01');
  });

  test('updates are validated field by field and the file keeps the last good value', () => {
    const store = memoryStore({});
    const changes: Settings[] = [];
    const s = createSettingsService(
      store,
      () => {},
      (n) => changes.push(n),
    );
    const error = (() => {
      try {
        s.update({ hordeUrl: 'not a url', workerName: 'abc' });
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(UserFacingError);
    expect(Object.keys((error as UserFacingError).fields ?? {}).sort()).toEqual(['hordeUrl', 'workerName']);
    expect(store.written).toEqual([]);
    const saved = s.update({ hordeUrl: 'http://127.0.0.1:7777/api/', workerName: 'Desk Dreamer 01' });
    expect(saved.hordeUrl).toBe('http://127.0.0.1:7777/api');
    expect(store.written.at(-1)).toEqual(saved);
    expect(changes).toEqual([saved]);
  });

  test('changing one field leaves the others as they were', () => {
    const s = createSettingsService(
      memoryStore({}),
      () => {},
      () => {},
    );
    s.update({ hordeUrl: 'http://127.0.0.1:7777/api' });
    expect(s.update({ workerName: 'Desk Dreamer 01' })).toMatchObject({
      hordeUrl: 'http://127.0.0.1:7777/api',
      workerName: 'Desk Dreamer 01',
    });
  });

  test('the API key can never be stored in settings', () => {
    const s = createSettingsService(
      memoryStore({}),
      () => {},
      () => {},
    );
    expect(() => s.update({ apiKey: 'abcdefghijklmnopqrstuv' } as never)).toThrow(UserFacingError);
  });

  test('migrations run in order and stamp the version; newer files are refused', () => {
    const steps = [
      { from: 1, migrate: (r: Record<string, unknown>) => ({ ...r, b: 'from1' }) },
      { from: 2, migrate: (r: Record<string, unknown>) => ({ ...r, c: `${String(r.b)}+2` }) },
    ];
    expect(migrateSettings({ a: 1 }, steps, 3)).toEqual({ a: 1, b: 'from1', c: 'from1+2', schemaVersion: 3 });
    expect(() => migrateSettings({ schemaVersion: 9 }, steps, 3)).toThrow(/newer HordeDesk/);
    expect(() => migrateSettings({ schemaVersion: 1 }, [], 2)).toThrow(/no migration/);
  });
});
