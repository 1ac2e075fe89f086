import type { CatalogDto } from '../../../src-main/common/contract';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { HordeModels } from './HordeModels';
import { PostProcessors } from './PostProcessors';
import { gb } from './modelFormat';
import { useModelInstalls } from './useModelInstalls';

/** The model folders on this machine, whether each is ready, and the free space left. */
function InstalledModels({
  catalog: c,
  error,
  onDelete,
}: {
  catalog: CatalogDto | undefined;
  error: string;
  onDelete: (name: string) => void;
}) {
  return (
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
                  <button onClick={() => onDelete(m.name)}>Delete</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

/** The horde's models: what fits this machine, what the horde wants now, and what is installed. */
export function Models() {
  const bridge = useBridge();
  const catalog = useCommand('models.catalog', { refresh: false });
  const installs = useModelInstalls(catalog);
  const refresh = (): void => void bridge.invoke('models.catalog', { refresh: true }).then(catalog.set);
  return (
    <div className="column" data-testid="models-page">
      <InstalledModels catalog={catalog.data} error={installs.error} onDelete={installs.remove} />
      <HordeModels catalog={catalog.data} installs={installs} onRefresh={refresh} />
      <PostProcessors />
    </div>
  );
}
