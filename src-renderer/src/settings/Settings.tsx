import { useEffect, useState, type FormEvent } from 'react';
import type { SettingsPatch, Settings as SettingsValue } from '../../../src-main/common/settings';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { ApiKeyCard } from './ApiKeyCard';
import { KeyOriginCard } from './KeyOriginCard';
import { LoraCard } from './LoraCard';
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

/** One text field of the form: its setting, label and help; a numeric one asks for a number keypad. */
type TextField = {
  key: Exclude<keyof Editable, 'nsfw'>;
  label: string;
  help: string;
  numeric?: boolean;
  placeholder?: string;
};

/** Who the worker is and which services it talks to. */
const ADDRESS_FIELDS: TextField[] = [
  { key: 'workerName', label: 'Worker name', help: 'How your worker appears on the horde. Unique horde-wide; 5 to 100 characters.' },
  {
    key: 'hordeUrl',
    label: 'AI Horde URL',
    help: 'The horde API, e.g. https://aihorde.net/api. Change it only for a private or development horde.',
  },
  { key: 'ratingsUrl', label: 'Ratings service URL', help: 'The ratings API, e.g. https://ratings.aihorde.net/api/v1.' },
];

/** Which jobs the worker takes. */
const JOB_FIELDS: TextField[] = [
  {
    key: 'amount',
    label: 'Images per pop',
    help: 'How many images to take from one request (1-20); the horde lowers it for big images.',
    numeric: true,
  },
  { key: 'blacklist', label: 'Blacklist', help: 'Comma-separated words; jobs whose prompt contains one are never sent to you.' },
  {
    key: 'maxPixels',
    label: 'Largest image (max_pixels)',
    help: "Leave empty to use the Dashboard's suggestion.",
    numeric: true,
    placeholder: 'as suggested for this machine',
  },
];

/** A text field with what it is for or, once the app refused it, why. */
function TextFieldInput({
  field,
  value,
  error,
  onChange,
}: {
  field: TextField;
  value: string;
  error: string | undefined;
  onChange: (value: string) => void;
}) {
  const { key, label, help, numeric, placeholder } = field;
  return (
    <label>
      <span>{label}</span>
      <input
        name={key}
        inputMode={numeric ? 'numeric' : undefined}
        placeholder={placeholder}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      {error ? (
        <small className="error" data-testid={`error-${key}`}>
          {error}
        </small>
      ) : (
        <small className="muted">{help}</small>
      )}
    </label>
  );
}

/** The settings as loaded, the form as typed, and saving only what changed. */
function useSettingsForm() {
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
  return { settings, form, setForm, errors, message, save };
}

/** The settings form: names and addresses, NSFW, which jobs to take; each field with the app's own error. */
function SettingsForm({
  form,
  setForm,
  errors,
  message,
  onSave,
}: {
  form: Editable;
  setForm: (form: Editable) => void;
  errors: Record<string, string>;
  message: string;
  onSave: (event: FormEvent) => void;
}) {
  const field = (f: TextField) => (
    <TextFieldInput
      key={f.key}
      field={f}
      value={form[f.key]}
      error={errors[f.key]}
      onChange={(value) => setForm({ ...form, [f.key]: value })}
    />
  );
  return (
    <form className="card settings" onSubmit={onSave} data-testid="settings-form">
      <h2>Settings</h2>
      {ADDRESS_FIELDS.map(field)}
      <label className="check">
        <input type="checkbox" name="nsfw" checked={form.nsfw} onChange={(e) => setForm({ ...form, nsfw: e.target.checked })} /> Accept jobs
        marked NSFW
        {errors.nsfw && (
          <small className="error" data-testid="error-nsfw">
            {errors.nsfw}
          </small>
        )}
      </label>
      {JOB_FIELDS.map(field)}
      <p className="muted">Your API key is not stored in settings: see the API key card.</p>
      <div className="actions">
        <button type="submit">Save</button>
        <span data-testid="settings-message">{message}</span>
      </div>
    </form>
  );
}

/** Settings with the main process's own validation errors shown next to each field. */
export function Settings() {
  const { settings, form, setForm, errors, message, save } = useSettingsForm();
  if (!form) return <p className="muted">{settings.error ?? 'Loading settings…'}</p>;
  return (
    <div className="column">
      <KeyOriginCard onSettings={settings.set} />
      <ApiKeyCard />
      <SettingsForm form={form} setForm={setForm} errors={errors} message={message} onSave={save} />
      <ModelsChoice />
      <LoraCard />
      <ScheduleCard />
      <SettingsFileCard onImported={settings.reload} />
    </div>
  );
}
