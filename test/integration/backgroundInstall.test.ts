// strip_background on the Models page and in the post-processor registry (issue 17 §5, §6): the catalog offers rembg's
// u2net.onnx (it is in no horde reference), Install downloads it through the Models machinery (sha256-checked,
// size-capped), checks it as a model and commits it with one rename; the registry then runs it (the RGBA cutout the
// worker delivers) and Delete removes it. The model served here is the tiny stand-in of test/fixtures/rembg (its
// checksums in rembg.json); the cutout is compared with rembg's own output for the same picture.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { silentLogger } from '../../src-main/core/log';
import { openBackgroundRemover } from '../../src-main/inference/postprocess/background/runner';
import type { InstallProgress } from '../../src-main/node/models/modelInstaller';
import { createPostprocessServices, type PostprocessServices } from '../../src-main/node/postprocess/postprocessServices';
import { createNodeHttp } from '../../src-main/node/system/http';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { until } from '../helpers/worker';

const fixtures = new URL('../fixtures/rembg/', import.meta.url).pathname;
const reference = JSON.parse(readFileSync(join(fixtures, 'rembg.json'), 'utf8')) as {
  model: { file: string; bytes: number; sha256: string; md5: string };
};
const tiny = readFileSync(join(fixtures, reference.model.file));

let root: string;
let server: ModelFileServer;
let progress: InstallProgress[];
let services: PostprocessServices;

function start(served: Buffer): Promise<ModelFileServer> {
  return startModelFileServer({ 'esrgan.json': Buffer.from('{}'), [reference.model.file]: served });
}

function build(url: string): PostprocessServices {
  return createPostprocessServices({
    dataDir: join(root, 'data'),
    http: createNodeHttp(),
    clientAgent: 'test',
    modelReferenceUrl: () => `${url}/stable_diffusion.json`,
    generation: {
      upscale: () => Promise.reject(new Error('not in this test')),
      cancelUpscale: () => undefined,
      // The inference thread's answer, computed in-process (the thread itself is held to rembg in rembgReference).
      async stripBackground(job) {
        const remover = await openBackgroundRemover(job.modelDir);
        try {
          const out = await remover.remove({ data: new Uint8Array(job.rgb), width: job.width, height: job.height, channels: 3 });
          const rgba = out.image.data.slice().buffer;
          return {
            width: job.width,
            height: job.height,
            rgba,
            stats: { ms: out.ms, modelMs: out.modelMs, path: out.path.kind, reason: null, status: remover.provider },
          };
        } finally {
          await remover.release();
        }
      },
    },
    backgroundModel: { ...reference.model, fileName: reference.model.file, url: `${url}/${reference.model.file}` },
    onProgress: (p) => void progress.push(p),
    log: silentLogger(),
  });
}

beforeEach(async () => {
  root = mkdtempSync(join(tmpdir(), 'hd-bg-install-'));
  progress = [];
  server = await start(tiny);
  services = build(server.url);
});

afterEach(async () => {
  await server.close();
  rmSync(root, { recursive: true, force: true });
});

const ended = () => progress.some((p) => p.name === 'strip_background' && ['done', 'failed', 'cancelled'].includes(p.phase));

async function raw(file: string): Promise<{ data: Uint8Array; width: number; height: number }> {
  const { data, info } = await sharp(join(fixtures, file)).raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data), width: info.width, height: info.height };
}

describe('strip_background through the Models page and the registry', () => {
  test("the catalog offers rembg's u2net.onnx with its sha256; Install makes it ready; the registry runs it; Delete removes it", async () => {
    const view = await services.handlers['postprocess.catalog']({ refresh: false });
    expect(view.entries.find((e) => e.name === 'strip_background')).toMatchObject({
      family: 'background',
      served: true,
      fileName: 'u2net.onnx',
      unverified: null,
      installed: false,
    });
    expect(services.postProcessors.installed()).not.toContain('strip_background');

    await services.handlers['postprocess.install']({ name: 'strip_background', allowUnverified: false });
    await until(ended);
    expect(progress.at(-1)).toMatchObject({ phase: 'done', message: 'strip_background is installed.' });
    expect(services.postProcessors.list()).toEqual([
      expect.objectContaining({ name: 'strip_background', family: 'background', ready: true, problem: null }),
    ]);
    expect(services.postProcessors.installed()).toEqual(['strip_background']);

    const input = await raw('disk.input.png');
    const expected = await raw('disk.expected.png');
    const out = await services.postProcessors.run(
      'strip_background',
      { width: input.width, height: input.height, seed: 7, rgb: input.data.slice().buffer },
      'job-1',
    );
    expect(out).toMatchObject({ width: 96, height: 72, seed: 7, channels: 4 });
    expect(new Uint8Array(out.rgb)).toEqual(expected.data);

    // An RGBA image (a post-processor before it) is made RGB first, as rembg's convert("RGB") does.
    const rgba = new Uint8Array(input.width * input.height * 4);
    for (let p = 0; p < input.width * input.height; p++) rgba.set([...input.data.subarray(p * 3, p * 3 + 3), p % 251], p * 4);
    const again = await services.postProcessors.run(
      'strip_background',
      { width: 96, height: 72, seed: 7, rgb: rgba.buffer, channels: 4 },
      'job-2',
    );
    expect(new Uint8Array(again.rgb)).toEqual(expected.data);

    await services.handlers['postprocess.delete']({ name: 'strip_background' });
    expect(services.postProcessors.list()).toEqual([]);
  });

  test('a download that is not the pinned file installs nothing and says why', async () => {
    await server.close();
    const damaged = Buffer.from(tiny);
    damaged[100] = (damaged[100] as number) ^ 0xff;
    server = await start(damaged);
    services = build(server.url);
    await services.handlers['postprocess.install']({ name: 'strip_background', allowUnverified: false });
    await until(ended);
    expect(progress.at(-1)).toMatchObject({ phase: 'failed', message: expect.stringMatching(/is damaged: sha256/) });
    expect(services.postProcessors.list()).toEqual([]);
    await expect(
      services.postProcessors.run('strip_background', { width: 2, height: 2, seed: 1, rgb: new ArrayBuffer(12) }, 'j'),
    ).rejects.toThrow('The post-processor strip_background is not installed.');
  });
});
