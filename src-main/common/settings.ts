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
});
export type Settings = z.infer<typeof settingsSchema>;

/**
 * What the UI may change: any subset of the fields, version excluded. Built from the bare
 * field schemas because defaults inside a partial would fill in, and overwrite, absent fields.
 */
export const settingsPatchSchema = z.object({ hordeUrl: httpUrl, ratingsUrl: httpUrl, workerName }).partial().strict();
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

/** The defaults a fresh install starts with. */
export function defaultSettings(): Settings {
  return settingsSchema.parse({ schemaVersion: SETTINGS_VERSION });
}
