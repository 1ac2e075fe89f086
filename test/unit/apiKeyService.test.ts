import { describe, expect, test } from 'vitest';
import type { UserDetails } from '../../src-main/common/horde';
import type { SettingsPatch } from '../../src-main/common/settings';
import { createApiKeyService, revertPatch } from '../../src-main/core/apiKeyService';
import { HordeApiError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { createKeyBinding } from '../../src-main/core/keyBinding';
import type { KeyUrls } from '../../src-main/core/keyOrigin';
import type { SecretStorePort } from '../../src-main/core/secrets';

const HORDE = 'https://aihorde.net/api';
const RATINGS = 'https://ratings.aihorde.net/api/v1';
const OLD_KEY = 'oldkey_oldkey_oldkey_0';
const NEW_KEY = 'newkey_newkey_newkey_1';

function hordeError(status: number): HordeApiError {
  return new HordeApiError({
    code: 'horde.invalidApiKey',
    message: `HTTP ${status}`,
    status,
    rc: undefined,
    retryAfterMs: undefined,
    endpoint: 'GET /v2/find_user',
    hordeMessage: undefined,
  });
}

/** The key service over an in-memory store, with settings that point where `urls` says. */
function setup(options: { key?: string | null; findUser?: () => Promise<UserDetails> } = {}) {
  const stored: { key: string | null; urls: KeyUrls | null } = {
    key: options.key ?? null,
    urls: options.key ? { horde: HORDE, ratings: RATINGS } : null,
  };
  const store: SecretStorePort = {
    protection: 'in memory',
    getApiKey: () => stored.key,
    setApiKey: (k) => void (stored.key = k),
    clearApiKey: () => void (stored.key = null),
    getKeyUrls: () => stored.urls,
    setKeyUrls: (u) => void (stored.urls = u),
  };
  const urls: KeyUrls = { horde: HORDE, ratings: RATINGS };
  const keys = createKeyBinding(
    store,
    () => ({ ...urls }),
    () => undefined,
  );
  const updates: SettingsPatch[] = [];
  const lines: string[] = [];
  let wakes = 0;
  const service = createApiKeyService({
    keys,
    horde: { findUser: options.findUser ?? (async () => ({ username: 'me#1', id: 1, kudos: 12.5, kudos_details: {}, trusted: true })) },
    settings: { update: (patch) => void updates.push(patch) },
    log: { info: (m) => void lines.push(`info ${m}`), warn: (m) => void lines.push(`warn ${m}`) },
    onKeyUsable: () => void (wakes += 1),
  });
  return { service, stored, urls, updates, lines, wakes: () => wakes };
}

describe('apiKey.set', () => {
  test('a key of the wrong shape is refused before anything is stored or asked', async () => {
    let asked = 0;
    const s = setup({ findUser: async () => (asked++, Promise.reject(new Error('not reached'))) });
    await expect(s.service.set('short')).rejects.toMatchObject({
      code: 'invalid-api-key',
      fields: { apiKey: expect.stringMatching(/22 letters/) },
    });
    expect(s.stored.key).toBeNull();
    expect(asked).toBe(0);
  });

  test('a known key is kept with the origins the settings show, and says whose it is', async () => {
    const s = setup();
    const status = await s.service.set(NEW_KEY);
    expect(status).toEqual({ set: true, protection: 'in memory', username: 'me#1', kudos: 12.5, trusted: true, pendingOrigins: [] });
    expect(s.stored).toEqual({ key: NEW_KEY, urls: { horde: HORDE, ratings: RATINGS } });
    expect(s.wakes()).toBe(1);
  });

  for (const status of [401, 404]) {
    test(`a key the horde does not know (${status}) is rolled back to the previous key and origins`, async () => {
      const s = setup({ key: OLD_KEY, findUser: () => Promise.reject(hordeError(status)) });
      s.urls.horde = 'https://other.example/api';
      await expect(s.service.set(NEW_KEY)).rejects.toMatchObject({ code: 'unknown-api-key', fields: { apiKey: 'unknown to the horde' } });
      expect(s.stored).toEqual({ key: OLD_KEY, urls: { horde: HORDE, ratings: RATINGS } });
      expect(s.service.status().pendingOrigins.map((p) => p.service)).toEqual(['horde']);
      expect(s.wakes()).toBe(0);
    });
  }

  test('a key the horde refuses with no key before leaves no key', async () => {
    const s = setup({ findUser: () => Promise.reject(hordeError(401)) });
    await expect(s.service.set(NEW_KEY)).rejects.toMatchObject({ code: 'unknown-api-key' });
    expect(s.stored).toEqual({ key: null, urls: null });
    expect(s.service.status().set).toBe(false);
  });

  test('offline, the key is kept unchecked and the owner is forgotten', async () => {
    let online = true;
    const s = setup({
      findUser: async () => {
        if (!online) throw new HordeUnreachableError('GET /v2/find_user', 'timeout', 30_000);
        return { username: 'me#1', id: 1, kudos: 3, kudos_details: {} };
      },
    });
    expect((await s.service.set(OLD_KEY)).username).toBe('me#1');
    online = false;
    const status = await s.service.set(NEW_KEY);
    expect(status).toMatchObject({ set: true, username: null, kudos: null, trusted: null });
    expect(s.stored.key).toBe(NEW_KEY);
    expect(s.lines).toEqual([expect.stringMatching(/^warn kept the API key without checking it: /)]);
    expect(s.lines.join('\n')).not.toContain(NEW_KEY);
  });
});

describe('origins and clearing', () => {
  test('confirming sends the key to the origins the settings show now and wakes the rater', () => {
    const s = setup({ key: OLD_KEY });
    s.urls.ratings = 'https://r.example/v1';
    expect(s.service.status().pendingOrigins).toHaveLength(1);
    expect(s.service.confirmOrigins().pendingOrigins).toEqual([]);
    expect(s.stored.urls).toEqual({ horde: HORDE, ratings: 'https://r.example/v1' });
    expect(s.lines).toEqual(['info the user confirmed sending the API key to https://r.example']);
    expect(s.wakes()).toBe(1);
  });

  test('going back puts each moved URL back in the settings, and nothing when none moved', () => {
    const s = setup({ key: OLD_KEY });
    s.service.revertOrigins();
    expect(s.updates).toEqual([]);
    s.urls.horde = 'https://evil.example/api';
    s.urls.ratings = 'https://r.example/v1';
    s.service.revertOrigins();
    expect(s.updates).toEqual([{ hordeUrl: HORDE, ratingsUrl: RATINGS }]);
  });

  test('revertPatch names only the services that moved', () => {
    expect(
      revertPatch([
        { service: 'ratings', origin: 'https://r.example', previousOrigin: 'https://ratings.aihorde.net', previousUrl: RATINGS },
      ]),
    ).toEqual({ ratingsUrl: RATINGS });
  });

  test('clearing forgets the key, its origins and its owner', async () => {
    const s = setup();
    await s.service.set(NEW_KEY);
    expect(s.service.clear()).toEqual({
      set: false,
      protection: 'in memory',
      username: null,
      kudos: null,
      trusted: null,
      pendingOrigins: [],
    });
    expect(s.stored).toEqual({ key: null, urls: null });
  });
});
