import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, test } from 'vitest';
import type { WorkerDetails } from '../../src-main/common/horde';
import { RECORD_LAG_MS } from '../../src-main/core/kudos/creditWatch';
import { syncWorkerRecord } from '../../src-main/core/kudos/hordeReconcile';
import { creditedShare, hordeWorkerTotal } from '../../src-main/core/kudos/jobCredit';
import { computeTotals, type KudosLedgerPort } from '../../src-main/core/kudos/ledger';
import { summarizeJobCredits } from '../../src-main/core/kudos/queries';
import { createSqliteCreditWatch } from '../../src-main/node/kudos/creditWatchStore';
import { createSqliteKudosLedger } from '../../src-main/node/kudos/kudosLedger';
import { createSqliteKudosQueries } from '../../src-main/node/kudos/kudosQueries';
import { openDatabase } from '../../src-main/node/storage/database';
import { startStandin, type StandinHandle } from '../../src-main/standin/server';
import { hordeCall } from '../helpers/standinKit';
import { quickGenerator, until, workerRig, type WorkerRig } from '../helpers/worker';

// HordeDesk's kudos against the stand-in as the real horde books them (issue 12 items 3 and 5):
// the ledger holds what the horde credited, to its rounding, and a moderator's pause is found from
// the worker record the owner can read, its fake jobs booked at 0.

const MODEL = 'tiny-sd-test';
const NAME = 'HordeDesk Test Worker';
const MODERATOR_KEY = 'Mod3ratorKeyForTests00';
let standin: StandinHandle;
let db: DatabaseSync | null = null;
afterEach(async () => {
  await standin?.close();
  db?.close();
  db = null;
});

async function start(): Promise<void> {
  standin = await startStandin({
    mixed: { models: [MODEL], minSize: 64, maxSize: 192, maxSteps: 8, unsupportedShare: 0, unsupportedSamplerShare: 0, maxN: 1 },
  });
  standin.users.add({ id: 9, apiKey: MODERATOR_KEY, moderator: true, publicWorkers: false, details: { username: 'mod#9', id: 9 } });
}

/** A worker loop over its own database, with the ledger, its queries and the credit check on it. */
function rigWithLedger(): { rig: WorkerRig; ledger: KudosLedgerPort; database: DatabaseSync } {
  const database = openDatabase(join(mkdtempSync(join(tmpdir(), 'hd-credit-')), 'hordedesk.db')).db;
  db = database;
  const ledger = createSqliteKudosLedger(database);
  return { rig: workerRig(standin.hordeApiUrl, quickGenerator([MODEL]), { ledger }), ledger, database };
}

/** Runs the worker until `done` holds and nothing is in flight, then pauses it. */
async function runUntil(rig: WorkerRig, done: () => boolean): Promise<void> {
  rig.worker.start();
  await until(() => done() && rig.worker.status().inFlight === 0);
  rig.worker.pause();
  await rig.worker.whenIdle();
}

const doneBy = () => standin.jobs().filter((j) => j.worker === NAME && j.state === 'done');
const record = () => standin.worker(NAME) as { requests_fulfilled: number; kudos_details: { generated: number } };

describe("the ledger against the horde's credit", () => {
  test('after a run the ledger equals what the horde credited, to its per-job rounding', async () => {
    await start();
    standin.enqueueMixed(12, 'credit');
    const { rig, database } = rigWithLedger();
    await runUntil(rig, () => standin.drained(NAME));
    const jobs = createSqliteKudosQueries(database).jobCredits();
    const done = doneBy();
    expect(jobs).toHaveLength(done.length);
    expect(jobs.length).toBeGreaterThan(5);
    // The announced rewards are kept; the booked amounts are the horde's 75 % of them.
    const announced = done.reduce((a, j) => a + (j.reward ?? 0), 0);
    expect(jobs.reduce((a, j) => a + j.announced, 0)).toBeCloseTo(announced, 6);
    expect(jobs.map((j) => j.amount)).toEqual(jobs.map((j) => creditedShare(j.announced)));
    const generated = record().kudos_details.generated;
    expect(summarizeJobCredits(jobs).hordeRounded).toBe(generated);
    expect(hordeWorkerTotal(jobs.map((j) => j.amount))).toBe(generated);
    expect(rig.worker.status().stats.kudosSession).toBeCloseTo(summarizeJobCredits(jobs).credited, 6);
  }, 60_000);
});

describe("a moderator's pause", () => {
  test("its fake jobs are found from the owner's worker record and booked at 0", async () => {
    await start();
    const { rig, ledger, database } = rigWithLedger();
    const credit = createSqliteCreditWatch(database);
    const horde = rig.deps.horde as unknown as { getWorkerByName(name: string): Promise<WorkerDetails> };
    const watch = (offsetMs = 0) => syncWorkerRecord({ horde, ledger, credit, now: () => new Date(Date.now() + offsetMs) }, NAME);

    standin.enqueueMixed(3, 'before the pause');
    await runUntil(rig, () => standin.drained(NAME));
    const real = doneBy().length;
    expect((await watch()).credit).toMatchObject({ hold: null });

    const id = (standin.worker(NAME) as { id: string }).id;
    await hordeCall(standin, `/api/v2/workers/${id}`, { apikey: MODERATOR_KEY, method: 'PUT', body: { paused: true } });
    standin.enqueueMixed(4, 'while paused');
    await runUntil(rig, () => doneBy().length === real + 4);
    // The horde answered each fake with a reward and credited none of them.
    expect(record().requests_fulfilled).toBe(real);
    expect(standin.queue().filter((r) => r.waiting > 0)).toHaveLength(4);

    // The owner's record has no `paused`; its job count standing still gives the pause away.
    expect(await horde.getWorkerByName(NAME)).not.toHaveProperty('paused');
    const found = await watch(RECORD_LAG_MS);
    expect(found.credit).toMatchObject({ hold: { how: 'credits' }, rebooked: 4, holdChanged: true });
    const jobs = summarizeJobCredits(createSqliteKudosQueries(database).jobCredits());
    expect(jobs).toMatchObject({ count: real, notCredited: { count: 4 } });
    expect(jobs.hordeRounded).toBe(record().kudos_details.generated);
    const totals = computeTotals(ledger, new Date());
    expect(totals.bySource.job).toBeCloseTo(jobs.credited, 6);
    expect(totals.creditHold).toMatchObject({ how: 'credits', text: expect.stringMatching(/moderator's pause/) });
  }, 60_000);

  test("the moderator's own view (`paused` in the record) is taken at once", async () => {
    await start();
    const { rig, ledger, database } = rigWithLedger();
    const credit = createSqliteCreditWatch(database);
    const modHorde = {
      getWorkerByName: async (name: string) =>
        (await hordeCall(standin, `/api/v2/workers/name/${encodeURIComponent(name)}`, { apikey: MODERATOR_KEY }))
          .body as unknown as WorkerDetails,
    };
    standin.enqueueMixed(1, 'first');
    await runUntil(rig, () => standin.drained(NAME));
    await syncWorkerRecord({ horde: modHorde, ledger, credit, now: () => new Date() }, NAME);
    const id = (standin.worker(NAME) as { id: string }).id;
    await hordeCall(standin, `/api/v2/workers/${id}`, { apikey: MODERATOR_KEY, method: 'PUT', body: { paused: true } });
    standin.enqueueMixed(1, 'second');
    await runUntil(rig, () => doneBy().length === 2);
    expect((await syncWorkerRecord({ horde: modHorde, ledger, credit, now: () => new Date() }, NAME)).credit?.hold).toMatchObject({
      how: 'record',
    });
    expect(ledger.creditHold()).toMatchObject({ how: 'record' });
  }, 60_000);
});
