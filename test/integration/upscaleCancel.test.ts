import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { convertUpscaler } from '../../src-main/inference/postprocess/convert';
import { InferenceHost } from '../../src-main/node/inference/inferenceHost';
import { writeTinyUpscaler } from '../../src-main/node/models/tinyUpscaler';

// A job's post-processing stops at its deadline (issue 17 §6): the inference thread's upscale of a job ends
// after the tile in progress when the job is cancelled, answers `cancelled`, and serves the next request.

test('cancelling a job stops its upscale between two tiles; the thread goes on serving', async () => {
  const root = mkdtempSync(join(tmpdir(), 'hd-upscale-cancel-'));
  writeTinyUpscaler(join(root, 'tiny.safetensors'));
  const dir = join(root, 'RealESRGAN_x4plus');
  convertUpscaler(join(root, 'tiny.safetensors'), dir, { name: 'RealESRGAN_x4plus' });
  const host = new InferenceHost(silentLogger());
  const image = (side: number) => new Uint8Array(side * side * 3).fill(120).buffer;
  try {
    // 512² in 128-pixel tiles overlapping by 32: 25 tiles, so the cancel lands between two of them.
    const long = host.upscale({ modelDir: dir, providers: ['cpu'], width: 512, height: 512, rgb: image(512), tile: 128, jobId: 'job-1' });
    host.cancel('job-1');
    await expect(long).rejects.toMatchObject({ code: 'cancelled' });
    const next = await host.upscale({ modelDir: dir, providers: ['cpu'], width: 16, height: 16, rgb: image(16), jobId: 'job-2' });
    expect([next.width, next.height, next.rgb.byteLength, next.stats.name]).toEqual([64, 64, 64 * 64 * 3, 'RealESRGAN_x4plus']);
  } finally {
    await host.dispose();
  }
});
