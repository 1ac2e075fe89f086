import { afterEach, expect, test } from 'vitest';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import type { WorkerHordePort } from '../../src-main/core/worker/ports';
import type { HordeWorker } from '../../src-main/core/worker/hordeWorker';
import { hordeDeskPop, popAs, submitAs, tinyWebpBytes } from '../helpers/standinKit';
import { virtualClock } from '../helpers/virtualClock';
import { quickGenerator, until, workerRig } from '../helpers/worker';

// What the real horde sends at the edge of what HordeDesk pops (issue 12), replayed through the
// stand-in: each test is one behaviour seen on a real server.

const MODEL = 'tiny-sd-test';
let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

const settled = (s: StandinHandle): boolean =>
  s.jobs().length > 0 && s.jobs().every((j) => j.state !== 'waiting' && j.state !== 'processing');

test('a 400-step request is generated and delivered: a pop with limit_max_steps off is sent up to 500 steps', async () => {
  standin = await startStandin({ models: [MODEL] });
  standin.enqueue({ prompt: 'a fox', models: [MODEL], r2: true, nsfw: false, params: { width: 64, height: 64, steps: 400 } });
  const generator = quickGenerator([MODEL]);
  const rig = workerRig(standin.hordeApiUrl, generator);
  rig.worker.start();
  await until(() => settled(standin!) && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();
  // Refusing it after the pop made the horde re-queue it until the request ended with no image.
  expect(standin.jobs().map((j) => [j.state, j.submitCount])).toEqual([['done', 1]]);
  expect(rig.jobLog.list(10, 0)).toMatchObject([{ state: 'ok', steps: 400 }]);
}, 60_000);

/** Submits as the horde saw them, on the test's clock. */
interface SeenSubmit {
  state: string;
  inline: boolean;
  at: number;
  answered: 'ok' | 'error';
}

/**
 * The horde as the worker sees it, with its submits recorded, and the worker paused once it holds
 * one job: the test follows that job alone while nothing else moves the virtual clock.
 */
function oneJobHorde(clock: { now(): number }, worker: () => HordeWorker, seen: SeenSubmit[], popped: { deadline: number }) {
  return (horde: WorkerHordePort): WorkerHordePort => ({
    async pop(body) {
      const answer = (await horde.pop(body)) as { ids?: unknown[]; ttl?: number };
      if (answer.ids?.length) {
        worker().pause();
        popped.deadline = clock.now() + (answer.ttl ?? 0) * 1000;
      }
      return answer;
    },
    async submit(body, call) {
      const row: SeenSubmit = {
        state: body.state,
        inline: body.generation !== 'R2' && body.state === 'ok',
        at: clock.now(),
        answered: 'ok',
      };
      seen.push(row);
      try {
        return await horde.submit(body, call);
      } catch (error) {
        row.answered = 'error';
        throw error;
      }
    },
  });
}

test('with R2 down, the upload gives up in time for the inline fallback, and the job still ends in a faulted submit before its ttl', async () => {
  const clock = virtualClock();
  standin = await startStandin({ models: [MODEL], jobs: { now: clock.now } });
  // The horde's R2 store is down: uploads fail, and so does an inline submit (the horde re-uploads it there).
  standin.setFaults({ r2Down: true });
  // 512² at 30 steps: the horde's 150 s floor ttl.
  standin.enqueue({ prompt: 'a fox', models: [MODEL], r2: true, nsfw: false, params: { width: 512, height: 512, steps: 30 } });
  const seen: SeenSubmit[] = [];
  const popped = { deadline: 0 };
  const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]), {
    clock,
    wrapHorde: oneJobHorde(clock, () => rig.worker, seen, popped),
  });
  rig.worker.start();
  await until(() => rig.worker.status().state === 'paused');
  await rig.worker.whenIdle();

  const job = standin.jobs().find((j) => j.worker !== null);
  expect(popped.deadline).toBeGreaterThan(0);
  // The upload was retried, then the image went inline, and that failed too.
  expect(job!.uploadAttempts).toBeGreaterThan(1);
  expect(seen.filter((s) => s.inline).length).toBeGreaterThan(0);
  expect(seen.filter((s) => s.inline).every((s) => s.answered === 'error')).toBe(true);
  // Then the worker said so itself, in time: faulted by the worker, not aborted by the horde's ttl sweep.
  expect(job).toMatchObject({ state: 'faulted', submitState: 'faulted', abortReason: 'faulted' });
  const fault = seen.find((s) => s.state === 'faulted');
  expect(fault?.answered).toBe('ok');
  expect(popped.deadline - (fault?.at ?? Infinity)).toBeGreaterThanOrEqual(5_000);
  expect(rig.worker.status().stats).toMatchObject({ jobsFaulted: 1, jobsDropped: 0, jobsDone: 0 });
  expect(rig.jobLog.list(10, 0)).toMatchObject([{ state: 'faulted', reason: expect.stringMatching(/upload|inline/) }]);
}, 60_000);

test('a clip_skip the model cannot honour is logged and told to the requester as the reference worker tells a changed parameter', async () => {
  standin = await startStandin({ models: [MODEL] });
  standin.enqueue({ prompt: 'a fox', models: [MODEL], r2: true, nsfw: false, params: { width: 64, height: 64, steps: 4, clip_skip: 4 } });
  // The engine's own words when a text encoder exports only its last layer (inference/pipeline/textConditioning.ts).
  const lowered = 'clip_skip 4 was asked for, but this text encoder only exports its last layer; used clip_skip 1.';
  const quick = quickGenerator([MODEL]);
  const generator = {
    ...quick,
    generate: async (...args: Parameters<typeof quick.generate>) =>
      (await quick.generate(...args)).map((image) => ({ ...image, changes: [lowered] })),
  };
  const bodies: Parameters<WorkerHordePort['submit']>[0][] = [];
  const warnings: string[] = [];
  const log = { info() {}, warn: (m: string) => void warnings.push(m), error() {}, child: () => log };
  const rig = workerRig(standin.hordeApiUrl, generator, {
    log,
    wrapHorde: (horde) => ({ pop: (body) => horde.pop(body), submit: (body, call) => (bodies.push(body), horde.submit(body, call)) }),
  });
  rig.worker.start();
  await until(() => settled(standin!) && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();
  // reGen discloses a parameter it had to change as {type: information, value: see_ref, ref: what changed}.
  expect(bodies).toMatchObject([{ state: 'ok', gen_metadata: [{ type: 'information', value: 'see_ref', ref: lowered }] }]);
  // The horde took it (it refuses metadata outside its enums), and the log says it too.
  expect(standin.jobs().map((j) => j.state)).toEqual(['done']);
  expect(warnings.some((w) => w.includes(lowered))).toBe(true);
}, 60_000);

test("the stand-in refuses gen_metadata outside the horde's enums, as the horde's payload check does", async () => {
  standin = await startStandin({ models: ['stable_diffusion'] });
  standin.enqueue({ prompt: 'a fox', models: ['stable_diffusion'], r2: false, nsfw: false, params: { width: 64, height: 64, steps: 4 } });
  const pop = await popAs(standin, hordeDeskPop());
  const id = (pop.body.ids as string[])[0];
  const generation = tinyWebpBytes().toString('base64');
  const bad = await submitAs(standin, { id, generation, seed: 1, gen_metadata: [{ type: 'clip_skip', value: 'lowered' }] });
  expect(bad.status).toBe(400);
  expect(bad.body).toMatchObject({ message: 'Input payload validation failed' });
  const good = await submitAs(standin, {
    id,
    generation,
    seed: 1,
    gen_metadata: [{ type: 'information', value: 'see_ref', ref: 'clip_skip 4->1' }],
  });
  expect(good.status).toBe(200);
});

test('a horde that does not answer for over a minute shows in the status from the first failed pop, and goes when it answers', async () => {
  const clock = virtualClock();
  standin = await startStandin({ models: [MODEL], jobs: { now: clock.now } });
  const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]), { clock });
  rig.worker.start();
  await until(() => standin!.requests.some((r) => r.path === '/api/v2/generate/pop' && r.status === 200));
  standin.setFaults({ error5xx: { status: 503 } });
  await until(() => rig.worker.status().outage !== null);
  const since = rig.worker.status().outage!.since;
  // Pops keep failing (retried with backoff) for more than a minute of the worker's clock.
  await until(() => clock.now() - since > 70_000);
  expect(rig.worker.status()).toMatchObject({ state: 'running', outage: { since, message: expect.stringContaining('503') } });
  standin.resetFaults();
  await until(() => rig.worker.status().outage === null);
  rig.worker.pause();
  await rig.worker.whenIdle();
}, 60_000);
