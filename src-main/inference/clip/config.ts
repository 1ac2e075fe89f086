/**
 * Sizes of the CLIP towers. The published ViT-L/14 values are openai `clip/model.py` `build_model` on the
 * ViT-L/14 checkpoint and the `openai/clip-vit-large-patch14` config: image width 1024, 24 layers, 16 heads
 * (width / 64), MLP 4096, patch 14 at 224 px; text width 768, 12 layers, 12 heads; both projected to 768.
 */
import { SD15_CONFIG, type TextEncoderConfig } from '../graph';

/** The image tower (openai `VisionTransformer`, HF `CLIPVisionModelWithProjection`). */
export interface ClipVisionConfig {
  /** Side of the square input image in pixels. */
  imageSize: number;
  /** Side of a square patch; the grid is imageSize / patchSize on each side. */
  patchSize: number;
  /** Width of the residual stream (HF hidden_size). */
  width: number;
  layers: number;
  heads: number;
  /** MLP hidden size (HF intermediate_size). */
  mlpSize: number;
  /** Output size of `visual_projection` (HF projection_dim). */
  projectionDim: number;
  layerNormEps: number;
  activation: 'quick_gelu' | 'gelu';
}

/** The text tower: the SD text encoder's transformer plus `text_projection`. */
export interface ClipTextConfig extends TextEncoderConfig {
  /** Output size of `text_projection`. */
  projectionDim: number;
}

/** The towers of one CLIP model (a file may hold only one); both project to the same size to be compared. */
export interface ClipConfig {
  vision?: ClipVisionConfig;
  text?: ClipTextConfig;
}

/** openai CLIP ViT-L/14 (the safety checker's model): 303,966,208 image and 123,650,304 text parameters, projections included. */
export const CLIP_VIT_L14_CONFIG: Required<ClipConfig> = Object.freeze<Required<ClipConfig>>({
  vision: {
    imageSize: 224,
    patchSize: 14,
    width: 1024,
    layers: 24,
    heads: 16,
    mlpSize: 4096,
    projectionDim: 768,
    layerNormEps: 1e-5,
    activation: 'quick_gelu',
  },
  // The same text transformer SD 1.x conditions on (openai's ViT-L/14 text tower), plus its projection.
  text: { ...SD15_CONFIG.textEncoder, projectionDim: 768 },
});

/** Patches per side of the image grid. */
export function gridSize(v: ClipVisionConfig): number {
  return v.imageSize / v.patchSize;
}

function visionProblems(v: ClipVisionConfig): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(gridSize(v))) problems.push(`vision: image size ${v.imageSize} is not a multiple of the patch size ${v.patchSize}`);
  if (v.width % v.heads !== 0) problems.push(`vision: width ${v.width} does not split into ${v.heads} heads`);
  return problems;
}

function textProblems(t: ClipTextConfig): string[] {
  const problems: string[] = [];
  if (t.hiddenSize % t.heads !== 0) problems.push(`text: width ${t.hiddenSize} does not split into ${t.heads} heads`);
  const eos = t.eosTokenId ?? t.vocabSize - 1;
  if (eos < 0 || eos >= t.vocabSize) problems.push(`text: EOS id ${eos} is outside the vocabulary (${t.vocabSize})`);
  return problems;
}

/** Throws when the sizes cannot make a graph (a typo found before a long conversion). */
export function validateClipConfig(config: ClipConfig): void {
  const { vision: v, text: t } = config;
  const problems = [...(v ? visionProblems(v) : []), ...(t ? textProblems(t) : [])];
  if (v && t && v.projectionDim !== t.projectionDim) problems.push(`the towers project to ${v.projectionDim} and ${t.projectionDim}`);
  if (!v && !t) problems.push('it has neither tower');
  if (problems.length > 0) throw new Error(`Invalid CLIP config: ${problems.join('; ')}`);
}
