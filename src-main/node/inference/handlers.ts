import type { Handlers } from '../../common/contract';
import { UserFacingError } from '../../common/result';
import type { GenerationService, GeneratePostProcessing } from './generation';

/** The post-processors the Generate page may run (node/postprocess's registry fits). */
export type PagePostProcessors = Pick<GeneratePostProcessing, 'run' | 'cancel'> & { installed(): string[] };

/** The Generate page's commands; `postProcessors` runs the Upscale choice (none: asking for one is refused). */
export function inferenceHandlers(
  generation: GenerationService,
  postProcessors?: PagePostProcessors,
): Pick<Handlers, 'inference.status' | 'inference.generate' | 'inference.cancel'> {
  return {
    'inference.status': async () => generation.status(),
    'inference.generate': async ({ model, params, postProcessing }) => {
      if (postProcessing.length === 0) return generation.generate(model, params);
      const installed = postProcessors?.installed() ?? [];
      const missing = postProcessing.filter((name) => !installed.includes(name));
      if (!postProcessors || missing.length)
        throw new UserFacingError('post-processor-missing', `${missing.join(', ')} ${missing.length === 1 ? 'is' : 'are'} not installed.`);
      return generation.generate(model, params, { names: postProcessing, run: postProcessors.run, cancel: postProcessors.cancel });
    },
    'inference.cancel': async ({ jobId }) => ({ cancelled: generation.cancel(jobId) }),
  };
}
