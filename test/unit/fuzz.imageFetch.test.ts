import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { fetchImage, ImageFetchError, sniffImageMime } from '../../src-main/node/rating/imageFetch';

// Images to rate come from hosts the ratings service names. Property: whatever bytes arrive,
// the format check names PNG, JPEG or WebP only for bytes that start like one, and a download
// ends with the image (within the size limit) or an ImageFetchError, nothing else.

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const JPEG = [0xff, 0xd8, 0xff];
const RIFF = [0x52, 0x49, 0x46, 0x46];
const WEBP = [0x57, 0x45, 0x42, 0x50];

const startsWith = (bytes: Uint8Array, offset: number, magic: number[]): boolean => magic.every((b, i) => bytes[offset + i] === b);

/** Random bytes, and bytes that start with a real signature (whole, cut short, or off by one). */
const imageLikeBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 64 }),
  fc
    .tuple(
      fc.constantFrom(PNG, JPEG, [...RIFF, 1, 2, 3, 4, ...WEBP]),
      fc.uint8Array({ maxLength: 40 }),
      fc.nat({ max: 16 }),
      fc.option(fc.nat({ max: 15 })),
    )
    .map(([magic, rest, cut, flip]) => {
      const bytes = Uint8Array.from([...magic, ...rest]).slice(0, Math.max(0, magic.length + rest.length - cut));
      if (flip !== null && flip < bytes.length) bytes[flip] = (bytes[flip] ?? 0) ^ 0x01;
      return bytes;
    }),
);

describe('fuzz: image format check', () => {
  test('a format is named only for bytes that carry its signature', () => {
    fc.assert(
      fc.property(imageLikeBytes, (bytes) => {
        const mime = sniffImageMime(bytes);
        const expected = startsWith(bytes, 0, PNG)
          ? 'image/png'
          : startsWith(bytes, 0, JPEG)
            ? 'image/jpeg'
            : startsWith(bytes, 0, RIFF) && startsWith(bytes, 8, WEBP)
              ? 'image/webp'
              : undefined;
        expect(mime).toBe(expected);
      }),
      { numRuns: 2000, seed: 5001 },
    );
  });
});

interface Served {
  status: number;
  body: Uint8Array;
  /** The Content-Length sent: the truth, a lie, or none (chunked). */
  length: 'true' | 'small' | 'large' | 'none';
  /** Bytes per write, so the body arrives in pieces. */
  chunk: number;
}

describe('fuzz: image downloads', () => {
  let server: Server;
  let base = '';
  const plans = new Map<string, Served>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const plan = plans.get(req.url ?? '');
      if (!plan) {
        res.writeHead(500).end();
        return;
      }
      const headers: Record<string, string> = { 'Content-Type': 'application/octet-stream' };
      if (plan.length === 'true') headers['Content-Length'] = String(plan.body.length);
      if (plan.length === 'large') headers['Content-Length'] = String(plan.body.length + 10_000_000);
      if (plan.length === 'small') headers['Content-Length'] = String(Math.max(0, plan.body.length - 1));
      res.writeHead(plan.status, headers);
      // A lying Content-Length makes Node refuse the write or the client see a short body; both are fine.
      res.on('error', () => undefined);
      try {
        for (let i = 0; i < plan.body.length; i += plan.chunk) res.write(plan.body.subarray(i, i + plan.chunk));
      } catch {
        // Node may refuse to write more than the declared length.
      }
      if (plan.length === 'small' || plan.length === 'large') res.destroy();
      else res.end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  test('any answer: the image within the limit, or an ImageFetchError', async () => {
    const MAX = 256;
    let n = 0;
    const served = fc.record({
      status: fc.constantFrom(200, 200, 200, 204, 404, 500),
      body: fc.oneof(
        imageLikeBytes,
        fc.uint8Array({ minLength: MAX - 8, maxLength: MAX + 64 }),
        fc.uint8Array({ maxLength: 40 }).map((rest) => Uint8Array.from([...PNG, ...rest, ...new Uint8Array(MAX)])),
      ),
      length: fc.constantFrom<Served['length']>('true', 'none', 'small', 'large'),
      chunk: fc.integer({ min: 1, max: 64 }),
    });
    await fc.assert(
      fc.asyncProperty(served, async (plan) => {
        const path = `/img/${(n += 1)}`;
        plans.set(path, plan);
        try {
          const image = await fetchImage(`${base}${path}`, { maxBytes: MAX, timeoutMs: 10_000 });
          expect(plan.status).toBe(200);
          expect(image.bytes.length).toBeLessThanOrEqual(MAX);
          expect(image.mime).toBe(sniffImageMime(image.bytes));
          expect(Buffer.from(plan.body).subarray(0, image.bytes.length).equals(Buffer.from(image.bytes))).toBe(true);
        } catch (error) {
          expect(error).toBeInstanceOf(ImageFetchError);
          expect((error as Error).message).toMatch(/\S/);
        } finally {
          plans.delete(path);
        }
      }),
      { numRuns: 150, seed: 5002 },
    );
  });

  test('an address that is not a web address is refused before anything is sent', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.constantFrom(
            'file:///etc/passwd',
            'data:image/png;base64,iVBORw0KGgo=',
            'javascript:alert(1)',
            'ftp://x/y.png',
            'http://',
            '//cdn/x.png',
          ),
        ),
        async (url) => {
          const error = await fetchImage(url, { timeoutMs: 2_000 }).catch((e: unknown) => e);
          expect(error).toBeInstanceOf(ImageFetchError);
        },
      ),
      { numRuns: 100, seed: 5003 },
    );
  });
});
