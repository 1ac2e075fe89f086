import { z } from 'zod';
import type { ModelFamily } from './hardware';

// The AI Horde image model reference (HORDE-PROTOCOL.md §5): an object keyed by model name.
// Parsing is tolerant: unknown keys pass through, and one broken record never sinks the rest.

/** Where the horde itself reads the reference from. */
export const MODEL_REFERENCE_URL = 'https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main/stable_diffusion.json';

/** One entry of `config.files`: a file the model consists of, with optional checksums. */
export const referenceFileSchema = z.looseObject({
  path: z.string().min(1),
  sha256sum: z.string().optional(),
  md5sum: z.string().optional(),
});

/** One entry of `config.download`: where a file of the model can be fetched from. */
export const referenceDownloadSchema = z.looseObject({
  file_name: z.string().min(1),
  file_path: z.string().default(''),
  file_url: z.string().url(),
});

/** One record of the legacy reference JSON. Only the fields HordeDesk uses are checked. */
export const modelRecordSchema = z.looseObject({
  name: z.string().min(1),
  baseline: z.string(),
  type: z.string().optional(),
  inpainting: z.boolean().default(false),
  nsfw: z.boolean().default(false),
  description: z.string().nullable().optional(),
  version: z.string().optional(),
  style: z.string().optional(),
  config: z
    .looseObject({
      files: z.array(referenceFileSchema).default([]),
      download: z.array(referenceDownloadSchema).default([]),
    })
    .default({ files: [], download: [] }),
  size_on_disk_bytes: z.number().int().nonnegative().optional(),
  requirements: z.record(z.string(), z.unknown()).optional(),
  features_not_supported: z.array(z.string()).optional(),
});
export type ModelRecord = z.infer<typeof modelRecordSchema>;

/** A record that did not parse, with a plain reason. */
export interface SkippedRecord {
  key: string;
  reason: string;
}

/** The outcome of {@link parseModelReference}. */
export interface ModelReference {
  records: ModelRecord[];
  skipped: SkippedRecord[];
}

/** The families HordeDesk reasons about, plus everything else. */
export type CatalogFamily = ModelFamily | 'other';

/** Legacy and new-style baseline strings, compared exactly (§5.1). */
const BASELINE_FAMILIES: Readonly<Record<string, ModelFamily>> = {
  'stable diffusion 1': 'sd1',
  stable_diffusion_1: 'sd1',
  'stable diffusion 2': 'sd2',
  'stable diffusion 2 512': 'sd2',
  stable_diffusion_2_768: 'sd2',
  stable_diffusion_2_512: 'sd2',
  stable_diffusion_xl: 'sdxl',
};

/** Maps a reference `baseline` to a family; unknown baselines (Cascade, Flux, …) are 'other'. */
export function familyOfBaseline(baseline: string): CatalogFamily {
  return Object.hasOwn(BASELINE_FAMILIES, baseline) ? (BASELINE_FAMILIES[baseline] ?? 'other') : 'other';
}

/**
 * Parses the reference JSON (already decoded). A non-object top level is fatal; a malformed
 * record is skipped with the first validation issue as its reason. A record whose `name` differs
 * from its key is kept under its `name`, which is what workers advertise.
 */
export function parseModelReference(json: unknown): ModelReference {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new TypeError('The model reference is not a JSON object keyed by model name.');
  }
  const records: ModelRecord[] = [];
  const skipped: SkippedRecord[] = [];
  for (const [key, value] of Object.entries(json)) {
    const parsed = modelRecordSchema.safeParse(value);
    if (parsed.success) {
      records.push(parsed.data);
    } else {
      const issue = parsed.error.issues[0];
      const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'record';
      skipped.push({ key, reason: `${where}: ${issue?.message ?? 'invalid'}` });
    }
  }
  return { records, skipped };
}
