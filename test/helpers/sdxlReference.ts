// ../shared/data/sdxl-reference (README inside): a tiny SDXL checkpoint in the published single-file layout and what
// the original generative-models / open_clip code computes from it; and CLIP's published tokenizer files, rebuilt
// from OpenAI's merges in ../shared/data/clip (both SDXL encoders use CLIP's BPE, so the installer fetches them).
import { readMergesFile, parseMerges, vocabFromMerges } from '../../src-main/inference/tokenizer';
import { sharedData, type SharedData } from './sharedData';

/** The `tiny/` folder for the test file `who` (skipped loudly when missing, failing under CI). */
export function sdxlReference(who: string): SharedData {
  return sharedData('sdxl-reference/tiny', `${who} (SDXL converter vs the original generative-models code)`);
}

/** openai/clip-vit-large-patch14's vocab.json and merges.txt, byte for byte (models.install.test checks the pins). */
export function publishedClipTokenizer(who: string): { skip: boolean; files: () => { vocabJson: string; mergesTxt: string } } {
  const merges = sharedData('clip/bpe_simple_vocab_16e6.txt.gz', `${who} (CLIP's tokenizer files)`);
  return {
    skip: merges.skip,
    files: () => {
      const lines = readMergesFile(merges.path).split('\n').slice(1, 48_895);
      const mergesTxt = `#version: 0.2\n${lines.join('\n')}\n`;
      const vocab = [...vocabFromMerges(parseMerges(mergesTxt))].sort((a, b) => a[1] - b[1]);
      const vocabJson = `{${vocab.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`;
      return { vocabJson, mergesTxt };
    },
  };
}
