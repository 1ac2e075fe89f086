/**
 * Applying LoRAs (and textual inversions) by merging them into the weights a model folder stores, one tensor at
 * a time, into a new folder the pipeline opens like any model.
 *
 * - A component the add-ons leave alone is hard-linked from the base folder (copied where links fail): no bytes.
 * - A changed component keeps its graphs: `model.onnx` (and `model.tiled.onnx`) are linked as they are, and the
 *   file holding the weights (`weights.pb`, or `model.onnx` itself when its weights are inline) is copied and the
 *   changed tensors rewritten in place at their offsets. Sizes never change, so every offset the graphs record
 *   stays true (graph/initializers.ts lays tensors out at 64-byte aligned offsets; onnxInitializers.ts reads them).
 *   Memory: one tensor and its LoRA factors at a time, never the model twice.
 * - With textual inversions the text encoder is rebuilt through the graph builder, reading the base weights (and
 *   the clip LoRA changes) tensor by tensor, with each embedding's vectors as extra rows of the token table after
 *   the tokenizer's vocabulary: what ComfyUI's `set_up_textual_embeddings` does (a new `Embedding` of
 *   vocab + n rows, the vectors in the model's dtype; comfyanonymous/ComfyUI `comfy/sd1_clip.py`, stored version
 *   b55c224). The manifest's `embeddings` tells the tokenizer which ids each name takes.
 *
 * Changes are computed in float32 from the stored values and rounded once to the stored type (adapters.ts).
 * Several LoRAs on one weight add in the request's order, as chained LoraLoader nodes patch.
 */
import {
  closeSync,
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { join } from 'node:path';
import {
  DataType,
  buildComponent,
  bytesOf,
  externalSink,
  float16BitsToFloat32,
  float32ToFloat16Bits,
  inlineSink,
  writeModelFile,
  WeightError,
  type InitializerSink,
  type SdGraphConfig,
  type SdModelManifest,
  type WeightSource,
} from '../graph';
import { EXTERNAL_DATA_FILE, MANIFEST_FILE } from '../graph/modelFolder';
import { elementCount } from '../graph/weights';
import { type MatMul, type Tensor, applyBiasDiff, applyModule, matMulJs, transpose01 } from './adapters';
import { AddonFormatError } from './errors';
import { type LoraFile, type LoraModule, type LoraRole, openLoraFile } from './loraFile';
import type { SdxlGraphConfig } from '../graph/sdxlConfig';
import { buildSdxlComponent } from '../graph/sdxlModel';
import type { ModelSpec } from '../graph/onnxProto';
import { type LoraComponent, type LoraTarget, loraTargets, sdxlLoraTargets } from './loraKeys';
import { readStoredTensors, type StoredTensor } from './onnxInitializers';
import { readTextualInversion, type TextualInversion } from './textualInversion';

/** One LoRA of a request: its file and the two strengths (the horde's `model` and `clip`). */
export interface LoraApplication {
  path: string;
  /** UNet strength (`strength_model`). */
  model: number;
  /** Text-encoder strength (`strength_clip`). */
  clip: number;
}

/** Where each textual inversion's vectors sit in a merged text encoder's token table. */
export interface EmbeddingSlot {
  /** First token id of its vectors; the next `vectors − 1` ids follow. */
  firstId: number;
  vectors: number;
}

/** What the merged folder's manifest adds to the base one. */
export interface MergeRecord {
  /** The base folder's name and manifest digest (cache.ts). */
  base: string;
  loras: { file: string; model: number; clip: number }[];
  /** Textual inversion name (as written after `embedding:`) → its token ids. */
  embeddings: Record<string, EmbeddingSlot>;
  /** Bytes this folder holds itself (copied or written); linked files are not counted. */
  ownBytes: number;
}

/** The manifest of a merged folder: the base manifest plus `merge`. */
export type MergedManifest = SdModelManifest & { merge: MergeRecord } & Record<string, unknown>;

export interface MergeOptions {
  /** The matrix product for LoRA factors (default plain JS; `ortMatMul` is faster on large files). */
  matMul?: MatMul;
  /** Called after each changed tensor: `done` of `total`. */
  onProgress?: (done: number, total: number) => void;
  /** Digest of the base recorded in the manifest (default: none). */
  baseDigest?: string;
}

/** The components a merge may change, in the order they are planned. */
const MERGED_COMPONENTS: readonly LoraComponent[] = ['unet', 'text_encoder', 'text_encoder_2'];

/**
 * Reads and checks a model folder's manifest: merging needs the architecture HordeDesk built it with (SD 1.x, or
 * SDXL with its manifest's `family: 'sdxl'` and SdxlGraphConfig; the fields the merge reads are the same).
 */
export function readBaseManifest(baseDir: string): SdModelManifest & Record<string, unknown> {
  const path = join(baseDir, MANIFEST_FILE);
  if (!existsSync(path))
    throw new AddonFormatError(
      `${baseDir} has no ${MANIFEST_FILE}: LoRAs and textual inversions apply only to models HordeDesk converted.`,
    );
  const manifest = JSON.parse(readFileSync(path, 'utf8')) as SdModelManifest & Record<string, unknown>;
  const family = (manifest as { family?: unknown })?.family;
  if ((family !== 'sd1' && family !== 'sdxl') || typeof manifest.config !== 'object' || manifest.config === null)
    throw new AddonFormatError(`${baseDir}: its manifest names no SD 1.x or SDXL architecture, so LoRAs cannot be mapped onto it.`);
  if ('merge' in manifest) throw new AddonFormatError(`${baseDir} is itself a merged model; merge into the plain model instead.`);
  return manifest;
}

/** Links `from` to `to`, or copies it where a link cannot be made; returns the bytes copied (0 when linked). */
function linkOrCopy(from: string, to: string): number {
  try {
    linkSync(from, to);
    return 0;
  } catch {
    copyFileSync(from, to);
    return statSync(to).size;
  }
}

/** Links a whole folder tree (tokenizer, untouched components). */
function linkTree(from: string, to: string): number {
  mkdirSync(to, { recursive: true });
  let copied = 0;
  for (const entry of readdirSync(from, { withFileTypes: true })) {
    if (entry.isDirectory()) copied += linkTree(join(from, entry.name), join(to, entry.name));
    else if (entry.isFile()) copied += linkOrCopy(join(from, entry.name), join(to, entry.name));
  }
  return copied;
}

function readRange(fd: number, offset: number, length: number, what: string): Uint8Array {
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = readSync(fd, out, done, length - done, offset + done);
    if (n <= 0) throw new AddonFormatError(`${what}: the model file ends early (truncated install?).`);
    done += n;
  }
  return out;
}

function writeRange(fd: number, bytes: Uint8Array, offset: number): void {
  let done = 0;
  while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done, offset + done);
}

/** The runtime's Float16Array (Node 24 has one): widening a tensor natively. */
const NativeFloat16Array = (globalThis as { Float16Array?: new (buffer: ArrayBufferLike) => ArrayBufferView }).Float16Array;

/** Elsewhere, every half's float32 value by its bits (built on first use): one lookup per value. */
let halfTable: Float32Array | null = null;

/** Stored bytes → float32 (FLOAT copied, FLOAT16 widened exactly). */
function decode(bytes: Uint8Array, t: StoredTensor): Float32Array {
  const count = elementCount(t.dims);
  if (t.dataType === DataType.FLOAT && bytes.length === count * 4)
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  if (t.dataType === DataType.FLOAT16 && bytes.length === count * 2) {
    const copy = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length);
    if (NativeFloat16Array) return new Float32Array(new NativeFloat16Array(copy) as unknown as ArrayLike<number>);
    halfTable ??= float16BitsToFloat32(Uint16Array.from({ length: 65536 }, (_, i) => i));
    const bits = new Uint16Array(copy);
    const out = new Float32Array(count);
    for (let i = 0; i < count; i++) out[i] = halfTable[bits[i] as number] as number;
    return out;
  }
  throw new AddonFormatError(
    `Weight ${t.name} is stored as ONNX type ${t.dataType} with ${bytes.length} bytes; HordeDesk merges float32 and float16 weights.`,
  );
}

/** float32 → the stored type, rounded to nearest even (ComfyUI's `.to(dtype)`). */
function encode(values: Float32Array, t: StoredTensor): Uint8Array {
  return t.dataType === DataType.FLOAT16 ? bytesOf(float32ToFloat16Bits(values)) : bytesOf(values);
}

/** One LoRA module on one weight, with the strength it gets. */
interface Patch {
  file: LoraFile;
  module: LoraModule;
  strength: number;
}

/** Patches by component and diffusers weight name, in request order. */
type PatchPlan = Map<LoraComponent, Map<string, Patch[]>>;

function planPatches(files: readonly LoraFile[], loras: readonly LoraApplication[]): PatchPlan {
  const plan: PatchPlan = new Map(MERGED_COMPONENTS.map((c) => [c, new Map<string, Patch[]>()]));
  files.forEach((file, i) => {
    const lora = loras[i] as LoraApplication;
    for (const module of file.modules) {
      const strength = module.target.component === 'unet' ? lora.model : lora.clip;
      // LoraLoader skips a zero strength's patches altogether (ComfyUI nodes.py, LoraLoader.load_lora).
      if (strength === 0) continue;
      const byWeight = plan.get(module.target.component) as Map<string, Patch[]>;
      const list = byWeight.get(module.target.weight) ?? [];
      list.push({ file, module, strength });
      byWeight.set(module.target.weight, list);
    }
  });
  return plan;
}

/** The stored tensor of a diffusers weight: as is (conv, norm) or transposed (`<name>.T`, a linear's MatMul form). */
function storedOf(tensors: ReadonlyMap<string, StoredTensor>, weight: string): { stored: StoredTensor; transposed: boolean } | undefined {
  const plain = tensors.get(weight);
  if (plain) return { stored: plain, transposed: false };
  const t = tensors.get(`${weight}.T`);
  return t ? { stored: t, transposed: true } : undefined;
}

/**
 * Applies `patches`, in order, to one weight: float32 in the diffusers layout, or stored transposed (`transposed`,
 * with `dims` the stored [in, out]). A patch on some rows of the weight (`LoraTarget.rows`: q, k or v of a stacked
 * in_proj) is applied to those rows in the diffusers layout, where they are contiguous, as ComfyUI's
 * `calculate_weight` applies a patch to `weight.narrow(0, offset, size)`.
 */
async function patchWeight(
  values: Float32Array,
  patches: readonly Patch[],
  matMul: MatMul,
  transposed = false,
  dims: readonly number[] = [],
): Promise<void> {
  const sliced = patches.some((p) => p.module.target.rows !== undefined);
  const plain = sliced && transposed ? transpose01({ data: values, shape: dims }).data : values;
  for (const { file, module, strength } of patches) {
    const read = (role: LoraRole): Tensor | undefined => {
      const name = module.tensors[role];
      return name === undefined ? undefined : file.read(name);
    };
    const rows = module.target.rows;
    if (rows) {
      const cols = elementCount(rows.of) / (rows.of[0] ?? 1);
      const view = plain.subarray(rows.offset * cols, (rows.offset + rows.count) * cols);
      await applyModule(view, module, read, strength, matMul, file.path);
    } else await applyModule(plain, module, read, strength, matMul, file.path, transposed && !sliced);
  }
  if (plain !== values) values.set(transpose01({ data: plain, shape: [dims[1] ?? 1, dims[0] ?? 1] }).data);
}

/** The bias beside a weight (OpenCLIP's stacked `in_proj_weight` has `in_proj_bias`). */
const biasOf = (weight: string): string =>
  weight.endsWith('.in_proj_weight') ? weight.replace(/in_proj_weight$/, 'in_proj_bias') : weight.replace(/\.weight$/, '.bias');

/** Adds the patches' `diff_b` to `bias` (to its rows for a row patch). */
function patchBias(bias: Float32Array, patches: readonly Patch[]): void {
  for (const p of patches) {
    const name = p.module.tensors.diff_b;
    if (name === undefined) continue;
    const rows = p.module.target.rows;
    const view = rows ? bias.subarray(rows.offset, rows.offset + rows.count) : bias;
    applyBiasDiff(view, p.file.read(name), p.strength, p.module.name, p.file.path);
  }
}

/** Whether a weight's targets say it is stored as the transpose of its matrix under its own name (no `.T`). */
const storedTransposed = (patches: readonly Patch[]): boolean => patches[0]?.module.target.storedTransposed === true;

/** The stored tensor of a patched weight and whether it holds the transpose of the diffusers-layout matrix. */
function layoutOf(
  tensors: ReadonlyMap<string, StoredTensor>,
  weight: string,
  patches: readonly Patch[],
): { stored: StoredTensor; transposed: boolean } {
  const { stored, transposed } = storedOf(tensors, weight) as { stored: StoredTensor; transposed: boolean };
  return { stored, transposed: transposed || storedTransposed(patches) };
}

/** float32 values of a stored tensor in the diffusers layout. */
function toDiffusersLayout(values: Float32Array, stored: StoredTensor, transposed: boolean): Float32Array {
  if (!transposed) return values;
  return transpose01({ data: values, shape: stored.dims }).data;
}

/** Checks every patched weight against the stored tensors before anything is written. */
function checkPlan(component: LoraComponent, patches: ReadonlyMap<string, Patch[]>, tensors: ReadonlyMap<string, StoredTensor>): void {
  for (const [weight, list] of patches) {
    const found = storedOf(tensors, weight);
    const first = list[0] as Patch;
    if (!found)
      throw new AddonFormatError(
        `${first.file.path}: layer "${first.module.name}" changes ${component} ${weight}, which this model does not store.`,
        first.module.name,
      );
    if (elementCount(found.stored.dims) !== elementCount(first.module.target.rows?.of ?? first.module.target.shape))
      throw new AddonFormatError(
        `${first.file.path}: ${component} ${weight} is stored with another size than this model's architecture says.`,
        first.module.name,
      );
    if (list.some((p) => p.module.tensors.diff_b !== undefined) && !tensors.has(biasOf(weight)))
      throw new AddonFormatError(
        `${first.file.path}: layer "${first.module.name}" changes a bias this model does not store.`,
        first.module.name,
      );
  }
}

/**
 * Copies the component's weight files into `outFolder` and rewrites the patched tensors there; links the rest.
 * Returns the bytes copied.
 */
async function mergeComponent(
  baseFolder: string,
  outFolder: string,
  patches: ReadonlyMap<string, Patch[]>,
  tensors: ReadonlyMap<string, StoredTensor>,
  matMul: MatMul,
  progress: () => void,
): Promise<number> {
  mkdirSync(outFolder, { recursive: true });
  // Which files hold a changed tensor (weights.pb, or model.onnx for inline weights).
  const jobs = new Map<string, { stored: StoredTensor; transposed: boolean; patches: Patch[]; bias?: StoredTensor }[]>();
  for (const [weight, list] of patches) {
    const { stored, transposed } = layoutOf(tensors, weight, list);
    const bias = list.some((p) => p.module.tensors.diff_b !== undefined) ? tensors.get(biasOf(weight)) : undefined;
    const job = jobs.get(stored.file) ?? [];
    job.push({ stored, transposed, patches: list, ...(bias ? { bias } : {}) });
    jobs.set(stored.file, job);
  }
  let copied = 0;
  for (const entry of readdirSync(baseFolder, { withFileTypes: true })) {
    if (!entry.isFile()) continue;
    const from = join(baseFolder, entry.name);
    const to = join(outFolder, entry.name);
    const work = jobs.get(from);
    if (!work) {
      copied += linkOrCopy(from, to);
      continue;
    }
    copyFileSync(from, to);
    copied += statSync(to).size;
    const src = openSync(from, 'r');
    const dst = openSync(to, 'r+');
    try {
      for (const { stored, transposed, patches: list, bias } of work) {
        // In the stored layout: a linear layer's [in, out] is patched as it is (applyModule's `transposed`).
        const values = decode(readRange(src, stored.offset, stored.length, from), stored);
        await patchWeight(values, list, matMul, transposed, stored.dims);
        writeRange(dst, encode(values, stored), stored.offset);
        if (bias) {
          if (bias.file !== from)
            throw new AddonFormatError(`${bias.name} is stored in another file than its weight; HordeDesk cannot patch it.`);
          const b = decode(readRange(src, bias.offset, bias.length, from), bias);
          patchBias(b, list);
          writeRange(dst, encode(b, bias), bias.offset);
        }
        progress();
      }
    } finally {
      closeSync(src);
      closeSync(dst);
    }
  }
  return copied;
}

/** A WeightSource over a component's stored tensors, with LoRA patches and extra token rows applied. */
function storedWeightSource(
  tensors: ReadonlyMap<string, StoredTensor>,
  extraRows: Float32Array | null,
  pending: Map<string, Float32Array>,
): WeightSource {
  return {
    get(name, shape) {
      let values = pending.get(name);
      pending.delete(name);
      if (!values) {
        const found = storedOf(tensors, name);
        if (!found) throw new WeightError(name, `Weight ${name} is not stored in the base text encoder.`);
        const fd = openSync(found.stored.file, 'r');
        try {
          const { stored, transposed } = found;
          values = toDiffusersLayout(decode(readRange(fd, stored.offset, stored.length, stored.file), stored), stored, transposed);
        } finally {
          closeSync(fd);
        }
      }
      if (name.endsWith('token_embedding.weight') && extraRows) {
        const out = new Float32Array(values.length + extraRows.length);
        out.set(values);
        out.set(extraRows, values.length);
        values = out;
      }
      if (values.length !== elementCount(shape))
        throw new WeightError(name, `Weight ${name}: stored size does not fit [${shape.join(', ')}]`);
      return values;
    },
  };
}

/** A text encoder's graph with a token table of `vocabSize` rows; the end token keeps its id (the pooled position). */
function buildExtendedEncoder(
  manifest: SdModelManifest,
  component: 'text_encoder' | 'text_encoder_2',
  vocabSize: number,
  source: WeightSource,
  sink: InitializerSink,
): ModelSpec {
  const options = { dtype: manifest.dtype, opset: manifest.opset, io: manifest.io, sink, attention: manifest.attention ?? 'plain' };
  if ((manifest as { family: string }).family !== 'sdxl') {
    const config = manifest.config as SdGraphConfig;
    const te = config.textEncoder;
    return buildComponent(
      'text_encoder',
      { ...config, textEncoder: { ...te, vocabSize, eosTokenId: te.eosTokenId ?? te.vocabSize - 1 } },
      source,
      options,
    );
  }
  const config = manifest.config as unknown as SdxlGraphConfig;
  const l = config.textEncoder;
  const extended: SdxlGraphConfig =
    component === 'text_encoder_2'
      ? { ...config, textEncoder2: { ...config.textEncoder2, vocabSize } }
      : { ...config, textEncoder: { ...l, vocabSize, eosTokenId: l.eosTokenId ?? l.vocabSize - 1 } };
  return buildSdxlComponent(component, extended, source, options);
}

/** SDXL: each embedding's `clip_g` vectors for CLIP-G (ComfyUI's SDXL tokenizers: embedding_key clip_l and clip_g). */
function secondEncoderEmbeddings(embeddings: readonly TextualInversion[]): TextualInversion[] {
  return embeddings.map((l) => {
    const g = readTextualInversion(l.path, l.name, 'clip_g');
    if (g.vectors !== l.vectors)
      throw new AddonFormatError(
        `${l.path}: its clip_l and clip_g embeddings have ${l.vectors} and ${g.vectors} vectors; SDXL needs the same count for both text encoders.`,
      );
    return g;
  });
}

/**
 * Rebuilds the text encoder into `outFolder` with the clip patches applied and the embeddings' vectors appended to
 * the token table. The graph builder asks for weights synchronously, so the (async) patched weights are computed
 * first, one at a time, and handed over when asked for. Returns the bytes written.
 */
async function rebuildTextEncoder(
  outFolder: string,
  manifest: SdModelManifest,
  component: 'text_encoder' | 'text_encoder_2',
  patches: ReadonlyMap<string, Patch[]>,
  tensors: ReadonlyMap<string, StoredTensor>,
  embeddings: readonly TextualInversion[],
  matMul: MatMul,
  progress: () => void,
): Promise<{ bytes: number; slots: Record<string, EmbeddingSlot> }> {
  const sdxlConfig = manifest.config as unknown as SdxlGraphConfig;
  const config = manifest.config as SdGraphConfig;
  const second = component === 'text_encoder_2';
  const vocabSize = second ? sdxlConfig.textEncoder2.vocabSize : config.textEncoder.vocabSize;
  const width = second ? sdxlConfig.textEncoder2.width : config.textEncoder.hiddenSize;
  const slots: Record<string, EmbeddingSlot> = {};
  let next = vocabSize;
  const rows: Float32Array[] = [];
  for (const ti of embeddings) {
    if (ti.width !== width)
      throw new AddonFormatError(
        `${ti.path}: its vectors are ${ti.width} wide, but this model's ${second ? 'second ' : ''}text encoder is ${width} wide (an embedding for another model family).`,
      );
    slots[ti.name] = { firstId: next, vectors: ti.vectors };
    next += ti.vectors;
    rows.push(ti.data);
  }
  const extra = rows.length ? Float32Array.from(rows.flatMap((r) => [...r])) : null;
  // Patched weights first (async matmuls), kept until the builder asks for them; text encoders are small.
  const pending = new Map<string, Float32Array>();
  for (const [weight, list] of patches) {
    const { stored, transposed } = layoutOf(tensors, weight, list);
    const fd = openSync(stored.file, 'r');
    let values: Float32Array;
    try {
      values = toDiffusersLayout(decode(readRange(fd, stored.offset, stored.length, stored.file), stored), stored, transposed);
    } finally {
      closeSync(fd);
    }
    await patchWeight(values, list, matMul);
    // The graph reads a weight stored as its matrix's transpose (OpenCLIP's text_projection) in that stored layout.
    pending.set(weight, storedTransposed(list) ? transpose01({ data: values, shape: list[0]?.module.target.shape ?? [] }).data : values);
    const biasName = biasOf(weight);
    const bias = list.some((p) => p.module.tensors.diff_b !== undefined) ? tensors.get(biasName) : undefined;
    if (bias) {
      const bfd = openSync(bias.file, 'r');
      let b: Float32Array;
      try {
        b = decode(readRange(bfd, bias.offset, bias.length, bias.file), bias);
      } finally {
        closeSync(bfd);
      }
      patchBias(b, list);
      pending.set(biasName, b);
    }
    progress();
  }
  const baseComponent = (manifest.components as { component: string; externalData: string | null }[]).find(
    (c) => c.component === component,
  );
  const external = baseComponent?.externalData != null;
  mkdirSync(outFolder, { recursive: true });
  const sink = external ? externalSink(join(outFolder, EXTERNAL_DATA_FILE), EXTERNAL_DATA_FILE) : inlineSink();
  try {
    const model = buildExtendedEncoder(manifest, component, next, storedWeightSource(tensors, extra, pending), sink);
    sink.close();
    writeModelFile(join(outFolder, 'model.onnx'), model);
  } finally {
    sink.close();
  }
  let bytes = statSync(join(outFolder, 'model.onnx')).size;
  if (external) bytes += statSync(join(outFolder, EXTERNAL_DATA_FILE)).size;
  return { bytes, slots };
}

/**
 * Writes the merged model folder `outDir` (which must not exist yet; cache.ts stages and commits it): `baseDir`
 * with `loras` merged and `embeddings` added. Every LoRA file is opened and checked (keys, shapes, stored tensors)
 * before anything is written; an `AddonFormatError` names what cannot be applied. The manifest is written last.
 */
export async function writeMergedModel(
  baseDir: string,
  outDir: string,
  loras: readonly LoraApplication[],
  embeddings: readonly TextualInversion[],
  opts: MergeOptions = {},
): Promise<MergedManifest> {
  const manifest = readBaseManifest(baseDir);
  const sdxl = (manifest as { family: string }).family === 'sdxl';
  const matMul = opts.matMul ?? matMulJs;
  const targets: Map<string, LoraTarget> = sdxl
    ? sdxlLoraTargets(manifest.config as unknown as SdxlGraphConfig)
    : loraTargets(manifest.config as SdGraphConfig);
  const secondEmbeddings = sdxl ? secondEncoderEmbeddings(embeddings) : [];
  const files: LoraFile[] = [];
  try {
    for (const lora of loras) {
      if (!Number.isFinite(lora.model) || !Number.isFinite(lora.clip))
        throw new AddonFormatError(`${lora.path}: strengths must be finite numbers (got model ${lora.model}, clip ${lora.clip}).`);
      files.push(openLoraFile(lora.path, targets, sdxl ? 'SDXL' : 'SD 1.x'));
    }
    const plan = planPatches(files, loras);
    const stored = new Map<LoraComponent, Map<string, StoredTensor>>();
    for (const component of MERGED_COMPONENTS) {
      const patches = plan.get(component) as Map<string, Patch[]>;
      const rebuild = (component === 'text_encoder' || (sdxl && component === 'text_encoder_2')) && embeddings.length > 0;
      if (patches.size === 0 && !rebuild) continue;
      const tensors = readStoredTensors(join(baseDir, component, 'model.onnx'));
      checkPlan(component, patches, tensors);
      stored.set(component, tensors);
    }
    const total = [...plan.values()].reduce((n, m) => n + m.size, 0);
    let done = 0;
    const progress = (): void => opts.onProgress?.(++done, total);
    mkdirSync(outDir, { recursive: true });
    let ownBytes = 0;
    let slots: Record<string, EmbeddingSlot> = {};
    for (const entry of readdirSync(baseDir, { withFileTypes: true })) {
      const from = join(baseDir, entry.name);
      const to = join(outDir, entry.name);
      if (entry.isFile()) {
        if (entry.name !== MANIFEST_FILE) ownBytes += linkOrCopy(from, to);
        continue;
      }
      if (!entry.isDirectory()) continue;
      const component = entry.name as LoraComponent;
      const tensors = stored.get(component);
      if (!tensors) {
        ownBytes += linkTree(from, to);
        continue;
      }
      const patches = plan.get(component) as Map<string, Patch[]>;
      if ((component === 'text_encoder' || component === 'text_encoder_2') && embeddings.length > 0) {
        const list = component === 'text_encoder' ? embeddings : secondEmbeddings;
        const rebuilt = await rebuildTextEncoder(to, manifest, component, patches, tensors, list, matMul, progress);
        ownBytes += rebuilt.bytes;
        if (Object.keys(slots).length > 0 && JSON.stringify(slots) !== JSON.stringify(rebuilt.slots))
          throw new AddonFormatError(`${baseDir}: its two text encoders would give the embeddings different token ids.`);
        slots = rebuilt.slots;
      } else {
        ownBytes += await mergeComponent(from, to, patches, tensors, matMul, progress);
      }
    }
    const merge: MergeRecord = {
      base: opts.baseDigest ?? '',
      loras: loras.map((l) => ({ file: l.path.split(/[\\/]/).pop() as string, model: l.model, clip: l.clip })),
      embeddings: slots,
      ownBytes,
    };
    const out: MergedManifest = { ...manifest, merge };
    writeFileSync(join(outDir, MANIFEST_FILE), `${JSON.stringify(out, null, 2)}\n`);
    return out;
  } finally {
    for (const f of files) f.close();
  }
}
