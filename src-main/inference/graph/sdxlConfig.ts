/**
 * Architecture of SDXL (base) components, and how to read it from a checkpoint's tensor shapes.
 * Sources: Stability-AI/generative-models `configs/inference/sd_xl_base.yaml` (UNet, conditioner, scale factor);
 * shared/docs/SD-ONNX.md §5.3 and ../shared/data/sdxl-reference/README.md (the tiny reference's table).
 */
import { SD15_CONFIG, type TextEncoderConfig, type VaeConfig } from './config';

/** The SDXL denoising UNet (sgm `UNetModel` with `num_classes: sequential`, linear transformer projections). */
export interface SdxlUnetConfig {
  inChannels: number;
  outChannels: number;
  /** Channels per level (SDXL: 320, 640, 1280); level i > 0 starts with a stride-2 downsample. */
  blockOutChannels: readonly number[];
  /** Resnets per down level (up levels have one more). */
  layersPerBlock: number;
  /** Transformer blocks after each resnet, per level; 0 = no attention at that level (SDXL: 0, 2, 10). */
  transformerDepth: readonly number[];
  /** Transformer blocks of the middle block's transformer (SDXL: 10). */
  midTransformerDepth: number;
  /** Channels per attention head (`num_head_channels`; SDXL: 64). */
  headDim: number;
  /** Width of the text context: CLIP-L hidden + OpenCLIP-G hidden (SDXL: 768 + 1280). */
  crossAttentionDim: number;
  /** Width of the time embedding (SDXL: 1280 = 4 × 320). */
  timeEmbedDim: number;
  /** Input width of `label_emb` (`adm_in_channels`): pooled text + 6 embedded size/crop values (SDXL: 2816). */
  admInChannels: number;
  /** Width of each size/crop value's sinusoidal embedding (`ConcatTimestepEmbedderND.outdim`; SDXL: 256). */
  addTimeDim: number;
  normGroups: number;
  resnetEps: number;
  transformerNormEps: number;
  layerNormEps: number;
}

/** The OpenCLIP text tower (`open_clip.model.CLIP` text side, as SDXL's `FrozenOpenCLIPEmbedder2` holds it). */
export interface OpenClipTextConfig {
  vocabSize: number;
  width: number;
  layers: number;
  heads: number;
  /** MLP hidden width (`mlp.c_fc`). */
  mlpDim: number;
  maxPositions: number;
  layerNormEps: number;
  /** Columns of `text_projection` (used as x @ text_projection). */
  projectionDim: number;
  /** ViT-bigG-14's text tower uses exact GELU (open_clip `nn.GELU`). */
  activation: 'gelu' | 'quick_gelu';
  /** Id whose first occurrence is the pooled position (the end-of-text token, CLIP's highest id). */
  eosTokenId: number;
}

/** Everything needed to build the SDXL ONNX components. */
export interface SdxlGraphConfig {
  family: 'sdxl';
  unet: SdxlUnetConfig;
  /** CLIP ViT-L/14 text (`conditioner.embedders.0`, HF CLIPTextModel names). */
  textEncoder: TextEncoderConfig;
  /** OpenCLIP ViT-bigG/14 text (`conditioner.embedders.1`). */
  textEncoder2: OpenClipTextConfig;
  vae: VaeConfig;
}

/** SDXL's latent scale factor (`sd_xl_base.yaml` `scale_factor`). */
export const SDXL_LATENT_SCALE = 0.13025;

/** SDXL base 1.0: UNet ≈ 2.57G, CLIP-L ≈ 123M, OpenCLIP-G text ≈ 695M parameters. */
export const SDXL_BASE_CONFIG: SdxlGraphConfig = Object.freeze<SdxlGraphConfig>({
  family: 'sdxl',
  unet: {
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [320, 640, 1280],
    layersPerBlock: 2,
    transformerDepth: [0, 2, 10],
    midTransformerDepth: 10,
    headDim: 64,
    crossAttentionDim: 2048,
    timeEmbedDim: 1280,
    admInChannels: 2816,
    addTimeDim: 256,
    normGroups: 32,
    resnetEps: 1e-5,
    transformerNormEps: 1e-6,
    layerNormEps: 1e-5,
  },
  // SDXL's first encoder is SD 1.x's CLIP ViT-L/14 text tower, unchanged.
  textEncoder: SD15_CONFIG.textEncoder,
  textEncoder2: {
    vocabSize: 49408,
    width: 1280,
    layers: 32,
    heads: 20,
    mlpDim: 5120,
    maxPositions: 77,
    layerNormEps: 1e-5,
    projectionDim: 1280,
    activation: 'gelu',
    eosTokenId: 49407,
  },
  // SD's VAE architecture; only the latent scale differs.
  vae: { ...SD15_CONFIG.vae, scalingFactor: SDXL_LATENT_SCALE },
});

/** Throws when an SDXL config cannot describe a valid graph. */
export function validateSdxlConfig(config: SdxlGraphConfig): void {
  const { unet: u, textEncoder: l, textEncoder2: g, vae } = config;
  const problems: string[] = [];
  if (u.transformerDepth.length !== u.blockOutChannels.length) problems.push('unet.transformerDepth must have one entry per level');
  for (const c of u.blockOutChannels) {
    if (c % u.normGroups !== 0) problems.push(`unet: ${c} channels are not divisible by ${u.normGroups} groups`);
    if (c % u.headDim !== 0) problems.push(`unet: ${c} channels are not divisible into heads of ${u.headDim}`);
  }
  if (u.admInChannels - g.projectionDim !== 6 * u.addTimeDim)
    problems.push(`unet.admInChannels ${u.admInChannels} is not the pooled width ${g.projectionDim} + 6 × ${u.addTimeDim}`);
  if (u.addTimeDim % 2 !== 0) problems.push('unet.addTimeDim must be even');
  if (u.crossAttentionDim !== l.hiddenSize + g.width)
    problems.push(`unet.crossAttentionDim ${u.crossAttentionDim} is not ${l.hiddenSize} (CLIP-L) + ${g.width} (OpenCLIP-G)`);
  if (l.hiddenSize % l.heads !== 0) problems.push('textEncoder.hiddenSize must be divisible by heads');
  if (g.width % g.heads !== 0) problems.push('textEncoder2.width must be divisible by heads');
  for (const c of vae.blockOutChannels)
    if (c % vae.normGroups !== 0) problems.push(`vae: ${c} channels are not divisible by ${vae.normGroups} groups`);
  if (problems.length > 0) throw new Error(`Invalid SDXL graph config: ${problems.join('; ')}`);
}

/**
 * A tiny SDXL-shaped config for tests and the demo: the reference checkpoint's toy sizes (../shared/data/sdxl-reference
 * README: levels 32/32/64 without attention at level 0, depth 1 and 2, 2 in the middle, 16-channel heads, CLIP-L 32
 * wide × 2 layers, OpenCLIP-G 48 wide × 3 layers, a 4-level VAE), with `vocabSize` tokens (the tiny tokenizer's).
 */
export function makeTinySdxlConfig(opts: { vocabSize?: number } = {}): SdxlGraphConfig {
  const vocabSize = opts.vocabSize ?? 49408;
  return {
    family: 'sdxl',
    unet: {
      ...SDXL_BASE_CONFIG.unet,
      blockOutChannels: [32, 32, 64],
      transformerDepth: [0, 1, 2],
      midTransformerDepth: 2,
      headDim: 16,
      crossAttentionDim: 80,
      timeEmbedDim: 128,
      admInChannels: 240,
      addTimeDim: 32,
    },
    textEncoder: {
      ...SDXL_BASE_CONFIG.textEncoder,
      vocabSize,
      hiddenSize: 32,
      intermediateSize: 128,
      layers: 2,
      heads: 2,
      eosTokenId: vocabSize - 1,
    },
    textEncoder2: {
      ...SDXL_BASE_CONFIG.textEncoder2,
      vocabSize,
      width: 48,
      layers: 3,
      heads: 2,
      mlpDim: 192,
      projectionDim: 48,
      eosTokenId: vocabSize - 1,
    },
    vae: { ...SDXL_BASE_CONFIG.vae, blockOutChannels: [32, 32, 32, 64], layersPerBlock: 1 },
  };
}
