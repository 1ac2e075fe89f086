import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, expect, test } from 'vitest';
import type { RatingHistory, RatingImage, RatingStatus } from '../../src-main/common/ratings';
import { startHeadless, type HeadlessProcess } from '../helpers/headlessProcess';

// `npm run demo` killed while ratings wait in the undo window, then started again on the same
// data folder: the demo's ratings service must still know the images, so the ratings are
// delivered, not refused as gone (issue 10, item 6).

const running: HeadlessProcess[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((p) => p.stop()));
});

async function startDemo(dataDir: string): Promise<HeadlessProcess> {
  const demo = await startHeadless(dataDir, { entry: 'src-main/headless/demo.ts', args: ['--idle'] });
  running.push(demo);
  return demo;
}

test('ratings pending when the demo crashed are delivered after it restarts', { timeout: 120_000 }, async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'hd-demo-restart-'));
  const first = await startDemo(dataDir);
  // Rate past the first few images, so the ratings in question are not just the first ids a
  // forgetful service would hand out again after a restart.
  const rated: string[] = [];
  for (let i = 0; i < 12; i += 1) {
    await first.waitFor<RatingStatus>('rating.status', (s) => s.cached >= 1, 50);
    const [image] = await first.call<RatingImage[]>('rating.queue', { count: 1 });
    if (!image) throw new Error('no image to rate');
    await first.call('rating.rate', { imageId: image.imageId, rating: 1 + (i % 10), artifacts: 1 });
    rated.push(image.imageId);
  }
  // The last ones are still inside the 5 s undo window: not sent when the process dies.
  expect((await first.call<RatingStatus>('rating.status')).pendingSync).toBeGreaterThan(0);
  running.splice(running.indexOf(first), 1);
  await first.kill();

  // Pointed at its own stand-in before the rater started: it never tried the real service.
  const logs = readdirSync(join(dataDir, 'logs')).map((name) => readFileSync(join(dataDir, 'logs', name), 'utf8'));
  expect(logs.join('')).not.toMatch(/could not reach/i);

  const second = await startDemo(dataDir);
  await second.waitFor<RatingStatus>('rating.status', (s) => s.pendingSync === 0, 200);
  const history = await second.call<RatingHistory>('rating.history', { limit: 50 });
  const outcome = rated.map((id) => history.rows.find((row) => row.imageId === id)).map((row) => [row?.state, row?.reason]);
  expect(outcome).toEqual(rated.map(() => ['sent', null]));
  // Images handed out after the restart are new ones, not those already rated.
  const next = await second.call<RatingImage[]>('rating.queue', { count: 3 });
  expect(next.filter((image) => rated.includes(image.imageId))).toEqual([]);
});
