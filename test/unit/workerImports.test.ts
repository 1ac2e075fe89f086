import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { expect, test } from 'vitest';

// The host stops the conversion thread with worker.terminate() as soon as it reports (done, error, timeout, cancel).
// A thread that has loaded a native addon built on node-addon-api can abort the whole process when it is
// terminated: in CI, onnxruntime-node threw a Napi::Error from its teardown ("terminate called after throwing an
// instance of 'Napi::Error'", SIGABRT) after a conversion failed fast. So the converter's whole import graph must stay
// free of native addons. This reads that graph the way a bundler does, so an index file that re-exports a runner
// (clip/index.ts exports the ONNX runner, for one) is caught the day someone imports it.

const NATIVE = ['onnxruntime-node', 'onnxruntime-common', 'sharp'];

async function packagesImportedBy(entry: string): Promise<Set<string>> {
  const result = await build({
    entryPoints: [fileURLToPath(new URL(entry, import.meta.url))],
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'esm',
    packages: 'external',
    logLevel: 'silent',
  });
  const packages = new Set<string>();
  for (const input of Object.values(result.metafile.inputs))
    for (const imported of input.imports) if (imported.external) packages.add(imported.path);
  return packages;
}

test('the conversion thread imports no native addon (terminating it must be safe)', async () => {
  const packages = await packagesImportedBy('../../src-main/workers/convert.worker.ts');
  expect(packages.size).toBeGreaterThan(0); // the graph was read: node:fs and friends are external too
  expect([...packages].filter((p) => NATIVE.some((n) => p === n || p.startsWith(`${n}/`)))).toEqual([]);
});

test('the check itself sees an addon that the inference thread imports', async () => {
  const packages = await packagesImportedBy('../../src-main/workers/inference.worker.ts');
  expect([...packages]).toContain('onnxruntime-node');
});
