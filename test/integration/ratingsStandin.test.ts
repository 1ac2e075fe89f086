import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { RATINGS_DATASETS } from '../../src-main/standin/ratingsBoard';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall } from '../helpers/standinKit';

// The ratings stand-in is the oracle for the rater's tests, so its HTTP surface is tested here
// with plain fetch (no app code): shapes, real image bytes, the 403/404/401/400 paths, validation
// images and the fault switches.

let standin: StandinHandle;
beforeEach(async () => {
  standin = await startStandin();
});
afterEach(async () => {
  await standin.close();
});

const owner = STANDIN_KEYS.workerOwner;
const [defaultDataset, otherDataset] = RATINGS_DATASETS;

/** GET /rating/new (optionally under a dataset/model path) and the answer's body. */
async function newImage(suffix = ''): Promise<{ id: string; url: string; dataset_id: string; instruction?: string }> {
  const { status, body } = await hordeCall(standin, `/api/v1/rating/new${suffix}`);
  expect(status).toBe(200);
  return body as unknown as { id: string; url: string; dataset_id: string; instruction?: string };
}

/** POSTs a rating; `apikey: null` sends none. */
function rate(id: string, body: unknown, apikey: string | null = owner) {
  return hordeCall(standin, `/api/v1/rating/${id}`, { method: 'POST', body, ...(apikey === null ? {} : { apikey }) });
}

describe('ratings API shapes', () => {
  test('lists two datasets with id, name, description and image_count', async () => {
    const { status, body } = await hordeCall(standin, '/api/v1/datasets');
    expect(status).toBe(200);
    expect(body).toHaveLength(2);
    for (const dataset of body as unknown as Record<string, unknown>[]) {
      expect(dataset).toEqual({
        id: expect.any(String),
        name: expect.any(String),
        description: expect.any(String),
        image_count: expect.any(Number),
      });
    }
  });

  test('hands out images from the default dataset, a chosen one, and a model of it', async () => {
    const first = await newImage();
    expect(first).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      url: `${standin.url}/ratings-images/${first.id}.webp`,
      dataset_id: defaultDataset?.id,
    });
    expect((await newImage(`/${otherDataset?.id}`)).dataset_id).toBe(otherDataset?.id);
    const ofModel = await newImage(`/${otherDataset?.id}/AlbedoBase%20XL%20(SDXL)`);
    expect(standin.ratings().find((r) => r.id === ofModel.id)?.model).toBe('AlbedoBase XL (SDXL)');
    const unknown = await hordeCall(standin, '/api/v1/rating/new/no-such-dataset');
    expect(unknown).toMatchObject({ status: 404, body: { message: expect.any(String) } });
  });

  test('image URLs serve real, distinct, stable WebP images', async () => {
    const [a, b] = [await newImage(), await newImage()];
    const fetchBytes = async (url: string) => {
      const res = await fetch(url);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toBe('image/webp');
      return Buffer.from(await res.arrayBuffer());
    };
    const bytesA = await fetchBytes(a.url);
    const meta = await sharp(bytesA).metadata();
    expect(meta).toMatchObject({ format: 'webp', width: 256, height: 256 });
    expect((await sharp(bytesA).raw().toBuffer()).length).toBe(256 * 256 * 3);
    expect(bytesA.equals(await fetchBytes(b.url))).toBe(false);
    expect(bytesA.equals(await fetchBytes(a.url))).toBe(true);
    expect((await fetch(`${standin.url}/ratings-images/never-issued.webp`)).status).toBe(404);
    expect(standin.ratingsStats().imagesServed).toBe(3);
  });
});

describe('rating an image', () => {
  test('rewards 5 per rating plus 5 for artifacts, and records it', async () => {
    const [a, b] = [await newImage(), await newImage()];
    expect(await rate(a.id, { rating: 7, artifacts: 1 })).toMatchObject({ status: 200, body: { reward: 10, message: expect.any(String) } });
    expect(await rate(b.id, { rating: 3 })).toMatchObject({ status: 200, body: { reward: 5 } });
    const info = standin.ratings();
    expect(info.find((r) => r.id === a.id)).toMatchObject({
      submitCount: 1,
      rating: 7,
      artifacts: 1,
      validation: null,
      answeredAsInstructed: null,
    });
    expect(info.find((r) => r.id === b.id)).toMatchObject({ rating: 3, artifacts: null, submitsByUser: { 'standin_owner#2': 1 } });
    expect(standin.ratingsStats()).toMatchObject({ issued: 2, accepted: 2, rewards: 15 });
  });

  test('a second rating by the same user is 403; another user may still rate', async () => {
    const { id } = await newImage();
    await rate(id, { rating: 8 });
    expect(await rate(id, { rating: 2 })).toMatchObject({ status: 403, body: { message: 'You have already rated this image' } });
    expect((await rate(id, { rating: 6 }, STANDIN_KEYS.requester)).status).toBe(200);
    expect(standin.ratings()[0]).toMatchObject({
      submitCount: 3,
      rating: 8,
      submitsByUser: { 'standin_owner#2': 2, 'standin_requester#1': 1 },
    });
    expect(standin.ratingsStats().duplicates).toBe(1);
  });

  test('the anonymous key rates for no reward; no key or an unknown key is 401', async () => {
    const { id } = await newImage();
    expect(await rate(id, { rating: 5 }, null)).toMatchObject({ status: 401, body: { message: expect.any(String) } });
    expect((await rate(id, { rating: 5 }, 'not-a-real-key-at-all')).status).toBe(401);
    expect(await rate(id, { rating: 5, artifacts: 0 }, STANDIN_KEYS.anonymous)).toMatchObject({ status: 200, body: { reward: 0 } });
  });

  test('unknown image ids are 404 and bad bodies are 400 with a message', async () => {
    expect(await rate('00000000-0000-4000-8000-000000000000', { rating: 5 })).toMatchObject({
      status: 404,
      body: { message: 'Image not found' },
    });
    const { id } = await newImage();
    for (const body of [
      { rating: '7' },
      { rating: 11 },
      { rating: 0 },
      { rating: 6.5 },
      { rating: 6, artifacts: 6 },
      { rating: 6, artifacts: null },
      {},
      [7],
    ]) {
      const answer = await rate(id, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.message).toEqual(expect.any(String));
    }
    const notJson = await fetch(`${standin.ratingsApiUrl}/rating/${id}`, {
      method: 'POST',
      headers: { apikey: owner, 'Content-Type': 'application/json' },
      body: '{rating',
    });
    expect(notJson.status).toBe(400);
    expect(standin.ratings()[0]?.submitCount).toBe(0);
  });

  test('image ratings list every rating, for reconciling after a crash', async () => {
    const { id, url } = await newImage();
    expect((await hordeCall(standin, `/api/v1/image/ratings/${id}?format=json`)).body).toMatchObject({
      image_id: id,
      times_rated: 0,
      ratings: [],
    });
    await rate(id, { rating: 8, artifacts: 2 });
    await rate(id, { rating: 5 }, STANDIN_KEYS.requester);
    const { status, body } = await hordeCall(standin, `/api/v1/image/ratings/${id}?format=json`);
    expect(status).toBe(200);
    expect(body).toEqual({
      total: 2,
      image: url,
      image_id: id,
      average: 6.5,
      times_rated: 2,
      ratings: [
        { username: 'standin_owner#2', rating: 8, artifacts: 2 },
        { username: 'standin_requester#1', rating: 5, artifacts: null },
      ],
    });
    expect((await hordeCall(standin, '/api/v1/image/ratings/nope?format=json')).status).toBe(404);
  });
});

describe('validation images', () => {
  test('every 10th image carries an instruction, and obeying it is recorded', async () => {
    const images = [];
    for (let i = 0; i < 20; i++) images.push(await newImage());
    const withInstruction = images.flatMap((image, i) => (image.instruction ? [i] : []));
    expect(withInstruction).toEqual([9, 19]);
    const [obeyed, ignored] = [images[9], images[19]].map((image) => standin.ratings().find((r) => r.id === image?.id));
    expect(images[9]?.instruction).toBe(obeyed?.instruction);
    expect(obeyed?.instruction).toMatch(/^Rate this image \d+ for aesthetics and \d for artifacts$/);

    const target = obeyed?.validation ?? { rating: 0, artifacts: 0 };
    expect((await rate(obeyed?.id ?? '', target)).body.reward).toBe(10);
    const wrong = { rating: ((ignored?.validation?.rating ?? 1) % 10) + 1, artifacts: ignored?.validation?.artifacts ?? 0 };
    expect((await rate(ignored?.id ?? '', wrong)).body.reward).toBe(0);

    const after = standin.ratings();
    expect(after.find((r) => r.id === obeyed?.id)?.answeredAsInstructed).toBe(true);
    expect(after.find((r) => r.id === ignored?.id)?.answeredAsInstructed).toBe(false);
    expect(standin.ratingsStats()).toMatchObject({ validationIssued: 2, validationPassed: 1, validationFailed: 1 });
  });

  test('the cadence is configurable and resetRatings starts over', async () => {
    standin.resetRatings({ validationEvery: 2 });
    expect((await newImage()).instruction).toBeUndefined();
    expect((await newImage()).instruction).toEqual(expect.any(String));
    const before = standin.ratings().map((r) => r.id);
    standin.resetRatings({ validationEvery: 0 });
    expect(standin.ratings()).toEqual([]);
    expect(standin.ratingsStats().issued).toBe(0);
    const again = [await newImage(), await newImage()];
    expect(again.some((image) => image.instruction)).toBe(false);
    expect(again.some((image) => before.includes(image.id))).toBe(false);
  });
});
