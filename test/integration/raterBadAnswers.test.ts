import { afterAll, expect, test } from 'vitest';
import type { RatingStatus } from '../../src-main/common/ratings';
import { testApp } from '../helpers/app';
import { until } from '../helpers/worker';
import { STANDIN_KEYS, startStandin, type StandinHandle } from '../../src-main/standin/server';

let standin: StandinHandle;
afterAll(async () => {
  await standin?.close();
});

test('bad answers from the ratings service (wrong JSON, non-image bytes, a huge file) are explained and the session goes on', async () => {
  standin = await startStandin({ ratings: { validationEvery: 0 } });
  const statuses: RatingStatus[] = [];
  const app = testApp({ startRater: false });
  app.events.subscribe((name, payload) => {
    if (name === 'rating.status') statuses.push(payload as RatingStatus);
  });
  app.settings.update({ ratingsUrl: standin.ratingsApiUrl, hordeUrl: standin.hordeApiUrl });
  app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  app.rater.start();
  standin.setFaults({ ratingsBadJson: { count: 1, kind: 'wrongShape' }, ratingsBadImage: { count: 2 }, ratingsHugeImage: { count: 1 } });
  await app.handlers['rating.downloadSession']({ count: 25, datasetId: null });
  await until(() => {
    const s = app.rater.status();
    return s.download === null && s.cached >= 21;
  }, 50);
  const messages = statuses.map((s) => s.message ?? '');
  expect(messages.some((m) => /not an image/i.test(m))).toBe(true);
  expect(messages.some((m) => /larger than/i.test(m))).toBe(true);
  // Every cached image is a real, displayable image.
  const queue = await app.handlers['rating.queue']({ count: 5 });
  expect(queue.length).toBe(5);
  for (const image of queue) expect(image.src).toMatch(/^data:image\/(webp|png|jpeg);base64,/);
  // Rating goes on: the first one is accepted and rewarded once its undo window has passed.
  const first = queue[0]!;
  await app.handlers['rating.rate']({ imageId: first.imageId, rating: 7, artifacts: 1 });
  await until(() => app.rater.status().pendingSync === 0, 100);
  expect(standin.ratings().find((r) => r.id === first.imageId)?.ratings).toHaveLength(1);
  await app.close();
}, 60_000);

test('a rating whose answer is lost (the service took it, the connection dropped) is delivered once and not marked refused', async () => {
  standin = await startStandin({ ratings: { validationEvery: 0 } });
  const app = testApp({ startRater: false });
  app.settings.update({ ratingsUrl: standin.ratingsApiUrl, hordeUrl: standin.hordeApiUrl });
  app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  app.rater.start();
  await until(() => app.rater.status().cached >= 2, 50);
  const [image] = await app.handlers['rating.queue']({ count: 1 });
  // The submit is recorded by the service, then the socket is destroyed before the answer.
  standin.setFaults({ dropConnections: { count: 1, afterRoute: true, path: `/api/v1/rating/${image!.imageId}` } });
  await app.handlers['rating.rate']({ imageId: image!.imageId, rating: 8, artifacts: 0 });
  await until(() => app.rater.status().pendingSync === 0, 150);
  const history = await app.handlers['rating.history']({ state: 'all', minRating: 1, maxRating: 10, limit: 50, offset: 0 });
  const row = history.rows.find((r) => r.imageId === image!.imageId);
  expect(row?.state).toBe('sent');
  expect(standin.ratings().find((r) => r.id === image!.imageId)?.ratings).toHaveLength(1);
  await app.close();
}, 60_000);
