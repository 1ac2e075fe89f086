/**
 * A published upscaler file → a model folder: `model.onnx` (with `weights.pb` when the weights are large) and
 * `hordedesk-upscaler.json`, written last, so a folder without it is an interrupted conversion.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  BUILDER_VERSION,
  DEFAULT_EXTERNAL_THRESHOLD_BYTES,
  EXTERNAL_DATA_FILE,
  type InitializerSink,
  type WeightSource,
  WeightError,
  externalSink,
  inlineSink,
  parameterCount,
  writeModelFile,
} from '../graph';
import { type UpscalerPlan, planUpscaler } from './architecture';
import { UpscalerFormatError } from './errors';
import { buildUpscalerGraph, expectedUpscalerWeights, unshuffleToSpaceToDepth } from './graphs';
import { type SizeRequirement, type UpscalerSpec, sizeRequirementOf } from './spec';
import { type UpscalerTensors, openUpscalerFile } from './upscalerFile';

/** The manifest's file name, next to `model.onnx`. */
export const UPSCALER_MANIFEST_FILE = 'hordedesk-upscaler.json';
/** The manifest's `format`. */
export const UPSCALER_MANIFEST_FORMAT = 'hordedesk-upscaler-onnx';
/** The graph's file name in the folder. */
export const UPSCALER_MODEL_FILE = 'model.onnx';

/** `hordedesk-upscaler.json`: what the folder holds and how to run it. */
export interface UpscalerManifest {
  format: typeof UPSCALER_MANIFEST_FORMAT;
  /** The post-processor's name (the horde's, e.g. `RealESRGAN_x4plus`). */
  name: string;
  spec: UpscalerSpec;
  /** How spandrel pads each tile (the runner does the same). */
  sizeRequirement: SizeRequirement;
  dtype: 'fp32';
  opset: 17;
  builderVersion: string;
  model: typeof UPSCALER_MODEL_FILE;
  externalData: string | null;
  parameters: number;
  source: { file: string; container: UpscalerTensors['container']; tensors: number };
}

/** Options of {@link convertUpscaler}. */
export interface ConvertUpscalerOptions {
  /** The post-processor's name (default: the file's name without its extension). */
  name?: string;
  /** Weights over this many bytes go to `weights.pb` (default 256 MiB; 0 forces it). */
  externalThresholdBytes?: number;
}

/** Weights by graph name, read from the file; the unshuffle model's first conv is reordered for SpaceToDepth. */
function planWeightSource(plan: UpscalerPlan, file: UpscalerTensors): WeightSource {
  const { spec } = plan;
  return {
    get(name, shape) {
      const fileName = plan.keys.get(name);
      if (fileName === undefined) throw new WeightError(name, `Weight ${name} is not in the upscaler plan`);
      const data = file.read(fileName);
      if (spec.arch === 'rrdb' && spec.shuffle > 1 && name === 'conv_first.weight')
        return unshuffleToSpaceToDepth(data, shape[0] ?? 0, spec.shuffle, (shape[2] ?? 1) * (shape[3] ?? 1));
      return data;
    },
  };
}

/** Writes the graph, inline or with external weights. */
function writeGraph(dir: string, plan: UpscalerPlan, file: UpscalerTensors, external: boolean): void {
  rmSync(join(dir, EXTERNAL_DATA_FILE), { force: true });
  const sink: InitializerSink = external ? externalSink(join(dir, EXTERNAL_DATA_FILE), EXTERNAL_DATA_FILE) : inlineSink();
  try {
    const model = buildUpscalerGraph(plan.spec, planWeightSource(plan, file), { sink });
    sink.close();
    writeModelFile(join(dir, UPSCALER_MODEL_FILE), model);
  } finally {
    sink.close();
  }
}

/**
 * Converts an upscaler file (`.pth` zip or legacy, `.safetensors`; RRDBNet in any of its three layouts, or
 * SRVGGNetCompact) into `dir`. Throws UpscalerFormatError naming the tensor when the file cannot be mapped,
 * CheckpointFormatError / UnsafeCheckpointError when it cannot be read.
 */
export function convertUpscaler(path: string, dir: string, opts: ConvertUpscalerOptions = {}): UpscalerManifest {
  const file = openUpscalerFile(path);
  try {
    const plan = planUpscaler(file);
    const parameters = parameterCount(expectedUpscalerWeights(plan.spec));
    const external = parameters * 4 > (opts.externalThresholdBytes ?? DEFAULT_EXTERNAL_THRESHOLD_BYTES);
    mkdirSync(dir, { recursive: true });
    rmSync(join(dir, UPSCALER_MANIFEST_FILE), { force: true });
    writeGraph(dir, plan, file, external);
    const manifest: UpscalerManifest = {
      format: UPSCALER_MANIFEST_FORMAT,
      name: opts.name ?? basename(path).replace(/\.[^.]+$/, ''),
      spec: plan.spec,
      sizeRequirement: sizeRequirementOf(plan.spec),
      dtype: 'fp32',
      opset: 17,
      builderVersion: BUILDER_VERSION,
      model: UPSCALER_MODEL_FILE,
      externalData: external ? EXTERNAL_DATA_FILE : null,
      parameters,
      source: { file: basename(path), container: file.container, tensors: file.names().length },
    };
    writeFileSync(join(dir, UPSCALER_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    return manifest;
  } finally {
    file.close();
  }
}

/** Reads a folder's manifest; refuses a folder that is not a finished upscaler conversion. */
export function readUpscalerManifest(dir: string): UpscalerManifest {
  let manifest: UpscalerManifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, UPSCALER_MANIFEST_FILE), 'utf8')) as UpscalerManifest;
  } catch {
    throw new UpscalerFormatError(`${dir} holds no finished upscaler conversion (${UPSCALER_MANIFEST_FILE} is missing or unreadable).`);
  }
  if (manifest.format !== UPSCALER_MANIFEST_FORMAT) throw new UpscalerFormatError(`${dir} is not a HordeDesk upscaler folder.`);
  return manifest;
}
