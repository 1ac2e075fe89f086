import { describe, expect, test } from 'vitest';
import {
  modifyWorkerRequestSchema,
  popRequestSchema,
  popResponseSchema,
  submitRequestSchema,
  submitResponseSchema,
  workerDetailsListSchema,
  workerDetailsSchema,
  type PopRequest,
} from '../../src-main/common/horde';
import { createHordeClient, isMaintenanceError, isRetryable, retryAfterMsOf, submitOutcome } from '../../src-main/core/horde/client';
import { createHordeApiError, HordeMissingKeyError, HordeProtocolError, HordeUnreachableError } from '../../src-main/core/horde/errors';
import { HttpTransportError, type HttpRequest, type HttpResponse } from '../../src-main/core/horde/http';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import { recordedExchange } from '../helpers/hordeExchange';

const exchange = recordedExchange('hordeWorkerClient.test.ts (worker schemas against the recorded exchange)', [
  'b64/06_pop_request.json',
  'b64/07_pop_response.json',
  'r2/07_pop_response.json',
  'b64/08_submit_request.json',
  'r2/08_submit_request.json',
  'b64/09_submit_response.json',
  'b64/14_worker.json',
  'r2/14_worker.json',
]);
const fixture = (name: string): unknown => exchange.json<unknown>(name);

/** What HordeDesk sends: the recorded reGen pop plus the fields reGen leaves to server defaults. */
const popBody = (): PopRequest => ({
  ...(fixture('b64/06_pop_request.json') as Omit<PopRequest, 'blacklist' | 'extra_slow_worker' | 'limit_max_steps' | 'priority_usernames'>),
  bridge_agent: 'HordeDesk:0.1.0:https://github.com/hordedesk/hordedesk',
  allow_controlnet: false,
  allow_sdxl_controlnet: false,
  allow_lora: false,
  blacklist: [],
  extra_slow_worker: false,
  limit_max_steps: false,
  priority_usernames: [],
});

function apiError(status: number, rc?: string, hordeMessage?: string, retryAfterMs?: number) {
  return createHordeApiError({ endpoint: 'POST /v2/generate/submit', status, rc, hordeMessage, validationErrors: undefined, retryAfterMs });
}

describe('worker schemas against the recorded exchange', () => {
  test.skipIf(exchange.skip)(
    'pop request: every field explicit, so the recorded reGen body (which relies on defaults) is not enough',
    () => {
      expect(popRequestSchema.safeParse(popBody()).success).toBe(true);
      const recorded = popRequestSchema.safeParse(fixture('b64/06_pop_request.json'));
      expect(recorded.success).toBe(false);
      expect(recorded.error?.issues.map((i) => i.path[0]).sort()).toEqual([
        'blacklist',
        'extra_slow_worker',
        'limit_max_steps',
        'priority_usernames',
      ]);
    },
  );

  test.skipIf(exchange.skip).each<[string, Partial<PopRequest> & Record<string, unknown>]>([
    ['amount 0', { amount: 0 }],
    ['amount 21', { amount: 21 }],
    ['threads 51', { threads: 51 }],
    ['no models', { models: [] }],
    ['a priority user without #id', { priority_usernames: ['db0'] }],
    ['a misspelt flag', { allow_unsafe_ip: true }],
  ])('pop request rejects %s', (_name, change) => {
    expect(popRequestSchema.safeParse({ ...popBody(), ...change }).success).toBe(false);
  });

  test.skipIf(exchange.skip)('pop answers of both recordings validate; unknown keys pass, wrong types do not', () => {
    expect(popResponseSchema.safeParse(fixture('b64/07_pop_response.json')).success).toBe(true);
    expect(popResponseSchema.safeParse(fixture('r2/07_pop_response.json')).success).toBe(true);
    expect(popResponseSchema.parse({ ids: [], later_field: { x: 1 } })).toMatchObject({ later_field: { x: 1 } });
    expect(popResponseSchema.safeParse({ ids: [], ttl: '150' }).success).toBe(false);
    expect(popResponseSchema.safeParse({ ids: [], skipped: { models: 'many' } }).success).toBe(false);
  });

  test.skipIf(exchange.skip)('submit bodies of both recordings validate (the b64 one only after its elided image is put back)', () => {
    expect(submitRequestSchema.safeParse(fixture('r2/08_submit_request.json')).success).toBe(true);
    const b64 = fixture('b64/08_submit_request.json') as Record<string, unknown>;
    expect(submitRequestSchema.safeParse(b64).success).toBe(false);
    expect(submitRequestSchema.safeParse({ ...b64, generation: 'UklGRnYGAQBXRUJQVlA4IA==' }).success).toBe(true);
    expect(submitResponseSchema.parse(fixture('b64/09_submit_response.json'))).toEqual({ reward: 6.24 });
  });

  test.skipIf(exchange.skip).each<[string, Record<string, unknown>, boolean]>([
    ['a faulted submit with any text', { state: 'faulted', generation: 'Faulted' }, true],
    ['a text seed', { seed: '1051973111' }, false],
    ['a fractional seed', { seed: 1.5 }, false],
    ['an unknown state', { state: 'broken' }, false],
    ['50 metadata entries', { gen_metadata: Array.from({ length: 50 }, () => ({ type: 'censorship', value: 'nsfw' })) }, true],
    ['51 metadata entries', { gen_metadata: Array.from({ length: 51 }, () => ({ type: 'censorship', value: 'nsfw' })) }, false],
    ['an unknown metadata type', { gen_metadata: [{ type: 'mood', value: 'nsfw' }] }, false],
  ])('submit request: %s', (_name, change, valid) => {
    expect(submitRequestSchema.safeParse({ ...(fixture('r2/08_submit_request.json') as object), ...change }).success).toBe(valid);
  });

  test.skipIf(exchange.skip)('worker details: the list endpoint recordings hold records the single endpoint returns', () => {
    for (const name of ['b64/14_worker.json', 'r2/14_worker.json']) {
      const list = workerDetailsListSchema.parse(fixture(name));
      expect(list[0]).toMatchObject({
        name: 'peer-test-worker',
        maintenance_mode: false,
        kudos_details: { uptime: null },
        team: { id: null },
      });
      expect(workerDetailsSchema.safeParse(list[0]).success).toBe(true);
    }
    expect(workerDetailsSchema.safeParse(fixture('b64/14_worker.json')).success).toBe(false);
  });

  test('modify worker needs at least one change', () => {
    expect(modifyWorkerRequestSchema.safeParse({}).success).toBe(false);
    expect(modifyWorkerRequestSchema.safeParse({ maintenance: false }).success).toBe(true);
    expect(modifyWorkerRequestSchema.safeParse({ name: 'abc' }).success).toBe(false);
  });
});

describe('error classification for the worker loop', () => {
  test('maintenance: 403 with either maintenance rc, keeping the horde sentence', () => {
    const owner = apiError(403, 'WorkerMaintenance', 'This worker has been put into maintenance mode by its owner');
    expect(isMaintenanceError(owner)).toBe(true);
    expect(owner.code).toBe('horde.maintenance');
    expect(owner.hordeMessage).toBe('This worker has been put into maintenance mode by its owner');
    expect(owner.message).toContain('put into maintenance mode by its owner');
    expect(isMaintenanceError(apiError(403, 'WorkerFlaggedMaintenance', 'flagged'))).toBe(true);
    expect(isMaintenanceError(apiError(403, undefined, 'Worker is in maintenance mode'))).toBe(true);
    expect(isMaintenanceError(apiError(403, 'WrongCredentials', 'maintenance'))).toBe(false);
    expect(isMaintenanceError(apiError(400, 'WorkerMaintenance'))).toBe(false);
    expect(isMaintenanceError(new Error('maintenance'))).toBe(false);
  });

  test.each<[string, unknown, boolean]>([
    ['a timeout', new HordeUnreachableError('POST /v2/generate/pop', 'timeout', 1000), true],
    ['a refused connection', new HordeUnreachableError('POST /v2/generate/pop', 'network', 1000), true],
    ['a proxy page instead of JSON', new HordeProtocolError('POST /v2/generate/pop', 200, 'not JSON'), true],
    ['500', apiError(500), true],
    ['503', apiError(503), true],
    ['429', apiError(429, undefined, '60 per 1 second', 2000), true],
    ['400 validation', apiError(400), false],
    ['401', apiError(401, 'InvalidAPIKey'), false],
    ['403 maintenance', apiError(403, 'WorkerMaintenance'), false],
    ['a missing key', new HordeMissingKeyError('POST /v2/generate/pop'), false],
    ['a programming error', new TypeError('x is undefined'), false],
  ])('isRetryable: %s -> %s', (_name, error, expected) => {
    expect(isRetryable(error)).toBe(expected);
  });

  test('retryAfterMsOf reads Retry-After off API errors only', () => {
    expect(retryAfterMsOf(apiError(429, undefined, undefined, 7000))).toBe(7000);
    expect(retryAfterMsOf(apiError(503))).toBeUndefined();
    expect(retryAfterMsOf(new Error('x'))).toBeUndefined();
  });

  test.each<[string, unknown, 'drop' | 'stop' | 'retry']>([
    ['404 InvalidJobID', apiError(404, 'InvalidJobID'), 'drop'],
    ['400 DuplicateGen', apiError(400, 'DuplicateGen'), 'drop'],
    ['400 AbortedGen', apiError(400, 'AbortedGen'), 'drop'],
    ['403 WrongCredentials', apiError(403, 'WrongCredentials'), 'drop'],
    ['401 InvalidAPIKey', apiError(401, 'InvalidAPIKey'), 'stop'],
    ['401 without rc', apiError(401), 'stop'],
    ['a missing key', new HordeMissingKeyError('POST /v2/generate/submit'), 'stop'],
    ['400 BadRequest', apiError(400, 'BadRequest'), 'retry'],
    ['400 validation', apiError(400), 'retry'],
    ['429', apiError(429), 'retry'],
    ['502', apiError(502), 'retry'],
    ['a timeout', new HordeUnreachableError('POST /v2/generate/submit', 'timeout', 1000), 'retry'],
    ['anything else', new Error('?'), 'retry'],
  ])('submitOutcome: %s -> %s', (_name, error, expected) => {
    expect(submitOutcome(error)).toBe(expected);
  });
});

describe('client call rules (fake port)', () => {
  const POP_BODY = hordeDeskPopBody({
    name: 'Desk Dreamer 01',
    models: ['stable_diffusion'],
    bridgeAgent: 'HordeDesk:0.1.0:test',
    maxPixels: 1048576,
    nsfw: false,
    amount: 1,
    blacklist: [],
  });
  function fakeClient(answer: HttpResponse | Error, options: { apiKey?: string; popTimeoutMs?: number; timeoutMs?: number } = {}) {
    const seen: HttpRequest[] = [];
    const horde = createHordeClient({
      baseUrl: () => 'https://horde.example/api/',
      clientAgent: 'HordeDesk:0.1.0:test',
      apiKey: () => options.apiKey,
      timeoutMs: options.timeoutMs,
      popTimeoutMs: options.popTimeoutMs,
      http: {
        request: (req) => {
          seen.push(req);
          return answer instanceof Error ? Promise.reject(answer) : Promise.resolve(answer);
        },
      },
    });
    return { horde, seen };
  }
  const ok = (body: unknown): HttpResponse => ({ status: 200, headers: {}, body: JSON.stringify(body) });

  test('pop, submit and modify refuse to go out without a key; lookups do not need one', async () => {
    const { horde, seen } = fakeClient(ok({ reward: 1 }));
    await expect(horde.pop(POP_BODY)).rejects.toBeInstanceOf(HordeMissingKeyError);
    await expect(horde.submit({ id: 'x', generation: 'R2', state: 'ok', seed: 1 })).rejects.toMatchObject({
      code: 'horde.missingApiKey',
      endpoint: 'POST /v2/generate/submit',
    });
    await expect(horde.modifyWorker('w', { maintenance: false })).rejects.toBeInstanceOf(HordeMissingKeyError);
    expect(seen).toHaveLength(0);
    const lookup = fakeClient(ok({ id: 'w', name: 'n' }));
    await lookup.horde.getWorker('w');
    expect(lookup.seen[0]?.headers.apikey).toBeUndefined();
  });

  test('pops get their own longer limit; any call can override its limit', async () => {
    const { horde, seen } = fakeClient(ok({ ids: [] }), { apiKey: 'k'.repeat(22), timeoutMs: 5_000 });
    await horde.pop(POP_BODY);
    await horde.pop(POP_BODY, { timeoutMs: 90_000 });
    await horde.getWorker('w', { timeoutMs: 1_234 }).catch(() => undefined);
    await horde.heartbeat().catch(() => undefined);
    expect(seen.map((r) => r.timeoutMs)).toEqual([40_000, 90_000, 1_234, 5_000]);
  });

  test('a timed-out pop names the endpoint and the limit that applied', async () => {
    const { horde } = fakeClient(new HttpTransportError('timeout', 'No answer'), { apiKey: 'k'.repeat(22) });
    const error = await horde.pop(POP_BODY, { timeoutMs: 3_000 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HordeUnreachableError);
    expect(error).toMatchObject({ reason: 'timeout', endpoint: 'POST /v2/generate/pop' });
    expect((error as Error).message).toContain('3 seconds');
  });
});
