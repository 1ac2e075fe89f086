import { join } from 'node:path';
import type { Foundation } from '../system/foundation';
import { createGenerationService, type GenerationService } from './generation';
import { InferenceHost } from './inferenceHost';

/** The generation service over the inference worker thread, models in `<dataDir>/models`. */
export function createInferenceServices(
  base: Pick<Foundation, 'hardware' | 'events' | 'log'>,
  options: { dataDir: string; inferenceWorkerUrl?: URL },
): GenerationService {
  const log = base.log.child('inference');
  return createGenerationService({
    modelsDir: join(options.dataDir, 'models'),
    host: new InferenceHost(log, options.inferenceWorkerUrl),
    // The execution providers the hardware profile found, best first (CUDA, DirectML, CPU…).
    providers: async () => (await base.hardware.get()).executionProviders.map((e) => e.id),
    onProgress: (progress) => base.events.emit('inference.progress', progress),
    log,
  });
}
