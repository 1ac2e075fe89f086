import { expect, test } from 'vitest';
import { defaultSettings, SETTINGS_VERSION } from '../../src-main/common/settings';
import { exportSettingsFile } from '../../src-main/core/settings/settingsExport';
import { parseSettingsFile } from '../../src-main/core/settings/settingsFile';

test('the export holds every setting but the onboarding state, version first, and imports back', () => {
  const settings = { ...defaultSettings(), workerName: 'Quiet Desk', nsfw: true, onboarded: true };
  const file = exportSettingsFile(settings);
  expect(file.filename).toBe('hordedesk-settings.json');
  expect(file.content.endsWith('}\n')).toBe(true);
  const written = JSON.parse(file.content) as Record<string, unknown>;
  expect(Object.keys(written)[0]).toBe('schemaVersion');
  expect(written.schemaVersion).toBe(SETTINGS_VERSION);
  expect(written).not.toHaveProperty('onboarded');
  const { onboarded: _onboarded, ...rest } = settings;
  expect(written).toEqual(rest);
  expect(parseSettingsFile(file.content)).toMatchObject({ workerName: 'Quiet Desk', nsfw: true });
});
