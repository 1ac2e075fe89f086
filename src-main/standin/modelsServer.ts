import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from './listen';

// A tiny model-file host for download tests: serves fixed buffers with HTTP Range support and
// can misbehave on purpose (cut a connection mid-body once, answer 503 a few times).

/** Options of {@link startModelFileServer}. */
export interface ModelFileServerOptions {
  /** Drop the connection after this many body bytes, once (the first body served). */
  cutAfterBytes?: number;
  /** Answer 503 to this many requests before serving normally. */
  failFirst?: number;
  /** Ignore Range headers and always answer 200 with the whole file. */
  ignoreRange?: boolean;
}

/** One request the server saw. */
export interface ModelFileRequest {
  path: string;
  range: string | null;
  status: number;
}

/** A running server; `url` has no trailing slash. */
export interface ModelFileServer {
  url: string;
  requests: ModelFileRequest[];
  close(): Promise<void>;
}

/** Parses a single `bytes=a-b` / `bytes=a-` / `bytes=-n` range against `size`; 'bad' when unsatisfiable. */
function parseRange(header: string, size: number): { start: number; end: number } | 'bad' | null {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m) return null;
  const [, a = '', b = ''] = m;
  let start: number;
  let end: number;
  if (a === '') {
    if (b === '') return null;
    start = Math.max(0, size - Number(b));
    end = size - 1;
  } else {
    start = Number(a);
    end = b === '' ? size - 1 : Math.min(Number(b), size - 1);
  }
  return start >= size || start > end ? 'bad' : { start, end };
}

/** Writes `body` in small pieces so clients see several chunks; honours the one-time cut. */
async function writeBody(res: ServerResponse, body: Buffer, cutAt: number | null): Promise<void> {
  const piece = 16 * 1024;
  for (let at = 0; at < body.length; at += piece) {
    let slice = body.subarray(at, Math.min(at + piece, body.length));
    if (cutAt !== null && at + slice.length >= cutAt) {
      slice = slice.subarray(0, cutAt - at);
      if (slice.length > 0) await new Promise<void>((r) => res.write(slice, () => r()));
      res.socket?.destroy();
      return;
    }
    if (!res.write(slice)) await new Promise<void>((r) => res.once('drain', () => r()));
    await new Promise<void>((r) => setImmediate(r));
  }
  res.end();
}

/**
 * Starts a server on 127.0.0.1 serving `files` by path (keys like `/model.ckpt`; a key
 * without a leading slash gets one). Put a `/stable_diffusion.json` buffer in to serve a reference.
 */
export async function startModelFileServer(files: Record<string, Buffer>, opts: ModelFileServerOptions = {}): Promise<ModelFileServer> {
  const table = new Map(Object.entries(files).map(([k, v]) => [k.startsWith('/') ? k : `/${k}`, v]));
  const requests: ModelFileRequest[] = [];
  let failuresLeft = opts.failFirst ?? 0;
  let cutPending = opts.cutAfterBytes !== undefined;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const rangeHeader = req.headers.range ?? null;
    const log = (status: number): void => void requests.push({ path, range: rangeHeader, status });
    if (failuresLeft > 0) {
      failuresLeft--;
      log(503);
      res.writeHead(503, { 'Content-Type': 'text/plain' }).end('busy');
      return;
    }
    const body = table.get(path);
    if (!body) {
      log(404);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found');
      return;
    }
    const type = path.endsWith('.json') ? 'application/json' : 'application/octet-stream';
    const range = rangeHeader && !opts.ignoreRange ? parseRange(rangeHeader, body.length) : null;
    if (range === 'bad') {
      log(416);
      res.writeHead(416, { 'Content-Range': `bytes */${body.length}` }).end();
      return;
    }
    const slice = range ? body.subarray(range.start, range.end + 1) : body;
    const status = range ? 206 : 200;
    log(status);
    res.writeHead(status, {
      'Content-Type': type,
      'Content-Length': String(slice.length),
      'Accept-Ranges': 'bytes',
      ...(range ? { 'Content-Range': `bytes ${range.start}-${range.end}/${body.length}` } : {}),
    });
    if (req.method === 'HEAD') return void res.end();
    const cutAt = cutPending ? (opts.cutAfterBytes ?? null) : null;
    cutPending = false;
    await writeBody(res, slice, cutAt !== null && cutAt < slice.length ? cutAt : null);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  const url = await listenLocal(server);
  return { url, requests, close: () => closeServer(server) };
}
