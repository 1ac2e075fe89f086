import { useEffect, useState } from 'react';
import type { ScheduleRules } from '../../../src-main/common/settings';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { settingsErrors } from '../settings/settingsErrors';

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/** The rules as typed: the two number fields stay text until the app has checked them. */
type Draft = Omit<ScheduleRules, 'idleMinutes' | 'maxGpuTempC'> & { idleMinutes: string; maxGpuTempC: string };

function draftOf(rules: ScheduleRules): Draft {
  return { ...rules, idleMinutes: String(rules.idleMinutes), maxGpuTempC: rules.maxGpuTempC === null ? '' : String(rules.maxGpuTempC) };
}

/** Fields this card shows an error next to; anything else goes in the line under the button. */
function shownHere(field: string): boolean {
  return /^schedule\.(idleMinutes|maxGpuTempC|windows(\.\d+)?)(\.|$)/.test(field);
}

const PART = { days: 'Days', start: 'From', end: 'To' } as Record<string, string>;

/** The messages for one row of hours, each led by the part of the row it is about. */
function rowErrors(errors: Record<string, string>, row: number): string[] {
  const prefix = `schedule.windows.${row}`;
  return Object.entries(errors)
    .filter(([field]) => field === prefix || field.startsWith(`${prefix}.`))
    .map(([field, message]) => {
      const part = PART[field.slice(prefix.length + 1).split('.')[0] ?? ''];
      return part ? `${part}: ${message}` : message;
    });
}

/** The hours the worker may run in: one row per window (days, from, to), each with its errors. */
function HoursEditor({
  windows,
  onChange,
  errors,
}: {
  windows: ScheduleRules['windows'];
  onChange: (windows: ScheduleRules['windows']) => void;
  errors: Record<string, string>;
}) {
  return (
    <div>
      <span>Hours (empty = any time)</span>
      {windows.map((w, i) => (
        <div className="row" key={i}>
          {DAYS.map((d, day) => (
            <label className="check" key={d}>
              <input
                type="checkbox"
                checked={w.days.includes(day)}
                onChange={(e) =>
                  onChange(
                    windows.map((x, j) =>
                      j === i ? { ...x, days: e.target.checked ? [...x.days, day].sort() : x.days.filter((v) => v !== day) } : x,
                    ),
                  )
                }
              />
              {d}
            </label>
          ))}
          <input
            aria-label="From"
            value={w.start}
            onChange={(e) => onChange(windows.map((x, j) => (j === i ? { ...x, start: e.target.value } : x)))}
          />
          <input
            aria-label="To"
            value={w.end}
            onChange={(e) => onChange(windows.map((x, j) => (j === i ? { ...x, end: e.target.value } : x)))}
          />
          <button onClick={() => onChange(windows.filter((_, j) => j !== i))}>Remove</button>
          {rowErrors(errors, i).map((m) => (
            <small className="error" key={m} data-testid={`error-schedule-hours-${i + 1}`}>
              {m}
            </small>
          ))}
        </div>
      ))}
      {errors['schedule.windows'] && <small className="error">{errors['schedule.windows']}</small>}
      <button onClick={() => onChange([...windows, { days: [0, 1, 2, 3, 4, 5, 6], start: '22:00', end: '08:00' }])}>Add hours</button>
    </div>
  );
}

/** Sets one rule of the draft. */
type SetRule = <K extends keyof Draft>(key: K, value: Draft[K]) => void;

/** A number rule typed as text, with the app's error under it once it refused the value. */
function NumberRule({
  name,
  label,
  field,
  placeholder,
  value,
  onChange,
  errors,
}: {
  name: string;
  label: string;
  field: 'idleMinutes' | 'maxGpuTempC';
  placeholder?: string;
  value: string;
  onChange: (value: string) => void;
  errors: Record<string, string>;
}) {
  const error = errors[`schedule.${field}`];
  return (
    <label>
      <span>{label}</span>
      <input
        name={name}
        inputMode="numeric"
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      {error && (
        <small className="error" data-testid={`error-schedule-${field}`}>
          {error}
        </small>
      )}
    </label>
  );
}

/** How long without input counts as away, what happens on coming back, and how hot the GPU may get. */
function AwayAndHeatRules({ rules, set, errors }: { rules: Draft; set: SetRule; errors: Record<string, string> }) {
  return (
    <div className="row">
      <NumberRule
        name="scheduleIdleMinutes"
        label="Minutes without input"
        field="idleMinutes"
        value={rules.idleMinutes}
        onChange={(v) => set('idleMinutes', v)}
        errors={errors}
      />
      <label>
        <span>When I come back</span>
        <select
          name="scheduleOnReturn"
          value={rules.onReturn}
          onChange={(e) => set('onReturn', e.target.value as ScheduleRules['onReturn'])}
        >
          <option value="finish">Finish the job in hand, then stop</option>
          <option value="stopNow">Stop at once (the job is reported as faulted)</option>
        </select>
      </label>
      <NumberRule
        name="scheduleMaxTemp"
        label="GPU temperature limit (°C)"
        field="maxGpuTempC"
        placeholder="none"
        value={rules.maxGpuTempC}
        onChange={(v) => set('maxGpuTempC', v)}
        errors={errors}
      />
    </div>
  );
}

/** Notifications and autostart: saved with the schedule, though not part of its rules. */
type Extras = { notifications: boolean; autostart: boolean };

/** The two app-wide switches that sit on this card. */
function ExtrasChecks({ extras, onChange }: { extras: Extras; onChange: (extras: Extras) => void }) {
  return (
    <>
      <label className="check">
        <input type="checkbox" checked={extras.notifications} onChange={(e) => onChange({ ...extras, notifications: e.target.checked })} />{' '}
        Notify me (maintenance, a rating session synced)
      </label>
      <label className="check">
        <input type="checkbox" checked={extras.autostart} onChange={(e) => onChange({ ...extras, autostart: e.target.checked })} /> Start
        HordeDesk when I log in (desktop app)
      </label>
    </>
  );
}

/** The saved schedule as a draft, and saving it; each refusal goes next to its field or in the line under the button. */
function useScheduleDraft() {
  const bridge = useBridge();
  const settings = useCommand('settings.get', {});
  const [rules, setRules] = useState<Draft | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [extras, setExtras] = useState<Extras>({ notifications: false, autostart: false });
  const [message, setMessage] = useState('');
  useEffect(() => {
    if (settings.data) {
      setRules(draftOf(settings.data.schedule));
      setExtras({ notifications: settings.data.notifications, autostart: settings.data.autostart });
    }
  }, [settings.data]);
  const save = (): void => {
    if (!rules) return; // the card, and its Save button, show only once the rules are loaded
    setMessage('');
    bridge
      .invoke('settings.update', { schedule: rules, ...extras })
      .then((s) => {
        settings.set(s);
        setErrors({});
        setMessage('Saved.');
      })
      .catch((e: unknown) => {
        // Each message once: next to its field, or (if no field here shows it) in the line below.
        const refused = settingsErrors(e, shownHere);
        setErrors(refused.fields);
        setMessage(refused.message);
      });
  };
  return { rules, setRules, errors, extras, setExtras, message, save };
}

/** When the worker runs by itself: idle rules, battery, hours, heat; plus notifications and autostart. */
export function ScheduleCard() {
  const { rules, setRules, errors, extras, setExtras, message, save } = useScheduleDraft();
  if (!rules) return null;
  const set: SetRule = (key, value) => setRules({ ...rules, [key]: value });
  return (
    <section className="card settings" data-testid="schedule-card">
      <h2>When to work</h2>
      <label>
        <span>Mode</span>
        <select name="scheduleMode" value={rules.mode} onChange={(e) => set('mode', e.target.value as ScheduleRules['mode'])}>
          <option value="idle">Only when I am away (no keyboard or mouse input)</option>
          <option value="always">Always</option>
          <option value="never">Only when I press Start</option>
        </select>
      </label>
      <AwayAndHeatRules rules={rules} set={set} errors={errors} />
      <label className="check">
        <input type="checkbox" checked={rules.pauseOnBattery} onChange={(e) => set('pauseOnBattery', e.target.checked)} /> Not on battery
      </label>
      <HoursEditor windows={rules.windows} onChange={(windows) => set('windows', windows)} errors={errors} />
      <ExtrasChecks extras={extras} onChange={setExtras} />
      <div className="actions">
        <button onClick={save}>Save schedule</button>
        <span data-testid="schedule-message">{message}</span>
      </div>
    </section>
  );
}
