import { afterEach, beforeEach, describe, expect, test } from 'vitest';
import { startStandin, STANDIN_KEYS, type StandinHandle } from '../../src-main/standin/server';
import { seededDetails } from '../../src-main/standin/users';
import { numberChanges, recordedExchange, shapeOf } from '../helpers/hordeExchange';
import { hordeCall, hordeDeskPop, popAs, putUpload, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// The stand-in's worker side against the recorded exchanges (../shared/data/horde-exchange, read at
// run time): the same requests must get answers with the same key sets.

const exchange = recordedExchange('standinJobs.test.ts (the stand-in replays the recorded horde exchange)', [
  'b64/03_worker_user_before.json',
  'b64/04_async_request.json',
  'b64/06_pop_request.json',
  'b64/07_pop_response.json',
  'b64/08_submit_request.json',
  'b64/09_submit_response.json',
  'b64/12_worker_user_after.json',
  'r2/05_async_response.json',
  'r2/08_submit_request.json',
  'r2/14_worker.json',
]);

let standin: StandinHandle;
beforeEach(async () => {
  standin = await startStandin();
});
afterEach(async () => {
  await standin.close();
});

const sorted = (value: unknown) => Object.keys(value as object).sort();
const keysOf07 = () => sorted(exchange.json('b64/07_pop_response.json'));

async function enqueueRecorded(overrides: Record<string, unknown> = {}) {
  const res = await hordeCall(standin, '/api/v2/generate/async', {
    apikey: STANDIN_KEYS.requester,
    body: { ...exchange.json('b64/04_async_request.json'), ...overrides },
  });
  expect(res.status).toBe(202);
  return res.body as unknown as { id: string; kudos: number };
}

describe.skipIf(exchange.skip)('recorded exchange', () => {
  test('the recorded 06 pop gets an answer with exactly the key set of 07, seed as a string', async () => {
    const queued = await enqueueRecorded();
    expect(sorted(queued)).toEqual(sorted(exchange.json('r2/05_async_response.json')));
    expect(queued.kudos).toBe(6);
    const recorded = exchange.json<Record<string, Record<string, unknown>>>('b64/07_pop_response.json');
    const { status, body } = await popAs(standin, exchange.json('b64/06_pop_request.json'));
    expect(status).toBe(200);
    expect(sorted(body)).toEqual(keysOf07());
    expect(sorted(body.payload)).toEqual(sorted(recorded.payload));
    const payload = body.payload as Record<string, unknown>;
    expect(payload.seed).toEqual(expect.stringMatching(/^\d+$/));
    expect({ ...payload, seed: 'x' }).toEqual({ ...recorded.payload, seed: 'x' });
    expect(body).toMatchObject({
      ids: [body.id],
      ttl: 150,
      skipped: {},
      messages: [],
      model: 'stable_diffusion',
      source_processing: 'img2img',
      source_image: null,
    });
    expect(body.r2_upload).toEqual(expect.stringMatching(new RegExp(`^${standin.url}/upload/${String(body.id)}\\.webp\\?sig=`)));
    expect(body.r2_uploads).toEqual([body.r2_upload]);
  });

  test('R2 round trip as recorded: PUT, submit "R2", reward 6.24, worker and owner records updated', async () => {
    await enqueueRecorded();
    const pop = (await popAs(standin, exchange.json('b64/06_pop_request.json'))).body;
    const id = String(pop.id);
    expect(await putUpload(String(pop.r2_upload), tinyWebpBytes())).toBe(200);
    const recordedSubmit = exchange.json('r2/08_submit_request.json');
    const submit = await submitAs(standin, { ...recordedSubmit, id, seed: Number((pop.payload as { seed: string }).seed) });
    expect(submit.status).toBe(200);
    expect(submit.body).toEqual(exchange.json('b64/09_submit_response.json'));
    expect(standin.job(id)).toMatchObject({ state: 'done', submitCount: 1, uploadCount: 1, reward: 6.24 });
    expect(standin.image(id)).toEqual(tinyWebpBytes());

    const recordedWorker = exchange.json<Record<string, unknown>[]>('r2/14_worker.json')[0];
    const list = await hordeCall(standin, '/api/v2/workers?name=PEER-test-worker');
    expect(list.body).toHaveLength(1);
    const worker = list.body[0] as Record<string, unknown>;
    expect(sorted(worker)).toEqual(sorted(recordedWorker));
    // reGen 10 is below the newest official key: 6.24 × 0.9 booked as 6 whole kudos (§2.8, 12_worker_user_after).
    expect(worker).toMatchObject({
      requests_fulfilled: 1,
      kudos_rewards: 6,
      kudos_details: { generated: 6, uptime: null },
      megapixelsteps_generated: 5,
      uncompleted_jobs: 0,
      online: true,
    });
    expect((await hordeCall(standin, `/api/v2/workers/${String(worker.id)}`)).body).toEqual(worker);
    expect((await hordeCall(standin, '/api/v2/workers/name/peer-test-worker')).body).toEqual(worker);

    const before = seededDetails().workerOwner as { kudos: number; kudos_details: object; records: object };
    const owner = (await hordeCall(standin, '/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner })).body;
    expect(owner.worker_ids).toEqual([worker.id]);
    expect(owner).toEqual({
      ...before,
      kudos: before.kudos + 6,
      worker_count: 1,
      worker_ids: [worker.id],
      kudos_details: { ...before.kudos_details, accumulated: 6 },
      records: {
        ...before.records,
        contribution: { megapixelsteps: 5.24, tokens: 0 },
        fulfillment: { image: 1, text: 0, interrogation: 0 },
      },
    });
    // The same numbers moved by the same amounts as in the recording (03 → 12), whose account also aged 30 s.
    const { account_age: aged, ...booked } = numberChanges(
      exchange.json('b64/03_worker_user_before.json'),
      exchange.json('b64/12_worker_user_after.json'),
    );
    expect(aged).toBe(30);
    expect(numberChanges(before, owner)).toEqual(booked);
    expect(shapeOf(owner)).toEqual(shapeOf(exchange.json('b64/12_worker_user_after.json')));
  });

  test('base64 delivery: a non-R2 job has no upload URLs, "R2" and junk are refused, a base64 WebP is paid', async () => {
    await enqueueRecorded({ r2: false });
    const pop = (await popAs(standin, exchange.json('b64/06_pop_request.json'))).body;
    expect(sorted(pop)).toEqual(keysOf07());
    expect(pop).toMatchObject({ r2_upload: null, r2_uploads: null });
    const id = String(pop.id);
    const seed = Number((pop.payload as { seed: string }).seed);
    for (const generation of [
      'R2',
      'UklGRnYGAQBXRUJQVlA4IGoGAQCQSwKdASoAAgAC...(89600 chars)',
      Buffer.from('not an image at all').toString('base64'),
    ]) {
      const refused = await submitAs(standin, { id, generation, seed, state: 'ok' });
      expect(refused.status).toBe(400);
      expect(refused.body.rc).toBe('BadRequest');
    }
    const ok = await submitAs(standin, {
      ...exchange.json('b64/08_submit_request.json'),
      id,
      seed,
      generation: tinyWebpBytes().toString('base64'),
    });
    expect(ok.body).toEqual({ reward: 6.24 });
    expect(standin.job(id)).toMatchObject({ state: 'done', r2: false, uploadCount: 0, submitCount: 4 });
    expect(standin.image(id)).toEqual(tinyWebpBytes());
  });
});

describe.skipIf(exchange.skip)('pop', () => {
  test('without a job every key is present, with nulls and the twelve always-present skip counts', async () => {
    const { status, body } = await popAs(standin, hordeDeskPop());
    expect(status).toBe(200);
    expect(sorted(body)).toEqual(keysOf07());
    expect(body).toMatchObject({
      id: null,
      ids: [],
      ttl: null,
      model: null,
      r2_upload: null,
      r2_uploads: null,
      source_image: null,
      source_processing: 'img2img',
    });
    expect(body.skipped).toEqual({
      bridge_version: 0,
      untrusted: 0,
      performance: 0,
      controlnet: 0,
      'post-processing': 0,
      lora: 0,
      nsfw: 0,
      unsafe_ip: 0,
      painting: 0,
      img2img: 0,
      worker_id: 0,
      models: 0,
    });
  });

  test('body validation fails with 400 and no rc; key and account checks answer like the horde', async () => {
    for (const bad of [{ amount: 21 }, { threads: '1' }, { nsfw: 'yes' }, { models: 'stable_diffusion' }, { max_pixels: 1.5 }]) {
      const res = await popAs(standin, hordeDeskPop(bad));
      expect(res.status).toBe(400);
      expect(res.body).toEqual({
        message: 'Input payload validation failed',
        errors: { [Object.keys(bad)[0] as string]: expect.any(String) },
      });
    }
    const { name: _name, ...nameless } = hordeDeskPop();
    expect((await popAs(standin, nameless)).body.errors).toHaveProperty('name');
    const missingKey = await hordeCall(standin, '/api/v2/generate/pop', { body: hordeDeskPop() });
    expect(missingKey.status).toBe(400);
    expect(missingKey.body).not.toHaveProperty('rc');
    expect((await popAs(standin, hordeDeskPop(), STANDIN_KEYS.anonymous)).body).toMatchObject({ rc: 'AnonForbiddenWorker' });
    const unknown = await popAs(standin, hordeDeskPop(), 'NotARealKey_0123456789');
    expect(unknown.status).toBe(401);
    expect(unknown.body.rc).toBe('InvalidAPIKey');
    const models = await popAs(standin, hordeDeskPop({ models: ['no_such_model', 'my_custom_merge'] }));
    expect(models.status).toBe(400);
    expect(models.body).toMatchObject({ rc: 'BadRequest', message: expect.stringContaining('unrecognised models') });
    expect((await popAs(standin, hordeDeskPop({ priority_usernames: ['db0'] }))).body.rc).toBe('InvalidPriorityUsername');
    expect((await popAs(standin, hordeDeskPop({ unknown_key: 1, bridge_version: 3 }))).status).toBe(200);
  });

  test('a name owned by another user is 403 WrongCredentials, on pop and on submit', async () => {
    await enqueueRecorded({ nsfw: false });
    const pop = await popAs(standin, hordeDeskPop({ name: 'Shared Name' }));
    expect(pop.body.ids).toHaveLength(1);
    const foreign = await popAs(standin, hordeDeskPop({ name: 'Shared Name' }), STANDIN_KEYS.requester);
    expect(foreign.status).toBe(403);
    expect(foreign.body).toEqual({ message: 'Wrong credentials to submit as this worker.', rc: 'WrongCredentials' });
    const submit = await submitAs(
      standin,
      { id: pop.body.id, generation: tinyWebpBytes().toString('base64'), seed: 1 },
      STANDIN_KEYS.requester,
    );
    expect(submit.status).toBe(403);
    expect(submit.body.rc).toBe('WrongCredentials');
    expect(standin.job(String(pop.body.id))).toMatchObject({ state: 'processing', submitCount: 0 });
  });
});

describe.skipIf(exchange.skip)('uploads and faults', () => {
  test('uploadFailures answers 500 for the next N uploads and stores nothing; bad signatures and non-WebP are refused', async () => {
    await enqueueRecorded();
    const pop = (await popAs(standin, exchange.json('b64/06_pop_request.json'))).body;
    const url = String(pop.r2_upload);
    const set = await hordeCall(standin, '/__standin/faults', { method: 'POST', body: { uploadFailures: { count: 2 } } });
    expect(set.body.uploadFailures).toEqual({ count: 2 });
    expect(await putUpload(url, tinyWebpBytes())).toBe(500);
    expect(await putUpload(url, tinyWebpBytes())).toBe(500);
    expect(standin.faults().uploadFailures).toBeNull();
    expect(await putUpload(url.replace(/sig=\w+/, 'sig=forged'), tinyWebpBytes())).toBe(403);
    expect(await putUpload(url, Buffer.from('GIF89a not a webp'))).toBe(400);
    expect(standin.job(String(pop.id))).toMatchObject({ uploadCount: 0, uploadAttempts: 4 });
    expect((await submitAs(standin, { id: pop.id, generation: 'R2', seed: 1 })).status).toBe(400);
    expect(await putUpload(url, tinyWebpBytes())).toBe(200);
    expect(standin.job(String(pop.id))).toMatchObject({ uploadCount: 1, uploadAttempts: 5 });
    const download = await fetch(url);
    expect(Buffer.from(await download.arrayBuffer())).toEqual(tinyWebpBytes());
  });

  test('the general faults (5xx, 429 with Retry-After) also hit pop, submit and upload', async () => {
    await enqueueRecorded();
    standin.setFaults({ error5xx: { status: 503, count: 1 } });
    expect((await popAs(standin, exchange.json('b64/06_pop_request.json'))).status).toBe(503);
    expect(standin.stats().pops).toBe(0);
    const pop = (await popAs(standin, exchange.json('b64/06_pop_request.json'))).body;
    standin.setFaults({ rateLimit: { retryAfterS: 3, count: 2 } });
    const limited = await submitAs(standin, { id: pop.id, generation: 'R2', seed: 1 });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('3');
    expect(await putUpload(String(pop.r2_upload), tinyWebpBytes())).toBe(429);
    expect(standin.job(String(pop.id))).toMatchObject({ submitCount: 0, uploadAttempts: 1, uploadCount: 0 });
    expect(await putUpload(String(pop.r2_upload), tinyWebpBytes())).toBe(200);
    expect((await submitAs(standin, { id: pop.id, generation: 'R2', seed: 1 })).body).toEqual({ reward: 6.24 });
    expect(standin.requests.filter((r) => r.path.startsWith('/upload/')).map((r) => r.status)).toEqual([429, 200]);
  });

  test('popEmpty hands out nothing while requests wait', async () => {
    await enqueueRecorded();
    standin.setFaults({ popEmpty: true });
    expect((await popAs(standin, exchange.json('b64/06_pop_request.json'))).body.ids).toEqual([]);
    standin.resetFaults();
    expect((await popAs(standin, exchange.json('b64/06_pop_request.json'))).body.ids).toHaveLength(1);
    expect(standin.stats()).toMatchObject({ pops: 2, emptyPops: 1 });
  });

  test('control endpoints queue requests and show jobs, queue and stats', async () => {
    const queued = await hordeCall(standin, '/__standin/enqueue', {
      method: 'POST',
      body: { mixed: { count: 3, seed: 5, maxSize: 128 }, request: exchange.json('b64/04_async_request.json') },
    });
    expect(queued.status).toBe(200);
    expect(queued.body).toHaveLength(4);
    expect((await hordeCall(standin, '/__standin/queue')).body).toHaveLength(4);
    expect((await hordeCall(standin, '/__standin/stats')).body).toMatchObject({ requests: 4, pops: 0 });
    const jobs = (await hordeCall(standin, '/__standin/jobs')).body as { state: string }[];
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    expect(jobs.every((job) => job.state === 'waiting')).toBe(true);
    expect((await hordeCall(standin, '/__standin/enqueue', { method: 'POST', body: { request: { prompt: '' } } })).status).toBe(400);
    expect(standin.requests).toEqual([]);
  });
});
