// The tokenizer for Node code: the pure core plus reading and writing tokenizer files in model folders.
export * from './core';
export {
  TOKENIZER_SUBFOLDER,
  loadTokenizerFromFolder,
  loadTokenizerFromMergesFile,
  readMergesFile,
  readTokenizerFiles,
  writeTokenizerFiles,
} from './files';
export type { LoadTokenizerOptions } from './files';
