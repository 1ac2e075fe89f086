/**
 * Merged weight sets on disk, kept for reuse: a request with the same model, LoRAs, strengths and embeddings opens
 * the folder merged the first time, so it loads exactly as fast as the plain model (same graphs, same file sizes).
 *
 * - Key: sha256 of the base folder's digest (its manifest text and the name, size and modification time of every
 *   file of its components, so a reinstall is a new base), each LoRA's sha256 with its two strengths in request
 *   order (several LoRAs on one weight add in that order), and each embedding's name and sha256. LoRAs at zero
 *   strength on both sides are left out (ComfyUI's LoraLoader returns the model unchanged for them).
 * - Written atomically: into `<key>.partial-<pid>-<n>`, manifest last (merge.ts), then one rename. A folder without
 *   its manifest, or a left-over partial, is removed when the cache opens.
 * - Disk budget: each set counts the bytes it holds itself (files hard-linked from the base count nothing); after a
 *   new set is written, the least recently used sets go until the total fits. Sets in use (acquired and not yet
 *   released) are never removed. A set larger than the whole budget is refused before anything is written.
 */
import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
} from 'node:fs';
import { join } from 'node:path';
import { MANIFEST_FILE } from '../graph/modelFolder';
import type { MatMul } from './adapters';
import { AddonFormatError } from './errors';
import { type LoraApplication, type MergedManifest, readBaseManifest, writeMergedModel } from './merge';
import { readTextualInversion } from './textualInversion';

/** Bumped when the merge's output changes meaning, so older sets are not reused. */
export const MERGE_VERSION = '1';

/** A LoRA of a request; `sha256` (CivitAI publishes it, the downloader checks it) spares hashing the file again. */
export interface CachedLora extends LoraApplication {
  sha256?: string;
}

/** An embedding of a request: the name the prompt uses, its file, and optionally its sha256. */
export interface CachedEmbedding {
  name: string;
  path: string;
  sha256?: string;
}

/** What to merge. */
export interface MergeRequest {
  baseDir: string;
  loras: readonly CachedLora[];
  embeddings: readonly CachedEmbedding[];
}

/** A merged set in use: open `dir` as a model folder; call `release()` when the job is done with it. */
export interface MergedSet {
  dir: string;
  /** True when the set was already on disk. */
  hit: boolean;
  /** The merged manifest, or null when nothing needed merging and `dir` is the base folder itself. */
  manifest: MergedManifest | null;
  release(): void;
}

/** One set on disk. */
export interface CacheEntry {
  key: string;
  dir: string;
  bytes: number;
  lastUsed: number;
  inUse: boolean;
}

export interface MergeCacheOptions {
  /** The cache folder (created when missing). */
  dir: string;
  /** Most bytes the sets may hold together. */
  budgetBytes: number;
  matMul?: MatMul;
  log?: (message: string) => void;
  /** The clock for last-use times (tests). */
  now?: () => number;
}

/** sha256 of a file, read in 4 MiB pieces. */
export function sha256File(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const chunk = Buffer.alloc(4 * 1024 * 1024);
    for (;;) {
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n <= 0) break;
      hash.update(chunk.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** The base folder's identity: its manifest text and every component file's name, size and modification time. */
export function baseDigest(baseDir: string): string {
  const hash = createHash('sha256').update(readFileSync(join(baseDir, MANIFEST_FILE)));
  for (const entry of readdirSync(baseDir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    if (!entry.isDirectory()) continue;
    for (const file of readdirSync(join(baseDir, entry.name)).sort()) {
      const info = statSync(join(baseDir, entry.name, file));
      hash.update(`\n${entry.name}/${file}:${info.size}:${Math.round(info.mtimeMs)}`);
    }
  }
  return hash.digest('hex');
}

/** Bytes a merge will copy or write: the weight files of the components it changes. */
function estimateBytes(baseDir: string, unet: boolean, textEncoder: boolean): number {
  let total = 0;
  for (const [component, changed] of [
    ['unet', unet],
    ['text_encoder', textEncoder],
    // SDXL's second text encoder takes the clip strength too.
    ['text_encoder_2', textEncoder],
  ] as const) {
    if (!changed) continue;
    const folder = join(baseDir, component);
    if (!existsSync(folder)) continue;
    const weights = join(folder, 'weights.pb');
    total += existsSync(weights) ? statSync(weights).size : statSync(join(folder, 'model.onnx')).size;
  }
  return total;
}

/** The LoRA cache. One per cache folder and process. */
export class MergeCache {
  private readonly pins = new Map<string, number>();
  private readonly building = new Map<string, Promise<MergedManifest>>();
  private readonly now: () => number;
  private counter = 0;
  /** File hashes by path, size and modification time: a request names the same files job after job. */
  private readonly hashes = new Map<string, string>();

  constructor(private readonly opts: MergeCacheOptions) {
    this.now = opts.now ?? Date.now;
    mkdirSync(opts.dir, { recursive: true });
    for (const name of readdirSync(opts.dir)) {
      const path = join(opts.dir, name);
      if (name.includes('.partial-') || !existsSync(join(path, MANIFEST_FILE))) rmSync(path, { recursive: true, force: true });
    }
  }

  /** The request's cache key, or null when it changes nothing (no embeddings, every LoRA at zero strength). */
  key(request: MergeRequest): string | null {
    const loras = request.loras.filter((l) => l.model !== 0 || l.clip !== 0);
    if (loras.length === 0 && request.embeddings.length === 0) return null;
    const identity = {
      v: MERGE_VERSION,
      base: baseDigest(request.baseDir),
      loras: loras.map((l) => ({ sha256: (l.sha256 ?? this.hashOf(l.path)).toLowerCase(), model: l.model + 0, clip: l.clip + 0 })),
      embeddings: request.embeddings.map((e) => ({ name: e.name, sha256: (e.sha256 ?? this.hashOf(e.path)).toLowerCase() })),
    };
    return createHash('sha256').update(JSON.stringify(identity)).digest('hex').slice(0, 40);
  }

  private hashOf(path: string): string {
    const info = statSync(path);
    const id = `${path}:${info.size}:${info.mtimeMs}`;
    let hash = this.hashes.get(id);
    if (!hash) this.hashes.set(id, (hash = sha256File(path)));
    return hash;
  }

  /** The sets on disk, least recently used first. */
  entries(): CacheEntry[] {
    const out: CacheEntry[] = [];
    for (const key of readdirSync(this.opts.dir)) {
      const dir = join(this.opts.dir, key);
      const manifestPath = join(dir, MANIFEST_FILE);
      if (key.includes('.partial-') || !existsSync(manifestPath)) continue;
      let bytes: number;
      try {
        bytes = (JSON.parse(readFileSync(manifestPath, 'utf8')) as MergedManifest).merge.ownBytes;
      } catch {
        bytes = 0;
      }
      out.push({ key, dir, bytes, lastUsed: statSync(manifestPath).mtimeMs, inUse: (this.pins.get(key) ?? 0) > 0 });
    }
    return out.sort((a, b) => a.lastUsed - b.lastUsed);
  }

  /** Bytes the sets hold together. */
  usedBytes(): number {
    return this.entries().reduce((n, e) => n + e.bytes, 0);
  }

  /**
   * The merged folder for `request`: from the cache, or merged now. Keep it until `release()`; the cache never
   * removes a set in use. Throws `AddonFormatError` for a LoRA or embedding that cannot be applied.
   */
  async acquire(request: MergeRequest, onProgress?: (done: number, total: number) => void): Promise<MergedSet> {
    const key = this.key(request);
    if (key === null) return { dir: request.baseDir, hit: true, manifest: null, release: () => undefined };
    this.pins.set(key, (this.pins.get(key) ?? 0) + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.pins.set(key, (this.pins.get(key) ?? 1) - 1);
    };
    try {
      const dir = join(this.opts.dir, key);
      const manifestPath = join(dir, MANIFEST_FILE);
      if (existsSync(manifestPath)) {
        const t = this.now() / 1000;
        utimesSync(manifestPath, t, t);
        return { dir, hit: true, manifest: JSON.parse(readFileSync(manifestPath, 'utf8')) as MergedManifest, release };
      }
      let pending = this.building.get(key);
      if (!pending) {
        pending = this.build(key, request, onProgress).finally(() => this.building.delete(key));
        this.building.set(key, pending);
      }
      const manifest = await pending;
      return { dir, hit: false, manifest, release };
    } catch (error) {
      release();
      throw error;
    }
  }

  private async build(key: string, request: MergeRequest, onProgress?: (done: number, total: number) => void): Promise<MergedManifest> {
    readBaseManifest(request.baseDir);
    const loras = request.loras.filter((l) => l.model !== 0 || l.clip !== 0);
    const estimate = estimateBytes(
      request.baseDir,
      loras.some((l) => l.model !== 0),
      loras.some((l) => l.clip !== 0) || request.embeddings.length > 0,
    );
    if (estimate > this.opts.budgetBytes)
      throw new AddonFormatError(
        `Merging these add-ons needs about ${Math.ceil(estimate / 2 ** 20)} MiB, more than the LoRA cache may use (${Math.floor(this.opts.budgetBytes / 2 ** 20)} MiB).`,
      );
    this.evict(estimate, key);
    const embeddings = request.embeddings.map((e) => readTextualInversion(e.path, e.name));
    const staging = join(this.opts.dir, `${key}.partial-${process.pid}-${++this.counter}-${randomBytes(3).toString('hex')}`);
    const started = this.now();
    try {
      const manifest = await writeMergedModel(request.baseDir, staging, loras, embeddings, {
        ...(this.opts.matMul ? { matMul: this.opts.matMul } : {}),
        ...(onProgress ? { onProgress } : {}),
        baseDigest: baseDigest(request.baseDir),
      });
      const dir = join(this.opts.dir, key);
      const t = this.now() / 1000;
      utimesSync(join(staging, MANIFEST_FILE), t, t);
      renameSync(staging, dir);
      this.opts.log?.(`merged ${loras.length} LoRA(s) and ${embeddings.length} embedding(s) into ${key} in ${this.now() - started} ms`);
      this.evict(0, key);
      return manifest;
    } catch (error) {
      rmSync(staging, { recursive: true, force: true });
      throw error;
    }
  }

  /** Removes least recently used sets not in use (and not `keep`) until `incoming` more bytes fit the budget. */
  evict(incoming = 0, keep?: string): void {
    const entries = this.entries();
    let total = entries.reduce((n, e) => n + e.bytes, 0) + incoming;
    for (const e of entries) {
      if (total <= this.opts.budgetBytes) break;
      if (e.inUse || e.key === keep) continue;
      rmSync(e.dir, { recursive: true, force: true });
      total -= e.bytes;
      this.opts.log?.(`removed merged set ${e.key} (${Math.round(e.bytes / 2 ** 20)} MiB) to keep the LoRA cache within its budget`);
    }
  }
}
