import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { clientAgent, APP_NAME } from '../common/appMeta';
import type { AppInfo, Handlers } from '../common/contract';
import type { CapabilityProfile } from '../common/hardware';
import { deriveAppState } from '../core/appState';
import { createEventHub, type EventHub } from '../core/events';
import { createHordeClient } from '../core/horde/client';
import type { HttpPort } from '../core/horde/http';
import { computeTotals, type KudosLedgerPort } from '../core/kudos/ledger';
import type { Logger } from '../core/log';
import { createNoticeBoard, type NoticeBoard } from '../core/notices';
import { createSettingsService, type SettingsService } from '../core/settings/settingsService';
import { openDatabase } from './database';
import { detectCapabilityProfileSafely } from './hardware';
import { createNodeHttp } from './http';
import { createSqliteKudosLedger } from './kudosLedger';
import { createGenerationService, type GenerationService } from './generation';
import { InferenceHost } from './inferenceHost';
import { createFileLogger } from './logger';
import { dataPaths } from './paths';
import { createConfSettingsStore, type ConfFactory } from './settingsStore';
import { writeTinyModel } from './tinyModel';

export interface AppOptions {
  shell: 'electron' | 'headless';
  dataDir: string;
  settingsFactory: ConfFactory;
  /** Mirror of log lines (headless prints them); files are always written. */
  echoLog?: (line: string) => void;
  detectHardware?: () => Promise<CapabilityProfile>;
  http?: HttpPort;
  now?: () => Date;
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
  // The API key joins this list when onboarding lands (#6); every log line is redacted with it.
  const secrets: string[] = [];
  const log = createFileLogger(paths.logs, 'app', () => secrets, options.echoLog);
  const events = createEventHub((error) => log.error('an event listener failed', error));
  const notices = createNoticeBoard(events, now);

  const opened = openDatabase(paths.database);
  if (opened.problem) {
    log.error(opened.problem);
    notices.add('error', opened.problem);
  }
  const ledger = createSqliteKudosLedger(opened.db);

  const settingsStore = createConfSettingsStore(options.settingsFactory, paths.settingsDir);
  const settings = createSettingsService(
    settingsStore,
    (message) => {
      log.error(message);
      notices.add('error', message);
    },
    (next) => {
      events.emit('settings.changed', next);
      events.emit('app.state', deriveAppState(next));
    },
  );

  const version = appVersion();
  const horde = createHordeClient({
    baseUrl: () => settings.get().hordeUrl,
    http: options.http ?? createNodeHttp(),
    clientAgent: clientAgent(version),
    apiKey: () => undefined,
  });

  const detect = options.detectHardware ?? (() => detectCapabilityProfileSafely());
  let profile: Promise<CapabilityProfile> | null = null;
  const hardwareLog = log.child('hardware');

  const profileNow = (): Promise<CapabilityProfile> => handlers['hardware.profile']({ refresh: false });
  const inferenceLog = log.child('inference');
  const generation = createGenerationService({
    modelsDir: join(options.dataDir, 'models'),
    host: new InferenceHost(inferenceLog),
    providers: async () => (await profileNow()).executionProviders.map((e) => e.id),
    onProgress: (progress) => events.emit('inference.progress', progress),
    log: inferenceLog,
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
    'app.state': async () => deriveAppState(settings.get()),
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
    'kudos.totals': async () => computeTotals(ledger, now()),
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
    'inference.status': async () => generation.status(),
    'inference.generate': async ({ model, params }) => generation.generate(model, params),
    'inference.cancel': async ({ jobId }) => ({ cancelled: generation.cancel(jobId) }),
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
    log,
    async close() {
      await generation.close();
      opened.db.close();
    },
  };
}
