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

/**
 * How a session spends memory (ONNX Runtime's knobs): `cpuArena` = the CPU allocator keeps freed blocks for reuse
 * (`enableCpuMemArena`), `memPattern` = one block per run planned from the first run's shapes (`enableMemPattern`),
 * `prepacking` = weights copied once into the MLAS kernels' layout (`session.disable_prepacking` when false).
 */
export interface SessionMemory {
  cpuArena: boolean;
  memPattern: boolean;
  prepacking: boolean;
}

/**
 * The settings each provider runs with, from the full-size measurements in docs/memory.md. On the CPU the arena
 * stays on and memory patterns off: without the arena every run's freed blocks fragment the heap and the peaks rise
 * (the UNet at 512²: 4.17 GB without, 3.74 GB with; the VAE decoder at 256²: 1.15 GB without, 0.56 GB with), while
 * memory patterns only add (the UNet: 3.90 GB with both). What an arena keeps after a run is given back by releasing
 * its session, which the pipeline does where memory is tight (memoryPlan.ts). Prepacking stays on. DirectML wants
 * sequential execution without memory patterns (SD-ONNX §4.2). The GPU providers keep ONNX Runtime's defaults:
 * these options govern the CPU-side allocator, and their effect on a GPU has not been measured.
 */
export function sessionMemoryFor(provider: ExecutionProvider): SessionMemory {
  if (provider === 'cpu') return { cpuArena: true, memPattern: false, prepacking: true };
  if (provider === 'dml') return { cpuArena: true, memPattern: false, prepacking: true };
  return { cpuArena: true, memPattern: true, prepacking: true };
}

/**
 * `HORDEDESK_ORT_MEMORY` (e.g. `arena=on,pattern=off,prepack=on`) overrides the provider's settings one knob at a
 * time; the full-size bench measures each option this way, and a user can try one without a rebuild.
 */
export function sessionMemoryOverride(base: SessionMemory, spec: string | undefined): SessionMemory {
  const out = { ...base };
  const keys: Record<string, keyof SessionMemory> = { arena: 'cpuArena', pattern: 'memPattern', prepack: 'prepacking' };
  for (const part of (spec ?? '').split(',').filter((p) => p.trim())) {
    const [name, value] = part.split('=').map((x) => x.trim());
    const key = keys[name ?? ''];
    if (!key || (value !== 'on' && value !== 'off')) throw new Error(`HORDEDESK_ORT_MEMORY: cannot read "${part}" (e.g. arena=off)`);
    out[key] = value === 'on';
  }
  return out;
}

/** The session options for `provider`: full graph optimisation and its memory settings. */
export function sessionOptions(provider: ExecutionProvider): ort.InferenceSession.SessionOptions {
  const memory = sessionMemoryOverride(sessionMemoryFor(provider), process.env.HORDEDESK_ORT_MEMORY);
  return {
    executionProviders: [provider],
    graphOptimizationLevel: 'all',
    enableCpuMemArena: memory.cpuArena,
    enableMemPattern: memory.memPattern,
    ...(provider === 'dml' ? { executionMode: 'sequential' as const } : {}),
    ...(memory.prepacking ? {} : { extra: { session: { disable_prepacking: '1' } } }),
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
