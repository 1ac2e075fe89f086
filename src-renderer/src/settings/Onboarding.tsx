import { useState } from 'react';
import type { ScheduleRules } from '../../../src-main/common/settings';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { ApiKeyCard } from './ApiKeyCard';
import { settingsErrors } from './settingsErrors';
import { HardwareCard } from '../worker/HardwareCard';

const FAMILY = { sd1: 'Stable Diffusion 1.x', sd2: 'Stable Diffusion 2.x', sdxl: 'SDXL' } as const;

/** First run: key, worker name, this machine, what it can serve, and when to work. */
export function Onboarding({ onDone }: { onDone: () => void }) {
  const bridge = useBridge();
  const settings = useCommand('settings.get', {});
  const profile = useCommand('hardware.profile', { refresh: false });
  const [name, setName] = useState<string | null>(null);
  const [nameCheck, setNameCheck] = useState<{ available: boolean; message: string } | null>(null);
  const [mode, setMode] = useState<ScheduleRules['mode'] | null>(null);
  const [idleMinutes, setIdleMinutes] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const s = settings.data;
  if (!s) return <p className="muted">Loading…</p>;
  const workerName = name ?? s.workerName;
  const chosenMode = mode ?? s.schedule.mode;
  const minutes = idleMinutes ?? String(s.schedule.idleMinutes);

  const check = (): void => {
    setNameCheck(null);
    void bridge.invoke('worker.checkName', { name: workerName }).then(setNameCheck);
  };
  const finish = (): void => {
    setError('');
    bridge
      .invoke('settings.update', { workerName, schedule: { ...s.schedule, mode: chosenMode, idleMinutes: minutes }, onboarded: true })
      .then(onDone)
      .catch((e: unknown) => {
        const refused = settingsErrors(e, (field) => field === 'workerName' || (field === 'schedule.idleMinutes' && chosenMode === 'idle'));
        setErrors(refused.fields);
        setError(refused.message);
      });
  };
  const skip = (): void => void bridge.invoke('settings.update', { onboarded: true }).then(onDone);

  return (
    <div className="column onboarding" data-testid="onboarding">
      <section className="card">
        <h2>Welcome to HordeDesk</h2>
        <p>
          Your computer can generate images for the AI Horde while you are away, and you can rate images for the open aesthetic dataset. Both earn kudos. Five short steps;
          everything can be changed later in Settings.
        </p>
        <button className="link" onClick={skip}>
          Skip for now
        </button>
      </section>
      <h3>1 · Your AI Horde API key</h3>
      <ApiKeyCard />
      <h3>2 · Your worker's name</h3>
      <section className="card settings">
        <label>
          <span>Worker name (5-100 characters, unique on the horde)</span>
          <input name="onboardingWorkerName" value={workerName} onChange={(e) => setName(e.target.value)} aria-invalid={errors.workerName ? true : undefined} />
          {errors.workerName && <small className="error" data-testid="error-onboardingWorkerName">{errors.workerName}</small>}
        </label>
        <div className="actions">
          <button onClick={check} disabled={workerName.trim().length < 5}>
            Check the name
          </button>
          {nameCheck && (
            <span className={nameCheck.available ? 'ok' : 'error'} data-testid="name-check">
              {nameCheck.message}
            </span>
          )}
        </div>
      </section>
      <h3>3 · This machine</h3>
      <HardwareCard />
      <h3>4 · What it can serve</h3>
      <section className="card" data-testid="onboarding-models">
        {profile.data ? (
          <ul>
            {profile.data.modelFamilies.map((f) => (
              <li key={f.family} className={f.fits ? 'fits' : 'no-fit'}>
                {f.fits ? 'Recommended' : 'Not for this machine'}: {FAMILY[f.family]} — {f.reason}
              </li>
            ))}
          </ul>
        ) : (
          <p className="muted">Detecting…</p>
        )}
        <p className="muted">Put a model folder (Stable Diffusion ONNX layout) under models/ in the data folder; the Generate page checks it works.</p>
      </section>
      <h3>5 · When to work</h3>
      <section className="card settings" data-testid="onboarding-schedule">
        {(['idle', 'always', 'never'] as const).map((m) => (
          <label key={m} className="check">
            <input type="radio" name="mode" checked={chosenMode === m} onChange={() => setMode(m)} />
            {m === 'idle' ? 'Only when I am away (no keyboard or mouse input)' : m === 'always' ? 'Always (a dedicated machine)' : 'Only when I press Start'}
          </label>
        ))}
        {chosenMode === 'idle' && (
          <label>
            <span>Minutes without input before starting</span>
            <input name="idleMinutes" inputMode="numeric" value={minutes} onChange={(e) => setIdleMinutes(e.target.value)} aria-invalid={errors['schedule.idleMinutes'] ? true : undefined} />
            {errors['schedule.idleMinutes'] && <small className="error" data-testid="error-idleMinutes">{errors['schedule.idleMinutes']}</small>}
          </label>
        )}
        <p className="muted">On battery the worker waits, and when you come back it finishes the job in hand and stops taking new ones.</p>
      </section>
      {error && <p className="error">{error}</p>}
      <div className="actions">
        <button onClick={finish} data-testid="onboarding-finish">
          Finish
        </button>
      </div>
    </div>
  );
}
