import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { createSettingsService } from '../../src-main/core/settings/settingsService';
import { createConfSettingsStore, headlessConfFactory } from '../../src-main/node/system/settingsStore';

describe('settings on disk (conf)', () => {
  test('saved settings survive a restart', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hordedesk-settings-'));
    createSettingsService(
      createConfSettingsStore(headlessConfFactory, dir),
      () => {},
      () => {},
    ).update({ workerName: 'Desk Dreamer 01' });
    const again = createSettingsService(
      createConfSettingsStore(headlessConfFactory, dir),
      () => {},
      () => {},
    );
    expect(again.get().workerName).toBe('Desk Dreamer 01');
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8'))).toMatchObject({ schemaVersion: 1, workerName: 'Desk Dreamer 01' });
  });

  test('a truncated file is kept aside with its bytes intact', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hordedesk-settings-'));
    writeFileSync(join(dir, 'settings.json'), '{"schemaVersion": 1, "hordeUrl": "https://aih');
    const problems: string[] = [];
    const s = createSettingsService(
      createConfSettingsStore(headlessConfFactory, dir),
      (m) => problems.push(m),
      () => {},
    );
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/not valid JSON/);
    const aside = readdirSync(dir).find((f) => f.startsWith('settings.json.corrupt-'));
    expect(aside).toBeDefined();
    expect(readFileSync(join(dir, aside as string), 'utf8')).toBe('{"schemaVersion": 1, "hordeUrl": "https://aih');
    expect(s.get().hordeUrl).toBe('https://aihorde.net/api');
    s.update({ workerName: 'After Recovery' });
    expect(JSON.parse(readFileSync(join(dir, 'settings.json'), 'utf8')).workerName).toBe('After Recovery');
  });
});
