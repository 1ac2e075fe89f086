import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import si from 'systeminformation';
import type { CapabilityProfile } from '../../common/hardware';
import { buildCapabilityProfile, hardwareFactsFromSystemInformation, NVIDIA_SMI_ARGS } from '../../core/hardware';

/** Options for hardware detection. */
export interface DetectCapabilityOptions {
  /** Ask nvidia-smi for NVIDIA memory and driver figures (default true; never run on macOS). */
  runNvidiaSmi?: boolean;
}

const NVIDIA_SMI_TIMEOUT_MS = 5_000;
const MIB = 1024 * 1024;

/**
 * Detects this machine's hardware with systeminformation (and nvidia-smi where present) and builds its
 * capability profile. Rejects only when systeminformation itself fails; see `detectCapabilityProfileSafely`.
 */
export async function detectCapabilityProfile(opts: DetectCapabilityOptions = {}): Promise<CapabilityProfile> {
  const wantSmi = opts.runNvidiaSmi !== false && process.platform !== 'darwin';
  const [graphics, osInfo, cpu, mem, smi] = await Promise.all([
    si.graphics(),
    si.osInfo(),
    si.cpu(),
    si.mem(),
    wantSmi ? runNvidiaSmi() : Promise.resolve<SmiRun>({}),
  ]);
  const facts = hardwareFactsFromSystemInformation(
    // si's typings promise GraphicsData, but it resolves null on platforms it cannot read.
    { graphics: graphics ?? null, osInfo, cpu, mem },
    { detectedAt: new Date().toISOString(), nvidiaSmi: smi.stdout, cudaLibrariesInstalled: onnxCudaLibrariesInstalled() },
  );
  const profile = buildCapabilityProfile(facts);
  return smi.note ? { ...profile, notes: [smi.note, ...profile.notes] } : profile;
}

/**
 * Like `detectCapabilityProfile`, but never rejects: when systeminformation fails it returns a CPU-only
 * profile built from Node's own `os` figures, with a note saying why. Safe to call at startup and cache.
 */
export async function detectCapabilityProfileSafely(opts: DetectCapabilityOptions = {}): Promise<CapabilityProfile> {
  try {
    return await detectCapabilityProfile(opts);
  } catch (error) {
    return cpuOnlyProfile(error);
  }
}

function cpuOnlyProfile(error: unknown): CapabilityProfile {
  const profile = buildCapabilityProfile({
    platform: process.platform,
    arch: process.arch,
    release: os.release(),
    cpuBrand: os.cpus()[0]?.model.trim() || 'Unknown processor',
    cores: os.availableParallelism(),
    memoryMiB: Math.floor(os.totalmem() / MIB),
    graphics: { controllers: [] },
    detectedAt: new Date().toISOString(),
  });
  const why = error instanceof Error ? error.message : String(error);
  const note = `HordeDesk could not inspect this computer's graphics hardware (${why}), so it plans for the processor only.`;
  return { ...profile, notes: [note, ...profile.notes] };
}

interface SmiRun {
  stdout?: string;
  note?: string;
}

// Drivers before 2019 installed nvidia-smi outside PATH on Windows; newer ones put it in System32.
function nvidiaSmiCandidates(): string[] {
  if (process.platform !== 'win32') return ['nvidia-smi'];
  const programFiles = process.env['ProgramFiles'] ?? 'C:\\Program Files';
  return ['nvidia-smi', path.win32.join(programFiles, 'NVIDIA Corporation', 'NVSMI', 'nvidia-smi.exe')];
}

async function runNvidiaSmi(): Promise<SmiRun> {
  for (const command of nvidiaSmiCandidates()) {
    const run = await execNvidiaSmi(command);
    if (run !== 'missing') return run;
  }
  // No nvidia-smi is the normal case on machines without an NVIDIA driver: nothing to say.
  return {};
}

function execNvidiaSmi(command: string): Promise<SmiRun | 'missing'> {
  return new Promise((resolve) => {
    execFile(command, [...NVIDIA_SMI_ARGS], { timeout: NVIDIA_SMI_TIMEOUT_MS, windowsHide: true, encoding: 'utf8' }, (error, stdout) => {
      if (!error) return resolve({ stdout });
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return resolve('missing');
      if (error.killed) {
        return resolve({
          note: 'The NVIDIA tool (nvidia-smi) did not answer within 5 seconds, so graphics memory figures come from the operating system.',
        });
      }
      // A failing driver makes nvidia-smi exit non-zero with its explanation on stdout; the parser turns that into a note.
      resolve(stdout.trim() !== '' ? { stdout } : { note: `The NVIDIA tool (nvidia-smi) failed (${error.message.split('\n')[0] ?? ''}).` });
    });
  });
}

/**
 * Linux x64 only: whether onnxruntime-node's postinstall fetched its CUDA provider library
 * (SD-ONNX §4.1). undefined when onnxruntime-node is not installed or not on Linux x64.
 */
function onnxCudaLibrariesInstalled(): boolean | undefined {
  if (process.platform !== 'linux' || process.arch !== 'x64') return undefined;
  try {
    let dir = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-node'));
    while (path.basename(dir) !== 'onnxruntime-node') {
      const parent = path.dirname(dir);
      if (parent === dir) return undefined;
      dir = parent;
    }
    return existsSync(path.join(dir, 'bin', 'napi-v6', 'linux', 'x64', 'libonnxruntime_providers_cuda.so'));
  } catch {
    return undefined;
  }
}
