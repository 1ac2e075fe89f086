// Worker entry of test/helpers/inWorker.ts: imports a module, calls one export, posts the outcome back.
import { parentPort, workerData } from 'node:worker_threads';

const { url, exportName, args } = workerData as { url: string; exportName: string; args: unknown[] };
try {
  const mod = (await import(url)) as Record<string, (...a: unknown[]) => unknown>;
  const fn = mod[exportName];
  if (typeof fn !== 'function') throw new Error(`${url} has no export ${exportName}`);
  parentPort?.postMessage({ ok: true, value: await fn(...args) });
} catch (e) {
  parentPort?.postMessage({ ok: false, name: (e as Error).name, message: String((e as Error).message) });
}
