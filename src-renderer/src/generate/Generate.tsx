import type { GenerationOutcome } from '../../../src-main/common/contract';
import { PROVIDER_NAMES } from '../components/format';
import { GenerateForm } from './GenerateForm';
import { kindSummary } from './kinds';
import { useGeneration, type Asked } from './useGeneration';

/** The images of the last run, the kind it ran as, where it ran (and why not on the GPU), and how long it took. */
function GenerateResult({ outcome, asked }: { outcome: GenerationOutcome | null; asked: Asked | null }) {
  return (
    <section className="card" data-testid="generate-result">
      <h2>Result</h2>
      {!outcome && <p className="muted">Images appear here.</p>}
      {outcome && (
        <>
          <p data-testid="ran-kind">
            Kind: <strong>{kindSummary(outcome, asked?.params ?? {}, asked?.note)}</strong>
          </p>
          {outcome.postProcessed.length > 0 && (
            <p data-testid="post-processed">
              Upscaled by <strong>{outcome.postProcessed.join(', ')}</strong>, as the horde&apos;s worker runs it after generation
            </p>
          )}
          <p data-testid="provider">
            Ran on <strong>{PROVIDER_NAMES[outcome.provider.provider]}</strong>
            {outcome.provider.fallbackReason && <span className="muted"> (not the GPU: {outcome.provider.fallbackReason})</span>}
          </p>
          <div className="images">
            {outcome.images.map((img) => (
              <figure key={img.seed}>
                <img src={img.dataUrl} width={img.width} height={img.height} alt={`seed ${img.seed}`} data-testid="generated-image" />
                <figcaption className="muted">seed {img.seed}</figcaption>
              </figure>
            ))}
          </div>
          <p className="muted" data-testid="timing">
            {(outcome.stats.wallMs / 1000).toFixed(2)} s in all · {outcome.stats.meanStepMs.toFixed(1)} ms per step · {outcome.stats.runs}{' '}
            ONNX Runtime runs
          </p>
          {outcome.warnings.map((w) => (
            <p key={w} className="notes">
              {w}
            </p>
          ))}
        </>
      )}
    </section>
  );
}

/** Try the engine before joining the horde: every request kind a worker serves, with per-step progress. */
export function Generate() {
  const generation = useGeneration();
  return (
    <div className="grid">
      <GenerateForm generation={generation} />
      <GenerateResult outcome={generation.outcome} asked={generation.asked} />
    </div>
  );
}
