import { useEffect, useState, type FormEvent } from 'react';
import type { LoraStatusDto } from '../../../src-main/common/contract';
import { BridgeError } from '../bridge/bridge';
import { useBridge, useCommand } from '../bridge/BridgeContext';
import { settingsErrors } from './settingsErrors';

/** Bytes as the card says them: "0 MB", "432 MB", "1.8 GB". */
function size(bytes: number): string {
  return bytes >= 1024 ** 3 ? `${(bytes / 1024 ** 3).toFixed(1)} GB` : `${Math.round(bytes / 1024 ** 2)} MB`;
}

/** What the cache holds, in one sentence per part. */
function Usage({ s }: { s: LoraStatusDto }) {
  return (
    <p className="muted" data-testid="lora-usage">
      Downloaded LoRAs and embeddings: {s.files} file{s.files === 1 ? '' : 's'}, {size(s.filesBytes)} of {size(s.filesBudgetBytes)}. Models
      merged with LoRAs: {s.mergedSets}, {size(s.mergedBytes)} of {size(s.mergedBudgetBytes)}. The least recently used go first when a
      budget is full.
    </p>
  );
}

/** The CivitAI token: typed here, kept in the secret store like the API key, never shown back. */
function TokenForm({ s, onStatus }: { s: LoraStatusDto; onStatus: (s: LoraStatusDto) => void }) {
  const bridge = useBridge();
  const [token, setToken] = useState('');
  const [error, setError] = useState('');
  const save = (event: FormEvent): void => {
    event.preventDefault();
    setError('');
    bridge
      .invoke('lora.setToken', { token })
      .then((next) => {
        onStatus(next);
        setToken('');
      })
      .catch((e: unknown) => setError(e instanceof BridgeError ? e.message : String(e)));
  };
  return (
    <form onSubmit={save} data-testid="lora-token-form">
      <label>
        <span>CivitAI API token (optional)</span>
        <input name="civitaiToken" type="password" autoComplete="off" value={token} onChange={(e) => setToken(e.target.value)} />
        {error ? (
          <small className="error" data-testid="lora-token-error">
            {error}
          </small>
        ) : (
          <small className="muted" data-testid="lora-token-status">
            {s.tokenSet
              ? `A token is set; it is stored ${s.tokenProtection}.`
              : 'Some LoRA creators let only logged-in CivitAI users download; a token from your CivitAI account settings lets the worker fetch those.'}
          </small>
        )}
      </label>
      <div className="actions">
        <button type="submit" disabled={token.trim() === ''}>
          Save token
        </button>
        {s.tokenSet && (
          <button type="button" onClick={() => void bridge.invoke('lora.clearToken', {}).then(onStatus)}>
            Remove token
          </button>
        )}
      </div>
    </form>
  );
}

/** A disk budget in GB as typed, with its help or the app's error. */
function BudgetField(props: {
  name: string;
  label: string;
  help: string;
  value: string;
  error: string | undefined;
  onChange: (v: string) => void;
}) {
  const { name, label, help, value, error, onChange } = props;
  return (
    <label>
      <span>{label}</span>
      <input
        name={name}
        inputMode="numeric"
        value={value}
        onChange={(e) => onChange(e.target.value)}
        aria-invalid={error ? true : undefined}
      />
      {error ? (
        <small className="error" data-testid={`error-${name}`}>
          {error}
        </small>
      ) : (
        <small className="muted">{help}</small>
      )}
    </label>
  );
}

/** LoRAs: whether the worker takes them, how much disk they may use, the CivitAI token. */
export function LoraCard() {
  const bridge = useBridge();
  const status = useCommand('lora.status', {});
  const settings = useCommand('settings.get', {});
  const [form, setForm] = useState({ loras: true, loraCacheGb: '', loraMergedGb: '' });
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [message, setMessage] = useState('');
  useEffect(() => {
    const d = settings.data;
    if (d) setForm({ loras: d.loras, loraCacheGb: String(d.loraCacheGb), loraMergedGb: String(d.loraMergedGb) });
  }, [settings.data]);
  const save = (event: FormEvent): void => {
    event.preventDefault();
    setMessage('');
    bridge
      .invoke('settings.update', form)
      .then((saved) => {
        settings.set(saved);
        setErrors({});
        setMessage('Saved.');
        status.reload();
      })
      .catch((e: unknown) => {
        const refused = settingsErrors(e, (field) => field in form);
        setErrors(refused.fields);
        setMessage(refused.message);
      });
  };
  const s = status.data;
  const budget = (key: 'loraCacheGb' | 'loraMergedGb', label: string, help: string) => (
    <BudgetField
      name={key}
      label={label}
      help={help}
      value={form[key]}
      error={errors[key]}
      onChange={(v) => setForm({ ...form, [key]: v })}
    />
  );
  return (
    <section className="card settings" data-testid="lora-card">
      <h2>LoRAs and textual inversions</h2>
      <p className="muted" data-testid="lora-state">
        Requesters name LoRAs and embeddings by their CivitAI id; the worker downloads them from CivitAI (checked against the SHA256 CivitAI
        publishes) and merges them into the model before generating.{' '}
        {s
          ? s.taking
            ? `LoRA jobs are taken now${s.reason ? `: ${s.reason}` : '.'}`
            : `LoRA jobs are not taken now: ${s.reason ?? ''}`
          : ''}
      </p>
      <form onSubmit={save} data-testid="lora-form">
        <label className="check">
          <input type="checkbox" name="loras" checked={form.loras} onChange={(e) => setForm({ ...form, loras: e.target.checked })} /> Take
          LoRA jobs
        </label>
        {budget('loraCacheGb', 'Disk for downloaded LoRAs (GB)', 'LoRA files are up to 400 MB each; 10 GB as the reference worker.')}
        {budget('loraMergedGb', 'Disk for merged models (GB)', 'Each SD 1.5 model merged with a set of LoRAs takes about 1.8 GB.')}
        <div className="actions">
          <button type="submit">Save LoRA settings</button>
          <span data-testid="lora-message">{message}</span>
        </div>
      </form>
      {s && <Usage s={s} />}
      {s && (
        <div className="actions">
          <button type="button" onClick={() => void bridge.invoke('lora.clearCache', {}).then(status.set)}>
            Remove downloaded LoRAs
          </button>
        </div>
      )}
      {s && <TokenForm s={s} onStatus={status.set} />}
    </section>
  );
}
