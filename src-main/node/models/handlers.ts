import type { CatalogDto, Handlers } from '../../common/contract';
import type { Logger } from '../../core/log';
import type { CatalogEntry } from '../../core/models/catalog';
import { permitDelete, permitInstall } from '../../core/models/installGate';
import type { GenerationService } from '../inference/generation';
import type { InstallEntry } from './modelInstaller';
import { writeTinyModel } from './tinyModel';

/** What the Models page's commands need. */
export interface ModelsHandlerDeps {
  generation: Pick<GenerationService, 'modelsDir' | 'list' | 'status'>;
  catalog: {
    view(refresh: boolean): Promise<CatalogDto>;
    entry(name: string): Promise<CatalogEntry | null>;
    remove(name: string): Promise<CatalogDto>;
  };
  installer: { start(entry: InstallEntry): void; cancel(name: string): boolean };
  log: Pick<Logger, 'warn'>;
}

type ModelsCommand = 'models.list' | 'models.createTiny' | 'models.catalog' | 'models.install' | 'models.cancelInstall' | 'models.delete';

/** The Models page's commands: the catalog, installs and deletes, and the tiny test model. */
export function modelsHandlers(deps: ModelsHandlerDeps): Pick<Handlers, ModelsCommand> {
  const { generation, catalog, installer } = deps;
  return {
    'models.list': async () => generation.list(),
    'models.createTiny': async () => {
      const dir = await writeTinyModel(generation.modelsDir);
      const entry = generation.list().find((m) => m.dir === dir);
      if (!entry) throw new Error(`the tiny model was written to ${dir} but is not listed`);
      return entry;
    },
    'models.catalog': async ({ refresh }) => catalog.view(refresh),
    'models.install': async ({ name, allowUnverified }) => {
      const permit = permitInstall(name, await catalog.entry(name), allowUnverified);
      if (permit.allowUnverified) deps.log.warn(`installing ${name} without a sha256 to check it against: the user chose "Install anyway"`);
      installer.start({ ...permit.entry, allowUnverified: permit.allowUnverified });
      return { started: true };
    },
    'models.cancelInstall': async ({ name }) => ({ cancelled: installer.cancel(name) }),
    'models.delete': async ({ name }) => {
      permitDelete(name, generation.status().model);
      return catalog.remove(name);
    },
  };
}
