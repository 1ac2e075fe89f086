import type { WorkerStatusDto } from '../../common/contract';
import type { PopRequest } from '../../common/horde';
import { UserFacingError } from '../../common/result';
import type { HordeClient } from '../../core/horde/client';
import type { KudosLedgerPort } from '../../core/kudos/ledger';
import type { Logger } from '../../core/log';
import type { ModelSafetyInfo } from '../../core/safety/csamCheck';
import type { SecretStorePort } from '../../core/secrets';
import type { SettingsService } from '../../core/settings/settingsService';
import { HordeWorker, type WorkerStatus } from '../../core/worker/hordeWorker';
import { hordeDeskPopBody } from '../../core/worker/popBody';
import type { Clock, DeliveryPort, GeneratorPort, JobLogPort, WorkerSafetyPort } from '../../core/worker/ports';
import type { PostProcessorPort } from '../../core/worker/postProcessing';
import { kudosPerHour, mpsPerSecond } from '../../core/worker/stats';
import type { GenerationService } from '../inference/generation';
import { addonPrompt, mergeRequest } from '../lora/addonPrompt';
import type { AddonPort } from '../../core/lora/addons';
import { createSourceFetch } from './sourceFetch';

/** Timers on Node's event loop; unref'd so a sleeping worker never keeps a process alive. */
export const nodeClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
  setTimer(ms, fn) {
    const timer = setTimeout(fn, ms);
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface WorkerServiceOptions {
  horde: HordeClient;
  generation: GenerationService;
  delivery: DeliveryPort;
  ledger: KudosLedgerPort;
  jobLog: JobLogPort;
  settings: SettingsService;
  secrets: SecretStorePort;
  suggestedMaxPixels: () => Promise<number>;
  bridgeAgent: string;
  log: Logger;
  clock?: Clock;
  /** The safety check every image goes through (node/safety's service: CLIP in a worker thread). */
  safety: WorkerSafetyPort;
  /** The model reference's entry for a model, for the safety check's model adjustments. */
  modelSafetyInfo: (model: string) => Promise<ModelSafetyInfo | null>;
  /** The installed post-processors (node/postprocess); absent: none, and the pop declines post-processing. */
  postProcessors?: PostProcessorPort;
  /**
   * LoRAs and textual inversions (node/lora): the fetcher, and where the inference thread keeps the models merged
   * with them and how much disk they may use. Absent: the pop declines LoRAs and such jobs are declined.
   */
  addons?: { port: AddonPort; mergedCache: () => { dir: string; budgetBytes: number } };
  onStatus: (status: WorkerStatusDto) => void;
}

/** The horde worker as the app drives it; every answer is the worker's status. */
export interface WorkerService {
  status(): WorkerStatusDto;
  /** Needs an API key and a worker name; takes max_pixels from the settings or the hardware. */
  start(): Promise<WorkerStatusDto>;
  /** Finishes the jobs in hand, then stops popping. */
  pause(): WorkerStatusDto;
  /** Stops popping and faults what cannot finish. */
  stopNow(): WorkerStatusDto;
  /** Asks the horde to lift maintenance (PUT workers/{id}), then starts again. */
  leaveMaintenance(): Promise<WorkerStatusDto>;
  /** After an error caused by the key, goes back to stopped (the key changed); true when it did. */
  leaveKeyError(): boolean;
  /** On quit: stop popping, fault what cannot finish, and wait for deliveries (bounded). */
  shutdown(graceMs?: number): Promise<void>;
}

/** What each ready model serves besides txt2img, read from its folder (the pipeline's claim). */
function kindsOf(generation: GenerationService, model: string) {
  return generation.list().find((entry) => entry.name === model && entry.ready)?.kinds;
}

/** The pop body from the settings, the offered models, the post-processors and the lane (LoRAs: core/lora popLane). */
function workerPopBody(options: WorkerServiceOptions, models: string[], maxPixels: number, lane?: { loras: boolean }): PopRequest {
  const { workerName: name, nsfw, amount, blacklist } = options.settings.get();
  const kinds = models.flatMap((model) => kindsOf(options.generation, model) ?? []);
  const postProcessors = options.postProcessors?.installed() ?? [];
  const loras = lane?.loras === true && options.addons !== undefined;
  return hordeDeskPopBody({
    name,
    models,
    bridgeAgent: options.bridgeAgent,
    maxPixels,
    nsfw,
    amount,
    blacklist,
    kinds,
    postProcessors,
    loras,
  });
}

/** The generation service as the worker's GeneratorPort. */
function workerGenerator(options: WorkerServiceOptions): GeneratorPort {
  const { settings, generation } = options;
  return {
    // The models the user chose (all ready ones by default) that are really ready.
    readyModels: () => {
      const chosen = settings.get().models;
      return generation.readyModels().filter((m) => chosen === null || chosen.includes(m));
    },
    modelKinds: (model) => kindsOf(generation, model),
    async generate(job, onProgress) {
      // With LoRAs or textual inversions: their prompt injection, and the model merged with them (inference thread).
      const fetched = job.fetchedAddons;
      const params = fetched ? { ...job.params, prompt: addonPrompt(job.params.prompt, fetched, job.seed) } : job.params;
      const merge = fetched && options.addons ? mergeRequest(fetched, options.addons.mergedCache()) : undefined;
      const { result } = await generation.run(job.model, params, job.ids[0] as string, onProgress, merge);
      // The engine's warnings are what it did otherwise than asked (a lowered clip_skip, a cut prompt).
      const changes = result.stats.warnings;
      return changes.length ? result.images.map((image) => ({ ...image, changes })) : result.images;
    },
    cancel: (jobId) => void generation.cancel(jobId),
  };
}

/**
 * The horde worker wired to this app: settings and the hardware profile make the pop, the
 * inference worker thread generates, sharp and fetch deliver, SQLite keeps the ledger and log.
 */
export function createWorkerService(options: WorkerServiceOptions): WorkerService {
  const clock = options.clock ?? nodeClock;
  const { settings } = options;
  let maxPixels = 262144;

  const toDto = (status: WorkerStatus): WorkerStatusDto => ({
    ...status,
    mpsPerSecond: mpsPerSecond(status.stats),
    kudosPerHour: kudosPerHour(status.stats, clock.now()),
    kudos24h: options.ledger.sumSince(clock.now() - 24 * 3600_000).find((r) => r.source === 'job')?.total ?? 0,
  });

  const popBody = (models: string[], lane?: { loras: boolean }): PopRequest => workerPopBody(options, models, maxPixels, lane);

  const worker = new HordeWorker(
    {
      horde: options.horde,
      generator: workerGenerator(options),
      delivery: options.delivery,
      ledger: options.ledger,
      jobLog: options.jobLog,
      clock,
      log: options.log,
      popBody,
      maxPixels: () => maxPixels,
      safety: options.safety,
      modelSafetyInfo: options.modelSafetyInfo,
      sources: createSourceFetch(),
      ...(options.postProcessors ? { postProcessors: options.postProcessors } : {}),
      ...(options.addons ? { addons: options.addons.port } : {}),
    },
    (status) => options.onStatus(toDto(status)),
  );

  return {
    status: () => toDto(worker.status()),
    async start(): Promise<WorkerStatusDto> {
      if (!options.secrets.getApiKey()) throw new UserFacingError('no-api-key', 'Set your AI Horde API key in Settings first.');
      if (settings.get().workerName === '') throw new UserFacingError('no-worker-name', 'Choose a worker name in Settings first.');
      maxPixels = settings.get().maxPixels ?? (await options.suggestedMaxPixels());
      worker.start();
      return toDto(worker.status());
    },
    pause: () => {
      worker.pause();
      return toDto(worker.status());
    },
    stopNow: () => {
      worker.stopNow();
      return toDto(worker.status());
    },
    /** Asks the horde to lift maintenance (PUT workers/{id}), then starts again. */
    async leaveMaintenance(): Promise<WorkerStatusDto> {
      const name = settings.get().workerName;
      const details = await options.horde.getWorkerByName(name);
      await options.horde.modifyWorker(details.id, { maintenance: false });
      options.log.info(`asked the horde to take worker ${name} out of maintenance`);
      return this.start();
    },
    leaveKeyError: () => worker.leaveKeyError(),
    /** On quit: stop popping, fault what cannot finish, and wait for deliveries (bounded). */
    async shutdown(graceMs = 20_000): Promise<void> {
      worker.stopNow();
      await Promise.race([worker.whenIdle(), clock.sleep(graceMs)]);
    },
  };
}
