import { useCallback, useState } from 'react';
import type { CatalogDto, EventPayload } from '../../../src-main/common/contract';
import { useBridge, useEvent, type CommandState } from '../bridge/BridgeContext';

/** One model's install as the backend reports it (downloading, converting, done, cancelled…). */
export type InstallProgress = EventPayload<'models.progress'>;

/** Install, cancel and delete on the Models page, and where each install stands. */
export interface ModelInstalls {
  /** Why the last install or delete failed; '' when fine. */
  error: string;
  /** The last progress event per model name. */
  progress: Record<string, InstallProgress>;
  /** The model whose "cannot be verified" warning is open, waiting for Install anyway or Cancel. */
  confirming: string | null;
  setConfirming: (name: string | null) => void;
  install: (name: string, allowUnverified?: boolean) => void;
  cancel: (name: string) => void;
  remove: (name: string) => void;
}

/** Follows `models.progress` (reloading the catalog when an install is done) and runs the model commands. */
export function useModelInstalls(catalog: CommandState<CatalogDto>): ModelInstalls {
  const bridge = useBridge();
  const [error, setError] = useState('');
  const [progress, setProgress] = useState<Record<string, InstallProgress>>({});
  const [confirming, setConfirming] = useState<string | null>(null);
  useEvent(
    'models.progress',
    useCallback(
      (p: InstallProgress) => {
        setProgress((all) => ({ ...all, [p.name]: p }));
        if (p.phase === 'done') catalog.reload();
      },
      [catalog.reload],
    ),
  );
  const install = (name: string, allowUnverified = false): void => {
    setError('');
    setConfirming(null);
    void bridge
      .invoke('models.install', { name, allowUnverified })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  const cancel = (name: string): void => void bridge.invoke('models.cancelInstall', { name });
  const remove = (name: string): void => {
    setError('');
    bridge
      .invoke('models.delete', { name })
      .then(catalog.set)
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  };
  return { error, progress, confirming, setConfirming, install, cancel, remove };
}
