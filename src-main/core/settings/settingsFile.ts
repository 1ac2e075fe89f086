import { settingsPatchSchema, SETTINGS_VERSION, type SettingsPatch } from '../../common/settings';
import { fieldErrors } from '../../common/dispatch';
import { UserFacingError } from '../../common/result';

/** The Settings page's own label for each field, so a list of problems reads like the page. */
const LABELS: Record<string, string> = {
  schemaVersion: 'Settings version',
  hordeUrl: 'AI Horde URL',
  ratingsUrl: 'Ratings service URL',
  workerName: 'Worker name',
  nsfw: 'Accept jobs marked NSFW',
  amount: 'Images per pop',
  maxPixels: 'Largest image (max_pixels)',
  modelReferenceUrl: 'Model reference URL',
  clipTokenizerUrl: 'CLIP tokenizer URL',
  loras: 'Take LoRA jobs',
  loraCacheGb: 'Disk for downloaded LoRAs (GB)',
  loraMergedGb: 'Disk for merged models (GB)',
  civitaiUrl: 'CivitAI URL',
  hordelingUrl: 'AI Hordeling URL',
  schedule: 'When to work',
  'schedule.mode': 'When to work',
  'schedule.idleMinutes': 'Minutes without input',
  'schedule.onReturn': 'When I come back',
  'schedule.pauseOnBattery': 'Not on battery',
  'schedule.windows': 'Hours',
  'schedule.maxGpuTempC': 'GPU temperature limit (°C)',
  notifications: 'Notify me',
  autostart: 'Start HordeDesk when I log in',
  onboarded: 'Onboarding done',
};

/** Fields whose messages already name themselves ("Blacklist word 3 is …"). */
const SELF_NAMED = new Set(['blacklist', 'models', '(request)']);

/** The page's words for a field path from `fieldErrors`, e.g. `schedule.windows.1.start` → "Hours, row 2, from". */
export function settingsFieldLabel(path: string): string {
  const known = LABELS[path];
  if (known !== undefined) return known;
  const row = /^schedule\.windows\.(\d+)(?:\.(days|start|end))?/.exec(path);
  if (row) {
    const part = row[2] === 'start' ? ', from' : row[2] === 'end' ? ', to' : row[2] === 'days' ? ', days' : '';
    return `Hours, row ${Number(row[1]) + 1}${part}`;
  }
  return LABELS[path.split('.')[0] ?? ''] ?? path;
}

/** One sentence per problem, each led by its field's label: "AI Horde URL: Use https:// …". */
export function describeSettingsProblems(fields: Record<string, string>): string[] {
  return Object.entries(fields).map(([path, message]) => (SELF_NAMED.has(path) ? message : `${settingsFieldLabel(path)}: ${message}`));
}

/**
 * Reads an exported settings file into a change the settings service can apply whole, with the
 * same checks and the same words as the Settings page. Throws a UserFacingError naming every
 * field it refuses; nothing is applied unless everything passes. An empty worker name in the
 * file (exported before one was chosen) means "keep mine", as the export never holds a key or
 * the onboarding state either.
 */
export function parseSettingsFile(content: string): SettingsPatch {
  let parsed: unknown;
  try {
    parsed = JSON.parse(content);
  } catch {
    throw new UserFacingError('invalid-settings-file', 'This file is not a HordeDesk settings file (it is not JSON).');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new UserFacingError('invalid-settings-file', 'This file is not a HordeDesk settings file.');
  const { schemaVersion, ...patch } = parsed as Record<string, unknown>;
  if (schemaVersion !== undefined && schemaVersion !== SETTINGS_VERSION) {
    const shown = typeof schemaVersion === 'number' ? String(schemaVersion) : JSON.stringify(schemaVersion).slice(0, 20);
    throw new UserFacingError(
      'invalid-settings-file',
      `This settings file is version ${shown}; this HordeDesk reads version ${SETTINGS_VERSION}.`,
    );
  }
  if (patch.workerName === '') delete patch.workerName;
  const checked = settingsPatchSchema.safeParse(patch);
  if (!checked.success) {
    const fields = fieldErrors(checked.error);
    const problems = describeSettingsProblems(fields);
    throw new UserFacingError('invalid-settings-file', `Nothing was imported. ${problems.join(' ')}`, {
      fields: Object.fromEntries(Object.keys(fields).map((k, i) => [k, problems[i] ?? ''])),
    });
  }
  return checked.data;
}
