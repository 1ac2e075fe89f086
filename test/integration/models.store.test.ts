import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { parseModelReference } from '../../src-main/common/modelReference';
import { assertInside, createModelStore, folderNameOf, MANIFEST_FILE } from '../../src-main/node/models/modelStore';
import { startModelFileServer } from '../../src-main/standin/modelsServer';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'hordedesk-store-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Lays out a complete ONNX folder like inspectModelFolder expects. */
async function fakeOnnx(dir: string): Promise<void> {
  for (const c of ['text_encoder', 'unet', 'vae_decoder']) {
    await mkdir(join(dir, c), { recursive: true });
    await writeFile(join(dir, c, 'model.onnx'), Buffer.alloc(100));
  }
  await mkdir(join(dir, 'tokenizer'), { recursive: true });
  await writeFile(join(dir, 'tokenizer', 'merges.txt'), 'a b\n');
}

describe('model store', () => {
  test('a conversion in progress (<name>.partial) is not an installed model', async () => {
    const store = createModelStore(join(root, 'models'));
    await fakeOnnx(`${store.dirFor('Deliberate')}.partial`);
    expect(await store.listInstalled()).toEqual([]);
  });

  test('writes manifests, lists models with disk use and readiness, deletes', async () => {
    const store = createModelStore(join(root, 'models'));
    expect(await store.listInstalled()).toEqual([]);
    const ready = store.dirFor('AlbedoBase XL (SDXL)');
    await fakeOnnx(ready);
    await writeFile(join(ready, MANIFEST_FILE), JSON.stringify({ builder: 'kept' }));
    await store.writeManifest(ready, {
      name: 'AlbedoBase XL (SDXL)',
      source: 'https://x/y.ckpt',
      sha256: 'f'.repeat(64),
      converterVersion: '1',
      provider: 'cuda',
    });
    const half = store.dirFor('Deliberate');
    await mkdir(half, { recursive: true });
    await writeFile(join(half, 'weights.bin'), Buffer.alloc(10));

    const listed = await store.listInstalled();
    expect(listed.map((m) => [m.name, m.ready])).toEqual([
      ['AlbedoBase XL (SDXL)', true],
      ['Deliberate', false],
    ]);
    const manifest = JSON.parse(await readFile(join(ready, MANIFEST_FILE), 'utf8')) as Record<string, unknown>;
    expect(manifest).toMatchObject({ builder: 'kept', provider: 'cuda', converterVersion: '1' });
    expect(listed[0]?.bytes).toBeGreaterThan(300);
    expect(listed[1]).toMatchObject({ bytes: 10, manifest: null });
    expect(listed[1]?.problem).toMatch(/missing text_encoder\/model.onnx/);
    expect(await store.diskUse('Deliberate')).toBe(10);

    await store.deleteModel('Deliberate');
    expect((await store.listInstalled()).map((m) => m.name)).toEqual(['AlbedoBase XL (SDXL)']);
  });

  test('refuses paths outside the store', async () => {
    const store = createModelStore(join(root, 'models'));
    await writeFile(join(root, 'precious'), 'x');
    expect(folderNameOf('../precious')).toBe('.._precious');
    expect(folderNameOf('..')).toBe('_..');
    await store.deleteModel('..');
    await store.deleteModel('../precious');
    expect(await readFile(join(root, 'precious'), 'utf8')).toBe('x');
    await expect(store.writeManifest(root, { source: 's', sha256: null, converterVersion: '1', provider: 'cpu' })).rejects.toThrow(
      /not inside/,
    );
    expect(() => assertInside(join(root, 'models'), join(root, 'models'))).toThrow(/not inside/);
    expect(() => assertInside(join(root, 'models'), join(root, 'models', 'a'))).not.toThrow();
  });
});

describe('reference served by the stand-in', () => {
  test('fetches and parses /stable_diffusion.json', async () => {
    const ref = { m: { name: 'm', baseline: 'stable diffusion 1', inpainting: false, nsfw: false, config: { files: [], download: [] } } };
    const server = await startModelFileServer({ '/stable_diffusion.json': Buffer.from(JSON.stringify(ref)) });
    try {
      const res = await fetch(`${server.url}/stable_diffusion.json`);
      expect(res.headers.get('content-type')).toBe('application/json');
      expect(parseModelReference(await res.json()).records.map((r) => r.name)).toEqual(['m']);
      expect((await fetch(`${server.url}/stable_diffusion.json`, { headers: { Range: 'bytes=-2' } })).status).toBe(206);
    } finally {
      await server.close();
    }
  });
});
