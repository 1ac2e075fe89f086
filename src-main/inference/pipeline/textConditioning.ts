import type * as ort from 'onnxruntime-node';
import type { TimedSession } from './sessions';
import { tokenizeHordePrompt, type ClipTokenizer, type TokenizedPrompt } from '../tokenizer';
import { idsTensor, requireSpec, sessionSpecs, toFloat32 } from './tensors';

export interface Conditioning {
  /** [1, 77·chunks, hidden] as a flat array. */
  data: Float32Array;
  tokens: number;
  hidden: number;
}

/**
 * Applies prompt weights the way A1111 and ComfyUI's "mean" normalisation do: scale each token's
 * embedding, then restore the chunk's original mean so weights change emphasis, not overall level.
 */
export function applyWeights(hidden: Float32Array, weights: Float32Array, width: number): void {
  if (weights.every((w) => w === 1)) return;
  let before = 0;
  for (const v of hidden) before += v;
  for (let token = 0; token < weights.length; token += 1) {
    const w = weights[token] as number;
    if (w === 1) continue;
    for (let c = 0; c < width; c += 1) hidden[token * width + c] = (hidden[token * width + c] as number) * w;
  }
  let after = 0;
  for (const v of hidden) after += v;
  if (after !== 0 && Number.isFinite(before / after)) {
    const ratio = before / after;
    for (let i = 0; i < hidden.length; i += 1) hidden[i] = (hidden[i] as number) * ratio;
  }
}

/**
 * Runs the text encoder once per 77-token window and concatenates the windows along the
 * sequence axis, as SD's UNet accepts (SD-ONNX §1.5). With `clipSkip` > 1 and an encoder that
 * exports `hidden_states.N`, the earlier layer is used; otherwise the last one and a warning.
 */
export async function encodePrompt(
  encoder: TimedSession,
  prompt: TokenizedPrompt,
  clipSkip: number,
  warnings: string[],
): Promise<Conditioning> {
  const { inputs, outputs } = sessionSpecs(encoder.session, 'text_encoder');
  const idsSpec = requireSpec(inputs, ['input_ids'], 'text_encoder');
  const hiddenOut = requireSpec(outputs, ['last_hidden_state'], 'text_encoder');
  // hidden_states.0 is the embeddings, then one per layer: clip skip k takes index (count − k).
  const count = (prefix: string): number => [...outputs.keys()].filter((n) => n.startsWith(prefix) && /\.\d+$/.test(n)).length;
  let outName = hiddenOut.name;
  if (clipSkip > 1) {
    const normed = count('normed_hidden_states.');
    const raw = count('hidden_states.');
    if (normed > clipSkip) outName = `normed_hidden_states.${normed - clipSkip}`;
    else if (raw > clipSkip) {
      outName = `hidden_states.${raw - clipSkip}`;
      warnings.push(
        `clip_skip ${clipSkip}: this text encoder exports its layers without the final LayerNorm, so the result differs a little from the reference worker.`,
      );
    } else warnings.push(`clip_skip ${clipSkip} was asked for, but this text encoder only exports its last layer; used clip_skip 1.`);
  }
  const parts: Float32Array[] = [];
  let width = 0;
  for (let i = 0; i < prompt.chunks.length; i += 1) {
    const ids = prompt.chunks[i] as Int32Array;
    const result: ort.InferenceSession.ReturnType = await encoder.run({ [idsSpec.name]: idsTensor(idsSpec.type, ids, [1, ids.length]) });
    const tensor = result[outName];
    if (!tensor) throw new Error(`text_encoder did not return ${outName}`);
    const hidden = Float32Array.from(toFloat32(tensor));
    width = Number(tensor.dims[2]);
    applyWeights(hidden, prompt.weights[i] as Float32Array, width);
    parts.push(hidden);
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

/**
 * A horde prompt (negative after `###`) → the UNet's conditioning, as the reference worker builds
 * it. `withNegative` false (cfg_scale 1) skips the negative encoding, which CFG would not use.
 */
export async function conditionHordePrompt(
  encoder: TimedSession,
  tokenizer: ClipTokenizer,
  prompt: string,
  clipSkip: number,
  withNegative: boolean,
  warnings: string[],
): Promise<PromptConditioning> {
  // Split at ###; both halves get the same number of 77-token windows so CFG can pair them.
  const { positive, negative } = tokenizeHordePrompt(prompt, tokenizer);
  if (positive.truncated || negative.truncated)
    warnings.push('The prompt was longer than HordeDesk encodes (3 × 75 tokens); the end was cut.');
  const cond = await encodePrompt(encoder, positive, clipSkip, warnings);
  const uncond = withNegative ? await encodePrompt(encoder, negative, clipSkip, warnings) : null;
  return { cond, uncond };
}
