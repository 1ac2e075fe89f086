import { afterEach, describe, expect, test, vi } from 'vitest';
import { capabilityProfileSchema } from '../../src-main/common/hardware';

afterEach(() => {
  vi.doUnmock('systeminformation');
  vi.resetModules();
});

describe('detectCapabilityProfile on this machine', () => {
  test('returns a valid profile; without a usable GPU it plans for the CPU alone', async () => {
    const { detectCapabilityProfile } = await import('../../src-main/node/system/hardware');
    const profile = await detectCapabilityProfile();
    expect(capabilityProfileSchema.parse(profile)).toEqual(profile);
    expect(profile.memoryMiB).toBeGreaterThan(0);
    expect(profile.os.platform).toBe(process.platform);
    const ids = profile.executionProviders.map((entry) => entry.id);
    // The build VM has no GPU; a developer's machine may have one, so only the CPU-only case is pinned.
    if (profile.primaryGpu === null && ids.length > 0) expect(ids).toEqual(['cpu']);
    if (ids.length > 0) expect(ids.at(-1)).toBe('cpu');
  });

  test('runNvidiaSmi: false still gives a valid profile', async () => {
    const { detectCapabilityProfile } = await import('../../src-main/node/system/hardware');
    expect(capabilityProfileSchema.safeParse(await detectCapabilityProfile({ runNvidiaSmi: false })).success).toBe(true);
  });
});

describe('detectCapabilityProfileSafely', () => {
  test('never rejects: a systeminformation failure gives a CPU profile with a note', async () => {
    const broken = () => Promise.reject(new Error('powershell is not available'));
    vi.doMock('systeminformation', () => ({ default: { graphics: broken, osInfo: broken, cpu: broken, mem: broken } }));
    const { detectCapabilityProfile, detectCapabilityProfileSafely } = await import('../../src-main/node/system/hardware');
    await expect(detectCapabilityProfile({ runNvidiaSmi: false })).rejects.toThrow('powershell');

    const profile = await detectCapabilityProfileSafely({ runNvidiaSmi: false });
    expect(capabilityProfileSchema.parse(profile)).toEqual(profile);
    expect(profile.gpus).toEqual([]);
    expect(profile.primaryGpu).toBeNull();
    expect(profile.notes[0]).toContain('could not inspect');
    expect(profile.notes[0]).toContain('powershell is not available');
    if (profile.executionProviders.length > 0) expect(profile.executionProviders.map((entry) => entry.id)).toEqual(['cpu']);
  });
});
