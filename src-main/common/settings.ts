import { z } from 'zod';
import { checkServiceUrl } from './serviceUrl';

/** The settings schema version this build writes. Older files are migrated (core/settings). */
export const SETTINGS_VERSION = 1;

// Every message below is read next to its field on the Settings page (or listed with the field's
// label when a settings file is imported), so each one says what to enter, in the page's words.

/**
 * Characters that make text read differently than it is, or not show at all: controls (tab,
 * line feed), format characters (bidi overrides such as U+202E, zero-width space and joiners,
 * soft hyphen, BOM), line and paragraph separators, private-use and lone surrogates, blank Hangul
 * fillers, and every space except the plain one (U+0020).
 */
export const HIDDEN_CHARACTER =
  /[\p{Cc}\p{Cf}\p{Co}\p{Cs}\p{Zl}\p{Zp}\u00a0\u115f\u1160\u1680\u2000-\u200a\u202f\u205f\u3000\u3164\uffa0]/u;

/** Length as the horde counts it (Python's `len`: code points, not UTF-16 units). */
function codePoints(text: string): number {
  return [...text].length;
}

/** A service URL: checked by the one rule for every URL HordeDesk calls (common/serviceUrl.ts). */
function serviceUrl(what: string) {
  return z
    .string({ error: `Enter the address of ${what}, e.g. https://…` })
    .trim()
    .superRefine((url, ctx) => {
      const problem = checkServiceUrl(url, what);
      if (problem !== undefined) ctx.addIssue(problem);
    })
    .transform((url) => url.replace(/\/+$/, ''));
}

const WORKER_NAME_RANGE = 'Enter a name of 5 to 100 characters.';

/**
 * A worker name: 5-100 characters, nothing hidden. `allowEmpty` is for the stored file only: the
 * name is empty until the user chooses one (a fresh install, or onboarding skipped), and the
 * worker refuses to start until then. A change (Settings, onboarding, an imported file) can never
 * set it empty.
 */
function workerNameSchema(allowEmpty: boolean) {
  return z
    .string({ error: WORKER_NAME_RANGE })
    .trim()
    .superRefine((name, ctx) => {
      const problem =
        name === ''
          ? allowEmpty
            ? undefined
            : WORKER_NAME_RANGE
          : HIDDEN_CHARACTER.test(name)
            ? 'A worker name cannot contain tabs, line breaks or invisible characters.'
            : codePoints(name) < 5
              ? 'A worker name needs at least 5 characters.'
              : codePoints(name) > 100
                ? 'A worker name has at most 100 characters.'
                : undefined;
      if (problem !== undefined) ctx.addIssue(problem);
    });
}

/**
 * A list of short texts (blacklist words, model names). The list is checked as a whole so the
 * problem lands on the field itself and names the item by its position, as the user counts.
 */
function textList(words: { item: string; list: string; most: number; longest: number }) {
  return z.array(z.unknown(), { error: `${words.list} must be a list of words.` }).transform((items, ctx): string[] => {
    if (items.length > words.most) {
      ctx.addIssue(`${words.list} can hold at most ${words.most} entries; this one has ${items.length}.`);
      return z.NEVER;
    }
    const texts: string[] = [];
    for (const [index, item] of items.entries()) {
      const name = `${words.item} ${index + 1}`;
      if (typeof item !== 'string') {
        ctx.addIssue(`${name} is not text.`);
        return z.NEVER;
      }
      const text = item.trim();
      const problem =
        text === ''
          ? `${name} is empty.`
          : HIDDEN_CHARACTER.test(text)
            ? `${name} contains tabs, line breaks or invisible characters.`
            : codePoints(text) > words.longest
              ? `${name} is longer than ${words.longest} characters.`
              : undefined;
      if (problem !== undefined) {
        ctx.addIssue(problem);
        return z.NEVER;
      }
      texts.push(text);
    }
    return texts;
  });
}

/**
 * A whole number as typed into a form field. The UI sends the text as typed, so text that is not
 * a number is an error rather than a guess (it once became "as suggested" on the way through
 * `Number()` and JSON). One message for every problem: it says what to enter.
 */
function wholeNumber(min: number, max: number, message: string) {
  return z.union([z.number(), z.string()], { error: message }).transform((value, ctx): number => {
    // Digits only, as typed or as a number would print: signs, fractions, exponents, NaN and
    // Infinity are all "not a whole number in range", so one test covers both kinds of input.
    const text = String(value).trim();
    const n = /^\d+$/.test(text) ? Number(text) : Number.NaN;
    if (!(n >= min && n <= max)) {
      ctx.addIssue(message);
      return z.NEVER;
    }
    return n;
  });
}

/** Like `wholeNumber`, but an empty field or null means "none" (the suggestion, no limit). */
function wholeNumberOrEmpty(min: number, max: number, message: string) {
  const number = wholeNumber(min, max, message);
  return z.union([z.null(), z.number(), z.string()], { error: message }).transform((value, ctx): number | null => {
    if (value === null || (typeof value === 'string' && value.trim() === '')) return null;
    const parsed = number.safeParse(value);
    if (parsed.success) return parsed.data;
    ctx.addIssue(message);
    return z.NEVER;
  });
}

const onOff = z.boolean({ error: 'Must be on or off.' });

const hordeUrl = serviceUrl('the AI Horde');
const ratingsUrl = serviceUrl('the ratings service');
const modelReferenceUrl = serviceUrl('the model reference');
const clipTokenizerUrl = serviceUrl('the CLIP tokenizer download');
const civitaiUrl = serviceUrl('CivitAI');
const hordelingUrl = serviceUrl('the AI Hordeling');
const loraCacheGb = wholeNumber(1, 1000, 'Enter a whole number of gigabytes from 1 to 1000 for the downloaded LoRAs.');
const loraMergedGb = wholeNumber(1, 1000, 'Enter a whole number of gigabytes from 1 to 1000 for the merged models.');
const blacklist = textList({ item: 'Blacklist word', list: 'The blacklist', most: 200, longest: 100 });
const models = textList({ item: 'Model', list: 'The list of models to serve', most: 300, longest: 200 }).nullable();
const amount = wholeNumber(1, 20, 'Enter a whole number from 1 to 20 (the horde hands out at most 20 images per pop).');
const maxPixels = wholeNumberOrEmpty(
  4096,
  3072 * 3072,
  'Enter a whole number of pixels from 4096 (64×64) to 9437184 (3072×3072), e.g. 1048576 for 1024×1024, or leave the field empty to use the suggestion.',
);

// One message for "not text" and "not HH:MM": the schema's own error covers the pattern check too.
const hhmm = z.string({ error: 'Use 24-hour time, e.g. 18:30.' }).regex(/^([01]\d|2[0-3]):[0-5]\d$/);

const DAYS = 'Days are numbered 0 (Sunday) to 6 (Saturday).';

/** One "hours" row: on these days, from start to end (a row may cross midnight). */
const hoursWindow = z.object(
  {
    days: z.array(z.number({ error: DAYS }).int(DAYS).min(0, DAYS).max(6, DAYS), { error: DAYS }).min(1, 'Pick at least one day.'),
    start: hhmm,
    end: hhmm,
  },
  { error: 'Each row of hours has days, a start and an end.' },
);

/** When the worker may run by itself (core/schedule decides; the user can always start it by hand). */
export const scheduleRulesSchema = z.object(
  {
    mode: z
      .enum(['always', 'idle', 'never'], {
        error: 'Choose when the worker may run: always, only when you are away, or only when you press Start.',
      })
      .default('idle'),
    /** Minutes without keyboard or mouse input before the worker starts (mode 'idle'). */
    idleMinutes: wholeNumber(1, 120, 'Enter a whole number of minutes from 1 to 120.').default(5),
    /** When the user comes back: finish the jobs already taken (default) or stop at once. */
    onReturn: z
      .enum(['finish', 'stopNow'], { error: 'Choose what happens when you come back: finish the job in hand, or stop at once.' })
      .default('finish'),
    pauseOnBattery: onOff.default(true),
    /** Hours the worker may run; empty = any time. A window may cross midnight. */
    windows: z.array(hoursWindow, { error: 'Hours must be a list of rows.' }).max(14, 'At most 14 rows of hours.').default([]),
    /** Pause above this GPU temperature (where it can be read); null = no limit. */
    maxGpuTempC: wholeNumberOrEmpty(
      50,
      100,
      'Enter a whole number of degrees from 50 to 100, or leave the field empty for no limit.',
    ).default(null),
  },
  { error: 'The schedule must be a set of named rules.' },
);
export type ScheduleRules = z.infer<typeof scheduleRulesSchema>;
/** The schedule as a form sends it: numbers may still be the text typed. */
export type ScheduleRulesInput = z.input<typeof scheduleRulesSchema>;

/** Refuses unknown names with the name said; the API key gets its own answer (it is never a setting). */
function unknownSettings(keys: readonly string[]): string {
  if (keys.some((k) => /^api_?key$/i.test(k))) return 'The API key is never kept in settings: enter it on the API key card.';
  return `HordeDesk has no setting called ${keys.map((k) => JSON.stringify(k.slice(0, 60))).join(', ')}.`;
}

/**
 * User settings. The API key is deliberately absent: it lives in the OS secret store
 * (Electron safeStorage) or a 0600 file in headless mode, never in this JSON.
 */
export const settingsSchema = z.object(
  {
    schemaVersion: z.literal(SETTINGS_VERSION, { error: `This HordeDesk reads settings version ${SETTINGS_VERSION}.` }),
    /** Main AI Horde API base, without the /v2 part. */
    hordeUrl: hordeUrl.default('https://aihorde.net/api'),
    /** Ratings API base, including /api/v1. */
    ratingsUrl: ratingsUrl.default('https://ratings.aihorde.net/api/v1'),
    /** Horde worker name; unique horde-wide, so it is chosen at onboarding. Empty until then. */
    workerName: workerNameSchema(true).default(''),
    /** Accept jobs flagged NSFW (the horde's `nsfw` pop flag). */
    nsfw: onOff.default(false),
    /** Words: jobs whose prompt contains one are never sent to this worker. */
    blacklist: blacklist.default([]),
    /** Images per pop (`amount`); the horde lowers it for large images. */
    amount: amount.default(1),
    /** `max_pixels` to offer; null = the hardware profile's suggestion. */
    maxPixels: maxPixels.default(null),
    /** The horde's image model reference (the catalog); cached, the last copy is used offline. */
    modelReferenceUrl: modelReferenceUrl.default(
      'https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main/stable_diffusion.json',
    ),
    /** Where SD 1.x's CLIP tokenizer files (vocab.json, merges.txt) are fetched once for converted checkpoints. */
    clipTokenizerUrl: clipTokenizerUrl.default('https://huggingface.co/openai/clip-vit-large-patch14/resolve/main'),
    /** Models to serve, by folder name; null = every model that is ready. */
    models: models.default(null),
    /** Take LoRA jobs (the pop's allow_lora); textual inversions are taken whenever the merge engine is there. */
    loras: onOff.default(true),
    /** Disk the downloaded LoRA and embedding files may use, GB (the reference worker's max_lora_cache_size, 10). */
    loraCacheGb: loraCacheGb.default(10),
    /** Disk the models merged with LoRAs may use, GB (each SD 1.5 set holds a copy of the weights it changes, ~1.8 GB). */
    loraMergedGb: loraMergedGb.default(8),
    /** CivitAI's site, where LoRAs and embeddings are looked up and downloaded. */
    civitaiUrl: civitaiUrl.default('https://civitai.com'),
    /** The AI Hordeling, which hands out embeddings converted to safetensors (the reference worker's source for them). */
    hordelingUrl: hordelingUrl.default('https://hordeling.aihorde.net'),
    schedule: scheduleRulesSchema.default(scheduleRulesSchema.parse({})),
    /** Desktop notifications (opt-in): maintenance, a rating session synced, a download finished. */
    notifications: onOff.default(false),
    /** Start HordeDesk at login (opt-in; Electron only). */
    autostart: onOff.default(false),
    /** First-run onboarding has been completed or skipped. */
    onboarded: onOff.default(false),
  },
  { error: 'Settings must be a set of named values.' },
);
export type Settings = z.infer<typeof settingsSchema>;

/**
 * What the UI may change: any subset of the fields, version excluded. Built from the bare
 * field schemas because defaults inside a partial would fill in, and overwrite, absent fields.
 */
export const settingsPatchSchema = z
  .strictObject(
    {
      hordeUrl,
      ratingsUrl,
      workerName: workerNameSchema(false),
      nsfw: onOff,
      blacklist,
      amount,
      maxPixels,
      modelReferenceUrl,
      clipTokenizerUrl,
      models,
      loras: onOff,
      loraCacheGb,
      loraMergedGb,
      civitaiUrl,
      hordelingUrl,
      schedule: scheduleRulesSchema,
      notifications: onOff,
      autostart: onOff,
      onboarded: onOff,
    },
    { error: (issue) => (issue.code === 'unrecognized_keys' ? unknownSettings(issue.keys) : 'Settings must be a set of named values.') },
  )
  .partial();
export type SettingsPatch = z.input<typeof settingsPatchSchema>;

/** The defaults a fresh install starts with. */
export function defaultSettings(): Settings {
  return settingsSchema.parse({ schemaVersion: SETTINGS_VERSION });
}
