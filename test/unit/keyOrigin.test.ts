import { describe, expect, test } from 'vitest';
import { createKeyBinding, legacyKeyUrls } from '../../src-main/core/keyBinding';
import { createHordeClient, isRetryable } from '../../src-main/core/horde/client';
import { KeyDestinationError, keyDestinationProblem, parseKeyUrls, pendingOrigins, type KeyUrls } from '../../src-main/core/keyOrigin';
import { createRatingsClient, ratingOutcome } from '../../src-main/core/rating/client';
import type { SecretStorePort } from '../../src-main/core/secrets';

const HORDE = 'https://aihorde.net/api';
const RATINGS = 'https://ratings.aihorde.net/api/v1';

describe('keyDestinationProblem', () => {
  test('https anywhere and http on this machine may carry the key', () => {
    expect(keyDestinationProblem('https://aihorde.net/api/v2/find_user', undefined, 'the AI Horde')).toBeNull();
    expect(keyDestinationProblem('http://127.0.0.1:5000/api/v2/find_user', undefined, 'the AI Horde')).toBeNull();
    expect(keyDestinationProblem('http://localhost:5000/x', undefined, 'the AI Horde')).toBeNull();
  });

  test('plain http to another machine, credentials in the URL and garbage are refused', () => {
    expect(keyDestinationProblem('http://aihorde.net/api/v2/find_user', undefined, 'the AI Horde')?.code).toBe('key.insecureUrl');
    expect(keyDestinationProblem('http://192.168.1.10/api', undefined, 'the AI Horde')?.message).toMatch(
      /^Your API key was not sent to http:\/\/192\.168\.1\.10: Use https:\/\/ for the AI Horde/,
    );
    expect(keyDestinationProblem('https://me:pw@aihorde.net/api', undefined, 'x')?.code).toBe('key.insecureUrl');
    expect(keyDestinationProblem('not a url', undefined, 'x')?.code).toBe('key.insecureUrl');
  });

  test('another origin than the confirmed one is refused; another path on the same origin is not', () => {
    expect(keyDestinationProblem('https://aihorde.net/other/v2/x', HORDE, 'the AI Horde')).toBeNull();
    const moved = keyDestinationProblem('https://evil.example/api/v2/find_user', HORDE, 'the AI Horde');
    expect(moved?.code).toBe('key.unconfirmedOrigin');
    expect(moved?.origin).toBe('https://evil.example');
    expect(moved?.message).toBe(
      'Your settings now send your API key to https://evil.example instead of https://aihorde.net. Nothing is sent there until you confirm it in Settings.',
    );
    // A port is part of the origin.
    expect(keyDestinationProblem('https://aihorde.net:8443/api', HORDE, 'x')?.code).toBe('key.unconfirmedOrigin');
    expect(keyDestinationProblem('http://127.0.0.1:2/api', 'http://127.0.0.1:1/api', 'x')?.code).toBe('key.unconfirmedOrigin');
  });
});

test('pendingOrigins lists each service that moved, with the URL to go back to', () => {
  const confirmed: KeyUrls = { horde: HORDE, ratings: RATINGS };
  expect(pendingOrigins({ horde: `${HORDE}/`, ratings: RATINGS }, confirmed)).toEqual([]);
  expect(pendingOrigins({ horde: 'https://evil.example/api', ratings: 'https://r.example/v1' }, confirmed)).toEqual([
    { service: 'horde', origin: 'https://evil.example', previousOrigin: 'https://aihorde.net', previousUrl: HORDE },
    { service: 'ratings', origin: 'https://r.example', previousOrigin: 'https://ratings.aihorde.net', previousUrl: RATINGS },
  ]);
});

test('parseKeyUrls accepts only what setKeyUrls writes', () => {
  expect(parseKeyUrls(JSON.stringify({ horde: HORDE, ratings: RATINGS }))).toEqual({ horde: HORDE, ratings: RATINGS });
  expect(parseKeyUrls('{"horde":1}')).toBeNull();
  expect(parseKeyUrls('nope')).toBeNull();
  expect(parseKeyUrls('null')).toBeNull();
});

/** An in-memory store that counts reads, like safeStorage would decrypt on each. */
function memoryStore(key: string | null, urls: KeyUrls | null = null) {
  const state = { key, urls, keyReads: 0 };
  const store: SecretStorePort = {
    protection: 'in memory',
    getApiKey: () => (state.keyReads++, state.key),
    setApiKey: (k) => void (state.key = k),
    clearApiKey: () => void (state.key = null),
    getKeyUrls: () => state.urls,
    setKeyUrls: (u) => void (state.urls = u),
  };
  return { store, state };
}

describe('createKeyBinding', () => {
  test('setting the key confirms the URLs shown now; moving one makes it pending until confirmed', () => {
    const { store, state } = memoryStore(null);
    let current: KeyUrls = { horde: 'http://127.0.0.1:1/api', ratings: RATINGS };
    const keys = createKeyBinding(
      store,
      () => current,
      () => undefined,
    );
    expect(keys.pending()).toEqual([]);
    keys.set('k'.repeat(22));
    expect(state.urls).toEqual(current);
    expect(keys.confirmedUrl('horde')).toBe('http://127.0.0.1:1/api');
    current = { ...current, horde: 'https://evil.example/api' };
    expect(keys.pending().map((p) => p.origin)).toEqual(['https://evil.example']);
    expect(keys.confirmedUrl('horde')).toBe('http://127.0.0.1:1/api');
    keys.confirm();
    expect(keys.pending()).toEqual([]);
    expect(state.urls?.horde).toBe('https://evil.example/api');
  });

  test('a key stored before origins were recorded is bound to the default services', () => {
    const { store } = memoryStore('k'.repeat(22));
    const keys = createKeyBinding(
      store,
      () => ({ horde: 'https://evil.example/api', ratings: RATINGS }),
      () => undefined,
    );
    expect(legacyKeyUrls()).toEqual({ horde: HORDE, ratings: RATINGS });
    expect(keys.pending()).toEqual([
      { service: 'horde', origin: 'https://evil.example', previousOrigin: 'https://aihorde.net', previousUrl: HORDE },
    ]);
  });

  test('the store is read once; each change is announced once; a refused key is put back with its origins', () => {
    const { store, state } = memoryStore('old'.padEnd(22, 'x'), { horde: 'http://127.0.0.1:1/api', ratings: RATINGS });
    const announced: (string | null)[] = [];
    const keys = createKeyBinding(
      store,
      () => ({ horde: 'http://127.0.0.1:2/api', ratings: RATINGS }),
      (k) => announced.push(k),
    );
    for (let i = 0; i < 50; i++) keys.apiKey();
    expect(state.keyReads).toBe(1);
    const before = keys.snapshot();
    keys.store.setApiKey('new'.padEnd(22, 'x'));
    expect(keys.apiKey()).toBe('new'.padEnd(22, 'x'));
    keys.restore(before);
    expect(state.urls?.horde).toBe('http://127.0.0.1:1/api');
    keys.store.clearApiKey();
    expect(keys.apiKey()).toBeNull();
    expect(state.urls).toBeNull();
    expect(announced).toEqual(['old'.padEnd(22, 'x'), 'new'.padEnd(22, 'x'), 'old'.padEnd(22, 'x'), null]);
    expect(state.keyReads).toBe(1);
  });

  test('an unreadable store counts as no key and says why', () => {
    const errors: unknown[] = [];
    const store: SecretStorePort = {
      ...memoryStore(null).store,
      getApiKey: () => {
        throw new Error('decrypt failed');
      },
    };
    const keys = createKeyBinding(
      store,
      () => ({ horde: HORDE, ratings: RATINGS }),
      () => undefined,
      (e) => errors.push(e),
    );
    expect(keys.apiKey()).toBeNull();
    expect(String(errors[0])).toContain('decrypt failed');
  });
});

describe('the clients hold the key back from an unconfirmed origin', () => {
  test('the ratings client sends nothing, and the rater keeps the rating to send later (not refused)', async () => {
    let sent = 0;
    const ratings = createRatingsClient({
      baseUrl: () => 'https://ratings.example/api/v1',
      http: { request: async () => ((sent += 1), { status: 200, headers: {}, body: '{"reward":1}' }) },
      clientAgent: 'test',
      apiKey: () => 'k'.repeat(22),
      confirmedKeyUrl: () => RATINGS,
    });
    const error = await ratings.submit('image-1', { rating: 5, artifacts: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyDestinationError);
    expect(sent).toBe(0);
    expect(ratingOutcome(error).kind).toBe('retry');
  });

  test('the horde client refuses a pop to another origin; the worker loop does not retry it', async () => {
    let sent = 0;
    const horde = createHordeClient({
      baseUrl: () => 'https://horde.example/api',
      http: { request: async () => ((sent += 1), { status: 200, headers: {}, body: '{}' }) },
      clientAgent: 'test',
      apiKey: () => 'k'.repeat(22),
      confirmedKeyUrl: () => HORDE,
    });
    const error = await horde.pop({ name: 'w', models: ['m'] } as never).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(KeyDestinationError);
    expect(isRetryable(error)).toBe(false);
    expect(sent).toBe(0);
  });
});
