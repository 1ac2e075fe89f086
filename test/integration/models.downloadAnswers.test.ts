import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi } from 'vitest';
import {
  DownloadError,
  downloadFile,
  parseContentRange,
  partialPathOf,
  type DownloadProgress,
} from '../../src-main/node/models/modelDownloads';
import { startModelFileServer, type ModelFileServer } from '../../src-main/standin/modelsServer';
import { failure } from '../helpers/failure';

// How downloadFile meets each kind of server answer: sizes from headers, ranges that do not fit,
// statuses worth a retry, failed and cut connections, progress figures, the wait between retries.
// Most answers are scripted through the `fetch` option (real Response objects, chunk by chunk),
// so chunk sizes and the clock are exact.

const body = randomBytes(300);
const sha = createHash('sha256').update(body).digest('hex');
const URL_ = 'https://models.example/model.safetensors';
const noWait = (): number => 0;

let dir: string;
let dest: string;
let server: ModelFileServer | undefined;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'hordedesk-answers-'));
  dest = join(dir, 'model.safetensors');
});
afterEach(async () => {
  vi.useRealTimers();
  await server?.close();
  server = undefined;
  await rm(dir, { recursive: true, force: true });
});

/** A body handed out chunk by chunk; ends with `end` ('close', or an error to fail the read with). */
function stream(chunks: Uint8Array[], end: 'close' | Error = 'close'): ReadableStream<Uint8Array> {
  const left = [...chunks];
  return new ReadableStream({
    pull(controller) {
      const next = left.shift();
      if (next !== undefined) controller.enqueue(next);
      else if (end === 'close') controller.close();
      else controller.error(end);
    },
  });
}

/** `body` cut into pieces of these sizes. */
function pieces(from: Buffer, ...sizes: number[]): Uint8Array[] {
  let at = 0;
  return sizes.map((n) => from.subarray(at, (at += n)));
}

type Answer = Response | Error | ((signal: AbortSignal | undefined) => Promise<Response>);

/** A fetch answering from a script, one entry per request; records each request's Range header. */
function scripted(...answers: Answer[]): typeof fetch & { ranges: (string | null)[] } {
  const ranges: (string | null)[] = [];
  const fake = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    ranges.push((init?.headers as Record<string, string> | undefined)?.Range ?? null);
    const answer = answers.shift();
    if (answer === undefined) throw new Error('the test did not expect another request');
    if (answer instanceof Error) throw answer;
    if (typeof answer === 'function') return answer(init?.signal ?? undefined);
    return answer;
  };
  return Object.assign(fake as typeof fetch, { ranges });
}

/** A clock that moves one second each time it is read, starting at an arbitrary time. */
function tickingClock(): () => number {
  let t = 1_700_000_000_000;
  return () => (t += 1000) - 1000;
}

/** Lets pending I/O callbacks and promise jobs run (setImmediate is left real under the fake timers below). */
async function settle(rounds = 50): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((r) => setImmediate(r));
}

describe('sizes and progress', () => {
  test('progress gives the speed of this attempt and the time left from Content-Length', async () => {
    const progress: DownloadProgress[] = [];
    const fetch = scripted(
      new Response(stream([new Uint8Array(0), ...pieces(body, 100, 100, 100)]), { headers: { 'Content-Length': '300' } }),
    );
    await downloadFile({ url: URL_, dest, sha256: sha, fetch, now: tickingClock(), onProgress: (p) => progress.push(p) });
    expect(progress).toEqual([
      { bytes: 0, total: 300, bytesPerSecond: 0, etaSeconds: null },
      { bytes: 100, total: 300, bytesPerSecond: 50, etaSeconds: 4 },
      { bytes: 200, total: 300, bytesPerSecond: 200 / 3, etaSeconds: 1.5 },
      { bytes: 300, total: 300, bytesPerSecond: 75, etaSeconds: 0 },
    ]);
  });

  test('without any size, progress says the total and the time left are unknown', async () => {
    const progress: DownloadProgress[] = [];
    const fetch = scripted(new Response(stream(pieces(body, 150, 150))));
    await downloadFile({ url: URL_, dest, sha256: sha, fetch, onProgress: (p) => progress.push(p) });
    expect(progress.map((p) => [p.bytes, p.total, p.etaSeconds])).toEqual([
      [150, null, null],
      [300, null, null],
    ]);
  });

  test('a resume reports the whole file as total and the speed of the new bytes only', async () => {
    await writeFile(partialPathOf(dest), body.subarray(0, 100));
    const progress: DownloadProgress[] = [];
    const fetch = scripted(
      new Response(stream(pieces(body.subarray(100), 100, 100)), { status: 206, headers: { 'Content-Range': 'bytes 100-299/300' } }),
    );
    const result = await downloadFile({ url: URL_, dest, sha256: sha, fetch, now: tickingClock(), onProgress: (p) => progress.push(p) });
    expect(fetch.ranges).toEqual(['bytes=100-']);
    expect(result).toMatchObject({ bytes: 300, resumed: true });
    expect(progress).toEqual([
      { bytes: 200, total: 300, bytesPerSecond: 100, etaSeconds: 1 },
      { bytes: 300, total: 300, bytesPerSecond: 100, etaSeconds: 0 },
    ]);
  });

  test('a file of exactly its size limit is kept, with or without Content-Length', async () => {
    const sized = scripted(new Response(stream(pieces(body, 200, 100)), { headers: { 'Content-Length': '300' } }));
    await expect(downloadFile({ url: URL_, dest, sha256: sha, maxBytes: 300, fetch: sized })).resolves.toMatchObject({ bytes: 300 });
    const unsized = scripted(new Response(stream(pieces(body, 200, 100))));
    await expect(downloadFile({ url: URL_, dest: `${dest}.2`, sha256: sha, maxBytes: 300, fetch: unsized })).resolves.toMatchObject({
      bytes: 300,
    });
  });

  test('one byte over the limit is refused even when it arrives in the last chunk', async () => {
    const longer = Buffer.concat([body, Buffer.from([7])]);
    const fetch = scripted(new Response(stream(pieces(longer, 200, 101))));
    const error = await failure(
      downloadFile({ url: URL_, dest, sha256: createHash('sha256').update(longer).digest('hex'), maxBytes: 300, fetch }),
    );
    expect(error).toMatchObject({
      name: 'DownloadError',
      retryable: false,
      message: `The file at ${URL_} is larger than the 0 MiB HordeDesk accepts for it, so it was not kept.`,
    });
    expect(existsSync(dest)).toBe(false);
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('a Content-Length over the limit is refused without reading the body, sizes in GiB', async () => {
    let reads = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (++reads > 3) controller.error(new Error('the body was read'));
        else controller.enqueue(new Uint8Array(1024));
      },
    });
    const fetch = scripted(new Response(endless, { headers: { 'Content-Length': String(2 * 1024 ** 3) } }));
    const error = await failure(downloadFile({ url: URL_, dest, sha256: sha, maxBytes: 1024 ** 3, fetch }));
    expect(error).toMatchObject({
      name: 'DownloadError',
      retryable: false,
      message: `The file at ${URL_} is larger than the 1 GiB HordeDesk accepts for it, so it was not kept.`,
    });
    expect(reads).toBeLessThanOrEqual(1); // at most what the stream queued on its own
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('a body that ends short of its size keeps the partial for a resume', async () => {
    const sized = scripted(new Response(stream(pieces(body, 100, 100)), { headers: { 'Content-Length': '300' } }));
    const short = await failure(downloadFile({ url: URL_, dest, sha256: sha, retries: 0, fetch: sized }));
    expect(short).toMatchObject({
      name: 'DownloadError',
      retryable: true,
      message: 'The server closed the connection after 200 of 300 bytes.',
    });
    expect((await stat(partialPathOf(dest))).size).toBe(200);
    expect(existsSync(dest)).toBe(false);

    // No Content-Length: the size the model reference gives is the one to reach.
    const unsized = scripted(new Response(stream(pieces(body, 100))));
    const other = join(dir, 'other.safetensors');
    const error = await failure(downloadFile({ url: URL_, dest: other, sha256: sha, expectedBytes: 300, retries: 0, fetch: unsized }));
    expect(error).toMatchObject({ retryable: true, message: 'The server closed the connection after 100 of 300 bytes.' });
    expect((await stat(partialPathOf(other))).size).toBe(100);
  });

  test('a resumed download needs free space only for what is left', async () => {
    const big = randomBytes(1_200_000);
    server = await startModelFileServer({ '/big.ckpt': big });
    await writeFile(partialPathOf(dest), big.subarray(0, 300_000));
    const statfs = async (): Promise<{ bavail: number; bsize: number }> => ({ bavail: 1000, bsize: 1000 }); // 1 MB free
    const result = await downloadFile({
      url: `${server.url}/big.ckpt`,
      dest,
      sha256: createHash('sha256').update(big).digest('hex'),
      expectedBytes: big.length,
      statfs,
    });
    expect(result).toMatchObject({ bytes: big.length, resumed: true });
  });
});

describe('answers that do not fit the request', () => {
  test('a 206 for another range than asked throws the partial away and starts over', async () => {
    await writeFile(partialPathOf(dest), body.subarray(0, 100));
    const fetch = scripted(
      new Response(stream([body]), { status: 206, headers: { 'Content-Range': 'bytes 0-299/300' } }),
      new Response(stream([body])),
    );
    const result = await downloadFile({ url: URL_, dest, sha256: sha, fetch, backoffMs: noWait });
    expect(fetch.ranges).toEqual(['bytes=100-', null]);
    expect(result).toMatchObject({ bytes: 300, resumed: true });
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  test('a 206 without Content-Range is not trusted either', async () => {
    await writeFile(partialPathOf(dest), body.subarray(0, 100));
    const fetch = scripted(new Response(stream([body.subarray(100)]), { status: 206 }));
    const error = await failure(downloadFile({ url: URL_, dest, sha256: sha, fetch, retries: 0 }));
    expect(error).toMatchObject({
      name: 'DownloadError',
      retryable: true,
      message: 'The server answered a different range than asked; starting over.',
    });
    expect(existsSync(partialPathOf(dest))).toBe(false);
  });

  test('a partial longer than the file (416) is deleted, and the next try starts from zero', async () => {
    server = await startModelFileServer({ '/model.safetensors': body });
    const url = `${server.url}/model.safetensors`;
    await writeFile(partialPathOf(dest), randomBytes(400));
    const error = await failure(downloadFile({ url, dest, sha256: sha, retries: 0 }));
    expect(error).toMatchObject({
      name: 'DownloadError',
      retryable: true,
      message: 'The server rejected the resume range; starting over.',
    });
    expect(existsSync(partialPathOf(dest))).toBe(false);
    await expect(downloadFile({ url, dest, sha256: sha })).resolves.toMatchObject({ bytes: 300, resumed: false });
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([
      ['bytes=400-', 416],
      [null, 200],
    ]);
  });

  test('a 416 to a request without a range is a plain HTTP error', async () => {
    const fetch = scripted(new Response('no', { status: 416, headers: { 'Content-Range': 'bytes */300' } }));
    const error = await failure(downloadFile({ url: URL_, dest, sha256: sha, fetch, backoffMs: noWait }));
    expect(error).toMatchObject({ name: 'DownloadError', retryable: false, message: `The download of ${URL_} failed: HTTP 416.` });
    expect(fetch.ranges).toEqual([null]);
  });

  test('a 204 (no body at all) is a plain HTTP error', async () => {
    const fetch = scripted(new Response(null, { status: 204 }));
    const error = await failure(downloadFile({ url: URL_, dest, sha256: sha, fetch }));
    expect(error).toMatchObject({ name: 'DownloadError', retryable: false, message: `The download of ${URL_} failed: HTTP 204.` });
  });

  test('Content-Range: the start, and the total unless it is *', () => {
    expect(parseContentRange('bytes 100-299/300')).toEqual({ start: 100, total: 300 });
    expect(parseContentRange(' bytes 5-9/* ')).toEqual({ start: 5, total: null });
    for (const bad of ['xbytes 0-9/10', 'bytes 0-9/10x', 'bytes 0-9', 'bytes */10', '', null]) expect(parseContentRange(bad)).toBeNull();
  });
});

describe('failures worth a retry', () => {
  test('a 500 and a 429 are retried like a 503', async () => {
    const fetch = scripted(new Response('oops', { status: 500 }), new Response('slow down', { status: 429 }), new Response(stream([body])));
    await expect(downloadFile({ url: URL_, dest, sha256: sha, fetch, backoffMs: noWait })).resolves.toMatchObject({ bytes: 300 });
    expect(fetch.ranges).toHaveLength(3);
  });

  test('a server that cannot be reached is retried, then reported with the reason', async () => {
    const fetch = scripted(new TypeError('fetch failed'), new Response(stream([body])));
    await expect(downloadFile({ url: URL_, dest, sha256: sha, fetch, backoffMs: noWait })).resolves.toMatchObject({ bytes: 300 });
    expect(fetch.ranges).toHaveLength(2);

    const refused = new TypeError('fetch failed', { cause: new Error('connect ECONNREFUSED') });
    const error = await failure(downloadFile({ url: URL_, dest: join(dir, 'again'), sha256: sha, fetch: scripted(refused), retries: 0 }));
    expect(error).toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ retryable: true, message: `Could not reach ${URL_}: fetch failed`, cause: refused });
  });

  test('a connection dropped mid-body keeps what arrived and says how much', async () => {
    const dropped = new TypeError('terminated');
    const fetch = scripted(new Response(stream(pieces(body, 100, 100), dropped)));
    const error = await failure(downloadFile({ url: URL_, dest, sha256: sha, fetch, retries: 0 }));
    expect(error).toMatchObject({
      name: 'DownloadError',
      retryable: true,
      message: 'The connection dropped after 200 bytes: terminated',
      cause: dropped,
    });
    expect((await stat(partialPathOf(dest))).size).toBe(200);
  });

  test('cancelling while the request is on its way rejects with the abort, not a network error', async () => {
    const controller = new AbortController();
    let asked = (): void => undefined;
    const sent = new Promise<void>((r) => (asked = r));
    const fetch = scripted(
      (signal) =>
        new Promise<Response>((_resolve, reject) => {
          signal?.addEventListener('abort', () => reject(signal.reason as Error));
          asked();
        }),
    );
    const download = failure(downloadFile({ url: URL_, dest, sha256: sha, fetch, signal: controller.signal, backoffMs: noWait }));
    await sent;
    controller.abort();
    const error = await download;
    expect(error).not.toBeInstanceOf(DownloadError);
    expect(error).toMatchObject({ name: 'AbortError' });
    expect(fetch.ranges).toHaveLength(1);
  });

  test('by default retries wait 0.5 s, then 1 s; cancelling during a wait ends it at once', async () => {
    const realSetTimeout = globalThis.setTimeout;
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const busy = (): Response => new Response('busy', { status: 503 });
    const fetch = scripted(busy(), busy(), busy(), busy());
    const controller = new AbortController();
    let outcome: unknown = 'pending';
    void failure(downloadFile({ url: URL_, dest, sha256: sha, fetch, signal: controller.signal })).then((e) => (outcome = e));
    /** Polls (the test's timeout bounds it) until request `n` was answered and the download waits to retry. */
    const waitingAfter = async (n: number): Promise<void> => {
      while (!(fetch.ranges.length === n && vi.getTimerCount() === 1)) await new Promise((r) => realSetTimeout(r, 5));
      expect(outcome).toBe('pending');
    };

    await waitingAfter(1);
    vi.advanceTimersByTime(499);
    expect(vi.getTimerCount()).toBe(1); // still waiting
    vi.advanceTimersByTime(1);
    expect(vi.getTimerCount()).toBe(0);
    await waitingAfter(2);
    vi.advanceTimersByTime(999);
    expect(vi.getTimerCount()).toBe(1);
    vi.advanceTimersByTime(1);
    expect(vi.getTimerCount()).toBe(0);
    await waitingAfter(3);

    controller.abort();
    await settle();
    expect(outcome).toMatchObject({ name: 'AbortError' });
    expect(fetch.ranges).toHaveLength(3);
  });
});
