import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientAgent, APP_NAME } from '../common/appMeta';
import { toDataset } from '../common/ratingsApi';
import type { AppInfo, Handlers, WorkerStatusDto } from '../common/contract';
import type { RatingStatus } from '../common/ratings';
import type { CapabilityProfile } from '../common/hardware';
import { deriveAppState } from '../core/appState';
import { createEventHub, type EventHub } from '../core/events';
import { createHordeClient } from '../core/horde/client';
import type { HttpPort } from '../core/horde/http';
import { computeTotals, type KudosLedgerPort } from '../core/kudos/ledger';
import { buildKudosCharts, chartsSince } from '../core/kudos/charts';
import { reconcile } from '../core/kudos/reconcile';
import { bookUptime } from '../core/kudos/uptime';
import type { UserDetails, WorkerDetails } from '../common/horde';
import { ledgerRowsSince, ledgerTotalsBySource } from './kudos/kudosQueries';
import { createRedactor, type Logger } from '../core/log';
import { createNoticeBoard, type NoticeBoard } from '../core/notices';
import { createSettingsService, type SettingsService } from '../core/settings/settingsService';
import { parseSettingsFile } from '../core/settings/settingsFile';
import { checkApiKeyShape, type SecretStorePort } from '../core/secrets';
import { ratingNote, workerNote, type Note, type NotifierPort } from '../core/notify';
import { createScheduler, type IdleSourcePort, type Scheduler, type ScheduleStatus } from '../core/schedule/scheduler';
import { createUnknownIdleSource, type SimulatedIdleSource } from './system/idleSource';
import { createGpuTemperatureSource } from './system/gpuTemperature';
import { HordeApiError } from '../core/horde/errors';
import { UserFacingError } from '../common/result';
import { openDatabase } from './storage/database';
import { detectCapabilityProfileSafely } from './system/hardware';
import { createNodeHttp } from './system/http';
import { createSqliteKudosLedger } from './kudos/kudosLedger';
import { createFileSecretStore } from './system/fileSecrets';
import { createImageDelivery } from './worker/imageDelivery';
import { createSqliteJobLog, type JobLog } from './worker/jobLog';
import { createWorkerService, nodeClock, type WorkerService } from './worker/workerService';
import { createRatingsClient } from '../core/rating/client';
import { exportRatings } from '../core/rating/export';
import { createRater, type Rater } from '../core/rating/raterService';
import { createImageCache } from './rating/imageCache';
import { isVerifiable, unverifiedReason } from '../core/models/verification';
import { createModelCatalog } from './models/modelCatalog';
import { createModelInstaller } from './models/modelInstaller';
import { createRatingsRemote } from './rating/ratingsRemote';
import { createSqliteRatingStore } from './rating/ratingStore';
import { createGenerationService, type GenerationService } from './inference/generation';
import { InferenceHost } from './inference/inferenceHost';
import { createFileLogger } from './system/logger';
import { createKeyBinding } from '../core/keyBinding';
import { dataPaths } from './system/paths';
import { createConfSettingsStore, type ConfFactory } from './system/settingsStore';
import { writeTinyModel } from './models/tinyModel';

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

/** The composition root: wires storage, settings, hardware and the horde client into handlers. */
export function createApp(options: AppOptions): HordeDeskApp {
  const now = options.now ?? (() => new Date());
  const paths = dataPaths(options.dataDir);
  // The key is read once and after each change; every log line is redacted with that copy
  // before it is written or echoed. The key is bound to the horde and ratings origins the user
  // confirmed (core/keyBinding): a settings change cannot send it elsewhere unasked.
  const redactor = createRedactor();
  let keyReadError: unknown = null;
  const keys = createKeyBinding(
    options.secrets ?? createFileSecretStore(options.dataDir),
    () => ({ horde: settings.get().hordeUrl, ratings: settings.get().ratingsUrl }),
    (key) => redactor.setSecrets(key ? [key] : []),
    (error) => (keyReadError = error),
  );
  const secretStore = keys.store;
  const log = createFileLogger(paths.logs, 'app', redactor, options.echoLog);
  if (keyReadError !== null) log.error('the API key could not be read; HordeDesk goes on as if none were set', keyReadError);
  const events = createEventHub((error) => log.error('an event listener failed', error));
  const notices = createNoticeBoard(events, now);

  const opened = openDatabase(paths.database);
  if (opened.problem) {
    log.error(opened.problem);
    notices.add('error', opened.problem);
  }
  const ledger = createSqliteKudosLedger(opened.db);
  const jobLog = createSqliteJobLog(opened.db);

  const settingsStore = createConfSettingsStore(options.settingsFactory, paths.settingsDir);
  const settings = createSettingsService(
    settingsStore,
    (message) => {
      log.error(message);
      notices.add('error', message);
    },
    (next) => {
      events.emit('settings.changed', next);
      rater.wake();
      void scheduler.setRules(next.schedule);
      events.emit('app.state', deriveAppState(next, worker.status(), scheduler.status()));
    },
  );

  const version = appVersion();
  const http = options.http ?? createNodeHttp();
  /** Tells every page the ledger changed, with fresh totals. */
  const kudosChanged = (): void => events.emit('kudos.changed', computeTotals(ledger, now()));
  const horde = createHordeClient({
    baseUrl: () => settings.get().hordeUrl,
    http,
    clientAgent: clientAgent(version),
    apiKey: () => secretStore.getApiKey() ?? undefined,
    confirmedKeyUrl: () => keys.confirmedUrl('horde'),
  });
  let user: { username: string; kudos: number | null; trusted: boolean | null } | null = null;
  const checkUser = async (): Promise<void> => {
    const details = await horde.findUser();
    user = { username: details.username, kudos: typeof details.kudos === 'number' ? details.kudos : null, trusted: typeof details.trusted === 'boolean' ? details.trusted : null };
  };

  const detect = options.detectHardware ?? (() => detectCapabilityProfileSafely());
  let profile: Promise<CapabilityProfile> | null = null;
  const hardwareLog = log.child('hardware');

  const profileNow = (): Promise<CapabilityProfile> => handlers['hardware.profile']({ refresh: false });
  const inferenceLog = log.child('inference');
  const generation = createGenerationService({
    modelsDir: join(options.dataDir, 'models'),
    host: new InferenceHost(inferenceLog, options.inferenceWorkerUrl),
    providers: async () => (await profileNow()).executionProviders.map((e) => e.id),
    onProgress: (progress) => events.emit('inference.progress', progress),
    log: inferenceLog,
  });

  const notifier: NotifierPort = options.notifier ?? { show: (note) => void notices.add('info', `${note.title}: ${note.body}`) };
  const notify = (note: Note | null): void => {
    if (note && settings.get().notifications) notifier.show(note);
  };
  let lastWorkerState: WorkerStatusDto['state'] | null = null;
  let lastRatingStatus: RatingStatus | null = null;

  const worker = createWorkerService({
    horde,
    generation,
    delivery: createImageDelivery(),
    ledger,
    jobLog,
    settings,
    secrets: secretStore,
    suggestedMaxPixels: async () => (await profileNow()).maxPixels,
    bridgeAgent: clientAgent(version),
    log: log.child('worker'),
    onStatus: (status) => {
      notify(workerNote(lastWorkerState, status));
      lastWorkerState = status.state;
      events.emit('worker.status', status);
      events.emit('app.state', deriveAppState(settings.get(), status, scheduler.status()));
      if (status.stats.kudosSession !== lastKudos) {
        lastKudos = status.stats.kudosSession;
        kudosChanged();
      }
    },
  });
  let lastKudos = 0;

  const ratingStore = createSqliteRatingStore(opened.db, ledger);
  const imageCache = createImageCache(join(options.dataDir, 'rating-cache'));
  const ratingsClient = createRatingsClient({ baseUrl: () => settings.get().ratingsUrl, http, clientAgent: clientAgent(version), apiKey: () => secretStore.getApiKey() ?? undefined, confirmedKeyUrl: () => keys.confirmedUrl('ratings') });
  let lastRatingKudos = 0;
  const rater = createRater({
    store: ratingStore,
    cache: imageCache,
    remote: createRatingsRemote(ratingsClient, horde, clientAgent(version), () => secretStore.getApiKey()),
    clock: nodeClock,
    log: log.child('rating'),
    onStatus: (status) => {
      notify(ratingNote(lastRatingStatus, status));
      lastRatingStatus = status;
      events.emit('rating.status', status);
      if (status.sessionKudos !== lastRatingKudos) {
        lastRatingKudos = status.sessionKudos;
        kudosChanged();
      }
    },
  });
  if (options.startRater !== false) rater.start();
  const dataUrl = (bytes: Uint8Array | null): string | null => (bytes ? `data:image/webp;base64,${Buffer.from(bytes).toString('base64')}` : null);

  const simulated = options.simulatedIdle ?? null;
  const scheduleDto = (status: ScheduleStatus) => ({
    reason: status.reason,
    waiting: status.waiting,
    cause: status.cause,
    snoozedUntil: status.snoozedUntil,
    finishThenPause: status.finishThenPause,
    manualStart: status.manualStart,
    simulated: simulated !== null,
  });
  const scheduler = createScheduler({
    clock: nodeClock,
    idle: simulated ?? options.idleSource ?? createUnknownIdleSource(),
    temperature: createGpuTemperatureSource(),
    worker: {
      state: () => worker.status().state,
      start: async () => void (await worker.start()),
      pause: () => worker.pause(),
      stopNow: () => worker.stopNow(),
    },
    rules: settings.get().schedule,
    onStatus: (status) => {
      events.emit('schedule.status', scheduleDto(status));
      events.emit('app.state', deriveAppState(settings.get(), worker.status(), status));
    },
  });
  if (options.startScheduler === false) scheduler.stop();

  // Uptime kudos only show in the horde's worker record: read it every 10 minutes while working.
  const uptimeTimer = setInterval(() => {
    const name = settings.get().workerName;
    if (!name || worker.status().state !== 'running') return;
    void horde
      .getWorkerByName(name)
      .then((details) => {
        if (bookUptime(ledger, details.kudos_details?.uptime, now().getTime()) > 0) kudosChanged();
      })
      .catch((error: unknown) => log.warn(`could not read uptime kudos: ${error instanceof Error ? error.message : String(error)}`));
  }, 10 * 60_000);
  uptimeTimer.unref();

  const keyStatus = () => ({ set: secretStore.getApiKey() !== null, protection: secretStore.protection, username: user?.username ?? null, kudos: user?.kudos ?? null, trusted: user?.trusted ?? null, pendingOrigins: keys.pending() });

  const catalog = createModelCatalog({
    dataDir: options.dataDir,
    modelsDir: generation.modelsDir,
    http,
    horde,
    referenceUrl: () => settings.get().modelReferenceUrl,
    clientAgent: clientAgent(version),
    profile: profileNow,
    log: log.child('models'),
  });

  const installer = createModelInstaller({
    dataDir: options.dataDir,
    modelsDir: generation.modelsDir,
    clipTokenizerUrl: () => settings.get().clipTokenizerUrl,
    clientAgent: clientAgent(version),
    weightDtype: async () => ((await profileNow()).executionProviders[0]?.id ?? 'cpu') === 'cpu' ? 'fp32' : 'fp16',
    onProgress: (progress) => {
      events.emit('models.progress', progress);
      if (progress.phase === 'done') notify({ title: 'Model ready', body: `${progress.name} is downloaded and converted; the worker can serve it.` });
    },
    log: log.child('models'),
  });

  const info: AppInfo = {
    name: APP_NAME,
    version,
    shell: options.shell,
    dataDir: options.dataDir,
    logDir: paths.logs,
    databasePath: paths.database,
    settingsPath: settingsStore.path,
  };

  const handlers: Handlers = {
    'app.info': async () => info,
    'app.state': async () => deriveAppState(settings.get(), worker.status(), scheduler.status()),
    'app.notices': async () => notices.list(),
    'app.dismissNotice': async ({ id }) => notices.dismiss(id),
    'hardware.profile': async ({ refresh }) => {
      if (!profile || refresh) {
        const first = profile === null;
        profile = detect().then((p) => {
          hardwareLog.info(`detected: ${p.primaryGpu ? `${p.primaryGpu.name} (${p.primaryGpu.vramMiB ?? '?'} MiB)` : 'no GPU'}; providers ${p.executionProviders.map((e) => e.id).join(', ')}`);
          if (!first) events.emit('hardware.changed', p);
          return p;
        });
      }
      return profile;
    },
    'settings.get': async () => settings.get(),
    'settings.update': async (patch) => settings.update(patch),
    'settings.export': async () => {
      // Everything but what is machine-specific bookkeeping; the API key is never in settings.
      const { schemaVersion, onboarded: _onboarded, ...rest } = settings.get();
      return { filename: 'hordedesk-settings.json', content: `${JSON.stringify({ schemaVersion, ...rest }, null, 2)}\n` };
    },
    // Same checks and words as the Settings page; all of it applies or none (core/settings/settingsFile.ts).
    'settings.import': async ({ content }) => settings.update(parseSettingsFile(content)),
    'kudos.totals': async () => computeTotals(ledger, now()),
    'kudos.charts': async () => {
      const at = now();
      return buildKudosCharts({ rows: ledgerRowsSince(opened.db, chartsSince(at)), allTime: ledgerTotalsBySource(opened.db), now: at });
    },
    'kudos.reconcile': async () => {
      let details: UserDetails | null = null;
      let workerDetails: WorkerDetails | null = null;
      let problem: string | null = null;
      if (!secretStore.getApiKey()) problem = 'No API key is set, so the horde cannot be asked.';
      else {
        try {
          details = await horde.findUser();
          const name = settings.get().workerName;
          if (name) workerDetails = await horde.getWorkerByName(name).catch(() => null);
          if (bookUptime(ledger, workerDetails?.kudos_details?.uptime, now().getTime()) > 0) kudosChanged();
        } catch (error) {
          problem = error instanceof Error ? error.message : String(error);
        }
      }
      // Non-reGen bridges are credited ×0.75 of the announced reward (HORDE-PROTOCOL §2.8).
      return reconcile({ ledgerTotals: ledgerTotalsBySource(opened.db), user: details, worker: workerDetails, bridgeMultiplier: 0.75, trusted: null, now: now(), problem });
    },
    'horde.status': async () => {
      const url = settings.get().hordeUrl;
      const checkedAt = now().toISOString();
      try {
        const beat = await horde.heartbeat();
        return { url, reachable: true, message: beat.message, version: beat.version ?? null, checkedAt };
      } catch (error) {
        return { url, reachable: false, message: error instanceof Error ? error.message : String(error), version: null, checkedAt };
      }
    },
    'models.list': async () => generation.list(),
    'models.createTiny': async () => {
      const dir = await writeTinyModel(generation.modelsDir);
      const entry = generation.list().find((m) => m.dir === dir);
      if (!entry) throw new Error(`the tiny model was written to ${dir} but is not listed`);
      return entry;
    },
    'models.catalog': async ({ refresh }) => catalog.view(refresh),
    'models.install': async ({ name, allowUnverified }) => {
      const entry = await catalog.entry(name);
      if (!entry) throw new UserFacingError('unknown-model', `The model reference has no model called ${name}.`);
      if (!entry.fits) throw new UserFacingError('model-does-not-fit', `${name}: ${entry.fitReason}`);
      // A file with no sha256 to check is installed only after the user's "Install anyway".
      const verifiable = isVerifiable(entry.downloads);
      if (!verifiable && !allowUnverified) throw new UserFacingError('unverified-model', `${name}: this file cannot be verified. ${unverifiedReason(entry.downloads)} To go ahead, choose Install anyway on the Models page.`);
      if (!verifiable) log.child('models').warn(`installing ${name} without a sha256 to check it against: the user chose "Install anyway"`);
      installer.start({ ...entry, allowUnverified: !verifiable && allowUnverified });
      return { started: true };
    },
    'models.cancelInstall': async ({ name }) => ({ cancelled: installer.cancel(name) }),
    'models.delete': async ({ name }) => {
      if (generation.status().model === name) throw new UserFacingError('model-in-use', `${name} is loaded; stop the worker (and the Generate page) before deleting it.`);
      return catalog.remove(name);
    },
    'inference.status': async () => generation.status(),
    'inference.generate': async ({ model, params }) => generation.generate(model, params),
    'inference.cancel': async ({ jobId }) => ({ cancelled: generation.cancel(jobId) }),
    'apiKey.status': async () => keyStatus(),
    'apiKey.set': async ({ apiKey }) => {
      const problem = checkApiKeyShape(apiKey);
      if (problem) throw new UserFacingError('invalid-api-key', problem, { fields: { apiKey: problem } });
      // Check the key with the horde before keeping it; offline, keep it unchecked.
      // Setting the key confirms the horde and ratings origins the settings show now.
      const previous = keys.snapshot();
      keys.set(apiKey);
      try {
        await checkUser();
      } catch (error) {
        if (error instanceof HordeApiError && (error.status === 401 || error.status === 404)) {
          keys.restore(previous);
          throw new UserFacingError('unknown-api-key', 'The horde does not know this API key. Check it at aihorde.net/register.', { fields: { apiKey: 'unknown to the horde' } });
        }
        user = null;
        log.warn(`kept the API key without checking it: ${error instanceof Error ? error.message : String(error)}`);
      }
      rater.wake();
      return keyStatus();
    },
    'apiKey.confirmOrigins': async () => {
      const pending = keys.pending();
      keys.confirm();
      if (pending.length) log.info(`the user confirmed sending the API key to ${pending.map((p) => p.origin).join(' and ')}`);
      rater.wake();
      return keyStatus();
    },
    'apiKey.revertOrigins': async () => {
      const back: { hordeUrl?: string; ratingsUrl?: string } = {};
      for (const p of keys.pending()) back[p.service === 'horde' ? 'hordeUrl' : 'ratingsUrl'] = p.previousUrl;
      if (Object.keys(back).length) settings.update(back);
      return keyStatus();
    },
    'apiKey.clear': async () => {
      secretStore.clearApiKey();
      user = null;
      return keyStatus();
    },
    'worker.status': async () => worker.status(),
    'worker.checkName': async ({ name }) => {
      const trimmed = name.trim();
      if (trimmed.length < 5 || trimmed.length > 100) return { available: false, message: 'A worker name has 5 to 100 characters.' };
      if (/colab|tpu|google/i.test(trimmed)) return { available: false, message: 'The horde refuses new worker names containing "colab", "tpu" or "google".' };
      let existing: { id: string } | null = null;
      try {
        existing = await horde.getWorkerByName(trimmed);
      } catch (error) {
        if (!(error instanceof HordeApiError && error.status === 404)) return { available: true, message: `Could not ask the horde (${error instanceof Error ? error.message : String(error)}); the name is checked again at the first pop.` };
      }
      if (!existing) return { available: true, message: 'The name is free.' };
      try {
        const mine = (await horde.findUser()).worker_ids ?? [];
        if (mine.includes(existing.id)) return { available: true, message: 'This is already your worker.' };
      } catch {
        // Without the owner's details, the name is taken as far as we can tell.
      }
      return { available: false, message: 'Another user owns a worker with this name; the horde would refuse it. Pick another.' };
    },
    // The user's own Start/Pause/Stop go through the scheduler, so it does not undo them.
    'worker.start': async () => {
      const status = await worker.start();
      await scheduler.userStarted();
      return status;
    },
    'worker.pause': async () => {
      await scheduler.finishThenPause();
      return worker.pause();
    },
    'worker.stopNow': async () => {
      await scheduler.finishThenPause();
      return worker.stopNow();
    },
    'schedule.status': async () => scheduleDto(scheduler.status()),
    'schedule.snooze': async ({ minutes }) => {
      await scheduler.snooze(minutes * 60_000);
      return scheduleDto(scheduler.status());
    },
    'schedule.clearSnooze': async () => {
      await scheduler.clearSnooze();
      return scheduleDto(scheduler.status());
    },
    'schedule.simulate': async ({ presence }) => {
      if (!simulated) throw new UserFacingError('not-simulated', 'Idle is only simulated in the demo; here HordeDesk reads it from the system.');
      if (presence === 'away') simulated.set(24 * 3600);
      else simulated.reportActivity();
      await scheduler.tick();
      return scheduleDto(scheduler.status());
    },
    'worker.leaveMaintenance': async () => worker.leaveMaintenance(),
    'rating.status': async () => rater.status(),
    'rating.queue': async ({ count }) => rater.queue(count),
    'rating.rate': async ({ imageId, rating, artifacts }) => rater.rate(imageId, rating, artifacts),
    'rating.undo': async () => rater.undo(),
    'rating.skip': async ({ imageId }) => rater.skip(imageId),
    'rating.downloadSession': async ({ count, datasetId }) => rater.downloadSession(count, datasetId),
    'rating.datasets': async () => (await ratingsClient.datasets()).map(toDataset),
    'rating.history': async (filter) => {
      const history = ratingStore.history(filter);
      return { ...history, rows: history.rows.map((r) => ({ ...r, thumbnail: dataUrl(r.thumbnail) })) };
    },
    'rating.export': async ({ format }) => exportRatings(ratingStore.all(), format, now()),
    'jobs.history': async ({ limit, offset }) => ({ total: jobLog.count(), jobs: jobLog.list(limit, offset) }),
  };

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
    jobLog,
    secrets: secretStore,
    log,
    scheduler,
    async close() {
      clearInterval(uptimeTimer);
      scheduler.stop();
      rater.stop();
      await worker.shutdown();
      await generation.close();
      opened.db.close();
    },
  };
}
