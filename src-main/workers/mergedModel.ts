import { MergeCache, type MergedSet } from '../inference/lora/cache';
import { createOrtMatMul, type OrtMatMul } from '../inference/lora/ortMatMul';
import type { RunAddons } from './protocol';

// Which model folder the inference thread's pipeline should have open for a job: the loaded model itself, or that
// model merged with the job's LoRAs and textual inversions (inference/lora's MergeCache: merged once, then reused
// from disk as fast as the plain model loads). One cache per thread, with the LoRA factor products on ONNX Runtime's
// GEMM (this thread has the addon loaded anyway; inference/lora/index.ts). The set whose folder the pipeline has
// open stays acquired until another folder replaces it, so the cache never removes files in use.

/** The thread's merged-model state. */
export class MergedModels {
  private cache: MergeCache | null = null;
  private cacheDir: string | null = null;
  private budget = 0;
  private product: Promise<OrtMatMul> | null = null;
  /** The set the pipeline has open (null: the plain model). */
  private held: MergedSet | null = null;

  /**
   * The folder for a job on `baseDir` with `addons` (none: `baseDir`). Merges on a cache miss (progress as
   * `done` of `total` tensors). Throws AddonFormatError when an add-on cannot be applied to this model.
   */
  async folderFor(
    baseDir: string,
    addons: RunAddons | undefined,
    onProgress: (done: number, total: number) => void,
  ): Promise<{ dir: string; merged: boolean; set: MergedSet | null }> {
    if (!addons || (addons.loras.length === 0 && addons.embeddings.length === 0)) return { dir: baseDir, merged: false, set: null };
    const cache = await this.cacheFor(addons);
    const set = await cache.acquire(
      { baseDir, loras: addons.loras, embeddings: addons.embeddings.map((e) => ({ name: e.name, path: e.path, sha256: e.sha256 })) },
      onProgress,
    );
    return { dir: set.dir, merged: !set.hit, set };
  }

  /** The pipeline now has `set`'s folder open (or the plain model: null): the previous set may be evicted again. */
  opened(set: MergedSet | null): void {
    if (set === this.held) return;
    this.held?.release();
    this.held = set;
  }

  /** A set acquired for a job whose folder was already open: its extra hold is given back. */
  unused(set: MergedSet | null): void {
    if (set && set !== this.held) set.release();
  }

  /**
   * The cache for the job's folder and budget. MergeCache takes its budget when it is made, so a changed budget (the
   * user's setting) makes a new one, but only while no set is held: a new cache would not know the held set is in
   * use. Jobs run one at a time in this thread, so no merge is under way meanwhile.
   */
  private async cacheFor(addons: RunAddons): Promise<MergeCache> {
    const same = this.cache && this.cacheDir === addons.cacheDir;
    if (this.cache && same && (this.budget === addons.budgetBytes || this.held !== null)) return this.cache;
    this.product ??= createOrtMatMul();
    const product = await this.product;
    this.opened(null);
    this.cache = new MergeCache({ dir: addons.cacheDir, budgetBytes: addons.budgetBytes, matMul: product.matMul });
    this.cacheDir = addons.cacheDir;
    this.budget = addons.budgetBytes;
    return this.cache;
  }

  /** Releases the GEMM session (thread shutdown). */
  async close(): Promise<void> {
    this.opened(null);
    const product = this.product;
    this.product = null;
    if (product) await (await product).release().catch(() => undefined);
  }
}
