import { afterEach, expect, test } from 'vitest';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// What the real horde sends at the edge of what HordeDesk pops (issue 12), replayed through the
// stand-in: each test is one behaviour seen on a real server.

const MODEL = 'tiny-sd-test';
let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

const settled = (s: StandinHandle): boolean =>
  s.jobs().length > 0 && s.jobs().every((j) => j.state !== 'waiting' && j.state !== 'processing');

test('a 400-step request is generated and delivered: a pop with limit_max_steps off is sent up to 500 steps', async () => {
  standin = await startStandin({ models: [MODEL] });
  standin.enqueue({ prompt: 'a fox', models: [MODEL], r2: true, nsfw: false, params: { width: 64, height: 64, steps: 400 } });
  const generator = quickGenerator([MODEL]);
  const rig = workerRig(standin.hordeApiUrl, generator);
  rig.worker.start();
  await until(() => settled(standin!) && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();
  // Refusing it after the pop made the horde re-queue it until the request ended with no image.
  expect(standin.jobs().map((j) => [j.state, j.submitCount])).toEqual([['done', 1]]);
  expect(rig.jobLog.list(10, 0)).toMatchObject([{ state: 'ok', steps: 400 }]);
}, 60_000);
