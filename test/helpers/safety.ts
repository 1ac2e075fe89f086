import type { SafetyImage } from '../../src-main/core/safety/checker';
import { NSFW_CHECKER_TABLES, SAFETY_WORDS } from '../../src-main/core/safety/tables';
import type { SafetyModelStatus, WorkerSafetyPort } from '../../src-main/core/worker/ports';

// Safety ports for tests: scores built from core/safety's own tables (so they follow the tables if
// a threshold moves), and fakes of the port the worker checks every image through. Real CLIP runs
// in the safety tests; here only what the worker does with a verdict matters.

/** A similarity under every threshold of both rules. */
export const COLD = 0.15;

const over = (table: ReadonlyMap<string, number>, word: string): number => {
  const threshold = table.get(word);
  if (threshold === undefined) throw new Error(`"${word}" is not in the table`);
  return Math.round((threshold + 0.01) * 10_000) / 10_000;
};

/** Which scores an image gets: nothing over a threshold, NSFW (an adult and a nude concept), or CSAM (a child in a nude image). */
export type Verdict = 'clean' | 'nsfw' | 'csam';

/** The words a verdict puts over their thresholds; every other word scores {@link COLD}. */
export const HOT_WORDS: Readonly<Record<Verdict, Readonly<Record<string, number>>>> = {
  clean: {},
  nsfw: { woman: over(NSFW_CHECKER_TABLES.predicates, 'woman'), nude: over(NSFW_CHECKER_TABLES.nsfwConcepts, 'nude') },
  csam: { child: over(NSFW_CHECKER_TABLES.underageDanger, 'child'), nude: over(NSFW_CHECKER_TABLES.nsfwConcepts, 'nude') },
};

/** A full score set for one verdict, for the texts asked (SAFETY_WORDS by default). */
export function scoresFor(verdict: Verdict, texts: readonly string[] = SAFETY_WORDS): Map<string, number> {
  const hot = HOT_WORDS[verdict];
  return new Map(texts.map((text) => [text, hot[text] ?? COLD]));
}

/** What the fake answers for one image: a verdict, or an error (the model failed on it). */
export type FakeAnswer = Verdict | Error;

/** A fake safety port, with what it was asked. */
export interface FakeSafety extends WorkerSafetyPort {
  /** Images scored so far. */
  checked: SafetyImage[];
  /** Sets what status() reports (and what ensureLoaded() does: load it, or fail). */
  setStatus(status: SafetyModelStatus): void;
  /** ensureLoaded() calls so far. */
  loads: number;
}

/**
 * A safety port whose verdict for each image comes from `answer` (by default every image is clean).
 * `ensureLoaded` makes a `loading` model ready and rejects for a `failed` or `missing` one.
 */
export function fakeSafety(answer: (image: SafetyImage) => FakeAnswer | Promise<FakeAnswer> = () => 'clean'): FakeSafety {
  let status: SafetyModelStatus = { state: 'ready', reason: 'ready' };
  const fake: FakeSafety = {
    checked: [],
    loads: 0,
    status: () => status,
    setStatus(next) {
      status = next;
    },
    async ensureLoaded() {
      fake.loads += 1;
      if (status.state === 'loading') status = { state: 'ready', reason: 'ready' };
      if (status.state !== 'ready') throw new Error(status.reason);
    },
    async similarities(image, texts) {
      fake.checked.push(image);
      const verdict = await answer(image);
      if (verdict instanceof Error) throw verdict;
      return scoresFor(verdict, texts);
    },
  };
  return fake;
}

/** The port the rigs and the test app get unless a test says otherwise: loaded, and every image clean. */
export function alwaysSafe(): FakeSafety {
  return fakeSafety();
}

/** The first byte of an image's RGB: quickGenerator writes the seed (+ image index) there, so a test can pick a verdict per request. */
export function firstByte(image: SafetyImage): number {
  return new Uint8Array(image.rgb)[0] ?? 0;
}
