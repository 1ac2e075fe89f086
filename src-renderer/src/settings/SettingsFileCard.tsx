import { useState } from 'react';
import { BridgeError } from '../bridge/bridge';
import { useBridge } from '../bridge/BridgeContext';

/** Export settings to a file (never the API key) and import them on another machine. */
export function SettingsFileCard({ onImported }: { onImported: () => void }) {
  const bridge = useBridge();
  const [message, setMessage] = useState('');
  const [problems, setProblems] = useState<string[]>([]);
  const exportFile = (): void => {
    void bridge.invoke('settings.export', {}).then(({ filename, content }) => {
      const url = URL.createObjectURL(new Blob([content], { type: 'application/json' }));
      const a = document.createElement('a');
      a.href = url;
      a.download = filename;
      a.click();
      URL.revokeObjectURL(url);
      setMessage(`Saved ${filename} (without your API key).`);
    });
  };
  const importFile = (file: File | undefined): void => {
    if (!file) return;
    setProblems([]);
    void file.text().then((content) =>
      bridge
        .invoke('settings.import', { content })
        .then(() => {
          setMessage('Settings imported.');
          onImported();
        })
        .catch((e: unknown) => {
          // A refused file lists each field it would have set wrong, in the Settings page's words.
          const fields = e instanceof BridgeError ? Object.values(e.fields) : [];
          setMessage(fields.length > 0 ? 'Nothing was imported:' : e instanceof Error ? e.message : String(e));
          setProblems(fields);
        }),
    );
  };
  return (
    <section className="card settings">
      <h2>Settings file</h2>
      <div className="actions">
        <button onClick={exportFile} data-testid="settings-export">
          Export settings
        </button>
        <label className="check">
          Import:{' '}
          <input
            type="file"
            accept="application/json,.json"
            data-testid="settings-import"
            onChange={(e) => importFile(e.target.files?.[0])}
          />
        </label>
      </div>
      <small className={problems.length > 0 ? 'error' : 'muted'} data-testid="settings-file-message">
        {message}
      </small>
      {problems.length > 0 && (
        <ul className="error" data-testid="settings-file-problems">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
