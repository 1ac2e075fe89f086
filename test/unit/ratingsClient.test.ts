import { inspect } from 'node:util';
import { describe, expect, test } from 'vitest';
import { toDataset } from '../../src-main/common/ratingsApi';
import {
  createRatingsClient,
  DEFAULT_RATE_LIMIT_WAIT_MS,
  RatingsApiError,
  RatingsInputError,
  ratingOutcome,
  RatingsProtocolError,
  RatingsUnreachableError,
} from '../../src-main/core/rating/client';
import { HttpTransportError, type HttpPort, type HttpRequest, type HttpResponse } from '../../src-main/core/horde/http';
import { failure } from '../helpers/failure';

// The ratings client over a scripted HTTP port: exact requests, answer parsing, error mapping,
// redaction, and the ratingOutcome table, without any server.

const KEY = 'Abcdefghijklmnopqrstuv';
const BASE = 'https://ratings.example.org/api/v1/';
const NOW = Date.parse('2026-01-01T00:00:00Z');

/** A port that records requests and answers from a script (one answer or thrown error per call). */
function scripted(...answers: (Partial<HttpResponse> | Error)[]): HttpPort & { sent: HttpRequest[] } {
  const sent: HttpRequest[] = [];
  return {
    sent,
    request(req) {
      sent.push(req);
      const next = answers.shift() ?? { status: 200, body: '{}' };
      if (next instanceof Error) return Promise.reject(next);
      return Promise.resolve({ status: 200, headers: {}, body: '{}', ...next });
    },
  };
}

function client(http: HttpPort) {
  return createRatingsClient({
    baseUrl: () => BASE,
    http,
    clientAgent: 'HordeDesk:0.1.0:test',
    apiKey: () => KEY,
    timeoutMs: 1234,
    now: () => NOW,
  });
}

const json = (body: unknown, status = 200, headers: Record<string, string> = {}) => ({ status, headers, body: JSON.stringify(body) });

describe('requests', () => {
  test('paths, encoding, headers and the submit body', async () => {
    const image = { id: 'a b/c', url: 'https://img.example.org/x.webp', dataset_id: 'd1', extra: true };
    const http = scripted(
      json(image),
      json(image),
      json({ reward: 5, message: 'ok' }),
      json({ reward: 10, message: 'ok' }),
      json([]),
      json({ image_id: 'i', times_rated: 0, average: null, ratings: [] }),
    );
    const ratings = client(http);
    expect(await ratings.newImage()).toEqual(image);
    await ratings.newImage('d/1', { model: 'Model X', timeoutMs: 99 });
    await ratings.submit('a b/c', { rating: 6, artifacts: null });
    await ratings.submit('id', { rating: 10, artifacts: 0 });
    await ratings.datasets();
    await ratings.imageRatings('i?');
    expect(http.sent.map((r) => `${r.method} ${r.url}`)).toEqual([
      'GET https://ratings.example.org/api/v1/rating/new',
      'GET https://ratings.example.org/api/v1/rating/new/d%2F1/Model%20X',
      'POST https://ratings.example.org/api/v1/rating/a%20b%2Fc',
      'POST https://ratings.example.org/api/v1/rating/id',
      'GET https://ratings.example.org/api/v1/datasets',
      'GET https://ratings.example.org/api/v1/image/ratings/i%3F?format=json',
    ]);
    expect(http.sent.map((r) => r.body)).toEqual([
      undefined,
      undefined,
      '{"rating":6}',
      '{"rating":10,"artifacts":0}',
      undefined,
      undefined,
    ]);
    expect(http.sent.map((r) => r.timeoutMs)).toEqual([1234, 99, 1234, 1234, 1234, 1234]);
    expect(http.sent[2]?.headers).toEqual({
      'Client-Agent': 'HordeDesk:0.1.0:test',
      Accept: 'application/json',
      apikey: KEY,
      'Content-Type': 'application/json',
    });
  });

  test('scores off the scales are refused before anything is sent', async () => {
    const http = scripted();
    const ratings = client(http);
    for (const scores of [
      { rating: 0, artifacts: null },
      { rating: 7.5, artifacts: null },
      { rating: 5, artifacts: 6 },
      { rating: 5, artifacts: 1.5 },
    ]) {
      const error = await failure(ratings.submit('id', scores));
      expect(error).toBeInstanceOf(RatingsInputError);
      expect(ratingOutcome(error).kind).toBe('refused');
    }
    expect(await failure(ratings.newImage(undefined, { model: 'M' }))).toBeInstanceOf(RatingsInputError);
    expect(http.sent).toEqual([]);
  });
});

describe('answers', () => {
  test('unknown keys are kept; nullable extras are tolerated; datasets map to the DTO', async () => {
    const ratings = client(scripted(json([{ id: 'd', name: 'D', description: null, image_count: null, owner: 'x' }])));
    const [dataset] = await ratings.datasets();
    expect(dataset).toMatchObject({ owner: 'x' });
    expect(dataset && toDataset(dataset)).toEqual({ id: 'd', name: 'D', description: null, imageCount: null });
  });

  test('an image URL that is not http(s) is a protocol error', async () => {
    const error = await failure(client(scripted(json({ id: 'i', url: 'file:///etc/passwd', dataset_id: 'd' }))).newImage());
    expect(error).toBeInstanceOf(RatingsProtocolError);
    expect(String(error)).toContain('url');
  });

  test('Retry-After as an HTTP date, a non-JSON 502, and a service message', async () => {
    const at = new Date(NOW + 42_000).toUTCString();
    const ratings = client(
      scripted(
        { status: 429, headers: { 'Retry-After': at }, body: 'slow down' },
        { status: 502, body: '<html>Bad gateway</html>' },
        json({ message: 'Nope' }, 403),
      ),
    );
    const limited = await failure(ratings.datasets());
    expect(limited).toMatchObject({ status: 429, retryAfterMs: 42_000, serviceMessage: undefined });
    expect(ratingOutcome(limited)).toMatchObject({ kind: 'wait', retryAfterMs: 42_000 });
    const gateway = await failure(ratings.datasets());
    expect(gateway).toMatchObject({ status: 502, code: 'ratings.serverError', serviceMessage: undefined });
    const refused = await failure(ratings.datasets());
    expect(refused).toMatchObject({ serviceMessage: 'Nope', message: expect.stringContaining('"Nope"') });
  });

  test('the key is removed from service messages, schema complaints and transport errors', async () => {
    const echo = json({ message: `User with api_key '${KEY}' not found.` }, 401);
    const shape = json({ id: KEY, url: 7 });
    const broken = new HttpTransportError('network', `connect failed for apikey=${KEY}`);
    const ratings = client(scripted(echo, shape, broken));
    const errors = [await failure(ratings.datasets()), await failure(ratings.newImage()), await failure(ratings.datasets())];
    expect(errors[0]).toMatchObject({ serviceMessage: "User with api_key '[api key]' not found." });
    expect(errors[1]).toBeInstanceOf(RatingsProtocolError);
    expect(errors[2]).toBeInstanceOf(RatingsUnreachableError);
    for (const error of errors) expect(inspect(error, { depth: 10 }) + JSON.stringify(error)).not.toContain(KEY);
  });
});

describe('ratingOutcome', () => {
  const api = (status: number, retryAfterMs?: number) =>
    new RatingsApiError({ status, retryAfterMs, endpoint: 'POST /rating/x', serviceMessage: undefined });

  test.each([
    [400, 'refused'],
    [401, 'stop'],
    [403, 'refused'],
    [404, 'gone'],
    [408, 'retry'],
    [410, 'gone'],
    [422, 'refused'],
    [429, 'wait'],
    [500, 'retry'],
    [503, 'retry'],
  ])('HTTP %i → %s', (status, kind) => {
    expect(ratingOutcome(api(status)).kind).toBe(kind);
  });

  test('wait falls back to a minute; other failures retry; reasons are the user-facing text', () => {
    expect(ratingOutcome(api(429))).toMatchObject({ retryAfterMs: DEFAULT_RATE_LIMIT_WAIT_MS });
    expect(ratingOutcome(api(429, 3000))).toMatchObject({ retryAfterMs: 3000, reason: expect.stringContaining('3 seconds') });
    expect(ratingOutcome(new RatingsProtocolError('GET /datasets', 200, 'bad'))).toMatchObject({
      kind: 'retry',
      reason: expect.stringContaining('does not understand'),
    });
    expect(ratingOutcome(new RatingsUnreachableError('GET /datasets', 'timeout', 5000)).kind).toBe('retry');
    expect(ratingOutcome(new TypeError('boom'))).toEqual({ kind: 'retry', reason: 'boom' });
  });
});
