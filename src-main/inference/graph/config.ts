/**
 * Architecture configuration of SD 1.x components, with the real SD 1.5 sizes and a tiny test variant.
 * Sources for the SD 1.5 values: CompVis v1-inference.yaml and the diffusers model defaults
 * (see shared/docs/SD-ONNX.md §5.3).
 */

/** The denoising UNet (diffusers UNet2DConditionModel, SD1 layout). */
export interface UnetConfig {
  inChannels: number;
  outChannels: number;
  /** Channels per resolution level; level i > 0 starts with a stride-2 downsample. */
  blockOutChannels: readonly number[];
  /** Resnets per down level (up levels have one more, for the extra skip). */
  layersPerBlock: number;
  /** Whether each down level has a transformer after each resnet; up levels mirror it. The mid block always has one. */
  attentionLevels: readonly boolean[];
  /** Attention heads (SD1: 8 at every level; head dim = channels / heads). */
  heads: number;
  crossAttentionDim: number;
  normGroups: number;
  /** GroupNorm eps inside resnets. */
  resnetEps: number;
  /** GroupNorm eps at each transformer's input. */
  transformerNormEps: number;
  /** LayerNorm eps inside transformer blocks. */
  layerNormEps: number;
  /** Timestep sinusoid layout: SD uses [cos | sin] with no frequency shift. */
  flipSinToCos: boolean;
  freqShift: number;
}

/** The CLIP text transformer (HF CLIPTextModel). */
export interface TextEncoderConfig {
  /** Token table size; must cover every id the tokenizer emits. */
  vocabSize: number;
  hiddenSize: number;
  intermediateSize: number;
  layers: number;
  heads: number;
  /** Position table size = longest accepted sequence. */
  maxPositions: number;
  layerNormEps: number;
  activation: 'quick_gelu' | 'gelu';
  /** Id whose first occurrence marks the pooled position; defaults to vocabSize − 1 (CLIP puts EOS last). */
  eosTokenId?: number;
}

/** The KL autoencoder (diffusers AutoencoderKL). */
export interface VaeConfig {
  imageChannels: number;
  latentChannels: number;
  /** Channels per level; the decoder upsamples ×2 between levels, so image = 2^(levels−1) × latent. */
  blockOutChannels: readonly number[];
  /** Encoder resnets per level (the decoder has one more). */
  layersPerBlock: number;
  normGroups: number;
  eps: number;
  /** Latent scaling factor the pipeline applies (not part of the graphs). */
  scalingFactor: number;
}

/** Everything needed to build the three SD 1.x ONNX components. */
export interface SdGraphConfig {
  family: 'sd1';
  unet: UnetConfig;
  textEncoder: TextEncoderConfig;
  vae: VaeConfig;
}

/** Stable Diffusion 1.5 (also 1.4 and SD1 fine-tunes): UNet ≈ 859.5M, CLIP-L text ≈ 123.1M, VAE decoder ≈ 49.5M parameters. */
export const SD15_CONFIG: SdGraphConfig = Object.freeze<SdGraphConfig>({
  family: 'sd1',
  unet: {
    inChannels: 4,
    outChannels: 4,
    blockOutChannels: [320, 640, 1280, 1280],
    layersPerBlock: 2,
    attentionLevels: [true, true, true, false],
    heads: 8,
    crossAttentionDim: 768,
    normGroups: 32,
    resnetEps: 1e-5,
    transformerNormEps: 1e-6,
    layerNormEps: 1e-5,
    flipSinToCos: true,
    freqShift: 0,
  },
  textEncoder: {
    vocabSize: 49408,
    hiddenSize: 768,
    intermediateSize: 3072,
    layers: 12,
    heads: 12,
    maxPositions: 77,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
    eosTokenId: 49407,
  },
  vae: {
    imageChannels: 3,
    latentChannels: 4,
    blockOutChannels: [128, 256, 512, 512],
    layersPerBlock: 2,
    normGroups: 32,
    eps: 1e-6,
    scalingFactor: 0.18215,
  },
});

/** Options of `makeTinyConfig`: the tiny tokenizer decides the vocabulary. */
export interface TinyConfigOptions {
  vocabSize?: number;
  eosTokenId?: number;
}

/**
 * A tiny SD1-shaped config for tests: same structure and I/O (4 latent channels, 77 positions, 8×
 * VAE factor via 4 narrow levels), a few hundred thousand UNet parameters. The default vocabulary is
 * CLIP's full 49408 so real CLIP token ids also work; pass the tiny tokenizer's size to shrink it.
 */
export function makeTinyConfig(opts: TinyConfigOptions = {}): SdGraphConfig {
  const vocabSize = opts.vocabSize ?? 49408;
  return {
    family: 'sd1',
    unet: {
      inChannels: 4,
      outChannels: 4,
      blockOutChannels: [32, 64],
      layersPerBlock: 1,
      attentionLevels: [true, false],
      heads: 2,
      crossAttentionDim: 32,
      normGroups: 4,
      resnetEps: 1e-5,
      transformerNormEps: 1e-6,
      layerNormEps: 1e-5,
      flipSinToCos: true,
      freqShift: 0,
    },
    textEncoder: {
      vocabSize,
      hiddenSize: 32,
      intermediateSize: 64,
      layers: 2,
      heads: 2,
      maxPositions: 77,
      layerNormEps: 1e-5,
      activation: 'quick_gelu',
      eosTokenId: opts.eosTokenId ?? vocabSize - 1,
    },
    vae: {
      imageChannels: 3,
      latentChannels: 4,
      blockOutChannels: [16, 16, 32, 32],
      layersPerBlock: 1,
      normGroups: 4,
      eps: 1e-6,
      scalingFactor: 0.18215,
    },
  };
}

/** The default tiny config (vocabulary 49408, EOS 49407). */
export const TINY_CONFIG: SdGraphConfig = Object.freeze(makeTinyConfig());

/** Throws when a config cannot describe a valid graph (catches typos before a long conversion). */
export function validateConfig(config: SdGraphConfig): void {
  const { unet, textEncoder: te, vae } = config;
  const problems: string[] = [];
  if (unet.attentionLevels.length !== unet.blockOutChannels.length) problems.push('unet.attentionLevels must have one entry per level');
  for (const c of unet.blockOutChannels) {
    if (c % unet.normGroups !== 0) problems.push(`unet: ${c} channels are not divisible by ${unet.normGroups} groups`);
    if (c % unet.heads !== 0) problems.push(`unet: ${c} channels are not divisible by ${unet.heads} heads`);
  }
  if (te.hiddenSize % te.heads !== 0) problems.push('textEncoder.hiddenSize must be divisible by heads');
  const eos = te.eosTokenId ?? te.vocabSize - 1;
  if (eos < 0 || eos >= te.vocabSize) problems.push(`textEncoder.eosTokenId ${eos} is outside the vocabulary (${te.vocabSize})`);
  for (const c of vae.blockOutChannels)
    if (c % vae.normGroups !== 0) problems.push(`vae: ${c} channels are not divisible by ${vae.normGroups} groups`);
  if (problems.length > 0) throw new Error(`Invalid SD graph config: ${problems.join('; ')}`);
}
