/**
 * Converts an original single-file SD 1.x `.safetensors` checkpoint (ldm layout) into a HordeDesk
 * ONNX model folder, streaming one tensor at a time from disk into the graph builder.
 */
import { openCkpt } from './ckpt/ckptReader';
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  MANIFEST_FILE,
  SD15_CONFIG,
  SD_COMPONENTS,
  makeTinyConfig,
  WeightError,
  expectedWeights,
  writeSdModelFolder,
  type FloatDtype,
  type Opset,
  type SdComponent,
  type SdGraphConfig,
  type SdIoDtypes,
  type SdModelManifest,
  type WeightSource,
} from '../graph';
import { writeTokenizerFiles } from '../tokenizer';
import type { AttentionKind } from '../graph/builder';
import { type ConvertibleFamily, assertSupportedFamily, detectLdmFamily, diffusersToLdm, sd1DetectionKey } from './ldmKeys';
import { CheckpointFormatError } from './formatError';
import { SafetensorsReader } from './safetensors';

/** Version of this converter, recorded in the manifest as `converterVersion`. */
export const CONVERTER_VERSION = '1.0.0';

/** The tensor dtypes a converter reads (safetensors names). */
export const READABLE_DTYPES: ReadonlySet<string> = new Set(['F32', 'F16', 'BF16']);
const LISTED_PROBLEMS = 25;

/** A refusal's list of problems as its message shows it: the first LISTED_PROBLEMS, one a line, then how many more. */
export function listedProblems(problems: readonly string[]): string {
  const shown = problems.slice(0, LISTED_PROBLEMS).join('\n  ');
  const more = problems.length > LISTED_PROBLEMS ? `\n  … and ${problems.length - LISTED_PROBLEMS} more` : '';
  return `${shown}${more}`;
}

/** The checkpoint lacks tensors the model needs, or has them in the wrong shape; `problems` lists each one. */
export class ConversionError extends Error {
  constructor(
    message: string,
    readonly problems: readonly string[],
  ) {
    super(message);
    this.name = 'ConversionError';
  }
}

/** Options of `convertCheckpoint`. */
export interface ConvertOptions {
  /** Stored weight precision of the ONNX models (default fp16). */
  dtype?: FloatDtype;
  /** 17 (default, DirectML-safe) or 21. */
  opset?: Opset;
  /** How attention is written (default 'fused'; `graphChoiceFor(provider)` picks it per provider). */
  attention?: AttentionKind;
  /** Architecture (default: read from the checkpoint by `configForCheckpoint`). */
  config?: SdGraphConfig;
  /** Default all four: text_encoder, unet, vae_decoder, vae_encoder. */
  components?: readonly SdComponent[];
  /** Also write the seamless-tiling variants (`model.tiled.onnx`, sharing the weights; default true). */
  tiled?: boolean;
  io?: Partial<SdIoDtypes>;
  externalThresholdBytes?: number;
  /** Written to `tokenizer/` with `writeTokenizerFiles` when given. */
  tokenizer?: { vocabJson?: string; mergesTxt: string };
  /** Replace an existing `outDir` (default false: an existing folder is an error). */
  overwrite?: boolean;
  /**
   * false: leave the finished folder at `outDir + '.partial'` and let the caller move it into place (the installer
   * does, so a Cancel that lands at any moment before its rename leaves nothing installed). Default true.
   */
  commit?: boolean;
  /** Called after each tensor is read: `done` of `total` tensors, the diffusers name just read. */
  onProgress?: (done: number, total: number, tensorName: string) => void;
}

/** What every converter (SD 1.x, SDXL) takes besides its architecture and components. */
export type ConvertOutputOptions = Omit<ConvertOptions, 'config' | 'components'>;

/** The written `hordedesk-model.json`. */
export interface ConvertManifest extends SdModelManifest {
  converterVersion: string;
  source: { file: string; family: ConvertibleFamily; tensors: number };
}

/** Resolved location of one needed tensor: the graph's shape and the checkpoint key it is read from. */
export interface PlannedWeight {
  shape: readonly number[];
  key: string;
}

/** Resolved location of one needed tensor. */
interface PlannedTensor extends PlannedWeight {
  component: SdComponent;
  name: string;
  entry: { name: string; dtype: string; shape: readonly number[] };
}

/** A shape without its trailing 1s beyond two dimensions (a conv 1×1 kernel stored as a matrix), for comparing. */
export const stripOnes = (s: readonly number[]): string => {
  const out = [...s];
  while (out.length > 2 && out.at(-1) === 1) out.pop();
  return out.join(',');
};

/**
 * What is wrong with the checkpoint tensor `entry` found for `key` (missing, another shape, a dtype no converter
 * reads), or null; `where` names the graph weight ("unet conv_in.weight").
 */
export function tensorProblem(
  entry: { name: string; dtype: string; shape: readonly number[] } | undefined,
  key: string,
  where: string,
  shape: readonly number[],
): string | null {
  if (!entry) return `missing ${key} (${where}, shape [${shape.join(', ')}])`;
  if (stripOnes(entry.shape) !== stripOnes(shape))
    return `${entry.name}: shape [${entry.shape.join(', ')}], expected [${shape.join(', ')}] (${where})`;
  if (!READABLE_DTYPES.has(entry.dtype)) return `${entry.name}: dtype ${entry.dtype} cannot be converted (need F32, F16 or BF16)`;
  return null;
}

/** What the converter reads from a checkpoint: `.safetensors` (SafetensorsReader) or `.ckpt` (ckpt/). */
export interface CheckpointTensors {
  readonly path: string;
  readonly entries: ReadonlyMap<string, unknown>;
  entry(name: string): { name: string; dtype: string; shape: readonly number[] } | undefined;
  read(name: string): Float32Array;
  close(): void;
}

/** Opens a checkpoint by its extension; `.ckpt` goes through the restricted unpickler. */
export function openCheckpoint(path: string): CheckpointTensors {
  if (!path.toLowerCase().endsWith('.ckpt')) return new SafetensorsReader(path);
  const ckpt = openCkpt(path);
  const entries = new Map(ckpt.names().map((name) => [name, { name, dtype: ckpt.dtype(name), shape: ckpt.shape(name) }]));
  return { path, entries, entry: (name) => entries.get(name), read: (name) => ckpt.read(name), close: () => ckpt.close() };
}

/** UNet input channels HordeDesk can run: 4 (txt2img, img2img) and 9 (inpainting: latent, mask, masked-image latent). */
const UNET_IN_CHANNELS: readonly number[] = [4, 9];

/** `config` with the UNet's input channels set to `inChannels` (the same object when they already agree). */
function withUnetInChannels(config: SdGraphConfig, inChannels: number): SdGraphConfig {
  return config.unet.inChannels === inChannels ? config : { ...config, unet: { ...config.unet, inChannels } };
}

/**
 * The architecture from the checkpoint itself: SD 1.5 sizes when the UNet's first conv has 320 output
 * channels; HordeDesk's tiny test config when it has the tiny width. The UNet's input channels are that
 * conv's second dimension (9 for inpainting checkpoints). Anything else is refused.
 */
export function configForCheckpoint(reader: CheckpointTensors): SdGraphConfig {
  const convIn = reader.entry('model.diffusion_model.input_blocks.0.0.weight')?.shape;
  const [first, inChannels] = [convIn?.[0], convIn?.[1] ?? 4];
  if (!UNET_IN_CHANNELS.includes(inChannels))
    throw new CheckpointFormatError(
      `${reader.path}: a UNet with ${inChannels} input channels is neither an SD 1.x model (4) nor an inpainting one (9); HordeDesk cannot run it.`,
    );
  if (first === SD15_CONFIG.unet.blockOutChannels[0]) return withUnetInChannels(SD15_CONFIG, inChannels);
  const vocab = reader.entry('cond_stage_model.transformer.text_model.embeddings.token_embedding.weight')?.shape[0];
  const tiny = makeTinyConfig(vocab === undefined ? {} : { vocabSize: vocab });
  if (first === tiny.unet.blockOutChannels[0]) return withUnetInChannels(tiny, inChannels);
  throw new CheckpointFormatError(
    `${reader.path}: a UNet of width ${String(first)} is neither SD 1.x nor HordeDesk's test model; HordeDesk cannot convert it.`,
  );
}

/**
 * Resolves every tensor the components need to a checkpoint entry, checking presence, shape and dtype
 * without reading any tensor data. Throws a `ConversionError` listing every problem found.
 */
export function planConversion(
  reader: CheckpointTensors,
  config: SdGraphConfig,
  components: readonly SdComponent[],
): Map<string, PlannedTensor> {
  const plan = new Map<string, PlannedTensor>();
  const problems: string[] = [];
  for (const component of components) {
    for (const { name, shape } of expectedWeights(config, component)) {
      const ldm = diffusersToLdm(name, component, config);
      const key = [ldm.key, ...(ldm.alternatives ?? [])].find((k) => reader.entries.has(k));
      const entry = key === undefined ? undefined : reader.entry(key);
      const problem = tensorProblem(entry, ldm.key, `${component} ${name}`, shape);
      if (problem !== null) problems.push(problem);
      else if (entry) plan.set(`${component}/${name}`, { component, name, shape, key: entry.name, entry });
    }
  }
  if (problems.length > 0)
    throw new ConversionError(
      `${reader.path}: ${problems.length} tensor(s) missing or mis-shaped:\n  ${listedProblems(problems)}`,
      problems,
    );
  return plan;
}

/** A `WeightSource` for one component that reads planned tensors (keyed `component/name`) from the checkpoint on demand. */
export function plannedWeightSource(
  reader: CheckpointTensors,
  plan: ReadonlyMap<string, PlannedWeight>,
  component: string,
  onRead?: (name: string) => void,
): WeightSource {
  return {
    get(name, shape) {
      const p = plan.get(`${component}/${name}`);
      if (!p) throw new WeightError(name, `Weight ${name} (${component}) was not planned for conversion`);
      if (stripOnes(p.shape) !== stripOnes(shape))
        throw new WeightError(name, `Weight ${name}: expected shape [${shape.join(', ')}], planned [${p.shape.join(', ')}]`);
      const data = reader.read(p.key);
      onRead?.(name);
      return data;
    },
  };
}

/**
 * Converts an SD 1.x ldm checkpoint (`.safetensors`, or `.ckpt` through the restricted reader) into an ONNX model
 * folder at `outDir`. The file's header and every needed tensor's presence/shape are checked before anything is
 * written; the folder is built at `outDir + '.partial'` and renamed into place, so a failure leaves no output behind.
 */
export async function convertCheckpoint(checkpointPath: string, outDir: string, opts: ConvertOptions = {}): Promise<ConvertManifest> {
  await Promise.resolve();
  if ((opts.commit ?? true) && existsSync(outDir) && !opts.overwrite)
    throw new Error(`${outDir} already exists (pass overwrite: true to replace it)`);
  const reader = openCheckpoint(checkpointPath);
  try {
    return convertOpenCheckpoint(reader, outDir, opts);
  } finally {
    reader.close();
  }
}

/** {@link convertCheckpoint} for a checkpoint that is already open (the convert worker detects its config first). */
export function convertOpenCheckpoint(reader: CheckpointTensors, outDir: string, opts: ConvertOptions = {}): ConvertManifest {
  const commit = opts.commit ?? true;
  const components = opts.components ?? SD_COMPONENTS;
  if (commit && existsSync(outDir) && !opts.overwrite) throw new Error(`${outDir} already exists (pass overwrite: true to replace it)`);
  const config = opts.config ?? configForCheckpoint(reader);
  return stagedConversion(outDir, opts, (staging) => {
    const detectionKey = sd1DetectionKey(config);
    const family = detectLdmFamily(reader.entries.keys(), (k) => reader.entry(k)?.shape, detectionKey);
    assertSupportedFamily(family, reader.path, detectionKey);
    const plan = planConversion(reader, config, components);
    rmSync(staging, { recursive: true, force: true });
    let done = 0;
    const written: SdModelManifest['components'] = [];
    for (const component of components) {
      const weights = plannedWeightSource(reader, plan, component, (name) => opts.onProgress?.(++done, plan.size, name));
      const part = writeSdModelFolder(staging, { config, weights, components: [component], ...folderOptions(opts) });
      written.push(...part.components);
    }
    const last = JSON.parse(readFileSync(join(staging, MANIFEST_FILE), 'utf8')) as SdModelManifest;
    return {
      ...last,
      components: written,
      converterVersion: CONVERTER_VERSION,
      source: { file: basename(reader.path), family, tensors: reader.entries.size },
    };
  });
}

/** The model-folder writer's options a conversion passes on, with the converters' defaults (fp16, opset 17, twins). */
export function folderOptions(opts: ConvertOutputOptions) {
  return {
    dtype: opts.dtype ?? 'fp16',
    opset: opts.opset ?? 17,
    ...(opts.attention ? { attention: opts.attention } : {}),
    ...(opts.io ? { io: opts.io } : {}),
    ...(opts.externalThresholdBytes !== undefined ? { externalThresholdBytes: opts.externalThresholdBytes } : {}),
    tiled: opts.tiled ?? true,
  } as const;
}

/**
 * Builds a model folder at `outDir + '.partial'`: `build(staging)` writes the graphs and returns the manifest; then
 * the tokenizer files, the manifest last, and the rename into place unless `commit: false`. A failure anywhere
 * removes the partial folder, so it leaves no output behind.
 */
export function stagedConversion<M>(outDir: string, opts: ConvertOutputOptions, build: (staging: string) => M): M {
  const staging = `${outDir}.partial`;
  try {
    const manifest = build(staging);
    if (opts.tokenizer) writeTokenizerFiles(staging, opts.tokenizer);
    writeFileSync(join(staging, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (opts.commit ?? true) {
      if (opts.overwrite) rmSync(outDir, { recursive: true, force: true });
      renameSync(staging, outDir);
    }
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  }
}
