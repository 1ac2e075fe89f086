// Runs one exported function of a TypeScript module in a worker thread, so a test can await code that might
// block for minutes: the vitest timeout then fails the test instead of waiting for the blocked thread.
import { Worker } from 'node:worker_threads';

const live = new Set<Worker>();

/**
 * Imports `moduleUrl` in a fresh worker (through tsx), calls `exportName(...args)` there and resolves with its
 * result, or rejects with `{ name, message }` of what it threw. Arguments and result must be structured-cloneable.
 */
export function callInWorker<T>(moduleUrl: URL, exportName: string, args: unknown[]): Promise<T> {
  const worker = new Worker(new URL('./callExport.worker.ts', import.meta.url), {
    workerData: { url: moduleUrl.href, exportName, args },
    execArgv: [...process.execArgv, '--import', 'tsx'],
  });
  live.add(worker);
  return new Promise<T>((resolve, reject) => {
    worker.once('message', (m: { ok: true; value: T } | { ok: false; name: string; message: string }) => {
      if (m.ok) resolve(m.value);
      else reject(Object.assign(new Error(m.message), { name: m.name }));
      void worker.terminate();
    });
    worker.once('error', reject);
    worker.once('exit', () => live.delete(worker));
  });
}

/** Stops every worker still running (call from afterEach, so a timed-out test does not leave one spinning). */
export async function stopWorkers(): Promise<void> {
  await Promise.all([...live].map((w) => w.terminate()));
  live.clear();
}
