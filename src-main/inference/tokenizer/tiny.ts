// A small synthetic CLIP-style vocabulary for tiny random-weight test models (SD-ONNX §5.6): same byte
// symbols, same special tokens, same file formats, but a few hundred merges instead of 48 894.
import { toByteSymbols } from './text';
import { END_OF_WORD, mergesToText, vocabFromMerges, vocabToJson, type MergeRule, type TokenizerFiles } from './vocab';

/** Merges learned for the tiny vocabulary. */
export const TINY_MERGE_COUNT = 256;
/** Ids in the tiny vocabulary: 256 byte symbols, 256 with `</w>`, the merges, BOS and EOS. */
export const TINY_VOCAB_SIZE = 512 + TINY_MERGE_COUNT + 2;

// Words typical of image prompts; only their letter pairs matter, so the list need not be curated further.
const WORDS = `a an the of and with in on at by for from to is are this that it its very best high
photo photograph portrait painting drawing sketch illustration render picture image art artwork artist style
cat cats dog dogs horse bird birds fish lion tiger wolf fox bear rabbit dragon owl butterfly
man woman girl boy child people person face eyes hair hands smile dress armor knight warrior wizard
astronaut robot soldier princess queen king monk pirate samurai
house castle tower city street road bridge garden forest tree trees flower flowers mountain mountains river
lake ocean sea beach sky clouds cloud sun moon stars night day morning evening sunset sunrise rain snow
winter summer autumn spring fire water light shadow shadows dark bright colorful golden silver red blue
green yellow orange purple pink black white gray brown beautiful detailed intricate realistic photorealistic
cinematic dramatic lighting soft sharp focus masterpiece quality ultra resolution wallpaper trending
concept fantasy science fiction cyberpunk steampunk medieval ancient modern futuristic abstract surreal
oil watercolor digital anime cartoon studio camera lens bokeh depth field wide angle close up view
standing sitting running walking flying riding eating reading holding looking wearing playing dancing
blurry blurred ugly deformed disfigured bad anatomy extra limbs missing fingers cropped worst low jpeg
artifacts watermark text signature username logo frame border duplicate mutated mutation poorly drawn
old young small large big tall little happy sad angry calm quiet peaceful magical mysterious glowing
highly smooth elegant epic huge tiny giant cute lovely stunning gorgeous hyper volumetric ambient render
unreal engine octane blender artstation behance pixiv greg rutkowski alphonse mucha`
  .split(/\s+/)
  .filter((word) => word !== '');

// Greedy BPE training: merge the most frequent adjacent pair (ties broken by the pair's text, so the result
// never depends on Map iteration order) until the target count. Pairs whose join already exists are
// skipped so every merge adds exactly one id and the vocabulary size is known in advance.
function learnMerges(words: readonly string[], count: number): MergeRule[] {
  let corpus = words.map((word) => {
    const symbols = [...toByteSymbols(word)];
    const last = symbols.length - 1;
    return symbols.map((symbol, index) => (index === last ? symbol + END_OF_WORD : symbol));
  });
  const made = new Set<string>();
  const rules: MergeRule[] = [];
  while (rules.length < count) {
    const counts = new Map<string, number>();
    for (const word of corpus) {
      for (let index = 0; index < word.length - 1; index++) {
        const key = `${word[index]} ${word[index + 1]}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
      }
    }
    let best: string | undefined;
    let bestCount = 0;
    for (const [key, seen] of counts) {
      if (made.has(key.replace(' ', ''))) continue;
      if (seen > bestCount || (seen === bestCount && best !== undefined && key < best)) {
        best = key;
        bestCount = seen;
      }
    }
    if (best === undefined) throw new Error(`the tiny word list only supports ${rules.length} merges`);
    const [left = '', right = ''] = best.split(' ');
    rules.push({ left, right });
    made.add(left + right);
    corpus = corpus.map((word) => {
      const merged: string[] = [];
      for (let index = 0; index < word.length; index++) {
        if (index < word.length - 1 && word[index] === left && word[index + 1] === right) {
          merged.push(left + right);
          index++;
        } else {
          merged.push(word[index] ?? '');
        }
      }
      return merged;
    });
  }
  return rules;
}

let tinyFiles: Required<TokenizerFiles> | undefined;

/**
 * vocab.json and merges.txt of the tiny synthetic vocabulary ({@link TINY_VOCAB_SIZE} ids, BOS and EOS the
 * last two). Deterministic: the same text every call and on every machine, so test models built with it
 * can be compared across runs. Any text encodes with it; unknown words fall back to shorter pieces and bytes.
 */
export function tinyTokenizerFiles(): { vocabJson: string; mergesTxt: string } {
  if (tinyFiles === undefined) {
    const rules = learnMerges(WORDS, TINY_MERGE_COUNT);
    const vocab = vocabFromMerges(rules);
    if (vocab.size !== TINY_VOCAB_SIZE) throw new Error(`tiny vocabulary has ${vocab.size} ids, expected ${TINY_VOCAB_SIZE}`);
    tinyFiles = { vocabJson: vocabToJson(vocab), mergesTxt: mergesToText(rules) };
  }
  return { ...tinyFiles };
}
