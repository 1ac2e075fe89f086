import type { CapabilityProfile, Gpu, GpuVendor } from '../../common/hardware';
import type { HardwareFacts } from './facts';
import { normalizePlatform } from './facts';
import { formatGb, squareSide } from './format';
import { normalizeGpus } from './gpus';
import { parseNvidiaSmi } from './nvidiaSmi';
import type { RuntimeTarget } from './providers';
import { gpuProvidersFor, hasOnnxRuntimeBinary, planExecutionProviders } from './providers';
import { assessModelFamilies, borrowsSystemMemory, canRunSd1, gpuMemoryBudgetMiB, suggestMaxPixels } from './sizing';

const VENDOR_ORDER: readonly GpuVendor[] = ['nvidia', 'amd', 'intel', 'apple', 'other'];
const CPU_IS_SLOW = 'HordeDesk will run on the CPU, which is slow (minutes per image).';

/** The GPU the worker would use, and the best GPU that was passed over for having too little memory. */
export interface PrimaryGpuChoice {
  primary: Gpu | null;
  tooSmall: Gpu | null;
}

/**
 * Picks the GPU to run on. Only GPUs some provider can drive here count. Discrete before integrated,
 * then GPUs with a non-experimental provider (on Linux an NVIDIA card has CUDA, others only WebGPU),
 * then the most graphics memory; the first one with room for SD 1.x wins.
 */
export function choosePrimaryGpu(gpus: readonly Gpu[], target: RuntimeTarget, memoryMiB: number): PrimaryGpuChoice {
  const ranked = gpus
    .filter((gpu) => gpuProvidersFor(gpu, target).length > 0)
    .map((gpu) => ({
      gpu,
      budget: gpuMemoryBudgetMiB(gpu, memoryMiB),
      stable: gpuProvidersFor(gpu, target).some((choice) => choice.id !== 'webgpu'),
    }))
    .sort(
      (a, b) =>
        Number(a.gpu.integrated) - Number(b.gpu.integrated) ||
        Number(b.stable) - Number(a.stable) ||
        (b.budget ?? -1) - (a.budget ?? -1) ||
        VENDOR_ORDER.indexOf(a.gpu.vendor) - VENDOR_ORDER.indexOf(b.gpu.vendor),
    );
  const primary = ranked.find((entry) => canRunSd1(entry.budget))?.gpu ?? null;
  return { primary, tooSmall: primary === null ? (ranked[0]?.gpu ?? null) : null };
}

/**
 * Builds the capability profile from detected facts: the GPUs, the one to use, the execution providers
 * to try in order, a suggested `max_pixels`, which model families fit, and plain-language notes.
 * Pure and total: any facts give a profile that satisfies `capabilityProfileSchema`.
 */
export function buildCapabilityProfile(facts: HardwareFacts): CapabilityProfile {
  const platform = normalizePlatform(facts.platform);
  const target: RuntimeTarget = { platform, arch: facts.arch, cudaLibrariesInstalled: facts.cudaLibrariesInstalled };
  const memoryMiB = Math.max(0, Math.floor(facts.memoryMiB));
  const smi = parseNvidiaSmi(facts.nvidiaSmi ?? '');
  const { gpus, notes: gpuNotes } = normalizeGpus({ controllers: facts.graphics.controllers, platform, memoryMiB, nvidiaSmi: smi.gpus });
  const canGenerate = hasOnnxRuntimeBinary(target);

  const choice = canGenerate ? choosePrimaryGpu(gpus, target, memoryMiB) : { primary: null, tooSmall: null };
  const primary = choice.primary;
  const budgetMiB = primary ? gpuMemoryBudgetMiB(primary, memoryMiB) : null;
  const executionProviders = planExecutionProviders(primary, target);
  const sizing = suggestMaxPixels(primary, budgetMiB);
  const modelFamilies = assessModelFamilies({ primary, budgetMiB, memoryMiB, canGenerate });

  const notes = [...smi.notes, ...gpuNotes];
  if (!canGenerate) notes.push(noBinaryNote(target));
  else if (primary) notes.push(...primaryNotes(primary, gpus.length, budgetMiB, memoryMiB, target, executionProviders[0]?.id));
  else notes.push(cpuOnlyNote(gpus, choice.tooSmall, memoryMiB, target));
  if (canGenerate) {
    const side = squareSide(sizing.maxPixels);
    notes.push(`Suggested largest image: about ${side}×${side} pixels (max_pixels ${sizing.maxPixels}), ${sizing.why}.`);
  }

  return {
    os: { platform, arch: facts.arch, release: facts.release },
    cpu: { brand: facts.cpuBrand, cores: Math.max(0, Math.floor(facts.cores)) },
    memoryMiB,
    gpus,
    primaryGpu: primary,
    executionProviders,
    maxPixels: sizing.maxPixels,
    modelFamilies,
    notes,
    detectedAt: facts.detectedAt,
  };
}

function primaryNotes(
  gpu: Gpu,
  gpuCount: number,
  budgetMiB: number | null,
  memoryMiB: number,
  target: RuntimeTarget,
  firstProvider: string | undefined,
): string[] {
  const notes: string[] = [];
  const shared = gpu.vramSource === 'unified-memory' || borrowsSystemMemory(gpu);
  // Shared-memory GPUs get their own sentence about memory below; a figure here would read as dedicated VRAM.
  const memory = shared ? '' : budgetMiB === null ? ' (graphics memory size unknown)' : ` (${formatGb(budgetMiB)} of graphics memory)`;
  notes.push(
    gpuCount > 1
      ? `This computer has ${gpuCount} graphics processors; HordeDesk will use the ${gpu.name}${memory}, the best suited to Stable Diffusion.`
      : `HordeDesk will use the ${gpu.name}${memory}.`,
  );
  if (gpu.vramSource === 'unified-memory' && budgetMiB !== null) {
    notes.push(
      `Apple silicon shares memory between the processor and graphics: HordeDesk counts about ${formatGb(budgetMiB)} of the ${formatGb(memoryMiB)} for graphics, the share macOS normally allows.`,
    );
  } else if (borrowsSystemMemory(gpu) && budgetMiB !== null) {
    notes.push(
      `The ${gpu.name} is built into the processor and can borrow up to about ${formatGb(budgetMiB)} of system memory; it is slow, so HordeDesk keeps images small.`,
    );
  }
  if (firstProvider === 'webgpu' && target.platform === 'linux') {
    notes.push(
      gpu.vendor === 'nvidia' && target.cudaLibrariesInstalled === false
        ? `onnxruntime-node was installed without its CUDA libraries, so the ${gpu.name} can only be used through experimental WebGPU support. Reinstalling onnxruntime-node with internet access adds them.`
        : `On Linux, onnxruntime-node reaches the ${gpu.name} only through its experimental WebGPU support; if that fails, HordeDesk uses the processor.`,
    );
  }
  return notes;
}

function cpuOnlyNote(gpus: readonly Gpu[], tooSmall: Gpu | null, memoryMiB: number, target: RuntimeTarget): string {
  if (tooSmall) {
    const budget = gpuMemoryBudgetMiB(tooSmall, memoryMiB);
    const has = budget === null ? 'too little graphics memory' : `only ${formatGb(budget)} of graphics memory`;
    return `The ${tooSmall.name} has ${has}, and Stable Diffusion needs about 6 GB, so ${CPU_IS_SLOW}`;
  }
  const unused = gpus[0];
  if (unused) {
    const where = target.platform === 'linux' && target.arch === 'arm64' ? 'Linux on ARM' : `${target.platform} on ${target.arch}`;
    return `onnxruntime-node can only use the processor on ${where}, so the ${unused.name} is not used: ${CPU_IS_SLOW}`;
  }
  return `No supported GPU found: ${CPU_IS_SLOW}`;
}

function noBinaryNote(target: RuntimeTarget): string {
  const what = target.platform === 'darwin' && target.arch === 'x64' ? 'Intel-based Macs' : `${target.platform} on ${target.arch}`;
  return `onnxruntime-node 1.30 ships no build for ${what}, so HordeDesk cannot generate images on this computer. It can still rate images.`;
}
