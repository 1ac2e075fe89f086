import { describe, expect, test } from 'vitest';
import type { CatalogEntry } from '../../src-main/core/models/catalog';
import { permitDelete, permitInstall } from '../../src-main/core/models/installGate';

function entry(overrides: Partial<CatalogEntry> = {}, sha256: string | null = 'ab'.repeat(32)): CatalogEntry {
  return {
    name: 'Deliberate',
    family: 'sd1',
    baseline: 'stable diffusion 1',
    nsfw: false,
    inpainting: false,
    sizeBytes: 2_000_000_000,
    downloads: [{ fileName: 'deliberate.safetensors', url: 'https://models.example/deliberate.safetensors', sha256 }],
    fits: true,
    fitReason: 'fits in 8 GiB of VRAM',
    demand: { queuedMps: 0, jobs: 0, workers: 1, opportunity: 0 },
    installed: false,
    ...overrides,
  };
}

describe('permitInstall', () => {
  test('a name the reference lacks and a model that does not fit are refused in the words of the Models page', () => {
    expect(() => permitInstall('Nope', null, false)).toThrow(
      expect.objectContaining({ code: 'unknown-model', message: 'The model reference has no model called Nope.' }),
    );
    expect(() => permitInstall('Deliberate', entry({ fits: false, fitReason: 'needs 6 GiB of VRAM; this GPU has 4' }), true)).toThrow(
      expect.objectContaining({ code: 'model-does-not-fit', message: 'Deliberate: needs 6 GiB of VRAM; this GPU has 4' }),
    );
  });

  test('a file with a sha256 is installed as verified, whatever the page sent', () => {
    const checked = entry();
    expect(permitInstall('Deliberate', checked, false)).toEqual({ entry: checked, allowUnverified: false });
    expect(permitInstall('Deliberate', checked, true)).toEqual({ entry: checked, allowUnverified: false });
  });

  test('a file without a sha256 needs "Install anyway"', () => {
    const unhashed = entry({}, null);
    expect(() => permitInstall('Deliberate', unhashed, false)).toThrow(
      expect.objectContaining({
        code: 'unverified-model',
        message: expect.stringMatching(
          /^Deliberate: this file cannot be verified\. The model reference gives no sha256 for it, so a damaged or replaced download from models\.example would go unnoticed\. .* To go ahead, choose Install anyway on the Models page\.$/,
        ),
      }),
    );
    expect(permitInstall('Deliberate', unhashed, true)).toEqual({ entry: unhashed, allowUnverified: true });
  });
});

test('permitDelete refuses only the model that is loaded', () => {
  expect(() => permitDelete('Deliberate', 'Deliberate')).toThrow(
    expect.objectContaining({
      code: 'model-in-use',
      message: 'Deliberate is loaded; stop the worker (and the Generate page) before deleting it.',
    }),
  );
  expect(() => permitDelete('Deliberate', 'Other')).not.toThrow();
  expect(() => permitDelete('Deliberate', null)).not.toThrow();
});
