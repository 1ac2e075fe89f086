import type { PostProcessorCatalogDto } from '../../../src-main/common/contract';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { gb, progressText } from './modelFormat';
import type { ModelInstalls } from './useModelInstalls';
import { usePostProcessorInstalls } from './usePostProcessorInstalls';

type Entry = PostProcessorCatalogDto['entries'][number];

/** Install (or the "cannot be verified" consent), Cancel, with the install's progress; nothing for what HordeDesk does not run. */
function InstallCell({ entry: e, installs }: { entry: Entry; installs: ModelInstalls }) {
  const { progress, confirming, setConfirming, install, cancel } = installs;
  const p = progress[e.name];
  const busy = p?.phase === 'downloading' || p?.phase === 'converting';
  return (
    <td data-testid="install-cell">
      {p && p.phase !== 'done' && <span data-testid="install-progress">{progressText(p)} </span>}
      {e.served && !e.installed && busy && <button onClick={() => cancel(e.name)}>Cancel</button>}
      {e.served && !e.installed && !busy && confirming === e.name && e.unverified && (
        <span data-testid="unverified-consent">
          <strong>This file cannot be verified.</strong> {e.unverified}{' '}
          <button onClick={() => install(e.name, true)}>Install anyway</button> <button onClick={() => setConfirming(null)}>Cancel</button>
        </span>
      )}
      {e.served && !e.installed && !busy && confirming !== e.name && (
        <button onClick={() => (e.unverified ? setConfirming(e.name) : install(e.name))}>
          {p?.phase === 'cancelled' ? 'Resume' : 'Install'}
        </button>
      )}
    </td>
  );
}

/** What is installed: ready with what it is, or why not, and Delete. */
function InstalledTable({ catalog: c, onDelete }: { catalog: PostProcessorCatalogDto; onDelete: (name: string) => void }) {
  if (c.installed.length === 0) return <p className="muted">No post-processor installed: HordeDesk takes no post-processing jobs.</p>;
  return (
    <table data-testid="installed-post-processors">
      <tbody>
        {c.installed.map((p) => (
          <tr key={p.name} data-testid="installed-post-processor">
            <td>{p.name}</td>
            <td className="muted">{p.detail}</td>
            <td>{gb(p.bytes)}</td>
            <td className={p.ready ? 'ok' : 'error'}>{p.ready ? 'ready' : p.problem}</td>
            <td>
              <button onClick={() => onDelete(p.name)}>Delete</button>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The horde's upscaler reference with Install buttons, and the post-processors HordeDesk refuses, with why. */
function ReferenceTable({ catalog: c, installs }: { catalog: PostProcessorCatalogDto; installs: ModelInstalls }) {
  return (
    <>
      <table data-testid="post-processor-catalog">
        <thead>
          <tr>
            <th>Post-processor</th>
            <th>What it is</th>
            <th>Served?</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {c.entries.map((e) => (
            <tr key={e.name} data-testid="post-processor-row">
              <td>
                {e.name}
                {e.installed ? ' · installed' : ''}
                {e.served && e.unverified && !e.installed ? <span className="muted"> · cannot be verified</span> : null}
              </td>
              <td className="muted">{e.description}</td>
              <td className={e.served ? 'ok' : 'muted'}>{e.reason}</td>
              <InstallCell entry={e} installs={installs} />
            </tr>
          ))}
        </tbody>
      </table>
      <details data-testid="refused-post-processors">
        <summary>Post-processors HordeDesk does not run yet ({c.refused.length})</summary>
        <ul>
          {c.refused.map((r) => (
            <li key={r.name}>
              <strong>{r.name}</strong>: {r.reason}
            </li>
          ))}
        </ul>
      </details>
    </>
  );
}

/** The Models page's post-processors: installed upscalers, the horde's upscaler reference, what is refused. */
export function PostProcessors() {
  const bridge = useBridge();
  const catalog = useCommand('postprocess.catalog', { refresh: false });
  const installs = usePostProcessorInstalls(catalog);
  const refresh = (): void => void bridge.invoke('postprocess.catalog', { refresh: true }).then(catalog.set);
  const c = catalog.data;
  return (
    <section className="card" data-testid="post-processors">
      <header>
        <h2>Post-processors</h2>
        <button onClick={refresh}>Refresh</button>
      </header>
      <p className="muted">
        Many horde requests end with an upscaler. HordeDesk runs the horde&apos;s ESRGAN upscalers after generating and before the safety
        check, as the horde&apos;s own worker does, and takes post-processing jobs while one is installed. A job asking for one that is not
        installed is handed back to the horde with the reason.
      </p>
      {(installs.error || c?.message) && <p className={installs.error ? 'error' : 'notes'}>{installs.error || c?.message}</p>}
      {c && <InstalledTable catalog={c} onDelete={installs.remove} />}
      {c && <ReferenceTable catalog={c} installs={installs} />}
    </section>
  );
}
