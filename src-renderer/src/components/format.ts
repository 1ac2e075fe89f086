/** Kudos as the pages show them: at most two decimals, thousands grouped (12,345.67). */
export const formatKudos = (n: number): string => n.toLocaleString('en-US', { maximumFractionDigits: 2 });

/** What an execution provider is called on screen. */
export const PROVIDER_NAMES = { cuda: 'CUDA', dml: 'DirectML', coreml: 'CoreML', webgpu: 'WebGPU', cpu: 'CPU' } as const;

/** What a model family is called on screen. */
export const FAMILY_NAMES = { sd1: 'Stable Diffusion 1.x', sd2: 'Stable Diffusion 2.x', sdxl: 'SDXL' } as const;
