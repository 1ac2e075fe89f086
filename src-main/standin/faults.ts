import { STATUS_CODES } from 'node:http';
import { z } from 'zod';
import { ratingsFaultDefaults, ratingsFaultFields, type RatingsFaults } from './ratingsFaults';
import { json, type Answer } from './router';

// Fault switches: tests (and a browser demo, through POST /__standin/faults) make the stand-in
// misbehave the ways the real horde does.

/**
 * What `GET /v2/status/heartbeat` reports. The horde computes it from its own health only:
 * "DOWN" when its database does not answer, "OVERLOADED" when requests queue up in waitress
 * (horde/apis/v2/base.py Heartbeat). Horde-wide maintenance does not change it.
 */
export const heartbeatHealthSchema = z.enum(['OK', 'DOWN', 'OVERLOADED']);

/** Validates fault settings from code and from HTTP alike, so a typo fails loudly. */
export const faultPatchSchema = z.strictObject({
  /** Answer with this 5xx status: the next `count` requests, or all of them without a count. */
  error5xx: z
    .strictObject({ status: z.number().int().min(500).max(599), count: z.number().int().positive().optional() })
    .nullable()
    .optional(),
  /** Answer 429 with `Retry-After: retryAfterS` and no rc: the next `count` requests, or all. */
  rateLimit: z
    .strictObject({ retryAfterS: z.number().int().nonnegative(), count: z.number().int().positive().optional() })
    .nullable()
    .optional(),
  /** Delay every answer by this many milliseconds. */
  slowMs: z.number().int().nonnegative().max(600_000).optional(),
  /**
   * Horde-wide maintenance mode: `GET /v2/status/modes` says so, and (when later issues add it)
   * `POST /v2/generate/async` answers 400 MaintenanceMode. Pops and submits are not blocked by
   * it in the real horde (HORDE-PROTOCOL.md §2.12), and the heartbeat stays "OK".
   */
  maintenance: z.boolean().optional(),
  /**
   * Every worker counts as in maintenance (as if its owner had set it): pops get only the owner's
   * own requests, else 403 WorkerMaintenance (§2.7 item 6, §2.11). Per-worker maintenance is
   * separate: `PUT /v2/workers/{id}` or `handle.setWorkerMaintenance`.
   */
  workerMaintenance: z.boolean().optional(),
  heartbeat: heartbeatHealthSchema.optional(),
  /**
   * PUTs to upload URLs answer this 5xx (default 500) and store nothing: the next `count`
   * uploads, or all of them without a count. Applies after the general faults above.
   */
  uploadFailures: z
    .strictObject({ count: z.number().int().positive().optional(), status: z.number().int().min(500).max(599).optional() })
    .nullable()
    .optional(),
  /**
   * The horde's R2 store is down: every upload answers 500 and stores nothing, and a submit that
   * carries its image inline (base64) answers 500 too, because the horde re-uploads inline images
   * to that same store (processing_generation.py). Faulted submits still work. Seen on a real
   * horde (issue 12 item 7).
   */
  r2Down: z.boolean().optional(),
  /**
   * Downloads of source images and masks from their presigned R2 URLs (bridges with `r2_source`)
   * answer this 5xx (default 500): the next `count` downloads, or all of them without a count.
   * `r2Down` fails them too.
   */
  sourceFailures: z
    .strictObject({ count: z.number().int().positive().optional(), status: z.number().int().min(500).max(599).optional() })
    .nullable()
    .optional(),
  /** Pops find no job whatever is queued (they still check the worker in). */
  popEmpty: z.boolean().optional(),
  /**
   * Submits are recorded at once but their answer is held back this many ms, so a client that
   * times out and retries meets its own first submit (400 DuplicateGen). 0 turns it off.
   */
  submitTimeoutMs: z.number().int().nonnegative().max(600_000).optional(),
  /**
   * The next `count` requests (all without a count) get no answer: the socket is destroyed, as a
   * dropped connection looks to a client. Before the route by default, so nothing happened; with
   * `afterRoute` the route ran first (a submit is booked), so the client cannot know it arrived.
   * `path` limits it to requests whose path starts with it (e.g. "/api/v2/generate/submit").
   */
  dropConnections: z
    .strictObject({
      count: z.number().int().positive().optional(),
      afterRoute: z.boolean().optional(),
      path: z.string().startsWith('/').optional(),
    })
    .nullable()
    .optional(),
  /** The ratings service's switches (ratingsFaults.ts). */
  ...ratingsFaultFields,
});

/** Partial fault settings; `null` switches a counted fault off. */
export type FaultPatch = z.input<typeof faultPatchSchema>;

/** Every fault switch with its current value; the ratings ones are described in ratingsFaults.ts. */
export interface StandinFaults extends RatingsFaults {
  error5xx: { status: number; count?: number } | null;
  rateLimit: { retryAfterS: number; count?: number } | null;
  slowMs: number;
  maintenance: boolean;
  workerMaintenance: boolean;
  heartbeat: z.infer<typeof heartbeatHealthSchema>;
  uploadFailures: { count?: number; status?: number } | null;
  r2Down: boolean;
  sourceFailures: { count?: number; status?: number } | null;
  popEmpty: boolean;
  submitTimeoutMs: number;
  dropConnections: { count?: number; afterRoute?: boolean; path?: string } | null;
}

function defaults(): StandinFaults {
  return {
    error5xx: null,
    rateLimit: null,
    slowMs: 0,
    maintenance: false,
    workerMaintenance: false,
    heartbeat: 'OK',
    uploadFailures: null,
    r2Down: false,
    sourceFailures: null,
    popEmpty: false,
    submitTimeoutMs: 0,
    dropConnections: null,
    ...ratingsFaultDefaults(),
  };
}

/** The fault switches of one stand-in instance. */
export class FaultState {
  private faults: StandinFaults = defaults();

  /** A copy of the current settings. */
  current(): StandinFaults {
    return structuredClone(this.faults);
  }

  /** Merges settings in; throws on anything the schema rejects. */
  set(patch: FaultPatch): StandinFaults {
    const parsed = faultPatchSchema.parse(patch);
    for (const [key, value] of Object.entries(parsed)) {
      if (value !== undefined) Object.assign(this.faults, { [key]: value });
    }
    return this.current();
  }

  /** Back to a healthy horde. */
  reset(): void {
    this.faults = defaults();
  }

  /**
   * The answer a horde API request gets instead of its route, if a fault applies; consumes one
   * use of a counted fault. Rate limiting comes first because flask-limiter rejects a request
   * before any handler (or failure in it) runs.
   */
  intercept(path: string): Answer | undefined {
    const limit = this.faults.rateLimit;
    // The horde exempts the heartbeat from rate limits (`limiter.exempt`).
    if (limit && path !== '/api/v2/status/heartbeat') {
      this.faults.rateLimit = consume(limit);
      return rateLimitAnswer(limit.retryAfterS);
    }
    const failure = this.faults.error5xx;
    if (failure) {
      this.faults.error5xx = consume(failure);
      return serverErrorAnswer(failure.status);
    }
    return undefined;
  }

  /** Whether to drop this request's connection, and when; consumes one use of `dropConnections`. */
  takeDrop(path: string): { afterRoute: boolean } | undefined {
    const drop = this.faults.dropConnections;
    if (!drop || (drop.path !== undefined && !path.startsWith(drop.path))) return undefined;
    this.faults.dropConnections = consume(drop);
    return { afterRoute: drop.afterRoute ?? false };
  }

  /** The status an upload fails with, if `r2Down` or `uploadFailures` applies; consumes one use of the latter. */
  takeUploadFailure(): number | undefined {
    return takeCounted(this.faults, 'uploadFailures');
  }

  /** The status a source download fails with, if `r2Down` or `sourceFailures` applies; consumes one use of the latter. */
  takeSourceFailure(): number | undefined {
    return takeCounted(this.faults, 'sourceFailures');
  }
}

/** The status an R2 request fails with: 500 while R2 is down, else one use of the counted fault `key`. */
function takeCounted(faults: StandinFaults, key: 'uploadFailures' | 'sourceFailures'): number | undefined {
  if (faults.r2Down) return 500;
  const failure = faults[key];
  if (!failure) return undefined;
  faults[key] = consume(failure);
  return failure.status ?? 500;
}

function consume<T extends { count?: number }>(fault: T): T | null {
  if (fault.count === undefined) return fault;
  return fault.count > 1 ? { ...fault, count: fault.count - 1 } : null;
}

/**
 * flask-limiter's 429: flask-restx turns RateLimitExceeded into `{message: <limit description>}`
 * without rc, and flask-limiter adds Retry-After and X-RateLimit-* headers (inferred from their
 * sources; HORDE-PROTOCOL.md §1.3). The description is the horde's default limit.
 */
export function rateLimitAnswer(retryAfterS: number): Answer {
  const resetAt = Math.ceil(Date.now() / 1000) + retryAfterS;
  return json(
    429,
    { message: '90 per 1 minute' },
    {
      'Retry-After': String(retryAfterS),
      'X-RateLimit-Limit': '90',
      'X-RateLimit-Remaining': '0',
      'X-RateLimit-Reset': String(resetAt),
    },
  );
}

/**
 * An unhandled failure: the horde answers 500 `{message: "Internal Server Error"}` (§1.3). Other
 * 5xx come from the proxy in front of it; they are given the same JSON shape with their reason.
 */
export function serverErrorAnswer(status: number): Answer {
  return json(status, { message: STATUS_CODES[status] ?? 'Server Error' });
}
