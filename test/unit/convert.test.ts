// Safetensors reader/writer validation and the ldm → diffusers key mapping.
import { closeSync, mkdtempSync, openSync, rmSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import {
  CheckpointFormatError,
  SD1_DETECTION_KEY,
  SafetensorsReader,
  assertSupportedFamily,
  detectLdmFamily,
  diffusersToLdm,
  sd1DetectionKey,
  writeSafetensors,
} from '../../src-main/inference/convert';
import { SD15_CONFIG, TINY_CONFIG, expectedWeights } from '../../src-main/inference/graph';

const root = mkdtempSync(join(tmpdir(), 'hordedesk-convert-unit-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function rawFile(name: string, header: unknown, dataBytes: number, headerLen?: number): string {
  const path = join(root, name);
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(headerLen ?? json.length));
  writeFileSync(path, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
  return path;
}

describe('SafetensorsReader', () => {
  test('round-trips F32, F16 and BF16 and reads metadata', () => {
    const data = Float32Array.from([0, 1, -2.5, 0.1, 65504, 1e-3]);
    const path = join(root, 'rt.safetensors');
    writeSafetensors(
      path,
      [
        { name: 'a', dtype: 'F32', shape: [2, 3], data },
        { name: 'b', dtype: 'F16', shape: [6], data },
        { name: 'c', dtype: 'BF16', shape: [3, 2], data: () => data },
      ],
      { format: 'pt' },
    );
    const r = new SafetensorsReader(path);
    try {
      expect(r.metadata).toEqual({ format: 'pt' });
      expect(Array.from(r.read('a'))).toEqual(Array.from(data));
      Array.from(r.read('b')).forEach((v, i) => expect(v).toBeCloseTo(data[i] as number, 3));
      Array.from(r.read('c')).forEach((v, i) =>
        expect(Math.abs(v - (data[i] as number))).toBeLessThanOrEqual(Math.abs(data[i] as number) / 128),
      );
      expect(r.entry('c')?.shape).toEqual([3, 2]);
      expect(() => r.read('zzz')).toThrow(/"zzz" is not in the file/);
    } finally {
      r.close();
    }
  });

  test.each([
    ['huge header length', () => rawFile('h1', {}, 0, 2 ** 40), /header length/],
    ['header longer than file', () => rawFile('h2', {}, 0, 500), /exceeds the file size/],
    ['non-JSON header', () => rawFile('h3', '{nope', 0), /not valid UTF-8 JSON/],
    ['unknown dtype', () => rawFile('h4', { w: { dtype: 'F7', shape: [1], data_offsets: [0, 4] } }, 4), /"w": unknown dtype/],
    [
      'byte length mismatch',
      () => rawFile('h5', { w: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4),
      /"w": 4 bytes stored but F32 \[2\] needs 8/,
    ],
    [
      'offsets beyond file',
      () => rawFile('h6', { w: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8),
      /"w".*beyond the end of the file/,
    ],
    [
      'overlap',
      () =>
        rawFile(
          'h7',
          { a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } },
          12,
        ),
      /"a" and "b" overlap/,
    ],
    ['bad shape', () => rawFile('h8', { w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4), /"w": invalid shape/],
    [
      'tiny file',
      () => {
        const p = join(root, 'h9');
        writeFileSync(p, Buffer.alloc(3));
        return p;
      },
      /too short/,
    ],
  ])('rejects %s with a clear CheckpointFormatError', (_label, make, message) => {
    const path = make();
    expect(() => new SafetensorsReader(path)).toThrow(CheckpointFormatError);
    expect(() => new SafetensorsReader(path)).toThrow(message);
  });

  test('reads one tensor of a 3 GB file without holding the file in memory (measured RSS)', () => {
    const big = 3 * 1024 ** 3;
    const path = join(root, 'big.safetensors');
    const header = Buffer.from(
      JSON.stringify({
        big: { dtype: 'F16', shape: [big / 2], data_offsets: [0, big] },
        small: { dtype: 'F32', shape: [4], data_offsets: [big, big + 16] },
      }),
    );
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(header.length));
    const fd = openSync(path, 'w');
    writeSync(fd, len);
    writeSync(fd, header);
    ftruncateSync(fd, 8 + header.length + big + 16); // sparse: no disk blocks for the big tensor
    writeSync(fd, new Uint8Array(Float32Array.from([1, 2, 3, 4]).buffer), 0, 16, 8 + header.length + big);
    closeSync(fd);
    const before = process.memoryUsage().rss;
    const r = new SafetensorsReader(path);
    expect(Array.from(r.read('small'))).toEqual([1, 2, 3, 4]);
    r.close();
    const grown = process.memoryUsage().rss - before;
    expect(grown).toBeLessThan(64 * 1024 ** 2);
  });
});

describe('diffusersToLdm', () => {
  test('maps every SD 1.5 tensor to a distinct key with the known ldm names', () => {
    const keys = new Set<string>();
    let count = 0;
    for (const c of ['text_encoder', 'unet', 'vae_decoder', 'vae_encoder'] as const) {
      for (const w of expectedWeights(SD15_CONFIG, c)) {
        keys.add(diffusersToLdm(w.name, c, SD15_CONFIG).key);
        count++;
      }
    }
    expect(keys.size).toBe(count);
    for (const k of [
      'model.diffusion_model.time_embed.0.weight',
      'model.diffusion_model.input_blocks.0.0.weight',
      'model.diffusion_model.input_blocks.3.0.op.weight',
      'model.diffusion_model.input_blocks.4.0.skip_connection.weight',
      'model.diffusion_model.input_blocks.1.1.proj_in.weight',
      'model.diffusion_model.middle_block.2.out_layers.3.weight',
      'model.diffusion_model.output_blocks.2.1.conv.weight',
      'model.diffusion_model.output_blocks.5.2.conv.weight',
      'model.diffusion_model.output_blocks.8.2.conv.weight',
      SD1_DETECTION_KEY,
      'model.diffusion_model.out.2.bias',
      'first_stage_model.decoder.up.3.upsample.conv.weight',
      'first_stage_model.decoder.up.0.block.0.nin_shortcut.weight',
      'first_stage_model.decoder.norm_out.weight',
      'first_stage_model.post_quant_conv.weight',
      'cond_stage_model.transformer.text_model.final_layer_norm.weight',
      // the second layer of each down block (input_blocks.i: block (i-1)//3, layer (i-1)%3; SD-ONNX.md §5.2)
      'model.diffusion_model.input_blocks.2.1.proj_in.weight',
      'model.diffusion_model.input_blocks.5.0.in_layers.2.weight',
      'model.diffusion_model.input_blocks.8.1.transformer_blocks.0.attn1.to_q.weight',
      'model.diffusion_model.input_blocks.11.0.out_layers.3.bias',
    ])
      expect(keys.has(k), k).toBe(true);
    expect(diffusersToLdm('decoder.mid_block.attentions.0.to_out.0.weight', 'vae_decoder', SD15_CONFIG)).toEqual({
      key: 'first_stage_model.decoder.mid.attn_1.proj_out.weight',
      transform: 'squeeze1x1',
    });
    expect(diffusersToLdm('decoder.mid_block.resnets.1.norm1.bias', 'vae_decoder', SD15_CONFIG).key).toBe(
      'first_stage_model.decoder.mid.block_2.norm1.bias',
    );
    expect(diffusersToLdm('up_blocks.1.resnets.0.time_emb_proj.weight', 'unet', SD15_CONFIG).key).toBe(
      'model.diffusion_model.output_blocks.3.0.emb_layers.1.weight',
    );
    expect(diffusersToLdm('text_model.embeddings.token_embedding.weight', 'text_encoder', SD15_CONFIG).alternatives).toEqual([
      'cond_stage_model.transformer.embeddings.token_embedding.weight',
    ]);
    expect(() => diffusersToLdm('bogus.weight', 'unet', SD15_CONFIG)).toThrow(/No ldm key.*bogus/);
  });

  test('derives block indices from the config (tiny config)', () => {
    expect(sd1DetectionKey(SD15_CONFIG)).toBe(SD1_DETECTION_KEY);
    expect(sd1DetectionKey(TINY_CONFIG)).toBe('model.diffusion_model.output_blocks.3.0.skip_connection.weight');
    expect(diffusersToLdm('down_blocks.0.downsamplers.0.conv.weight', 'unet', TINY_CONFIG).key).toBe(
      'model.diffusion_model.input_blocks.2.0.op.weight',
    );
    expect(diffusersToLdm('up_blocks.0.upsamplers.0.conv.bias', 'unet', TINY_CONFIG).key).toBe(
      'model.diffusion_model.output_blocks.1.1.conv.bias',
    );
    expect(diffusersToLdm('up_blocks.1.attentions.1.proj_out.weight', 'unet', TINY_CONFIG).key).toBe(
      'model.diffusion_model.output_blocks.3.1.proj_out.weight',
    );
  });

  test.each<[string, 'unet' | 'vae_decoder' | 'vae_encoder' | 'text_encoder']>([
    ['bogus.weight', 'unet'],
    ['x.time_embedding.linear_1.weight', 'unet'],
    ['x.down_blocks.0.resnets.0.conv1.weight', 'unet'],
    ['x.down_blocks.0.downsamplers.0.conv.weight', 'unet'],
    ['x.mid_block.resnets.0.conv1.weight', 'unet'],
    ['x.up_blocks.0.resnets.0.conv1.weight', 'unet'],
    ['x.up_blocks.0.upsamplers.0.conv.weight', 'unet'],
    ['mid_block.resnets.0.conv1.weight', 'vae_decoder'],
    ['x.decoder.conv_in.weight', 'vae_decoder'],
    ['x.quant_conv.weight', 'vae_encoder'],
    ['decoder.x.mid_block.attentions.0.to_q.weight', 'vae_decoder'],
    ['decoder.mid_block.attentions.0.to_q.weight_x', 'vae_decoder'],
    ['decoder.x.mid_block.resnets.0.conv1.weight', 'vae_decoder'],
    ['encoder.x.down_blocks.0.resnets.0.conv1.weight', 'vae_encoder'],
    ['encoder.x.down_blocks.0.downsamplers.0.conv.weight', 'vae_encoder'],
    ['decoder.x.up_blocks.0.resnets.0.conv1.weight', 'vae_decoder'],
    ['decoder.x.up_blocks.0.upsamplers.0.conv.weight', 'vae_decoder'],
    ['decoder.x.conv_in.weight', 'vae_decoder'],
    ['decoder.conv_in.weight.x', 'vae_decoder'],
  ])('refuses %s (%s), a name outside the SD 1.x layout, instead of mapping a near miss', (name, component) => {
    expect(() => diffusersToLdm(name, component, SD15_CONFIG)).toThrow(CheckpointFormatError);
    expect(() => diffusersToLdm(name, component, SD15_CONFIG)).toThrow(
      `No ldm key is known for ${component.startsWith('vae') ? 'vae' : component} tensor "${name}"`,
    );
  });

  test('CLIP names: the text_model. layout, with the older layout without it as the alternative', () => {
    expect(diffusersToLdm('text_model.final_layer_norm.weight', 'text_encoder', SD15_CONFIG)).toEqual({
      key: 'cond_stage_model.transformer.text_model.final_layer_norm.weight',
      alternatives: ['cond_stage_model.transformer.final_layer_norm.weight'],
    });
    expect(diffusersToLdm('final_layer_norm.weight', 'text_encoder', SD15_CONFIG)).toEqual({
      key: 'cond_stage_model.transformer.final_layer_norm.weight',
    });
  });

  test('detects families, converts SD 1.x and its inpainting checkpoints, and explains the others', () => {
    const shapes = new Map<string, number[]>([['model.diffusion_model.input_blocks.0.0.weight', [320, 4, 3, 3]]]);
    const sd1 = [SD1_DETECTION_KEY, 'model.diffusion_model.input_blocks.0.0.weight'];
    expect(detectLdmFamily(sd1, (k) => shapes.get(k))).toBe('sd1');
    const inpainting = new Map<string, number[]>([['model.diffusion_model.input_blocks.0.0.weight', [320, 9, 3, 3]]]);
    expect(detectLdmFamily(sd1, (k) => inpainting.get(k))).toBe('sd1-inpainting');
    expect(detectLdmFamily([...sd1, 'cond_stage_model.model.ln_final.weight'], () => undefined)).toBe('sd2');
    expect(detectLdmFamily(['conditioner.embedders.0.transformer.x'], () => undefined)).toBe('sdxl');
    expect(detectLdmFamily(['unet.conv_in.weight'], () => undefined)).toBe('unknown');
    // Inpainting checkpoints convert (a 9-channel UNet input; test/integration/convertInpainting.test.ts).
    expect(() => assertSupportedFamily('sd1-inpainting', 'x.safetensors')).not.toThrow();
    expect(() => assertSupportedFamily('sdxl', 'x.safetensors')).toThrow(/SDXL checkpoint; only SD 1.x/);
    expect(() => assertSupportedFamily('sd2', 'x.safetensors')).toThrow(/SD 2.x/);
    expect(() => assertSupportedFamily('unknown', 'x.safetensors', 'some.key')).toThrow(
      'x.safetensors does not look like an SD 1.x ldm checkpoint (no "some.key"); diffusers-layout or other files are not supported',
    );
    expect(() => assertSupportedFamily('sd1', 'x.safetensors')).not.toThrow();
  });
});
