// The safety service over the real tiny safety model in its worker thread: the scores are CLIP's cosines, the
// word features are computed once and found in the model folder by the next start, a dead thread fails only the
// check in flight, and a model that is missing or broken says so.
import { cpSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import type { SafetyImage } from '../../src-main/core/safety/checker';
import { decideSafety } from '../../src-main/core/safety/decision';
import { SAFETY_WORDS } from '../../src-main/core/safety/tables';
import { openClipRunner } from '../../src-main/inference/clip';
import { ClipSimilarity } from '../../src-main/node/safety/clipSimilarity';
import { TINY_SAFETY_FOLDER } from '../../src-main/node/safety/safetyModel';
import { createSafetyService, type SafetyModelService, type SafetyServiceDeps } from '../../src-main/node/safety/safetyService';
import { TEXT_FEATURE_FOLDER } from '../../src-main/node/safety/textFeatureCache';
import { writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';
import type { SafetyStatus } from '../../src-main/node/safety/types';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-safety-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const open: SafetyModelService[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

let dirs = 0;
/** A fresh `<dataDir>/safety`, with the tiny model unless asked otherwise. */
function safetyDir(withModel = true): string {
  const dir = join(root, `safety-${++dirs}`);
  if (withModel) writeTinySafetyModel(dir);
  return dir;
}

function service(dir: string, extra: Partial<SafetyServiceDeps> = {}): { s: SafetyModelService; changes: SafetyStatus[] } {
  const changes: SafetyStatus[] = [];
  const s = createSafetyService({
    safetyDir: dir,
    providers: async () => ['cpu'],
    downloadBytes: 1_712_026_342,
    log: silentLogger(),
    onChange: (status) => changes.push(status),
    ...extra,
  });
  open.push(s);
  return { s, changes };
}

/** A 300×200 image with gradients and a few hard edges: CLIP's crop and resize both have work to do. */
function image(seed = 1): SafetyImage {
  const width = 300;
  const height = 200;
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      rgb[i] = (x * seed) & 255;
      rgb[i + 1] = (y * 3 + seed * 40) & 255;
      rgb[i + 2] = (x + y) % 64 < 32 ? 220 : 30;
    }
  return { width, height, rgb: rgb.buffer };
}

/** The cosines computed in the test's own thread, straight from the towers (no service, no cache). */
async function directScores(modelDir: string, img: SafetyImage, texts: readonly string[]): Promise<number[]> {
  const runner = await openClipRunner(modelDir);
  const tokens = await ClipSimilarity.open(modelDir, ['cpu']).then(async (m) => {
    const t = texts.map((text) => m.tokens(text));
    await m.release();
    return t;
  });
  const imageEmbedding = await runner.embedImage({ width: img.width, height: img.height, data: new Uint8Array(img.rgb) });
  const textEmbeddings = await runner.embedTexts(tokens);
  await runner.release();
  return textEmbeddings.map((t) => t.reduce((sum, v, i) => sum + v * (imageEmbedding[i] as number), 0));
}

function maxDiff(a: readonly number[], b: readonly number[]): number {
  expect(a.length).toBe(b.length);
  return Math.max(...a.map((x, i) => Math.abs(x - (b[i] as number))));
}

describe('checking an image', () => {
  test('every safety word gets its CLIP cosine, computed in the worker thread; the tiny model flags nothing', async () => {
    const dir = safetyDir();
    const { s, changes } = service(dir);
    expect(s.status().state).toBe('loading'); // found on first look and loading, never blocking
    await s.ensureLoaded();
    expect(s.status()).toEqual({ state: 'ready', reason: expect.stringMatching(/runs on cpu; word features computed and cached/) });
    expect(changes.map((c) => c.state)).toEqual(['loading', 'ready']);

    const scores = await s.similarities(image(), SAFETY_WORDS);
    expect([...scores.keys()]).toEqual([...SAFETY_WORDS]);
    const values = [...scores.values()];
    expect(values.every((v) => Number.isFinite(v) && Math.abs(v) <= 1)).toBe(true);
    expect(new Set(values.map((v) => v.toFixed(6))).size).toBeGreaterThan(SAFETY_WORDS.length / 2);
    const direct = await directScores(join(dir, TINY_SAFETY_FOLDER), image(), SAFETY_WORDS);
    expect(maxDiff(values, direct)).toBeLessThan(1e-5);
    // Random weights recognise nothing: the demo's images are delivered as made.
    expect(decideSafety(scores, { prompt: 'a girl at school', model: null, censorNsfw: true, workerNsfw: false }).action).toBe('deliver');

    // A text outside the word lists is scored too (its features computed on the way), and images differ.
    const other = await s.similarities(image(7), ['a red apple', SAFETY_WORDS[0] as string]);
    expect(
      maxDiff([...other.values()], await directScores(join(dir, TINY_SAFETY_FOLDER), image(7), ['a red apple', SAFETY_WORDS[0] as string])),
    ).toBeLessThan(1e-5);
    expect(other.get(SAFETY_WORDS[0] as string)).not.toBeCloseTo(scores.get(SAFETY_WORDS[0] as string) as number, 6);
    expect(s.modelInfo()).toMatchObject({ name: 'Tiny safety test model', installed: true, tiny: true, downloadBytes: 0 });
    expect(s.modelInfo().sizeOnDiskBytes).toBeGreaterThan(1_000_000);
  });

  test('the next start finds the word features in the model folder and does not compute them again', async () => {
    const dir = safetyDir();
    const first = service(dir).s;
    await first.ensureLoaded();
    const before = await first.similarities(image(), SAFETY_WORDS);
    await first.close();
    const cacheFiles = readdirSync(join(dir, TINY_SAFETY_FOLDER, TEXT_FEATURE_FOLDER));
    expect(cacheFiles).toHaveLength(1);

    const second = service(dir).s;
    await second.ensureLoaded();
    expect(second.status().reason).toMatch(/word features from the cache/);
    expect([...(await second.similarities(image(), SAFETY_WORDS)).values()]).toEqual([...before.values()]);
    expect(readdirSync(join(dir, TINY_SAFETY_FOLDER, TEXT_FEATURE_FOLDER))).toEqual(cacheFiles);
  });

  test("another model's cached features are never used: its header names another model", async () => {
    const dirA = safetyDir();
    const a = service(dirA).s;
    await a.ensureLoaded();
    const dirB = join(root, `safety-${++dirs}`);
    writeTinySafetyModel(dirB, { seed: 99 });
    cpSync(join(dirA, TINY_SAFETY_FOLDER, TEXT_FEATURE_FOLDER), join(dirB, TINY_SAFETY_FOLDER, TEXT_FEATURE_FOLDER), { recursive: true });
    const b = service(dirB).s;
    await b.ensureLoaded();
    expect(b.status().reason).toMatch(/word features computed and cached/);
    const scores = [...(await b.similarities(image(), SAFETY_WORDS)).values()];
    expect(maxDiff(scores, await directScores(join(dirB, TINY_SAFETY_FOLDER), image(), SAFETY_WORDS))).toBeLessThan(1e-5);
  });
});

describe('when the thread dies', () => {
  const crashingWorker = new URL('../fixtures/workers/safetyCrashOnText.worker.ts', import.meta.url);

  test('the check in flight fails with a clear error, the thread is replaced, and the next check runs', async () => {
    const { s, changes } = service(safetyDir(), { workerUrl: crashingWorker });
    await s.ensureLoaded();
    const before = await s.similarities(image(), SAFETY_WORDS);
    await expect(s.similarities(image(), ['crash the safety thread'])).rejects.toMatchObject({
      code: 'safety-crashed',
      message: expect.stringMatching(/stopped unexpectedly.*was not checked/),
    });
    const after = await s.similarities(image(), SAFETY_WORDS);
    expect([...after.values()]).toEqual([...before.values()]);
    expect(s.status().state).toBe('ready');
    // Told as it happens: restarting, loading again, ready.
    expect(changes.map((c) => c.state)).toEqual(['loading', 'ready', 'loading', 'loading', 'ready']);
    expect(changes[2]?.reason).toMatch(/stopped unexpectedly and is being restarted/);
  });
});

describe('when there is no model to run', () => {
  test('missing: the check is refused with the reason, and a model written later is picked up', async () => {
    const dir = safetyDir(false);
    const { s } = service(dir);
    expect(s.status()).toEqual({ state: 'missing', reason: expect.stringMatching(/not installed.*does not take jobs/) });
    await expect(s.similarities(image(), SAFETY_WORDS)).rejects.toMatchObject({ code: 'safety-missing' });
    expect(s.modelInfo()).toEqual({
      name: 'CLIP ViT-L/14 (openai)',
      installed: false,
      tiny: false,
      sizeOnDiskBytes: null,
      downloadBytes: 1_712_026_342,
    });
    writeTinySafetyModel(dir);
    expect(s.status().state).toBe('loading');
    await s.ensureLoaded();
    expect(s.status().state).toBe('ready');
  });

  test('broken: it fails with the reason, is not retried for a minute, then is', async () => {
    const dir = safetyDir();
    writeFileSync(join(dir, TINY_SAFETY_FOLDER, 'vision', 'model.onnx'), 'not a model');
    let now = 1_000_000;
    const { s } = service(dir, { now: () => now });
    const failure = s.ensureLoaded();
    await expect(failure).rejects.toMatchObject({ code: 'safety-failed', message: expect.stringMatching(/could not be loaded/) });
    expect(s.status()).toMatchObject({ state: 'failed', reason: expect.stringMatching(/Tiny safety test model could not be loaded/) });
    now += 30_000;
    await expect(s.ensureLoaded()).rejects.toBe(await failure.catch((e: unknown) => e));
    rmSync(join(dir, TINY_SAFETY_FOLDER), { recursive: true });
    writeTinySafetyModel(dir);
    now += 31_000;
    await s.ensureLoaded();
    expect(s.status().state).toBe('ready');
  });
});
