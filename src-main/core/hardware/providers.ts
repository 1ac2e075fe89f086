import type { ExecutionProvider, Gpu } from '../../common/hardware';

/** One execution provider worth trying, with the sentence that explains it. */
export interface ProviderChoice {
  id: ExecutionProvider;
  reason: string;
}

/** Where onnxruntime-node runs: the OS and the arch of the Node process (not of the machine: Rosetta runs x64 Node). */
export interface RuntimeTarget {
  platform: string;
  arch: string;
  /** Linux x64 only: whether onnxruntime-node's CUDA libraries were downloaded at install; undefined = not known. */
  cudaLibrariesInstalled?: boolean | undefined;
}

// SD-ONNX §4.1: onnxruntime-node 1.30 bundles bin/napi-v6/{darwin/arm64, linux/arm64, linux/x64, win32/arm64, win32/x64}.
// Its README still lists macOS x64, but the tarball has no such binary.
const BINARIES = new Set(['darwin/arm64', 'linux/arm64', 'linux/x64', 'win32/arm64', 'win32/x64']);

/** Whether onnxruntime-node 1.30 ships a native binary for this platform and arch. */
export function hasOnnxRuntimeBinary(target: RuntimeTarget): boolean {
  return BINARIES.has(`${target.platform}/${target.arch}`);
}

/**
 * The GPU providers that could drive this GPU here, best first (SD-ONNX §0, §4.1, §8 item 4).
 * Empty when onnxruntime-node can only use the CPU for it.
 */
export function gpuProvidersFor(gpu: Gpu, target: RuntimeTarget): ProviderChoice[] {
  if (!hasOnnxRuntimeBinary(target)) return [];
  if (target.platform === 'win32') {
    // The win32 binary has cpu, dml and webgpu only; NVIDIA cards go through DirectML like everyone else.
    const dml =
      gpu.vendor === 'nvidia'
        ? 'DirectML runs Stable Diffusion on any DirectX 12 graphics card. onnxruntime-node for Windows has no CUDA support, so NVIDIA cards use DirectML too.'
        : 'DirectML runs Stable Diffusion on any DirectX 12 graphics card on Windows (NVIDIA, AMD or Intel).';
    return [
      { id: 'dml', reason: dml },
      { id: 'webgpu', reason: 'WebGPU is experimental in onnxruntime-node; HordeDesk tries it if DirectML fails.' },
    ];
  }
  if (target.platform === 'linux' && target.arch === 'x64') {
    const choices: ProviderChoice[] = [];
    if (gpu.vendor === 'nvidia' && !gpu.integrated && target.cudaLibrariesInstalled !== false) {
      choices.push({
        id: 'cuda',
        reason:
          target.cudaLibrariesInstalled === true
            ? "CUDA is the fastest way to use an NVIDIA card on Linux. onnxruntime-node's CUDA libraries are installed; the system also needs CUDA 12 and cuDNN."
            : "CUDA is the fastest way to use an NVIDIA card on Linux. It needs onnxruntime-node's CUDA libraries (downloaded when it is installed) and CUDA 12 with cuDNN; if they are missing, HordeDesk moves on to the next choice.",
      });
    }
    choices.push({
      id: 'webgpu',
      reason:
        'WebGPU is experimental in onnxruntime-node and needs the Vulkan library (libvulkan.so.1) on Linux; HordeDesk tries it before falling back to the CPU.',
    });
    return choices;
  }
  if (target.platform === 'darwin' && gpu.vendor === 'apple') {
    return [
      { id: 'coreml', reason: 'Core ML runs models on the Apple GPU and Neural Engine.' },
      { id: 'webgpu', reason: 'WebGPU (Metal) is experimental in onnxruntime-node; HordeDesk tries it if Core ML fails.' },
    ];
  }
  // Linux arm64: the binary has the CPU provider only.
  return [];
}

/** All providers to try, best first, CPU last; empty when onnxruntime-node has no binary for this machine. */
export function planExecutionProviders(primaryGpu: Gpu | null, target: RuntimeTarget): ProviderChoice[] {
  if (!hasOnnxRuntimeBinary(target)) return [];
  const gpuChoices = primaryGpu ? gpuProvidersFor(primaryGpu, target) : [];
  const cpu: ProviderChoice = {
    id: 'cpu',
    reason:
      gpuChoices.length > 0
        ? 'The processor always works but is slow (minutes per image); used if the graphics options fail.'
        : 'The processor always works but is slow (minutes per image).',
  };
  return [...gpuChoices, cpu];
}
