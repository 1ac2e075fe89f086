import { useState, type FormEvent } from 'react';
import { BridgeError } from '../bridge/bridge';
import { useBridge, useCommand } from '../bridge/BridgeContext';

/** The API key: typed here, checked with the horde, kept in the secret store; never shown back. */
export function ApiKeyCard() {
  const bridge = useBridge();
  const status = useCommand('apiKey.status', {});
  const [key, setKey] = useState('');
  const [message, setMessage] = useState('');
  const [error, setError] = useState('');
  const save = (event: FormEvent): void => {
    event.preventDefault();
    setError('');
    setMessage('');
    bridge
      .invoke('apiKey.set', { apiKey: key })
      .then((s) => {
        status.set(s);
        setKey('');
        setMessage(s.username ? `Key saved: you are ${s.username}.` : 'Key saved (the horde could not be reached to check it).');
      })
      .catch((e: unknown) => setError(e instanceof BridgeError ? e.message : String(e)));
  };
  const s = status.data;
  return (
    <form className="card settings" onSubmit={save} data-testid="api-key-form">
      <h2>AI Horde API key</h2>
      <p className="muted" data-testid="api-key-status">
        {s?.set
          ? `A key is set${s.username ? ` for ${s.username}` : ''}; it is stored ${s.protection}.`
          : 'No key yet. Get yours at aihorde.net/register.'}
        {s?.set &&
          s.kudos !== null &&
          ` You have ${s.kudos.toLocaleString('en-US')} kudos${s.trusted === null ? '' : s.trusted ? ' and a trusted account' : '; new, untrusted accounts have part of their worker kudos held for about a week'}.`}
      </p>
      <label>
        <span>{s?.set ? 'Replace the key' : 'API key'}</span>
        <input name="apiKey" type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />
        {error && (
          <small className="error" data-testid="api-key-error">
            {error}
          </small>
        )}
      </label>
      <div className="actions">
        <button type="submit" disabled={key.trim() === ''}>
          Check and save key
        </button>
        {s?.set && (
          <button type="button" onClick={() => void bridge.invoke('apiKey.clear', {}).then(status.set)}>
            Remove key
          </button>
        )}
        <span data-testid="api-key-message">{message}</span>
      </div>
    </form>
  );
}
