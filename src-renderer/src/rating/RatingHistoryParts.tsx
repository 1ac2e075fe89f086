import { useState } from 'react';
import { useBridge } from '../bridge/BridgeContext';

/** Ten bars, one per score: how the user's own ratings spread. Plain elements, no chart library. */
export function RatingHistogram({ counts, min, max }: { counts: readonly number[]; min: number; max: number }) {
  const top = Math.max(1, ...counts);
  const total = counts.reduce((a, b) => a + b, 0);
  return (
    <figure className="histogram" data-testid="rating-histogram" aria-label={`Your ratings by score, ${total} in all`}>
      <div className="histogram-bars">
        {counts.map((count, i) => {
          const score = i + 1;
          return (
            <div
              key={score}
              className={score >= min && score <= max ? 'histogram-col' : 'histogram-col outside'}
              title={`${score}: ${count} rating${count === 1 ? '' : 's'}`}
            >
              <span className="histogram-count">{count}</span>
              <div className="histogram-track">
                <div className="histogram-bar" style={{ height: `${(100 * count) / top}%` }} data-testid="rating-histogram-bar" />
              </div>
              <span className="histogram-score">{score}</span>
            </div>
          );
        })}
      </div>
      <figcaption className="muted">Your ratings by score ({total} in all)</figcaption>
    </figure>
  );
}

/** Hands text to the browser as a file download, without leaving the page. */
function saveText(filename: string, mime: string, content: string): void {
  const url = URL.createObjectURL(new Blob([content], { type: mime }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.style.display = 'none';
  document.body.append(a);
  a.click();
  a.remove();
  // The download has its own reference by now; free ours once this task is over.
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

/** Export CSV / Export JSON: every rating, as the backend writes it. */
export function RatingExport() {
  const bridge = useBridge();
  const [working, setWorking] = useState<'csv' | 'json' | null>(null);
  const [message, setMessage] = useState('');
  const [failed, setFailed] = useState(false);
  const run = (format: 'csv' | 'json'): void => {
    setWorking(format);
    setMessage('');
    bridge
      .invoke('rating.export', { format })
      .then((file) => {
        saveText(file.filename, file.mime, file.content);
        setFailed(false);
        setMessage(`Saved ${file.filename}.`);
      })
      .catch((e: unknown) => {
        setFailed(true);
        setMessage(e instanceof Error ? e.message : String(e));
      })
      .finally(() => setWorking(null));
  };
  return (
    <div className="actions">
      <button onClick={() => run('csv')} disabled={working !== null} data-testid="export-csv">
        {working === 'csv' ? 'Exporting…' : 'Export CSV'}
      </button>
      <button onClick={() => run('json')} disabled={working !== null} data-testid="export-json">
        {working === 'json' ? 'Exporting…' : 'Export JSON'}
      </button>
      {message && (
        <span className={failed ? 'error' : 'muted'} data-testid="export-message">
          {message}
        </span>
      )}
    </div>
  );
}
