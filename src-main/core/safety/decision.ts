import { checkCsam, type CsamCheckResult, type CsamHit, type ModelSafetyInfo } from './csamCheck';
import { checkNsfw, type NsfwCheckResult } from './nsfwCheck';

// What happens to one checked image: delivered, censored or withheld as CSAM. The image is
// censored the way the reference worker censors it (horde-worker-reGen
// process_management/safety_process.py @a67349a, SP:192-200): CSAM first, then a worker that
// does not accept NSFW, then a request that asked for `use_nsfw_censor`.

/** The request and worker facts the decision needs besides the scores. */
export interface SafetyContext {
  /** The horde prompt; the negative prompt follows `###`. */
  prompt: string;
  /** The model's reference entry (its `nsfw` and `tags`); null when the reference lacks the model. */
  model: ModelSafetyInfo | null;
  /** The pop payload's `use_nsfw_censor`: the requester wants accidental NSFW censored. */
  censorNsfw: boolean;
  /** The worker's own NSFW setting; off makes it an SFW worker, which censors every NSFW image. */
  workerNsfw: boolean;
}

/** What replaces the image: the reference worker's `CensorReason` placeholders, without CENSORLIST (never chosen). */
export type Replacement = 'csam' | 'sfw_worker' | 'sfw_request';

/** deliver: the image goes out as made (marked NSFW if it is); censor: a placeholder goes out; csam: the CSAM placeholder. */
export type SafetyAction = 'deliver' | 'censor' | 'csam';

/** One score that decided the outcome. */
export interface SafetyReason {
  /** nsfw_checker: NSFWChecker (what the reference worker runs); csam_checker: check_for_csam. */
  rule: 'nsfw_checker' | 'csam_checker';
  finding: 'nsfw' | 'underage' | 'lewd';
  word: string;
  score: number;
}

/** The verdict on one image. */
export interface SafetyDecision {
  nsfw: boolean;
  csam: boolean;
  action: SafetyAction;
  replacement: Replacement | null;
  reasons: SafetyReason[];
  /** Each rule's full result, for logs and tests. */
  checks: { nsfwChecker: NsfwCheckResult; csamChecker: CsamCheckResult };
}

function nsfwCheckerReasons(result: NsfwCheckResult): SafetyReason[] {
  const reasons: SafetyReason[] = [...result.nsfwConcepts].map(([word, score]) => ({ rule: 'nsfw_checker', finding: 'nsfw', word, score }));
  if (!result.csam) return reasons;
  return [
    ...reasons,
    ...[...result.underagePredicates].map(([word, score]): SafetyReason => ({ rule: 'nsfw_checker', finding: 'underage', word, score })),
  ];
}

function csamCheckerReasons(result: CsamCheckResult): SafetyReason[] {
  if (!result.csam) return [];
  const once = (hits: readonly CsamHit[], finding: 'underage' | 'lewd'): SafetyReason[] =>
    [...new Map(hits.map((hit) => [hit.word, hit])).values()].map((hit) => ({
      rule: 'csam_checker',
      finding,
      word: hit.word,
      score: hit.score,
    }));
  return [...once(result.underageHits, 'underage'), ...once(result.lewdHits, 'lewd')];
}

/**
 * Decides one image from its CLIP similarities (text → cosine, every word of SAFETY_WORDS).
 * NSFW is the NSFWChecker's verdict, as in the reference worker. CSAM is the NSFWChecker's verdict
 * or check_for_csam's: HordeDesk runs without DeepDanbooru, which the NSFWChecker leans on for
 * anime images, and check_for_csam is the library's CLIP-only CSAM rule with the prompt and model
 * adjustments. A CSAM image always counts as NSFW.
 */
export function decideSafety(scores: ReadonlyMap<string, number>, context: SafetyContext): SafetyDecision {
  const nsfwChecker = checkNsfw({ scores, prompt: context.prompt });
  const csamChecker = checkCsam({ scores, prompt: context.prompt, model: context.model });
  const csam = nsfwChecker.csam || csamChecker.csam;
  const nsfw = nsfwChecker.nsfw || csam;
  let replacement: Replacement | null = null;
  if (csam) replacement = 'csam';
  else if (nsfw && !context.workerNsfw) replacement = 'sfw_worker';
  else if (nsfw && context.censorNsfw) replacement = 'sfw_request';
  return {
    nsfw,
    csam,
    action: csam ? 'csam' : replacement ? 'censor' : 'deliver',
    replacement,
    reasons: [...nsfwCheckerReasons(nsfwChecker), ...csamCheckerReasons(csamChecker)],
    checks: { nsfwChecker, csamChecker },
  };
}
