import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { MAX_REQUEST_LOG, startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { seededDetails } from '../../src-main/standin/users';
import { recordedExchange, shapeOf } from '../helpers/hordeExchange';
import { hordeCall } from '../helpers/standinKit';

// The stand-in is the oracle for every horde-facing test, so it is tested against the protocol
// notes and the recorded server answers (their shape: the values are the stand-in's own), with
// plain fetch (no app code involved).

const exchange = recordedExchange('standin.test.ts (UserDetails shape against the recorded horde)', [
  'b64/03_worker_user_before.json',
  'b64/13_requester_user_after.json',
]);

let standin: StandinHandle;
beforeEach(async () => {
  standin = await startStandin();
});
afterEach(async () => {
  await standin.close();
});

async function call(path: string, init: { apikey?: string; method?: string; body?: unknown; agent?: string } = {}) {
  const headers: Record<string, string> = { 'Client-Agent': init.agent ?? 'StandinTest:1.0.0:test@example.org' };
  if (init.apikey !== undefined) headers.apikey = init.apikey;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${standin.url}${path}`, {
    method: init.method ?? 'GET',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> & unknown[] };
}

describe('main API', () => {
  test('heartbeat reports a healthy horde in the documented shape', async () => {
    const { status, body } = await call('/api/v2/status/heartbeat');
    expect(status).toBe(200);
    expect(body).toEqual({
      message: 'OK',
      version: '5.1.5',
      queue: 0,
      threads: expect.any(Number),
      active_count: expect.any(Number),
      db_connection: true,
    });
  });

  test('find_user answers each seeded key with its whole UserDetails', async () => {
    expect((await call('/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner })).body).toEqual(seededDetails().workerOwner);
    expect((await call('/api/v2/find_user', { apikey: STANDIN_KEYS.requester })).body).toEqual(seededDetails().requester);
  });

  test.skipIf(exchange.skip)('find_user answers in the recorded UserDetails shape: the same fields, of the same types', async () => {
    const owner = (await call('/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner })).body;
    expect(shapeOf(owner)).toEqual(shapeOf(exchange.json('b64/03_worker_user_before.json')));
    // The recorded requester had a request in flight, and only that answer carries active_generations
    // (the recorded owner's has none); the seeded accounts have nothing in flight.
    const { active_generations: inFlight, ...requester } = exchange.json('b64/13_requester_user_after.json');
    expect(inFlight).toEqual({ image: [expect.any(String)] });
    expect(shapeOf((await call('/api/v2/find_user', { apikey: STANDIN_KEYS.requester })).body)).toEqual(shapeOf(requester));
  });

  test('find_user answers the anonymous key as Anonymous#0', async () => {
    const { status, body } = await call('/api/v2/find_user', { apikey: '0000000000' });
    expect(status).toBe(200);
    expect(body).toMatchObject({ username: 'Anonymous#0', id: 0, concurrency: 500, worker_ids: [] });
  });

  test('find_user refuses a missing key with 401 InvalidAPIKey and an unknown one with 404 UserNotFound', async () => {
    const missing = await call('/api/v2/find_user');
    expect(missing.status).toBe(401);
    expect(missing.body).toEqual({ message: expect.stringContaining('No user matching sent API Key'), rc: 'InvalidAPIKey' });
    const unknown = await call('/api/v2/find_user', { apikey: 'NotARealKey_0123456789' });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ message: "User with api_key 'NotARealKey_0123456789' not found.", rc: 'UserNotFound' });
  });

  test('users/{id} hides owner-only fields from strangers and checks any key sent', async () => {
    const stranger = await call('/api/v2/users/2');
    expect(stranger.status).toBe(200);
    expect(stranger.body).toMatchObject({ username: 'standin_owner#2', kudos: 250 });
    expect(stranger.body).not.toHaveProperty('worker_ids');
    expect(stranger.body).not.toHaveProperty('sharedkey_ids');
    const owner = await call('/api/v2/users/2', { apikey: STANDIN_KEYS.workerOwner });
    expect(owner.body).toEqual(seededDetails().workerOwner);
    expect((await call('/api/v2/users/2', { apikey: 'NotARealKey_0123456789' })).body).toMatchObject({ rc: 'InvalidAPIKey' });
    expect((await call('/api/v2/users/db0')).status).toBe(404);
    expect((await call('/api/v2/users/999')).body).toEqual({ message: "User with ID '999' not found.", rc: 'UserNotFound' });
  });

  test('status/models returns ActiveModel entries and applies every filter', async () => {
    const all = await call('/api/v2/status/models');
    expect(all.status).toBe(200);
    expect(all.body.length).toBeGreaterThan(2);
    for (const model of all.body)
      expect(Object.keys(model as object).sort()).toEqual(['count', 'eta', 'jobs', 'name', 'performance', 'queued', 'type']);
    const names = async (query: string) => (await call(`/api/v2/status/models${query}`)).body.map((m) => (m as { name: string }).name);
    expect(await names('?min_count=10')).toEqual(['AlbedoBase XL (SDXL)', 'stable_diffusion']);
    expect(await names('?max_count=0')).toEqual(['Anything Diffusion']);
    expect(await names('?model_state=custom')).toEqual(['my_custom_merge']);
    expect(await names('?model_state=known&min_count=1&max_count=12')).toEqual(['stable_diffusion', 'Deliberate']);
    expect(await names('?type=text')).toEqual([]);
  });

  test('status/models rejects bad arguments the way flask-restx and the horde do', async () => {
    const badInt = await call('/api/v2/status/models?min_count=lots');
    expect(badInt.status).toBe(400);
    expect(badInt.body).toEqual({ message: 'Input payload validation failed', errors: { min_count: expect.stringContaining("'lots'") } });
    expect(badInt.body).not.toHaveProperty('rc');
    const badState = await call('/api/v2/status/models?model_state=popular');
    expect(badState.status).toBe(400);
    expect(badState.body).toMatchObject({ rc: 'BadRequest' });
  });

  test('unknown paths, in the horde and the ratings API, answer 404 with a JSON message', async () => {
    for (const path of ['/api/v2/no_such_thing', '/elsewhere', '/api/v1/no_such_thing']) {
      const { status, body } = await call(path);
      expect(status).toBe(404);
      expect(body.message).toEqual(expect.any(String));
    }
    expect((await call('/api/v2/find_user', { method: 'DELETE' })).status).toBe(405);
  });

  test('records the Client-Agent and whether a key was sent, never the key itself', async () => {
    await call('/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner, agent: 'HordeDesk:0.1.0:https://example.org' });
    await call('/api/v2/status/heartbeat', { agent: 'My-Project:v0.0.1:My-Contact' });
    expect(standin.requests).toEqual([
      {
        method: 'GET',
        path: '/api/v2/find_user',
        query: '',
        clientAgent: 'HordeDesk:0.1.0:https://example.org',
        apikeyPresent: true,
        status: 200,
      },
      {
        method: 'GET',
        path: '/api/v2/status/heartbeat',
        query: '',
        clientAgent: 'My-Project:v0.0.1:My-Contact',
        apikeyPresent: false,
        status: 200,
      },
    ]);
    expect(JSON.stringify(standin.requests)).not.toContain(STANDIN_KEYS.workerOwner);
  });

  test('the request log keeps the newest requests only, so a demo left running stays small', async () => {
    expect(MAX_REQUEST_LOG).toBe(10_000);
    const small = await startStandin({ requestLogLimit: 3 });
    try {
      for (const n of [1, 2, 3, 4, 5]) await hordeCall(small, `/api/v2/status/heartbeat?n=${n}`);
      expect(small.requests.map((r) => r.query)).toEqual(['?n=3', '?n=4', '?n=5']);
    } finally {
      await small.close();
    }
  });
});

describe('fault switches', () => {
  test('error5xx with a count fails only the next requests', async () => {
    standin.setFaults({ error5xx: { status: 503, count: 2 } });
    expect((await call('/api/v2/status/heartbeat')).status).toBe(503);
    const second = await call('/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner });
    expect(second.status).toBe(503);
    expect(second.body).toEqual({ message: 'Service Unavailable' });
    expect((await call('/api/v2/status/heartbeat')).status).toBe(200);
    expect(standin.faults().error5xx).toBeNull();
  });

  test('rateLimit answers 429 with Retry-After and no rc, but spares the heartbeat', async () => {
    standin.setFaults({ rateLimit: { retryAfterS: 7 } });
    const limited = await call('/api/v2/status/models');
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('7');
    expect(limited.body).toEqual({ message: expect.any(String) });
    expect((await call('/api/v2/status/heartbeat')).status).toBe(200);
    standin.resetFaults();
    expect((await call('/api/v2/status/models')).status).toBe(200);
  });

  test('slowMs holds answers back until the fault is cleared', async () => {
    standin.setFaults({ slowMs: 60_000 });
    await expect(fetch(`${standin.url}/api/v2/status/heartbeat`, { signal: AbortSignal.timeout(150) })).rejects.toThrow();
    standin.resetFaults();
    expect((await call('/api/v2/status/heartbeat')).status).toBe(200);
  });

  test('maintenance shows in status/modes while the heartbeat stays OK; heartbeat health is its own switch', async () => {
    standin.setFaults({ maintenance: true });
    expect((await call('/api/v2/status/modes')).body).toEqual({ maintenance_mode: true, invite_only_mode: false });
    expect((await call('/api/v2/status/heartbeat')).body.message).toBe('OK');
    standin.setFaults({ heartbeat: 'DOWN' });
    expect((await call('/api/v2/status/heartbeat')).body).toMatchObject({ message: 'DOWN', db_connection: false });
  });

  test('faults can be flipped over HTTP, including reset, and bad settings are refused', async () => {
    const set = await call('/__standin/faults', { method: 'POST', body: { error5xx: { status: 500 } } });
    expect(set.status).toBe(200);
    expect(set.body.error5xx).toEqual({ status: 500 });
    const failed = await call('/api/v2/status/heartbeat');
    expect(failed.status).toBe(500);
    expect(failed.body).toEqual({ message: 'Internal Server Error' });
    expect((await call('/__standin/faults')).body.error5xx).toEqual({ status: 500 });

    const refused = await call('/__standin/faults', { method: 'POST', body: { error5xx: { status: 200 } } });
    expect(refused.status).toBe(400);
    expect(standin.faults().error5xx).toEqual({ status: 500 });

    await call('/__standin/faults', { method: 'POST', body: { reset: true, rateLimit: { retryAfterS: 3, count: 1 } } });
    expect(standin.faults()).toMatchObject({ error5xx: null, rateLimit: { retryAfterS: 3, count: 1 } });
    expect((await call('/api/v2/find_user', { apikey: STANDIN_KEYS.requester })).status).toBe(429);
    expect((await call('/api/v2/find_user', { apikey: STANDIN_KEYS.requester })).status).toBe(200);
    expect(standin.requests.every((r) => !r.path.startsWith('/__standin'))).toBe(true);
  });

  test('faults given at start apply from the first request, and typos in code throw', async () => {
    const faulty = await startStandin({ faults: { error5xx: { status: 502, count: 1 } } });
    try {
      expect((await fetch(`${faulty.hordeApiUrl}/v2/status/heartbeat`)).status).toBe(502);
      expect(() => faulty.setFaults({ slowMs: -5 })).toThrow();
    } finally {
      await faulty.close();
    }
  });
});
