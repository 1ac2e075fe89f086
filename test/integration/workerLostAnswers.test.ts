import { afterEach, expect, test } from 'vitest';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// The answer to a submit is lost after the horde booked it (a dropped connection, a timeout):
// the retry meets DuplicateGen. The image was delivered, so the worker must count it as done,
// not as refused by the horde (found by the soak benchmark).

const MODEL = 'tiny-sd-test';
let standin: StandinHandle;
afterEach(async () => {
  await standin?.close();
});

test('a submit whose answer was lost counts as delivered when the retry meets DuplicateGen', async () => {
  standin = await startStandin({ models: [MODEL] });
  standin.enqueue({ prompt: 'a fox', models: [MODEL], r2: false, nsfw: false, params: { width: 128, height: 128, steps: 3 } });
  standin.setFaults({ dropConnections: { count: 1, afterRoute: true, path: '/api/v2/generate/submit' } });
  const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]));
  rig.worker.start();
  await until(() => standin.jobs().some((job) => job.submitCount >= 2) && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();

  const [job] = standin.jobs();
  // Booked once, sent twice, and the second was a retry of an unanswered first: no duplicate.
  expect(job).toMatchObject({ state: 'done', submitCount: 2, resubmitsAfterAnswer: 0 });
  expect(rig.worker.status().stats).toMatchObject({ jobsDone: 1, jobsDropped: 0, jobsFaulted: 0 });
  expect(rig.jobLog.list(10, 0).map((row) => row.state)).toEqual(['ok']);
});
