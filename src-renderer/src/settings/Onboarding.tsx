import { useState } from 'react';
import type { ScheduleRules } from '../../../src-main/common/settings';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { ApiKeyCard } from './ApiKeyCard';
import { ServeStep, WelcomeCard, WhenToWorkStep, WorkerNameStep } from './OnboardingSteps';
import { settingsErrors } from './settingsErrors';
import { HardwareCard } from '../worker/HardwareCard';
import { SafetyInstall } from '../worker/SafetyInstall';

/** First run: key, worker name, this machine, what it can serve, the safety check, and when to work. */
export function Onboarding({ onDone }: { onDone: () => void }) {
  const bridge = useBridge();
  const settings = useCommand('settings.get', {});
  const profile = useCommand('hardware.profile', { refresh: false });
  const [name, setName] = useState<string | null>(null);
  const [mode, setMode] = useState<ScheduleRules['mode'] | null>(null);
  const [idleMinutes, setIdleMinutes] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState('');
  const s = settings.data;
  if (!s) return <p className="muted">Loading…</p>;
  const workerName = name ?? s.workerName;
  const chosenMode = mode ?? s.schedule.mode;
  const minutes = idleMinutes ?? String(s.schedule.idleMinutes);

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
      <WelcomeCard onSkip={skip} />
      <h3>1 · Your AI Horde API key</h3>
      <ApiKeyCard />
      <h3>2 · Your worker's name</h3>
      <WorkerNameStep workerName={workerName} onChange={setName} error={errors.workerName} />
      <h3>3 · This machine</h3>
      <HardwareCard />
      <h3>4 · What it can serve</h3>
      <ServeStep profile={profile.data} />
      <h3>5 · The safety check</h3>
      <section className="card" data-testid="onboarding-safety">
        <SafetyInstall whenReady />
      </section>
      <h3>6 · When to work</h3>
      <WhenToWorkStep
        mode={chosenMode}
        onMode={setMode}
        minutes={minutes}
        onMinutes={setIdleMinutes}
        error={errors['schedule.idleMinutes']}
      />
      {error && <p className="error">{error}</p>}
      <div className="actions">
        <button onClick={finish} data-testid="onboarding-finish">
          Finish
        </button>
      </div>
    </div>
  );
}
