import { TINY_WEBP_BASE64 } from '../../src-main/standin/mixed';
import type { StandinHandle } from '../../src-main/standin/server';
import { STANDIN_KEYS } from '../../src-main/standin/users';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';

// Small helpers for tests that talk to the stand-in with plain fetch, so they exercise the HTTP
// surface and no app code.

/** The stand-in's 8×8 WebP as bytes (a fresh copy each call). */
export function tinyWebpBytes(): Buffer {
  return Buffer.from(TINY_WEBP_BASE64, 'base64');
}

/** A parsed answer: status, headers and the JSON body (or the text when it is not JSON). */
export interface CallResult {
  status: number;
  headers: Headers;
  body: Record<string, unknown> & unknown[];
}

/** One request to the stand-in; `path` is absolute ("/api/v2/…") or a full URL. */
export async function hordeCall(
  standin: Pick<StandinHandle, 'url'>,
  path: string,
  init: { apikey?: string; method?: string; body?: unknown; agent?: string } = {},
): Promise<CallResult> {
  const headers: Record<string, string> = { 'Client-Agent': init.agent ?? 'StandinTest:1.0.0:test@example.org' };
  if (init.apikey !== undefined) headers.apikey = init.apikey;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(path.startsWith('http') ? path : `${standin.url}${path}`, {
    method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
  });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // non-JSON answers (upload endpoint errors) stay text
  }
  return { status: res.status, headers: res.headers, body: body as CallResult['body'] };
}

/** PUTs bytes to an upload URL as reGen does: raw body, no Content-Type. */
export async function putUpload(url: string, bytes: Uint8Array): Promise<number> {
  const res = await fetch(url, { method: 'PUT', body: new Uint8Array(bytes) });
  await res.arrayBuffer();
  return res.status;
}

/** A HordeDesk-like pop body (every field explicit, as the app sends it). */
export function hordeDeskPop(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  const body = hordeDeskPopBody({
    name: 'HordeDesk Test Worker',
    models: ['stable_diffusion'],
    bridgeAgent: 'HordeDesk:0.1.0:https://example.org/hordedesk',
    maxPixels: 1048576,
    nsfw: false,
    amount: 1,
    blacklist: [],
  });
  return { ...body, ...overrides };
}

/** Pops as the seeded worker owner. */
export function popAs(standin: Pick<StandinHandle, 'url'>, body: Record<string, unknown>, apikey: string = STANDIN_KEYS.workerOwner) {
  return hordeCall(standin, '/api/v2/generate/pop', { apikey, body });
}

/** Submits as the seeded worker owner. */
export function submitAs(standin: Pick<StandinHandle, 'url'>, body: Record<string, unknown>, apikey: string = STANDIN_KEYS.workerOwner) {
  return hordeCall(standin, '/api/v2/generate/submit', { apikey, body });
}

/** A clock for `jobs.now` that only moves when told to (ms). */
export function manualClock(start = 1_700_000_000_000): { now: () => number; advance(seconds: number): void } {
  let t = start;
  return {
    now: () => t,
    advance(seconds: number) {
      t += seconds * 1000;
    },
  };
}
