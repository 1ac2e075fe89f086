import { useCallback, useState, type FormEvent } from 'react';
import type { GenerationOutcome } from '../../../src-main/common/contract';
import { HORDE_SAMPLERS, type InferenceProgress } from '../../../src-main/common/inference';
import { BridgeError } from '../bridge/bridge';
import { useBridge, useCommand, useEvent } from '../bridge/BridgeContext';

const PROVIDER_NAMES = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', cpu: 'CPU' } as const;

interface Form {
  prompt: string;
  sampler_name: (typeof HORDE_SAMPLERS)[number];
  karras: boolean;
  steps: number;
  cfg_scale: number;
  width: number;
  height: number;
  seed: string;
  n: number;
}

const randomSeed = (): number => Math.floor(Math.random() * 0xffffffff);

/** Try the engine before joining the horde: prompt → image, with per-step progress. */
export function Generate() {
  const bridge = useBridge();
  const models = useCommand('models.list', {});
  const [model, setModel] = useState('');
  const [form, setForm] = useState<Form>({ prompt: 'a lighthouse on a cliff at sunset ### blurry', sampler_name: 'k_euler', karras: true, steps: 20, cfg_scale: 7, width: 512, height: 512, seed: '', n: 1 });
  const [progress, setProgress] = useState<InferenceProgress | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<GenerationOutcome | null>(null);
  const [error, setError] = useState('');
  const [creating, setCreating] = useState(false);

  useEvent('inference.progress', useCallback((p: InferenceProgress) => {
    setProgress(p);
    setJobId(p.jobId);
  }, []));

  const ready = (models.data ?? []).filter((m) => m.ready);
  const chosen = model || ready[0]?.name || '';
  const set = <K extends keyof Form>(key: K, value: Form[K]): void => setForm({ ...form, [key]: value });

  const generate = (event: FormEvent): void => {
    event.preventDefault();
    setError('');
    setRunning(true);
    setProgress(null);
    const seed = form.seed.trim() === '' ? randomSeed() : Number(form.seed);
    const { seed: _ignored, ...rest } = form;
    bridge
      .invoke('inference.generate', { model: chosen, params: { ...rest, seed } })
      .then(setOutcome)
      .catch((e: unknown) => setError(e instanceof BridgeError && Object.keys(e.fields).length ? `${e.message}` : e instanceof Error ? e.message : String(e)))
      .finally(() => {
        setRunning(false);
        setJobId(null);
      });
  };

  const createTiny = (): void => {
    setCreating(true);
    bridge
      .invoke('models.createTiny', {})
      .then((m) => {
        setModel(m.name);
        models.reload();
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => setCreating(false));
  };

  const pct = progress && progress.steps ? Math.round((100 * progress.step) / progress.steps) : 0;
  return (
    <div className="grid">
      <form className="card settings" onSubmit={generate} data-testid="generate-form">
        <h2>Generate an image</h2>
        <p className="muted">Check your setup before joining the horde. Models live in folders under the data folder's <code>models/</code> (the published Stable Diffusion ONNX layout).</p>
        <label>
          <span>Model</span>
          <select name="model" value={chosen} onChange={(e) => setModel(e.target.value)}>
            {ready.map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
          {ready.length === 0 && <small className="muted">No model yet. Put an SD 1.x ONNX folder under models/, or create the tiny test model (random weights: it makes noise, not pictures, but exercises the whole engine).</small>}
          {(models.data ?? []).filter((m) => !m.ready).map((m) => (
            <small key={m.name} className="error">{m.problem}</small>
          ))}
        </label>
        <button type="button" onClick={createTiny} disabled={creating}>{creating ? 'Creating…' : 'Create the tiny test model'}</button>
        <label>
          <span>Prompt (negative prompt after ###)</span>
          <textarea name="prompt" rows={3} value={form.prompt} onChange={(e) => set('prompt', e.target.value)} />
        </label>
        <div className="row">
          <label>
            <span>Sampler</span>
            <select name="sampler" value={form.sampler_name} onChange={(e) => set('sampler_name', e.target.value as Form['sampler_name'])}>
              {HORDE_SAMPLERS.map((s) => (
                <option key={s}>{s}</option>
              ))}
            </select>
          </label>
          <label className="check">
            <input type="checkbox" checked={form.karras} onChange={(e) => set('karras', e.target.checked)} /> Karras
          </label>
        </div>
        <div className="row">
          {(['steps', 'cfg_scale', 'width', 'height', 'n'] as const).map((key) => (
            <label key={key}>
              <span>{{ steps: 'Steps', cfg_scale: 'CFG scale', width: 'Width', height: 'Height', n: 'Images' }[key]}</span>
              <input name={key} type="number" value={form[key]} step={key === 'width' || key === 'height' ? 64 : key === 'cfg_scale' ? 0.5 : 1} onChange={(e) => set(key, Number(e.target.value))} />
            </label>
          ))}
          <label>
            <span>Seed</span>
            <input name="seed" placeholder="random" value={form.seed} onChange={(e) => set('seed', e.target.value)} />
          </label>
        </div>
        <div className="actions">
          <button type="submit" disabled={running || !chosen}>Generate</button>
          {running && jobId && (
            <button type="button" onClick={() => void bridge.invoke('inference.cancel', { jobId })}>
              Cancel
            </button>
          )}
        </div>
        {running && (
          <div data-testid="progress">
            <progress max={100} value={pct} /> {progress ? `${progress.phase}${progress.phase === 'sampling' ? ` step ${progress.step}/${progress.steps}` : ''}` : 'starting…'}
          </div>
        )}
        {error && <p className="error" data-testid="generate-error">{error}</p>}
      </form>
      <section className="card" data-testid="generate-result">
        <h2>Result</h2>
        {!outcome && <p className="muted">Images appear here.</p>}
        {outcome && (
          <>
            <p data-testid="provider">
              Ran on <strong>{PROVIDER_NAMES[outcome.provider.provider]}</strong>
              {outcome.provider.fallbackReason && <span className="muted"> (not the GPU: {outcome.provider.fallbackReason})</span>}
            </p>
            <div className="images">
              {outcome.images.map((img) => (
                <figure key={img.seed}>
                  <img src={img.dataUrl} width={img.width} height={img.height} alt={`seed ${img.seed}`} data-testid="generated-image" />
                  <figcaption className="muted">seed {img.seed}</figcaption>
                </figure>
              ))}
            </div>
            <p className="muted" data-testid="timing">
              {(outcome.stats.wallMs / 1000).toFixed(2)} s in all · {outcome.stats.meanStepMs.toFixed(1)} ms per step · {outcome.stats.runs} ONNX Runtime runs
            </p>
            {outcome.warnings.map((w) => (
              <p key={w} className="notes">{w}</p>
            ))}
          </>
        )}
      </section>
    </div>
  );
}
