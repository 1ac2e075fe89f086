import { useState } from 'react';
import type { CapabilityProfile } from '../../../src-main/common/hardware';
import type { ScheduleRules } from '../../../src-main/common/settings';
import { useBridge } from '../bridge/BridgeContext';
import { FAMILY_NAMES } from '../components/format';

/** What the first-run page is for, and the way out of it. */
export function WelcomeCard({ onSkip }: { onSkip: () => void }) {
  return (
    <section className="card">
      <h2>Welcome to HordeDesk</h2>
      <p>
        Your computer can generate images for the AI Horde while you are away, and you can rate images for the open aesthetic dataset. Both
        earn kudos. Six short steps; everything can be changed later in Settings.
      </p>
      <button className="link" onClick={onSkip}>
        Skip for now
      </button>
    </section>
  );
}

/** Step 2: the worker's name, with a check against the horde before it is saved. */
export function WorkerNameStep({
  workerName,
  onChange,
  error,
}: {
  workerName: string;
  onChange: (name: string) => void;
  error: string | undefined;
}) {
  const bridge = useBridge();
  const [nameCheck, setNameCheck] = useState<{ available: boolean; message: string } | null>(null);
  const check = (): void => {
    setNameCheck(null);
    void bridge.invoke('worker.checkName', { name: workerName }).then(setNameCheck);
  };
  return (
    <section className="card settings">
      <label>
        <span>Worker name (5-100 characters, unique on the horde)</span>
        <input
          name="onboardingWorkerName"
          value={workerName}
          onChange={(e) => onChange(e.target.value)}
          aria-invalid={error ? true : undefined}
        />
        {error && (
          <small className="error" data-testid="error-onboardingWorkerName">
            {error}
          </small>
        )}
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
  );
}

/** Step 4: the model families this machine can serve, from the hardware profile. */
export function ServeStep({ profile }: { profile: CapabilityProfile | undefined }) {
  return (
    <section className="card" data-testid="onboarding-models">
      {profile ? (
        <ul>
          {profile.modelFamilies.map((f) => (
            <li key={f.family} className={f.fits ? 'fits' : 'no-fit'}>
              {f.fits ? 'Recommended' : 'Not for this machine'}: {FAMILY_NAMES[f.family]} — {f.reason}
            </li>
          ))}
        </ul>
      ) : (
        <p className="muted">Detecting…</p>
      )}
      <p className="muted">
        Put a model folder (Stable Diffusion ONNX layout) under models/ in the data folder; the Generate page checks it works.
      </p>
    </section>
  );
}

const MODE_WORDS = {
  idle: 'Only when I am away (no keyboard or mouse input)',
  always: 'Always (a dedicated machine)',
  never: 'Only when I press Start',
} as const;

/** Step 6: when to work, and after how many idle minutes. */
export function WhenToWorkStep({
  mode,
  onMode,
  minutes,
  onMinutes,
  error,
}: {
  mode: ScheduleRules['mode'];
  onMode: (mode: ScheduleRules['mode']) => void;
  minutes: string;
  onMinutes: (minutes: string) => void;
  error: string | undefined;
}) {
  return (
    <section className="card settings" data-testid="onboarding-schedule">
      {(['idle', 'always', 'never'] as const).map((m) => (
        <label key={m} className="check">
          <input type="radio" name="mode" checked={mode === m} onChange={() => onMode(m)} />
          {MODE_WORDS[m]}
        </label>
      ))}
      {mode === 'idle' && (
        <label>
          <span>Minutes without input before starting</span>
          <input
            name="idleMinutes"
            inputMode="numeric"
            value={minutes}
            onChange={(e) => onMinutes(e.target.value)}
            aria-invalid={error ? true : undefined}
          />
          {error && (
            <small className="error" data-testid="error-idleMinutes">
              {error}
            </small>
          )}
        </label>
      )}
      <p className="muted">On battery the worker waits, and when you come back it finishes the job in hand and stops taking new ones.</p>
    </section>
  );
}
