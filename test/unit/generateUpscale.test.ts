import { describe, expect, test } from 'vitest';
import type { InstalledPostProcessorDto } from '../../src-main/common/contract';
import { NO_UPSCALE, postProcessingOf, upscaledSize, upscaleOptions } from '../../src-renderer/src/generate/upscale';

// The Generate page's Upscale choice (issue 17 §7): the installed post-processors that can run, and what the
// request carries for the choice (a job's post_processing, the horde's names).

const installed = (name: string, overrides: Partial<InstalledPostProcessorDto> = {}): InstalledPostProcessorDto => ({
  name,
  family: 'esrgan',
  ready: true,
  problem: null,
  bytes: 1,
  detail: 'RRDBNet ×4 (64 features, 23 blocks, growth 32)',
  scale: 4,
  ...overrides,
});

describe('the Upscale choice', () => {
  const list = [
    installed('RealESRGAN_x4plus'),
    installed('RealESRGAN_x2plus', { scale: 2 }),
    installed('NMKD_Siax', { ready: false, problem: 'unfinished install', scale: null }),
    installed('strip_background', { family: 'background', scale: 1 }),
  ];

  test('lists what is ready, with what it does to the size', () => {
    expect(upscaleOptions(list).map((o) => o.label)).toEqual(['RealESRGAN_x4plus (×4)', 'RealESRGAN_x2plus (×2)', 'strip_background']);
    expect(upscaleOptions(undefined)).toEqual([]);
  });

  test('sends the chosen name, and nothing for None or a choice no longer installed', () => {
    const options = upscaleOptions(list);
    expect(postProcessingOf('RealESRGAN_x2plus', options)).toEqual(['RealESRGAN_x2plus']);
    expect(postProcessingOf(NO_UPSCALE, options)).toEqual([]);
    expect(postProcessingOf('NMKD_Siax', options)).toEqual([]);
    expect(postProcessingOf('RealESRGAN_x4plus', [])).toEqual([]);
  });

  test('says the size each image comes out at', () => {
    const options = upscaleOptions(list);
    expect(upscaledSize('RealESRGAN_x4plus', options, { width: 512, height: 768 })).toBe('512×768 → 2048×3072');
    expect(upscaledSize('strip_background', options, { width: 512, height: 512 })).toBeNull();
    expect(upscaledSize(NO_UPSCALE, options, { width: 512, height: 512 })).toBeNull();
  });
});
