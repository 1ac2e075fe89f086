import type { CapabilityProfile } from '../../common/hardware';
import type { HordeClient } from '../../core/horde/client';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import type { SettingsService } from '../../core/settings/settingsService';
import type { ModelsHandlerDeps } from './handlers';
import { graphChoiceFor } from '../../inference/convert/graphChoice';
import { createModelCatalog } from './modelCatalog';
import { createModelInstaller, type InstallProgress } from './modelInstaller';

/** What the catalog and the installer are built over. */
export interface ModelServiceDeps {
  dataDir: string;
  modelsDir: string;
  http: HttpPort;
  horde: HordeClient;
  clientAgent: string;
  profile: () => Promise<CapabilityProfile>;
  /** Read at each use: the model reference and CLIP tokenizer URLs. */
  settings: Pick<SettingsService, 'get'>;
  log: Logger;
  onProgress: (progress: InstallProgress) => void;
}

/**
 * The model catalog (the reference ranked for this machine) and the installer. Weights are
 * converted to fp16 for GPU providers and fp32 when the first provider is the CPU.
 */
export function createModelServices(deps: ModelServiceDeps): Pick<ModelsHandlerDeps, 'catalog' | 'installer'> {
  const { dataDir, modelsDir, http, horde, clientAgent, profile, log } = deps;
  const catalog = createModelCatalog({
    dataDir,
    modelsDir,
    http,
    horde,
    referenceUrl: () => deps.settings.get().modelReferenceUrl,
    clientAgent,
    profile,
    log,
  });
  const installer = createModelInstaller({
    dataDir,
    modelsDir,
    clipTokenizerUrl: () => deps.settings.get().clipTokenizerUrl,
    clientAgent,
    weightDtype: async () => graphChoiceFor((await profile()).executionProviders[0]?.id ?? 'cpu').dtype,
    graphAttention: async () => graphChoiceFor((await profile()).executionProviders[0]?.id ?? 'cpu').attention,
    onProgress: deps.onProgress,
    log,
  });
  return { catalog, installer };
}
