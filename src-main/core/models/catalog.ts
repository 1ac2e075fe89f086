import type { CapabilityProfile } from '../../common/hardware';
import type { ActiveModel } from '../../common/horde';
import { familyOfBaseline, type CatalogFamily, type ModelRecord } from '../../common/modelReference';

// The model catalog the user picks from: the reference joined with this machine's profile,
// the horde's live demand (/status/models, §5.4) and what is already on disk. Pure.

/** A file to fetch for a model, with its expected sha256 when the reference gives one. */
export interface CatalogDownload {
  url: string;
  fileName: string;
  sha256: string | null;
}

/** Live demand for a model, from /status/models. All zero when the horde did not list it. */
export interface CatalogDemand {
  /** Megapixelsteps waiting or in progress. */
  queuedMps: number;
  /** Images waiting or in progress. */
  jobs: number;
  /** Workers serving the model. */
  workers: number;
  /** A rough "kudos opportunity": queued megapixelsteps per worker (plus us). */
  opportunity: number;
}

/** One model as the catalog shows it. */
export interface CatalogEntry {
  name: string;
  family: CatalogFamily;
  baseline: string;
  nsfw: boolean;
  inpainting: boolean;
  sizeBytes: number | null;
  downloads: CatalogDownload[];
  fits: boolean;
  /** A plain sentence: why it fits or why not. */
  fitReason: string;
  demand: CatalogDemand;
  installed: boolean;
}

/** The families HordeDesk can convert to ONNX and run today: SD 1.x and SDXL (single-file checkpoints, inference/convert). */
export const CONVERTIBLE_FAMILIES: readonly CatalogFamily[] = ['sd1', 'sdxl'];

const NO_DEMAND: CatalogDemand = { queuedMps: 0, jobs: 0, workers: 0, opportunity: 0 };

/** Turns an /status/models row into {@link CatalogDemand}; `queued` is in pixelsteps. */
export function demandOf(active: ActiveModel | undefined): CatalogDemand {
  if (!active) return NO_DEMAND;
  const queuedMps = Math.max(0, active.queued ?? 0) / 1_000_000;
  const workers = Math.max(0, active.count);
  return { queuedMps, jobs: Math.max(0, active.jobs ?? 0), workers, opportunity: queuedMps / (workers + 1) };
}

/** Decides whether a model fits this machine, with a reason the user can read. */
export function fitOf(record: ModelRecord, family: CatalogFamily, profile: CapabilityProfile): { fits: boolean; reason: string } {
  if (family === 'other') {
    return { fits: false, reason: `HordeDesk cannot run "${record.baseline}" models yet.` };
  }
  if (record.inpainting) {
    return { fits: false, reason: 'Inpainting models are not supported yet.' };
  }
  if (!CONVERTIBLE_FAMILIES.includes(family)) {
    return { fits: false, reason: 'Only Stable Diffusion 1 and SDXL models can be converted today.' };
  }
  const verdict = profile.modelFamilies.find((f) => f.family === family);
  if (!verdict) {
    return { fits: false, reason: 'This machine was not checked for this model family.' };
  }
  return { fits: verdict.fits, reason: verdict.reason };
}

/** Lists the files to download, taking each one's sha256 from `config.files` by name. */
export function downloadsOf(record: ModelRecord): CatalogDownload[] {
  return record.config.download.map((d) => {
    const file = record.config.files.find((f) => f.path === d.file_name || f.path.endsWith(`/${d.file_name}`));
    const sha = file?.sha256sum?.trim().toLowerCase();
    return { url: d.file_url, fileName: d.file_name, sha256: sha && /^[0-9a-f]{64}$/.test(sha) ? sha : null };
  });
}

/** Ranks fitting models first, then by opportunity, then by queued jobs, then by name. */
export function compareEntries(a: CatalogEntry, b: CatalogEntry): number {
  if (a.fits !== b.fits) return a.fits ? -1 : 1;
  if (a.demand.opportunity !== b.demand.opportunity) return b.demand.opportunity - a.demand.opportunity;
  if (a.demand.jobs !== b.demand.jobs) return b.demand.jobs - a.demand.jobs;
  return a.name.localeCompare(b.name);
}

/**
 * Builds the catalog. `demand` rows of other types (text models) are ignored; `installed` holds
 * model names found in the store.
 */
export function buildCatalog(
  reference: readonly ModelRecord[],
  profile: CapabilityProfile,
  demand: readonly ActiveModel[],
  installed: readonly string[],
): CatalogEntry[] {
  const byName = new Map<string, ActiveModel>();
  for (const row of demand) {
    if (row.type === undefined || row.type === 'image') byName.set(row.name, row);
  }
  const onDisk = new Set(installed);
  const entries = reference.map((record): CatalogEntry => {
    const family = familyOfBaseline(record.baseline);
    const fit = fitOf(record, family, profile);
    return {
      name: record.name,
      family,
      baseline: record.baseline,
      nsfw: record.nsfw,
      inpainting: record.inpainting,
      sizeBytes: record.size_on_disk_bytes ?? null,
      downloads: downloadsOf(record),
      fits: fit.fits,
      fitReason: fit.reason,
      demand: demandOf(byName.get(record.name)),
      installed: onDisk.has(record.name),
    };
  });
  return entries.sort(compareEntries);
}
