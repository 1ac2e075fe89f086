import { z } from 'zod';

// A job's LoRAs and textual inversions as the horde sends them in the pop payload, checked against the horde's own
// API model (Haidra-Org/AI-Horde horde/apis/models/stable_v2.py: ModelPayloadLorasStable,
// ModelPayloadTextualInversionsStable) and its request limits (horde/validation.py: TooManyLoras, TooManyTIs;
// HORDE-PROTOCOL.md §2.13). The horde checks them on the way in, so a payload outside them is not what the protocol
// promises: the job is unreadable (faulted with the reason), never guessed at. Facts: /work/notes/lora-fetch-facts.md.

/** The horde allows at most 5 LoRAs per request (`TooManyLoras`; reGen's MAX_LORAS). */
export const MAX_LORAS = 5;
/** And at most 20 textual inversions (`TooManyTIs`). */
export const MAX_TIS = 20;
/** Strengths are −5..5 on the API (model, clip, TI strength). */
export const MAX_STRENGTH = 5;

const strength = z.number().min(-MAX_STRENGTH).max(MAX_STRENGTH);

/** One `loras[]` entry: the name is the LoRA's CivitAI model id, its name, or (with `is_version`) a version id. */
export const requestedLoraSchema = z.looseObject({
  name: z.string().min(1).max(255),
  model: strength.nullish().transform((v) => v ?? 1),
  clip: strength.nullish().transform((v) => v ?? 1),
  /** 'any', 'all', or text to look for among the LoRA's trigger words (1..30 characters). */
  inject_trigger: z.string().min(1).max(30).nullish(),
  is_version: z
    .boolean()
    .nullish()
    .transform((v) => v ?? false),
});
export type RequestedLora = z.infer<typeof requestedLoraSchema>;

/** One `tis[]` entry: the name is the embedding's CivitAI model id or its name. */
export const requestedTiSchema = z.looseObject({
  name: z.string().min(1).max(255),
  inject_ti: z.enum(['prompt', 'negprompt']).nullish(),
  strength: strength.nullish().transform((v) => v ?? 1),
});
export type RequestedTi = z.infer<typeof requestedTiSchema>;

/** The payload fields, as popJobPayloadSchema reads them (null and absent mean none). */
export const lorasFieldSchema = z.array(requestedLoraSchema).max(MAX_LORAS, `at most ${MAX_LORAS} LoRAs are allowed per job`).nullish();
export const tisFieldSchema = z
  .array(requestedTiSchema)
  .max(MAX_TIS, `at most ${MAX_TIS} textual inversions are allowed per job`)
  .nullish();

/** What a job asks for besides its prompt and model. */
export interface RequestedAddons {
  loras: RequestedLora[];
  tis: RequestedTi[];
}

/** True when the job names any LoRA or textual inversion. */
export function hasAddons(addons: RequestedAddons | undefined): boolean {
  return (addons?.loras.length ?? 0) + (addons?.tis.length ?? 0) > 0;
}

/** A strength as the History shows it: "0.8", "1", "-1.5". */
function strengthLabel(value: number): string {
  return String(Math.round(value * 100) / 100);
}

/** One LoRA as the History names it: "LoRA 247778", "LoRA v 9124 (0.8/1)" (strengths when not 1 on both sides). */
export function loraLabel(lora: RequestedLora): string {
  const strengths = lora.model === 1 && lora.clip === 1 ? '' : ` (${strengthLabel(lora.model)}/${strengthLabel(lora.clip)})`;
  return `LoRA ${lora.is_version ? 'v ' : ''}${lora.name}${strengths}`;
}

/** One textual inversion as the History names it: "TI 7808". */
export function tiLabel(ti: Pick<RequestedTi, 'name'>): string {
  return `TI ${ti.name}`;
}
