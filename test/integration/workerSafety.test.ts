import sharp from 'sharp';
import { afterEach, describe, expect, test } from 'vitest';
import { clientAgent } from '../../src-main/common/appMeta';
import { hordeDeskPopBody } from '../../src-main/core/worker/popBody';
import { placeholderImage } from '../../src-main/core/worker/placeholder';
import type { SubmitBody, WorkerHordePort } from '../../src-main/core/worker/ports';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { STANDIN_KEYS } from '../../src-main/standin/users';
import { fakeSafety, firstByte, type FakeAnswer } from '../helpers/safety';
import { hordeCall, hordeDeskPop, popAs, submitAs, tinyWebpBytes } from '../helpers/standinKit';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// Issue 13, "done when": a job whose image the checker flags is submitted exactly as the reference
// worker (horde-worker-reGen) submits it, and the stand-in does with it what the horde does
// (HORDE-PROTOCOL.md §2.5; AI-Horde classes/stable/processing_generation.py set_generation): only a
// `censorship` gen_metadata entry censors an image, a censored image costs its requester nothing
// while the worker is paid, and `censorship/csam` records a problem job against the requester.

const MODEL = 'tiny-sd-test';
const REQUESTER_ID = 1;
let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

const settled = (s: StandinHandle): boolean =>
  s.jobs().length > 0 && s.jobs().every((j) => j.state !== 'waiting' && j.state !== 'processing');

/** quickGenerator writes the seed into an image's first byte: the fake port's verdict per request. */
const VERDICTS: Record<number, FakeAnswer> = { 11: 'nsfw', 22: 'csam', 33: 'nsfw', 44: 'clean' };

function request(seed: number, nsfw: boolean) {
  return { prompt: 'a portrait', models: [MODEL], r2: true, nsfw, params: { width: 64, height: 64, steps: 4, seed: String(seed) } };
}

/** A worker over the stand-in whose submits are recorded; `nsfw` is its own NSFW setting (the pop's). */
function recordingWorker(s: StandinHandle, nsfw: boolean, answer: (seed: number) => FakeAnswer) {
  const bodies: SubmitBody[] = [];
  const safety = fakeSafety((image) => answer(firstByte(image)));
  const rig = workerRig(s.hordeApiUrl, quickGenerator([MODEL]), {
    safety,
    popBody: (models) =>
      hordeDeskPopBody({
        name: 'HordeDesk Test Worker',
        models,
        bridgeAgent: clientAgent('0.1.0'),
        maxPixels: 262144,
        nsfw,
        amount: 1,
        blacklist: [],
      }),
    wrapHorde: (horde): WorkerHordePort => ({
      pop: (body) => horde.pop(body),
      submit: (body, call) => (bodies.push(body), horde.submit(body, call)),
    }),
  });
  return { rig, bodies, safety };
}

async function runUntilSettled(s: StandinHandle, rig: ReturnType<typeof workerRig>): Promise<void> {
  rig.worker.start();
  await until(() => settled(s) && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();
}

/** Mean absolute difference per channel between a WebP the stand-in holds and an RGB image. */
async function distance(webp: Buffer, rgb: ArrayBuffer): Promise<number> {
  const decoded = await sharp(webp).removeAlpha().raw().toBuffer();
  const expected = new Uint8Array(rgb);
  let sum = 0;
  for (let i = 0; i < expected.length; i += 1) sum += Math.abs((decoded[i] ?? 0) - (expected[i] ?? 0));
  return sum / expected.length;
}

describe("HordeDesk's worker over the stand-in", () => {
  test('a flagged job is submitted exactly as the reference worker submits it, and the horde treats it as the horde does', async () => {
    standin = await startStandin({ models: [MODEL] });
    const sfwRequest = standin.enqueue(request(11, false)); // use_nsfw_censor (an SFW request's default)
    const csamRequest = standin.enqueue(request(22, true));
    const allowedRequest = standin.enqueue(request(33, true));
    const cleanRequest = standin.enqueue(request(44, true));
    const { rig, bodies } = recordingWorker(standin, true, (seed) => VERDICTS[seed] ?? 'clean');
    await runUntilSettled(standin, rig);

    const jobOf = (requestId: string) => standin!.jobs().find((j) => j.requestId === requestId);
    const bodyOf = (requestId: string) => bodies.find((b) => b.id === jobOf(requestId)?.id);
    // What reGen sends (process_manager.py _handle_safety_result, submit_single_generation).
    expect(bodyOf(sfwRequest.id)).toEqual({
      id: jobOf(sfwRequest.id)?.id,
      generation: 'R2',
      state: 'censored',
      censored: true,
      seed: 11,
      gen_metadata: [{ type: 'censorship', value: 'nsfw' }],
    });
    expect(bodyOf(csamRequest.id)).toEqual({
      id: jobOf(csamRequest.id)?.id,
      generation: 'R2',
      state: 'csam',
      censored: true,
      seed: 22,
      gen_metadata: [{ type: 'censorship', value: 'csam' }],
    });
    expect(bodyOf(allowedRequest.id)).toMatchObject({
      state: 'ok',
      censored: false,
      gen_metadata: [{ type: 'information', value: 'nsfw' }],
    });
    expect(bodyOf(cleanRequest.id)).toEqual({ id: jobOf(cleanRequest.id)?.id, generation: 'R2', state: 'ok', censored: false, seed: 44 });

    // The horde took every one, marked the censored ones, and booked the CSAM one against its requester.
    expect(standin.jobs().map((j) => j.state)).toEqual(['done', 'done', 'done', 'done']);
    expect([sfwRequest, csamRequest, allowedRequest, cleanRequest].map((r) => jobOf(r.id)?.censorship)).toEqual([
      'nsfw',
      'csam',
      null,
      null,
    ]);
    expect(standin.problemJobs()).toMatchObject([{ userId: REQUESTER_ID, jobId: jobOf(csamRequest.id)?.id }]);
    const status = async (id: string) => (await hordeCall(standin!, `/api/v2/generate/status/${id}`)).body;
    expect(await status(csamRequest.id)).toMatchObject({
      kudos: 0,
      generations: [{ censored: true, gen_metadata: [{ type: 'censorship', value: 'csam' }] }],
    });
    expect(await status(sfwRequest.id)).toMatchObject({ kudos: 0, generations: [{ censored: true }] });
    expect(await status(allowedRequest.id)).toMatchObject({ generations: [{ censored: false }] });
    expect((await status(allowedRequest.id)).kudos).toBeGreaterThan(0);

    // The worker is paid for censored images too.
    const rewards = standin.jobs().map((j) => j.reward ?? 0);
    expect(rewards.every((reward) => reward > 0)).toBe(true);

    // What reached the horde's store for the CSAM job is HordeDesk's placeholder, never the image.
    const csamJob = jobOf(csamRequest.id)?.id as string;
    const stored = standin.image(csamJob) as Buffer;
    const generatedRgb = new Uint8Array(64 * 64 * 3).map((_, i) => (i * 7 + 22) & 0xff).buffer;
    const toPlaceholder = await distance(stored, placeholderImage('csam', 64, 64).rgb);
    expect(toPlaceholder).toBeLessThan(8);
    expect(await distance(stored, generatedRgb)).toBeGreaterThan(toPlaceholder * 5);

    // History marks, and the Dashboard's counts.
    const marks = Object.fromEntries(rig.jobLog.list(10, 0).map((row) => [row.jobId, row.censorship]));
    expect(marks).toEqual({
      [jobOf(sfwRequest.id)?.id as string]: 'nsfw',
      [csamJob]: 'csam',
      [jobOf(allowedRequest.id)?.id as string]: null,
      [jobOf(cleanRequest.id)?.id as string]: null,
    });
    expect(rig.worker.status().stats).toMatchObject({ jobsDone: 4, jobsCensored: 1, jobsCsam: 1 });
  }, 60_000);

  test('an SFW worker sends its own placeholder for any NSFW image, whatever the request asked', async () => {
    standin = await startStandin({ models: [MODEL] });
    const sfw = standin.enqueue({ ...request(11, false), censor_nsfw: false });
    const { rig, bodies } = recordingWorker(standin, false, (seed) => VERDICTS[seed] ?? 'clean');
    await runUntilSettled(standin, rig);
    expect(bodies).toMatchObject([{ state: 'censored', censored: true, gen_metadata: [{ type: 'censorship', value: 'nsfw' }] }]);
    const stored = standin.image(standin.jobs()[0]?.id as string) as Buffer;
    expect(await distance(stored, placeholderImage('sfw_worker', 64, 64).rgb)).toBeLessThan(8);
    expect(standin.jobs()[0]).toMatchObject({ requestId: sfw.id, censorship: 'nsfw' });
  }, 60_000);

  test('a check that fails faults the job: nothing is uploaded, and the horde gives the image to another try', async () => {
    standin = await startStandin({ models: [MODEL] });
    standin.enqueue(request(44, true));
    const { rig, bodies } = recordingWorker(standin, true, () => new Error('the safety worker thread died'));
    rig.worker.start();
    await until(() => standin!.jobs().some((j) => j.state === 'faulted') && rig.worker.status().inFlight === 0);
    rig.worker.pause();
    await rig.worker.whenIdle();
    expect(bodies.length).toBeGreaterThan(0);
    expect(bodies.every((b) => b.state === 'faulted' && b.generation === 'faulted')).toBe(true);
    expect(standin.jobs().every((j) => j.uploadCount === 0 && j.state !== 'done')).toBe(true);
    expect(rig.jobLog.list(10, 0)[0]).toMatchObject({ state: 'faulted', reason: expect.stringContaining('the safety check failed') });
  }, 60_000);

  test('without the safety model the worker does not pop at all', async () => {
    standin = await startStandin({ models: [MODEL] });
    standin.enqueue(request(44, true));
    const { rig, safety } = recordingWorker(standin, true, () => 'clean');
    safety.setStatus({ state: 'missing', reason: 'not installed' });
    expect(() => rig.worker.start()).toThrow(/Install the safety model/);
    expect(standin.stats().pops).toBe(0);
    expect(standin.jobs().map((j) => j.state)).toEqual(['waiting']);
  });
});

describe("the stand-in keeps the horde's censorship rules", () => {
  /** Pops the one queued job as the seeded worker and uploads a WebP for it. */
  async function poppedJob(s: StandinHandle): Promise<string> {
    const pop = await popAs(s, hordeDeskPop({ models: [MODEL], nsfw: true }));
    const id = (pop.body.ids as string[])[0] as string;
    await fetch(pop.body.r2_upload as string, { method: 'PUT', body: new Uint8Array(tinyWebpBytes()) });
    return id;
  }

  test('only a censorship gen_metadata entry censors: state "csam" alone changes nothing, the entry alone does', async () => {
    standin = await startStandin({ models: [MODEL] });
    standin.enqueue(request(1, true));
    standin.enqueue(request(2, true));
    const bare = await poppedJob(standin);
    expect((await submitAs(standin, { id: bare, generation: 'R2', state: 'csam', seed: 1 })).status).toBe(200);
    const marked = await poppedJob(standin);
    const answer = await submitAs(standin, {
      id: marked,
      generation: 'R2',
      state: 'ok',
      seed: 2,
      gen_metadata: [{ type: 'censorship', value: 'csam' }],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.reward).toBeGreaterThan(0);
    expect([standin.job(bare)?.censorship, standin.job(marked)?.censorship]).toEqual([null, 'csam']);
    expect(standin.problemJobs().map((p) => p.jobId)).toEqual([marked]);
    expect(standin.problemJobs()[0]?.userId).toBe(REQUESTER_ID);
  });

  test('a faulted submit that carries a censorship entry is taken as a censored image, as the horde reads it', async () => {
    standin = await startStandin({ models: [MODEL] });
    standin.enqueue(request(1, true));
    const id = await poppedJob(standin);
    const answer = await submitAs(standin, {
      id,
      generation: 'R2',
      state: 'faulted',
      seed: 1,
      gen_metadata: [{ type: 'censorship', value: 'nsfw' }],
    });
    expect(answer.status).toBe(200);
    expect(standin.job(id)).toMatchObject({ state: 'done', censorship: 'nsfw' });
  });

  test('the problem job is recorded against whoever made the request, here the worker’s own owner', async () => {
    standin = await startStandin({ models: [MODEL] });
    const queued = standin.enqueue(request(1, true), { apikey: STANDIN_KEYS.workerOwner });
    const id = await poppedJob(standin);
    await submitAs(standin, { id, generation: 'R2', state: 'csam', seed: 1, gen_metadata: [{ type: 'censorship', value: 'csam' }] });
    expect(standin.queue().find((r) => r.id === queued.id)?.ownerId).toBe(2);
    expect(standin.problemJobs().map((p) => p.userId)).toEqual([2]);
  });
});
