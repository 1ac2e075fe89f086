// The requester's side of a conformance run, over plain fetch: post requests, read their counts,
// and read the worker's record (its credited kudos and dropped jobs), as any horde client would.

/** Where the horde is and who asks. */
export interface HordeTarget {
  /** The API root, e.g. "http://127.0.0.1:7001/api". */
  apiUrl: string;
  clientAgent: string;
}

/** `GET /v2/generate/check/{id}`: the counts a requester polls. */
export interface RequestCheck {
  finished: number;
  processing: number;
  restarted: number;
  waiting: number;
  done: boolean;
  faulted: boolean;
}

/** What the run reads of the worker's record (`GET /v2/workers/name/{name}`). */
export interface WorkerRecord {
  /** Kudos credited for generations (`kudos_details.generated`: uptime rewards left out). */
  kudosGenerated: number;
  uncompletedJobs: number;
  maintenance: boolean;
}

const TIMEOUT_MS = 15_000;

async function call(target: HordeTarget, path: string, init: { apikey?: string; body?: unknown } = {}) {
  const headers: Record<string, string> = { 'Client-Agent': target.clientAgent };
  if (init.apikey) headers.apikey = init.apikey;
  if (init.body !== undefined) headers['Content-Type'] = 'application/json';
  const res = await fetch(`${target.apiUrl}/v2/${path}`, {
    method: init.body === undefined ? 'GET' : 'POST',
    headers,
    body: init.body === undefined ? undefined : JSON.stringify(init.body),
    signal: AbortSignal.timeout(TIMEOUT_MS),
  });
  const text = await res.text();
  return { status: res.status, json: parseAnswer(text) };
}

/** The answer's JSON object; a text answer (a proxy's error page) becomes its message. */
function parseAnswer(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // not JSON: fall through
  }
  return { message: text.slice(0, 200) };
}

/** Posts one request; answers its id, or why the horde refused it. */
export async function postRequest(target: HordeTarget, apikey: string, body: unknown): Promise<{ id: string } | { refused: string }> {
  const { status, json } = await call(target, 'generate/async', { apikey, body });
  if (status === 202 && typeof json.id === 'string') return { id: json.id };
  const reason = typeof json.message === 'string' ? json.message : JSON.stringify(json);
  return { refused: `${status}${typeof json.rc === 'string' ? ` ${json.rc}` : ''}: ${reason}` };
}

/** The request's counts; null when the horde does not answer them (gone, or rate limited). */
export async function checkRequest(target: HordeTarget, id: string): Promise<RequestCheck | null> {
  const { status, json } = await call(target, `generate/check/${encodeURIComponent(id)}`);
  if (status !== 200) return null;
  const num = (key: string) => (typeof json[key] === 'number' ? (json[key] as number) : 0);
  return {
    finished: num('finished'),
    processing: num('processing'),
    restarted: num('restarted'),
    waiting: num('waiting'),
    done: json.done === true,
    faulted: json.faulted === true,
  };
}

/** The worker's record; null while the horde does not know the name (before its first pop). */
export async function workerRecord(target: HordeTarget, name: string, apikey: string): Promise<WorkerRecord | null> {
  const { status, json } = await call(target, `workers/name/${encodeURIComponent(name)}`, { apikey });
  if (status !== 200) return null;
  const details = (json.kudos_details ?? {}) as Record<string, unknown>;
  return {
    kudosGenerated: typeof details.generated === 'number' ? details.generated : 0,
    uncompletedJobs: typeof json.uncompleted_jobs === 'number' ? json.uncompleted_jobs : 0,
    maintenance: json.maintenance_mode === true,
  };
}
