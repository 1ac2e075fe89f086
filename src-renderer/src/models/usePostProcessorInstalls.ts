import { useCallback, useState } from 'react';
import type { PostProcessorCatalogDto } from '../../../src-main/common/contract';
import { useBridge, useEvent, type CommandState } from '../bridge/BridgeContext';
import type { InstallProgress, ModelInstalls } from './useModelInstalls';

/**
 * The post-processors' Install, Cancel and Delete (`postprocess.*`), with the same progress events as the
 * models' (`models.progress`, by name: the horde's post-processor names never clash with its model names).
 */
export function usePostProcessorInstalls(catalog: CommandState<PostProcessorCatalogDto>): ModelInstalls {
  const bridge = useBridge();
  const [error, setError] = useState('');
  const [progress, setProgress] = useState<Record<string, InstallProgress>>({});
  const [confirming, setConfirming] = useState<string | null>(null);
  const names = new Set((catalog.data?.entries ?? []).map((e) => e.name));
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
  const fail = (e: unknown): void => setError(e instanceof Error ? e.message : String(e));
  return {
    error,
    progress: Object.fromEntries(Object.entries(progress).filter(([name]) => names.has(name))),
    confirming,
    setConfirming,
    install(name, allowUnverified = false) {
      setError('');
      setConfirming(null);
      void bridge.invoke('postprocess.install', { name, allowUnverified }).catch(fail);
    },
    cancel: (name) => void bridge.invoke('postprocess.cancelInstall', { name }),
    remove(name) {
      setError('');
      bridge.invoke('postprocess.delete', { name }).then(catalog.set).catch(fail);
    },
  };
}
