import { z } from 'zod';
import { lorasFieldSchema, tisFieldSchema } from '../lora/request';

// The parts of a pop answer that core/worker/job.ts reads per job, and the small readers it
// needs. Split from job.ts so the decisions there stay readable.

/**
 * The payload fields HordeDesk generates from (HORDE-PROTOCOL.md §2.3). Types are strict, values
 * are not: a 500-pixel width is a well-formed job HordeDesk declines in checkJob, while a width of
 * "512" means the answer is not what the protocol promises. `karras` and `clip_skip` may be
 * missing (the horde emits `clip_skip` only when the requester set it); everything else is always
 * marshalled for a real job. The request kinds' fields are typed too: a `tiling` of "yes" makes the
 * job unreadable (faulted with the reason), not a guess.
 */
export const popJobPayloadSchema = z.looseObject({
  prompt: z.string(),
  ddim_steps: z.number().int(),
  /** A string of digits on the wire; a number is accepted from servers that skip the cast. */
  seed: z.union([z.string(), z.number()]),
  sampler_name: z.string(),
  cfg_scale: z.number(),
  width: z.number().int(),
  height: z.number().int(),
  karras: z.boolean().nullish(),
  clip_skip: z.number().int().nullish(),
  use_nsfw_censor: z.boolean().nullish(),
  /** The request kinds' numbers and switches (§2.3): each only when the requester set it, or the horde's default. */
  denoising_strength: z.number().nullish(),
  hires_fix: z.boolean().nullish(),
  hires_fix_denoising_strength: z.number().nullish(),
  tiling: z.boolean().nullish(),
  /**
   * The post-processors to run, in order (§2.3): names as strings, at most one per known post-processor
   * and then some; a list of anything else makes the job unreadable. Which ones HordeDesk runs is checkJob's.
   */
  post_processing: z.array(z.string().min(1).max(100)).max(20).nullish(),
  /**
   * LoRAs and textual inversions (core/lora/request.ts: the horde's API model and limits); an entry outside them
   * makes the job unreadable. Whether this worker applies them is checkJob's.
   */
  loras: lorasFieldSchema,
  tis: tisFieldSchema,
});
export type PopJobPayload = z.infer<typeof popJobPayloadSchema>;

const MAX_UINT32 = 0xffffffff;

/** The pop's seed as a uint32, or undefined when it is not a decimal integer in 0..2³²−1. */
export function parseSeed(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 && value <= MAX_UINT32 ? value : undefined;
  if (typeof value !== 'string' || !/^\d{1,20}$/.test(value)) return undefined;
  const seed = Number(value);
  return seed <= MAX_UINT32 ? seed : undefined;
}

/**
 * Job ids as the horde writes them (UUIDs), or anything close enough to send back in a submit:
 * printable ASCII without spaces. Anything else could not be reported faulted anyway.
 */
export function isUsableId(value: unknown): value is string {
  return typeof value === 'string' && /^[\x21-\x7e]{1,128}$/.test(value);
}

/** Upload URLs must at least look like HTTP(S); anything else falls back to a base64 submit. */
export function usableUploadUrl(value: unknown): string | null {
  return typeof value === 'string' && /^https?:\/\/\S+$/i.test(value) ? value : null;
}

/**
 * Whether a feature field leaves the feature off. The horde emits schema defaults (false, [],
 * null) for features nobody asked for; any other value, even of a surprising type, is treated as
 * a request for the feature, so HordeDesk declines rather than silently ignoring it.
 */
export function isOff(value: unknown): boolean {
  if (value === undefined || value === null || value === false || value === '') return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object') return Object.keys(value).length === 0;
  return false;
}

/**
 * Payload fields whose presence asks for a feature HordeDesk does not implement, by name. hires_fix
 * and tiling are request kinds instead: the job's model says whether it serves them (job.ts); the
 * post-processors are checked one by one against those installed (postProcessing.ts); LoRAs and
 * textual inversions against the add-on engine and the job's model (job.ts, core/lora).
 */
const PAYLOAD_FEATURES: readonly (readonly [field: string, feature: string])[] = [
  ['control_type', 'control_type'],
  ['transparent', 'transparent'],
  ['workflow', 'workflow'],
  ['extra_texts', 'extra_texts'],
  ['special', 'special'],
];

/**
 * Features the job asks for that HordeDesk does not implement, in a stable order, from the top
 * level of the answer and from the payload. img2img, inpainting and outpainting are request kinds
 * (job.ts), but `remix` (Stable Cascade's, with `extra_source_images`) is not, and a mask without
 * a source image has nothing to mask.
 */
export function unsupportedFeatures(answer: Record<string, unknown>, payload: Record<string, unknown>): string[] {
  const found: string[] = [];
  if (!isOff(answer.source_image) && answer.source_processing === 'remix') found.push('remix');
  if (isOff(answer.source_image) && !isOff(answer.source_mask)) found.push('source_mask without a source_image');
  if (!isOff(answer.extra_source_images)) found.push('extra_source_images');
  for (const [field, feature] of PAYLOAD_FEATURES) {
    if (!isOff(payload[field])) found.push(feature);
  }
  return found;
}

/** The first few schema problems as one line, for a log and a faulted submit. */
export function describeProblems(error: z.ZodError, prefix: string): string {
  const shown = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length ? `${prefix}.${issue.path.map(String).join('.')}` : prefix;
    return `${where}: ${issue.message}`;
  });
  const more = error.issues.length > 3 ? ` (and ${error.issues.length - 3} more)` : '';
  return `${shown.join('; ')}${more}`;
}

/** True for non-null, non-array objects: the only shape a JSON answer or payload can have. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
