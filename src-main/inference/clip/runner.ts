/**
 * Runs a CLIP model folder in onnxruntime-node: an RGB image in, its unit-length image embedding out; token
 * sequences in, their unit-length text embeddings out. Cosine similarity is then a dot product, which is what a
 * safety checker compares against its word lists.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../common/hardware';
import { tensorDataToFloat32 } from '../graph';
import { CLIP_MANIFEST_FILE, CLIP_MANIFEST_FORMAT, type ClipModelManifest } from './modelFolder';
import type { RgbImage } from '../image/pillowResize';
import { preprocessClip } from './preprocess';

/** The outputs of the image tower for one image, before normalising. */
export interface ClipImageOutputs {
  /** `image_embeds` [projection]. */
  imageEmbeds: Float32Array;
  /** `pooler_output` [width]: post_layernorm of the class token. */
  pooled: Float32Array;
}

/** A loaded CLIP model. */
export interface ClipRunner {
  readonly manifest: ClipModelManifest;
  /** openai preprocessing, the image tower, the projection, divided by its L2 norm. */
  embedImage(rgb: RgbImage): Promise<Float32Array>;
  /** The image tower on already preprocessed NCHW pixels [3, size, size] (no normalising). */
  runPixels(pixelValues: Float32Array): Promise<ClipImageOutputs>;
  /** Each token sequence (start and end tokens included, ≤ 77) through the text tower and projection, unit length. */
  embedTexts(tokens: readonly (readonly number[])[]): Promise<Float32Array[]>;
  release(): Promise<void>;
}

/** Options of `openClipRunner`. */
export interface OpenClipOptions {
  /** Providers to try, in order (default CPU). */
  executionProviders?: readonly ExecutionProvider[];
}

/** A copy of `v` divided by its Euclidean length (accumulated in double). */
export function l2Normalize(v: Float32Array): Float32Array {
  let sum = 0;
  for (const x of v) sum += x * x;
  const norm = Math.sqrt(sum);
  if (!(norm > 0)) throw new RangeError('Cannot normalise a zero or non-finite embedding');
  return v.map((x) => x / norm);
}

function readManifest(dir: string): ClipModelManifest {
  const manifest = JSON.parse(readFileSync(join(dir, CLIP_MANIFEST_FILE), 'utf8')) as ClipModelManifest;
  if (manifest.format !== CLIP_MANIFEST_FORMAT) throw new Error(`${dir} is not a HordeDesk CLIP model (format ${String(manifest.format)})`);
  return manifest;
}

/** Pads each sequence with EOS to the longest; refuses one without EOS, whose pooled vector would be meaningless. */
export function padTokenBatch(tokens: readonly (readonly number[])[], eos: number, maxLength: number): { ids: Int32Array; length: number } {
  const length = Math.max(...tokens.map((t) => t.length));
  if (length > maxLength) throw new RangeError(`A token sequence is ${length} long; the text tower takes at most ${maxLength}`);
  const ids = new Int32Array(tokens.length * length).fill(eos);
  tokens.forEach((t, i) => {
    if (!t.includes(eos)) throw new RangeError(`Token sequence ${i} has no end token (${eos})`);
    ids.set(t, i * length);
  });
  return { ids, length };
}

async function runImage(session: ort.InferenceSession, pixelValues: Float32Array, size: number): Promise<ClipImageOutputs> {
  const out = await session.run({ pixel_values: new ort.Tensor('float32', pixelValues, [1, 3, size, size]) });
  const get = (name: string): Float32Array => {
    const t = out[name];
    if (!t) throw new Error(`The CLIP image tower gave no ${name}`);
    return tensorDataToFloat32(t.data, t.type);
  };
  return { imageEmbeds: get('image_embeds'), pooled: get('pooler_output') };
}

async function runTexts(
  session: ort.InferenceSession,
  manifest: ClipModelManifest,
  tokens: readonly (readonly number[])[],
): Promise<Float32Array[]> {
  const text = manifest.config.text;
  if (!text) throw new Error('This CLIP model has no text tower');
  if (tokens.length === 0) return [];
  const { ids, length } = padTokenBatch(tokens, text.eosTokenId ?? text.vocabSize - 1, text.maxPositions);
  const out = await session.run({ input_ids: new ort.Tensor('int32', ids, [tokens.length, length]) });
  const t = out.text_embeds;
  if (!t) throw new Error('The CLIP text tower gave no text_embeds');
  const all = tensorDataToFloat32(t.data, t.type);
  const d = text.projectionDim;
  return tokens.map((_, i) => l2Normalize(all.slice(i * d, (i + 1) * d)));
}

/** Opens the towers a CLIP model folder holds. */
export async function openClipRunner(dir: string, opts: OpenClipOptions = {}): Promise<ClipRunner> {
  const manifest = readManifest(dir);
  const options: ort.InferenceSession.SessionOptions = {
    executionProviders: [...(opts.executionProviders ?? ['cpu'])],
    graphOptimizationLevel: 'all',
  };
  const open = async (tower: 'vision' | 'text'): Promise<ort.InferenceSession | null> =>
    manifest.towers.some((t) => t.tower === tower) ? ort.InferenceSession.create(join(dir, tower, 'model.onnx'), options) : null;
  const vision = await open('vision');
  const text = await open('text');
  const size = manifest.config.vision?.imageSize ?? 224;
  const needVision = (): ort.InferenceSession => {
    if (!vision) throw new Error('This CLIP model has no image tower');
    return vision;
  };
  return {
    manifest,
    runPixels: (pixelValues) => runImage(needVision(), pixelValues, size),
    async embedImage(rgb) {
      const { imageEmbeds } = await runImage(needVision(), preprocessClip(rgb, size).pixelValues, size);
      return l2Normalize(imageEmbeds);
    },
    async embedTexts(tokens) {
      if (!text) throw new Error('This CLIP model has no text tower');
      return runTexts(text, manifest, tokens);
    },
    async release() {
      await vision?.release();
      await text?.release();
    },
  };
}
