import { describe, expect, test } from 'vitest';
import { checkCsam, type ModelSafetyInfo } from '../../src-main/core/safety/csamCheck';
import { MissingSimilarityError } from '../../src-main/core/safety/nsfwCheck';
import { CSAM_CHECKER_WORDS } from '../../src-main/core/safety/tables';

// Table tests of the check_for_csam port, each built from one rule of horde-safety's
// csam_checker.py @9b49822 (CC:line in the names). Every word starts cold (0.15) and an SFW model
// is assumed, so only the rule under test moves a score.

const COLD = 0.15;
const SFW_MODEL: ModelSafetyInfo = { nsfw: false, tags: [] };
/** Three underage hits (child, children, tween > 0.188) and one lewd hit (porn > 0.2). */
const CSAM = { child: 0.19, children: 0.19, tween: 0.19, porn: 0.21 };

function scores(hot: Record<string, number>): Map<string, number> {
  for (const word of Object.keys(hot)) if (!CSAM_CHECKER_WORDS.includes(word)) throw new Error(`not a CSAM word: ${word}`);
  return new Map(CSAM_CHECKER_WORDS.map((word) => [word, hot[word] ?? COLD]));
}

function csam(hot: Record<string, number>, prompt = '', model: ModelSafetyInfo | null = SFW_MODEL): boolean {
  return checkCsam({ scores: scores(hot), prompt, model }).csam;
}

describe('the CSAM rule (CC:358-408)', () => {
  test.each([
    ['three underage hits and a lewd hit', CSAM, true],
    ['three underage hits, no lewd hit', { ...CSAM, porn: 0.2 }, false],
    ['two underage hits and a lewd hit', { ...CSAM, tween: 0.188 }, false],
    ['a critical word counts three times (child > 0.225)', { child: 0.2251, porn: 0.21 }, true],
    ['at its critical threshold a word counts once', { child: 0.225, porn: 0.21 }, false],
    ['scores are not rounded here: 0.18801 is over 0.188', { child: 0.18801, children: 0.18801, tween: 0.18801, porn: 0.21 }, true],
    ['every lewd word counts ("lesbian scene" > 0.22)', { ...CSAM, porn: 0.15, 'lesbian scene': 0.221 }, true],
  ])('%s', (_name, hot, expected) => {
    expect(csam(hot)).toBe(expected);
  });

  test('the hits are reported, a critical word three times', () => {
    const result = checkCsam({ scores: scores({ child: 0.23, porn: 0.21 }), prompt: '', model: SFW_MODEL });
    expect(result.underageHits.map((hit) => [hit.word, hit.critical])).toEqual([
      ['child', false],
      ['child', true],
      ['child', true],
    ]);
    expect(result.lewdHits).toEqual([{ word: 'porn', score: 0.21, threshold: 0.2, critical: false }]);
  });

  test('a missing similarity is an error', () => {
    const partial = scores({});
    partial.delete('east asian');
    expect(() => checkCsam({ scores: partial, prompt: '', model: null })).toThrow(MissingSimilarityError);
  });
});

describe('negative prompt (CC:316-325)', () => {
  const justUnder = { child: 0.185, children: 0.185, tween: 0.185, porn: 0.21 };
  test.each([
    ['no negative prompt', 'portrait', false],
    ['"mature" adds 0.005 to every underage word', 'portrait###mature', true],
    ['" old" needs the space before it', 'portrait###old', false],
    ['"too old" has it', 'portrait###too old', true],
    ['"elderly"', '###elderly', true],
    ['the words in the positive prompt do nothing here', 'mature, adult', false],
  ])('a boost: %s', (_name, prompt, expected) => {
    expect(csam(justUnder, prompt)).toBe(expected);
  });

  test('each boost found adds its own step', () => {
    const further = { child: 0.18, children: 0.18, tween: 0.18, porn: 0.21 };
    expect(csam(further, '###mature')).toBe(false);
    expect(csam(further, '###mature, adult')).toBe(true);
  });

  test.each([
    ['young', '###young', false],
    ['little', '###little', false],
    ['child', '###child', false],
    ['none', '###blurry', true],
  ])('a debuff subtracts 0.005: %s', (_name, prompt, expected) => {
    expect(csam(CSAM, prompt)).toBe(expected);
  });
});

describe('prompt boosts (CC:56-179, 326-335)', () => {
  // child and children are hits; teen 0.2 is 0.01 under its threshold.
  const teenUnder = { child: 0.19, children: 0.19, teen: 0.2, porn: 0.21 };
  test.each([
    ['no trigger word', 'a portrait', false],
    ['"girl" adds 0.015 to teen', 'a girl', true],
    ['"\\bgirl" also matches the start of a word', 'a girlfriend', true],
    ['but not inside one', 'supergirl', false],
    ['case does not matter', 'A GIRL', true],
    ['weights are removed first', '(girl:1.3)', true],
    ['"school" adds 0.02 to teen', 'at school', true],
    ['spaced letters are joined first', 'in a s c h o o l', true],
    ['"class" counts, "high class" does not', 'high class', false],
    ['"class" alone', 'class photo', true],
  ])('%s', (_name, prompt, expected) => {
    expect(csam(teenUnder, prompt)).toBe(expected);
  });

  test('a boost skips a word whose other form is already over (CC:333-334)', () => {
    // "girl" lifts teen to 0.215 (over 0.21), so teens stays 0.2: two hits, not three.
    const result = checkCsam({ scores: scores({ child: 0.19, teen: 0.2, teens: 0.2, porn: 0.21 }), prompt: 'a girl', model: SFW_MODEL });
    expect(result.adjusted.get('teens')).toBe(0.2);
    expect(result.underageHits.map((hit) => hit.word)).toEqual(['child', 'teen']);
    expect(result.csam).toBe(false);
  });

  test('the pair rule compares strictly: a partner exactly at its threshold does not block the boost', () => {
    // teens is exactly 0.21, not over it, so "girl" lifts teen (0.2 → 0.215); then teen is over, so teens stays.
    const result = checkCsam({ scores: scores({ teen: 0.2, teens: 0.21 }), prompt: 'a girl', model: SFW_MODEL });
    expect(result.adjusted.get('teen')).toBe(0.2 + 0.015);
    expect(result.adjusted.get('teens')).toBe(0.21);
  });

  test.each([
    ['no trigger word', 'a portrait', true],
    // child and children are each other's pair and both over, so only toddler (-0.02) moves.
    ['"woman" lowers toddler by 0.02', 'a woman', false],
    ['"old" lowers them', 'an old man', false],
    ['but not after "years"', 'twelve years old', true],
    ['nor after "year"', 'a ten year old', true],
  ])('adult words lower the young ones: %s', (_name, prompt, expected) => {
    expect(csam({ child: 0.195, children: 0.195, toddler: 0.2, porn: 0.21 }, prompt)).toBe(expected);
  });

  test('"realistic" lowers lolicon by 0.015', () => {
    const hot = { lolicon: 0.21, child: 0.19, children: 0.19, porn: 0.21 };
    expect(csam(hot, 'anime')).toBe(true);
    expect(csam(hot, 'realistic')).toBe(false);
  });

  test('every adjustment is recorded with its cause', () => {
    const result = checkCsam({ scores: scores({ pregnant: 0.22 }), prompt: 'a girl###mature', model: { nsfw: true, tags: ['anime'] } });
    expect(result.causes.get('teen')).toEqual(['negative prompt: mature', 'prompt: girl', 'model tag: anime']);
    expect(result.causes.get('naked')).toEqual(['model: nsfw']);
    expect(result.causes.get('infant')).toEqual(['negative prompt: mature', 'control: pregnant']);
  });
});

describe('the model reference entry (CC:279, 339-347)', () => {
  // Three underage hits; naked 0.18 is a lewd hit only after +0.02.
  const nakedUnder = { child: 0.19, children: 0.19, tween: 0.19, naked: 0.18 };
  test.each([
    ['an NSFW model raises the lewd words', { nsfw: true, tags: [] }, true],
    ['an SFW model does not', { nsfw: false, tags: [] }, false],
    ['a model the reference lacks counts as NSFW', null, true],
    ['an entry without nsfw counts as NSFW', {}, true],
    ['nsfw: null counts as NSFW', { nsfw: null }, true],
  ])('%s', (_name, model, expected) => {
    expect(csam(nakedUnder, '', model)).toBe(expected);
  });

  test('an "anime" tag lowers teen by 0.015 (and child by 0.01)', () => {
    const hot = { child: 0.2, children: 0.2, teen: 0.22, porn: 0.21 };
    expect(csam(hot, '', { nsfw: false, tags: [] })).toBe(true);
    expect(csam(hot, '', { nsfw: false, tags: ['anime'] })).toBe(false);
    expect(csam(hot, '', { nsfw: false, tags: ['Anime'] })).toBe(true);
  });

  test('an "anime" tag also raises the "anime" control word, which can tip it over 0.23', () => {
    // teen 0.25 - 0.015 (tag) = 0.235, still a hit; the control (-0.03) makes it 0.205.
    const hot = { child: 0.2, children: 0.2, teen: 0.25, porn: 0.21 };
    const anime = { nsfw: false, tags: ['anime'] };
    expect(csam({ ...hot, anime: 0.205 }, '', anime)).toBe(true);
    expect(csam({ ...hot, anime: 0.215 }, '', anime)).toBe(false);
    expect(csam({ ...hot, anime: 0.215 }, '', SFW_MODEL)).toBe(true);
  });

  test('a "hentai" tag raises hentai by 0.02', () => {
    const hot = { child: 0.19, children: 0.19, tween: 0.19, hentai: 0.235 };
    expect(csam(hot, '', { nsfw: false, tags: ['hentai'] })).toBe(true);
    expect(csam(hot, '', SFW_MODEL)).toBe(false);
  });
});

describe('control words (CC:197-236, 349-357)', () => {
  test.each([
    ['pregnant > 0.21 lowers infant, toddler and child', { infant: 0.2, toddler: 0.2, child: 0.2, porn: 0.21 }, 'pregnant', 0.22, false],
    ['pregnant at 0.21 does nothing', { infant: 0.2, toddler: 0.2, child: 0.2, porn: 0.21 }, 'pregnant', 0.21, true],
    ['east asian > 0.24 lowers teen, child and tween', { teen: 0.22, child: 0.2, tween: 0.2, porn: 0.21 }, 'east asian', 0.25, false],
    ['anime > 0.23 lowers teen', { teen: 0.22, child: 0.2, tween: 0.2, porn: 0.21 }, 'anime', 0.24, false],
    ['shota > 0.21 raises teen, tween and child', { teen: 0.206, child: 0.18, tween: 0.18, porn: 0.21 }, 'shota', 0.22, true],
    ['shota at 0.21 does nothing', { teen: 0.206, child: 0.18, tween: 0.18, porn: 0.21 }, 'shota', 0.21, false],
  ])('%s', (_name, hot, control, score, expected) => {
    expect(csam({ ...hot, [control]: score })).toBe(expected);
  });

  test('a control adjustment skips a word whose other form is already over (CC:354-355)', () => {
    // infant and infants are both over 0.19, so pregnant lowers neither; toddler drops out; tween is untouched.
    const result = checkCsam({
      scores: scores({ infant: 0.2, infants: 0.2, toddler: 0.2, tween: 0.2, porn: 0.21, pregnant: 0.22 }),
      prompt: '',
      model: SFW_MODEL,
    });
    expect(result.underageHits.map((hit) => hit.word)).toEqual(['infant', 'infants', 'tween']);
    expect(result.csam).toBe(true);
  });
});
