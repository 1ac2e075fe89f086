// Prompt text -> 77-token windows for the text encoder (SD-ONNX §1.5 and §3.1 step 6).
import type { ClipTokenizer } from './clipTokenizer';
import { parsePromptWeights, splitHordePrompt, type PromptWeightOptions } from './promptWeights';

/** Tokens per window, BOS and EOS included: CLIP's context length. */
export const CLIP_WINDOW = 77;
/** Prompt tokens per window: the window minus BOS and EOS. */
export const CHUNK_TOKENS = CLIP_WINDOW - 2;
/** Default cap on windows per prompt: 225 prompt tokens, the usual limit of horde front ends. */
export const DEFAULT_MAX_CHUNKS = 3;
/** A1111's `comma_padding_backtrack`: how far back from a full window a comma may end it. */
export const DEFAULT_COMMA_BACKTRACK = 20;

/** What {@link tokenizePrompt} needs of a tokenizer. */
export type PromptTokenizer = Pick<ClipTokenizer, 'encode' | 'bosId' | 'eosId' | 'padId'>;

/** Options for {@link tokenizePrompt}. */
export interface TokenizePromptOptions extends PromptWeightOptions {
  /** At most this many 77-token windows; the rest of the prompt is dropped and `truncated` set. Default 3. */
  maxChunks?: number;
  /** A window may end after a comma this many tokens before it is full (0 disables). Default 20. */
  commaBacktrack?: number;
  /** Parse `(text:1.2)` style weights. Default true; false tokenizes the brackets as text. */
  parseWeights?: boolean;
}

/** A prompt as text-encoder input. */
export interface TokenizedPrompt {
  /** Each window: BOS, up to 75 prompt tokens, EOS, then pad ids to 77. */
  chunks: Int32Array[];
  /** Attention weight per position of each window; 1.0 at BOS, EOS and padding. */
  weights: Float32Array[];
  /** True when the prompt needed more than `maxChunks` windows and its tail was dropped. */
  truncated: boolean;
  /** Prompt tokens before truncation, BOS/EOS/pad not counted. */
  tokenCount: number;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

// Splits the token stream into runs of at most 75. When a run fills up, it ends after its last comma if
// that comma is within `backtrack` tokens of the end (A1111's rule), so a phrase like "red hair" is not
// cut in two between windows; the tokens after the comma start the next window.
function splitRuns(ids: number[], commaId: number | undefined, backtrack: number): number[][] {
  const runs: number[][] = [];
  let start = 0;
  while (ids.length - start > CHUNK_TOKENS) {
    let end = start + CHUNK_TOKENS;
    for (let index = end - 1; index >= end - backtrack && index > start; index--) {
      if (ids[index] === commaId) {
        end = index + 1;
        break;
      }
    }
    runs.push(ids.slice(start, end));
    start = end;
  }
  if (ids.length > start || runs.length === 0) runs.push(ids.slice(start));
  return runs;
}

function windowOf(ids: number[], weights: number[], tokenizer: PromptTokenizer): { chunk: Int32Array; weight: Float32Array } {
  const chunk = new Int32Array(CLIP_WINDOW).fill(tokenizer.padId);
  const weight = new Float32Array(CLIP_WINDOW).fill(1);
  chunk[0] = tokenizer.bosId;
  chunk.set(ids, 1);
  weight.set(weights, 1);
  chunk[ids.length + 1] = tokenizer.eosId;
  return { chunk, weight };
}

/**
 * Tokenizes one prompt (positive or negative, already split) into 77-token windows with per-position
 * weights. Long prompts take several windows, whose encodings are concatenated along the sequence axis
 * ([B, 77k, 768]). An empty prompt gives one window: BOS, EOS, padding.
 */
export function tokenizePrompt(text: string, tokenizer: PromptTokenizer, options: TokenizePromptOptions = {}): TokenizedPrompt {
  const maxChunks = checkCount('maxChunks', options.maxChunks ?? DEFAULT_MAX_CHUNKS, 1);
  const backtrack = checkCount('commaBacktrack', options.commaBacktrack ?? DEFAULT_COMMA_BACKTRACK, 0);
  const segments = options.parseWeights === false ? [{ text, weight: 1 }] : parsePromptWeights(text, options);
  const ids: number[] = [];
  const weights: number[] = [];
  for (const segment of segments) {
    for (const id of tokenizer.encode(segment.text)) {
      ids.push(id);
      weights.push(segment.weight);
    }
  }
  const commaId = tokenizer.encode(',')[0];
  const runs = splitRuns(ids, commaId, backtrack);
  const result: TokenizedPrompt = { chunks: [], weights: [], truncated: runs.length > maxChunks, tokenCount: ids.length };
  let offset = 0;
  for (const run of runs.slice(0, maxChunks)) {
    const { chunk, weight } = windowOf(run, weights.slice(offset, offset + run.length), tokenizer);
    result.chunks.push(chunk);
    result.weights.push(weight);
    offset += run.length;
  }
  return result;
}

/**
 * Appends empty windows (BOS, EOS, padding; weight 1) until the prompt has `count` windows. Positive and
 * negative conditioning share one UNet batch under CFG, so both need the same 77k sequence length.
 */
export function padToChunkCount(prompt: TokenizedPrompt, count: number, tokenizer: PromptTokenizer): TokenizedPrompt {
  const chunks = [...prompt.chunks];
  const weights = [...prompt.weights];
  while (chunks.length < count) {
    const { chunk, weight } = windowOf([], [], tokenizer);
    chunks.push(chunk);
    weights.push(weight);
  }
  return { ...prompt, chunks, weights };
}

/** Both halves of a horde prompt, tokenized and padded to the same number of windows. */
export interface TokenizedHordePrompt {
  positive: TokenizedPrompt;
  negative: TokenizedPrompt;
}

/** Splits a horde prompt at `###` and tokenizes both halves with equal window counts. */
export function tokenizeHordePrompt(prompt: string, tokenizer: PromptTokenizer, options: TokenizePromptOptions = {}): TokenizedHordePrompt {
  const { positive, negative } = splitHordePrompt(prompt);
  const pos = tokenizePrompt(positive, tokenizer, options);
  const neg = tokenizePrompt(negative, tokenizer, options);
  const count = Math.max(pos.chunks.length, neg.chunks.length);
  return { positive: padToChunkCount(pos, count, tokenizer), negative: padToChunkCount(neg, count, tokenizer) };
}
