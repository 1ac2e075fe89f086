import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { DiskSpaceError } from '../../src-main/node/models/diskSpace';
import {
  ChecksumError,
  DownloadError,
  downloadFile,
  partialPathOf,
  type DownloadProgress,
} from '../../src-main/node/models/modelDownloads';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';

const body = randomBytes(300 * 1024);
const sha = createHash('sha256').update(body).digest('hex');
const noWait = (): number => 0;

let dir: string;
let server: ModelFileServer | undefined;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hordedesk-models-'));
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

async function serve(opts?: Parameters<typeof startModelFileServer>[1]): Promise<string> {
  server = await startModelFileServer({ '/model.ckpt': body, '/stable_diffusion.json': Buffer.from('{}') }, opts);
  return `${server.url}/model.ckpt`;
}

describe('downloadFile', () => {
  test('downloads, reports progress, verifies and renames into place', async () => {
    const url = await serve();
    const dest = join(dir, 'sub', 'model.ckpt');
    const progress: DownloadProgress[] = [];
    const result = await downloadFile({ url, dest, sha256: sha, expectedBytes: body.length, onProgress: (p) => progress.push(p) });
    expect(result).toEqual({ path: dest, bytes: body.length, sha256: sha, resumed: false });
    expect((await readFile(dest)).equals(body)).toBe(true);
    expect(existsSync(partialPathOf(dest))).toBe(false);
    expect(progress.length).toBeGreaterThan(1);
    const last = progress.at(-1);
    expect(last).toMatchObject({ bytes: body.length, total: body.length, etaSeconds: 0 });
    expect(progress.every((p, i) => i === 0 || p.bytes > (progress[i - 1]?.bytes ?? 0))).toBe(true);
    expect(server?.requests).toEqual([{ path: '/model.ckpt', range: null, status: 200 }]);
  });

  test('resumes after a cut connection with a Range request', async () => {
    const url = await serve({ cutAfterBytes: 100_000 });
    const dest = join(dir, 'model.ckpt');
    const result = await downloadFile({ url, dest, sha256: sha, backoffMs: noWait });
    expect(result.sha256).toBe(sha);
    expect(
      createHash('sha256')
        .update(await readFile(dest))
        .digest('hex'),
    ).toBe(sha);
    const [first, second] = server?.requests ?? [];
    expect(first).toMatchObject({ range: null, status: 200 });
    expect(second?.status).toBe(206);
    expect(second?.range).toMatch(/^bytes=\d+-$/);
    expect(Number(/=(\d+)-/.exec(second?.range ?? '')?.[1])).toBeGreaterThan(0);
  });

  test('retries 5xx answers with backoff, then succeeds', async () => {
    const url = await serve({ failFirst: 2 });
    const delays: number[] = [];
    await downloadFile({ url, dest: join(dir, 'm'), sha256: sha, backoffMs: (n) => (delays.push(n), 0) });
    expect(delays).toEqual([1, 2]);
    expect(server?.requests.map((r) => r.status)).toEqual([503, 503, 200]);
  });

  test('gives up after the retry budget with the partial kept', async () => {
    const url = await serve({ failFirst: 5 });
    await expect(downloadFile({ url, dest: join(dir, 'm'), sha256: sha, retries: 2, backoffMs: noWait })).rejects.toThrow(/answered 503/);
    expect(server?.requests).toHaveLength(3);
  });

  test('a wrong sha256 deletes the partial and leaves nothing in place', async () => {
    const url = await serve();
    const dest = join(dir, 'model.ckpt');
    const error = await downloadFile({ url, dest, sha256: 'b'.repeat(64) }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ChecksumError);
    expect(String(error)).toMatch(/^ChecksumError: The file from .* is damaged: sha256 [0-9a-f]{64}, expected b{64}\. It was deleted\.$/);
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('non-2xx answers fail clearly without retrying', async () => {
    await serve();
    const error = await downloadFile({ url: `${server?.url}/missing.ckpt`, dest: join(dir, 'x'), sha256: sha }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DownloadError);
    expect((error as Error).message).toMatch(/HTTP 404/);
    expect(server?.requests).toHaveLength(1);
  });

  test('a truncated download fails with the partial kept, and a later call resumes it', async () => {
    const url = await serve({ cutAfterBytes: 50_000 });
    const dest = join(dir, 'model.ckpt');
    await expect(downloadFile({ url, dest, sha256: sha, retries: 0 })).rejects.toBeInstanceOf(DownloadError);
    const kept = (await stat(partialPathOf(dest))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(body.length);
    expect(existsSync(dest)).toBe(false);
    const result = await downloadFile({ url, dest, sha256: sha, retries: 0 });
    expect(result).toMatchObject({ resumed: true, bytes: body.length });
    expect(server?.requests[1]).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  test('a server that ignores Range restarts from zero', async () => {
    const url = await serve({ ignoreRange: true });
    const dest = join(dir, 'model.ckpt');
    await writeFile(partialPathOf(dest), body.subarray(0, 1000));
    const result = await downloadFile({ url, dest, sha256: sha });
    expect(result.bytes).toBe(body.length);
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  test('a complete partial is verified without downloading again (416)', async () => {
    const url = await serve();
    const dest = join(dir, 'model.ckpt');
    await writeFile(partialPathOf(dest), body);
    expect((await downloadFile({ url, dest, sha256: sha })).resumed).toBe(true);
    expect(server?.requests.map((r) => r.status)).toEqual([416]);
  });

  test('a full disk fails before any byte', async () => {
    const url = await serve();
    const statfs = async (): Promise<{ bavail: number; bsize: number }> => ({ bavail: 1000, bsize: 1_000_000 }); // 1 GB
    const error = await downloadFile({ url, dest: join(dir, 'new', 'm'), sha256: sha, expectedBytes: 2_500_000_000, statfs }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DiskSpaceError);
    expect((error as Error).message).toBe('Not enough disk space: needs 2.5 GB, 1.0 GB free.');
    expect(server?.requests).toEqual([]);
    expect(existsSync(join(dir, 'new'))).toBe(false);
  });

  test('cancel keeps the partial; a second call resumes to the right file', async () => {
    const url = await serve();
    const dest = join(dir, 'model.ckpt');
    const controller = new AbortController();
    const pause = downloadFile({ url, dest, sha256: sha, signal: controller.signal, onProgress: () => controller.abort() });
    await expect(pause).rejects.toMatchObject({ name: 'AbortError' });
    const kept = (await stat(partialPathOf(dest))).size;
    expect(kept).toBeGreaterThan(0);
    expect(kept).toBeLessThan(body.length);
    const result = await downloadFile({ url, dest, sha256: sha });
    expect(result).toMatchObject({ resumed: true, sha256: sha });
    expect(server?.requests.at(-1)).toMatchObject({ range: `bytes=${kept}-`, status: 206 });
  });

  test('an already aborted signal does nothing', async () => {
    const url = await serve();
    await expect(downloadFile({ url, dest: join(dir, 'm'), sha256: sha, signal: AbortSignal.abort() })).rejects.toMatchObject({
      name: 'AbortError',
    });
    expect(server?.requests).toEqual([]);
  });
});
