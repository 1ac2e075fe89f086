import { SOURCE_PROCESSING, type SourceProcessing } from '../../../src-main/common/inference';
import { hiresAbove, hiresSkipped, KIND_LABELS, type KindOption } from './kinds';

/** The request-kind part of the form, in the horde's field names. */
export interface KindForm {
  source_processing: SourceProcessing;
  denoising_strength: number;
  hires_fix: boolean;
  hires_fix_denoising_strength: number;
  tiling: boolean;
}

/** The horde's defaults (generationParamsSchema's). */
export const INITIAL_KIND_FORM: KindForm = {
  source_processing: 'txt2img',
  denoising_strength: 0.75,
  hires_fix: false,
  hires_fix_denoising_strength: 0.65,
  tiling: false,
};

interface Size {
  width: number;
  height: number;
}

const hiresSkippedText = (family?: 'sd1' | 'sdxl'): string =>
  `Hires fix runs only above ${hiresAbove(family)} pixels on both sides and never when painting, as the reference worker does; with these settings it is skipped.`;

type SetKind = <K extends keyof KindForm>(key: K, value: KindForm[K]) => void;
type Reasons = Record<KindOption, string | null>;

/** Why an option is off, under it, tied to its input for screen readers. */
function Reason({ option, reasons }: { option: KindOption; reasons: Reasons }) {
  const reason = reasons[option];
  if (!reason) return null;
  return (
    <small className="muted kind-reason" id={`reason-${option}`} data-testid={`reason-${option}`}>
      {reason}
    </small>
  );
}

/** Text to image / Image to image / Inpainting / Outpainting; a kind the model cannot run is disabled with the reason. */
export function ModeChoice({ form, set, reasons }: { form: KindForm; set: SetKind; reasons: Reasons }) {
  return (
    <fieldset className="kinds" data-testid="mode-choice">
      <legend>Kind</legend>
      {SOURCE_PROCESSING.map((kind) => (
        <div key={kind} className="kind-option">
          <label className="check">
            <input
              type="radio"
              name="source_processing"
              value={kind}
              checked={form.source_processing === kind}
              disabled={reasons[kind] !== null}
              aria-describedby={reasons[kind] ? `reason-${kind}` : undefined}
              onChange={() => set('source_processing', kind)}
            />{' '}
            {KIND_LABELS[kind]}
          </label>
          <Reason option={kind} reasons={reasons} />
        </div>
      ))}
    </fieldset>
  );
}

/** A 0.01–1 strength slider with its value written beside it. */
function Strength(props: { name: string; label: string; value: number; disabled: boolean; onChange: (v: number) => void }) {
  return (
    <label>
      <span>
        {props.label}: <output>{props.value.toFixed(2)}</output>
      </span>
      <input
        type="range"
        name={props.name}
        min={0.01}
        max={1}
        step={0.01}
        value={props.value}
        disabled={props.disabled}
        onChange={(e) => props.onChange(Number(e.target.value))}
      />
    </label>
  );
}

/** Denoising strength (with a source image), hires fix and its strength, tiling; each off with the reason when the model cannot. */
export function KindOptions({
  form,
  set,
  reasons,
  size,
  family,
}: {
  form: KindForm;
  set: SetKind;
  reasons: Reasons;
  size: Size;
  family?: 'sd1' | 'sdxl' | undefined;
}) {
  const withSource = form.source_processing !== 'txt2img';
  const hiresOn = form.hires_fix && !reasons.hires_fix;
  return (
    <>
      {withSource && (
        <Strength
          name="denoising_strength"
          label="Denoising strength (how much of the source is repainted; 1 = all)"
          value={form.denoising_strength}
          disabled={reasons[form.source_processing] !== null}
          onChange={(v) => set('denoising_strength', v)}
        />
      )}
      <div className="kind-option">
        <label className="check">
          <input
            type="checkbox"
            name="hires_fix"
            checked={form.hires_fix && !reasons.hires_fix}
            disabled={reasons.hires_fix !== null}
            aria-describedby={reasons.hires_fix ? 'reason-hires_fix' : undefined}
            onChange={(e) => set('hires_fix', e.target.checked)}
          />{' '}
          Hires fix (a first pass at the model&apos;s native size, upscaled, then denoised again)
        </label>
        <Reason option="hires_fix" reasons={reasons} />
      </div>
      {hiresOn && (
        <Strength
          name="hires_fix_denoising_strength"
          label="Hires fix denoising strength"
          value={form.hires_fix_denoising_strength}
          disabled={false}
          onChange={(v) => set('hires_fix_denoising_strength', v)}
        />
      )}
      {hiresOn && hiresSkipped(form.source_processing, size, family) && (
        <small className="notes" data-testid="hires-skipped">
          {hiresSkippedText(family)}
        </small>
      )}
      <div className="kind-option">
        <label className="check">
          <input
            type="checkbox"
            name="tiling"
            checked={form.tiling && !reasons.tiling}
            disabled={reasons.tiling !== null}
            aria-describedby={reasons.tiling ? 'reason-tiling' : undefined}
            onChange={(e) => set('tiling', e.target.checked)}
          />{' '}
          Tiling (a seamless image that wraps at its edges)
        </label>
        <Reason option="tiling" reasons={reasons} />
      </div>
    </>
  );
}
