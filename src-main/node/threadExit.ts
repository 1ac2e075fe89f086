import { once } from 'node:events';
import type { Worker } from 'node:worker_threads';

/** The message that asks a thread to release its sessions and end by itself (workers/protocol.ts). */
export const SHUTDOWN_MESSAGE = { type: 'shutdown' } as const;

/**
 * Ends a thread that holds ONNX Runtime sessions. `worker.terminate()` stops the thread's JavaScript mid-flight and
 * then runs the addons' teardown in a terminating isolate, where onnxruntime-node's node-addon-api code can throw a
 * C++ `Napi::Error` that nothing catches: the whole process aborts (SIGABRT), the user's app with it. So the thread
 * is asked to finish: it stops its job at the next step, releases its sessions and closes its port, and its event
 * loop ends normally. Only a thread that does not end within `graceMs` is terminated.
 */
export async function endThread(worker: Worker, graceMs = 10_000): Promise<void> {
  const exited = once(worker, 'exit').then(() => true);
  try {
    worker.postMessage(SHUTDOWN_MESSAGE);
  } catch {
    // Already gone: 'exit' has fired or is about to.
  }
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), graceMs);
  });
  const ended = await Promise.race([exited, late]);
  clearTimeout(timer);
  if (!ended) await worker.terminate();
}
