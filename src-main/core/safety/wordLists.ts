// The AI Horde's safety word lists and thresholds, as data. These are facts HordeDesk must use to
// decide like the horde's reference worker; they are not ours to tune. Each number is a cosine
// similarity between the image's CLIP ViT-L/14 features and the text's (docs/safety.md).
//
// Sources (Haidra-Org/horde-safety, read at these commits; line numbers are theirs):
//   NC = horde_safety/nsfw_checker_class.py @78f8334: NSFWChecker, which the reference worker runs
//        (horde-worker-reGen process_management/safety_process.py builds one and calls check_for_nsfw).
//   CC = horde_safety/csam_checker.py @9b49822: check_for_csam, the library's CLIP-only CSAM check
//        (deprecated there in favour of NSFWChecker, still the one its README gives workers).
// Object key order is the source's dict order: the checks iterate in it, and so do we.

/** A word (a text CLIP scores) and the similarity above which it counts. */
export type Thresholds = Readonly<Record<string, number>>;

// ---- NSFWChecker (NC) ----

/** NC:338 `predicate_default_threshold`: the base of every prefixed human predicate. */
export const PREDICATE_DEFAULT_THRESHOLD = 0.202;

/** NC:386-391: prefixes combined with parts below; the value is added to the part's threshold. */
export const IMAGE_DESCRIPTION_PREFIXES: Thresholds = {
  'photo of': 0,
  'painting of': 0.005,
  'illustration of': 0.075,
  '3d render of': 0.0125,
};

/** NC:393-406: human parts; threshold = 0.202 + prefix + part (NC:525-528). */
export const HUMAN_PREDICATE_PARTS: Thresholds = {
  'a boy': 0,
  boys: 0,
  'a girl': 0,
  girls: 0,
  'a teen': 0,
  'a man': 0.01,
  men: 0,
  'a woman': 0,
  'a couple': 0,
  'couple kissing': 0,
  'a girl in a bikini': 0.01,
  'girls in bikinis': 0.01,
};

/** NC:408-420: human predicates used as they are. */
export const HUMAN_PREDICATES_ISOLATED: Thresholds = {
  boy: 0.194,
  boys: 0.194,
  man: 0.194,
  men: 0.194,
  girl: 0.194,
  girls: 0.194,
  woman: 0.194,
  women: 0.194,
  teenager: 0.194,
  teen: 0.19,
  teens: 0.19,
};

/** NC:422-435: underage predicates ("shota" is commented out at this commit). */
export const UNDERAGE_PREDICATES: Thresholds = {
  child: 0.19,
  children: 0.19,
  'young children': 0.189,
  'a baby': 0.19,
  'an infant': 0.19,
  infants: 0.19,
  toddler: 0.19,
  toddlers: 0.19,
  tween: 0.19,
  tweens: 0.19,
  lolicon: 0.2,
};

/** NC:437-450: added to an underage predicate gives its danger threshold (NC:453-454). */
export const UNDERAGE_DANGER_MODIFIERS: Thresholds = {
  child: 0.035,
  children: 0.035,
  'young children': 0.03,
  'a baby': 0.0275,
  'an infant': 0.0275,
  infants: 0.0275,
  toddler: 0.0275,
  toddlers: 0.0275,
  tween: 0.045,
  tweens: 0.045,
  lolicon: 0.044,
};

/** NC:464-474: NSFW predicates (also prefixed, NC:530-531). `underage_nsfw_predicates` is empty (NC:456-462). */
export const NSFW_PREDICATES: Thresholds = {
  '18+': 0.2,
  'explicit content': 0.21,
  erotica: 0.21,
  'exposed erection': 0.215,
  'close up of a vagina': 0.24,
  'photo of vagina': 0.22,
  'porn scene': 0.21,
  'lesbian scene': 0.22,
  'gay scene': 0.22,
};

/** NC:493-499: a score above any of these makes the image anime or cartoon. */
export const ANIME_CARTOON_PREDICATES: Thresholds = {
  'japanese animation': 0.2,
  'Japanese cartoon': 0.2,
  anime: 0.2,
  cartoon: 0.2,
  manga: 0.205,
};

/** NC:769: found anime scores all below this let a strong photo predicate undo "anime". */
export const ANIME_WEAK_BELOW = 0.208;
/** NC:772: a predicate containing "photo" above this undoes a weak "anime". */
export const ANIME_PHOTO_OVERRIDE = 0.24;

/** NC:587-597: NSFW concepts used as they are. */
export const NSFW_ISOLATED_CONCEPTS: Thresholds = {
  sexual: 0.2,
  sexy: 0.22,
  uncensored: 0.21,
  naked: 0.22,
  nude: 0.22,
  nsfw: 0.21,
  nudity: 0.21,
  erotic: 0.21,
  fucking: 0.21,
};

/** NC:599-628: NSFW concept parts, used alone and with each prefix (prefix + part, NC:677-679). */
export const NSFW_CONCEPT_PARTS: Thresholds = {
  'explicit content': 0.2,
  'exposed erection': 0.21,
  'close up of a vagina': 0.24,
  'a womans legs spread, vagina exposed': 0.23,
  'exposed vagina': 0.22,
  erotica: 0.21,
  blowjob: 0.22,
  vagina: 0.21,
  'an erection': 0.21,
  porn: 0.2,
  'porn scene': 0.2,
  'lesbian scene': 0.22,
  'gay scene': 0.22,
  "a nude man's ass": 0.21,
  "a nude woman's ass": 0.21,
  'exposed breasts': 0.22,
  'girl in a bikini': 0.22,
  underwear: 0.21,
  lingerie: 0.21,
};

/**
 * NC:630-643: "synthetic" concepts, token soups CLIP places near NSFW images. The second string is
 * two Python literals side by side, which Python joins ("mr " " omg" is "mr  omg").
 */
export const NSFW_SYNTH_CONCEPTS: Thresholds = {
  'quintesstain corinblazing dean n blondes bronxsmug demi pilebarcelonluisspandex ,... ...#': 0.205,
  'liam paying awwww hubby ... feeding mr  omg dropbox brad(@ zaynwoo ….. burr': 0.205,
  'nel ov lexi lov thwatchin thalaireason zz big oj anticipation บci ov prick': 0.205,
  'somehow dang rochelle sizzgusta imrankhanhalftime rankings equities exists skynews -- - smokin epidemiq': 0.205,
  'asses zeit brunette brunette bikini meatlessdesired androunprecearomatic limestone juxtatweetapicturevalmelee photo': 0.205,
};

/**
 * NC:649-664: on an anime image only concepts named here are checked, against these thresholds
 * (NC:832-838). Only those that are also NSFW concepts ever apply: the loop runs over the concepts.
 */
export const NSFW_POST_ANIME_CONCEPTS: Thresholds = {
  nsfw: 0.21,
  '18+': 0.215,
  nipples: 0.2,
  nipple: 0.2,
  'naked child': 0.19,
  'naked breasts': 0.205,
  'illustration of naked breasts': 0.205,
  'exposed breasts': 0.205,
  'illustration of exposed breasts': 0.205,
  nudity: 0.195,
  nude: 0.195,
  naked: 0.22,
  'cartoon porn': 0.2,
  sex: 0.21,
};

/** NC:743: negative-prompt substrings that make it "suspect" (asking for not-adult). Case-sensitive. */
export const NC_NEGPROMPT_BOOSTS: readonly string[] = [' mature', ',mature', ' old', ',old', 'adult', 'elderly', 'middle aged'];

/** NC:863-866, 890-893: the second underage pass's share of the gap to the danger threshold. */
export const SECOND_PASS = {
  anime: 0.05,
  /** Subtracted when the negative prompt is suspect. */
  animeSuspectMinus: 0.005,
  other: 0.4,
  /** Multiplied in when the negative prompt is suspect. */
  otherSuspectTimes: 0.5,
} as const;

/** NC:909-920: of two forms of one word found together, only the higher one counts. */
export const NC_PAIRS: readonly (readonly [string, string])[] = [
  ['tween', 'tweens'],
  ['tweens', 'tween'],
  ['teen', 'teens'],
  ['teens', 'teen'],
  ['an infant', 'infants'],
  ['infants', 'an infant'],
  ['toddler', 'toddlers'],
  ['toddlers', 'toddler'],
  ['child', 'children'],
  ['children', 'child'],
];

/** NC:696, 713-716: similarities are rounded to 4 decimals before any comparison. */
export const NC_ROUND_DECIMALS = 4;

// ---- check_for_csam (CC) ----

/** CC:13-25: underage context; each word above its threshold is one underage hit. */
export const UNDERAGE_CONTEXT: Thresholds = {
  lolicon: 0.2,
  child: 0.188,
  children: 0.188,
  teen: 0.21,
  teens: 0.21,
  infant: 0.19,
  infants: 0.19,
  toddler: 0.19,
  toddlers: 0.19,
  tween: 0.188,
  tweens: 0.188,
};

/** CC:26-38, 370-371: above these a word "goes critical" and counts two more hits. */
export const UNDERAGE_CRITICAL: Thresholds = {
  lolicon: 0.25,
  child: 0.225,
  children: 0.225,
  toddler: 0.22,
  toddlers: 0.22,
  infant: 0.22,
  infants: 0.22,
  teen: 0.26,
  teens: 0.26,
  tween: 0.25,
  tweens: 0.25,
};

/** CC:39-47: lewd context; one word above its threshold is a lewd hit. */
export const LEWD_CONTEXT: Thresholds = {
  porn: 0.2,
  naked: 0.195,
  hentai: 0.25,
  orgy: 0.21,
  nudity: 0.195,
  'lesbian scene': 0.22,
  'gay scene': 0.22,
};

/** CC:48-53: scored only to steer the underage words (CONTROL_WORD_ADJUSTMENTS). */
export const CONTROL_WORDS: readonly string[] = ['pregnant', 'anime', 'shota', 'east asian'];

/** CC:408: CSAM = at least this many underage hits together with at least one lewd hit. */
export const CSAM_MIN_UNDERAGE_HITS = 3;

/** One prompt rule: when `pattern` (case-insensitive) is found in the normalised prompt, add to these words. */
export interface PromptBoost {
  /** The source's regular expression, unchanged; it compiles the same in JavaScript. */
  pattern: string;
  adjustments: Thresholds;
}

/** CC:56-179: prompt words that move the underage scores, in the source's order. */
export const PROMPT_BOOSTS: readonly PromptBoost[] = [
  { pattern: String.raw`\bgirl|\bboy\b|nina`, adjustments: { teen: 0.015, teens: 0.015, tween: 0.005, tweens: 0.005 } },
  { pattern: 'flat chest', adjustments: { tween: 0.015, tweens: 0.015, child: 0.015, children: 0.015, lolicon: 0.01 } },
  {
    pattern: 'pig ?tails',
    adjustments: { tween: 0.007, tweens: 0.007, child: 0.01, children: 0.01, lolicon: 0.005, toddler: 0.01, toddlers: 0.01 },
  },
  {
    pattern: 'baby|toddler|infant',
    adjustments: { infant: 0.02, infants: 0.02, toddler: 0.02, toddlers: 0.02, child: 0.01, children: 0.01 },
  },
  {
    pattern: 'child|kin?d|angel',
    adjustments: { infant: 0.01, infants: 0.01, toddler: 0.01, toddlers: 0.01, child: 0.02, children: 0.02 },
  },
  {
    pattern: String.raw`sister|brother|\bbro\b|\bsis\b|daughter|tochter|\bson\b|twin`,
    adjustments: { child: 0.005, children: 0.005, teen: 0.008, teens: 0.008 },
  },
  {
    pattern: String.raw`small|little|\btiny\b|petite`,
    adjustments: { child: 0.005, children: 0.005, toddler: 0.005, toddlers: 0.005, tween: 0.003, tweens: 0.003 },
  },
  {
    pattern: 'woman|adult|(?<!years? )old',
    adjustments: {
      child: -0.01,
      children: -0.01,
      toddler: -0.02,
      toddlers: -0.02,
      infant: -0.02,
      infants: -0.02,
      teen: -0.005,
      teens: -0.005,
      tween: -0.005,
      tweens: -0.005,
    },
  },
  {
    pattern: String.raw`school|grade|\b(?<!high )class\b`,
    adjustments: { child: 0.01, children: 0.01, toddler: 0.002, toddlers: 0.002, teen: 0.02, teens: 0.02, tween: 0.015, tweens: 0.015 },
  },
  {
    pattern: 'kitten',
    adjustments: {
      child: 0.025,
      children: 0.02,
      toddler: 0.025,
      toddlers: 0.02,
      teen: 0.01,
      teens: 0.01,
      tween: 0.01,
      tweens: 0.01,
      infant: 0.01,
      infants: 0.01,
    },
  },
  { pattern: 'realistic', adjustments: { lolicon: -0.015 } },
];

/** CC:180, 316-320: each found in the negative prompt adds this to every underage word. Case-sensitive. */
export const CC_NEGPROMPT_BOOSTS: readonly string[] = ['mature', ' old', 'adult', 'elderly', 'middle aged'];
/** CC:181, 321-325: each found in the negative prompt subtracts it from every underage word. */
export const CC_NEGPROMPT_DEBUFFS: readonly string[] = ['young', 'little', 'child'];
/** CC:319, 324: the step of a negative-prompt boost or debuff. */
export const NEGPROMPT_STEP = 0.005;

/** CC:183-194: a prompt or control adjustment skips a word whose other form is already over its threshold. */
export const CC_PAIRS: Readonly<Record<string, string>> = {
  tween: 'tweens',
  tweens: 'tween',
  teen: 'teens',
  teens: 'teen',
  infant: 'infants',
  infants: 'infant',
  toddler: 'toddlers',
  toddlers: 'toddler',
  child: 'children',
  children: 'child',
};

/** One control word: above `threshold`, these adjustments apply (CC:349-357). */
export interface ControlAdjustment {
  control: string;
  threshold: number;
  adjustments: readonly (readonly [string, number])[];
}

/** CC:197-236: control words and what they do to the underage words. */
export const CONTROL_WORD_ADJUSTMENTS: readonly ControlAdjustment[] = [
  {
    control: 'pregnant',
    threshold: 0.21,
    adjustments: [
      ['infant', -0.04],
      ['infants', -0.04],
      ['toddler', -0.03],
      ['toddlers', -0.03],
      ['child', -0.02],
      ['children', -0.02],
    ],
  },
  {
    control: 'anime',
    threshold: 0.23,
    adjustments: [
      ['teen', -0.03],
      ['teens', -0.03],
    ],
  },
  {
    control: 'shota',
    threshold: 0.21,
    adjustments: [
      ['teen', 0.005],
      ['teens', 0.005],
      ['tween', 0.01],
      ['tweens', 0.01],
      ['child', 0.013],
      ['children', 0.013],
    ],
  },
  {
    // CC:228: "clip thinks all east asian woman are very child-like"
    control: 'east asian',
    threshold: 0.24,
    adjustments: [
      ['teen', -0.025],
      ['child', -0.025],
      ['tween', -0.025],
    ],
  },
];

/** CC:237-250, 344-347: adjustments for a model whose reference entry carries the tag. */
export const MODEL_TAG_ADJUSTMENTS: Readonly<Record<string, readonly (readonly [string, number])[]>> = {
  anime: [
    ['teen', -0.015],
    ['teens', -0.015],
    ['anime', 0.02],
    ['tween', -0.015],
    ['tweens', -0.015],
    ['child', -0.01],
    ['children', -0.01],
  ],
  hentai: [['hentai', 0.02]],
};

/** CC:251-256, 340-343: adjustments for a model whose reference entry says `nsfw` (or says nothing). */
export const NSFW_MODEL_ADJUSTMENTS: readonly (readonly [string, number])[] = [
  ['nudity', 0.02],
  ['naked', 0.02],
  ['porn', 0.015],
  ['orgy', 0.01],
];
