import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, describe, expect, test } from 'vitest';
import { halfToFloat, openCkpt } from '../../src-main/inference/convert/ckpt/ckptReader';
import { CkptFormatError } from '../../src-main/inference/convert/ckpt/zip';

const FIX = fileURLToPath(new URL('../fixtures/ckpt', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'ckpt-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('openCkpt on a lightning-style protocol 2 checkpoint', () => {
  // Opened in each test, not once for the describe: code that runs outside a test counts as "static" for mutation
  // testing, which then runs every test of the group for each of its mutants.
  let ckpt: ReturnType<typeof openCkpt>;
  beforeEach(() => {
    ckpt = openCkpt(join(FIX, 'lightning.ckpt'));
  });
  afterEach(() => ckpt.close());

  test('lists the tensors of state_dict (metadata such as global_step is skipped)', () => {
    expect(ckpt.prefix).toBe('archive/');
    expect(ckpt.names()).toEqual(['model.w', 'model.h', 'model.bf', 'model.shared_a', 'model.shared_b', 'cond.position_ids', 'model.scalar']);
    expect(ckpt.shape('model.w')).toEqual([2, 3]);
    expect(ckpt.dtype('model.w')).toBe('F32');
    expect(ckpt.dtype('model.h')).toBe('F16');
    expect(ckpt.dtype('model.bf')).toBe('BF16');
    expect(ckpt.dtype('cond.position_ids')).toBe('I64');
    expect(ckpt.shape('model.scalar')).toEqual([]);
  });

  test('round-trips F32, F16, BF16 and I64 values to F32', () => {
    expect([...ckpt.read('model.w')]).toEqual([1.5, -2.0, 3.25, 0.0, Math.fround(1e-3), -7.0]);
    expect([...ckpt.read('model.h')]).toEqual([0.5, -1.0, 65504, 2 ** -24]);
    expect([...ckpt.read('model.bf')]).toEqual([1.0, -2.5, 3.140625]);
    expect([...ckpt.read('cond.position_ids')]).toEqual([0, 1, 2, 3, 4]);
    expect([...ckpt.read('model.scalar')]).toEqual([42]);
  });

  test('tensors sharing one storage honour the storage offset', () => {
    expect([...ckpt.read('model.shared_a')]).toEqual([10, 11]);
    expect([...ckpt.read('model.shared_b')]).toEqual([12, 13, 14]);
  });

  test('an unknown tensor name is an error', () => {
    expect(() => ckpt.read('nope')).toThrow(/no tensor "nope"/);
  });
});

describe('openCkpt on a bare protocol 4 state dict', () => {
  test('reads Parameter-wrapped tensors under a non-"archive" prefix', () => {
    const ckpt = openCkpt(join(FIX, 'bare_proto4.ckpt'));
    try {
      expect(ckpt.prefix).toBe('sd-v1-5/');
      expect(ckpt.names()).toEqual(['w', 'wt']);
      expect(ckpt.shape('w')).toEqual([3, 2]);
      expect([...ckpt.read('w')]).toEqual([1, 2, 3, 4, 5, 6]);
      expect(() => ckpt.read('wt')).toThrow(/not contiguous/);
    } finally {
      ckpt.close();
    }
  });
});

describe('format errors', () => {
  test('a DEFLATE-compressed entry is refused clearly', () => {
    expect(() => openCkpt(join(FIX, 'deflated.ckpt'))).toThrow(/DEFLATE-compressed.*only STORED/);
  });

  test('the legacy (non-zip) torch.save format is refused clearly', () => {
    const p = join(tmp, 'legacy.ckpt');
    // Legacy files begin with a protocol 2 pickle of the magic number (LONG1 0x1950a86a20f9469cfc6c).
    writeFileSync(p, Buffer.from([0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e]));
    expect(() => openCkpt(p)).toThrow(CkptFormatError);
    expect(() => openCkpt(p)).toThrow(/legacy \(pre-1\.6\) torch\.save format/);
  });

  test('a random non-zip file is refused', () => {
    const p = join(tmp, 'junk.ckpt');
    writeFileSync(p, 'hello, this is not a checkpoint at all');
    expect(() => openCkpt(p)).toThrow(/not a ZIP archive/);
  });

  test.each([100, 1000, 2000, 2480])('a zip truncated to %i bytes is refused', (n) => {
    const p = join(tmp, `trunc${n}.ckpt`);
    writeFileSync(p, readFileSync(join(FIX, 'lightning.ckpt')).subarray(0, n));
    expect(() => openCkpt(p)).toThrow(CkptFormatError);
    expect(() => openCkpt(p)).toThrow(/truncated|corrupt/);
  });

  test('reading after close() is an error', () => {
    const p = join(tmp, 'copy.ckpt');
    copyFileSync(join(FIX, 'lightning.ckpt'), p);
    const ckpt = openCkpt(p);
    ckpt.close();
    expect(() => ckpt.read('model.w')).toThrow(/closed/);
  });
});

describe('halfToFloat', () => {
  test('decodes zero, subnormals, normals, infinities and NaN', () => {
    expect(halfToFloat(0x0000)).toBe(0);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0x3c00)).toBe(1);
    expect(halfToFloat(0xc000)).toBe(-2);
    expect(halfToFloat(0x7bff)).toBe(65504);
    expect(halfToFloat(0x7c00)).toBe(Infinity);
    expect(halfToFloat(0xfc00)).toBe(-Infinity);
    expect(halfToFloat(0x7e00)).toBeNaN();
  });
});
