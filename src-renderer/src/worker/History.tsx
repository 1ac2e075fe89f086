import { useCallback, useState } from 'react';
import type { JobRecordDto, WorkerStatusDto } from '../../../src-main/common/contract';
import { useCommand, useEvent } from '../bridge/BridgeContext';
import { PagedTable } from '../components/PagedTable';

const PAGE = 50;
const COLUMNS = ['Finished', 'Job', 'Model', 'Size', 'Sampler', 'Result', 'Kudos'];

/** What the safety check did, as the Result column adds it. The image of a CSAM hit is never kept, here or anywhere. */
const CENSORSHIP_WORDS: Record<NonNullable<JobRecordDto['censorship']>, { text: string; title: string }> = {
  nsfw: {
    text: 'censored (NSFW)',
    title: 'The safety check found NSFW the request or this worker does not allow; a placeholder was sent.',
  },
  csam: {
    text: 'withheld (possible CSAM)',
    title:
      'The safety check flagged the image as possible CSAM; it was replaced and never left this machine, as the horde’s own worker does.',
  },
};

/** The Result cell: what became of the job, and what the safety check replaced. */
function Result({ job }: { job: JobRecordDto }) {
  const mark = job.censorship ? CENSORSHIP_WORDS[job.censorship] : null;
  return (
    <td title={job.reason ?? mark?.title ?? ''}>
      {job.state === 'ok' ? 'submitted' : `${job.state}: ${job.reason ?? ''}`}
      {mark && (
        <>
          {' · '}
          <span className="censored" data-testid="history-censorship" title={mark.title}>
            {mark.text}
          </span>
        </>
      )}
    </td>
  );
}

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
                {j.kind && j.kind !== 'txt2img' && <span data-testid="history-kind">, {j.kind.split('+').join(' + ')}</span>}
                {j.postProcessing && (
                  <span
                    data-testid="history-post-processing"
                    title="Post-processors that ran on the images, in order, before the safety check"
                  >
                    , then {j.postProcessing.split('+').join(' + ')}
                  </span>
                )}
                {j.addons && (
                  <span data-testid="history-addons" title="LoRAs and textual inversions the job used (merged into the model's weights)">
                    , with {j.addons}
                  </span>
                )}
              </td>
              <td>{j.sampler}</td>
              <Result job={j} />
              <td>{j.reward.toFixed(2)}</td>
            </tr>
          ))}
        </PagedTable>
      )}
    </section>
  );
}
