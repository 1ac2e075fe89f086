import { describe, expect, test } from 'vitest';
import { fieldErrors } from '../../src-main/common/dispatch';
import { defaultSettings, settingsPatchSchema, settingsSchema, type SettingsPatch } from '../../src-main/common/settings';

/** What the Settings page would show: `{ field: message }`, or the saved values. */
function check(patch: unknown): { fields: Record<string, string> } | { saved: SettingsPatch } {
  const parsed = settingsPatchSchema.safeParse(patch);
  return parsed.success ? { saved: parsed.data } : { fields: fieldErrors(parsed.error) };
}

const HTTPS_HORDE =
  'Use https:// for the AI Horde: plain http:// would send your API key unencrypted. (http:// is allowed only for this computer: localhost or 127.0.0.1.)';
const NAME_RANGE = 'Enter a name of 5 to 100 characters.';
const HIDDEN_NAME = 'A worker name cannot contain tabs, line breaks or invisible characters.';
const AMOUNT = 'Enter a whole number from 1 to 20 (the horde hands out at most 20 images per pop).';
const PIXELS =
  'Enter a whole number of pixels from 4096 (64×64) to 9437184 (3072×3072), e.g. 1048576 for 1024×1024, or leave the field empty to use the suggestion.';
const MINUTES = 'Enter a whole number of minutes from 1 to 120.';
const DEGREES = 'Enter a whole number of degrees from 50 to 100, or leave the field empty for no limit.';
const TIME = 'Use 24-hour time, e.g. 18:30.';
const schedule = defaultSettings().schedule;

describe('each settings field refuses bad input with the page’s own words, on that field', () => {
  test.each<[string, unknown, Record<string, string>]>([
    // Service URLs: one rule (common/serviceUrl.ts), each naming its own service.
    ['an empty horde URL', { hordeUrl: '' }, { hordeUrl: 'Enter the address of the AI Horde, e.g. https://…' }],
    [
      'an empty ratings URL names the ratings service, not the horde',
      { ratingsUrl: '  ' },
      { ratingsUrl: 'Enter the address of the ratings service, e.g. https://…' },
    ],
    ['plain http to a remote horde', { hordeUrl: 'http://aihorde.example/api' }, { hordeUrl: HTTPS_HORDE }],
    [
      'plain http to a remote ratings service',
      { ratingsUrl: 'http://ratings.example/api/v1' },
      { ratingsUrl: expect.stringContaining('Use https:// for the ratings service') as unknown as string },
    ],
    [
      'plain http for the model reference',
      { modelReferenceUrl: 'http://example.org/ref.json' },
      { modelReferenceUrl: expect.stringContaining('Use https:// for the model reference') as unknown as string },
    ],
    [
      'plain http for the tokenizer',
      { clipTokenizerUrl: 'http://example.org/clip' },
      { clipTokenizerUrl: expect.stringContaining('Use https:// for the CLIP tokenizer download') as unknown as string },
    ],
    [
      'plain http for CivitAI',
      { civitaiUrl: 'http://example.org' },
      { civitaiUrl: expect.stringContaining('Use https:// for CivitAI') as unknown as string },
    ],
    [
      'a LoRA disk budget of 0 GB',
      { loraCacheGb: 0 },
      { loraCacheGb: 'Enter a whole number of gigabytes from 1 to 1000 for the downloaded LoRAs.' },
    ],
    [
      'a merged-model budget that is not a number',
      { loraMergedGb: 'lots' },
      { loraMergedGb: 'Enter a whole number of gigabytes from 1 to 1000 for the merged models.' },
    ],
    [
      'a 10,000-character URL',
      { hordeUrl: `https://aihorde.net/${'a'.repeat(10_000)}` },
      { hordeUrl: 'That address is too long (at most 2048 characters).' },
    ],
    ['an ftp URL', { hordeUrl: 'ftp://aihorde.net/api' }, { hordeUrl: 'The address must start with https://' }],
    [
      'a URL with a password',
      { ratingsUrl: 'https://me:pw@ratings.aihorde.net/api/v1' },
      { ratingsUrl: 'The address must not contain a user name or password.' },
    ],
    [
      'a URL with a bidi override',
      { hordeUrl: 'https://aihorde.net/\u202eipa' },
      { hordeUrl: 'The address contains spaces or invisible characters.' },
    ],
    ['words, not a URL', { hordeUrl: 'not a url' }, { hordeUrl: 'The address contains spaces or invisible characters.' }],
    ['a bare word', { hordeUrl: 'aihorde' }, { hordeUrl: 'That is not a full web address. Enter one like https://…' }],
    ['a URL that is not text', { hordeUrl: 42 }, { hordeUrl: 'Enter the address of the AI Horde, e.g. https://…' }],
    // Worker name.
    ['an empty worker name', { workerName: '' }, { workerName: NAME_RANGE }],
    ['a worker name of spaces', { workerName: '     ' }, { workerName: NAME_RANGE }],
    ['a short worker name', { workerName: 'abc' }, { workerName: 'A worker name needs at least 5 characters.' }],
    ['a long worker name', { workerName: 'x'.repeat(101) }, { workerName: 'A worker name has at most 100 characters.' }],
    ['a tab inside the name', { workerName: 'Desk\tDreamer' }, { workerName: HIDDEN_NAME }],
    ['a line feed inside the name', { workerName: 'Desk\nDreamer' }, { workerName: HIDDEN_NAME }],
    ['a right-to-left override (U+202E)', { workerName: 'Desk \u202eremaerD' }, { workerName: HIDDEN_NAME }],
    ['a zero-width space', { workerName: 'Desk\u200bDreamer' }, { workerName: HIDDEN_NAME }],
    ['a zero-width joiner', { workerName: 'Desk\u200dDreamer' }, { workerName: HIDDEN_NAME }],
    ['a no-break space', { workerName: 'Desk\u00a0Dreamer' }, { workerName: HIDDEN_NAME }],
    ['a BOM', { workerName: 'Desk\ufeffDreamer' }, { workerName: HIDDEN_NAME }],
    ['a lone surrogate', { workerName: 'Desk\ud800Dreamer' }, { workerName: HIDDEN_NAME }],
    ['a line separator', { workerName: 'Desk\u2028Dreamer' }, { workerName: HIDDEN_NAME }],
    ['a DEL control', { workerName: 'Desk\u007fDreamer' }, { workerName: HIDDEN_NAME }],
    ['a name that is not text', { workerName: 12345 }, { workerName: NAME_RANGE }],
    ['a 4-character name', { workerName: 'abcd' }, { workerName: 'A worker name needs at least 5 characters.' }],
    [
      '4 emoji (8 UTF-16 units, 4 characters as the horde counts)',
      { workerName: '🖥🖥🖥🖥' },
      { workerName: 'A worker name needs at least 5 characters.' },
    ],
    ['101 emoji', { workerName: '🖥'.repeat(101) }, { workerName: 'A worker name has at most 100 characters.' }],
    ...[
      '\u0085',
      '\u00ad',
      '\u115f',
      '\u1160',
      '\u1680',
      '\u2000',
      '\u2005',
      '\u200a',
      '\u2029',
      '\u202f',
      '\u205f',
      '\u2066',
      '\u3000',
      '\u3164',
      '\ue000',
      '\uffa0',
      '\u{f0000}',
    ].map((c): [string, unknown, Record<string, string>] => [
      `the hidden character U+${c.codePointAt(0)?.toString(16).toUpperCase() ?? ''} inside the name`,
      { workerName: `Desk${c}Dreamer` },
      { workerName: HIDDEN_NAME },
    ]),
    // Blacklist: a word is named by its position, as the user counts.
    [
      'a blacklist word over 100 characters',
      { blacklist: ['ok', 'fine', 'x'.repeat(101)] },
      { blacklist: 'Blacklist word 3 is longer than 100 characters.' },
    ],
    ['an empty blacklist word', { blacklist: ['ok', ' '] }, { blacklist: 'Blacklist word 2 is empty.' }],
    [
      'a blacklist word with a tab',
      { blacklist: ['a\tb'] },
      { blacklist: 'Blacklist word 1 contains tabs, line breaks or invisible characters.' },
    ],
    ['a blacklist word that is not text', { blacklist: ['ok', 7] }, { blacklist: 'Blacklist word 2 is not text.' }],
    [
      '201 blacklist words',
      { blacklist: Array.from({ length: 201 }, (_, i) => `w${i}`) },
      { blacklist: 'The blacklist can hold at most 200 entries; this one has 201.' },
    ],
    ['a blacklist that is one string', { blacklist: 'a, b' }, { blacklist: 'The blacklist must be a list of words.' }],
    // Numbers typed into fields: text that is not a number is an error, never "as suggested".
    ['"abc" as max_pixels', { maxPixels: 'abc' }, { maxPixels: PIXELS }],
    ['"1e6" as max_pixels', { maxPixels: '1e6' }, { maxPixels: PIXELS }],
    ['a fraction as max_pixels', { maxPixels: '4096.5' }, { maxPixels: PIXELS }],
    ['too few pixels', { maxPixels: 4095 }, { maxPixels: PIXELS }],
    ['too many pixels', { maxPixels: '9437185' }, { maxPixels: PIXELS }],
    ['a boolean as max_pixels', { maxPixels: true }, { maxPixels: PIXELS }],
    ['"abc" images per pop', { amount: 'abc' }, { amount: AMOUNT }],
    ['"x20" images per pop', { amount: 'x20' }, { amount: AMOUNT }],
    ['"20x" images per pop', { amount: '20x' }, { amount: AMOUNT }],
    ['"+5" images per pop', { amount: '+5' }, { amount: AMOUNT }],
    ['"2 0" images per pop', { amount: '2 0' }, { amount: AMOUNT }],
    ['Infinity images per pop', { amount: Number.POSITIVE_INFINITY }, { amount: AMOUNT }],
    ['max_pixels with thousands separators', { maxPixels: '1,048,576' }, { maxPixels: PIXELS }],
    ['max_pixels as width×height', { maxPixels: '1024x1024' }, { maxPixels: PIXELS }],
    ['a 400-digit max_pixels', { maxPixels: '9'.repeat(400) }, { maxPixels: PIXELS }],
    ['an empty images per pop', { amount: '' }, { amount: AMOUNT }],
    ['0 images per pop', { amount: 0 }, { amount: AMOUNT }],
    ['21 images per pop', { amount: '21' }, { amount: AMOUNT }],
    ['1.5 images per pop', { amount: 1.5 }, { amount: AMOUNT }],
    ['NaN images per pop (an IPC caller)', { amount: Number.NaN }, { amount: AMOUNT }],
    ['null images per pop', { amount: null }, { amount: AMOUNT }],
    // Toggles.
    ['NSFW as text', { nsfw: 'yes' }, { nsfw: 'Must be on or off.' }],
    ['notifications as a number', { notifications: 1 }, { notifications: 'Must be on or off.' }],
    ['autostart as null', { autostart: null }, { autostart: 'Must be on or off.' }],
    // Models to serve.
    ['an empty model name', { models: ['sd15', ''] }, { models: 'Model 2 is empty.' }],
    ['a model name over 200 characters', { models: ['m'.repeat(201)] }, { models: 'Model 1 is longer than 200 characters.' }],
    ['a model that is not text', { models: [null] }, { models: 'Model 1 is not text.' }],
    [
      '301 models',
      { models: Array.from({ length: 301 }, (_, i) => `m${i}`) },
      { models: 'The list of models to serve can hold at most 300 entries; this one has 301.' },
    ],
    ['models that are not a list', { models: 'all' }, { models: 'The list of models to serve must be a list of words.' }],
    // The schedule: one message per field, on that field.
    ['0 idle minutes', { schedule: { ...schedule, idleMinutes: 0 } }, { 'schedule.idleMinutes': MINUTES }],
    ['"soon" idle minutes', { schedule: { ...schedule, idleMinutes: 'soon' } }, { 'schedule.idleMinutes': MINUTES }],
    ['121 idle minutes', { schedule: { ...schedule, idleMinutes: 121 } }, { 'schedule.idleMinutes': MINUTES }],
    ['a GPU limit of 49 °C', { schedule: { ...schedule, maxGpuTempC: '49' } }, { 'schedule.maxGpuTempC': DEGREES }],
    ['a GPU limit of "hot"', { schedule: { ...schedule, maxGpuTempC: 'hot' } }, { 'schedule.maxGpuTempC': DEGREES }],
    [
      'an unknown mode',
      { schedule: { ...schedule, mode: 'sometimes' } },
      { 'schedule.mode': 'Choose when the worker may run: always, only when you are away, or only when you press Start.' },
    ],
    [
      'an unknown return rule',
      { schedule: { ...schedule, onReturn: 'later' } },
      { 'schedule.onReturn': 'Choose what happens when you come back: finish the job in hand, or stop at once.' },
    ],
    ['battery as text', { schedule: { ...schedule, pauseOnBattery: 'no' } }, { 'schedule.pauseOnBattery': 'Must be on or off.' }],
    [
      'an hours row with no days and bad times',
      {
        schedule: {
          ...schedule,
          windows: [
            { days: [1], start: '08:00', end: '17:00' },
            { days: [], start: '25:00', end: '7' },
          ],
        },
      },
      { 'schedule.windows.1.days': 'Pick at least one day.', 'schedule.windows.1.start': TIME, 'schedule.windows.1.end': TIME },
    ],
    [
      'an hours row with day 7',
      { schedule: { ...schedule, windows: [{ days: [7], start: '08:00', end: '17:00' }] } },
      { 'schedule.windows.0.days.0': 'Days are numbered 0 (Sunday) to 6 (Saturday).' },
    ],
    [
      'an hours row with day "Mon"',
      { schedule: { ...schedule, windows: [{ days: ['Mon'], start: '08:00', end: '17:00' }] } },
      { 'schedule.windows.0.days.0': 'Days are numbered 0 (Sunday) to 6 (Saturday).' },
    ],
    [
      'an hours row with day 1.5',
      { schedule: { ...schedule, windows: [{ days: [1.5], start: '08:00', end: '17:00' }] } },
      { 'schedule.windows.0.days.0': 'Days are numbered 0 (Sunday) to 6 (Saturday).' },
    ],
    [
      'an hours row with day -1',
      { schedule: { ...schedule, windows: [{ days: [-1], start: '08:00', end: '17:00' }] } },
      { 'schedule.windows.0.days.0': 'Days are numbered 0 (Sunday) to 6 (Saturday).' },
    ],
    [
      'hours days that are not a list',
      { schedule: { ...schedule, windows: [{ days: 'weekdays', start: '08:00', end: '17:00' }] } },
      { 'schedule.windows.0.days': 'Days are numbered 0 (Sunday) to 6 (Saturday).' },
    ],
    [
      'an hours row that is not an object',
      { schedule: { ...schedule, windows: ['always'] } },
      { 'schedule.windows.0': 'Each row of hours has days, a start and an end.' },
    ],
    [
      'hours that are not a list',
      { schedule: { ...schedule, windows: 'nights' } },
      { 'schedule.windows': 'Hours must be a list of rows.' },
    ],
    [
      'times with something before or after',
      { schedule: { ...schedule, windows: [{ days: [1], start: 'x08:00', end: '17:001' }] } },
      { 'schedule.windows.0.start': TIME, 'schedule.windows.0.end': TIME },
    ],
    [
      'a start time that is not text',
      { schedule: { ...schedule, windows: [{ days: [1], start: 800, end: '17:00' }] } },
      { 'schedule.windows.0.start': TIME },
    ],
    [
      '15 rows of hours',
      { schedule: { ...schedule, windows: Array.from({ length: 15 }, () => ({ days: [1], start: '08:00', end: '17:00' })) } },
      { 'schedule.windows': 'At most 14 rows of hours.' },
    ],
    ['a schedule that is not an object', { schedule: 'idle' }, { schedule: 'The schedule must be a set of named rules.' }],
    // The whole change.
    [
      'the API key',
      { apiKey: 'abcdefghijklmnopqrstuv' },
      { '(request)': 'The API key is never kept in settings: enter it on the API key card.' },
    ],
    ['an unknown setting', { colour: 'blue' }, { '(request)': 'HordeDesk has no setting called "colour".' }],
    [
      'the API key beside an unknown setting',
      { colour: 'blue', api_key: 'x' },
      { '(request)': 'The API key is never kept in settings: enter it on the API key card.' },
    ],
    ['the API key spelt APIKEY', { APIKEY: 'x' }, { '(request)': 'The API key is never kept in settings: enter it on the API key card.' }],
    [
      'a setting whose name only contains "apikey"',
      { myapikey: 'x', apiKeyOld: 'y' },
      { '(request)': 'HordeDesk has no setting called "myapikey", "apiKeyOld".' },
    ],
    [
      'a setting with a 100-character name (shown cut at 60)',
      { ['k'.repeat(100)]: 1 },
      { '(request)': `HordeDesk has no setting called "${'k'.repeat(60)}".` },
    ],
    ['a change that is not an object', 'hordeUrl=x', { '(request)': 'Settings must be a set of named values.' }],
  ])('%s', (_, patch, fields) => {
    expect(check(patch)).toEqual({ fields });
  });

  test('every message is said once: a bad field gives one message, not the validator’s list', () => {
    const result = check({ schedule: { ...schedule, idleMinutes: -5 }, amount: 'x', maxPixels: 'abc' });
    expect(result).toEqual({ fields: { 'schedule.idleMinutes': MINUTES, amount: AMOUNT, maxPixels: PIXELS } });
    const all = Object.values('fields' in result ? result.fields : {}).join('\n');
    // No validator vocabulary reaches the user.
    expect(all).not.toMatch(/expected|Invalid|Too big|Too small|received|<=|>=/);
  });
});

describe('good input is saved as the user meant it', () => {
  test.each<[string, unknown, Record<string, unknown>]>([
    [
      'https URLs lose their trailing slashes',
      { hordeUrl: ' https://aihorde.net/api/ ', ratingsUrl: 'https://ratings.aihorde.net/api/v1' },
      { hordeUrl: 'https://aihorde.net/api', ratingsUrl: 'https://ratings.aihorde.net/api/v1' },
    ],
    [
      'http is fine for this computer',
      { hordeUrl: 'http://127.0.0.1:7777/api/', ratingsUrl: 'http://localhost:8/api/v1' },
      { hordeUrl: 'http://127.0.0.1:7777/api', ratingsUrl: 'http://localhost:8/api/v1' },
    ],
    [
      'a worker name is trimmed; inner spaces, accents and emoji are fine',
      { workerName: '  Dé Desk 🖥️ 01  ' },
      { workerName: 'Dé Desk 🖥️ 01' },
    ],
    ['a 5-character name and a 100-character name', { workerName: 'abcde' }, { workerName: 'abcde' }],
    ['100 characters counted as the horde counts them (code points)', { workerName: '🖥'.repeat(100) }, { workerName: '🖥'.repeat(100) }],
    ['blacklist words are trimmed', { blacklist: [' cat ', 'x'.repeat(100)] }, { blacklist: ['cat', 'x'.repeat(100)] }],
    ['a blacklist word of 100 emoji', { blacklist: ['🐈'.repeat(100)] }, { blacklist: ['🐈'.repeat(100)] }],
    [
      '200 blacklist words, the horde’s most',
      { blacklist: Array.from({ length: 200 }, (_, i) => `w${i}`) },
      { blacklist: Array.from({ length: 200 }, (_, i) => `w${i}`) },
    ],
    ['300 models', { models: Array.from({ length: 300 }, (_, i) => `m${i}`) }, { models: Array.from({ length: 300 }, (_, i) => `m${i}`) }],
    ['several trailing slashes go', { hordeUrl: 'https://aihorde.net/api///' }, { hordeUrl: 'https://aihorde.net/api' }],
    ['images per pop with spaces around', { amount: ' 20 ' }, { amount: 20 }],
    ['images per pop with leading zeros', { amount: '007' }, { amount: 7 }],
    ['the top of max_pixels', { maxPixels: 3072 * 3072 }, { maxPixels: 9_437_184 }],
    [
      'the edges of the schedule numbers',
      { schedule: { ...schedule, idleMinutes: 1, maxGpuTempC: 100 } },
      { schedule: { ...schedule, idleMinutes: 1, maxGpuTempC: 100 } },
    ],
    [
      'the other edges of the schedule numbers',
      { schedule: { ...schedule, idleMinutes: '120', maxGpuTempC: 50 } },
      { schedule: { ...schedule, idleMinutes: 120, maxGpuTempC: 50 } },
    ],
    [
      '"always", "stop at once", no battery pause',
      { schedule: { ...schedule, mode: 'always', onReturn: 'stopNow', pauseOnBattery: false } },
      { schedule: { ...schedule, mode: 'always', onReturn: 'stopNow', pauseOnBattery: false } },
    ],
    ['"only when I press Start"', { schedule: { ...schedule, mode: 'never' } }, { schedule: { ...schedule, mode: 'never' } }],
    [
      'every toggle, on and off',
      { nsfw: true, notifications: false, autostart: true, onboarded: true },
      { nsfw: true, notifications: false, autostart: true, onboarded: true },
    ],
    ['an empty max_pixels field means "as suggested"', { maxPixels: '  ' }, { maxPixels: null }],
    ['null max_pixels means "as suggested"', { maxPixels: null }, { maxPixels: null }],
    ['max_pixels typed as text', { maxPixels: ' 1048576 ' }, { maxPixels: 1_048_576 }],
    ['the edges of max_pixels', { maxPixels: 4096 }, { maxPixels: 4096 }],
    ['images per pop typed as text', { amount: '20' }, { amount: 20 }],
    ['an empty GPU limit means no limit', { schedule: { ...schedule, maxGpuTempC: '' } }, { schedule: { ...schedule, maxGpuTempC: null } }],
    [
      'schedule numbers typed as text',
      { schedule: { ...schedule, idleMinutes: '120', maxGpuTempC: '85' } },
      { schedule: { ...schedule, idleMinutes: 120, maxGpuTempC: 85 } },
    ],
    [
      'an hours row across midnight',
      { schedule: { ...schedule, windows: [{ days: [0, 6], start: '22:00', end: '08:00' }] } },
      { schedule: { ...schedule, windows: [{ days: [0, 6], start: '22:00', end: '08:00' }] } },
    ],
    ['serve every ready model', { models: null }, { models: null }],
  ])('%s', (_, patch, saved) => {
    expect(check(patch)).toEqual({ saved });
  });

  test('the stored file may hold an empty worker name (not chosen yet), a change may not', () => {
    expect(settingsSchema.safeParse({ ...defaultSettings(), workerName: '' }).success).toBe(true);
    expect(settingsSchema.safeParse({ ...defaultSettings(), workerName: 'a\tbcdef' }).success).toBe(false);
    expect(check({ workerName: '' })).toEqual({ fields: { workerName: NAME_RANGE } });
  });

  test('the defaults pass their own checks and come back unchanged', () => {
    expect(settingsSchema.parse(defaultSettings())).toEqual(defaultSettings());
  });

  test('a fresh install starts with exactly these settings', () => {
    expect(defaultSettings()).toStrictEqual({
      schemaVersion: 1,
      hordeUrl: 'https://aihorde.net/api',
      ratingsUrl: 'https://ratings.aihorde.net/api/v1',
      workerName: '',
      nsfw: false,
      blacklist: [],
      amount: 1,
      maxPixels: null,
      modelReferenceUrl: 'https://raw.githubusercontent.com/Haidra-Org/AI-Horde-image-model-reference/main/stable_diffusion.json',
      clipTokenizerUrl: 'https://huggingface.co/openai/clip-vit-large-patch14/resolve/main',
      models: null,
      // LoRAs taken, 10 GB of downloads as the reference worker's max_lora_cache_size, 8 GB of merged models.
      loras: true,
      loraCacheGb: 10,
      loraMergedGb: 8,
      civitaiUrl: 'https://civitai.com',
      hordelingUrl: 'https://hordeling.aihorde.net',
      schedule: { mode: 'idle', idleMinutes: 5, onReturn: 'finish', pauseOnBattery: true, windows: [], maxGpuTempC: null },
      notifications: false,
      autostart: false,
      onboarded: false,
    });
  });

  test.each<[string, unknown, Record<string, string>]>([
    ['a file that is not an object', 5, { '(request)': 'Settings must be a set of named values.' }],
    [
      'a file from another settings version',
      { ...defaultSettings(), schemaVersion: 2 },
      { schemaVersion: 'This HordeDesk reads settings version 1.' },
    ],
    [
      'a stored schedule that is a string',
      { ...defaultSettings(), schedule: 'idle' },
      { schedule: 'The schedule must be a set of named rules.' },
    ],
    ['a stored toggle that is text', { ...defaultSettings(), onboarded: 'yes' }, { onboarded: 'Must be on or off.' }],
  ])('the stored file: %s is refused in words', (_, stored, fields) => {
    const parsed = settingsSchema.safeParse(stored);
    expect(parsed.success ? {} : fieldErrors(parsed.error)).toEqual(fields);
  });
});
