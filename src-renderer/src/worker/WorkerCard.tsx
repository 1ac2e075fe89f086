import { useCallback, useState } from 'react';
import type { CommandName, WorkerStatusDto } from '../../../src-main/common/contract';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';
import { SafetyInstall } from './SafetyInstall';
import { ScheduleLine } from './ScheduleLine';

const STATE_WORDS: Record<WorkerStatusDto['state'], string> = {
  stopped: 'Stopped',
  running: 'Working',
  pausing: 'Finishing, then pausing',
  paused: 'Paused',
  stopping: 'Stopping',
  maintenance: 'In maintenance',
  error: 'Stopped by an error',
};

const n = (v: number, digits = 1): string => v.toLocaleString('en-US', { maximumFractionDigits: digits });
/** 24-hour local "HH:MM", as the tray says it (core/appState.ts clockTime). */
const hhmm = (ms: number): string => {
  const at = new Date(ms);
  return `${String(at.getHours()).padStart(2, '0')}:${String(at.getMinutes()).padStart(2, '0')}`;
};

/** What the worker has to say besides its state: the horde's or our message, an outage, why no jobs come. */
function WorkerNotes({ s }: { s: WorkerStatusDto }) {
  const popping = s.state === 'running' || s.state === 'pausing';
  return (
    <>
      {s.message && s.message !== s.safety?.message && (
        <p className="notes" data-testid="worker-message">
          {s.state === 'maintenance' ? `The horde says: ${s.message}` : s.message}
        </p>
      )}
      {popping && s.outage && (
        <p className="error" data-testid="worker-outage" title={s.outage.message}>
          Cannot reach the horde since {hhmm(s.outage.since)}, retrying
        </p>
      )}
      {s.state === 'running' && !s.outage && s.noJobs && !s.current && (
        <p className="notes" data-testid="worker-no-jobs" title={s.noJobs.skipped.map((k) => `${k.reason}: ${k.count}`).join(', ')}>
          {s.noJobs.text} <span className="muted">(since {new Date(s.noJobs.since).toLocaleTimeString()})</span>
        </p>
      )}
    </>
  );
}

/** The horde worker: state, controls, the job in progress and the session's numbers. */
export function WorkerCard() {
  const bridge = useBridge();
  const status = useCommand('worker.status', {});
  const [error, setError] = useState('');
  useEvent(
    'worker.status',
    useCallback((s: WorkerStatusDto) => status.set(s), [status.set]),
  );
  // Whether the worker may pop follows the safety model (installed, loaded): ask again when it changes.
  useEvent('safety.status', status.reload);
  const act = (name: Extract<CommandName, 'worker.start' | 'worker.pause' | 'worker.stopNow' | 'worker.leaveMaintenance'>): void => {
    setError('');
    bridge
      .invoke(name, {})
      .then(status.set)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  const s = status.data;
  if (!s) return null;
  const c = s.current;
  const busy = s.state === 'running' || s.state === 'pausing' || s.state === 'stopping';
  return (
    <section className="card" data-testid="worker-card">
      <header>
        <h2>Horde worker</h2>
        <span
          data-testid="worker-state"
          className={s.state === 'error' || s.state === 'maintenance' ? 'error' : s.state === 'running' ? 'ok' : 'muted'}
        >
          {STATE_WORDS[s.state]}
        </span>
      </header>
      <WorkerNotes s={s} />
      {s.safety && <SafetyInstall />}
      <div className="actions">
        {s.state !== 'running' && s.state !== 'maintenance' && <button onClick={() => act('worker.start')}>Start</button>}
        {s.state === 'maintenance' && <button onClick={() => act('worker.leaveMaintenance')}>Leave maintenance and start</button>}
        {s.state === 'running' && <button onClick={() => act('worker.pause')}>Finish current job, then pause</button>}
        {busy && <button onClick={() => act('worker.stopNow')}>Stop now</button>}
      </div>
      {error && (
        <p className="error" data-testid="worker-error">
          {error}
        </p>
      )}
      <ScheduleLine />
      {c && (
        <p data-testid="worker-current">
          Job {c.jobId.slice(0, 8)} · {c.model} · image {c.image + 1}/{c.images} · {c.phase}
          {c.phase === 'sampling' ? ` step ${c.step}/${c.steps}` : ''}
          <progress max={c.steps || 1} value={c.step} />
        </p>
      )}
      <dl>
        <dt>Jobs</dt>
        <dd data-testid="worker-jobs">
          {s.stats.jobsDone} done · {s.stats.jobsFaulted} faulted
          {s.stats.jobsDropped ? ` · ${s.stats.jobsDropped} refused by the horde` : ''}
          {s.stats.jobsCensored ? ` · ${s.stats.jobsCensored} censored` : ''}
          {s.stats.jobsCsam ? ` · ${s.stats.jobsCsam} flagged as CSAM` : ''}
          {s.inFlight ? ` · ${s.inFlight} image(s) in flight` : ''}
        </dd>
        <dt>Speed</dt>
        <dd>{n(s.mpsPerSecond, 3)} megapixelsteps/s</dd>
        <dt>Kudos</dt>
        <dd data-testid="worker-kudos">
          {n(s.stats.kudosSession)} this session ({n(s.kudosPerHour)}/h) · {n(s.kudos24h)} in 24 h ({n(s.kudos24h / 24)}/h)
        </dd>
      </dl>
    </section>
  );
}
