/** Running totals for the dashboard, the tray tooltip and the benchmark. */
export interface WorkerStats {
  startedAt: number | null;
  jobsDone: number;
  jobsFaulted: number;
  jobsDropped: number;
  imagesDone: number;
  /** Jobs whose images the safety check censored as NSFW (the placeholder went out), and jobs it flagged as CSAM. */
  jobsCensored: number;
  jobsCsam: number;
  /** Σ width·height·steps / 10⁶ over finished images (the horde's megapixelsteps). */
  megapixelsteps: number;
  /** Time spent generating (not waiting for the network). */
  generationMs: number;
  kudosSession: number;
}

export function emptyStats(): WorkerStats {
  return {
    startedAt: null,
    jobsDone: 0,
    jobsFaulted: 0,
    jobsDropped: 0,
    imagesDone: 0,
    jobsCensored: 0,
    jobsCsam: 0,
    megapixelsteps: 0,
    generationMs: 0,
    kudosSession: 0,
  };
}

/** Megapixelsteps per second of generation time: the horde's measure of worker speed. */
export function mpsPerSecond(stats: WorkerStats): number {
  return stats.generationMs > 0 ? stats.megapixelsteps / (stats.generationMs / 1000) : 0;
}

/** Kudos per hour since the worker was started in this session. */
export function kudosPerHour(stats: WorkerStats, now: number): number {
  if (stats.startedAt === null) return 0;
  const hours = (now - stats.startedAt) / 3_600_000;
  return hours > 0 ? stats.kudosSession / hours : 0;
}
