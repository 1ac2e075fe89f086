import { POP_SKIP_REASONS, type PopSkipReason } from '../common/horde';
import type { Capability } from './bridges';
import type { Job, WaitingRequest } from './queue';
import type { UserTable } from './users';
import type { StandinWorker } from './workers';

// Which waiting requests a worker may take, why the others were skipped, and the pop answer
// (HORDE-PROTOCOL.md §2.3, §2.7, §2.8). Skips the horde applies in SQL (maintenance, extra-slow,
// R2 capability) leave no trace in `skipped`; the others are counted under the horde's keys.

/** Keys `skipped` always carries, with 0 when nothing was skipped for that reason (§2.3): the first twelve. */
export const ALWAYS_SKIPPED_KEYS = POP_SKIP_REASONS.slice(0, 12);

/** A counted skip reason (the always-present keys, plus max_pixels, kudos, blacklist, step_count). */
export type SkipReason = PopSkipReason;

/** The verdict on one request: the models both sides serve, or why not (null: filtered silently). */
export type Match = { ok: true; models: string[] } | { ok: false; reason: SkipReason | null };

/**
 * Whether `worker` may take a job of `wp` (the horde's SQL filter plus `can_generate`).
 * `inpaintingModels` are the names the model reference marks `inpainting`.
 */
export function matchRequest(
  wp: WaitingRequest,
  worker: StandinWorker,
  inMaintenance: boolean,
  users: UserTable,
  inpaintingModels: ReadonlySet<string> = new Set(),
): Match {
  const r = wp.request;
  const c = worker.config;
  const bridge = worker.bridge;
  const skip = (reason: SkipReason | null): Match => ({ ok: false, reason });
  if (inMaintenance && wp.ownerId !== worker.ownerId) return skip(null);
  if (c.extra_slow_worker && !wp.request.body.extra_slow_workers) return skip(null);
  if (r.r2 && !bridge.has('r2')) return skip(null);
  const models = r.models.length ? r.models.filter((m) => c.models.includes(m)) : [...c.models];
  if (models.length === 0) return skip('models');
  const listed = wp.request.body.workers ?? [];
  if (listed.length && (wp.request.body.worker_blacklist ?? false) === listed.includes(worker.id)) return skip('worker_id');
  if (r.width * r.height > c.max_pixels) return skip('max_pixels');
  if (r.nsfw && !c.nsfw) return skip('nsfw');
  const prompt = r.prompt.toLowerCase();
  if (c.blacklist.some((word) => word !== '' && prompt.includes(word.slice(0, 15).toLowerCase()))) return skip('blacklist');
  const requester = users.byId(wp.ownerId);
  const owner = users.byId(worker.ownerId);
  if (wp.request.body.trusted_workers && owner?.details.trusted !== true) return skip('untrusted');
  if (c.require_upfront_kudos && requester?.details.trusted !== true && Number(requester?.details.kudos ?? 0) < wp.kudos * r.n)
    return skip('kudos');
  if (c.limit_max_steps && r.steps > 30) return skip('step_count');
  // Each feature needs the worker's consent and the bridge's capability. The horde's count names
  // the consent when it is missing (a worker that declines img2img reads "img2img" whatever its
  // bridge), and "bridge_version" only when the worker consents but its bridge may not have it
  // (count_skipped_image_wp). TIs and transparency have no consent of their own there.
  const painting = r.sourceImage !== null && (r.sourceProcessing === 'inpainting' || r.sourceProcessing === 'outpainting');
  if (r.sourceImage !== null) {
    if (!c.allow_img2img) return skip('img2img');
    if (painting && !c.allow_painting) return skip('painting');
    if (!bridge.has('img2img') || (painting && !bridge.has('inpainting'))) return skip('bridge_version');
  }
  // Painting needs an inpainting model among the worker's, and a worker with only such models gets
  // nothing else (can_generate: has_inpainting_models, has_only_inpainting_models).
  const inpainting = c.models.filter((m) => inpaintingModels.has(m));
  if (painting && inpainting.length === 0) return skip('models');
  if (!painting && inpainting.length > 0 && inpainting.length === c.models.length) return skip('models');
  if (r.postProcessing.length) {
    if (!c.allow_post_processing) return skip('post-processing');
    if (!bridge.has('post-processing')) return skip('bridge_version');
    // Each post-processor the request names is a capability of its own (can_generate's KNOWN_POST_PROCESSORS loop).
    if (r.postProcessing.some((pp) => !bridge.has(pp as Capability))) return skip('bridge_version');
  }
  if (r.loras || r.tis) {
    if (r.loras && !c.allow_lora) return skip('lora');
    if ((r.loras && !bridge.has('lora')) || (r.tis && !bridge.has('textual_inversion'))) return skip('bridge_version');
  }
  if (r.controlType || r.transparent) {
    if (r.controlType && !c.allow_controlnet) return skip('controlnet');
    if ((r.controlType && !bridge.has('controlnet')) || (r.transparent && !bridge.has('layer_diffuse'))) return skip('bridge_version');
    if (r.transparent && !c.allow_sdxl_controlnet) return skip('controlnet');
  }
  const needs = [
    r.hiresFix && !bridge.has('hires_fix'),
    r.tiling && !bridge.has('tiling'),
    (r.clipSkip ?? 1) > 1 && !bridge.has('clip_skip'),
    r.params.workflow !== undefined && !bridge.has('workflow'),
    !bridge.acceptsSampler(r.sampler, r.karras),
  ];
  if (needs.some(Boolean)) return skip('bridge_version');
  return { ok: true, models };
}

/**
 * The pop payload of an assignment (§2.3): keys in the recorded order, `seed` as a string, the
 * optional fields only when the requester set them, `use_nsfw_censor` only when true.
 */
export function payloadFor(wp: WaitingRequest, seed: number, nIter: number): Record<string, unknown> {
  const r = wp.request;
  const p = r.params;
  const payload: Record<string, unknown> = {
    prompt: r.prompt,
    ddim_steps: r.steps,
    n_iter: nIter,
    seed: String(seed),
    image_is_control: p.image_is_control ?? false,
    return_control_map: p.return_control_map ?? false,
    sampler_name: r.sampler,
    cfg_scale: r.cfgScale,
    height: r.height,
    width: r.width,
    karras: r.karras,
    tiling: r.tiling,
    hires_fix: r.hiresFix,
    transparent: r.transparent,
  };
  for (const key of [
    'denoising_strength',
    'hires_fix_denoising_strength',
    'clip_skip',
    'post_processing',
    'facefixer_strength',
    'control_type',
    'workflow',
    'extra_texts',
    'special',
  ] as const) {
    if (p[key] !== undefined) payload[key] = p[key];
  }
  if (p.loras) payload.loras = p.loras.map((lora) => ({ model: 1, clip: 1, is_version: false, ...lora }));
  if (p.tis) payload.tis = p.tis.map((ti) => ({ strength: 1, ...ti }));
  if (r.useNsfwCensor) payload.use_nsfw_censor = true;
  return payload;
}

/** The answer to a pop that got jobs; every top-level key present, in the recorded order. */
export function jobAnswer(
  wp: WaitingRequest,
  jobs: Job[],
  payload: Record<string, unknown>,
  uploadUrl: (id: string) => string,
  sources: { source_image: string | null; source_mask: string | null },
): Record<string, unknown> {
  const first = jobs[0];
  const uploads = first?.r2 ? jobs.map((job) => uploadUrl(job.id)) : null;
  return {
    payload,
    id: first?.id ?? null,
    ids: jobs.map((job) => job.id),
    messages: [],
    ttl: first?.ttl ?? null,
    skipped: {},
    model: first?.model ?? null,
    source_image: sources.source_image,
    source_processing: wp.request.sourceProcessing,
    source_mask: sources.source_mask,
    extra_source_images: null,
    r2_upload: uploads?.[0] ?? null,
    r2_uploads: uploads,
  };
}

/** The payload marshalled from schema defaults when there is no job (§2.3, inferred by the notes). */
const EMPTY_PAYLOAD = {
  sampler_name: 'k_euler_a',
  cfg_scale: 7.5,
  height: 512,
  width: 512,
  karras: false,
  tiling: false,
  hires_fix: false,
  transparent: false,
  image_is_control: false,
  return_control_map: false,
  ddim_steps: 30,
  n_iter: 1,
};

/** The answer to a pop without a job: nulls, and the skip counts with the always-present keys. */
export function emptyAnswer(skipped: Partial<Record<SkipReason, number>>): Record<string, unknown> {
  const counts: Record<string, number> = Object.fromEntries(ALWAYS_SKIPPED_KEYS.map((key) => [key, 0]));
  for (const [key, count] of Object.entries(skipped)) if (count) counts[key] = count;
  return {
    payload: { ...EMPTY_PAYLOAD },
    id: null,
    ids: [],
    messages: [],
    ttl: null,
    skipped: counts,
    model: null,
    source_image: null,
    source_processing: 'img2img',
    source_mask: null,
    extra_source_images: null,
    r2_upload: null,
    r2_uploads: null,
  };
}
