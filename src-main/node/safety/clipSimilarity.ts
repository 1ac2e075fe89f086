import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExecutionProvider } from '../../common/hardware';
import type { ProviderStatus } from '../../common/inference';
import { CLIP_MANIFEST_FILE, openClipRunner, type ClipRunner } from '../../inference/clip';
import { chooseProvider } from '../../inference/pipeline/sessions';
import { ModelFormatError } from '../../inference/pipeline/tensors';
import { CHUNK_TOKENS, loadTokenizerFromFolder, type ClipTokenizer } from '../../inference/tokenizer';
import type { TextFeatureStats } from '../../workers/protocol';
import { SAFETY_MANIFEST_FILE } from './safetyModel';
import { modelIdentity, readTextFeatures, writeTextFeatures } from './textFeatureCache';

/** Texts per text-tower run: bounds the activations of a long word list on ViT-L/14's text tower. */
const TEXT_BATCH = 32;

/** An image as the check receives it: packed 8-bit RGB. */
export interface PackedRgb {
  width: number;
  height: number;
  data: Uint8Array;
}

/**
 * A loaded safety model: the CLIP towers, the tokenizer, and the unit text features of every text asked
 * for so far (read from the model folder's cache, or computed once and written there). Runs where it is
 * created; the app creates it in the safety worker thread.
 */
export class ClipSimilarity {
  /** Cache writes that failed (a read-only folder): the features are kept in memory and computed again next start. */
  readonly warnings: string[] = [];

  private constructor(
    private readonly dir: string,
    private readonly runner: ClipRunner,
    private readonly tokenizer: ClipTokenizer,
    private readonly identity: string,
    private readonly features: Map<string, Float32Array>,
    readonly provider: ProviderStatus,
  ) {}

  /** Opens a safety model folder on the first provider that can run it (CPU last). */
  static async open(dir: string, providers: readonly ExecutionProvider[]): Promise<ClipSimilarity> {
    const manifestText = readFileSync(join(dir, CLIP_MANIFEST_FILE), 'utf8');
    const installPath = join(dir, SAFETY_MANIFEST_FILE);
    const identity = modelIdentity([manifestText, existsSync(installPath) ? readFileSync(installPath, 'utf8') : '']);
    const provider = await chooseProvider(join(dir, 'text', 'model.onnx'), providers, () => undefined);
    const runner = await openClipRunner(dir, { executionProviders: [provider.provider] });
    try {
      const { vision, text } = runner.manifest.config;
      const towers = runner.manifest.towers.map((t) => t.tower);
      if (!vision || !text || !towers.includes('vision') || !towers.includes('text'))
        throw new ModelFormatError(`${dir} lacks a CLIP tower; the safety check needs the image and the text tower`);
      const tokenizer = loadTokenizerFromFolder(dir);
      if (tokenizer.vocabSize !== text.vocabSize)
        throw new ModelFormatError(`${dir}: the tokenizer has ${tokenizer.vocabSize} tokens, the text tower ${text.vocabSize}`);
      return new ClipSimilarity(dir, runner, tokenizer, identity, readTextFeatures(dir, identity), provider);
    } catch (error) {
      await runner.release();
      throw error;
    }
  }

  /** `[start, …text, end]` as openai's `clip.tokenize` makes it (cut to the 77-token window, end kept). */
  tokens(text: string): number[] {
    return [this.tokenizer.bosId, ...this.tokenizer.encode(text).slice(0, CHUNK_TOKENS), this.tokenizer.eosId];
  }

  /** Makes sure every text has its features: those not cached run through the text tower, then go to the cache. */
  async ensureTexts(texts: readonly string[]): Promise<TextFeatureStats> {
    const start = performance.now();
    const missing = [...new Set(texts.filter((t) => !this.features.has(t)))];
    const vectors: Float32Array[] = [];
    for (let i = 0; i < missing.length; i += TEXT_BATCH) {
      vectors.push(...(await this.runner.embedTexts(missing.slice(i, i + TEXT_BATCH).map((t) => this.tokens(t)))));
    }
    missing.forEach((t, i) => this.features.set(t, vectors[i] as Float32Array));
    if (missing.length > 0) {
      try {
        writeTextFeatures(this.dir, this.identity, missing, vectors);
      } catch (error) {
        this.warnings.push(
          `The safety check could not keep its word features (${error instanceof Error ? error.message : String(error)}).`,
        );
      }
    }
    return { cached: texts.length - missing.length, computed: missing.length, ms: performance.now() - start };
  }

  /** The unit image embedding of `image` (openai preprocessing, the image tower, the projection). */
  async embedImage(image: PackedRgb): Promise<Float32Array> {
    if (image.data.length !== image.width * image.height * 3)
      throw new RangeError(
        `An image of ${image.width}×${image.height} needs ${image.width * image.height * 3} RGB bytes, not ${image.data.length}`,
      );
    return this.runner.embedImage(image);
  }

  /** The cosine similarity of a unit image embedding with each text's features (which must be ensured). */
  scores(imageEmbedding: Float32Array, texts: readonly string[]): number[] {
    return texts.map((t) => {
      const f = this.features.get(t);
      if (!f) throw new Error(`No features for "${t}"`);
      let dot = 0;
      for (let i = 0; i < f.length; i++) dot += (f[i] as number) * (imageEmbedding[i] as number);
      return dot;
    });
  }

  release(): Promise<void> {
    return this.runner.release();
  }
}
