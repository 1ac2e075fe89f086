import { kudosSums, type RowResult, type RunTotals } from './judge';

// The printed table: one line per row, a mark that says at a glance whether it is what issue 12
// says should happen, and the lines after it that say what to do about the differences.

/** How a row reads in the first column. */
function mark(result: RowResult): string {
  if (result.pass) return result.gapClosed ? 'ok*' : 'ok';
  return result.allowed ? 'gap' : 'DIFF';
}

function cell(value: number | null): string {
  return value === null ? '' : value.toFixed(2);
}

function table(header: string[], lines: string[][]): string[] {
  const widths = header.map((h, col) => Math.max(h.length, ...lines.map((line) => (line[col] ?? '').length)));
  const format = (line: string[]) =>
    line
      .map((text, col) => (col >= line.length - 2 ? text.padStart(widths[col] ?? 0) : text.padEnd(widths[col] ?? 0)))
      .join('  ')
      .trimEnd();
  return [format(header), widths.map((w) => '-'.repeat(w)).join('  '), ...lines.map(format)];
}

/** The whole report as lines. */
export function renderReport(results: readonly RowResult[], totals: RunTotals, meta: { horde: string; listing: string }): string[] {
  const lines = table(
    ['', 'row', 'request', 'expected', 'got', 'announced', 'booked'],
    results.map((r) => [mark(r), r.id, r.label, r.expected, r.got, cell(r.announced), cell(r.booked)]),
  );
  const credited = totals.credited === null ? 'unknown' : totals.credited.toFixed(2);
  const sums = kudosSums(totals);
  const out = [
    `HordeDesk conformance against ${meta.horde} (HordeDesk's bridge entry: ${meta.listing})`,
    '',
    ...lines,
    '',
    `Kudos: the horde announced ${sums.announced.toFixed(2)} for ${totals.deliveries.length} images, HordeDesk booked ` +
      `${sums.booked.toFixed(2)}, the horde credited ${credited} (× ${totals.multiplier}, each image rounded to whole kudos).` +
      (totals.maintenance ? ' The worker ended in maintenance.' : ''),
    "announced: the rewards in the horde's submit answers; booked: what HordeDesk's ledger holds for those jobs.",
  ];
  const gaps = results.filter((r) => r.allowed);
  const diffs = results.filter((r) => !r.pass && !r.allowed);
  const closed = results.filter((r) => r.gapClosed);
  if (gaps.length) {
    out.push(`gap: ${gaps.length} rows differ as known gaps (--allow-known-gaps):`);
    for (const r of gaps) out.push(`  ${r.id}${r.item ? ` (issue 12 item ${r.item})` : ''}: expected ${r.expected}, got ${r.got}`);
  }
  if (closed.length) out.push(`ok*: ${closed.map((r) => r.id).join(', ')} now pass; take them out of --allow-known-gaps.`);
  if (diffs.length) {
    out.push(`DIFF: ${diffs.length} rows differ from what should happen:`);
    for (const r of diffs) out.push(`  ${r.id}${r.item ? ` (issue 12 item ${r.item})` : ''}: expected ${r.expected}, got ${r.got}`);
  } else {
    out.push('Every row is as expected' + (gaps.length ? ' or an allowed known gap.' : '.'));
  }
  return out;
}
