import { useCallback, useState } from 'react';
import type { WorkerStatusDto } from '../../../src-main/common/contract';
import { useCommand, useEvent } from '../bridge/BridgeContext';
import { PagedTable } from '../components/PagedTable';

const PAGE = 50;
const COLUMNS = ['Finished', 'Job', 'Model', 'Size', 'Sampler', 'Result', 'Kudos'];

/** The worker's job log: the last 1,000 jobs, newest first. */
export function History() {
  const [offset, setOffset] = useState(0);
  const history = useCommand('jobs.history', { limit: PAGE, offset });
  const [lastDone, setLastDone] = useState(-1);
  // Refresh when a job finishes.
  useEvent(
    'worker.status',
    useCallback(
      (s: WorkerStatusDto) => {
        const done = s.stats.jobsDone + s.stats.jobsFaulted + s.stats.jobsDropped;
        if (done !== lastDone) {
          setLastDone(done);
          history.reload();
        }
      },
      [lastDone, history.reload],
    ),
  );
  const h = history.data;
  return (
    <section className="card" data-testid="history">
      <h2>Job history</h2>
      {!h || h.total === 0 ? (
        <p className="muted">No jobs yet. Start the worker on the Dashboard.</p>
      ) : (
        <PagedTable columns={COLUMNS} page={{ offset, pageSize: PAGE, total: h.total, onChange: setOffset }}>
          {h.jobs.map((j) => (
            <tr key={j.jobId} data-testid="history-row" className={j.state === 'ok' ? '' : 'error'}>
              <td>{new Date(j.finishedAt).toLocaleTimeString()}</td>
              <td title={j.jobId}>{j.jobId.slice(0, 8)}</td>
              <td>{j.model}</td>
              <td>
                {j.width}×{j.height}, {j.steps} steps
              </td>
              <td>{j.sampler}</td>
              <td title={j.reason ?? ''}>{j.state === 'ok' ? 'submitted' : `${j.state}: ${j.reason ?? ''}`}</td>
              <td>{j.reward.toFixed(2)}</td>
            </tr>
          ))}
        </PagedTable>
      )}
    </section>
  );
}
