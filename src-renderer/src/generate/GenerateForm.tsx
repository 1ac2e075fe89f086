import { useState, type FormEvent } from 'react';
import type { CommandRequest, CommandResponse } from '../../../src-main/common/contract';
import { HORDE_SAMPLERS } from '../../../src-main/common/inference';
import { useBridge, useCommand, type CommandState } from '../bridge/BridgeContext';
import { INITIAL_KIND_FORM, KindOptions, ModeChoice, type KindForm } from './KindFields';
import { kindReasons, type KindOption } from './kinds';
import { SourceFields } from './SourceFields';
import { sourcePart, type SourcePart } from './sourceRequest';
import type { Generation } from './useGeneration';
import { useKindSources } from './useKindSources';
import { NO_UPSCALE, postProcessingOf, upscaleOptions } from './upscale';
import { UpscaleField } from './UpscaleField';
import { presetLabel, presetOf, sizePresets } from './sizes';

/** The form as typed; an empty seed means a random one for each run. */
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

const INITIAL_FORM: Form = {
  prompt: 'a lighthouse on a cliff at sunset ### blurry',
  sampler_name: 'k_euler',
  karras: true,
  steps: 20,
  cfg_scale: 7,
  width: 512,
  height: 512,
  seed: '',
  n: 1,
};
const NUMBER_FIELDS = { steps: 'Steps', cfg_scale: 'CFG scale', width: 'Width', height: 'Height', n: 'Images' } as const;

const randomSeed = (): number => Math.floor(Math.random() * 0xffffffff);

/**
 * The generation parameters the form stands for, with the seed drawn now if none was typed, the
 * request kind's fields (an option the model cannot serve is sent off) and its images.
 */
function paramsOf(
  form: Form,
  kind: KindForm,
  reasons: Record<KindOption, string | null>,
  images: SourcePart,
): CommandRequest<'inference.generate'>['params'] {
  const seed = form.seed.trim() === '' ? randomSeed() : Number(form.seed);
  const { seed: _ignored, ...rest } = form;
  const { note: _note, ...sourceFields } = images;
  return {
    ...rest,
    seed,
    ...kind,
    hires_fix: kind.hires_fix && !reasons.hires_fix,
    tiling: kind.tiling && !reasons.tiling,
    ...sourceFields,
  };
}

type ModelList = CommandState<CommandResponse<'models.list'>>;

/** The model to run (installed and ready), what is wrong with the others, and the tiny test model. */
function ModelField({
  models,
  chosen,
  onChoose,
  onError,
}: {
  models: ModelList;
  chosen: string;
  onChoose: (name: string) => void;
  onError: (message: string) => void;
}) {
  const bridge = useBridge();
  const [creating, setCreating] = useState(false);
  const ready = (models.data ?? []).filter((m) => m.ready);
  const createTiny = (): void => {
    setCreating(true);
    bridge
      .invoke('models.createTiny', {})
      .then((m) => {
        onChoose(m.name);
        models.reload();
      })
      .catch((e: unknown) => onError(e instanceof Error ? e.message : String(e)))
      .finally(() => setCreating(false));
  };
  return (
    <>
      <label>
        <span>Model</span>
        <select name="model" value={chosen} onChange={(e) => onChoose(e.target.value)}>
          {ready.map((m) => (
            <option key={m.name}>{m.name}</option>
          ))}
        </select>
        {ready.length === 0 && (
          <small className="muted">
            No model yet. Put an SD 1.x ONNX folder under models/, or create the tiny test model (random weights: it makes noise, not
            pictures, but exercises the whole engine).
          </small>
        )}
        {(models.data ?? [])
          .filter((m) => !m.ready)
          .map((m) => (
            <small key={m.name} className="error">
              {m.problem}
            </small>
          ))}
      </label>
      <button type="button" onClick={createTiny} disabled={creating}>
        {creating ? 'Creating…' : 'Create the tiny test model'}
      </button>
    </>
  );
}

/** Sampler, Karras, steps, CFG, size, image count and seed. */
function SamplingFields({ form, set }: { form: Form; set: <K extends keyof Form>(key: K, value: Form[K]) => void }) {
  return (
    <>
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
            <span>{NUMBER_FIELDS[key]}</span>
            <input
              name={key}
              type="number"
              value={form[key]}
              step={key === 'width' || key === 'height' ? 64 : key === 'cfg_scale' ? 0.5 : 1}
              onChange={(e) => set(key, Number(e.target.value))}
            />
          </label>
        ))}
        <label>
          <span>Seed</span>
          <input name="seed" placeholder="random" value={form.seed} onChange={(e) => set('seed', e.target.value)} />
        </label>
      </div>
    </>
  );
}

/**
 * Sizes made for the chosen model's family (SDXL: its 1024²-pixel aspect buckets; SD 1.x: 512-pixel sizes); picking
 * one sets width and height, which stay editable for any other size.
 */
function SizeField({ family, form, setSize }: { family: 'sd1' | 'sdxl' | undefined; form: Form; setSize: (w: number, h: number) => void }) {
  const presets = sizePresets(family);
  const current = presetOf(family, form.width, form.height);
  return (
    <div className="row">
      <label>
        <span>{family === 'sdxl' ? 'SDXL size' : 'Size'}</span>
        <select
          name="size-preset"
          value={current ? presetLabel(current) : 'custom'}
          onChange={(e) => {
            const picked = presets.find((p) => presetLabel(p) === e.target.value);
            if (picked) setSize(picked.width, picked.height);
          }}
        >
          {presets.map((p) => (
            <option key={presetLabel(p)}>{presetLabel(p)}</option>
          ))}
          <option value="custom">custom (width and height below)</option>
        </select>
      </label>
      {family === 'sdxl' && !current && (
        <small className="muted" data-testid="sdxl-size-note">
          SDXL models are made for about 1024×1024 pixels; much smaller images come out poorly.
        </small>
      )}
    </div>
  );
}

/** "sampling step 3/20", "post-processing image 2", or the phase's name. */
function phaseText(progress: NonNullable<Generation['progress']>): string {
  if (progress.phase === 'sampling') return `sampling step ${progress.step}/${progress.steps}`;
  if (progress.phase === 'post-processing') return `upscaling image ${progress.image + 1}`;
  return progress.phase;
}

/** The bar and the phase ("sampling step 3/20") while a run is on. */
function GenerateProgress({ generation: { running, progress } }: { generation: Generation }) {
  if (!running) return null;
  const pct = progress && progress.steps ? Math.round((100 * progress.step) / progress.steps) : 0;
  return (
    <div data-testid="progress">
      <progress max={100} value={pct} /> {progress ? phaseText(progress) : 'starting…'}
    </div>
  );
}

/** Generate and Cancel, the progress while a run is on, why the chosen kind cannot run, and the last error. */
function GenerateActions({ generation, chosen, blocked }: { generation: Generation; chosen: string; blocked: string | null }) {
  return (
    <>
      <div className="actions">
        <button type="submit" disabled={generation.running || !chosen || blocked !== null}>
          Generate
        </button>
        {generation.running && generation.jobId && (
          <button type="button" onClick={generation.cancel}>
            Cancel
          </button>
        )}
      </div>
      {blocked && chosen && <small className="error">{blocked}</small>}
      <GenerateProgress generation={generation} />
      {generation.error && (
        <p className="error" data-testid="generate-error">
          {generation.error}
        </p>
      )}
    </>
  );
}

/** Prompt (and source image) → image: the model, the kind, the prompt and the sampling parameters, Generate and Cancel. */
export function GenerateForm({ generation }: { generation: Generation }) {
  const models = useCommand('models.list', {});
  const [model, setModel] = useState('');
  const [form, setForm] = useState<Form>(INITIAL_FORM);
  const [kind, setKind] = useState<KindForm>(INITIAL_KIND_FORM);
  const sources = useKindSources();
  const installedPost = useCommand('postprocess.list', {});
  const [upscale, setUpscale] = useState(NO_UPSCALE);
  const upscalers = upscaleOptions(installedPost.data);
  const chosen = model || (models.data ?? []).find((m) => m.ready)?.name || '';
  const chosenEntry = (models.data ?? []).find((m) => m.name === chosen);
  const reasons = kindReasons(chosenEntry);
  const set = <K extends keyof Form>(key: K, value: Form[K]): void => setForm({ ...form, [key]: value });
  const setKindField = <K extends keyof KindForm>(key: K, value: KindForm[K]): void => setKind({ ...kind, [key]: value });
  const submit = (event: FormEvent): void => {
    event.preventDefault();
    try {
      const images = sourcePart(kind.source_processing, sources, form);
      const params = paramsOf(form, kind, reasons, images);
      generation.generate({ model: chosen, params, postProcessing: postProcessingOf(upscale, upscalers) }, images.note);
    } catch (e) {
      generation.setError(e instanceof Error ? e.message : String(e));
    }
  };
  return (
    <form className="card settings" onSubmit={submit} data-testid="generate-form">
      <h2>Generate an image</h2>
      <p className="muted">
        Check your setup before joining the horde, with each kind of request a worker gets. Models live in folders under the data
        folder&apos;s <code>models/</code> (the published Stable Diffusion ONNX layout).
      </p>
      <ModelField models={models} chosen={chosen} onChoose={setModel} onError={generation.setError} />
      <ModeChoice form={kind} set={setKindField} reasons={reasons} />
      <SourceFields mode={kind.source_processing} sources={sources} size={form} />
      <label>
        <span>Prompt (negative prompt after ###)</span>
        <textarea name="prompt" rows={3} value={form.prompt} onChange={(e) => set('prompt', e.target.value)} />
      </label>
      <SizeField family={chosenEntry?.family} form={form} setSize={(width, height) => setForm({ ...form, width, height })} />
      <SamplingFields form={form} set={set} />
      <KindOptions form={kind} set={setKindField} reasons={reasons} size={form} family={chosenEntry?.family} />
      <UpscaleField options={upscalers} choice={upscale} onChoose={setUpscale} size={form} />
      <GenerateActions generation={generation} chosen={chosen} blocked={reasons[kind.source_processing]} />
    </form>
  );
}
