import { randomBytes } from 'node:crypto';
import { afterEach, expect, test } from 'vitest';
import type { EventPayload } from '../../src-main/common/contract';
import type { HordeDeskApp } from '../../src-main/node/app';
import { testApp } from '../helpers/app';
import { until } from '../helpers/worker';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';

// A reference entry without a sha256 is installed only with the user's explicit "Install anyway";
// the reference itself is read only up to its byte limit.

const servers: ModelFileServer[] = [];
let app: HordeDeskApp | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function serve(files: Record<string, Buffer>): Promise<ModelFileServer> {
  const server = await startModelFileServer(files);
  servers.push(server);
  return server;
}

/** One SD 1.x record whose file has no sha256 in `config.files`. */
function reference(fileUrl: string): Buffer {
  const record = {
    name: 'Unhashed',
    baseline: 'stable diffusion 1',
    config: {
      files: [{ path: 'unhashed.safetensors' }],
      download: [{ file_name: 'unhashed.safetensors', file_path: '', file_url: fileUrl }],
    },
    size_on_disk_bytes: 4096,
  };
  return Buffer.from(JSON.stringify({ Unhashed: record }));
}

test('an entry without a sha256 is refused unless the user chose Install anyway', async () => {
  const weights = await serve({ '/unhashed.safetensors': randomBytes(4096) });
  const refs = await serve({ '/stable_diffusion.json': reference(`${weights.url}/unhashed.safetensors`) });
  app = testApp();
  app.settings.update({ modelReferenceUrl: `${refs.url}/stable_diffusion.json` });
  const progress: EventPayload<'models.progress'>[] = [];
  app.events.subscribe((name, payload) => name === 'models.progress' && progress.push(payload as EventPayload<'models.progress'>));

  const catalog = await app.handlers['models.catalog']({ refresh: true });
  expect(catalog.entries.find((e) => e.name === 'Unhashed')?.unverified).toMatch(
    /^The model reference gives no sha256 for it, so a damaged or replaced download from 127\.0\.0\.1:\d+ would go unnoticed\./,
  );

  await expect(app.handlers['models.install']({ name: 'Unhashed', allowUnverified: false })).rejects.toMatchObject({
    code: 'unverified-model',
    message: expect.stringMatching(/^Unhashed: this file cannot be verified\. .* To go ahead, choose Install anyway on the Models page\.$/),
  });
  expect(weights.requests).toEqual([]);

  expect(await app.handlers['models.install']({ name: 'Unhashed', allowUnverified: true })).toEqual({ started: true });
  // Downloaded (these random bytes are no checkpoint, so the conversion then fails: that is fine here).
  await until(() => progress.some((p) => p.phase === 'failed' || p.phase === 'done'));
  expect(weights.requests.map((r) => r.status)).toEqual([200]);
});

test('a model reference larger than 32 MiB is not read', async () => {
  const huge = Buffer.from(`{"pad":"${'a'.repeat(33 * 1024 * 1024)}"}`);
  const refs = await serve({ '/stable_diffusion.json': huge });
  app = testApp();
  app.settings.update({ modelReferenceUrl: `${refs.url}/stable_diffusion.json` });
  const catalog = await app.handlers['models.catalog']({ refresh: true });
  expect(catalog.message).toBe(
    'The model reference could not be fetched (The answer is larger than the 32 MiB HordeDesk reads from it.) and there is no saved copy yet.',
  );
});
