import { describe, expect, test } from 'vitest';
import type { CapabilityProfile } from '../../src-main/common/hardware';
import type { ActiveModel } from '../../src-main/common/horde';
import { familyOfBaseline, parseModelReference } from '../../src-main/common/modelReference';
import { buildCatalog } from '../../src-main/core/models/catalog';

const SHA = 'a'.repeat(64);

/** A small reference in the real legacy shape (HORDE-PROTOCOL.md §5.2). */
const reference = {
  Deliberate: {
    name: 'Deliberate',
    baseline: 'stable diffusion 1',
    type: 'ckpt',
    inpainting: false,
    nsfw: true,
    description: 'x',
    version: '3',
    style: 'realistic',
    download_all: false,
    homepage: 'h',
    tags: [],
    config: {
      files: [{ path: 'Deliberate.ckpt', sha256sum: SHA.toUpperCase() }, { path: 'v1-inference.yaml' }],
      download: [{ file_name: 'Deliberate.ckpt', file_path: '', file_url: 'https://example.test/Deliberate.ckpt' }],
    },
    size_on_disk_bytes: 2_132_856_686,
    requirements: { clip_skip: 1 },
  },
  'Anything Diffusion': {
    name: 'Anything Diffusion',
    baseline: 'stable diffusion 1',
    type: 'ckpt',
    inpainting: false,
    nsfw: false,
    config: {
      files: [{ path: 'anything.ckpt', md5sum: 'abc' }],
      download: [{ file_name: 'anything.ckpt', file_path: '', file_url: 'https://example.test/anything.ckpt' }],
    },
    size_on_disk_bytes: 2_000_000_000,
  },
  'Deliberate Inpainting': {
    name: 'Deliberate Inpainting',
    baseline: 'stable diffusion 1',
    inpainting: true,
    nsfw: false,
    config: { files: [], download: [] },
  },
  'stable_diffusion_2.1': {
    name: 'stable_diffusion_2.1',
    baseline: 'stable diffusion 2',
    inpainting: false,
    nsfw: false,
    config: { files: [], download: [] },
  },
  'AlbedoBase XL (SDXL)': {
    name: 'AlbedoBase XL (SDXL)',
    baseline: 'stable_diffusion_xl',
    inpainting: false,
    nsfw: false,
    config: { files: [], download: [] },
  },
  'Flux.1-Schnell fp8 (Compact)': { name: 'Flux.1-Schnell fp8 (Compact)', baseline: 'flux_1', inpainting: false, nsfw: false },
  Broken: { name: 'Broken', baseline: 42 },
  'Bad URL': { name: 'Bad URL', baseline: 'stable diffusion 1', config: { download: [{ file_name: 'x', file_url: 'not a url' }] } },
};

function profile(families: Partial<Record<'sd1' | 'sd2' | 'sdxl', boolean>>): CapabilityProfile {
  return {
    os: { platform: 'linux', arch: 'x64', release: '6' },
    cpu: { brand: 'cpu', cores: 8 },
    memoryMiB: 16384,
    gpus: [],
    primaryGpu: null,
    executionProviders: [{ id: 'cpu', reason: 'always' }],
    maxPixels: 262144,
    modelFamilies: (['sd1', 'sd2', 'sdxl'] as const).map((family) => ({
      family,
      fits: families[family] ?? false,
      reason: families[family] ? `${family} fits in VRAM` : `${family} needs more VRAM`,
    })),
    notes: [],
    detectedAt: '2026-01-01T00:00:00Z',
  };
}

const demand: ActiveModel[] = [
  { name: 'Deliberate', count: 9, queued: 20_000_000, jobs: 10, eta: 30, type: 'image' },
  { name: 'Anything Diffusion', count: 0, queued: 4_000_000, jobs: 3, eta: 10000, type: 'image' },
  { name: 'AlbedoBase XL (SDXL)', count: 1, queued: 900_000_000, jobs: 80, type: 'image' },
  { name: 'Deliberate', count: 50, queued: 1, jobs: 1, type: 'text' },
];

describe('parseModelReference', () => {
  test('keeps good records, skips malformed ones with a reason, passes unknown keys', () => {
    const { records, skipped } = parseModelReference(reference);
    expect(records.map((r) => r.name)).not.toContain('Broken');
    expect(skipped.map((s) => s.key).sort()).toEqual(['Bad URL', 'Broken']);
    expect(skipped.find((s) => s.key === 'Broken')?.reason).toMatch(/baseline/);
    expect(records.find((r) => r.name === 'Deliberate')?.homepage).toBe('h');
    expect(records.find((r) => r.name.startsWith('Flux'))?.config.download).toEqual([]);
  });
  test('rejects a non-object top level', () => {
    expect(() => parseModelReference([])).toThrow(/keyed by model name/);
  });
  test.each([
    ['stable diffusion 1', 'sd1'],
    ['stable diffusion 2', 'sd2'],
    ['stable diffusion 2 512', 'sd2'],
    ['stable_diffusion_xl', 'sdxl'],
    ['stable_cascade', 'other'],
    ['flux_1', 'other'],
    ['toString', 'other'],
  ])('baseline %s → %s', (baseline, family) => {
    expect(familyOfBaseline(baseline)).toBe(family);
  });
});

describe('buildCatalog', () => {
  const { records } = parseModelReference(reference);

  test('ranks fitting, in-demand models first', () => {
    const catalog = buildCatalog(records, profile({ sd1: true, sd2: true, sdxl: true }), demand, ['Deliberate']);
    expect(catalog.map((e) => e.name)).toEqual([
      'AlbedoBase XL (SDXL)', // SDXL converts and fits this profile: 900 MPS / (1+1) = 450
      'Anything Diffusion', // 4 MPS / (0+1) = 4
      'Deliberate', // 20 MPS / (9+1) = 2
      'Deliberate Inpainting',
      'Flux.1-Schnell fp8 (Compact)',
      'stable_diffusion_2.1',
    ]);
    const deliberate = catalog.find((e) => e.name === 'Deliberate');
    expect(deliberate).toMatchObject({
      family: 'sd1',
      nsfw: true,
      installed: true,
      sizeBytes: 2_132_856_686,
      fits: true,
      fitReason: 'sd1 fits in VRAM',
      demand: { queuedMps: 20, jobs: 10, workers: 9, opportunity: 2 },
      downloads: [{ url: 'https://example.test/Deliberate.ckpt', fileName: 'Deliberate.ckpt', sha256: SHA }],
    });
    expect(catalog.find((e) => e.name === 'Anything Diffusion')?.downloads[0]?.sha256).toBeNull();
    expect(catalog.find((e) => e.name === 'stable_diffusion_2.1')).toMatchObject({
      demand: { queuedMps: 0, workers: 0, opportunity: 0 },
      installed: false,
    });
  });

  test.each([
    ['Deliberate', { sd1: true }, true, /fits in VRAM/],
    ['Deliberate', { sd1: false }, false, /sd1 needs more VRAM/],
    ['Deliberate Inpainting', { sd1: true }, false, /Inpainting models are not supported yet/],
    ['stable_diffusion_2.1', { sd2: true }, false, /Only Stable Diffusion 1/],
    ['AlbedoBase XL (SDXL)', { sdxl: true }, true, /fits in VRAM/],
    ['AlbedoBase XL (SDXL)', { sdxl: false }, false, /sdxl needs more VRAM/],
    ['Flux.1-Schnell fp8 (Compact)', { sd1: true }, false, /cannot run "flux_1"/],
  ] as const)('%s with %o → fits=%s', (name, families, fits, reason) => {
    const entry = buildCatalog(records, profile(families), [], []).find((e) => e.name === name);
    expect(entry?.fits).toBe(fits);
    expect(entry?.fitReason).toMatch(reason);
  });

  test('a profile without the family verdict does not fit', () => {
    const p = { ...profile({}), modelFamilies: [] };
    expect(buildCatalog(records, p, [], []).find((e) => e.name === 'Deliberate')?.fitReason).toMatch(/not checked/);
  });
});
