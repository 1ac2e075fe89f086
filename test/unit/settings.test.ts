import { describe, expect, test } from 'vitest';
import { defaultSettings, type Settings } from '../../src-main/common/settings';
import { UserFacingError } from '../../src-main/common/result';
import { CorruptSettingsError, createSettingsService, migrateSettings, type SettingsStorePort } from '../../src-main/core/settings/settingsService';

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
    const s = createSettingsService(memoryStore({}), () => {}, () => {});
    expect(s.get()).toEqual(defaultSettings());
    expect(s.get().hordeUrl).toBe('https://aihorde.net/api');
    expect(s.get().ratingsUrl).toBe('https://ratings.aihorde.net/api/v1');
  });

  test('a corrupt file is moved aside with a message that says where', () => {
    const problems: string[] = [];
    const store = memoryStore('corrupt');
    const s = createSettingsService(store, (m) => problems.push(m), () => {});
    expect(store.quarantined).toBe(1);
    expect(store.written).toEqual([]);
    expect(s.get()).toEqual(defaultSettings());
    expect(problems[0]).toContain('/x/settings.json.corrupt-1');
  });

  test('values the app cannot use are moved aside too, naming the field', () => {
    const problems: string[] = [];
    const store = memoryStore({ schemaVersion: 1, hordeUrl: 'ftp://nope', ratingsUrl: 'https://r/api/v1', workerName: '' });
    createSettingsService(store, (m) => problems.push(m), () => {});
    expect(store.quarantined).toBe(1);
    expect(problems[0]).toMatch(/hordeUrl/);
  });

  test('updates are validated field by field and the file keeps the last good value', () => {
    const store = memoryStore({});
    const changes: Settings[] = [];
    const s = createSettingsService(store, () => {}, (n) => changes.push(n));
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
    const s = createSettingsService(memoryStore({}), () => {}, () => {});
    s.update({ hordeUrl: 'http://127.0.0.1:7777/api' });
    expect(s.update({ workerName: 'Desk Dreamer 01' })).toMatchObject({ hordeUrl: 'http://127.0.0.1:7777/api', workerName: 'Desk Dreamer 01' });
  });

  test('the API key can never be stored in settings', () => {
    const s = createSettingsService(memoryStore({}), () => {}, () => {});
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
