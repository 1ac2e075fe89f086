import { mkdtempSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { expect, test } from 'vitest';
import { generationParamsSchema } from '../../src-main/common/inference';
import { defaultWorkerUrl } from '../../src-main/node/inference/inferenceHost';
import { defaultSafetyWorkerUrl } from '../../src-main/node/safety/safetyHost';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { endThread } from '../../src-main/node/threadExit';
import type { WorkerMessage } from '../../src-main/workers/protocol';

// Threads that hold ONNX Runtime sessions end by themselves when asked (node/threadExit.ts): a terminate() of
// such a thread aborted a whole test process in CI. Exit code 0 is a thread whose event loop ended; a terminated
// thread exits with code 1.

function spawn(url: URL): Worker {
  return new Worker(url, { execArgv: [...process.execArgv, '--import', 'tsx'] });
}

function nextMessage(worker: Worker, type: WorkerMessage['type']): Promise<WorkerMessage> {
  return new Promise((resolve) => {
    const on = (m: WorkerMessage): void => {
      if (m.type !== type) return;
      worker.off('message', on);
      resolve(m);
    };
    worker.on('message', on);
  });
}

test('the inference thread asked to end stops its job (cancelled), releases its sessions and exits by itself', async () => {
  const dir = await writeTinyModel(mkdtempSync(join(tmpdir(), 'hd-exit-')));
  const worker = spawn(defaultWorkerUrl());
  const code = once(worker, 'exit');
  worker.postMessage({ type: 'load', requestId: 1, modelDir: dir, providers: ['cpu'] });
  expect(await nextMessage(worker, 'loaded')).toMatchObject({ requestId: 1 });

  const params = generationParamsSchema.parse({ prompt: 'a cat', seed: 3, width: 64, height: 64, steps: 500 });
  const stopped = nextMessage(worker, 'error');
  worker.postMessage({ type: 'run', requestId: 2, jobId: 'long', params });
  await nextMessage(worker, 'progress'); // the job is running
  await endThread(worker, 60_000);
  expect(await stopped).toMatchObject({ requestId: 2, code: 'cancelled' });
  expect(await code).toEqual([0]);
});

test('the safety thread asked to end exits by itself', async () => {
  const worker = spawn(defaultSafetyWorkerUrl());
  const code = once(worker, 'exit');
  await endThread(worker, 60_000);
  expect(await code).toEqual([0]);
});

test('a thread that does not end within the grace time is terminated', async () => {
  const worker = new Worker('setInterval(() => {}, 1000);', { eval: true });
  const code = once(worker, 'exit');
  await endThread(worker, 200);
  expect(await code).toEqual([1]);
});
