import { layoutProblem, MAX_BORDER, outpaintLayout, stretchNote, type PadLayout } from './outpaint';
import type { PickedImage } from './useImageFile';
import type { KindSources } from './useKindSources';

interface Size {
  width: number;
  height: number;
}

const SIDES = ['top', 'right', 'bottom', 'left'] as const;

/** The padded image as it will be sent: the source where the layout puts it, a checkerboard where it is transparent. */
function PaddedPreview({ source, layout }: { source: PickedImage; layout: PadLayout }) {
  const pct = (n: number, of: number): string => `${(100 * n) / of}%`;
  return (
    <div className="padded-preview" style={{ aspectRatio: `${layout.width} / ${layout.height}` }} data-testid="padded-preview">
      <img
        src={source.url}
        alt="source in its border"
        style={{
          left: pct(layout.x, layout.width),
          top: pct(layout.y, layout.height),
          width: pct(layout.drawWidth, layout.width),
          height: pct(layout.drawHeight, layout.height),
        }}
      />
    </div>
  );
}

/** The outpainting border: pixels per side or the chosen size, what the padded image will be, and a preview of it. */
export function OutpaintFields({ source, sources, size }: { source: PickedImage; sources: KindSources; size: Size }) {
  const { border, sides, setSides, setBorderKind } = sources;
  const layout = outpaintLayout(source, border, size);
  const problem = layoutProblem(layout);
  const stretch = stretchNote(layout, size);
  return (
    <fieldset className="kinds" data-testid="outpaint-border">
      <legend>Border to paint (sent transparent)</legend>
      <label className="check">
        <input type="radio" name="border_kind" checked={border.kind === 'sides'} onChange={() => setBorderKind('sides')} /> Pixels per side
      </label>
      {border.kind === 'sides' && (
        <div className="row">
          {SIDES.map((side) => (
            <label key={side}>
              <span>{side[0]?.toUpperCase() + side.slice(1)}</span>
              <input
                type="number"
                name={`border_${side}`}
                min={0}
                max={MAX_BORDER}
                step={8}
                value={sides[side]}
                onChange={(e) => setSides({ ...sides, [side]: Number(e.target.value) })}
              />
            </label>
          ))}
        </div>
      )}
      <label className="check">
        <input type="radio" name="border_kind" checked={border.kind === 'fit'} onChange={() => setBorderKind('fit')} /> Expand to the chosen
        size ({size.width}×{size.height}), the image centred
      </label>
      <small className="muted" data-testid="padded-size">
        Padded image: {layout.width}×{layout.height}, the source at {layout.drawWidth}×{layout.drawHeight} from ({layout.x}, {layout.y}).
      </small>
      {stretch && <small className="notes">{stretch}</small>}
      {problem && <small className="error">{problem}</small>}
      <PaddedPreview source={source} layout={layout} />
    </fieldset>
  );
}
