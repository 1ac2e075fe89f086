import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Handlers } from '../../common/contract';
import { UserFacingError } from '../../common/result';
import type { HttpPort } from '../../core/horde/http';
import type { Logger } from '../../core/log';
import { permitPostProcessorInstall } from '../../core/models/postProcessorCatalog';
import { STRIP_BACKGROUND } from '../../inference/postprocess/background/facts';
import type { BackgroundModelSpec } from '../../inference/postprocess/background/modelFile';
import type { GenerationService } from '../inference/generation';
import { createBackgroundInstaller } from '../models/backgroundInstaller';
import type { InstallProgress } from '../models/modelInstaller';
import { createPostProcessorCatalog } from '../models/postProcessorCatalog';
import { createUpscalerInstaller } from '../models/upscalerInstaller';
import { BACKGROUND_FOLDER, createBackgroundEngine } from './backgroundEngine';
import { createPostProcessors, type PostProcessorEngine, type PostProcessors } from './postProcessors';
import { createUpscalerEngine } from './upscalerEngine';
import { createUpscalerStore } from './upscalerStore';

/** Folder under the data directory where converted post-processors live (inference/postprocess's POSTPROCESS_DIR). */
export const POSTPROCESS_FOLDER = 'postprocess';

/** What the post-processing feature is built over. */
export interface PostprocessServiceDeps {
  dataDir: string;
  http: HttpPort;
  clientAgent: string;
  /** Read at each use: the SD model reference URL, beside which `esrgan.json` lives. */
  modelReferenceUrl: () => string;
  generation: Pick<GenerationService, 'upscale' | 'cancelUpscale'> & Partial<Pick<GenerationService, 'stripBackground'>>;
  /** strip_background's file (default rembg's published u2net.onnx); tests serve a tiny model. */
  backgroundModel?: BackgroundModelSpec & { url: string };
  onProgress: (progress: InstallProgress) => void;
  log: Logger;
  /** More engines (strip_background) beside the ESRGAN upscalers. */
  engines?: readonly PostProcessorEngine[];
}

type PostprocessCommand =
  'postprocess.list' | 'postprocess.catalog' | 'postprocess.install' | 'postprocess.cancelInstall' | 'postprocess.delete';

/** The post-processors (every engine behind one registry), their catalog and installs, and the Models page's commands. */
export interface PostprocessServices {
  postProcessors: PostProcessors;
  handlers: Pick<Handlers, PostprocessCommand>;
}

/**
 * The post-processing feature: the ESRGAN upscalers in `<dataDir>/postprocess/` run in the inference thread,
 * other engines beside them, the horde's upscaler reference for the Models page, and installs through the
 * Models machinery (download, convert worker, one rename).
 */
export function createPostprocessServices(deps: PostprocessServiceDeps): PostprocessServices {
  const store = createUpscalerStore(join(deps.dataDir, POSTPROCESS_FOLDER));
  const background = createBackgroundEngine(join(deps.dataDir, BACKGROUND_FOLDER), deps.generation);
  const postProcessors = createPostProcessors([createUpscalerEngine(store, deps.generation), background, ...(deps.engines ?? [])]);
  const catalog = createPostProcessorCatalog({
    dataDir: deps.dataDir,
    http: deps.http,
    modelReferenceUrl: deps.modelReferenceUrl,
    clientAgent: deps.clientAgent,
    installed: () => postProcessors.list(),
    log: deps.log,
  });
  const installer = createUpscalerInstaller({ dataDir: deps.dataDir, store, onProgress: deps.onProgress, log: deps.log });
  const backgroundInstaller = createBackgroundInstaller({
    dataDir: deps.dataDir,
    dir: background.dir,
    onProgress: deps.onProgress,
    log: deps.log,
    ...(deps.backgroundModel ? { model: deps.backgroundModel } : {}),
  });
  return {
    postProcessors,
    handlers: {
      'postprocess.list': async () => postProcessors.list(),
      'postprocess.catalog': async ({ refresh }) => catalog.view(refresh),
      'postprocess.install': async ({ name, allowUnverified }) => {
        if (name === STRIP_BACKGROUND) {
          backgroundInstaller.start();
          return { started: true };
        }
        const permit = permitPostProcessorInstall(name, await catalog.entry(name), allowUnverified);
        if (permit.allowUnverified)
          deps.log.warn(`installing ${name} without a sha256 to check it against: the user chose "Install anyway"`);
        installer.start({ name, file: permit.file, allowUnverified: permit.allowUnverified });
        return { started: true };
      },
      'postprocess.cancelInstall': async ({ name }) => ({
        cancelled: name === STRIP_BACKGROUND ? backgroundInstaller.cancel() : installer.cancel(name),
      }),
      'postprocess.delete': async ({ name }) => {
        if (name === STRIP_BACKGROUND && background.list().length) {
          rmSync(background.dir, { recursive: true, force: true });
          return catalog.view(false);
        }
        if (!store.list().some((entry) => entry.name === name))
          throw new UserFacingError('unknown-model', `There is no installed upscaler called ${name}.`);
        store.remove(name);
        return catalog.view(false);
      },
    },
  };
}
