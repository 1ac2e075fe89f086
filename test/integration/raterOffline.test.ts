import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import type { RatingImage, RatingStatus } from '../../src-main/common/ratings';
import type { KudosTotals } from '../../src-main/common/contract';
import { presetDataDir, startHeadless, type HeadlessProcess } from '../helpers/headlessProcess';
import { STANDIN_KEYS, startStandin, type StandinHandle } from '../../src-main/standin/server';

let standin: StandinHandle;
let app: HeadlessProcess | undefined;
afterAll(async () => {
  await app?.stop();
  await standin?.close();
});

async function rateNext(client: HeadlessProcess, n: number): Promise<string[]> {
  const rated: string[] = [];
  for (let i = 0; i < n; i += 1) {
    const [image] = await client.call<RatingImage[]>('rating.queue', { count: 1 });
    if (!image) throw new Error(`the queue ran dry after ${rated.length} ratings`);
    // Validation images ask for specific scores: follow the instruction, as a person would.
    const asked = /Rate this image (\d+)/i.exec(image.instruction ?? '');
    await client.call('rating.rate', { imageId: image.imageId, rating: asked ? Number(asked[1]) : 1 + (i % 10), artifacts: i % 6 });
    rated.push(image.imageId);
  }
  return rated;
}

test('an offline session of 100 images survives a crash mid-rating and one mid-sync: every rating arrives exactly once', async () => {
  standin = await startStandin();
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-rater-'));
  presetDataDir(dataDir, { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl }, STANDIN_KEYS.workerOwner);
  app = await startHeadless(dataDir);

  // Online: download a session of 100 images.
  await app.call('rating.downloadSession', { count: 100, datasetId: null });
  await app.waitFor<RatingStatus>('rating.status', (s) => s.download === null && s.cached >= 100);

  // The network goes away; rate half, then the app is killed without any chance to clean up.
  standin.setFaults({ ratingsDown: true });
  const first = await rateNext(app, 50);
  expect((await app.call<RatingStatus>('rating.status')).pendingSync).toBe(50);
  await app.kill();

  // Reopened, still offline: nothing was lost, rate the other half.
  app = await startHeadless(dataDir);
  expect((await app.call<RatingStatus>('rating.status')).pendingSync).toBe(50);
  const second = await rateNext(app, 50);
  expect((await app.call<RatingStatus>('rating.status')).pendingSync).toBe(100);

  // The network is back but slow: kill the app while ratings are being sent.
  standin.setFaults({ ratingsDown: false, slowMs: 150 });
  await app.waitFor<RatingStatus>('rating.status', (s) => s.pendingSync < 90, 20);
  await app.kill();
  standin.setFaults({ slowMs: 0 });

  app = await startHeadless(dataDir);
  await app.waitFor<RatingStatus>('rating.status', (s) => s.pendingSync === 0);

  const ours = new Set([...first, ...second]);
  expect(ours.size).toBe(100);
  const byId = new Map(standin.ratings().map((r) => [r.id, r]));
  for (const id of ours) {
    const image = byId.get(id);
    expect(image?.ratings.length, `image ${id}`).toBe(1);
  }
  // Rewards are in the ledger, once each (a rating that arrived just before the crash is marked
  // sent without its reward, which the service's answer carried and the crash lost).
  const paid = standin
    .ratings()
    .filter((r) => ours.has(r.id))
    .reduce((sum, r) => sum + (r.ratings[0]?.reward ?? 0), 0);
  const totals = await app.call<KudosTotals>('kudos.totals');
  expect(totals.bySource.rating).toBeGreaterThan(0);
  expect(totals.bySource.rating).toBeLessThanOrEqual(paid + 1e-9);
  const history = await app.call<{ total: number; rows: { state: string }[] }>('rating.history', { limit: 200 });
  expect(history.total).toBe(100);
  expect(history.rows.every((r) => r.state === 'sent')).toBe(true);
}, 180_000);
