import { useCallback, useState } from 'react';
import type { CommandRequest, GenerationOutcome } from '../../../src-main/common/contract';
import type { InferenceProgress } from '../../../src-main/common/inference';
import { useBridge, useEvent } from '../bridge/BridgeContext';

/** One generation at a time from the Generate page: its progress, its outcome, or why it failed. */
export interface Generation {
  /** The last step reported; null until the first one of a run. */
  progress: InferenceProgress | null;
  /** The job being run, known from its first progress event (needed to cancel it). */
  jobId: string | null;
  running: boolean;
  outcome: GenerationOutcome | null;
  /** What went wrong last, in the backend's words; '' when fine. */
  error: string;
  setError: (message: string) => void;
  generate: (request: CommandRequest<'inference.generate'>) => void;
  cancel: () => void;
}

/** Runs `inference.generate` and follows its `inference.progress` events. */
export function useGeneration(): Generation {
  const bridge = useBridge();
  const [progress, setProgress] = useState<InferenceProgress | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<GenerationOutcome | null>(null);
  const [error, setError] = useState('');

  useEvent(
    'inference.progress',
    useCallback((p: InferenceProgress) => {
      setProgress(p);
      setJobId(p.jobId);
    }, []),
  );

  const generate = (request: CommandRequest<'inference.generate'>): void => {
    setError('');
    setRunning(true);
    setProgress(null);
    bridge
      .invoke('inference.generate', request)
      .then(setOutcome)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => {
        setRunning(false);
        setJobId(null);
      });
  };
  const cancel = (): void => {
    if (jobId !== null) void bridge.invoke('inference.cancel', { jobId });
  };
  return { progress, jobId, running, outcome, error, setError, generate, cancel };
}
