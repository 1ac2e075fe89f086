import { decideSafety, type SafetyContext, type SafetyDecision } from './decision';
import type { SafetyEvaluation } from './submit';
import { SAFETY_WORDS } from './tables';

// The safety check over its one port. The CLIP towers live behind it (src-main/inference/clip/);
// core only decides.

/** An image as the inference engine returns it (RawImage in core/worker/ports.ts fits). */
export interface SafetyImage {
  width: number;
  height: number;
  /** Packed 8-bit RGB, row-major. */
  rgb: ArrayBuffer;
}

/**
 * What the checker needs from CLIP ViT-L/14 (openai): for one image, the cosine similarity
 * between its image features and each text's features. As the reference computes it
 * (horde_safety/interrogate.py @15e88b1, `_similarities_hijack`, and clip_interrogator's
 * `image_to_features`): both embeddings L2-normalised, a plain dot product, no logit scale, no
 * rounding (the rules round where the source does). The reference runs on the CPU by default,
 * so in fp32; on a GPU under autocast its products are fp16.
 */
export interface SimilarityPort {
  /** Resolves with a score for every text asked for; rejects if the model cannot run. */
  similarities(image: SafetyImage, texts: readonly string[]): Promise<ReadonlyMap<string, number>>;
}

/** Checks one image: its similarities for every safety word, then the decision. */
export async function checkImage(port: SimilarityPort, image: SafetyImage, context: SafetyContext): Promise<SafetyDecision> {
  return decideSafety(await port.similarities(image, SAFETY_WORDS), context);
}

/**
 * Checks every image of a job, one after the other as the reference's safety process does
 * (safety_process.py SP:163-206). A failure becomes that image's result instead of an exception,
 * so the caller can submit the job as {@link submitOutcomes} says.
 */
export async function evaluateImages(
  port: SimilarityPort,
  images: readonly SafetyImage[],
  context: SafetyContext,
): Promise<SafetyEvaluation[]> {
  const evaluations: SafetyEvaluation[] = [];
  for (const image of images) {
    try {
      evaluations.push(await checkImage(port, image, context));
    } catch (error) {
      evaluations.push({ failed: true, error });
    }
  }
  return evaluations;
}
