import type { RatingRow } from '../../common/ratings';

type ExportRow = Omit<RatingRow, 'thumbnail'>;

const COLUMNS = ['image_id', 'rating', 'artifacts', 'rated_at', 'state', 'reward', 'reason'] as const;

/**
 * Text that a spreadsheet would run as a formula when it opens the file: a cell starting with
 * `=`, `+`, `-` or `@`, or with a tab or carriage return in front of one (OWASP "CSV injection").
 * Image ids and refusal reasons come from the ratings service, so they are outside text.
 */
const FORMULA_START = /^[=+\-@\t\r]/;

/**
 * One CSV field: text that could start a formula gets a leading `'` (shown, never evaluated),
 * then the field is quoted when it holds a comma, quote or line break (RFC 4180). Numbers are
 * written as numbers: a negative reward is a value, not a formula.
 */
export function csvField(value: string | number | null): string {
  if (value === null) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA_START.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The user's ratings as CSV (one row per rating, ISO times) or JSON, with a dated file name. */
export function exportRatings(
  rows: readonly ExportRow[],
  format: 'csv' | 'json',
  now: Date,
): { filename: string; mime: string; content: string } {
  const stamp = now.toISOString().slice(0, 10);
  const records = rows.map((r) => ({
    image_id: r.imageId,
    rating: r.rating,
    artifacts: r.artifacts,
    rated_at: new Date(r.ratedAt).toISOString(),
    state: r.state,
    reward: r.reward,
    reason: r.reason,
  }));
  if (format === 'json')
    return { filename: `hordedesk-ratings-${stamp}.json`, mime: 'application/json', content: `${JSON.stringify(records, null, 2)}\n` };
  const lines = [COLUMNS.join(','), ...records.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))];
  return { filename: `hordedesk-ratings-${stamp}.csv`, mime: 'text/csv', content: `${lines.join('\r\n')}\r\n` };
}
