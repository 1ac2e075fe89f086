import { readFileSync } from 'node:fs';
import { join } from 'node:path';
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
import { createScheduler, type IdleSourcePort, type Scheduler } from '../core/schedule/scheduler';
import type { SecretStorePort } from '../core/secrets';
import type { SettingsService } from '../core/settings/settingsService';
import { createStatusRelay } from '../core/statusRelay';
import { createGenerationService, type GenerationService } from './inference/generation';
import { inferenceHandlers } from './inference/handlers';
import { InferenceHost } from './inference/inferenceHost';
import { kudosHandlers } from './kudos/handlers';
import { createSqliteKudosQueries } from './kudos/kudosQueries';
import { watchUptimeKudos } from './kudos/uptimeWatch';
import { modelsHandlers } from './models/handlers';
import { createModelServices } from './models/modelServices';
import { ratingHandlers } from './rating/handlers';
import { createRatingServices } from './rating/ratingServices';
import { openFoundation, type Foundation } from './system/foundation';
import { createGpuTemperatureSource } from './system/gpuTemperature';
import { systemHandlers } from './system/handlers';
import { createUnknownIdleSource, type SimulatedIdleSource } from './system/idleSource';
import type { ConfFactory } from './system/settingsStore';
import { workerControl, workerHandlers } from './worker/handlers';
import { createImageDelivery } from './worker/imageDelivery';
import { createSqliteJobLog, type JobLog } from './worker/jobLog';
import { createWorkerService, nodeClock, type WorkerService } from './worker/workerService';

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
  const { db, ledger, settings, keys, log, events, notices, http, horde, hardware } = base;
  const jobLog = createSqliteJobLog(db);
  const inferenceLog = log.child('inference');
  const generation = createGenerationService({
    modelsDir: join(options.dataDir, 'models'),
    host: new InferenceHost(inferenceLog, options.inferenceWorkerUrl),
    providers: async () => (await hardware.get()).executionProviders.map((e) => e.id),
    onProgress: (progress) => events.emit('inference.progress', progress),
    log: inferenceLog,
  });
  const worker = createWorkerService({
    horde,
    generation,
    ledger,
    jobLog,
    settings,
    secrets: keys.store,
    delivery: createImageDelivery(),
    suggestedMaxPixels: async () => (await hardware.get()).maxPixels,
    bridgeAgent: agent,
    log: log.child('worker'),
    onStatus: relay.workerStatus,
  });
  const rating = createRatingServices({
    dataDir: options.dataDir,
    db,
    ledger,
    http,
    horde,
    keys,
    settings,
    clientAgent: agent,
    log: log.child('rating'),
    onStatus: relay.ratingStatus,
  });
  const simulated = options.simulatedIdle ?? null;
  const scheduler = createScheduler({
    clock: nodeClock,
    idle: simulated ?? options.idleSource ?? createUnknownIdleSource(),
    temperature: createGpuTemperatureSource(),
    worker: workerControl(worker),
    rules: settings.get().schedule,
    onStatus: relay.scheduleStatus,
  });
  const notifier: NotifierPort = options.notifier ?? { show: (note) => void notices.add('info', `${note.title}: ${note.body}`) };
  const { rater } = rating;
  relay.attach({ events, notifier, settings, ledger, now, worker, scheduler, rater, simulated: simulated !== null });
  if (options.startRater !== false) rater.start();
  if (options.startScheduler === false) scheduler.stop();

  const workerName = (): string => settings.get().workerName;
  const kudos = { horde, ledger, queries: createSqliteKudosQueries(db), now, workerName, onUptimeBooked: relay.kudosChanged };
  const stopUptime = watchUptimeKudos({ ...kudos, workerState: () => worker.status().state, log });
  const modelsLog = log.child('models');
  const models = createModelServices({
    dataDir: options.dataDir,
    modelsDir: generation.modelsDir,
    http,
    horde,
    profile: hardware.get,
    settings,
    clientAgent: agent,
    log: modelsLog,
    onProgress: relay.modelProgress,
  });
  const apiKeys = createApiKeyService({ keys, horde, settings, log, onKeyUsable: () => rater.wake() });
  const info = appInfo(options, version, base);
  const handlers = {
    ...systemHandlers({ info, relay, notices, hardware, settings, apiKeys, horde, now }),
    ...kudosHandlers({ ...kudos, hasApiKey: () => Boolean(keys.apiKey()) }),
    ...modelsHandlers({ generation, ...models, log: modelsLog }),
    ...inferenceHandlers(generation),
    ...workerHandlers({ worker, scheduler, horde, jobLog, simulated }),
    ...ratingHandlers({ ...rating, now }),
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
    async close() {
      stopUptime();
      scheduler.stop();
      rater.stop();
      await worker.shutdown();
      await generation.close();
      db.close();
    },
  };
}
