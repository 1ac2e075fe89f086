import { afterEach, expect, test } from 'vitest';
import { TINY_MODEL_NAME } from '../../src-main/node/models/tinyModel';
import { createDemoFeed, demoMixed } from '../../src-main/standin/demoFeed';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { hordeDeskPop, manualClock, popAs, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// The demo's request stream (issue 10, item 6): after a few minutes the demo worker got no jobs
// while the queue was "full" of requests it can never take. Here the demo's own mix is driven on
// a hand-moved clock: one feed tick and one pop per 2 s of demo time, for 20 minutes.

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const WORKER = 'HordeDesk Test Worker';
const MODELS = [TINY_MODEL_NAME, 'tiny-sd-checkpoint'];

test('the demo keeps a stream the worker can serve, and caps and expires what it cannot', async () => {
  const clock = manualClock();
  const standin = await startStandin({ jobs: { now: clock.now, sweepIntervalMs: 0 }, mixed: demoMixed(MODELS) });
  open.push(standin);
  const feed = createDemoFeed(standin, { workerName: () => WORKER, models: [TINY_MODEL_NAME] });
  // The demo worker serves only the built-in model (the checkpoint is not installed).
  const popBody = hordeDeskPop({ name: WORKER, models: [TINY_MODEL_NAME], max_pixels: 262144 });
  const generation = tinyWebpBytes().toString('base64');
  let empty = 0;
  let done = 0;
  let mostUnservable = 0;
  for (let round = 0; round < 600; round += 1) {
    const tick = feed.tick();
    mostUnservable = Math.max(mostUnservable, tick.unservable);
    const pop = await popAs(standin, popBody);
    expect(pop.status).toBe(200);
    const ids = pop.body.ids as string[];
    if (ids.length === 0) empty += 1;
    for (const id of ids) {
      const submit = await submitAs(standin, { id, generation, state: 'ok', seed: 1 });
      expect(submit.status).toBe(200);
      done += 1;
    }
    clock.advance(2);
  }
  // Every pop found work: the stream never starves, however many unservable requests came by.
  expect(empty).toBe(0);
  expect(done).toBeGreaterThanOrEqual(600);
  // Requests it cannot take were offered (so the Dashboard has reasons to show) but kept in bounds.
  const outlook = standin.outlook(WORKER) ?? [];
  const skipped = new Set(outlook.filter((r) => !r.servable).map((r) => r.reason));
  expect(skipped.has('models')).toBe(true);
  expect(mostUnservable).toBeLessThanOrEqual(12);
  expect(outlook.filter((r) => !r.servable).every((r) => r.ageS <= 182)).toBe(true);
});

test('before the worker has popped, requests for the given models count', async () => {
  const standin = await startStandin({ jobs: { sweepIntervalMs: 0 }, mixed: demoMixed(MODELS) });
  open.push(standin);
  const feed = createDemoFeed(standin, { workerName: () => 'nobody yet', models: [TINY_MODEL_NAME] });
  expect(feed.tick().enqueued).toBeGreaterThanOrEqual(3);
  expect(standin.queue().filter((r) => r.models.includes(TINY_MODEL_NAME)).length).toBeGreaterThanOrEqual(3);
  // Enough are waiting: nothing more until the worker takes some.
  expect(feed.tick().enqueued).toBe(0);
});
