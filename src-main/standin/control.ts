import { z } from 'zod';
import { faultPatchSchema } from './faults';
import type { StandinJobsApi } from './jobsHandle';
import { STANDIN_KINDS } from './kinds';
import { isAnswer, json, type Answer } from './router';
import type { StandinState } from './state';

// The stand-in's own endpoints under /__standin/, for another process or a browser demo:
//   GET    /__standin/faults    current fault switches
//   POST   /__standin/faults    JSON patch of switches; `"reset": true` first restores a healthy horde
//   GET    /__standin/requests  the request log
//   DELETE /__standin/requests  empties the log
//   GET    /__standin/jobs      every job id with its state (handle.jobs())
//   GET    /__standin/queue     the queued requests (handle.queue())
//   GET    /__standin/stats     totals (handle.stats())
//   POST   /__standin/enqueue   {"mixed": {"count": 10, "seed": 1, ...MixedOptions}}, {"request": <async body>} or
//                               {"kinds": ["img2img", "outpainting", ...]} (kinds.ts), optionally with "apikey"
//                               (default: the requester); answers the {id, kudos} list
// They are not part of the horde, so they are neither logged nor subject to faults.

/** Path prefix of the control endpoints. */
export const CONTROL_PREFIX = '/__standin/';

/** What the stand-in remembers of each horde request. The key itself is never stored. */
export interface RequestLogEntry {
  method: string;
  /** Path without the query, e.g. "/api/v2/find_user". */
  path: string;
  /** Raw query string including "?", or "". */
  query: string;
  /** The `Client-Agent` header as sent; null when absent. */
  clientAgent: string | null;
  /** Whether an `apikey` header was sent at all. */
  apikeyPresent: boolean;
  /** Status of the answer; null until it is sent. */
  status: number | null;
}

/** The pieces of a stand-in the control endpoints act on. */
export interface ControlContext {
  state: StandinState;
  log: RequestLogEntry[];
  jobs: StandinJobsApi;
}

// Browsers send a preflight for a JSON POST from another origin (the headless demo UI).
const CORS_HEADERS = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, DELETE, OPTIONS',
  'Access-Control-Allow-Headers': 'Content-Type',
};

/** Answers a request to a control endpoint. */
export function controlAnswer(method: string, path: string, body: string, ctx: ControlContext): Answer {
  const answer = route(method, path.slice(CONTROL_PREFIX.length), body, ctx);
  return { ...answer, headers: { ...answer.headers, ...CORS_HEADERS } };
}

function route(method: string, name: string, body: string, ctx: ControlContext): Answer {
  if (method === 'OPTIONS') return json(200, {});
  if (name === 'faults' && method === 'GET') return json(200, ctx.state.faults.current());
  if (name === 'faults' && method === 'POST') return setFaults(body, ctx);
  if (name === 'requests' && method === 'GET') return json(200, ctx.log);
  if (name === 'requests' && method === 'DELETE') {
    ctx.log.length = 0;
    return json(200, { message: 'OK' });
  }
  if (method === 'GET' && name === 'jobs') return json(200, ctx.jobs.jobs());
  if (method === 'GET' && name === 'queue') return json(200, ctx.jobs.queue());
  if (method === 'GET' && name === 'stats') return json(200, ctx.jobs.stats());
  if (method === 'POST' && name === 'enqueue') return enqueue(body, ctx);
  return json(404, { message: `No stand-in control endpoint ${method} ${CONTROL_PREFIX}${name}` });
}

const controlPatchSchema = faultPatchSchema.extend({ reset: z.boolean().optional() });

/** A control body (empty reads as `{}`) checked by `schema`, or the 400 for text that is not JSON. */
function readBody<T>(body: string, schema: z.ZodType<T>): z.ZodSafeParseResult<T> | Answer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body || '{}');
  } catch {
    return json(400, { message: 'The body is not JSON.' });
  }
  return schema.safeParse(parsed);
}

function setFaults(body: string, ctx: ControlContext): Answer {
  const result = readBody(body, controlPatchSchema);
  if (isAnswer(result)) return result;
  if (!result.success) {
    const errors = Object.fromEntries(result.error.issues.map((issue) => [issue.path.join('.') || '(body)', issue.message]));
    return json(400, { message: 'Invalid fault settings.', errors });
  }
  const { reset, ...patch } = result.data;
  if (reset) ctx.state.faults.reset();
  return json(200, ctx.state.faults.set(patch));
}

const enqueueSchema = z.strictObject({
  apikey: z.string().optional(),
  request: z.record(z.string(), z.unknown()).optional(),
  kinds: z.array(z.enum(STANDIN_KINDS)).optional(),
  mixed: z.looseObject({ count: z.number().int().min(0).max(10_000), seed: z.union([z.number(), z.string()]) }).optional(),
});

function enqueue(body: string, ctx: ControlContext): Answer {
  const result = readBody(body, enqueueSchema);
  if (isAnswer(result)) return result;
  if (!result.success) return json(400, { message: 'Expected {"mixed": {count, seed, ...}}, {"request": {...}} or {"kinds": [...]}.' });
  const { apikey, request, mixed, kinds } = result.data;
  try {
    const queued = [];
    if (request) queued.push(ctx.jobs.enqueue(request as { prompt: string }, { apikey }));
    for (const kind of kinds ?? []) queued.push(ctx.jobs.enqueueKind(kind, { apikey }));
    if (mixed) {
      const { count, seed, ...options } = mixed;
      queued.push(...ctx.jobs.enqueueMixed(count, seed, { ...options, apikey }));
    }
    return json(200, queued);
  } catch (error) {
    return json(400, { message: error instanceof Error ? error.message : String(error) });
  }
}
