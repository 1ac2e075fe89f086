// Reading and writing tokenizer files on disk. The only file in this folder that touches Node: the rest of the
// tokenizer takes file contents as strings, so it also runs where there is no file system (see './core').
// Synchronous on purpose: the files are at most a few MB, read once when a model loads.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { ClipTokenizer, type ClipTokenizerOptions } from './clipTokenizer';
import { TokenizerFileError, type TokenizerFiles } from './vocab';

/** Default subfolder of a diffusers/ONNX model folder; SDXL's second tokenizer lives in `tokenizer_2`. */
export const TOKENIZER_SUBFOLDER = 'tokenizer';

/** Reads a merges file as text, gunzipping it when it is gzip (OpenAI ships `bpe_simple_vocab_16e6.txt.gz`). */
export function readMergesFile(path: string): string {
  const bytes = readFileSync(path);
  // Decide by the gzip magic number rather than the name: a renamed file still loads.
  const gzip = bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
  try {
    return (gzip ? gunzipSync(bytes) : bytes).toString('utf8');
  } catch (error) {
    throw new TokenizerFileError(`${path}: not a readable gzip file (${(error as Error).message})`);
  }
}

/**
 * Reads `merges.txt` (or `merges.txt.gz`) and, when present, `vocab.json` from `dir/<subfolder>` (a model
 * folder) or from `dir` itself (a tokenizer folder).
 */
export function readTokenizerFiles(dir: string, subfolder = TOKENIZER_SUBFOLDER): TokenizerFiles {
  for (const folder of [join(dir, subfolder), dir]) {
    for (const name of ['merges.txt', 'merges.txt.gz']) {
      const mergesPath = join(folder, name);
      if (!existsSync(mergesPath)) continue;
      const vocabPath = join(folder, 'vocab.json');
      const vocabJson = existsSync(vocabPath) ? readFileSync(vocabPath, 'utf8') : undefined;
      return { mergesTxt: readMergesFile(mergesPath), vocabJson };
    }
  }
  throw new TokenizerFileError(`no merges.txt in ${join(dir, subfolder)} or ${dir}`);
}

/** Options for {@link loadTokenizerFromFolder}. */
export interface LoadTokenizerOptions extends ClipTokenizerOptions {
  /** Tokenizer subfolder of a model folder; default `tokenizer`. */
  subfolder?: string;
}

/** A tokenizer from a model folder or its tokenizer folder (see {@link readTokenizerFiles}). */
export function loadTokenizerFromFolder(dir: string, options: LoadTokenizerOptions = {}): ClipTokenizer {
  const { subfolder, ...tokenizerOptions } = options;
  return new ClipTokenizer(readTokenizerFiles(dir, subfolder), tokenizerOptions);
}

/** A tokenizer from a lone merges file, plain or gzip, its vocabulary rebuilt from the merges. */
export function loadTokenizerFromMergesFile(path: string, options: ClipTokenizerOptions = {}): ClipTokenizer {
  return new ClipTokenizer({ mergesTxt: readMergesFile(path) }, options);
}

/**
 * Writes `merges.txt` and, when given, `vocab.json` into `dir/<subfolder>` (default `tokenizer`), the layout
 * of a published SD ONNX model folder, creating folders as needed. Returns the folder written to.
 */
export function writeTokenizerFiles(dir: string, files: TokenizerFiles, subfolder = TOKENIZER_SUBFOLDER): string {
  const folder = join(dir, subfolder);
  mkdirSync(folder, { recursive: true });
  writeFileSync(join(folder, 'merges.txt'), files.mergesTxt, 'utf8');
  if (files.vocabJson !== undefined) writeFileSync(join(folder, 'vocab.json'), files.vocabJson, 'utf8');
  return folder;
}
