/**
 * The VAE over overlapping tiles, so a large image never needs the whole decoder's (or encoder's) activations at
 * once. The arithmetic is ComfyUI's `tiled_scale_multidim` (comfyanonymous/ComfyUI `comfy/utils.py`), which its
 * `VAE.decode_tiled_` / `encode_tiled_` (`comfy/sd.py`) run when a whole decode runs out of memory:
 *
 * - along each axis longer than the tile, tiles start at `range(0, size − overlap, tile − overlap)` (the last one
 *   shorter, not shifted back); an input that fits one tile on both axes is a single call, unblended;
 * - each tile's output is weighted by a mask that ramps linearly over `feather = round(overlap·scale)` output pixels
 *   at all four of its edges (image borders too; not on an axis where the tile is no longer than the feather),
 *   ramp value (t + 1)/feather, height axis first, products in float32 as torch computes them;
 * - the result is Σ(tile·mask) / Σ(mask), accumulated in float32.
 *
 * `comfyTiledDecode` is ComfyUI's whole tiled decode (three passes with differently shaped tiles, averaged), kept
 * as the yardstick the pipeline's own single-pass tiling is held to (test/integration/vaeTiles.test.ts).
 * Tensors are planar float32 [channels, height, width] for one image.
 */

/** A model call on one tile: `channels`×`height`×`width` in, its output (channels and scale fixed by the caller). */
export type VaeTileCall = (tile: Float32Array, height: number, width: number) => Promise<Float32Array>;

/** Tile geometry of one pass, in input pixels (latent pixels for a decode, image pixels for an encode). */
export interface TilePass {
  tileH: number;
  tileW: number;
  overlap: number;
  /**
   * HordeDesk's own layout instead of ComfyUI's: as few tiles as keep at least `overlap` between neighbours, all
   * of the full tile size and spread evenly (the last one ends at the edge), blended over the overlap they really
   * have. One tile shape keeps the runtime's plan and arena reused from call to call.
   */
  even?: boolean;
  /**
   * Even layout only: tiles start on multiples of this (8 for an encode, so every tile's latent lands on the
   * latent grid; ComfyUI's starts are multiples of tile − overlap, which its pixel sizes keep on the grid).
   */
  align?: number;
}

/** Everything {@link tiledScale} needs besides the input. */
export interface TiledScaleOptions extends TilePass {
  inChannels: number;
  outChannels: number;
  /** Output pixels per input pixel: 8 for a decode, 1/8 for an encode. */
  scale: number;
  /** Called after each model call with (done, total). */
  onTile?: (done: number, total: number) => void;
}

/** Where tiles start along an axis of `size` input pixels. */
export function tileStarts(size: number, tile: number, overlap: number): number[] {
  if (!(tile > overlap) || overlap < 0) throw new RangeError(`A tile of ${tile} cannot overlap by ${overlap}`);
  if (size <= tile) return [0];
  const starts: number[] = [];
  for (let p = 0; p < size - overlap; p += tile - overlap) starts.push(p);
  return starts;
}

/**
 * Where evenly spread tiles start along an axis of `size` (see `TilePass.even`): n = ⌈(size − overlap)/(tile −
 * overlap)⌉ tiles, the i-th at round(i·(size − tile)/(n − 1)).
 */
export function evenTileStarts(size: number, tile: number, overlap: number): number[] {
  if (!(tile > overlap) || overlap < 0) throw new RangeError(`A tile of ${tile} cannot overlap by ${overlap}`);
  if (size <= tile) return [0];
  const n = Math.ceil((size - overlap) / (tile - overlap));
  return Array.from({ length: n }, (_, i) => Math.round((i * (size - tile)) / (n - 1)));
}

/** The smallest overlap between neighbouring tiles of `tile` at `starts` (the whole tile when there is one). */
function smallestOverlap(starts: readonly number[], tile: number): number {
  let overlap = tile;
  for (let i = 1; i < starts.length; i++) overlap = Math.min(overlap, tile - ((starts[i] as number) - (starts[i - 1] as number)));
  return overlap;
}

function startsOf(size: number, tile: number, pass: TilePass): number[] {
  if (!pass.even) return tileStarts(size, tile, pass.overlap);
  const a = pass.align ?? 1;
  return evenTileStarts(size / a, tile / a, Math.ceil(pass.overlap / a)).map((start) => start * a);
}

/** How many model calls one pass makes on an `height`×`width` input. */
export function tileCount(height: number, width: number, pass: TilePass): number {
  if (height <= pass.tileH && width <= pass.tileW) return 1;
  return startsOf(height, pass.tileH, pass).length * startsOf(width, pass.tileW, pass).length;
}

/** Per position along one tile axis of `length` output pixels, its mask value (1 away from the edges), float32. */
export function featherRamp(length: number, feather: number): Float32Array {
  const ramp = new Float32Array(length).fill(1);
  if (feather >= length) return ramp;
  for (let t = 0; t < feather; t++) {
    const a = Math.fround((t + 1) / feather);
    ramp[t] = Math.fround((ramp[t] as number) * a);
    ramp[length - 1 - t] = Math.fround((ramp[length - 1 - t] as number) * a);
  }
  return ramp;
}

/** Copies rows [y, y+h) and columns [x, x+w) of every channel. */
function crop(
  input: Float32Array,
  channels: number,
  height: number,
  width: number,
  y: number,
  x: number,
  h: number,
  w: number,
): Float32Array {
  const out = new Float32Array(channels * h * w);
  for (let c = 0; c < channels; c++)
    for (let r = 0; r < h; r++) {
      const from = (c * height + y + r) * width + x;
      out.set(input.subarray(from, from + w), (c * h + r) * w);
    }
  return out;
}

/** One pass of ComfyUI's `tiled_scale_multidim` over one image (see the module comment). */
export async function tiledScale(
  input: Float32Array,
  height: number,
  width: number,
  call: VaeTileCall,
  opts: TiledScaleOptions,
): Promise<Float32Array> {
  const { scale: s, outChannels } = opts;
  const outH = Math.round(height * s);
  const outW = Math.round(width * s);
  if (height <= opts.tileH && width <= opts.tileW) {
    const out = await call(input, height, width);
    opts.onTile?.(1, 1);
    return out;
  }
  const ys = startsOf(height, opts.tileH, opts);
  const xs = startsOf(width, opts.tileW, opts);
  const plane = outH * outW;
  const sum = new Float32Array(outChannels * plane);
  const weight = new Float32Array(plane);
  const featherY = Math.round((opts.even ? smallestOverlap(ys, opts.tileH) : opts.overlap) * s);
  const featherX = Math.round((opts.even ? smallestOverlap(xs, opts.tileW) : opts.overlap) * s);
  let done = 0;
  for (const y of ys)
    for (const x of xs) {
      const h = Math.min(opts.tileH, height - y);
      const w = Math.min(opts.tileW, width - x);
      const out = await call(crop(input, opts.inChannels, height, width, y, x, h, w), h, w);
      const th = Math.round(h * s);
      const tw = Math.round(w * s);
      if (out.length !== outChannels * th * tw)
        throw new Error(`A VAE tile of ${h}×${w} came back with ${out.length} values, not ${outChannels}×${th}×${tw}`);
      const rows = featherRamp(th, featherY);
      const cols = featherRamp(tw, featherX);
      const oy = Math.round(y * s);
      const ox = Math.round(x * s);
      for (let r = 0; r < th; r++) {
        const rowValue = rows[r] as number;
        for (let k = 0; k < tw; k++) {
          const m = Math.fround(rowValue * (cols[k] as number));
          const at = (oy + r) * outW + ox + k;
          weight[at] = (weight[at] as number) + m;
          for (let c = 0; c < outChannels; c++) {
            const dst = c * plane + at;
            sum[dst] = (sum[dst] as number) + Math.fround((out[(c * th + r) * tw + k] as number) * m);
          }
        }
      }
      opts.onTile?.(++done, ys.length * xs.length);
    }
  for (let i = 0; i < sum.length; i++) sum[i] = (sum[i] as number) / (weight[i % plane] as number);
  return sum;
}

/**
 * ComfyUI's `VAE.decode_tiled_(samples, tile_x=64, tile_y=64, overlap=16)` before its clamp: three passes with
 * tiles of (tile_y·2)×(tile_x/2), (tile_y/2)×(tile_x·2) and tile_y×tile_x latent pixels, summed in that order and
 * divided by 3. Output planar [3, 8·height, 8·width] in the decoder's [−1, 1] space.
 */
export async function comfyTiledDecode(
  latent: Float32Array,
  height: number,
  width: number,
  call: VaeTileCall,
  tile = 64,
  overlap = 16,
): Promise<Float32Array> {
  const base = { inChannels: 4, outChannels: 3, scale: 8, overlap };
  const a = await tiledScale(latent, height, width, call, { ...base, tileH: tile * 2, tileW: tile / 2 });
  const b = await tiledScale(latent, height, width, call, { ...base, tileH: tile / 2, tileW: tile * 2 });
  const c = await tiledScale(latent, height, width, call, { ...base, tileH: tile, tileW: tile });
  const out = new Float32Array(a.length);
  for (let i = 0; i < out.length; i++) out[i] = Math.fround(Math.fround((a[i] as number) + (b[i] as number)) + (c[i] as number)) / 3;
  return out;
}
