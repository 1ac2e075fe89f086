import { normalizePrompt } from './prompt';
import { NSFW_CHECKER_TABLES, type NsfwCheckerTables } from './tables';
import {
  ANIME_CARTOON_PREDICATES,
  ANIME_PHOTO_OVERRIDE,
  ANIME_WEAK_BELOW,
  NC_NEGPROMPT_BOOSTS,
  NC_PAIRS,
  NSFW_POST_ANIME_CONCEPTS,
  SECOND_PASS,
  UNDERAGE_DANGER_MODIFIERS,
  UNDERAGE_PREDICATES,
} from './wordLists';

// A port of NSFWChecker.check_for_nsfw (horde_safety/nsfw_checker_class.py @78f8334, NC:718-949),
// the check the reference worker runs on every image, without its optional DeepDanbooru stage:
// HordeDesk has no DeepDanbooru model, which the reference allows (NSFWChecker(interrogator, None)).

/** A word's similarity went missing: the similarity port must score every word of SAFETY_WORDS. */
export class MissingSimilarityError extends Error {
  constructor(readonly word: string) {
    super(`The safety model returned no similarity for "${word}".`);
    this.name = 'MissingSimilarityError';
  }
}

/** What the NSFWChecker concluded, with the scores (rounded like the source) that decided it. */
export interface NsfwCheckResult {
  nsfw: boolean;
  /** Anime or cartoon: changes which NSFW concepts count and how the underage pass runs. */
  anime: boolean;
  /** The negative prompt asks for not-adult (NC:743-748). */
  negPromptSuspect: boolean;
  underageSubject: boolean;
  /** NC:934-935: an underage subject in an NSFW image. */
  csam: boolean;
  /** NSFW concepts over their threshold: text → rounded similarity. */
  nsfwConcepts: ReadonlyMap<string, number>;
  /** Underage predicates that counted: text → rounded similarity. */
  underagePredicates: ReadonlyMap<string, number>;
}

/** Python's round(x, 4): the nearest 4-decimal value, ties to even (they exist: x·32 an odd integer). */
export function roundLikePython4(x: number): number {
  const scaled = x * 10_000;
  const floor = Math.floor(scaled);
  // x = j/32 with j odd is exactly halfway; x·10000 = 312.5·j is then exact in binary. toFixed would round it up.
  if (Number.isInteger(x * 32) && (x * 32) % 2 !== 0) return (floor % 2 === 0 ? floor : floor + 1) / 10_000;
  return Number(x.toFixed(4));
}

/** NC:690-716: the source rounds each similarity to 4 decimals before comparing. */
function roundedScores(scores: ReadonlyMap<string, number>, words: Iterable<string>): Map<string, number> {
  const rounded = new Map<string, number>();
  for (const word of words) {
    const score = scores.get(word);
    if (score === undefined) throw new MissingSimilarityError(word);
    rounded.set(word, roundLikePython4(score));
  }
  return rounded;
}

function get(scores: ReadonlyMap<string, number>, word: string): number {
  const score = scores.get(word);
  if (score === undefined) throw new MissingSimilarityError(word);
  return score;
}

/** NC:757-774: any anime predicate over its threshold, unless all of them are weak and a photo predicate is strong. */
function detectAnime(predicates: ReadonlyMap<string, number>): boolean {
  const found = Object.entries(ANIME_CARTOON_PREDICATES)
    .map(([word, threshold]) => ({ score: get(predicates, word), threshold }))
    .filter(({ score, threshold }) => score > threshold);
  if (found.length === 0) return false;
  if (!found.every(({ score }) => score < ANIME_WEAK_BELOW)) return true;
  for (const [word, score] of predicates) if (word.includes('photo') && score > ANIME_PHOTO_OVERRIDE) return false;
  return true;
}

/**
 * NC:800-813: any predicate (human, underage, NSFW, anime) over its threshold means the NSFW
 * concepts are checked. The source's second test (over the underage danger threshold, NC:809-813)
 * can never add anything: each danger threshold is its predicate's threshold plus a positive modifier.
 */
function subjectNeedsCheck(predicates: ReadonlyMap<string, number>, tables: NsfwCheckerTables): boolean {
  for (const [word, threshold] of tables.predicates) if (get(predicates, word) > threshold) return true;
  return false;
}

const POST_ANIME_CONCEPTS: ReadonlyMap<string, number> = new Map(Object.entries(NSFW_POST_ANIME_CONCEPTS));

/** NC:827-846: concepts over their threshold; on anime only the post-anime concepts, with their own thresholds. */
function nsfwConceptsFound(concepts: ReadonlyMap<string, number>, anime: boolean, tables: NsfwCheckerTables): Map<string, number> {
  const found = new Map<string, number>();
  for (const [word, score] of concepts) {
    const threshold = (anime ? POST_ANIME_CONCEPTS : tables.nsfwConcepts).get(word);
    if (threshold !== undefined && score > threshold) found.set(word, score);
  }
  return found;
}

/** NC:879-888: the anime second pass compares the plain underage predicates against a slice of the danger gap. */
function animeSecondPass(predicates: ReadonlyMap<string, number>, tables: NsfwCheckerTables, suspect: boolean): Map<string, number> {
  let multiplier: number = SECOND_PASS.anime;
  if (suspect) multiplier -= SECOND_PASS.animeSuspectMinus;
  const found = new Map<string, number>();
  // NC:873-877: "teen" and "teens" count above their human-predicate threshold (teen_adjustment is 0).
  for (const word of ['teen', 'teens']) {
    const score = get(predicates, word);
    if (score > get(tables.predicates, word)) found.set(word, score);
  }
  for (const [word, base] of Object.entries(UNDERAGE_PREDICATES)) {
    // NC:880 also skips "shota" and words containing "photo"; neither is in the list at this commit.
    if (word === 'lolicon') continue;
    const adjusted = base + (UNDERAGE_DANGER_MODIFIERS[word] ?? NaN) * multiplier;
    const score = get(predicates, word);
    if (score > adjusted) found.set(word, score);
  }
  return found;
}

/** NC:889-907: elsewhere every combined underage predicate is compared against a larger slice of the gap. */
function otherSecondPass(predicates: ReadonlyMap<string, number>, tables: NsfwCheckerTables, suspect: boolean): Map<string, number> {
  let multiplier: number = SECOND_PASS.other;
  if (suspect) multiplier *= SECOND_PASS.otherSuspectTimes;
  const found = new Map<string, number>();
  for (const [word, base] of tables.underage) {
    const adjusted = base + (get(tables.underageDanger, word) - base) * multiplier;
    const score = get(predicates, word);
    if (score > adjusted) found.set(word, score);
  }
  return found;
}

/** NC:922-927: of two forms found together only the higher stays; on a tie the first of the pair goes. */
function dropPairs(found: Map<string, number>): void {
  for (const [first, second] of NC_PAIRS) {
    const a = found.get(first);
    const b = found.get(second);
    if (a === undefined || b === undefined) continue;
    found.delete(a > b ? second : first);
  }
}

/** NC:851-932: one danger-level predicate, or two second-pass predicates after pairing, make an underage subject. */
function underageFound(predicates: ReadonlyMap<string, number>, tables: NsfwCheckerTables, anime: boolean, suspect: boolean) {
  const danger = new Map<string, number>();
  for (const [word, threshold] of tables.underageDanger) {
    const score = get(predicates, word);
    if (score > threshold) danger.set(word, score);
  }
  if (danger.size >= 1) return { underage: true, predicates: danger };
  const second = anime ? animeSecondPass(predicates, tables, suspect) : otherSecondPass(predicates, tables, suspect);
  dropPairs(second);
  return { underage: second.size >= 2, predicates: second };
}

/** The NSFWChecker's input: raw cosine similarities (text → score) and the horde prompt (`###` before the negative). */
export interface NsfwCheckInput {
  scores: ReadonlyMap<string, number>;
  prompt: string;
}

/**
 * NC:718-949 without DeepDanbooru. The model reference entry is not an input: the source takes it
 * but reads nothing from it (NC:750 is commented out).
 */
export function checkNsfw({ scores, prompt }: NsfwCheckInput, tables: NsfwCheckerTables = NSFW_CHECKER_TABLES): NsfwCheckResult {
  const { negative } = normalizePrompt(prompt);
  const negPromptSuspect = negative ? NC_NEGPROMPT_BOOSTS.some((boost) => negative.includes(boost)) : false;
  const predicates = roundedScores(scores, tables.predicates.keys());
  const anime = detectAnime(predicates);
  const concepts = roundedScores(scores, tables.nsfwConcepts.keys());
  // NC:820: without DeepDanbooru nothing has decided NSFW yet, so only the subject gate remains.
  const nsfwConcepts = subjectNeedsCheck(predicates, tables) ? nsfwConceptsFound(concepts, anime, tables) : new Map<string, number>();
  const nsfw = nsfwConcepts.size > 0;
  const underage = underageFound(predicates, tables, anime, negPromptSuspect);
  return {
    nsfw,
    anime,
    negPromptSuspect,
    underageSubject: underage.underage,
    csam: underage.underage && nsfw,
    nsfwConcepts,
    underagePredicates: underage.predicates,
  };
}
