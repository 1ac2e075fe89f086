import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KudosLedgerPort } from '../../core/kudos/ledger';
import type { CachedImage, HistoryFilter, PendingRating, RatingStorePort } from '../../core/rating/ports';

type Row = Record<string, unknown>;

/** Runs `work` in one SQLite transaction: all of it reaches the disk, or none. */
function transaction<T>(db: DatabaseSync, work: () => T): T {
  db.exec('BEGIN IMMEDIATE');
  try {
    const result = work();
    db.exec('COMMIT');
    return result;
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
}

const cached = (r: Row): CachedImage => ({
  imageId: String(r.image_id),
  datasetId: (r.dataset_id as string | null) ?? null,
  instruction: (r.instruction as string | null) ?? null,
  file: String(r.file),
  mime: String(r.mime),
});
const dtoState = (state: unknown): 'pending' | 'sent' | 'refused' =>
  state === 'sending' ? 'pending' : (state as 'pending' | 'sent' | 'refused');

/** A `ratings` row as the app sees it ('sending' shows as pending). */
function ratingRow(r: Row) {
  return {
    imageId: String(r.image_id),
    rating: Number(r.rating),
    artifacts: r.artifacts === null ? null : Number(r.artifacts),
    ratedAt: Number(r.rated_at),
    state: dtoState(r.state),
    reward: r.reward === null ? null : Number(r.reward),
    reason: (r.reason as string | null) ?? null,
  };
}

/** The store's statements, prepared once. */
function prepareStatements(db: DatabaseSync) {
  return {
    queued: db.prepare("SELECT * FROM rating_images WHERE status = 'queued' ORDER BY seq LIMIT ?"),
    queuedCount: db.prepare("SELECT COUNT(*) AS n FROM rating_images WHERE status = 'queued'"),
    queuedImage: db.prepare("SELECT * FROM rating_images WHERE image_id = ? AND status = 'queued'"),
    has: db.prepare('SELECT 1 FROM rating_images WHERE image_id = ?'),
    maxSeq: db.prepare('SELECT COALESCE(MAX(seq), 0) AS s FROM rating_images'),
    minSeq: db.prepare('SELECT COALESCE(MIN(seq), 0) AS s FROM rating_images'),
    addImage: db.prepare(
      "INSERT INTO rating_images (image_id, dataset_id, instruction, file, mime, bytes, fetched_at, status, seq) VALUES (?, ?, ?, ?, ?, ?, ?, 'queued', ?)",
    ),
    setStatus: db.prepare('UPDATE rating_images SET status = ?, seq = COALESCE(?, seq) WHERE image_id = ? AND status = ?'),
    insertRating: db.prepare(
      "INSERT INTO ratings (image_id, rating, artifacts, rated_at, state, thumbnail) VALUES (?, ?, ?, ?, 'pending', ?)",
    ),
    lastRating: db.prepare('SELECT image_id, state FROM ratings ORDER BY id DESC LIMIT 1'),
    deleteRating: db.prepare("DELETE FROM ratings WHERE image_id = ? AND state = 'pending'"),
    pending: db.prepare(
      "SELECT image_id, rating, artifacts, rated_at, state FROM ratings WHERE state IN ('pending', 'sending') ORDER BY id LIMIT ?",
    ),
    pendingCount: db.prepare("SELECT COUNT(*) AS n FROM ratings WHERE state IN ('pending', 'sending')"),
    sending: db.prepare("UPDATE ratings SET state = 'sending', attempts = attempts + 1 WHERE image_id = ?"),
    sent: db.prepare("UPDATE ratings SET state = 'sent', reward = ?, sent_at = ?, reason = NULL WHERE image_id = ?"),
    refused: db.prepare("UPDATE ratings SET state = 'refused', reason = ? WHERE image_id = ?"),
    problem: db.prepare("UPDATE ratings SET state = 'pending', reason = ? WHERE image_id = ?"),
    problemInFlight: db.prepare('UPDATE ratings SET reason = ? WHERE image_id = ?'),
    histogram: db.prepare('SELECT rating, COUNT(*) AS n FROM ratings GROUP BY rating'),
    all: db.prepare('SELECT image_id, rating, artifacts, rated_at, state, reward, reason FROM ratings ORDER BY id'),
    removable: db.prepare(
      `SELECT i.image_id, i.file FROM rating_images i LEFT JOIN ratings r ON r.image_id = i.image_id
       WHERE i.file <> '' AND (i.status = 'skipped' OR r.state IN ('sent', 'refused'))`,
    ),
    forget: db.prepare("UPDATE rating_images SET file = '' WHERE image_id = ?"),
  };
}

const count = (stmt: { get(...a: unknown[]): unknown }, ...args: unknown[]): number => Number((stmt.get(...args) as { n: number }).n);

/** One page of the rating history, newest first, with the histogram of every rating. */
function readHistory(db: DatabaseSync, histogramOf: StatementSync, f: HistoryFilter) {
  const where = ['rating BETWEEN ? AND ?'];
  const args: (string | number)[] = [f.minRating, f.maxRating];
  if (f.state === 'pending') where.push("state IN ('pending', 'sending')");
  else if (f.state !== 'all') {
    where.push('state = ?');
    args.push(f.state);
  }
  const clause = where.join(' AND ');
  const total = count(db.prepare(`SELECT COUNT(*) AS n FROM ratings WHERE ${clause}`), ...args);
  const rows = db
    .prepare(`SELECT * FROM ratings WHERE ${clause} ORDER BY id DESC LIMIT ? OFFSET ?`)
    .all(...args, f.limit, f.offset) as Row[];
  const histogram = Array.from({ length: 10 }, () => 0);
  for (const r of histogramOf.all() as Row[]) histogram[Number(r.rating) - 1] = Number(r.n);
  return {
    total,
    histogram,
    rows: rows.map((r) => ({ ...ratingRow(r), thumbnail: r.thumbnail instanceof Uint8Array ? r.thumbnail : null })),
  };
}

/** The rater's tables (migration 3) and its ledger rows, on the app database. */
export function createSqliteRatingStore(db: DatabaseSync, ledger: KudosLedgerPort): RatingStorePort {
  const q = prepareStatements(db);
  return {
    queued: (n) => (q.queued.all(n) as Row[]).map(cached),
    queuedCount: () => count(q.queuedCount),
    queuedImage(imageId) {
      const row = q.queuedImage.get(imageId) as Row | undefined;
      return row ? cached(row) : undefined;
    },
    has: (id) => q.has.get(id) !== undefined,
    addImage(img) {
      const seq = Number((q.maxSeq.get() as { s: number }).s) + 1;
      q.addImage.run(img.imageId, img.datasetId, img.instruction, img.file, img.mime, img.bytes, img.fetchedAt, seq);
    },
    rate(imageId, rating, artifacts, at, thumbnail) {
      transaction(db, () => {
        q.insertRating.run(imageId, rating, artifacts, at, thumbnail);
        if (Number(q.setStatus.run('rated', null, imageId, 'queued').changes) !== 1) throw new Error(`image ${imageId} is not queued`);
      });
    },
    undoLast() {
      const last = q.lastRating.get() as Row | undefined;
      if (!last || last.state !== 'pending') return null;
      const imageId = String(last.image_id);
      transaction(db, () => {
        q.deleteRating.run(imageId);
        const front = Number((q.minSeq.get() as { s: number }).s) - 1;
        q.setStatus.run('queued', front, imageId, 'rated');
      });
      return imageId;
    },
    skip(imageId) {
      q.setStatus.run('skipped', null, imageId, 'queued');
    },
    pending: (n) =>
      (q.pending.all(n) as Row[]).map((r): PendingRating => ({
        imageId: String(r.image_id),
        rating: Number(r.rating),
        artifacts: r.artifacts === null ? null : Number(r.artifacts),
        ratedAt: Number(r.rated_at),
        state: r.state as 'pending' | 'sending',
      })),
    pendingCount: () => count(q.pendingCount),
    markSending: (id) => void q.sending.run(id),
    markSent(imageId, reward, at) {
      transaction(db, () => {
        q.sent.run(reward, at, imageId);
        if (reward > 0) ledger.record({ source: 'rating', amount: reward, at, hordeRef: imageId });
      });
    },
    markRefused: (id, reason) => void q.refused.run(reason, id),
    noteProblem: (id, reason, maybeArrived) => void (maybeArrived ? q.problemInFlight : q.problem).run(reason, id),
    history: (f) => readHistory(db, q.histogram, f),
    all: () => (q.all.all() as Row[]).map(ratingRow),
    removable: () => (q.removable.all() as Row[]).map((r) => ({ imageId: String(r.image_id), file: String(r.file) })),
    forgetFile: (id) => void q.forget.run(id),
  };
}
