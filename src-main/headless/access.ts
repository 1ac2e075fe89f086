import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/** Who may talk to the headless app: the random token it printed, from a page it served. */
export interface AccessRule {
  token: string;
  /** The page origins allowed (http://127.0.0.1:<port> and http://localhost:<port>). */
  allowedOrigins: () => readonly string[];
}

/** 'ok', or why the request is refused: the token is missing or wrong, or the page's origin is not ours. */
export type AccessVerdict = 'ok' | 'token' | 'origin';

/** The loopback origins a page of ours can have: the printed 127.0.0.1 one and its `localhost` twin. */
export function loopbackOrigins(port: number): string[] {
  return [`http://127.0.0.1:${port}`, `http://localhost:${port}`];
}

/** Compares in constant time, so the answer's timing says nothing about how much of a guess was right. */
export function tokenMatches(given: string | null | undefined, expected: string): boolean {
  if (given === null || given === undefined) return false;
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a token and the page's origin. Browsers always send `Origin` on a WebSocket upgrade, so
 * another site's page is refused there even if it guessed the token; a request without `Origin`
 * (a same-origin `fetch`, or a non-browser client) is judged by its `Host` when `useHost` is set.
 */
export function checkAccess(
  request: IncomingMessage,
  givenToken: string | null | undefined,
  rule: AccessRule,
  useHost: boolean,
): AccessVerdict {
  if (!tokenMatches(givenToken, rule.token)) return 'token';
  const origin = request.headers.origin ?? (useHost ? `http://${request.headers.host ?? ''}` : undefined);
  if (origin !== undefined && !rule.allowedOrigins().includes(origin)) return 'origin';
  return 'ok';
}

/**
 * The request target as a URL when it is in origin form (`/path?query`), else null: absolute
 * forms (`http://[`) and `*` are refused rather than parsed, since `new URL` throws on some.
 */
export function originFormUrl(target: string | undefined): URL | null {
  if (target === undefined || !target.startsWith('/') || target.startsWith('//')) return null;
  try {
    return new URL(target, 'http://127.0.0.1');
  } catch {
    return null;
  }
}
