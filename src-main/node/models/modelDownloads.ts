import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, rename, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import { backoffMs, type BackoffPolicy } from '../../core/backoff';
import { ensureFreeSpace, type StatfsFn } from './diskSpace';

// Resumable, verified model downloads: bytes go to `<dest>.partial`, a later call resumes it
// with an HTTP Range request, and only a file whose sha256 matches is renamed into place.
// A file with no sha256 to check is not fetched unless the caller says the user agreed, and no
// file is read past its size limit, whatever the server's headers claim (or leave out).

/** The most a download may weigh when nothing says how big it should be (the largest SDXL checkpoints are ~14 GiB). */
export const MAX_DOWNLOAD_BYTES = 16 * 1024 ** 3;

/**
 * The size limit for a file the reference says weighs `expectedBytes`: a quarter more plus
 * 1 MiB (a reference rounds, and a few entries list an older file), else {@link MAX_DOWNLOAD_BYTES}.
 */
export function downloadLimitFor(expectedBytes: number | undefined): number {
  return expectedBytes === undefined ? MAX_DOWNLOAD_BYTES : Math.ceil(expectedBytes * 1.25) + 1024 * 1024;
}

/** What {@link DownloadOptions.onProgress} receives. `total` and `etaSeconds` may be unknown. */
export interface DownloadProgress {
  bytes: number;
  total: number | null;
  bytesPerSecond: number;
  etaSeconds: number | null;
}

/** Options of {@link downloadFile}. */
export interface DownloadOptions {
  url: string;
  dest: string;
  /** Expected hex digest; null only with `allowUnverified` (a file with nothing to check it against). */
  sha256: string | null;
  /** The user agreed to install a file that cannot be verified (sha256 null); refused otherwise. */
  allowUnverified?: boolean;
  /** Size from the reference, for the free-space check, progress before headers arrive and the size limit. */
  expectedBytes?: number;
  /** Most bytes the file may have; default {@link downloadLimitFor}(expectedBytes). */
  maxBytes?: number;
  onProgress?: (progress: DownloadProgress) => void;
  /** Aborting keeps the `.partial` file so a later call resumes (pause = cancel + resume). */
  signal?: AbortSignal;
  /** Retries on network errors and 5xx answers (default 4). */
  retries?: number;
  /** Delay before retry `attempt` (1-based); default 500 ms doubling, capped at 15 s. */
  backoffMs?: (attempt: number) => number;
  /** Test seams. */
  statfs?: StatfsFn;
  fetch?: typeof fetch;
  now?: () => number;
}

/** The outcome of a finished download. */
export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** True when bytes from an earlier attempt were reused. */
  resumed: boolean;
}

/** A download failed for a reason worth telling the user; `retryable` says if trying later may help. */
export class DownloadError extends Error {
  override readonly name = 'DownloadError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** The downloaded bytes do not hash to what the reference promised; the partial file is gone. */
export class ChecksumError extends Error {
  override readonly name = 'ChecksumError';
}

/** There is no (valid) sha256 to check the file against and the user did not agree to go without; nothing was fetched. */
export class UnverifiedDownloadError extends Error {
  override readonly name = 'UnverifiedDownloadError';
}

function formatSize(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${+(bytes / 1024 ** 3).toFixed(2)} GiB` : `${+(bytes / 1024 ** 2).toFixed(2)} MiB`;
}

/** The path of the in-progress file for `dest`. */
export const partialPathOf = (dest: string): string => `${dest}.partial`;

/** Waits between download retries: 0.5 s, 1 s, 2 s … 15 s. */
export const DOWNLOAD_RETRY: BackoffPolicy = { baseMs: 500, capMs: 15_000 };
const defaultBackoff = (attempt: number): number => backoffMs(DOWNLOAD_RETRY, attempt - 1);

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 0;
    throw error;
  }
}

async function hashExisting(path: string, hash: Hash): Promise<void> {
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  // The caller has just checked that the signal is not aborted.
  return new Promise((resolve, reject) => {
    const timer = setTimeout(done, ms);
    function done(): void {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }
    function onAbort(): void {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    }
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Parses `bytes start-end/total`; null when malformed. `total` is null for `*`. */
export function parseContentRange(header: string | null): { start: number; total: number | null } | null {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(header?.trim() ?? '');
  if (!m) return null;
  return { start: Number(m[1]), total: m[3] === '*' ? null : Number(m[3]) };
}

/** Asks for the file from `offset` on (a Range request when resuming); a network failure is a retryable DownloadError. */
async function request(opts: DownloadOptions, offset: number): Promise<Response> {
  const headers: Record<string, string> = offset > 0 ? { Range: `bytes=${offset}-` } : {};
  try {
    return await (opts.fetch ?? fetch)(opts.url, { headers, signal: opts.signal, redirect: 'follow' });
  } catch (error) {
    if (opts.signal?.aborted) throw error;
    throw new DownloadError(`Could not reach ${opts.url}: ${(error as Error).message}`, true, { cause: error });
  }
}

/** A 416 to a resume: nothing left to send, so the partial file may already be whole; if not, it is deleted to start over. */
async function partialIfWhole(response: Response, partial: string, offset: number): Promise<{ bytes: number; hash: Hash }> {
  await response.body?.cancel();
  const range = /\/(\d+)$/.exec(response.headers.get('content-range') ?? '');
  if (range && Number(range[1]) === offset) {
    const hash = createHash('sha256');
    await hashExisting(partial, hash);
    return { bytes: offset, hash };
  }
  await unlink(partial);
  throw new DownloadError('The server rejected the resume range; starting over.', true);
}

/**
 * Where the answer's bytes go in the file and the file's whole size (`total` when the answer does
 * not say). Throws a DownloadError for an HTTP failure or a range other than the one asked for.
 */
async function placeOfBody(
  opts: DownloadOptions,
  response: Response,
  partial: string,
  offset: number,
  total: number | null,
): Promise<{ offset: number; total: number | null }> {
  if (response.status >= 500 || response.status === 429) {
    await response.body?.cancel();
    throw new DownloadError(`The server answered ${response.status} for ${opts.url}.`, true);
  }
  if (response.status !== 200 && response.status !== 206) {
    await response.body?.cancel();
    throw new DownloadError(`The download of ${opts.url} failed: HTTP ${response.status}.`, false);
  }
  if (response.status === 206) {
    const range = parseContentRange(response.headers.get('content-range'));
    if (!range || range.start !== offset) {
      await response.body?.cancel();
      await unlink(partial).catch(() => undefined);
      throw new DownloadError('The server answered a different range than asked; starting over.', true);
    }
    return { offset, total: range.total ?? total };
  }
  // A 200 is the whole file: restart from zero.
  const length = Number(response.headers.get('content-length') ?? NaN);
  return { offset: 0, total: Number.isFinite(length) ? length : total };
}

function tooLarge(opts: DownloadOptions, maxBytes: number): DownloadError {
  const reference = opts.expectedBytes === undefined ? '' : ` (the model reference says ${formatSize(opts.expectedBytes)})`;
  return new DownloadError(
    `The file at ${opts.url} is larger than the ${formatSize(maxBytes)} HordeDesk accepts for it${reference}, so it was not kept.`,
    false,
  );
}

/**
 * Writes the answer's body into the partial file from `offset` on (appending when resuming),
 * hashing the whole file and reporting progress. Nothing past `maxBytes` is written: the
 * partial is deleted instead. A dropped connection is a retryable DownloadError.
 */
async function writeBody(
  opts: DownloadOptions,
  response: Response,
  partial: string,
  place: { offset: number; total: number | null },
  maxBytes: number,
  startedAt: number,
): Promise<{ bytes: number; hash: Hash }> {
  const now = opts.now ?? Date.now;
  const { offset, total } = place;
  const hash = createHash('sha256');
  if (offset > 0) await hashExisting(partial, hash);
  const file = await open(partial, offset > 0 ? 'a' : 'w');
  let bytes = offset;
  let received = 0;
  let overLimit = false;
  try {
    const reader = response.body?.getReader();
    for (let next = await reader?.read(); next && !next.done; next = await reader?.read()) {
      const chunk = next.value;
      if (bytes + chunk.byteLength > maxBytes) {
        // Whatever Content-Length said (or did not say), nothing past the limit is written.
        await reader?.cancel().catch(() => undefined);
        throw tooLarge(opts, maxBytes);
      }
      await file.write(chunk);
      hash.update(chunk);
      bytes += chunk.byteLength;
      received += chunk.byteLength;
      const elapsed = Math.max(0.001, (now() - startedAt) / 1000);
      const bytesPerSecond = received / elapsed;
      const etaSeconds = total !== null && bytesPerSecond > 0 ? Math.max(0, total - bytes) / bytesPerSecond : null;
      opts.onProgress?.({ bytes, total, bytesPerSecond, etaSeconds });
      if (opts.signal?.aborted) {
        await reader?.cancel().catch(() => undefined);
        opts.signal.throwIfAborted();
      }
    }
  } catch (error) {
    if (opts.signal?.aborted) throw opts.signal.reason;
    if (error instanceof DownloadError) {
      overLimit = true;
      throw error;
    }
    throw new DownloadError(`The connection dropped after ${bytes} bytes: ${(error as Error).message}`, true, { cause: error });
  } finally {
    await file.close();
    if (overLimit) await unlink(partial).catch(() => undefined);
  }
  if (total !== null && bytes < total) {
    throw new DownloadError(`The server closed the connection after ${bytes} of ${total} bytes.`, true);
  }
  return { bytes, hash };
}

/**
 * One attempt: requests the rest of the partial file and appends it. Returns the byte count
 * on disk and the hash over all of it. Throws DownloadError (retryable or not) on failure.
 */
async function attempt(opts: DownloadOptions, partial: string, maxBytes: number): Promise<{ bytes: number; hash: Hash }> {
  const startedAt = (opts.now ?? Date.now)();
  const resumeAt = await sizeOf(partial);
  const response = await request(opts, resumeAt);
  if (response.status === 416 && resumeAt > 0) return partialIfWhole(response, partial, resumeAt);
  const place = await placeOfBody(opts, response, partial, resumeAt, opts.expectedBytes ?? null);
  if (place.total !== null && place.total > maxBytes) {
    await response.body?.cancel();
    await unlink(partial).catch(() => undefined);
    throw tooLarge(opts, maxBytes);
  }
  return writeBody(opts, response, partial, place, maxBytes, startedAt);
}

/**
 * Downloads `url` to `dest`, resuming an earlier `.partial`, verifying the sha256 and renaming
 * into place. Rejects with {@link UnverifiedDownloadError} before any request when there is no
 * valid sha256 and no consent, with a non-retryable {@link DownloadError} when the file passes
 * its size limit (the partial is deleted), {@link DiskSpaceError} before any byte when the disk is too full,
 * {@link ChecksumError} on a wrong hash (the partial is deleted), {@link DownloadError} on HTTP
 * and network failures (the partial is kept), or the signal's reason when aborted.
 */
export async function downloadFile(opts: DownloadOptions): Promise<DownloadResult> {
  const partial = partialPathOf(opts.dest);
  const dir = dirname(opts.dest);
  opts.signal?.throwIfAborted();
  if (opts.sha256 === null && opts.allowUnverified !== true) {
    throw new UnverifiedDownloadError(`${opts.url} cannot be verified: there is no sha256 to check it against, so it was not downloaded.`);
  }
  if (opts.sha256 !== null && !/^[0-9a-f]{64}$/i.test(opts.sha256)) {
    throw new UnverifiedDownloadError(
      `${opts.url} cannot be verified: "${opts.sha256.slice(0, 80)}" is not a sha256 digest, so it was not downloaded.`,
    );
  }
  const maxBytes = opts.maxBytes ?? downloadLimitFor(opts.expectedBytes);
  const already = await sizeOf(partial);
  if (opts.expectedBytes !== undefined) await ensureFreeSpace(dir, opts.expectedBytes - already, opts.statfs);
  await mkdir(dir, { recursive: true });
  const retries = opts.retries ?? 4;
  for (let tries = 0; ; tries++) {
    try {
      const { bytes, hash } = await attempt(opts, partial, maxBytes);
      const digest = hash.digest('hex');
      if (opts.sha256 !== null && digest !== opts.sha256.toLowerCase()) {
        await unlink(partial).catch(() => undefined);
        throw new ChecksumError(`The file from ${opts.url} is damaged: sha256 ${digest}, expected ${opts.sha256}. It was deleted.`);
      }
      await rename(partial, opts.dest);
      return { path: opts.dest, bytes, sha256: digest, resumed: already > 0 };
    } catch (error) {
      if (!(error instanceof DownloadError) || !error.retryable || tries >= retries || opts.signal?.aborted) throw error;
      await sleep((opts.backoffMs ?? defaultBackoff)(tries + 1), opts.signal);
    }
  }
}
