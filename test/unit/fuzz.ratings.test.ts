import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  imageRatingsSchema,
  newRatingImageSchema,
  ratingsDatasetListSchema,
  submitRatingAnswerSchema,
} from '../../src-main/common/ratingsApi';
import type { HttpPort, HttpResponse } from '../../src-main/core/horde/http';
import {
  createRatingsClient,
  RatingsApiError,
  ratingOutcome,
  RatingsProtocolError,
  RatingsUnreachableError,
  type RatingsClient,
} from '../../src-main/core/rating/client';
import { anyJson, brokenJsonText, mutatedJson } from '../helpers/fuzzJson';

// Whatever the ratings service (or a proxy in front of it) answers, each call resolves with a
// value of the promised shape or rejects with one of the client's three errors, whose text never
// holds the API key; and the rater can classify every one of them.

const KEY = 'fuzzKey0123456789abcdef';

const goodAnswers: Record<string, unknown> = {
  newImage: { id: 'b7a4c1de-0000-4000-8000-000000000001', url: 'https://cdn.example/img/1.webp', dataset_id: 'd1', instruction: null },
  submit: { reward: 5, message: 'OK' },
  datasets: [{ id: 'd1', name: 'default', description: null, image_count: 10 }],
  imageRatings: { image_id: 'b7a4c1de', times_rated: 2, average: 6.5, ratings: [{ username: 'me#1', rating: 7, artifacts: null }] },
};

const calls: Record<string, { run: (c: RatingsClient) => Promise<unknown>; schema: { safeParse(v: unknown): { success: boolean } } }> = {
  newImage: { run: (c) => c.newImage('d1'), schema: newRatingImageSchema },
  submit: { run: (c) => c.submit('b7a4c1de', { rating: 7, artifacts: 2 }), schema: submitRatingAnswerSchema },
  datasets: { run: (c) => c.datasets(), schema: ratingsDatasetListSchema },
  imageRatings: { run: (c) => c.imageRatings('b7a4c1de'), schema: imageRatingsSchema },
};

const status = fc.oneof(
  fc.constantFrom(200, 201, 204, 301, 302, 307, 400, 401, 403, 404, 408, 410, 429, 500, 502, 503),
  fc.integer({ min: 100, max: 599 }),
);
const headers = fc.record(
  {
    'retry-after': fc.oneof(
      fc.string(),
      fc.nat().map(String),
      fc.constantFrom('9'.repeat(400), '-1', '1.5', 'Wed, 21 Oct 2015 07:28:00 GMT', 'Fri, 31 Dec 9999 23:59:59 GMT', ''),
    ),
    location: fc.oneof(fc.webUrl(), fc.string(), fc.constant(`https://evil.example/?k=${KEY}`)),
    'content-type': fc.constantFrom('application/json', 'text/html', ''),
  },
  { requiredKeys: [] },
);

/** A body: the right answer nearly, any JSON, broken text, or text echoing the key. */
function body(call: string): fc.Arbitrary<string> {
  return fc.oneof(
    mutatedJson(goodAnswers[call]).map((v) => JSON.stringify(v) ?? ''),
    anyJson.map((v) => JSON.stringify(v) ?? ''),
    brokenJsonText,
    fc.constant(JSON.stringify({ message: `bad key ${KEY}` })),
    fc.constant(JSON.stringify(goodAnswers[call])),
  );
}

type Reply = { kind: 'answer'; response: HttpResponse } | { kind: 'throw'; error: unknown };

const reply = (call: string): fc.Arbitrary<Reply> =>
  fc.oneof(
    { weight: 8, arbitrary: fc.record({ status, headers, body: body(call) }).map((response): Reply => ({ kind: 'answer', response })) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom<unknown>(
          Object.assign(new Error('timed out'), { code: 'timeout' }),
          new TypeError(`fetch failed for ${KEY}`),
          'a string',
          null,
          undefined,
        )
        .map((error): Reply => ({ kind: 'throw', error })),
    },
  );

function portAnswering(r: Reply): HttpPort {
  return { request: async () => (r.kind === 'answer' ? r.response : Promise.reject(r.error)) };
}

describe('fuzz: ratings service answers', () => {
  test.each(Object.keys(calls))('%s: a value of the promised shape or one of the client’s errors, never the key', async (name) => {
    const call = calls[name];
    if (!call) throw new Error(name);
    await fc.assert(
      fc.asyncProperty(reply(name), async (r) => {
        const client = createRatingsClient({
          baseUrl: () => 'https://ratings.example/api/v1',
          http: portAnswering(r),
          clientAgent: 'HordeDesk:test:fuzz',
          apiKey: () => KEY,
          now: () => 1_700_000_000_000,
        });
        let outcome: { value: unknown } | { error: unknown };
        try {
          outcome = { value: await call.run(client) };
        } catch (error) {
          outcome = { error };
        }
        if ('value' in outcome) {
          expect(call.schema.safeParse(outcome.value).success).toBe(true);
          return;
        }
        const { error } = outcome;
        expect(error instanceof RatingsApiError || error instanceof RatingsProtocolError || error instanceof RatingsUnreachableError).toBe(
          true,
        );
        const text = `${(error as Error).message} ${String((error as Error).cause ?? '')} ${JSON.stringify(error)}`;
        expect(text).not.toContain(KEY);
        const verdict = ratingOutcome(error);
        expect(['refused', 'gone', 'wait', 'retry', 'stop']).toContain(verdict.kind);
        if (verdict.kind === 'wait') {
          // A wait the rater can actually sleep: a number, not NaN, not forever.
          expect(Number.isFinite(verdict.retryAfterMs)).toBe(true);
          expect(verdict.retryAfterMs).toBeGreaterThanOrEqual(0);
        }
      }),
      { numRuns: 250, seed: 2001 },
    );
  });

  // Found by this fuzz test: `parseRetryAfter` took any Retry-After as is, so "Retry-After: 999…9"
  // made the rater wait Infinity ms and a date in year 9999 made it wait for ever.
  test.each(['9'.repeat(400), '99999999999', 'Fri, 31 Dec 9999 23:59:59 GMT'])(
    'a 429 with Retry-After %s asks for a wait of at most an hour',
    async (retryAfter) => {
      const client = createRatingsClient({
        baseUrl: () => 'https://ratings.example/api/v1',
        http: portAnswering({ kind: 'answer', response: { status: 429, headers: { 'retry-after': retryAfter }, body: '' } }),
        clientAgent: 'x',
        apiKey: () => KEY,
        now: () => 1_700_000_000_000,
      });
      const verdict = ratingOutcome(await client.datasets().catch((e: unknown) => e));
      expect(verdict.kind).toBe('wait');
      if (verdict.kind === 'wait') expect(verdict.retryAfterMs).toBeLessThanOrEqual(3_600_000);
    },
  );
});
