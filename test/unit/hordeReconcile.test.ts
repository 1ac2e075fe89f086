import { describe, expect, test } from 'vitest';
import type { UserDetails, WorkerDetails } from '../../src-main/common/horde';
import type { KudosReconcile } from '../../src-main/common/kudosViews';
import type { LedgerRow } from '../../src-main/core/kudos/charts';
import {
  HORDEDESK_BRIDGE_MULTIPLIER,
  reconcileWithHorde,
  syncUptimeKudos,
  type HordeReconcileDeps,
} from '../../src-main/core/kudos/hordeReconcile';
import type { KudosEvent, KudosLedgerPort, KudosSource } from '../../src-main/core/kudos/ledger';
import { kudosChartsAt, type KudosQueryPort } from '../../src-main/core/kudos/queries';
import { RECONCILE_LABELS } from '../../src-main/core/kudos/reconcile';

const NOW = new Date(Date.UTC(2026, 4, 20, 12, 0, 0));

type MemoryLedger = KudosLedgerPort & KudosQueryPort & { rows: KudosEvent[] };

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
    hasApiKey: () => true,
    workerName: () => 'Quiet Desk',
    now: () => NOW,
    onUptimeBooked: () => void (booked += 1),
    ...overrides,
  };
  return { d, booked: () => booked };
}

const jobRow = (view: KudosReconcile) => view.rows.find((r) => r.label === RECONCILE_LABELS.job);

describe('reconcileWithHorde', () => {
  test("HordeDesk's jobs are credited at ×0.75: 24 announced agrees with 18 on the horde", async () => {
    expect(HORDEDESK_BRIDGE_MULTIPLIER).toBe(0.75);
    const ledger = memoryLedger([{ source: 'job', amount: 24, at: NOW.getTime() - 1000, hordeRef: 'job-1' }]);
    const view = await reconcileWithHorde(deps(ledger).d);
    expect(view.available).toBe(true);
    expect(jobRow(view)).toMatchObject({ local: 24, horde: 18 });
    expect(jobRow(view)?.explanation).toContain(
      'The horde then credits 75% of that to workers run by HordeDesk, so about 18 should show on the horde.',
    );
    expect(jobRow(view)?.explanation).toContain('The two agree');
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

describe('syncUptimeKudos and the charts', () => {
  test('books only what the horde credited since the last look', async () => {
    const ledger = memoryLedger();
    let total = 100;
    const d = { horde: { findUser: async () => user, getWorkerByName: async () => worker(0, total) }, ledger, now: () => NOW };
    expect(await syncUptimeKudos(d, 'Quiet Desk')).toBe(100);
    expect(await syncUptimeKudos(d, 'Quiet Desk')).toBe(0);
    total = 150;
    expect(await syncUptimeKudos(d, 'Quiet Desk')).toBe(50);
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
