/**
 * ComfyUI's `ImageUpscaleWithModel` over spandrel, as the horde's worker runs an upscaler (pure arithmetic, no I/O):
 *
 * - tiles of 512 with overlap 32; when the model runs out of memory the tile halves (256, then 128) and the whole
 *   image starts again; below 128 the error stands (`withTileHalving`);
 * - `tiled_scale_multidim`: an image no larger than a tile on both axes is one call, unblended; otherwise tiles
 *   start at `range(0, size − overlap, tile − overlap)` per axis (the last one shorter, not shifted back), each
 *   output is weighted by a mask feathered over round(overlap·scale) pixels at all four edges (image borders too,
 *   only on axes longer than the feather) and the result is Σ(tile·mask)/Σ(mask) (`tiledScale`);
 * - spandrel's call around the model: the tile padded at the bottom and right to the size requirement (reflect,
 *   then replicate), the output clamped to [0, 1] and cropped (`spandrelCall`).
 *
 * Arithmetic is float32 where torch's is (mask products, sums, the division), so results match to the last bit in
 * most pixels. Images are planar float32 RGB [3, height, width].
 */
import { UpscalerMemoryError } from './errors';
import type { SizeRequirement } from './spec';

/** ComfyUI's defaults. */
export const DEFAULT_TILE = 512;
export const DEFAULT_OVERLAP = 32;
/** ComfyUI gives up once the halved tile would be smaller than this. */
export const MIN_TILE = 128;

/** One tile, in input pixels. */
export interface TileRect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A model call on one planar RGB tile of `width`×`height`; resolves with [3, height·scale, width·scale]. */
export type TileCall = (planes: Float32Array, width: number, height: number) => Promise<Float32Array>;

/** Where tiles start along an axis of `size` pixels. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (!(tile > overlap)) throw new RangeError(`A tile of ${tile} cannot overlap by ${overlap}`);
  if (size <= tile) return [0];
  const starts: number[] = [];
  for (let p = 0; p < size - overlap; p += tile - overlap) starts.push(p);
  return starts;
}

/** The tiles in processing order (rows of y, each row left to right), or one tile for an image that fits. */
export function planTiles(width: number, height: number, tile: number, overlap: number): TileRect[] {
  const tiles: TileRect[] = [];
  for (const y of tileStarts(height, tile, overlap))
    for (const x of tileStarts(width, tile, overlap))
      tiles.push({ x, y, width: Math.min(tile, width - x), height: Math.min(tile, height - y) });
  return tiles;
}

/** Per output index, the feather factors applied to it in torch's order (none for most), as float32. */
export function featherFactors(length: number, feather: number): number[][] {
  const factors = Array.from({ length }, (): number[] => []);
  if (feather >= length) return factors;
  for (let t = 0; t < feather; t++) {
    const a = Math.fround((t + 1) / feather);
    (factors[t] as number[]).push(a);
    (factors[length - 1 - t] as number[]).push(a);
  }
  return factors;
}

/** Padding spandrel adds to one side of `size` pixels to meet `req`. */
export function paddingFor(size: number, req: SizeRequirement): number {
  const atLeast = Math.max(req.minimum, size);
  return Math.ceil(atLeast / req.multipleOf) * req.multipleOf - size;
}

/** Source index of each padded position: reflect up to size − 1 pixels, then repeat the last (torch's two pads). */
export function paddedIndices(size: number, pad: number): Int32Array {
  const out = new Int32Array(size + pad);
  const reflect = Math.min(pad, size - 1);
  for (let i = 0; i < size; i++) out[i] = i;
  for (let k = 0; k < reflect; k++) out[size + k] = size - 2 - k;
  const last = out[size + reflect - 1] ?? 0;
  for (let k = reflect; k < pad; k++) out[size + k] = last;
  return out;
}

/** Gathers planar RGB through row and column index maps (a crop, a padding, or both). */
function gather(planes: Float32Array, width: number, height: number, rows: ArrayLike<number>, cols: ArrayLike<number>): Float32Array {
  const out = new Float32Array(3 * rows.length * cols.length);
  let o = 0;
  for (let c = 0; c < 3; c++)
    for (let r = 0; r < rows.length; r++) {
      const base = (c * height + (rows[r] as number)) * width;
      for (let k = 0; k < cols.length; k++) out[o++] = planes[base + (cols[k] as number)] as number;
    }
  return out;
}

const range = (from: number, length: number): Int32Array => Int32Array.from({ length }, (_, i) => from + i);

/** spandrel's `ImageModelDescriptor.__call__` around a raw model run: pad, run, clamp to [0, 1], crop. */
export function spandrelCall(run: TileCall, req: SizeRequirement, scale: number): TileCall {
  return async (planes, width, height) => {
    const padW = paddingFor(width, req);
    const padH = paddingFor(height, req);
    const padded = padW || padH ? gather(planes, width, height, paddedIndices(height, padH), paddedIndices(width, padW)) : planes;
    let out = await run(padded, width + padW, height + padH);
    for (let i = 0; i < out.length; i++) out[i] = Math.min(1, Math.max(0, out[i] as number));
    if (padW || padH) out = gather(out, (width + padW) * scale, (height + padH) * scale, range(0, height * scale), range(0, width * scale));
    return out;
  };
}

/** Options of {@link tiledScale}. */
export interface TiledScaleOptions {
  scale: number;
  tile: number;
  overlap: number;
  /** Called after each tile with (done, total). */
  onTile?: (done: number, total: number) => void;
}

/** Adds one tile's output, weighted by its feathered mask, into the running sums. */
function accumulate(
  sum: Float32Array,
  weight: Float32Array,
  outW: number,
  outH: number,
  tileOut: Float32Array,
  at: TileRect,
  s: number,
  feather: number,
): void {
  const th = at.height * s;
  const tw = at.width * s;
  const rows = featherFactors(th, feather);
  const cols = featherFactors(tw, feather);
  const mask = new Float32Array(th * tw);
  for (let y = 0; y < th; y++) {
    let rowValue = 1;
    for (const f of rows[y] as number[]) rowValue = Math.fround(rowValue * f);
    for (let x = 0; x < tw; x++) {
      let m = rowValue;
      for (const f of cols[x] as number[]) m = Math.fround(m * f);
      mask[y * tw + x] = m;
      const w = (at.y * s + y) * outW + at.x * s + x;
      weight[w] = (weight[w] as number) + m;
    }
  }
  for (let c = 0; c < 3; c++)
    for (let y = 0; y < th; y++) {
      const dst = (c * outH + at.y * s + y) * outW + at.x * s;
      const src = (c * th + y) * tw;
      for (let x = 0; x < tw; x++)
        sum[dst + x] = (sum[dst + x] as number) + Math.fround((tileOut[src + x] as number) * (mask[y * tw + x] as number));
    }
}

/**
 * ComfyUI's `tiled_scale` of one image (planar RGB, [3, height, width]) through `call`, then the node's clamp to
 * [0, 1]: [3, height·scale, width·scale].
 */
export async function tiledScale(
  input: Float32Array,
  width: number,
  height: number,
  call: TileCall,
  opts: TiledScaleOptions,
): Promise<Float32Array> {
  const { scale: s, tile, overlap } = opts;
  const tiles = planTiles(width, height, tile, overlap);
  const clamp = (v: Float32Array): Float32Array => v.map((x) => Math.min(1, Math.max(0, x)));
  if (width <= tile && height <= tile) {
    const out = await call(input, width, height);
    opts.onTile?.(1, 1);
    return clamp(out);
  }
  const outW = width * s;
  const outH = height * s;
  const sum = new Float32Array(3 * outW * outH);
  const weight = new Float32Array(outW * outH);
  const feather = Math.round(overlap * s);
  for (const [i, at] of tiles.entries()) {
    const crop = gather(input, width, height, range(at.y, at.height), range(at.x, at.width));
    accumulate(sum, weight, outW, outH, await call(crop, at.width, at.height), at, s, feather);
    opts.onTile?.(i + 1, tiles.length);
  }
  const plane = outW * outH;
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / (weight[i % plane] as number);
  return clamp(sum);
}

/** Whether an error from the runtime means the device ran out of memory (CUDA, DirectML, the CPU allocator). */
export function isOutOfMemory(error: unknown): boolean {
  const text = error instanceof Error ? error.message : String(error);
  return /out of memory|failed to allocate|bad_alloc|E_OUTOFMEMORY|8007000E|887A0005/i.test(text);
}

/**
 * Runs `attempt(tile)` from `start`, halving the tile after each out-of-memory error as ComfyUI does; once the next
 * tile would be under {@link MIN_TILE} it throws UpscalerMemoryError. Other errors pass through.
 */
export async function withTileHalving<T>(
  attempt: (tile: number) => Promise<T>,
  start = DEFAULT_TILE,
  oom: (error: unknown) => boolean = isOutOfMemory,
): Promise<{ value: T; tile: number }> {
  for (let tile = start; ; tile = Math.floor(tile / 2)) {
    try {
      return { value: await attempt(tile), tile };
    } catch (error) {
      if (!oom(error)) throw error;
      if (Math.floor(tile / 2) < MIN_TILE)
        throw new UpscalerMemoryError(`Upscaling ran out of memory even with ${tile}-pixel tiles.`, { cause: error });
    }
  }
}
