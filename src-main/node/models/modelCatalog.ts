import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogDto } from '../../common/contract';
import type { CapabilityProfile } from '../../common/hardware';
import { parseModelReference, type ModelRecord } from '../../common/modelReference';
import type { HordeClient } from '../../core/horde/client';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import { buildCatalog, type CatalogEntry } from '../../core/models/catalog';
import { isVerifiable, unverifiedReason } from '../../core/models/verification';
import { freeBytes } from './diskSpace';
import { createModelStore, type ModelStore } from './modelStore';

/** The model reference is about 1 MiB today; a reply far beyond that is not a reference. */
export const MAX_REFERENCE_BYTES = 32 * 1024 * 1024;

/** What createModelCatalog is built over. */
export interface ModelCatalogOptions {
  dataDir: string;
  modelsDir: string;
  http: HttpPort;
  horde: HordeClient;
  referenceUrl: () => string;
  clientAgent: string;
  profile: () => Promise<CapabilityProfile>;
  log: Logger;
}

/** The Models page's catalog commands. */
export interface ModelCatalog {
  /** The catalog as the page shows it; `refresh` fetches the reference again even when one is held. */
  view(refresh: boolean): Promise<CatalogDto>;
  /** One full catalog entry (with its download URLs and checksums), for the installer. */
  entry(name: string): Promise<CatalogEntry | null>;
  remove(name: string): Promise<CatalogDto>;
}

/** The model reference in hand, and where it came from. */
interface ReferenceCopy {
  records: ModelRecord[];
  fetchedAt: string;
  source: 'network' | 'cache';
}

/** What the catalog's parts share: its options, the cache file, the model store and the reference in hand. */
interface CatalogDeps {
  options: ModelCatalogOptions;
  cacheFile: string;
  store: ModelStore;
  memo: ReferenceCopy | null;
}

/** The reference saved by the last successful fetch; null when there is none or it cannot be read. */
function readCache(deps: CatalogDeps): ReferenceCopy | null {
  const { cacheFile } = deps;
  if (!existsSync(cacheFile)) return null;
  try {
    const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAt: string; reference: unknown };
    return { records: parseModelReference(cached.reference).records, fetchedAt: cached.fetchedAt, source: 'cache' };
  } catch (error) {
    deps.options.log.warn(`the cached model reference is unreadable: ${error instanceof Error ? error.message : String(error)}`);
    return null;
  }
}

/**
 * Fetches the reference (unless one is held and `refresh` is false) and saves it; when that fails,
 * keeps the copy in hand or the saved one, and says so in `message`.
 */
async function load(deps: CatalogDeps, refresh: boolean): Promise<{ message: string | null }> {
  const { options, cacheFile } = deps;
  if (deps.memo && !refresh) return { message: null };
  try {
    const response = await options.http.request({
      method: 'GET',
      url: options.referenceUrl(),
      headers: { 'Client-Agent': options.clientAgent },
      timeoutMs: 30_000,
      maxBytes: MAX_REFERENCE_BYTES,
    });
    if (response.status !== 200) throw new Error(`HTTP ${response.status}`);
    const reference: unknown = JSON.parse(response.body);
    const parsed = parseModelReference(reference);
    const fetchedAt = new Date().toISOString();
    writeFileSync(`${cacheFile}.partial`, JSON.stringify({ fetchedAt, reference }));
    renameSync(`${cacheFile}.partial`, cacheFile);
    deps.memo = { records: parsed.records, fetchedAt, source: 'network' };
    if (parsed.skipped.length)
      options.log.warn(
        `model reference: skipped ${parsed.skipped.length} malformed records (first: ${parsed.skipped[0]?.key}: ${parsed.skipped[0]?.reason})`,
      );
    return { message: null };
  } catch (error) {
    deps.memo = deps.memo ?? readCache(deps);
    const why = error instanceof Error ? error.message : String(error);
    return {
      message: deps.memo
        ? `Could not refresh the model reference (${why}); showing the copy from ${deps.memo.fetchedAt}.`
        : `The model reference could not be fetched (${why}) and there is no saved copy yet.`,
    };
  }
}

/** The catalog ranked for this machine, with the horde's demand, what is installed and the free disk space. */
async function view(deps: CatalogDeps, refresh: boolean): Promise<CatalogDto> {
  const { options, store } = deps;
  const { message } = await load(deps, refresh);
  const installed = (await store.listInstalled()).map((m) => ({ name: m.name, bytes: m.bytes, ready: m.ready, problem: m.problem }));
  const demand = await options.horde.statusModels().catch(() => []);
  const memo = deps.memo;
  const entries = memo
    ? buildCatalog(
        memo.records,
        await options.profile(),
        demand,
        installed.map((m) => m.name),
      )
    : [];
  const free = await freeBytes(options.modelsDir).catch(() => null);
  return {
    source: memo?.source ?? 'none',
    fetchedAt: memo?.fetchedAt ?? null,
    message,
    entries: entries.map(({ downloads, ...entry }) => ({
      ...entry,
      unverified: isVerifiable(downloads) ? null : unverifiedReason(downloads),
    })),
    installed,
    freeBytes: free,
  };
}

/**
 * The Models page's data: the horde's model reference (fetched, cached in the data folder, the
 * last copy used offline), what fits this machine, the horde's current demand, and what is
 * installed with its disk use.
 */
export function createModelCatalog(options: ModelCatalogOptions): ModelCatalog {
  const deps: CatalogDeps = {
    options,
    cacheFile: join(options.dataDir, 'model-reference.json'),
    store: createModelStore(options.modelsDir),
    memo: null,
  };
  return {
    view: (refresh) => view(deps, refresh),
    async entry(name) {
      await load(deps, false);
      const found = deps.memo?.records.find((r) => r.name === name);
      if (!found) return null;
      const installed = (await deps.store.listInstalled()).map((m) => m.name);
      return buildCatalog([found], await options.profile(), [], installed)[0] ?? null;
    },
    async remove(name) {
      await deps.store.deleteModel(name);
      return view(deps, false);
    },
  };
}
