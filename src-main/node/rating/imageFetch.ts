import { UserFacingError } from '../../common/result';

// Downloads an image to rate. The URL comes from the ratings service, so the bytes are treated as
// untrusted: the download stops as soon as it passes the size limit (nothing past it is kept in
// memory), and the bytes must start like a PNG, JPEG or WebP whatever `Content-Type` claims.

/** The image formats a rater shows. */
export type ImageMime = 'image/webp' | 'image/png' | 'image/jpeg';

/** A downloaded image. */
export interface FetchedImage {
  bytes: Uint8Array;
  mime: ImageMime;
}

/** Options of {@link fetchImage}. */
export interface FetchImageOptions {
  /** Largest accepted size; default 20 MB. */
  maxBytes?: number;
  /** Limit for the whole download, body included; default 30 s. */
  timeoutMs?: number;
  /** Extra request headers (e.g. `Client-Agent`). */
  headers?: Record<string, string>;
  /** Cancels the download (the caller gave up); rejects with reason 'aborted'. */
  signal?: AbortSignal;
}

/** Why a download failed. */
export type ImageFetchFailure = 'badUrl' | 'unreachable' | 'timeout' | 'aborted' | 'status' | 'tooLarge' | 'notImage';

/** A failed image download, with a sentence for the user. */
export class ImageFetchError extends UserFacingError {
  readonly reason: ImageFetchFailure;
  /** The HTTP status, for reason 'status'. */
  readonly status: number | undefined;
  constructor(reason: ImageFetchFailure, message: string, options?: { status?: number; cause?: unknown }) {
    super(`image.${reason}`, message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ImageFetchError';
    this.reason = reason;
    this.status = options?.status;
  }
}

const DEFAULT_MAX_BYTES = 20 * 1024 * 1024;
const DEFAULT_TIMEOUT_MS = 30_000;
/** Enough bytes to recognise every supported format ("RIFF" size "WEBP" is the longest). */
const SNIFF_BYTES = 12;

/** The format the bytes start with, or undefined when they are none of PNG, JPEG and WebP. */
export function sniffImageMime(bytes: Uint8Array): ImageMime | undefined {
  const starts = (offset: number, expected: readonly number[]) => expected.every((value, i) => bytes[offset + i] === value);
  if (starts(0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return 'image/png';
  if (starts(0, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  if (starts(0, [0x52, 0x49, 0x46, 0x46]) && starts(8, [0x57, 0x45, 0x42, 0x50])) return 'image/webp';
  return undefined;
}

/**
 * Downloads one image with a size limit, a time limit and a format check. Rejects only with
 * {@link ImageFetchError}.
 */
export async function fetchImage(url: string, opts: FetchImageOptions = {}): Promise<FetchedImage> {
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ImageFetchError('badUrl', 'The ratings service gave an image address HordeDesk cannot open.');
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ImageFetchError('badUrl', 'The ratings service gave an image address that is not a web address.');
  }

  // Our own controller stops the transfer on size or format; the others add time and the caller.
  const stop = new AbortController();
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = AbortSignal.any([stop.signal, timeout, ...(opts.signal ? [opts.signal] : [])]);
  const failed = (error: unknown): ImageFetchError => {
    if (error instanceof ImageFetchError) return error;
    if (opts.signal?.aborted) return new ImageFetchError('aborted', 'The image download was cancelled.', { cause: error });
    if (timeout.aborted) {
      return new ImageFetchError(
        'timeout',
        `The image did not arrive within ${Math.round(timeoutMs / 1000)} seconds; the ratings service may be busy.`,
        { cause: error },
      );
    }
    return new ImageFetchError('unreachable', 'The image could not be downloaded: the ratings service or its image host is unreachable.', {
      cause: error,
    });
  };

  try {
    const res = await fetch(parsed, { headers: opts.headers, signal, redirect: 'follow' });
    if (!res.ok) {
      await res.body?.cancel();
      throw new ImageFetchError('status', `The image host answered HTTP ${res.status} instead of the image.`, { status: res.status });
    }
    const declared = Number(res.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > maxBytes) {
      stop.abort();
      throw tooLarge(maxBytes);
    }
    const bytes = await readLimited(res, maxBytes, stop);
    const mime = sniffImageMime(bytes);
    if (!mime) throw notAnImage();
    return { bytes, mime };
  } catch (error) {
    throw failed(error);
  }
}

function tooLarge(maxBytes: number): ImageFetchError {
  return new ImageFetchError(
    'tooLarge',
    `The image is larger than ${Math.round(maxBytes / (1024 * 1024))} MB, so HordeDesk did not download it.`,
  );
}

function notAnImage(): ImageFetchError {
  return new ImageFetchError('notImage', 'The ratings service sent something that is not an image.');
}

/**
 * Reads the body chunk by chunk, aborting as soon as the total passes `maxBytes` (a missing or
 * false Content-Length cannot make it buffer more) or the first bytes are no image format.
 */
async function readLimited(res: Response, maxBytes: number, stop: AbortController): Promise<Uint8Array> {
  if (!res.body) return new Uint8Array(0);
  const reader = res.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  let sniffed = false;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      stop.abort();
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
    if (!sniffed && total >= SNIFF_BYTES) {
      sniffed = true;
      if (!sniffImageMime(concat(chunks, total))) {
        stop.abort();
        await reader.cancel().catch(() => undefined);
        throw notAnImage();
      }
    }
  }
  return concat(chunks, total);
}

function concat(chunks: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
