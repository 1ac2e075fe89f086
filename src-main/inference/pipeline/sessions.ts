import * as ort from 'onnxruntime-node';
import type { ExecutionProvider } from '../../common/hardware';
import type { ProviderStatus } from '../../common/inference';
import { ModelFormatError } from './tensors';

/** Sums the time spent inside ONNX Runtime, for the pipeline overhead ratio (bench). */
export interface RunClock {
  runMs: number;
  runs: number;
}

/** A session plus the clock every run is timed on. */
export interface TimedSession {
  session: ort.InferenceSession;
  run(feeds: Record<string, ort.Tensor>): Promise<ort.InferenceSession.ReturnType>;
  release(): Promise<void>;
}

function sessionOptions(provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    // DirectML wants sequential execution without memory patterns (SD-ONNX §4.2).
    ...(provider === 'dml' ? { enableMemPattern: false, executionMode: 'sequential' as const } : {}),
  };
}

/** Opens a model file on one provider; timing goes to `clock`. */
export async function openSession(path: string, provider: ExecutionProvider, clock: RunClock): Promise<TimedSession> {
  let session: ort.InferenceSession;
  try {
    session = await ort.InferenceSession.create(path, sessionOptions(provider));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (/protobuf|parse|invalid|load model/i.test(reason) && provider === 'cpu') {
      throw new ModelFormatError(`${path} is not a model ONNX Runtime can load: ${reason}`, { cause: error });
    }
    throw error;
  }
  return {
    session,
    async run(feeds) {
      const start = performance.now();
      try {
        return await session.run(feeds);
      } finally {
        clock.runMs += performance.now() - start;
        clock.runs += 1;
      }
    },
    release: () => session.release(),
  };
}

/**
 * Picks the first provider that can really open `probePath` (a small component), in the order of
 * the capability profile; CPU is the last resort. The reason for every skipped provider is kept
 * so the UI can say why the GPU is not used.
 */
export async function chooseProvider(
  probePath: string,
  preferred: readonly ExecutionProvider[],
  log: (message: string) => void,
): Promise<ProviderStatus> {
  const order = [...preferred.filter((p) => p !== 'cpu'), 'cpu' as const];
  const reasons: string[] = [];
  for (const provider of order) {
    try {
      // Fatal-only logging: a provider that cannot load is expected here, and its reason is kept below.
      const probe = await ort.InferenceSession.create(probePath, { ...sessionOptions(provider), logSeverityLevel: 4 });
      await probe.release();
      if (reasons.length) log(`using ${provider}; skipped: ${reasons.join('; ')}`);
      return { provider, fallbackReason: reasons.length ? reasons.join('; ') : null };
    } catch (error) {
      const reason = `${provider}: ${(error instanceof Error ? error.message : String(error)).split('\n')[0]}`;
      if (provider === 'cpu')
        throw new ModelFormatError(`ONNX Runtime cannot open ${probePath} even on the CPU (${reason}).`, { cause: error });
      reasons.push(reason);
    }
  }
  throw new Error('unreachable: the CPU provider is always tried');
}
