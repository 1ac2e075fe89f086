import type { DatabaseSync } from 'node:sqlite';
import type { JobLogPort, JobRecord } from '../../core/worker/ports';

/** How many jobs the History keeps. */
export const JOB_LOG_LIMIT = 1000;

export interface JobLog extends JobLogPort {
  list(limit: number, offset: number): JobRecord[];
  count(): number;
}

/** The job log on SQLite (migrations 2, 5, 6, 7 and 8), trimmed to the newest JOB_LOG_LIMIT rows. */
export function createSqliteJobLog(db: DatabaseSync, limit = JOB_LOG_LIMIT): JobLog {
  const insert = db.prepare(
    `INSERT INTO job_log (job_id, model, sampler, width, height, steps, state, reason, reward, popped_at, finished_at, generation_ms, censorship, kind, post_processing, addons)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (job_id) DO NOTHING`,
  );
  const trim = db.prepare('DELETE FROM job_log WHERE id <= (SELECT id FROM job_log ORDER BY id DESC LIMIT 1 OFFSET ?)');
  const page = db.prepare(
    `SELECT job_id AS jobId, model, sampler, width, height, steps, state, reason, reward, popped_at AS poppedAt, finished_at AS finishedAt, generation_ms AS generationMs, censorship, kind, post_processing AS postProcessing, addons
     FROM job_log ORDER BY id DESC LIMIT ? OFFSET ?`,
  );
  const total = db.prepare('SELECT COUNT(*) AS n FROM job_log');
  return {
    record(job) {
      insert.run(
        job.jobId,
        job.model,
        job.sampler,
        job.width,
        job.height,
        job.steps,
        job.state,
        job.reason,
        job.reward,
        Math.round(job.poppedAt),
        Math.round(job.finishedAt),
        Math.round(job.generationMs),
        job.censorship,
        job.kind,
        job.postProcessing,
        job.addons,
      );
      trim.run(limit);
    },
    list: (n, offset) => page.all(n, offset) as unknown as JobRecord[],
    count: () => Number((total.get() as { n: number }).n),
  };
}
