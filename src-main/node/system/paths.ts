import { homedir } from 'node:os';
import { join } from 'node:path';

export const PRODUCT_NAME = 'HordeDesk';

/**
 * Where HordeDesk keeps its data when no folder is given: the same folder Electron's
 * `app.getPath('userData')` names, so the headless entry and the app share settings and history.
 */
export function defaultDataDir(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): string {
  if (env.HORDEDESK_DATA_DIR) return env.HORDEDESK_DATA_DIR;
  if (platform === 'win32') return join(env.APPDATA ?? join(homedir(), 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return join(homedir(), 'Library', 'Application Support', PRODUCT_NAME);
  return join(env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), PRODUCT_NAME);
}

/** Files inside the data folder. */
export function dataPaths(dataDir: string): { database: string; logs: string; settingsDir: string } {
  return { database: join(dataDir, 'hordedesk.db'), logs: join(dataDir, 'logs'), settingsDir: dataDir };
}
