// Which upscaler a state dict holds, read from names and shapes only (no weights): the horde's real files by their
// published numbers in each key layout, the loader's unwrap and prefix rules, and every refusal naming its tensor.
import { describe, expect, test } from 'vitest';
import { type ShapeTable, describe as describeSpec, planUpscaler } from '../../src-main/inference/postprocess/architecture';
import { UpscalerFormatError } from '../../src-main/inference/postprocess/errors';
import { sizeRequirementOf } from '../../src-main/inference/postprocess/spec';
import { hordeStateDict, stripCommonPrefixes } from '../../src-main/inference/postprocess/upscalerFile';

type Shapes = Record<string, number[]>;

const conv = (out: number, inC: number): number[] => [out, inC, 3, 3];
const table = (shapes: Shapes): ShapeTable => ({ names: () => Object.keys(shapes), shape: (n) => shapes[n] ?? [] });

/** An RRDB state dict written out in one of the layouts the README lists, from its numbers. */
function rrdbShapes(o: { layout: 'new' | 'old' | 'mid'; nf: number; nb: number; gc: number; inC?: number; ups?: number }): Shapes {
  const { nf, nb, gc } = o;
  const ups = o.ups ?? 2;
  const s: Shapes = {};
  const put = (name: string, shape: number[]): void => {
    s[`${name}.weight`] = shape;
    s[`${name}.bias`] = [shape[0] ?? 0];
  };
  const names = {
    new: {
      first: 'conv_first',
      rdb: (b: number, r: number, k: number) => `body.${b}.rdb${r}.conv${k}`,
      trunk: 'conv_body',
      up: (i: number) => `conv_up${i}`,
      hr: 'conv_hr',
      last: 'conv_last',
    },
    mid: {
      first: 'conv_first',
      rdb: (b: number, r: number, k: number) => `RRDB_trunk.${b}.RDB${r}.conv${k}`,
      trunk: 'trunk_conv',
      up: (i: number) => `upconv${i}`,
      hr: 'HRconv',
      last: 'conv_last',
    },
    old: {
      first: 'model.0',
      rdb: (b: number, r: number, k: number) => `model.1.sub.${b}.RDB${r}.conv${k}.0`,
      trunk: `model.1.sub.${nb}`,
      up: (i: number) => `model.${3 * i}`,
      hr: `model.${3 * ups + 2}`,
      last: `model.${3 * ups + 4}`,
    },
  }[o.layout];
  put(names.first, conv(nf, o.inC ?? 3));
  for (let b = 0; b < nb; b++)
    for (let r = 1; r <= 3; r++) for (let k = 1; k <= 5; k++) put(names.rdb(b, r, k), conv(k === 5 ? nf : gc, nf + (k - 1) * gc));
  put(names.trunk, conv(nf, nf));
  for (let i = 1; i <= ups; i++) put(names.up(i), conv(nf, nf));
  put(names.hr, conv(nf, nf));
  put(names.last, conv(3, nf));
  return s;
}

/** SRVGGNetCompact: body.0 conv, then PReLU / conv pairs, the last conv to 3·scale². */
function compactShapes(nf: number, convs: number, scale: number): Shapes {
  const s: Shapes = { 'body.0.weight': conv(nf, 3), 'body.0.bias': [nf], 'body.1.weight': [nf] };
  for (let i = 1; i <= convs; i++)
    Object.assign(s, { [`body.${2 * i}.weight`]: conv(nf, nf), [`body.${2 * i}.bias`]: [nf], [`body.${2 * i + 1}.weight`]: [nf] });
  const last = 2 * convs + 2;
  return { ...s, [`body.${last}.weight`]: conv(3 * scale * scale, nf), [`body.${last}.bias`]: [3 * scale * scale] };
}

function refusal(shapes: Shapes): UpscalerFormatError {
  try {
    planUpscaler(table(shapes));
  } catch (error) {
    expect(error).toBeInstanceOf(UpscalerFormatError);
    return error as UpscalerFormatError;
  }
  throw new Error('the plan was not refused');
}

describe("the horde's ESRGAN-family files, by their published numbers", () => {
  test.each([
    [
      'RealESRGAN_x4plus',
      rrdbShapes({ layout: 'new', nf: 64, nb: 23, gc: 32 }),
      { scale: 4, shuffle: 1, features: 64, blocks: 23, growth: 32 },
    ],
    [
      'RealESRGAN_x2plus',
      rrdbShapes({ layout: 'new', nf: 64, nb: 23, gc: 32, inC: 12 }),
      { scale: 2, shuffle: 2, features: 64, blocks: 23, growth: 32 },
    ],
    [
      'RealESRGAN_x4plus_anime_6B',
      rrdbShapes({ layout: 'new', nf: 64, nb: 6, gc: 32 }),
      { scale: 4, shuffle: 1, features: 64, blocks: 6, growth: 32 },
    ],
    [
      'NMKD_Siax / 4x_AnimeSharp (old layout)',
      rrdbShapes({ layout: 'old', nf: 64, nb: 23, gc: 32 }),
      { scale: 4, layout: 'esrgan-old', blocks: 23 },
    ],
    ['an xinntao/ESRGAN (BSRGAN) file', rrdbShapes({ layout: 'mid', nf: 64, nb: 23, gc: 32 }), { scale: 4, layout: 'esrgan-intermediate' }],
    ['an old ×2 file (HR conv at 5, last at 7)', rrdbShapes({ layout: 'old', nf: 32, nb: 4, gc: 32, ups: 1 }), { scale: 2, upconvs: 1 }],
    ['an old ×1 file (HR conv at 2, last at 4)', rrdbShapes({ layout: 'old', nf: 32, nb: 4, gc: 32, ups: 0 }), { scale: 1, upconvs: 0 }],
    [
      'a ×1 file behind an unshuffle by 4',
      rrdbShapes({ layout: 'new', nf: 16, nb: 2, gc: 8, inC: 48 }),
      { scale: 1, shuffle: 4, growth: 8 },
    ],
  ])('%s', (_name, shapes, want) => {
    const { spec, keys } = planUpscaler(table(shapes));
    expect(spec).toMatchObject({ arch: 'rrdb', ...want });
    // Every tensor in the file feeds the graph, under our (BasicSR) names.
    expect(new Set(keys.values())).toEqual(new Set(Object.keys(shapes)));
    expect(keys.has('conv_first.weight') && keys.has('conv_last.bias')).toBe(true);
  });

  test('old-layout names map one to one to BasicSR names (README table)', () => {
    const { keys } = planUpscaler(table(rrdbShapes({ layout: 'old', nf: 64, nb: 23, gc: 32 })));
    expect(keys.get('conv_first.weight')).toBe('model.0.weight');
    expect(keys.get('body.22.rdb3.conv5.bias')).toBe('model.1.sub.22.RDB3.conv5.0.bias');
    expect(keys.get('conv_body.weight')).toBe('model.1.sub.23.weight');
    expect([keys.get('conv_up1.weight'), keys.get('conv_up2.weight')]).toEqual(['model.3.weight', 'model.6.weight']);
    expect([keys.get('conv_hr.weight'), keys.get('conv_last.weight')]).toEqual(['model.8.weight', 'model.10.weight']);
  });

  test('growth is read from conv1, not assumed (the tiny references use 4; real old files 32)', () => {
    expect(planUpscaler(table(rrdbShapes({ layout: 'new', nf: 8, nb: 2, gc: 4 }))).spec).toMatchObject({
      growth: 4,
      features: 8,
      blocks: 2,
    });
  });

  test('SRVGGNetCompact (realesr-animevideov3: 64 features, 16 convs, ×4)', () => {
    const { spec } = planUpscaler(table(compactShapes(64, 16, 4)));
    expect(spec).toEqual({ arch: 'compact', layout: 'compact', scale: 4, features: 64, convs: 16 });
    expect(describeSpec(spec)).toBe('SRVGGNetCompact ×4 (64 features, 16 convs)');
  });

  test("spandrel's size requirements: a multiple of 4 behind an unshuffle, minimum 2 otherwise, none for Compact", () => {
    const plan = (s: Shapes): ReturnType<typeof sizeRequirementOf> => sizeRequirementOf(planUpscaler(table(s)).spec);
    expect(plan(rrdbShapes({ layout: 'new', nf: 8, nb: 1, gc: 4, inC: 12 }))).toEqual({ minimum: 4, multipleOf: 4 });
    expect(plan(rrdbShapes({ layout: 'new', nf: 8, nb: 1, gc: 4 }))).toEqual({ minimum: 2, multipleOf: 1 });
    expect(plan(compactShapes(8, 1, 2))).toEqual({ minimum: 0, multipleOf: 1 });
  });
});

describe('refusals name the tensor', () => {
  test('ESRGAN+ (extra 1×1 convs in the RDBs)', () => {
    const e = refusal({ ...rrdbShapes({ layout: 'old', nf: 8, nb: 1, gc: 32 }), 'model.1.sub.0.RDB1.conv1x1.weight': [32, 8, 1, 1] });
    expect(e.tensor).toBe('model.1.sub.0.RDB1.conv1x1.weight');
    expect(e.message).toMatch(/ESRGAN\+/);
  });

  test('a layout of no known upscaler', () => {
    const e = refusal({ 'encoder.conv_in.weight': conv(8, 3), 'encoder.conv_in.bias': [8] });
    expect(e.tensor).toBe('encoder.conv_in.weight');
    expect(e.code).toBe('upscaler-format');
  });

  test('a missing tensor, by its name in the file', () => {
    const shapes = rrdbShapes({ layout: 'old', nf: 8, nb: 2, gc: 32 });
    delete shapes['model.1.sub.1.RDB2.conv3.0.bias'];
    expect(refusal(shapes).tensor).toBe('model.1.sub.1.RDB2.conv3.0.bias');
  });

  test('a mis-shaped tensor, with both shapes', () => {
    const e = refusal({ ...rrdbShapes({ layout: 'new', nf: 8, nb: 2, gc: 4 }), 'conv_body.weight': conv(8, 4) });
    expect(e.tensor).toBe('conv_body.weight');
    expect(e.message).toMatch(/\[8, 4, 3, 3\].*\[8, 8, 3, 3\]/);
  });

  test('a left-over tensor (the horde loads strictly)', () => {
    expect(refusal({ ...rrdbShapes({ layout: 'new', nf: 8, nb: 2, gc: 4 }), 'conv_extra.weight': conv(8, 8) }).tensor).toBe(
      'conv_extra.weight',
    );
  });

  test('a grey-scale or other non-RGB first conv', () => {
    const e = refusal(rrdbShapes({ layout: 'new', nf: 8, nb: 1, gc: 4, inC: 1 }));
    expect(e.tensor).toBe('conv_first.weight');
    expect(e.message).toMatch(/1 input channels/);
  });

  test('a last conv that is not RGB', () => {
    const shapes = rrdbShapes({ layout: 'old', nf: 8, nb: 1, gc: 32 });
    shapes['model.10.weight'] = conv(1, 8);
    shapes['model.10.bias'] = [1];
    expect(refusal(shapes).tensor).toBe('model.10.weight');
  });

  test('a Compact file whose last conv is no pixel shuffle of RGB', () => {
    const shapes = compactShapes(8, 2, 2);
    shapes['body.6.weight'] = conv(10, 8);
    expect(refusal(shapes).tensor).toBe('body.6.weight');
  });
});

describe("the horde loader's unwrapping (ComfyUI load_torch_file, spandrel canonicalize_state_dict)", () => {
  const sd = new Map<unknown, unknown>([['conv_first.weight', 't']]);
  test.each([
    ['params_ema', new Map<unknown, unknown>([['params_ema', sd]])],
    [
      'params (with a state dict _metadata beside it)',
      new Map<unknown, unknown>([
        ['params', sd],
        ['_metadata', new Map()],
      ]),
    ],
    [
      'state_dict',
      new Map<unknown, unknown>([
        ['state_dict', sd],
        ['global_step', 3],
      ]),
    ],
    [
      'params_ema before params',
      new Map<unknown, unknown>([
        ['params', new Map()],
        ['params_ema', sd],
        ['x', 1],
      ]),
    ],
    ['a lone key holding a dict', new Map<unknown, unknown>([['generator', sd]])],
  ])('%s', (_name, top) => {
    expect(hordeStateDict(top)).toBe(sd);
  });

  test('a bare state dict stays as it is', () => {
    expect(hordeStateDict(sd)).toBe(sd);
  });

  test('a module. or netG. prefix is removed only when every key has it', () => {
    expect([...stripCommonPrefixes(['module.netG.a', 'module.netG.b']).entries()]).toEqual([
      ['a', 'module.netG.a'],
      ['b', 'module.netG.b'],
    ]);
    expect([...stripCommonPrefixes(['module.a', 'b']).keys()]).toEqual(['module.a', 'b']);
  });
});
