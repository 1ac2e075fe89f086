import { afterEach, expect, test } from 'vitest';
import { TINY_WEBP_BASE64 } from '../../src-main/standin/mixed';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// A running worker whose pops come back empty says why, from the horde's `skipped` counts
// (issue 10, item 6), and stops saying it once jobs come again.

const MODEL = 'tiny-sd-test';
let standin: StandinHandle;
afterEach(async () => {
  await standin?.close();
});

test('empty pops are explained in words until a job arrives', async () => {
  standin = await startStandin({ models: [MODEL] });
  const body = (extra: Record<string, unknown>, params: Record<string, unknown> = {}) => ({
    prompt: 'a fox',
    models: [MODEL],
    r2: false,
    nsfw: false,
    params: { width: 256, height: 256, steps: 4, ...params },
    ...extra,
  });
  for (let i = 0; i < 12; i += 1) standin.enqueue(body({ source_image: TINY_WEBP_BASE64, source_processing: 'img2img' }));
  // Bigger than the rig's max_pixels of 262,144 (512×512).
  for (let i = 0; i < 3; i += 1) standin.enqueue(body({}, { width: 1024, height: 1024 }));
  const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]));
  rig.worker.start();
  await until(() => rig.worker.status().noJobs !== null);
  const noJobs = rig.worker.status().noJobs;
  expect(rig.worker.status().state).toBe('running');
  expect(noJobs?.skipped).toEqual([
    { reason: 'img2img', count: 12 },
    { reason: 'max_pixels', count: 3 },
  ]);
  expect(noJobs?.text).toBe(
    'No jobs right now: 12 requests need img2img, which none of the models you offer serves; 3 need more memory than max_pixels (262,144 pixels) allows.',
  );
  // Said once, not on every pop.
  expect(rig.statuses.filter((s) => s.noJobs !== null && s.noJobs.text === noJobs?.text).length).toBe(1);

  standin.enqueue(body({}));
  await until(() => rig.worker.status().stats.jobsDone === 1);
  // While it worked on the job, the card had no "no jobs" line.
  expect(rig.statuses.some((s) => s.current !== null && s.noJobs === null)).toBe(true);
  rig.worker.pause();
  await rig.worker.whenIdle();
});
