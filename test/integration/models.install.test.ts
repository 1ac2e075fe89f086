// The Install button's path (node/modelInstaller): download → convert worker → manifest, with hostile checkpoints,
// Cancel at the worst moment and the pinned CLIP tokenizer.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { ldmCheckpointTensors, writeSafetensors } from '../../src-main/inference/convert';
import { makeTinyConfig, seededRandomWeights } from '../../src-main/inference/graph';
import { TINY_VOCAB_SIZE, parseMerges, readMergesFile, vocabFromMerges } from '../../src-main/inference/tokenizer';
import { CLIP_TOKENIZER_FILES, createModelInstaller, type InstallProgress } from '../../src-main/node/models/modelInstaller';
import { MANIFEST_FILE, createModelStore } from '../../src-main/node/models/modelStore';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { ckptWithPickle, nestedDictBomb } from '../helpers/ckptZip';
import { sharedData } from '../helpers/sharedData';

const sha256 = (b: Uint8Array | string): string => createHash('sha256').update(b).digest('hex');

let root: string;
let server: ModelFileServer | undefined;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'hordedesk-install-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  rmSync(root, { recursive: true, force: true });
});

function tinyCheckpoint(): Buffer {
  const path = join(root, 'source.safetensors');
  writeSafetensors(path, ldmCheckpointTensors(makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE }), seededRandomWeights(5), 'F32'), {
    format: 'pt',
  });
  return readFileSync(path);
}

/** A safetensors whose only tensor says "SD 1.x" (320-channel first conv): enough to reach the tokenizer step. */
function sd15Header(): Buffer {
  const path = join(root, 'sd15.safetensors');
  writeSafetensors(path, [
    { name: 'model.diffusion_model.input_blocks.0.0.weight', dtype: 'F32', shape: [320, 4, 3, 3], data: new Float32Array(320 * 36) },
  ]);
  return readFileSync(path);
}

/** Cancels from inside the progress callback at the first converted tensor: before any later message is handled. */
function cancelAtFirstTensor(p: InstallProgress, installer: { cancel(name: string): boolean }): void {
  if (p.phase === 'converting' && p.bytes === 1 && /tensors/.test(p.message ?? '')) expect(installer.cancel(p.name)).toBe(true);
}

async function setup(
  files: Record<string, Buffer>,
  opts: {
    ceilings?: Parameters<typeof createModelInstaller>[0]['convertCeilings'];
    onProgress?: (p: InstallProgress, installer: { cancel(name: string): boolean }) => void;
  } = {},
) {
  server = await startModelFileServer(files);
  const progress: InstallProgress[] = [];
  const modelsDir = join(root, 'models');
  const installer = createModelInstaller({
    dataDir: join(root, 'data'),
    modelsDir,
    clipTokenizerUrl: () => `${server?.url ?? ''}/clip`,
    clientAgent: 'test',
    weightDtype: async () => 'fp32',
    onProgress: (p) => {
      progress.push(p);
      opts.onProgress?.(p, installer);
    },
    log: silentLogger(),
    ...(opts.ceilings ? { convertCeilings: opts.ceilings } : {}),
  });
  const entry = (file: string, body: Buffer) => ({
    name: 'Tiny Test',
    sizeBytes: body.length,
    downloads: [{ fileName: file, url: `${server?.url ?? ''}/${file}`, sha256: sha256(body) }],
  });
  return { installer, progress, entry, store: createModelStore(modelsDir), modelsDir };
}

describe('installing a model', () => {
  test('a tiny checkpoint installs: listed, ready, no .partial left, checkpoint deleted', async () => {
    const body = tinyCheckpoint();
    const { installer, progress, entry, store, modelsDir } = await setup({ '/tiny.safetensors': body });
    await installer.install(entry('tiny.safetensors', body));
    expect(progress.at(-1)).toMatchObject({ phase: 'done' });
    const listed = await store.listInstalled();
    expect(listed.map((m) => [m.name, m.ready])).toEqual([['Tiny Test', true]]);
    expect(listed[0]?.manifest).toMatchObject({ name: 'Tiny Test', sha256: sha256(body) });
    expect(readdirSync(modelsDir)).toEqual(['Tiny Test']);
    expect(readdirSync(join(root, 'data', 'downloads'))).toEqual([]);
  });
});

describe('Cancel really stops a conversion', () => {
  test('cancelled mid-convert: the worker stops, no .partial, nothing listed; the next Install reuses the download', async () => {
    const body = tinyCheckpoint();
    let cancelling = true;
    const { installer, progress, entry, store, modelsDir } = await setup(
      { '/tiny.safetensors': body },
      {
        onProgress: (p, i) => {
          if (cancelling) cancelAtFirstTensor(p, i);
        },
      },
    );
    await installer.install(entry('tiny.safetensors', body));
    cancelling = false;
    expect(progress.at(-1)).toMatchObject({ phase: 'cancelled', message: expect.stringMatching(/nothing was installed/) });
    expect(progress.some((p) => p.phase === 'done')).toBe(false);
    expect(await store.listInstalled()).toEqual([]);
    expect(existsSync(modelsDir) ? readdirSync(modelsDir) : []).toEqual([]);

    // Install again: the kept checkpoint still matches its sha256, so it is converted without a second download.
    await installer.install(entry('tiny.safetensors', body));
    expect(progress.at(-1)?.phase).toBe('done');
    expect(server?.requests.filter((r) => r.path === '/tiny.safetensors')).toHaveLength(1);
    expect((await store.listInstalled()).map((m) => [m.name, m.ready])).toEqual([['Tiny Test', true]]);
  });

  test('a cancelled re-install leaves the installed model and its manifest exactly as they were', async () => {
    const body = tinyCheckpoint();
    let cancelling = false;
    const { installer, progress, entry, store, modelsDir } = await setup(
      { '/tiny.safetensors': body },
      {
        onProgress: (p, i) => {
          if (cancelling) cancelAtFirstTensor(p, i);
        },
      },
    );
    await installer.install(entry('tiny.safetensors', body));
    const manifestPath = join(modelsDir, 'Tiny Test', MANIFEST_FILE);
    const before = readFileSync(manifestPath, 'utf8');
    progress.length = 0;
    cancelling = true;
    await installer.install(entry('tiny.safetensors', body));
    expect(progress.at(-1)?.phase).toBe('cancelled');
    expect(readFileSync(manifestPath, 'utf8')).toBe(before);
    expect(readdirSync(modelsDir)).toEqual(['Tiny Test']);
    expect((await store.listInstalled()).map((m) => [m.name, m.ready])).toEqual([['Tiny Test', true]]);
  });
});

describe('a hostile .ckpt cannot freeze or crash the app', () => {
  test(
    'the main thread keeps ticking while a 20 MB nested-dict bomb is parsed, and the bomb is refused clearly',
    { timeout: 60_000 },
    async () => {
      const body = ckptWithPickle(nestedDictBomb(Math.floor((20 * 1024 * 1024) / 9)));
      let ticks = 0;
      const ticksAt = new Map<string, number>();
      const { installer, progress, entry, store } = await setup(
        { '/bomb.ckpt': body },
        { onProgress: (p) => void (ticksAt.has(p.phase) || ticksAt.set(p.phase, ticks)) },
      );
      const ticker = setInterval(() => ticks++, 1);
      try {
        await installer.install(entry('bomb.ckpt', body));
      } finally {
        clearInterval(ticker);
      }
      expect(progress.at(-1)).toMatchObject({
        phase: 'failed',
        message: expect.stringMatching(/^Refusing to load checkpoint: its pickle exceeds the object limit/),
      });
      // Parsing happened while the main thread's timers ran: it was not on the main thread.
      expect(ticksAt.get('failed') ?? 0).toBeGreaterThan(ticksAt.get('converting') ?? Infinity);
      expect(await store.listInstalled()).toEqual([]);
    },
  );

  test('the parse-time ceiling stops a worker that takes too long, and says so', async () => {
    const body = tinyCheckpoint();
    const { installer, progress, entry, store } = await setup({ '/tiny.safetensors': body }, { ceilings: { parseTimeoutMs: 1 } });
    await installer.install(entry('tiny.safetensors', body));
    expect(progress.at(-1)).toMatchObject({
      phase: 'failed',
      message: expect.stringMatching(/^Reading the checkpoint took longer than 0 s, so it was stopped/),
    });
    expect(await store.listInstalled()).toEqual([]);
  });

  // The unpickler's own limits stop this bomb at ~140 MB of heap; a 24 MB ceiling shows the backstop behind them.
  test('the heap ceiling stops a worker that grows too big, and says so', { timeout: 60_000 }, async () => {
    const body = ckptWithPickle(nestedDictBomb(Math.floor((20 * 1024 * 1024) / 9)));
    const { installer, progress, entry, store } = await setup({ '/bomb.ckpt': body }, { ceilings: { heapMb: 24 } });
    await installer.install(entry('bomb.ckpt', body));
    expect(progress.at(-1)).toMatchObject({
      phase: 'failed',
      message: expect.stringMatching(/^The converter ran out of memory \(its limit is 24 MB\), so it was stopped/),
    });
    expect(await store.listInstalled()).toEqual([]);
  });
});

describe('the CLIP tokenizer is pinned by sha256', () => {
  test('a tokenizer file that is not the published one is refused and nothing is installed', async () => {
    const body = sd15Header();
    const { installer, progress, entry, store } = await setup({
      '/sd15.safetensors': body,
      '/clip/vocab.json': Buffer.from('{"a": 0}'),
      '/clip/merges.txt': Buffer.from('#version: 0.2\na b\n'),
    });
    await installer.install(entry('sd15.safetensors', body));
    expect(progress.at(-1)).toMatchObject({
      phase: 'failed',
      message: expect.stringMatching(
        /^The CLIP tokenizer file vocab\.json from http:\/\/127\.0\.0\.1:\d+\/clip\/vocab\.json is not the published one/,
      ),
    });
    expect(existsSync(join(root, 'data', 'tokenizers', 'clip-vit-large-patch14', 'vocab.json'))).toBe(false);
    expect(await store.listInstalled()).toEqual([]);
  });

  const merges = sharedData('clip/bpe_simple_vocab_16e6.txt.gz', 'models.install.test.ts (the pinned CLIP tokenizer bytes)');
  test.skipIf(merges.skip)("the published files, rebuilt from OpenAI's merges, match the pins and are accepted", async () => {
    // openai/clip-vit-large-patch14 ships OpenAI's merges as merges.txt and the derived vocabulary as vocab.json
    // (json.dumps layout, ids in order); rebuilding both from bpe_simple_vocab_16e6.txt.gz gives the pinned bytes.
    const lines = readMergesFile(merges.path).split('\n').slice(1, 48_895);
    const mergesTxt = `#version: 0.2\n${lines.join('\n')}\n`;
    const vocab = [...vocabFromMerges(parseMerges(mergesTxt))].sort((a, b) => a[1] - b[1]);
    const vocabJson = `{${vocab.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`;
    expect(CLIP_TOKENIZER_FILES.map((f) => f.sha256)).toEqual([sha256(vocabJson), sha256(mergesTxt)]);
    expect(CLIP_TOKENIZER_FILES.map((f) => f.bytes)).toEqual([Buffer.byteLength(vocabJson), Buffer.byteLength(mergesTxt)]);

    const body = sd15Header();
    const { installer, progress, entry } = await setup({
      '/sd15.safetensors': body,
      '/clip/vocab.json': Buffer.from(vocabJson),
      '/clip/merges.txt': Buffer.from(mergesTxt),
    });
    await installer.install(entry('sd15.safetensors', body));
    // Past the tokenizer: the one-tensor checkpoint then fails for its missing tensors, as it should.
    expect(progress.at(-1)).toMatchObject({
      phase: 'failed',
      message: expect.stringMatching(/does not look like an SD 1.x ldm checkpoint/),
    });
    expect(readFileSync(join(root, 'data', 'tokenizers', 'clip-vit-large-patch14', 'merges.txt'), 'utf8')).toBe(mergesTxt);
  });
});
