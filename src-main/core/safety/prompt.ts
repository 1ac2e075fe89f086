// The prompt as the safety rules read it: a port of horde-safety's utils.normalize_prompt
// (horde_safety/utils.py @2439a24, lines 35-76), which undoes the tricks a prompt might use to
// slip past word rules (weights, punctuation, s p a c e d letters, accents).

/** A horde prompt split at its first `###` and normalised, each half on its own. */
export interface NormalizedPrompt {
  positive: string;
  /** null without `###`; '' when nothing follows it (the rules treat both as "no negative prompt"). */
  negative: string | null;
}

// utils.py:7-9. Python's `\w` on str is letters, digits and `_` in every script; JavaScript's is
// ASCII, so the classes are spelled out with Unicode properties.
const WEIGHT = /\((.*?):\d+\.\d+\)/gu;
const SPACED_LETTERS = /(\s([\p{L}\p{N}_])){3,}(?![\p{L}\p{N}_])/gu;
const NOT_WORD_OR_SPACE = /[^\p{L}\p{N}_\s]|_/gu;

// Letters that Unicode does not decompose but unidecode spells in ASCII.
const LATIN_FOLDS: Readonly<Record<string, string>> = {
  ß: 'ss',
  æ: 'ae',
  Æ: 'AE',
  œ: 'oe',
  Œ: 'OE',
  ø: 'o',
  Ø: 'O',
  ł: 'l',
  Ł: 'L',
  đ: 'd',
  Đ: 'D',
  ð: 'd',
  Ð: 'D',
  þ: 'th',
  Þ: 'Th',
  ı: 'i',
};

/**
 * utils.py:62 runs `unidecode`, which spells every script in ASCII from large tables. HordeDesk
 * strips accents (NFKD, then drops combining marks) and folds the Latin letters above; other
 * scripts stay as they are. The English rules only ever match Latin text, and accented Latin is
 * what unidecode changes in a way they can see ("niña" → "nina").
 */
export function foldToAscii(text: string): string {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .replace(/[ßæÆœŒøØłŁđĐðÐþÞı]/gu, (letter) => LATIN_FOLDS[letter] ?? letter);
}

/** utils.py:47-62 (and 66-73 for the negative half): one half of the prompt. */
function normalizeHalf(half: string): string {
  let text = half.replace(WEIGHT, '$1').replace(NOT_WORD_OR_SPACE, ' ');
  // utils.py:53-56: the matches are found in the text as it was; each replaces every occurrence.
  for (const match of [...text.matchAll(SPACED_LETTERS)]) {
    const spaced = match[0].trim();
    text = text.split(spaced).join(spaced.replace(/\s+/gu, ''));
  }
  return foldToAscii(text.replace(/\s+/gu, ' '));
}

/**
 * Splits a horde prompt at its first `###` (utils.py:43-44) and normalises both halves. Case is
 * kept and the ends are not trimmed, as in the source: the rules that read it depend on both.
 */
export function normalizePrompt(prompt: string): NormalizedPrompt {
  const split = prompt.indexOf('###');
  const positive = split < 0 ? prompt : prompt.slice(0, split);
  const negative = split < 0 ? null : prompt.slice(split + 3);
  // utils.py:65: an empty negative half is left as it is.
  return { positive: normalizeHalf(positive), negative: negative ? normalizeHalf(negative) : negative };
}
