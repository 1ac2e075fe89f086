import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { fetchImage, ImageFetchError, sniffImageMime } from '../../src-main/node/rating/imageFetch';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall } from '../helpers/standinKit';

// fetchImage against the ratings stand-in (real images, HTML, 26 MB images, a dead service) and
// against small purpose-built servers for what the stand-in cannot do: streaming without a
// Content-Length, and stalling after the headers.

let standin: StandinHandle;
const servers: Server[] = [];
beforeEach(async () => {
  standin = await startStandin();
});
afterEach(async () => {
  await standin.close();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function imageUrl(): Promise<string> {
  const { body } = await hordeCall(standin, '/api/v1/rating/new');
  return (body as unknown as { url: string }).url;
}

/** Serves every request with `answer`; resolves to its base URL. */
async function serve(answer: (res: ServerResponse) => void): Promise<string> {
  const server = createServer((_req, res) => answer(res));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/image`;
}

async function failure(promise: Promise<unknown>): Promise<ImageFetchError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(ImageFetchError);
    return error as ImageFetchError;
  }
  throw new Error('expected the download to fail');
}

describe('fetchImage', () => {
  test('downloads a stand-in image that sharp decodes', async () => {
    const image = await fetchImage(await imageUrl());
    expect(image.mime).toBe('image/webp');
    expect(image.bytes).toBeInstanceOf(Uint8Array);
    expect(await sharp(image.bytes).metadata()).toMatchObject({ format: 'webp', width: 256, height: 256 });
  });

  test('recognises PNG and JPEG by their bytes, whatever the Content-Type says', async () => {
    const raw = sharp({ create: { width: 8, height: 8, channels: 3, background: '#3366cc' } });
    const png = await raw.clone().png().toBuffer();
    const jpeg = await raw.clone().jpeg().toBuffer();
    for (const [bytes, mime] of [
      [png, 'image/png'],
      [jpeg, 'image/jpeg'],
    ] as const) {
      const url = await serve((res) => res.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(bytes));
      expect(await fetchImage(url)).toEqual({ bytes: new Uint8Array(bytes), mime });
    }
  });

  test('HTML labelled image/webp is "not an image"', async () => {
    const url = await imageUrl();
    standin.setFaults({ ratingsBadImage: { count: 1 } });
    const error = await failure(fetchImage(url));
    expect(error).toMatchObject({
      reason: 'notImage',
      code: 'image.notImage',
      message: 'The ratings service sent something that is not an image.',
    });
  });

  test('a 26 MB image is refused from its Content-Length', async () => {
    const url = await imageUrl();
    standin.setFaults({ ratingsHugeImage: { count: 1 } });
    const error = await failure(fetchImage(url));
    expect(error).toMatchObject({ reason: 'tooLarge', message: expect.stringContaining('larger than 20 MB') });
  });

  test('a body without Content-Length is cut off past maxBytes, long before its end', async () => {
    const total = 64 * 1024 * 1024;
    let written = 0;
    let closed: () => void = () => undefined;
    const gone = new Promise<void>((resolve) => (closed = resolve));
    const url = await serve((res) => {
      res.writeHead(200, { 'Content-Type': 'image/png' });
      const chunk = Buffer.alloc(64 * 1024);
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]).copy(chunk);
      res.on('close', closed);
      const pump = () => {
        while (written < total && !res.destroyed) {
          written += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      pump();
    });
    const error = await failure(fetchImage(url, { maxBytes: 1024 * 1024 }));
    expect(error).toMatchObject({ reason: 'tooLarge', message: expect.stringContaining('larger than 1 MB') });
    await gone;
    expect(written).toBeLessThan(total);
  });

  test('an answer that stalls after its headers times out', async () => {
    const url = await serve((res) => {
      res.writeHead(200, { 'Content-Type': 'image/webp' });
      res.write(Buffer.from('RIFF\0\0\0\0WEBP', 'latin1'));
    });
    const error = await failure(fetchImage(url, { timeoutMs: 200 }));
    expect(error).toMatchObject({ reason: 'timeout', code: 'image.timeout' });
  });

  test('error statuses, a dead service, a closed port and non-web URLs', async () => {
    expect(await failure(fetchImage(`${standin.url}/ratings-images/unknown.webp`))).toMatchObject({ reason: 'status', status: 404 });

    const url = await imageUrl();
    standin.setFaults({ ratingsDown: true });
    const down = await failure(fetchImage(url));
    expect(down).toMatchObject({ reason: 'unreachable', message: expect.stringContaining('unreachable') });

    const closedPort = await serve(() => undefined);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    expect((await failure(fetchImage(closedPort))).reason).toBe('unreachable');

    for (const bad of ['file:///etc/hostname', 'data:image/png;base64,iVBORw0KGgo=', 'not a url'])
      expect((await failure(fetchImage(bad))).reason).toBe('badUrl');
  });

  test('a caller abort is reported as such', async () => {
    const url = await serve((res) => res.writeHead(200).write(Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 0, 0, 0, 0, 0, 0, 0])));
    const controller = new AbortController();
    const pending = fetchImage(url, { signal: controller.signal });
    controller.abort();
    expect((await failure(pending)).reason).toBe('aborted');
  });
});

describe('sniffImageMime', () => {
  test('knows the three signatures and nothing else', () => {
    expect(sniffImageMime(Uint8Array.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe('image/png');
    expect(sniffImageMime(Uint8Array.from([0xff, 0xd8, 0xff, 0xdb]))).toBe('image/jpeg');
    expect(sniffImageMime(new TextEncoder().encode('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
    expect(sniffImageMime(new TextEncoder().encode('RIFF\0\0\0\0WAVEfmt '))).toBeUndefined();
    expect(sniffImageMime(new TextEncoder().encode('<!doctype html>'))).toBeUndefined();
    expect(sniffImageMime(new Uint8Array(0))).toBeUndefined();
  });
});
