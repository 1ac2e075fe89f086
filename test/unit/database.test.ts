import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, expect, test } from 'vitest';
import { computeTotals } from '../../src-main/core/kudos/ledger';
import { DatabaseTooNewError, migrate, openDatabase } from '../../src-main/node/storage/database';
import { createSqliteKudosLedger } from '../../src-main/node/kudos/kudosLedger';
import { MIGRATIONS } from '../../src-main/node/storage/migrations';

const tempDir = (): string => mkdtempSync(join(tmpdir(), 'hordedesk-db-'));

describe('migrations', () => {
  test('every migration has the next number', () => {
    MIGRATIONS.forEach((m, i) => expect(m.version).toBe(i + 1));
  });

  test('migration 1 creates the kudos ledger with one row per (source, horde id)', () => {
    const db = new DatabaseSync(':memory:');
    expect(migrate(db, ':memory:', MIGRATIONS.slice(0, 1))).toBe(1);
    const columns = (db.prepare("SELECT name FROM pragma_table_info('kudos_ledger')").all() as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(['id', 'source', 'amount', 'at', 'horde_ref', 'detail', 'recorded_at']);
    const insert = db.prepare('INSERT INTO kudos_ledger (source, amount, at, horde_ref, recorded_at) VALUES (?, ?, ?, ?, ?)');
    insert.run('job', 6.24, 1, 'fe43cbd3', 1);
    expect(() => insert.run('job', 6.24, 1, 'fe43cbd3', 1)).toThrow(/UNIQUE/);
    expect(() => insert.run('gift', 1, 1, 'x', 1)).toThrow(/CHECK/);
    expect(() => insert.run('rating', -1, 1, 'y', 1)).toThrow(/CHECK/);
  });
});

describe('migration 4: credited job kudos', () => {
  const oldRow = (db: DatabaseSync, source: string, amount: number, ref: string) =>
    db.prepare('INSERT INTO kudos_ledger (source, amount, at, horde_ref, recorded_at) VALUES (?, ?, 1, ?, 1)').run(source, amount, ref);

  test('old job rows keep the announced reward in `announced` and book the 75 % the horde credited', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db, ':memory:', MIGRATIONS.slice(0, 3));
    oldRow(db, 'job', 6.24, 'job-1');
    oldRow(db, 'job', 5.05, 'job-2');
    oldRow(db, 'rating', 5, 'img-1');
    oldRow(db, 'uptime', 52, 'uptime-total-52');
    expect(migrate(db, ':memory:', MIGRATIONS.slice(0, 4))).toBe(4);
    const rows = db.prepare('SELECT source, amount, announced, not_credited FROM kudos_ledger ORDER BY id').all();
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { source: 'job', amount: 4.68, announced: 6.24, not_credited: null },
      { source: 'job', amount: 3.79, announced: 5.05, not_credited: null },
      { source: 'rating', amount: 5, announced: null, not_credited: null },
      { source: 'uptime', amount: 52, announced: null, not_credited: null },
    ]);
  });

  test('a row the horde did not credit books 0, and the pause state has one row', () => {
    const db = new DatabaseSync(':memory:');
    migrate(db, ':memory:', MIGRATIONS.slice(0, 4));
    const insert = db.prepare(
      'INSERT INTO kudos_ledger (source, amount, at, horde_ref, recorded_at, announced, not_credited) VALUES (?, ?, 1, ?, 1, ?, ?)',
    );
    insert.run('job', 0, 'fake-1', 6.24, 'paused');
    expect(() => insert.run('job', 4.68, 'fake-2', 6.24, 'paused')).toThrow(/CHECK/);
    expect(() => insert.run('job', 4.68, 'job-3', -1, null)).toThrow(/CHECK/);
    const state = db.prepare(
      'INSERT INTO horde_credit (id, worker_name, read_at, fulfilled, paused_since, paused_how) VALUES (?, ?, 1, 0, ?, ?)',
    );
    state.run(1, 'Desk', null, null);
    expect(() => state.run(2, 'Desk', null, null)).toThrow(/CHECK/);
    expect(() => db.prepare('UPDATE horde_credit SET paused_since = 5 WHERE id = 1').run()).toThrow(/CHECK/);
    db.prepare("UPDATE horde_credit SET paused_since = 5, paused_how = 'credits' WHERE id = 1").run();
  });
});

describe('openDatabase', () => {
  test('creates, migrates and reopens without redoing migrations', () => {
    const path = join(tempDir(), 'hordedesk.db');
    const first = openDatabase(path);
    expect(first.version).toBe(MIGRATIONS.length);
    expect(first.problem).toBeNull();
    createSqliteKudosLedger(first.db).record({ source: 'rating', amount: 5, at: Date.now(), hordeRef: 'img-1' });
    first.db.close();
    const again = openDatabase(path);
    expect(createSqliteKudosLedger(again.db).sumSince(0)).toEqual([{ source: 'rating', total: 5, count: 1 }]);
    again.db.close();
  });

  test('a file that is not a database is moved aside, never overwritten', () => {
    const dir = tempDir();
    const path = join(dir, 'hordedesk.db');
    writeFileSync(path, 'this is not sqlite '.repeat(100));
    const opened = openDatabase(path);
    expect(opened.problem).toMatch(/moved to .*hordedesk\.db\.corrupt-/);
    expect(readdirSync(dir).some((f) => f.startsWith('hordedesk.db.corrupt-'))).toBe(true);
    expect(opened.version).toBe(MIGRATIONS.length);
    opened.db.close();
  });

  test('a database from a newer HordeDesk is left alone with a clear error', () => {
    const path = join(tempDir(), 'hordedesk.db');
    const db = new DatabaseSync(path);
    db.exec('PRAGMA user_version = 999');
    db.close();
    expect(() => openDatabase(path)).toThrow(DatabaseTooNewError);
    expect(() => openDatabase(path)).toThrow(/newer HordeDesk/);
  });
});

describe('kudos ledger', () => {
  test('a reward reported twice is counted once, and totals follow the calendar', () => {
    const opened = openDatabase(join(tempDir(), 'hordedesk.db'));
    const ledger = createSqliteKudosLedger(opened.db);
    const now = new Date(2026, 10, 22, 15, 0, 0);
    const day = 24 * 3600 * 1000;
    expect(ledger.record({ source: 'job', amount: 6.24, at: now.getTime() - 1000, hordeRef: 'job-a' })).toEqual({ inserted: true });
    expect(ledger.record({ source: 'job', amount: 6.24, at: now.getTime() - 1000, hordeRef: 'job-a' })).toEqual({ inserted: false });
    ledger.record({ source: 'rating', amount: 5, at: now.getTime() - 3 * day, hordeRef: 'img-1' });
    ledger.record({ source: 'uptime', amount: 52, at: now.getTime() - 30 * day, hordeRef: 'uptime-2026-10-23' });
    expect(computeTotals(ledger, now)).toEqual({
      today: 6.24,
      week: 11.24,
      allTime: 63.24,
      bySource: { job: 6.24, rating: 5, uptime: 52 },
      events: 3,
      creditHold: null,
    });
    opened.db.close();
  });

  test('refuses rows that would corrupt the totals', () => {
    const opened = openDatabase(join(tempDir(), 'hordedesk.db'));
    const ledger = createSqliteKudosLedger(opened.db);
    expect(() => ledger.record({ source: 'job', amount: Number.NaN, at: 1, hordeRef: 'a' })).toThrow(/amount/);
    expect(() => ledger.record({ source: 'job', amount: 1, at: 1, hordeRef: ' ' })).toThrow(/horde id/);
    expect(ledger.sumSince(0)).toEqual([]);
    opened.db.close();
  });
});

describe('uptime kudos', () => {
  test('the horde’s running uptime total is booked as the difference, once', async () => {
    const { bookUptime } = await import('../../src-main/core/kudos/uptime');
    const opened = openDatabase(join(tempDir(), 'hordedesk.db'));
    const ledger = createSqliteKudosLedger(opened.db);
    expect(bookUptime(ledger, 52, 1000)).toBe(52);
    expect(bookUptime(ledger, 52, 2000)).toBe(0);
    expect(bookUptime(ledger, 104, 3000)).toBe(52);
    expect(bookUptime(ledger, null, 4000)).toBe(0);
    expect(ledger.sumSince(0)).toEqual([{ source: 'uptime', total: 104, count: 2 }]);
    opened.db.close();
  });
});
