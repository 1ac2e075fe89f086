// The upscalers held to the original code's numbers (../shared/data/esrgan-reference, README inside), through the
// path the worker takes: the published file (.pth zip, legacy .pth, .safetensors) → convertUpscaler → the model folder
// → the runner (ComfyUI's tiling, spandrel's pad and clamp) → the horde's 8-bit truncation, the last step in the
// inference thread itself over the `upscale` message.
import { endThread } from '../../src-main/node/threadExit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { openUpscalerFile } from '../../src-main/inference/postprocess/upscalerFile';
import {
  convertUpscaler,
  openUpscaler,
  planTiles,
  readUpscalerManifest,
  rgbToPlanes,
  type Upscaler,
} from '../../src-main/inference/postprocess';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { workerMessageSchema, type HostMessage, type WorkerMessage } from '../../src-main/workers/protocol';
import { readBundle, readRgbPng } from '../helpers/clipReference';
import { sharedData } from '../helpers/sharedData';

const data = sharedData('esrgan-reference/README.md', 'esrganReference.test.ts (upscalers vs the original code)');
const root = mkdtempSync(join(tmpdir(), 'hordedesk-esrgan-'));
const file = (...parts: string[]): string => join(data.path, '..', ...parts);

/** README: an exact fp32 implementation stays within 1e-4 (typically ~1e-6). */
const FLOAT_TOLERANCE = 1e-4;

/** The README's cases and their numbers. */
const CASES = [
  {
    dir: 'rrdb_x4',
    files: ['model.pth', 'model_legacy.pth', 'model.safetensors'],
    spec: { arch: 'rrdb', scale: 4, features: 8, blocks: 2, growth: 4, shuffle: 1 },
  },
  {
    dir: 'rrdb_x2',
    files: ['model.pth', 'model.safetensors'],
    spec: { arch: 'rrdb', scale: 2, features: 8, blocks: 2, growth: 4, shuffle: 2 },
  },
  {
    dir: 'esrgan_old_x4',
    files: ['model.pth', 'model.safetensors'],
    spec: { arch: 'rrdb', layout: 'esrgan-old', scale: 4, features: 8, blocks: 2, growth: 32 },
  },
  { dir: 'srvgg_x4', files: ['model.pth', 'model.safetensors'], spec: { arch: 'compact', scale: 4, features: 8, convs: 2 } },
] as const;

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

/** README: |Δ| ≤ 1 everywhere and ≥ 99 % exact for 8-bit outputs (reference int32 NCHW vs our packed RGB). */
function expect8bit(mine: Uint8Array, reference: Int32Array, width: number, height: number): void {
  const plane = width * height;
  let exact = 0;
  for (let i = 0; i < 3 * plane; i++) {
    const ours = mine[(i % plane) * 3 + Math.floor(i / plane)] as number;
    const diff = Math.abs(ours - (reference[i] as number));
    expect(diff, `byte ${i}`).toBeLessThanOrEqual(1);
    if (diff === 0) exact++;
  }
  expect(exact / (3 * plane)).toBeGreaterThanOrEqual(0.99);
}

/** The inference thread, spoken to as its host does. */
function startInferenceThread(): { ask(message: HostMessage, transfer?: ArrayBuffer[]): Promise<WorkerMessage>; stop(): Promise<void> } {
  const worker = new Worker(new URL('../../src-main/workers/inference.worker.ts', import.meta.url), {
    execArgv: [...process.execArgv, '--import', 'tsx'],
  });
  const waiting = new Map<number, (m: WorkerMessage) => void>();
  worker.on('message', (raw: unknown) => {
    const m = workerMessageSchema.parse(raw);
    if ('requestId' in m) waiting.get(m.requestId)?.(m);
  });
  return {
    ask: (message, transfer = []) =>
      new Promise((resolve) => {
        waiting.set((message as { requestId: number }).requestId, resolve);
        worker.postMessage(message, transfer);
      }),
    stop: () => endThread(worker), // never terminate() a thread holding sessions (node/threadExit.ts)
  };
}

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe.skipIf(data.skip)("ESRGAN-family upscalers against the original code's outputs", () => {
  const thread = data.skip ? null : startInferenceThread();
  let requestId = 0;
  afterAll(async () => {
    await thread?.stop();
  });

  describe.each(CASES)('$dir', ({ dir, files, spec }) => {
    const inputs = data.skip ? null : readBundle(file(dir, 'inputs.bin'));
    const ref = data.skip ? null : readBundle(file(dir, 'ref.bin'));
    const input = (): Float32Array => inputs?.get('input').data as Float32Array;
    const reference = (name: string): Float32Array | Int32Array => ref?.get(name).data as Float32Array | Int32Array;

    test('the PNG becomes the reference input exactly (uint8 / 255 in float32)', async () => {
      expect(maxAbs(rgbToPlanes(await readRgbPng(file(dir, 'input.png'))), input())).toBe(0);
    });

    describe.each(files)('from %s', (name) => {
      const folder = join(root, dir, name);
      let upscaler: Upscaler;
      beforeAll(async () => {
        const manifest = convertUpscaler(file(dir, name), folder, { name: dir });
        expect(manifest.spec).toMatchObject(spec);
        upscaler = await openUpscaler(folder);
      });
      afterAll(() => upscaler.release());

      test('the graph gives the raw output (float)', async () => {
        expect(maxAbs(await upscaler.runModel(input(), 16, 16), reference('output'))).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      });

      test("ComfyUI's node gives the clamped output (one tile, spandrel's padding and clamp)", async () => {
        const out = await upscaler.upscalePlanes(input(), 16, 16);
        expect([out.width, out.height, out.tiles]).toEqual([16 * spec.scale, 16 * spec.scale, 1]);
        const clamped = (reference('output') as Float32Array).map((v) => Math.min(1, Math.max(0, v)));
        expect(maxAbs(out.planes, clamped)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      });

      test("the inference thread's upscale message returns the horde's 8-bit image", async () => {
        const png = await readRgbPng(file(dir, 'input.png'));
        const rgb = png.data.slice().buffer;
        const answer = await thread?.ask(
          { type: 'upscale', requestId: ++requestId, modelDir: folder, providers: ['cpu'], width: 16, height: 16, rgb },
          [rgb],
        );
        if (answer?.type !== 'upscaled') throw new Error(`the thread answered ${JSON.stringify(answer)}`);
        expect([answer.width, answer.height, answer.stats.scale, answer.stats.tile, answer.stats.status.provider]).toEqual([
          16 * spec.scale,
          16 * spec.scale,
          spec.scale,
          512,
          'cpu',
        ]);
        expect8bit(new Uint8Array(answer.rgb), reference('output_u8_trunc') as Int32Array, 16 * spec.scale, 16 * spec.scale);
      });
    });
  });

  test('the legacy .pth holds the same tensors as the safetensors, bit for bit', () => {
    const legacy = openUpscalerFile(file('rrdb_x4', 'model_legacy.pth'));
    const st = openUpscalerFile(file('rrdb_x4', 'model.safetensors'));
    try {
      expect(legacy.container).toBe('pth-legacy');
      expect(legacy.names().sort()).toEqual(st.names().sort());
      for (const n of st.names()) expect(Buffer.from(legacy.read(n).buffer).equals(Buffer.from(st.read(n).buffer)), n).toBe(true);
    } finally {
      legacy.close();
      st.close();
    }
  });

  describe('tiled (rrdb_x4 in tiles of 16 overlapping by 4, ComfyUI blend)', () => {
    const inputs = data.skip ? null : readBundle(file('tiling_rrdb_x4', 'inputs.bin'));
    const ref = data.skip ? null : readBundle(file('tiling_rrdb_x4', 'ref.bin'));
    let upscaler: Upscaler;
    beforeAll(async () => {
      const folder = join(root, 'tiling');
      convertUpscaler(file('rrdb_x4', 'model.pth'), folder);
      upscaler = await openUpscaler(folder);
    });
    afterAll(() => upscaler.release());

    test('the reference parameters and tile order are ours', () => {
      expect([...(inputs?.get('params').data ?? [])]).toEqual([16, 16, 4, 4]);
      const tiles = planTiles(40, 24, 16, 4).flatMap((t) => [t.y, t.height, t.x, t.width]);
      expect(tiles).toEqual([...(ref?.get('tiles').data ?? [])]);
    });

    test('the blended float result and its 8-bit image match', async () => {
      const input = inputs?.get('input').data as Float32Array;
      const out = await upscaler.upscalePlanes(input, 40, 24, { tile: 16, overlap: 4 });
      expect(out.tiles).toBe(6);
      expect(maxAbs(out.planes, ref?.get('tiled').data as Float32Array)).toBeLessThanOrEqual(FLOAT_TOLERANCE);
      const png = await readRgbPng(file('tiling_rrdb_x4', 'input.png'));
      expect(maxAbs(rgbToPlanes(png), input)).toBe(0);
      const bytes = await upscaler.upscale(png, { tile: 16, overlap: 4 });
      expect8bit(bytes.image.data, ref?.get('tiled_u8_trunc').data as Int32Array, 160, 96);
    });

    test('the seams are real: the untiled output is far from the tiled one, so the blend is what matched', async () => {
      const untiled = ref?.get('untiled').data as Float32Array;
      expect(maxAbs(await upscaler.runModel(inputs?.get('input').data as Float32Array, 40, 24), untiled)).toBeLessThanOrEqual(
        FLOAT_TOLERANCE,
      );
      expect(maxAbs(untiled, ref?.get('tiled').data as Float32Array)).toBeGreaterThan(0.1);
    });
  });

  test('a file that maps to no upscaler is refused naming its tensor, and no folder is left looking installed', () => {
    const path = join(root, 'vae.safetensors');
    writeSafetensors(path, [{ name: 'encoder.conv_in.weight', dtype: 'F32', shape: [8, 3, 3, 3], data: new Float32Array(216) }]);
    expect(() => convertUpscaler(path, join(root, 'vae'))).toThrow(/Not an upscaler HordeDesk can map.*"encoder\.conv_in\.weight"/);
    expect(() => readUpscalerManifest(join(root, 'vae'))).toThrow(/no finished upscaler/);
  });
});
