// The Models page's post-processors (issue 17 §2): the horde's upscaler reference (esrgan.json, beside the SD
// model reference) as the page offers it, and Install through the Models machinery: download (sha256-checked or
// with the user's consent, size-capped), conversion in the convert worker, one rename; Delete.
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { writeSafetensors } from '../../src-main/inference/convert/safetensors';
import { UPSCALER_MANIFEST_FILE } from '../../src-main/inference/postprocess/convert';
import type { InstallProgress } from '../../src-main/node/models/modelInstaller';
import { writeTinyUpscaler } from '../../src-main/node/models/tinyUpscaler';
import { createPostprocessServices, type PostprocessServices } from '../../src-main/node/postprocess/postprocessServices';
import { createNodeHttp } from '../../src-main/node/system/http';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { until } from '../helpers/worker';

const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

let root: string;
let server: ModelFileServer;
let progress: InstallProgress[];
let services: PostprocessServices;

/** A record in esrgan.json's real shape (Haidra-Org/AI-Horde-image-model-reference). */
function record(name: string, file: string, url: string, sha?: string): Record<string, unknown> {
  return {
    name,
    type: 'esrgan',
    description: `${name} (test record)`,
    version: '0.1.0',
    style: 'generalist',
    config: { files: [{ path: file, ...(sha && { sha256sum: sha }) }], download: [{ file_name: file, file_path: '', file_url: url }] },
    available: false,
  };
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'hd-pp-install-'));
  writeTinyUpscaler(join(root, 'tiny.safetensors'));
  const tiny = readFileSync(join(root, 'tiny.safetensors'));
  writeSafetensors(join(root, 'vae.safetensors'), [
    { name: 'encoder.conv_in.weight', dtype: 'F32', shape: [8, 3, 3, 3], data: new Float32Array(216) },
  ]);
  const notAnUpscaler = readFileSync(join(root, 'vae.safetensors'));
  const files: Record<string, Buffer> = { 'tiny.safetensors': tiny, 'NMKD_Siax.pth': notAnUpscaler };
  server = await startModelFileServer(files);
  const reference = {
    RealESRGAN_x4plus: record('RealESRGAN_x4plus', 'tiny.safetensors', `${server.url}/tiny.safetensors`, sha256(tiny)),
    RealESRGAN_x2plus: record('RealESRGAN_x2plus', 'RealESRGAN_x2plus.pth', `${server.url}/tiny.safetensors`, '0'.repeat(64)),
    NMKD_Siax: record('NMKD_Siax', 'NMKD_Siax.pth', `${server.url}/NMKD_Siax.pth`),
    '4x_NMKD_Superscale_SP': record('4x_NMKD_Superscale_SP', '4x_NMKD-Superscale-SP_178000_G.pth', `${server.url}/x.pth`),
    broken: { name: 7 },
  };
  const refServer = await startModelFileServer({ 'esrgan.json': Buffer.from(JSON.stringify(reference)) });
  const close = server.close;
  server.close = async () => {
    await refServer.close();
    await close();
  };
  progress = [];
  services = createPostprocessServices({
    dataDir: join(root, 'data'),
    http: createNodeHttp(),
    clientAgent: 'test',
    modelReferenceUrl: () => `${refServer.url}/stable_diffusion.json`,
    generation: { upscale: () => Promise.reject(new Error('not in this test')), cancelUpscale: () => undefined },
    onProgress: (p) => void progress.push(p),
    log: silentLogger(),
  });
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const handlers = () => services.handlers;
const ended = (name: string) => () => progress.some((p) => p.name === name && ['done', 'failed', 'cancelled'].includes(p.phase));

describe('the upscaler reference on the Models page', () => {
  test('the ESRGAN names the horde asks for are offered; the rest say why not; files without sha256 say so', async () => {
    const view = await handlers()['postprocess.catalog']({ refresh: false });
    expect(view.message).toBeNull();
    expect(view.source).toBe('network');
    expect(view.entries.map((e) => [e.name, e.served, e.installed, e.unverified === null])).toEqual([
      ['NMKD_Siax', true, false, false],
      ['RealESRGAN_x2plus', true, false, true],
      ['RealESRGAN_x4plus', true, false, true],
      // In no horde reference: rembg's u2net.onnx, offered with its pinned sha256 (node/models/postProcessorCatalog.ts).
      ['strip_background', true, false, true],
      ['4x_NMKD_Superscale_SP', false, false, false],
    ]);
    expect(view.entries.find((e) => e.name === '4x_NMKD_Superscale_SP')?.reason).toMatch(/not one of its post-processors/);
    expect(view.entries.find((e) => e.name === 'NMKD_Siax')?.unverified).toMatch(/gives no sha256.*127\.0\.0\.1/);
    expect(view.refused.map((r) => r.name)).toEqual(expect.arrayContaining(['GFPGAN', 'CodeFormers', '4xNomos2_hq_dat2']));
    expect(view.refused.find((r) => r.name === 'GFPGAN')?.reason).toMatch(/face restorer/);
    expect(view.installed).toEqual([]);
  });
});

describe('Install and Delete', () => {
  test('a verified install downloads, converts in the convert worker and lists the upscaler ready; Delete removes it', async () => {
    expect(await handlers()['postprocess.install']({ name: 'RealESRGAN_x4plus', allowUnverified: false })).toEqual({ started: true });
    await until(ended('RealESRGAN_x4plus'));
    expect(progress.map((p) => p.phase)).toEqual(expect.arrayContaining(['downloading', 'converting', 'done']));
    expect(progress.at(-1)).toMatchObject({ phase: 'done', message: 'RealESRGAN_x4plus is installed.' });
    const installed = await handlers()['postprocess.list']({});
    expect(installed).toEqual([
      {
        name: 'RealESRGAN_x4plus',
        family: 'esrgan',
        ready: true,
        problem: null,
        bytes: expect.any(Number),
        detail: 'RRDBNet ×4 (8 features, 1 blocks, growth 4)',
        scale: 4,
      },
    ]);
    expect(services.postProcessors.installed()).toEqual(['RealESRGAN_x4plus']);
    const dir = join(root, 'data', 'postprocess', 'RealESRGAN_x4plus');
    expect(JSON.parse(readFileSync(join(dir, UPSCALER_MANIFEST_FILE), 'utf8'))).toMatchObject({ name: 'RealESRGAN_x4plus' });
    // The downloaded file is gone once converted; nothing half-made is left.
    expect(readdirSync(join(root, 'data', 'downloads'))).toEqual([]);
    expect(readdirSync(join(root, 'data', 'postprocess'))).toEqual(['RealESRGAN_x4plus']);
    expect(
      (await handlers()['postprocess.catalog']({ refresh: false })).entries.find((e) => e.name === 'RealESRGAN_x4plus')?.installed,
    ).toBe(true);

    const after = await handlers()['postprocess.delete']({ name: 'RealESRGAN_x4plus' });
    expect(after.installed).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    await expect(handlers()['postprocess.delete']({ name: 'RealESRGAN_x4plus' })).rejects.toThrow(/no installed upscaler called/);
  });

  test('a file without sha256 needs Install anyway; a file that is no upscaler fails naming its tensor and installs nothing', async () => {
    await expect(handlers()['postprocess.install']({ name: 'NMKD_Siax', allowUnverified: false })).rejects.toThrow(
      /cannot be verified.*Install anyway/,
    );
    expect(progress).toEqual([]);
    await handlers()['postprocess.install']({ name: 'NMKD_Siax', allowUnverified: true });
    await until(ended('NMKD_Siax'));
    expect(progress.at(-1)).toMatchObject({ phase: 'failed', message: expect.stringMatching(/"encoder\.conv_in\.weight"/) });
    expect(existsSync(join(root, 'data', 'postprocess'))).toBe(false);
    expect(services.postProcessors.installed()).toEqual([]);
  });

  test('a download whose sha256 differs is deleted and nothing is installed', async () => {
    await handlers()['postprocess.install']({ name: 'RealESRGAN_x2plus', allowUnverified: false });
    await until(ended('RealESRGAN_x2plus'));
    expect(progress.at(-1)).toMatchObject({ phase: 'failed', message: expect.stringMatching(/damaged: sha256/) });
    expect(services.postProcessors.installed()).toEqual([]);
  });

  test('names the horde does not ask for, and unknown names, are refused', async () => {
    await expect(handlers()['postprocess.install']({ name: '4x_NMKD_Superscale_SP', allowUnverified: true })).rejects.toThrow(
      /not one of its post-processors/,
    );
    await expect(handlers()['postprocess.install']({ name: 'GFPGAN', allowUnverified: true })).rejects.toThrow(
      /has no post-processor called GFPGAN/,
    );
  });
});
