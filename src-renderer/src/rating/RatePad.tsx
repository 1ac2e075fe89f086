import type { MouseEvent } from 'react';
import { AESTHETIC_SCALE, ARTIFACT_SCALE } from './ratingKeys';

interface Props {
  selected: number | null;
  disabled: boolean;
  onSelect: (rating: number) => void;
  onArtifacts: (artifacts: number | null) => void;
  onUndo: () => void;
  onSkip: () => void;
}

/**
 * A mouse click leaves focus on the button, where Enter and Space would press it again instead
 * of reaching the keyboard scheme; so a pointer click gives focus back (keyboard presses keep it).
 */
const release = (e: MouseEvent<HTMLButtonElement>): void => {
  if (e.detail > 0) e.currentTarget.blur();
};

/** The same actions as the keys, for the mouse: pick a rating, then artifacts (or none). */
export function RatePad({ selected, disabled, onSelect, onArtifacts, onUndo, onSkip }: Props) {
  return (
    <div className="rate-pad">
      <div className="rate-pad-row" role="group" aria-label="Rating, 1 to 10">
        <span className="rate-pad-label">
          Rating <strong data-testid="rate-selected">{selected ?? '–'}</strong>
        </span>
        {AESTHETIC_SCALE.map((s) => (
          <button
            key={s.value}
            className={s.value === selected ? 'rate-choice chosen' : 'rate-choice'}
            title={`${s.value}: ${s.label} (key ${s.key})`}
            aria-pressed={s.value === selected}
            disabled={disabled}
            onClick={(e) => {
              release(e);
              onSelect(s.value);
            }}
          >
            {s.value}
          </button>
        ))}
      </div>
      <div className="rate-pad-row" role="group" aria-label="Artifacts, 0 to 5">
        <span className="rate-pad-label">Artifacts</span>
        {ARTIFACT_SCALE.map((a) => (
          <button
            key={a.value}
            className="rate-choice"
            title={`${a.value}: ${a.label} (key ${a.key})`}
            disabled={disabled || selected === null}
            onClick={(e) => {
              release(e);
              onArtifacts(a.value);
            }}
          >
            {a.value} <small>{a.short}</small>
          </button>
        ))}
        <button
          className="rate-choice"
          title="Send the rating without an artifacts level (Enter)"
          disabled={disabled || selected === null}
          onClick={(e) => {
            release(e);
            onArtifacts(null);
          }}
        >
          No artifacts
        </button>
        <span className="rate-pad-spacer" />
        <button
          onClick={(e) => {
            release(e);
            onUndo();
          }}
          title="Undo the last rating (Backspace)"
        >
          Undo
        </button>
        <button
          disabled={disabled}
          onClick={(e) => {
            release(e);
            onSkip();
          }}
          title="Skip this image (S)"
        >
          Skip
        </button>
      </div>
    </div>
  );
}
