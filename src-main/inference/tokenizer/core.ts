// The CLIP tokenizer and horde prompt handling, without Node built-ins: it runs in a renderer or worker too.
// Node code imports the tokenizer folder (index.ts), which adds reading and writing files.
export { ClipTokenizer } from './clipTokenizer';
export type { ClipTokenizerOptions, DecodeOptions } from './clipTokenizer';
export {
  CHUNK_TOKENS,
  CLIP_WINDOW,
  DEFAULT_MAX_CHUNKS,
  EMBEDDING_PREFIX,
  MAX_WORD_LENGTH,
  tokenizeHordePrompt,
  tokenizePrompt,
} from './chunks';
export type { PromptTokenizer, TokenizedHordePrompt, TokenizedPrompt, TokenizeHordePromptOptions, TokenizePromptOptions } from './chunks';
export { PythonRandom, expandDynamicPrompt } from './dynamicPrompt';
export { ATTENTION_STEP, parsePromptWeights, parsePythonFloat, splitHordePrompt } from './promptWeights';
export type { HordePrompt, WeightedText } from './promptWeights';
export { approximateFtfy, cleanClipText, splitClipPieces, unescapeHtml } from './text';
export { TINY_MERGE_COUNT, TINY_VOCAB_SIZE, tinyTokenizerFiles } from './tiny';
export {
  CLIP_MERGE_COUNT,
  END_OF_TEXT,
  END_OF_WORD,
  START_OF_TEXT,
  TokenizerFileError,
  mergesToText,
  parseMerges,
  vocabFromMerges,
  vocabToJson,
} from './vocab';
export type { MergeRule, TokenizerFiles } from './vocab';
