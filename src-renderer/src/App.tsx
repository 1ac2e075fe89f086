import { useCallback, useState } from 'react';
import type { AppState, Notice } from '../../src-main/common/contract';
import { useBridge, useCommand, useConnection, useEvent } from './bridge/BridgeContext';
import { AddressNotValid, ConnectionBanner } from './components/ConnectionBanner';
import { Dashboard } from './worker/Dashboard';
import { Generate } from './generate/Generate';
import { Onboarding } from './settings/Onboarding';
import { History } from './worker/History';
import { Kudos } from './kudos/Kudos';
import { Models } from './models/Models';
import { Rate } from './rating/Rate';
import { RatingHistory } from './rating/RatingHistory';
import { Settings } from './settings/Settings';

const PAGES = {
  dashboard: 'Dashboard',
  history: 'History',
  rate: 'Rate',
  ratings: 'Ratings',
  kudos: 'Kudos',
  models: 'Models',
  generate: 'Generate',
  settings: 'Settings',
} as const;
type Page = keyof typeof PAGES;

function Notices() {
  const bridge = useBridge();
  const notices = useCommand('app.notices', {});
  useEvent(
    'app.notice',
    useCallback((n: Notice) => notices.set([...(notices.data ?? []), n]), [notices.data, notices.set]),
  );
  if (!notices.data?.length) return null;
  return (
    <div className="notices">
      {notices.data.map((n) => (
        <div key={n.id} className={`notice ${n.level}`} role="alert" data-testid="notice">
          <span>{n.message}</span>
          <button aria-label="Dismiss" onClick={() => void bridge.invoke('app.dismissNotice', { id: n.id }).then(notices.set)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

/**
 * The shell: the refusal page when the app will not take this address, a waiting banner until
 * the first connection, then the pages (kept on screen, but taking no input, while the
 * connection is lost, so a half-filled form survives a restart of the app).
 */
export function App() {
  const connection = useConnection();
  if (connection.state === 'refused') return <AddressNotValid refusal={connection.refusal} />;
  if (connection.opens === 0) {
    return (
      <div className="app-waiting">
        <ConnectionBanner connection={connection} />
      </div>
    );
  }
  return <Shell />;
}

function Shell() {
  const connection = useConnection();
  const connected = connection.state === 'open';
  const [page, setPage] = useState<Page>('dashboard');
  const state = useCommand('app.state', {});
  const settings = useCommand('settings.get', {});
  useEvent(
    'app.state',
    useCallback((s: AppState) => state.set(s), [state.set]),
  );
  useEvent(
    'app.navigate',
    useCallback((n: { page: 'dashboard' | 'rate' | 'settings' }) => setPage(n.page), []),
  );
  // First run: onboarding until it is finished or skipped.
  const onboarding = settings.data !== undefined && !settings.data.onboarded;
  return (
    <div className="app">
      <nav>
        <div className="brand">HordeDesk</div>
        {(Object.keys(PAGES) as Page[]).map((p) => (
          <button key={p} className={p === page && !onboarding ? 'active' : ''} disabled={onboarding} onClick={() => setPage(p)}>
            {PAGES[p]}
          </button>
        ))}
        <div className="state" data-testid="state-line">
          {connected ? (state.data?.line ?? '…') : 'Not connected'}
        </div>
      </nav>
      <main>
        <ConnectionBanner connection={connection} />
        {/* A disabled fieldset disables every button and field inside it, whatever the page. */}
        <fieldset className="shell-input" disabled={!connected} data-testid="shell-input">
          <Notices />
          {onboarding ? (
            <Onboarding
              onDone={() => {
                settings.reload();
                setPage('dashboard');
              }}
            />
          ) : page === 'dashboard' ? (
            <Dashboard />
          ) : page === 'history' ? (
            <History />
          ) : page === 'rate' ? (
            <Rate />
          ) : page === 'ratings' ? (
            <RatingHistory />
          ) : page === 'kudos' ? (
            <Kudos />
          ) : page === 'models' ? (
            <Models />
          ) : page === 'generate' ? (
            <Generate />
          ) : (
            <Settings />
          )}
        </fieldset>
      </main>
    </div>
  );
}
