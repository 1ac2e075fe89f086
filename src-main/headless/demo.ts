import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ldmCheckpointTensors } from '../inference/convert/synthetic';
import { writeSafetensors } from '../inference/convert/safetensors';
import { makeTinyConfig, seededRandomWeights } from '../inference/graph';
import { TINY_VOCAB_SIZE } from '../inference/tokenizer';
import { startModelFileServer } from '../standin/modelsServer';
import { startFakeCivitai, type FakeAddon } from '../standin/civitai';
import { tinyEmbeddingBytes, tinyLoraBytes } from '../node/lora/tinyAddons';
import { createDemoFeed, demoMixed } from '../standin/demoFeed';
import { STANDIN_KEYS, startStandin } from '../standin/server';
import { createApp } from '../node/app';
import { headlessConfFactory } from '../node/system/settingsStore';
import { createSimulatedIdleSource } from '../node/system/idleSource';
import { TINY_MODEL_NAME, writeTinyModel } from '../node/models/tinyModel';
import { TINY_SDXL_MODEL_NAME, writeTinySdxlModel } from '../node/models/tinySdxlModel';
import { TINY_UPSCALER_SPEC, TINY_UPSCALER_X2_SPEC, writeTinyUpscaler } from '../node/models/tinyUpscaler';
import { POSTPROCESS_FOLDER } from '../node/postprocess/postprocessServices';
import { convertUpscaler } from '../inference/postprocess/convert';
import { existsSync } from 'node:fs';
import { safetyDirOf } from '../node/safety/safetyModel';
import { writeTinySafetyModel } from '../node/safety/tinySafetyModel';
import { parseHeadlessArgs, tokenFromEnvironment } from './args';
import { runHeadless } from './lifecycle';
import { startHeadlessServer } from './server';

/**
 * `npm run demo`: the headless app wired to the local horde stand-in, with its data in
 * `.demo/` so a user's real HordeDesk data is never touched.
 */
runHeadless('The HordeDesk demo', async (guard) => {
  const args = parseHeadlessArgs(process.argv.slice(2), { port: 8787 });
  const token = tokenFromEnvironment(process.env);
  const dataDir = args.dataDir ?? resolve(import.meta.dirname, '../../.demo/data');
  // Requests the tiny model can serve at a lively pace; a few ask for features HordeDesk lacks, so honest faults
  // and "why no jobs" reasons show up too. The ratings service keeps its images and ratings in the data folder,
  // so ratings pending when the demo stopped (or crashed) are delivered after a restart, not refused as gone.
  const standin = await startStandin({
    // A quarter upscaled by RealESRGAN_x4plus, which the demo installs (demoUpscalers); a share with LoRAs (demoAddons).
    mixed: demoMixed([TINY_MODEL_NAME, 'tiny-sd-checkpoint', TINY_SDXL_MODEL_NAME], ['RealESRGAN_x4plus'], demoAddonRequests()),
    ratings: { stateFile: join(dataDir, 'demo-standin', 'ratings.jsonl') },
  });
  // Node cannot see keyboard or mouse input: the demo's idle time is simulated from the Dashboard.
  const simulatedIdle = createSimulatedIdleSource();
  // The rater starts once the app points at the stand-in: started before, its first download would
  // go to the real ratings service (unreachable offline) and log a false "could not reach".
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    echoLog: (line) => console.log(line),
    simulatedIdle,
    startRater: false,
  });
  guard.useLogger(app.log.child('process'));
  // A small model reference in the horde's format, served locally like the real GitHub file.
  // Plus a real (tiny, random-weight) SD 1.x checkpoint in the original single-file layout, so
  // Install on the Models page downloads and converts it like any horde model.
  const checkpoint = tinyCheckpoint();
  const upscalers = demoUpscalers();
  const references = await startModelFileServer({ 'tiny-sd-checkpoint.safetensors': checkpoint, ...upscalers.files });
  const civitai = await startFakeCivitai(demoAddons());
  const reference = demoModelReference(`${references.url}/tiny-sd-checkpoint.safetensors`, checkpoint);
  // esrgan.json beside it, as in the horde's model reference repository: the Models page's post-processors.
  const referenceServer = await startModelFileServer({
    'stable_diffusion.json': Buffer.from(JSON.stringify(reference)),
    'esrgan.json': Buffer.from(JSON.stringify(upscalers.reference(references.url))),
  });
  app.settings.update({
    hordeUrl: standin.hordeApiUrl,
    ratingsUrl: standin.ratingsApiUrl,
    modelReferenceUrl: `${referenceServer.url}/stable_diffusion.json`,
    ...{ civitaiUrl: civitai.url, hordelingUrl: civitai.hordelingUrl },
  });
  const workerName = app.settings.get().workerName || 'HordeDesk Demo Worker';
  if (args.fresh) {
    console.log('Fresh start: onboarding will ask for an API key. The stand-in accepts this one:', STANDIN_KEYS.workerOwner);
  } else {
    // Pre-onboarded with the stand-in's throw-away worker-owner key: demo data only, never a real key.
    // Working at once, visibly; switch to "only when idle" in Settings and use the Dashboard's Away/Back buttons.
    if (!app.settings.get().onboarded) app.settings.update({ schedule: { ...app.settings.get().schedule, mode: 'always' } });
    app.settings.update({ workerName, onboarded: true });
    app.secrets.setApiKey(STANDIN_KEYS.workerOwner);
  }
  app.rater.start();
  // The embedded default model: tiny, random weights, real architecture.
  await writeTinyModel(app.generation.modelsDir);
  // And a tiny SDXL model beside it (SDXL's two text encoders, size conditioning and VAE at toy widths), so the
  // worker advertises an SDXL model too and serves the requests the feed makes for it.
  await writeTinySdxlModel(app.generation.modelsDir);
  // And the safety check's model, the same way: every image goes through the whole check (CLIP towers in
  // their thread, the word lists, the decision); random weights flag nothing, so the demo's images go out.
  writeTinySafetyModel(safetyDirOf(dataDir));
  // And a tiny upscaler where the horde's RealESRGAN_x4plus goes, so post-processing requests are served at
  // once; the ×2 one waits on the Models page to be installed.
  const x4 = join(dataDir, POSTPROCESS_FOLDER, 'RealESRGAN_x4plus');
  if (!existsSync(x4)) convertUpscaler(upscalers.x4Path, x4, { name: 'RealESRGAN_x4plus' });
  // Keep requests waiting like a busy horde: counted by what this worker's pops can take, so
  // requests it cannot (a model not installed yet, img2img, LoRA) never starve it; those are
  // capped and expire after a while, as requests nobody serves do on the horde.
  const feed = createDemoFeed(standin, {
    workerName: () => app.settings.get().workerName,
    models: [TINY_MODEL_NAME, TINY_SDXL_MODEL_NAME],
  });
  feed.tick();
  const feeder = setInterval(() => feed.tick(), 2000);
  if (!args.idle && !args.fresh) await app.worker.start();
  let server;
  try {
    server = await startHeadlessServer(app, { port: args.port, token });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.log(`Port ${args.port} is busy; using a free one.`);
    server = await startHeadlessServer(app, { port: 0, token });
  }
  console.log(`\nHordeDesk demo is running against the local horde stand-in at ${standin.url}.`);
  console.log(
    args.fresh
      ? 'Open the page to go through onboarding.'
      : args.idle
        ? 'The worker is set up; start it from the Dashboard.'
        : `The worker "${workerName}" is serving the stand-in's jobs with the tiny model.`,
  );
  console.log(`Open this address in your browser:\n\n  ${server.url}\n\nDemo data: ${dataDir}\nPress Ctrl+C to stop.`);
  return [
    () => clearInterval(feeder),
    () => app.close(),
    () => server.close(),
    () => standin.close(),
    () => references.close(),
    () => Promise.all([referenceServer.close(), civitai.close()]),
  ];
});

/** What the demo's requests name: two LoRAs (one by its version id) and an embedding, by CivitAI id, on the tiny SD 1.x model. */
function demoAddonRequests() {
  return { loras: [{ name: '247778' }, { name: '301002', is_version: true }], tis: ['7808'], models: [TINY_MODEL_NAME] };
}

/**
 * The add-ons the demo's fake CivitAI and AI Hordeling (standin/civitai.ts; the settings point the app at it)
 * serve: tiny LoRAs and an embedding for the tiny model (node/lora/tinyAddons.ts), with trigger words, so the
 * worker looks them up, downloads them (SHA256 checked), merges them into the model and injects their triggers
 * and the embedding as it would from CivitAI.
 */
function demoAddons(): FakeAddon[] {
  return [
    { kind: 'lora', modelId: 247778, versionId: 268001, name: 'Tiny Glow', file: tinyLoraBytes(247778), triggers: ['glowing', 'neon'] },
    { kind: 'lora', modelId: 301001, versionId: 301002, name: 'Tiny Ink', file: tinyLoraBytes(301002, 0.5), triggers: ['ink sketch'] },
    { kind: 'ti', modelId: 7808, versionId: 9208, name: 'TinyNegative', file: tinyEmbeddingBytes(7808) },
  ];
}

/**
 * The demo's upscalers: tiny RRDBNets (node/models/tinyUpscaler.ts) under the horde's names RealESRGAN_x4plus
 * and RealESRGAN_x2plus, in an esrgan.json of the real shape (with sha256, so Install needs no consent), plus
 * the reference's other names pointing nowhere, as the SD demo reference does.
 */
function demoUpscalers(): { files: Record<string, Buffer>; x4Path: string; reference: (baseUrl: string) => Record<string, unknown> } {
  const dir = mkdtempSync(join(tmpdir(), 'hordedesk-demo-upscalers-'));
  const x4Path = join(dir, 'tiny-upscaler-x4.safetensors');
  writeTinyUpscaler(x4Path, TINY_UPSCALER_SPEC);
  writeTinyUpscaler(join(dir, 'tiny-upscaler-x2.safetensors'), TINY_UPSCALER_X2_SPEC);
  const files = {
    'tiny-upscaler-x4.safetensors': readFileSync(x4Path),
    'tiny-upscaler-x2.safetensors': readFileSync(join(dir, 'tiny-upscaler-x2.safetensors')),
  };
  const record = (name: string, description: string, file: string, url: string, body?: Buffer) => ({
    name,
    type: name.startsWith('RealESRGAN') ? 'realesrgan' : 'esrgan',
    description,
    version: '0.1.0',
    style: 'generalist',
    config: {
      files: [{ path: file, ...(body && { sha256sum: createHash('sha256').update(body).digest('hex') }) }],
      download: [{ file_name: file, file_path: '', file_url: url }],
    },
    available: false,
  });
  return {
    files,
    x4Path,
    reference: (baseUrl) => ({
      RealESRGAN_x4plus: record(
        'RealESRGAN_x4plus',
        '4x Upscaler (demo record: a tiny random-weight RRDBNet)',
        'tiny-upscaler-x4.safetensors',
        `${baseUrl}/tiny-upscaler-x4.safetensors`,
        files['tiny-upscaler-x4.safetensors'],
      ),
      RealESRGAN_x2plus: record(
        'RealESRGAN_x2plus',
        '2x Upscaler (demo record: a tiny random-weight RRDBNet behind a pixel-unshuffle)',
        'tiny-upscaler-x2.safetensors',
        `${baseUrl}/tiny-upscaler-x2.safetensors`,
        files['tiny-upscaler-x2.safetensors'],
      ),
      NMKD_Siax: record('NMKD_Siax', 'Universal 4x upscaler (demo record)', 'NMKD_Siax.pth', 'https://example.invalid/NMKD_Siax.pth'),
    }),
  };
}

/** A tiny SD 1.x checkpoint in the ldm single-file layout (F16, seeded random weights). */
function tinyCheckpoint(): Buffer {
  const path = join(mkdtempSync(join(tmpdir(), 'hordedesk-demo-')), 'tiny.safetensors');
  writeSafetensors(path, ldmCheckpointTensors(makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }), seededRandomWeights(7), 'F16'));
  const bytes = readFileSync(path);
  rmSync(path, { force: true });
  return bytes;
}

/** Records in the reference's real shape: the tiny checkpoint (installable), the tiny SD 1.x and SDXL models, an SD 1.5 and an SDXL one. */
function demoModelReference(tinyUrl: string, tinyBytes: Buffer): Record<string, unknown> {
  const record = (name: string, baseline: string, size: number, nsfw = false) => ({
    name,
    baseline,
    type: 'ckpt',
    inpainting: false,
    nsfw,
    description: `${name} (demo record)`,
    version: '1',
    style: 'generalist',
    config: {
      files: [{ path: `${name}.safetensors` }],
      download: [{ file_name: `${name}.safetensors`, file_path: '', file_url: `https://example.invalid/${name}.safetensors` }],
    },
    size_on_disk_bytes: size,
  });
  const sha256 = createHash('sha256').update(tinyBytes).digest('hex');
  const tiny: Record<string, unknown> = record('tiny-sd-checkpoint', 'stable diffusion 1', tinyBytes.length);
  tiny.config = {
    files: [{ path: 'tiny-sd-checkpoint.safetensors', sha256sum: sha256 }],
    download: [{ file_name: 'tiny-sd-checkpoint.safetensors', file_path: '', file_url: tinyUrl }],
  };
  return {
    'tiny-sd-checkpoint': tiny,
    [TINY_MODEL_NAME]: record(TINY_MODEL_NAME, 'stable diffusion 1', 20_000_000),
    [TINY_SDXL_MODEL_NAME]: record(TINY_SDXL_MODEL_NAME, 'stable_diffusion_xl', 30_000_000),
    stable_diffusion: record('stable_diffusion', 'stable diffusion 1', 2_132_626_066),
    'AlbedoBase XL (SDXL)': record('AlbedoBase XL (SDXL)', 'stable_diffusion_xl', 6_938_040_682),
  };
}
