import { useCallback } from 'react';
import type { KudosTotals } from '../../../src-main/common/contract';
import { useCommand, useEvent } from '../bridge/BridgeContext';
import { formatKudos } from '../components/format';
import { Totals } from '../components/Totals';
import { CreditHoldNote } from '../kudos/CreditHoldNote';
import { HardwareCard } from './HardwareCard';
import { KeyOriginCard } from '../settings/KeyOriginCard';
import { WorkerCard } from './WorkerCard';

function KudosCard() {
  const totals = useCommand('kudos.totals', {});
  useEvent(
    'kudos.changed',
    useCallback((t: KudosTotals) => totals.set(t), [totals.set]),
  );
  const t = totals.data;
  return (
    <section className="card" data-testid="kudos-card">
      <header>
        <h2>Kudos earned with HordeDesk</h2>
      </header>
      {totals.error && <p className="error">{totals.error}</p>}
      {t && (
        <>
          <Totals
            items={[
              { value: formatKudos(t.today), label: 'today', testId: 'kudos-today' },
              { value: formatKudos(t.week), label: 'last 7 days', testId: 'kudos-week' },
              { value: formatKudos(t.allTime), label: 'all time', testId: 'kudos-all' },
            ]}
          />
          <p className="muted">
            Jobs {formatKudos(t.bySource.job)} · Ratings {formatKudos(t.bySource.rating)} · Uptime {formatKudos(t.bySource.uptime)} (
            {t.events} ledger entries)
          </p>
          <CreditHoldNote hold={t.creditHold} />
        </>
      )}
    </section>
  );
}

function HordeCard() {
  const status = useCommand('horde.status', {});
  const s = status.data;
  return (
    <section className="card" data-testid="horde-card">
      <header>
        <h2>AI Horde</h2>
        <button onClick={status.reload} disabled={status.loading}>
          Check again
        </button>
      </header>
      {s ? (
        <dl>
          <dt>Server</dt>
          <dd>{s.url}</dd>
          <dt>Status</dt>
          <dd data-testid="horde-status" className={s.reachable ? 'ok' : 'error'}>
            {s.reachable ? `Reachable — ${s.message}${s.version ? ` (version ${s.version})` : ''}` : `Not reachable: ${s.message}`}
          </dd>
        </dl>
      ) : (
        <p className="muted">{status.error ?? 'Checking…'}</p>
      )}
    </section>
  );
}

function AppInfoCard() {
  const info = useCommand('app.info', {});
  const i = info.data;
  if (!i) return null;
  return (
    <section className="card">
      <header>
        <h2>Where your data lives</h2>
      </header>
      <dl>
        <dt>Data folder</dt>
        <dd data-testid="data-dir">{i.dataDir}</dd>
        <dt>Logs</dt>
        <dd>{i.logDir}</dd>
        <dt>Version</dt>
        <dd>
          {i.name} {i.version} ({i.shell})
        </dd>
      </dl>
    </section>
  );
}

/** The first page: the machine, the horde, and the kudos, at a glance. */
export function Dashboard() {
  return (
    <div className="grid">
      <HardwareCard />
      <div className="column">
        <KeyOriginCard />
        <WorkerCard />
        <KudosCard />
        <HordeCard />
        <AppInfoCard />
      </div>
    </div>
  );
}
