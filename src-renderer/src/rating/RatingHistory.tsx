import { useCallback, useRef, useState } from 'react';
import type { RatingRow, RatingStatus } from '../../../src-main/common/ratings';
import { useCommand, useEvent } from '../bridge/BridgeContext';
import { RatingExport, RatingHistogram } from './RatingHistoryParts';
import { Pager } from '../components/Pager';

const PAGE = 25;
const SCORES = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
type StateFilter = 'all' | 'pending' | 'sent' | 'refused';
const STATE_FILTERS: { value: StateFilter; label: string }[] = [
  { value: 'all', label: 'All' },
  { value: 'pending', label: 'Waiting to be sent' },
  { value: 'sent', label: 'Sent' },
  { value: 'refused', label: 'Refused' },
];

function StateCell({ row }: { row: RatingRow }) {
  if (row.state === 'sent') return <span className="ok">sent</span>;
  if (row.state === 'refused') return <span className="error">refused{row.reason ? `: ${row.reason}` : ''}</span>;
  return (
    <span className="muted" title={row.reason ?? ''}>
      pending{row.reason ? ` (${row.reason})` : ''}
    </span>
  );
}

/** The user's ratings: what was sent, what waits, what the service refused, and why. */
export function RatingHistory() {
  const [offset, setOffset] = useState(0);
  const [state, setState] = useState<StateFilter>('all');
  const [minRating, setMinRating] = useState(1);
  const [maxRating, setMaxRating] = useState(10);
  const history = useCommand('rating.history', { limit: PAGE, offset, state, minRating, maxRating });
  const reload = history.reload;

  // Refresh when a rating is made or a sync changes what is pending.
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

  const filter = (apply: () => void): void => {
    apply();
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
        {h && <RatingHistogram counts={h.histogram} min={minRating} max={maxRating} />}
      </section>
      <section className="card">
        <div className="actions filters">
          <label>
            State{' '}
            <select value={state} onChange={(e) => filter(() => setState(e.target.value as StateFilter))} data-testid="rating-filter-state">
              {STATE_FILTERS.map((f) => (
                <option key={f.value} value={f.value}>
                  {f.label}
                </option>
              ))}
            </select>
          </label>
          <label>
            Rating from{' '}
            <select value={minRating} onChange={(e) => filter(() => setMinRating(Number(e.target.value)))} data-testid="rating-filter-min">
              {SCORES.filter((s) => s <= maxRating).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label>
            to{' '}
            <select value={maxRating} onChange={(e) => filter(() => setMaxRating(Number(e.target.value)))} data-testid="rating-filter-max">
              {SCORES.filter((s) => s >= minRating).map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
        </div>
        {history.error && <p className="error">{history.error}</p>}
        {!h ? (
          <p className="muted">{history.error ? '' : 'Loading…'}</p>
        ) : h.total === 0 ? (
          <p className="muted" data-testid="ratings-empty">
            {state === 'all' && minRating === 1 && maxRating === 10 ? 'No ratings yet. Rate images on the Rate page.' : 'No ratings match these filters.'}
          </p>
        ) : (
          <>
            <table className="ratings-table">
              <thead>
                <tr>
                  <th>Image</th>
                  <th>Rating</th>
                  <th>Artifacts</th>
                  <th>Rated</th>
                  <th>State</th>
                  <th>Kudos</th>
                </tr>
              </thead>
              <tbody>
                {h.rows.map((r) => (
                  <tr key={`${r.imageId}/${r.ratedAt}`} data-testid="rating-row" data-state={r.state} className={r.state === 'refused' ? 'error' : ''}>
                    <td>{r.thumbnail ? <img className="thumb" src={r.thumbnail} alt="" title={r.imageId} /> : <span className="muted" title={r.imageId}>{r.imageId.slice(0, 8)}</span>}</td>
                    <td>{r.rating}</td>
                    <td>{r.artifacts ?? '–'}</td>
                    <td>{new Date(r.ratedAt).toLocaleString()}</td>
                    <td data-testid="rating-state">
                      <StateCell row={r} />
                    </td>
                    <td>{r.reward === null ? '–' : r.reward.toLocaleString('en-US', { maximumFractionDigits: 2 })}</td>
                  </tr>
                ))}
              </tbody>
            </table>
            <Pager offset={offset} pageSize={PAGE} total={h.total} onChange={setOffset} testId="ratings-range" />
          </>
        )}
      </section>
    </div>
  );
}
