import { createHash } from 'node:crypto';
import { describe, expect, test } from 'vitest';
import { checkNsfw, MissingSimilarityError } from '../../src-main/core/safety/nsfwCheck';
import { NSFW_CHECKER_TABLES, SAFETY_WORDS } from '../../src-main/core/safety/tables';
import * as lists from '../../src-main/core/safety/wordLists';

// Table tests of the NSFWChecker port, each built from one rule of horde-safety's
// nsfw_checker_class.py @78f8334 (NC:line in the names). Every word starts cold (0.15, under every
// threshold) and a case raises only the words its rule reads.

const COLD = 0.15;

function scores(hot: Record<string, number>): Map<string, number> {
  for (const word of Object.keys(hot)) if (!SAFETY_WORDS.includes(word)) throw new Error(`not a safety word: ${word}`);
  return new Map(SAFETY_WORDS.map((word) => [word, hot[word] ?? COLD]));
}

function check(hot: Record<string, number>, prompt = '') {
  return checkNsfw({ scores: scores(hot), prompt });
}

describe('the word lists as the checker builds them', () => {
  test('every text is scored once: 160 predicates, 109 concepts and the CSAM words make 239 texts', () => {
    expect(NSFW_CHECKER_TABLES.predicates.size).toBe(160);
    expect(NSFW_CHECKER_TABLES.nsfwConcepts.size).toBe(109);
    expect(SAFETY_WORDS).toHaveLength(239);
    expect(new Set(SAFETY_WORDS).size).toBe(239);
  });

  test('the lists and the tables built from them are the ones checked against the Python source', () => {
    // Every list, and every table the checker derives, was compared with what horde-safety's own code
    // holds at the cited commits. An edit here is a change of facts: check it against the source again,
    // then update this fingerprint.
    const { predicates, underageDanger, underage, nsfwConcepts } = NSFW_CHECKER_TABLES;
    const data = JSON.stringify({
      lists: Object.entries(lists).sort(([a], [b]) => a.localeCompare(b)),
      predicates: [...predicates],
      underageDanger: [...underageDanger],
      underage: [...underage],
      nsfwConcepts: [...nsfwConcepts],
      SAFETY_WORDS,
    });
    expect(createHash('sha256').update(data).digest('hex')).toBe('18d875f2119822c3846519fba9e558889ea77c4354fe1c9946d1599861a2e22e');
  });

  test('a prefixed threshold is the sum in the source order (NC:453-454, 537-539): 0.2315 is not above "3d render of young children"', () => {
    // 0.0125 + (0.03 + 0.189) is 0.2315; summed the other way it is 0.23149999999999998 and 0.2315 would be over it.
    expect(NSFW_CHECKER_TABLES.underageDanger.get('3d render of young children')).toBe(0.2315);
    expect(check({ '3d render of young children': 0.2315 }).underageSubject).toBe(false);
    expect(check({ '3d render of young children': 0.23155 }).underageSubject).toBe(true);
  });

  test('a missing similarity is an error, never a silent pass', () => {
    const partial = scores({});
    partial.delete('nude');
    expect(() => checkNsfw({ scores: partial, prompt: '' })).toThrow(MissingSimilarityError);
    expect(() => checkNsfw({ scores: partial, prompt: '' })).toThrow(
      expect.objectContaining({
        name: 'MissingSimilarityError',
        word: 'nude',
        message: 'The safety model returned no similarity for "nude".',
      }),
    );
  });
});

describe('NSFW (NC:800-846)', () => {
  test.each([
    ['nothing over any threshold', {}, false],
    ['an NSFW concept with no subject predicate is never checked (NC:820)', { nude: 0.3 }, false],
    ['a subject (woman > 0.194) and nude > 0.22', { woman: 0.2, nude: 0.23 }, true],
    ['a subject and a prefixed concept ("photo of porn" > 0.2)', { woman: 0.2, 'photo of porn': 0.21 }, true],
    [
      'a synthetic token soup over 0.205 counts like a word',
      { man: 0.2, 'nel ov lexi lov thwatchin thalaireason zz big oj anticipation บci ov prick': 0.21 },
      true,
    ],
    ['an NSFW predicate alone is its own subject ("18+" > 0.2) but not a concept', { '18+': 0.25 }, false],
    ['"18+" opens the check for a concept', { '18+': 0.25, sexy: 0.23 }, true],
  ])('%s', (_name, hot, nsfw) => {
    expect(check(hot).nsfw).toBe(nsfw);
  });

  test('scores are rounded to 4 decimals before the strict comparison (NC:696)', () => {
    expect(check({ woman: 0.2, nude: 0.22004 }).nsfw).toBe(false);
    expect(check({ woman: 0.2, nude: 0.22006 }).nsfw).toBe(true);
    expect(check({ woman: 0.2, nude: 0.22 }).nsfw).toBe(false);
  });

  test('the concepts found are reported with their rounded scores', () => {
    expect([...check({ woman: 0.2, nude: 0.230049, sexy: 0.2 }).nsfwConcepts]).toEqual([['nude', 0.23]]);
  });
});

describe('anime (NC:757-774, 832-838)', () => {
  test('an anime predicate over its threshold makes the image anime', () => {
    expect(check({ anime: 0.21 }).anime).toBe(true);
    expect(check({ manga: 0.205 }).anime).toBe(false);
    expect(check({ manga: 0.2051 }).anime).toBe(true);
  });

  test('weak anime (all found < 0.208) is undone by a photo predicate over 0.24; strong anime is not', () => {
    expect(check({ anime: 0.205, 'photo of a woman': 0.25 }).anime).toBe(false);
    expect(check({ anime: 0.205, 'painting of a woman': 0.25 }).anime).toBe(true);
    expect(check({ anime: 0.208, 'photo of a woman': 0.25 }).anime).toBe(true);
    // One strong anime predicate is enough to keep it.
    expect(check({ anime: 0.205, manga: 0.21, 'photo of a woman': 0.25 }).anime).toBe(true);
    // The photo predicate must be over 0.24, not at it.
    expect(check({ anime: 0.205, 'photo of a woman': 0.24 }).anime).toBe(true);
  });

  test('on anime only the post-anime concepts count, with their own thresholds', () => {
    // nude: 0.22 for photos, 0.195 for anime.
    expect(check({ anime: 0.21, nude: 0.2 }).nsfw).toBe(true);
    expect(check({ woman: 0.2, nude: 0.2 }).nsfw).toBe(false);
    // sexy is not a post-anime concept: anime ignores it.
    expect(check({ anime: 0.21, sexy: 0.3 }).nsfw).toBe(false);
    expect(check({ woman: 0.2, sexy: 0.3 }).nsfw).toBe(true);
    // naked stays at 0.22 either way.
    expect(check({ anime: 0.21, naked: 0.215 }).nsfw).toBe(false);
  });

  test('a photo predicate that undoes anime also brings back the photo thresholds', () => {
    expect(check({ anime: 0.205, 'photo of a woman': 0.25, sexy: 0.3 }).nsfw).toBe(true);
  });
});

describe('underage subject and CSAM (NC:848-935)', () => {
  test('one predicate over its danger threshold is an underage subject (child: 0.19 + 0.035)', () => {
    expect(check({ child: 0.225 }).underageSubject).toBe(false);
    expect(check({ child: 0.2251 }).underageSubject).toBe(true);
    expect([...check({ 'painting of toddlers': 0.23 }).underagePredicates]).toEqual([['painting of toddlers', 0.23]]);
  });

  test('CSAM needs an underage subject in an NSFW image', () => {
    expect(check({ child: 0.23 })).toMatchObject({ underageSubject: true, nsfw: false, csam: false });
    expect(check({ woman: 0.2, nude: 0.23 })).toMatchObject({ underageSubject: false, nsfw: true, csam: false });
    expect(check({ child: 0.23, nude: 0.23 })).toMatchObject({ underageSubject: true, nsfw: true, csam: true });
  });

  test('second pass on a photo: two predicates over 40% of the gap to danger (child > 0.204, toddler > 0.201)', () => {
    expect(check({ child: 0.21, toddler: 0.205 }).underageSubject).toBe(true);
    expect(check({ child: 0.21 }).underageSubject).toBe(false);
    expect(check({ child: 0.204, toddler: 0.201 }).underageSubject).toBe(false);
    // "a baby" and toddler share the bar 0.19 + 0.0275 × 0.4 = 0.201 exactly: at it is not over it.
    expect(check({ 'a baby': 0.201, toddler: 0.201 }).underageSubject).toBe(false);
    expect(check({ 'a baby': 0.2011, toddler: 0.2011 }).underageSubject).toBe(true);
  });

  test('two forms of one word count once: the higher stays, a tie keeps the second (NC:922-927)', () => {
    expect(check({ child: 0.21, children: 0.21 }).underageSubject).toBe(false);
    expect([...check({ child: 0.21, children: 0.21, toddler: 0.205 }).underagePredicates.keys()]).toEqual(['children', 'toddler']);
    expect([...check({ child: 0.212, children: 0.21, toddler: 0.205 }).underagePredicates.keys()]).toEqual(['child', 'toddler']);
  });

  test('second pass on anime: 5% of the gap, and "teen"/"teens" over 0.19 count too', () => {
    const hot = { child: 0.192, teen: 0.191 };
    expect(check({ anime: 0.21, ...hot }).underageSubject).toBe(true);
    // The same scores on a photo: child is under 0.204 and teen is not an underage predicate there.
    expect(check({ woman: 0.2, ...hot }).underageSubject).toBe(false);
    // teen and teens are one word.
    expect(check({ anime: 0.21, teen: 0.191, teens: 0.195 }).underageSubject).toBe(false);
    // One is not enough, and teen must be over 0.19, not at it.
    expect(check({ anime: 0.21, child: 0.192 }).underageSubject).toBe(false);
    expect(check({ anime: 0.21, child: 0.192, teen: 0.19 }).underageSubject).toBe(false);
  });

  test('the anime second pass leaves out lolicon and compares strictly ("young children": 0.189 + 0.03 × 0.05 = 0.1905)', () => {
    expect(check({ anime: 0.21, child: 0.192, lolicon: 0.203 }).underageSubject).toBe(false);
    expect(check({ anime: 0.21, child: 0.192, 'young children': 0.1905 }).underageSubject).toBe(false);
    expect(check({ anime: 0.21, child: 0.192, 'young children': 0.1906 }).underageSubject).toBe(true);
  });

  test.each([
    ['no negative prompt', 'portrait', false],
    ['a negative prompt without the words', 'portrait###blurry, bad hands', false],
    ['" mature" after another word', 'portrait###blurry, mature', true],
    ['"mature" first: no space before it, so not suspect (the source needs " mature")', 'portrait###mature', false],
    ['"adult" anywhere', 'portrait###adult', true],
    ['"middle aged"', '###middle aged', true],
    ['the words in the positive prompt do not count', 'an adult, mature woman', false],
  ])('a suspect negative prompt halves the photo second pass (NC:743-748, 890-893): %s', (_name, prompt, suspect) => {
    // child 0.2 and toddler 0.197 are under 0.204 / 0.201, over 0.197 / 0.1955.
    const result = check({ child: 0.2, toddler: 0.197 }, prompt);
    expect(result.negPromptSuspect).toBe(suspect);
    expect(result.underageSubject).toBe(suspect);
  });

  test('a suspect negative prompt lowers the anime second pass from 5% to 4.5% of the gap', () => {
    // child's anime bar: 0.19 + 0.035 × 0.05 = 0.19175; suspect: 0.191575, so 0.1917 counts only then.
    expect(check({ anime: 0.21, child: 0.1917, teen: 0.191 }).underageSubject).toBe(false);
    expect(check({ anime: 0.21, child: 0.1917, teen: 0.191 }, 'girl###adult').underageSubject).toBe(true);
  });
});
