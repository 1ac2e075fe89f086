import { inspect } from 'node:util';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { UserFacingError } from '../../src-main/common/result';
import {
  createRatingsClient,
  RatingsApiError,
  ratingOutcome,
  RatingsProtocolError,
  RatingsUnreachableError,
  type RatingsClientOptions,
} from '../../src-main/core/rating/client';
import { createNodeHttp } from '../../src-main/node/system/http';
import { fetchImage } from '../../src-main/node/rating/imageFetch';
import { RATINGS_DATASETS } from '../../src-main/standin/ratingsBoard';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { failure } from '../helpers/failure';

// The ratings client over the real Node HTTP port against the stand-in: happy paths, the error
// statuses as ratingOutcome sees them, unreadable and missing answers, headers, and the key
// never showing up in an error.

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

function client(overrides: Partial<RatingsClientOptions> = {}) {
  return createRatingsClient({
    baseUrl: () => standin.ratingsApiUrl,
    http: createNodeHttp(),
    clientAgent: AGENT,
    apiKey: () => apiKey,
    ...overrides,
  });
}

function expectNoKey(error: unknown): void {
  for (const text of [String(error), JSON.stringify(error), inspect(error, { depth: 10 })])
    expect(text).not.toContain(STANDIN_KEYS.workerOwner);
}

describe('happy paths', () => {
  test('datasets, a new image, its bytes, a rating, and the reconciliation read', async () => {
    const ratings = client();
    const datasets = await ratings.datasets();
    expect(datasets.map((d) => d.id)).toEqual(RATINGS_DATASETS.map((d) => d.id));

    const image = await ratings.newImage();
    expect(image.dataset_id).toBe(RATINGS_DATASETS[0]?.id);
    const fetched = await fetchImage(image.url, { headers: { 'Client-Agent': AGENT } });
    expect(fetched.mime).toBe('image/webp');
    expect(await sharp(fetched.bytes).metadata()).toMatchObject({ width: 256, height: 256 });

    expect(await ratings.submit(image.id, { rating: 8, artifacts: 1 })).toMatchObject({ reward: 10, message: expect.any(String) });
    const read = await ratings.imageRatings(image.id);
    expect(read).toMatchObject({ image_id: image.id, times_rated: 1, ratings: [{ username: 'standin_owner#2', rating: 8, artifacts: 1 }] });
  });

  test('artifacts are left out when null; dataset and model land in the path', async () => {
    const ratings = client();
    const other = RATINGS_DATASETS[1]?.id ?? '';
    const image = await ratings.newImage(other, { model: 'AlbedoBase XL (SDXL)' });
    expect(standin.ratings()[0]).toMatchObject({ datasetId: other, model: 'AlbedoBase XL (SDXL)' });
    expect(await ratings.submit(image.id, { rating: 4, artifacts: null })).toMatchObject({ reward: 5 });
    expect(standin.ratings()[0]).toMatchObject({ rating: 4, artifacts: null });
  });

  test('sends Client-Agent everywhere and apikey whenever one is set; anonymous earns 0', async () => {
    const ratings = client();
    const image = await ratings.newImage();
    apiKey = STANDIN_KEYS.anonymous;
    expect((await ratings.submit(image.id, { rating: 5, artifacts: 0 })).reward).toBe(0);
    apiKey = undefined;
    await ratings.datasets();
    expect(standin.requests.map((r) => [r.clientAgent, r.apikeyPresent])).toEqual([
      [AGENT, true],
      [AGENT, true],
      [AGENT, false],
    ]);
  });

  test('validation images carry their instruction through the client', async () => {
    standin.resetRatings({ validationEvery: 2 });
    const ratings = client();
    expect((await ratings.newImage()).instruction).toBeUndefined();
    const captcha = await ratings.newImage();
    const target = standin.ratings()[1]?.validation;
    expect(captcha.instruction).toBe(`Rate this image ${target?.rating} for aesthetics and ${target?.artifacts} for artifacts`);
    await ratings.submit(captcha.id, { rating: target?.rating ?? 1, artifacts: target?.artifacts ?? 0 });
    expect(standin.ratings()[1]?.answeredAsInstructed).toBe(true);
  });
});

describe('errors and their outcomes', () => {
  test('a duplicate is refused (403) with the service message; an unknown id is gone (404)', async () => {
    const ratings = client();
    const { id } = await ratings.newImage();
    await ratings.submit(id, { rating: 7, artifacts: null });
    const duplicate = await failure(ratings.submit(id, { rating: 7, artifacts: null }));
    expect(duplicate).toBeInstanceOf(RatingsApiError);
    expect(duplicate).toBeInstanceOf(UserFacingError);
    expect(duplicate).toMatchObject({ status: 403, code: 'ratings.refused', serviceMessage: 'You have already rated this image' });
    expect(ratingOutcome(duplicate)).toMatchObject({ kind: 'refused' });
    expectNoKey(duplicate);

    const gone = await failure(ratings.submit('00000000-0000-4000-8000-000000000000', { rating: 7, artifacts: null }));
    expect(gone).toMatchObject({ status: 404, code: 'ratings.notFound' });
    expect(ratingOutcome(gone).kind).toBe('gone');
  });

  test('429 maps to wait with the Retry-After delay; 5xx to retry; a missing key to stop', async () => {
    const ratings = client();
    standin.setFaults({ rateLimit: { retryAfterS: 7, count: 1 } });
    const limited = await failure(ratings.newImage());
    expect(limited).toMatchObject({ status: 429, retryAfterMs: 7000, code: 'ratings.rateLimited' });
    expect(ratingOutcome(limited)).toEqual({ kind: 'wait', retryAfterMs: 7000, reason: expect.stringContaining('7 seconds') });

    standin.setFaults({ error5xx: { status: 502, count: 1 } });
    expect(ratingOutcome(await failure(ratings.datasets()))).toMatchObject({ kind: 'retry' });

    const { id } = await ratings.newImage();
    apiKey = undefined;
    const keyless = await failure(ratings.submit(id, { rating: 3, artifacts: null }));
    expect(keyless).toMatchObject({ status: 401, code: 'ratings.invalidApiKey' });
    expect(ratingOutcome(keyless).kind).toBe('stop');
  });

  test('HTML or a wrong shape is a protocol error; the rating may still have arrived', async () => {
    const ratings = client();
    const { id } = await ratings.newImage();
    standin.setFaults({ ratingsBadJson: { count: 1 } });
    const html = await failure(ratings.submit(id, { rating: 9, artifacts: 2 }));
    expect(html).toBeInstanceOf(RatingsProtocolError);
    expect(html).toMatchObject({ code: 'ratings.protocol', message: expect.stringContaining('not JSON') });
    expect(ratingOutcome(html).kind).toBe('retry');
    expectNoKey(html);
    // The retry meets the 403 of its own first attempt; reading the image's ratings settles it.
    expect(ratingOutcome(await failure(ratings.submit(id, { rating: 9, artifacts: 2 }))).kind).toBe('refused');
    expect((await ratings.imageRatings(id)).ratings).toContainEqual({ username: 'standin_owner#2', rating: 9, artifacts: 2 });

    standin.setFaults({ ratingsBadJson: { count: 1, kind: 'wrongShape' } });
    const shape = await failure(ratings.newImage());
    expect(shape).toBeInstanceOf(RatingsProtocolError);
    expect(String(shape)).toMatch(/url|id/);
  });

  test('a dead service is unreachable, a slow one times out; both are retried', async () => {
    const ratings = client();
    standin.setFaults({ ratingsDown: true });
    const down = await failure(ratings.newImage());
    expect(down).toBeInstanceOf(RatingsUnreachableError);
    expect(down).toMatchObject({ reason: 'network', code: 'ratings.unreachable' });
    expect(ratingOutcome(down).kind).toBe('retry');
    expectNoKey(down);

    standin.setFaults({ ratingsDown: false, slowMs: 5_000 });
    const slow = await failure(client({ timeoutMs: 100 }).datasets());
    expect(slow).toMatchObject({ reason: 'timeout', code: 'ratings.timeout' });
    expect(ratingOutcome(slow).kind).toBe('retry');
  });
});
