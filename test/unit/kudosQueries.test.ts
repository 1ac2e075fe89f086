import { DatabaseSync } from 'node:sqlite';
import { describe, expect, test } from 'vitest';
import { migrate } from '../../src-main/node/storage/database';
import { createSqliteKudosLedger } from '../../src-main/node/kudos/kudosLedger';
import { ledgerRowsSince, ledgerTotalsBySource } from '../../src-main/node/kudos/kudosQueries';
import { MIGRATIONS } from '../../src-main/node/storage/migrations';

function ledgerDb(): DatabaseSync {
  const db = new DatabaseSync(':memory:');
  migrate(db, ':memory:', MIGRATIONS);
  return db;
}

describe('kudos queries', () => {
  test('an empty ledger', () => {
    const db = ledgerDb();
    expect(ledgerRowsSince(db, 0)).toEqual([]);
    expect(ledgerTotalsBySource(db)).toEqual({ job: 0, rating: 0, uptime: 0 });
  });

  test('rows since a time, oldest first, and all-time totals by source', () => {
    const db = ledgerDb();
    const ledger = createSqliteKudosLedger(db, () => 1);
    ledger.record({ source: 'job', amount: 6.24, at: 3000, hordeRef: 'j2' });
    ledger.record({ source: 'job', amount: 6.24, at: 1000, hordeRef: 'j1' });
    ledger.record({ source: 'rating', amount: 5, at: 2000, hordeRef: 'r1' });
    ledger.record({ source: 'uptime', amount: 70, at: 4000, hordeRef: 'u1' });
    expect(ledgerRowsSince(db, 2000)).toEqual([
      { source: 'rating', amount: 5, at: 2000 },
      { source: 'job', amount: 6.24, at: 3000 },
      { source: 'uptime', amount: 70, at: 4000 },
    ]);
    expect(ledgerTotalsBySource(db)).toEqual({ job: 12.48, rating: 5, uptime: 70 });
  });
});
