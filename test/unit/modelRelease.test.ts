import { describe, expect, test } from 'vitest';
import {
  createModelReleaser,
  RELEASE_CHECK_MS,
  RELEASE_MODEL_AFTER_MS,
  type LoadedModelView,
} from '../../src-main/core/schedule/modelRelease';
import type { WorkerState } from '../../src-main/core/worker/hordeWorker';
import { virtualClock } from '../helpers/virtualClock';

const MIN = 60_000;

/** A releaser over a virtual clock, a worker state and a model the test sets; counts the releases. */
function setup(state: WorkerState = 'paused') {
  const clock = virtualClock();
  const world = { state, model: { loaded: true, busy: false, usedAt: null } as LoadedModelView, releases: 0 };
  const releaser = createModelReleaser({
    clock,
    workerState: () => world.state,
    model: () => world.model,
    release: async () => {
      world.releases += 1;
      world.model = { ...world.model, loaded: false };
    },
  });
  /** Moves time on in the releaser's own steps, letting each look finish. */
  const wait = async (ms: number): Promise<void> => {
    for (let t = 0; t < ms; t += RELEASE_CHECK_MS) {
      clock.advance(RELEASE_CHECK_MS);
      await new Promise((resolve) => setImmediate(resolve));
    }
  };
  return { clock, world, releaser, wait };
}

describe("the model's memory is given back while nothing uses it", () => {
  test('five minutes after the worker paused, the model is released once; it loads again only for a job', async () => {
    const { world, releaser, wait } = setup('running');
    await wait(20 * MIN);
    expect(world.releases).toBe(0); // working: never
    world.state = 'paused';
    await wait(RELEASE_MODEL_AFTER_MS - RELEASE_CHECK_MS);
    expect(world.releases).toBe(0); // a short absence keeps it
    await wait(2 * RELEASE_CHECK_MS);
    expect(world.releases).toBe(1);
    await wait(30 * MIN);
    expect(world.releases).toBe(1); // nothing left to release
    releaser.stop();
  });

  test('a job on the Generate page, or one waiting for its turn, keeps it', async () => {
    const { clock, world, releaser, wait } = setup('stopped');
    await wait(4 * MIN);
    world.model = { loaded: true, busy: false, usedAt: clock.now() }; // a page job just ended
    await wait(4 * MIN);
    expect(world.releases).toBe(0);
    world.model = { ...world.model, busy: true };
    await wait(10 * MIN);
    expect(world.releases).toBe(0);
    world.model = { ...world.model, busy: false };
    await wait(RELEASE_MODEL_AFTER_MS + RELEASE_CHECK_MS);
    expect(world.releases).toBe(1);
    releaser.stop();
  });

  test('every state but running, pausing and stopping counts as idle', async () => {
    for (const state of ['running', 'pausing', 'stopping', 'paused', 'stopped', 'maintenance', 'error'] as WorkerState[]) {
      const { world, releaser, wait } = setup(state);
      await wait(RELEASE_MODEL_AFTER_MS + RELEASE_CHECK_MS);
      expect([state, world.releases]).toEqual([state, ['running', 'pausing', 'stopping'].includes(state) ? 0 : 1]);
      releaser.stop();
    }
  });

  test('no model in memory: nothing to do; once stopped it looks no more', async () => {
    const { world, releaser, wait } = setup('paused');
    world.model = { loaded: false, busy: false, usedAt: null };
    await wait(10 * MIN);
    expect(world.releases).toBe(0);
    world.model = { loaded: true, busy: false, usedAt: null };
    releaser.stop();
    await wait(10 * MIN);
    expect(world.releases).toBe(0);
    // Asked directly, it would release: it was only the timer that stopped.
    expect(await releaser.check()).toBe(true);
  });
});
