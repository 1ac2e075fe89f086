import type { DatabaseSync } from 'node:sqlite';
import type { CapabilityProfile } from '../../common/hardware';
import type { Settings } from '../../common/settings';
import { createEventHub, type EventHub } from '../../core/events';
import { createHordeClient, type HordeClient } from '../../core/horde/client';
import type { HttpPort } from '../../core/horde/http';
import { createKeyBinding, type KeyBinding } from '../../core/keyBinding';
import type { KudosLedgerPort } from '../../core/kudos/ledger';
import { createRedactor, type Logger } from '../../core/log';
import { createNoticeBoard, type NoticeBoard } from '../../core/notices';
import type { SecretStorePort } from '../../core/secrets';
import { createSettingsService, type SettingsService } from '../../core/settings/settingsService';
import { createSqliteKudosLedger } from '../kudos/kudosLedger';
import { openDatabase } from '../storage/database';
import { createFileSecretStore } from './fileSecrets';
import { detectCapabilityProfileSafely } from './hardware';
import { createHardwareProfiles, type HardwareProfiles } from './hardwareProfiles';
import { createNodeHttp } from './http';
import { createFileLogger } from './logger';
import { dataPaths } from './paths';
import { createConfSettingsStore, type ConfFactory } from './settingsStore';

/** Where the shared parts live and what they report to. */
export interface FoundationOptions {
  dataDir: string;
  settingsFactory: ConfFactory;
  secrets?: SecretStorePort;
  echoLog?: (line: string) => void;
  http?: HttpPort;
  detectHardware?: () => Promise<CapabilityProfile>;
  /** The Client-Agent header of every call to the horde. */
  clientAgent: string;
  now: () => Date;
  /** Hears every settings change (the app's status relay). */
  onSettingsChange: (next: Settings) => void;
}

/**
 * What every feature shares: the database and its kudos ledger, the settings, the API key, the log,
 * events and notices, HTTP and the horde client, and the hardware profile.
 */
export interface Foundation {
  paths: { database: string; logs: string; settingsDir: string };
  settingsPath: string;
  db: DatabaseSync;
  /** The kudos ledger: the worker, the rater and the Kudos page all write or read it. */
  ledger: KudosLedgerPort;
  settings: SettingsService;
  keys: KeyBinding;
  log: Logger;
  events: EventHub;
  notices: NoticeBoard;
  http: HttpPort;
  horde: HordeClient;
  hardware: HardwareProfiles;
  /** Keeps another secret (the CivitAI token, by `name`) out of every log line as the API key is; null forgets it. */
  redactSecret(name: string, value: string | null): void;
}

/**
 * Opens the shared parts in the order their rules need. The key is read before the first log
 * line, and every line is redacted with that copy; the key is bound to the horde and ratings
 * origins the user confirmed (core/keyBinding), which the settings show, so the settings load
 * first. Problems met on the way (a database or settings file moved aside) are logged and
 * shown as notices once the log and the notice board exist, in the order they were met. A
 * database from a newer HordeDesk throws before anything else is touched.
 */
export function openFoundation(options: FoundationOptions): Foundation {
  const paths = dataPaths(options.dataDir);
  const early: string[] = [];
  let report = (problem: string): void => void early.push(problem);
  const opened = openDatabase(paths.database);
  if (opened.problem) report(opened.problem);
  const settingsStore = createConfSettingsStore(options.settingsFactory, paths.settingsDir);
  const settings = createSettingsService(settingsStore, (problem) => report(problem), options.onSettingsChange);

  const redactor = createRedactor();
  let apiKey: string | null = null;
  const otherSecrets = new Map<string, string>();
  const redactAll = (): void => redactor.setSecrets([...(apiKey ? [apiKey] : []), ...otherSecrets.values()]);
  let keyReadError: unknown = null;
  const keys = createKeyBinding(
    options.secrets ?? createFileSecretStore(options.dataDir),
    () => ({ horde: settings.get().hordeUrl, ratings: settings.get().ratingsUrl }),
    (key) => {
      apiKey = key;
      redactAll();
    },
    (error) => (keyReadError = error),
  );
  const log = createFileLogger(paths.logs, 'app', redactor, options.echoLog);
  if (keyReadError !== null) log.error('the API key could not be read; HordeDesk goes on as if none were set', keyReadError);
  const events = createEventHub((error) => log.error('an event listener failed', error));
  const notices = createNoticeBoard(events, options.now);
  report = (problem) => {
    log.error(problem);
    notices.add('error', problem);
  };
  early.forEach(report);

  const http = options.http ?? createNodeHttp();
  const horde = createHordeClient({
    baseUrl: () => settings.get().hordeUrl,
    http,
    clientAgent: options.clientAgent,
    apiKey: () => keys.apiKey() ?? undefined,
    confirmedKeyUrl: () => keys.confirmedUrl('horde'),
  });
  const hardware = createHardwareProfiles(options.detectHardware ?? (() => detectCapabilityProfileSafely()), log.child('hardware'), events);
  return {
    paths,
    settingsPath: settingsStore.path,
    db: opened.db,
    ledger: createSqliteKudosLedger(opened.db),
    settings,
    keys,
    log,
    events,
    notices,
    http,
    horde,
    hardware,
    redactSecret(name, value) {
      if (value) otherSecrets.set(name, value);
      else otherSecrets.delete(name);
      redactAll();
    },
  };
}
