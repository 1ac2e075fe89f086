import { useCallback, useState } from 'react';
import type { SafetyView } from '../../../src-main/common/safetyModel';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';
import { progressText } from '../models/modelFormat';

// No check, no work (issue 13 item 6): the worker takes no job until the safety model is installed
// and loaded. This is what the Dashboard's worker card and onboarding show of it, with the install.

/** Whole (decimal) megabytes, as the install offer says its size; the README gives the same figure in GB. */
export const megabytes = (bytes: number): string => `${Math.ceil(bytes / 1e6).toLocaleString('en-US')} MB`;

/** The safety model's view, kept current by its `safety.status` events. */
export function useSafetyView(): { view: SafetyView | undefined; error: string | undefined; set: (view: SafetyView) => void } {
  const status = useCommand('safety.status', {});
  useEvent(
    'safety.status',
    useCallback((view: SafetyView) => status.set(view), [status.set]),
  );
  return { view: status.data, error: status.error, set: status.set };
}

/** The install under way, with its progress and Cancel. */
function InstallProgressLine({ view }: { view: SafetyView }) {
  const bridge = useBridge();
  const p = view.install;
  if (!p || p.phase === 'done' || p.phase === 'cancelled') return null;
  if (p.phase === 'failed')
    return (
      <p className="error" data-testid="safety-install-failed">
        The install failed: {p.message ?? 'no reason given'}
      </p>
    );
  return (
    <p data-testid="safety-install-progress">
      {progressText(p)}{' '}
      <button className="link" onClick={() => void bridge.invoke('safety.cancelInstall', {})}>
        Cancel
      </button>
    </p>
  );
}

/**
 * Where the safety model stands, and the install when it is missing: "Install the safety model
 * (… MB) before working". `whenReady` is shown once it is ready (onboarding says so; the worker
 * card shows nothing).
 */
export function SafetyInstall({ whenReady = false }: { whenReady?: boolean }) {
  const bridge = useBridge();
  const { view, error, set } = useSafetyView();
  const [refused, setRefused] = useState('');
  if (!view) return error ? <p className="error">{error}</p> : null;
  const installing = view.install !== null && (view.install.phase === 'downloading' || view.install.phase === 'converting');
  const install = (): void => {
    setRefused('');
    bridge
      .invoke('safety.install', {})
      .then(set)
      .catch((e: unknown) => setRefused(e instanceof Error ? e.message : String(e)));
  };
  if (view.state === 'ready')
    return whenReady ? (
      <p className="ok" data-testid="safety-ready">
        Safety check ready: {view.model.name}
        {view.model.tiny ? ' (the demo’s tiny model, which recognises nothing)' : ''}.
      </p>
    ) : null;
  return (
    <div data-testid="safety-install">
      {view.state === 'missing' ? (
        <p className="error" data-testid="safety-missing">
          Install the safety model ({megabytes(view.model.downloadBytes)}) before working.{' '}
          <span className="muted">
            HordeDesk checks every image for CSAM and NSFW before it leaves this machine, as the horde’s own worker does, and takes no job
            it cannot check.
          </span>
        </p>
      ) : (
        <p className={view.state === 'failed' ? 'error' : 'notes'} data-testid="safety-state">
          {view.reason}
        </p>
      )}
      {view.state === 'missing' && !installing && (
        <button onClick={install} data-testid="safety-install-button">
          Install the safety model ({megabytes(view.model.downloadBytes)})
        </button>
      )}
      <InstallProgressLine view={view} />
      {refused && <p className="error">{refused}</p>}
    </div>
  );
}
