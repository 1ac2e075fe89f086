import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { UserFacingError } from '../../src-main/common/result';
import { createHordeClient, type HordeClientOptions } from '../../src-main/core/horde/client';
import { HordeApiError, HordeProtocolError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { createNodeHttp } from '../../src-main/node/system/http';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { seededDetails } from '../../src-main/standin/users';
import { failure } from '../helpers/failure';
import { recordedExchange, shapeOf } from '../helpers/hordeExchange';

const exchange = recordedExchange('hordeClient.test.ts (find_user in the recorded UserDetails shape)', ['b64/03_worker_user_before.json']);

const AGENT = 'HordeDesk:0.1.0:https://github.com/hordedesk/hordedesk';

let standin: StandinHandle;
let apiKey: string | undefined;
beforeEach(async () => {
  standin = await startStandin();
  apiKey = STANDIN_KEYS.workerOwner;
});
afterEach(async () => {
  await standin.close();
});

function client(overrides: Partial<HordeClientOptions> = {}) {
  return createHordeClient({
    baseUrl: () => standin.hordeApiUrl,
    http: createNodeHttp(),
    clientAgent: AGENT,
    apiKey: () => apiKey,
    ...overrides,
  });
}

/** The key must not surface anywhere a log line or UI could pick it up: message, props, cause. */
function expectNoKey(error: unknown, key: string): void {
  expect(String(error)).not.toContain(key);
  expect(JSON.stringify(error)).not.toContain(key);
  expect(inspect(error, { depth: 10 })).not.toContain(key);
}

describe('against the stand-in', () => {
  test('heartbeat, find_user and status/models return validated horde data', async () => {
    const horde = client();
    expect(await horde.heartbeat()).toMatchObject({ message: 'OK', version: '5.1.5', db_connection: true });

    const user = await horde.findUser();
    expect(user).toEqual(seededDetails().workerOwner);
    expect(user.username).toBe('standin_owner#2');
    expect(user.kudos_details.awarded).toBe(0);

    const models = await horde.statusModels({ minCount: 5, modelState: 'known' });
    expect(models.map((m) => m.name)).toEqual(['AlbedoBase XL (SDXL)', 'stable_diffusion', 'Deliberate']);
    expect(standin.requests.at(-1)?.query).toBe('?min_count=5&model_state=known');
  });

  test.skipIf(exchange.skip)('find_user passes every field of the recorded UserDetails shape through validation', async () => {
    expect(shapeOf(await client().findUser())).toEqual(shapeOf(exchange.json('b64/03_worker_user_before.json')));
  });

  test('sends Client-Agent on every call, and apikey only when one is set, read afresh each time', async () => {
    const horde = client();
    await horde.findUser();
    apiKey = STANDIN_KEYS.requester;
    expect((await horde.findUser()).username).toBe('standin_requester#1');
    apiKey = undefined;
    await horde.heartbeat();
    expect(standin.requests.map((r) => [r.clientAgent, r.apikeyPresent])).toEqual([
      [AGENT, true],
      [AGENT, true],
      [AGENT, false],
    ]);
  });

  test('a missing key is a HordeApiError carrying 401 and rc InvalidAPIKey', async () => {
    apiKey = undefined;
    const error = await failure(client().findUser());
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toBeInstanceOf(UserFacingError);
    expect(error).toMatchObject({ status: 401, rc: 'InvalidAPIKey', code: 'horde.invalidApiKey' });
    expect((error as HordeApiError).message).toContain('No user matching sent API Key');
  });

  test('an unknown key is reported with the horde message but without the key the horde echoed', async () => {
    apiKey = 'Secret_Key_Nobody_Has1';
    const error = (await failure(client().findUser())) as HordeApiError;
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 404, rc: 'UserNotFound' });
    expect(error.hordeMessage).toMatch(/^User with api_key '.+' not found\.$/);
    expectNoKey(error, apiKey);
  });

  test('a 5xx is a HordeApiError with the status and no rc', async () => {
    standin.setFaults({ error5xx: { status: 503, count: 1 } });
    const error = await failure(client().heartbeat());
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 503, rc: undefined, code: 'horde.serverError' });
  });

  test('a 429 is a HordeApiError telling how long to wait', async () => {
    standin.setFaults({ rateLimit: { retryAfterS: 7, count: 1 } });
    const error = await failure(client().statusModels());
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 429, rc: undefined, retryAfterMs: 7000, code: 'horde.rateLimited' });
    expect((error as HordeApiError).message).toContain('7 seconds');
  });

  test('a 400 validation error keeps its per-field problems', async () => {
    const error = await failure(client().statusModels({ minCount: 1.5 }));
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 400, rc: undefined, fields: { min_count: expect.stringContaining("'1.5'") } });
  });

  test('an answer slower than the timeout is a HordeUnreachableError', async () => {
    standin.setFaults({ slowMs: 60_000 });
    const error = await failure(client({ timeoutMs: 200 }).heartbeat());
    expect(error).toBeInstanceOf(HordeUnreachableError);
    expect(error).toMatchObject({ reason: 'timeout', code: 'horde.timeout', endpoint: 'GET /v2/status/heartbeat' });
  });
});

describe('against a misbehaving server', () => {
  let raw: ReturnType<typeof createServer>;
  let rawUrl: string;
  let respond: (req: IncomingMessage, res: ServerResponse) => void;
  beforeEach(async () => {
    raw = createServer((req, res) => respond(req, res));
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    rawUrl = `http://127.0.0.1:${(raw.address() as AddressInfo).port}/api`;
  });
  afterEach(async () => {
    raw.closeAllConnections();
    await new Promise((resolve) => raw.close(resolve));
  });

  function answer(status: number, body: string, headers: Record<string, string> = { 'Content-Type': 'application/json' }) {
    respond = (_req, res) => {
      res.writeHead(status, headers);
      res.end(body);
    };
  }

  test('malformed JSON is a HordeProtocolError naming the endpoint, without echoing the key', async () => {
    apiKey = STANDIN_KEYS.requester;
    answer(200, `{"message": "OK", ${apiKey}`);
    const error = await failure(client({ baseUrl: () => rawUrl }).heartbeat());
    expect(error).toBeInstanceOf(HordeProtocolError);
    expect((error as HordeProtocolError).message).toContain('GET /v2/status/heartbeat');
    expectNoKey(error, apiKey);
  });

  test('JSON of the wrong shape is a HordeProtocolError saying which field is wrong', async () => {
    answer(200, JSON.stringify({ username: 'someone#9', id: 9, kudos: 'plenty', kudos_details: {} }));
    const error = await failure(client({ baseUrl: () => rawUrl }).findUser());
    expect(error).toBeInstanceOf(HordeProtocolError);
    expect((error as HordeProtocolError).message).toMatch(/GET \/v2\/find_user.*kudos/);
  });

  test('an HTML 502 from a proxy is still a HordeApiError with its status', async () => {
    answer(502, '<html><body>Bad gateway</body></html>', { 'Content-Type': 'text/html' });
    const error = await failure(client({ baseUrl: () => rawUrl }).heartbeat());
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 502, rc: undefined, hordeMessage: undefined });
  });

  test('Retry-After given as an HTTP date becomes a wait from now', async () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    answer(429, 'Too Many Requests', { 'Retry-After': 'Sun, 01 Mar 2026 12:00:30 GMT' });
    const error = await failure(client({ baseUrl: () => rawUrl, now: () => now }).statusModels());
    expect(error).toMatchObject({ status: 429, retryAfterMs: 30_000 });
  });

  test('the client sends its headers to any horde URL; the key only where an answer depends on it', async () => {
    let seen: IncomingMessage['headers'] = {};
    respond = (req, res) => {
      seen = req.headers;
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ message: 'OK', username: 'a#1', id: 1, kudos: 0, kudos_details: {} }));
    };
    await client({ baseUrl: () => `${rawUrl}/` }).heartbeat();
    expect(seen['client-agent']).toBe(AGENT);
    // The heartbeat and status/models are the same for everyone: the key stays home.
    expect(seen.apikey).toBeUndefined();
    await client({ baseUrl: () => `${rawUrl}/` }).findUser();
    expect(seen['client-agent']).toBe(AGENT);
    expect(seen.apikey).toBe(STANDIN_KEYS.workerOwner);
  });

  test('a refused connection is a HordeUnreachableError', async () => {
    raw.closeAllConnections();
    await new Promise((resolve) => raw.close(resolve));
    raw = createServer();
    const error = await failure(client({ baseUrl: () => rawUrl }).heartbeat());
    expect(error).toBeInstanceOf(HordeUnreachableError);
    expect(error).toMatchObject({ reason: 'network', code: 'horde.unreachable' });
  });
});
