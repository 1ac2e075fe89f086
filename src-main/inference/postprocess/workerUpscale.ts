/**
 * The inference thread's side of an `upscale` message: keeps the last upscaler open (a job's post-processors run
 * one after another, often the same one) and turns packed RGB into the horde's 8-bit upscaled RGB.
 */
import type { ExecutionProvider } from '../../common/hardware';
import type { ProviderStatus } from '../../common/inference';
import { OpenSlot } from './openSlot';
import { type Upscaler, openUpscaler } from './runner';

/** What the thread is asked. */
export interface UpscaleRequest {
  modelDir: string;
  providers: readonly ExecutionProvider[];
  width: number;
  height: number;
  /** Packed RGB, 3 bytes per pixel. */
  rgb: ArrayBuffer;
  /** First tile tried (default 512). */
  tile?: number | undefined;
}

/** What it answers: the upscaled image (packed RGB, to be transferred) and how it ran. */
export interface UpscaleReply {
  width: number;
  height: number;
  rgb: ArrayBuffer;
  stats: { ms: number; tile: number; tiles: number; scale: number; name: string; status: ProviderStatus };
}

/** The one open upscaler, reopened when the folder or the providers change. */
export class UpscalerSlot extends OpenSlot<Upscaler> {
  constructor() {
    super((modelDir, providers) => openUpscaler(modelDir, { providers }));
  }
}

/**
 * Runs one request through the slot's upscaler. `afterTile` is called after each tile (a throw there, e.g. a
 * cancelled job's, ends the upscale with that error).
 */
export async function upscaleRequest(slot: UpscalerSlot, request: UpscaleRequest, afterTile?: () => void): Promise<UpscaleReply> {
  const upscaler = await slot.get(request.modelDir, request.providers);
  const image = { data: new Uint8Array(request.rgb), width: request.width, height: request.height, channels: 3 };
  const out = await upscaler.upscale(image, {
    ...(request.tile === undefined ? {} : { tile: request.tile }),
    ...(afterTile ? { onTile: () => afterTile() } : {}),
  });
  const { data } = out.image;
  return {
    width: out.image.width,
    height: out.image.height,
    rgb: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    stats: {
      ms: out.ms,
      tile: out.tile,
      tiles: out.tiles,
      scale: upscaler.manifest.spec.scale,
      name: upscaler.manifest.name,
      status: upscaler.provider,
    },
  };
}
