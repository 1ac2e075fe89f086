import {
  ANIME_CARTOON_PREDICATES,
  CONTROL_WORDS,
  HUMAN_PREDICATE_PARTS,
  HUMAN_PREDICATES_ISOLATED,
  IMAGE_DESCRIPTION_PREFIXES,
  LEWD_CONTEXT,
  NSFW_CONCEPT_PARTS,
  NSFW_ISOLATED_CONCEPTS,
  NSFW_PREDICATES,
  NSFW_SYNTH_CONCEPTS,
  PREDICATE_DEFAULT_THRESHOLD,
  UNDERAGE_CONTEXT,
  UNDERAGE_DANGER_MODIFIERS,
  UNDERAGE_PREDICATES,
  type Thresholds,
} from './wordLists';

// The NSFWChecker's derived tables, built the way NC:_refresh_predicates (NC:503-584) and
// NC:_refresh_concepts (NC:666-688) build them. The sums are written in the source's order:
// floating-point addition is not associative, and a threshold off by one ulp flips a `>`.

/** The tables the NSFWChecker compares against, keyed by the exact text CLIP scores. */
export interface NsfwCheckerTables {
  /** NC:552-558 `_all_predicates`: anime, human, underage, NSFW predicates, in that order. */
  predicates: ReadonlyMap<string, number>;
  /** NC:520-521, 537-539 `_combined_underage_danger_concepts`: above these a subject is underage outright. */
  underageDanger: ReadonlyMap<string, number>;
  /** NC:517-518, 540-542 `_combined_underage_predicates`: the base of the second underage pass. */
  underage: ReadonlyMap<string, number>;
  /** NC:681-686 `_all_nsfw_concepts`. */
  nsfwConcepts: ReadonlyMap<string, number>;
}

function entries(table: Thresholds): [string, number][] {
  return Object.entries(table);
}

/** NC:453-454: danger = modifier + predicate (that order). */
function underageDangerConcepts(): Map<string, number> {
  const danger = new Map<string, number>();
  for (const [word, modifier] of entries(UNDERAGE_DANGER_MODIFIERS)) danger.set(word, modifier + (UNDERAGE_PREDICATES[word] ?? NaN));
  return danger;
}

function buildPredicateTables(): Omit<NsfwCheckerTables, 'nsfwConcepts'> {
  const danger = underageDangerConcepts();
  const human = new Map(entries(HUMAN_PREDICATES_ISOLATED));
  const nsfw = new Map(entries(NSFW_PREDICATES));
  const underage = new Map(entries(UNDERAGE_PREDICATES));
  const underageDanger = new Map(danger);
  for (const [prefix, prefixValue] of entries(IMAGE_DESCRIPTION_PREFIXES)) {
    for (const [part, partValue] of entries(HUMAN_PREDICATE_PARTS)) {
      human.set(`${prefix} ${part}`, PREDICATE_DEFAULT_THRESHOLD + prefixValue + partValue);
    }
    for (const [word, value] of entries(NSFW_PREDICATES)) nsfw.set(`${prefix} ${word}`, prefixValue + value);
    for (const [word, dangerValue] of danger) {
      // NC:534-535: "lolicon" is never prefixed.
      if (word === 'lolicon') continue;
      underageDanger.set(`${prefix} ${word}`, prefixValue + dangerValue);
      underage.set(`${prefix} ${word}`, prefixValue + (UNDERAGE_PREDICATES[word] ?? NaN));
    }
  }
  // NC:552-558: a dict merge; a repeated key keeps its first place and takes the later value, as Map.set does.
  const predicates = new Map([...entries(ANIME_CARTOON_PREDICATES), ...human, ...underage, ...nsfw]);
  return { predicates, underageDanger, underage };
}

function buildConceptTable(): Map<string, number> {
  const prefixed: [string, number][] = [];
  for (const [prefix, prefixValue] of entries(IMAGE_DESCRIPTION_PREFIXES)) {
    for (const [part, partValue] of entries(NSFW_CONCEPT_PARTS)) prefixed.push([`${prefix} ${part}`, prefixValue + partValue]);
  }
  return new Map([...entries(NSFW_ISOLATED_CONCEPTS), ...entries(NSFW_CONCEPT_PARTS), ...prefixed, ...entries(NSFW_SYNTH_CONCEPTS)]);
}

/** The NSFWChecker's tables, built once. */
export const NSFW_CHECKER_TABLES: NsfwCheckerTables = { ...buildPredicateTables(), nsfwConcepts: buildConceptTable() };

/** CC:285: the words check_for_csam scores (its `TEST_WORDS` is empty). */
export const CSAM_CHECKER_WORDS: readonly string[] = [...Object.keys(UNDERAGE_CONTEXT), ...Object.keys(LEWD_CONTEXT), ...CONTROL_WORDS];

/**
 * Every text the safety check needs a similarity for, each once: what the {@link SimilarityPort}
 * scores for every image. The same text has the same score wherever a rule uses it.
 */
export const SAFETY_WORDS: readonly string[] = [
  ...new Set([...NSFW_CHECKER_TABLES.predicates.keys(), ...NSFW_CHECKER_TABLES.nsfwConcepts.keys(), ...CSAM_CHECKER_WORDS]),
];
