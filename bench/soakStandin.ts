// The soak bench's horde: the stand-in and the demo's request stream in a child process of their
// own, as a real horde is another machine. The app's process then holds only the app, so its RSS
// is the app's own; the stand-in's (which keeps every uploaded image, as a horde's storage does)
// is measured apart. The parent drives it over the IPC channel (see SoakHorde in soak.ts).
import { TINY_MODEL_NAME } from '../src-main/node/models/tinyModel';
import { createDemoFeed, demoMixed } from '../src-main/standin/demoFeed';
import { ratingsImageCacheBytes } from '../src-main/standin/ratingsImages';
import { startStandin, STANDIN_KEYS, type FaultPatch } from '../src-main/standin/server';

/** A request from the parent: `op` names what to do. */
export type SoakHordeRequest =
  | { id: number; op: 'setFaults'; patch: FaultPatch }
  | { id: number; op: 'resetFaults' | 'stopFeed' | 'memory' | 'report' | 'close' }
  | { id: number; op: 'restart'; downMs: number };

/** The stand-in's memory: its RSS and the images it keeps (uploads and generated rating images). */
export interface SoakHordeMemory {
  rss: number;
  stored: number;
}

/** What the stand-in saw, for counting lost and duplicated work. */
export interface SoakHordeReport {
  jobs: { id: string; worker: string | null; popDelivered: boolean; state: string; submitCount: number; resubmitsAfterAnswer: number }[];
  ratings: { id: string; userIds: number[]; resubmitsAfterAnswer: number }[];
  workerOwnerId: number | null;
}

const workerName = process.env.HORDEDESK_SOAK_WORKER ?? 'HordeDesk Soak Worker';
// Honest faults (hires_fix, samplers it lacks) count as aborts on the horde; the maintenance
// rule (20 an hour) is not what the soak measures, so it is out of reach here.
const standin = await startStandin({
  mixed: demoMixed([TINY_MODEL_NAME, 'tiny-sd-checkpoint']),
  jobs: { maintenanceAbortThreshold: 1_000_000 },
});
const feed = createDemoFeed(standin, { workerName: () => workerName, models: [TINY_MODEL_NAME] });
feed.tick();
const feeder = setInterval(() => feed.tick(), 2000);

const stored = (): number => ratingsImageCacheBytes() + standin.jobs().reduce((sum, job) => sum + (standin.image(job.id)?.length ?? 0), 0);

async function answer(request: SoakHordeRequest): Promise<unknown> {
  switch (request.op) {
    case 'setFaults':
      standin.setFaults(request.patch);
      return null;
    case 'resetFaults':
      standin.resetFaults();
      return null;
    case 'restart':
      await standin.restart(request.downMs);
      return null;
    case 'stopFeed':
      clearInterval(feeder);
      return null;
    case 'memory':
      return { rss: process.memoryUsage().rss, stored: stored() } satisfies SoakHordeMemory;
    case 'report':
      return {
        jobs: standin.jobs().map((job) => ({
          id: job.id,
          worker: job.worker,
          popDelivered: job.popDelivered,
          state: job.state,
          submitCount: job.submitCount,
          resubmitsAfterAnswer: job.resubmitsAfterAnswer,
        })),
        ratings: standin.ratings().map((image) => ({
          id: image.id,
          userIds: image.ratings.map((r) => r.userId),
          resubmitsAfterAnswer: image.resubmitsAfterAnswer,
        })),
        workerOwnerId: standin.users.byKey(STANDIN_KEYS.workerOwner)?.id ?? null,
      } satisfies SoakHordeReport;
    case 'close':
      clearInterval(feeder);
      await standin.close();
      setImmediate(() => process.disconnect());
      return null;
  }
}

process.on('message', (message: SoakHordeRequest) => {
  answer(message).then(
    (result) => process.send?.({ id: message.id, ok: true, result }),
    (error: unknown) => process.send?.({ id: message.id, ok: false, error: String(error) }),
  );
});
process.send?.({ ready: { hordeApiUrl: standin.hordeApiUrl, ratingsApiUrl: standin.ratingsApiUrl } });
