import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CatalogDto } from '../../common/contract';
import type { CapabilityProfile } from '../../common/hardware';
import { parseModelReference, type ModelRecord } from '../../common/modelReference';
import type { HordeClient } from '../../core/horde/client';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import { buildCatalog } from '../../core/models/catalog';
import { isVerifiable, unverifiedReason } from '../../core/models/verification';
import { freeBytes } from './diskSpace';
import { createModelStore } from './modelStore';

/** The model reference is about 1 MiB today; a reply far beyond that is not a reference. */
export const MAX_REFERENCE_BYTES = 32 * 1024 * 1024;

/**
 * The Models page's data: the horde's model reference (fetched, cached in the data folder, the
 * last copy used offline), what fits this machine, the horde's current demand, and what is
 * installed with its disk use.
 */
export function createModelCatalog(options: {
  dataDir: string;
  modelsDir: string;
  http: HttpPort;
  horde: HordeClient;
  referenceUrl: () => string;
  clientAgent: string;
  profile: () => Promise<CapabilityProfile>;
  log: Logger;
}) {
  const cacheFile = join(options.dataDir, 'model-reference.json');
  const store = createModelStore(options.modelsDir);
  let memo: { records: ModelRecord[]; fetchedAt: string; source: 'network' | 'cache' } | null = null;

  function readCache(): typeof memo {
    if (!existsSync(cacheFile)) return null;
    try {
      const cached = JSON.parse(readFileSync(cacheFile, 'utf8')) as { fetchedAt: string; reference: unknown };
      return { records: parseModelReference(cached.reference).records, fetchedAt: cached.fetchedAt, source: 'cache' };
    } catch (error) {
      options.log.warn(`the cached model reference is unreadable: ${error instanceof Error ? error.message : String(error)}`);
      return null;
    }
  }

  async function load(refresh: boolean): Promise<{ message: string | null }> {
    if (memo && !refresh) return { message: null };
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
      memo = { records: parsed.records, fetchedAt, source: 'network' };
      if (parsed.skipped.length)
        options.log.warn(
          `model reference: skipped ${parsed.skipped.length} malformed records (first: ${parsed.skipped[0]?.key}: ${parsed.skipped[0]?.reason})`,
        );
      return { message: null };
    } catch (error) {
      memo = memo ?? readCache();
      const why = error instanceof Error ? error.message : String(error);
      return {
        message: memo
          ? `Could not refresh the model reference (${why}); showing the copy from ${memo.fetchedAt}.`
          : `The model reference could not be fetched (${why}) and there is no saved copy yet.`,
      };
    }
  }

  async function view(refresh: boolean): Promise<CatalogDto> {
    const { message } = await load(refresh);
    const installed = (await store.listInstalled()).map((m) => ({ name: m.name, bytes: m.bytes, ready: m.ready, problem: m.problem }));
    const demand = await options.horde.statusModels().catch(() => []);
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

  return {
    view,
    /** One full catalog entry (with its download URLs and checksums), for the installer. */
    async entry(name: string) {
      await load(false);
      const found = memo?.records.find((r) => r.name === name);
      if (!found) return null;
      const installed = (await store.listInstalled()).map((m) => m.name);
      return buildCatalog([found], await options.profile(), [], installed)[0] ?? null;
    },
    async remove(name: string): Promise<CatalogDto> {
      await store.deleteModel(name);
      return view(false);
    },
  };
}
