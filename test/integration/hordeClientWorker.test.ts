import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { PopRequest } from '../../src-main/common/horde';
import { createHordeClient, isMaintenanceError, isRetryable, submitOutcome } from '../../src-main/core/horde/client';
import { HordeApiError, HordeProtocolError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { parsePop } from '../../src-main/core/worker/job';
import { createNodeHttp } from '../../src-main/node/system/http';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import { failure } from '../helpers/failure';
import { recordedExchange } from '../helpers/hordeExchange';

// The worker endpoints over real HTTP, against a bare node:http server that records what it got
// and answers what each test tells it to, the way the horde does (HORDE-PROTOCOL.md §2.2–2.12).

const AGENT = 'HordeDesk:0.1.0:https://github.com/hordedesk/hordedesk';
const KEY = 'Wk3yWk3yWk3yWk3yWk3yWk';

const exchange = recordedExchange('hordeClientWorker.test.ts (recorded horde answers over HTTP)', [
  'r2/07_pop_response.json',
  'b64/09_submit_response.json',
  'r2/08_submit_request.json',
  'r2/14_worker.json',
]);

const POP_BODY: PopRequest = hordeDeskPopBody({
  name: 'Desk Dreamer 01',
  models: ['stable_diffusion'],
  bridgeAgent: AGENT,
  maxPixels: 1048576,
  nsfw: false,
  amount: 2,
  blacklist: [],
});

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}
interface Reply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

let server: ReturnType<typeof createServer>;
let baseUrl: string;
let seen: Seen[];
let replies: Reply[];
let apiKey: string | undefined;

beforeEach(async () => {
  seen = [];
  replies = [];
  apiKey = KEY;
  server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
      const reply = replies.shift();
      if (!reply) return; // no reply queued: leave the request hanging, like a stuck horde
      res.writeHead(reply.status, { 'Content-Type': 'application/json', ...reply.headers });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`;
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function horde() {
  return createHordeClient({ baseUrl: () => baseUrl, http: createNodeHttp(), clientAgent: AGENT, apiKey: () => apiKey });
}
function reply(status: number, body: unknown, headers?: Record<string, string>): void {
  replies.push({ status, body: typeof body === 'string' ? body : JSON.stringify(body), headers });
}

describe('pop', () => {
  test.skipIf(exchange.skip)('posts the explicit body as JSON with apikey and Client-Agent, and returns the validated answer', async () => {
    reply(200, exchange.text('r2/07_pop_response.json'));
    const answer = await horde().pop(POP_BODY);
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v2/generate/pop' });
    expect(seen[0]?.headers).toMatchObject({ apikey: KEY, 'client-agent': AGENT, 'content-type': 'application/json' });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual(POP_BODY);
    const parsed = parsePop(answer, 0);
    expect(parsed.kind === 'job' && parsed.job).toMatchObject({ seed: 1051973111, ttlSeconds: 150, params: { n: 1 } });
  });

  test.skipIf(exchange.skip)('a malformed payload does not fail the call: the ids reach parsePop for a faulted submit', async () => {
    const answer = exchange.json<{ payload: Record<string, unknown> }>('r2/07_pop_response.json');
    answer.payload.seed = { not: 'a seed' };
    reply(200, answer);
    expect(parsePop(await horde().pop(POP_BODY), 0)).toMatchObject({ kind: 'invalid', ids: ['fe43cbd3-0656-4538-8415-fa3e82b0e5e6'] });
  });

  test('an envelope of the wrong types is a protocol error (and worth retrying)', async () => {
    reply(200, { ids: 'fe43cbd3', ttl: 'soon' });
    const error = await failure(horde().pop(POP_BODY));
    expect(error).toBeInstanceOf(HordeProtocolError);
    expect((error as Error).message).toContain('POST /v2/generate/pop');
    expect(isRetryable(error)).toBe(true);
  });

  test('403 WorkerMaintenance is recognised, with the owner message kept', async () => {
    reply(403, { message: 'Gone fishing until Monday', rc: 'WorkerMaintenance' });
    const error = await failure(horde().pop(POP_BODY));
    expect(isMaintenanceError(error)).toBe(true);
    expect(isRetryable(error)).toBe(false);
    expect(error).toMatchObject({
      status: 403,
      rc: 'WorkerMaintenance',
      hordeMessage: 'Gone fishing until Monday',
      code: 'horde.maintenance',
    });
    expect((error as Error).message).toContain('Gone fishing until Monday');
  });

  test('429 with Retry-After is retryable after the wait it names', async () => {
    reply(429, '60 per 1 second', { 'Content-Type': 'text/plain', 'Retry-After': '3' });
    const error = await failure(horde().pop(POP_BODY));
    expect(error).toBeInstanceOf(HordeApiError);
    expect(error).toMatchObject({ status: 429, rc: undefined, retryAfterMs: 3000 });
    expect(isRetryable(error)).toBe(true);
  });

  test('a pop that outlives its per-call limit is an unreachable error', async () => {
    const error = await failure(horde().pop(POP_BODY, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(HordeUnreachableError);
    expect(error).toMatchObject({ reason: 'timeout', endpoint: 'POST /v2/generate/pop' });
    expect(isRetryable(error)).toBe(true);
  });

  test('without a key nothing is sent', async () => {
    apiKey = undefined;
    await expect(horde().pop(POP_BODY)).rejects.toMatchObject({ code: 'horde.missingApiKey' });
    expect(seen).toHaveLength(0);
  });
});

describe('submit', () => {
  test.skipIf(exchange.skip)('posts the recorded r2 submit and returns the reward', async () => {
    reply(200, exchange.text('b64/09_submit_response.json'));
    const body = exchange.json<Parameters<ReturnType<typeof horde>['submit']>[0]>('r2/08_submit_request.json');
    expect(await horde().submit(body)).toEqual({ reward: 6.24 });
    expect(seen[0]).toMatchObject({ method: 'POST', url: '/api/v2/generate/submit' });
    expect(seen[0]?.headers).toMatchObject({ apikey: KEY, 'client-agent': AGENT });
    expect(JSON.parse(seen[0]?.body ?? '')).toEqual({
      id: 'fe43cbd3-0656-4538-8415-fa3e82b0e5e6',
      generation: 'R2',
      seed: 1051973111,
      state: 'ok',
      gen_metadata: [],
    });
  });

  test.each<[number, Record<string, string>, 'drop' | 'stop' | 'retry']>([
    [404, { message: 'Processing Generation with ID x does not exist.', rc: 'InvalidJobID' }, 'drop'],
    [400, { message: 'Processing Generation with ID x already submitted.', rc: 'DuplicateGen' }, 'drop'],
    [400, { message: 'took too long to process and has been aborted! Please check your worker speed', rc: 'AbortedGen' }, 'drop'],
    [403, { message: 'Wrong credentials to submit as this worker.', rc: 'WrongCredentials' }, 'drop'],
    [401, { message: 'No user matching sent API Key.', rc: 'InvalidAPIKey' }, 'stop'],
    [400, { message: 'Too many gen_metadata entries', rc: 'BadRequest' }, 'retry'],
    [500, { message: 'Internal Server Error' }, 'retry'],
  ])('HTTP %d %j -> %s', async (status, body, outcome) => {
    reply(status, body);
    const error = await failure(horde().submit({ id: 'x', generation: 'R2', state: 'ok', seed: 1 }));
    expect(error).toMatchObject({ status, rc: body.rc });
    expect(submitOutcome(error)).toBe(outcome);
  });
});

describe('workers', () => {
  const worker = () => exchange.json<unknown[]>('r2/14_worker.json')[0];

  test.skipIf(exchange.skip)('getWorker fetches one record by id', async () => {
    reply(200, worker());
    const details = await horde().getWorker('74cb545a-c6fe-4feb-904e-c9e22adcca07');
    expect(details).toMatchObject({ name: 'peer-test-worker', online: true, 'post-processing': true });
    expect(seen[0]).toMatchObject({ method: 'GET', url: '/api/v2/workers/74cb545a-c6fe-4feb-904e-c9e22adcca07' });
    expect(seen[0]?.headers).toMatchObject({ apikey: KEY, 'client-agent': AGENT });
  });

  test.skipIf(exchange.skip)('getWorkerByName encodes the whole name as one path segment', async () => {
    reply(200, worker());
    await horde().getWorkerByName('Desk Dreamer #1/ä?x=1');
    expect(seen[0]?.url).toBe('/api/v2/workers/name/Desk%20Dreamer%20%231%2F%C3%A4%3Fx%3D1');
  });

  test.skipIf(exchange.skip)('the list shape where one record is expected is a protocol error', async () => {
    reply(200, exchange.text('r2/14_worker.json'));
    await expect(horde().getWorker('74cb545a-c6fe-4feb-904e-c9e22adcca07')).rejects.toBeInstanceOf(HordeProtocolError);
  });

  test('an unknown worker is a 404 HordeApiError', async () => {
    reply(404, { message: 'Worker with ID nope not found.', rc: 'WorkerNotFound' });
    await expect(horde().getWorker('nope')).rejects.toMatchObject({ status: 404, rc: 'WorkerNotFound' });
  });

  test('modifyWorker PUTs the change and returns what the horde changed', async () => {
    reply(200, { maintenance: false });
    const answer = await horde().modifyWorker('74cb545a-c6fe-4feb-904e-c9e22adcca07', { maintenance: false });
    expect(answer).toEqual({ maintenance: false });
    expect(seen[0]).toMatchObject({
      method: 'PUT',
      url: '/api/v2/workers/74cb545a-c6fe-4feb-904e-c9e22adcca07',
      body: '{"maintenance":false}',
    });
    expect(seen[0]?.headers).toMatchObject({ apikey: KEY, 'client-agent': AGENT, 'content-type': 'application/json' });
  });
});
