import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import {
  buildPostProcessorCatalog,
  parsePostProcessorReference,
  refusedPostProcessors,
  UPSCALER_REFERENCE_FILE,
  upscalerUnverified,
  type PostProcessorEntry,
  type PostProcessorRecord,
} from '../../core/models/postProcessorCatalog';
// facts.ts only (no runner): the file rembg's u2net session downloads.
import { STRIP_BACKGROUND, U2NET_MODEL } from '../../inference/postprocess/background/facts';
import type { InstalledPostProcessor } from '../postprocess/postProcessors';

/** `esrgan.json` is a few kilobytes; a reply far beyond that is not the reference. */
export const MAX_UPSCALER_REFERENCE_BYTES = 4 * 1024 * 1024;

/** The catalog as the Models page shows it (the contract's PostProcessorCatalogDto). */
export interface PostProcessorCatalogView {
  source: 'network' | 'cache' | 'none';
  fetchedAt: string | null;
  message: string | null;
  entries: (Omit<PostProcessorEntry, 'downloads'> & { fileName: string | null; unverified: string | null })[];
  installed: InstalledPostProcessor[];
  refused: { name: string; reason: string }[];
}

/** What createPostProcessorCatalog is built over. */
export interface PostProcessorCatalogOptions {
  dataDir: string;
  http: HttpPort;
  /** The SD model reference's URL (Settings); `esrgan.json` is read from beside it. */
  modelReferenceUrl: () => string;
  clientAgent: string;
  /** Every post-processor installed, every engine's (node/postprocess). */
  installed: () => InstalledPostProcessor[];
  log: Logger;
}

/** The Models page's post-processor commands' data. */
export interface PostProcessorCatalog {
  view(refresh: boolean): Promise<PostProcessorCatalogView>;
  /** One entry with its download URLs and checksums, for the installer; null when the reference lacks it. */
  entry(name: string): Promise<PostProcessorEntry | null>;
}

/**
 * strip_background has no record in the horde's references: rembg downloads u2net.onnx itself (rembg/sessions/u2net.py).
 * HordeDesk offers that file, with the SHA-256 pinned in inference/postprocess/background/facts.ts.
 */
export function backgroundRemovalEntry(installed: readonly string[]): PostProcessorEntry {
  return {
    name: STRIP_BACKGROUND,
    family: 'background',
    description:
      "Removes the background as the horde's workers do (rembg's U²-Net mask refined by closed-form alpha matting); the image comes back with transparency.",
    style: null,
    downloads: [{ url: U2NET_MODEL.url, fileName: U2NET_MODEL.fileName, sha256: U2NET_MODEL.sha256 }],
    served: true,
    reason: "The horde's background removal; HordeDesk runs the published u2net.onnx and rembg's matting as the horde's workers do.",
    installed: installed.includes(STRIP_BACKGROUND),
  };
}

/** Where the upscaler reference lives: beside the SD model reference (the horde's repository keeps them together). */
export function upscalerReferenceUrl(modelReferenceUrl: string): string {
  return new URL(UPSCALER_REFERENCE_FILE, modelReferenceUrl).toString();
}

/** The horde's upscaler reference, fetched (cached in the data folder; the saved copy is used offline), joined with what is installed. */
export function createPostProcessorCatalog(options: PostProcessorCatalogOptions): PostProcessorCatalog {
  const cacheFile = join(options.dataDir, 'upscaler-reference.json');
  let memo: { records: PostProcessorRecord[]; fetchedAt: string; source: 'network' | 'cache' } | null = null;

  const readCache = (): typeof memo => {
    if (!existsSync(cacheFile)) return null;
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAt: string; reference: unknown };
      return { records: parsePostProcessorReference(cached.reference).records, fetchedAt: cached.fetchedAt, source: 'cache' };
    } catch (error) {
      options.log.warn(`the cached upscaler reference is unreadable: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  };

  const load = async (refresh: boolean): Promise<string | null> => {
    if (memo && !refresh) return null;
    const url = upscalerReferenceUrl(options.modelReferenceUrl());
    try {
      const response = await options.http.request({
        method: 'GET',
        url,
        headers: { 'Client-Agent': options.clientAgent },
        timeoutMs: 30_000,
        maxBytes: MAX_UPSCALER_REFERENCE_BYTES,
      });
      if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
      const reference: unknown = JSON.parse(response.body);
      const parsed = parsePostProcessorReference(reference);
      const fetchedAt = new Date().toISOString();
      mkdirSync(options.dataDir, { recursive: true });
      writeFileSync(`${cacheFile}.partial`, JSON.stringify({ fetchedAt, reference }));
      renameSync(`${cacheFile}.partial`, cacheFile);
      memo = { records: parsed.records, fetchedAt, source: 'network' };
      if (parsed.skipped.length) options.log.warn(`upscaler reference: skipped ${parsed.skipped.length} malformed records`);
      return null;
    } catch (error) {
      memo = memo ?? readCache();
      const why = error instanceof Error ? error.message : String(error);
      return memo
        ? `Could not refresh the upscaler reference (${why}); showing the copy from ${memo.fetchedAt}.`
        : `The upscaler reference (${url}) could not be fetched (${why}) and there is no saved copy yet.`;
    }
  };

  const entries = (): PostProcessorEntry[] => {
    const installed = options.installed().map((p) => p.name);
    // Served first, then by name, as buildPostProcessorCatalog orders the reference's entries.
    return [...(memo ? buildPostProcessorCatalog(memo.records, installed) : []), backgroundRemovalEntry(installed)].sort(
      (a, b) => Number(b.served) - Number(a.served) || a.name.localeCompare(b.name),
    );
  };

  return {
    async view(refresh) {
      const message = await load(refresh);
      return {
        source: memo?.source ?? 'none',
        fetchedAt: memo?.fetchedAt ?? null,
        message,
        entries: entries().map(({ downloads, ...entry }) => ({
          ...entry,
          fileName: downloads.find((d) => /\.(pth|safetensors|onnx)$/i.test(d.fileName))?.fileName ?? null,
          unverified: upscalerUnverified(downloads),
        })),
        installed: options.installed(),
        refused: refusedPostProcessors(),
      };
    },
    async entry(name) {
      await load(false);
      return entries().find((e) => e.name === name) ?? null;
    },
  };
}
