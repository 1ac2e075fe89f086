import type { KudosReconcile } from '../../../src-main/common/kudosViews';
import { formatKudos } from '../components/format';
import { NoteList } from '../components/NoteList';

const cell = (n: number | null, missing: string) =>
  n === null ? (
    <span className="muted" title={missing}>
      —
    </span>
  ) : (
    formatKudos(n)
  );

/** HordeDesk's ledger next to the horde's own numbers, with why they differ. */
export function KudosReconcileTable({ reconcile }: { reconcile: KudosReconcile }) {
  return (
    <div data-testid="kudos-reconcile">
      {!reconcile.available && (
        <p className="error" data-testid="kudos-reconcile-message">
          {reconcile.message ?? 'The horde could not be asked.'}
        </p>
      )}
      <table>
        <caption className="muted" style={{ textAlign: 'left', captionSide: 'bottom', paddingTop: 6 }}>
          Checked {new Date(reconcile.checkedAt).toLocaleString()}
        </caption>
        <thead>
          <tr>
            <th scope="col">What</th>
            <th scope="col">HordeDesk&apos;s ledger</th>
            <th scope="col">The horde says</th>
            <th scope="col">Why they can differ</th>
          </tr>
        </thead>
        <tbody>
          {reconcile.rows.map((r) => (
            <tr key={r.label} data-testid="kudos-reconcile-row">
              <th scope="row">{r.label}</th>
              <td>{cell(r.local, 'The ledger does not track this')}</td>
              <td>{cell(r.horde, 'The horde did not say')}</td>
              <td>{r.explanation}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <NoteList notes={reconcile.notes} className="muted" />
    </div>
  );
}
