// The CLIP byte-level BPE tokenizer (SD-ONNX §3.1), written from the algorithm's description.
import { byteSymbolsToBytes, cleanClipText, splitClipPieces, toByteSymbols } from './text';
import {
  CLIP_MERGE_COUNT,
  END_OF_TEXT,
  END_OF_WORD,
  START_OF_TEXT,
  TokenizerFileError,
  parseMerges,
  parseVocabJson,
  vocabFromMerges,
  type TokenizerFiles,
} from './vocab';

/** Options for {@link ClipTokenizer}. */
export interface ClipTokenizerOptions {
  /**
   * Id written after EOS to fill a 77-token window. Default: the EOS id, as SD1's text encoder was trained
   * and as diffusers' SD1/SD2 exports pad. SDXL's second (OpenCLIP bigG) tokenizer pads with 0.
   */
  padId?: number;
  /** Merge rules read from the file; default CLIP's 48 894 (OpenAI's file holds more that CLIP never used). */
  maxMerges?: number;
  /** Distinct pieces whose BPE result is remembered; prompts repeat words, the cache is cleared when full. */
  cacheSize?: number;
}

/** Options for {@link ClipTokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out BOS/EOS (and so EOS padding). Default false. */
  skipSpecialTokens?: boolean;
}

const DEFAULT_CACHE_SIZE = 20_000;

/**
 * CLIP's tokenizer: cleanup, pre-tokenization, byte symbols, then BPE merging the lowest-ranked adjacent pair
 * until no ranked pair remains. `encode` returns the text's ids without BOS/EOS, like CLIP's own `encode`.
 */
export class ClipTokenizer {
  /** Size of the id space (max id + 1): the text encoder's embedding rows; 49 408 for CLIP. */
  readonly vocabSize: number;
  /** `<|startoftext|>`, 49 406 for CLIP. */
  readonly bosId: number;
  /** `<|endoftext|>`, 49 407 for CLIP. */
  readonly eosId: number;
  /** Filler after EOS; see {@link ClipTokenizerOptions.padId}. */
  readonly padId: number;

  private readonly vocab: Map<string, number>;
  private readonly tokensById: (string | undefined)[];
  private readonly ranks: Map<string, number>;
  private readonly cache = new Map<string, readonly number[]>();
  private readonly cacheSize: number;

  /** Builds a tokenizer from merges text and, when the model folder has one, its vocab.json. */
  constructor(files: TokenizerFiles, options: ClipTokenizerOptions = {}) {
    const rules = parseMerges(files.mergesTxt, options.maxMerges ?? CLIP_MERGE_COUNT);
    this.vocab = files.vocabJson === undefined ? vocabFromMerges(rules) : parseVocabJson(files.vocabJson, rules);
    // Rank keys joined by a space: byte symbols never contain one (0x20 maps to U+0120).
    this.ranks = new Map(rules.map(({ left, right }, rank) => [`${left} ${right}`, rank]));
    this.tokensById = [];
    for (const [token, id] of this.vocab) this.tokensById[id] = token;
    this.vocabSize = this.tokensById.length;
    this.bosId = this.idOf(START_OF_TEXT);
    this.eosId = this.idOf(END_OF_TEXT);
    this.padId = options.padId ?? this.eosId;
    if (!Number.isInteger(this.padId) || this.padId < 0 || this.padId >= this.vocabSize) {
      throw new RangeError(`padId ${this.padId} is outside the vocabulary (0..${this.vocabSize - 1})`);
    }
    this.cacheSize = options.cacheSize ?? DEFAULT_CACHE_SIZE;
  }

  /** Token ids of `text`, without BOS/EOS. Special tokens typed in the text map to their ids, as in CLIP. */
  encode(text: string): number[] {
    const ids: number[] = [];
    for (const piece of splitClipPieces(cleanClipText(text))) {
      for (const id of this.encodePiece(piece)) ids.push(id);
    }
    return ids;
  }

  /**
   * Text of `ids`: a token ending a word is followed by a space, and the trailing space is trimmed.
   * Invalid UTF-8 (a multi-byte character cut by truncation) decodes to U+FFFD.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const bytes: number[] = [];
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index] ?? -1;
      const token = this.tokensById[id];
      if (token === undefined) throw new RangeError(`token id ${id} is not in the vocabulary`);
      if (options.skipSpecialTokens && (id === this.bosId || id === this.eosId)) continue;
      const wordEnd = token.endsWith(END_OF_WORD);
      byteSymbolsToBytes(wordEnd ? token.slice(0, -END_OF_WORD.length) : token, bytes);
      if (wordEnd) bytes.push(0x20);
    }
    return new TextDecoder('utf-8').decode(new Uint8Array(bytes)).trimEnd();
  }

  /** Id of a vocabulary token such as `a</w>` or `,</w>`, or undefined. */
  tokenToId(token: string): number | undefined {
    return this.vocab.get(token);
  }

  /** Vocabulary token of an id, or undefined. */
  idToToken(id: number): string | undefined {
    return this.tokensById[id];
  }

  private idOf(token: string): number {
    const id = this.vocab.get(token);
    if (id === undefined) throw new TokenizerFileError(`the vocabulary lacks ${token}`);
    return id;
  }

  private encodePiece(piece: string): readonly number[] {
    const cached = this.cache.get(piece);
    if (cached !== undefined) return cached;
    // Special tokens bypass BPE: their characters would otherwise merge into ordinary tokens.
    const ids = piece === START_OF_TEXT || piece === END_OF_TEXT ? [this.idOf(piece)] : this.bpe(toByteSymbols(piece));
    if (this.cache.size >= this.cacheSize) this.cache.clear();
    this.cache.set(piece, ids);
    return ids;
  }

  private bpe(symbols: string): number[] {
    const chars = [...symbols];
    const last = chars.length - 1;
    let word = chars.map((char, index) => (index === last ? char + END_OF_WORD : char));
    while (word.length > 1) {
      let bestRank = Infinity;
      let bestIndex = -1;
      for (let index = 0; index < word.length - 1; index++) {
        const rank = this.ranks.get(`${word[index]} ${word[index + 1]}`);
        if (rank !== undefined && rank < bestRank) {
          bestRank = rank;
          bestIndex = index;
        }
      }
      if (bestIndex < 0) break;
      const left = word[bestIndex] ?? '';
      const right = word[bestIndex + 1] ?? '';
      // Every occurrence of the winning pair merges in one left-to-right pass (no overlaps: "aaa" -> "aa a").
      const merged: string[] = [];
      for (let index = 0; index < word.length; index++) {
        if (word[index] === left && word[index + 1] === right && index < word.length - 1) {
          merged.push(left + right);
          index++;
        } else {
          merged.push(word[index] ?? '');
        }
      }
      word = merged;
    }
    return word.map((token) => this.idOf(token));
  }
}
