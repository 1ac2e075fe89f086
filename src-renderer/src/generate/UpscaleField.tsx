import { NO_UPSCALE, upscaledSize, type UpscaleOption } from './upscale';

/**
 * The Upscale choice: none, or one of the installed post-processors, run on each image after generation as the
 * horde's worker runs a job's post_processing (the same tiling and 8-bit rounding), with the size it comes out at.
 */
export function UpscaleField({
  options,
  choice,
  onChoose,
  size,
}: {
  options: readonly UpscaleOption[];
  choice: string;
  onChoose: (name: string) => void;
  size: { width: number; height: number };
}) {
  const after = upscaledSize(choice, options, size);
  return (
    <label>
      <span>Upscale</span>
      <select name="upscale" value={choice} onChange={(e) => onChoose(e.target.value)} disabled={options.length === 0}>
        <option value={NO_UPSCALE}>None</option>
        {options.map((o) => (
          <option key={o.name} value={o.name}>
            {o.label}
          </option>
        ))}
      </select>
      {options.length === 0 ? (
        <small className="muted" data-testid="upscale-none">
          No upscaler installed: the Models page installs the horde&apos;s upscalers (post-processors).
        </small>
      ) : (
        after && (
          <small className="muted" data-testid="upscale-size">
            Each image: {after}
          </small>
        )
      )}
    </label>
  );
}
