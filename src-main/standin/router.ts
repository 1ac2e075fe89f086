// Route matching and the horde's answer shapes (HORDE-PROTOCOL.md §1.3), shared by every route file.

/** HTTP methods the stand-in routes on. */
export type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** What a route handler sees of a request. */
export interface RouteRequest {
  method: string;
  /** Values of `:name` segments, URL-decoded. */
  params: Record<string, string>;
  query: URLSearchParams;
  /** The body decoded as UTF-8. */
  body: string;
  /** The body as sent (uploads are binary). */
  rawBody: Buffer;
  /** A request header by case-insensitive name; undefined when absent. */
  header(name: string): string | undefined;
  /** performance.now() when the request arrived, before any injected delay. */
  receivedAt: number;
}

/**
 * An answer. The server serialises `body` as JSON with a JSON content-type, unless `raw` is set:
 * then it sends those bytes as they are, with whatever `headers` give (uploads answer empty 200s).
 */
export interface Answer {
  status: number;
  body: unknown;
  headers?: Record<string, string>;
  raw?: Buffer | string;
  /** Hold the answer back this long after the route ran (the `submitTimeoutMs` fault). */
  delayMs?: number;
  /** Called once the answer was written to a live socket (not for dropped or abandoned requests). */
  onSent?: () => void;
}

/** One endpoint: `pattern` is relative to its mount, e.g. "users/:id". */
export interface Route<S> {
  method: Method;
  pattern: string;
  handle(req: RouteRequest, state: S): Answer | Promise<Answer>;
}

/** A group of routes under a path prefix, e.g. "/api/v2". */
export interface Mount<S> {
  prefix: string;
  routes: readonly Route<S>[];
}

/** The outcome of looking a path up in the mounts. */
export type RouteMatch<S> =
  { kind: 'found'; route: Route<S>; params: Record<string, string> } | { kind: 'wrongMethod'; allowed: Method[] } | { kind: 'none' };

/** Finds the route for a method and path; distinguishes "no such path" from "wrong method". */
export function matchRoute<S>(mounts: readonly Mount<S>[], method: string, path: string): RouteMatch<S> {
  const allowed: Method[] = [];
  for (const mount of mounts) {
    if (!path.startsWith(`${mount.prefix}/`)) continue;
    const rest = path.slice(mount.prefix.length + 1).split('/');
    for (const route of mount.routes) {
      const params = matchPattern(route.pattern.split('/'), rest);
      if (!params) continue;
      if (route.method === method) return { kind: 'found', route, params };
      allowed.push(route.method);
    }
  }
  return allowed.length ? { kind: 'wrongMethod', allowed } : { kind: 'none' };
}

function matchPattern(pattern: string[], segments: string[]): Record<string, string> | undefined {
  if (pattern.length !== segments.length) return undefined;
  const params: Record<string, string> = {};
  for (const [i, part] of pattern.entries()) {
    const segment = segments[i] ?? '';
    if (part.startsWith(':')) {
      if (segment === '') return undefined;
      params[part.slice(1)] = safeDecode(segment);
    } else if (part !== segment) {
      return undefined;
    }
  }
  return params;
}

function safeDecode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A plain JSON answer. */
export function json(status: number, body: unknown, headers?: Record<string, string>): Answer {
  return headers ? { status, body, headers } : { status, body };
}

/** A horde exception: `{message, rc}` with the werkzeug status of its base class. */
export function hordeError(status: number, rc: string, message: string): Answer {
  return json(status, { message, rc });
}

/** A flask-restx input validation failure: 400 with per-field `errors` and no `rc`. */
export function validationError(errors: Record<string, string>): Answer {
  return json(400, { errors, message: 'Input payload validation failed' });
}

/**
 * werkzeug's NotFound text, which flask-restx serialises as `{message}` for paths under the API
 * (inferred from werkzeug's default description; not observed live).
 */
export function notFoundAnswer(): Answer {
  return json(404, {
    message: 'The requested URL was not found on the server. If you entered the URL manually please check your spelling and try again.',
  });
}

/** werkzeug's MethodNotAllowed, with the `Allow` header it sets. */
export function methodNotAllowedAnswer(allowed: readonly Method[]): Answer {
  return json(405, { message: 'The method is not allowed for the requested URL.' }, { Allow: [...new Set(allowed)].join(', ') });
}

/**
 * Reads an optional integer query argument the way reqparse `type=int` does: absent gives
 * undefined, unparsable gives a validation error whose text is the argument's help followed by
 * Python's int() complaint.
 */
export function intArg(query: URLSearchParams, name: string, help: string): number | undefined | Answer {
  const raw = query.get(name);
  if (raw === null) return undefined;
  if (/^\s*[+-]?\d+\s*$/.test(raw)) return Number.parseInt(raw.trim(), 10);
  return validationError({ [name]: `${help} invalid literal for int() with base 10: '${raw}'` });
}

/** Narrows the union returned by argument readers. */
export function isAnswer(value: unknown): value is Answer {
  return typeof value === 'object' && value !== null && 'status' in value && 'body' in value;
}
