import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilityProfileSchema, type CapabilityProfile } from '../../src-main/common/hardware';
import { createApp, type AppOptions, type HordeDeskApp } from '../../src-main/node/app';
import { headlessConfFactory } from '../../src-main/node/system/settingsStore';

/** A CPU-only profile for tests that are not about hardware detection. */
export function cpuProfile(): CapabilityProfile {
  return capabilityProfileSchema.parse({
    os: { platform: 'linux', arch: 'x64', release: 'test' },
    cpu: { brand: 'Test CPU', cores: 2 },
    memoryMiB: 8192,
    gpus: [],
    primaryGpu: null,
    executionProviders: [{ id: 'cpu', reason: 'always available' }],
    maxPixels: 262144,
    modelFamilies: [{ family: 'sd1', fits: true, reason: 'fits in RAM' }],
    notes: [],
    detectedAt: new Date(0).toISOString(),
  });
}

/** A headless app on a fresh temporary data folder. */
export function testApp(overrides: Partial<AppOptions> = {}): HordeDeskApp & { dataDir: string } {
  const dataDir = overrides.dataDir ?? mkdtempSync(join(tmpdir(), 'hordedesk-app-'));
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    detectHardware: async () => cpuProfile(),
    startRater: false,
    startScheduler: false,
    ...overrides,
  });
  return Object.assign(app, { dataDir });
}
