import { HttpTransportError, type HttpPort, type HttpRequest, type HttpResponse } from '../core/horde/http';

/**
 * The HTTP port over Node's global fetch. The timeout covers the whole exchange, body included,
 * so a server that sends headers and then stalls still times out.
 */
export function createNodeHttp(): HttpPort {
  return {
    async request(req: HttpRequest): Promise<HttpResponse> {
      const signal = AbortSignal.timeout(req.timeoutMs);
      try {
        const res = await fetch(req.url, {
          method: req.method,
          headers: req.headers,
          body: req.body,
          signal,
          redirect: 'follow',
        });
        const body = await res.text();
        const headers: Record<string, string> = {};
        res.headers.forEach((value, name) => {
          headers[name.toLowerCase()] = value;
        });
        return { status: res.status, headers, body };
      } catch (error) {
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

function isAbort(error: unknown): boolean {
  return error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
}
