import {
  carriesApiKey,
  DEFAULT_MAX_BODY_BYTES,
  HttpBodyTooLargeError,
  HttpTransportError,
  type HttpPort,
  type HttpRequest,
  type HttpResponse,
} from '../../core/horde/http';

/**
 * The HTTP port over Node's global fetch. The timeout covers the whole exchange, body included,
 * so a server that sends headers and then stalls still times out. The body is read up to
 * `req.maxBytes` (8 MiB unless the caller says otherwise), whatever Content-Length claims.
 * A request with the API key is never redirected: fetch would resend the custom `apikey` header
 * to wherever the `Location` points, another host included; the 3xx is returned instead.
 */
export function createNodeHttp(): HttpPort {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const signal = AbortSignal.timeout(req.timeoutMs);
      const maxBytes = req.maxBytes ?? DEFAULT_MAX_BODY_BYTES;
      try {
        const res = await fetch(req.url, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal,
          redirect: carriesApiKey(req.headers) ? 'manual' : 'follow',
        });
        const headers: Record<string, string> = {};
        res.headers.forEach((value, name) => {
          headers[name.toLowerCase()] = value;
        });
        const body = await readCapped(res, maxBytes);
        return { status: res.status, headers, body };
      } catch (error) {
        if (error instanceof HttpBodyTooLargeError) throw error;
        if (signal.aborted || isAbort(error)) {
          throw new HttpTransportError('timeout', `No answer within ${req.timeoutMs} ms`, { cause: error });
        }
        // undici's message is just "fetch failed"; the useful part (ECONNREFUSED, ENOTFOUND…) is the cause.
        const cause = error instanceof Error && error.cause instanceof Error ? error.cause : error;
        const detail = cause instanceof Error ? cause.message : String(cause);
        throw new HttpTransportError('network', `Request failed: ${detail}`, { cause: error });
      }
    },
  };
}

/** Reads the body as UTF-8, stopping (and dropping the connection) once it passes `maxBytes`. */
async function readCapped(res: Response, maxBytes: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new HttpBodyTooLargeError(res.status, maxBytes);
  }
  const reader = res.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw new HttpBodyTooLargeError(res.status, maxBytes);
    }
    chunks.push(value);
  }
  // TextDecoder drops a leading BOM, as Response.text() did.
  return new TextDecoder().decode(Buffer.concat(chunks, total));
}

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}
