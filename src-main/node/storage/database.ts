import { DatabaseSync } from 'node:sqlite';
import { existsSync, mkdirSync, renameSync } from 'node:fs';
import { dirname } from 'node:path';
import { UserFacingError } from '../../common/result';
import { MIGRATIONS, type Migration } from './migrations';

export interface OpenedDatabase {
  db: DatabaseSync;
  /** Set when a corrupt file was moved aside: the sentence to show the user. */
  problem: string | null;
  version: number;
}

/** Thrown when the file was written by a newer HordeDesk: it is kept as it is. */
export class DatabaseTooNewError extends UserFacingError {
  constructor(path: string, found: number, known: number) {
    super(
      'database-too-new',
      `The database ${path} was written by a newer HordeDesk (schema ${found}; this version knows ${known}). Update HordeDesk; the file was left untouched.`,
    );
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}

/** Moves a database and its WAL side files aside; returns the new main path. */
function moveAside(path: string): string {
  const target = `${path}.corrupt-${stamp()}`;
  for (const suffix of ['', '-wal', '-shm']) {
    if (existsSync(path + suffix)) renameSync(path + suffix, target + suffix);
  }
  return target;
}

function checkReadable(db: DatabaseSync): void {
  const row = db.prepare('PRAGMA quick_check').get() as Record<string, unknown> | undefined;
  const verdict = row ? Object.values(row)[0] : undefined;
  if (verdict !== 'ok') throw new Error(`quick_check says: ${String(verdict)}`);
}

/** Applies every migration above the file's user_version, each in its own transaction. */
export function migrate(db: DatabaseSync, path: string, migrations: readonly Migration[] = MIGRATIONS): number {
  const known = migrations.at(-1)?.version ?? 0;
  let version = Number((db.prepare('PRAGMA user_version').get() as { user_version: number }).user_version);
  if (version > known) throw new DatabaseTooNewError(path, version, known);
  for (const migration of migrations) {
    if (migration.version <= version) continue;
    db.exec('BEGIN IMMEDIATE');
    try {
      db.exec(migration.sql);
      db.exec(`PRAGMA user_version = ${migration.version}`);
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw new Error(`Database migration ${migration.version} (${migration.name}) failed`, { cause: error });
    }
    version = migration.version;
  }
  return version;
}

function openAndCheck(path: string, migrations: readonly Migration[]): { db: DatabaseSync; version: number } {
  const db = new DatabaseSync(path);
  try {
    // WAL + synchronous=FULL: a commit has reached the disk when run() returns, so a reward or
    // rating recorded before an acknowledgement survives a crash or power loss.
    db.exec('PRAGMA journal_mode = WAL');
    db.exec('PRAGMA synchronous = FULL');
    db.exec('PRAGMA foreign_keys = ON');
    db.exec('PRAGMA busy_timeout = 5000');
    checkReadable(db);
    return { db, version: migrate(db, path, migrations) };
  } catch (error) {
    db.close();
    throw error;
  }
}

/**
 * Opens (or creates) the app database and brings it up to date. A file SQLite cannot read is
 * moved aside with a clear message, never overwritten; a newer schema stops the app instead.
 */
export function openDatabase(path: string, migrations: readonly Migration[] = MIGRATIONS): OpenedDatabase {
  mkdirSync(dirname(path), { recursive: true });
  try {
    return { ...openAndCheck(path, migrations), problem: null };
  } catch (error) {
    if (error instanceof DatabaseTooNewError) throw error;
    if (error instanceof Error && /migration/.test(error.message)) throw error;
    const movedTo = moveAside(path);
    const reason = error instanceof Error ? error.message : String(error);
    const opened = openAndCheck(path, migrations);
    return {
      ...opened,
      problem: `The HordeDesk database could not be read (${reason}). It was moved to ${movedTo} and a new, empty one was created. Your kudos history will be rebuilt from the horde where possible.`,
    };
  }
}
