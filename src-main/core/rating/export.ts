import type { RatingRow } from '../../common/ratings';

type ExportRow = Omit<RatingRow, 'thumbnail'>;

const COLUMNS = ['image_id', 'rating', 'artifacts', 'rated_at', 'state', 'reward', 'reason'] as const;

/** Quotes a CSV field when it holds a comma, quote or line break (RFC 4180). */
function csvField(value: string | number | null): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** The user's ratings as CSV (one row per rating, ISO times) or JSON, with a dated file name. */
export function exportRatings(rows: readonly ExportRow[], format: 'csv' | 'json', now: Date): { filename: string; mime: string; content: string } {
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
  if (format === 'json') return { filename: `hordedesk-ratings-${stamp}.json`, mime: 'application/json', content: `${JSON.stringify(records, null, 2)}\n` };
  const lines = [COLUMNS.join(','), ...records.map((r) => COLUMNS.map((c) => csvField(r[c])).join(','))];
  return { filename: `hordedesk-ratings-${stamp}.csv`, mime: 'text/csv', content: `${lines.join('\r\n')}\r\n` };
}
