import { useCallback, useRef, useState } from 'react';
import type { RatingHistory as RatingHistoryPage, RatingRow, RatingStatus } from '../../../src-main/common/ratings';
import { useCommand, useEvent } from '../bridge/BridgeContext';
import { RatingExport, RatingHistogram } from './RatingHistoryParts';
import { formatKudos } from '../components/format';
import { PagedTable } from '../components/PagedTable';

const PAGE = 25;
const SCORES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
type StateFilter = 'all' | 'pending' | 'sent' | 'refused';
const STATE_FILTERS: { value: StateFilter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'pending', label: 'Waiting to be sent' },
  { value: 'sent', label: 'Sent' },
  { value: 'refused', label: 'Refused' },
];
const COLUMNS = ['Image', 'Rating', 'Artifacts', 'Rated', 'State', 'Kudos'];

/** Which ratings the table shows: by state and by score (both ends included). */
interface Filters {
  state: StateFilter;
  minRating: number;
  maxRating: number;
}

function StateCell({ row }: { row: RatingRow }) {
  if (row.state === 'sent') return <span className="ok">sent</span>;
  if (row.state === 'refused') return <span className="error">refused{row.reason ? `: ${row.reason}` : ''}</span>;
  return (
    <span className="muted" title={row.reason ?? ''}>
      pending{row.reason ? ` (${row.reason})` : ''}
    </span>
  );
}

/** The state and score pickers; a score range can never be turned upside down. */
function RatingFilters({ filters, onChange }: { filters: Filters; onChange: (next: Filters) => void }) {
  const { state, minRating, maxRating } = filters;
  return (
    <div className="actions filters">
      <label>
        State{' '}
        <select
          value={state}
          onChange={(e) => onChange({ ...filters, state: e.target.value as StateFilter })}
          data-testid="rating-filter-state"
        >
          {STATE_FILTERS.map((f) => (
            <option key={f.value} value={f.value}>
              {f.label}
            </option>
          ))}
        </select>
      </label>
      <label>
        Rating from{' '}
        <select
          value={minRating}
          onChange={(e) => onChange({ ...filters, minRating: Number(e.target.value) })}
          data-testid="rating-filter-min"
        >
          {SCORES.filter((s) => s <= maxRating).map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
      <label>
        to{' '}
        <select
          value={maxRating}
          onChange={(e) => onChange({ ...filters, maxRating: Number(e.target.value) })}
          data-testid="rating-filter-max"
        >
          {SCORES.filter((s) => s >= minRating).map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      </label>
    </div>
  );
}

function RatingTableRow({ row: r }: { row: RatingRow }) {
  return (
    <tr data-testid="rating-row" data-state={r.state} className={r.state === 'refused' ? 'error' : ''}>
      <td>
        {r.thumbnail ? (
          <img className="thumb" src={r.thumbnail} alt="" title={r.imageId} />
        ) : (
          <span className="muted" title={r.imageId}>
            {r.imageId.slice(0, 8)}
          </span>
        )}
      </td>
      <td>{r.rating}</td>
      <td>{r.artifacts ?? '–'}</td>
      <td>{new Date(r.ratedAt).toLocaleString()}</td>
      <td data-testid="rating-state">
        <StateCell row={r} />
      </td>
      <td>{r.reward === null ? '–' : formatKudos(r.reward)}</td>
    </tr>
  );
}

/** Reloads the history when a rating is made or a sync changes what is pending. */
function useReloadOnRatingChange(reload: () => void): void {
  const seen = useRef('');
  useEvent(
    'rating.status',
    useCallback(
      (s: RatingStatus) => {
        const key = `${s.sessionRatings}/${s.pendingSync}`;
        if (seen.current !== '' && key !== seen.current) reload();
        seen.current = key;
      },
      [reload],
    ),
  );
}

/** The page of ratings, or why there is none to show. */
function RatingResults({
  page: h,
  error,
  filters,
  offset,
  onOffset,
}: {
  page: RatingHistoryPage | undefined;
  error: string | undefined;
  filters: Filters;
  offset: number;
  onOffset: (offset: number) => void;
}) {
  if (!h) return <p className="muted">{error ? '' : 'Loading…'}</p>;
  if (h.total === 0) {
    const unfiltered = filters.state === 'all' && filters.minRating === 1 && filters.maxRating === 10;
    return (
      <p className="muted" data-testid="ratings-empty">
        {unfiltered ? 'No ratings yet. Rate images on the Rate page.' : 'No ratings match these filters.'}
      </p>
    );
  }
  return (
    <PagedTable
      columns={COLUMNS}
      className="ratings-table"
      page={{ offset, pageSize: PAGE, total: h.total, onChange: onOffset, testId: 'ratings-range' }}
    >
      {h.rows.map((r) => (
        <RatingTableRow key={`${r.imageId}/${r.ratedAt}`} row={r} />
      ))}
    </PagedTable>
  );
}

/** The user's ratings: what was sent, what waits, what the service refused, and why. */
export function RatingHistory() {
  const [offset, setOffset] = useState(0);
  const [filters, setFilters] = useState<Filters>({ state: 'all', minRating: 1, maxRating: 10 });
  const history = useCommand('rating.history', { limit: PAGE, offset, ...filters });
  useReloadOnRatingChange(history.reload);

  const filter = (next: Filters): void => {
    setFilters(next);
    setOffset(0);
  };
  const h = history.data;
  return (
    <div className="column" data-testid="ratings">
      <section className="card">
        <header>
          <h2>Your ratings</h2>
          <RatingExport />
        </header>
        {h && <RatingHistogram counts={h.histogram} min={filters.minRating} max={filters.maxRating} />}
      </section>
      <section className="card">
        <RatingFilters filters={filters} onChange={filter} />
        {history.error && <p className="error">{history.error}</p>}
        <RatingResults page={h} error={history.error} filters={filters} offset={offset} onOffset={setOffset} />
      </section>
    </div>
  );
}
