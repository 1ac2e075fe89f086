import { useEffect, useState } from 'react';
import { useBridge, useCommand } from '../bridge/BridgeContext';

/** Which installed models the worker offers to the horde: all that are ready, or a chosen few. */
export function ModelsChoice() {
  const bridge = useBridge();
  const models = useCommand('models.list', {});
  const settings = useCommand('settings.get', {});
  const [chosen, setChosen] = useState<string[] | null>(null);
  const [message, setMessage] = useState('');
  useEffect(() => {
    if (settings.data) setChosen(settings.data.models);
  }, [settings.data]);
  const ready = (models.data ?? []).filter((m) => m.ready).map((m) => m.name);
  const save = (next: string[] | null): void => {
    setChosen(next);
    bridge
      .invoke('settings.update', { models: next })
      .then(() => setMessage('Saved.'))
      .catch((e: unknown) => setMessage(e instanceof Error ? e.message : String(e)));
  };
  return (
    <section className="card settings" data-testid="models-choice">
      <h2>Models the worker serves</h2>
      <label className="check">
        <input type="checkbox" checked={chosen === null} onChange={(e) => save(e.target.checked ? null : ready)} /> Every model that is
        ready
      </label>
      {chosen !== null &&
        ready.map((name) => (
          <label className="check" key={name}>
            <input
              type="checkbox"
              checked={chosen.includes(name)}
              onChange={(e) => save(e.target.checked ? [...chosen, name] : chosen.filter((m) => m !== name))}
            />{' '}
            {name}
          </label>
        ))}
      {ready.length === 0 && <small className="muted">No model is ready yet (see the Generate page).</small>}
      <small className="muted">{message}</small>
    </section>
  );
}
