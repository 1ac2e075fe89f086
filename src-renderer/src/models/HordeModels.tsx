import { useState } from 'react';
import type { CatalogDto } from '../../../src-main/common/contract';
import { gb, progressText } from './modelFormat';
import type { ModelInstalls } from './useModelInstalls';

type CatalogEntry = CatalogDto['entries'][number];

/** Install, Resume, Cancel, or the "cannot be verified" consent, with the install's progress. */
function InstallCell({ entry: e, installs }: { entry: CatalogEntry; installs: ModelInstalls }) {
  const { progress, confirming, setConfirming, install, cancel } = installs;
  const p = progress[e.name];
  return (
    <td data-testid="install-cell">
      {p && p.phase !== 'done' && <span data-testid="install-progress">{progressText(p)} </span>}
      {e.fits &&
        !e.installed &&
        (p?.phase === 'downloading' || p?.phase === 'converting' ? (
          <button onClick={() => cancel(e.name)}>Cancel</button>
        ) : confirming === e.name && e.unverified ? (
          <span data-testid="unverified-consent">
            <strong>This file cannot be verified.</strong> {e.unverified}{' '}
            <button onClick={() => install(e.name, true)}>Install anyway</button>{' '}
            <button onClick={() => setConfirming(null)}>Cancel</button>
          </span>
        ) : (
          <button onClick={() => (e.unverified ? setConfirming(e.name) : install(e.name))}>
            {p?.phase === 'cancelled' ? 'Resume' : 'Install'}
          </button>
        ))}
    </td>
  );
}

function CatalogRow({ entry: e, installs }: { entry: CatalogEntry; installs: ModelInstalls }) {
  return (
    <tr data-testid="catalog-row">
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
      <InstallCell entry={e} installs={installs} />
    </tr>
  );
}

/** The horde's model reference, ranked by fit and demand, each with its Install button. */
export function HordeModels({
  catalog: c,
  installs,
  onRefresh,
}: {
  catalog: CatalogDto | undefined;
  installs: ModelInstalls;
  onRefresh: () => void;
}) {
  const [onlyFitting, setOnlyFitting] = useState(true);
  return (
    <section className="card">
      <header>
        <h2>The horde's models</h2>
        <button onClick={onRefresh}>Refresh</button>
      </header>
      {c?.message && (
        <p className="notes" data-testid="catalog-message">
          {c.message}
        </p>
      )}
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
                <CatalogRow key={e.name} entry={e} installs={installs} />
              ))}
          </tbody>
        </table>
      )}
      <p className="muted">
        Install downloads the checkpoint (resumable, checked against the reference's sha256; a file the reference gives no sha256 for is
        installed only if you choose Install anyway), converts it to ONNX on this machine and deletes the checkpoint. You can also put a
        Stable Diffusion ONNX folder under models/ yourself.
      </p>
    </section>
  );
}
