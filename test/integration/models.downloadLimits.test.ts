import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import type { ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import {
  DownloadError,
  downloadFile,
  downloadLimitFor,
  MAX_DOWNLOAD_BYTES,
  partialPathOf,
  UnverifiedDownloadError,
} from '../../src-main/node/models/modelDownloads';
import { startRecordingServer, type RecordingServer } from '../helpers/recordingServer';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';

// What HordeDesk cannot check it does not fetch unasked, and no download is read past its limit,
// whatever the server says about its length (or leaves out).

const MiB = 1024 * 1024;
const body = randomBytes(300 * 1024);
const sha = createHash('sha256').update(body).digest('hex');

let dir: string;
let files: ModelFileServer | undefined;
let raw: RecordingServer | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hordedesk-limits-'));
});
afterEach(async () => {
  await files?.close();
  await raw?.close();
  files = undefined;
  raw = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function serveFile(): Promise<string> {
  files = await startModelFileServer({ '/model.safetensors': body });
  return `${files.url}/model.safetensors`;
}

/** Sends `bytes` random bytes with no Content-Length (chunked), like a misbehaving mirror. */
async function serveUnsized(bytes: Buffer): Promise<string> {
  raw = await startRecordingServer((_req, res: ServerResponse) => {
    res.writeHead(200, { 'Content-Type': 'application/octet-stream' });
    let at = 0;
    const pump = (): void => {
      while (at < bytes.length) {
        const piece = bytes.subarray(at, at + 64 * 1024);
        at += piece.length;
        if (!res.write(piece)) return void res.once('drain', pump);
      }
      res.end();
    };
    pump();
  });
  return `${raw.url}/model.safetensors`;
}

describe('a file that cannot be verified', () => {
  test('is not fetched without the user agreeing', async () => {
    const url = await serveFile();
    const dest = join(dir, 'model.safetensors');
    const error = await downloadFile({ url, dest, sha256: null }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnverifiedDownloadError);
    expect(String(error)).toBe(
      `UnverifiedDownloadError: ${url} cannot be verified: there is no sha256 to check it against, so it was not downloaded.`,
    );
    expect(files?.requests).toEqual([]);
    expect(existsSync(dest)).toBe(false);
  });

  test('a digest that is not a sha256 is refused the same way', async () => {
    const url = await serveFile();
    await expect(downloadFile({ url, dest: join(dir, 'm'), sha256: 'not-a-digest' })).rejects.toBeInstanceOf(UnverifiedDownloadError);
    // A real digest with anything before or after it is no digest either.
    for (const bad of [`x${sha}`, `${sha}x`]) {
      await expect(downloadFile({ url, dest: join(dir, 'm'), sha256: bad })).rejects.toBeInstanceOf(UnverifiedDownloadError);
    }
    const long = `${'not a digest '.repeat(10)}`;
    const error = await downloadFile({ url, dest: join(dir, 'm'), sha256: long }).catch((e: unknown) => e);
    expect(String(error)).toBe(
      `UnverifiedDownloadError: ${url} cannot be verified: "${long.slice(0, 80)}" is not a sha256 digest, so it was not downloaded.`,
    );
    expect(files?.requests).toEqual([]);
  });

  test('is fetched when the user agreed to install it anyway', async () => {
    const url = await serveFile();
    const dest = join(dir, 'model.safetensors');
    const result = await downloadFile({ url, dest, sha256: null, allowUnverified: true });
    expect(result.sha256).toBe(sha);
    expect((await readFile(dest)).equals(body)).toBe(true);
  });
});

describe('every download has a size limit', () => {
  test('a body without Content-Length is cut at the limit; nothing is kept', async () => {
    const big = randomBytes(3 * MiB);
    const url = await serveUnsized(big);
    const dest = join(dir, 'model.safetensors');
    const error = await downloadFile({
      url,
      dest,
      sha256: createHash('sha256').update(big).digest('hex'),
      maxBytes: MiB,
      retries: 0,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as DownloadError).retryable).toBe(false);
    expect((error as Error).message).toBe(`The file at ${url} is larger than the 1 MiB HordeDesk accepts for it, so it was not kept.`);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('the limit follows the reference size: a file much larger than announced is refused', async () => {
    const big = randomBytes(3 * MiB);
    const url = await serveUnsized(big);
    const error = await downloadFile({
      url,
      dest: join(dir, 'm'),
      sha256: createHash('sha256').update(big).digest('hex'),
      expectedBytes: MiB,
      retries: 0,
    }).catch((e: unknown) => e);
    expect((error as Error).message).toBe(
      `The file at ${url} is larger than the 2.25 MiB HordeDesk accepts for it (the model reference says 1 MiB), so it was not kept.`,
    );
  });

  test('a Content-Length over the limit is refused before the body is written', async () => {
    const url = await serveFile();
    const dest = join(dir, 'model.safetensors');
    const error = await downloadFile({ url, dest, sha256: sha, maxBytes: 100 * 1024 }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/is larger than the 0\.1 MiB HordeDesk accepts for it/);
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('limits: a quarter over the reference size plus 1 MiB, else 16 GiB', () => {
    expect(downloadLimitFor(undefined)).toBe(MAX_DOWNLOAD_BYTES);
    expect(MAX_DOWNLOAD_BYTES).toBe(16 * 1024 ** 3);
    expect(downloadLimitFor(4 * 1024 ** 3)).toBe(5 * 1024 ** 3 + MiB);
  });
});
