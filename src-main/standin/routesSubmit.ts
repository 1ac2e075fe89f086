import { createHash } from 'node:crypto';
import { GEN_METADATA_TYPES, GEN_METADATA_VALUES } from '../common/horde';
import { serverErrorAnswer } from './faults';
import { effectiveSteps } from './kudos';
import type { Job } from './queue';
import { hordeError, isAnswer, json, validationError, type Answer, type Route, type RouteRequest } from './router';
import { invalidApiKey } from './routesV2';
import type { StandinState } from './state';
import { isBase64Webp, isWebp, keyedBody, type BodySpec } from './validate';
import type { StandinWorker } from './workers';

// Delivering images (HORDE-PROTOCOL.md §2.4, §2.5): `PUT /upload/<id>.webp?sig=…` stands in for
// the presigned R2 URL, and `POST /v2/generate/submit` books the result. The horde's order is
// kept: unknown id 404, bad key 401, another owner 403, then the compare-and-set on the job.
// Stand-in strictness beyond the horde (400 BadRequest): "R2" for a job with no upload URL or
// with no upload yet, and base64 that is not a WebP; uploads that are not WebP are refused too.
// Censorship as the horde reads it (H:`classes/stable/processing_generation.py` set_generation):
// only a `censorship` gen_metadata entry marks the image censored (`state` censored/csam and the
// obsolete `censored` flag change nothing); a censored image costs its requester nothing while the
// worker is paid as usual (H:`classes/base/processing_generation.py` adjust_user_kudos), and a
// `censorship/csam` entry records a problem job against the requester (record_problem_job).

const SUBMIT_SPEC: BodySpec = {
  id: { type: 'string', required: true },
  generation: { type: 'string', required: true },
  seed: { type: 'integer', required: true },
  state: { type: 'string', enum: ['ok', 'censored', 'faulted', 'csam'] },
  censored: { type: 'boolean' },
  gen_metadata: { type: 'array' },
};

const submit: Route<StandinState> = {
  method: 'POST',
  pattern: 'generate/submit',
  handle(req, state) {
    const opened = keyedBody(req, SUBMIT_SPEC, "The worker's owner API key.");
    if (isAnswer(opened)) return opened;
    const { body, key } = opened;
    const badMetadata = checkMetadata(body.gen_metadata);
    if (badMetadata) return badMetadata;
    const board = state.board;
    board.sweep();
    const id = String(body.id);
    const job = board.jobs.get(id);
    // Waiting ids are the stand-in's own bookkeeping: the horde has no job before a pop.
    const worker = job?.workerId ? board.workers.get(job.workerId) : undefined;
    if (!job || !worker) return hordeError(404, 'InvalidJobID', `Processing Job with ID ${id} does not exist.`);
    const user = state.users.byKey(key);
    if (!user) return invalidApiKey();
    if (user.id !== worker.ownerId) return hordeError(403, 'WrongCredentials', 'Wrong credentials to submit as this worker.');
    job.submitCount += 1;
    // A worker that got an answer and then submits again has really sent the job twice. A submit
    // that arrived before that answer and reached this route late (a slow horde) has not.
    if (job.firstAnsweredAt !== null && req.receivedAt > job.firstAnsweredAt) job.resubmitsAfterAnswer += 1;
    board.counters.submits += 1;
    const answer = {
      ...settle(state, job, worker, body),
      onSent: () => {
        job.submitsAnswered += 1;
        job.firstAnsweredAt ??= performance.now();
      },
    };
    const delayMs = state.faults.current().submitTimeoutMs;
    return delayMs > 0 ? { ...answer, delayMs } : answer;
  },
};

/**
 * The horde's payload check of `gen_metadata` entries (GenerationMetadataStable): `type` and
 * `value` from its enums, `ref` a string of at most 255 characters; anything else is a 400 before
 * the submit is looked at.
 */
function checkMetadata(entries: unknown): Answer | undefined {
  if (!Array.isArray(entries)) return undefined;
  const errors: Record<string, string> = {};
  entries.forEach((entry: unknown, i) => {
    const e = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof e.type !== 'string' || !GEN_METADATA_TYPES.includes(e.type))
      errors[`gen_metadata.${i}.type`] = `${JSON.stringify(e.type)} is not one of ${JSON.stringify(GEN_METADATA_TYPES)}`;
    if (typeof e.value !== 'string' || !GEN_METADATA_VALUES.includes(e.value))
      errors[`gen_metadata.${i}.value`] = `${JSON.stringify(e.value)} is not one of ${JSON.stringify(GEN_METADATA_VALUES)}`;
    if (e.ref !== undefined && !(typeof e.ref === 'string' && e.ref.length <= 255))
      errors[`gen_metadata.${i}.ref`] = `${JSON.stringify(e.ref)} is not a string of at most 255 characters`;
  });
  return Object.keys(errors).length ? validationError(errors) : undefined;
}

/** What the gen_metadata says of censorship, as the horde reads it: the last `censorship` entry decides, csam or nsfw. */
export function censorshipOf(entries: unknown): 'nsfw' | 'csam' | null {
  let found: 'nsfw' | 'csam' | null = null;
  for (const entry of Array.isArray(entries) ? entries : []) {
    const e = entry as Record<string, unknown>;
    if (e.type === 'censorship') found = e.value === 'csam' ? 'csam' : 'nsfw';
  }
  return found;
}

/** A CSAM submit goes on its requester's record, as the horde's record_problem_job keeps it (its admin exception aside). */
function recordProblemJob(state: StandinState, job: Job, worker: StandinWorker): void {
  const wp = state.board.requests.get(job.requestId);
  if (wp) state.board.problemJobs.push({ userId: wp.ownerId, jobId: job.id, workerId: worker.id, at: state.board.nowS() });
}

/** The compare-and-set on one job. */
function settle(state: StandinState, job: Job, worker: StandinWorker, body: Record<string, unknown>): Answer {
  const board = state.board;
  const submitState = typeof body.state === 'string' ? body.state : 'ok';
  const censorship = censorshipOf(body.gen_metadata);
  const generation = String(body.generation);
  if (job.state === 'done') {
    // A worker in maintenance gets 200 with no reward instead (§2.5).
    if (worker.maintenance) return json(200, { reward: 0 });
    return hordeError(400, 'DuplicateGen', `Processing Generation with ID ${job.id} already submitted.`);
  }
  if (job.state !== 'processing') {
    if (submitState === 'faulted') return json(200, { reward: 0 });
    return hordeError(
      400,
      'AbortedGen',
      `Processing Generation with ID ${job.id} took too long to process and has been aborted! Please check your worker speed and do not onboard worker which generate slower than 1 it/s!`,
    );
  }
  // The horde looks at `faulted` only when no censorship entry came (an elif after the censorship branch).
  if (submitState === 'faulted' && censorship === null) {
    job.submitState = 'faulted';
    board.abort(job, 'faulted');
    return json(200, { reward: 0 });
  }
  if (generation === 'R2') {
    if (!job.r2) return hordeError(400, 'BadRequest', `Job ${job.id} was given no R2 upload URL; send the WebP as base64 in "generation".`);
    if (job.uploadCount === 0)
      return hordeError(400, 'BadRequest', `No image was uploaded for job ${job.id}; PUT it to its r2_upload URL before submitting "R2".`);
  } else if (isBase64Webp(generation)) {
    // The horde stores an inline image in R2 itself; with R2 down that fails unhandled (§1.3).
    if (state.faults.current().r2Down) return serverErrorAnswer(500);
    board.uploads.set(job.id, Buffer.from(generation.replace(/\s+/g, ''), 'base64'));
  } else {
    return hordeError(400, 'BadRequest', `"generation" must be "R2" or a base64 WebP image.`);
  }
  const wp = board.requests.get(job.requestId);
  const reward = board.rewardFor(job);
  const genMetadata = Array.isArray(body.gen_metadata) ? body.gen_metadata : [];
  Object.assign(job, { state: 'done', reward, submitState, seed: Number(body.seed), censorship, genMetadata });
  // A paused worker's fake job is answered like any other, but the horde credits nothing for it (§2.5).
  if (wp && !board.isFake(job.id)) {
    const r = wp.request;
    const pixelsteps = r.width * r.height * effectiveSteps(r.sampler, r.steps);
    board.workers.recordDelivery(worker, reward, pixelsteps, board.nowS() - (job.poppedAt ?? board.nowS()));
  }
  board.counters.rewards = Math.round((board.counters.rewards + reward) * 100) / 100;
  if (censorship === 'csam') recordProblemJob(state, job, worker);
  // Checked after the image is recorded, as the horde does.
  if (Array.isArray(body.gen_metadata) && body.gen_metadata.length > 50)
    return hordeError(400, 'BadRequest', 'Too many metadata fields. Max is 50.');
  return json(200, { reward });
}

/** An S3-style XML error, as a presigned-URL endpoint answers. */
function s3Error(status: number, code: string, message: string): Answer {
  const raw = `<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${message}</Message></Error>`;
  return { status, body: null, raw, headers: { 'Content-Type': 'application/xml' } };
}

/** The job behind an upload URL (`:file` and its `sig`), if the path and signature match one. */
function uploadTarget(req: RouteRequest, state: StandinState): Job | Answer {
  const sig = req.query.get('sig');
  const match = /^([0-9a-f-]{36})\.webp$/.exec(req.params.file ?? '');
  const job = match?.[1] ? state.board.jobs.get(match[1]) : undefined;
  if (!match?.[1] || sig !== state.board.signature(match[1])) {
    return s3Error(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
  }
  return job ?? s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
}

const upload: Route<StandinState> = {
  method: 'PUT',
  pattern: ':file',
  handle(req, state) {
    const job = uploadTarget(req, state);
    if (isAnswer(job)) return job;
    const board = state.board;
    const failure = state.faults.takeUploadFailure();
    if (failure !== undefined) {
      board.counters.refusedUploads += 1;
      return s3Error(failure, 'InternalError', 'We encountered an internal error. Please try again.');
    }
    if (!isWebp(req.rawBody)) {
      board.counters.refusedUploads += 1;
      return s3Error(400, 'InvalidArgument', 'The stand-in accepts only WebP images (RIFF....WEBP).');
    }
    board.uploads.set(job.id, Buffer.from(req.rawBody));
    job.uploadCount += 1;
    board.counters.uploads += 1;
    const etag = createHash('md5').update(req.rawBody).digest('hex');
    return { status: 200, body: null, raw: '', headers: { ETag: `"${etag}"` } };
  },
};

/** Reads an uploaded image back (the URL a requester would be given). */
const download: Route<StandinState> = {
  method: 'GET',
  pattern: ':file',
  handle(req, state) {
    const job = uploadTarget(req, state);
    if (isAnswer(job)) return job;
    const bytes = state.board.uploads.get(job.id);
    if (!bytes) return s3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    return { status: 200, body: null, raw: bytes, headers: { 'Content-Type': 'image/webp' } };
  },
};

/** The submit route, mounted under `/api/v2`. */
export const submitRoutes: readonly Route<StandinState>[] = [submit];
/** The presigned upload URLs, mounted under `/upload`. */
export const uploadRoutes: readonly Route<StandinState>[] = [upload, download];
