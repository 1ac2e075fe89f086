/** Newer / Older paging for the history tables, newest first. */
export function Pager({
  offset,
  pageSize,
  total,
  onChange,
  testId,
}: {
  offset: number;
  pageSize: number;
  total: number;
  onChange: (offset: number) => void;
  testId?: string;
}) {
  return (
    <div className="actions">
      <button disabled={offset === 0} onClick={() => onChange(Math.max(0, offset - pageSize))}>
        Newer
      </button>
      <span className="muted" data-testid={testId}>
        {offset + 1}–{Math.min(offset + pageSize, total)} of {total}
      </span>
      <button disabled={offset + pageSize >= total} onClick={() => onChange(offset + pageSize)}>
        Older
      </button>
    </div>
  );
}
