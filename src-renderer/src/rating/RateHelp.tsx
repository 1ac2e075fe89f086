import type { ReactNode } from 'react';
import { AESTHETIC_QUESTION, AESTHETIC_SCALE, ARTIFACT_QUESTION, ARTIFACT_SCALE, KEY_HELP } from './ratingKeys';

/** The compact legend under the image: both scales and the keys, always in view. */
export function RateLegend({ onHelp }: { onHelp: () => void }) {
  return (
    <div className="rate-legend" data-testid="rate-legend">
      <span>
        <kbd>1</kbd>–<kbd>9</kbd>, <kbd>0</kbd>=10 rating (1 awful · 5 middling · 10 outstanding)
      </span>
      <span>
        then artifacts{' '}
        {ARTIFACT_SCALE.map((a) => (
          <span key={a.value} title={a.label}>
            <kbd>{a.key}</kbd>={a.value}{' '}
          </span>
        ))}
        (0 flawless · 5 garbage) or <kbd>Enter</kbd> for none
      </span>
      <span>
        <kbd>⌫</kbd> undo · <kbd>S</kbd> skip ·{' '}
        <button className="link" onClick={onHelp}>
          <kbd>?</kbd> all keys and scales
        </button>
      </span>
    </div>
  );
}

/** One row per key: the key, then what it stands for (one cell each). */
interface KeyRow {
  id: string | number;
  key: string;
  cells: readonly ReactNode[];
}

/** A table of keys, the key first in each row as it is printed on the keyboard. */
function KeyTable({ rows }: { rows: readonly KeyRow[] }) {
  return (
    <table>
      <tbody>
        {rows.map((r) => (
          <tr key={r.id}>
            <td>
              <kbd>{r.key}</kbd>
            </td>
            {r.cells.map((cell, i) => (
              <td key={i}>{cell}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** The full help: what each score means and every key. Opened with ? or H. */
export function RateHelp({ onClose }: { onClose: () => void }) {
  return (
    <div className="rate-help-backdrop" onClick={onClose}>
      <div
        className="card rate-help"
        role="dialog"
        aria-modal="true"
        aria-labelledby="rate-help-title"
        data-testid="rate-help"
        onClick={(e) => e.stopPropagation()}
      >
        <header>
          <h2 id="rate-help-title">How to rate</h2>
          <button aria-label="Close the help" onClick={onClose}>
            ×
          </button>
        </header>
        <div className="rate-help-columns">
          <div>
            <h3>Rating, 1 to 10</h3>
            <p className="muted">{AESTHETIC_QUESTION}</p>
            <KeyTable rows={AESTHETIC_SCALE.map((s) => ({ id: s.value, key: s.key, cells: [s.value, s.label] }))} />
          </div>
          <div>
            <h3>Artifacts, 0 to 5 (optional)</h3>
            <p className="muted">{ARTIFACT_QUESTION}</p>
            <KeyTable
              rows={ARTIFACT_SCALE.map((s) => ({
                id: s.value,
                key: s.key,
                cells: [
                  s.value,
                  <>
                    <strong>{s.short}</strong>: {s.label}
                  </>,
                ],
              }))}
            />
            <h3>Keys</h3>
            <KeyTable rows={KEY_HELP.map((k) => ({ id: k.keys, key: k.keys, cells: [k.does] }))} />
          </div>
        </div>
        <p className="muted">
          Check images carry an instruction above the picture (for example, which score to give). Follow it exactly: they show the ratings
          service that a person is paying attention, and it is never filled in for you.
        </p>
      </div>
    </div>
  );
}
