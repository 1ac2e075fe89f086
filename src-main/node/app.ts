import { readFileSync } from 'node:fs';
import { APP_NAME, clientAgent } from '../common/appMeta';
import type { AppInfo, Handlers } from '../common/contract';
import type { CapabilityProfile } from '../common/hardware';
import { createApiKeyService } from '../core/apiKeyService';
import type { EventHub } from '../core/events';
import type { HttpPort } from '../core/horde/http';
import type { KudosLedgerPort } from '../core/kudos/ledger';
import type { Logger } from '../core/log';
import type { NoticeBoard } from '../core/notices';
import type { NotifierPort } from '../core/notify';
import type { Rater } from '../core/rating/raterService';
import type { IdleSourcePort, Scheduler } from '../core/schedule/scheduler';
import type { SecretStorePort } from '../core/secrets';
import type { SettingsService } from '../core/settings/settingsService';
import type { WorkerSafetyPort } from '../core/worker/ports';
import { createStatusRelay } from '../core/statusRelay';
import type { GenerationService } from './inference/generation';
import { createInferenceServices } from './inference/inferenceServices';
import { inferenceHandlers } from './inference/handlers';
import { kudosHandlers } from './kudos/handlers';
import { createKudosServices } from './kudos/kudosServices';
import { watchUptimeKudos } from './kudos/uptimeWatch';
import { modelsHandlers } from './models/handlers';
import type { InstallProgress } from './models/modelInstaller';
import { createModelServices } from './models/modelServices';
import { createPostprocessServices } from './postprocess/postprocessServices';
import { ratingHandlers } from './rating/handlers';
import { createSafetyServices } from './safety/safetyServices';
import { createRatingServices } from './rating/ratingServices';
import { openFoundation, type Foundation } from './system/foundation';
import { systemHandlers } from './system/handlers';
import type { SimulatedIdleSource } from './system/idleSource';
import type { ConfFactory } from './system/settingsStore';
import { workerHandlers } from './worker/handlers';
import type { JobLog } from './worker/jobLog';
import type { WorkerService } from './worker/workerService';
import { createWorkerServices } from './worker/workerServices';
import { createLoraServices } from './lora/loraServices';
import type { SecretCipher } from './system/fileSecrets';

export interface AppOptions {
  shell: 'electron' | 'headless';
  dataDir: string;
  settingsFactory: ConfFactory;
  /** Mirror of log lines (headless prints them); files are always written. */
  echoLog?: (line: string) => void;
  detectHardware?: () => Promise<CapabilityProfile>;
  http?: HttpPort;
  now?: () => Date;
  /** Electron passes a safeStorage-backed store; headless uses a 0600 file. */
  secrets?: SecretStorePort;
  /** The cipher behind `secrets` (Electron safeStorage), so the CivitAI token is kept the same way; absent: a 0600 file. */
  secretCipher?: SecretCipher | null;
  /** Start the rater's download and sync loops (default true; tests that do not rate turn them off). */
  startRater?: boolean;
  /** Desktop notifications (Electron); headless shows them as in-app notices. */
  notifier?: NotifierPort;
  /** Where idle time comes from: powerMonitor in Electron; unknown (never blocks) in headless. */
  idleSource?: IdleSourcePort;
  /** The demo's simulated idle source, driven by `schedule.simulate`. */
  simulatedIdle?: SimulatedIdleSource;
  /** Run the idle scheduler (default true; tests that drive the worker by hand turn it off). */
  startScheduler?: boolean;
  /** Another inference worker entry (the soak bench wraps the real one to crash it on purpose). */
  inferenceWorkerUrl?: URL;
  /** The check the worker runs instead of the safety model's (tests that need images flagged: the tiny model flags none). */
  safetyCheck?: WorkerSafetyPort;
}

/** Everything a shell (Electron or headless) needs from the running core. */
export interface HordeDeskApp {
  info: AppInfo;
  handlers: Handlers;
  events: EventHub;
  notices: NoticeBoard;
  settings: SettingsService;
  ledger: KudosLedgerPort;
  generation: GenerationService;
  worker: WorkerService;
  rater: Rater;
  scheduler: Scheduler;
  jobLog: JobLog;
  secrets: SecretStorePort;
  log: Logger;
  close(): Promise<void>;
}

/** The app's version, read from package.json once. */
export function appVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

/** The app's name, version and shell, and where its files are. */
function appInfo(options: AppOptions, version: string, base: Pick<Foundation, 'paths' | 'settingsPath'>): AppInfo {
  const { paths, settingsPath } = base;
  return {
    name: APP_NAME,
    version,
    shell: options.shell,
    dataDir: options.dataDir,
    logDir: paths.logs,
    databasePath: paths.database,
    settingsPath,
  };
}

/**
 * The composition root: builds each feature's services over the shared parts (node/system/foundation.ts)
 * and composes the features' handlers (`node/<feature>/handlers.ts`) into the contract's. The services
 * that report status depend on each other (the scheduler drives the worker; a settings change wakes the
 * rater and re-checks the schedule), so they report through the status relay (core/statusRelay.ts),
 * which is given them all once they exist.
 */
export function createApp(options: AppOptions): HordeDeskApp {
  const now = options.now ?? (() => new Date());
  const version = appVersion();
  const agent = clientAgent(version);
  const relay = createStatusRelay();
  const base = openFoundation({ ...options, clientAgent: agent, now, onSettingsChange: relay.settingsChanged });
  const { db, ledger, settings, keys, log, events, notices, horde, hardware } = base;
  const { generation, safety, postprocess, models, modelsLog, lora } = createEngineFeatures(base, options, agent, relay.modelProgress);
  const simulated = options.simulatedIdle ?? null;
  const { worker, jobLog, scheduler, modelReleaser, resumeAfterKeyChange } = createWorkerServices(base, {
    generation,
    postProcessors: postprocess.postProcessors,
    addons: { port: lora.addons, mergedCache: lora.mergedCache },
    safety: options.safetyCheck ?? safety.service,
    dataDir: options.dataDir,
    clientAgent: agent,
    idleSource: options.idleSource,
    simulatedIdle: simulated,
    onWorkerStatus: relay.workerStatus,
    onScheduleStatus: relay.scheduleStatus,
  });
  const rating = createRatingServices({
    ...base,
    dataDir: options.dataDir,
    clientAgent: agent,
    log: log.child('rating'),
    onStatus: relay.ratingStatus,
  });
  const notifier: NotifierPort = options.notifier ?? { show: (note) => void notices.add('info', `${note.title}: ${note.body}`) };
  const { rater } = rating;
  relay.attach({ events, notifier, settings, ledger, now, worker, scheduler, rater, simulated: simulated !== null });
  if (options.startRater !== false) rater.start();
  if (options.startScheduler === false) scheduler.stop();

  const workerName = (): string => settings.get().workerName;
  const kudos = createKudosServices({ db, horde, ledger, now, workerName, onLedgerChanged: relay.kudosChanged });
  const stopUptime = watchUptimeKudos({ ...kudos, workerState: () => worker.status().state, log });
  const onKeyUsable = (): void => void Promise.all([rater.wake(), resumeAfterKeyChange()]);
  const apiKeys = createApiKeyService({ keys, horde, settings, log, onKeyUsable });
  const info = appInfo(options, version, base);
  const handlers = {
    ...systemHandlers({ info, relay, notices, hardware, settings, apiKeys, horde, now }),
    ...kudosHandlers({ ...kudos, hasApiKey: () => Boolean(keys.apiKey()) }),
    ...modelsHandlers({ generation, ...models, log: modelsLog }),
    ...inferenceHandlers(generation, postprocess.postProcessors),
    ...postprocess.handlers,
    ...lora.handlers,
    ...workerHandlers({ worker, scheduler, horde, jobLog, simulated }),
    ...ratingHandlers({ ...rating, now }),
    ...safety.handlers,
  } satisfies Handlers;

  log.info(`${APP_NAME} ${version} started (${options.shell}); data in ${options.dataDir}`);
  return {
    info,
    handlers,
    events,
    notices,
    settings,
    ledger,
    generation,
    worker,
    rater,
    scheduler,
    jobLog,
    secrets: keys.store,
    log,
    close: () =>
      closeApp(
        [stopUptime, () => scheduler.stop(), () => modelReleaser.stop(), () => rater.stop()],
        [() => worker.shutdown(), () => generation.close(), () => safety.close()],
        db,
      ),
  };
}

/**
 * The features that own models and threads: generation (the inference thread), the safety check, the
 * post-processors (upscalers in the inference thread, node/postprocess), the Models page's catalogs and installs,
 * and LoRAs (node/lora).
 */
function createEngineFeatures(base: Foundation, options: AppOptions, agent: string, onProgress: (progress: InstallProgress) => void) {
  const generation = createInferenceServices(base, options);
  const safety = createSafetyServices(base, options);
  const postprocess = createPostprocessServices({
    dataDir: options.dataDir,
    http: base.http,
    clientAgent: agent,
    modelReferenceUrl: () => base.settings.get().modelReferenceUrl,
    generation,
    onProgress,
    log: base.log.child('postprocess'),
  });
  const modelsLog = base.log.child('models');
  const models = createModelServices({
    ...base,
    dataDir: options.dataDir,
    modelsDir: generation.modelsDir,
    profile: base.hardware.get,
    clientAgent: agent,
    log: modelsLog,
    onProgress,
  });
  // LoRAs and textual inversions: CivitAI lookups and downloads for the worker, merged in the inference thread.
  const lora = createLoraServices({
    dataDir: options.dataDir,
    http: base.http,
    clientAgent: agent,
    settings: base.settings,
    generation,
    cipher: options.secretCipher ?? null,
    redactSecret: base.redactSecret,
    log: base.log.child('lora'),
  });
  return { generation, safety, postprocess, models, modelsLog, lora };
}

/** Stops the loops (nothing new starts), then each thread in turn (the worker's jobs use the others), then the database. */
async function closeApp(loops: (() => void)[], threads: (() => Promise<void>)[], db: { close(): void }): Promise<void> {
  for (const stop of loops) stop();
  for (const close of threads) await close();
  db.close();
}
