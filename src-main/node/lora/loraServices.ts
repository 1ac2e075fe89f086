import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Handlers, LoraStatusDto } from '../../common/contract';
import { UserFacingError } from '../../common/result';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import type { SettingsService } from '../../core/settings/settingsService';
import { MANIFEST_FILE } from '../../inference/graph/modelFolder';
import type { GenerationService } from '../inference/generation';
import type { SecretCipher } from '../system/fileSecrets';
import { createAddonService, type AddonService } from './addonService';
import { checkCivitaiToken, createCivitaiTokenStore, type CivitaiTokenStore } from './civitaiToken';

/** Under the data folder: the downloaded files (addonStore.ts) and the merged sets (inference/lora/cache.ts). */
export const LORA_FOLDER = 'lora';
export const MERGED_FOLDER = 'lora-merged';

const GB = 1024 ** 3;

/** What the LoRA feature is built over. */
export interface LoraServiceDeps {
  dataDir: string;
  http: HttpPort;
  clientAgent: string;
  settings: SettingsService;
  generation: Pick<GenerationService, 'list'>;
  /** The API key's cipher (Electron safeStorage), so the token is kept the same way; null in headless mode. */
  cipher: SecretCipher | null;
  /** Keeps the token out of the log (node/system/foundation.ts). */
  redactSecret: (name: string, value: string | null) => void;
  log: Logger;
}

type LoraCommand = 'lora.status' | 'lora.setToken' | 'lora.clearToken' | 'lora.clearCache';

/** The fetcher the worker uses, where merged sets go, and the LoRA card's commands. */
export interface LoraServices {
  addons: AddonService;
  token: CivitaiTokenStore;
  /** The inference thread's merged-set cache: folder and budget (from the settings, read at each job). */
  mergedCache: () => { dir: string; budgetBytes: number };
  handlers: Pick<Handlers, LoraCommand>;
}

/** Sets in the merged cache folder and the bytes they hold themselves (their manifests' `merge.ownBytes`). */
function mergedUsage(dir: string): { sets: number; bytes: number } {
  if (!existsSync(dir)) return { sets: 0, bytes: 0 };
  let sets = 0;
  let bytes = 0;
  for (const name of readdirSync(dir)) {
    const manifest = join(dir, name, MANIFEST_FILE);
    if (name.includes('.partial-') || !existsSync(manifest)) continue;
    try {
      const own = (JSON.parse(readFileSync(manifest, 'utf8')) as { merge?: { ownBytes?: unknown } }).merge?.ownBytes;
      bytes += typeof own === 'number' && Number.isFinite(own) ? own : 0;
      sets += 1;
    } catch {
      // A set being written or damaged counts nothing; the cache removes it when it opens.
    }
  }
  return { sets, bytes };
}

/** What the LoRA card shows. */
function statusOf(
  deps: LoraServiceDeps,
  addons: AddonService,
  token: CivitaiTokenStore,
  mergedDir: string,
  tokenSet: boolean,
): LoraStatusDto {
  const s = deps.settings.get();
  const models = deps.generation.list().filter((m) => m.ready);
  const takes = models.some((m) => addons.addonFamily(m.name) !== null);
  const others = models.filter((m) => addons.addonFamily(m.name) === null).map((m) => m.name);
  const merged = mergedUsage(mergedDir);
  return {
    taking: s.loras && takes,
    reason: !s.loras
      ? 'LoRA jobs are off.'
      : !takes
        ? 'None of your ready models takes LoRAs (they are merged into SD 1.x and SDXL models HordeDesk converted).'
        : others.length
          ? `they are taken for your SD 1.x and SDXL models only, not for ${others.join(', ')} (every other pop offers only those).`
          : null,
    tokenSet,
    tokenProtection: token.protection,
    files: addons.store.count(),
    filesBytes: addons.store.usedBytes(),
    filesBudgetBytes: s.loraCacheGb * GB,
    mergedSets: merged.sets,
    mergedBytes: merged.bytes,
    mergedBudgetBytes: s.loraMergedGb * GB,
  };
}

/**
 * The LoRA feature: CivitAI lookups and downloads into `<dataDir>/lora/` within the downloads budget, the merged
 * sets' folder `<dataDir>/lora-merged/` with its own budget (the inference thread merges there), and the CivitAI
 * token kept as the API key is.
 */
export function createLoraServices(deps: LoraServiceDeps): LoraServices {
  const token = createCivitaiTokenStore(deps.dataDir, deps.cipher);
  try {
    deps.redactSecret('civitai-token', token.get());
  } catch (error) {
    deps.log.error('the CivitAI token could not be read; LoRAs are fetched without it', error);
  }
  const safeToken = (): string | null => {
    try {
      return token.get();
    } catch {
      return null;
    }
  };
  const modelDir = (model: string): string | null => deps.generation.list().find((m) => m.name === model && m.ready)?.dir ?? null;
  const addons = createAddonService({
    dir: join(deps.dataDir, LORA_FOLDER),
    http: deps.http,
    clientAgent: deps.clientAgent,
    settings: () => {
      const s = deps.settings.get();
      return { loras: s.loras, cacheBytes: s.loraCacheGb * GB, civitaiUrl: s.civitaiUrl, hordelingUrl: s.hordelingUrl };
    },
    token: safeToken,
    modelDir,
    log: deps.log,
  });
  const mergedDir = join(deps.dataDir, MERGED_FOLDER);
  const mergedCache = () => ({ dir: mergedDir, budgetBytes: deps.settings.get().loraMergedGb * GB });

  const status = (): LoraStatusDto => statusOf(deps, addons, token, mergedDir, safeToken() !== null);

  return {
    addons,
    token,
    mergedCache,
    handlers: {
      'lora.status': async () => status(),
      'lora.setToken': async ({ token: value }) => {
        const problem = checkCivitaiToken(value);
        if (problem) throw new UserFacingError('invalid-token', problem);
        token.set(value);
        deps.redactSecret('civitai-token', value);
        deps.log.info('a CivitAI token was saved');
        return status();
      },
      'lora.clearToken': async () => {
        token.clear();
        deps.redactSecret('civitai-token', null);
        deps.log.info('the CivitAI token was removed');
        return status();
      },
      'lora.clearCache': async () => {
        addons.clear();
        return status();
      },
    },
  };
}
