import { expect, test } from 'vitest';
import { HordeApiError } from '../../src-main/core/horde/errors';
import { silentLogger } from '../../src-main/core/log';
import { deliverImage, deliveryPlan, DELIVERY_RESERVE } from '../../src-main/core/worker/deliverImage';
import { TXT2IMG_FIELDS } from '../../src-main/common/inference';
import type { HordeJob } from '../../src-main/core/worker/job';
import type { SubmitBody, WorkerDeps } from '../../src-main/core/worker/ports';
import { virtualClock } from '../helpers/virtualClock';

// How a job's ttl is shared out when R2 does not answer at all (every PUT runs into its timeout),
// on a virtual clock: the uploads stop early enough for the inline try, and that early enough for
// the faulted submit (issue 12 item 7).

const START = 1_700_000_000_000;
const TTL_MS = 150_000;

function job(): HordeJob {
  return {
    ids: ['id-1'],
    r2Uploads: ['https://r2.example/id-1.webp?sig=x'],
    model: 'm',
    samplerName: 'k_euler',
    ttlSeconds: TTL_MS / 1000,
    receivedAt: START,
    deadlineAt: START + TTL_MS,
    seed: 7,
    params: {
      prompt: 'a',
      sampler_name: 'k_euler',
      karras: true,
      steps: 30,
      cfg_scale: 7,
      width: 512,
      height: 512,
      seed: 7,
      clip_skip: 1,
      n: 1,
      ...TXT2IMG_FIELDS,
    },
    unsupported: [],
  };
}

/** The horde's answer to an inline image while its R2 is down: 500, no rc. */
const r2Down = () =>
  new HordeApiError({
    code: 'horde.serverError',
    message: 'The horde failed (HTTP 500).',
    endpoint: 'POST /v2/generate/submit',
    status: 500,
    rc: undefined,
    hordeMessage: 'Internal Server Error',
    retryAfterMs: undefined,
  });

test('R2 that never answers: each PUT is cut short of the inline reserve, and the fault is sent with its reserve left', async () => {
  const clock = virtualClock(START);
  const puts: { at: number; timeoutMs: number }[] = [];
  const submits: (SubmitBody & { at: number; timeoutMs: number | undefined })[] = [];
  const deps = {
    clock,
    log: silentLogger(),
    delivery: {
      encodeWebp: async () => new Uint8Array([1, 2, 3]),
      base64: () => 'AQID',
      async upload(_url: string, _bytes: Uint8Array, timeoutMs: number) {
        puts.push({ at: clock.now(), timeoutMs });
        await clock.sleep(timeoutMs);
        throw Object.assign(new Error('upload failed: timed out'), { status: null });
      },
    },
    horde: {
      pop: async () => ({}),
      async submit(body: SubmitBody, call?: { timeoutMs?: number }) {
        submits.push({ ...body, at: clock.now(), timeoutMs: call?.timeoutMs });
        if (body.state === 'ok') throw r2Down();
        return { reward: 0 };
      },
    },
  } as unknown as WorkerDeps;
  const plan = deliveryPlan(START + TTL_MS);
  const delivery = { plan, r2Problem: null };
  const image = { width: 512, height: 512, seed: 7, rgb: new ArrayBuffer(0) };

  const outcome = await deliverImage(deps, job(), 0, image, delivery);

  expect(outcome).toMatchObject({ kind: 'faulted', reason: expect.stringContaining('the upload to R2 kept failing') });
  // No PUT ran past the point where the inline submit still fits.
  expect(puts.length).toBeGreaterThan(1);
  for (const put of puts) expect(put.at + put.timeoutMs).toBeLessThanOrEqual(plan.uploadUntil);
  // The inline image was tried, and no try ran into the fault's reserve.
  const inline = submits.filter((s) => s.state === 'ok');
  expect(inline.length).toBeGreaterThan(0);
  expect(inline.every((s) => s.generation === 'AQID' && s.at + (s.timeoutMs ?? 0) <= plan.inlineUntil)).toBe(true);
  // The faulted submit went out with the whole fault reserve still ahead of the ttl.
  const fault = submits.find((s) => s.state === 'faulted');
  expect(fault).toMatchObject({ id: 'id-1', generation: 'faulted', seed: 7 });
  expect(START + TTL_MS - (fault?.at ?? Infinity)).toBeGreaterThanOrEqual(DELIVERY_RESERVE.faultMs);
});

test('the plan keeps the fault reserve at the end and the inline reserve before it', () => {
  expect(deliveryPlan(200_000)).toEqual({
    uploadUntil: 200_000 - DELIVERY_RESERVE.faultMs - DELIVERY_RESERVE.inlineMs,
    inlineUntil: 200_000 - DELIVERY_RESERVE.faultMs,
    faultUntil: 230_000,
  });
});

test('an image that cannot be encoded is still answered: submitted faulted, so the horde re-queues it now', async () => {
  const clock = virtualClock(START);
  const submits: SubmitBody[] = [];
  const deps = {
    clock,
    log: silentLogger(),
    delivery: {
      encodeWebp: async () => {
        throw new Error('unsupported image');
      },
      base64: () => '',
      upload: async () => undefined,
    },
    horde: { pop: async () => ({}), submit: async (body: SubmitBody) => (submits.push(body), { reward: 0 }) },
  } as unknown as WorkerDeps;
  const delivery = { plan: deliveryPlan(START + TTL_MS), r2Problem: null };
  const outcome = await deliverImage(deps, job(), 0, { width: 512, height: 512, seed: 7, rgb: new ArrayBuffer(0) }, delivery);
  expect(outcome).toMatchObject({ kind: 'faulted', reason: expect.stringContaining('could not be encoded') });
  expect(submits).toMatchObject([{ id: 'id-1', state: 'faulted' }]);
});
