import { randomUUID } from 'node:crypto';
import type { ResolvedBridge } from './bridges';
import { storedKudos, uptimeReward } from './kudos';
import type { UserTable } from './users';

// The workers the stand-in knows: created on their first pop, checked in on every pop, credited
// on submits and for uptime, and put into maintenance by their owner or for dropping jobs
// (HORDE-PROTOCOL.md §2.7, §3.3, §3.5). Times are stand-in seconds (see queue.ts `nowS`).

/** The horde's default maintenance text (§2.7 item 6). */
export const OWNER_MAINTENANCE_MESSAGE = 'This worker has been put into maintenance mode by its owner';
/** The text of the automatic maintenance for dropped jobs (§2.7 item 7; no space after the first period, as sent). */
export const DROPPED_JOBS_MAINTENANCE_MESSAGE =
  'Maintenance mode activated because worker is dropping too many jobs.Please investigate if your performance has been impacted and consider reducing your max_power or your max_threads';

/** What a pop declares, with reqparse defaults applied (§2.2). */
export interface WorkerConfig {
  nsfw: boolean;
  models: string[];
  bridge_agent: string;
  threads: number;
  require_upfront_kudos: boolean;
  amount: number;
  extra_slow_worker: boolean;
  max_pixels: number;
  blacklist: string[];
  priority_usernames: string[];
  allow_img2img: boolean;
  allow_painting: boolean;
  allow_unsafe_ipaddr: boolean;
  allow_post_processing: boolean;
  allow_controlnet: boolean;
  allow_sdxl_controlnet: boolean;
  allow_lora: boolean;
  limit_max_steps: boolean;
}

/** One registered worker. */
export interface StandinWorker {
  id: string;
  name: string;
  ownerId: number;
  config: WorkerConfig;
  bridge: ResolvedBridge;
  lastCheckIn: number;
  maintenance: boolean;
  maintenanceMsg: string;
  /** Set by a moderator (§2.7 item 8): the worker gets fake jobs, which earn nothing. Only moderators see it. */
  paused: boolean;
  /** Requests this worker was handed a fake job of: the horde never offers it them again ("secret"). */
  tricked: Set<string>;
  info: string | null;
  /** Times of aborted jobs still inside the one-hour window. */
  abortTimes: number[];
  uncompletedJobs: number;
  requestsFulfilled: number;
  kudosGenerated: number;
  /** null until the first uptime reward, as recorded in 14_worker.json. */
  kudosUptime: number | null;
  megapixelstepsGenerated: number;
  /** Megapixelsteps per second of the last 20 jobs. */
  speedSamples: number[];
  uptime: number;
  uptimeSinceReward: number;
}

/** Horde durations, in stand-in seconds. */
export const STALE_AFTER_S = 300;
export const UPTIME_PERIOD_S = 600;
export const ABORT_WINDOW_S = 3600;

/** The worker registry of one stand-in, which also books kudos to the owners' accounts. */
export class WorkerRegistry {
  private readonly byId = new Map<string, StandinWorker>();

  constructor(
    private readonly users: UserTable,
    private readonly abortThreshold: number,
  ) {}

  all(): StandinWorker[] {
    return [...this.byId.values()];
  }

  get(id: string): StandinWorker | undefined {
    return this.byId.get(id);
  }

  /** Exact, case-sensitive name match (§2.2 `name`). */
  named(name: string): StandinWorker | undefined {
    return this.all().find((w) => w.name === name);
  }

  create(name: string, ownerId: number, config: WorkerConfig, bridge: ResolvedBridge, now: number): StandinWorker {
    const worker: StandinWorker = {
      id: randomUUID(),
      name,
      ownerId,
      config,
      bridge,
      lastCheckIn: now,
      maintenance: false,
      maintenanceMsg: OWNER_MAINTENANCE_MESSAGE,
      paused: false,
      tricked: new Set(),
      info: null,
      abortTimes: [],
      uncompletedJobs: 0,
      requestsFulfilled: 0,
      kudosGenerated: 0,
      kudosUptime: null,
      megapixelstepsGenerated: 0,
      speedSamples: [],
      uptime: 0,
      uptimeSinceReward: 0,
    };
    this.byId.set(worker.id, worker);
    const owner = this.users.byId(ownerId);
    if (owner) {
      const ids = Array.isArray(owner.details.worker_ids) ? (owner.details.worker_ids as unknown[]) : [];
      this.users.updateDetails(ownerId, { worker_ids: [...ids, worker.id], worker_count: ids.length + 1 });
    }
    return worker;
  }

  /**
   * A pop's check-in: stores what it declared and accrues uptime while the worker stays online,
   * out of maintenance and not paused; every full period pays the uptime reward. Coming back after being
   * offline restarts the period (§3.3). The horde's 30 s debounce of config updates is left out.
   */
  checkIn(worker: StandinWorker, config: WorkerConfig, bridge: ResolvedBridge, now: number): void {
    const gap = now - worker.lastCheckIn;
    if (gap > STALE_AFTER_S) {
      worker.uptimeSinceReward = 0;
    } else if (!worker.maintenance && !worker.paused && gap > 0) {
      worker.uptime += gap;
      worker.uptimeSinceReward += gap;
      while (worker.uptimeSinceReward >= UPTIME_PERIOD_S) {
        worker.uptimeSinceReward -= UPTIME_PERIOD_S;
        const reward = uptimeReward(config.models.length, config.allow_lora);
        worker.kudosUptime = (worker.kudosUptime ?? 0) + reward;
        this.creditOwner(worker.ownerId, reward, 'uptime');
      }
    }
    worker.config = config;
    worker.bridge = bridge;
    worker.lastCheckIn = now;
  }

  online(worker: StandinWorker, now: number): boolean {
    return now - worker.lastCheckIn <= STALE_AFTER_S;
  }

  setMaintenance(worker: StandinWorker, on: boolean, message?: string): void {
    worker.maintenance = on;
    worker.maintenanceMsg = on && message ? message : OWNER_MAINTENANCE_MESSAGE;
  }

  /**
   * One aborted job (timeout or faulted submit): more than the threshold within an hour puts the
   * worker into maintenance and restarts the count, as the horde does (§2.7 item 7).
   */
  recordAbort(worker: StandinWorker, now: number): void {
    worker.uncompletedJobs += 1;
    worker.abortTimes = [...worker.abortTimes.filter((t) => now - t < ABORT_WINDOW_S), now];
    if (worker.abortTimes.length > this.abortThreshold) {
      this.setMaintenance(worker, true, DROPPED_JOBS_MAINTENANCE_MESSAGE);
      worker.abortTimes = [];
    }
  }

  /**
   * A delivered image: the reward times the bridge multiplier is credited to the worker and its
   * owner, and each stored figure is rounded to whole kudos after the addition (storedKudos; the
   * recording: reward 6.24 × 0.9 = 5.62 booked as 6). Returns what the worker's total gained.
   */
  recordDelivery(worker: StandinWorker, reward: number, pixelsteps: number, seconds: number): number {
    const credited = reward * worker.bridge.multiplier;
    const megapixelsteps = pixelsteps / 1e6;
    const before = worker.kudosGenerated;
    worker.requestsFulfilled += 1;
    worker.kudosGenerated = storedKudos(before + credited);
    worker.megapixelstepsGenerated += Math.round(megapixelsteps);
    worker.speedSamples = [...worker.speedSamples, megapixelsteps / Math.max(seconds, 0.1)].slice(-20);
    this.creditOwner(worker.ownerId, credited, 'generated', megapixelsteps);
    return worker.kudosGenerated - before;
  }

  /**
   * Books kudos on the owner: all spendable when trusted; otherwise half (generation) or none
   * (uptime) spendable and the rest to `evaluating_kudos` (§3.4). `accumulated` takes it all. The
   * balance and `accumulated` are integer columns on the horde: rounded after each addition.
   */
  private creditOwner(ownerId: number, amount: number, kind: 'generated' | 'uptime', megapixelsteps = 0): void {
    const owner = this.users.byId(ownerId);
    if (!owner || amount <= 0) return;
    const d = owner.details;
    const trusted = d.trusted === true;
    const spendable = trusted ? amount : kind === 'generated' ? amount / 2 : 0;
    const details = structuredClone(d) as Record<string, unknown> & {
      kudos_details?: Record<string, number>;
      records?: { contribution?: Record<string, number>; fulfillment?: Record<string, number> };
    };
    details.kudos = storedKudos(num(d.kudos) + spendable);
    if (!trusted) details.evaluating_kudos = Math.round((num(d.evaluating_kudos) + amount - spendable) * 100) / 100;
    if (details.kudos_details) details.kudos_details.accumulated = storedKudos(num(details.kudos_details.accumulated) + amount);
    if (kind === 'generated' && details.records?.contribution && details.records.fulfillment) {
      details.records.contribution.megapixelsteps =
        Math.round((num(details.records.contribution.megapixelsteps) + megapixelsteps) * 100) / 100;
      details.records.fulfillment.image = num(details.records.fulfillment.image) + 1;
    }
    owner.details = details;
  }
}

function num(value: unknown): number {
  return typeof value === 'number' ? value : 0;
}
