import type { WorkerStatusDto } from '../../common/contract';
import type { WorkerSafetyPort } from '../../core/worker/ports';
import type { PostProcessorPort } from '../../core/worker/postProcessing';
import { createModelReleaser, type ModelReleaser } from '../../core/schedule/modelRelease';
import { createScheduler, type IdleSourcePort, type Scheduler, type ScheduleStatus } from '../../core/schedule/scheduler';
import type { GenerationService } from '../inference/generation';
import type { Foundation } from '../system/foundation';
import { createGpuTemperatureSource } from '../system/gpuTemperature';
import { createUnknownIdleSource, type SimulatedIdleSource } from '../system/idleSource';
import { workerControl } from './handlers';
import { createImageDelivery } from './imageDelivery';
import { createSqliteJobLog, type JobLog } from './jobLog';
import { createModelSafetyLookup } from './modelSafetyInfo';
import { createWorkerService, nodeClock, type WorkerService, type WorkerServiceOptions as WorkerServiceOptionsBase } from './workerService';

/** What the worker feature is built over, besides the shared foundation. */
export interface WorkerServiceOptions {
  generation: GenerationService;
  /** The safety check every image goes through before delivery; the worker does not pop until it is ready. */
  safety: WorkerSafetyPort;
  /** The installed post-processors (node/postprocess's registry); absent: none. */
  postProcessors?: PostProcessorPort;
  /** LoRAs and textual inversions (node/lora): the fetcher and the merged sets' folder and budget; absent: declined. */
  addons?: WorkerServiceOptionsBase['addons'];
  /** The data folder, where the Models catalog keeps the model reference the safety check reads. */
  dataDir: string;
  /** The Client-Agent the worker names as its bridge agent. */
  clientAgent: string;
  /** Where idle time comes from: powerMonitor in Electron; unknown (never blocks) in headless. */
  idleSource?: IdleSourcePort;
  /** The demo's simulated idle source (wins over `idleSource`). */
  simulatedIdle: SimulatedIdleSource | null;
  onWorkerStatus: (status: WorkerStatusDto) => void;
  onScheduleStatus: (status: ScheduleStatus) => void;
}

/** The horde worker, its job log and the idle scheduler that starts and pauses it. */
export interface WorkerServices {
  worker: WorkerService;
  jobLog: JobLog;
  scheduler: Scheduler;
  /** Releases the model's memory once the worker and the Generate page have left it unused for five minutes. */
  modelReleaser: ModelReleaser;
  /**
   * The API key changed or may now be sent: a worker the horde had stopped for its key resumes
   * by itself, as the schedule says (the scheduler starts it), or at once when it works only on
   * Start (it was started by hand before the key failed).
   */
  resumeAfterKeyChange(): Promise<void>;
}

/** Builds the worker over the foundation and the generation service, and the scheduler over the worker. */
export function createWorkerServices(
  base: Pick<Foundation, 'db' | 'horde' | 'ledger' | 'settings' | 'keys' | 'hardware' | 'log'>,
  options: WorkerServiceOptions,
): WorkerServices {
  const jobLog = createSqliteJobLog(base.db);
  const worker = createWorkerService({
    horde: base.horde,
    generation: options.generation,
    ledger: base.ledger,
    jobLog,
    settings: base.settings,
    secrets: base.keys.store,
    delivery: createImageDelivery(),
    suggestedMaxPixels: async () => (await base.hardware.get()).maxPixels,
    bridgeAgent: options.clientAgent,
    log: base.log.child('worker'),
    safety: options.safety,
    modelSafetyInfo: createModelSafetyLookup(options.dataDir),
    ...(options.postProcessors ? { postProcessors: options.postProcessors } : {}),
    ...(options.addons ? { addons: options.addons } : {}),
    onStatus: options.onWorkerStatus,
  });
  const scheduler = createScheduler({
    clock: nodeClock,
    idle: options.simulatedIdle ?? options.idleSource ?? createUnknownIdleSource(),
    temperature: createGpuTemperatureSource(),
    worker: workerControl(worker),
    rules: base.settings.get().schedule,
    onStatus: options.onScheduleStatus,
  });
  const modelReleaser = createModelReleaser({
    clock: nodeClock,
    workerState: () => worker.status().state,
    model: () => options.generation.usage(),
    release: async () => void (await options.generation.releaseModel()),
    log: (line) => base.log.child('worker').info(line),
  });
  const resumeAfterKeyChange = async (): Promise<void> => {
    if (!worker.leaveKeyError()) return;
    base.log.info('the API key changed; the worker stopped for its key resumes');
    if (base.settings.get().schedule.mode !== 'never') return scheduler.tick();
    await worker
      .start()
      .catch((error: unknown) => base.log.warn(`could not resume the worker: ${error instanceof Error ? error.message : String(error)}`));
  };
  return { worker, jobLog, scheduler, modelReleaser, resumeAfterKeyChange };
}
