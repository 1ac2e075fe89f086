import { describe, expect, test } from 'vitest';
import { genMetadataSchema, submitStateSchema } from '../../src-main/common/horde';
import { evaluateImages, type SafetyImage, type SimilarityPort } from '../../src-main/core/safety/checker';
import { decideSafety, type SafetyContext, type SafetyDecision } from '../../src-main/core/safety/decision';
import { roundLikePython4 } from '../../src-main/core/safety/nsfwCheck';
import { normalizePrompt } from '../../src-main/core/safety/prompt';
import { submitOutcomes, type SafetyEvaluation } from '../../src-main/core/safety/submit';
import { SAFETY_WORDS } from '../../src-main/core/safety/tables';

// What the worker does with a checked image, and what it submits, as the reference worker does
// (horde-worker-reGen safety_process.py SP:192-200 and process_manager.py `_handle_safety_result`).

const COLD = 0.15;
const CLEAN = {};
const NSFW = { woman: 0.2, nude: 0.23 };
/** The NSFWChecker's CSAM: an underage subject (child over its danger threshold) in an NSFW image. */
const CSAM = { child: 0.23, nude: 0.23 };
/** check_for_csam's CSAM only: three underage hits and a lewd hit, while the NSFWChecker sees nothing over its bars. */
const CLIP_ONLY_CSAM = { child: 0.19, children: 0.19, tween: 0.19, porn: 0.21 };

function scores(hot: Record<string, number>): Map<string, number> {
  return new Map(SAFETY_WORDS.map((word) => [word, hot[word] ?? COLD]));
}

function context(overrides: Partial<SafetyContext> = {}): SafetyContext {
  return { prompt: 'a portrait', model: { nsfw: false, tags: [] }, censorNsfw: false, workerNsfw: true, ...overrides };
}

function decide(hot: Record<string, number>, overrides: Partial<SafetyContext> = {}): SafetyDecision {
  return decideSafety(scores(hot), context(overrides));
}

describe('the decision (SP:192-200)', () => {
  test.each([
    ['a clean image is delivered whatever the settings', CLEAN, { workerNsfw: false, censorNsfw: true }, 'deliver', null],
    ['NSFW on an NSFW worker without use_nsfw_censor is delivered', NSFW, { workerNsfw: true, censorNsfw: false }, 'deliver', null],
    ['NSFW on a request with use_nsfw_censor is censored', NSFW, { workerNsfw: true, censorNsfw: true }, 'censor', 'sfw_request'],
    ['NSFW on an SFW worker is censored', NSFW, { workerNsfw: false, censorNsfw: false }, 'censor', 'sfw_worker'],
    ['an SFW worker is named before the request', NSFW, { workerNsfw: false, censorNsfw: true }, 'censor', 'sfw_worker'],
    ['CSAM is withheld even on an NSFW worker', CSAM, { workerNsfw: true, censorNsfw: false }, 'csam', 'csam'],
  ] as const)('%s', (_name, hot, settings, action, replacement) => {
    expect(decide(hot, settings)).toMatchObject({ action, replacement });
  });

  test('CSAM from check_for_csam alone is CSAM, and counts as NSFW', () => {
    const decision = decide(CLIP_ONLY_CSAM);
    expect(decision.checks.nsfwChecker).toMatchObject({ nsfw: false, csam: false });
    expect(decision).toMatchObject({ csam: true, nsfw: true, action: 'csam', replacement: 'csam' });
    expect(decision.reasons).toEqual([
      { rule: 'csam_checker', finding: 'underage', word: 'child', score: 0.19 },
      { rule: 'csam_checker', finding: 'underage', word: 'children', score: 0.19 },
      { rule: 'csam_checker', finding: 'underage', word: 'tween', score: 0.19 },
      { rule: 'csam_checker', finding: 'lewd', word: 'porn', score: 0.21 },
    ]);
  });

  test('the model entry reaches check_for_csam: an NSFW model tips the same image into CSAM', () => {
    const hot = { child: 0.19, children: 0.19, tween: 0.19, naked: 0.18 };
    expect(decide(hot, { model: { nsfw: false, tags: [] } }).csam).toBe(false);
    expect(decide(hot, { model: { nsfw: true, tags: [] } }).csam).toBe(true);
    expect(decide(hot, { model: null }).csam).toBe(true);
  });

  test('the reasons name the scores that decided', () => {
    expect(decide(NSFW).reasons).toEqual([{ rule: 'nsfw_checker', finding: 'nsfw', word: 'nude', score: 0.23 }]);
    expect(decide(CSAM).reasons).toEqual([
      { rule: 'nsfw_checker', finding: 'nsfw', word: 'nude', score: 0.23 },
      { rule: 'nsfw_checker', finding: 'underage', word: 'child', score: 0.23 },
    ]);
    expect(decide(CLEAN).reasons).toEqual([]);
    // One second-pass underage word is not an underage subject: no CSAM, so it is no reason.
    expect(decide({ ...NSFW, child: 0.21 }).reasons).toEqual([{ rule: 'nsfw_checker', finding: 'nsfw', word: 'nude', score: 0.23 }]);
  });
});

describe('what is submitted (process_manager.py _handle_safety_result, submit_single_generation)', () => {
  const clean = decide(CLEAN);
  const nsfwKept = decide(NSFW, { workerNsfw: true });
  const censored = decide(NSFW, { censorNsfw: true });
  const sfwWorker = decide(NSFW, { workerNsfw: false });
  const csam = decide(CSAM);
  const failed: SafetyEvaluation = { failed: true, error: new Error('the safety model crashed') };

  test.each([
    ['a clean image: ok, no metadata', [clean], [{ state: 'ok', censored: false, genMetadata: [], image: 'generated' }]],
    [
      'NSFW kept: ok, information/nsfw',
      [nsfwKept],
      [{ state: 'ok', censored: false, genMetadata: [{ type: 'information', value: 'nsfw' }], image: 'generated' }],
    ],
    [
      'NSFW censored for the request: censored, censorship/nsfw, the placeholder',
      [censored],
      [{ state: 'censored', censored: true, genMetadata: [{ type: 'censorship', value: 'nsfw' }], image: 'sfw_request' }],
    ],
    [
      'NSFW censored by an SFW worker',
      [sfwWorker],
      [{ state: 'censored', censored: true, genMetadata: [{ type: 'censorship', value: 'nsfw' }], image: 'sfw_worker' }],
    ],
    [
      'CSAM: csam, censorship/csam, the CSAM placeholder',
      [csam],
      [{ state: 'csam', censored: true, genMetadata: [{ type: 'censorship', value: 'csam' }], image: 'csam' }],
    ],
  ])('%s', (_name, evaluations, expected) => {
    expect(submitOutcomes(evaluations)).toEqual(expected);
  });

  test('the state is the job\'s: one censored image makes every image of the batch "censored"', () => {
    expect(submitOutcomes([censored, clean])).toEqual([
      { state: 'censored', censored: true, genMetadata: [{ type: 'censorship', value: 'nsfw' }], image: 'sfw_request' },
      { state: 'censored', censored: true, genMetadata: [], image: 'generated' },
    ]);
  });

  test('csam outranks censored, in either order', () => {
    for (const batch of [
      [csam, censored],
      [censored, csam],
    ]) {
      expect(submitOutcomes(batch).map((image) => image.state)).toEqual(['csam', 'csam']);
    }
    expect(submitOutcomes([nsfwKept, csam]).map((image) => image.genMetadata)).toEqual([
      [{ type: 'information', value: 'nsfw' }],
      [{ type: 'censorship', value: 'csam' }],
    ]);
  });

  test('a failed check faults the whole job and sends no image', () => {
    expect(submitOutcomes([clean, failed])).toEqual([
      { state: 'faulted', censored: false, genMetadata: [], image: null },
      { state: 'faulted', censored: false, genMetadata: [], image: null },
    ]);
  });

  test('every state and gen_metadata entry is one the horde accepts', () => {
    for (const image of submitOutcomes([csam, censored, nsfwKept, clean])) {
      expect(submitStateSchema.safeParse(image.state).success).toBe(true);
      for (const entry of image.genMetadata) expect(genMetadataSchema.safeParse(entry).success).toBe(true);
    }
  });
});

describe('checking a job over the similarity port', () => {
  const image: SafetyImage = { width: 2, height: 1, rgb: new ArrayBuffer(6) };

  test('the port scores every safety word; a port failure becomes a failed check, not an exception', async () => {
    const asked: (readonly string[])[] = [];
    let call = 0;
    const port: SimilarityPort = {
      similarities: async (_image, texts) => {
        asked.push(texts);
        call += 1;
        if (call === 2) throw new Error('out of memory');
        return scores(NSFW);
      },
    };
    const evaluations = await evaluateImages(port, [image, image], context({ censorNsfw: true }));
    expect(asked).toEqual([SAFETY_WORDS, SAFETY_WORDS]);
    expect(evaluations[0]).toMatchObject({ action: 'censor', replacement: 'sfw_request' });
    expect(evaluations[1]).toMatchObject({ failed: true });
    expect(submitOutcomes(evaluations).map((outcome) => outcome.state)).toEqual(['faulted', 'faulted']);
  });
});

describe('the prompt as the rules read it (utils.py normalize_prompt)', () => {
  test.each([
    ['a (girl:1.3) in a s c h o o l', 'a girl in aschool', null],
    ['g i r l, b o y', 'g irl boy', null],
    ['little_sister!!  at   the park###m a t u r e, (adult:0.5)', 'little sister at the park', 'm ature adult'],
    ['niña bonita', 'nina bonita', null],
    ['Straße', 'Strasse', null],
    ['no neg###', 'no neg', ''],
    ['x###y###z', 'x', 'y z'],
    ['___kid___', ' kid ', null],
  ])('%j', (prompt, positive, negative) => {
    expect(normalizePrompt(prompt)).toEqual({ positive, negative });
  });

  test.each([
    [0.03125, 0.0312],
    [0.09375, 0.0938],
    [-0.03125, -0.0312],
    [0.21875, 0.2188],
    [0.0625, 0.0625],
    [0.046875, 0.0469],
    [0.12346, 0.1235],
    [0.123449999, 0.1234],
    [0.22004, 0.22],
    [1, 1],
  ])("similarities round like Python's round(x, 4): %d → %d", (score, rounded) => {
    expect(roundLikePython4(score)).toBe(rounded);
  });
});
