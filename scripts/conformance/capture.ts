import type { HttpPort, HttpRequest, HttpResponse } from '../../src-main/core/horde/http';

// What the HordeDesk worker really exchanged with the horde during a run, read off its HTTP port:
// the jobs each pop handed it (the prompt names the conformance row) and every submit with the
// reward the horde announced. Nothing here changes a request or an answer.

/** One job id as a pop handed it out. */
export interface PoppedJob {
  id: string;
  /** Its place among the ids of its pop (the image index of a batch). */
  index: number;
  prompt: string;
  /** The seed the horde sent, as sent (a string in the payload). */
  seed: string;
  sampler: string;
  karras: boolean;
  /** Whether the pop gave it an R2 upload URL. */
  r2: boolean;
}

/** One submit of a job id and the horde's answer. */
export interface SubmittedJob {
  state: string;
  seed: number | null;
  /** "R2" after an upload, "inline" for base64, as HordeDesk sent it. */
  generation: 'R2' | 'inline';
  status: number;
  /** The answer's reward (what the horde announced); null when the answer had none. */
  reward: number | null;
}

/** Everything seen so far; times are Date.now() ms. */
export interface WorkerCapture {
  jobs: Map<string, PoppedJob>;
  /** Every submit per job id, in order (retries included). */
  submits: Map<string, SubmittedJob[]>;
  lastJobPopAt: number;
  lastEmptyPopAt: number;
  lastSubmitAt: number;
}

function parse(text: string | undefined): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(text ?? '');
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function notePop(capture: WorkerCapture, res: HttpResponse, now: number): void {
  const answer = res.status === 200 ? parse(res.body) : null;
  if (!answer) return;
  const ids = Array.isArray(answer.ids) ? answer.ids.filter((id): id is string => typeof id === 'string') : [];
  if (ids.length === 0) {
    capture.lastEmptyPopAt = now;
    return;
  }
  capture.lastJobPopAt = now;
  const payload = (answer.payload ?? {}) as Record<string, unknown>;
  const uploads = Array.isArray(answer.r2_uploads) ? answer.r2_uploads : [];
  for (const [index, id] of ids.entries()) {
    capture.jobs.set(id, {
      id,
      index,
      prompt: String(payload.prompt ?? ''),
      seed: String(payload.seed ?? ''),
      sampler: String(payload.sampler_name ?? ''),
      karras: payload.karras === true,
      r2: typeof uploads[index] === 'string',
    });
  }
}

function noteSubmit(capture: WorkerCapture, req: HttpRequest, res: HttpResponse, now: number): void {
  const body = parse(req.body);
  if (!body || typeof body.id !== 'string') return;
  capture.lastSubmitAt = now;
  const answer = parse(res.body);
  const submit: SubmittedJob = {
    state: typeof body.state === 'string' ? body.state : 'ok',
    seed: typeof body.seed === 'number' ? body.seed : null,
    generation: body.generation === 'R2' ? 'R2' : 'inline',
    status: res.status,
    reward: typeof answer?.reward === 'number' ? answer.reward : null,
  };
  capture.submits.set(body.id, [...(capture.submits.get(body.id) ?? []), submit]);
}

/** Wraps `inner`, recording pops and submits into the returned capture. */
export function capturingHttp(inner: HttpPort, now: () => number = Date.now): { http: HttpPort; capture: WorkerCapture } {
  const capture: WorkerCapture = { jobs: new Map(), submits: new Map(), lastJobPopAt: 0, lastEmptyPopAt: 0, lastSubmitAt: 0 };
  const http: HttpPort = {
    async request(req) {
      const res = await inner.request(req);
      const path = new URL(req.url).pathname;
      if (req.method === 'POST' && path.endsWith('/generate/pop')) notePop(capture, res, now());
      if (req.method === 'POST' && path.endsWith('/generate/submit')) noteSubmit(capture, req, res, now());
      return res;
    },
  };
  return { http, capture };
}
