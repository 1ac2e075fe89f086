import { useCallback, useState } from 'react';
import type { CatalogDto, EventPayload } from '../../../src-main/common/contract';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';

type Progress = EventPayload<'models.progress'>;

function progressText(p: Progress): string {
  if (p.phase === 'downloading') {
    const pct = p.total ? ` ${Math.floor((100 * p.bytes) / p.total)}%` : '';
    const speed = p.bytesPerSecond ? ` · ${(p.bytesPerSecond / 1024 ** 2).toFixed(1)} MB/s` : '';
    const eta = p.etaSeconds !== null ? ` · ${Math.ceil(p.etaSeconds)} s left` : '';
    return `Downloading${pct}${speed}${eta}`;
  }
  return p.message ?? p.phase;
}

const gb = (bytes: number | null): string => (bytes === null ? '?' : `${(bytes / 1024 ** 3).toFixed(bytes < 1024 ** 3 ? 2 : 1)} GB`);

/** The horde's models: what fits this machine, what the horde wants now, and what is installed. */
export function Models() {
  const bridge = useBridge();
  const catalog = useCommand('models.catalog', { refresh: false });
  const [error, setError] = useState('');
  const [onlyFitting, setOnlyFitting] = useState(true);
  const [progress, setProgress] = useState<Record<string, Progress>>({});
  /** The model whose "cannot be verified" warning is open, waiting for Install anyway or Cancel. */
  const [confirming, setConfirming] = useState<string | null>(null);
  useEvent(
    'models.progress',
    useCallback(
      (p: Progress) => {
        setProgress((all) => ({ ...all, [p.name]: p }));
        if (p.phase === 'done') catalog.reload();
      },
      [catalog.reload],
    ),
  );
  const install = (name: string, allowUnverified = false): void => {
    setError('');
    setConfirming(null);
    void bridge.invoke('models.install', { name, allowUnverified }).catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  const c: CatalogDto | undefined = catalog.data;
  const remove = (name: string): void => {
    setError('');
    bridge
      .invoke('models.delete', { name })
      .then(catalog.set)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  const refresh = (): void => void bridge.invoke('models.catalog', { refresh: true }).then(catalog.set);
  return (
    <div className="column" data-testid="models-page">
      <section className="card">
        <header>
          <h2>Installed models</h2>
          <span className="muted">{c?.freeBytes !== null && c?.freeBytes !== undefined ? `${gb(c.freeBytes)} free` : ''}</span>
        </header>
        {error && <p className="error">{error}</p>}
        {!c || c.installed.length === 0 ? (
          <p className="muted">No model folders yet.</p>
        ) : (
          <table>
            <tbody>
              {c.installed.map((m) => (
                <tr key={m.name} data-testid="installed-model">
                  <td>{m.name}</td>
                  <td>{gb(m.bytes)}</td>
                  <td className={m.ready ? 'ok' : 'error'}>{m.ready ? 'ready' : m.problem}</td>
                  <td>
                    <button onClick={() => remove(m.name)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </section>
      <section className="card">
        <header>
          <h2>The horde's models</h2>
          <button onClick={refresh}>Refresh</button>
        </header>
        {c?.message && <p className="notes" data-testid="catalog-message">{c.message}</p>}
        <label className="check">
          <input type="checkbox" checked={onlyFitting} onChange={(e) => setOnlyFitting(e.target.checked)} /> Only models that fit this machine
        </label>
        {c && (
          <table data-testid="catalog">
            <thead>
              <tr>
                <th>Model</th>
                <th>Family</th>
                <th>Size</th>
                <th>Demand now</th>
                <th>Fits?</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {c.entries
                .filter((e) => !onlyFitting || e.fits)
                .map((e) => (
                  <tr key={e.name} data-testid="catalog-row">
                    <td>
                      {e.name}
                      {e.nsfw ? ' (NSFW)' : ''}
                      {e.installed ? ' · installed' : ''}
                      {e.unverified && !e.installed ? <span className="muted"> · cannot be verified</span> : null}
                    </td>
                    <td>{e.baseline}</td>
                    <td>{gb(e.sizeBytes)}</td>
                    <td>{e.demand.jobs ? `${e.demand.jobs} images waiting, ${e.demand.workers} workers` : 'none queued'}</td>
                    <td className={e.fits ? 'ok' : 'muted'}>{e.fitReason}</td>
                    <td data-testid="install-cell">
                      {progress[e.name] && progress[e.name]?.phase !== 'done' && <span data-testid="install-progress">{progressText(progress[e.name] as Progress)} </span>}
                      {e.fits && !e.installed && (progress[e.name]?.phase === 'downloading' || progress[e.name]?.phase === 'converting' ? (
                        <button onClick={() => void bridge.invoke('models.cancelInstall', { name: e.name })}>Cancel</button>
                      ) : confirming === e.name && e.unverified ? (
                        <span data-testid="unverified-consent">
                          <strong>This file cannot be verified.</strong> {e.unverified}{' '}
                          <button onClick={() => install(e.name, true)}>Install anyway</button> <button onClick={() => setConfirming(null)}>Cancel</button>
                        </span>
                      ) : (
                        <button onClick={() => (e.unverified ? setConfirming(e.name) : install(e.name))}>{progress[e.name]?.phase === 'cancelled' ? 'Resume' : 'Install'}</button>
                      ))}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        )}
        <p className="muted">Install downloads the checkpoint (resumable, checked against the reference's sha256; a file the reference gives no sha256 for is installed only if you choose Install anyway), converts it to ONNX on this machine and deletes the checkpoint. You can also put a Stable Diffusion ONNX folder under models/ yourself.</p>
      </section>
    </div>
  );
}
