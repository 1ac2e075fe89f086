import { existsSync, renameSync } from 'node:fs';
import Conf from 'conf';
import { CorruptSettingsError, type SettingsStorePort } from '../../core/settings/settingsService';
import type { Settings } from '../../common/settings';

/** The part of conf (and of electron-store, which extends it) the settings port needs. */
export interface ConfLike {
  readonly path: string;
  store: Record<string, unknown>;
}

export interface ConfOptions {
  cwd: string;
  configName: string;
  clearInvalidConfig: false;
  accessPropertiesByDotNotation: false;
  watch: false;
}

/** Builds the store: `new Conf(o)` in headless, `new ElectronStore(o)` in Electron. */
export type ConfFactory = (options: ConfOptions) => ConfLike;

/** Headless settings: conf, the library electron-store is built on, so both read the same file. */
export const headlessConfFactory: ConfFactory = (options) => new Conf<Record<string, unknown>>({ ...options, projectName: 'hordedesk' });

/** The settings port over conf/electron-store: `<dir>/settings.json`. */
export function createConfSettingsStore(factory: ConfFactory, dir: string): SettingsStorePort {
  const options: ConfOptions = {
    cwd: dir,
    configName: 'settings',
    clearInvalidConfig: false,
    accessPropertiesByDotNotation: false,
    watch: false,
  };
  const path = `${dir}/settings.json`;
  let conf: ConfLike | null = null;

  function open(): ConfLike {
    if (conf) return conf;
    try {
      conf = factory(options);
      return conf;
    } catch (error) {
      // conf parses the file in its constructor; a SyntaxError means the bytes are not JSON.
      if (error instanceof SyntaxError) throw new CorruptSettingsError('it is not valid JSON', { cause: error });
      throw error;
    }
  }

  return {
    path,
    read() {
      const store = open().store;
      if (typeof store !== 'object' || store === null || Array.isArray(store))
        throw new CorruptSettingsError('it does not hold a settings object');
      return store;
    },
    write(settings: Settings) {
      open().store = { ...settings };
    },
    quarantine() {
      const target = `${path}.corrupt-${new Date().toISOString().replace(/[:.]/g, '-')}`;
      if (existsSync(path)) renameSync(path, target);
      conf = null;
      return target;
    },
  };
}
