import { describe, expect, test } from 'vitest';
import { presetLabel, presetOf, sizePresets } from '../../src-renderer/src/generate/sizes';

describe('the Generate page sizes per model family', () => {
  test('an SDXL model is offered SDXL sizes: about one megapixel each, sides multiples of 64, 1024² first', () => {
    const presets = sizePresets('sdxl');
    expect(presets[0]).toEqual({ width: 1024, height: 1024 });
    for (const { width, height } of presets) {
      expect(width % 64).toBe(0);
      expect(height % 64).toBe(0);
      expect(width * height).toBeGreaterThan(0.9 * 1024 * 1024);
      expect(width * height).toBeLessThan(1.1 * 1024 * 1024);
    }
    expect(presetOf('sdxl', 832, 1216)).toEqual({ width: 832, height: 1216 });
    expect(presetOf('sdxl', 512, 512)).toBeNull();
  });

  test('SD 1.x (and a model of unknown family) gets 512-pixel sizes', () => {
    expect(sizePresets('sd1')[0]).toEqual({ width: 512, height: 512 });
    expect(sizePresets(undefined)).toEqual(sizePresets('sd1'));
    expect(presetOf('sd1', 1024, 1024)).toBeNull();
  });

  test('labels give the aspect ratio where it is a small one', () => {
    expect(presetLabel({ width: 1024, height: 1024 })).toBe('1024×1024 (1:1)');
    expect(presetLabel({ width: 896, height: 1152 })).toBe('896×1152 (7:9)');
    expect(presetLabel({ width: 832, height: 1216 })).toBe('832×1216');
  });
});
