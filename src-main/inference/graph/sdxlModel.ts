/**
 * SDXL components and their model folder: which builder makes which graph, the weights each one reads, and the
 * folder in the published diffusers-ONNX SDXL layout (`text_encoder/`, `text_encoder_2/`, `unet/`, `vae_decoder/`,
 * `vae_encoder/`) with HordeDesk's manifest (family `sdxl`).
 */
import { GraphBuilder } from './builder';
import { componentBuilder } from './components';
import { SD15_CONFIG, type SdGraphConfig } from './config';
import { DIMS, type SdBuildOptions, type SdIoDtypes, floatOutput, resolveOptions } from './io';
import { type MANIFEST_FORMAT, writeComponentFolder, writeModelFolder } from './modelFolder';
import type { ModelSpec } from './onnxProto';
import { openClipTextGraph } from './openClipText';
import { type SdxlGraphConfig, validateSdxlConfig } from './sdxlConfig';
import { sdxlUnetGraph } from './sdxlUnet';
import { clipTextTower } from './textEncoder';
import { vaeDecoderGraph, vaeEncoderGraph } from './vae';
import { type WeightSource, type WeightSpec, elementCount } from './weights';

/** An SDXL model component; the name is also its folder. */
export type SdxlComponent = 'text_encoder' | 'text_encoder_2' | 'unet' | 'vae_decoder' | 'vae_encoder';

/** Every SDXL component, in the order the converter writes them. */
export const SDXL_COMPONENTS: readonly SdxlComponent[] = ['text_encoder', 'text_encoder_2', 'unet', 'vae_decoder', 'vae_encoder'];

/** Components with a seamless-tiling twin (circular padding), as for SD 1.x (see components.ts `TILED_COMPONENTS`). */
export const SDXL_TILED_COMPONENTS: readonly SdxlComponent[] = ['unet', 'vae_decoder', 'vae_encoder'];

/** The VAE builders read only `config.vae`; SDXL's VAE has SD's architecture with another scale factor. */
function vaeOnly(config: SdxlGraphConfig): SdGraphConfig {
  return { ...SD15_CONFIG, vae: config.vae };
}

/** CLIP-L: `last_hidden_state`, `pooler_output` and `hidden_states.0..layers` (SDXL reads `hidden_states.{layers−1}`). */
function clipLGraph(g: GraphBuilder, config: SdxlGraphConfig, io: SdIoDtypes): void {
  const c = config.textEncoder;
  const d = c.hiddenSize;
  const { last, pooled, states } = clipTextTower(g, c, io);
  floatOutput(g, io, 'last_hidden_state', last, [DIMS.batch, DIMS.sequence, d]);
  floatOutput(g, io, 'pooler_output', pooled, [DIMS.batch, d]);
  states.forEach((s, i) => floatOutput(g, io, `hidden_states.${i}`, s, [DIMS.batch, DIMS.sequence, d]));
}

const GRAPHS: Record<SdxlComponent, (g: GraphBuilder, config: SdxlGraphConfig, opts: SdBuildOptions) => void> = {
  text_encoder: (g, config, opts) => clipLGraph(g, config, resolveOptions(opts).io),
  text_encoder_2: (g, config, opts) => openClipTextGraph(g, config.textEncoder2, resolveOptions(opts).io),
  unet: (g, config, opts) => sdxlUnetGraph(g, config.unet, resolveOptions(opts).io),
  vae_decoder: (g, config, opts) => vaeDecoderGraph(g, vaeOnly(config), opts),
  vae_encoder: (g, config, opts) => vaeEncoderGraph(g, vaeOnly(config), opts),
};

/**
 * Components built in float32 whatever the model's dtype: SDXL's original VAE overflows in half precision (SD-ONNX
 * §1.5; the reason madebyollin's fp16-fix VAE exists), so both VAE graphs run, and keep their weights, in float32.
 */
const FP32_COMPONENTS: readonly SdxlComponent[] = ['vae_decoder', 'vae_encoder'];

/** Builds one SDXL component (weights handed to `opts.sink` as the graph is built; or `opts.storedWeights`). */
export function buildSdxlComponent(
  component: SdxlComponent,
  config: SdxlGraphConfig,
  weights: WeightSource | null,
  opts: SdBuildOptions = {},
): ModelSpec {
  validateSdxlConfig(config);
  const g = componentBuilder(component, weights, opts, FP32_COMPONENTS.includes(component) ? 'fp32' : undefined);
  GRAPHS[component](g, config, opts);
  return g.finish(`HordeDesk sdxl ${component}`);
}

/** The diffusers-named weights (OpenCLIP names for `text_encoder_2`) a component reads, with shapes, in graph order. */
export function expectedSdxlWeights(config: SdxlGraphConfig, component: SdxlComponent): WeightSpec[] {
  validateSdxlConfig(config);
  const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights: null, name: component });
  GRAPHS[component](g, config, {});
  return g.weightLog;
}

/** Bytes a component's stored weights take: the VAE graphs keep float32 weights in fp16 models too. */
function storedWeightBytes(component: SdxlComponent, parameters: number, dtype: 'fp32' | 'fp16'): number {
  const fp32 = dtype === 'fp32' || FP32_COMPONENTS.includes(component);
  return parameters * (fp32 ? 4 : 2);
}

/** Options of `writeSdxlModelFolder`. */
export interface WriteSdxlModelOptions extends Pick<SdBuildOptions, 'dtype' | 'opset' | 'attention'> {
  config: SdxlGraphConfig;
  /** The weights of each component (one source per component, so a converter can stream each from its prefix). */
  weights: (component: SdxlComponent) => WeightSource;
  io?: Partial<SdIoDtypes>;
  /** Default: all five. */
  components?: readonly SdxlComponent[];
  externalThresholdBytes?: number;
  /** Also write `model.tiled.onnx` beside the UNet's and the VAE's graphs (default false). */
  tiled?: boolean;
}

/** What was written for one component (as `WrittenComponent`, with SDXL's component names). */
export interface WrittenSdxlComponent {
  component: SdxlComponent;
  model: string;
  externalData: string | null;
  tiledModel?: string;
  parameters: number;
  weightBytes: number;
}

/** The `hordedesk-model.json` of an SDXL folder. */
export interface SdxlModelManifest {
  format: typeof MANIFEST_FORMAT;
  family: 'sdxl';
  config: SdxlGraphConfig;
  dtype: 'fp32' | 'fp16';
  opset: 17 | 21;
  attention: 'plain' | 'fused';
  io: SdIoDtypes;
  builderVersion: string;
  components: WrittenSdxlComponent[];
}

function writeSdxlComponent(dir: string, component: SdxlComponent, opts: WriteSdxlModelOptions, threshold: number): WrittenSdxlComponent {
  const { dtype, opset, io, attention } = resolveOptions(opts);
  const parameters = expectedSdxlWeights(opts.config, component).reduce((n, w) => n + elementCount(w.shape), 0);
  return writeComponentFolder(
    dir,
    {
      component,
      parameters,
      weightBytes: storedWeightBytes(component, parameters, dtype),
      tiled: opts.tiled === true && SDXL_TILED_COMPONENTS.includes(component),
      build: (sink) => buildSdxlComponent(component, opts.config, opts.weights(component), { dtype, opset, io, sink, attention }),
      buildTwin: (storedWeights) =>
        buildSdxlComponent(component, opts.config, null, { dtype, opset, io, attention, storedWeights, paddingMode: 'circular' }),
    },
    threshold,
  );
}

/**
 * Writes `<dir>/<component>/model.onnx` (+ `weights.pb` when large or tiled, + `model.tiled.onnx`) for each SDXL
 * component, streaming weights one tensor at a time, then `hordedesk-model.json` last.
 */
export function writeSdxlModelFolder(dir: string, opts: WriteSdxlModelOptions): SdxlModelManifest {
  return writeModelFolder(dir, { family: 'sdxl' as const, config: opts.config, opts }, opts.components ?? SDXL_COMPONENTS, (c, threshold) =>
    writeSdxlComponent(dir, c, opts, threshold),
  );
}
