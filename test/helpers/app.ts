import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { capabilityProfileSchema, type CapabilityProfile } from '../../src-main/common/hardware';
import { createApp, type AppOptions, type HordeDeskApp } from '../../src-main/node/app';
import { safetyDirOf } from '../../src-main/node/safety/safetyModel';
import { writeTinySafetyModel } from '../../src-main/node/safety/tinySafetyModel';
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

/**
 * A headless app on a fresh temporary data folder. The worker takes no job without its safety
 * check, so the tiny safety model (random weights: it runs the whole check and flags nothing) is
 * installed first unless `safetyModel` is false.
 */
export function testApp(overrides: Partial<AppOptions> & { safetyModel?: boolean } = {}): HordeDeskApp & { dataDir: string } {
  const { safetyModel = true, ...options } = overrides;
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'hordedesk-app-'));
  if (safetyModel) writeTinySafetyModel(safetyDirOf(dataDir));
  const app = createApp({
    shell: 'headless',
    dataDir,
    settingsFactory: headlessConfFactory,
    detectHardware: async () => cpuProfile(),
    startRater: false,
    startScheduler: false,
    ...options,
  });
  return Object.assign(app, { dataDir });
}
