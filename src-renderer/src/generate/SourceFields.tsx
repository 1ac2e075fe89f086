import { useState, type DragEvent } from 'react';
import type { SourceProcessing } from '../../../src-main/common/inference';
import { MaskPainter } from './MaskPainter';
import { OutpaintFields } from './OutpaintFields';
import { MAX_SOURCE_BYTES, MAX_SOURCE_SIDE } from './sourceFile';
import type { KindSources, MaskChoice } from './useKindSources';
import type { ImageFile } from './useImageFile';

interface Size {
  width: number;
  height: number;
}

/** A file input that also takes a dropped file, with what it holds and why a file was refused. */
function ImagePicker({ file, name, label }: { file: ImageFile; name: string; label: string }) {
  const [over, setOver] = useState(false);
  const drop = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setOver(false);
    file.pick(e.dataTransfer.files[0]);
  };
  const drag = (e: DragEvent<HTMLDivElement>): void => {
    e.preventDefault();
    setOver(true);
  };
  return (
    <div className={over ? 'drop-zone over' : 'drop-zone'} onDragOver={drag} onDragLeave={() => setOver(false)} onDrop={drop}>
      <label>
        <span>{label}</span>
        <input
          type="file"
          name={name}
          accept="image/webp,image/png,image/jpeg"
          onChange={(e) => {
            file.pick(e.target.files?.[0]);
            e.target.value = '';
          }}
        />
      </label>
      <small className="muted">
        …or drop it here. WebP, PNG or JPEG, up to {MAX_SOURCE_BYTES / (1024 * 1024)} MB and {MAX_SOURCE_SIDE} pixels a side.
        {file.reading && ' Reading…'}
        {file.image && ` ${file.image.name}: ${file.image.width}×${file.image.height}.`}
      </small>
      {file.error && (
        <small className="error" data-testid={`${name}-error`}>
          {file.error}
        </small>
      )}
    </div>
  );
}

const MASK_CHOICES: [MaskChoice, string][] = [
  ['paint', 'Paint it on the image'],
  ['alpha', "Use the image's transparency"],
  ['file', 'A mask file (white repaints, black keeps)'],
];

/** Where the inpainting mask comes from, and the brush or the mask file. */
function MaskFields({ sources }: { sources: KindSources }) {
  const { source, maskChoice, setMaskChoice } = sources;
  return (
    <fieldset className="kinds" data-testid="mask-choice">
      <legend>Area to repaint</legend>
      {MASK_CHOICES.map(([choice, label]) => (
        <label key={choice} className="check">
          <input type="radio" name="mask_choice" value={choice} checked={maskChoice === choice} onChange={() => setMaskChoice(choice)} />{' '}
          {label}
        </label>
      ))}
      {maskChoice === 'paint' && source.image && <MaskPainter source={source.image} canvasRef={sources.overlay} />}
      {maskChoice === 'alpha' && (
        <small className="muted">The transparent pixels of the source image are repainted; the opaque ones are kept.</small>
      )}
      {maskChoice === 'file' && <ImagePicker file={sources.maskFile} name="source_mask" label="Mask file" />}
      {maskChoice === 'file' && sources.maskFile.image && <img className="source-preview" src={sources.maskFile.image.url} alt="mask" />}
    </fieldset>
  );
}

/** The source image (picker, drop, preview) and what the chosen kind does with it: a mask, or a border. */
export function SourceFields({ mode, sources, size }: { mode: SourceProcessing; sources: KindSources; size: Size }) {
  if (mode === 'txt2img') return null;
  const { source } = sources;
  return (
    <div className="source-fields" data-testid="source-fields">
      <ImagePicker file={source} name="source_image" label="Source image" />
      <small className="muted" data-testid="source-scale">
        {mode === 'outpainting' ? 'The padded image' : 'The source'} is scaled by the app to the chosen size, {size.width}×{size.height}, as
        a horde worker does.
      </small>
      {source.image && mode === 'img2img' && <img className="source-preview" src={source.image.url} alt="source" />}
      {source.image && mode === 'outpainting' && <OutpaintFields source={source.image} sources={sources} size={size} />}
      {mode === 'inpainting' && <MaskFields sources={sources} />}
    </div>
  );
}
