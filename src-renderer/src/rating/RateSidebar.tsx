import { useEffect, useState, type FormEvent } from 'react';
import type { RatingStatus } from '../../../src-main/common/ratings';
import { BridgeError } from '../bridge/bridge';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { formatKudos } from '../components/format';
import { Totals } from '../components/Totals';

/** This session's numbers, and what is waiting to be sent. */
export function RateStats({ status }: { status: RatingStatus | undefined }) {
  return (
    <section className="card" data-testid="rate-stats">
      <header>
        <h2>This session</h2>
        {status && (
          <span data-testid="rate-online" className={status.online ? 'ok' : 'error'}>
            {status.online ? 'Online' : 'Offline'}
          </span>
        )}
      </header>
      <Totals
        items={[
          { value: status ? status.sessionRatings : '…', label: 'ratings', testId: 'rate-count' },
          { value: status ? formatKudos(status.sessionKudos) : '…', label: 'kudos', testId: 'rate-kudos' },
        ]}
      />
      <dl>
        <dt>Waiting to be sent</dt>
        <dd>
          <span data-testid="rate-pending">{status ? status.pendingSync : '…'}</span>
          {status && status.pendingSync > 0 && <span className="muted">{status.online ? ' (sending…)' : ' (sent when back online)'}</span>}
        </dd>
        <dt>Images ready</dt>
        <dd>
          <span data-testid="rate-cached">{status ? status.cached : '…'}</span> <span className="muted">on this computer</span>
        </dd>
      </dl>
    </section>
  );
}

/** The download while it still has images to fetch; null before, after, and when there is none. */
function runningDownload(download: RatingStatus['download']): RatingStatus['download'] {
  return download !== null && download.done + download.failed < download.total ? download : null;
}

/** A download under way (done of total), or how the last one ended once one ran while the page was open. */
function DownloadProgress({
  download,
  seen,
  status,
}: {
  download: RatingStatus['download'];
  seen: boolean;
  status: RatingStatus | undefined;
}) {
  const running = runningDownload(download);
  if (running) {
    return (
      <div data-testid="download-progress">
        <progress max={running.total || 1} value={running.done + running.failed} /> Downloading {running.done} of {running.total}
        {running.failed > 0 && <span className="error"> · {running.failed} failed</span>}
      </div>
    );
  }
  if (!seen || !status) return null;
  return (
    <div data-testid="download-progress">
      Download finished{download && download.failed > 0 ? ` (${download.failed} of ${download.total} failed)` : ''}: {status.cached} images
      ready to rate.
    </div>
  );
}

/**
 * Starting a session download: the chosen size and dataset, checked here for the range the form
 * offers, then asked of the app; its refusal is shown as the form's error.
 */
function useDownloadStart(onStatus: (s: RatingStatus) => void) {
  const bridge = useBridge();
  const [count, setCount] = useState('100');
  const [datasetId, setDatasetId] = useState('');
  const [error, setError] = useState('');
  const [starting, setStarting] = useState(false);

  const start = (event: FormEvent<HTMLFormElement>): void => {
    event.preventDefault();
    const form = event.currentTarget;
    const n = Number(count);
    if (!Number.isInteger(n) || n < 25 || n > 500) {
      setError('Choose between 25 and 500 images.');
      return;
    }
    setError('');
    setStarting(true);
    bridge
      .invoke('rating.downloadSession', { count: n, datasetId: datasetId === '' ? null : datasetId })
      .then((s) => {
        onStatus(s);
        // Hand the keys back to rating once the download is under way.
        if (document.activeElement instanceof HTMLInputElement && form.contains(document.activeElement)) document.activeElement.blur();
      })
      .catch((e: unknown) => setError(e instanceof BridgeError ? (Object.values(e.fields)[0] ?? e.message) : String(e)))
      .finally(() => setStarting(false));
  };
  return { count, setCount, datasetId, setDatasetId, error, starting, start };
}

/** "Download a session": fetch a batch of images now, to rate later even without a network. */
export function RateDownload({ status, onStatus }: { status: RatingStatus | undefined; onStatus: (s: RatingStatus) => void }) {
  const datasets = useCommand('rating.datasets', {});
  const { count, setCount, datasetId, setDatasetId, error, starting, start } = useDownloadStart(onStatus);
  // Whether a download ran while the page was open: its end is then worth a word.
  const [seen, setSeen] = useState(false);
  const download = status?.download ?? null;
  const running = runningDownload(download);
  useEffect(() => {
    if (download) setSeen(true);
  }, [download]);

  return (
    <form className="card settings rate-download" onSubmit={start} noValidate data-testid="rate-download">
      <h2>Download a session</h2>
      <p className="muted">
        Fetch images now and rate them later, even offline. Ratings wait on this computer and are sent when the network is back.
      </p>
      <div className="row">
        <label>
          <span>Images</span>
          <input
            name="download-count"
            type="number"
            min={25}
            max={500}
            step={25}
            value={count}
            onChange={(e) => setCount(e.target.value)}
            aria-invalid={error ? true : undefined}
            data-testid="download-count"
          />
        </label>
        <label>
          <span>Dataset</span>
          <select name="dataset" value={datasetId} onChange={(e) => setDatasetId(e.target.value)}>
            <option value="">Default</option>
            {(datasets.data ?? []).map((d) => (
              <option key={d.id} value={d.id} title={d.description ?? ''}>
                {d.name}
                {d.imageCount !== null ? ` (${d.imageCount.toLocaleString('en-US')} images)` : ''}
              </option>
            ))}
          </select>
        </label>
      </div>
      {datasets.error && (
        <small className="muted">The dataset list could not be loaded ({datasets.error}); the default dataset still works.</small>
      )}
      <div className="actions">
        <button type="submit" disabled={starting || running !== null} data-testid="download-start">
          {running ? 'Downloading…' : 'Download'}
        </button>
      </div>
      {error && (
        <p className="error" data-testid="download-error">
          {error}
        </p>
      )}
      <DownloadProgress download={download} seen={seen} status={status} />
    </form>
  );
}
