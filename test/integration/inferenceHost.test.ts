import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { generationParamsSchema } from '../../src-main/common/inference';
import { silentLogger } from '../../src-main/core/log';
import { InferenceHost } from '../../src-main/node/inference/inferenceHost';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';

const params = generationParamsSchema.parse({ prompt: 'x', seed: 1 });

test('a crashed worker fails the job in flight with a clear error, and the next request gets a fresh worker', async () => {
  const host = new InferenceHost(silentLogger(), new URL('../fixtures/workers/crashOnRun.worker.ts', import.meta.url));
  expect(await host.load('/models/any', ['cpu'])).toEqual({ provider: 'cpu', fallbackReason: null });
  await expect(host.generate('job-1', params)).rejects.toMatchObject({
    code: 'worker-crashed',
    message: expect.stringMatching(/stopped unexpectedly.*restarted/),
  });
  // The host reloads the last model into the new worker before running again; that worker dies on run too.
  await expect(host.generate('job-2', params)).rejects.toMatchObject({ code: 'worker-crashed' });
  await host.dispose();
});

test('the real worker thread generates with per-step progress, and cancel ends a job with code cancelled', async () => {
  const dir = await writeTinyModel(mkdtempSync(join(tmpdir(), 'hd-host-')));
  const host = new InferenceHost(silentLogger());
  expect((await host.load(dir, ['cpu'])).provider).toBe('cpu');
  const phases: string[] = [];
  const result = await host.generate(
    'job-a',
    generationParamsSchema.parse({ prompt: 'a cat', seed: 7, width: 64, height: 64, steps: 4 }),
    (p) => phases.push(`${p.phase}:${p.step}`),
  );
  expect(phases).toEqual(['encoding:0', 'sampling:1', 'sampling:2', 'sampling:3', 'sampling:4', 'decoding:4']);
  expect(result.images).toHaveLength(1);
  expect(result.images[0]?.rgb.byteLength).toBe(64 * 64 * 3);
  expect(result.stats.runs).toBeGreaterThan(4);
  expect(result.stats.runMs).toBeGreaterThan(0);

  const long = host.generate(
    'job-b',
    generationParamsSchema.parse({ prompt: 'a cat', seed: 7, width: 64, height: 64, steps: 200 }),
    (p) => {
      if (p.phase === 'sampling' && p.step === 3) host.cancel('job-b');
    },
  );
  await expect(long).rejects.toMatchObject({ code: 'cancelled' });
  // The worker is still alive and serves the next job.
  expect(
    (await host.generate('job-c', generationParamsSchema.parse({ prompt: 'a dog', seed: 1, width: 64, height: 64, steps: 2 }))).images,
  ).toHaveLength(1);
  await host.dispose();
});
