import {
  defaultSettings,
  settingsPatchSchema,
  settingsSchema,
  SETTINGS_VERSION,
  type Settings,
  type SettingsPatch,
} from '../../common/settings';
import { fieldErrors } from '../../common/dispatch';
import { UserFacingError } from '../../common/result';
import { describeSettingsProblems } from './settingsFile';

/** Thrown by a store whose file exists but is not readable JSON. */
export class CorruptSettingsError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CorruptSettingsError';
  }
}

/** The settings port: electron-store in Electron, conf in headless (node/system/settingsStore.ts). */
export interface SettingsStorePort {
  readonly path: string;
  /** The stored object, `{}` when there is no file yet; throws CorruptSettingsError. */
  read(): Record<string, unknown>;
  write(settings: Settings): void;
  /** Moves the current file aside and returns where it went. */
  quarantine(): string;
}

/** One step of the settings history: turns version `from` into `from + 1`. */
export interface SettingsMigration {
  from: number;
  migrate(raw: Record<string, unknown>): Record<string, unknown>;
}

/** Settings migrations, oldest first. Version 1 is the first released shape. */
export const SETTINGS_MIGRATIONS: readonly SettingsMigration[] = [];

/** Brings a stored object up to `target`, one numbered step at a time. */
export function migrateSettings(
  raw: Record<string, unknown>,
  migrations: readonly SettingsMigration[],
  target = SETTINGS_VERSION,
): Record<string, unknown> {
  // A file without a version predates versioning: treat it as the first shape.
  let version = typeof raw.schemaVersion === 'number' ? raw.schemaVersion : 1;
  if (version > target) {
    throw new CorruptSettingsError(`it was written by a newer HordeDesk (settings version ${version}, this one knows ${target})`);
  }
  let current = { ...raw, schemaVersion: version };
  while (version < target) {
    const step = migrations.find((m) => m.from === version);
    if (!step) throw new CorruptSettingsError(`no migration from settings version ${version}`);
    current = { ...step.migrate(current), schemaVersion: version + 1 };
    version += 1;
  }
  return current;
}

export interface SettingsService {
  get(): Settings;
  update(patch: SettingsPatch): Settings;
}

/**
 * Loads, migrates and validates settings. A file that cannot be used is moved aside (never
 * overwritten) and `onProblem` tells the user where it went; the app then runs on defaults.
 */
export function createSettingsService(
  store: SettingsStorePort,
  onProblem: (message: string) => void,
  onChange: (settings: Settings) => void,
  migrations: readonly SettingsMigration[] = SETTINGS_MIGRATIONS,
): SettingsService {
  let current = load();

  function load(): Settings {
    let raw: Record<string, unknown>;
    try {
      raw = store.read();
      if (Object.keys(raw).length === 0) return defaultSettings();
      const migrated = migrateSettings(raw, migrations);
      const parsed = settingsSchema.safeParse(migrated);
      if (!parsed.success) {
        throw new CorruptSettingsError(
          `it holds values HordeDesk cannot use (${describeSettingsProblems(fieldErrors(parsed.error)).join(' ')})`,
        );
      }
      if (migrated.schemaVersion !== raw.schemaVersion) store.write(parsed.data);
      return parsed.data;
    } catch (error) {
      if (!(error instanceof CorruptSettingsError)) throw error;
      const movedTo = store.quarantine();
      onProblem(
        `Your settings file could not be used because ${error.message}. It was moved to ${movedTo} and HordeDesk started with default settings.`,
      );
      return defaultSettings();
    }
  }

  return {
    get: () => current,
    update(patch) {
      const parsedPatch = settingsPatchSchema.safeParse(patch);
      if (!parsedPatch.success) {
        const fields = fieldErrors(parsedPatch.error);
        throw new UserFacingError('invalid-settings', `Not saved. ${describeSettingsProblems(fields).join(' ')}`, { fields });
      }
      const next = settingsSchema.parse({ ...current, ...parsedPatch.data });
      store.write(next);
      current = next;
      onChange(next);
      return next;
    },
  };
}
