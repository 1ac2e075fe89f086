import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import { createHordeClient } from '../../src-main/core/horde/client';
import { HordeProtocolError } from '../../src-main/core/horde/errors';
import { HttpBodyTooLargeError } from '../../src-main/core/horde/http';
import { KeyDestinationError } from '../../src-main/core/keyOrigin';
import { createRatingsClient, RatingsProtocolError } from '../../src-main/core/rating/client';
import { createNodeHttp } from '../../src-main/node/system/http';
import { json, startRecordingServer, type RecordingServer } from '../helpers/recordingServer';
import { failure } from '../helpers/failure';

// Over real sockets: two local servers on two ports are two origins. The key must never reach
// the second one, whatever the first answers; and no answer is read past its byte limit.

const KEY = 'kEy_0123456789abcdefXYZ';
const AGENT = 'HordeDesk:0.1.0:test';
const servers: RecordingServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function server(handle: Parameters<typeof startRecordingServer>[0]): Promise<RecordingServer> {
  const s = await startRecordingServer(handle);
  servers.push(s);
  return s;
}

/** A server that answers every request like a friendly horde, and a first one redirecting to it. */
async function redirectPair(status: number): Promise<{ first: RecordingServer; second: RecordingServer }> {
  const second = await server((_req, res) => json(res, 200, { username: 'thief#1', id: 1, kudos: 1, message: 'OK' }));
  const first = await server((req, res) => res.writeHead(status, { Location: `${second.url}${req.url ?? '/'}` }).end());
  return { first, second };
}

describe('the API key never follows a redirect', () => {
  test.each([301, 302, 307, 308])(
    'horde client, HTTP %i: an error naming where it points; the other origin never hears from us',
    async (status) => {
      const { first, second } = await redirectPair(status);
      const horde = createHordeClient({ baseUrl: () => `${first.url}/api`, http: createNodeHttp(), clientAgent: AGENT, apiKey: () => KEY });
      const error = await failure(horde.findUser());
      expect(error).toBeInstanceOf(HordeProtocolError);
      expect((error as Error).message).toContain(`redirects to ${second.url}/api/v2/find_user`);
      expect((error as Error).message).toMatch(/does not follow redirects.*new address in Settings/);
      expect(first.requests.map((r) => r.apikey)).toEqual([KEY]);
      expect(second.requests).toEqual([]);
    },
  );

  test('ratings client: a redirected rating is not resent with the key', async () => {
    const { first, second } = await redirectPair(307);
    const ratings = createRatingsClient({
      baseUrl: () => `${first.url}/api/v1`,
      http: createNodeHttp(),
      clientAgent: AGENT,
      apiKey: () => KEY,
    });
    const error = await failure(ratings.submit('image-1', { rating: 7, artifacts: null }));
    expect(error).toBeInstanceOf(RatingsProtocolError);
    expect((error as Error).message).toContain(`redirects to ${second.url}`);
    expect(second.requests).toEqual([]);
  });

  test('the port: a keyed request gets the 3xx back; a request without the key is followed', async () => {
    const { first, second } = await redirectPair(302);
    const http = createNodeHttp();
    const keyed = await http.request({ method: 'GET', url: `${first.url}/x`, headers: { APIKey: KEY }, timeoutMs: 5000 });
    expect(keyed.status).toBe(302);
    expect(keyed.headers.location).toBe(`${second.url}/x`);
    expect(second.requests).toEqual([]);
    const plain = await http.request({ method: 'GET', url: `${first.url}/y`, headers: {}, timeoutMs: 5000 });
    expect(plain.status).toBe(200);
    expect(second.requests).toEqual([{ method: 'GET', path: '/y', apikey: null }]);
  });
});

describe('the key goes only over https, or plain http on this machine', () => {
  test('an http:// horde on another host is refused before anything is sent', async () => {
    let sent = 0;
    const horde = createHordeClient({
      baseUrl: () => 'http://horde.example.net/api',
      http: { request: async () => ((sent += 1), { status: 200, headers: {}, body: '{}' }) },
      clientAgent: AGENT,
      apiKey: () => KEY,
    });
    const error = await failure(horde.findUser());
    expect(error).toBeInstanceOf(KeyDestinationError);
    expect((error as KeyDestinationError).code).toBe('key.insecureUrl');
    expect((error as Error).message).toMatch(/not sent to http:\/\/horde\.example\.net: Use https:\/\//);
    expect(sent).toBe(0);
  });

  test('the same URL without a key set still works (nothing secret goes out), and loopback http takes the key', async () => {
    const local = await server((_req, res) => json(res, 200, { message: 'OK' }));
    const fake = { request: async () => ({ status: 200, headers: {}, body: '{"username":"a#1","id":1,"kudos":0,"kudos_details":{}}' }) };
    const remote = createHordeClient({
      baseUrl: () => 'http://horde.example.net/api',
      http: fake,
      clientAgent: AGENT,
      apiKey: () => undefined,
    });
    expect((await remote.findUser()).username).toBe('a#1');
    const loopback = createHordeClient({
      baseUrl: () => `${local.url}/api`,
      http: createNodeHttp(),
      clientAgent: AGENT,
      apiKey: () => KEY,
    });
    await loopback.findUser().catch(() => undefined);
    expect(local.requests.map((r) => r.apikey)).toEqual([KEY]);
  });
});

describe('every JSON body read has a byte limit', () => {
  /** Valid JSON of about `bytes` bytes, sent in pieces without a Content-Length. */
  function bigJson(bytes: number) {
    return (_req: unknown, res: ServerResponse): void => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"message":"OK","pad":"');
      const piece = 'a'.repeat(64 * 1024);
      let left = bytes;
      const pump = (): void => {
        while (left > 0) {
          left -= piece.length;
          if (!res.write(piece)) return void res.once('drain', pump);
        }
        res.end('"}');
      };
      pump();
    };
  }

  test('an answer without Content-Length is cut at 8 MiB with a clear error', async () => {
    const big = await server(bigJson(9 * 1024 * 1024));
    const horde = createHordeClient({ baseUrl: () => `${big.url}/api`, http: createNodeHttp(), clientAgent: AGENT, apiKey: () => KEY });
    const error = await failure(horde.heartbeat());
    expect(error).toBeInstanceOf(HordeProtocolError);
    expect((error as Error).message).toContain('The answer is larger than the 8 MiB HordeDesk reads from it.');
  });

  test('a declared Content-Length over the limit is refused before the body is read; a call may allow more', async () => {
    const declared = await server((_req, res) => res.writeHead(200, { 'Content-Length': String(4096) }).end('x'.repeat(4096)));
    const http = createNodeHttp();
    const error = await failure(http.request({ method: 'GET', url: declared.url, headers: {}, timeoutMs: 5000, maxBytes: 1024 }));
    expect(error).toBeInstanceOf(HttpBodyTooLargeError);
    expect((error as Error).message).toBe('The answer is larger than the 1 KiB HordeDesk reads from it.');
    expect((await http.request({ method: 'GET', url: declared.url, headers: {}, timeoutMs: 5000, maxBytes: 4096 })).body).toHaveLength(
      4096,
    );
    const big = await server(bigJson(9 * 1024 * 1024));
    const answer = await http.request({ method: 'GET', url: big.url, headers: {}, timeoutMs: 10_000, maxBytes: 16 * 1024 * 1024 });
    expect(answer.body.length).toBeGreaterThan(9 * 1024 * 1024);
  });
});
