import type { DatabaseSync } from 'node:sqlite';
import type { HordeReconcileDeps } from '../../core/kudos/hordeReconcile';
import { createSqliteCreditWatch } from './creditWatchStore';
import { createSqliteKudosQueries } from './kudosQueries';

/** What the Kudos feature is built from. */
export type KudosServiceOptions = Pick<HordeReconcileDeps, 'horde' | 'ledger' | 'now' | 'workerName' | 'onLedgerChanged'> & {
  db: DatabaseSync;
};

/**
 * The Kudos feature over the database: the Kudos page's ledger queries and the credit check's
 * store beside the ledger, as the Kudos handlers and the worker record watch read them.
 */
export function createKudosServices(options: KudosServiceOptions): Omit<HordeReconcileDeps, 'hasApiKey'> {
  const { db, ...rest } = options;
  return { ...rest, queries: createSqliteKudosQueries(db), credit: createSqliteCreditWatch(db) };
}
