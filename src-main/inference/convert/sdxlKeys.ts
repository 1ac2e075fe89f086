/**
 * SDXL's published single-file layout (`sd_xl_base_1.0.safetensors`, the sgm `DiffusionEngine.state_dict()`):
 * where each tensor our graphs ask for lives, which keys are not weights, and the architecture read from the
 * tensors' shapes. Prefixes: `model.diffusion_model.` (UNet, ldm names), `first_stage_model.` (VAE, ldm names),
 * `conditioner.embedders.0.transformer.` (CLIP-L, Hugging Face names), `conditioner.embedders.1.model.` (OpenCLIP-G,
 * open_clip names) — huggingface/diffusers `loaders/single_file_utils.py` `CHECKPOINT_KEY_NAMES`, SD-ONNX §5.2, and
 * ../shared/data/sdxl-reference/README.md.
 */
import { SD15_CONFIG, type SdGraphConfig } from '../graph/config';
import { SDXL_LATENT_SCALE, type SdxlGraphConfig } from '../graph/sdxlConfig';
import type { SdxlComponent } from '../graph/sdxlModel';
import { CheckpointFormatError } from './formatError';
import { type LdmKey, diffusersToLdm } from './ldmKeys';

/** Key prefixes of the SDXL components in the published single file. */
export const SDXL_PREFIX = {
  unet: 'model.diffusion_model.',
  vae: 'first_stage_model.',
  clipL: 'conditioner.embedders.0.transformer.',
  clipG: 'conditioner.embedders.1.model.',
} as const;

/**
 * Keys that are in the file but are not weights of any graph: the denoiser's σ table (recomputed by the samplers),
 * CLIP-L's constant position ids, OpenCLIP's contrastive temperature.
 */
export const SDXL_IGNORED_KEYS: readonly string[] = [
  'denoiser.sigmas',
  `${SDXL_PREFIX.clipL}text_model.embeddings.position_ids`,
  `${SDXL_PREFIX.clipG}logit_scale`,
];

/** The SD 1.x key mapping reads only these parts of a config; SDXL's UNet and VAE share the ldm names. */
function ldmView(config: SdxlGraphConfig): SdGraphConfig {
  const u = config.unet;
  return {
    ...SD15_CONFIG,
    unet: { ...SD15_CONFIG.unet, layersPerBlock: u.layersPerBlock, attentionLevels: u.transformerDepth.map((d) => d > 0) },
    vae: config.vae,
  };
}

/** The checkpoint key holding the graph tensor `name` of SDXL component `component`. */
export function sdxlTensorKey(name: string, component: SdxlComponent, config: SdxlGraphConfig): LdmKey {
  if (component === 'text_encoder') return { key: `${SDXL_PREFIX.clipL}${name}` };
  if (component === 'text_encoder_2') return { key: `${SDXL_PREFIX.clipG}${name}` };
  if (component === 'unet') {
    // sgm's `label_emb` is Sequential(Sequential(Linear, SiLU, Linear)): diffusers' add_embedding.linear_1/2.
    const added = /^add_embedding\.linear_([12])\.(weight|bias)$/.exec(name);
    if (added) return { key: `${SDXL_PREFIX.unet}label_emb.0.${added[1] === '1' ? 0 : 2}.${added[2]}` };
    return diffusersToLdm(name, 'unet', ldmView(config));
  }
  return diffusersToLdm(name, component, ldmView(config));
}

/** Reads shapes by checkpoint key; undefined when the key is absent. */
export type ShapeOf = (key: string) => readonly number[] | undefined;

function need(shapeOf: ShapeOf, key: string, path: string): readonly number[] {
  const shape = shapeOf(key);
  if (!shape) throw new CheckpointFormatError(`${path}: this SDXL checkpoint has no "${key}", so its architecture cannot be read.`);
  return shape;
}

/** Distinct values of the first capture group of `pattern` over `keys`, ascending. */
function indices(keys: readonly string[], pattern: RegExp): number[] {
  const found = new Set<number>();
  for (const k of keys) {
    const m = pattern.exec(k);
    if (m) found.add(Number(m[1]));
  }
  return [...found].sort((a, b) => a - b);
}

const escape = (s: string): string => s.replace(/\./g, '\\.');

/**
 * Heads of a CLIP text tower or channels per UNet head are not stored in a checkpoint. Every published CLIP text
 * tower has 64-wide heads (ViT-L/14: 768/12, ViT-bigG/14: 1280/20) and SDXL's UNet `num_head_channels` is 64
 * (sd_xl_base.yaml); the reference's tiny test widths (below 128) use two heads per tower and 16 channels per UNet
 * head (its README's table).
 */
const textHeads = (width: number): number => (width >= 128 ? width / 64 : 2);
const unetHeadDim = (modelChannels: number): number => (modelChannels >= 128 ? 64 : modelChannels / 2);

function unetConfig(keys: readonly string[], shapeOf: ShapeOf, path: string, pooledDim: number): SdxlGraphConfig['unet'] {
  const P = SDXL_PREFIX.unet;
  const [c0, inChannels] = need(shapeOf, `${P}input_blocks.0.0.weight`, path) as [number, number];
  const downs = indices(keys, new RegExp(`^${escape(P)}input_blocks\\.(\\d+)\\.0\\.op\\.weight$`));
  const lpb = downs.length > 0 ? (downs[0] as number) - 1 : Math.max(...indices(keys, new RegExp(`^${escape(P)}input_blocks\\.(\\d+)\\.`)));
  const levels = downs.length + 1;
  const blockOutChannels: number[] = [];
  const transformerDepth: number[] = [];
  for (let i = 0; i < levels; i++) {
    const block = `${P}input_blocks.${i * (lpb + 1) + 1}`;
    blockOutChannels.push(need(shapeOf, `${block}.0.out_layers.3.weight`, path)[0] as number);
    transformerDepth.push(indices(keys, new RegExp(`^${escape(block)}\\.1\\.transformer_blocks\\.(\\d+)\\.`)).length);
  }
  const admInChannels = need(shapeOf, `${P}label_emb.0.0.weight`, path)[1] as number;
  const addTimeDim = (admInChannels - pooledDim) / 6;
  if (!Number.isInteger(addTimeDim) || addTimeDim <= 0 || addTimeDim % 2 !== 0)
    throw new CheckpointFormatError(
      `${path}: label_emb takes ${admInChannels} values, which is not the pooled text width ${pooledDim} plus six size/crop embeddings; HordeDesk cannot run this model.`,
    );
  return {
    inChannels,
    outChannels: need(shapeOf, `${P}out.2.weight`, path)[0] as number,
    blockOutChannels,
    layersPerBlock: lpb,
    transformerDepth,
    midTransformerDepth: indices(keys, new RegExp(`^${escape(P)}middle_block\\.1\\.transformer_blocks\\.(\\d+)\\.`)).length,
    headDim: unetHeadDim(c0),
    crossAttentionDim: need(shapeOf, `${P}middle_block.1.transformer_blocks.0.attn2.to_k.weight`, path)[1] as number,
    timeEmbedDim: need(shapeOf, `${P}time_embed.0.weight`, path)[0] as number,
    admInChannels,
    addTimeDim,
    normGroups: 32,
    resnetEps: 1e-5,
    transformerNormEps: 1e-6,
    layerNormEps: 1e-5,
  };
}

function vaeConfig(keys: readonly string[], shapeOf: ShapeOf, path: string): SdxlGraphConfig['vae'] {
  const V = SDXL_PREFIX.vae;
  const levels = indices(keys, new RegExp(`^${escape(V)}encoder\\.down\\.(\\d+)\\.`)).length;
  const layersPerBlock = indices(keys, new RegExp(`^${escape(V)}encoder\\.down\\.0\\.block\\.(\\d+)\\.`)).length;
  const blockOutChannels = Array.from(
    { length: levels },
    (_, i) => need(shapeOf, `${V}encoder.down.${i}.block.0.conv1.weight`, path)[0] as number,
  );
  return {
    imageChannels: need(shapeOf, `${V}encoder.conv_in.weight`, path)[1] as number,
    latentChannels: need(shapeOf, `${V}decoder.conv_in.weight`, path)[1] as number,
    blockOutChannels,
    layersPerBlock,
    normGroups: 32,
    eps: 1e-6,
    scalingFactor: SDXL_LATENT_SCALE,
  };
}

/**
 * The SDXL architecture from a checkpoint's keys and shapes (not from a table of known widths): level count and
 * widths, resnets per level, transformer depth per level and in the middle, context and label_emb widths, both text
 * towers' sizes and layer counts, the VAE's levels. Throws a `CheckpointFormatError` naming a key it needs and lacks.
 */
export function sdxlConfigFromTensors(keys: readonly string[], shapeOf: ShapeOf, path: string): SdxlGraphConfig {
  const L = `${SDXL_PREFIX.clipL}text_model.`;
  const G = SDXL_PREFIX.clipG;
  const [vocabL, hiddenL] = need(shapeOf, `${L}embeddings.token_embedding.weight`, path) as [number, number];
  const [vocabG, widthG] = need(shapeOf, `${G}token_embedding.weight`, path) as [number, number];
  const projectionDim = need(shapeOf, `${G}text_projection`, path)[1] as number;
  return {
    family: 'sdxl',
    unet: unetConfig(keys, shapeOf, path, projectionDim),
    textEncoder: {
      vocabSize: vocabL,
      hiddenSize: hiddenL,
      intermediateSize: need(shapeOf, `${L}encoder.layers.0.mlp.fc1.weight`, path)[0] as number,
      layers: indices(keys, new RegExp(`^${escape(L)}encoder\\.layers\\.(\\d+)\\.`)).length,
      heads: textHeads(hiddenL),
      maxPositions: need(shapeOf, `${L}embeddings.position_embedding.weight`, path)[0] as number,
      layerNormEps: 1e-5,
      activation: 'quick_gelu',
      eosTokenId: vocabL - 1,
    },
    textEncoder2: {
      vocabSize: vocabG,
      width: widthG,
      layers: indices(keys, new RegExp(`^${escape(G)}transformer\\.resblocks\\.(\\d+)\\.`)).length,
      heads: textHeads(widthG),
      mlpDim: need(shapeOf, `${G}transformer.resblocks.0.mlp.c_fc.weight`, path)[0] as number,
      maxPositions: need(shapeOf, `${G}positional_embedding`, path)[0] as number,
      layerNormEps: 1e-5,
      projectionDim,
      activation: 'gelu',
      eosTokenId: vocabG - 1,
    },
    vae: vaeConfig(keys, shapeOf, path),
  };
}
