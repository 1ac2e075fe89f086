// The cache of merged weight sets (inference/lora/cache.ts): a repeated request opens the set merged the first time
// (no second merge, the same files), anything in the key changing makes a new set, the disk budget holds with the
// least recently used sets removed first and sets in use kept, and nothing half-written is ever opened.
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { expectedWeights, makeTinyConfig } from '../../src-main/inference/graph';
import { MergeCache, type MergeRequest } from '../../src-main/inference/lora/cache';
import { AddonFormatError } from '../../src-main/inference/lora/errors';
import { inspectModelFolder } from '../../src-main/inference/pipeline/modelFolder';
import { TINY_VOCAB_SIZE } from '../../src-main/inference/tokenizer';
import { writeTinyModel } from '../../src-main/node/models/tinyModel';
import { writeTestLora, type LoraLayerSpec } from '../helpers/loraFixtures';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-loracache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('the merged-set cache', () => {
  let base: string;
  let lora: string;
  let setBytes: number;
  let clock = 1_700_000_000_000;
  const logs: string[] = [];
  const cache = (dir: string, budgetBytes: number): MergeCache =>
    new MergeCache({ dir, budgetBytes, now: () => clock, log: (m) => logs.push(m) });
  const request = (model: number, clip = 1): MergeRequest => ({ baseDir: base, loras: [{ path: lora, model, clip }], embeddings: [] });

  beforeAll(async () => {
    base = await writeTinyModel(join(root, 'models'));
    const config = makeTinyConfig({ vocabSize: TINY_VOCAB_SIZE });
    const shape = (component: 'unet' | 'text_encoder', w: string): number[] => [
      ...(expectedWeights(config, component).find((x) => x.name === w)?.shape ?? []),
    ];
    const specs: LoraLayerSpec[] = [
      { key: 'lora_unet_input_blocks_1_1_proj_in', weight: 'down_blocks.0.attentions.0.proj_in.weight', component: 'unet' },
      {
        key: 'lora_te_text_model_encoder_layers_0_mlp_fc1',
        weight: 'text_model.encoder.layers.0.mlp.fc1.weight',
        component: 'text_encoder',
      },
    ].map(({ key, weight, component }) => ({
      key,
      weight,
      shape: shape(component as 'unet' | 'text_encoder', weight),
      rank: 4,
      alpha: 4,
      style: 'kohya',
      dtype: 'F16',
    }));
    lora = join(root, 'style.safetensors');
    writeTestLora(lora, specs, 3);
    const probe = cache(join(root, 'probe'), 1e12);
    const set = await probe.acquire(request(1));
    setBytes = set.manifest?.merge.ownBytes ?? 0;
    set.release();
  }, 120_000);

  test('a repeated request opens the same folder without merging again; it is a complete model folder', async () => {
    const c = cache(join(root, 'repeat'), 1e12);
    const first = await c.acquire(request(0.8));
    expect(first.hit).toBe(false);
    expect(inspectModelFolder(first.dir).manifest).toMatchObject({
      merge: { loras: [{ file: 'style.safetensors', model: 0.8, clip: 1 }] },
    });
    const weights = statSync(join(first.dir, 'unet', 'weights.pb'));
    first.release();
    const merges = logs.filter((l) => l.startsWith('merged')).length;
    const again = await c.acquire(request(0.8));
    expect([again.hit, again.dir]).toEqual([true, first.dir]);
    expect(statSync(join(again.dir, 'unet', 'weights.pb')).ino).toBe(weights.ino);
    expect(logs.filter((l) => l.startsWith('merged')).length).toBe(merges);
    again.release();
    // The same request at the same time merges once.
    const [a, b] = await Promise.all([c.acquire(request(0.3)), c.acquire(request(0.3))]);
    expect(a.dir).toBe(b.dir);
    expect(logs.filter((l) => l.startsWith('merged')).length).toBe(merges + 1);
    a.release();
    b.release();
  });

  test('strengths, order, the LoRA file and a reinstalled base each make a new set; zero strengths need none', async () => {
    const c = cache(join(root, 'keys'), 1e12);
    const key = (r: MergeRequest): string | null => c.key(r);
    expect(key(request(0.8))).not.toBe(key(request(0.7)));
    expect(key(request(0.8, 1))).not.toBe(key(request(0.8, 0.5)));
    expect(key(request(0.8))).toBe(
      key({
        ...request(0.8),
        loras: [
          { path: lora, model: 0.8, clip: 1 },
          { path: lora, model: 0, clip: 0 },
        ],
      }),
    );
    expect(key({ ...request(0), loras: [{ path: lora, model: 0, clip: 0 }] })).toBeNull();
    const plain = await c.acquire({ baseDir: base, loras: [{ path: lora, model: 0, clip: 0 }], embeddings: [] });
    expect(plain.dir).toBe(base);
    const withHash = key({ ...request(0.8), loras: [{ path: lora, model: 0.8, clip: 1, sha256: 'ab'.repeat(32) }] });
    expect(withHash).not.toBe(key(request(0.8)));
    const before = key(request(0.8));
    const weights = join(base, 'unet', 'weights.pb');
    const t = statSync(weights).mtime;
    utimesSync(weights, t, new Date(t.getTime() + 5000));
    expect(key(request(0.8))).not.toBe(before);
  });

  test('the budget holds: least recently used sets go first, a set in use stays', async () => {
    const dir = join(root, 'budget');
    const c = cache(dir, Math.floor(setBytes * 2.5));
    const take = async (model: number): Promise<Awaited<ReturnType<MergeCache['acquire']>>> => {
      clock += 1000;
      return c.acquire(request(model));
    };
    const s1 = await take(0.1);
    s1.release();
    const s2 = await take(0.2);
    s2.release();
    const held = await take(0.1); // used again: now the most recent
    expect(held.hit).toBe(true);
    const s3 = await take(0.3); // third set: 0.2 is the least recently used and goes
    s3.release();
    expect(existsSync(s2.dir)).toBe(false);
    expect([existsSync(s1.dir), existsSync(s3.dir)]).toEqual([true, true]);
    // 0.1 is in use: adding two more removes 0.3 and cannot remove 0.1.
    const s4 = await take(0.4);
    s4.release();
    const s5 = await take(0.5);
    s5.release();
    expect(existsSync(held.dir)).toBe(true);
    expect(existsSync(s3.dir)).toBe(false);
    held.release();
    expect(c.usedBytes()).toBeLessThanOrEqual(Math.floor(setBytes * 2.5) + setBytes);
    const s6 = await take(0.6);
    s6.release();
    expect(c.usedBytes()).toBeLessThanOrEqual(Math.floor(setBytes * 2.5));
  });

  test('a set larger than the whole budget is refused before anything is written', async () => {
    const dir = join(root, 'tiny-budget');
    const c = cache(dir, Math.floor(setBytes / 4));
    await expect(c.acquire(request(0.9))).rejects.toThrow(AddonFormatError);
    expect(readdirSync(dir)).toEqual([]);
  });

  test('half-written sets are never opened: left-over partials and folders without a manifest go when the cache opens', async () => {
    const dir = join(root, 'crash');
    mkdirSync(join(dir, 'abc.partial-123-1-ffffff', 'unet'), { recursive: true });
    mkdirSync(join(dir, 'deadbeef', 'unet'), { recursive: true });
    writeFileSync(join(dir, 'deadbeef', 'unet', 'weights.pb'), 'half');
    const c = cache(dir, 1e12);
    expect(readdirSync(dir)).toEqual([]);
    const bad = join(root, 'bad.safetensors');
    writeTestLora(bad, [{ key: 'lora_unet_no_such_layer', weight: 'x', shape: [4, 4], rank: 2, style: 'kohya', dtype: 'F16' }]);
    await expect(c.acquire({ baseDir: base, loras: [{ path: bad, model: 1, clip: 1 }], embeddings: [] })).rejects.toThrow(
      /lora_unet_no_such_layer/,
    );
    expect(readdirSync(dir)).toEqual([]);
  });
});
