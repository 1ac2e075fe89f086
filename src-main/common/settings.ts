import { z } from 'zod';

/** The settings schema version this build writes. Older files are migrated (core/settings). */
export const SETTINGS_VERSION = 1;

const httpUrl = z
  .string()
  .trim()
  .url('Enter a full URL, e.g. https://aihorde.net/api')
  .refine((u) => /^https?:\/\//i.test(u), 'The URL must start with http:// or https://')
  .transform((u) => u.replace(/\/+$/, ''));

const workerName = z
  .string()
  .trim()
  .max(100, 'A worker name has at most 100 characters')
  .refine((n) => n === '' || n.length >= 5, 'A worker name needs at least 5 characters');

const nsfw = z.boolean();
const blacklist = z.array(z.string().trim().min(1).max(100)).max(200, 'The horde keeps at most 200 blacklist words');
const amount = z.number().int().min(1, 'At least 1 image per pop').max(20, 'The horde hands out at most 20 images per pop');
const maxPixels = z.number().int().min(4096, 'At least 64×64 pixels').max(3072 * 3072, 'The horde caps images at 3072×3072').nullable();

const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'Use 24-hour HH:MM, e.g. 18:30');

/** When the worker may run by itself (core/schedule decides; the user can always start it by hand). */
export const scheduleRulesSchema = z.object({
  mode: z.enum(['always', 'idle', 'never']).default('idle'),
  /** Minutes without keyboard or mouse input before the worker starts (mode 'idle'). */
  idleMinutes: z.number().int().min(1, 'At least 1 minute').max(120, 'At most 120 minutes').default(5),
  /** When the user comes back: finish the jobs already taken (default) or stop at once. */
  onReturn: z.enum(['finish', 'stopNow']).default('finish'),
  pauseOnBattery: z.boolean().default(true),
  /** Hours the worker may run; empty = any time. A window may cross midnight. */
  windows: z.array(z.object({ days: z.array(z.number().int().min(0).max(6)).min(1, 'Pick at least one day'), start: hhmm, end: hhmm })).max(14).default([]),
  /** Pause above this GPU temperature (where it can be read); null = no limit. */
  maxGpuTempC: z.number().int().min(50, 'At least 50 °C').max(100, 'At most 100 °C').nullable().default(null),
});
export type ScheduleRules = z.infer<typeof scheduleRulesSchema>;

/**
 * User settings. The API key is deliberately absent: it lives in the OS secret store
 * (Electron safeStorage) or a 0600 file in headless mode, never in this JSON.
 */
export const settingsSchema = z.object({
  schemaVersion: z.literal(SETTINGS_VERSION),
  /** Main AI Horde API base, without the /v2 part. */
  hordeUrl: httpUrl.default('https://aihorde.net/api'),
  /** Ratings API base, including /api/v1. */
  ratingsUrl: httpUrl.default('https://ratings.aihorde.net/api/v1'),
  /** Horde worker name; unique horde-wide, so it is chosen at onboarding. Empty until then. */
  workerName: workerName.default(''),
  /** Accept jobs flagged NSFW (the horde's `nsfw` pop flag). */
  nsfw: nsfw.default(false),
  /** Words: jobs whose prompt contains one are never sent to this worker. */
  blacklist: blacklist.default([]),
  /** Images per pop (`amount`); the horde lowers it for large images. */
  amount: amount.default(1),
  /** `max_pixels` to offer; null = the hardware profile's suggestion. */
  maxPixels: maxPixels.default(null),
  /** The horde's image model reference (the catalog); cached, the last copy is used offline. */
  modelReferenceUrl: httpUrl.default('https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main/stable_diffusion.json'),
  /** Where SD 1.x's CLIP tokenizer files (vocab.json, merges.txt) are fetched once for converted checkpoints. */
  clipTokenizerUrl: httpUrl.default('https://huggingface.co/openai/clip-vit-large-patch14/resolve/main'),
  /** Models to serve, by folder name; null = every model that is ready. */
  models: z.array(z.string().min(1).max(200)).max(300).nullable().default(null),
  schedule: scheduleRulesSchema.default(scheduleRulesSchema.parse({})),
  /** Desktop notifications (opt-in): maintenance, a rating session synced, a download finished. */
  notifications: z.boolean().default(false),
  /** Start HordeDesk at login (opt-in; Electron only). */
  autostart: z.boolean().default(false),
  /** First-run onboarding has been completed or skipped. */
  onboarded: z.boolean().default(false),
});
export type Settings = z.infer<typeof settingsSchema>;

/**
 * What the UI may change: any subset of the fields, version excluded. Built from the bare
 * field schemas because defaults inside a partial would fill in, and overwrite, absent fields.
 */
export const settingsPatchSchema = z
  .object({ hordeUrl: httpUrl, ratingsUrl: httpUrl, workerName, nsfw, blacklist, amount, maxPixels, modelReferenceUrl: httpUrl, clipTokenizerUrl: httpUrl, models: z.array(z.string().min(1).max(200)).max(300).nullable(), schedule: scheduleRulesSchema, notifications: z.boolean(), autostart: z.boolean(), onboarded: z.boolean() })
  .partial()
  .strict();
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

/** The defaults a fresh install starts with. */
export function defaultSettings(): Settings {
  return settingsSchema.parse({ schemaVersion: SETTINGS_VERSION });
}
