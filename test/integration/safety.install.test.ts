// Installing the safety model the way Install on the Models page installs a checkpoint: a sha256-pinned download
// (resumable), the conversion in the convert worker with its tokenizer, one rename; then the service loads it.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import type { SafetyView } from '../../src-main/common/safetyModel';
import { silentLogger } from '../../src-main/core/log';
import type { SafetyImage } from '../../src-main/core/safety/checker';
import { SAFETY_WORDS } from '../../src-main/core/safety/tables';
import { CLIP_TOWERS, expectedClipWeights } from '../../src-main/inference/clip';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { seededRandomWeights } from '../../src-main/inference/graph';
import type { InstallProgress } from '../../src-main/node/models/modelInstaller';
import { createSafetyInstaller, type SafetyModelSource } from '../../src-main/node/safety/safetyInstaller';
import { CLIP_SAFETY_MODEL, findSafetyModel } from '../../src-main/node/safety/safetyModel';
import { createSafetyService, type SafetyModelService } from '../../src-main/node/safety/safetyService';
import { TINY_SAFETY_CONFIG, tinySafetyCheckpointTensors, writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { testApp } from '../helpers/app';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let root: string;
let server: ModelFileServer | undefined;
const closers: (() => Promise<void>)[] = [];
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hordedesk-safety-install-'));
});
afterEach(async () => {
  await Promise.all(closers.splice(0).map((c) => c()));
  await server?.close();
  server = undefined;
  rmSync(root, { recursive: true, force: true });
});

/** The tiny safety model as a Hugging Face CLIPModel safetensors (F16, as a published file might be). */
function tinyCheckpoint(seed = 4321): Buffer {
  const path = join(root, `tiny-${seed}.safetensors`);
  writeSafetensors(path, tinySafetyCheckpointTensors(seed, 'F16'), { format: 'pt' });
  return readFileSync(path);
}

const image: SafetyImage = (() => {
  const rgb = new Uint8Array(256 * 256 * 3);
  for (let i = 0; i < rgb.length; i++) rgb[i] = (i * 7 + (i >> 9)) & 255;
  return { width: 256, height: 256, rgb: rgb.buffer };
})();

async function setup(
  served: Buffer,
  pinned: Buffer,
  onProgress?: (p: InstallProgress, cancel: () => boolean) => void,
  otherFiles: Record<string, Buffer> = {},
) {
  server = await startModelFileServer({ '/clip/model.safetensors': served, ...otherFiles });
  const safetyDir = join(root, 'data', 'safety');
  const service: SafetyModelService = createSafetyService({
    safetyDir,
    providers: async () => ['cpu'],
    downloadBytes: 1,
    log: silentLogger(),
  });
  closers.push(() => service.close());
  const source: SafetyModelSource = { ...CLIP_SAFETY_MODEL, name: 'Tiny CLIP checkpoint', bytes: pinned.length, sha256: sha256(pinned) };
  const progress: InstallProgress[] = [];
  const installer = createSafetyInstaller({
    dataDir: join(root, 'data'),
    safetyDir,
    baseUrl: () => `${server?.url ?? ''}/clip`,
    weightDtype: async () => 'fp32',
    onProgress: (p) => {
      progress.push(p);
      onProgress?.(p, () => installer.cancel());
    },
    onInstalled: () => service.reload(),
    log: silentLogger(),
    source,
  });
  return { installer, service, progress, safetyDir };
}

describe('installing the safety model', () => {
  test('downloaded, converted in the convert worker and loaded: its scores are those of the same weights built directly', async () => {
    const body = tinyCheckpoint();
    const { installer, service, progress, safetyDir } = await setup(body, body);
    expect(service.status().state).toBe('missing');
    await installer.install();
    expect(progress.at(-1)).toMatchObject({ phase: 'done', message: 'Tiny CLIP checkpoint is installed.' });
    expect(new Set(progress.map((p) => p.phase))).toEqual(new Set(['downloading', 'converting', 'done']));
    expect(service.status()).toMatchObject({ state: 'ready', reason: expect.stringMatching(/^Tiny CLIP checkpoint runs on cpu/) });
    expect(readdirSync(safetyDir)).toEqual([CLIP_SAFETY_MODEL.folder]);
    expect(readdirSync(join(root, 'data', 'downloads'))).toEqual([]);
    expect(findSafetyModel(safetyDir)?.manifest).toMatchObject({ sha256: sha256(body), tiny: false });

    // The same weights written straight from the builder (fp32 there; the file stored F16, so compare loosely).
    const direct = createSafetyService({
      safetyDir: join(root, 'direct'),
      providers: async () => ['cpu'],
      downloadBytes: 1,
      log: silentLogger(),
    });
    closers.push(() => direct.close());
    writeTinySafetyModel(join(root, 'direct'));
    const installed = [...(await service.similarities(image, SAFETY_WORDS)).values()];
    const built = [...(await direct.similarities(image, SAFETY_WORDS)).values()];
    expect(Math.max(...installed.map((v, i) => Math.abs(v - (built[i] as number))))).toBeLessThan(2e-3);
  });

  test('a file that is not the pinned one is refused and nothing is installed', async () => {
    const { installer, service, progress, safetyDir } = await setup(tinyCheckpoint(7), tinyCheckpoint());
    await installer.install();
    expect(progress.at(-1)).toMatchObject({
      phase: 'failed',
      message: expect.stringMatching(/is not the published file .*sha256 differs/),
    });
    expect(existsSync(safetyDir) ? readdirSync(safetyDir) : []).toEqual([]);
    expect(service.status().state).toBe('missing');
  });

  test('Cancel during the conversion installs nothing and keeps the download, which the next install uses', async () => {
    const body = tinyCheckpoint();
    let cancelling = true;
    const { installer, service, progress, safetyDir } = await setup(body, body, (p, cancel) => {
      if (cancelling && p.phase === 'converting' && p.bytes === 1 && /tensors/.test(p.message ?? '')) expect(cancel()).toBe(true);
    });
    await installer.install();
    cancelling = false;
    expect(progress.at(-1)).toMatchObject({ phase: 'cancelled', message: expect.stringMatching(/nothing was installed/) });
    expect(existsSync(safetyDir) ? readdirSync(safetyDir) : []).toEqual([]);
    await installer.install();
    expect(progress.at(-1)?.phase).toBe('done');
    expect(server?.requests.filter((r) => r.path === '/clip/model.safetensors')).toHaveLength(1);
    expect(service.status().state).toBe('ready');
  });
});

test("a checkpoint with CLIP's own vocabulary takes the pinned CLIP tokenizer: a file that is not it installs nothing", async () => {
  // The tiny towers with ViT-L/14's 49,408-token vocabulary: the converter asks for openai's tokenizer files.
  const config = { ...TINY_SAFETY_CONFIG, text: { ...TINY_SAFETY_CONFIG.text, vocabSize: 49_408, eosTokenId: 49_407 } };
  const weights = seededRandomWeights(3);
  const path = join(root, 'vocab.safetensors');
  writeSafetensors(
    path,
    CLIP_TOWERS.flatMap((tower) =>
      expectedClipWeights(config, tower).map(({ name, shape }) => ({
        name,
        dtype: 'F16' as const,
        shape,
        data: () => weights.get(name, shape),
      })),
    ),
  );
  const body = readFileSync(path);
  const { installer, progress, safetyDir } = await setup(body, body, undefined, { '/clip/vocab.json': Buffer.from('{"a": 0}') });
  await installer.install();
  expect(progress.at(-1)).toMatchObject({
    phase: 'failed',
    message: expect.stringMatching(
      /^The CLIP tokenizer file vocab\.json from http:\/\/127\.0\.0\.1:\d+\/clip\/vocab\.json is not the published one/,
    ),
  });
  expect(existsSync(safetyDir) ? readdirSync(safetyDir) : []).toEqual([]);
});

describe('the app', () => {
  test('offers ViT-L/14 with its download size, and refuses a file that is not the pinned openai one', async () => {
    server = await startModelFileServer({ '/clip/model.safetensors': tinyCheckpoint() });
    const app = testApp({ safetyModel: false });
    closers.push(() => app.close());
    app.settings.update({ clipTokenizerUrl: `${server.url}/clip` });
    const views: SafetyView[] = [];
    app.events.subscribe((name, payload) => {
      if (name === 'safety.status') views.push(payload as SafetyView);
    });
    expect(await app.handlers['safety.status']({})).toEqual({
      state: 'missing',
      reason: expect.stringMatching(/not installed/),
      model: { name: 'CLIP ViT-L/14 (openai)', installed: false, tiny: false, sizeOnDiskBytes: null, downloadBytes: 1_712_026_342 },
      install: null,
    });
    await app.handlers['safety.install']({});
    await expect.poll(() => views.at(-1)?.install?.phase).toBe('failed');
    expect(views.at(-1)?.install?.message).toContain(`pinned ${CLIP_SAFETY_MODEL.sha256}`);
    expect(views.at(-1)?.state).toBe('missing');
  });
});
