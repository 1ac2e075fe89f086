import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { closeServer, listenLocal } from '../../src-main/standin/listen';

/** One request a {@link RecordingServer} saw. */
export interface RecordedRequest {
  method: string;
  path: string;
  /** The `apikey` header, or null when the request had none. */
  apikey: string | null;
}

/** A local HTTP server on 127.0.0.1 that records every request and answers with `handle`. */
export interface RecordingServer {
  /** `http://127.0.0.1:<port>`, no trailing slash. */
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

/**
 * Starts a server whose answers come from `handle`; each server has its own port, so two of
 * them are two origins (what the key-binding and redirect tests need).
 */
export async function startRecordingServer(handle: (req: IncomingMessage, res: ServerResponse) => void): Promise<RecordingServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const apikey = req.headers.apikey;
    requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', apikey: typeof apikey === 'string' ? apikey : null });
    handle(req, res);
  });
  const url = await listenLocal(server);
  return { url, requests, close: () => closeServer(server) };
}

/** Answers JSON with the given status. */
export function json(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'Content-Type': 'application/json' }).end(JSON.stringify(body));
}
