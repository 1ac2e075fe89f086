import type { ButtonHTMLAttributes, MouseEvent } from 'react';
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

/** A pad button: `onPress` runs after a pointer click has handed the focus back (see `release`). */
function PadButton({ onPress, ...button }: Omit<ButtonHTMLAttributes<HTMLButtonElement>, 'onClick'> & { onPress: () => void }) {
  return (
    <button
      {...button}
      onClick={(e) => {
        release(e);
        onPress();
      }}
    />
  );
}

/** The same actions as the keys, for the mouse: pick a rating, then artifacts (or none). */
export function RatePad({ selected, disabled, onSelect, onArtifacts, onUndo, onSkip }: Props) {
  return (
    <div className="rate-pad">
      <div className="rate-pad-row" role="group" aria-label="Rating, 1 to 10">
        <span className="rate-pad-label">
          Rating <strong data-testid="rate-selected">{selected ?? '–'}</strong>
        </span>
        {AESTHETIC_SCALE.map((s) => (
          <PadButton
            key={s.value}
            className={s.value === selected ? 'rate-choice chosen' : 'rate-choice'}
            title={`${s.value}: ${s.label} (key ${s.key})`}
            aria-pressed={s.value === selected}
            disabled={disabled}
            onPress={() => onSelect(s.value)}
          >
            {s.value}
          </PadButton>
        ))}
      </div>
      <div className="rate-pad-row" role="group" aria-label="Artifacts, 0 to 5">
        <span className="rate-pad-label">Artifacts</span>
        {ARTIFACT_SCALE.map((a) => (
          <PadButton
            key={a.value}
            className="rate-choice"
            title={`${a.value}: ${a.label} (key ${a.key})`}
            disabled={disabled || selected === null}
            onPress={() => onArtifacts(a.value)}
          >
            {a.value} <small>{a.short}</small>
          </PadButton>
        ))}
        <PadButton
          className="rate-choice"
          title="Send the rating without an artifacts level (Enter)"
          disabled={disabled || selected === null}
          onPress={() => onArtifacts(null)}
        >
          No artifacts
        </PadButton>
        <span className="rate-pad-spacer" />
        <PadButton onPress={onUndo} title="Undo the last rating (Backspace)">
          Undo
        </PadButton>
        <PadButton disabled={disabled} onPress={onSkip} title="Skip this image (S)">
          Skip
        </PadButton>
      </div>
    </div>
  );
}
