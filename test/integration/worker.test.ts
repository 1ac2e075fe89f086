import { afterEach, describe, expect, test } from 'vitest';
import { creditedShare } from '../../src-main/core/kudos/jobCredit';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { quickGenerator, until, workerRig } from '../helpers/worker';

const MODEL = 'tiny-sd-test';
let standin: StandinHandle;

afterEach(async () => {
  await standin?.close();
});

const terminal = (s: StandinHandle): boolean =>
  s.jobs().length > 0 && s.jobs().every((j) => j.state === 'done' || j.state === 'faulted' || j.state === 'aborted');

describe('the horde worker loop against the stand-in', () => {
  test('200 mixed requests: every image submitted exactly once, none lost, rewards in the ledger', async () => {
    // Honest faults count as aborts on the horde; ~25 unsupported requests faulted up to 3 times each
    // would put the worker into maintenance (tested on its own below), so the threshold is raised here.
    standin = await startStandin({
      mixed: { models: [MODEL], minSize: 64, maxSize: 192, maxSteps: 12 },
      jobs: { maintenanceAbortThreshold: 1000 },
    });
    standin.enqueueMixed(200, 'mixed-200');
    const generator = quickGenerator([MODEL]);
    const rig = workerRig(standin.hordeApiUrl, generator);
    rig.worker.start();
    // Done when the horde has nothing left for this worker (some requests are for others: NSFW,
    // samplers it does not advertise) and nothing is in flight.
    await until(() => standin.drained('HordeDesk Test Worker') && rig.worker.status().inFlight === 0);
    rig.worker.pause();
    await rig.worker.whenIdle();

    const jobs = standin.jobs();
    expect(jobs.length).toBeGreaterThan(200);
    // What was never handed out (for other workers, or given up by the horde) was never touched.
    expect(jobs.filter((j) => j.worker === null).every((j) => j.state !== 'processing' && j.submitCount === 0)).toBe(true);
    const handedOut = jobs.filter((j) => j.worker !== null);
    expect(handedOut.length).toBeGreaterThan(150);
    for (const job of handedOut) {
      expect(job.state, `job ${job.id}`).not.toBe('processing');
      expect(job.state, `job ${job.id}`).not.toBe('waiting');
      expect(job.state, `job ${job.id}`).not.toBe('aborted');
      expect(job.submitCount, `job ${job.id} submits`).toBe(1);
    }
    const done = jobs.filter((j) => j.state === 'done');
    const faulted = jobs.filter((j) => j.state === 'faulted');
    expect(done.length).toBeGreaterThan(150);
    // Jobs with features HordeDesk lacks are refused honestly, not generated or dropped.
    expect(faulted.length).toBeGreaterThan(0);
    // Each reward is on disk, once per image, at the share the horde credits HordeDesk (×0.75).
    const ledgerJobs = rig.ledger.sumSince(0).find((r) => r.source === 'job');
    expect(ledgerJobs?.count).toBe(done.length);
    expect(ledgerJobs?.total).toBeCloseTo(
      done.reduce((a, j) => a + creditedShare(j.reward ?? 0), 0),
      6,
    );
    const status = rig.worker.status();
    expect(status.state).toBe('paused');
    expect(status.stats.imagesDone).toBe(done.length);
    expect(rig.jobLog.count()).toBe(status.stats.jobsDone + status.stats.jobsFaulted + status.stats.jobsDropped);
    // r2 jobs were uploaded, the others sent inline.
    expect(done.filter((j) => j.r2).every((j) => j.uploadCount === 1)).toBe(true);
    expect(done.some((j) => !j.r2)).toBe(true);
  }, 120_000);

  test('failed uploads are retried, and horde 5xx and 429 answers are backed off', async () => {
    standin = await startStandin({
      mixed: {
        models: [MODEL],
        minSize: 64,
        maxSize: 64,
        maxSteps: 4,
        unsupportedShare: 0,
        unsupportedSamplerShare: 0,
        nsfwShare: 0,
        r2Share: 1,
        maxN: 1,
      },
    });
    standin.enqueueMixed(6, 'faults');
    // The first horde calls fail: two 503s, then a 429 with Retry-After, and two uploads get a 500.
    standin.setFaults({ error5xx: { status: 503, count: 2 } });
    const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]));
    rig.worker.start();
    await until(() => standin.requests.filter((r) => r.status === 503).length === 2);
    standin.setFaults({ rateLimit: { retryAfterS: 1, count: 1 }, uploadFailures: { count: 2 } });
    await until(() => terminal(standin) && rig.worker.status().inFlight === 0);
    rig.worker.pause();
    await rig.worker.whenIdle();
    const jobs = standin.jobs();
    expect(jobs).toHaveLength(6);
    expect(jobs.every((j) => j.state === 'done' && j.submitCount === 1 && j.uploadCount === 1)).toBe(true);
    expect(standin.requests.some((r) => r.status === 429)).toBe(true);
    // Two uploads were refused with a 500 and retried: each image still arrived exactly once.
    expect(standin.stats().refusedUploads).toBe(2);
    expect(jobs.filter((j) => j.uploadAttempts === 2)).toHaveLength(2);
  }, 60_000);

  test('maintenance is entered with the horde’s message and left with one action', async () => {
    standin = await startStandin({
      mixed: { models: [MODEL], minSize: 64, maxSize: 64, maxSteps: 2, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
    });
    const rig = workerRig(standin.hordeApiUrl, quickGenerator([MODEL]));
    standin.enqueueMixed(1, 'first');
    rig.worker.start();
    await until(() => terminal(standin));
    standin.setWorkerMaintenance('HordeDesk Test Worker', true);
    await until(() => rig.worker.status().state === 'maintenance');
    expect(rig.worker.status().message).toMatch(/maintenance/i);
    // Leaving: the owner's PUT workers/{id}, then start again.
    const horde = rig.deps.horde as unknown as {
      getWorkerByName(n: string): Promise<{ id: string }>;
      modifyWorker(id: string, b: object): Promise<unknown>;
    };
    const details = await horde.getWorkerByName('HordeDesk Test Worker');
    await horde.modifyWorker(details.id, { maintenance: false });
    standin.enqueueMixed(2, 'after');
    rig.worker.start();
    await until(() => terminal(standin));
    expect(standin.jobs().every((j) => j.state === 'done')).toBe(true);
    rig.worker.pause();
    await rig.worker.whenIdle();
  }, 60_000);

  test('pause lets in-flight jobs finish; stop now faults them honestly', async () => {
    standin = await startStandin({
      mixed: { models: [MODEL], minSize: 64, maxSize: 64, maxSteps: 20, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
    });
    standin.enqueueMixed(30, 'pause');
    const generator = quickGenerator([MODEL], { stepMs: 5 });
    const rig = workerRig(standin.hordeApiUrl, generator);
    rig.worker.start();
    await until(() => rig.worker.status().current !== null);
    rig.worker.pause();
    expect(rig.worker.status().state).toBe('pausing');
    await rig.worker.whenIdle();
    expect(rig.worker.status().state).toBe('paused');
    expect(standin.jobs().filter((j) => j.state === 'processing')).toEqual([]);
    expect(standin.jobs().filter((j) => j.state === 'done').length).toBeGreaterThan(0);
    expect(standin.jobs().some((j) => j.state === 'waiting')).toBe(true);

    rig.worker.start();
    await until(() => rig.worker.status().current !== null && rig.worker.status().current!.step > 2);
    rig.worker.stopNow();
    await rig.worker.whenIdle();
    expect(rig.worker.status().state).toBe('stopped');
    expect(generator.cancelled.length).toBeGreaterThan(0);
    const stopped = standin.jobs().filter((j) => j.submitState === 'faulted');
    expect(stopped.length).toBeGreaterThan(0);
    expect(standin.jobs().filter((j) => j.state === 'processing')).toEqual([]);
  }, 60_000);
});
