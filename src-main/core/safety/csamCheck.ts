import { MissingSimilarityError } from './nsfwCheck';
import { normalizePrompt } from './prompt';
import { CSAM_CHECKER_WORDS } from './tables';
import {
  CC_NEGPROMPT_BOOSTS,
  CC_NEGPROMPT_DEBUFFS,
  CC_PAIRS,
  CONTROL_WORD_ADJUSTMENTS,
  CSAM_MIN_UNDERAGE_HITS,
  LEWD_CONTEXT,
  MODEL_TAG_ADJUSTMENTS,
  NEGPROMPT_STEP,
  NSFW_MODEL_ADJUSTMENTS,
  PROMPT_BOOSTS,
  UNDERAGE_CONTEXT,
  UNDERAGE_CRITICAL,
} from './wordLists';

// A port of check_for_csam (horde_safety/csam_checker.py @9b49822, CC:259-410) as the library's
// README tells workers to call it: no NSFWChecker, so no anime or DeepDanbooru stage. Similarities
// are used unrounded, as there. Every adjustment runs in the source's order, because the pair and
// control rules read the scores as the earlier rules left them.

/** What the model reference says about the model that made the image; other fields are ignored. */
export interface ModelSafetyInfo {
  /** utils.py:23-27: missing means true ("may increase false positives"), as for a custom model. */
  nsfw?: boolean | null;
  tags?: readonly string[] | null;
}

/** A word over its threshold. A critical word appears three times: once plain, twice critical (CC:370-394). */
export interface CsamHit {
  word: string;
  score: number;
  threshold: number;
  critical: boolean;
}

/** What check_for_csam concluded. */
export interface CsamCheckResult {
  /** CC:408: at least three underage hits and one lewd hit. */
  csam: boolean;
  underageHits: readonly CsamHit[];
  lewdHits: readonly CsamHit[];
  /** The scores after every adjustment. */
  adjusted: ReadonlyMap<string, number>;
  /** Why a word's score moved: "negative prompt: mature", "prompt: girl", "model: nsfw", "model tag: anime", "control: pregnant". */
  causes: ReadonlyMap<string, readonly string[]>;
}

/** The running state of one check: the scores and why each moved. */
class Scores {
  readonly values = new Map<string, number>();
  readonly causes = new Map<string, string[]>();

  constructor(scores: ReadonlyMap<string, number>) {
    for (const word of CSAM_CHECKER_WORDS) {
      const score = scores.get(word);
      if (score === undefined) throw new MissingSimilarityError(word);
      this.values.set(word, score);
    }
  }

  get(word: string): number {
    return this.values.get(word) ?? NaN;
  }

  add(word: string, delta: number, cause: string): void {
    this.values.set(word, this.get(word) + delta);
    this.causes.set(word, [...(this.causes.get(word) ?? []), cause]);
  }

  /** CC:333-334, 354-355: true when the word's other form is already over this word's threshold. */
  pairAlreadyOver(word: string): boolean {
    const other = CC_PAIRS[word];
    return other !== undefined && this.get(other) > (UNDERAGE_CONTEXT[word] ?? NaN);
  }
}

/** CC:316-325: each boost found in the negative prompt adds a step to every underage word; each debuff subtracts one. */
function adjustForNegativePrompt(scores: Scores, negative: string | null): void {
  if (!negative) return;
  for (const [entries, sign] of [
    [CC_NEGPROMPT_BOOSTS, 1],
    [CC_NEGPROMPT_DEBUFFS, -1],
  ] as const) {
    for (const entry of entries) {
      if (!negative.includes(entry)) continue;
      for (const word of Object.keys(UNDERAGE_CONTEXT)) scores.add(word, sign * NEGPROMPT_STEP, `negative prompt: ${entry}`);
    }
  }
}

const PROMPT_PATTERNS = PROMPT_BOOSTS.map((boost) => ({ pattern: new RegExp(boost.pattern, 'iu'), adjustments: boost.adjustments }));

/** CC:326-335: each rule whose pattern the prompt matches moves its words, unless a word's other form is already over. */
function adjustForPrompt(scores: Scores, positive: string): void {
  for (const { pattern, adjustments } of PROMPT_PATTERNS) {
    const match = pattern.exec(positive);
    if (!match) continue;
    for (const [word, delta] of Object.entries(adjustments)) {
      if (scores.pairAlreadyOver(word)) continue;
      scores.add(word, delta, `prompt: ${match[0]}`);
    }
  }
}

/** CC:279, 339-347: an NSFW model raises the lewd words; an "anime" or "hentai" tag moves its words. */
function adjustForModel(scores: Scores, model: ModelSafetyInfo | null): void {
  if (model?.nsfw ?? true) for (const [word, delta] of NSFW_MODEL_ADJUSTMENTS) scores.add(word, delta, 'model: nsfw');
  const tags = model?.tags ?? [];
  for (const [tag, adjustments] of Object.entries(MODEL_TAG_ADJUSTMENTS)) {
    if (!tags.includes(tag)) continue;
    for (const [word, delta] of adjustments) scores.add(word, delta, `model tag: ${tag}`);
  }
}

/** CC:349-357: a control word over its threshold moves the underage words CLIP confuses with it. */
function adjustForControlWords(scores: Scores): void {
  for (const { control, threshold, adjustments } of CONTROL_WORD_ADJUSTMENTS) {
    if (!(scores.get(control) > threshold)) continue;
    for (const [word, delta] of adjustments) {
      if (scores.pairAlreadyOver(word)) continue;
      scores.add(word, delta, `control: ${control}`);
    }
  }
}

function hitsOver(scores: Scores, table: Readonly<Record<string, number>>, critical: boolean): CsamHit[] {
  return Object.entries(table)
    .filter(([word, threshold]) => scores.get(word) > threshold)
    .map(([word, threshold]) => ({ word, score: scores.get(word), threshold, critical }));
}

/** The input of {@link checkCsam}: raw cosine similarities, the horde prompt and the model's reference entry. */
export interface CsamCheckInput {
  scores: ReadonlyMap<string, number>;
  prompt: string;
  /** The model's reference entry; null for a model the reference lacks (treated as NSFW, utils.py:21-27). */
  model: ModelSafetyInfo | null;
}

/** CC:259-410: underage and lewd words after the prompt, negative-prompt, model and control adjustments. */
export function checkCsam({ scores: raw, prompt, model }: CsamCheckInput): CsamCheckResult {
  const scores = new Scores(raw);
  const { positive, negative } = normalizePrompt(prompt);
  adjustForNegativePrompt(scores, negative);
  adjustForPrompt(scores, positive);
  adjustForModel(scores, model);
  adjustForControlWords(scores);
  const critical = hitsOver(scores, UNDERAGE_CRITICAL, true);
  const underageHits = [...hitsOver(scores, UNDERAGE_CONTEXT, false), ...critical.flatMap((hit) => [hit, hit])];
  const lewdHits = hitsOver(scores, LEWD_CONTEXT, false);
  return {
    csam: underageHits.length >= CSAM_MIN_UNDERAGE_HITS && lewdHits.length > 0,
    underageHits,
    lewdHits,
    adjusted: scores.values,
    causes: scores.causes,
  };
}
