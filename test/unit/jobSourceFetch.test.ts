import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';
import { TXT2IMG_FIELDS, type GenerationParams } from '../../src-main/common/inference';
import { fetchSources, SOURCE_ATTEMPTS, type SourceFetchPort } from '../../src-main/core/worker/jobSources';
import { createSourceFetch } from '../../src-main/node/worker/sourceFetch';
import { startRecordingServer, type RecordingServer } from '../helpers/recordingServer';
import { virtualClock } from '../helpers/virtualClock';

// Sources the horde hands as presigned R2 GET URLs (bridges with `r2_source`, HORDE-PROTOCOL §2.3):
// each URL gets up to 5 attempts, and when they all fail the job runs on without it and the
// requester is told `{type, value: download_failed, ref}`, as reGen's `_get_source_images` does.
// One attempt is cut at a size limit and a time limit and must be a WebP, PNG or JPEG file.

const WEBP = await sharp({ create: { width: 8, height: 8, channels: 4, background: { r: 10, g: 200, b: 30, alpha: 0.5 } } })
  .webp({ quality: 50 })
  .toBuffer();

const params = (extra: Partial<GenerationParams> = {}): GenerationParams => ({
  prompt: 'a fox',
  sampler_name: 'k_euler',
  karras: true,
  steps: 10,
  cfg_scale: 7,
  width: 64,
  height: 64,
  seed: 1,
  clip_skip: 1,
  n: 1,
  ...TXT2IMG_FIELDS,
  source_processing: 'inpainting',
  denoising_strength: 0.6,
  ...extra,
});

/** A port that answers each URL from a script: an Error fails that attempt, a string succeeds. */
function scriptedPort(script: Record<string, (string | Error)[]>): SourceFetchPort & { calls: { url: string; timeoutMs: number }[] } {
  const calls: { url: string; timeoutMs: number }[] = [];
  return {
    calls,
    async fetchImage(url, timeoutMs) {
      calls.push({ url, timeoutMs });
      const next = script[url]?.shift() ?? new Error('connection refused');
      if (next instanceof Error) throw next;
      return next;
    },
  };
}

describe('fetchSources: retries, and the job runs on without what could not be downloaded', () => {
  const urls = { source_image: 'https://r2.example/image.webp', source_mask: 'https://r2.example/mask.webp' };

  test('both arrive: they go into the params, nothing to tell', async () => {
    const port = scriptedPort({ [urls.source_image]: ['SU1BR0U='], [urls.source_mask]: ['TUFTSw=='] });
    const clock = virtualClock();
    const fetched = await fetchSources({ params: params(), sourceUrls: urls }, port, clock, clock.now() + 50_000);
    expect(fetched.params).toMatchObject({ source_processing: 'inpainting', source_image: 'SU1BR0U=', source_mask: 'TUFTSw==' });
    expect(fetched.notes).toEqual([]);
  });

  test('two failed attempts, then the image: retried as reGen does, each attempt at most 20 s', async () => {
    const port = scriptedPort({ [urls.source_image]: [new Error('HTTP 503'), new Error('reset'), 'SU1BR0U='] });
    const clock = virtualClock();
    const fetched = await fetchSources(
      { params: params(), sourceUrls: { source_image: urls.source_image } },
      port,
      clock,
      clock.now() + 50_000,
    );
    expect(fetched.params.source_image).toBe('SU1BR0U=');
    expect(port.calls.map((c) => c.timeoutMs)).toEqual([20_000, 20_000, 20_000]);
  });

  test(`an image that fails ${SOURCE_ATTEMPTS} times: txt2img, and {source_image, download_failed, ref source_image}`, async () => {
    const port = scriptedPort({ [urls.source_mask]: ['TUFTSw=='] });
    const clock = virtualClock();
    const fetched = await fetchSources({ params: params(), sourceUrls: urls }, port, clock, clock.now() + 50_000);
    expect(port.calls.filter((c) => c.url === urls.source_image)).toHaveLength(SOURCE_ATTEMPTS);
    expect(fetched.notes).toEqual([{ type: 'source_image', value: 'download_failed', ref: 'source_image' }]);
    expect(fetched.params.source_processing).toBe('txt2img');
    expect(fetched.params.source_image).toBeUndefined();
    expect(fetched.params.source_mask).toBeUndefined();
    expect(fetched.failures).toEqual(['the source image could not be downloaded (connection refused)']);
  });

  test('a mask that fails: the image is still painted (its alpha, if any, masks), with {source_mask, download_failed}', async () => {
    const port = scriptedPort({ [urls.source_image]: ['SU1BR0U='] });
    const clock = virtualClock();
    const fetched = await fetchSources({ params: params(), sourceUrls: urls }, port, clock, clock.now() + 50_000);
    expect(fetched.params).toMatchObject({ source_processing: 'inpainting', source_image: 'SU1BR0U=' });
    expect(fetched.params.source_mask).toBeUndefined();
    expect(fetched.notes).toEqual([{ type: 'source_mask', value: 'download_failed', ref: 'source_mask' }]);
  });

  test('attempts stop at the deadline, the last one cut to the time left', async () => {
    const clock = virtualClock();
    const port: SourceFetchPort & { timeouts: number[] } = {
      timeouts: [],
      async fetchImage(_url, timeoutMs) {
        port.timeouts.push(timeoutMs);
        clock.advance(timeoutMs);
        throw new Error('timed out');
      },
    };
    const fetched = await fetchSources(
      { params: params(), sourceUrls: { source_image: urls.source_image } },
      port,
      clock,
      clock.now() + 50_000,
    );
    expect(port.timeouts).toEqual([20_000, 20_000, 10_000]);
    expect(fetched.notes).toEqual([{ type: 'source_image', value: 'download_failed', ref: 'source_image' }]);
  });

  test('without a downloader the URL counts as not downloaded', async () => {
    const clock = virtualClock();
    const fetched = await fetchSources(
      { params: params(), sourceUrls: { source_image: urls.source_image } },
      undefined,
      clock,
      clock.now() + 1,
    );
    expect(fetched.params.source_processing).toBe('txt2img');
    expect(fetched.notes).toHaveLength(1);
  });
});

describe('createSourceFetch: one download, with limits', () => {
  let server: RecordingServer | undefined;
  afterEach(async () => {
    await server?.close();
    server = undefined;
  });

  async function serve(answer: (path: string) => { status?: number; body?: Buffer; stall?: boolean }) {
    server = await startRecordingServer((req, res) => {
      const a = answer(req.url ?? '/');
      if (a.stall) {
        res.writeHead(200, { 'Content-Length': '100000' });
        res.write(WEBP.subarray(0, 12));
        return;
      }
      res.writeHead(a.status ?? 200).end(a.body ?? Buffer.alloc(0));
    });
    return server.url;
  }

  test('a WebP comes back as the base64 of its bytes', async () => {
    const url = await serve(() => ({ body: WEBP }));
    expect(await createSourceFetch().fetchImage(`${url}/source/a.webp?sig=1`, 5_000)).toBe(WEBP.toString('base64'));
  });

  test.each<[string, () => { status?: number; body?: Buffer }, RegExp]>([
    ['an HTTP error', () => ({ status: 404, body: Buffer.from('NoSuchKey') }), /answered HTTP 404/],
    [
      'bytes that are not an image',
      () => ({ body: Buffer.from('<html>not an image, just a page</html>') }),
      /not a WebP, PNG or JPEG image/,
    ],
    ['more than the size limit', () => ({ body: Buffer.concat([WEBP, Buffer.alloc(4096)]) }), /larger than/],
  ])('%s fails the attempt with the reason', async (_name, answer, reason) => {
    const url = await serve(answer);
    await expect(createSourceFetch({ maxBytes: 1024 }).fetchImage(`${url}/x.webp`, 5_000)).rejects.toThrow(reason);
  });

  test('a download that stalls is cut at its time limit', async () => {
    const url = await serve(() => ({ stall: true }));
    await expect(createSourceFetch().fetchImage(`${url}/x.webp`, 300)).rejects.toThrow(/did not arrive within/);
  });

  test('nothing listening: unreachable', async () => {
    const url = await serve(() => ({ body: WEBP }));
    await server?.close();
    server = undefined;
    await expect(createSourceFetch().fetchImage(`${url}/x.webp`, 2_000)).rejects.toThrow(/unreachable/);
  });
});
