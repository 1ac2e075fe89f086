/**
 * Writes a complete SD model folder in the published diffusers-ONNX layout plus a HordeDesk manifest.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AttentionKind, BUILDER_VERSION, type FloatDtype, type Opset } from './builder';
import { type SdComponent, TILED_COMPONENTS, buildComponent, expectedWeights, parameterCount } from './components';
import type { SdGraphConfig } from './config';
import { type InitializerSink, externalSink, inlineSink, writeModelFile } from './initializers';
import { type SdBuildOptions, type SdIoDtypes, resolveOptions } from './io';
import type { ModelSpec, TensorSpec } from './onnxProto';
import type { WeightSource } from './weights';

/** Manifest file name, next to the component folders. */
export const MANIFEST_FILE = 'hordedesk-model.json';
/** Manifest `format` value. */
export const MANIFEST_FORMAT = 'hordedesk-sd-onnx';
/** Name of a component's external weight file, next to its model.onnx. */
export const EXTERNAL_DATA_FILE = 'weights.pb';
/** Components whose weights exceed this many bytes get external data (the protobuf limit is 2 GB). */
export const DEFAULT_EXTERNAL_THRESHOLD_BYTES = 256 * 1024 * 1024;

export interface WriteSdModelOptions {
  config: SdGraphConfig;
  weights: WeightSource;
  dtype?: FloatDtype;
  opset?: Opset;
  io?: Partial<SdIoDtypes>;
  /** Default: text_encoder, unet, vae_decoder (the encoder is only needed for img2img). */
  components?: readonly SdComponent[];
  /** A component whose weights exceed this many bytes stores them in `weights.pb`; 0 forces external data. */
  externalThresholdBytes?: number;
  /** Text encoder only: output `hidden_states.*` too (default true). */
  hiddenStates?: boolean;
  /**
   * Also write `<component>/model.tiled.onnx`, the seamless-tiling variant, for each of `TILED_COMPONENTS`
   * (default false). Both graphs read one `weights.pb`, so such a component always stores its weights externally.
   */
  tiled?: boolean;
  /** How attention is written (default 'fused': one MultiHeadAttention node; see `AttentionKind`). */
  attention?: AttentionKind;
}

/** What was written for one component. */
export interface WrittenComponent {
  component: SdComponent;
  /** Path relative to the folder, e.g. `unet/model.onnx`. */
  model: string;
  /** Relative path of the external data file, or null when weights are inline. */
  externalData: string | null;
  /** Relative path of the seamless-tiling variant (same weights file), when one was written. */
  tiledModel?: string;
  parameters: number;
  weightBytes: number;
}

/** The `hordedesk-model.json` manifest. */
export interface SdModelManifest {
  format: typeof MANIFEST_FORMAT;
  family: SdGraphConfig['family'];
  config: SdGraphConfig;
  dtype: FloatDtype;
  opset: Opset;
  /** Absent in folders written before the fused form existed (they are 'plain'). */
  attention?: AttentionKind;
  io: SdIoDtypes;
  builderVersion: string;
  components: WrittenComponent[];
}

/** The tiled variant's file name, next to `model.onnx`. */
export const TILED_MODEL_FILE = 'model.tiled.onnx';

/**
 * The weights a built model keeps in external data, by name: what its tiled twin points at. Every weight of a
 * component that gets a twin is external (see `writeComponentFolder`), and the builder's own small constants are inline.
 */
function externalWeights(model: ModelSpec): Map<string, TensorSpec> {
  return new Map(model.graph.initializers.filter((t) => t.external).map((t) => [t.name, t]));
}

/** One component for {@link writeComponentFolder}: its folder name, its size, and how its graphs are built. */
export interface ComponentToWrite<Name extends string> {
  component: Name;
  parameters: number;
  /** Bytes its weights take as stored (decides whether they go to `weights.pb`). */
  weightBytes: number;
  /** Also write the seamless-tiling twin (`model.tiled.onnx`, circular padding, pointing at the same weights). */
  tiled: boolean;
  /** The graph with weights streamed into `sink`. */
  build: (sink: InitializerSink) => ModelSpec;
  /** The twin's graph, pointing at the weights the first graph stored. */
  buildTwin: (storedWeights: Map<string, TensorSpec>) => ModelSpec;
}

/**
 * Writes one component's folder (model, weights, tiled twin) and says what it wrote; the same for SD 1.x and SDXL
 * (sdxlModel.ts). Weights go to `weights.pb` when they pass `threshold` bytes or a twin shares them.
 */
export function writeComponentFolder<Name extends string>(dir: string, c: ComponentToWrite<Name>, threshold: number) {
  const folder = join(dir, c.component);
  mkdirSync(folder, { recursive: true });
  const external = c.tiled || c.weightBytes > threshold;
  rmSync(join(folder, EXTERNAL_DATA_FILE), { force: true });
  rmSync(join(folder, TILED_MODEL_FILE), { force: true });
  const sink: InitializerSink = external ? externalSink(join(folder, EXTERNAL_DATA_FILE), EXTERNAL_DATA_FILE) : inlineSink();
  let model: ModelSpec;
  try {
    model = c.build(sink);
    sink.close();
    writeModelFile(join(folder, 'model.onnx'), model);
  } finally {
    sink.close();
  }
  if (c.tiled) writeModelFile(join(folder, TILED_MODEL_FILE), c.buildTwin(externalWeights(model)));
  return {
    component: c.component,
    model: `${c.component}/model.onnx`,
    externalData: external ? `${c.component}/${EXTERNAL_DATA_FILE}` : null,
    ...(c.tiled ? { tiledModel: `${c.component}/${TILED_MODEL_FILE}` } : {}),
    parameters: c.parameters,
    weightBytes: c.weightBytes,
  };
}

/** Writes one SD 1.x component's folder (model, weights, tiled twin) and says what it wrote. */
function writeComponent(dir: string, component: SdComponent, opts: WriteSdModelOptions, threshold: number): WrittenComponent {
  const { dtype, opset, io, hiddenStates, attention } = resolveOptions(opts);
  const parameters = parameterCount(expectedWeights(opts.config, component));
  return writeComponentFolder(
    dir,
    {
      component,
      parameters,
      weightBytes: parameters * (dtype === 'fp16' ? 2 : 4),
      tiled: opts.tiled === true && TILED_COMPONENTS.includes(component),
      build: (sink) => buildComponent(component, opts.config, opts.weights, { dtype, opset, io, sink, hiddenStates, attention }),
      buildTwin: (storedWeights) =>
        buildComponent(component, opts.config, null, {
          ...{ dtype, opset, io, hiddenStates, attention, storedWeights },
          paddingMode: 'circular',
        }),
    },
    threshold,
  );
}

/**
 * Writes `<dir>/<component>/model.onnx` (+ `weights.pb` when large, + `model.tiled.onnx` when `tiled`) for each
 * component, then `<dir>/hordedesk-model.json`. Weights stream from `weights` one tensor at a time, read once
 * even for a tiled twin; the manifest is written last, so a folder without it is an interrupted conversion.
 */
export function writeSdModelFolder(dir: string, opts: WriteSdModelOptions): SdModelManifest {
  return writeModelFolder(
    dir,
    { family: opts.config.family, config: opts.config, opts },
    opts.components ?? (['text_encoder', 'unet', 'vae_decoder'] as const),
    (component, threshold) => writeComponent(dir, component, opts, threshold),
  );
}

/**
 * Writes each component with `writeOne` (weights to `weights.pb` above the options' threshold), then
 * `hordedesk-model.json` last, for any family: a folder without it is an interrupted write (any manifest from
 * before is removed first). Returns the manifest.
 */
export function writeModelFolder<C, W, F extends string, Config>(
  dir: string,
  head: { family: F; config: Config; opts: SdBuildOptions & { externalThresholdBytes?: number } },
  components: readonly C[],
  writeOne: (component: C, threshold: number) => W,
) {
  const { dtype, opset, io, attention } = resolveOptions(head.opts);
  const threshold = head.opts.externalThresholdBytes ?? DEFAULT_EXTERNAL_THRESHOLD_BYTES;
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, MANIFEST_FILE), { force: true });
  const written = components.map((component) => writeOne(component, threshold));
  const manifest = {
    format: MANIFEST_FORMAT as typeof MANIFEST_FORMAT,
    family: head.family,
    config: head.config,
    dtype,
    opset,
    attention,
    io,
    builderVersion: BUILDER_VERSION,
    components: written,
  };
  writeFileSync(join(dir, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest;
}
