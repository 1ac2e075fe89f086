import { useCallback, useState } from 'react';
import type { Settings } from '../../../src-main/common/settings';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';

const unique = (values: string[]): string[] => [...new Set(values)];

/**
 * Asks before the API key goes to a new place: shown while the horde or ratings URL (changed by
 * hand or by an imported settings file) has another origin than the one the key was confirmed
 * for. Until the user answers, nothing with the key is sent there. `onSettings` hears the
 * restored settings after "Go back", so a page showing them can refresh its form.
 */
export function KeyOriginCard({ onSettings }: { onSettings?: (settings: Settings) => void }) {
  const bridge = useBridge();
  const status = useCommand('apiKey.status', {});
  const [error, setError] = useState('');
  useEvent(
    'settings.changed',
    useCallback(() => status.reload(), [status.reload]),
  );
  const pending = status.data?.pendingOrigins ?? [];
  if (pending.length === 0) return null;
  const to = unique(pending.map((p) => p.origin)).join(' and ');
  const from = unique(pending.map((p) => p.previousOrigin)).join(' and ');
  const fail = (e: unknown): void => setError(e instanceof Error ? e.message : String(e));
  const confirm = (): void => {
    setError('');
    bridge.invoke('apiKey.confirmOrigins', {}).then(status.set).catch(fail);
  };
  const goBack = (): void => {
    setError('');
    bridge
      .invoke('apiKey.revertOrigins', {})
      .then((s) => {
        status.set(s);
        return onSettings ? bridge.invoke('settings.get', {}).then(onSettings) : undefined;
      })
      .catch(fail);
  };
  return (
    <section className="card" style={{ borderLeft: '4px solid var(--warn)' }} role="alert" data-testid="key-origin-card">
      <h2>Where your API key goes</h2>
      <p>
        Your settings now send your API key to <strong data-testid="key-origin-new">{to}</strong>. Send it there?
      </p>
      <p className="muted">
        Until you choose, HordeDesk sends nothing with your key there: the worker takes no jobs and ratings wait. Only say yes if you
        changed this address yourself or trust the settings file you imported.
      </p>
      <div className="actions">
        <button onClick={confirm}>Send my key there</button>
        <button onClick={goBack}>Go back to {from}</button>
      </div>
      {error && <p className="error">{error}</p>}
    </section>
  );
}
