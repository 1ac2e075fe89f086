import fc from 'fast-check';
import { afterEach, expect, test } from 'vitest';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';
import type { WorkerHordePort } from '../../src-main/core/worker/ports';

const MODEL = 'tiny-sd-test';
let standin: StandinHandle | undefined;
afterEach(async () => {
  await standin?.close();
  standin = undefined;
});

test('malformed pop answers give an honest fault or a logged skip, and the worker keeps running', async () => {
  const uuid = fc.uuid();
  const payload = fc.oneof(
    fc.anything(),
    fc.record({
      ids: fc.array(uuid, { minLength: 1, maxLength: 3 }),
      payload: fc.anything(),
      model: fc.oneof(fc.constant(MODEL), fc.anything()),
      ttl: fc.oneof(fc.integer(), fc.anything()),
    }),
    fc.record({ ids: fc.array(fc.anything()), id: fc.anything(), payload: fc.dictionary(fc.string(), fc.anything()) }),
  );
  const answers = fc.sample(payload, { numRuns: 150, seed: 4242 });
  const submitted: { id: string; state: string }[] = [];
  let pops = 0;
  const horde: WorkerHordePort = {
    async pop() {
      const answer = pops < answers.length ? answers[pops] : { id: null, ids: [], payload: {}, skipped: {} };
      pops += 1;
      return answer;
    },
    async submit(body) {
      submitted.push({ id: body.id, state: body.state });
      return { reward: body.state === 'ok' ? 1 : 0 };
    },
  };
  const warnings: string[] = [];
  const log = { info() {}, warn: (m: string) => void warnings.push(m), error: (m: string) => void warnings.push(m), child: () => log };
  // The stand-in is not used: every answer comes from fast-check.
  const rig = workerRig('http://127.0.0.1:9/api', quickGenerator([MODEL]), {
    horde,
    log,
    clock: { now: () => Date.now(), sleep: () => new Promise((r) => setImmediate(r)), setTimer: () => () => undefined },
  });
  rig.worker.start();
  await until(() => pops >= answers.length);
  rig.worker.pause();
  await rig.worker.whenIdle();
  expect(rig.worker.status().state).toBe('paused');
  // Anything with readable ids was reported (faulted unless it happened to be a valid job).
  for (const s of submitted) expect(['ok', 'faulted']).toContain(s.state);
  expect(submitted.filter((s) => s.state === 'faulted').length).toBeGreaterThan(0);
  expect(warnings.length).toBeGreaterThan(0);
}, 60_000);

test('a job that cannot finish before its ttl is cancelled and faulted in time, not left to expire', async () => {
  standin = await startStandin({
    mixed: { models: [MODEL], minSize: 64, maxSize: 64, maxSteps: 30, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
    // Short ttls (in real seconds): 17 s, and the worker keeps 15 s for upload and submit.
    jobs: { ttlOverrideSeconds: 17, reportEffectiveTtl: true },
  });
  standin.enqueueMixed(1, 'slow');
  const generator = quickGenerator([MODEL], { stepMs: 1000 });
  const rig = workerRig(standin.hordeApiUrl, generator);
  rig.worker.start();
  await until(() => standin!.jobs().every((j) => j.state !== 'waiting' && j.state !== 'processing'));
  rig.worker.pause();
  await rig.worker.whenIdle();
  // The horde requeues a faulted image; after its third fault it gives the request up.
  const jobs = standin.jobs();
  expect(jobs.length).toBeGreaterThan(0);
  for (const job of jobs) {
    expect(job.state).toBe('faulted');
    // Reported by the worker before the ttl, not aborted by the horde's ttl sweep.
    expect(job.abortReason).not.toBe('ttl');
  }
  const ours = jobs.filter((j) => j.worker !== null);
  expect(ours.every((j) => j.submitState === 'faulted' && j.submitCount === 1)).toBe(true);
  expect(generator.cancelled).toHaveLength(ours.length);
  for (const row of rig.jobLog.list(10, 0))
    expect(row).toMatchObject({ state: 'faulted', reason: 'generation would not have finished before the job deadline' });
}, 60_000);
