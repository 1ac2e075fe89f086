/**
 * A CLIP model folder: `vision/model.onnx` and/or `text/model.onnx` (each with `weights.pb` when large) and
 * `hordedesk-clip.json` written last, converted from a Hugging Face CLIP safetensors file one tensor at a time.
 */
import { existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { SafetensorsReader } from '../convert/safetensors';
import {
  BUILDER_VERSION,
  DEFAULT_EXTERNAL_THRESHOLD_BYTES,
  EXTERNAL_DATA_FILE,
  type FloatDtype,
  type InitializerSink,
  type Opset,
  type WeightSource,
  externalSink,
  inlineSink,
  parameterCount,
  writeModelFile,
} from '../graph';
import { type ClipTower, buildClipTower, expectedClipWeights } from './build';
import type { ClipConfig } from './config';
import { clipConfigFromCheckpoint, clipWeightSource, hfClipTowers, planClipWeights } from './hfKeys';

/** The manifest's file name. */
export const CLIP_MANIFEST_FILE = 'hordedesk-clip.json';
/** The manifest's `format`. */
export const CLIP_MANIFEST_FORMAT = 'hordedesk-clip-onnx';

/** One written tower. */
export interface WrittenClipTower {
  tower: ClipTower;
  /** Relative path, e.g. `vision/model.onnx`. */
  model: string;
  externalData: string | null;
  parameters: number;
  weightBytes: number;
}

/** `hordedesk-clip.json`. */
export interface ClipModelManifest {
  format: typeof CLIP_MANIFEST_FORMAT;
  config: ClipConfig;
  dtype: FloatDtype;
  opset: Opset;
  builderVersion: string;
  towers: WrittenClipTower[];
  /** The checkpoint it was converted from, when it was. */
  source?: { file: string; tensors: number };
}

/** Options of `writeClipModelFolder`. */
export interface WriteClipModelOptions {
  config: ClipConfig;
  /** Weights of each tower written. */
  weights: Partial<Record<ClipTower, WeightSource>>;
  /** Default: every tower the config has. */
  towers?: readonly ClipTower[];
  /** Default fp32. */
  dtype?: FloatDtype;
  /** Default 17. */
  opset?: Opset;
  /** A tower whose weights exceed this many bytes stores them in `weights.pb` (default 256 MiB; 0 forces it). */
  externalThresholdBytes?: number;
  source?: ClipModelManifest['source'];
}

function writeTower(dir: string, tower: ClipTower, opts: WriteClipModelOptions, dtype: FloatDtype, opset: Opset): WrittenClipTower {
  const weights = opts.weights[tower];
  if (!weights) throw new Error(`No weights given for the CLIP ${tower} tower`);
  const folder = join(dir, tower);
  mkdirSync(folder, { recursive: true });
  const parameters = parameterCount(expectedClipWeights(opts.config, tower));
  const weightBytes = parameters * (dtype === 'fp16' ? 2 : 4);
  const external = weightBytes > (opts.externalThresholdBytes ?? DEFAULT_EXTERNAL_THRESHOLD_BYTES);
  rmSync(join(folder, EXTERNAL_DATA_FILE), { force: true });
  const sink: InitializerSink = external ? externalSink(join(folder, EXTERNAL_DATA_FILE), EXTERNAL_DATA_FILE) : inlineSink();
  try {
    const model = buildClipTower(tower, opts.config, weights, { dtype, opset, sink });
    sink.close();
    writeModelFile(join(folder, 'model.onnx'), model);
  } finally {
    sink.close();
  }
  return { tower, model: `${tower}/model.onnx`, externalData: external ? `${tower}/${EXTERNAL_DATA_FILE}` : null, parameters, weightBytes };
}

/** Writes the towers, then the manifest (a folder without it is an interrupted conversion). */
export function writeClipModelFolder(dir: string, opts: WriteClipModelOptions): ClipModelManifest {
  const dtype = opts.dtype ?? 'fp32';
  const opset = opts.opset ?? 17;
  const towers = opts.towers ?? (['vision', 'text'] as const).filter((t) => opts.config[t] !== undefined);
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, CLIP_MANIFEST_FILE), { force: true });
  const written = towers.map((tower) => writeTower(dir, tower, opts, dtype, opset));
  const manifest: ClipModelManifest = {
    format: CLIP_MANIFEST_FORMAT,
    config: opts.config,
    dtype,
    opset,
    builderVersion: BUILDER_VERSION,
    towers: written,
    ...(opts.source ? { source: opts.source } : {}),
  };
  writeFileSync(join(dir, CLIP_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}

/** Options of `convertClipCheckpoint`. */
export interface ConvertClipOptions {
  /** Default fp16 (what the worker runs); fp32 for checks. */
  dtype?: FloatDtype;
  opset?: Opset;
  /** Attention heads, which no shape holds (default width / 64, right for openai's models). */
  heads?: { vision?: number; text?: number };
  /** Default: every tower the file holds. */
  towers?: readonly ClipTower[];
  externalThresholdBytes?: number;
  /** Replace an existing `outDir` (default false). */
  overwrite?: boolean;
  /** Called after each tensor is read. */
  onProgress?: (done: number, total: number, name: string) => void;
}

/**
 * Converts a Hugging Face CLIP `.safetensors` (CLIPModel, or either tower with its projection) into a CLIP model
 * folder at `outDir`: sizes from the shapes, every tensor checked before anything is written, built at
 * `outDir.partial` and renamed into place, so a failure leaves nothing behind.
 */
export function convertClipCheckpoint(path: string, outDir: string, opts: ConvertClipOptions = {}): ClipModelManifest {
  if (existsSync(outDir) && !opts.overwrite) throw new Error(`${outDir} already exists (pass overwrite: true to replace it)`);
  const reader = new SafetensorsReader(path);
  const staging = `${outDir}.partial`;
  try {
    const config = clipConfigFromCheckpoint(reader, opts.heads);
    const towers = opts.towers ?? hfClipTowers(reader);
    const plans = new Map(towers.map((t) => [t, planClipWeights(reader, config, t)] as const));
    const total = [...plans.values()].reduce((n, p) => n + p.size, 0);
    let done = 0;
    const weights = Object.fromEntries(
      [...plans].map(([t, plan]) => [t, clipWeightSource(reader, plan, (name) => opts.onProgress?.(++done, total, name))]),
    );
    rmSync(staging, { recursive: true, force: true });
    const manifest = writeClipModelFolder(staging, {
      config,
      weights,
      towers,
      dtype: opts.dtype ?? 'fp16',
      ...(opts.opset ? { opset: opts.opset } : {}),
      ...(opts.externalThresholdBytes !== undefined ? { externalThresholdBytes: opts.externalThresholdBytes } : {}),
      source: { file: basename(path), tensors: reader.entries.size },
    });
    rmSync(outDir, { recursive: true, force: true });
    renameSync(staging, outDir);
    return manifest;
  } catch (error) {
    rmSync(staging, { recursive: true, force: true });
    throw error;
  } finally {
    reader.close();
  }
}
