import sharp from 'sharp';
import { DEFAULT_HUGE_IMAGE_BYTES, takeRatingsFault } from './ratingsFaults';
import { json, type Route } from './router';
import type { StandinState } from './state';
// A seeded PRNG (Math.random would make images differ between runs).
import { mulberry32 } from '../inference/graph/weights';

// The images behind the URLs `GET /rating/new` hands out. The real service points at its own
// storage; the stand-in serves real, decodable WebP bytes from itself so a client exercises its
// whole download path (size limit, magic bytes, decoding) without the internet.

/** Width and height of every generated image. */
export const RATINGS_IMAGE_SIZE = 256;

// Generated images are deterministic per id, so one cache serves every stand-in in a process.
// It is bounded because a long demo may hand out thousands of ids.
const CACHE_LIMIT = 512;
const cache = new Map<string, Promise<Buffer>>();
const cachedSizes = new Map<string, number>();

/** Bytes of generated images held in the cache (the soak bench sets the stand-in's memory apart). */
export function ratingsImageCacheBytes(): number {
  let total = 0;
  for (const size of cachedSizes.values()) total += size;
  return total;
}

/** The WebP bytes of one image id: a gradient between two colours of the id, with seeded noise. */
export function ratingsImageBytes(id: string): Promise<Buffer> {
  const hit = cache.get(id);
  if (hit) return hit;
  const made = renderImage(id);
  cache.set(id, made);
  if (cache.size > CACHE_LIMIT) {
    const oldest = cache.keys().next().value;
    if (oldest !== undefined) {
      cache.delete(oldest);
      cachedSizes.delete(oldest);
    }
  }
  made.then(
    (bytes) => void (cache.get(id) === made && cachedSizes.set(id, bytes.length)),
    () => undefined,
  );
  // A failed render must not stay cached as a rejected promise.
  made.catch(() => cache.delete(id));
  return made;
}

async function renderImage(id: string): Promise<Buffer> {
  const size = RATINGS_IMAGE_SIZE;
  const random = mulberry32(seedOf(id));
  const from = [random() * 255, random() * 255, random() * 255];
  const to = [random() * 255, random() * 255, random() * 255];
  const angle = random() * Math.PI * 2;
  const [dx, dy] = [Math.cos(angle), Math.sin(angle)];
  const pixels = Buffer.alloc(size * size * 3);
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      // Position along the gradient direction, 0..1.
      const t = Math.min(1, Math.max(0, 0.5 + ((x / size - 0.5) * dx + (y / size - 0.5) * dy)));
      const noise = (random() - 0.5) * 40;
      const offset = (y * size + x) * 3;
      for (let c = 0; c < 3; c++) {
        const value = (from[c] ?? 0) * (1 - t) + (to[c] ?? 0) * t + noise;
        pixels[offset + c] = Math.min(255, Math.max(0, Math.round(value)));
      }
    }
  }
  return sharp(pixels, { raw: { width: size, height: size, channels: 3 } })
    .webp({ quality: 80 })
    .toBuffer();
}

function seedOf(id: string): number {
  let hash = 2166136261;
  for (let i = 0; i < id.length; i++) hash = Math.imul(hash ^ id.charCodeAt(i), 16777619) >>> 0;
  return hash;
}

/** What `ratingsBadImage` serves: a web page, labelled as a WebP to prove the label is not trusted. */
const NOT_AN_IMAGE = '<!doctype html><html><head><title>Bucket error</title></head><body><h1>AccessDenied</h1></body></html>';

/** A RIFF/WEBP header followed by zeros: passes a magic-byte check, fails only on size. */
function hugeImage(bytes: number): Buffer {
  const buffer = Buffer.alloc(Math.max(bytes, 16));
  buffer.write('RIFF', 0, 'latin1');
  buffer.writeUInt32LE(buffer.length - 8, 4);
  buffer.write('WEBPVP8 ', 8, 'latin1');
  return buffer;
}

/** `GET /ratings-images/<id>.webp`: 404 for ids the stand-in never handed out. */
const imageRoute: Route<StandinState> = {
  method: 'GET',
  pattern: ':file',
  async handle(req, state) {
    const id = (req.params.file ?? '').replace(/\.webp$/, '');
    if (!state.ratings.images.has(id)) return json(404, { message: 'No such image' });
    state.ratings.counters.imagesServed += 1;
    const headers = { 'Content-Type': 'image/webp' };
    if (takeRatingsFault(state.faults, 'ratingsBadImage')) return { status: 200, body: null, raw: NOT_AN_IMAGE, headers };
    const huge = takeRatingsFault(state.faults, 'ratingsHugeImage');
    if (huge) return { status: 200, body: null, raw: hugeImage(huge.bytes ?? DEFAULT_HUGE_IMAGE_BYTES), headers };
    return { status: 200, body: null, raw: await ratingsImageBytes(id), headers };
  },
};

/** Routes mounted at `/ratings-images` (RATINGS_IMAGE_PREFIX). */
export const ratingsImageRoutes: readonly Route<StandinState>[] = [imageRoute];
