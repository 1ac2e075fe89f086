import { useEffect, useState, type FormEvent } from 'react';
import type { SettingsPatch, Settings as SettingsValue } from '../../../src-main/common/settings';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { ApiKeyCard } from './ApiKeyCard';
import { KeyOriginCard } from './KeyOriginCard';
import { ModelsChoice } from '../models/ModelsChoice';
import { ScheduleCard } from '../worker/ScheduleCard';
import { SettingsFileCard } from './SettingsFileCard';
import { settingsErrors } from './settingsErrors';

/** The form as typed: numbers stay text so the app, not the page, decides what they mean. */
type Editable = Pick<SettingsValue, 'hordeUrl' | 'ratingsUrl' | 'workerName'> & {
  nsfw: boolean;
  amount: string;
  blacklist: string;
  maxPixels: string;
};

function formOf(d: SettingsValue): Editable {
  return {
    hordeUrl: d.hordeUrl,
    ratingsUrl: d.ratingsUrl,
    workerName: d.workerName,
    nsfw: d.nsfw,
    amount: String(d.amount),
    blacklist: d.blacklist.join(', '),
    maxPixels: d.maxPixels === null ? '' : String(d.maxPixels),
  };
}

/**
 * Only the fields the user changed: a field left as it was is not checked again (an install whose
 * onboarding was skipped has no worker name yet, and may still change its horde URL).
 */
function changes(form: Editable, saved: Editable): SettingsPatch {
  const patch: SettingsPatch = {};
  if (form.hordeUrl !== saved.hordeUrl) patch.hordeUrl = form.hordeUrl;
  if (form.ratingsUrl !== saved.ratingsUrl) patch.ratingsUrl = form.ratingsUrl;
  if (form.workerName !== saved.workerName) patch.workerName = form.workerName;
  if (form.nsfw !== saved.nsfw) patch.nsfw = form.nsfw;
  if (form.amount !== saved.amount) patch.amount = form.amount;
  // Commas separate words; empty entries between commas are just spacing.
  if (form.blacklist !== saved.blacklist)
    patch.blacklist = form.blacklist
      .split(',')
      .map((w) => w.trim())
      .filter((w) => w !== '');
  if (form.maxPixels !== saved.maxPixels) patch.maxPixels = form.maxPixels;
  return patch;
}

const ON_FORM = new Set(['hordeUrl', 'ratingsUrl', 'workerName', 'nsfw', 'amount', 'blacklist', 'maxPixels']);

const FIELDS: { key: 'hordeUrl' | 'ratingsUrl' | 'workerName'; label: string; help: string }[] = [
  { key: 'workerName', label: 'Worker name', help: 'How your worker appears on the horde. Unique horde-wide; 5 to 100 characters.' },
  {
    key: 'hordeUrl',
    label: 'AI Horde URL',
    help: 'The horde API, e.g. https://aihorde.net/api. Change it only for a private or development horde.',
  },
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
    const d = settings.data;
    if (d) setForm(formOf(d));
  }, [settings.data]);

  const save = (event: FormEvent): void => {
    event.preventDefault();
    if (!form || !settings.data) return;
    setMessage('');
    bridge
      .invoke('settings.update', changes(form, formOf(settings.data)))
      .then((saved) => {
        settings.set(saved);
        setErrors({});
        setMessage('Saved.');
      })
      .catch((e: unknown) => {
        const refused = settingsErrors(e, (field) => ON_FORM.has(field));
        setErrors(refused.fields);
        setMessage(refused.message);
      });
  };

  if (!form) return <p className="muted">{settings.error ?? 'Loading settings…'}</p>;
  return (
    <div className="column">
      <KeyOriginCard onSettings={settings.set} />
      <ApiKeyCard />
      <form className="card settings" onSubmit={save} data-testid="settings-form">
        <h2>Settings</h2>
        {FIELDS.map(({ key, label, help }) => (
          <label key={key}>
            <span>{label}</span>
            <input
              name={key}
              value={form[key]}
              onChange={(e) => setForm({ ...form, [key]: e.target.value })}
              aria-invalid={errors[key] ? true : undefined}
            />
            {errors[key] ? (
              <small className="error" data-testid={`error-${key}`}>
                {errors[key]}
              </small>
            ) : (
              <small className="muted">{help}</small>
            )}
          </label>
        ))}
        <label className="check">
          <input type="checkbox" name="nsfw" checked={form.nsfw} onChange={(e) => setForm({ ...form, nsfw: e.target.checked })} /> Accept
          jobs marked NSFW
          {errors.nsfw && (
            <small className="error" data-testid="error-nsfw">
              {errors.nsfw}
            </small>
          )}
        </label>
        <label>
          <span>Images per pop</span>
          <input
            name="amount"
            inputMode="numeric"
            value={form.amount}
            onChange={(e) => setForm({ ...form, amount: e.target.value })}
            aria-invalid={errors.amount ? true : undefined}
          />
          {errors.amount ? (
            <small className="error" data-testid="error-amount">
              {errors.amount}
            </small>
          ) : (
            <small className="muted">How many images to take from one request (1-20); the horde lowers it for big images.</small>
          )}
        </label>
        <label>
          <span>Blacklist</span>
          <input
            name="blacklist"
            value={form.blacklist}
            onChange={(e) => setForm({ ...form, blacklist: e.target.value })}
            aria-invalid={errors.blacklist ? true : undefined}
          />
          {errors.blacklist ? (
            <small className="error" data-testid="error-blacklist">
              {errors.blacklist}
            </small>
          ) : (
            <small className="muted">Comma-separated words; jobs whose prompt contains one are never sent to you.</small>
          )}
        </label>
        <label>
          <span>Largest image (max_pixels)</span>
          <input
            name="maxPixels"
            inputMode="numeric"
            placeholder="as suggested for this machine"
            value={form.maxPixels}
            onChange={(e) => setForm({ ...form, maxPixels: e.target.value })}
            aria-invalid={errors.maxPixels ? true : undefined}
          />
          {errors.maxPixels ? (
            <small className="error" data-testid="error-maxPixels">
              {errors.maxPixels}
            </small>
          ) : (
            <small className="muted">Leave empty to use the Dashboard's suggestion.</small>
          )}
        </label>
        <p className="muted">Your API key is not stored in settings: see the API key card.</p>
        <div className="actions">
          <button type="submit">Save</button>
          <span data-testid="settings-message">{message}</span>
        </div>
      </form>
      <ModelsChoice />
      <ScheduleCard />
      <SettingsFileCard onImported={settings.reload} />
    </div>
  );
}
