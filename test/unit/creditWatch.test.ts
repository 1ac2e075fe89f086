import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, test } from 'vitest';
import { checkCredit, readingOf, RECORD_LAG_MS, type CreditWatchPort } from '../../src-main/core/kudos/creditWatch';
import { jobRewardEvent } from '../../src-main/core/kudos/jobCredit';
import type { KudosLedgerPort } from '../../src-main/core/kudos/ledger';
import { createSqliteCreditWatch } from '../../src-main/node/kudos/creditWatchStore';
import { createSqliteKudosLedger } from '../../src-main/node/kudos/kudosLedger';
import { openDatabase } from '../../src-main/node/storage/database';

// The credit check over the real SQLite ledger: the worker record's job count against the jobs
// the ledger booked since it last moved. Times are seconds from an arbitrary start.

const S = 1000;
let close: (() => void) | null = null;
afterEach(() => {
  close?.();
  close = null;
});

function rig(): { ledger: KudosLedgerPort; credit: CreditWatchPort; book: (ref: string, atS: number) => number; jobs: () => unknown[] } {
  const { db } = openDatabase(join(mkdtempSync(join(tmpdir(), 'hd-watch-')), 'hordedesk.db'));
  close = () => db.close();
  const ledger = createSqliteKudosLedger(db);
  const book = (ref: string, atS: number): number => {
    const event = jobRewardEvent({ announced: 6.24, at: atS * S, hordeRef: ref }, ledger.creditHold());
    ledger.record(event);
    return event.amount;
  };
  const jobs = () =>
    db.prepare("SELECT horde_ref AS ref, amount, not_credited AS why FROM kudos_ledger WHERE source = 'job' ORDER BY at").all();
  return { ledger, credit: createSqliteCreditWatch(db), book, jobs };
}

const reading = (atS: number, fulfilled: number, paused: boolean | null = null) => ({ workerName: 'Desk', at: atS * S, fulfilled, paused });
const jobTotal = (ledger: KudosLedgerPort) => ledger.sumSince(0).find((r) => r.source === 'job')?.total ?? 0;

describe('the credit check', () => {
  test('a worker the horde credits: the count follows the ledger and nothing is booked anew', () => {
    const { ledger, credit, book } = rig();
    expect(checkCredit(credit, reading(0, 10))).toEqual({ hold: null, rebooked: 0, holdChanged: false });
    book('a', 10);
    book('b', 20);
    book('c', 30);
    expect(checkCredit(credit, reading(200, 13))).toEqual({ hold: null, rebooked: 0, holdChanged: false });
    expect(jobTotal(ledger)).toBeCloseTo(3 * 4.68, 6);
  });

  test('rewarded jobs the count never shows are a pause: booked 0, and later jobs too, until the count moves', () => {
    const { ledger, credit, book, jobs } = rig();
    checkCredit(credit, reading(0, 10));
    book('real-1', 10);
    book('real-2', 20);
    checkCredit(credit, reading(120, 12));
    book('fake-1', 130);
    book('fake-2', 140);
    book('fake-3', 150);
    const found = checkCredit(credit, reading(240, 12));
    expect(found).toEqual({ hold: { since: 130 * S, how: 'credits' }, rebooked: 3, holdChanged: true });
    expect(ledger.creditHold()).toEqual({ since: 130 * S, how: 'credits' });
    expect(book('fake-4', 250)).toBe(0);
    expect(jobTotal(ledger)).toBeCloseTo(2 * 4.68, 6);
    expect(jobs()).toEqual([
      { ref: 'real-1', amount: 4.68, why: null },
      { ref: 'real-2', amount: 4.68, why: null },
      { ref: 'fake-1', amount: 0, why: 'paused' },
      { ref: 'fake-2', amount: 0, why: 'paused' },
      { ref: 'fake-3', amount: 0, why: 'paused' },
      { ref: 'fake-4', amount: 0, why: 'paused' },
    ]);

    // The pause is lifted: the next two jobs are counted, so they are booked after all; the fakes stay at 0.
    book('real-3', 300);
    book('real-4', 310);
    expect(checkCredit(credit, reading(420, 14))).toEqual({ hold: null, rebooked: 2, holdChanged: true });
    expect(ledger.creditHold()).toBeNull();
    expect(jobTotal(ledger)).toBeCloseTo(4 * 4.68, 6);
    expect(book('real-5', 430)).toBe(4.68);
  });

  test('the fakes of several readings in a row count together', () => {
    const { ledger, credit, book } = rig();
    checkCredit(credit, reading(0, 10));
    book('fake-1', 10);
    expect(checkCredit(credit, reading(120, 10)).hold).toBeNull();
    book('fake-2', 130);
    expect(checkCredit(credit, reading(240, 10)).hold).toEqual({ since: 10 * S, how: 'credits' });
    expect(jobTotal(ledger)).toBe(0);
  });

  test('jobs too recent for the cached record, or a single one, are no evidence', () => {
    const { ledger, credit, book } = rig();
    checkCredit(credit, reading(0, 10));
    book('a', 100);
    book('b', 110);
    expect(checkCredit(credit, reading(100 + RECORD_LAG_MS / S - 1, 10)).hold).toBeNull();
    expect(checkCredit(credit, reading(300, 12)).hold).toBeNull();
    book('c', 310);
    expect(checkCredit(credit, reading(600, 12)).hold).toBeNull();
    expect(jobTotal(ledger)).toBeCloseTo(3 * 4.68, 6);
  });

  test("a moderator's key sees `paused`: the record decides at once", () => {
    const { ledger, credit, book } = rig();
    checkCredit(credit, reading(0, 10));
    book('fake-1', 10);
    expect(checkCredit(credit, reading(20, 10, true))).toEqual({ hold: { since: 10 * S, how: 'record' }, rebooked: 1, holdChanged: true });
    expect(jobTotal(ledger)).toBe(0);
    expect(checkCredit(credit, reading(30, 10, false)).hold).toBeNull();
  });

  test('another worker name starts over without judging the jobs', () => {
    const { ledger, credit, book } = rig();
    checkCredit(credit, reading(0, 10));
    book('a', 10);
    book('b', 20);
    expect(checkCredit(credit, { ...reading(300, 0), workerName: 'Other Desk' }).hold).toBeNull();
    expect(jobTotal(ledger)).toBeCloseTo(2 * 4.68, 6);
  });

  test('a record reading needs the job count', () => {
    expect(readingOf({ id: 'w', name: 'Desk', requests_fulfilled: 3 }, 'Desk', 5)).toEqual({
      workerName: 'Desk',
      at: 5,
      fulfilled: 3,
      paused: null,
    });
    expect(readingOf({ id: 'w', name: 'Desk', requests_fulfilled: 3, paused: true }, 'Desk', 5)?.paused).toBe(true);
    expect(readingOf({ id: 'w', name: 'Desk' }, 'Desk', 5)).toBeNull();
  });
});
