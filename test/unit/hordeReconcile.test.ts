import { describe, expect, test } from 'vitest';
import type { UserDetails, WorkerDetails } from '../../src-main/common/horde';
import type { KudosReconcile } from '../../src-main/common/kudosViews';
import type { LedgerRow } from '../../src-main/core/kudos/charts';
import {
  HORDEDESK_BRIDGE_MULTIPLIER,
  reconcileWithHorde,
  syncWorkerRecord,
  type HordeReconcileDeps,
} from '../../src-main/core/kudos/hordeReconcile';
import type { CreditWatchPort, CreditWatchState } from '../../src-main/core/kudos/creditWatch';
import { jobRewardEvent, type CreditHold } from '../../src-main/core/kudos/jobCredit';
import type { KudosEvent, KudosLedgerPort, KudosSource } from '../../src-main/core/kudos/ledger';
import { kudosChartsAt, type KudosQueryPort } from '../../src-main/core/kudos/queries';
import { RECONCILE_LABELS } from '../../src-main/core/kudos/reconcile';

const NOW = new Date(Date.UTC(2026, 4, 20, 12, 0, 0));

type MemoryLedger = KudosLedgerPort & KudosQueryPort & { rows: KudosEvent[]; hold: CreditHold | null };

/** The ledger in memory, answering both the ledger port and the Kudos page's queries. */
function memoryLedger(rows: KudosEvent[] = []): MemoryLedger {
  const totals = (since: number) => {
    const sums = new Map<KudosSource, { total: number; count: number }>();
    for (const r of rows.filter((row) => row.at >= since)) {
      const s = sums.get(r.source) ?? { total: 0, count: 0 };
      sums.set(r.source, { total: s.total + r.amount, count: s.count + 1 });
    }
    return [...sums].map(([source, s]) => ({ source, ...s }));
  };
  return {
    rows,
    hold: null,
    creditHold() {
      return this.hold;
    },
    jobCredits: () =>
      rows
        .filter((r) => r.source === 'job')
        .map((r) => ({ amount: r.amount, announced: r.announced ?? r.amount, notCredited: r.notCredited ?? null })),
    record(event) {
      if (rows.some((r) => r.source === event.source && r.hordeRef === event.hordeRef)) return { inserted: false };
      rows.push(event);
      return { inserted: true };
    },
    sumSince: totals,
    rowsSince: (since): LedgerRow[] => rows.filter((r) => r.at >= since).map(({ source, amount, at }) => ({ source, amount, at })),
    totalsBySource() {
      const out: Record<KudosSource, number> = { job: 0, rating: 0, uptime: 0 };
      for (const { source, total } of totals(0)) out[source] = total;
      return out;
    },
  };
}

/** The credit check's state in memory; these tests only need it to keep what it is given. */
function memoryCredit(): CreditWatchPort & { saved: CreditWatchState | null } {
  return {
    saved: null,
    state() {
      return this.saved;
    },
    jobsAfter: () => [],
    commit(_changes, state) {
      this.saved = state;
    },
  };
}

const user: UserDetails = { username: 'me#1', id: 1, kudos: 500, kudos_details: { awarded: 0 }, trusted: true };
const worker = (generated: number, uptime: number | null): WorkerDetails => ({
  id: 'w-1',
  name: 'Quiet Desk',
  kudos_details: { generated, uptime },
  trusted: true,
});

function deps(ledger: MemoryLedger, overrides: Partial<HordeReconcileDeps> = {}) {
  let booked = 0;
  const d: HordeReconcileDeps = {
    horde: { findUser: async () => user, getWorkerByName: async () => worker(18, null) },
    ledger,
    queries: ledger,
    credit: memoryCredit(),
    hasApiKey: () => true,
    workerName: () => 'Quiet Desk',
    now: () => NOW,
    onLedgerChanged: () => void (booked += 1),
    ...overrides,
  };
  return { d, booked: () => booked };
}

const jobRow = (view: KudosReconcile) => view.rows.find((r) => r.label === RECONCILE_LABELS.job);

describe('reconcileWithHorde', () => {
  test("HordeDesk's jobs are booked at ×0.75 and the horde's per-job rounding is expected", async () => {
    expect(HORDEDESK_BRIDGE_MULTIPLIER).toBe(0.75);
    // Four jobs announced at 6.24: 4.68 credited each, which the horde's worker record rounds to 5 each.
    const ledger = memoryLedger(
      [1, 2, 3, 4].map((i) => jobRewardEvent({ announced: 6.24, at: NOW.getTime() - i * 1000, hordeRef: `job-${i}` }, null)),
    );
    const view = await reconcileWithHorde(
      deps(ledger, { horde: { findUser: async () => user, getWorkerByName: async () => worker(20, null) } }).d,
    );
    expect(view.available).toBe(true);
    expect(jobRow(view)).toMatchObject({ local: 18.72, horde: 20 });
    expect(jobRow(view)?.explanation).toContain('75% of the reward it announced');
    expect(jobRow(view)?.explanation).toContain('(18.72 of the 24.96 announced for 4 jobs)');
    expect(jobRow(view)?.explanation).toContain('so it should show 20. It does: the two agree.');
  });

  test('a pause the ledger knows of is the first note', async () => {
    const ledger = memoryLedger();
    ledger.hold = { since: NOW.getTime() - 60_000, how: 'credits' };
    const view = await reconcileWithHorde(deps(ledger).d);
    expect(view.notes[0]).toMatch(/stopped crediting this worker's jobs/);
  });

  test('uptime the worker record shows is booked first, and the totals say so', async () => {
    const ledger = memoryLedger();
    const { d, booked } = deps(ledger, { horde: { findUser: async () => user, getWorkerByName: async () => worker(0, 120) } });
    const view = await reconcileWithHorde(d);
    expect(ledger.rows).toEqual([{ source: 'uptime', amount: 120, at: NOW.getTime(), hordeRef: 'uptime-total-120' }]);
    expect(booked()).toBe(1);
    expect(view.rows.find((r) => r.label === RECONCILE_LABELS.uptime)).toMatchObject({ local: 120, horde: 120 });
    await reconcileWithHorde(d);
    expect(booked()).toBe(1);
  });

  test('without a key the horde is not asked and the answer says why', async () => {
    let asked = 0;
    const ask = async (): Promise<never> => {
      asked += 1;
      throw new Error('not reached');
    };
    const view = await reconcileWithHorde(
      deps(memoryLedger(), { hasApiKey: () => false, horde: { findUser: ask, getWorkerByName: ask } }).d,
    );
    expect(asked).toBe(0);
    expect(view).toMatchObject({ available: false, message: 'No API key is set, so the horde cannot be asked.' });
  });

  test('a horde that cannot be read gives its reason; a missing worker record is not a failure', async () => {
    const offline = await reconcileWithHorde(
      deps(memoryLedger(), {
        horde: { findUser: () => Promise.reject(new Error('the horde is down')), getWorkerByName: async () => worker(0, 0) },
      }).d,
    );
    expect(offline).toMatchObject({ available: false, message: 'the horde is down' });
    const noWorker = await reconcileWithHorde(
      deps(memoryLedger(), { horde: { findUser: async () => user, getWorkerByName: () => Promise.reject(new Error('404')) } }).d,
    );
    expect(noWorker).toMatchObject({ available: true, message: null });
    expect(jobRow(noWorker)?.horde).toBeNull();
  });

  test('without a worker name only the user record is read', async () => {
    const names: string[] = [];
    const view = await reconcileWithHorde(
      deps(memoryLedger(), {
        workerName: () => '',
        horde: { findUser: async () => user, getWorkerByName: async (n) => (names.push(n), worker(1, 1)) },
      }).d,
    );
    expect(names).toEqual([]);
    expect(view.available).toBe(true);
  });
});

describe('syncWorkerRecord and the charts', () => {
  test('books only the uptime the horde credited since the last look', async () => {
    const ledger = memoryLedger();
    let total = 100;
    const d = {
      horde: { findUser: async () => user, getWorkerByName: async () => worker(0, total) },
      ledger,
      credit: memoryCredit(),
      now: () => NOW,
    };
    expect((await syncWorkerRecord(d, 'Quiet Desk')).uptimeBooked).toBe(100);
    expect((await syncWorkerRecord(d, 'Quiet Desk')).uptimeBooked).toBe(0);
    total = 150;
    expect((await syncWorkerRecord(d, 'Quiet Desk')).uptimeBooked).toBe(50);
  });

  test('a record with a job count starts the credit check; one without is left unchecked', async () => {
    const credit = memoryCredit();
    const record = { ...worker(0, null), requests_fulfilled: 7 };
    const d = {
      horde: { findUser: async () => user, getWorkerByName: async () => record },
      ledger: memoryLedger(),
      credit,
      now: () => NOW,
    };
    expect((await syncWorkerRecord(d, 'Quiet Desk')).credit).toEqual({ hold: null, rebooked: 0, holdChanged: false });
    expect(credit.saved).toEqual({ workerName: 'Quiet Desk', readAt: NOW.getTime(), fulfilled: 7, hold: null });
    const bare = { ...d, horde: { findUser: async () => user, getWorkerByName: async () => worker(0, null) } };
    expect((await syncWorkerRecord(bare, 'Quiet Desk')).credit).toBeNull();
  });

  test('the charts read the rows of the last 30 days and the all-time totals', () => {
    const day = 24 * 3600_000;
    const ledger = memoryLedger([
      { source: 'job', amount: 5, at: NOW.getTime() - 40 * day, hordeRef: 'old' },
      { source: 'rating', amount: 2, at: NOW.getTime() - 3600_000, hordeRef: 'new' },
    ]);
    const charts = kudosChartsAt(ledger, NOW);
    expect(charts.allTime).toEqual({ job: 5, rating: 2, uptime: 0 });
    expect(charts.days.reduce((sum, d) => sum + d.job + d.rating + d.uptime, 0)).toBe(2);
  });
});
