import { useEffect, useState, type FormEvent } from 'react';
import type { Settings as SettingsValue } from '../../../src-main/common/settings';
import { BridgeError } from '../bridge/bridge';
import { useBridge, useCommand } from '../bridge/BridgeContext';

type Editable = Pick<SettingsValue, 'hordeUrl' | 'ratingsUrl' | 'workerName'>;

const FIELDS: { key: keyof Editable; label: string; help: string }[] = [
  { key: 'workerName', label: 'Worker name', help: 'How your worker appears on the horde. Unique horde-wide; 5 to 100 characters.' },
  { key: 'hordeUrl', label: 'AI Horde URL', help: 'The horde API, e.g. https://aihorde.net/api. Change it only for a private or development horde.' },
  { key: 'ratingsUrl', label: 'Ratings service URL', help: 'The ratings API, e.g. https://ratings.aihorde.net/api/v1.' },
];

/** Settings with the main process's own validation errors shown next to each field. */
export function Settings() {
  const bridge = useBridge();
  const settings = useCommand('settings.get', {});
  const [form, setForm] = useState<Editable | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');

  useEffect(() => {
    if (settings.data) setForm({ hordeUrl: settings.data.hordeUrl, ratingsUrl: settings.data.ratingsUrl, workerName: settings.data.workerName });
  }, [settings.data]);

  const save = (event: FormEvent): void => {
    event.preventDefault();
    if (!form) return;
    setMessage('');
    bridge
      .invoke('settings.update', form)
      .then((saved) => {
        settings.set(saved);
        setErrors({});
        setMessage('Saved.');
      })
      .catch((e: unknown) => {
        if (e instanceof BridgeError) {
          setErrors(e.fields);
          setMessage(e.message);
        } else setMessage(String(e));
      });
  };

  if (!form) return <p className="muted">{settings.error ?? 'Loading settings…'}</p>;
  return (
    <form className="card settings" onSubmit={save} data-testid="settings-form">
      <h2>Settings</h2>
      {FIELDS.map(({ key, label, help }) => (
        <label key={key}>
          <span>{label}</span>
          <input name={key} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} aria-invalid={errors[key] ? true : undefined} />
          {errors[key] ? <small className="error" data-testid={`error-${key}`}>{errors[key]}</small> : <small className="muted">{help}</small>}
        </label>
      ))}
      <p className="muted">Your API key is not stored here: it is kept in your system's secret store.</p>
      <div className="actions">
        <button type="submit">Save</button>
        <span data-testid="settings-message">{message}</span>
      </div>
    </form>
  );
}
