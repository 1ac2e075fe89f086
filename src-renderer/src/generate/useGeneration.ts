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
  /** The request behind the outcome and where its source came from, for the result's kind line. */
  asked: Asked | null;
  /** What went wrong last, in the backend's words; '' when fine. */
  error: string;
  setError: (message: string) => void;
  /** Sends the request; `note` says where its source came from, shown with its outcome. */
  generate: (request: CommandRequest<'inference.generate'>, note: string) => void;
  cancel: () => void;
}

/** A request as the page sent it, and a note on where its source image and mask came from. */
export interface Asked {
  params: CommandRequest<'inference.generate'>['params'];
  note: string;
}

/** Runs `inference.generate` and follows its `inference.progress` events. */
export function useGeneration(): Generation {
  const bridge = useBridge();
  const [progress, setProgress] = useState<InferenceProgress | null>(null);
  const [jobId, setJobId] = useState<string | null>(null);
  const [running, setRunning] = useState(false);
  const [outcome, setOutcome] = useState<GenerationOutcome | null>(null);
  const [asked, setAsked] = useState<Asked | null>(null);
  const [error, setError] = useState('');

  useEvent(
    'inference.progress',
    useCallback((p: InferenceProgress) => {
      setProgress(p);
      setJobId(p.jobId);
    }, []),
  );

  const generate = (request: CommandRequest<'inference.generate'>, note: string): void => {
    setError('');
    setRunning(true);
    setProgress(null);
    bridge
      .invoke('inference.generate', request)
      .then((value) => {
        setOutcome(value);
        setAsked({ params: request.params, note });
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)))
      .finally(() => {
        setRunning(false);
        setJobId(null);
      });
  };
  const cancel = (): void => {
    if (jobId !== null) void bridge.invoke('inference.cancel', { jobId });
  };
  return { progress, jobId, running, outcome, asked, error, setError, generate, cancel };
}
