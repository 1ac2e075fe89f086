import type { Handlers } from '../../common/contract';
import type { GenerationService } from './generation';

/** The Generate page's commands. */
export function inferenceHandlers(
  generation: GenerationService,
): Pick<Handlers, 'inference.status' | 'inference.generate' | 'inference.cancel'> {
  return {
    'inference.status': async () => generation.status(),
    'inference.generate': async ({ model, params }) => generation.generate(model, params),
    'inference.cancel': async ({ jobId }) => ({ cancelled: generation.cancel(jobId) }),
  };
}
