import type { Settings } from '../../common/settings';

/** The file Settings → Export offers to save. */
export interface SettingsFileExport {
  filename: string;
  content: string;
}

/**
 * The settings as a file another HordeDesk can import (core/settings/settingsFile.ts): everything
 * but the onboarding state, which belongs to this machine. The API key is never in the settings.
 */
export function exportSettingsFile(settings: Settings): SettingsFileExport {
  const { schemaVersion, onboarded: _onboarded, ...rest } = settings;
  return { filename: 'hordedesk-settings.json', content: `${JSON.stringify({ schemaVersion, ...rest }, null, 2)}\n` };
}
