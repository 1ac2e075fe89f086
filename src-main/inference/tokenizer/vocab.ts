// Reading a CLIP merges file and its vocabulary (SD-ONNX §3.1 step 5), with errors that name the line at fault.
import { VOCAB_BYTE_SYMBOLS } from './text';

/** The start-of-text special token (BOS). */
export const START_OF_TEXT = '<|startoftext|>';
/** The end-of-text special token (EOS). */
export const END_OF_TEXT = '<|endoftext|>';
/** Suffix marking the last symbol of a word, so "ing" at a word end and inside a word are different tokens. */
export const END_OF_WORD = '</w>';
/**
 * Merges CLIP uses: 49 152 - 256 - 2. OpenAI's file holds 262 144 lines; the rest were never part of the
 * trained vocabulary. HF merges.txt files have exactly this many.
 */
export const CLIP_MERGE_COUNT = 48_894;

/** The text of a tokenizer's files: merges.txt (required) and vocab.json (optional: rebuilt from the merges). */
export interface TokenizerFiles {
  mergesTxt: string;
  vocabJson?: string | undefined;
}

/** A tokenizer file that cannot be used; `line` is 1-based in the merges file when known. */
export class TokenizerFileError extends Error {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line === undefined ? message : `${message} (merges line ${line})`);
    this.name = 'TokenizerFileError';
  }
}

/** One merge rule; its rank is its index in the merges list (lower merges first). */
export interface MergeRule {
  left: string;
  right: string;
  /** 1-based line in the file it came from, for error messages. */
  line?: number;
}

/**
 * Parses merges text: an optional `#version` header line (OpenAI's file prefixes it with its name), then one
 * `left right` pair per line. Takes at most `maxMerges` rules, as CLIP ignores the tail of OpenAI's file.
 */
export function parseMerges(mergesTxt: string, maxMerges = CLIP_MERGE_COUNT): MergeRule[] {
  const lines = mergesTxt.split('\n');
  const rules: MergeRule[] = [];
  const start = lines[0]?.includes('#version') ? 1 : 0;
  for (let index = start; index < lines.length && rules.length < maxMerges; index++) {
    const line = (lines[index] ?? '').replace(/\r$/, '');
    if (line === '') {
      // Only a trailing newline may leave an empty line; a gap inside the list shifts every later rank.
      if (lines.slice(index + 1).some((rest) => rest.trim() !== '')) {
        throw new TokenizerFileError('empty line inside the merges list', index + 1);
      }
      break;
    }
    const parts = line.split(' ');
    const [left, right] = parts;
    if (parts.length !== 2 || !left || !right) {
      throw new TokenizerFileError(`expected "left right", got ${JSON.stringify(line.slice(0, 60))}`, index + 1);
    }
    rules.push({ left, right, line: index + 1 });
  }
  if (rules.length === 0) throw new TokenizerFileError('the merges file holds no merges (is it a merges.txt?)');
  return rules;
}

/**
 * The vocabulary CLIP derives from its merges: 256 byte symbols, the same with `</w>`, one token per merge,
 * then the two special tokens. Each merge must join tokens that already exist, else the file is not a BPE
 * merges list (or is truncated at the wrong place).
 */
export function vocabFromMerges(rules: readonly MergeRule[]): Map<string, number> {
  const tokens = [...VOCAB_BYTE_SYMBOLS, ...VOCAB_BYTE_SYMBOLS.map((symbol) => symbol + END_OF_WORD)];
  const vocab = new Map<string, number>(tokens.map((token, id) => [token, id]));
  for (const { left, right, line } of rules) {
    for (const part of [left, right]) {
      if (!vocab.has(part)) {
        throw new TokenizerFileError(`merge uses ${JSON.stringify(part)}, which no earlier line produces`, line);
      }
    }
    // A duplicate result keeps its first id; a later duplicate would leave a hole in the id range.
    if (!vocab.has(left + right)) vocab.set(left + right, vocab.size);
  }
  for (const special of [START_OF_TEXT, END_OF_TEXT]) vocab.set(special, vocab.size);
  return vocab;
}

/** Parses an HF `vocab.json` (token -> id) and checks it covers what the merges and the specials need. */
export function parseVocabJson(vocabJson: string, rules: readonly MergeRule[]): Map<string, number> {
  let raw: unknown;
  try {
    raw = JSON.parse(vocabJson);
  } catch (error) {
    throw new TokenizerFileError(`vocab.json is not JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new TokenizerFileError('vocab.json must be an object mapping tokens to ids');
  }
  const vocab = new Map<string, number>();
  for (const [token, id] of Object.entries(raw)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0) {
      throw new TokenizerFileError(`vocab.json gives ${JSON.stringify(token)} the id ${JSON.stringify(id)}`);
    }
    vocab.set(token, id);
  }
  const required = [...VOCAB_BYTE_SYMBOLS, START_OF_TEXT, END_OF_TEXT];
  const missing = required.find((token) => !vocab.has(token));
  if (missing !== undefined) throw new TokenizerFileError(`vocab.json lacks the token ${JSON.stringify(missing)}`);
  for (const { left, right, line } of rules) {
    if (!vocab.has(left + right)) {
      throw new TokenizerFileError(`merge result ${JSON.stringify(left + right)} is not in vocab.json`, line);
    }
  }
  return vocab;
}

/** Serializes a vocabulary the way HF writes vocab.json (an object in id order). */
export function vocabToJson(vocab: ReadonlyMap<string, number>): string {
  const entries = [...vocab].sort((a, b) => a[1] - b[1]);
  return JSON.stringify(Object.fromEntries(entries));
}

/** Serializes merge rules as a merges.txt with the usual `#version: 0.2` header. */
export function mergesToText(rules: readonly MergeRule[]): string {
  return `#version: 0.2\n${rules.map(({ left, right }) => `${left} ${right}`).join('\n')}\n`;
}
