import { afterEach, describe, expect, test, vi } from 'vitest';
import { startStandin, STANDIN_KEYS, type StandinHandle, type StandinOptions } from '../../src-main/standin/server';
import { DROPPED_JOBS_MAINTENANCE_MESSAGE, OWNER_MAINTENANCE_MESSAGE } from '../../src-main/standin/workers';
import { hordeCall, hordeDeskPop, manualClock, popAs, putUpload, submitAs, tinyWebpBytes } from '../helpers/standinKit';

// Job lifecycle rules: compare-and-set submits, the ttl clock and abort sweep, faulted requeues,
// automatic and owner maintenance, and worker edits. Time is moved by hand (manualClock), so no
// assertion depends on the wall clock; the one timer test waits for state, not for a duration.

const open: StandinHandle[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

async function start(opts: StandinOptions = {}) {
  const clock = manualClock();
  const standin = await startStandin({ ...opts, jobs: { now: clock.now, sweepIntervalMs: 0, ...opts.jobs } });
  open.push(standin);
  return { standin, clock };
}

const small = {
  prompt: 'a small test image',
  params: { width: 64, height: 64, steps: 4, sampler_name: 'k_euler' as const },
  models: ['stable_diffusion'],
  nsfw: false,
  r2: false,
};
const webp = () => tinyWebpBytes().toString('base64');

async function popOne(standin: StandinHandle, overrides: Record<string, unknown> = {}, apikey?: string) {
  const res = await popAs(standin, hordeDeskPop(overrides), apikey);
  expect(res.status).toBe(200);
  return res.body as unknown as { id: string; ids: string[]; payload: { seed: string }; r2_upload: string | null };
}

describe('submit', () => {
  test('unknown id 404, first submit wins, the second is 400 DuplicateGen; each submit is counted', async () => {
    const { standin } = await start();
    standin.enqueue(small);
    const pop = await popOne(standin);
    const unknown = await submitAs(standin, { id: '00000000-0000-4000-8000-000000000000', generation: webp(), seed: 1 });
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({
      message: 'Processing Job with ID 00000000-0000-4000-8000-000000000000 does not exist.',
      rc: 'InvalidJobID',
    });
    const seed = Number(pop.payload.seed);
    expect((await submitAs(standin, { id: pop.id, generation: webp(), seed: String(seed) })).body).toMatchObject({
      errors: { seed: expect.any(String) },
    });
    expect((await submitAs(standin, { id: pop.id, generation: webp() })).status).toBe(400);
    const first = await submitAs(standin, { id: pop.id, generation: webp(), seed });
    expect(first.body).toEqual({ reward: expect.any(Number) });
    expect(first.body.reward).toBeGreaterThan(0);
    const second = await submitAs(standin, { id: pop.id, generation: webp(), seed });
    expect(second.status).toBe(400);
    expect(second.body.rc).toBe('DuplicateGen');
    expect(standin.job(pop.id)).toMatchObject({ state: 'done', submitCount: 2, reward: first.body.reward });
  });

  test('a job past its ttl is aborted and requeued under a new id; its late submit is 400 AbortedGen', async () => {
    const { standin, clock } = await start();
    const { id: requestId } = standin.enqueue(small);
    const pop = await popOne(standin);
    expect(standin.job(pop.id)?.ttl).toBe(150);
    clock.advance(150);
    expect(standin.job(pop.id)?.state).toBe('processing');
    clock.advance(1);
    expect(standin.job(pop.id)).toMatchObject({ state: 'aborted', abortReason: 'ttl', reward: 0 });
    expect(standin.queue()).toEqual([expect.objectContaining({ id: requestId, state: 'waiting', waiting: 1, faults: 1 })]);
    const late = await submitAs(standin, { id: pop.id, generation: webp(), seed: 1 });
    expect(late.status).toBe(400);
    expect(late.body).toMatchObject({ rc: 'AbortedGen', message: expect.stringContaining('Please check your worker speed') });
    expect((await submitAs(standin, { id: pop.id, generation: 'Faulted', seed: 1, state: 'faulted' })).body).toEqual({ reward: 0 });
    const again = await popOne(standin);
    expect(again.id).not.toBe(pop.id);
    expect(standin.job(again.id)).toMatchObject({ requestId, state: 'processing' });
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ uncompleted_jobs: 1 });
  });

  test('ttlOverrideSeconds and timeScale shorten the clock; the reported ttl can follow', async () => {
    const { standin, clock } = await start({ jobs: { timeScale: 0.01 } });
    standin.enqueue(small);
    const pop = await popOne(standin);
    expect(standin.job(pop.id)?.ttl).toBe(150);
    clock.advance(1.49);
    expect(standin.sweep()).toEqual([]);
    clock.advance(0.02);
    expect(standin.sweep()).toEqual([pop.id]);

    const other = await start({ jobs: { ttlOverrideSeconds: 2.5, reportEffectiveTtl: true } });
    other.standin.enqueue(small);
    const short = await popOne(other.standin);
    expect(other.standin.job(short.id)?.ttl).toBe(3);
    other.clock.advance(2.6);
    expect(other.standin.job(short.id)?.state).toBe('aborted');
  });

  test('faulted submits answer reward 0 and requeue; a request faulted more than twice is given up', async () => {
    const { standin } = await start();
    const { id: requestId } = standin.enqueue(small);
    const seen: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const pop = await popOne(standin);
      seen.push(pop.id);
      expect(
        (await submitAs(standin, { id: pop.id, generation: 'Faulted', seed: Number(pop.payload.seed), state: 'faulted' })).body,
      ).toEqual({ reward: 0 });
      expect(standin.job(pop.id)).toMatchObject({ state: 'faulted', abortReason: 'faulted', submitCount: 1 });
    }
    expect(new Set(seen).size).toBe(3);
    expect(standin.queue()[0]).toMatchObject({ id: requestId, state: 'faulted', faults: 3, waiting: 0 });
    expect((await popOne(standin)).ids).toEqual([]);
    expect(standin.stats().jobs).toMatchObject({ faulted: 3, waiting: 0 });
  });

  test('submitTimeoutMs records the submit at once but holds the answer; the retry meets DuplicateGen', async () => {
    const { standin } = await start();
    standin.enqueue(small);
    const pop = await popOne(standin);
    standin.setFaults({ submitTimeoutMs: 60_000 });
    const body = JSON.stringify({ id: pop.id, generation: webp(), seed: Number(pop.payload.seed) });
    const headers = { apikey: STANDIN_KEYS.workerOwner, 'Content-Type': 'application/json' };
    const lost = fetch(`${standin.url}/api/v2/generate/submit`, { method: 'POST', headers, body, signal: AbortSignal.timeout(200) });
    await expect(lost).rejects.toThrow();
    await vi.waitFor(() => expect(standin.job(pop.id)?.state).toBe('done'));
    standin.resetFaults();
    expect((await submitAs(standin, JSON.parse(body) as Record<string, unknown>)).body.rc).toBe('DuplicateGen');
    expect(standin.job(pop.id)?.submitCount).toBe(2);
  });
});

describe('maintenance', () => {
  test('more than 20 aborts in an hour put the worker into maintenance; owner jobs still flow; PUT leaves it', async () => {
    const { standin, clock } = await start();
    for (let i = 0; i < 8; i += 1) standin.enqueue(small);
    for (let aborted = 0; aborted < 20; aborted += 1) {
      const pop = await popOne(standin);
      if (aborted % 2) await submitAs(standin, { id: pop.id, generation: 'Faulted', seed: 0, state: 'faulted' });
      else clock.advance(151);
    }
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ maintenance_mode: false, uncompleted_jobs: 20 });
    clock.advance(151);
    const last = await popOne(standin);
    clock.advance(151);
    const blocked = await popAs(standin, hordeDeskPop());
    expect(blocked.status).toBe(403);
    expect(blocked.body).toEqual({ message: DROPPED_JOBS_MAINTENANCE_MESSAGE, rc: 'WorkerMaintenance' });
    expect(standin.job(last.id)?.state).toBe('aborted');
    const details = standin.worker('HordeDesk Test Worker') as { id: string; maintenance_mode: boolean; uncompleted_jobs: number };
    expect(details).toMatchObject({ maintenance_mode: true, uncompleted_jobs: 21 });

    // The owner's own request is still handed out during maintenance.
    const own = standin.enqueue(small, { apikey: STANDIN_KEYS.workerOwner });
    const ownPop = await popOne(standin);
    expect(standin.job(ownPop.id)?.requestId).toBe(own.id);

    const put = await hordeCall(standin, `/api/v2/workers/${details.id}`, {
      method: 'PUT',
      apikey: STANDIN_KEYS.workerOwner,
      body: { maintenance: false },
    });
    expect(put.body).toEqual({ maintenance: false });
    expect((await popOne(standin)).ids).toHaveLength(1);
  });

  test('owner maintenance and the workerMaintenance switch answer 403 unless an owner job waits', async () => {
    const { standin } = await start();
    await popOne(standin);
    standin.setWorkerMaintenance('HordeDesk Test Worker', true);
    standin.enqueue(small);
    const blocked = await popAs(standin, hordeDeskPop());
    expect(blocked.body).toEqual({ message: OWNER_MAINTENANCE_MESSAGE, rc: 'WorkerMaintenance' });
    standin.setWorkerMaintenance('HordeDesk Test Worker', true, 'Back after lunch');
    expect((await popAs(standin, hordeDeskPop())).body.message).toBe('Back after lunch');
    standin.setWorkerMaintenance('HordeDesk Test Worker', false);
    standin.setFaults({ workerMaintenance: true });
    expect((await popAs(standin, hordeDeskPop())).body.rc).toBe('WorkerMaintenance');
    standin.enqueue(small, { apikey: STANDIN_KEYS.workerOwner });
    expect((await popOne(standin)).ids).toHaveLength(1);
    expect(() => standin.setWorkerMaintenance('nobody', true)).toThrow();
  });

  test('PUT /workers/{id}: owner only, changed fields answered, nothing selected is NoWorkerModSelected', async () => {
    const { standin } = await start();
    await popOne(standin);
    const id = String(standin.worker('HordeDesk Test Worker')?.id);
    const put = (body: unknown, apikey: string = STANDIN_KEYS.workerOwner) =>
      hordeCall(standin, `/api/v2/workers/${id}`, { method: 'PUT', apikey, body });
    expect((await put({})).body).toEqual({ message: 'No worker modification selected!', rc: 'NoWorkerModSelected' });
    expect((await put({ maintenance_msg: 'only a message' })).body.rc).toBe('NoWorkerModSelected');
    expect((await put({ maintenance: true }, STANDIN_KEYS.requester)).body.rc).toBe('NotOwner');
    expect((await put({ name: 'Stolen Name' }, STANDIN_KEYS.requester)).body.rc).toBe('NotModerator');
    expect((await put({ paused: true })).body.rc).toBe('NotModerator');
    expect((await put({ maintenance: 'yes' })).body).toMatchObject({ errors: { maintenance: expect.any(String) } });
    expect((await put({ maintenance: true }, 'NotARealKey_0123456789')).status).toBe(401);
    const changed = await put({ maintenance: true, maintenance_msg: 'GPU swap', info: 'A test box', name: 'Renamed Worker', team: '' });
    expect(changed.body).toEqual({ maintenance: true, info: 'A test box', name: 'Renamed Worker', team: 'None' });
    const details = (await hordeCall(standin, `/api/v2/workers/${id}`)).body;
    expect(details).toMatchObject({ maintenance_mode: true, info: 'A test box', name: 'Renamed Worker' });
    expect((await popAs(standin, hordeDeskPop({ name: 'Renamed Worker' }))).body.message).toBe('GPU swap');
    expect((await hordeCall(standin, '/api/v2/workers/nope', { method: 'PUT', apikey: STANDIN_KEYS.workerOwner, body: {} })).body.rc).toBe(
      'WorkerNotFound',
    );
  });
});

describe('clock', () => {
  test('uptime accrues while online and pays 50 + 2 per model every 600 s; going offline restarts the period', async () => {
    const { standin, clock } = await start();
    const kudos = async () => (await hordeCall(standin, '/api/v2/find_user', { apikey: STANDIN_KEYS.workerOwner })).body.kudos;
    const before = await kudos();
    for (let i = 0; i < 4; i += 1) {
      await popOne(standin, { models: ['stable_diffusion', 'Deliberate'] });
      clock.advance(200);
    }
    // Check-ins at 0, 200, 400, 600: one full period.
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({
      uptime: 600,
      kudos_details: { generated: 0, uptime: 54 },
      kudos_rewards: 54,
    });
    expect(await kudos()).toBe(Number(before) + 54);
    clock.advance(400);
    await popOne(standin, { models: ['stable_diffusion', 'Deliberate'] });
    expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ uptime: 600, online: true });
  });

  test('the sweep timer aborts late jobs by itself', async () => {
    const standin = await startStandin({ jobs: { ttlOverrideSeconds: 0.05, sweepIntervalMs: 10 } });
    open.push(standin);
    standin.enqueue({ ...small, r2: true });
    const pop = await popOne(standin);
    expect(pop.r2_upload).not.toBeNull();
    // worker() does not sweep by itself, so this waits for the timer.
    await vi.waitFor(() => expect(standin.worker('HordeDesk Test Worker')).toMatchObject({ uncompleted_jobs: 1 }), { timeout: 5_000 });
    expect(await putUpload(String(pop.r2_upload), tinyWebpBytes())).toBe(200);
    expect((await submitAs(standin, { id: pop.id, generation: 'R2', seed: 1 })).body.rc).toBe('AbortedGen');
  });
});
