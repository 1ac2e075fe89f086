import { useCallback } from 'react';
import type { ScheduleStatusDto } from '../../../src-main/common/contract';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';

/** Why the worker runs or waits, snooze, and (demo only) a simulated away/back switch. */
export function ScheduleLine() {
  const bridge = useBridge();
  const status = useCommand('schedule.status', {});
  useEvent(
    'schedule.status',
    useCallback((s: ScheduleStatusDto) => status.set(s), [status.set]),
  );
  const s = status.data;
  if (!s) return null;
  return (
    <div className="schedule-line">
      <p data-testid="schedule-reason" className={s.waiting ? 'muted' : ''}>
        {s.reason}
      </p>
      <div className="actions">
        {s.snoozedUntil ? (
          <button onClick={() => void bridge.invoke('schedule.clearSnooze', {}).then(status.set)}>End snooze</button>
        ) : (
          <button onClick={() => void bridge.invoke('schedule.snooze', { minutes: 60 }).then(status.set)}>Snooze 1 hour</button>
        )}
        {s.simulated && (
          <>
            <span className="muted">Demo:</span>
            <button
              data-testid="simulate-away"
              onClick={() => void bridge.invoke('schedule.simulate', { presence: 'away' }).then(status.set)}
            >
              I'm away
            </button>
            <button
              data-testid="simulate-back"
              onClick={() => void bridge.invoke('schedule.simulate', { presence: 'back' }).then(status.set)}
            >
              I'm back
            </button>
          </>
        )}
      </div>
    </div>
  );
}
